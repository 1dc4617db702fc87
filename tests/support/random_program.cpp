#include "random_program.hpp"

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <random>

#include "isa/decoder.hpp"
#include "isa/disasm.hpp"

namespace bpfbox::testsupport {
namespace {

using isa::Op;

// Values where implementations tend to disagree: signs, widths, overflow of div/shift.
constexpr uint64_t kEdge64[] = {
    0,
    1,
    2,
    3,
    7,
    31,
    32,
    63,
    64,
    0x7f,
    0x80,
    0xff,
    0x7fff,
    0x8000,
    0xffff,
    0x7fffffff,
    0x80000000,
    0xffffffff,
    0x100000000,
    0x7fffffffffffffff,
    0x8000000000000000,
    0xffffffff80000000,
    0xffffffff7fffffff,
    0xfffffffffffffffe,
    0xffffffffffffffff,
};
constexpr int32_t kEdge32[] = {0,      1,      -1,     2,      -2,         7,        31,
                               32,     63,     64,     0x7f,   0x80,       0xff,     0x7fff,
                               0x8000, 0xffff, -32768, -65536, 0x7fffffff, INT32_MIN};

// Each binary ALU operation in its four forms: 64/32-bit, immediate/register.
struct AluOp {
  Op k64, x64, k32, x32;
  enum Imm { Any, Shift, Divisor } imm;
  bool v4;
};
constexpr AluOp kAluOps[] = {
    {Op::Add64K, Op::Add64X, Op::Add32K, Op::Add32X, AluOp::Any, false},
    {Op::Sub64K, Op::Sub64X, Op::Sub32K, Op::Sub32X, AluOp::Any, false},
    {Op::Mul64K, Op::Mul64X, Op::Mul32K, Op::Mul32X, AluOp::Any, false},
    {Op::Div64K, Op::Div64X, Op::Div32K, Op::Div32X, AluOp::Divisor, false},
    {Op::Sdiv64K, Op::Sdiv64X, Op::Sdiv32K, Op::Sdiv32X, AluOp::Divisor, true},
    {Op::Mod64K, Op::Mod64X, Op::Mod32K, Op::Mod32X, AluOp::Divisor, false},
    {Op::Smod64K, Op::Smod64X, Op::Smod32K, Op::Smod32X, AluOp::Divisor, true},
    {Op::Or64K, Op::Or64X, Op::Or32K, Op::Or32X, AluOp::Any, false},
    {Op::And64K, Op::And64X, Op::And32K, Op::And32X, AluOp::Any, false},
    {Op::Xor64K, Op::Xor64X, Op::Xor32K, Op::Xor32X, AluOp::Any, false},
    {Op::Lsh64K, Op::Lsh64X, Op::Lsh32K, Op::Lsh32X, AluOp::Shift, false},
    {Op::Rsh64K, Op::Rsh64X, Op::Rsh32K, Op::Rsh32X, AluOp::Shift, false},
    {Op::Arsh64K, Op::Arsh64X, Op::Arsh32K, Op::Arsh32X, AluOp::Shift, false},
    {Op::Mov64K, Op::Mov64X, Op::Mov32K, Op::Mov32X, AluOp::Any, false},
};

struct JmpOp {
  Op k64, x64, k32, x32;
};
constexpr JmpOp kJmpOps[] = {
    {Op::Jeq64K, Op::Jeq64X, Op::Jeq32K, Op::Jeq32X},
    {Op::Jne64K, Op::Jne64X, Op::Jne32K, Op::Jne32X},
    {Op::Jgt64K, Op::Jgt64X, Op::Jgt32K, Op::Jgt32X},
    {Op::Jge64K, Op::Jge64X, Op::Jge32K, Op::Jge32X},
    {Op::Jlt64K, Op::Jlt64X, Op::Jlt32K, Op::Jlt32X},
    {Op::Jle64K, Op::Jle64X, Op::Jle32K, Op::Jle32X},
    {Op::Jsgt64K, Op::Jsgt64X, Op::Jsgt32K, Op::Jsgt32X},
    {Op::Jsge64K, Op::Jsge64X, Op::Jsge32K, Op::Jsge32X},
    {Op::Jslt64K, Op::Jslt64X, Op::Jslt32K, Op::Jslt32X},
    {Op::Jsle64K, Op::Jsle64X, Op::Jsle32K, Op::Jsle32X},
    {Op::Jset64K, Op::Jset64X, Op::Jset32K, Op::Jset32X},
};

constexpr Op kAtomic32[] = {Op::Atomic32Add,     Op::Atomic32FetchAdd, Op::Atomic32Or,
                            Op::Atomic32FetchOr, Op::Atomic32And,      Op::Atomic32FetchAnd,
                            Op::Atomic32Xor,     Op::Atomic32FetchXor, Op::Atomic32Xchg,
                            Op::Atomic32Cmpxchg};
constexpr Op kAtomic64[] = {Op::Atomic64Add,     Op::Atomic64FetchAdd, Op::Atomic64Or,
                            Op::Atomic64FetchOr, Op::Atomic64And,      Op::Atomic64FetchAnd,
                            Op::Atomic64Xor,     Op::Atomic64FetchXor, Op::Atomic64Xchg,
                            Op::Atomic64Cmpxchg};

// One body instruction (an lddw takes two slots); jumps name their target unit until layout.
struct Unit {
  struct bpf_insn insn[6] = {};
  int slots = 1;
  enum { None, Cond, Always } jump = None;
  size_t target = 0;  // unit index, may be the body's end
};

class Generator {
 public:
  Generator(uint64_t seed, const GeneratorOptions& opts) : rng_(seed), opts_(opts) {}

