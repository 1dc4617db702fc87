// The instruction patcher the rewrite uses (the kernel's bpf_patch_insn_data and
// verifier_remove_insns): replace instructions by others or remove them, keeping every relative
// offset right — jumps (off, or imm for gotol), bpf-to-bpf calls and BPF_PSEUDO_FUNC loads (imm)
// — along with the per-instruction facts (env.aux, orig_idx kept) and the subprogram starts.
#pragma once

#include <cstdint>
#include <span>

#include <linux/bpf.h>

#include "bpfbox/status.hpp"
#include "verifier/env.hpp"

namespace bpfbox::verifier {

// Replaces the `old_cnt` instructions at `off` by `patch` (which may be empty: a removal). The
// patch's own jumps are relative to themselves and left alone; a jump from outside into the
// replaced range lands on the first patched instruction. The patched instructions take the aux
// data of the first replaced one: the last keeps it whole (as the kernel keeps the original's
// facts on the last instruction of a patch), the others get its orig_idx and seen mark.
// ERANGE when a jump would no longer fit its field ("insn %d cannot be patched due to 16-bit
// range"), with nothing changed.
Status replace_insns(Env& env, uint32_t off, uint32_t old_cnt,
                     std::span<const struct bpf_insn> patch);

// One instruction by a patch (bpf_patch_insn_data).
inline Status patch_insn(Env& env, uint32_t off, std::span<const struct bpf_insn> patch) {
  return replace_insns(env, off, 1, patch);
}

// Removes cnt instructions at off (verifier_remove_insns); a subprogram wholly inside the range
// disappears, one starting inside it now starts at off.
Status remove_insns(Env& env, uint32_t off, uint32_t cnt);

}  // namespace bpfbox::verifier
