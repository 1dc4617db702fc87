// The tier as a module: libLLVM is loaded by the first LLVM compile and not before, the loader
// refuses what is not its module, and an absent module is a clear error (EOPNOTSUPP), also
// through the CLI.
#include <gtest/gtest.h>

#include <cerrno>
#include <cstdio>
#include <fstream>
#include <sstream>

#include "llvm_harness.hpp"
#include "subprocess.hpp"
#include "vm/llvm/module_loader.hpp"

namespace bpfbox::vm::llvm_tier::test {
namespace {

using bpfbox::test::I;
using bpfbox::test::Prog;
using isa::Op;

std::string mapped_files() {
  std::ifstream f("/proc/self/maps");
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

std::vector<isa::Insn> add_one() {
  Prog p;
  p << I(Op::Mov64X, 0, 1) << I(Op::Add64K, 0, 0, 0, 1) << I(Op::Exit);
  return p.insns;
}

TEST(LlvmModule, LoadedOnlyWhenTheTierIsUsed) {
  // Under CTest every TEST is a process of its own; run with others, an earlier test may have
  // loaded the module already, and only the second half applies.
  if (!module_loaded()) {
    for (EngineKind e : {EngineKind::Interp, EngineKind::Jit, EngineKind::Tiered}) {
      auto exe = vm::compile(e, add_one(), test_helpers(), {});
      ASSERT_TRUE(exe) << exe.status().message();
      RunContext rc;
      EXPECT_EQ((*exe)->run(rc, 41), 42u);  // a tiered program that is not hot stays baseline
    }
    EXPECT_FALSE(module_loaded());
    EXPECT_EQ(mapped_files().find("libLLVM"), std::string::npos)
        << "libLLVM is mapped before any LLVM compile: something links it";
  }
  auto exe = vm::compile(EngineKind::Llvm, add_one(), test_helpers(), {});
  ASSERT_TRUE(exe) << exe.status().message();
  RunContext rc;
  EXPECT_EQ((*exe)->run(rc, 41), 42u);
  EXPECT_TRUE(module_loaded());
  EXPECT_NE(module_path().find("libbpfbox-llvm.so"), std::string::npos) << module_path();
  const std::string maps = mapped_files();
  EXPECT_NE(maps.find("libLLVM"), std::string::npos);
  EXPECT_NE(maps.find("libbpfbox-llvm.so"), std::string::npos);
}

TEST(LlvmModule, RefusesFilesThatAreNotItsModule) {
  auto missing = load_module_at("/nonexistent/libbpfbox-llvm.so");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.status().err(), EOPNOTSUPP);
  EXPECT_NE(missing.status().message().find("/nonexistent/libbpfbox-llvm.so"), std::string::npos)
      << missing.status().message();
  auto libc = load_module_at("libc.so.6");  // loadable, but no entry point
  ASSERT_FALSE(libc);
  EXPECT_EQ(libc.status().err(), EOPNOTSUPP);
  EXPECT_NE(libc.status().message().find("bpfbox_llvm_module_v1"), std::string::npos)
      << libc.status().message();
  auto real = load_module_at(BPFBOX_BINARY_DIR "/libbpfbox-llvm.so");
  EXPECT_TRUE(real) << real.status().message();
}

// Through the CLI, in fresh processes: BPFBOX_LLVM_MODULE overrides the search, and a module
// that is not there is one line naming it and the variable.
TEST(LlvmModule, OverrideAndAbsentModuleThroughTheCli) {
  const std::string prog = ::testing::TempDir() + "llvm_module_test_prog.s";
  std::ofstream(prog) << "r0 = 7\nexit\n";
  auto run = [&](const std::string& env, const char* engine) {
    return bpfbox::testing::run_process(
        {"/usr/bin/env", env, bpfbox::testing::bpfbox_binary(), "run", prog, "--engine", engine});
  };
  const auto absent = run("BPFBOX_LLVM_MODULE=/nonexistent/libbpfbox-llvm.so", "llvm");
  EXPECT_NE(absent.exit_code, 0);
  EXPECT_EQ(absent.out, "");
  EXPECT_NE(absent.err.find("bpfbox: engine llvm: llvm engine: module libbpfbox-llvm.so not found"),
            std::string::npos)
      << absent.err;
  EXPECT_NE(absent.err.find("/nonexistent/libbpfbox-llvm.so"), std::string::npos) << absent.err;
  EXPECT_NE(absent.err.find("BPFBOX_LLVM_MODULE"), std::string::npos) << absent.err;

  const auto given = run("BPFBOX_LLVM_MODULE=" BPFBOX_BINARY_DIR "/libbpfbox-llvm.so", "llvm");
  EXPECT_EQ(given.exit_code, 0) << given.err;
  EXPECT_EQ(given.out, "0x7\n");

  // Without the module the other engines do not notice.
  const auto interp = run("BPFBOX_LLVM_MODULE=/nonexistent/libbpfbox-llvm.so", "interp");
  EXPECT_EQ(interp.exit_code, 0) << interp.err;
  EXPECT_EQ(interp.out, "0x7\n");
  std::remove(prog.c_str());
}

}  // namespace
}  // namespace bpfbox::vm::llvm_tier::test