  RandomProgram run(uint64_t seed) {
    RandomProgram p;
    p.seed = seed;
    for (auto& v : p.init) v = value64();
    if (opts_.calls) {
      GeneratorOptions sub = opts_;
      sub.calls = false;
      sub.min_body = 4;
      sub.max_body = 24;
      for (int i = static_cast<int>(below(2)); i >= 0; --i) {
        const uint64_t sub_seed = rng_();
        RandomProgram sp = Generator(sub_seed, sub).run(sub_seed);
        Subprogram s;
        std::copy(sp.init.begin() + 6, sp.init.end(), s.init.begin());
        s.body = std::move(sp.body);
        p.subprograms.push_back(std::move(s));
      }
      n_subprograms_ = p.subprograms.size();
    }
    const int n = static_cast<int>(below(opts_.max_body - opts_.min_body + 1)) + opts_.min_body;
    while (static_cast<int>(units_.size()) < n) emit_one();
    // The kernel refuses a subprogram nobody calls (unreachable): call each at least once.
    for (size_t k = 0; k < n_subprograms_; ++k) {
      const bool called = std::any_of(units_.begin(), units_.end(), [&](const Unit& u) {
        return u.insn[0].code == (BPF_JMP | BPF_CALL) && u.insn[0].imm == static_cast<int32_t>(k);
      });
      if (called) continue;
      emit_call();
      units_.back().insn[0].imm = static_cast<int32_t>(k);
      std::rotate(units_.begin() + static_cast<ptrdiff_t>(below(units_.size())), units_.end() - 1,
                  units_.end());
    }
    choose_targets();
    make_every_unit_reachable();
    layout(p.body);
    return p;
  }

 private:
  uint64_t below(uint64_t n) { return std::uniform_int_distribution<uint64_t>(0, n - 1)(rng_); }
  bool chance(int percent) { return static_cast<int>(below(100)) < percent; }
  uint8_t reg() { return static_cast<uint8_t>(below(kStateRegs)); }

  uint64_t value64() {
    switch (below(4)) {
      case 0:
        return kEdge64[below(std::size(kEdge64))];
      case 1:
        return static_cast<uint64_t>(static_cast<int64_t>(below(33)) - 16);
      case 2:
        return static_cast<uint64_t>(static_cast<int64_t>(static_cast<int32_t>(rng_())));
      default:
        return rng_();
    }
  }
  int32_t imm32() {
    switch (below(3)) {
      case 0:
        return kEdge32[below(std::size(kEdge32))];
      case 1:
        return static_cast<int32_t>(below(33)) - 16;
      default:
        return static_cast<int32_t>(rng_());
    }
  }
  // An offset in the stack area aligned to `size` (the verifier demands aligned stack access).
  int16_t stack_off(int size) {
    return static_cast<int16_t>(-kBodyStackBytes +
                                size * static_cast<int>(below(kBodyStackBytes / size)));
  }
  static int size_index(int size) { return size == 1 ? 0 : size == 2 ? 1 : size == 4 ? 2 : 3; }
  int mem_size() { return 1 << below(4); }

