#include "sys/ids.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <set>
#include <string>

#include "sys/runtime.hpp"

namespace bpfbox::sys {

namespace {

// Without a runtime dir, ids are unique within the process only.
std::atomic<uint32_t> g_local_next[kNumKinds] = {1, 1, 1, 1};

std::string inode_name(InodeKey key) {
  return std::to_string(uint64_t(key.first)) + ":" + std::to_string(uint64_t(key.second));
}

std::string read_link(const std::string& path) {
  char buf[256];
  ssize_t n = readlink(path.c_str(), buf, sizeof buf - 1);
  if (n <= 0) return {};
  return std::string(buf, size_t(n));
}

// Replaces `path` with a symlink to `target` atomically (a reused inode number takes over).
void put_link(const std::string& path, const std::string& target) {
  if (symlink(target.c_str(), path.c_str()) == 0 || errno != EEXIST) return;
  std::string tmp = path + ".tmp" + std::to_string(getpid());
  unlink(tmp.c_str());
  if (symlink(target.c_str(), tmp.c_str()) == 0 && rename(tmp.c_str(), path.c_str()) != 0)
    unlink(tmp.c_str());
}

// "<runtime>/ids/<sub>", created once per process and runtime dir.
std::string ids_subdir(const char* sub) {
  static std::mutex mu;
  static std::set<std::string> made;
  std::string ids = runtime_path("ids");
  if (ids.empty()) return {};
  std::string d = ids + "/" + sub;
  std::lock_guard g(mu);
  if (made.insert(d).second) mkdir(d.c_str(), 0700);
  return d;
}

std::string kind_dir(Kind kind) {
  return ids_subdir(kind_name(kind));
}

std::string inodes_dir() {
  return ids_subdir("inodes");
}

}  // namespace

const char* kind_name(Kind k) {
  switch (k) {
    case Kind::Prog:
      return "prog";
    case Kind::Map:
      return "map";
    case Kind::Btf:
      return "btf";
    case Kind::Link:
      return "link";
  }
  return "?";
}

uint32_t alloc_id(Kind kind, InodeKey key) {
  std::string dir = kind_dir(kind);
  uint32_t id = 0;
  if (!dir.empty()) {
    std::string counter = dir + ".next";
    int fd = open(counter.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd >= 0 && flock(fd, LOCK_EX) == 0) {
      char buf[32] = {};
      ssize_t n = pread(fd, buf, sizeof buf - 1, 0);
      uint64_t next = n > 0 ? std::strtoull(buf, nullptr, 10) : 1;
      if (next == 0 || next > INT_MAX) next = 1;
      id = uint32_t(next);
      std::string s = std::to_string(next == INT_MAX ? 1 : next + 1);
      if (ftruncate(fd, 0) != 0 || pwrite(fd, s.data(), s.size(), 0) != ssize_t(s.size())) id = 0;
      if (id) {
        put_link(dir + "/" + std::to_string(id), inode_name(key));
        put_link(inodes_dir() + "/" + inode_name(key),
                 std::string(kind_name(kind)) + ":" + std::to_string(id));
      }
    }
    if (fd >= 0) close(fd);  // releases the lock
  }
  if (!id) id = g_local_next[int(kind)].fetch_add(1);
  return id;
}

uint32_t id_of_inode(Kind kind, InodeKey key) {
  std::string d = inodes_dir();
  if (d.empty()) return 0;
  std::string t = read_link(d + "/" + inode_name(key));
  std::string prefix = std::string(kind_name(kind)) + ":";
  if (t.compare(0, prefix.size(), prefix) != 0) return 0;
  return uint32_t(std::strtoul(t.c_str() + prefix.size(), nullptr, 10));
}

std::optional<InodeKey> inode_of_id(Kind kind, uint32_t id) {
  std::string d = kind_dir(kind);
  if (d.empty()) return std::nullopt;
  std::string t = read_link(d + "/" + std::to_string(id));
  unsigned long long dev = 0, ino = 0;
  if (t.empty() || std::sscanf(t.c_str(), "%llu:%llu", &dev, &ino) != 2) return std::nullopt;
  InodeKey key{dev_t(dev), ino_t(ino)};
  if (id_of_inode(kind, key) != id) return std::nullopt;  // the inode was reused since
  return key;
}

std::vector<uint32_t> registered_ids(Kind kind) {
  std::vector<uint32_t> ids;
  std::string d = kind_dir(kind);
  if (d.empty()) return ids;
  if (DIR* dir = opendir(d.c_str())) {
    while (dirent* e = readdir(dir)) {
      char* end = nullptr;
      unsigned long v = std::strtoul(e->d_name, &end, 10);
      if (e->d_name[0] >= '1' && e->d_name[0] <= '9' && *end == 0) ids.push_back(uint32_t(v));
    }
    closedir(dir);
  }
  std::sort(ids.begin(), ids.end());
  return ids;
}

void forget_id(Kind kind, uint32_t id) {
  std::string d = kind_dir(kind);
  if (d.empty()) return;
  std::string link = d + "/" + std::to_string(id);
  std::string t = read_link(link);
  if (!t.empty()) {
    std::string back = inodes_dir() + "/" + t;
    if (read_link(back) == std::string(kind_name(kind)) + ":" + std::to_string(id))
      unlink(back.c_str());
  }
  unlink(link.c_str());
  if (kind != Kind::Btf) {  // what a pinned program or map held (pin.cpp)
    const std::string holds =
        runtime_path("ids") + "/holds/" + kind_name(kind) + "-" + std::to_string(id);
    if (DIR* dir = opendir(holds.c_str())) {
      while (dirent* e = readdir(dir))
        if (e->d_name[0] != '.') unlinkat(dirfd(dir), e->d_name, 0);
      closedir(dir);
      rmdir(holds.c_str());
    }
  }
}

}  // namespace bpfbox::sys
