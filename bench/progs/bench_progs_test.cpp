// Every benchmark program gives the native twin's result (return value and output packet) on each
// engine: bpfbox's interpreter, JIT and LLVM tier, and the kernel when bpf() is allowed. The
// benchmark times nothing that fails here.
#include <gtest/gtest.h>
#include <stdlib.h>

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

class Agreement : public ::testing::TestWithParam<Engine> {};

TEST_P(Agreement, EveryProgramMatchesNative) {
  const Engine engine = GetParam();
  if (engine == Engine::Kernel && !kernel_unavailable().empty())
    GTEST_SKIP() << kernel_unavailable();
#ifndef BENCH_HAVE_LLVM
  if (engine == Engine::Llvm) GTEST_SKIP() << "built without the LLVM tier";
#endif
  ASSERT_GE(programs().size(), 6u);
  for (const ProgSpec& spec : programs()) {
    SCOPED_TRACE(spec.unit);
    const std::vector<uint8_t> pkt = spec.packet();
    auto native = Loaded::load(spec, Engine::Native);
    ASSERT_TRUE(native) << native.status().message();
    auto want = (*native)->run_once(pkt);
    ASSERT_TRUE(want) << want.status().message();
    auto loaded = Loaded::load(spec, engine);
    ASSERT_TRUE(loaded) << loaded.status().message();
    auto got = (*loaded)->run_once(pkt);
    ASSERT_TRUE(got) << got.status().message();
    EXPECT_EQ(*got, *want) << describe_difference(*want, *got);
  }
}

INSTANTIATE_TEST_SUITE_P(Engines, Agreement,
                         ::testing::Values(Engine::Interp, Engine::Jit, Engine::Llvm,
                                           Engine::Kernel),
                         [](const auto& p) { return std::string(engine_name(p.param)); });

}  // namespace
}  // namespace bpfbox::progbench
