// check_helper_call: a `call N` against the program type's prototype of helper N — every argument
// register checked against its argument type (the kernel's check_func_arg), the map given to the
// helper checked against the helper in both directions (check_map_func_compatibility), references
// acquired and released, callbacks scheduled as subprograms, r1-r5 clobbered and r0 set from the
// return type. Messages and errno are the kernel's (kernel/bpf/verifier.c, 6.18).
#include <cerrno>
#include <cstdio>

#include "bpfbox/maps.hpp"
#include "isa/disasm.hpp"

#include "verifier/calls_common.hpp"
#include "verifier/do_check.hpp"
#include "verifier/func_call.hpp"
#include "verifier/mem.hpp"
#include "verifier/passes.hpp"
#include "verifier/precision.hpp"
#include "verifier/regs.hpp"

namespace bpfbox::verifier {

using namespace calls;

namespace {

// struct bpf_call_arg_meta: what the arguments told about the call.
struct CallArgMeta {
  const maps::Map* map = nullptr;
  uint32_t map_uid = 0;
  bool raw_mode = false;  // the memory argument is written by the helper (MEM_UNINIT)
  int release_regno = 0;
  uint32_t ref_obj_id = 0;
  uint64_t mem_size = 0;  // ARG_CONST_ALLOC_SIZE_OR_ZERO
  int subprogno = -1;     // ARG_PTR_TO_FUNC
  int64_t const_map_key = -1;
  int32_t func_id = 0;
  bool pkt_access = false;
};

// compatible_reg_types[]: the register types each argument type accepts, in the order the
// "expected=" message lists them.
struct RegTypes {
  uint32_t types[10];
  int count;
};
const RegTypes kMemTypes = {
    {PTR_TO_STACK, PTR_TO_PACKET, PTR_TO_PACKET_META, PTR_TO_MAP_KEY, PTR_TO_MAP_VALUE, PTR_TO_MEM,
     uint32_t(PTR_TO_MEM) | MEM_RINGBUF, PTR_TO_BUF, uint32_t(PTR_TO_BTF_ID) | PTR_TRUSTED},
    9};
const RegTypes kScalarTypes = {{SCALAR_VALUE}, 1};
const RegTypes kConstMapPtrTypes = {{CONST_PTR_TO_MAP}, 1};
const RegTypes kContextTypes = {{PTR_TO_CTX}, 1};
const RegTypes kSockTypes = {{PTR_TO_SOCK_COMMON, PTR_TO_SOCKET, PTR_TO_TCP_SOCK, PTR_TO_XDP_SOCK},
                             4};
const RegTypes kFullsockTypes = {{PTR_TO_SOCKET}, 1};
const RegTypes kSpinLockTypes = {{PTR_TO_MAP_VALUE, uint32_t(PTR_TO_BTF_ID) | MEM_ALLOC}, 2};
const RegTypes kRingbufMemTypes = {{uint32_t(PTR_TO_MEM) | MEM_RINGBUF}, 1};
const RegTypes kFuncPtrTypes = {{PTR_TO_FUNC}, 1};
const RegTypes kStackPtrTypes = {{PTR_TO_STACK}, 1};
const RegTypes kMapValueTypes = {{PTR_TO_MAP_VALUE}, 1};  // const str, timer
const RegTypes kDynptrTypes = {{PTR_TO_STACK, CONST_PTR_TO_DYNPTR}, 2};

const RegTypes* compatible_reg_types(uint32_t base_arg) {
  switch (base_arg) {
    case ARG_PTR_TO_MAP_KEY:
    case ARG_PTR_TO_MAP_VALUE:
    case ARG_PTR_TO_MEM:
      return &kMemTypes;
    case ARG_CONST_SIZE:
    case ARG_CONST_SIZE_OR_ZERO:
    case ARG_CONST_ALLOC_SIZE_OR_ZERO:
      return &kScalarTypes;
    case ARG_CONST_MAP_PTR:
      return &kConstMapPtrTypes;
    case ARG_PTR_TO_CTX:
      return &kContextTypes;
    case ARG_PTR_TO_SOCK_COMMON:
      return &kSockTypes;
    case ARG_PTR_TO_SOCKET:
      return &kFullsockTypes;
    case ARG_PTR_TO_SPIN_LOCK:
      return &kSpinLockTypes;
    case ARG_PTR_TO_RINGBUF_MEM:
      return &kRingbufMemTypes;
    case ARG_PTR_TO_FUNC:
      return &kFuncPtrTypes;
    case ARG_PTR_TO_STACK:
      return &kStackPtrTypes;
    case ARG_PTR_TO_CONST_STR:
    case ARG_PTR_TO_TIMER:
      return &kMapValueTypes;
    case ARG_PTR_TO_DYNPTR:
      return &kDynptrTypes;
    default:
      return nullptr;
  }
}

Status helper_arg_refusal(Env& env, int regno, int err) {
  explain(env, Rule::HelperArgument).reg(regno);
  return refuse(env, err);
}

// check_reg_type(): the register's type, flags folded as the argument allows, is one the argument
// type accepts; else "R%d type=%s expected=%s, %s".
Status check_reg_type(Env& env, int regno, uint32_t arg_type) {
  const RegState& reg = cur_regs(env)[regno];
  const RegTypes* compatible = compatible_reg_types(base_type(arg_type));
  if (!compatible) {
    env.verbose("verifier internal error: unsupported arg type %d\n", arg_type);
    return refuse(env, EFAULT);
  }
  uint32_t type = reg.type;
  if (arg_type & MEM_RDONLY) type &= ~uint32_t(MEM_RDONLY);
  if (arg_type & PTR_MAYBE_NULL) type &= ~uint32_t(PTR_MAYBE_NULL);
  if (base_type(arg_type) == ARG_PTR_TO_MEM)
    type &= ~uint32_t(DYNPTR_TYPE_LOCAL | DYNPTR_TYPE_RINGBUF | DYNPTR_TYPE_SKB | DYNPTR_TYPE_XDP);
  for (int i = 0; i < compatible->count; ++i)
    if (type == compatible->types[i]) return Status::ok();
  std::string expected;
  for (int i = 0; i < compatible->count; ++i) {
    if (i) expected += ", ";
    expected += reg_type_str(compatible->types[i]);
  }
  env.verbose("R%d type=%s expected=%s\n", regno, reg_type_str(reg.type).c_str(), expected.c_str());
  return helper_arg_refusal(env, regno, EACCES);
}

// __check_ptr_off_reg() with fixed_off_ok false.
Status check_ptr_off_zero(Env& env, const RegState& reg, int regno) {
  if (reg.off) {
    env.verbose("dereference of modified %s ptr R%d off=%d disallowed\n",
                reg_type_str(reg.type).c_str(), regno, reg.off);
    return helper_arg_refusal(env, regno, EACCES);
  }
  if (!reg.s.var_off.is_const() || reg.s.var_off.value) {
    env.verbose("variable %s access var_off=%s disallowed\n", reg_type_str(reg.type).c_str(),
                reg.s.var_off.to_string().c_str());
    return helper_arg_refusal(env, regno, EACCES);
  }
  return Status::ok();
}

// check_func_arg_reg_off(): memory pointers may carry offsets; the others must be unmodified, and
// a pointer being released exactly as acquired.
Status check_func_arg_reg_off(Env& env, const RegState& reg, int regno, uint32_t arg_type) {
  if (arg_type & OBJ_RELEASE) {
    if (reg.off) {
      env.verbose("R%d must have zero offset when passed to release func or trusted arg to kfunc\n",
                  regno);
      return helper_arg_refusal(env, regno, EINVAL);
    }
    return check_ptr_off_zero(env, reg, regno);
  }
  switch (reg.type) {
    case PTR_TO_STACK:
    case PTR_TO_PACKET:
    case PTR_TO_PACKET_META:
    case PTR_TO_MAP_KEY:
    case PTR_TO_MAP_VALUE:
    case PTR_TO_MEM:
    case uint32_t(PTR_TO_MEM) | uint32_t(MEM_RDONLY):
    case uint32_t(PTR_TO_MEM) | uint32_t(MEM_RINGBUF):
    case PTR_TO_BUF:
    case uint32_t(PTR_TO_BUF) | uint32_t(MEM_RDONLY):
    case PTR_TO_ARENA:
    case SCALAR_VALUE:
      return Status::ok();
    default:
      return check_ptr_off_zero(env, reg, regno);
  }
}

bool can_elide_value_nullness(uint32_t map_type) {
  return map_type == BPF_MAP_TYPE_ARRAY || map_type == BPF_MAP_TYPE_PERCPU_ARRAY;
}

// get_constant_map_key(): the key a stack pointer points to when the path knows it (a zeroed
// slot, or a spilled constant of exactly the key's size); -1 when it does not.
int64_t constant_map_key(Env& env, const RegState& key, uint32_t key_size) {
  if (!env.privileged() || key.type != PTR_TO_STACK || !key.s.is_const()) return -1;
  const int64_t off = key.off + static_cast<int64_t>(key.s.const_value());
  if (off >= 0 || off < -kMaxStackSlots * kRegSize) return -1;
  if (key.frameno > env.cur_state->curframe || !env.cur_state->frame[key.frameno]) return -1;
  const FuncState& fr = *env.cur_state->frame[key.frameno];
  const size_t spi = static_cast<size_t>((-off - 1) / kRegSize);
  if (spi >= fr.stack.size()) return -1;
  const StackSlot& slot = fr.stack[spi];
  // Byte index in the slot: slot_type[0] is the slot's lowest address.
  const int first = static_cast<int>(off + static_cast<int64_t>(spi + 1) * kRegSize);
  uint32_t zero = 0, spill = 0;
  for (int i = first; i < kRegSize && slot.slot_type[i] == STACK_ZERO; ++i) ++zero;
  if (zero >= key_size) return 0;
  for (int i = first; i < kRegSize && slot.slot_type[i] == STACK_SPILL; ++i) ++spill;
  if (spill != key_size || first != 0) return -1;
  const RegState& v = slot.spilled_ptr;
  if (v.type != SCALAR_VALUE || !v.s.is_const()) return -1;
  // The lookup relies on this exact value.
  mark_chain_precision_stack(env, key.frameno, static_cast<int>(spi));
  return static_cast<int64_t>(v.s.const_value());
}

// check_func_arg(): argument `arg` (0-based) of the helper.
Status check_func_arg(Env& env, int arg, CallArgMeta& meta, const HelperProto& fn) {
  const int regno = arg + 1;
  uint32_t arg_type = fn.arg_type[arg];
  if (arg_type == ARG_DONTCARE) return Status::ok();
  if (Status st = check_reg_arg(env, regno, RegArg::Src); !st) return st;
  RegState& reg = cur_regs(env)[regno];

  if (arg_type == ARG_ANYTHING) {
    if (is_pointer_value(env, reg)) {
      env.verbose("R%d leaks addr into helper function\n", regno);
      explain(env, Rule::PointerLeak).reg(regno);
      return refuse(env, EACCES);
    }
    return Status::ok();
  }
  if (reg.is_pkt_pointer() && !meta.pkt_access) {
    env.verbose("helper access to the packet is not allowed\n");
    return helper_arg_refusal(env, regno, EACCES);
  }
  const bool null_ok = (arg_type & PTR_MAYBE_NULL) && register_is_null(reg);
  if (null_ok) mark_chain_precision(env, regno);  // NULL only as the exact value 0
  if (!null_ok) {
    if (Status st = check_reg_type(env, regno, arg_type); !st) return st;
    if (Status st = check_func_arg_reg_off(env, reg, regno, arg_type); !st) return st;
  }
  if (arg_type & OBJ_RELEASE) {
    if (!reg.ref_obj_id && !register_is_null(reg)) {
      env.verbose("R%d must be referenced when passed to release function\n", regno);
      explain(env, Rule::UnreleasedRef).reg(regno);
      return refuse(env, EINVAL);
    }
    meta.release_regno = regno;
  }
  if (reg.ref_obj_id) {
    if (meta.ref_obj_id) {
      env.verbose("more than one arg with ref_obj_id R%d %u %u", regno, reg.ref_obj_id,
                  meta.ref_obj_id);
      return helper_arg_refusal(env, regno, EACCES);
    }
    meta.ref_obj_id = reg.ref_obj_id;
  }

  const AccessType mem_access = (arg_type & MEM_WRITE) ? AccessType::Write : AccessType::Read;
  switch (base_type(arg_type)) {
    case ARG_CONST_MAP_PTR:
      if (meta.map && (meta.map != reg.map_ptr || meta.map_uid != reg.map_uid)) {
        env.verbose("timer pointer in R1 map_uid=%u doesn't match map pointer in R2 map_uid=%u\n",
                    meta.map_uid, reg.map_uid);
        return helper_arg_refusal(env, regno, EINVAL);
      }
      meta.map = reg.map_ptr;
      meta.map_uid = reg.map_uid;
      break;
    case ARG_PTR_TO_MAP_KEY: {
      if (!meta.map) {
        env.verbose("verifier internal error: invalid map_ptr to access map->key\n");
        return refuse(env, EFAULT);
      }
      const uint32_t key_size = meta.map->key_size();
      if (Status st = check_helper_mem_access(env, regno, key_size, AccessType::Read, false, false);
          !st)
        return st;
      if (can_elide_value_nullness(meta.map->type()))
        meta.const_map_key = constant_map_key(env, reg, key_size);
      break;
    }
    case ARG_PTR_TO_MAP_VALUE: {
      if ((arg_type & PTR_MAYBE_NULL) && register_is_null(reg)) return Status::ok();
      if (!meta.map) {
        env.verbose("verifier internal error: invalid map_ptr to access map->value\n");
        return refuse(env, EFAULT);
      }
      meta.raw_mode = arg_type & MEM_UNINIT;
      return check_helper_mem_access(env, regno, meta.map->value_size(), mem_access, false,
                                     meta.raw_mode);
    }
    case ARG_PTR_TO_SPIN_LOCK:
      if (meta.func_id == BPF_FUNC_spin_lock || meta.func_id == BPF_FUNC_spin_unlock)
        return process_spin_lock(env, regno, meta.func_id == BPF_FUNC_spin_lock);
      env.verbose("verifier internal error\n");
      return refuse(env, EFAULT);
    case ARG_PTR_TO_FUNC:
      meta.subprogno = static_cast<int>(reg.subprogno);
      break;
    case ARG_PTR_TO_MEM:
      // Checked with the size argument that follows, unless the prototype fixes the size.
      meta.raw_mode = arg_type & MEM_UNINIT;
      if (arg_type & MEM_FIXED_SIZE) {
        return check_helper_mem_access(env, regno, fn.arg_size[arg], mem_access, false,
                                       meta.raw_mode);
      }
      break;
    case ARG_CONST_SIZE:
    case ARG_CONST_SIZE_OR_ZERO:
      // A variable size may be filled only in part: then the memory must be initialised.
      return check_mem_size_reg(
          env, regno, (fn.arg_type[arg - 1] & MEM_WRITE) ? AccessType::Write : AccessType::Read,
          base_type(arg_type) == ARG_CONST_SIZE_OR_ZERO, meta.raw_mode && reg.s.is_const());
    case ARG_CONST_ALLOC_SIZE_OR_ZERO:
      if (!reg.s.is_const()) {
        env.verbose("R%d is not a known constant'\n", regno);
        return helper_arg_refusal(env, regno, EACCES);
      }
      meta.mem_size = reg.s.const_value();
      mark_chain_precision(env, regno);
      break;
    case ARG_PTR_TO_CTX:
    case ARG_PTR_TO_RINGBUF_MEM:
    case ARG_PTR_TO_STACK:
    case ARG_PTR_TO_SOCK_COMMON:
    case ARG_PTR_TO_SOCKET:
      break;
    default:
      env.verbose("verifier internal error: unsupported arg type %d\n", arg_type);
      return refuse(env, EFAULT);
  }
  return Status::ok();
}

// The helpers a map type accepts (the map half of check_map_func_compatibility); true when the
// map type puts no restriction on the helper.
bool map_allows_func(uint32_t map_type, int32_t f) {
  switch (map_type) {
    case BPF_MAP_TYPE_PROG_ARRAY:
      return f == BPF_FUNC_tail_call;
    case BPF_MAP_TYPE_PERF_EVENT_ARRAY:
      return f == BPF_FUNC_perf_event_read || f == BPF_FUNC_perf_event_output ||
             f == BPF_FUNC_skb_output || f == BPF_FUNC_perf_event_read_value ||
             f == BPF_FUNC_xdp_output;
    case BPF_MAP_TYPE_RINGBUF:
      return f == BPF_FUNC_ringbuf_output || f == BPF_FUNC_ringbuf_reserve ||
             f == BPF_FUNC_ringbuf_query || f == BPF_FUNC_ringbuf_reserve_dynptr ||
             f == BPF_FUNC_ringbuf_submit_dynptr || f == BPF_FUNC_ringbuf_discard_dynptr;
    case BPF_MAP_TYPE_USER_RINGBUF:
      return f == BPF_FUNC_user_ringbuf_drain;
    case BPF_MAP_TYPE_STACK_TRACE:
      return f == BPF_FUNC_get_stackid;
    case BPF_MAP_TYPE_CGROUP_ARRAY:
      return f == BPF_FUNC_skb_under_cgroup || f == BPF_FUNC_current_task_under_cgroup;
    case BPF_MAP_TYPE_CGROUP_STORAGE:
    case BPF_MAP_TYPE_PERCPU_CGROUP_STORAGE:
      return f == BPF_FUNC_get_local_storage;
    case BPF_MAP_TYPE_DEVMAP:
    case BPF_MAP_TYPE_DEVMAP_HASH:
    case BPF_MAP_TYPE_XSKMAP:
      return f == BPF_FUNC_redirect_map || f == BPF_FUNC_map_lookup_elem;
    case BPF_MAP_TYPE_CPUMAP:
      return f == BPF_FUNC_redirect_map;
    case BPF_MAP_TYPE_ARRAY_OF_MAPS:
    case BPF_MAP_TYPE_HASH_OF_MAPS:
      return f == BPF_FUNC_map_lookup_elem;
    case BPF_MAP_TYPE_QUEUE:
    case BPF_MAP_TYPE_STACK:
      return f == BPF_FUNC_map_peek_elem || f == BPF_FUNC_map_pop_elem ||
             f == BPF_FUNC_map_push_elem;
    case BPF_MAP_TYPE_BLOOM_FILTER:
      return f == BPF_FUNC_map_peek_elem || f == BPF_FUNC_map_push_elem;
    case BPF_MAP_TYPE_SK_STORAGE:
      return f == BPF_FUNC_sk_storage_get || f == BPF_FUNC_sk_storage_delete;
    default:
      return true;
  }
}

// The map types a helper accepts (the function half), beyond the prototype's own map_types.
bool func_allows_map(int32_t f, uint32_t map_type) {
  switch (f) {
    case BPF_FUNC_tail_call:
      return map_type == BPF_MAP_TYPE_PROG_ARRAY;
    case BPF_FUNC_perf_event_read:
    case BPF_FUNC_perf_event_output:
    case BPF_FUNC_perf_event_read_value:
    case BPF_FUNC_skb_output:
    case BPF_FUNC_xdp_output:
      return map_type == BPF_MAP_TYPE_PERF_EVENT_ARRAY;
    case BPF_FUNC_ringbuf_output:
    case BPF_FUNC_ringbuf_reserve:
    case BPF_FUNC_ringbuf_query:
      return map_type == BPF_MAP_TYPE_RINGBUF;
    case BPF_FUNC_get_stackid:
      return map_type == BPF_MAP_TYPE_STACK_TRACE;
    case BPF_FUNC_redirect_map:
      return map_type == BPF_MAP_TYPE_DEVMAP || map_type == BPF_MAP_TYPE_DEVMAP_HASH ||
             map_type == BPF_MAP_TYPE_CPUMAP || map_type == BPF_MAP_TYPE_XSKMAP;
    case BPF_FUNC_map_pop_elem:
      return map_type == BPF_MAP_TYPE_QUEUE || map_type == BPF_MAP_TYPE_STACK;
    case BPF_FUNC_map_peek_elem:
    case BPF_FUNC_map_push_elem:
      return map_type == BPF_MAP_TYPE_QUEUE || map_type == BPF_MAP_TYPE_STACK ||
             map_type == BPF_MAP_TYPE_BLOOM_FILTER;
    case BPF_FUNC_map_lookup_percpu_elem:
      return map_type == BPF_MAP_TYPE_PERCPU_ARRAY || map_type == BPF_MAP_TYPE_PERCPU_HASH ||
             map_type == BPF_MAP_TYPE_LRU_PERCPU_HASH;
    case BPF_FUNC_for_each_map_elem:
      return map_type == BPF_MAP_TYPE_ARRAY || map_type == BPF_MAP_TYPE_PERCPU_ARRAY ||
             map_type == BPF_MAP_TYPE_HASH || map_type == BPF_MAP_TYPE_PERCPU_HASH ||
             map_type == BPF_MAP_TYPE_LRU_HASH || map_type == BPF_MAP_TYPE_LRU_PERCPU_HASH;
    default:
      return true;
  }
}

Status check_map_func_compatibility(Env& env, const maps::Map* map, const HelperProto& fn) {
  if (!map) return Status::ok();
  const int32_t f = static_cast<int32_t>(fn.func_id);
  const uint32_t t = map->type();
  const bool ok = map_allows_func(t, f) && func_allows_map(f, t) &&
                  (fn.map_types == 0 || (t < 64 && (fn.map_types & map_type_bit(t))));
  if (ok) return Status::ok();
  env.verbose("cannot pass map_type %u into func %s#%d\n", t, func_id_name(f), f);
  explain(env, Rule::HelperArgument).reg(1);
  return refuse(env, EINVAL);
}

// record_func_map(): the map each map helper call uses, kept per instruction so the rewrite can
// inline array lookups only where every path agrees (poisoned otherwise).
Status record_func_map(Env& env, const CallArgMeta& meta, int32_t f, uint32_t insn_idx) {
  switch (f) {
    case BPF_FUNC_tail_call:
    case BPF_FUNC_map_lookup_elem:
    case BPF_FUNC_map_update_elem:
    case BPF_FUNC_map_delete_elem:
    case BPF_FUNC_map_push_elem:
    case BPF_FUNC_map_pop_elem:
    case BPF_FUNC_map_peek_elem:
    case BPF_FUNC_for_each_map_elem:
    case BPF_FUNC_redirect_map:
    case BPF_FUNC_map_lookup_percpu_elem:
      break;
    default:
      return Status::ok();
  }
  if (!meta.map) {
    env.verbose("verifier internal error: expected map for helper call\n");
    return refuse(env, EFAULT);
  }
  if ((meta.map->map_flags() & BPF_F_RDONLY_PROG) &&
      (f == BPF_FUNC_map_delete_elem || f == BPF_FUNC_map_update_elem ||
       f == BPF_FUNC_map_push_elem || f == BPF_FUNC_map_pop_elem)) {
    env.verbose("write into map forbidden\n");
    explain(env, Rule::ReadOnly).reg(1);
    return refuse(env, EACCES);
  }
  InsnAux& aux = env.aux[insn_idx];
  if (!aux.map_ptr)
    aux.map_ptr = meta.map;
  else if (aux.map_ptr != meta.map)
    aux.map_ptr_poisoned = true;
  return Status::ok();
}

// record_func_key(): bpf_tail_call's map must be a PROG_ARRAY (checked here, before the map
// compatibility check, as 6.18 does); its index is remembered when the same constant on every path.
Status record_func_key(Env& env, const CallArgMeta& meta, int32_t f, uint32_t insn_idx) {
  if (f != BPF_FUNC_tail_call) return Status::ok();
  if (!meta.map || meta.map->type() != BPF_MAP_TYPE_PROG_ARRAY) {
    // The kernel's message has no newline.
    env.verbose("expected prog array map for tail call");
    explain(env, Rule::HelperArgument).reg(2);
    return Status(EINVAL, "expected prog array map for tail call");
  }
  InsnAux& aux = env.aux[insn_idx];
  const RegState& r3 = cur_regs(env)[3];
  const bool known =
      r3.type == SCALAR_VALUE && r3.s.is_const() && r3.s.const_value() < meta.map->max_entries();
  if (known) mark_chain_precision(env, 3);  // the rewrite may rely on this index
  if (!known) {
    aux.map_key_const = false;
    aux.map_key_poisoned = true;
  } else if (!aux.map_key_poisoned) {
    if (aux.map_key_const && aux.map_key != r3.s.const_value()) {
      aux.map_key_const = false;
      aux.map_key_poisoned = true;
    } else {
      aux.map_key_const = true;
      aux.map_key = r3.s.const_value();
    }
  }
  return Status::ok();
}

// update_loop_inline_state(): a bpf_loop call site stays fit for inlining while every path
// passes the same callback and flags known to be 0 (a precise 0: pruning must keep it).
void update_loop_inline_state(Env& env, uint32_t insn_idx, uint32_t subprogno) {
  auto& st = env.aux[insn_idx].loop_inline;
  const bool flags_zero = register_is_null(cur_regs(env)[BPF_REG_4]);
  if (flags_zero) mark_chain_precision(env, BPF_REG_4);
  if (!st.initialized) {
    st.initialized = true;
    st.fit = flags_zero;
    st.callback = subprogno;
    return;
  }
  st.fit = st.fit && flags_zero && st.callback == subprogno;
}

}  // namespace

Status calls::check_arg_reg_off(Env& env, const RegState& reg, int regno, uint32_t arg_type) {
  return check_func_arg_reg_off(env, reg, regno, arg_type);
}

Status check_helper_call(Env& env, uint32_t* insn_idx_p) {
  const uint32_t insn_idx = *insn_idx_p;
  const struct bpf_insn& insn = env.insns[insn_idx];
  const int32_t func_id = insn.imm;

  if (func_id < 0 || func_id >= isa::kernel_helper_count()) {
    env.verbose("invalid func %s#%d\n", func_id_name(func_id), func_id);
    explain(env, Rule::UnknownHelper);
    return refuse(env, EINVAL);
  }
  const HelperProto* fn =
      env.ops && env.ops->get_func_proto
          ? env.ops->get_func_proto(static_cast<uint32_t>(func_id), env.opts.load)
          : nullptr;
  // bpf_tail_call has no function: the engines carry it out themselves.
  if (!fn || (!fn->fn && func_id != BPF_FUNC_tail_call)) {
    env.verbose("program of this type cannot use helper %s#%d\n", func_id_name(func_id), func_id);
    explain(env, Rule::UnknownHelper);
    return refuse(env, EINVAL);
  }
  if (!env.opts.load.gpl_compatible && fn->gpl_only) {
    env.verbose("cannot call GPL-restricted function from non-GPL compatible program\n");
    explain(env, Rule::UnknownHelper);
    return refuse(env, EINVAL);
  }
  if (fn->might_sleep) {
    env.verbose("helper call might sleep in a non-sleepable prog\n");
    explain(env, Rule::UnknownHelper);
    return refuse(env, EINVAL);
  }
  if (fn->changes_pkt_data && fn->arg_type[0] != ARG_PTR_TO_CTX) {
    env.verbose("verifier internal error: func %s#%d: r1 != ctx\n", func_id_name(func_id), func_id);
    return refuse(env, EFAULT);
  }

  CallArgMeta meta;
  meta.pkt_access = fn->pkt_access;
  meta.func_id = func_id;
  for (int i = 0; i < kMaxBpfFuncRegArgs; ++i)
    if (Status st = check_func_arg(env, i, meta, *fn); !st) return st;

  if (Status st = record_func_map(env, meta, func_id, insn_idx); !st) return st;
  if (Status st = record_func_key(env, meta, func_id, insn_idx); !st) return st;

  RegState* regs = cur_regs(env);
  if (meta.release_regno) {
    Status st = Status::ok();
    if (meta.ref_obj_id)
      st = release_reference(env, meta.ref_obj_id);
    else if (!register_is_null(regs[meta.release_regno]))
      st = Status(EINVAL, "");
    if (!st) {
      env.verbose("func %s#%d reference has not been acquired before\n", func_id_name(func_id),
                  func_id);
      explain(env, Rule::UnreleasedRef).reg(meta.release_regno);
      return refuse(env, EINVAL);
    }
  }

  switch (func_id) {
    case BPF_FUNC_tail_call:
      if (Status st = check_resource_leak(env, false, true, "tail_call"); !st) return st;
      break;
    case BPF_FUNC_for_each_map_elem:
      if (Status st = push_callback_call(env, insn_idx, meta.subprogno, CallbackKind::MapElem); !st)
        return st;
      break;
    case BPF_FUNC_loop: {
      const RegState& r1 = regs[1];
      FuncState& fr = cur_frame(env);
      update_loop_inline_state(env, insn_idx, meta.subprogno);
      // How often the callback is explored follows the count's bound.
      mark_chain_precision(env, 1);
      if (fr.callback_depth < r1.s.umax) {
        if (Status st = push_callback_call(env, insn_idx, meta.subprogno, CallbackKind::Loop); !st)
          return st;
      } else {
        fr.callback_depth = 0;
        if (env.log.level2())
          env.verbose("frame%u bpf_loop iteration limit reached\n", env.cur_state->curframe);
      }
      break;
    }
    default:
      break;
  }
  regs = cur_regs(env);

  // The caller-saved registers are clobbered.
  for (int r = 0; r <= 5; ++r) {
    mark_reg_not_init(regs[r]);
    mark_reg_scratched(env, r);
  }
  regs[0].subreg_def = 0;

  RegState& r0 = regs[0];
  const uint32_t ret_type = fn->ret_type;
  // MEM_ALLOC marks the prototype's return only: the kernel's ringbuf_mem register has no such
  // flag.
  uint32_t ret_flag = type_flags(ret_type) & ~uint32_t(MEM_ALLOC);
  switch (base_type(ret_type)) {
    case RET_INTEGER:
      mark_reg_unknown(env, r0);
      break;
    case RET_VOID:
      r0.type = NOT_INIT;
      break;
    case RET_PTR_TO_MAP_VALUE:
      mark_reg_known_zero(r0);
      if (!meta.map) {
        env.verbose("verifier internal error: unexpected null map_ptr\n");
        return refuse(env, EFAULT);
      }
      // An array lookup with a constant key in range cannot fail (6.13+). Not in an inner array
      // whose template has BPF_F_INNER_MAP: the arrays stored may be smaller than the template.
      if (func_id == BPF_FUNC_map_lookup_elem && can_elide_value_nullness(meta.map->type()) &&
          meta.const_map_key >= 0 && meta.const_map_key < meta.map->max_entries() &&
          !(meta.map->is_inner_map_meta() && (meta.map->map_flags() & BPF_F_INNER_MAP)))
        ret_flag &= ~uint32_t(PTR_MAYBE_NULL);
      r0.map_ptr = meta.map;
      r0.map_uid = meta.map_uid;
      r0.type = PTR_TO_MAP_VALUE | ret_flag;
      if (!(ret_flag & PTR_MAYBE_NULL) && meta.map->spin_lock_off() >= 0) r0.id = env.new_id();
      break;
    case RET_PTR_TO_SOCKET:
    case RET_PTR_TO_SOCK_COMMON:
    case RET_PTR_TO_TCP_SOCK:
      mark_reg_known_zero(r0);
      r0.type = (base_type(ret_type) == RET_PTR_TO_SOCKET        ? PTR_TO_SOCKET
                 : base_type(ret_type) == RET_PTR_TO_SOCK_COMMON ? PTR_TO_SOCK_COMMON
                                                                 : PTR_TO_TCP_SOCK) |
                ret_flag;
      break;
    case RET_PTR_TO_MEM:
      mark_reg_known_zero(r0);
      r0.type = PTR_TO_MEM | ret_flag;
      r0.mem_size = static_cast<uint32_t>(meta.mem_size);
      break;
    default:
      env.verbose("unknown return type %u of func %s#%d\n", base_type(ret_type),
                  func_id_name(func_id), func_id);
      return refuse(env, EINVAL);
  }
  if (type_may_be_null(r0.type)) r0.id = env.new_id();
  // do_refine_retval_range(): the CPU number is below the possible CPUs (the run's slot indexes
  // per-CPU values, so the engines keep it there too).
  if (func_id == BPF_FUNC_get_smp_processor_id) {
    const uint32_t last = maps::nr_possible_cpus() - 1;
    r0.s.umin = 0, r0.s.umax = last, r0.s.smin = 0, r0.s.smax = last;
    r0.s.u32_min = 0, r0.s.u32_max = last, r0.s.s32_min = 0, r0.s.s32_max = int32_t(last);
    r0.s.sync();
  }

  // is_acquire_function(): ringbuf reservations are references the path must give back.
  if (func_id == BPF_FUNC_ringbuf_reserve) {
    const uint32_t id = acquire_reference(env, insn_idx);
    r0.id = id;
    r0.ref_obj_id = id;
  }

  if (Status st = check_map_func_compatibility(env, meta.map, *fn); !st) return st;

  bool changes_data = fn->changes_pkt_data;
  if (func_id == BPF_FUNC_tail_call) {
    changes_data = false;
    if (env.cur_state->curframe) {
      // In a subprogram, a tail call that finds no target falls through (explored later as a
      // branch); one that jumps leaves the subprogram as an exit would, with r0 unknown.
      if (!push_stack(env, insn_idx + 1, insn_idx, false)) return refuse(env, E2BIG);
      clear_all_pkt_pointers(env);
      mark_reg_unknown(env, cur_regs(env)[0]);
      if (Status st = prepare_func_exit(env, insn_idx_p); !st) return st;
      --*insn_idx_p;
    }
  }
  if (changes_data) clear_all_pkt_pointers(env);
  return Status::ok();
}

}  // namespace bpfbox::verifier