  void push(const struct bpf_insn& insn) {
    Unit u;
    u.insn[0] = insn;
    units_.push_back(u);
  }

  void emit_one() {
    // Weights: ALU dominates; memory and jumps give the verifier and the engines structure.
    const int w_alu = 40, w_unary = 10, w_lddw = 3, w_mem = opts_.memory ? 18 : 0,
              w_atomic = opts_.atomics ? 6 : 0, w_jmp = opts_.jumps ? 16 : 0,
              w_ja = opts_.jumps ? 3 : 0, w_call = n_subprograms_ ? 3 : 0;
    int pick = static_cast<int>(
        below(w_alu + w_unary + w_lddw + w_mem + w_atomic + w_jmp + w_ja + w_call));
    if ((pick -= w_call) < 0) return emit_call();
    if ((pick -= w_alu) < 0) return emit_alu();
    if ((pick -= w_unary) < 0) return emit_unary();
    if ((pick -= w_lddw) < 0) return emit_lddw();
    if ((pick -= w_mem) < 0) return emit_mem();
    if ((pick -= w_atomic) < 0) return emit_atomic();
    if ((pick -= w_jmp) < 0) return emit_cond_jump();
    return emit_ja();
  }

  void emit_call() {
    Unit u;
    u.insn[0] = isa::encode(Op::CallLocal, 0, BPF_PSEUDO_CALL, 0,
                            static_cast<int32_t>(below(n_subprograms_)));
    for (uint8_t r = 1; r <= 5; ++r) u.insn[u.slots++] = isa::encode(Op::Mov64K, r, 0, 0, imm32());
    units_.push_back(u);
  }

  void emit_alu() {
    const AluOp* op;
    do op = &kAluOps[below(std::size(kAluOps))];
    while (op->v4 && !opts_.v4);
    const bool is64 = !opts_.alu32 || chance(60);
    const bool use_reg = chance(50);
    const uint8_t dst = reg();
    if (use_reg) {
      const uint8_t src = reg();
      // Sometimes mask a register shift amount into range first, so in-range register shifts
      // are as common as the masked out-of-range ones.
      if (op->imm == AluOp::Shift && chance(50))
        push(isa::encode(is64 ? Op::And64K : Op::And32K, src, 0, 0, is64 ? 63 : 31));
      push(isa::encode(is64 ? op->x64 : op->x32, dst, src, 0, 0));
      return;
    }
    int32_t imm = imm32();
    if (op->imm == AluOp::Shift) imm = static_cast<int32_t>(below(is64 ? 64 : 32));
    // The kernel refuses division by an immediate zero; by a register zero it is defined.
    if (op->imm == AluOp::Divisor && imm == 0) imm = chance(50) ? -1 : 1;
    push(isa::encode(is64 ? op->k64 : op->k32, dst, 0, 0, imm));
  }

  void emit_unary() {
    const uint8_t dst = reg();
    switch (below(opts_.v4 ? 5 : 3)) {
      case 0:
        return push(isa::encode(opts_.alu32 && chance(50) ? Op::Neg32 : Op::Neg64, dst, 0, 0, 0));
      case 1: {
        constexpr Op kEnd[] = {Op::Le16, Op::Le32, Op::Le64, Op::Be16, Op::Be32, Op::Be64};
        const Op op = kEnd[below(std::size(kEnd))];
        return push(isa::encode(op, dst, 0, 0, isa::info(op).size));
      }
      case 2:  // mov with an edge value: divisors and shift amounts of zero and -1 turn up
        return push(isa::encode(Op::Mov64K, dst, 0, 0, kEdge32[below(std::size(kEdge32))]));
      case 3: {
        constexpr Op kSwap[] = {Op::Bswap16, Op::Bswap32, Op::Bswap64};
        const Op op = kSwap[below(std::size(kSwap))];
        return push(isa::encode(op, dst, 0, 0, isa::info(op).size));
      }
      default: {
        constexpr Op kMovsx[] = {Op::Movsx64_8, Op::Movsx64_16, Op::Movsx64_32, Op::Movsx32_8,
                                 Op::Movsx32_16};
        const Op op = kMovsx[below(opts_.alu32 ? std::size(kMovsx) : 3)];
        return push(isa::encode(op, dst, reg(), isa::info(op).size, 0));
      }
    }
  }

