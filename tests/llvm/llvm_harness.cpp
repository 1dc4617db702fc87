#include "llvm_harness.hpp"

#include <cinttypes>
#include <cstdio>

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
  Run r;
  auto exe = engine == EngineKind::Llvm
                 ? llvm_tier::compile(prog, test_helpers(), mode.opts, Options{mode.opt_level})
                 : vm::compile(engine, prog, test_helpers(), mode.opts);
  if (!exe) {
    r.error = exe.status().message();
    return r;
  }
  r.mem = mem;
  RunContext rc;
  rc.user = &r.log;
  rc.pkt_data = pkt;
  rc.pkt_len = pkt_len;
  if (!r.mem.empty()) rc.add_region(r.mem.data(), r.mem.size(), kReadWrite, "mem");
  const uint64_t r1 = r.mem.empty() ? 0 : reinterpret_cast<uint64_t>(r.mem.data());
  r.r0 = (*exe)->run(rc, r1, r.mem.size());
  r.fault = rc.fault;
  r.insns = mode.opts.insn_budget ? rc.insns_executed : 0;
  // Addresses differ between runs: name them by the nearest base (stack or memory) and offset.
  const uint64_t a = rc.fault.addr;
  const bool memory_fault =
      rc.fault.kind == FaultKind::OutOfBounds || rc.fault.kind == FaultKind::ReadOnly;
  auto near = [&](uint64_t base, uint64_t size) { return a + 8192 - base < size + 16384; };
  if (!memory_fault)
    r.fault_addr_rel = a;
  else if (near(rc.stack_base, rc.stack_size))
    r.fault_addr_rel = a - rc.stack_base + (1ull << 40);
  else if (near(r1, r.mem.size()))
    r.fault_addr_rel = a - r1 + (2ull << 40);
  else
    r.fault_addr_rel = a;
  return r;
}

namespace {

std::string hex(uint64_t v) {
  char b[32];
  std::snprintf(b, sizeof b, "0x%" PRIx64, v);
  return b;
}

std::string differ(const Run& want, const Run& got) {
  if (want.error != got.error)
    return "compile: interp '" + want.error + "' llvm '" + got.error + "'\n";
  if (!want.error.empty()) return "";
  std::string d;
  if (want.fault.kind != got.fault.kind || want.fault.err != got.fault.err ||
      want.fault.pc != got.fault.pc || want.fault.size != got.fault.size ||
      want.fault.access != got.fault.access || want.fault_addr_rel != got.fault_addr_rel)
    d += "fault: interp '" + describe(want.fault) + "' llvm '" + describe(got.fault) + "'\n";
  if (want.r0 != got.r0) d += "r0: interp " + hex(want.r0) + " llvm " + hex(got.r0) + "\n";
  for (size_t i = 0; i < want.mem.size() && i < got.mem.size(); ++i)
    if (want.mem[i] != got.mem[i]) {
      d += "mem[" + std::to_string(i) + "]: interp " + hex(want.mem[i]) + " llvm " +
           hex(got.mem[i]) + "\n";
      break;
    }
  if (want.insns != got.insns)
    d += "insns_executed: interp " + std::to_string(want.insns) + " llvm " +
         std::to_string(got.insns) + "\n";
  if (want.log.calls != got.log.calls)
    d += "helper calls differ (" + std::to_string(want.log.calls.size()) + " vs " +
         std::to_string(got.log.calls.size()) + ")\n";
  return d;
}

}  // namespace

std::string compare_with_interp(const std::vector<isa::Insn>& prog, const std::vector<uint8_t>& mem,
                                const uint8_t* pkt, uint32_t pkt_len, uint64_t budget,
                                bool checked_only) {
  for (const Mode& m : llvm_modes(budget)) {
    if (checked_only && !m.opts.checked) continue;
    const Run want = run(EngineKind::Interp, m, prog, mem, pkt, pkt_len);
    const Run got = run(EngineKind::Llvm, m, prog, mem, pkt, pkt_len);
    const std::string d = differ(want, got);
    if (!d.empty()) return "[" + m.name + "]\n" + d + "program:\n" + isa::disassemble_program(prog);
  }
  return "";
}

}  // namespace bpfbox::vm::llvm_tier::test
