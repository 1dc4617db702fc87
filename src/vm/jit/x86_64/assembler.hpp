// A small x86-64 encoder: exactly the instruction forms the eBPF JIT emits, written straight into a
// byte buffer. Header-only so that the translator's per-instruction work inlines to a few stores.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <vector>

namespace bpfbox::vm::jit::x86_64 {

enum Reg : uint8_t {
  RAX,
  RCX,
  RDX,
  RBX,
  RSP,
  RBP,
  RSI,
  RDI,
  R8,
  R9,
  R10,
  R11,
  R12,
  R13,
  R14,
  R15,
};

// Condition codes in their encoding order (the low nibble of Jcc/SETcc/CMOVcc).
enum Cond : uint8_t {
  kO,
  kNO,
  kB,
  kAE,
  kE,
  kNE,
  kBE,
  kA,
  kS,
  kNS,
  kP,
  kNP,
  kL,
  kGE,
  kLE,
  kG,
};

// Group-1 ALU operations: the /digit of 0x81/0x83 and (digit << 3 | 1) the r/m,reg opcode.
enum AluOp : uint8_t { kAdd = 0, kOr = 1, kAnd = 4, kSub = 5, kXor = 6, kCmp = 7 };
// Group-2 shifts: the /digit of 0xC1/0xD3.
enum ShiftOp : uint8_t { kRol = 0, kRor = 1, kShl = 4, kShr = 5, kSar = 7 };

// A memory operand [base + disp].
struct Mem {
  Reg base;
  int32_t disp;
};

inline bool fits_i8(int64_t v) {
  return v >= -128 && v <= 127;
}
inline bool fits_i32(int64_t v) {
  return v >= INT32_MIN && v <= INT32_MAX;
}

class Assembler {
 public:
  // Bytes that one BPF instruction's translation never exceeds; ensure() before each one keeps
  // the per-byte stores free of capacity checks.
  static constexpr size_t kSlack = 256;

  explicit Assembler(std::vector<uint8_t>& buf) : buf_(buf) {
    if (buf_.size() < kSlack) buf_.resize(kSlack * 4);
    p_ = buf_.data();
  }

  size_t size() const { return static_cast<size_t>(p_ - buf_.data()); }
  uint8_t* data() { return buf_.data(); }
  void ensure(size_t n = kSlack) {
    const size_t used = size();
    if (used + n > buf_.size()) {
      buf_.resize((used + n) * 2);
      p_ = buf_.data() + used;
    }
  }

  void byte(uint8_t b) { *p_++ = b; }
  void u16(uint16_t v) { std::memcpy(p_, &v, 2), p_ += 2; }
  void u32(uint32_t v) { std::memcpy(p_, &v, 4), p_ += 4; }
  void u64(uint64_t v) { std::memcpy(p_, &v, 8), p_ += 8; }
  void patch_i32(size_t at, int32_t v) { std::memcpy(buf_.data() + at, &v, 4); }

  // n bytes of padding as few multi-byte NOPs as possible (the forms the CPU vendors recommend).
  void nops(size_t n) {
    static constexpr uint8_t kNop[9][9] = {{0x90},
                                           {0x66, 0x90},
                                           {0x0F, 0x1F, 0x00},
                                           {0x0F, 0x1F, 0x40, 0x00},
                                           {0x0F, 0x1F, 0x44, 0x00, 0x00},
                                           {0x66, 0x0F, 0x1F, 0x44, 0x00, 0x00},
                                           {0x0F, 0x1F, 0x80, 0x00, 0x00, 0x00, 0x00},
                                           {0x0F, 0x1F, 0x84, 0x00, 0x00, 0x00, 0x00, 0x00},
                                           {0x66, 0x0F, 0x1F, 0x84, 0x00, 0x00, 0x00, 0x00, 0x00}};
    while (n) {
      const size_t k = n < 9 ? n : 9;
      std::memcpy(p_, kNop[k - 1], k), p_ += k;
      n -= k;
    }
  }

  // --- encoding helpers ---------------------------------------------------------------------
  // REX prefix for reg (ModRM.reg) and rm (ModRM.rm or base); `force` emits 0x40 even when no bit
  // is set (byte access to sil/dil/bpl/spl).
  void rex(bool w, uint8_t reg, uint8_t rm, bool force = false) {
    const uint8_t r = static_cast<uint8_t>(0x40 | (w << 3) | ((reg >> 3) << 2) | (rm >> 3));
    if (r != 0x40 || force) byte(r);
  }
  void modrm_rr(uint8_t reg, uint8_t rm) { byte(0xC0 | ((reg & 7) << 3) | (rm & 7)); }
  void modrm_mem(uint8_t reg, Mem m) {
    const uint8_t b = m.base & 7;
    const uint8_t mod = (m.disp == 0 && b != RBP) ? 0 : fits_i8(m.disp) ? 1 : 2;
    byte(static_cast<uint8_t>((mod << 6) | ((reg & 7) << 3) | b));
    if (b == RSP) byte(0x24);  // SIB: no index, base rsp/r12
    if (mod == 1) byte(static_cast<uint8_t>(m.disp));
    if (mod == 2) u32(static_cast<uint32_t>(m.disp));
  }
  static bool needs_byte_rex(uint8_t r) { return r >= RSP && r <= RDI; }