  void emit_lddw() {
    Unit u;
    isa::encode_lddw(reg(), 0, value64(), u.insn);
    u.slots = 2;
    units_.push_back(u);
  }

  void emit_mem() {
    static constexpr Op kSt[] = {Op::StB, Op::StH, Op::StW, Op::StDW};
    static constexpr Op kStx[] = {Op::StxB, Op::StxH, Op::StxW, Op::StxDW};
    static constexpr Op kLdx[] = {Op::LdxB, Op::LdxH, Op::LdxW, Op::LdxDW};
    static constexpr Op kLdxs[] = {Op::LdxsB, Op::LdxsH, Op::LdxsW};
    static constexpr Op kLoadAcq[] = {Op::LoadAcqB, Op::LoadAcqH, Op::LoadAcqW, Op::LoadAcqDW};
    static constexpr Op kStoreRel[] = {Op::StoreRelB, Op::StoreRelH, Op::StoreRelW, Op::StoreRelDW};
    const int size = mem_size();
    const int16_t off = stack_off(size);
    const int si = size_index(size);
    if (chance(20)) {
      // The same access through a copy of r10 moved by a constant, as one unit that overwrites
      // the copy at its end, so a stack address never reaches the compared state:
      // "rB = r10; rB += d; <access at rB + off - d>; rB = imm".
      const uint8_t base = reg();
      uint8_t other = reg();
      while (other == base) other = reg();
      const int16_t d = static_cast<int16_t>(-8 * static_cast<int>(below(9)));
      const int16_t o = static_cast<int16_t>(off - d);
      Unit u;
      u.insn[0] = isa::encode(Op::Mov64X, base, 10, 0, 0);
      u.insn[1] = isa::encode(Op::Add64K, base, 0, 0, d);
      switch (below(4)) {
        case 0:
          u.insn[2] = isa::encode(kSt[si], base, 0, o, imm32());
          break;
        case 1:
          u.insn[2] = isa::encode(kStx[si], base, other, o, 0);
          break;
        case 2:
          u.insn[2] = isa::encode(kLdx[si], other, base, o, 0);
          break;
        default:
          u.insn[2] = isa::encode(opts_.v4 && size < 8 ? kLdxs[si] : kLdx[si], other, base, o, 0);
      }
      u.insn[3] = isa::encode(Op::Mov64K, base, 0, 0, imm32());
      u.slots = 4;
      units_.push_back(u);
      return;
    }
    switch (below(opts_.acquire_release ? 6 : 4)) {
      case 0:
        return push(isa::encode(kSt[si], 10, 0, off, imm32()));
      case 1:
        return push(isa::encode(kStx[si], 10, reg(), off, 0));
      case 2:
        return push(isa::encode(kLdx[si], reg(), 10, off, 0));
      case 3:
        if (opts_.v4 && size < 8) return push(isa::encode(kLdxs[si], reg(), 10, off, 0));
        return push(isa::encode(kLdx[si], reg(), 10, off, 0));
      case 4:
        return push(isa::encode(kLoadAcq[si], reg(), 10, off, BPF_LOAD_ACQ));
      default:
        return push(isa::encode(kStoreRel[si], 10, reg(), off, BPF_STORE_REL));
    }
  }

