// The shim's side of the perf events bpfbox serves (perf_event_shim.cpp).
#pragma once

namespace bpfbox::shim {

// syscall(__NR_perf_event_open, attr, pid, cpu, group_fd, flags) with the six argument
// registers: true (and *result, errno set) when bpfbox serves the event, false to let the kernel.
bool serve_perf_event_open(const long (&a)[6], long* result);

}  // namespace bpfbox::shim
