#include "sys/find_file.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstdio>
#include <cstring>
#include <vector>

#include "sys/objects.hpp"
#include "sys/runtime.hpp"
#include "sys/user_refs.hpp"

namespace bpfbox::sys {

namespace {

// bpfbox's files: memfds it names, or files under the runtime dir (objs/, or a pin's name).
bool ours(const char* target, const std::string& dir) {
  return std::strncmp(target, "/memfd:bpfbox-", 14) == 0 ||
         (!dir.empty() && std::strncmp(target, dir.c_str(), dir.size()) == 0);
}

// Calls f(path, key) for each bpfbox file open in a process until it returns true.
template <class F>
void each_open_file(F f) {
  count_fd_walk();
  const std::string objs = runtime_dir().empty() ? std::string() : runtime_dir() + "/";
  DIR* proc = opendir("/proc");
  if (!proc) return;
  bool stop = false;
  while (!stop) {
    dirent* p = readdir(proc);
    if (!p) break;
    if (p->d_name[0] < '1' || p->d_name[0] > '9') continue;
    const std::string fds = std::string("/proc/") + p->d_name + "/fd";
    DIR* d = opendir(fds.c_str());
    if (!d) continue;
    while (dirent* e = readdir(d)) {
      if (e->d_name[0] < '0' || e->d_name[0] > '9') continue;
      const std::string path = fds + "/" + e->d_name;
      char target[512];
      ssize_t n = readlink(path.c_str(), target, sizeof target - 1);
      if (n <= 0) continue;
      target[n] = 0;
      if (!ours(target, objs)) continue;
      struct stat st {};
      if (stat(path.c_str(), &st) == 0 && f(path, InodeKey{st.st_dev, st.st_ino})) {
        stop = true;
        break;
      }
    }
    closedir(d);
  }
  closedir(proc);
}

void each_pinned_file(const std::string& dir, int depth, std::set<InodeKey>& out) {
  if (depth > 16) return;
  DIR* d = opendir(dir.c_str());
  if (!d) return;
  while (dirent* e = readdir(d)) {
    if (!std::strcmp(e->d_name, ".") || !std::strcmp(e->d_name, "..")) continue;
    const std::string path = dir + "/" + e->d_name;
    struct stat st {};
    if (lstat(path.c_str(), &st) != 0) continue;
    if (S_ISDIR(st.st_mode))
      each_pinned_file(path, depth + 1, out);
    else
      out.insert({st.st_dev, st.st_ino});
  }
  closedir(d);
}

std::string in_processes(InodeKey key) {
  std::string found;
  each_open_file([&](const std::string& path, InodeKey k) {
    if (k != key) return false;
    found = path;
    return true;
  });
  return found;
}

std::string in_tree(const std::string& dir, InodeKey key, int depth) {
  if (depth > 16) return {};
  DIR* d = opendir(dir.c_str());
  if (!d) return {};
  std::string found;
  while (dirent* e = readdir(d)) {
    if (!std::strcmp(e->d_name, ".") || !std::strcmp(e->d_name, "..")) continue;
    const std::string path = dir + "/" + e->d_name;
    struct stat st {};
    if (lstat(path.c_str(), &st) != 0) continue;
    if (S_ISDIR(st.st_mode)) {
      found = in_tree(path, key, depth + 1);
    } else if (st.st_dev == key.first && st.st_ino == key.second) {
      found = path;
    }
    if (!found.empty()) break;
  }
  closedir(d);
  return found;
}

std::string in_process_or_pins(InodeKey key) {
  std::string path = in_processes(key);
  if (path.empty()) {
    const std::string fs = runtime_path("fs");
    if (!fs.empty()) path = in_tree(fs, key, 0);
  }
  return path;
}

// A holds directory's holder: "prog-<id>" or "map-<id>" (pin.cpp), else false.
bool holder_of(const char* name, Kind* kind, uint32_t* id) {
  if (std::strncmp(name, "prog-", 5) == 0) {
    *kind = Kind::Prog;
    *id = uint32_t(std::strtoul(name + 5, nullptr, 10));
    return true;
  }
  if (std::strncmp(name, "link-", 5) == 0) {
    *kind = Kind::Link;
    *id = uint32_t(std::strtoul(name + 5, nullptr, 10));
    return true;
  }
  if (std::strncmp(name, "map-", 4) == 0) {
    *kind = Kind::Map;
    *id = uint32_t(std::strtoul(name + 4, nullptr, 10));
    return true;
  }
  return false;
}

// An object a pinned program or map holds (pin.cpp's ids/holds/<kind>-<id>/: a program's maps
// and BTF, a map's BTF), while that holder lives.
std::string in_holds(InodeKey key) {
  const std::string holds = runtime_path("ids");
  if (holds.empty()) return {};
  DIR* d = opendir((holds + "/holds").c_str());
  if (!d) return {};
  std::string found;
  std::vector<std::pair<Kind, uint32_t>> dead;
  while (dirent* e = readdir(d)) {
    Kind kind;
    uint32_t id = 0;
    if (!holder_of(e->d_name, &kind, &id)) continue;
    std::string path = in_tree(holds + "/holds/" + e->d_name, key, 15);
    if (path.empty()) continue;
    auto hkey = inode_of_id(kind, id);
    if (Objects::get().by_id(kind, id) || (hkey && !in_process_or_pins(*hkey).empty())) {
      found = path;
      break;
    }
    dead.push_back({kind, id});
  }
  closedir(d);
  for (auto [kind, id] : dead) forget_id(kind, id);
  return found;
}

std::atomic<uint64_t> g_fd_walks{0};

}  // namespace

uint64_t fd_walks() {
  return g_fd_walks.load(std::memory_order_relaxed);
}
void count_fd_walk() {
  g_fd_walks.fetch_add(1, std::memory_order_relaxed);
}

bool map_has_users(int own_fd, InodeKey key) {
  if (has_user_fds(own_fd)) return true;
  const std::string fs = runtime_path("fs");
  return !fs.empty() && !in_tree(fs, key, 0).empty();
}

std::string find_object_file(InodeKey key) {
  std::string path = in_process_or_pins(key);
  if (path.empty()) path = in_holds(key);
  return path;
}

std::set<InodeKey> live_inodes() {
  std::set<InodeKey> live;
  each_open_file([&](const std::string&, InodeKey k) {
    live.insert(k);
    return false;
  });
  const std::string fs = runtime_path("fs");
  if (!fs.empty()) each_pinned_file(fs, 0, live);
  // The maps live programs hold by pin (pin.cpp); a dead program's holds go.
  const std::string holds = runtime_path("ids");
  std::vector<std::pair<Kind, uint32_t>> dead;
  if (DIR* d = holds.empty() ? nullptr : opendir((holds + "/holds").c_str())) {
    while (dirent* e = readdir(d)) {
      Kind kind;
      uint32_t id = 0;
      if (!holder_of(e->d_name, &kind, &id)) continue;
      auto hkey = inode_of_id(kind, id);
      if (Objects::get().by_id(kind, id) || (hkey && live.count(*hkey)))
        each_pinned_file(holds + "/holds/" + e->d_name, 15, live);
      else
        dead.push_back({kind, id});
    }
    closedir(d);
  }
  for (auto [kind, id] : dead) forget_id(kind, id);
  return live;
}

Result<int> open_by_id(Kind kind, uint32_t id, int flags) {
  if (auto obj = Objects::get().by_id(kind, id)) return Objects::get().new_fd(*obj, flags);
  const std::string none = std::string("no ") + kind_name(kind) + " with id " + std::to_string(id);
  auto key = inode_of_id(kind, id);
  if (!key) return Status(ENOENT, none);
  std::string path = find_object_file(*key);
  if (path.empty()) {
    forget_id(kind, id);
    return Status(ENOENT, none);
  }
  int fd = open(path.c_str(), (flags & O_ACCMODE) | O_CLOEXEC);
  if (fd < 0) return Status(ENOENT, none);
  return fd;
}

}  // namespace bpfbox::sys
