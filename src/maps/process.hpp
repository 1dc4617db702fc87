// Processes sharing maps: who this process is, and whether another one still runs. Locks and
// run slots in shared storage record their holder's pid, so that a process killed while holding
// one blocks nobody for ever.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <cstdint>

namespace bpfbox::maps {

// getpid(), cached (a lock takes it on every acquisition); right in forked children too.
uint32_t self_pid_slow();
inline std::atomic<uint32_t> g_self_pid{0};
inline uint32_t self_pid() {
  uint32_t p = g_self_pid.load(std::memory_order_relaxed);
  return p ? p : self_pid_slow();
}

// A process's start time (clock ticks since boot, /proc/PID/stat field 22) and whether it is a
// zombie; false if it cannot be read.
bool read_proc_stat(pid_t pid, uint64_t* start, bool* zombie);

// False only when `pid` is gone or a zombie: a pid that cannot be checked (another pid namespace)
// counts as alive.
bool pid_alive(uint32_t pid);

}  // namespace bpfbox::maps
