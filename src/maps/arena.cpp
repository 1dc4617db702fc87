#include "maps/arena.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <mutex>
#include <string>

#include "bpfbox/maps.hpp"

namespace bpfbox::maps {

// Beyond this an arena is refused: the kernel would fail the allocation too.
constexpr uint64_t kMaxArenaSize = uint64_t(1) << 42;

namespace {

std::mutex storage_mu;
std::string storage_path;  // under storage_mu; "" means memfds

std::string errno_text(const char* what, int e) {
  return std::string(what) + ": " + std::strerror(e);
}

// An unnamed file in dir (O_TMPFILE without O_EXCL, so linkat can give it a name later).
int open_tmpfile(const std::string& dir) {
  return open(dir.c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
}

}  // namespace

Status check_storage_dir(const std::string& dir) {
  int fd = open_tmpfile(dir);
  if (fd < 0) {
    int e = errno;
    return Status(
        e, errno_text(("map storage directory " + dir).c_str(), e) +
               (e == EOPNOTSUPP || e == EISDIR ? " (the file system has no O_TMPFILE)" : ""));
  }
  close(fd);
  return Status::ok();
}

void set_storage_path(const std::string& dir) {
  std::lock_guard g(storage_mu);
  storage_path = dir;
}

std::string storage_dir() {
  std::lock_guard g(storage_mu);
  return storage_path;
}

Status link_storage(const Map& map, const std::string& path) {
  std::string proc = "/proc/self/fd/" + std::to_string(map.memfd());
  if (linkat(AT_FDCWD, proc.c_str(), AT_FDCWD, path.c_str(), AT_SYMLINK_FOLLOW) == 0)
    return Status::ok();
  int e = errno;
  std::string msg = errno_text(("link map storage to " + path).c_str(), e);
  char target[64] = {};
  if (readlink(proc.c_str(), target, sizeof target - 1) > 0 &&
      std::strncmp(target, "/memfd:", 7) == 0)
    msg +=
        " (the map's storage is a memfd, which cannot be linked: set a storage directory "
        "with maps::set_storage_dir before creating maps to pin)";
  return Status(e, msg);
}

Result<Arena> Arena::create(const char* name, uint64_t size, Backing backing) {
  if (size == 0 || size > kMaxArenaSize)
    return Status(ENOMEM, "map needs " + std::to_string(size) + " bytes of storage: too large");
  size = round_up(size, kPageSize);
  std::string dir = backing == Backing::Storage ? storage_dir() : std::string();
  int fd = dir.empty() ? memfd_create(name, MFD_CLOEXEC) : open_tmpfile(dir);
  if (fd < 0) {
    int e = errno;
    return Status(ENOMEM, dir.empty() ? errno_text("memfd_create", e)
                                      : errno_text(("O_TMPFILE in " + dir).c_str(), e));
  }
  if (ftruncate(fd, static_cast<off_t>(size)) != 0) {
    int e = errno;
    close(fd);
    return Status(ENOMEM, errno_text("ftruncate of map storage", e));
  }
  void* p = storage_mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_NORESERVE, fd, 0);
  if (p == MAP_FAILED) {
    int e = errno;
    close(fd);
    return Status(ENOMEM, errno_text("mmap of map storage", e));
  }
  return Arena{fd, static_cast<uint8_t*>(p), size};
}

void* storage_mmap(void* addr, uint64_t len, int prot, int flags, int fd, uint64_t off) {
  const long r = syscall(SYS_mmap, addr, len, prot, flags, fd, off);
  return r == -1 ? MAP_FAILED : reinterpret_cast<void*>(r);
}

Result<Arena> Arena::attach(int memfd) {
  struct stat st;
  if (fstat(memfd, &st) != 0) return Status(EBADF, "not a map storage fd");
  if (!S_ISREG(st.st_mode)) return Status(EINVAL, "map storage fd is not a regular file");
  if (st.st_size <= 0) return Status(EINVAL, "map storage fd is empty");
  int fd = fcntl(memfd, F_DUPFD_CLOEXEC, 0);
  if (fd < 0) return Status(EMFILE, "dup of map storage fd failed");
  uint64_t size = static_cast<uint64_t>(st.st_size);
  void* p = storage_mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_NORESERVE, fd, 0);
  if (p == MAP_FAILED) {
    int e = errno;
    close(fd);
    return Status(e == EACCES ? EACCES : ENOMEM,
                  errno_text("mmap of map storage (opened O_RDWR?)", e));
  }
  return Arena{fd, static_cast<uint8_t*>(p), size};
}

void Arena::release() {
  if (base) munmap(base, size);
  if (fd >= 0) close(fd);
  base = nullptr;
  fd = -1;
  size = 0;
}

}  // namespace bpfbox::maps
