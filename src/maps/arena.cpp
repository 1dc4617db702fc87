#include "maps/arena.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

namespace bpfbox::maps {

// Beyond this an arena is refused: the kernel would fail the allocation too.
constexpr uint64_t kMaxArenaSize = uint64_t(1) << 42;

Result<Arena> Arena::create(const char* name, uint64_t size) {
  if (size == 0 || size > kMaxArenaSize)
    return Status(ENOMEM, "map needs " + std::to_string(size) + " bytes of storage: too large");
  size = round_up(size, kPageSize);
  int fd = memfd_create(name, MFD_CLOEXEC);
  if (fd < 0) return Status(ENOMEM, std::string("memfd_create: ") + std::strerror(errno));
  if (ftruncate(fd, static_cast<off_t>(size)) != 0) {
    int e = errno;
    close(fd);
    return Status(ENOMEM, std::string("ftruncate of map storage: ") + std::strerror(e));
  }
  void* p = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_NORESERVE, fd, 0);
  if (p == MAP_FAILED) {
    int e = errno;
    close(fd);
    return Status(ENOMEM, std::string("mmap of map storage: ") + std::strerror(e));
  }
  return Arena{fd, static_cast<uint8_t*>(p), size};
}

Result<Arena> Arena::attach(int memfd) {
  struct stat st;
  if (fstat(memfd, &st) != 0) return Status(EBADF, "not a map storage fd");
  if (st.st_size <= 0) return Status(EINVAL, "map storage fd is empty");
  int fd = fcntl(memfd, F_DUPFD_CLOEXEC, 0);
  if (fd < 0) return Status(EMFILE, "dup of map storage fd failed");
  uint64_t size = static_cast<uint64_t>(st.st_size);
  void* p = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_NORESERVE, fd, 0);
  if (p == MAP_FAILED) {
    close(fd);
    return Status(ENOMEM, "mmap of map storage failed");
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
