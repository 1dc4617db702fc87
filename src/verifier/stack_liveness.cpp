// Static stack-slot liveness, for pruning (the kernel 6.18 computes stack liveness too): per
// instruction, the 8-byte slots of its subprogram's frame that some path from it may read before
// overwriting them whole. A slot no path reads need not match when comparing states.
//
// A forward pass finds which registers hold the frame pointer plus a known constant; accesses
// through them name their slots. Everything it cannot follow is a read of every slot: a variable
// offset, a helper given a stack pointer (it may read up to the frame's top). A frame pointer
// that escapes (spilled, passed to a bpf-to-bpf call or to a helper that runs a callback) makes
// the whole subprogram's stack live.
#include "isa/access_size.hpp"
#include "verifier/stack_liveness.hpp"

#include <cstdint>
#include <vector>

#include "isa/uapi.hpp"

namespace bpfbox::verifier {
namespace {

constexpr uint64_t kAll = ~uint64_t(0);

// What a register holds, as far as this frame's stack goes.
struct FpVal {
  enum Kind : uint8_t { Unvisited, NotFp, Fp, FpUnknown } kind = Unvisited;
  int32_t off = 0;  // for Fp: the value is r10 + off
  bool operator==(const FpVal&) const = default;
};
using Regs = std::array<FpVal, kMaxBpfReg>;

FpVal join(FpVal a, FpVal b) {
  if (a.kind == FpVal::Unvisited) return b;
  if (b.kind == FpVal::Unvisited || a == b) return a;
  if (a.kind == FpVal::NotFp && b.kind == FpVal::NotFp) return a;
  return {FpVal::FpUnknown, 0};
}

bool is_fp(const FpVal& v) {
  return v.kind == FpVal::Fp || v.kind == FpVal::FpUnknown;
}

// The slots bytes [off, off + size) of the frame cover; kAll when out of the frame.
uint64_t slots_of(int64_t off, int64_t size) {
  if (off < -kMaxStackSlots * kRegSize || off + size > 0 || size <= 0) return kAll;
  uint64_t m = 0;
  for (int64_t b = off; b < off + size; ++b) m |= uint64_t(1) << ((-b - 1) / kRegSize);
  return m;
}

// Every slot at or above offset off (a helper may read from off up to the frame's top).
uint64_t slots_from(int64_t off) {
  if (off < -kMaxStackSlots * kRegSize || off >= 0) return kAll;
  const int64_t top = (-off - 1) / kRegSize;
  return top >= 63 ? kAll : (uint64_t(1) << (top + 1)) - 1;
}

struct Flow {
  uint64_t gen = 0, kill = 0;
  bool escape = false;
};

// The slots instruction i reads (gen) and overwrites whole (kill), given the registers before it;
// `regs` becomes the registers after it.
Flow transfer(const Env& env, uint32_t i, Regs& regs) {
  const struct bpf_insn& in = env.insns[i];
  const uint8_t cls = BPF_CLASS(in.code), op = BPF_OP(in.code), mode = BPF_MODE(in.code);
  const int dst = in.dst_reg < kMaxBpfReg ? in.dst_reg : 0;
  const int src = in.src_reg < kMaxBpfReg ? in.src_reg : 0;
  const bool x = BPF_SRC(in.code) == BPF_X;
  const FpVal kNot{FpVal::NotFp, 0};
  Flow f;
  auto through = [&](const FpVal& base, int64_t size) -> uint64_t {
    if (base.kind == FpVal::Fp) return slots_of(int64_t(base.off) + in.off, size);
    if (base.kind == FpVal::FpUnknown) return kAll;
    return 0;
  };
  switch (cls) {
    case BPF_ALU:
    case BPF_ALU64: {
      const bool alu64 = cls == BPF_ALU64;
      FpVal d = regs[dst];
      const FpVal s = x ? regs[src] : kNot;
      if (op == BPF_MOV) {
        regs[dst] = (alu64 && x && in.off == 0) ? s : kNot;
      } else if (alu64 && (op == BPF_ADD || op == BPF_SUB) && d.kind == FpVal::Fp && !x) {
        regs[dst] = {FpVal::Fp, op == BPF_ADD ? d.off + in.imm : d.off - in.imm};
      } else if (alu64 && op == BPF_ADD && (is_fp(d) || is_fp(s))) {
        regs[dst] = (is_fp(d) && is_fp(s)) ? kNot : FpVal{FpVal::FpUnknown, 0};
      } else if (alu64 && op == BPF_SUB && is_fp(d)) {
        regs[dst] = is_fp(s) ? kNot : FpVal{FpVal::FpUnknown, 0};
      } else {
        regs[dst] = kNot;
      }
      if (dst == kFramePointer) regs[dst] = {FpVal::Fp, 0};
      break;
    }
    case BPF_LDX:
      f.gen = through(regs[src], isa::access_bytes(in.code));
      regs[dst] = kNot;
      break;
    case BPF_ST:
    case BPF_STX: {
      const uint32_t size = isa::access_bytes(in.code);
      const uint64_t slots = through(regs[dst], size);
      if (cls == BPF_STX && is_fp(regs[src])) f.escape = true;  // a stack pointer spilled
      if (cls == BPF_STX && mode == BPF_ATOMIC) {
        f.gen = slots;
        if (in.imm == BPF_CMPXCHG) regs[0] = kNot;
        if (in.imm & BPF_FETCH) regs[src] = kNot;
        if (in.imm == BPF_LOAD_ACQ) regs[dst] = kNot;
        break;
      }
      // A whole aligned slot written is dead before; a partial write keeps the rest (and may be
      // refused because of what the slot holds), so it counts as a read.
      const int64_t off = int64_t(regs[dst].off) + in.off;
      if (regs[dst].kind == FpVal::Fp && size == kRegSize && off % kRegSize == 0)
        f.kill = slots;
      else
        f.gen = slots;
      break;
    }
    case BPF_LD:
      if (mode == BPF_IMM) {
        regs[dst] = kNot;
      } else {
        for (int r = 0; r <= 5; ++r) regs[r] = kNot;
      }
      break;
    case BPF_JMP:
    case BPF_JMP32:
      if (op == BPF_CALL) {
        const bool subprog = in.src_reg == BPF_PSEUDO_CALL;
        for (int r = 1; r <= 5; ++r) {
          if (!is_fp(regs[r])) continue;
          if (subprog || env.aux[i].calls_callback) {
            f.escape = true;
          } else {
            f.gen |= regs[r].kind == FpVal::Fp ? slots_from(regs[r].off) : kAll;
          }
        }
        for (int r = 0; r <= 5; ++r) regs[r] = kNot;
      }
      break;
    default:
      break;
  }
  return f;
}

// The instructions of one subprogram, [start, end).
void subprog_liveness(Env& env, uint32_t start, uint32_t end) {
  const uint32_t n = end - start;
  std::vector<Regs> in(n);
  std::vector<Flow> flow(n);
  for (auto& r : in[0]) r = {FpVal::NotFp, 0};
  in[0][kFramePointer] = {FpVal::Fp, 0};
  // Successors inside the subprogram (a call continues after it; exits end the frame).
  auto succ = [&](uint32_t k, uint32_t out[2]) {
    const struct bpf_insn& ins = env.insns[start + k];
    const uint8_t cls = BPF_CLASS(ins.code), op = BPF_OP(ins.code);
    int cnt = 0;
    auto add = [&](int64_t t) {
      if (t >= start && t < end) out[cnt++] = static_cast<uint32_t>(t - start);
    };
    const int64_t at = int64_t(start) + k;
    if (ins.code == (BPF_LD | BPF_IMM | BPF_DW)) {
      add(at + 2);
    } else if (cls != BPF_JMP && cls != BPF_JMP32) {
      add(at + 1);
    } else if (op == BPF_EXIT) {
    } else if (op == BPF_CALL) {
      add(at + 1);
    } else if (op == BPF_JA) {
      add(at + 1 + (cls == BPF_JMP32 ? int64_t(ins.imm) : int64_t(ins.off)));
    } else {
      add(at + 1);
      add(at + 1 + ins.off);
    }
    return cnt;
  };
  // Forward: the frame-pointer values, to a fixed point (a loop widens an offset to unknown).
  std::vector<uint32_t> work{0};
  std::vector<bool> queued(n, false);
  queued[0] = true;
  bool escape = false;
  while (!work.empty()) {
    const uint32_t k = work.back();
    work.pop_back();
    queued[k] = false;
    Regs r = in[k];
    flow[k] = transfer(env, start + k, r);
    escape |= flow[k].escape;
    uint32_t out[2];
    const int cnt = succ(k, out);
    for (int j = 0; j < cnt; ++j) {
      Regs joined = in[out[j]];
      bool changed = false;
      for (int q = 0; q < kMaxBpfReg; ++q) {
        const FpVal v = join(joined[q], r[q]);
        if (!(v == joined[q])) {
          joined[q] = v;
          changed = true;
        }
      }
      if (!changed) continue;
      in[out[j]] = joined;
      if (!queued[out[j]]) {
        queued[out[j]] = true;
        work.push_back(out[j]);
      }
    }
  }
  if (escape) {
    for (uint32_t k = 0; k < n; ++k) env.live_slots_before[start + k] = kAll;
    return;
  }
  // Backward: live = gen | (live after & ~kill), to a fixed point.
  bool changed = true;
  while (changed) {
    changed = false;
    for (uint32_t k = n; k-- > 0;) {
      uint32_t out[2];
      const int cnt = succ(k, out);
      uint64_t after = 0;
      for (int j = 0; j < cnt; ++j) after |= env.live_slots_before[start + out[j]];
      const uint64_t live = flow[k].gen | (after & ~flow[k].kill);
      if (live != env.live_slots_before[start + k]) {
        env.live_slots_before[start + k] = live;
        changed = true;
      }
    }
  }
}

}  // namespace

void compute_live_stack(Env& env) {
  const uint32_t n = static_cast<uint32_t>(env.insns.size());
  env.live_slots_before.assign(n, 0);
  if (env.subprogs.empty()) {
    env.live_slots_before.assign(n, kAll);
    return;
  }
  for (size_t s = 0; s < env.subprogs.size(); ++s) {
    const uint32_t start = env.subprogs[s].start;
    const uint32_t end = s + 1 < env.subprogs.size() ? env.subprogs[s + 1].start : n;
    if (start < end && end <= n) subprog_liveness(env, start, end);
  }
}

}  // namespace bpfbox::verifier