  // op r/m, reg  (register direct)
  void op_rr(bool w, uint8_t opcode, uint8_t reg, uint8_t rm) {
    rex(w, reg, rm);
    byte(opcode);
    modrm_rr(reg, rm);
  }
  void op_rm(bool w, uint8_t opcode, uint8_t reg, Mem m, bool force_rex = false) {
    rex(w, reg, m.base, force_rex);
    byte(opcode);
    modrm_mem(reg, m);
  }
  void op0f_rr(bool w, uint8_t opcode, uint8_t reg, uint8_t rm, bool force_rex = false) {
    rex(w, reg, rm, force_rex);
    byte(0x0F);
    byte(opcode);
    modrm_rr(reg, rm);
  }
  void op0f_rm(bool w, uint8_t opcode, uint8_t reg, Mem m) {
    rex(w, reg, m.base);
    byte(0x0F);
    byte(opcode);
    modrm_mem(reg, m);
  }

  // --- moves --------------------------------------------------------------------------------
  void mov_rr(bool w, Reg dst, Reg src) { op_rr(w, 0x89, src, dst); }
  // dst = imm (zero- or sign-extended to 64 bits by the shortest encoding).
  void mov_imm64(Reg dst, uint64_t v) {
    if (v == 0) {
      op_rr(false, 0x31, dst, dst);  // xor r32, r32
    } else if (v <= UINT32_MAX) {
      mov_imm32(dst, static_cast<uint32_t>(v));
    } else if (fits_i32(static_cast<int64_t>(v))) {
      rex(true, 0, dst);
      byte(0xC7);
      modrm_rr(0, dst);
      u32(static_cast<uint32_t>(v));
    } else {
      rex(true, 0, dst);
      byte(0xB8 | (dst & 7));
      u64(v);
    }
  }
  // dst32 = imm (upper half cleared); a plain mov keeps the flags, unlike xor.
  void mov_imm32(Reg dst, uint32_t v) {
    rex(false, 0, dst);
    byte(0xB8 | (dst & 7));
    u32(v);
  }
  void movabs(Reg dst, uint64_t v) {
    rex(true, 0, dst);
    byte(0xB8 | (dst & 7));
    u64(v);
  }
  void lea(Reg dst, Mem m) { op_rm(true, 0x8D, dst, m); }
  // 32-bit: the low half of the address, zero-extended (what a 32-bit add would leave).
  void lea(bool w, Reg dst, Mem m) { op_rm(w, 0x8D, dst, m); }
  // dst = base + index (SIB, scale 1; index is never rsp, which holds no BPF register).
  void lea_rr(bool w, Reg dst, Reg base, Reg index) {
    byte(static_cast<uint8_t>(0x40 | (w << 3) | ((dst >> 3) << 2) | ((index >> 3) << 1) |
                              (base >> 3)));
    byte(0x8D);
    const bool disp8 = (base & 7) == RBP;  // mod 00 with base rbp/r13 would mean disp32, no base
    byte(static_cast<uint8_t>(((disp8 ? 1 : 0) << 6) | ((dst & 7) << 3) | 4));
    byte(static_cast<uint8_t>(((index & 7) << 3) | (base & 7)));
    if (disp8) byte(0);
  }

