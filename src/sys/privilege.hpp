// Whether the caller of bpfbox_bpf() holds the kernel's CAP_BPF (with CAP_PERFMON and
// CAP_NET_ADMIN): the privileged rule set of the verifier, every program type, the larger
// instruction limit.
//
// A bpfbox runtime is its user's own system, so its caller is privileged whatever the host uid:
// loading an XDP program must not need root (the point of bpfbox in CI and containers).
// BPFBOX_UNPRIVILEGED=1 makes the caller unprivileged, as a process without those capabilities
// is for the kernel with kernel.unprivileged_bpf_disabled=0: socket filters only, pointer leaks
// refused, Spectre defences in the xlated program.
#pragma once

namespace bpfbox::sys {

bool caller_privileged();

}  // namespace bpfbox::sys
