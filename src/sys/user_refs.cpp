#include "sys/user_refs.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>

namespace bpfbox::sys {

namespace {

// Far past any object's data (maps' arenas, program and BTF files never grow this far).
constexpr off_t kBase = off_t(1) << 60;
constexpr off_t kSpan = off_t(1) << 40;

bool lock(int fd, short type, off_t start) {
  struct flock l {};
  l.l_type = type;
  l.l_whence = SEEK_SET;
  l.l_start = start;
  l.l_len = 1;
  return fcntl(fd, F_OFD_SETLK, &l) == 0;
}

}  // namespace

void hold_user_ref(int fd) {
  const int fl = fcntl(fd, F_GETFL);
  if (fl < 0) return;
  if ((fl & O_ACCMODE) != O_WRONLY) {
    lock(fd, F_RDLCK, kBase);
    return;
  }
  // Write locks exclude each other: each write-only fd takes a byte no other fd is likely to hold
  // (this process's id and a counter), the next one when taken.
  static std::atomic<uint64_t> next{0};
  const uint64_t seed = uint64_t(getpid()) << 20;
  for (int tries = 0; tries < 64; tries++) {
    const uint64_t slot =
        (seed + next.fetch_add(1, std::memory_order_relaxed)) % uint64_t(kSpan - 1);
    if (lock(fd, F_WRLCK, kBase + 1 + off_t(slot))) return;
  }
}

bool has_user_fds(int own_fd) {
  struct flock l {};
  l.l_type = F_WRLCK;  // conflicts with every lock in the range: read or write
  l.l_whence = SEEK_SET;
  l.l_start = kBase;
  l.l_len = kSpan;
  if (fcntl(own_fd, F_OFD_GETLK, &l) != 0) return true;  // cannot tell: keep the map's contents
  return l.l_type != F_UNLCK;
}

}  // namespace bpfbox::sys