  // Loads: zero-extending for 1/2/4 bytes.
  void load(uint8_t size, Reg dst, Mem m) {
    switch (size) {
      case 1:
        op0f_rm(false, 0xB6, dst, m);
        break;
      case 2:
        op0f_rm(false, 0xB7, dst, m);
        break;
      case 4:
        op_rm(false, 0x8B, dst, m);
        break;
      default:
        op_rm(true, 0x8B, dst, m);
        break;
    }
  }
  // Sign-extending loads to 64 bits.
  void load_sx(uint8_t size, Reg dst, Mem m) {
    switch (size) {
      case 1:
        op0f_rm(true, 0xBE, dst, m);
        break;
      case 2:
        op0f_rm(true, 0xBF, dst, m);
        break;
      case 4:
        op_rm(true, 0x63, dst, m);
        break;
      default:
        op_rm(true, 0x8B, dst, m);
        break;
    }
  }
  void store(uint8_t size, Mem m, Reg src) {
    switch (size) {
      case 1:
        op_rm(false, 0x88, src, m, needs_byte_rex(src));
        break;
      case 2:
        byte(0x66), op_rm(false, 0x89, src, m);
        break;
      case 4:
        op_rm(false, 0x89, src, m);
        break;
      default:
        op_rm(true, 0x89, src, m);
        break;
    }
  }
  // *(size*)m = imm; an 8-byte store sign-extends imm as BPF_ST does.
  void store_imm(uint8_t size, Mem m, int32_t imm) {
    switch (size) {
      case 1:
        op_rm(false, 0xC6, 0, m), byte(static_cast<uint8_t>(imm));
        break;
      case 2:
        byte(0x66), op_rm(false, 0xC7, 0, m), u16(static_cast<uint16_t>(imm));
        break;
      case 4:
        op_rm(false, 0xC7, 0, m), u32(static_cast<uint32_t>(imm));
        break;
      default:
        op_rm(true, 0xC7, 0, m), u32(static_cast<uint32_t>(imm));
        break;
    }
  }

  void movzx8(Reg dst, Reg src) { op0f_rr(false, 0xB6, dst, src, needs_byte_rex(src)); }
  void movzx16(Reg dst, Reg src) { op0f_rr(false, 0xB7, dst, src); }
  void movsx8(bool w, Reg dst, Reg src) { op0f_rr(w, 0xBE, dst, src, needs_byte_rex(src)); }
  void movsx16(bool w, Reg dst, Reg src) { op0f_rr(w, 0xBF, dst, src); }
  void movsxd(Reg dst, Reg src) { op_rr(true, 0x63, dst, src); }

  // --- arithmetic ---------------------------------------------------------------------------
  void alu_rr(bool w, AluOp op, Reg dst, Reg src) {
    op_rr(w, static_cast<uint8_t>(op << 3 | 1), src, dst);
  }
  void alu_ri(bool w, AluOp op, Reg dst, int32_t imm) {
    rex(w, 0, dst);
    if (fits_i8(imm)) {
      byte(0x83), modrm_rr(op, dst), byte(static_cast<uint8_t>(imm));
    } else {
      byte(0x81), modrm_rr(op, dst), u32(static_cast<uint32_t>(imm));
    }
  }
  void alu_rm(bool w, AluOp op, Reg dst, Mem m) {
    op_rm(w, static_cast<uint8_t>(op << 3 | 3), dst, m);
  }
  void alu_mi(bool w, AluOp op, Mem m, int32_t imm) {
    if (fits_i8(imm)) {
      op_rm(w, 0x83, op, m), byte(static_cast<uint8_t>(imm));
    } else {
      op_rm(w, 0x81, op, m), u32(static_cast<uint32_t>(imm));
    }
  }
  // cmp byte [m], imm8
  void cmp_m8(Mem m, int8_t imm) {
    op_rm(false, 0x80, 7, m);
    byte(static_cast<uint8_t>(imm));
  }
  void push_imm32(int32_t imm) {
    byte(0x68);
    u32(static_cast<uint32_t>(imm));
  }
  void rep_stosq() { byte(0xF3), byte(0x48), byte(0xAB); }
  void test_rr(bool w, Reg a, Reg b) { op_rr(w, 0x85, b, a); }
  void test_ri(bool w, Reg r, int32_t imm) {
    if (r == RAX) {
      if (w) byte(0x48);
      byte(0xA9);
    } else {
      rex(w, 0, r);
      byte(0xF7);
      modrm_rr(0, r);
    }
    u32(static_cast<uint32_t>(imm));
  }
  void imul_rr(bool w, Reg dst, Reg src) { op0f_rr(w, 0xAF, dst, src); }
  void imul_rri(bool w, Reg dst, Reg src, int32_t imm) {
    rex(w, dst, src);
    if (fits_i8(imm)) {
      byte(0x6B), modrm_rr(dst, src), byte(static_cast<uint8_t>(imm));
    } else {
      byte(0x69), modrm_rr(dst, src), u32(static_cast<uint32_t>(imm));
    }
  }
  // Group 3: /3 neg, /6 div, /7 idiv.
  void grp3(bool w, uint8_t digit, Reg r) {
    rex(w, 0, r);
    byte(0xF7);
    modrm_rr(digit, r);
  }
  void neg(bool w, Reg r) { grp3(w, 3, r); }
  void div(bool w, bool is_signed, Reg r) { grp3(w, is_signed ? 7 : 6, r); }
  void mul(Reg r) { grp3(true, 4, r); }  // rdx:rax = rax * r, unsigned
  void cqo(bool w) {
    if (w) byte(0x48);
    byte(0x99);  // cdq / cqo
  }
  void shift_ri(bool w, ShiftOp op, Reg r, uint8_t n) {
    rex(w, 0, r);
    if (n == 1) {
      byte(0xD1), modrm_rr(op, r);
    } else {
      byte(0xC1), modrm_rr(op, r), byte(n);
    }
  }
  void shift_rcl(bool w, ShiftOp op, Reg r) {
    rex(w, 0, r);
    byte(0xD3);
    modrm_rr(op, r);
  }
  // BMI2 shlx/shrx/sarx: dst = src shifted by count (masked like the legacy forms).
  void shiftx(bool w, ShiftOp op, Reg dst, Reg src, Reg count) {
    const uint8_t pp = op == kShl ? 1 : op == kShr ? 3 : 2;  // 66 / F2 / F3
    byte(0xC4);
    byte(static_cast<uint8_t>(((~dst >> 3) & 1) << 7 | 1 << 6 | ((~src >> 3) & 1) << 5 | 0x02));
    byte(static_cast<uint8_t>((w << 7) | ((~count & 15) << 3) | pp));
    byte(0xF7);
    modrm_rr(dst, src);
  }
  void ror16_8(Reg r) {
    byte(0x66);
    shift_ri(false, kRor, r, 8);
  }
  void bswap(bool w, Reg r) {
    rex(w, 0, r);
    byte(0x0F);
    byte(0xC8 | (r & 7));
  }

