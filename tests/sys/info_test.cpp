// What the kernel tells about an object besides the commands' results: /proc/<pid>/fdinfo text
// (bpfbox_fdinfo, for the shim) and BPF_OBJ_GET_INFO_BY_FD's fields, each compared with the
// kernel's for the same object where bpf() is available.
#include <fcntl.h>

#include <cstdio>
#include <map>

#include "sys_test_util.hpp"

namespace bpfbox::systest {
namespace {

bpf_insn I(uint8_t code, uint8_t dst, uint8_t src, int16_t off, int32_t imm) {
  bpf_insn i{};
  i.code = code;
  i.dst_reg = dst & 0xf;
  i.src_reg = src & 0xf;
  i.off = off;
  i.imm = imm;
  return i;
}

std::vector<bpf_insn> ret_prog(int32_t ret) {
  return {I(BPF_ALU64 | BPF_MOV | BPF_K, 0, 0, 0, ret), I(BPF_JMP | BPF_EXIT, 0, 0, 0, 0)};
}

union bpf_attr load_attr(uint32_t type, const std::vector<bpf_insn>& insns, const char* name = "") {
  union bpf_attr a;
  std::memset(&a, 0, sizeof a);
  a.prog_type = type;
  a.insns = reinterpret_cast<uint64_t>(insns.data());
  a.insn_cnt = uint32_t(insns.size());
  a.license = reinterpret_cast<uint64_t>("GPL");
  std::strncpy(a.prog_name, name, sizeof a.prog_name - 1);
  return a;
}

// "key:\tvalue" lines into a map.
std::map<std::string, std::string> parse_fdinfo(const std::string& text) {
  std::map<std::string, std::string> out;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    if (nl == std::string::npos) nl = text.size();
    const std::string line = text.substr(pos, nl - pos);
    const size_t tab = line.find(":\t");
    if (tab != std::string::npos) out[line.substr(0, tab)] = line.substr(tab + 2);
    pos = nl + 1;
  }
  return out;
}

std::map<std::string, std::string> kernel_fdinfo(int fd) {
  char path[64];
  std::snprintf(path, sizeof path, "/proc/self/fdinfo/%d", fd);
  std::string text;
  if (FILE* f = std::fopen(path, "r")) {
    char buf[4096];
    size_t n = std::fread(buf, 1, sizeof buf, f);
    text.assign(buf, n);
    std::fclose(f);
  }
  return parse_fdinfo(text);
}

std::map<std::string, std::string> bpfbox_fdinfo_of(int fd) {
  char buf[4096];
  const int n = bpfbox_fdinfo(fd, buf, sizeof buf);
  EXPECT_GT(n, 0) << strerror(errno);
  EXPECT_LT(n, int(sizeof buf));
  return parse_fdinfo(n > 0 ? std::string(buf, size_t(n)) : std::string());
}

// Every line but those naming the object's identity or the kernel's memory accounting.
void expect_same_fdinfo(int kfd, int bfd) {
  auto k = kernel_fdinfo(kfd);
  auto b = bpfbox_fdinfo_of(bfd);
  for (const char* skip : {"mnt_id", "ino", "map_id", "prog_id", "link_id", "memlock"}) {
    EXPECT_EQ(k.count(skip), b.count(skip)) << skip;
    k.erase(skip);
    b.erase(skip);
  }
  EXPECT_EQ(b, k);
}

TEST(SysInfo, FdinfoMatchesKernel) {
  RuntimeDir rt;
  // Not an object, not open, and the snprintf contract on a short buffer.
  char small[8];
  EXPECT_EQ(bpfbox_fdinfo(-1, small, sizeof small), -1);
  EXPECT_EQ(errno, EBADF);
  const int plain = open("/proc/self/stat", O_RDONLY | O_CLOEXEC);
  ASSERT_GE(plain, 0);
  EXPECT_EQ(bpfbox_fdinfo(plain, small, sizeof small), -1);
  EXPECT_EQ(errno, EINVAL);
  close(plain);

  struct MapCase {
    uint32_t type, key, value, entries, flags;
  } cases[] = {{BPF_MAP_TYPE_HASH, 4, 8, 16, 0},
               {BPF_MAP_TYPE_ARRAY, 4, 8, 16, BPF_F_RDONLY},
               {BPF_MAP_TYPE_ARRAY, 4, 8, 16, BPF_F_WRONLY | BPF_F_RDONLY_PROG},
               {BPF_MAP_TYPE_BLOOM_FILTER, 0, 8, 16, 0}};
  for (const auto& c : cases) {
    SCOPED_TRACE(c.type);
    union bpf_attr a = map_attr(c.type, c.key, c.value, c.entries, c.flags);
    if (c.type == BPF_MAP_TYPE_BLOOM_FILTER) a.map_extra = 3;
    const long bfd = call(Impl::Bpfbox, BPF_MAP_CREATE, a);
    ASSERT_GE(bfd, 0) << bpfbox_bpf_last_error();
    const int n = bpfbox_fdinfo(int(bfd), small, sizeof small);
    EXPECT_GT(n, int(sizeof small));
    EXPECT_EQ(std::strlen(small), sizeof small - 1);
    auto b = bpfbox_fdinfo_of(int(bfd));
    EXPECT_EQ(b["pos"], "0");
    EXPECT_EQ(b["map_type"], std::to_string(c.type));
    if (kernel_available()) {
      const long kfd = call(Impl::Kernel, BPF_MAP_CREATE, a);
      ASSERT_GE(kfd, 0);
      expect_same_fdinfo(int(kfd), int(bfd));
      if (c.type == BPF_MAP_TYPE_ARRAY && !(c.flags & BPF_F_RDONLY)) {
        union bpf_attr f;
        std::memset(&f, 0, sizeof f);
        f.map_fd = uint32_t(kfd);
        ASSERT_EQ(call(Impl::Kernel, BPF_MAP_FREEZE, f), 0);
        f.map_fd = uint32_t(bfd);
        ASSERT_EQ(call(Impl::Bpfbox, BPF_MAP_FREEZE, f), 0);
        expect_same_fdinfo(int(kfd), int(bfd));
        EXPECT_EQ(bpfbox_fdinfo_of(int(bfd))["frozen"], "1");
      }
      close(int(kfd));
    }
    close(int(bfd));
  }

  const auto insns = ret_prog(2);
  union bpf_attr l = load_attr(BPF_PROG_TYPE_XDP, insns, "fdinfo");
  const long bp = call(Impl::Bpfbox, BPF_PROG_LOAD, l);
  ASSERT_GE(bp, 0) << bpfbox_bpf_last_error();
  auto b = bpfbox_fdinfo_of(int(bp));
  EXPECT_EQ(b["prog_type"], std::to_string(BPF_PROG_TYPE_XDP));
  EXPECT_EQ(b["prog_jited"], "1");  // the JIT is the default engine, as the kernel's
  EXPECT_EQ(b["verified_insns"], "2");
  if (kernel_available()) {
    const long kp = call(Impl::Kernel, BPF_PROG_LOAD, l);
    ASSERT_GE(kp, 0);
    expect_same_fdinfo(int(kp), int(bp));
    close(int(kp));
  }
  close(int(bp));
}

}  // namespace
}  // namespace bpfbox::systest
