// The running kernel as the oracle for the disassembler's text: a program written in the kernel
// syntax is loaded with the verifier log at level 2, which prints "N: (xx) text" for every
// instruction it walks; disassemble() must print the same text for each.
#include <gtest/gtest.h>

#include <linux/bpf.h>

#include <cerrno>
#include <cstring>
#include <map>
#include <sstream>

#include "isa/assembler.hpp"
#include "isa/decoder.hpp"
#include "isa/disasm.hpp"
#include "kernel_bpf.hpp"

namespace bpfbox::isa {
namespace {

using testsupport::KernelLog;

KernelLog load_with_log(bpf_prog_type type, const std::vector<Insn>& prog) {
  return testsupport::kernel_verifier_log(type, prog, 2);
}

// "12: (b7) r0 = 1          ; R0_w=1" -> {12, "r0 = 1"} for every instruction line of the log.
std::map<size_t, std::string> insn_lines(const std::string& log) {
  std::map<size_t, std::string> out;
  std::istringstream in(log);
  std::string line;
  while (std::getline(in, line)) {
    size_t i = 0;
    while (i < line.size() && std::isdigit(static_cast<unsigned char>(line[i]))) ++i;
    if (i == 0 || line.compare(i, 3, ": (") != 0 || line.size() < i + 7 || line[i + 5] != ')')
      continue;
    std::string text = line.substr(i + 7);
    if (const size_t semi = text.find(" ;"); semi != std::string::npos) text.resize(semi);
    while (!text.empty() && text.back() == ' ') text.pop_back();
    out[std::stoul(line.substr(0, i))] = text;
  }
  return out;
}

// Every form the verifier accepts in a socket filter, each reachable.
constexpr const char* kProgram = R"(
    r6 = r1
    r0 = 0
    r1 = 5
    w2 = 7
    r1 += r2
    w1 -= -3
    r1 *= 3
    r1 /= r2
    w1 s/= 3
    r1 s%= r2
    r1 %= 7
    r1 |= 8
    r1 &= r2
    r1 <<= 2
    w1 >>= 1
    r1 s>>= 1
    r1 ^= r2
    w3 = w2
    w3 = -w3
    r3 = -r3
    r3 = (s8)r1
    w3 = (s16)w1
    r3 = (s32)r1
    r3 = be16 r3
    r3 = le32 r3
    r3 = bswap64 r3
    r4 = 0x1122334455667788
    r4 = 0x0
    *(u64 *)(r10 -8) = 42
    *(u32 *)(r10 -16) = r1
    *(u32 *)(r10 -12) = -1
    r5 = *(u64 *)(r10 -8)
    r5 = *(s8 *)(r10 -8)
    r5 = *(s16 *)(r10 -8)
    r5 = *(s32 *)(r10 -16)
    r5 = *(u16 *)(r10 -16)
    lock *(u64 *)(r10 -8) += r1
    lock *(u32 *)(r10 -16) |= r1
    lock *(u64 *)(r10 -8) &= r1
    lock *(u32 *)(r10 -16) ^= r1
    r5 = atomic64_fetch_add((u64 *)(r10 -8), r5)
    r5 = atomic_fetch_xor((u32 *)(r10 -16), r5)
    r5 = atomic64_fetch_or((u64 *)(r10 -8), r5)
    r5 = atomic_fetch_and((u32 *)(r10 -16), r5)
    r5 = atomic64_xchg((u64 *)(r10 -8), r5)
    r5 = atomic_xchg((u32 *)(r10 -16), r5)
    r0 = atomic64_cmpxchg((u64 *)(r10 -8), r0, r5)
    r0 = atomic_cmpxchg((u32 *)(r10 -16), r0, r5)
    r5 = load_acquire((u64 *)(r10 -8))
    w5 = load_acquire((u8 *)(r10 -8))
    store_release((u32 *)(r10 -16), w5)
    store_release((u64 *)(r10 -8), r5)
    may_goto pc+0
    if r1 == 0x0 goto pc+0
    if w1 s> w2 goto pc+0
    if r1 != 0xffffffff goto pc+0
    if r1 & r2 goto pc+0
    if w1 s<= 0x10 goto pc+0
    if r1 < r2 goto pc+0
    goto pc+0
    gotol pc+0
    call bpf_ktime_get_ns#5
    call pc+5
    r7 = 2
    r0 = *(u16 *)skb[12]
    r0 = *(u8 *)skb[r7 + 14]
    r0 = 0
    exit
    r0 = 1
    exit
)";

TEST(DisasmKernelOracle, VerifierLogPrintsTheSameText) {
  auto prog = assemble(kProgram, Syntax::Kernel);
  ASSERT_TRUE(prog) << prog.status().message();
  const KernelLog probe = load_with_log(
      BPF_PROG_TYPE_SOCKET_FILTER, {encode(Op::Mov64K, 0, 0, 0, 0), encode(Op::Exit, 0, 0, 0, 0)});
  if (probe.err == EPERM || probe.err == EACCES || probe.err == ENOSYS)
    GTEST_SKIP() << "the kernel refuses bpf(BPF_PROG_LOAD): " << std::strerror(probe.err);
  const KernelLog k = load_with_log(BPF_PROG_TYPE_SOCKET_FILTER, *prog);
  ASSERT_EQ(k.err, 0) << "the kernel rejected the program: " << k.log;
  const auto kernel_text = insn_lines(k.log);
  size_t compared = 0;
  for (size_t pc = 0; pc < prog->size();) {
    Decoded d;
    ASSERT_TRUE(decode(*prog, pc, d));
    const auto it = kernel_text.find(pc);
    if (it != kernel_text.end()) {
      EXPECT_EQ(disassemble(d), it->second) << "insn " << pc;
      ++compared;
    }
    pc += d.slots;
  }
  // Every instruction is reachable, so the log shows each of them.
  EXPECT_EQ(compared, kernel_text.size());
  EXPECT_GE(compared, 60u);
}

}  // namespace
}  // namespace bpfbox::isa