  // --- atomics ------------------------------------------------------------------------------
  void lock() { byte(0xF0); }
  void xadd(bool w, Mem m, Reg src) { op0f_rm(w, 0xC1, src, m); }
  void cmpxchg(bool w, Mem m, Reg src) { op0f_rm(w, 0xB1, src, m); }
  void xchg(bool w, Mem m, Reg src) { op_rm(w, 0x87, src, m); }
  void alu_mr(bool w, AluOp op, Mem m, Reg src) {
    op_rm(w, static_cast<uint8_t>(op << 3 | 1), src, m);
  }

  // --- control flow -------------------------------------------------------------------------
  void push(Reg r) {
    rex(false, 0, r);
    byte(0x50 | (r & 7));
  }
  void pop(Reg r) {
    rex(false, 0, r);
    byte(0x58 | (r & 7));
  }
  void ret() { byte(0xC3); }
  void call_r(Reg r) {
    rex(false, 0, r);
    byte(0xFF);
    modrm_rr(2, r);
  }
  void call_m(Mem m) { op_rm(false, 0xFF, 2, m); }
  void jmp_r(Reg r) {
    rex(false, 0, r);
    byte(0xFF);
    modrm_rr(4, r);
  }
  // Jumps to an absolute buffer offset; `short_ok` lets the caller choose the 2-byte form when it
  // knows the displacement fits (from the previous pass's layout).
  void jmp_to(size_t target, bool short_ok) {
    const int64_t d8 = static_cast<int64_t>(target) - static_cast<int64_t>(size() + 2);
    if (short_ok && fits_i8(d8)) {
      byte(0xEB), byte(static_cast<uint8_t>(d8));
    } else {
      byte(0xE9), u32(static_cast<uint32_t>(static_cast<int64_t>(target) -
                                            static_cast<int64_t>(size() + 4)));
    }
  }
  void jcc_to(Cond c, size_t target, bool short_ok) {
    const int64_t d8 = static_cast<int64_t>(target) - static_cast<int64_t>(size() + 2);
    if (short_ok && fits_i8(d8)) {
      byte(0x70 | c), byte(static_cast<uint8_t>(d8));
    } else {
      byte(0x0F), byte(0x80 | c);
      u32(static_cast<uint32_t>(static_cast<int64_t>(target) - static_cast<int64_t>(size() + 4)));
    }
  }
  void call_to(size_t target) {
    byte(0xE8);
    u32(static_cast<uint32_t>(static_cast<int64_t>(target) - static_cast<int64_t>(size() + 4)));
  }
  // Emits a rel32 jump/jcc to a later label and returns the offset of its displacement.
  size_t jcc_fwd32(Cond c) {
    byte(0x0F), byte(0x80 | c), u32(0);
    return size() - 4;
  }
  size_t jmp_fwd32() {
    byte(0xE9), u32(0);
    return size() - 4;
  }
  size_t jcc_fwd8(Cond c) {
    byte(0x70 | c), byte(0);
    return size() - 1;
  }
  // Points a forward rel8/rel32 displacement at the current position.
  void bind8(size_t at) { buf_[at] = static_cast<uint8_t>(size() - (at + 1)); }
  void bind32(size_t at) { patch_i32(at, static_cast<int32_t>(size() - (at + 4))); }

 private:
  std::vector<uint8_t>& buf_;
  uint8_t* p_;
};

}  // namespace bpfbox::vm::jit::x86_64
