// References a path holds (the kernel's bpf_reference_state): ringbuf reservations acquired by
// bpf_ringbuf_reserve and released by submit/discard, and the bpf_spin_lock held. Every path must
// release what it acquired before leaving the program, and a release invalidates every copy of
// the pointer (registers and spilled slots, in every frame).
#include <algorithm>
#include <cerrno>

#include "verifier/calls_common.hpp"
#include "verifier/regs.hpp"

namespace bpfbox::verifier::calls {

namespace {

bool holds_lock(const VerifierState& st) {
  return std::any_of(st.refs.begin(), st.refs.end(),
                     [](const RefState& r) { return r.kind == RefState::Lock; });
}

}  // namespace

uint32_t acquire_reference(Env& env, uint32_t insn_idx) {
  RefState ref;
  ref.kind = RefState::Ptr;
  ref.id = env.new_id();
  ref.insn_idx = insn_idx;
  env.cur_state->refs.push_back(ref);
  return ref.id;
}

Status release_reference(Env& env, uint32_t ref_obj_id) {
  auto& refs = env.cur_state->refs;
  auto it = std::find_if(refs.begin(), refs.end(), [&](const RefState& r) {
    return r.kind == RefState::Ptr && r.id == ref_obj_id;
  });
  if (it == refs.end()) return Status(EINVAL, "reference not acquired");
  refs.erase(it);
  // mark_reg_invalid: root may keep the value as an unknown scalar; others may not read it.
  for_each_reg(*env.cur_state, [&](RegState& r) {
    if (r.ref_obj_id != ref_obj_id) return;
    if (env.allow_ptr_leaks())
      mark_reg_unknown(env, r);
    else
      mark_reg_not_init(r);
  });
  return Status::ok();
}

bool check_reference_leak(Env& env, bool exception_exit) {
  if (!exception_exit && env.cur_state->cur().frameno) return false;
  bool lingering = false;
  for (const RefState& r : env.cur_state->refs) {
    if (r.kind != RefState::Ptr) continue;
    env.verbose("Unreleased reference id=%u alloc_insn=%u\n", r.id, r.insn_idx);
    if (!lingering) explain(env, Rule::UnreleasedRef).at(r.insn_idx);
    lingering = true;
  }
  return lingering;
}

Status check_resource_leak(Env& env, bool exception_exit, bool check_lock, const char* prefix) {
  if (check_lock && holds_lock(*env.cur_state)) {
    env.verbose("%s cannot be used inside bpf_spin_lock-ed region\n", prefix);
    explain(env, Rule::SpinLock);
    return refuse(env, EINVAL);
  }
  if (check_reference_leak(env, exception_exit)) {
    env.verbose("%s would lead to reference leak\n", prefix);
    return refuse(env, EINVAL);
  }
  return Status::ok();
}

Status process_spin_lock(Env& env, int regno, bool is_lock) {
  VerifierState& cur = *env.cur_state;
  const RegState& reg = cur.cur().regs[regno];
  if (!reg.s.is_const()) {
    env.verbose(
        "R%d doesn't have constant offset. bpf_spin_lock has to be at the constant offset\n",
        regno);
    explain(env, Rule::SpinLock).reg(regno);
    return refuse(env, EINVAL);
  }
  // Only map values reach here (the argument's type check); the lock's place comes from the
  // map's BTF, which bpfbox receives as CreateOptions::spin_lock_off.
  const maps::Map* map = reg.map_ptr;
  if (!map || map->spin_lock_off() < 0) {
    env.verbose("map '%s' has to have BTF in order to use bpf_spin_lock\n", map ? map->name() : "");
    explain(env, Rule::SpinLock).reg(regno);
    return refuse(env, EINVAL);
  }
  const int64_t off = static_cast<int64_t>(reg.s.const_value()) + reg.off;
  if (off != map->spin_lock_off()) {
    env.verbose("off %lld doesn't point to 'struct bpf_spin_lock' that is at %d\n",
                static_cast<long long>(off), map->spin_lock_off());
    explain(env, Rule::SpinLock).reg(regno);
    return refuse(env, EINVAL);
  }
  if (is_lock) {
    if (holds_lock(cur)) {
      env.verbose("Locking two bpf_spin_locks are not allowed\n");
      explain(env, Rule::SpinLock).reg(regno);
      return refuse(env, EINVAL);
    }
    RefState lock;
    lock.kind = RefState::Lock;
    lock.id = reg.id;
    lock.insn_idx = env.insn_idx;
    lock.ptr = map;
    cur.refs.push_back(lock);
    cur.active_lock_id = reg.id;
    cur.active_lock_ptr = map;
    return Status::ok();
  }
  if (!holds_lock(cur)) {
    env.verbose("bpf_spin_unlock without taking a lock\n");
    explain(env, Rule::SpinLock).reg(regno);
    return refuse(env, EINVAL);
  }
  auto it = std::find_if(cur.refs.begin(), cur.refs.end(), [&](const RefState& r) {
    return r.kind == RefState::Lock && r.id == reg.id && r.ptr == map;
  });
  if (it == cur.refs.end()) {
    env.verbose("bpf_spin_unlock of different lock\n");
    explain(env, Rule::SpinLock).reg(regno);
    return refuse(env, EINVAL);
  }
  if (reg.id != cur.active_lock_id || map != cur.active_lock_ptr) {
    env.verbose("bpf_spin_unlock cannot be out of order\n");
    explain(env, Rule::SpinLock).reg(regno);
    return refuse(env, EINVAL);
  }
  cur.refs.erase(it);
  cur.active_lock_id = 0;
  cur.active_lock_ptr = nullptr;
  return Status::ok();
}

}  // namespace bpfbox::verifier::calls
