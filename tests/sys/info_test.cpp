// What the kernel tells about an object besides the commands' results: /proc/<pid>/fdinfo text
// (bpfbox_fdinfo, for the shim) and BPF_OBJ_GET_INFO_BY_FD's fields, each compared with the
// kernel's for the same object where bpf() is available.
#include <bpf/btf.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/utsname.h>

#include <cstdio>
#include <map>

#include "sys_test_util.hpp"

namespace bpfbox::systest {
namespace {

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
  for (const char* skip : {"mnt_id", "ino", "map_id", "prog_id", "link_id", "btf_id", "memlock"}) {
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

// A PROG_ARRAY's fdinfo gains owner_prog_type and owner_jited once a program using it loads;
// then a program of another type can neither use it nor be stored in it (bpf_check_tail_call,
// bpf_prog_map_compatible). Each step's fdinfo and errno as the kernel's.
TEST(SysInfo, ProgArrayOwnerInFdinfo) {
  RuntimeDir rt;
  for_each_impl([&](Impl impl) {
    union bpf_attr c = map_attr(BPF_MAP_TYPE_PROG_ARRAY, 4, 4, 2);
    const long pa = call(impl, BPF_MAP_CREATE, c);
    ASSERT_GE(pa, 0);
    auto fdinfo = [&] {
      return impl == Impl::Kernel ? kernel_fdinfo(int(pa)) : bpfbox_fdinfo_of(int(pa));
    };
    EXPECT_EQ(fdinfo().count("owner_prog_type"), 0u);
    std::vector<bpf_insn> tail;  // bpf_tail_call(ctx, pa, 0); return 0
    put_ld_map_fd(tail, 2, int(pa));
    tail.push_back(I(BPF_ALU64 | BPF_MOV | BPF_K, 3, 0, 0, 0));
    tail.push_back(I(BPF_JMP | BPF_CALL, 0, 0, 0, BPF_FUNC_tail_call));
    for (const bpf_insn& i : ret_prog(0)) tail.push_back(i);
    const long sf = load_prog(impl, BPF_PROG_TYPE_SOCKET_FILTER, tail);
    ASSERT_GE(sf, 0) << bpfbox_bpf_last_error();
    auto f = fdinfo();
    EXPECT_EQ(f["owner_prog_type"], std::to_string(BPF_PROG_TYPE_SOCKET_FILTER));
    EXPECT_EQ(f["owner_jited"], "1");
    EXPECT_EQ(load_prog(impl, BPF_PROG_TYPE_XDP, tail), -EINVAL);
    const long xdp = load_prog(impl, BPF_PROG_TYPE_XDP, ret_prog(1));
    const long sf2 = load_prog(impl, BPF_PROG_TYPE_SOCKET_FILTER, ret_prog(1));
    ASSERT_GE(xdp, 0);
    ASSERT_GE(sf2, 0);
    uint32_t key = 0, value = uint32_t(xdp);
    union bpf_attr u = elem_attr(int(pa), &key, &value);
    EXPECT_EQ(call(impl, BPF_MAP_UPDATE_ELEM, u), -EINVAL);
    value = uint32_t(sf2);
    EXPECT_EQ(call(impl, BPF_MAP_UPDATE_ELEM, u), 0);
    EXPECT_EQ(fdinfo(), f);
    for (long fd : {sf2, xdp, sf, pa}) close(int(fd));
  });
}

// A BTF blob: int, u32, a function prototype `int (void)`, functions "main" and "sub", a struct of
// 8 bytes, and the strings line info names.
struct TestBtf {
  std::vector<uint8_t> blob;
  uint32_t int_id = 0, u32_id = 0, u64_id = 0, main_id = 0, sub_id = 0, struct_id = 0, dead_id = 0;
  uint32_t file_off = 0, line_off = 0;
};

TestBtf make_test_btf() {
  TestBtf t;
  struct btf* b = btf__new_empty();
  t.int_id = uint32_t(btf__add_int(b, "int", 4, BTF_INT_SIGNED));
  t.u32_id = uint32_t(btf__add_int(b, "unsigned int", 4, 0));
  t.u64_id = uint32_t(btf__add_int(b, "long long unsigned int", 8, 0));
  const int proto = btf__add_func_proto(b, int(t.int_id));
  t.main_id = uint32_t(btf__add_func(b, "main_fn", BTF_FUNC_GLOBAL, proto));
  t.sub_id = uint32_t(btf__add_func(b, "sub_fn", BTF_FUNC_STATIC, proto));
  t.struct_id = uint32_t(btf__add_struct(b, "pair", 8));
  btf__add_field(b, "a", int(t.u32_id), 0, 0);
  btf__add_field(b, "b", int(t.u32_id), 32, 0);
  t.dead_id = uint32_t(btf__add_func(b, "dead_fn", BTF_FUNC_STATIC, proto));
  t.file_off = uint32_t(btf__add_str(b, "prog.c"));
  t.line_off = uint32_t(btf__add_str(b, "return sub_fn() + 1;"));
  uint32_t size = 0;
  const void* raw = btf__raw_data(b, &size);
  t.blob.assign(static_cast<const uint8_t*>(raw), static_cast<const uint8_t*>(raw) + size);
  btf__free(b);
  return t;
}

long load_btf(Impl impl, const TestBtf& t) {
  union bpf_attr a;
  std::memset(&a, 0, sizeof a);
  a.btf = reinterpret_cast<uint64_t>(t.blob.data());
  a.btf_size = uint32_t(t.blob.size());
  return call(impl, BPF_BTF_LOAD, a);
}

// memlock as the running kernel computes it (each type's map_mem_usage) for the array and hash
// families, whose struct sizes bpfbox takes from 6.18: compared on 6.18 only. A BTF fd's fdinfo
// has its btf_id.
TEST(SysInfo, FdinfoMemlockAndBtfIdMatchKernel) {
  RuntimeDir rt;
  struct utsname u {};
  uname(&u);
  const bool same_kernel = std::strncmp(u.release, "6.18.", 5) == 0 && kernel_available();
  struct MapCase {
    uint32_t type, key, value, entries, flags, elems;
  } cases[] = {{BPF_MAP_TYPE_ARRAY, 4, 12, 100, 0, 0},
               {BPF_MAP_TYPE_ARRAY, 4, 8, 1000, BPF_F_MMAPABLE, 0},
               {BPF_MAP_TYPE_PERCPU_ARRAY, 4, 20, 30, 0, 0},
               {BPF_MAP_TYPE_PROG_ARRAY, 4, 4, 7, 0, 0},
               {BPF_MAP_TYPE_PERF_EVENT_ARRAY, 4, 4, 2, 0, 0},
               {BPF_MAP_TYPE_HASH, 12, 20, 100, 0, 0},
               {BPF_MAP_TYPE_HASH, 4, 8, 64, BPF_F_NO_PREALLOC, 5},
               {BPF_MAP_TYPE_PERCPU_HASH, 4, 8, 33, 0, 0},
               {BPF_MAP_TYPE_PERCPU_HASH, 4, 8, 33, BPF_F_NO_PREALLOC, 3},
               {BPF_MAP_TYPE_LRU_HASH, 8, 16, 50, 0, 0},
               {BPF_MAP_TYPE_LRU_PERCPU_HASH, 4, 4, 40, 0, 0}};
  for (const auto& c : cases) {
    SCOPED_TRACE(std::to_string(c.type) + " flags " + std::to_string(c.flags));
    std::string memlock[2];
    for (Impl impl : {Impl::Bpfbox, Impl::Kernel}) {
      if (impl == Impl::Kernel && !same_kernel) continue;
      union bpf_attr a = map_attr(c.type, c.key, c.value, c.entries, c.flags);
      const long fd = call(impl, BPF_MAP_CREATE, a);
      ASSERT_GE(fd, 0) << bpfbox_bpf_last_error();
      std::vector<uint8_t> key(c.key), value(c.value * 64);  // room for per-CPU values
      for (uint32_t i = 0; i < c.elems; i++) {
        key[0] = uint8_t(i);
        union bpf_attr e = elem_attr(int(fd), key.data(), value.data());
        ASSERT_EQ(call(impl, BPF_MAP_UPDATE_ELEM, e), 0);
      }
      memlock[int(impl)] =
          (impl == Impl::Kernel ? kernel_fdinfo(int(fd)) : bpfbox_fdinfo_of(int(fd)))["memlock"];
      close(int(fd));
    }
    EXPECT_FALSE(memlock[0].empty());
    if (same_kernel) {
      EXPECT_EQ(memlock[0], memlock[1]);
    }
  }
  const TestBtf t = make_test_btf();
  const long bfd = load_btf(Impl::Bpfbox, t);
  ASSERT_GE(bfd, 0) << bpfbox_bpf_last_error();
  bpf_btf_info info{};
  ASSERT_EQ(get_info(Impl::Bpfbox, int(bfd), &info, sizeof info), 0);
  EXPECT_EQ(bpfbox_fdinfo_of(int(bfd))["btf_id"], std::to_string(info.id));
  if (kernel_available()) {
    const long kfd = load_btf(Impl::Kernel, t);
    ASSERT_GE(kfd, 0);
    expect_same_fdinfo(int(kfd), int(bfd));
    close(int(kfd));
  }
  close(int(bfd));
}

// main calls sub (a bpf-to-bpf call) and adds one: two functions, each with its BTF and a line.
struct BtfProg {
  std::vector<bpf_insn> insns = {
      I(BPF_JMP | BPF_CALL, 0, BPF_PSEUDO_CALL, 0, 2),
      I(BPF_ALU64 | BPF_ADD | BPF_K, 0, 0, 0, 1),
      I(BPF_JMP | BPF_EXIT, 0, 0, 0, 0),
      I(BPF_ALU64 | BPF_MOV | BPF_K, 0, 0, 0, 1),
      I(BPF_JMP | BPF_EXIT, 0, 0, 0, 0),
  };
  bpf_func_info funcs[2];
  bpf_line_info lines[3];
  BtfProg(const TestBtf& t) {
    funcs[0] = {0, t.main_id};
    funcs[1] = {3, t.sub_id};
    lines[0] = {0, t.file_off, t.line_off, (7 << 10) | 3};
    lines[1] = {1, t.file_off, t.line_off, (7 << 10) | 9};
    lines[2] = {3, t.file_off, t.line_off, (2 << 10) | 1};
  }
  union bpf_attr attr(int btf_fd) {
    union bpf_attr a = load_attr(BPF_PROG_TYPE_XDP, insns, "btf_prog");
    a.prog_btf_fd = uint32_t(btf_fd);
    a.func_info = reinterpret_cast<uint64_t>(funcs);
    a.func_info_cnt = 2;
    a.func_info_rec_size = sizeof(bpf_func_info);
    a.line_info = reinterpret_cast<uint64_t>(lines);
    a.line_info_cnt = 3;
    a.line_info_rec_size = sizeof(bpf_line_info);
    return a;
  }
};

// What bpf_prog_info says of a program's functions, lines and code.
struct ProgView {
  bpf_prog_info info{};
  std::vector<bpf_func_info> funcs;
  std::vector<bpf_line_info> lines;
  std::vector<uint64_t> ksyms, jited_lines;
  std::vector<uint32_t> func_lens;
  std::vector<uint8_t> image;
};

ProgView view(Impl impl, int fd) {
  ProgView v;
  EXPECT_EQ(get_info(impl, fd, &v.info, sizeof v.info), 0) << bpfbox_bpf_last_error();
  const bpf_prog_info first = v.info;
  v.funcs.resize(first.nr_func_info);
  v.lines.resize(first.nr_line_info);
  v.ksyms.resize(first.nr_jited_ksyms);
  v.func_lens.resize(first.nr_jited_func_lens);
  v.jited_lines.resize(first.nr_jited_line_info);
  v.image.resize(first.jited_prog_len);
  std::memset(&v.info, 0, sizeof v.info);
  v.info.nr_func_info = first.nr_func_info;
  v.info.func_info_rec_size = sizeof(bpf_func_info);
  v.info.func_info = reinterpret_cast<uint64_t>(v.funcs.data());
  v.info.nr_line_info = first.nr_line_info;
  v.info.line_info_rec_size = sizeof(bpf_line_info);
  v.info.line_info = reinterpret_cast<uint64_t>(v.lines.data());
  v.info.nr_jited_ksyms = first.nr_jited_ksyms;
  v.info.jited_ksyms = reinterpret_cast<uint64_t>(v.ksyms.data());
  v.info.nr_jited_func_lens = first.nr_jited_func_lens;
  v.info.jited_func_lens = reinterpret_cast<uint64_t>(v.func_lens.data());
  v.info.nr_jited_line_info = first.nr_jited_line_info;
  v.info.jited_line_info_rec_size = 8;
  v.info.jited_line_info = reinterpret_cast<uint64_t>(v.jited_lines.data());
  v.info.jited_prog_len = first.jited_prog_len;
  v.info.jited_prog_insns = reinterpret_cast<uint64_t>(v.image.data());
  EXPECT_EQ(get_info(impl, fd, &v.info, sizeof v.info), 0) << bpfbox_bpf_last_error();
  return v;
}

TEST(SysInfo, ProgBtfAndJitedInfoMatchKernel) {
  RuntimeDir rt;
  const TestBtf t = make_test_btf();
  for_each_impl([&](Impl impl) {
    const long btf_fd = load_btf(impl, t);
    ASSERT_GE(btf_fd, 0) << bpfbox_bpf_last_error();
    BtfProg p(t);
    // The verifier's record checks, with its errno: a bad rec size, a record past the program.
    union bpf_attr bad = p.attr(int(btf_fd));
    bad.func_info_rec_size = 6;
    EXPECT_EQ(call(impl, BPF_PROG_LOAD, bad), -EINVAL);
    bad = p.attr(int(btf_fd));
    bad.line_info_rec_size = 260;
    EXPECT_EQ(call(impl, BPF_PROG_LOAD, bad), -EINVAL);
    bad = p.attr(int(btf_fd));
    bad.func_info_cnt = 1;  // the subprogram has no func_info
    EXPECT_EQ(call(impl, BPF_PROG_LOAD, bad), -EINVAL);
    bad = p.attr(-1);
    EXPECT_EQ(call(impl, BPF_PROG_LOAD, bad), -EBADF);

    union bpf_attr a = p.attr(int(btf_fd));
    const long fd = call(impl, BPF_PROG_LOAD, a);
    ASSERT_GE(fd, 0) << bpfbox_bpf_last_error();
    const ProgView v = view(impl, int(fd));
    // The BTF is the one loaded, found by its id.
    bpf_btf_info bi{};
    ASSERT_EQ(get_info(impl, int(btf_fd), &bi, sizeof bi), 0);
    EXPECT_EQ(v.info.btf_id, bi.id);
    EXPECT_EQ(bi.btf_size, t.blob.size());
    // Records as the kernel keeps them: its record sizes, offsets in the xlated program.
    EXPECT_EQ(v.info.func_info_rec_size, sizeof(bpf_func_info));
    EXPECT_EQ(v.info.line_info_rec_size, sizeof(bpf_line_info));
    EXPECT_EQ(v.info.jited_line_info_rec_size, 8u);
    ASSERT_EQ(v.funcs.size(), 2u);
    EXPECT_EQ(v.funcs[0].insn_off, 0u);
    EXPECT_EQ(v.funcs[1].insn_off, 3u);
    EXPECT_EQ(v.funcs[1].type_id, t.sub_id);
    ASSERT_EQ(v.lines.size(), 3u);
    for (size_t i = 0; i < 3; i++) {
      EXPECT_EQ(v.lines[i].insn_off, p.lines[i].insn_off) << i;
      EXPECT_EQ(v.lines[i].line_col, p.lines[i].line_col) << i;
      EXPECT_EQ(v.lines[i].file_name_off, t.file_off) << i;
    }
    // JIT: one symbol and length per function, lengths adding up to the image, each line's
    // address inside its function.
    ASSERT_EQ(v.ksyms.size(), 2u);
    ASSERT_EQ(v.func_lens.size(), 2u);
    EXPECT_GT(v.info.jited_prog_len, 0u);
    EXPECT_EQ(uint64_t(v.func_lens[0]) + v.func_lens[1], v.info.jited_prog_len);
    ASSERT_EQ(v.jited_lines.size(), 3u);
    EXPECT_EQ(v.jited_lines[0], v.ksyms[0]);
    EXPECT_GT(v.jited_lines[1], v.ksyms[0]);
    EXPECT_LT(v.jited_lines[1], v.ksyms[0] + v.func_lens[0]);
    EXPECT_EQ(v.jited_lines[2], v.ksyms[1]);
    EXPECT_EQ(v.info.nr_prog_tags, 2u);
    // set_info_rec_size: a record size that is not the kernel's is EINVAL.
    bpf_prog_info wrong{};
    wrong.nr_func_info = 1;
    wrong.func_info_rec_size = 16;
    EXPECT_EQ(get_info(impl, int(fd), &wrong, sizeof wrong), -EINVAL);
    // A run gives the same result as the kernel's: sub returns 1, main adds 1.
    EXPECT_EQ(test_run(impl, fd), 2) << bpfbox_bpf_last_error();
    close(int(fd));
    close(int(btf_fd));
  });
}

// A static function that only a dead branch calls goes with its func_info record, as in the
// kernel's adjust_subprog_starts_after_remove: the records left are the surviving functions', each
// at its xlated start.
TEST(SysInfo, ADeadStaticFunctionLosesItsFuncInfo) {
  RuntimeDir rt;
  const TestBtf t = make_test_btf();
  const std::vector<bpf_insn> insns = {
      I(BPF_ALU64 | BPF_MOV | BPF_K, 1, 0, 0, 0),       // 0: r1 = 0
      I(BPF_JMP | BPF_JEQ | BPF_K, 1, 0, 1, 0),         // 1: if r1 == 0 goto 3 (always)
      I(BPF_JMP | BPF_CALL, 0, BPF_PSEUDO_CALL, 0, 2),  // 2: call dead_fn (never)
      I(BPF_JMP | BPF_CALL, 0, BPF_PSEUDO_CALL, 0, 3),  // 3: call sub_fn
      I(BPF_JMP | BPF_EXIT, 0, 0, 0, 0),
      I(BPF_ALU64 | BPF_MOV | BPF_K, 0, 0, 0, 5),  // 5: dead_fn
      I(BPF_JMP | BPF_EXIT, 0, 0, 0, 0),
      I(BPF_ALU64 | BPF_MOV | BPF_K, 0, 0, 0, 1),  // 7: sub_fn
      I(BPF_JMP | BPF_EXIT, 0, 0, 0, 0),
  };
  bpf_func_info funcs[3] = {{0, t.main_id}, {5, t.dead_id}, {7, t.sub_id}};
  for_each_impl([&](Impl impl) {
    const long btf_fd = load_btf(impl, t);
    ASSERT_GE(btf_fd, 0) << bpfbox_bpf_last_error();
    union bpf_attr a = load_attr(BPF_PROG_TYPE_XDP, insns, "dead_fn_prog");
    a.prog_btf_fd = uint32_t(btf_fd);
    a.func_info = reinterpret_cast<uint64_t>(funcs);
    a.func_info_cnt = 3;
    a.func_info_rec_size = sizeof(bpf_func_info);
    const long fd = call(impl, BPF_PROG_LOAD, a);
    ASSERT_GE(fd, 0) << bpfbox_bpf_last_error();
    const ProgView v = view(impl, int(fd));
    ASSERT_EQ(v.funcs.size(), 2u);
    EXPECT_EQ(v.funcs[0].insn_off, 0u);
    EXPECT_EQ(v.funcs[0].type_id, t.main_id);
    EXPECT_EQ(v.funcs[1].type_id, t.sub_id);
    EXPECT_EQ(v.funcs[1].insn_off, v.info.xlated_prog_len / sizeof(bpf_insn) - 2);
    EXPECT_EQ(v.ksyms.size(), 2u);
    EXPECT_EQ(test_run(impl, fd), 1) << bpfbox_bpf_last_error();
    close(int(fd));
    close(int(btf_fd));
  });
}

TEST(SysInfo, MapBtfIdsAndChecksMatchKernel) {
  RuntimeDir rt;
  const TestBtf t = make_test_btf();
  for_each_impl([&](Impl impl) {
    const long btf_fd = load_btf(impl, t);
    ASSERT_GE(btf_fd, 0) << bpfbox_bpf_last_error();
    auto create = [&](uint32_t type, uint32_t ks, uint32_t vs, uint32_t key_id, uint32_t value_id,
                      int fd) {
      union bpf_attr a = map_attr(type, ks, vs, 4);
      a.btf_fd = uint32_t(fd);
      a.btf_key_type_id = key_id;
      a.btf_value_type_id = value_id;
      return call(impl, BPF_MAP_CREATE, a);
    };
    const int bfd = int(btf_fd);
    struct Case {
      uint32_t type, ks, vs, key_id, value_id;
      int fd;
      long want;  // 0: created
    } cases[] = {
        {BPF_MAP_TYPE_ARRAY, 4, 8, t.u32_id, t.struct_id, bfd, 0},
        {BPF_MAP_TYPE_HASH, 8, 8, t.u64_id, t.struct_id, bfd, 0},
        {BPF_MAP_TYPE_HASH, 4, 8, t.u32_id, 0, bfd, -EINVAL},              // a key without a value
        {BPF_MAP_TYPE_ARRAY, 4, 4, t.u32_id, t.struct_id, bfd, -EINVAL},   // value size
        {BPF_MAP_TYPE_HASH, 4, 8, t.u64_id, t.struct_id, bfd, -EINVAL},    // key size
        {BPF_MAP_TYPE_HASH, 4, 8, 999, t.struct_id, bfd, -EINVAL},         // no such type
        {BPF_MAP_TYPE_HASH, 4, 8, 0, t.struct_id, bfd, -EINVAL},           // keyless hash
        {BPF_MAP_TYPE_ARRAY, 4, 8, 0, t.struct_id, bfd, -EINVAL},          // keyless, no datasec
        {BPF_MAP_TYPE_ARRAY, 4, 8, t.main_id, t.struct_id, bfd, -EINVAL},  // key not an int
        {BPF_MAP_TYPE_ARRAY, 4, 8, t.u32_id, t.struct_id, -1, -EBADF},
    };
    for (const Case& c : cases) {
      SCOPED_TRACE(std::to_string(c.type) + " key " + std::to_string(c.key_id) + " value " +
                   std::to_string(c.value_id));
      const long fd = create(c.type, c.ks, c.vs, c.key_id, c.value_id, c.fd);
      if (c.want) {
        EXPECT_EQ(fd, c.want);
        continue;
      }
      ASSERT_GE(fd, 0) << bpfbox_bpf_last_error();
      bpf_map_info mi{};
      ASSERT_EQ(get_info(impl, int(fd), &mi, sizeof mi), 0);
      bpf_btf_info bi{};
      ASSERT_EQ(get_info(impl, bfd, &bi, sizeof bi), 0);
      EXPECT_EQ(mi.btf_id, bi.id);
      EXPECT_EQ(mi.btf_key_type_id, c.key_id);
      EXPECT_EQ(mi.btf_value_type_id, c.value_id);
      close(int(fd));
    }
    // A map holds its BTF: with the BTF's fd closed, its id still opens it.
    const long fd = create(BPF_MAP_TYPE_ARRAY, 4, 8, t.u32_id, t.struct_id, bfd);
    ASSERT_GE(fd, 0);
    bpf_btf_info bi{};
    ASSERT_EQ(get_info(impl, bfd, &bi, sizeof bi), 0);
    close(bfd);
    union bpf_attr g;
    std::memset(&g, 0, sizeof g);
    g.btf_id = bi.id;
    const long again = call(impl, BPF_BTF_GET_FD_BY_ID, g);
    EXPECT_GE(again, 0) << bpfbox_bpf_last_error();
    if (again >= 0) close(int(again));
    close(int(fd));
  });
}

// Every pointer in attr and in info that points to an unmapped page is EFAULT, never a crash.
TEST(SysInfo, BadUserPointersAreEfaultAsInTheKernel) {
  RuntimeDir rt;
  void* page = mmap(nullptr, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  ASSERT_NE(page, MAP_FAILED);
  const uint64_t bad = reinterpret_cast<uint64_t>(page);
  const bool kernel = kernel_available();
  for (Impl impl : {Impl::Bpfbox, Impl::Kernel}) {
    if (impl == Impl::Kernel && !kernel) continue;
    SCOPED_TRACE(impl == Impl::Kernel ? "kernel" : "bpfbox");
    union bpf_attr m = map_attr(BPF_MAP_TYPE_HASH, 4, 8, 4);
    const long map = call(impl, BPF_MAP_CREATE, m);
    ASSERT_GE(map, 0);
    uint32_t key = 1;
    uint64_t value = 5;
    union bpf_attr e = elem_attr(int(map), &key, &value);
    ASSERT_EQ(call(impl, BPF_MAP_UPDATE_ELEM, e), 0);
    e = elem_attr(int(map), nullptr, &value);
    e.key = bad;
    EXPECT_EQ(call(impl, BPF_MAP_UPDATE_ELEM, e), -EFAULT);
    EXPECT_EQ(call(impl, BPF_MAP_LOOKUP_ELEM, e), -EFAULT);
    union bpf_attr d = elem_attr(int(map), nullptr, nullptr);
    d.key = bad;
    EXPECT_EQ(call(impl, BPF_MAP_DELETE_ELEM, d), -EFAULT);
    e = elem_attr(int(map), &key, nullptr);
    e.value = bad;
    EXPECT_EQ(call(impl, BPF_MAP_UPDATE_ELEM, e), -EFAULT);
    EXPECT_EQ(call(impl, BPF_MAP_LOOKUP_ELEM, e), -EFAULT);
    union bpf_attr n = elem_attr(int(map), nullptr, nullptr);  // the first key goes out
    n.next_key = bad;
    EXPECT_EQ(call(impl, BPF_MAP_GET_NEXT_KEY, n), -EFAULT);

    const auto insns = ret_prog(2);
    union bpf_attr l = load_attr(BPF_PROG_TYPE_XDP, insns);
    l.insns = bad;
    EXPECT_EQ(call(impl, BPF_PROG_LOAD, l), -EFAULT);
    l = load_attr(BPF_PROG_TYPE_XDP, insns);
    l.license = bad;
    EXPECT_EQ(call(impl, BPF_PROG_LOAD, l), -EFAULT);
    l = load_attr(BPF_PROG_TYPE_XDP, insns);
    l.log_buf = bad;
    l.log_size = 1024;
    l.log_level = 1;
    EXPECT_EQ(call(impl, BPF_PROG_LOAD, l), -EFAULT);
    l = load_attr(BPF_PROG_TYPE_XDP, insns);
    const long prog = call(impl, BPF_PROG_LOAD, l);
    ASSERT_GE(prog, 0);

    uint8_t pkt[64] = {};
    union bpf_attr r;
    std::memset(&r, 0, sizeof r);
    r.test.prog_fd = uint32_t(prog);
    r.test.data_in = bad;
    r.test.data_size_in = sizeof pkt;
    EXPECT_EQ(call(impl, BPF_PROG_TEST_RUN, r), -EFAULT);
    r.test.data_in = reinterpret_cast<uint64_t>(pkt);
    r.test.data_out = bad;
    r.test.data_size_out = sizeof pkt;
    EXPECT_EQ(call(impl, BPF_PROG_TEST_RUN, r), -EFAULT);

    bpf_prog_info pi{};
    EXPECT_EQ(get_info(impl, int(prog), page, sizeof pi), -EFAULT);
    pi.nr_map_ids = 1;
    pi.map_ids = bad;
    pi.xlated_prog_len = 16;
    pi.xlated_prog_insns = bad;
    EXPECT_EQ(get_info(impl, int(prog), &pi, sizeof pi), -EFAULT);
    std::memset(&pi, 0, sizeof pi);
    pi.jited_prog_len = 16;
    pi.jited_prog_insns = bad;
    EXPECT_EQ(get_info(impl, int(prog), &pi, sizeof pi), -EFAULT);
    close(int(prog));
    close(int(map));
    // The attr itself, and OBJ_PIN/OBJ_GET's pathname.
    const long r0 = impl == Impl::Kernel
                        ? syscall(__NR_bpf, BPF_MAP_CREATE, page, 64)
                        : bpfbox_bpf(BPF_MAP_CREATE, static_cast<bpf_attr*>(page), 64);
    EXPECT_EQ(r0, -1);
    EXPECT_EQ(errno, EFAULT);
    union bpf_attr g;
    std::memset(&g, 0, sizeof g);
    g.pathname = bad;
    EXPECT_EQ(call(impl, BPF_OBJ_GET, g), -EFAULT);
  }
  munmap(page, 4096);
}

}  // namespace
}  // namespace bpfbox::systest
