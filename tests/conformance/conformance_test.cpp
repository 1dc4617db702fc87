// Every case of the bpf_conformance suite, one test per .data file, through the interpreter in
// plain and in checked mode (the memory as the one region besides the stack): the expected r0 both
// ways. (tests/jit runs the suite through the JIT in every mode; plugin_test through the CLI.)
#include <gtest/gtest.h>

#include <cerrno>
#include <cinttypes>
#include <cstring>

#include "bpfbox/vm.hpp"
#include "case_program.hpp"
#include "data_file.hpp"
#include "helpers/core.hpp"
#include "isa/assembler.hpp"

namespace bpfbox::conformance {
namespace {

namespace fs = std::filesystem;

class Conformance : public ::testing::TestWithParam<fs::path> {
 protected:
  void run_case(vm::EngineKind engine, bool checked) {
    auto file = read_data_file(GetParam());
    ASSERT_TRUE(file) << file.status().message();
    auto prog = case_program(*file);
    ASSERT_TRUE(prog) << prog.status().message();

    vm::HelperTable helpers;
    helpers::register_core(helpers);
    vm::ExecOptions opts;
    opts.checked = checked;
    auto exe = vm::compile(engine, *prog, helpers, opts);
    if (!exe && exe.status().err() == EOPNOTSUPP) GTEST_SKIP() << exe.status().message();
    ASSERT_TRUE(exe) << exe.status().message();

    std::vector<uint8_t> mem = file->mem;  // the program gets a writable copy
    vm::RunContext rc;
    if (checked && !mem.empty()) rc.add_region(mem.data(), mem.size(), vm::kReadWrite, "mem");
    const uint64_t r1 = mem.empty() ? 0 : reinterpret_cast<uint64_t>(mem.data());
    const uint64_t r0 = (*exe)->run(rc, r1, mem.size());
    ASSERT_EQ(rc.fault.kind, vm::FaultKind::None) << vm::describe(rc.fault, &rc);
    EXPECT_EQ(r0, file->result) << std::hex << "r0 = 0x" << r0 << ", expected 0x" << file->result;
  }
};

TEST_P(Conformance, Interp) {
  run_case(vm::EngineKind::Interp, false);
}

TEST_P(Conformance, InterpChecked) {
  run_case(vm::EngineKind::Interp, true);
}

// Where a file gives both, its assembly and its raw words are the same program.
TEST_P(Conformance, AsmMatchesRaw) {
  auto file = read_data_file(GetParam());
  ASSERT_TRUE(file) << file.status().message();
  if (!file->raw || file->asm_text.empty()) return;
  auto assembled = assemble_case(*file);
  ASSERT_TRUE(assembled) << assembled.status().message();
  auto raw = case_program(*file);
  ASSERT_EQ(assembled->size(), raw->size());
  EXPECT_EQ(std::memcmp(assembled->data(), raw->data(), raw->size() * sizeof(isa::Insn)), 0);
}

INSTANTIATE_TEST_SUITE_P(Bpf, Conformance,
                         ::testing::ValuesIn(list_data_files(BPFBOX_CONFORMANCE_DIR)),
                         [](const auto& test) { return case_name(test.param); });

TEST(ConformanceSuite, IsComplete) {
  EXPECT_GE(list_data_files(BPFBOX_CONFORMANCE_DIR).size(), 313u)
      << "the bpf_conformance .data files are missing from " << BPFBOX_CONFORMANCE_DIR
      << " (set -DBPFBOX_CONFORMANCE_DIR)";
}

}  // namespace
}  // namespace bpfbox::conformance
