// The run-time semantics of the ALU and jump instructions on concrete values, as the engines
// execute them (src/vm/interp): the ground truth the abstract domain must contain. Cross-checked
// against the interpreter by concrete_test.cpp.
#pragma once

#include <linux/bpf.h>

#include <cstdint>

namespace bpfbox::verifier::test {

// dst OP src for the instruction `code` (its class, operation and source bit) with `off` and
// `imm`; for BPF_K forms the caller passes the immediate, sign-extended, as src.
inline uint64_t eval_alu(uint8_t code, int16_t off, int32_t imm, uint64_t dst, uint64_t src) {
  const bool alu64 = BPF_CLASS(code) == BPF_ALU64;
  const uint8_t op = BPF_OP(code);
  if (op == BPF_END) {
    const bool swap = alu64 || BPF_SRC(code) == BPF_TO_BE;
    switch (imm) {
      case 16:
        return swap ? __builtin_bswap16(uint16_t(dst)) : uint16_t(dst);
      case 32:
        return swap ? __builtin_bswap32(uint32_t(dst)) : uint32_t(dst);
      default:
        return swap ? __builtin_bswap64(dst) : dst;
    }
  }
  if (alu64) {
    const auto sa = int64_t(dst), sb = int64_t(src);
    switch (op) {
      case BPF_ADD:
        return dst + src;
      case BPF_SUB:
        return dst - src;
      case BPF_MUL:
        return dst * src;
      case BPF_DIV:
        if (src == 0) return 0;
        if (off == 0) return dst / src;
        return sb == -1 ? uint64_t(0) - dst : uint64_t(sa / sb);
      case BPF_MOD:
        if (src == 0) return dst;
        if (off == 0) return dst % src;
        return sb == -1 ? 0 : uint64_t(sa % sb);
      case BPF_OR:
        return dst | src;
      case BPF_AND:
        return dst & src;
      case BPF_XOR:
        return dst ^ src;
      case BPF_LSH:
        return dst << (src & 63);
      case BPF_RSH:
        return dst >> (src & 63);
      case BPF_ARSH:
        return uint64_t(sa >> (src & 63));
      case BPF_NEG:
        return uint64_t(0) - dst;
      case BPF_MOV:
        switch (off) {
          case 8:
            return uint64_t(int64_t(int8_t(src)));
          case 16:
            return uint64_t(int64_t(int16_t(src)));
          case 32:
            return uint64_t(int64_t(int32_t(src)));
          default:
            return src;
        }
    }
    return 0;
  }
  const auto a = uint32_t(dst), b = uint32_t(src);
  const auto sa = int32_t(a), sb = int32_t(b);
  switch (op) {
    case BPF_ADD:
      return uint32_t(a + b);
    case BPF_SUB:
      return uint32_t(a - b);
    case BPF_MUL:
      return uint32_t(a * b);
    case BPF_DIV:
      if (b == 0) return 0;
      if (off == 0) return a / b;
      return sb == -1 ? uint32_t(0u - a) : uint32_t(sa / sb);
    case BPF_MOD:
      if (b == 0) return a;
      if (off == 0) return a % b;
      return sb == -1 ? 0 : uint32_t(sa % sb);
    case BPF_OR:
      return a | b;
    case BPF_AND:
      return a & b;
    case BPF_XOR:
      return a ^ b;
    case BPF_LSH:
      return uint32_t(a << (b & 31));
    case BPF_RSH:
      return a >> (b & 31);
    case BPF_ARSH:
      return uint32_t(sa >> (b & 31));
    case BPF_NEG:
      return uint32_t(0u - a);
    case BPF_MOV:
      switch (off) {
        case 8:
          return uint32_t(int32_t(int8_t(b)));
        case 16:
          return uint32_t(int32_t(int16_t(b)));
        default:
          return b;
      }
  }
  return 0;
}

// Whether `a OP b` holds for a conditional jump (op is BPF_OP(code)), in 32 or 64 bits.
inline bool eval_jmp(uint8_t op, bool is32, uint64_t a, uint64_t b) {
  if (is32) {
    a = uint32_t(a);
    b = uint32_t(b);
  }
  const int64_t sa = is32 ? int64_t(int32_t(a)) : int64_t(a);
  const int64_t sb = is32 ? int64_t(int32_t(b)) : int64_t(b);
  switch (op) {
    case BPF_JEQ:
      return a == b;
    case BPF_JNE:
      return a != b;
    case BPF_JGT:
      return a > b;
    case BPF_JGE:
      return a >= b;
    case BPF_JLT:
      return a < b;
    case BPF_JLE:
      return a <= b;
    case BPF_JSGT:
      return sa > sb;
    case BPF_JSGE:
      return sa >= sb;
    case BPF_JSLT:
      return sa < sb;
    case BPF_JSLE:
      return sa <= sb;
    case BPF_JSET:
      return (a & b) != 0;
  }
  return false;
}

}  // namespace bpfbox::verifier::test
