// The runtime directory every process using bpfbox shares (the system half of bpf()): the id
// counters and registry (ids/), the object files of programs (objs/) and the pin tree (fs/, what
// /sys/fs/bpf is for the kernel). $BPFBOX_RUNTIME_DIR, else $XDG_RUNTIME_DIR/bpfbox, else
// /run/bpfbox; bpfbox_set_runtime_dir() before the first call overrides it.
#pragma once

#include <string>

namespace bpfbox::sys {

// The directory, created (with ids/, objs/, fs/) on first use; empty if it cannot be created
// (ids then stay unique only within the process, and pinning is EPERM).
const std::string& runtime_dir();
// "<runtime dir>/<sub>", or "" when there is no runtime dir.
std::string runtime_path(const char* sub);

}  // namespace bpfbox::sys
