#include "llvm_harness.hpp"

#include "isa/disasm.hpp"
#include "vm/llvm/llvm_tier.hpp"

namespace bpfbox::vm::llvm_tier::test {

std::vector<Mode> llvm_modes(uint64_t budget) {
  return {
      {"unchecked", {false, 0}, 2},    {"checked", {true, 0}, 2},
      {"budget", {false, budget}, 2},  {"checked+budget", {true, budget}, 2},
      {"unchecked-O3", {false, 0}, 3},
  };
}

Run run(EngineKind engine, const Mode& mode, const std::vector<isa::Insn>& prog,
        const std::vector<uint8_t>& mem, const uint8_t* pkt, uint32_t pkt_len) {
  auto exe = engine == EngineKind::Llvm
                 ? llvm_tier::compile(prog, test_helpers(), mode.opts, Options{mode.opt_level})
                 : vm::compile(engine, prog, test_helpers(), mode.opts);
  return jit::test::run_compiled(std::move(exe), mode.opts.insn_budget != 0, mem, pkt, pkt_len);
}

std::string compare_with_interp(const std::vector<isa::Insn>& prog, const std::vector<uint8_t>& mem,
                                const uint8_t* pkt, uint32_t pkt_len, uint64_t budget,
                                bool checked_only) {
  for (const Mode& m : llvm_modes(budget)) {
    if (checked_only && !m.opts.checked) continue;
    const Run want = run(EngineKind::Interp, m, prog, mem, pkt, pkt_len);
    const Run got = run(EngineKind::Llvm, m, prog, mem, pkt, pkt_len);
    const std::string d = jit::test::differ(want, got, "llvm");
    if (!d.empty()) return "[" + m.name + "]\n" + d + "program:\n" + isa::disassemble_program(prog);
  }
  return "";
}

}  // namespace bpfbox::vm::llvm_tier::test
