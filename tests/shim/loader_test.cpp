// libbpf loads clang-compiled objects (examples/bpf) in this process and bpfbox serves its bpf()
// calls (src/shim): global data, frozen .rodata, hash maps, subprograms, PROG_ARRAY tail calls.
// Then the CLI's `prog load/loadall/run`, and the same runs through the kernel when bpftool and
// bpf() are there.
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "runtime_dir.hpp"
#include "subprocess.hpp"

namespace {

std::string object(const std::string& name) {
  return std::string(BPFBOX_BPF_OBJECTS_DIR) + "/" + name + ".bpf.o";
}

// A private runtime dir for this process and the CLI it starts.
const auto* const g_env =
    ::testing::AddGlobalTestEnvironment(new bpfbox::testing::RuntimeDirEnv("bpfbox-loader-test"));

struct Object {
  bpf_object* obj = nullptr;
  explicit Object(const std::string& path) : obj(bpf_object__open_file(path.c_str(), nullptr)) {}
  ~Object() { bpf_object__close(obj); }
  bpf_map* map(const char* name) const { return bpf_object__find_map_by_name(obj, name); }
  int prog_fd(const char* name) const {
    return bpf_program__fd(bpf_object__find_program_by_name(obj, name));
  }
};

// TEST_RUN with `data`; the program's return value (or -errno).
long long test_run(int fd, std::vector<uint8_t> data) {
  LIBBPF_OPTS(bpf_test_run_opts, t);
  t.data_in = data.data();
  t.data_size_in = uint32_t(data.size());
  if (bpf_prog_test_run_opts(fd, &t) != 0) return -errno;
  return t.retval;
}

// How many calls of helper `id` the program's xlated instructions hold.
int helper_calls(int prog_fd, int32_t id) {
  bpf_prog_info info{};
  uint32_t len = sizeof info;
  if (bpf_obj_get_info_by_fd(prog_fd, &info, &len) != 0) return -errno;
  std::vector<bpf_insn> insns(info.xlated_prog_len / sizeof(bpf_insn));
  info = bpf_prog_info{};
  info.xlated_prog_len = uint32_t(insns.size() * sizeof(bpf_insn));
  info.xlated_prog_insns = reinterpret_cast<uint64_t>(insns.data());
  len = sizeof info;
  if (bpf_obj_get_info_by_fd(prog_fd, &info, &len) != 0) return -errno;
  int n = 0;
  for (const bpf_insn& i : insns)
    n += i.code == (BPF_JMP | BPF_CALL) && i.src_reg == 0 && i.imm == id;
  return n;
}

uint64_t lookup_u64(bpf_map* m, uint32_t key) {
  uint64_t v = ~0ull;
  EXPECT_EQ(bpf_map_lookup_elem(bpf_map__fd(m), &key, &v), 0) << std::strerror(errno);
  return v;
}

TEST(Loader, XdpGlobalDataMapAndSubprogram) {
  Object o(object("xdp_count"));
  ASSERT_NE(o.obj, nullptr);
  // .rodata before load: min_len = 32, so a 20-byte packet is dropped.
  bpf_map* rodata = o.map("xdp_coun.rodata");
  ASSERT_NE(rodata, nullptr);
  const uint32_t min_len = 32;
  ASSERT_EQ(bpf_map__set_initial_value(rodata, &min_len, sizeof min_len), 0);
  ASSERT_EQ(bpf_object__load(o.obj), 0);
  const int fd = o.prog_fd("xdp_count");
  EXPECT_EQ(test_run(fd, std::vector<uint8_t>(64, 1)), XDP_PASS);
  EXPECT_EQ(test_run(fd, std::vector<uint8_t>(20, 1)), XDP_DROP);
  EXPECT_EQ(test_run(fd, std::vector<uint8_t>(40, 1)), XDP_PASS);
  bpf_map* verdicts = o.map("verdicts");
  EXPECT_EQ(lookup_u64(verdicts, XDP_PASS), 2u);
  EXPECT_EQ(lookup_u64(verdicts, XDP_DROP), 1u);
  // .bss and .data: through lookups, and through an mmap of the map fd (what skeletons do;
  // libbpf 1.1 keeps bpf_map__initial_value() a private copy without one).
  bpf_map* bss = o.map("xdp_coun.bss");
  bpf_map* data = o.map("xdp_coun.data");
  EXPECT_EQ(lookup_u64(bss, 0), 3u);
  EXPECT_EQ(lookup_u64(data, 0), 100u + 64 + 20 + 40);
  void* view = mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, bpf_map__fd(bss), 0);
  ASSERT_NE(view, MAP_FAILED) << std::strerror(errno);
  EXPECT_EQ(*static_cast<volatile uint64_t*>(view), 3u);
  *static_cast<volatile uint64_t*>(view) = 1000;  // the program sees user space's store
  EXPECT_EQ(test_run(fd, std::vector<uint8_t>(64, 1)), XDP_PASS);
  EXPECT_EQ(*static_cast<volatile uint64_t*>(view), 1001u);
  munmap(view, 4096);
  // Not MAP_SHARED, or past the map's pages: EINVAL, as the kernel's bpf_map_mmap.
  EXPECT_EQ(mmap(nullptr, 4096, PROT_READ, MAP_PRIVATE, bpf_map__fd(bss), 0), MAP_FAILED);
  EXPECT_EQ(errno, EINVAL);
  EXPECT_EQ(mmap(nullptr, 8192, PROT_READ, MAP_SHARED, bpf_map__fd(bss), 0), MAP_FAILED);
  EXPECT_EQ(errno, EINVAL);
  // .rodata is frozen: readable mapping yes, writable no (EPERM).
  view = mmap(nullptr, 4096, PROT_READ, MAP_SHARED, bpf_map__fd(rodata), 0);
  ASSERT_NE(view, MAP_FAILED) << std::strerror(errno);
  EXPECT_EQ(*static_cast<volatile uint32_t*>(view), 32u);
  munmap(view, 4096);
  EXPECT_EQ(mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, bpf_map__fd(rodata), 0),
            MAP_FAILED);
  EXPECT_EQ(errno, EPERM);
  // .rodata is frozen: no update from user space.
  const uint32_t key = 0, value = 1;
  EXPECT_NE(bpf_map_update_elem(bpf_map__fd(rodata), &key, &value, 0), 0);
  EXPECT_EQ(errno, EPERM);
}

