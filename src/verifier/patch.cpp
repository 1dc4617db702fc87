#include "isa/uapi.hpp"
#include "verifier/patch.hpp"

#include <cerrno>
#include <cstdio>
#include <vector>

namespace bpfbox::verifier {

namespace {

// Which field of an instruction holds a pc-relative offset, if any.
enum class RelField : uint8_t { None, Off, Imm };

RelField rel_field(const struct bpf_insn& insn) {
  const uint8_t cls = BPF_CLASS(insn.code);
  if (insn.code == (BPF_LD | BPF_IMM | BPF_DW))
    return insn.src_reg == BPF_PSEUDO_FUNC ? RelField::Imm : RelField::None;
  if (cls != BPF_JMP && cls != BPF_JMP32) return RelField::None;
  const uint8_t op = BPF_OP(insn.code);
  if (op == BPF_EXIT) return RelField::None;
  if (op == BPF_CALL) return insn.src_reg == BPF_PSEUDO_CALL ? RelField::Imm : RelField::None;
  if (insn.code == (BPF_JMP32 | BPF_JA)) return RelField::Imm;  // gotol
  return RelField::Off;
}

bool is_lddw(const struct bpf_insn& insn) {
  return insn.code == (BPF_LD | BPF_IMM | BPF_DW);
}

}  // namespace

Status replace_insns(Env& env, uint32_t off, uint32_t old_cnt,
                     std::span<const struct bpf_insn> patch) {
  const uint32_t len = static_cast<uint32_t>(env.insns.size());
  if (off > len || old_cnt > len - off) return Status(EINVAL, "patch range outside the program");
  const uint32_t new_cnt = static_cast<uint32_t>(patch.size());
  const int64_t delta = static_cast<int64_t>(new_cnt) - old_cnt;
  const uint32_t end_old = off + old_cnt;

  // The old index of a target, mapped to the new program.
  const auto map_target = [&](int64_t t) -> int64_t {
    if (t < off) return t;
    if (t >= end_old) return t + delta;
    return off;  // into the replaced range: its replacement's start
  };

  // First pass: every new offset, checked to fit, before anything changes (the kernel's probe).
  struct Fix {
    uint32_t old_idx;
    int64_t value;
  };
  std::vector<Fix> fixes;
  for (uint32_t i = 0; i < len; ++i) {
    if (i >= off && i < end_old) continue;
    const struct bpf_insn& insn = env.insns[i];
    const RelField f = rel_field(insn);
    if (f != RelField::None) {
      const int64_t rel = f == RelField::Off ? insn.off : insn.imm;
      const int64_t new_i = map_target(i);
      const int64_t new_t = map_target(static_cast<int64_t>(i) + rel + 1);
      const int64_t v = new_t - new_i - 1;
      if (v != rel) {
        const bool fits = f == RelField::Off ? (v >= INT16_MIN && v <= INT16_MAX)
                                             : (v >= INT32_MIN && v <= INT32_MAX);
        if (!fits) {
          env.verbose("insn %u cannot be patched due to 16-bit range\n", off);
          return Status(ERANGE, env.refusal.last_line);
        }
        fixes.push_back({i, v});
      }
    }
    if (is_lddw(insn)) ++i;  // the second slot is data
  }
  for (const Fix& fx : fixes) {
    struct bpf_insn& insn = env.insns[fx.old_idx];
    if (rel_field(insn) == RelField::Off)
      insn.off = static_cast<int16_t>(fx.value);
    else
      insn.imm = static_cast<int32_t>(fx.value);
  }

  // The instructions and their facts.
  InsnAux keep = old_cnt ? env.aux[off] : InsnAux{};
  env.insns.erase(env.insns.begin() + off, env.insns.begin() + end_old);
  env.insns.insert(env.insns.begin() + off, patch.begin(), patch.end());
  env.aux.erase(env.aux.begin() + off, env.aux.begin() + end_old);
  if (new_cnt) {
    InsnAux filler;
    filler.orig_idx = keep.orig_idx;
    filler.seen = keep.seen;
    env.aux.insert(env.aux.begin() + off, new_cnt, filler);
    env.aux[off + new_cnt - 1] = keep;
  }

  // Subprogram starts (adjust_subprog_starts / adjust_subprog_starts_after_remove).
  std::vector<SubprogInfo>& sp = env.subprogs;
  for (size_t s = 0; s < sp.size();) {
    const uint32_t start = sp[s].start;
    const uint32_t end = s + 1 < sp.size() ? sp[s + 1].start : len;
    if (start >= end_old) {
      sp[s].start = static_cast<uint32_t>(start + delta);
    } else if (start > off || (start == off && old_cnt && !new_cnt)) {
      // Started inside the replaced range: gone when wholly inside a removal, else at off.
      if (new_cnt == 0 && end <= end_old && s != 0) {
        sp.erase(sp.begin() + static_cast<ptrdiff_t>(s));
        continue;
      }
      sp[s].start = off;
    }
    ++s;
  }
  return Status::ok();
}

Status remove_insns(Env& env, uint32_t off, uint32_t cnt) {
  return replace_insns(env, off, cnt, {});
}

}  // namespace bpfbox::verifier