  void emit_atomic() {
    const bool is64 = chance(50);
    const Op op =
        is64 ? kAtomic64[below(std::size(kAtomic64))] : kAtomic32[below(std::size(kAtomic32))];
    const int16_t off = stack_off(is64 ? 8 : 4);
    const struct bpf_insn atomic = isa::encode(op, 10, reg(), off, isa::info(op).discr_value);
    if (!opts_.avoid_kernel_atomic_bugs || !(atomic.imm & BPF_FETCH)) return push(atomic);
    // One unit, so no jump lands between the guards and the atomic.
    Unit u;
    u.insn[0] = isa::encode(is64 ? Op::StDW : Op::StW, 10, 0, off, imm32());
    if (op == Op::Atomic32Cmpxchg) u.insn[u.slots++] = isa::encode(Op::Mov32X, 0, 0, 0, 0);
    u.insn[u.slots++] = atomic;
    units_.push_back(u);
  }

  void emit_cond_jump() {
    const JmpOp& j = kJmpOps[below(std::size(kJmpOps))];
    const bool is64 = !opts_.alu32 || chance(60);
    Unit u;
    if (chance(50))
      u.insn[0] = isa::encode(is64 ? j.x64 : j.x32, reg(), reg(), 0, 0);
    else
      u.insn[0] = isa::encode(is64 ? j.k64 : j.k32, reg(), 0, 0, imm32());
    u.jump = Unit::Cond;
    units_.push_back(u);
  }

  void emit_ja() {
    Unit u;
    u.insn[0] = opts_.v4 && chance(30) ? isa::encode(Op::Gotol, 0, 0, 0, 0)
                                       : isa::encode(Op::Ja, 0, 0, 0, 0);
    u.jump = Unit::Always;
    units_.push_back(u);
  }

  // Forward targets, mostly near (small blocks), sometimes to the end of the body.
  void choose_targets() {
    const size_t n = units_.size();
    for (size_t i = 0; i < n; ++i) {
      Unit& u = units_[i];
      if (u.jump == Unit::None) continue;
      const size_t room = n - i;  // targets i+1 .. n
      if (chance(10))
        u.target = n;
      else
        u.target = i + 1 + below(std::min<size_t>(room, u.jump == Unit::Always ? 4 : 12));
    }
  }

  // The kernel refuses unreachable instructions, which an unconditional jump leaves behind unless
  // something jumps past it. Jumps go forward only, so one pass in program order settles it: an
  // unreachable unit is either given to an earlier conditional jump that jumps past it, or the
  // jump right before it is shortened to reach it. Neither change affects units already settled.
  void make_every_unit_reachable() {
    const size_t n = units_.size();
    std::vector<bool> reached(n, false);
    auto reaches = [&](size_t from, size_t to) {
      const Unit& u = units_[from];
      return (u.jump != Unit::Always && from + 1 == to) || (u.jump != Unit::None && u.target == to);
    };
    for (size_t i = 0; i < n; ++i) {
      reached[i] = i == 0;
      for (size_t p = 0; p < i && !reached[i]; ++p) reached[i] = reached[p] && reaches(p, i);
      if (reached[i]) continue;
      for (size_t j = 0; j + 1 < i && !reached[i]; ++j) {
        if (reached[j] && units_[j].jump == Unit::Cond && units_[j].target > i && chance(50)) {
          units_[j].target = i;
          reached[i] = true;
        }
      }
      if (!reached[i]) units_[i - 1].target = i;  // i-1 is reachable, so it is the jump
      reached[i] = true;
    }
  }

  void layout(std::vector<struct bpf_insn>& out) {
    std::vector<size_t> slot(units_.size() + 1, 0);
    for (size_t i = 0; i < units_.size(); ++i) slot[i + 1] = slot[i] + units_[i].slots;
    for (size_t i = 0; i < units_.size(); ++i) {
      Unit& u = units_[i];
      if (u.jump != Unit::None) {
        const int32_t off = static_cast<int32_t>(slot[u.target] - slot[i] - 1);
        if (u.insn[0].code == (BPF_JMP32 | BPF_JA))
          u.insn[0].imm = off;
        else
          u.insn[0].off = static_cast<int16_t>(off);
      }
      for (int s = 0; s < u.slots; ++s) out.push_back(u.insn[s]);
    }
  }

