// Random eBPF programs the kernel verifier accepts, and the wrappers that let any engine (the
// kernel through BPF_PROG_TEST_RUN, bpfbox's interpreter, its JIT) run them and report the same
// machine state: r0..r9 and the stack area the body uses.
//
// A program is a body of ALU/ALU32/JMP/JMP32/stack-memory/atomic instructions that starts with
// r0..r9 set to chosen 64-bit values and a zeroed 64-byte stack area [r10-64, r10). Jumps go
// forward only (no loops) and every instruction is reachable, so the kernel's CFG check passes.
// The body never touches r10 except as the base of a stack access inside its area.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <vector>

#include <linux/bpf.h>

namespace bpfbox::testsupport {

struct GeneratorOptions {
  int min_body = 16;  // body length in instruction units (an lddw counts once)
  int max_body = 96;
  bool alu32 = true;             // BPF_ALU ops and JMP32 conditions
  bool jumps = true;             // conditional and unconditional forward jumps
  bool memory = true;            // stack loads and stores of every size
  bool atomics = true;           // BPF_ATOMIC add/or/and/xor (+fetch), xchg, cmpxchg on the stack
  bool v4 = true;                // sdiv/smod, movsx, ldxs, bswap, gotol (kernel 6.6)
  bool acquire_release = false;  // load-acquire/store-release (kernel 6.15)
  bool calls = false;            // bpf-to-bpf calls into one or two generated subprograms
  // Steer around two kernel bugs (found by this test on 6.18, x86-64 JIT) so the kernel stays a
  // trustworthy oracle; both are about atomics whose fetched value the verifier tracks wrongly
  // when it prunes states:
  //  - a 32-bit cmpxchg whose compare succeeds leaves r0's upper half as it was (x86 cmpxchg
  //    does not write eax then) when the verifier skipped the zero-extension it should insert;
  //  - the value an atomic fetches from a stack slot written differently on two paths is not
  //    marked precise, so one path is pruned and a branch on the fetched value is hard-wired.
  // With this set, a fetching atomic is preceded by a store of an immediate to its slot (the
  // same value on every path) and a 32-bit cmpxchg by "w0 = w0".
  bool avoid_kernel_atomic_bugs = true;
};

constexpr int kStateRegs = 10;
constexpr int kBodyStackBytes = 64;  // the body's stack area is [r10-64, r10)
constexpr uint32_t kStateBytes = kStateRegs * 8 + kBodyStackBytes;
constexpr int16_t kBufferSlot = -72;    // the wrapper keeps the output pointer here
constexpr int16_t kSpillSlot = -80;     // the epilogue parks r9 here
constexpr uint32_t kWrappedRetval = 2;  // r0 at exit of a wrapped program (XDP_PASS)

// What a wrapped program leaves in its output buffer.
struct MachineState {
  std::array<uint64_t, kStateRegs> regs{};
  std::array<uint8_t, kBodyStackBytes> stack{};  // stack[i] is the byte at r10 - 64 + i

  static MachineState from_bytes(std::span<const uint8_t> bytes);  // kStateBytes bytes
  bool operator==(const MachineState&) const = default;
};

// "r3: expected 0x.. got 0x..", one line per difference; empty when equal.
std::string describe_difference(const MachineState& expected, const MachineState& got);

// A subprogram: r1..r5 are the caller's, r0 = r1 and r6..r9 = init on entry, its own zeroed
// 64-byte stack area; it returns r0 xor every register and stack word, so all it computed shows.
struct Subprogram {
  std::array<uint64_t, 4> init{};     // r6..r9
  std::vector<struct bpf_insn> body;  // as RandomProgram::body, no calls
};

struct RandomProgram {
  uint64_t seed = 0;
  std::array<uint64_t, kStateRegs> init{};  // r0..r9 on entry to the body
  std::vector<struct bpf_insn> body;        // a jump may target body.size(): the epilogue
  // Called by "call" (BPF_PSEUDO_CALL) instructions whose imm is the index here until wrap()
  // resolves it; each call is followed by r1..r5 = constants (the calling convention clobbers
  // them).
  std::vector<Subprogram> subprograms;
};

// The same seed and options give the same program, on every machine.
RandomProgram generate_program(uint64_t seed, const GeneratorOptions& opts = {});

enum class Wrapper {
  Buffer,     // r1 points at a kStateBytes buffer (bpfbox's engines)
  KernelXdp,  // an XDP program writing into its packet (kStateBytes long; read back via data_out)
};

// prologue (save the output pointer, zero the stack area, lddw r0..r9) + body + epilogue (store
// r0..r9 and the stack area into the output, return kWrappedRetval).
std::vector<struct bpf_insn> wrap(const RandomProgram& p, Wrapper w);

// Shrinks a failing program while `still_fails` holds, for a readable report: body instructions
// become no-ops ("goto +0", which keeps every jump offset valid) and initial register values
// become 0, one at a time, until nothing more can go.
RandomProgram shrink(RandomProgram p, const std::function<bool(const RandomProgram&)>& still_fails);

// The initial registers and the body without its no-ops, for failure messages.
std::string describe_program(const RandomProgram& p);

// Instruction dump for failure messages: the kernel-log disassembly, one line per instruction.
std::string listing(std::span<const struct bpf_insn> prog);

}  // namespace bpfbox::testsupport
