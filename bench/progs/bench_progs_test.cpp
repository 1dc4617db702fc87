// Every benchmark program gives the native twin's result (return value and output packet) on each
// engine: bpfbox's interpreter, JIT and LLVM tier, and the kernel when bpf() is allowed. The
// benchmark times nothing that fails here.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <cstdio>
#include <filesystem>
#include <string>

#include "harness.hpp"
#include "programs.hpp"

namespace bpfbox::progbench {
namespace {

class RuntimeDir : public ::testing::Environment {
 public:
  void SetUp() override {
    char tmpl[] = "/tmp/bpfbox-progs-test-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    setenv("BPFBOX_RUNTIME_DIR", dir_.c_str(), 1);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

 private:
  std::string dir_;
};
const auto* const g_env = ::testing::AddGlobalTestEnvironment(new RuntimeDir);

// An engine and the share of the programs one TEST checks: every bpfbox load verifies the program
// and the LLVM tier compiles for ~0.2 s per program, so the programs are split to keep each TEST
// within a few seconds under the sanitizers.
struct Shard {
  Engine engine;
  size_t index, count;
};

class Agreement : public ::testing::TestWithParam<Shard> {};

TEST_P(Agreement, EveryProgramMatchesNative) {
  const Engine engine = GetParam().engine;
  if (engine == Engine::Kernel && !kernel_unavailable().empty())
    GTEST_SKIP() << kernel_unavailable();
#ifndef BENCH_HAVE_LLVM
  if (engine == Engine::Llvm) GTEST_SKIP() << "built without the LLVM tier";
#endif
  ASSERT_GE(programs().size(), 26u);  // `empty` and at least 25 programs
  for (size_t i = GetParam().index; i < programs().size(); i += GetParam().count) {
    const ProgSpec& spec = programs()[i];
    SCOPED_TRACE(spec.unit);
    if (spec.known_mismatch && std::string(spec.known_mismatch) == engine_name(engine)) {
      std::printf("note: %s on %s left out: a known, reported mismatch\n", spec.unit,
                  engine_name(engine));
      continue;
    }
    const std::vector<uint8_t> pkt = spec.packet();
    auto native = Loaded::load(spec, Engine::Native);
    ASSERT_TRUE(native) << native.status().message();
    auto want = (*native)->run_once(pkt);
    ASSERT_TRUE(want) << want.status().message();
    auto loaded = Loaded::load(spec, engine);
    if (!loaded) {
      ADD_FAILURE() << loaded.status().message();
      continue;
    }
    auto got = (*loaded)->run_once(pkt);
    if (!got) {
      ADD_FAILURE() << got.status().message();
      continue;
    }
    EXPECT_EQ(*got, *want) << describe_difference(*want, *got);
  }
}

INSTANTIATE_TEST_SUITE_P(Engines, Agreement,
                         ::testing::Values(Shard{Engine::Interp, 0, 3}, Shard{Engine::Interp, 1, 3},
                                           Shard{Engine::Interp, 2, 3}, Shard{Engine::Jit, 0, 3},
                                           Shard{Engine::Jit, 1, 3}, Shard{Engine::Jit, 2, 3},
                                           Shard{Engine::Llvm, 0, 4}, Shard{Engine::Llvm, 1, 4},
                                           Shard{Engine::Llvm, 2, 4}, Shard{Engine::Llvm, 3, 4},
                                           Shard{Engine::Kernel, 0, 1}),
                         [](const auto& p) {
                           std::string name = engine_name(p.param.engine);
                           if (p.param.count > 1)
                             name += "_" + std::to_string(p.param.index + 1) + "of" +
                                     std::to_string(p.param.count);
                           return name;
                         });

}  // namespace
}  // namespace bpfbox::progbench
