#include "jit_harness.hpp"

#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <cstring>

#include "isa/disasm.hpp"

namespace bpfbox::vm::jit::test {

uint64_t log_call(uint64_t id, uint64_t r1, uint64_t r2, uint64_t r3, uint64_t r4, uint64_t r5,
                  RunContext* rc) {
  if (rc->user) static_cast<CallLog*>(rc->user)->calls.push_back({id, r1, r2, r3, r4, r5});
  return 0;
}

const HelperTable& test_helpers() {
  static const HelperTable t = [] {
    HelperTable h;
    h.set(1, "mix", [](uint64_t a, uint64_t b, uint64_t c, uint64_t d, uint64_t e, RunContext* rc) {
      log_call(1, a, b, c, d, e, rc);
      return a * 3 + (b ^ c) - d * 7 + (e << 1);
    });
    h.set(2, "inc", [](uint64_t a, uint64_t b, uint64_t c, uint64_t d, uint64_t e, RunContext* rc) {
      log_call(2, a, b, c, d, e, rc);
      return a + 1;
    });
    h.set(3, "abort",
          [](uint64_t a, uint64_t b, uint64_t c, uint64_t d, uint64_t e, RunContext* rc) {
            log_call(3, a, b, c, d, e, rc);
            rc->fault = Fault{FaultKind::BadCall, EINVAL, 0, 77, 0, 0};
            return uint64_t{0};
          });
    h.set(5, "nop", [](uint64_t, uint64_t, uint64_t, uint64_t, uint64_t, RunContext*) {
      return uint64_t{0};
    });
    // bpf_loop-like: fn(i, ctx) for i < nr until it returns 1 or the run faults; returns the count.
    h.set(7, "loop",
          [](uint64_t nr, uint64_t fn, uint64_t ctx, uint64_t d, uint64_t e, RunContext* rc) {
            log_call(7, nr, 0, 0, d, e, rc);  // fn and ctx are addresses: not comparable
            if (!rc->call_function) return static_cast<uint64_t>(-EOPNOTSUPP);
            uint64_t i = 0;
            while (i < nr) {
              const uint64_t r = rc->call_function(rc, fn, i++, ctx, 0, 0, 0);
              if (rc->fault.kind != FaultKind::None) return uint64_t{0};
              log_call(8, i, r, 0, 0, 0, rc);
              if (r == 1) break;
            }
            return i;
          });
    h.set(6, "pkt_len",
          [](uint64_t a, uint64_t b, uint64_t c, uint64_t d, uint64_t e, RunContext* rc) {
            log_call(6, a, b, c, d, e, rc);
            return uint64_t{rc->pkt_len};
          });
    return h;
  }();
  return t;
}

std::vector<Variant> jit_variants(uint64_t budget) {
  std::vector<Variant> v;
  const x86_64::Tuning host = host_tuning();
  const ExecOptions modes[] = {{false, 0}, {true, 0}, {false, budget}, {true, budget}};
  const char* names[] = {"unchecked", "checked", "budget", "checked+budget"};
  for (int m = 0; m < 4; ++m) v.push_back({names[m], true, modes[m], host});
  for (int m = 0; m < 2; ++m) {
    Variant b{std::string(names[m]) + "+blind", true, modes[m], host};
    b.opts.blind_constants = true;
    b.tuning.blind_seed = 0x1234567 + m;
    v.push_back(b);
    Variant nb{std::string(names[m]) + "+no-bmi2", true, modes[m], host};
    nb.tuning.bmi2 = false;
    v.push_back(nb);
    // The other encodings: rel32 jumps everywhere, calls through a register (code placed far).
    Variant ns{std::string(names[m]) + "+long-jumps+far-calls", true, modes[m], host};
    ns.tuning.short_jumps = false;
    ns.tuning.direct_calls = false;
    v.push_back(ns);
  }
  return v;
}

Run run(const Variant& v, const std::vector<Insn>& prog, const std::vector<uint8_t>& mem,
        const uint8_t* pkt, uint32_t pkt_len) {
  auto exe = v.jit ? jit::compile(prog, test_helpers(), v.opts, v.tuning)
                   : vm::compile(EngineKind::Interp, prog, test_helpers(), v.opts);
  return run_compiled(std::move(exe), v.opts.insn_budget != 0, mem, pkt, pkt_len);
}

Run run_compiled(Result<std::unique_ptr<Executable>> exe, bool count_insns,
                 const std::vector<uint8_t>& mem, const uint8_t* pkt, uint32_t pkt_len) {
  Run r;
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
  r.insns = count_insns ? rc.insns_executed : 0;
  const uint64_t a = rc.fault.addr;
  const bool memory_fault =
      rc.fault.kind == FaultKind::OutOfBounds || rc.fault.kind == FaultKind::ReadOnly;
  // Addresses differ between runs: name them by the nearest base (stack or memory) and offset.
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

}  // namespace

std::string differ(const Run& want, const Run& got, const std::string& engine) {
  if (want.error != got.error)
    return "compile: interp '" + want.error + "' " + engine + " '" + got.error + "'";
  if (!want.error.empty()) return "";
  std::string d;
  if (want.fault.kind != got.fault.kind || want.fault.err != got.fault.err ||
      want.fault.pc != got.fault.pc || want.fault.size != got.fault.size ||
      want.fault.access != got.fault.access || want.fault_addr_rel != got.fault_addr_rel)
    d += "fault: interp '" + describe(want.fault) + "' " + engine + " '" + describe(got.fault) +
         "'\n";
  if (want.r0 != got.r0)
    d += "r0: interp " + hex(want.r0) + " " + engine + " " + hex(got.r0) + "\n";
  if (want.mem != got.mem) {
    for (size_t i = 0; i < want.mem.size(); ++i)
      if (want.mem[i] != got.mem[i]) {
        d += "mem[" + std::to_string(i) + "]: interp " + hex(want.mem[i]) + " " + engine + " " +
             hex(got.mem[i]) + "\n";
        break;
      }
  }
  if (want.insns != got.insns)
    d += "insns_executed: interp " + std::to_string(want.insns) + " " + engine + " " +
         std::to_string(got.insns) + "\n";
  if (want.log.calls != got.log.calls)
    d += "helper calls differ (" + std::to_string(want.log.calls.size()) + " vs " +
         std::to_string(got.log.calls.size()) + ")\n";
  return d;
}

std::string compare_engines(const std::vector<Insn>& prog, const std::vector<uint8_t>& mem,
                            const uint8_t* pkt, uint32_t pkt_len, uint64_t budget,
                            bool checked_only) {
  std::string out;
  for (const Variant& v : jit_variants(budget)) {
    if (checked_only && !v.opts.checked) continue;
    Variant ref = v;
    ref.jit = false;
    const Run want = run(ref, prog, mem, pkt, pkt_len);
    const Run got = run(v, prog, mem, pkt, pkt_len);
    const std::string d = differ(want, got, "jit");
    if (!d.empty()) {
      out += "[" + v.name + "]\n" + d;
      break;
    }
  }
  if (!out.empty()) out += "program:\n" + isa::disassemble_program(prog);
  return out;
}

}  // namespace bpfbox::vm::jit::test

