// The engines' form of maps and helper calls: map lddw hold the Map's address (or the address of
// the value for BPF_PSEUDO_MAP_VALUE), helper calls name helpers installed in the program's own
// table, and lookups in an ARRAY map known at the call are inlined as the kernel's
// array_map_gen_lookup does (bounds check, scale, add base) instead of calling the helper.
#include <bit>
#include <cerrno>
#include <cstdio>
#include <vector>

#include "verifier/calls_common.hpp"
#include "verifier/patch.hpp"
#include "verifier/rewrite.hpp"

namespace bpfbox::verifier {

namespace {

bool is_lddw(const struct bpf_insn& insn) {
  return insn.code == (BPF_LD | BPF_IMM | BPF_DW);
}
bool is_helper_call(const struct bpf_insn& insn) {
  return insn.code == (BPF_JMP | BPF_CALL) && insn.src_reg == 0;
}

void set_lddw(struct bpf_insn* insn, uint64_t value) {
  insn[0].src_reg = 0;
  insn[0].imm = static_cast<int32_t>(static_cast<uint32_t>(value));
  insn[1].imm = static_cast<int32_t>(static_cast<uint32_t>(value >> 32));
}

Status fixup_map_lddw(Env& env, uint32_t i) {
  struct bpf_insn* insn = &env.insns[i];
  const uint8_t src = insn->src_reg;
  if (src != BPF_PSEUDO_MAP_FD && src != BPF_PSEUDO_MAP_IDX && src != BPF_PSEUDO_MAP_VALUE &&
      src != BPF_PSEUDO_MAP_IDX_VALUE)
    return Status::ok();
  auto* map = const_cast<maps::Map*>(env.aux[i].map_ptr);
  if (!map) {
    env.verbose("verifier bug: lddw at insn %u has no map\n", i);
    return Status(EFAULT, env.refusal.last_line);
  }
  if (src == BPF_PSEUDO_MAP_FD || src == BPF_PSEUDO_MAP_IDX) {
    set_lddw(insn, reinterpret_cast<uintptr_t>(map));
    return Status::ok();
  }
  // map_direct_value_addr(): arrays only, the first element plus the offset the load asked for.
  const maps::InlineArray* a = map->inline_array();
  if (!a || env.aux[i].map_off >= map->value_size()) {
    env.verbose("verifier bug: direct value access into map at insn %u\n", i);
    return Status(EFAULT, env.refusal.last_line);
  }
  set_lddw(insn, reinterpret_cast<uintptr_t>(a->base) + env.aux[i].map_off);
  return Status::ok();
}

// array_map_gen_lookup(): r0 = &base[*(u32 *)r2] when the index is below max_entries, else NULL.
// r1 (the map) is dead after the call, so it holds the base: a constant (a.base), or for an inner
// array loaded from the map r1 points to (a.base nullptr). Unprivileged programs (Spectre v1)
// also mask the index after the check, so a mispredicted check stays in the padded storage.
uint32_t gen_array_lookup(const maps::InlineArray& a, bool spectre_v1, struct bpf_insn* out) {
  uint32_t n = 0;
  const auto raw = [&](uint8_t code, uint8_t dst, uint8_t srcr, int16_t off, int32_t imm) {
    struct bpf_insn x {};
    x.code = code;
    x.dst_reg = dst;
    x.src_reg = srcr;
    x.off = off;
    x.imm = imm;
    out[n++] = x;
  };
  const uint64_t base = reinterpret_cast<uintptr_t>(a.base);
  if (a.base) {
    raw(BPF_LD | BPF_IMM | BPF_DW, 1, 0, 0, static_cast<int32_t>(static_cast<uint32_t>(base)));
    raw(0, 0, 0, 0, static_cast<int32_t>(static_cast<uint32_t>(base >> 32)));
  } else {
    raw(BPF_LDX | BPF_MEM | BPF_DW, 1, 1, static_cast<int16_t>(maps::Map::inline_base_offset()), 0);
  }
  raw(BPF_LDX | BPF_MEM | BPF_W, 0, 2, 0, 0);
  raw(BPF_JMP | BPF_JGE | BPF_K, 0, 0, spectre_v1 ? 4 : 3, static_cast<int32_t>(a.max_entries));
  if (spectre_v1) raw(BPF_ALU | BPF_AND | BPF_K, 0, 0, 0, static_cast<int32_t>(a.index_mask));
  if (std::has_single_bit(a.elem_size))
    raw(BPF_ALU64 | BPF_LSH | BPF_K, 0, 0, 0, std::countr_zero(a.elem_size));
  else
    raw(BPF_ALU64 | BPF_MUL | BPF_K, 0, 0, 0, static_cast<int32_t>(a.elem_size));
  raw(BPF_ALU64 | BPF_ADD | BPF_X, 0, 1, 0, 0);
  raw(BPF_JMP | BPF_JA, 0, 0, 1, 0);
  raw(BPF_ALU64 | BPF_MOV | BPF_K, 0, 0, 0, 0);
  return n;
}

// The lookup at insn i can be inlined: one ARRAY map on every path, with the layout the
// generated code assumes (ids and sizes within the immediates). For an inner array the map is the
// outer map's template: every array stored has its layout, and its own storage, whose base the
// code loads from r1 (as the kernel's lookup starts from r1); not with BPF_F_INNER_MAP, whose
// arrays may differ in max_entries.
const maps::InlineArray* inlinable_array(const Env& env, uint32_t i) {
  const InsnAux& aux = env.aux[i];
  if (!aux.map_ptr || aux.map_ptr_poisoned) return nullptr;
  const maps::Map* map = aux.map_ptr;
  if (map->type() != BPF_MAP_TYPE_ARRAY || (map->map_flags() & BPF_F_INNER_MAP)) return nullptr;
  const maps::InlineArray* a =
      map->is_inner_map_meta() ? &map->inline_layout() : map->inline_array();
  if (!a || a->cpu_stride != 0) return nullptr;
  if (a->max_entries > INT32_MAX || a->elem_size > INT32_MAX || a->elem_size == 0) return nullptr;
  return a;
}

}  // namespace

Status do_misc_fixups(Env& env, Program& out) {
  for (uint32_t i = 0; i < env.insns.size(); ++i) {
    struct bpf_insn& insn = env.insns[i];
    if (is_lddw(insn)) {
      if (Status st = fixup_map_lddw(env, i); !st) return st;
      ++i;
      continue;
    }
    if (!is_helper_call(insn)) continue;
    const uint32_t id = static_cast<uint32_t>(insn.imm);
    if (id == BPF_FUNC_tail_call) {
      // The engines' own instruction, resolved at run time through the PROG_ARRAY.
      continue;
    }
    if (id == BPF_FUNC_map_lookup_elem) {
      if (const maps::InlineArray* a = inlinable_array(env, i)) {
        struct bpf_insn buf[10];
        const uint32_t cnt = gen_array_lookup(*a, !env.bypass_spec_v1(), buf);
        if (Status st = patch_insn(env, i, std::span<const struct bpf_insn>(buf, cnt)); !st)
          return st;
        i += cnt - 1;
        continue;
      }
    }
    const HelperProto* fn =
        env.ops && env.ops->get_func_proto ? env.ops->get_func_proto(id, env.opts.load) : nullptr;
    if (!fn || !fn->fn) {
      env.verbose("verifier bug: helper %s#%u has no implementation\n",
                  calls::func_id_name(insn.imm), id);
      return Status(EFAULT, env.refusal.last_line);
    }
    out.helpers.set(id, fn->name, fn->fn, fn->inline_as);
  }
  return Status::ok();
}

}  // namespace bpfbox::verifier
