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

// The kernel's CAP_DAC_OVERRIDE (or, for a read, CAP_DAC_READ_SEARCH), which lets OBJ_GET open a
// pin whatever its mode. The pin tree is host files, so this is the host's capability (root has
// it), not the runtime's CAP_BPF above; an unprivileged caller (BPFBOX_UNPRIVILEGED=1) has none.
bool caller_dac_override(bool write);

}  // namespace bpfbox::sys