namespace bpfbox::vm::jit::test {

std::vector<Insn> with_state(const std::array<uint64_t, 10>& init, const std::vector<Insn>& body) {
  Prog p;
  p << I(Op::StxDW, 10, 1, -8);
  for (uint8_t r = 0; r < 10; ++r) p.lddw(r, init[r]);
  p.insns.insert(p.insns.end(), body.begin(), body.end());
  for (uint8_t r = 0; r < 10; ++r) p << I(Op::StxDW, 10, r, static_cast<int16_t>(-16 - 8 * r));
  p << I(Op::LdxDW, 1, 10, -8);
  for (uint8_t r = 0; r < 10; ++r) {
    p << I(Op::LdxDW, 2, 10, static_cast<int16_t>(-16 - 8 * r));
    p << I(Op::StxDW, 1, 2, static_cast<int16_t>(8 * r));
  }
  p << I(Op::Mov64K, 0, 0, 0, 7);
  return p.exit().insns;
}

std::vector<Insn> call_chain(int frames) {
  Prog p;
  for (uint8_t r = 6; r <= 9; ++r) p << I(Op::Mov64K, r, 0, 0, r);
  p << I(Op::CallLocal, 0, 0, 0, 5);  // pc 4 -> f1 at pc 10
  for (uint8_t r : {8, 6, 7, 9}) p << I(Op::Add64X, 0, r);
  p.exit();
  for (int i = 1; i + 1 < frames; ++i)  // fi: call f(i+1); r0 += i; exit
    p << I(Op::CallLocal, 0, 0, 0, 2) << I(Op::Add64K, 0, 0, 0, i) << I(Op::Exit);
  p << I(Op::Mov64K, 0, 0, 0, 100) << I(Op::Mov64K, 8, 0, 0, 0) << I(Op::Exit);
  return p.insns;
}

}  // namespace bpfbox::vm::jit::test
