// The file calls libbpf and bpftool make around pinning, on paths under /sys/fs/bpf: statfs() (is
// the pin path on bpffs? BPF_FS_MAGIC, else bpftool tries to mount one), mkdir() of parent
// directories, unlink() to unpin, and the stat/access/rename/rmdir a tool may add. They act on the
// runtime dir's pin tree; every other path is libc's, untouched.
#include "shim/pin_tree.hpp"

#include <fcntl.h>
#include <linux/magic.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <climits>

#include "bpfbox/bpf.h"
#include "shim/real.hpp"

namespace bpfbox::shim {
namespace {

constexpr char kBpffs[] = "/sys/fs/bpf";

bool under(const std::string& p, const std::string& dir) {
  return p.compare(0, dir.size(), dir) == 0 && (p.size() == dir.size() || p[dir.size()] == '/');
}

std::string tree_root() {
  InBpfbox in;  // resolving the runtime dir may mkdir() it
  return std::string(bpfbox_runtime_dir()) + "/fs";
}

// The path the call acts on: the tree's for /sys/fs/bpf paths, else the caller's.
struct Mapped {
  std::string tree;
  const char* orig;
  Mapped(const char* path, bool tree_too = false)
      : tree(pin_tree_path(path, tree_too)), orig(path) {}
  const char* c_str() const { return tree.empty() ? orig : tree.c_str(); }
  bool in_tree() const { return !tree.empty(); }
};

}  // namespace

// The runtime dir is only asked for these paths: bpfbox's own mkdir() calls while it resolves the
// runtime dir (under its lock) never name /sys/fs/bpf, and come with the guard set anyway.
std::string pin_tree_path(const char* path, bool tree_too) {
  if (!path || inside_bpfbox()) return {};
  const std::string p = path;
  const bool bpffs = under(p, kBpffs);
  if (!bpffs && !tree_too) return {};
  if (!bpffs && p.compare(0, 1, "/") != 0) return {};
  const std::string tree = tree_root();
  if (bpffs) return tree + p.substr(sizeof kBpffs - 1);
  return under(p, tree) ? p : std::string();
}

bool fd_in_pin_tree(int fd) {
  if (fd < 0 || inside_bpfbox()) return false;
  InBpfbox in;  // readlinkat() is interposed too
  char buf[PATH_MAX];
  const ssize_t n =
      readlinkat(AT_FDCWD, ("/proc/self/fd/" + std::to_string(fd)).c_str(), buf, sizeof buf - 1);
  if (n <= 0) return false;
  return under(std::string(buf, size_t(n)), tree_root());
}

}  // namespace bpfbox::shim

using bpfbox::shim::Mapped;
using bpfbox::shim::real;

#define BPFBOX_SHIM extern "C" __attribute__((visibility("default")))

BPFBOX_SHIM int statfs64(const char* path, struct statfs64* buf) {
  using Fn = int (*)(const char*, struct statfs64*);
  static Fn fn = real<Fn>("statfs64");
  const Mapped m(path, true);
  const int r = fn(m.c_str(), buf);
  if (r == 0 && m.in_tree()) buf->f_type = BPF_FS_MAGIC;
  return r;
}

BPFBOX_SHIM int statfs(const char* path, struct statfs* buf) {
  return statfs64(path, reinterpret_cast<struct statfs64*>(buf));  // one layout on x86-64
}

BPFBOX_SHIM int fstatfs64(int fd, struct statfs64* buf) {
  using Fn = int (*)(int, struct statfs64*);
  static Fn fn = real<Fn>("fstatfs64");
  const int r = fn(fd, buf);
  if (r == 0 && bpfbox::shim::fd_in_pin_tree(fd)) buf->f_type = BPF_FS_MAGIC;
  return r;
}

BPFBOX_SHIM int fstatfs(int fd, struct statfs* buf) {
  return fstatfs64(fd, reinterpret_cast<struct statfs64*>(buf));
}

BPFBOX_SHIM int mkdir(const char* path, mode_t mode) {
  using Fn = int (*)(const char*, mode_t);
  static Fn fn = real<Fn>("mkdir");
  return fn(Mapped(path).c_str(), mode);
}

BPFBOX_SHIM int rmdir(const char* path) {
  using Fn = int (*)(const char*);
  static Fn fn = real<Fn>("rmdir");
  return fn(Mapped(path).c_str());
}

BPFBOX_SHIM int unlink(const char* path) {
  using Fn = int (*)(const char*);
  static Fn fn = real<Fn>("unlink");
  return fn(Mapped(path).c_str());
}

BPFBOX_SHIM int rename(const char* from, const char* to) {
  using Fn = int (*)(const char*, const char*);
  static Fn fn = real<Fn>("rename");
  return fn(Mapped(from).c_str(), Mapped(to).c_str());
}

BPFBOX_SHIM int access(const char* path, int mode) {
  using Fn = int (*)(const char*, int);
  static Fn fn = real<Fn>("access");
  return fn(Mapped(path).c_str(), mode);
}

// struct stat and struct stat64 are one layout on x86-64; glibc (2.33 on) exports stat/lstat
// themselves.
BPFBOX_SHIM int stat(const char* path, struct stat* buf) {
  using Fn = int (*)(const char*, struct stat*);
  static Fn fn = real<Fn>("stat");
  return fn(Mapped(path).c_str(), buf);
}

BPFBOX_SHIM int stat64(const char* path, struct stat64* buf) {
  using Fn = int (*)(const char*, struct stat64*);
  static Fn fn = real<Fn>("stat64");
  return fn(Mapped(path).c_str(), buf);
}

BPFBOX_SHIM int lstat(const char* path, struct stat* buf) {
  using Fn = int (*)(const char*, struct stat*);
  static Fn fn = real<Fn>("lstat");
  return fn(Mapped(path).c_str(), buf);
}

BPFBOX_SHIM int lstat64(const char* path, struct stat64* buf) {
  using Fn = int (*)(const char*, struct stat64*);
  static Fn fn = real<Fn>("lstat64");
  return fn(Mapped(path).c_str(), buf);
}
