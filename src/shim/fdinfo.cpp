#include "shim/fdinfo.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <iterator>

#include "bpfbox/bpf.h"
#include "shim/real.hpp"
#include "sys/objects.hpp"

namespace bpfbox::shim {
namespace {

constexpr uint64_t kPage = 4096;

uint64_t round_page(uint64_t n) {
  return (n + kPage - 1) / kPage * kPage;
}

template <class Info>
bool get_info(int fd, Info& info) {
  std::memset(&info, 0, sizeof info);
  union bpf_attr attr;
  std::memset(&attr, 0, sizeof attr);
  attr.info.bpf_fd = uint32_t(fd);
  attr.info.info_len = sizeof info;
  attr.info.info = uint64_t(uintptr_t(&info));
  return bpfbox_bpf(BPF_OBJ_GET_INFO_BY_FD, &attr, sizeof attr) == 0;
}

void add(std::string& s, const char* fmt, auto... args) {
  char line[128];
  std::snprintf(line, sizeof line, fmt, args...);
  s += line;
}

// pos, flags, mnt_id, ino as seq_show() writes them: flags are the file's f_flags in octal with
// O_CLOEXEC from the descriptor (a bpf fd's file has no O_LARGEFILE); mnt_id and ino are those of
// the file that carries the object (the kernel's are its anon inode's).
std::string generic_lines(int fd) {
  std::string s = "pos:\t0\n";
  const int fl = fcntl(fd, F_GETFL);
  const int fdfl = fcntl(fd, F_GETFD);
  add(s, "flags:\t0%o\n", unsigned((fl & O_ACCMODE) | (fdfl & FD_CLOEXEC ? O_CLOEXEC : 0)));
  int mnt_id = 0;
  using OpenFn = int (*)(const char*, int, ...);
  static OpenFn real_open = real<OpenFn>("open");
  using CloseFn = int (*)(int);
  static CloseFn real_close = real<CloseFn>("close");
  const int f =
      real_open(("/proc/self/fdinfo/" + std::to_string(fd)).c_str(), O_RDONLY | O_CLOEXEC);
  if (f >= 0) {
    char buf[512];
    const ssize_t n = read(f, buf, sizeof buf - 1);
    real_close(f);
    if (n > 0) {
      buf[n] = 0;
      if (const char* m = std::strstr(buf, "mnt_id:")) mnt_id = std::atoi(m + 7);
    }
  }
  struct stat st {};
  fstat(fd, &st);
  add(s, "mnt_id:\t%d\n", mnt_id);
  add(s, "ino:\t%lu\n", (unsigned long)st.st_ino);
  return s;
}

std::string tag_hex(const uint8_t (&tag)[BPF_TAG_SIZE]) {
  std::string s;
  for (uint8_t b : tag) add(s, "%02x", unsigned(b));
  return s;
}

// bpf_map_show_fdinfo. memlock: the kernel's is bpf_map_memory_usage(); bpfbox's is the map's
// storage file (the pages it occupies).
bool map_lines(int fd, std::string& s) {
  bpf_map_info info;
  if (!get_info(fd, info)) return false;
  auto obj = sys::Objects::get().by_fd(fd, sys::Kind::Map);
  bool frozen = false;
  uint64_t memlock = 0;
  if (obj && (*obj)->map) {
    frozen = (*obj)->map->frozen();
    struct stat st {};
    if (fstat((*obj)->map->memfd(), &st) == 0) memlock = round_page(uint64_t(st.st_size));
  }
  add(s, "map_type:\t%u\n", info.type);
  add(s, "key_size:\t%u\n", info.key_size);
  add(s, "value_size:\t%u\n", info.value_size);
  add(s, "max_entries:\t%u\n", info.max_entries);
  add(s, "map_flags:\t0x%x\n", info.map_flags);  // the kernel's %#x prints 0x0 too
  add(s, "map_extra:\t0x%" PRIx64 "\n", uint64_t(info.map_extra));
  add(s, "memlock:\t%" PRIu64 "\n", memlock);
  add(s, "map_id:\t%u\n", info.id);
  add(s, "frozen:\t%u\n", frozen ? 1u : 0u);
  return true;
}

// bpf_prog_show_fdinfo. memlock as the kernel's prog->pages: the program struct (its header, then
// the xlated instructions) rounded up to pages.
bool prog_lines(int fd, std::string& s) {
  bpf_prog_info info;
  if (!get_info(fd, info)) return false;
  constexpr uint64_t kProgHeader = 72;  // offsetof(struct bpf_prog, insns) on x86-64
  add(s, "prog_type:\t%u\n", info.type);
  add(s, "prog_jited:\t%u\n", info.jited_prog_len ? 1u : 0u);
  add(s, "prog_tag:\t%s\n", tag_hex(info.tag).c_str());
  add(s, "memlock:\t%" PRIu64 "\n", round_page(kProgHeader + info.xlated_prog_len));
  add(s, "prog_id:\t%u\n", info.id);
  add(s, "run_time_ns:\t%" PRIu64 "\n", uint64_t(info.run_time_ns));
  add(s, "run_cnt:\t%" PRIu64 "\n", uint64_t(info.run_cnt));
  add(s, "recursion_misses:\t%" PRIu64 "\n", uint64_t(info.recursion_misses));
  add(s, "verified_insns:\t%u\n", info.verified_insns);
  return true;
}

// bpf_btf_show_fdinfo.
bool btf_lines(int fd, std::string& s) {
  bpf_btf_info info;
  if (!get_info(fd, info)) return false;
  add(s, "btf_id:\t%u\n", info.id);
  return true;
}

// bpf_link_show_fdinfo: the type by the kernel's name (bpf_link_type_strs), then the program's
// tag and id.
const char* link_type_name(uint32_t type) {
  static const char* const kNames[] = {"unspec",       "raw_tracepoint", "tracing", "cgroup",
                                       "iter",         "netns",          "xdp",     "perf_event",
                                       "kprobe_multi", "struct_ops"};
  return type < std::size(kNames) ? kNames[type] : "unknown";
}

bool link_lines(int fd, std::string& s) {
  bpf_link_info info;
  if (!get_info(fd, info)) return false;
  add(s, "link_type:\t%s\n", link_type_name(info.type));
  add(s, "link_id:\t%u\n", info.id);
  if (!info.prog_id) return true;
  union bpf_attr attr;
  std::memset(&attr, 0, sizeof attr);
  attr.prog_id = info.prog_id;
  const int pfd = bpfbox_bpf(BPF_PROG_GET_FD_BY_ID, &attr, sizeof attr);
  bpf_prog_info prog;
  if (pfd >= 0 && get_info(pfd, prog)) add(s, "prog_tag:\t%s\n", tag_hex(prog.tag).c_str());
  if (pfd >= 0) close(pfd);
  add(s, "prog_id:\t%u\n", info.prog_id);
  return true;
}

}  // namespace

std::string fdinfo_text(int fd, FdKind kind) {
  InBpfbox in;
  std::string s = generic_lines(fd);
  bool ok = false;
  switch (kind) {
    case FdKind::Map:
      ok = map_lines(fd, s);
      break;
    case FdKind::Prog:
      ok = prog_lines(fd, s);
      break;
    case FdKind::Btf:
      ok = btf_lines(fd, s);
      break;
    case FdKind::Link:
      ok = link_lines(fd, s);
      break;
    case FdKind::None:
      break;
  }
  return ok ? s : std::string();
}

}  // namespace bpfbox::shim
