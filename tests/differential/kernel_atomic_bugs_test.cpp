// Two kernel bugs this differential test ran into (6.18, x86-64 JIT), kept as reproducers: the
// interpreter must give the ISA's answer, and the test reports whether the running kernel still
// gets it wrong (the generator's avoid_kernel_atomic_bugs steers around both until it does not).
#include <gtest/gtest.h>

#include <cstdio>

#include "bpfbox/vm.hpp"
#include "isa/decoder.hpp"
#include "kernel_bpf.hpp"
#include "random_program.hpp"

namespace bpfbox::testsupport {
namespace {

using isa::encode;
using isa::Op;

MachineState run_interp(const RandomProgram& p) {
  const auto prog = wrap(p, Wrapper::Buffer);
  vm::HelperTable helpers;
  auto exe = vm::compile(vm::EngineKind::Interp, prog, helpers, {.checked = true});
  EXPECT_TRUE(exe) << exe.status().message();
  alignas(8) uint8_t out[kStateBytes] = {};
  if (!exe) return {};
  vm::RunContext rc;
  rc.add_region(out, sizeof out, vm::kReadWrite, "out");
  (*exe)->run(rc, reinterpret_cast<uint64_t>(out));
  EXPECT_EQ(rc.fault.kind, vm::FaultKind::None) << vm::describe(rc.fault, &rc);
  return MachineState::from_bytes(out);
}

// Reports (does not fail on) the kernel disagreeing with the interpreter.
void report_kernel(const char* bug, const RandomProgram& p, const MachineState& isa) {
  if (kernel_bpf_unavailable()) return;
  auto loaded = kernel_load(BPF_PROG_TYPE_XDP, wrap(p, Wrapper::KernelXdp));
  ASSERT_TRUE(loaded) << loaded.status().message();
  std::vector<uint8_t> pkt(kStateBytes, 0);
  auto run = kernel_test_run(*loaded, pkt);
  ASSERT_TRUE(run) << run.status().message();
  const std::string diff = describe_difference(isa, MachineState::from_bytes(run->data_out));
  std::printf("%s: the running kernel %s\n%s", bug,
              diff.empty() ? "gets it right" : "still gets it wrong:", diff.c_str());
}

// A 32-bit cmpxchg whose compare succeeds must still zero-extend r0 (the old value, 0). The kernel
// prunes the path that reads r0 as 64 bits, so it never inserts the zero-extension x86 needs.
TEST(KernelAtomicBugs, Cmpxchg32ZeroExtendsR0) {
  RandomProgram p;
  p.init[0] = 0x8000000000000000;
  p.body.assign(67, encode(Op::Ja, 0, 0, 0, 0));  // the shrunk program's layout
  p.body[8] = encode(Op::Smod32K, 3, 0, 1, 9);    // w3 s%= 9: r3 = 0, unknown to the verifier
  p.body[10] = encode(Op::Jne64X, 0, 3, 1, 0);    // if r0 != r3 goto +1 (taken)
  p.body[22] = encode(Op::Jsgt64X, 1, 3, 7, 0);   // if r1 s> r3 goto +7 (not taken; skips 28)
  p.body[28] = encode(Op::Atomic32Cmpxchg, 10, 8, -24, BPF_CMPXCHG);  // succeeds: r0 = 0
  const MachineState s = run_interp(p);
  EXPECT_EQ(s.regs[0], 0u);
  report_kernel("cmpxchg32 zero-extension", p, s);
}

// The value xchg fetches from a stack slot written on one path only must stay path-sensitive.
// The kernel does not mark the slot precise, prunes the second path and hard-wires the jset.
TEST(KernelAtomicBugs, FetchedStackValueStaysPathSensitive) {
  RandomProgram p;
  p.init[3] = 0x70a09387;
  p.init[9] = static_cast<uint64_t>(-2);
  const struct bpf_insn nop = encode(Op::Ja, 0, 0, 0, 0);
  p.body.assign(76, nop);  // the layout of the shrunk program the test found, offsets included
  p.body[4] = encode(Op::Atomic32FetchXor, 10, 1, -64, BPF_XOR | BPF_FETCH);
  p.body[7] = encode(Op::StxDW, 10, 3, -16, 0);
  p.body[8] = encode(Op::Xor64X, 7, 9, 0, 0);
  p.body[14] = encode(Op::LdxW, 0, 10, -60, 0);
  p.body[30] = encode(Op::Xor32X, 7, 0, 0, 0);
  p.body[31] = encode(Op::Jgt64K, 7, 0, 6, 1427537766);  // taken: skips the store at 35
  p.body[35] = encode(Op::StDW, 10, 0, -32, -1);
  p.body[52] = encode(Op::Atomic64Xchg, 10, 6, -32, BPF_XCHG);  // r6 = 0
  p.body[64] = encode(Op::Jset32X, 6, 3, 10, 0);                // not taken
  p.body[72] = encode(Op::LdxH, 1, 10, -16, 0);                 // r1 = 0x9387
  const MachineState s = run_interp(p);
  EXPECT_EQ(s.regs[6], 0u);
  EXPECT_EQ(s.regs[1], 0x9387u);
  report_kernel("precision of a value fetched by an atomic", p, s);
}

}  // namespace
}  // namespace bpfbox::testsupport
