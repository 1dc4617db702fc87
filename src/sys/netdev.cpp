#include "sys/netdev.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "bpfbox/bpf.h"
#include "sys/runtime.hpp"

namespace bpfbox::sys {

namespace {

std::string dir() {
  const std::string d = runtime_path("netdevs");
  if (!d.empty()) mkdir(d.c_str(), 0700);
  return d;
}

std::string read_small(const std::string& path) {
  char buf[64];
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return {};
  const ssize_t n = read(fd, buf, sizeof buf - 1);
  close(fd);
  return n > 0 ? std::string(buf, size_t(n)) : std::string();
}

bool write_small(const std::string& path, const std::string& text) {
  const std::string tmp = path + ".tmp" + std::to_string(getpid());
  const int fd = open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return false;
  const bool ok = write(fd, text.data(), text.size()) == ssize_t(text.size());
  close(fd);
  return ok && rename(tmp.c_str(), path.c_str()) == 0;
}

}  // namespace

bool netdev_exists(uint32_t ifindex) {
  if (ifindex == 1) return true;  // lo
  const std::string d = dir();
  if (d.empty() || !ifindex) return false;
  struct stat st {};
  return stat((d + "/" + std::to_string(ifindex)).c_str(), &st) == 0;
}

uint32_t netdev_xdp_link(uint32_t ifindex) {
  const std::string d = dir();
  if (d.empty()) return 0;
  return uint32_t(
      std::strtoul(read_small(d + "/" + std::to_string(ifindex) + ".xdp").c_str(), nullptr, 10));
}

void netdev_set_xdp_link(uint32_t ifindex, uint32_t link_id, uint32_t expect) {
  const std::string d = dir();
  if (d.empty()) return;
  const std::string path = d + "/" + std::to_string(ifindex) + ".xdp";
  if (link_id) {
    write_small(path, std::to_string(link_id));
  } else if (netdev_xdp_link(ifindex) == expect) {
    unlink(path.c_str());
  }
}

Result<uint32_t> netdev_add(const std::string& name) {
  if (name.empty() || name.size() >= 16 || name.find('/') != std::string::npos)
    return Status(EINVAL, "an interface name has 1 to 15 characters and no '/' (IFNAMSIZ)");
  if (name == "lo") return 1u;
  const std::string d = dir();
  if (d.empty()) return Status(ENODEV, "there is no runtime dir for the interface table");
  // Under a lock on the directory: find the name, else take the next free index.
  const int lock = open(d.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (lock < 0) return Status(errno, "cannot open the interface table");
  flock(lock, LOCK_EX);
  uint32_t max = 1, found = 0;
  if (DIR* dd = opendir(d.c_str())) {
    while (dirent* e = readdir(dd)) {
      char* end = nullptr;
      const unsigned long idx = std::strtoul(e->d_name, &end, 10);
      if (!idx || *end) continue;
      max = std::max<uint32_t>(max, uint32_t(idx));
      if (read_small(d + "/" + e->d_name) == name) found = uint32_t(idx);
    }
    closedir(dd);
  }
  if (!found) {
    found = max + 1;
    if (!write_small(d + "/" + std::to_string(found), name)) found = 0;
  }
  flock(lock, LOCK_UN);
  close(lock);
  if (!found) return Status(EIO, "cannot write the interface table");
  return found;
}

}  // namespace bpfbox::sys

extern "C" int bpfbox_netdev_add(const char* name) {
  bpfbox_runtime_dir();
  auto r = bpfbox::sys::netdev_add(name ? name : "");
  if (!r) {
    errno = r.status().err();
    return -1;
  }
  return int(*r);
}
