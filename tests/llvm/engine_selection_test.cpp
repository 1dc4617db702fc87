// Choosing the engine: by name (the CLI's --engine and BPFBOX_ENGINE take the same names), the
// library default from BPFBOX_ENGINE, and the tiered engine through vm::compile (JIT first, LLVM
// once hot, BPFBOX_TIER_UP_RUNS).
#include <gtest/gtest.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <fstream>

#include "llvm_harness.hpp"
#include "subprocess.hpp"
#include "vm/llvm/tiered.hpp"

namespace bpfbox::vm::llvm_tier::test {
namespace {

using bpfbox::test::I;
using bpfbox::test::Prog;
using isa::Op;

std::vector<isa::Insn> add_one() {
  Prog p;
  p << I(Op::Mov64X, 0, 1) << I(Op::Add64K, 0, 0, 0, 1) << I(Op::Exit);
  return p.insns;
}

// Sets an environment variable for one scope.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const char* value) : name_(name) {
    if (const char* old = std::getenv(name)) {
      old_ = old;
      had_ = true;
    }
    if (value)
      setenv(name, value, 1);
    else
      unsetenv(name);
  }
  ~ScopedEnv() {
    if (had_)
      setenv(name_, old_.c_str(), 1);
    else
      unsetenv(name_);
  }

 private:
  const char* name_;
  std::string old_;
  bool had_ = false;
};

TEST(EngineSelection, NamesRoundTrip) {
  for (EngineKind e : {EngineKind::Interp, EngineKind::Jit, EngineKind::Llvm, EngineKind::Tiered,
                       EngineKind::Default}) {
    auto back = engine_from_name(engine_name(e));
    ASSERT_TRUE(back) << engine_name(e);
    EXPECT_EQ(*back, e);
  }
  auto bad = engine_from_name("turbo");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.status().err(), EINVAL);
  EXPECT_NE(bad.status().message().find("tiered"), std::string::npos) << bad.status().message();
}

TEST(EngineSelection, DefaultEngineFromTheEnvironment) {
  const struct {
    const char* env;
    const char* engine;  // the executable's engine_name(), "" for an error
  } cases[] = {{nullptr, "jit"}, {"", "jit"},      {"interp", "interp"},
               {"jit", "jit"},   {"llvm", "llvm"}, {"tiered", "jit"},
               {"default", ""},  {"LLVM", ""},     {"fast", ""}};
  for (const auto& c : cases) {
    SCOPED_TRACE(c.env ? c.env : "(unset)");
    ScopedEnv env("BPFBOX_ENGINE", c.env);
    auto exe = vm::compile(EngineKind::Default, add_one(), test_helpers(), {});
    if (!*c.engine) {
      ASSERT_FALSE(exe);
      EXPECT_EQ(exe.status().err(), EINVAL);
      EXPECT_NE(exe.status().message().find("BPFBOX_ENGINE"), std::string::npos);
      continue;
    }
    ASSERT_TRUE(exe) << exe.status().message();
    EXPECT_STREQ((*exe)->engine_name(), c.engine);
    RunContext rc;
    EXPECT_EQ((*exe)->run(rc, 1), 2u);
  }
}

TEST(EngineSelection, TieredThroughVmCompileSwapsAfterTheConfiguredRuns) {
  ScopedEnv runs("BPFBOX_TIER_UP_RUNS", "5");
  for (bool checked : {false, true}) {
    auto exe = vm::compile(EngineKind::Tiered, add_one(), test_helpers(), {checked, 0});
    ASSERT_TRUE(exe) << exe.status().message();
    for (uint64_t i = 0; i < 4; ++i) {
      RunContext rc;
      EXPECT_EQ((*exe)->run(rc, i), i + 1);
    }
    EXPECT_STREQ((*exe)->engine_name(), "jit");
    EXPECT_FALSE(tier_state(**exe).optimized);
    RunContext rc;
    EXPECT_EQ((*exe)->run(rc, 4), 5u);  // the fifth run starts the background compile
    EXPECT_TRUE(tier_state(**exe, true).optimized);
    EXPECT_STREQ((*exe)->engine_name(), "llvm");
    EXPECT_EQ((*exe)->run(rc, 9), 10u);
  }
}

// The CLI: --engine tiered runs, the default follows BPFBOX_ENGINE (seen through the module
// error only the LLVM engine can give), and a bad BPFBOX_ENGINE is one line naming it.
TEST(EngineSelection, CliEngineOptionAndEnvironment) {
  const std::string prog = ::testing::TempDir() + "engine_selection_test_prog.s";
  std::ofstream(prog) << "r0 = 7\nexit\n";
  auto run = [&](std::vector<std::string> env, std::vector<std::string> args) {
    std::vector<std::string> argv{"/usr/bin/env"};
    argv.insert(argv.end(), env.begin(), env.end());
    argv.push_back(bpfbox::testing::bpfbox_binary());
    argv.push_back("run");
    argv.push_back(prog);
    argv.insert(argv.end(), args.begin(), args.end());
    return bpfbox::testing::run_process(argv);
  };
  for (const char* engine : {"interp", "jit", "llvm", "tiered", "default"}) {
    const auto r = run({}, {"--engine", engine});
    EXPECT_EQ(r.exit_code, 0) << engine << ": " << r.err;
    EXPECT_EQ(r.out, "0x7\n") << engine;
  }
  const auto from_env =
      run({"BPFBOX_ENGINE=llvm", "BPFBOX_LLVM_MODULE=/nonexistent/libbpfbox-llvm.so"}, {});
  EXPECT_NE(from_env.exit_code, 0);
  EXPECT_NE(from_env.err.find("engine llvm"), std::string::npos) << from_env.err;
  const auto flag_wins =
      run({"BPFBOX_ENGINE=llvm", "BPFBOX_LLVM_MODULE=/nonexistent/libbpfbox-llvm.so"},
          {"--engine", "jit"});
  EXPECT_EQ(flag_wins.exit_code, 0) << flag_wins.err;
  const auto bad = run({"BPFBOX_ENGINE=warp"}, {});
  EXPECT_NE(bad.exit_code, 0);
  EXPECT_EQ(bad.err, "bpfbox: BPFBOX_ENGINE=warp: unknown engine (interp, jit, llvm, tiered)\n");
  std::remove(prog.c_str());
}

}  // namespace
}  // namespace bpfbox::vm::llvm_tier::test
