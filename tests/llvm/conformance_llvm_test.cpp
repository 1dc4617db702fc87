// Every case of the bpf_conformance suite through the LLVM tier in each mode (unchecked, checked,
// budget, checked+budget, -O3): r0 must be the file's expected result, and the tier must agree
// with the interpreter on everything else.
#include <gtest/gtest.h>

#include <filesystem>

#include "case_program.hpp"
#include "data_file.hpp"
#include "llvm_harness.hpp"

namespace bpfbox::vm::llvm_tier::test {
namespace {

namespace fs = std::filesystem;

class LlvmConformance : public ::testing::TestWithParam<fs::path> {};

TEST_P(LlvmConformance, ExpectedResultInEveryMode) {
  auto file = conformance::read_data_file(GetParam());
  ASSERT_TRUE(file) << file.status().message();
  auto prog = conformance::case_program(*file);
  ASSERT_TRUE(prog) << prog.status().message();
  for (const Mode& m : llvm_modes()) {
    const test::Run r = run(EngineKind::Llvm, m, *prog, file->mem);
    ASSERT_TRUE(r.error.empty()) << m.name << ": " << r.error;
    ASSERT_EQ(r.fault.kind, FaultKind::None) << m.name << ": " << describe(r.fault);
    EXPECT_EQ(jit::test::r0_hex(r.r0), jit::test::r0_hex(file->result)) << m.name;
  }
}

TEST_P(LlvmConformance, SameAsInterpreter) {
  auto file = conformance::read_data_file(GetParam());
  ASSERT_TRUE(file) << file.status().message();
  auto prog = conformance::case_program(*file);
  ASSERT_TRUE(prog) << prog.status().message();
  EXPECT_LLVM_SAME_AS_INTERP(*prog, file->mem);
}

INSTANTIATE_TEST_SUITE_P(Bpf, LlvmConformance,
                         ::testing::ValuesIn(conformance::list_data_files(BPFBOX_CONFORMANCE_DIR)),
                         [](const auto& p) { return conformance::case_name(p.param); });

TEST(LlvmConformanceSuite, IsComplete) {
  EXPECT_GE(conformance::list_data_files(BPFBOX_CONFORMANCE_DIR).size(), 313u);
}

}  // namespace
}  // namespace bpfbox::vm::llvm_tier::test
