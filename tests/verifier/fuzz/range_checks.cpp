#include "range_checks.hpp"

#include <cstddef>

#include "progs/ctx_insn.hpp"

namespace bpfbox::fuzz {
namespace {

constexpr auto& raw = progs::raw_insn;

// `if reg OP bound goto +1` skips the fault; the bound must fit the immediate (32-bit compares
// take any u32; 64-bit ones sign-extend it).
void check(std::vector<struct bpf_insn>& out, uint32_t& checks, bool is32, uint8_t reg, uint8_t op,
           uint64_t bound) {
  if (!is32 && static_cast<int64_t>(bound) != static_cast<int32_t>(bound)) return;
  out.push_back(raw((is32 ? BPF_JMP32 : BPF_JMP) | op | BPF_K, reg, 0, 1,
                    static_cast<int32_t>(static_cast<uint32_t>(bound))));
  // Beyond any frame of the stack (8 x 512 bytes below the outermost r10): a checked-mode fault.
  out.push_back(raw(BPF_ST | BPF_MEM | BPF_DW, BPF_REG_10, 0, 0x7ff0, 0));
  ++checks;
}

void check_range(std::vector<struct bpf_insn>& out, uint32_t& checks, bool is32, uint8_t reg,
                 const vm::ScalarRange& r) {
  const uint64_t umax_all = is32 ? UINT32_MAX : UINT64_MAX;
  const int64_t smin_all = is32 ? INT32_MIN : INT64_MIN, smax_all = is32 ? INT32_MAX : INT64_MAX;
  if (r.umin != 0) check(out, checks, is32, reg, BPF_JGE, r.umin);
  if (r.umax != umax_all) check(out, checks, is32, reg, BPF_JLE, r.umax);
  if (r.smin != smin_all) check(out, checks, is32, reg, BPF_JSGE, static_cast<uint64_t>(r.smin));
  if (r.smax != smax_all) check(out, checks, is32, reg, BPF_JSLE, static_cast<uint64_t>(r.smax));
}

bool is_relative_call(const struct bpf_insn& in) {
  return in.code == (BPF_JMP | BPF_CALL) && in.src_reg == BPF_PSEUDO_CALL;
}
bool is_func_address(const struct bpf_insn& in) {
  return in.code == (BPF_LD | BPF_IMM | BPF_DW) && in.src_reg == BPF_PSEUDO_FUNC;
}

}  // namespace

RangeChecked with_range_checks(std::span<const struct bpf_insn> xlated,
                               std::span<const vm::InsnFacts> facts) {
  RangeChecked out;
  const size_t n = xlated.size();
  // start[i]: where instruction i's checks begin (jumps to i land there); pos[i]: i itself.
  std::vector<int64_t> start(n + 1), pos(n);
  for (size_t i = 0; i < n; ++i) {
    start[i] = static_cast<int64_t>(out.insns.size());
    const struct bpf_insn& in = xlated[i];
    if (i < facts.size()) {
      const uint8_t cls = BPF_CLASS(in.code);
      const bool is32 = cls == BPF_ALU || cls == BPF_JMP32;
      if (facts[i].has_dst) check_range(out.insns, out.checks, is32, in.dst_reg, facts[i].dst);
      if (facts[i].has_src) check_range(out.insns, out.checks, is32, in.src_reg, facts[i].src);
    }
    pos[i] = static_cast<int64_t>(out.insns.size());
    out.insns.push_back(in);
  }
  start[n] = static_cast<int64_t>(out.insns.size());
  const auto moved = [&](size_t i, int64_t rel) {
    const int64_t target = static_cast<int64_t>(i) + rel + 1;
    return start[static_cast<size_t>(target)] - (pos[i] + 1);
  };
  for (size_t i = 0; i < n; ++i) {
    struct bpf_insn& in = out.insns[static_cast<size_t>(pos[i])];
    const uint8_t cls = BPF_CLASS(in.code), op = BPF_OP(in.code);
    if (is_relative_call(xlated[i]) || is_func_address(xlated[i])) {
      in.imm = static_cast<int32_t>(moved(i, xlated[i].imm));
      if (is_func_address(xlated[i])) ++i;  // its second half carries no code
    } else if (cls == BPF_JMP32 && op == BPF_JA) {
      in.imm = static_cast<int32_t>(moved(i, xlated[i].imm));  // gotol
    } else if ((cls == BPF_JMP || cls == BPF_JMP32) && op != BPF_CALL && op != BPF_EXIT) {
      in.off = static_cast<int16_t>(moved(i, xlated[i].off));
    } else if (in.code == (BPF_LD | BPF_IMM | BPF_DW)) {
      ++i;
    }
  }
  return out;
}

}  // namespace bpfbox::fuzz
