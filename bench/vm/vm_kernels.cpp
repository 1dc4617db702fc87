#include "vm_kernels.hpp"

#include <cstring>

namespace bpfbox::bench {
namespace {

constexpr uint32_t kLoopIterations = 1000;
constexpr uint32_t kWalkBytes = 2048;  // the kernel's linear XDP test packet tops out at 3520
// The kernel verifier walks the loop once per byte and keeps a pending state per compare; past
// ~1300 bytes it gives up ("the sequence of 8193 jumps is too complex").
constexpr uint32_t kBranchyBytes = 1024;

// 1000 iterations of a mixed 64/32-bit ALU recurrence (LCG + xorshift-like mixing).
const char* const kArithLoop = R"(
  r0 = 0
  r1 = 1
  r2 = 0x9e3779b9
  r3 = 1000
loop:
  r1 *= 0x5851f42d
  r1 += 0x14057b7e
  r4 = r1
  r4 >>= 29
  r0 ^= r4
  r5 = r0
  r5 <<= 7
  r0 += r5
  w2 += w1
  r0 -= r2
  r3 -= 1
  if r3 != 0x0 goto loop
)";

uint64_t native_arith(const uint8_t*) {
  uint64_t r0 = 0, r1 = 1, r2 = 0x9e3779b9;
  for (uint32_t i = 0; i < kLoopIterations; ++i) {
    r1 = r1 * 0x5851f42d + 0x14057b7e;
    r0 ^= r1 >> 29;
    r0 += r0 << 7;
    r2 = static_cast<uint32_t>(static_cast<uint32_t>(r2) + static_cast<uint32_t>(r1));
    r0 -= r2;
  }
  return r0;
}

// Sum 2 KiB as 32-bit words with ldx; the r7 check is what the kernel verifier needs.
const char* const kMemWalk = R"(
  r0 = 0
  r1 = r6
  r4 = 512
loop:
  r2 = r1
  r2 += 4
  if r2 > r7 goto done
  r3 = *(u32 *)(r1 +0)
  r0 += r3
  r1 = r2
  r4 -= 1
  if r4 != 0x0 goto loop
done:
)";

uint64_t native_memwalk(const uint8_t* data) {
  uint64_t sum = 0;
  for (uint32_t off = 0; off < kWalkBytes; off += 4) {
    uint32_t w;
    std::memcpy(&w, data + off, 4);
    sum += w;
  }
  return sum;
}

// Classify 1 KiB of bytes with a compare chain (digit / upper / lower / other), as a lexer does.
const char* const kBranchy = R"(
  r0 = 0
  r4 = 0
  r5 = 0
  r8 = 0
  r1 = r6
  r9 = 1024
loop:
  r2 = r1
  r2 += 1
  if r2 > r7 goto done
  r3 = *(u8 *)(r1 +0)
  if r3 < 0x30 goto other
  if r3 < 0x3a goto digit
  if r3 < 0x41 goto other
  if r3 < 0x5b goto upper
  if r3 < 0x61 goto other
  if r3 < 0x7b goto lower
other:
  r8 += 1
  goto next
digit:
  r0 += 1
  goto next
upper:
  r4 += 1
  goto next
lower:
  r5 += 1
next:
  r1 = r2
  r9 -= 1
  if r9 != 0x0 goto loop
done:
  r4 <<= 16
  r0 |= r4
  r5 <<= 32
  r0 |= r5
  r8 <<= 48
  r0 |= r8
)";

uint64_t native_branchy(const uint8_t* data) {
  uint64_t digit = 0, upper = 0, lower = 0, other = 0;
  for (uint32_t i = 0; i < kBranchyBytes; ++i) {
    const uint8_t c = data[i];
    if (c < 0x30)
      ++other;
    else if (c < 0x3a)
      ++digit;
    else if (c < 0x41)
      ++other;
    else if (c < 0x5b)
      ++upper;
    else if (c < 0x61)
      ++other;
    else if (c < 0x7b)
      ++lower;
    else
      ++other;
  }
  return digit | upper << 16 | lower << 32 | other << 48;
}

// A helper call per iteration: bpf_get_prandom_u32 in the kernel, a trivial helper in bpfbox.
const char* const kHelperCall = R"(
  r8 = 0
  r9 = 1000
loop:
  call 7
  r8 += r0
  r9 -= 1
  if r9 != 0x0 goto loop
  r0 = r8
)";

[[gnu::noinline]] uint64_t native_helper_fn(uint64_t, uint64_t, uint64_t, uint64_t, uint64_t) {
  return trivial_helper_value();
}
uint64_t (*volatile native_helper)(uint64_t, uint64_t, uint64_t, uint64_t,
                                   uint64_t) = native_helper_fn;

uint64_t native_helper_loop(const uint8_t*) {
  uint64_t sum = 0;
  for (uint32_t i = 0; i < kLoopIterations; ++i) sum += native_helper(0, 0, 0, 0, 0);
  return sum;
}

}  // namespace

uint64_t trivial_helper_value() {
  return 7;
}

const std::vector<VmKernel>& vm_kernels() {
  static const std::vector<VmKernel> kernels = {
      {"ArithLoop", 64, kArithLoop, native_arith, true},
      {"MemWalk", kWalkBytes, kMemWalk, native_memwalk, true},
      {"Branchy", kBranchyBytes, kBranchy, native_branchy, true},
      {"HelperCall", 64, kHelperCall, native_helper_loop, false},
  };
  return kernels;
}

std::vector<uint8_t> make_buffer(const VmKernel& k) {
  std::vector<uint8_t> buf(k.walk + 8, 0);
  uint32_t x = 2463534242u;  // xorshift32: the same bytes on every run and machine
  for (uint32_t i = 0; i < k.walk; ++i) {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    buf[i] = static_cast<uint8_t>(x & 0x7f);  // ASCII, so every class of Branchy turns up
  }
  return buf;
}

std::string program_text(const VmKernel& k, Wrapping w) {
  const std::string len = std::to_string(k.walk + 8);
  std::string text;
  if (w == Wrapping::KernelXdp)
    text = "r6 = *(u32 *)(r1 +0)\nr7 = *(u32 *)(r1 +4)\n";
  else
    text = "r6 = r1\nr7 = r1\nr7 += " + len + "\n";
  text += "r2 = r6\nr2 += " + len + "\nif r2 > r7 goto drop\n";
  text += k.body;
  text += "*(u64 *)(r6 +" + std::to_string(k.walk) + ") = r0\nr0 = 2\nexit\ndrop:\nr0 = 1\nexit\n";
  return text;
}

}  // namespace bpfbox::bench