TEST(Loader, SocketFilterHashMap) {
  Object o(object("sock_hash"));
  ASSERT_EQ(bpf_object__load(o.obj), 0);
  const int fd = o.prog_fd("sock_count");
  // TEST_RUN takes an Ethernet frame: the socket filter sees what follows the 14-byte header.
  auto frame = [](uint8_t first) {
    std::vector<uint8_t> f(64, 0);
    f[14] = first;
    return f;
  };
  EXPECT_EQ(test_run(fd, frame(7)), 50);
  EXPECT_EQ(test_run(fd, frame(7)), 50);
  EXPECT_EQ(test_run(fd, frame(0xff)), 0);
  bpf_map* m = o.map("by_first_byte");
  EXPECT_EQ(lookup_u64(m, 7), 2u);
  EXPECT_EQ(lookup_u64(m, 0xff), 1u);
  const uint32_t absent = 8;
  uint64_t v = 0;
  EXPECT_NE(bpf_map_lookup_elem(bpf_map__fd(m), &absent, &v), 0);
  EXPECT_EQ(errno, ENOENT);
}

TEST(Loader, TailCallThroughProgArray) {
  Object o(object("tail_call"));
  ASSERT_EQ(bpf_object__load(o.obj), 0);
  const int fd = o.prog_fd("tail_entry");
  EXPECT_EQ(test_run(fd, std::vector<uint8_t>(64, 0)), 42);  // libbpf filled slot 0
  const uint32_t slot = 0;
  ASSERT_EQ(bpf_map_delete_elem(bpf_map__fd(o.map("jump_table")), &slot), 0);
  EXPECT_EQ(test_run(fd, std::vector<uint8_t>(64, 0)), 1);
}

// A 64-byte packet starting with the two bytes the map_in_map programs read.
std::vector<uint8_t> packet(uint8_t b0, uint8_t b1) {
  std::vector<uint8_t> p(64, 0);
  p[0] = b0;
  p[1] = b1;
  return p;
}

// The engines a program can be loaded with here (BPFBOX_ENGINE, read at each PROG_LOAD).
std::vector<const char*> engines() {
#ifdef BPFBOX_HAVE_LLVM
  return {"interp", "jit", "llvm"};
#else
  return {"interp", "jit"};
#endif
}

