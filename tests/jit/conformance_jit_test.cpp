// Every case of the bpf_conformance suite through the JIT, in each mode and tuning: r0 must be the
// file's expected result, and the JIT must agree with the interpreter on everything else.
#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>

#include "data_file.hpp"
#include "isa/assembler.hpp"
#include "jit_harness.hpp"

namespace bpfbox::vm::jit::test {
namespace {

namespace fs = std::filesystem;

Result<std::vector<Insn>> program_of(const conformance::DataFile& f) {
  if (f.raw) {
    std::vector<Insn> prog(f.raw->size());
    std::memcpy(prog.data(), f.raw->data(), prog.size() * sizeof(Insn));
    return prog;
  }
  return isa::assemble(f.asm_text, isa::Syntax::Conformance);
}

class JitConformance : public ::testing::TestWithParam<fs::path> {};

TEST_P(JitConformance, ExpectedResultInEveryMode) {
  auto file = conformance::read_data_file(GetParam());
  ASSERT_TRUE(file) << file.status().message();
  auto prog = program_of(*file);
  ASSERT_TRUE(prog) << prog.status().message();
  for (const Variant& v : jit_variants()) {
    const test::Run r = run(v, *prog, file->mem);
    ASSERT_TRUE(r.error.empty()) << v.name << ": " << r.error;
    ASSERT_EQ(r.fault.kind, FaultKind::None) << v.name << ": " << describe(r.fault);
    EXPECT_EQ(r0_hex(r.r0), r0_hex(file->result)) << v.name;
  }
}

TEST_P(JitConformance, SameAsInterpreter) {
  auto file = conformance::read_data_file(GetParam());
  ASSERT_TRUE(file) << file.status().message();
  auto prog = program_of(*file);
  ASSERT_TRUE(prog) << prog.status().message();
  EXPECT_SAME_AS_INTERP(*prog, file->mem);
}

INSTANTIATE_TEST_SUITE_P(Bpf, JitConformance,
                         ::testing::ValuesIn(conformance::list_data_files(BPFBOX_CONFORMANCE_DIR)),
                         [](const auto& p) { return conformance::case_name(p.param); });

TEST(JitConformanceSuite, IsComplete) {
  EXPECT_GE(conformance::list_data_files(BPFBOX_CONFORMANCE_DIR).size(), 313u);
}

}  // namespace
}  // namespace bpfbox::vm::jit::test
