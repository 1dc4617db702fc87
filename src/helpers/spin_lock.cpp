// bpf_spin_lock / bpf_spin_unlock (kernel/bpf/helpers.c): the struct bpf_spin_lock inside a map
// value is a maps::SpinLock word (the same one BPF_F_LOCK syscall copies take). The verifier
// guarantees the pointer is the map's lock, that a lock is released on every path and that
// nothing but bpf_spin_unlock is called while it is held.
#include "helpers/protos.hpp"
#include "maps/spin_lock.hpp"

namespace bpfbox::helpers {
namespace {

uint64_t spin_lock(uint64_t lock, uint64_t, uint64_t, uint64_t, uint64_t, vm::RunContext*) {
  reinterpret_cast<maps::SpinLock*>(lock)->lock();
  return 0;
}

uint64_t spin_unlock(uint64_t lock, uint64_t, uint64_t, uint64_t, uint64_t, vm::RunContext*) {
  reinterpret_cast<maps::SpinLock*>(lock)->unlock();
  return 0;
}

}  // namespace

const HelperProto kSpinLockProto{.func_id = BPF_FUNC_spin_lock,
                                 .name = "bpf_spin_lock",
                                 .fn = spin_lock,
                                 .ret_type = RET_VOID,
                                 .arg_type = {ARG_PTR_TO_SPIN_LOCK}};
const HelperProto kSpinUnlockProto{.func_id = BPF_FUNC_spin_unlock,
                                   .name = "bpf_spin_unlock",
                                   .fn = spin_unlock,
                                   .ret_type = RET_VOID,
                                   .arg_type = {ARG_PTR_TO_SPIN_LOCK}};

}  // namespace bpfbox::helpers