// ARRAY_OF_MAPS and HASH_OF_MAPS filled by libbpf from `.values`: the programs reach the inner
// maps through the outer lookup and use them with lookup, update, delete and for_each, on every
// engine; user space sees the same inner maps.
TEST(Loader, MapInMapInnerMapsOnEveryEngine) {
  for (const char* engine : engines()) {
    SCOPED_TRACE(engine);
    setenv("BPFBOX_ENGINE", engine, 1);
    Object o(object("map_in_map"));
    ASSERT_EQ(bpf_object__load(o.obj), 0);
    unsetenv("BPFBOX_ENGINE");
    const int arr = o.prog_fd("count_in_inner_array");
    // counters_a[1] = 1, [2] = 2: 1 * 1000 + 3; then 2, 4.
    EXPECT_EQ(test_run(arr, packet(0, 1)), 1003);
    EXPECT_EQ(test_run(arr, packet(0, 1)), 2006);
    // counters_b[3] += 1 + 2, [0] = 6.
    EXPECT_EQ(test_run(arr, packet(2, 3)), 3009);
    EXPECT_EQ(test_run(arr, packet(1, 0)), 2);  // the empty slot
    EXPECT_EQ(test_run(arr, packet(9, 0)), 2);  // past max_entries
    EXPECT_EQ(test_run(arr, packet(2, 4)), 3);  // past the inner array's max_entries
    // The inner ARRAY lookup is inlined (its base loaded from the inner map), the outer one is a
    // call: one bpf_map_lookup_elem left.
    EXPECT_EQ(helper_calls(arr, BPF_FUNC_map_lookup_elem), 1);
    EXPECT_EQ(lookup_u64(o.map("counters_a"), 1), 2u);
    EXPECT_EQ(lookup_u64(o.map("counters_a"), 2), 4u);
    EXPECT_EQ(lookup_u64(o.map("counters_b"), 0), 6u);

    EXPECT_EQ(test_run(o.prog_fd("inner_and_direct"), packet(0, 0)), 7);

    const int hash = o.prog_fd("count_in_inner_hash");
    EXPECT_EQ(test_run(hash, packet(3, 4)), 10);  // table_x[4] = 1, nothing at 5
    EXPECT_EQ(test_run(hash, packet(3, 5)), 11);  // table_x[5] = 1, 4 deleted
    EXPECT_EQ(test_run(hash, packet(3, 5)), 20);
    EXPECT_EQ(test_run(hash, packet(7, 5)), 10);  // table_y
    EXPECT_EQ(test_run(hash, packet(4, 5)), 2);   // no such outer key
    EXPECT_EQ(lookup_u64(o.map("table_x"), 5), 2u);
    uint64_t v = 0;
    const uint32_t four = 4;
    EXPECT_NE(bpf_map_lookup_elem(bpf_map__fd(o.map("table_x")), &four, &v), 0);

    // Replacing an inner map is seen by the next run: counters_b in slot 0.
    const uint32_t zero = 0;
    const int b_fd = bpf_map__fd(o.map("counters_b"));
    ASSERT_EQ(bpf_map_update_elem(bpf_map__fd(o.map("by_first_byte")), &zero, &b_fd, 0), 0);
    EXPECT_EQ(test_run(arr, packet(0, 3)), 4012);  // counters_b[3] = 3 + 1, [0] = 8
  }
}

// libbpf's own pinning (statfs for BPF_FS_MAGIC, mkdir, unlink) sees the pin tree at /sys/fs/bpf.
TEST(Loader, LibbpfPinsUnderSysFsBpf) {
  Object o(object("sock_hash"));
  ASSERT_EQ(bpf_object__load(o.obj), 0);
  const std::string dir = "/sys/fs/bpf/loader_pin_" + std::to_string(getpid());
  ASSERT_EQ(bpf_object__pin_maps(o.obj, dir.c_str()), 0);
  ASSERT_EQ(bpf_object__pin_programs(o.obj, dir.c_str()), 0);
  const std::string tree = std::string(getenv("BPFBOX_RUNTIME_DIR")) + "/fs" + dir.substr(11);
  EXPECT_TRUE(std::filesystem::exists(tree + "/by_first_byte"));
  EXPECT_TRUE(std::filesystem::exists(tree + "/sock_count"));
  const int fd = bpf_obj_get((dir + "/sock_count").c_str());
  EXPECT_GE(fd, 0) << std::strerror(errno);
  if (fd >= 0) close(fd);
  EXPECT_EQ(bpf_object__unpin_maps(o.obj, dir.c_str()), 0);
  EXPECT_EQ(bpf_object__unpin_programs(o.obj, dir.c_str()), 0);
  EXPECT_FALSE(std::filesystem::exists(tree + "/by_first_byte"));
  EXPECT_FALSE(std::filesystem::exists(tree + "/sock_count"));
}

