#include "maps/process.hpp"

#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>

namespace bpfbox::maps {

uint32_t self_pid_slow() {
  static std::once_flag atfork;
  std::call_once(atfork, [] {
    pthread_atfork(nullptr, nullptr, [] { g_self_pid.store(0, std::memory_order_relaxed); });
  });
  uint32_t p = static_cast<uint32_t>(getpid());
  g_self_pid.store(p, std::memory_order_relaxed);
  return p;
}

bool read_proc_stat(pid_t pid, uint64_t* start, bool* zombie) {
  char path[64];
  std::snprintf(path, sizeof path, "/proc/%d/stat", static_cast<int>(pid));
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  char buf[1024];
  ssize_t n = read(fd, buf, sizeof buf - 1);
  close(fd);
  if (n <= 0) return false;
  buf[n] = 0;
  const char* p = std::strrchr(buf, ')');  // the command name may hold spaces and parentheses
  if (!p || p[1] != ' ') return false;
  p += 2;
  *zombie = *p == 'Z' || *p == 'X';
  for (int field = 3; field < 22; ++field) {
    p = std::strchr(p, ' ');
    if (!p) return false;
    ++p;
  }
  *start = std::strtoull(p, nullptr, 10);
  return true;
}

bool pid_alive(uint32_t pid) {
  if (pid == 0 || pid > INT32_MAX) return true;  // not a pid we wrote: never take it
  if (kill(static_cast<pid_t>(pid), 0) != 0 && errno == ESRCH) return false;
  uint64_t start = 0;
  bool zombie = false;
  if (!read_proc_stat(static_cast<pid_t>(pid), &start, &zombie)) return true;
  return !zombie;
}

}  // namespace bpfbox::maps
