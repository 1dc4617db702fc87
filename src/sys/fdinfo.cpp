// bpfbox_fdinfo(): the text the kernel shows in /proc/<pid>/fdinfo/<fd> for a bpf object's fd —
// fs/proc/fd.c's lines (pos, flags, mnt_id, ino) then the object's show_fdinfo
// (bpf_map_show_fdinfo, bpf_prog_show_fdinfo, bpf_link_show_fdinfo), for the LD_PRELOAD shim.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdarg>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "bpfbox/bpf.h"
#include "sys/link.hpp"
#include "sys/objects.hpp"

namespace bpfbox::sys {

namespace {

// The mnt_id line of the fd's real fdinfo (the mount of the runtime dir).
int mnt_id_of(int fd) {
  char path[64];
  std::snprintf(path, sizeof path, "/proc/self/fdinfo/%d", fd);
  FILE* f = std::fopen(path, "re");
  if (!f) return 0;
  char line[256];
  int id = 0;
  while (std::fgets(line, sizeof line, f))
    if (std::sscanf(line, "mnt_id:\t%d", &id) == 1) break;
  std::fclose(f);
  return id;
}

void appendf(std::string& s, const char* fmt, ...) __attribute__((format(printf, 2, 3)));
void appendf(std::string& s, const char* fmt, ...) {
  char buf[256];
  va_list ap;
  va_start(ap, fmt);
  const int n = std::vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  if (n > 0) s.append(buf, std::min<size_t>(size_t(n), sizeof buf - 1));
}

std::string hex_tag(const uint8_t* tag) {
  std::string s;
  for (int i = 0; i < BPF_TAG_SIZE; i++) appendf(s, "%02x", tag[i]);
  return s;
}

// The running kernel's memlock line: bpf_map_memory_usage(), each type's map_mem_usage (6.4 and
// later), for the array and hash families with the struct sizes of 6.18 on x86-64 (measured from
// the kernel's own fdinfo: struct bpf_array 312 bytes, struct bpf_htab 832, struct bucket 16,
// struct htab_elem 48 before its key, HASHTAB_MAP_LOCK_COUNT ints per possible CPU). Other
// types keep 6.1's bpf_map_memory_footprint (bpfbox does not model their kernel structures).
constexpr uint64_t kBpfArraySize = 312, kBpfHtabSize = 832, kBucketSize = 16, kHtabElemSize = 48,
                   kHtabLockCount = 8, kPtr = 8, kPage = 4096;

uint64_t round_up(uint64_t v, uint64_t a) {
  return (v + a - 1) / a * a;
}

// The elements a hash map holds now (its count, for maps without preallocation).
uint64_t element_count(maps::Map& m) {
  std::vector<uint8_t> key(m.key_size()), next(m.key_size());
  uint64_t n = 0;
  bool first = true;
  while (n <= m.max_entries() && m.get_next_key(first ? nullptr : key.data(), next.data())) {
    key.swap(next);
    first = false;
    ++n;
  }
  return n;
}

uint64_t map_memlock(maps::Map& m) {
  const uint64_t ncpu = maps::nr_possible_cpus(), entries = m.max_entries();
  const uint64_t vsize = round_up(m.value_size(), 8), ksize = round_up(m.key_size(), 8);
  switch (m.type()) {
    case BPF_MAP_TYPE_ARRAY:
    case BPF_MAP_TYPE_PERCPU_ARRAY:
    case BPF_MAP_TYPE_PROG_ARRAY:
    case BPF_MAP_TYPE_PERF_EVENT_ARRAY:
    case BPF_MAP_TYPE_CGROUP_ARRAY:
    case BPF_MAP_TYPE_ARRAY_OF_MAPS:  // array_map_mem_usage
      if (m.type() == BPF_MAP_TYPE_PERCPU_ARRAY)
        return kBpfArraySize + entries * kPtr + entries * vsize * ncpu;
      if (m.map_flags() & BPF_F_MMAPABLE)
        return round_up(kBpfArraySize, kPage) + round_up(entries * vsize, kPage);
      return kBpfArraySize + entries * vsize;
    case BPF_MAP_TYPE_HASH:
    case BPF_MAP_TYPE_PERCPU_HASH:
    case BPF_MAP_TYPE_LRU_HASH:
    case BPF_MAP_TYPE_LRU_PERCPU_HASH:
    case BPF_MAP_TYPE_HASH_OF_MAPS: {  // htab_map_mem_usage
      const bool percpu =
          m.type() == BPF_MAP_TYPE_PERCPU_HASH || m.type() == BPF_MAP_TYPE_LRU_PERCPU_HASH;
      const bool lru =
          m.type() == BPF_MAP_TYPE_LRU_HASH || m.type() == BPF_MAP_TYPE_LRU_PERCPU_HASH;
      const uint64_t elem = kHtabElemSize + ksize + (percpu ? kPtr : vsize);
      uint64_t n_buckets = 1;
      while (n_buckets < entries) n_buckets <<= 1;
      uint64_t usage = kBpfHtabSize + kBucketSize * n_buckets + 4 * ncpu * kHtabLockCount;
      if (!(m.map_flags() & BPF_F_NO_PREALLOC)) {
        const uint64_t n = entries + (!percpu && !lru ? ncpu : 0);  // htab_has_extra_elems
        usage += elem * n;
        if (percpu)
          usage += vsize * ncpu * n;
        else if (!lru)
          usage += kPtr * ncpu;  // the per-CPU extra element pointers
      } else {
        const uint64_t n = element_count(m);
        usage += (elem + kPtr) * n;  // each element's llist_node
        if (percpu) usage += (kPtr + kPtr) * n + vsize * ncpu * n;
      }
      return usage;
    }
    default: {  // 6.1's bpf_map_memory_footprint
      const uint64_t elem = round_up(uint64_t(m.key_size()) + m.value_size(), 8);
      return round_up(entries * elem, kPage);
    }
  }
}

}  // namespace

Result<std::string> fdinfo_text(int fd) {
  struct stat st {};
  if (fd < 0 || fstat(fd, &st) != 0) return Status(EBADF, "fd is not open");
  std::string s;
  // fs/proc/fd.c: f_flags with O_CLOEXEC from the fd table; regular files' O_LARGEFILE is not
  // an anon inode's. The kernel's %#x prints 0 as "0x0", hence "0x%x" below.
  const int fl = fcntl(fd, F_GETFL);
  const int fdfl = fcntl(fd, F_GETFD);
  constexpr unsigned kLargefile = 0100000;  // the kernel's __O_LARGEFILE (glibc's O_LARGEFILE is 0)
  unsigned flags = unsigned(fl) & ~kLargefile;
  if (fdfl >= 0 && (fdfl & FD_CLOEXEC)) flags |= O_CLOEXEC;
  appendf(s, "pos:\t0\nflags:\t0%o\nmnt_id:\t%d\nino:\t%lu\n", flags, mnt_id_of(fd),
          (unsigned long)st.st_ino);
  if (auto m = Objects::get().by_fd(fd, Kind::Map); m) {
    std::shared_ptr<maps::Map> map = (*m)->map ? (*m)->map : (*m)->map_weak.lock();
    if (!map) return Status(EBADF, "the map is gone");
    appendf(s,
            "map_type:\t%u\nkey_size:\t%u\nvalue_size:\t%u\nmax_entries:\t%u\nmap_flags:\t0x%x\n"
            "map_extra:\t0x%" PRIx64 "\nmemlock:\t%" PRIu64 "\nmap_id:\t%u\nfrozen:\t%u\n",
            map->type(), map->key_size(), map->value_size(), map->max_entries(),
            map->map_flags() & ~uint32_t(BPF_F_RDONLY | BPF_F_WRONLY), uint64_t(map->map_extra()),
            map_memlock(*map), (*m)->id, map->frozen() ? 1u : 0u);
    if (auto owner = map->prog_array_owner())  // once a program bound the array
      appendf(s, "owner_prog_type:\t%u\nowner_jited:\t%u\n", owner->prog_type,
              owner->jited ? 1u : 0u);
    return s;
  }
  if (auto p = Objects::get().by_fd(fd, Kind::Prog); p) {
    const Prog& prog = *(*p)->prog;
    const uint64_t memlock = (prog.xlated.size() * sizeof(bpf_insn) + 72 + 4095) / 4096 * 4096;
    appendf(s,
            "prog_type:\t%u\nprog_jited:\t%u\nprog_tag:\t%s\nmemlock:\t%" PRIu64
            "\nprog_id:\t%u\nrun_time_ns:\t%" PRIu64 "\nrun_cnt:\t%" PRIu64
            "\nrecursion_misses:\t0\nverified_insns:\t%u\n",
            prog.type, prog_jited(prog) ? 1u : 0u, hex_tag(prog.tag).c_str(), memlock, (*p)->id,
            prog.run_time_ns.load(), prog.run_cnt.load(), prog.verified_insns);
    return s;
  }
  if (auto l = Objects::get().by_fd(fd, Kind::Link); l) {
    if (Status ls = link_fdinfo(*(*l)->link, (*l)->id, s); !ls) return ls;
    return s;
  }
  if (auto b = Objects::get().by_fd(fd, Kind::Btf); b) {  // bpf_btf_show_fdinfo
    appendf(s, "btf_id:\t%u\n", (*b)->id);
    return s;
  }
  return Status(EINVAL, "fd is not a bpf object");
}

}  // namespace bpfbox::sys

extern "C" int bpfbox_fdinfo(int fd, char* buf, size_t len) {
  auto text = bpfbox::sys::fdinfo_text(fd);
  if (!text) {
    errno = text.status().err();
    return -1;
  }
  if (len) {
    const size_t n = std::min(len - 1, text->size());
    std::memcpy(buf, text->data(), n);
    buf[n] = 0;
  }
  return int(text->size());
}