// ---- the CLI

// A file `name` in the runtime dir holding bytes; its path.
std::string write_file(const std::string& name, const std::vector<uint8_t>& bytes) {
  const std::string path = std::string(getenv("BPFBOX_RUNTIME_DIR")) + "/" + name;
  std::ofstream(path, std::ios::binary)
      .write(reinterpret_cast<const char*>(bytes.data()), std::streamsize(bytes.size()));
  return path;
}

std::string write_packet(size_t n) {
  return write_file("pkt" + std::to_string(n), std::vector<uint8_t>(n, 1));
}

// The kernel half of the CLI tests: Debian's bpftool as root (libbpf with the real bpf()).
constexpr const char* kBpftool = "/usr/sbin/bpftool";
bool have_kernel_bpftool() {
  return geteuid() == 0 && access(kBpftool, X_OK) == 0;
}
// A pin path of this process in the kernel's bpffs.
std::string kernel_pin(const std::string& what) {
  return "/sys/fs/bpf/bpfbox_" + what + "_" + std::to_string(getpid());
}

// "Return value: R" of bpftool's (or bpfbox's) line, the duration left out.
std::string return_value(const std::string& out) {
  const size_t e = out.find(',');
  return out.compare(0, 14, "Return value: ") == 0 && e != std::string::npos ? out.substr(0, e)
                                                                             : "(" + out + ")";
}