  std::mt19937_64 rng_;
  GeneratorOptions opts_;
  std::vector<Unit> units_;
  size_t n_subprograms_ = 0;
};

void lddw(std::vector<struct bpf_insn>& out, uint8_t dst, uint64_t v) {
  struct bpf_insn two[2];
  isa::encode_lddw(dst, 0, v, two);
  out.push_back(two[0]);
  out.push_back(two[1]);
}

}  // namespace

MachineState MachineState::from_bytes(std::span<const uint8_t> bytes) {
  MachineState s;
  if (bytes.size() < kStateBytes) return s;
  std::memcpy(s.regs.data(), bytes.data(), sizeof s.regs);
  std::memcpy(s.stack.data(), bytes.data() + sizeof s.regs, sizeof s.stack);
  return s;
}

std::string describe_difference(const MachineState& expected, const MachineState& got) {
  std::string out;
  char line[128];
  for (int r = 0; r < kStateRegs; ++r) {
    if (expected.regs[r] == got.regs[r]) continue;
    std::snprintf(line, sizeof line, "r%d: expected 0x%016" PRIx64 " got 0x%016" PRIx64 "\n", r,
                  expected.regs[r], got.regs[r]);
    out += line;
  }
  for (int i = 0; i < kBodyStackBytes; i += 8) {
    uint64_t e, g;
    std::memcpy(&e, &expected.stack[i], 8);
    std::memcpy(&g, &got.stack[i], 8);
    if (e == g) continue;
    std::snprintf(line, sizeof line,
                  "*(u64 *)(r10 %d): expected 0x%016" PRIx64 " got 0x%016" PRIx64 "\n",
                  i - kBodyStackBytes, e, g);
    out += line;
  }
  return out;
}

RandomProgram generate_program(uint64_t seed, const GeneratorOptions& opts) {
  return Generator(seed, opts).run(seed);
}

std::vector<struct bpf_insn> wrap(const RandomProgram& p, Wrapper w) {
  using isa::encode;
  std::vector<struct bpf_insn> out;
  size_t bounds_check = 0;
  if (w == Wrapper::KernelXdp) {
    // r2 = data, r3 = data_end; drop the packet unless it holds kStateBytes.
    out.push_back(encode(Op::LdxW, 2, 1, offsetof(struct xdp_md, data), 0));
    out.push_back(encode(Op::LdxW, 3, 1, offsetof(struct xdp_md, data_end), 0));
    out.push_back(encode(Op::Mov64X, 4, 2, 0, 0));
    out.push_back(encode(Op::Add64K, 4, 0, 0, kStateBytes));
    bounds_check = out.size();
    out.push_back(encode(Op::Jgt64X, 4, 3, 0, 0));  // target patched below
    out.push_back(encode(Op::StxDW, 10, 2, kBufferSlot, 0));
  } else {
    out.push_back(encode(Op::StxDW, 10, 1, kBufferSlot, 0));
  }
  for (int off = -kBodyStackBytes; off < 0; off += 8)
    out.push_back(encode(Op::StDW, 10, 0, static_cast<int16_t>(off), 0));
  for (int r = 0; r < kStateRegs; ++r) lddw(out, static_cast<uint8_t>(r), p.init[r]);
  const size_t body_start = out.size();
  out.insert(out.end(), p.body.begin(), p.body.end());
  // Epilogue: park r9, fetch the output pointer into it, store everything.
  out.push_back(encode(Op::StxDW, 10, 9, kSpillSlot, 0));
  out.push_back(encode(Op::LdxDW, 9, 10, kBufferSlot, 0));
  for (int r = 0; r < 9; ++r)
    out.push_back(encode(Op::StxDW, 9, static_cast<uint8_t>(r), static_cast<int16_t>(8 * r), 0));
  out.push_back(encode(Op::LdxDW, 0, 10, kSpillSlot, 0));
  out.push_back(encode(Op::StxDW, 9, 0, 72, 0));
  for (int i = 0; i < kBodyStackBytes; i += 8) {
    out.push_back(encode(Op::LdxDW, 0, 10, static_cast<int16_t>(i - kBodyStackBytes), 0));
    out.push_back(encode(Op::StxDW, 9, 0, static_cast<int16_t>(kStateRegs * 8 + i), 0));
  }
  out.push_back(encode(Op::Mov64K, 0, 0, 0, kWrappedRetval));
  out.push_back(encode(Op::Exit, 0, 0, 0, 0));
  if (w == Wrapper::KernelXdp) {
    out[bounds_check].off = static_cast<int16_t>(out.size() - bounds_check - 1);
    out.push_back(encode(Op::Mov64K, 0, 0, 0, XDP_DROP));
    out.push_back(encode(Op::Exit, 0, 0, 0, 0));
  }
  std::vector<size_t> starts;
  for (const Subprogram& s : p.subprograms) {
    starts.push_back(out.size());
    out.push_back(encode(Op::Mov64X, 0, 1, 0, 0));
    for (int r = 6; r <= 9; ++r) lddw(out, static_cast<uint8_t>(r), s.init[r - 6]);
    for (int off = -kBodyStackBytes; off < 0; off += 8)
      out.push_back(encode(Op::StDW, 10, 0, static_cast<int16_t>(off), 0));
    out.insert(out.end(), s.body.begin(), s.body.end());
    for (int r = 1; r <= 9; ++r)
      out.push_back(encode(Op::Xor64X, 0, static_cast<uint8_t>(r), 0, 0));
    for (int off = -kBodyStackBytes; off < 0; off += 8) {
      out.push_back(encode(Op::LdxDW, 1, 10, static_cast<int16_t>(off), 0));
      out.push_back(encode(Op::Xor64X, 0, 1, 0, 0));
    }
    out.push_back(encode(Op::Exit, 0, 0, 0, 0));
  }
  for (size_t pc = body_start; pc < body_start + p.body.size(); ++pc) {
    struct bpf_insn& i = out[pc];
    if (i.code == (BPF_JMP | BPF_CALL) && i.src_reg == BPF_PSEUDO_CALL)
      i.imm = static_cast<int32_t>(starts.at(static_cast<size_t>(i.imm)) - pc - 1);
    else if (i.code == (BPF_LD | BPF_IMM | BPF_DW))
      ++pc;
  }
  return out;
}

namespace {

bool is_nop(const struct bpf_insn& i) {
  return i.code == (BPF_JMP | BPF_JA) && i.off == 0;
}

bool is_fetching_atomic(const struct bpf_insn& i) {
  return BPF_CLASS(i.code) == BPF_STX && BPF_MODE(i.code) == BPF_ATOMIC && (i.imm & BPF_FETCH);
}

// The guards avoid_kernel_atomic_bugs puts before a fetching atomic: they go with it or not at
// all, or the shrunk program would show a kernel bug instead of the one being shrunk.
size_t guards_before(const std::vector<struct bpf_insn>& body, size_t pc) {
  size_t n = 0;
  if (pc >= 1 && body[pc - 1].code == (BPF_ALU | BPF_MOV | BPF_X) && body[pc - 1].dst_reg == 0 &&
      body[pc - 1].src_reg == 0)
    ++n;
  if (pc >= n + 1 && BPF_CLASS(body[pc - n - 1].code) == BPF_ST &&
      body[pc - n - 1].off == body[pc].off)
    ++n;
  return n;
}

// "rB = r10" starts a four-instruction unit that uses rB as a stack pointer and then overwrites
// it: shrinking keeps it whole, or a stack address would leak into the compared state.
bool starts_stack_copy(const std::vector<struct bpf_insn>& body, size_t pc) {
  return body[pc].code == (BPF_ALU64 | BPF_MOV | BPF_X) && body[pc].src_reg == 10 &&
         pc + 3 < body.size();
}

bool inside_stack_copy(const std::vector<struct bpf_insn>& body, size_t pc) {
  for (size_t k = 1; k <= 3 && k <= pc; ++k)
    if (starts_stack_copy(body, pc - k)) return true;
  return false;
}

bool is_guard(const std::vector<struct bpf_insn>& body, size_t pc) {
  for (size_t k = pc + 1; k <= pc + 2 && k < body.size(); ++k)
    if (is_fetching_atomic(body[k]) && k - guards_before(body, k) <= pc) return true;
  return false;
}

}  // namespace

RandomProgram shrink(RandomProgram p,
                     const std::function<bool(const RandomProgram&)>& still_fails) {
  const struct bpf_insn nop = isa::encode(Op::Ja, 0, 0, 0, 0);
  // Body 0 is the main one, body k the subprogram k-1.
  auto body_of = [](RandomProgram & q, size_t k) -> std::vector<struct bpf_insn>& {
    return k == 0 ? q.body : q.subprograms[k - 1].body;
  };
  for (bool changed = true; changed;) {
    changed = false;
    for (size_t k = 0; k <= p.subprograms.size(); ++k) {
      for (size_t pc = 0; pc < body_of(p, k).size(); ++pc) {
        const std::vector<struct bpf_insn>& body = body_of(p, k);
        if (is_nop(body[pc]) || is_guard(body, pc) || inside_stack_copy(body, pc)) continue;
        const size_t slots = body[pc].code == (BPF_LD | BPF_IMM | BPF_DW) ? 2
                             : starts_stack_copy(body, pc)                ? 4
                                                                          : 1;
        RandomProgram q = p;
        std::vector<struct bpf_insn>& qbody = body_of(q, k);
        for (size_t s = 0; s < slots; ++s) qbody[pc + s] = nop;
        if (is_fetching_atomic(body[pc]))
          for (size_t g = guards_before(body, pc); g > 0; --g) qbody[pc - g] = nop;
        if (still_fails(q)) {
          p = std::move(q);
          changed = true;
        }
        pc += slots - 1;
      }
    }
    auto try_zero = [&](uint64_t& v) {
      if (v == 0) return;
      const uint64_t old = v;
      v = 0;
      if (still_fails(p))
        changed = true;
      else
        v = old;
    };
    for (auto& v : p.init) try_zero(v);
    for (auto& sp : p.subprograms)
      for (auto& v : sp.init) try_zero(v);
  }
  return p;
}

namespace {

void describe_body(const std::vector<struct bpf_insn>& body, std::string& out) {
  char line[32];
  for (size_t pc = 0; pc < body.size(); ++pc) {
    if (is_nop(body[pc])) continue;
    std::snprintf(line, sizeof line, "%4zu: ", pc);
    out += line;
    const bool wide = body[pc].code == (BPF_LD | BPF_IMM | BPF_DW) && pc + 1 < body.size();
    const std::string text = listing(std::span(&body[pc], wide ? 2 : 1));
    // listing() numbers its own lines; keep the text after "N: ".
    const size_t colon = text.find(": ");
    out += colon == std::string::npos ? text : text.substr(colon + 2);
    if (!out.empty() && out.back() != '\n') out += '\n';
    if (wide) ++pc;
  }
}

}  // namespace

std::string describe_program(const RandomProgram& p) {
  std::string out;
  char line[96];
  for (int r = 0; r < kStateRegs; ++r) {
    std::snprintf(line, sizeof line, "r%d = 0x%" PRIx64 "%s", r, p.init[r],
                  r % 5 == 4 ? "\n" : ", ");
    out += line;
  }
  out += "the stack area [r10-64, r10) is zero; body (no-ops left out):\n";
  describe_body(p.body, out);
  for (size_t k = 0; k < p.subprograms.size(); ++k) {
    const Subprogram& sp = p.subprograms[k];
    std::snprintf(line, sizeof line,
                  "subprogram %zu (\"call pc+%zu\" above): r0 = r1, r6..r9 = 0x%" PRIx64, k, k,
                  sp.init[0]);
    out += line;
    for (int r = 1; r < 4; ++r) {
      std::snprintf(line, sizeof line, ", 0x%" PRIx64, sp.init[r]);
      out += line;
    }
    out += ":\n";
    describe_body(sp.body, out);
  }
  return out;
}

std::string listing(std::span<const struct bpf_insn> prog) {
  return isa::disassemble_program(prog);
}

}  // namespace bpfbox::testsupport