TEST(LoaderCli, RunLoadAndLoadall) {
  using bpfbox::testing::run_process;
  const std::string b = bpfbox::testing::bpfbox_binary();
  const std::string pkt = write_packet(64);
  for (const char* engine : {"interp", "jit"}) {
    auto r = run_process(
        {b, "prog", "--engine", engine, "run", object("xdp_count"), "data_in", pkt, "repeat", "3"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.out.rfind("Return value: 2, duration (average): ", 0), 0u) << r.out;
    EXPECT_EQ(r.out.back(), '\n');
    EXPECT_NE(r.out.find("ns\n"), std::string::npos) << r.out;
  }
  auto r =
      run_process({b, "prog", "run", object("tail_call"), "name", "tail_entry", "data_in", pkt});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(return_value(r.out), "Return value: 42");

  r = run_process({b, "prog", "load", object("sock_hash"), "/sys/fs/bpf/sock", "pinmaps",
                   "/sys/fs/bpf/sock_maps"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string fs = std::string(getenv("BPFBOX_RUNTIME_DIR")) + "/fs";
  EXPECT_TRUE(std::filesystem::exists(fs + "/sock_maps/by_first_byte"));
  r = run_process(
      {b, "prog", "run", "pinned", "/sys/fs/bpf/sock", "data_in", pkt, "data_out", fs + "/out"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(return_value(r.out), "Return value: 50");
  EXPECT_EQ(std::filesystem::file_size(fs + "/out"), 64u);
  // The pinned map kept the count of that run (first byte after the Ethernet header: 1).
  const int mfd = bpf_obj_get("/sys/fs/bpf/sock_maps/by_first_byte");
  ASSERT_GE(mfd, 0) << std::strerror(errno);
  uint32_t key = 1;
  uint64_t v = 0;
  EXPECT_EQ(bpf_map_lookup_elem(mfd, &key, &v), 0);
  EXPECT_EQ(v, 1u);
  close(mfd);

  r = run_process({b, "prog", "loadall", object("tail_call"), "/sys/fs/bpf/tc"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(std::filesystem::exists(fs + "/tc/tail_entry"));
  EXPECT_TRUE(std::filesystem::exists(fs + "/tc/tail_target"));
  r = run_process({b, "prog", "run", "/sys/fs/bpf/tc/tail_target", "data_in", pkt});
  EXPECT_EQ(return_value(r.out), "Return value: 42") << r.err;

  r = run_process({b, "prog", "run", object("xdp_count"), "data_in", pkt, "bogus", "1"});
  EXPECT_EQ(r.exit_code, 255);  // bpftool's -1
  EXPECT_NE(r.err.find("got: 'bogus'"), std::string::npos) << r.err;
}

// The same objects through the kernel with the system's bpftool (libbpf with the real bpf()):
// the same return values. Skipped without bpftool or without the right to call bpf().
TEST(LoaderCli, SameReturnValuesAsTheKernel) {
  using bpfbox::testing::run_process;
  if (!have_kernel_bpftool()) GTEST_SKIP() << "no bpftool or not root";
  const char* bpftool = kBpftool;
  const std::string b = bpfbox::testing::bpfbox_binary();
  const std::string pin = kernel_pin("loader_test");
  for (size_t len : {64, 20}) {
    const std::string pkt = write_packet(len);
    for (const char* name : {"xdp_count", "sock_hash"}) {
      auto k = run_process({bpftool, "prog", "load", object(name), pin});
      if (k.exit_code != 0) GTEST_SKIP() << "the kernel refused the load: " << k.err;
      k = run_process({bpftool, "prog", "run", "pinned", pin, "data_in", pkt});
      run_process({"/bin/rm", "-f", pin});  // the kernel's bpffs: unlink() here is the pin tree's
      auto u = run_process({b, "prog", "run", object(name), "data_in", pkt});
      EXPECT_EQ(return_value(u.out), return_value(k.out)) << name << " " << len << u.err << k.err;
    }
  }
  // Pinned by loadall, run after the loading process exited: the PROG_ARRAY lost its entries
  // with its last user reference (the kernel's prog_array_map_clear), so the entry returns 1.
  const std::string pkt = write_packet(64);
  auto k = run_process({bpftool, "prog", "loadall", object("tail_call"), pin});
  if (k.exit_code != 0) GTEST_SKIP() << "the kernel refused the load: " << k.err;
  k = run_process({bpftool, "prog", "run", "pinned", pin + "/tail_entry", "data_in", pkt});
  run_process({"/bin/rm", "-rf", pin});
  auto u = run_process({b, "prog", "loadall", object("tail_call"), pin});
  ASSERT_EQ(u.exit_code, 0) << u.err;
  u = run_process({b, "prog", "run", "pinned", pin + "/tail_entry", "data_in", pkt});
  EXPECT_EQ(return_value(u.out), return_value(k.out)) << u.err << k.err;
  EXPECT_EQ(return_value(u.out), "Return value: 1");
}

// map_in_map's programs, each loaded afresh (bpftool prog loadall) and run `repeat` times by the
// kernel and by the CLI (its default engine: Loader.MapInMapInnerMapsOnEveryEngine has the
// engines agree): the same return value of the last run.
TEST(LoaderCli, MapInMapSameAsTheKernel) {
  using bpfbox::testing::run_process;
  if (!have_kernel_bpftool()) GTEST_SKIP() << "no bpftool or not root";
  const char* bpftool = kBpftool;
  const std::string b = bpfbox::testing::bpfbox_binary();
  const std::string pin = kernel_pin("mim_test");
  struct Case {
    const char* prog;
    uint8_t b0, b1;
    const char* repeat;
  };
  for (const Case& c :
       {Case{"count_in_inner_array", 2, 3, "3"}, Case{"count_in_inner_hash", 3, 5, "2"}}) {
    const std::string pkt = write_file("mim_pkt", packet(c.b0, c.b1));
    auto k = run_process({bpftool, "prog", "loadall", object("map_in_map"), pin});
    if (k.exit_code != 0) GTEST_SKIP() << "the kernel refused the load: " << k.err;
    k = run_process(
        {bpftool, "prog", "run", "pinned", pin + "/" + c.prog, "data_in", pkt, "repeat", c.repeat});
    run_process({"/bin/rm", "-rf", pin});
    ASSERT_EQ(k.exit_code, 0) << k.err;
    auto u = run_process({b, "prog", "run", object("map_in_map"), "name", c.prog, "data_in", pkt,
                          "repeat", c.repeat});
    EXPECT_EQ(return_value(u.out), return_value(k.out)) << c.prog << u.err;
  }
}

}  // namespace
