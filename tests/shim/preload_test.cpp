// libbpfbox-preload.so under unmodified programs: the libbpf test clients (tests/shim/clients) and
// Debian's bpftool, run with LD_PRELOAD and a private runtime dir, print what they print against
// the kernel. Each expectation is checked against bpfbox always, and against the kernel when this
// process may call bpf() (root, bpftool, a bpffs at /sys/fs/bpf); those halves skip otherwise.
#include <bpf/bpf.h>
#include <fcntl.h>
#include <linux/perf_event.h>
#include <gtest/gtest.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "bpf_output_event.hpp"
#include "runtime_dir.hpp"
#include "subprocess.hpp"
#include "sys/objects.hpp"
#include "sys/perf_events.hpp"

namespace {

using bpfbox::testing::ProcessResult;
using bpfbox::testing::run_process;
using nlohmann::json;

constexpr char kBpftool[] = "/usr/sbin/bpftool";

std::string object(const std::string& name) {
  return std::string(BPFBOX_BPF_OBJECTS_DIR) + "/" + name + ".bpf.o";
}
std::string client_object(const std::string& name) {
  return std::string(BPFBOX_SHIM_CLIENTS_DIR) + "/" + name + ".bpf.o";
}
std::string client(const std::string& name) {
  return std::string(BPFBOX_SHIM_CLIENTS_DIR) + "/" + name;
}

// A private runtime dir for the programs this test starts (they inherit the environment).
auto* const g_env = static_cast<bpfbox::testing::RuntimeDirEnv*>(
    ::testing::AddGlobalTestEnvironment(new bpfbox::testing::RuntimeDirEnv("bpfbox-preload-test")));

// argv under LD_PRELOAD. In a sanitizer build the library is instrumented and needs its runtimes
// loaded first (before the program's own libraries, which LD_PRELOAD precedes).
ProcessResult under_shim(std::vector<std::string> argv) {
  const std::string runtimes = BPFBOX_PRELOAD_RUNTIMES;
  const std::string preload = (runtimes.empty() ? "" : runtimes + ":") + BPFBOX_PRELOAD_LIB;
  argv.insert(argv.begin(), {"/usr/bin/env", "LD_PRELOAD=" + preload});
  return run_process(argv);
}

// bpftool is not built with the sanitizers: under the instrumented library each of its commands
// starts the ASan runtime and a 30 MB library and takes seconds on a loaded machine (minutes for
// a test), and its own leaks would be reported. The sanitizer build runs the shim's code through
// the clients (instrumented like the library) and this process instead; bpftool runs in the
// release build.
bool sanitizer_build() {
  return std::string(BPFBOX_PRELOAD_RUNTIMES) != "";
}
constexpr char kSanitizerSkip[] =
    "sanitizer build: bpftool runs under the release build's preload library (the clients and "
    "PreloadProc cover the shim's code here)";

// Whether the kernel can be the oracle here: bpftool, and bpf() allowed (bpftool lists programs).
bool kernel_available() {
  static const bool ok = geteuid() == 0 && access(kBpftool, X_OK) == 0 &&
                         run_process({kBpftool, "prog", "show"}).exit_code == 0;
  return ok;
}

// A pin path on the kernel's bpffs, removed at the end of the test (not through this process's
// unlink(), which the shim linked into it sends to the pin tree).
struct KernelPin {
  std::string path = "/sys/fs/bpf/bpfbox_preload_test_" + std::to_string(getpid());
  ~KernelPin() { run_process({"/bin/rm", "-rf", path}); }
};

std::string write_packet(size_t n, char fill) {
  const std::string path = g_env->dir() + "/pkt" + std::to_string(n);
  std::ofstream(path, std::ios::binary) << std::string(n, fill);
  return path;
}

// ---- the libbpf clients

struct ClientCase {
  const char* name;
  std::string object;
  const char* expected;
};

std::vector<ClientCase> client_cases() {
  return {
      {"sock_filter", object("sock_hash"),
       "frame first=7: keep 50 bytes\n"
       "frame first=7: keep 50 bytes\n"
       "frame first=255: keep 0 bytes\n"
       "frame first=3: keep 50 bytes\n"
       "entries: 3\n"
       "by_first_byte[3] = 1\n"
       "by_first_byte[7] = 2\n"
       "by_first_byte[255] = 1\n"
       "lookup 8: -2 No such file or directory\n"},
      {"xdp_hash", client_object("xdp_hash"),
       "run len=60 first=1: retval 2\n"
       "run len=61 first=1: retval 1\n"
       "run len=60 first=1: retval 2\n"
       "run len=100 first=1: retval 2\n"
       "len 60: 2\n"
       "len 61: 1\n"
       "len 60: 2\n"
       "len 100: 1\n"
       "delete 61: 0\n"
       "delete 61 again: -2 No such file or directory\n"
       "update 100: 0\n"
       "run len=100 first=1: retval 2\n"
       "len 60: 2\n"
       "len 61: none (No such file or directory)\n"
       "len 60: 2\n"
       "len 100: 1001\n"},
      {"tail_call", object("tail_call"),
       "run len=64 first=0: retval 42\n"
       "delete slot 0: 0\n"
       "run len=64 first=0: retval 1\n"
       "slot 0 = tail_target: 0\n"
       "run len=64 first=0: retval 42\n"
       "slot 2 (past max_entries): -7 Argument list too long\n"},
      {"global_data", object("xdp_count"),
       "run len=64 first=1: retval 2\n"
       "run len=20 first=1: retval 1\n"
       "run len=40 first=1: retval 2\n"
       ".bss packets = 3\n"
       "run len=64 first=1: retval 2\n"
       ".bss packets after a store and a run = 1001\n"
       ".data bytes_seen = 288\n"
       ".rodata min_len = 32\n"
       "writable mmap of .rodata: Operation not permitted\n"
       "update .rodata: -1 Operation not permitted\n"
       "verdicts: drop 1 pass 3\n"
       "freeze while mapped writable: -16 Device or resource busy\n"
       "freeze after munmap: 0\n"},
      {"ringbuf", client_object("ringbuf"),
       "run len=64 first=7: retval 2\n"
       "run len=20 first=9: retval 1\n"
       "run len=40 first=11: retval 2\n"
       "record size=8 len=64 first=7\n"
       "record size=8 len=20 first=9\n"
       "record size=8 len=40 first=11\n"
       "poll: 3\n"
       "poll again: 0\n"
       "run len=33 first=5: retval 2\n"
       "record size=8 len=33 first=5\n"
       "consume: 1\n"},
      {"perf_buf", client_object("perf_buf"),
       "run len=64 first=7: retval 2\n"
       "run len=14 first=9: retval 2\n"
       "run len=40 first=11: retval 2\n"
       "sample size=20 len=64 first=7 pkt=07ababababababab\n"
       "sample size=20 len=14 first=9 pkt=0900000000000000\n"
       "sample size=20 len=40 first=11 pkt=0bcdcdcdcdcdcdcd\n"
       "poll: 1\n"
       "poll again: 0\n"
       "overfill: 127 of 130 written\n"
       "sample size=20 len=16 first=0 pkt=0000000000000000\n"
       "poll: 1\n"
       "samples: 127\n"
       "run len=15 first=5: retval 2\n"
       "lost 3\n"
       "sample size=20 len=15 first=5 pkt=0511111111111111\n"
       "poll: 1\n"
       "buffers: 1\n"},
  };
}

class PreloadClient : public ::testing::TestWithParam<ClientCase> {};

TEST_P(PreloadClient, SameOutputAsTheKernel) {
  const ClientCase& c = GetParam();
  const ProcessResult b = under_shim({client(c.name), c.object});
  EXPECT_EQ(b.exit_code, 0) << b.err;
  EXPECT_EQ(b.out, c.expected) << b.err;
  if (!kernel_available()) GTEST_SKIP() << "bpfbox checked; no kernel bpf() to compare with";
  const ProcessResult k = run_process({client(c.name), c.object});
  EXPECT_EQ(k.exit_code, 0) << k.err;
  EXPECT_EQ(k.out, c.expected) << k.err;
}

INSTANTIATE_TEST_SUITE_P(Clients, PreloadClient, ::testing::ValuesIn(client_cases()),
                         [](const auto& p) { return std::string(p.param.name); });

// ---- Debian's bpftool

json parse(const ProcessResult& r) {
  EXPECT_EQ(r.exit_code, 0) << r.err;
  try {
    return json::parse(r.out);
  } catch (const std::exception& e) {
    ADD_FAILURE() << "not JSON: " << r.out << r.err;
    return json();
  }
}

// The fields of bpftool's JSON that do not depend on ids, times or the implementation's sizes.
json masked(json j, const std::set<std::string>& drop) {
  if (j.is_array()) {
    for (auto& e : j) e = masked(e, drop);
    return j;
  }
  if (!j.is_object()) return j;
  json out = json::object();
  for (auto& [k, v] : j.items())
    if (!drop.count(k)) out[k] = v;
  return out;
}

// bpftool's words, under the shim (bpfbox) or not (the kernel).
struct Bpftool {
  bool shim;
  ProcessResult operator()(std::vector<std::string> args) const {
    args.insert(args.begin(), kBpftool);
    return shim ? under_shim(args) : run_process(args);
  }
};

// prog load / show / show pinned / dump xlated / run, map show / dump on a clang-built XDP program
// with global data, through bpfbox and through the kernel: the same program, maps and results.
struct ProgView {
  json prog;      // prog show pinned -j, masked
  json maps;      // map show -j of its maps, masked, by name
  json verdicts;  // map dump -j of `verdicts` after the runs
  std::string run;
  std::string xlated_head;
  std::string btf;  // btf dump id of the program's BTF
};

ProgView load_and_look(const Bpftool& tool, const std::string& pin) {
  ProgView v;
  ProcessResult r = tool({"prog", "load", object("xdp_count"), pin});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  const json p = parse(tool({"-j", "prog", "show", "pinned", pin}));
  v.prog = masked(p, {"id", "loaded_at", "map_ids", "btf_id", "jited", "bytes_jited",
                      "bytes_memlock", "bytes_xlated", "pids"});
  // The same program by id, in `prog show` (every program) and alone.
  const std::string id = std::to_string(p.value("id", 0));
  const json all = parse(tool({"-j", "prog", "show"}));
  bool listed = false;
  for (const json& e : all) listed |= e.value("id", 0) == p.value("id", -1);
  EXPECT_TRUE(listed) << all.dump();
  // Its maps, from `map show` (every map), by name.
  std::map<std::string, json> maps;
  std::string verdicts_id;
  const json ids = p.value("map_ids", json::array());
  for (const json& m : parse(tool({"-j", "map", "show"})))
    if (std::find(ids.begin(), ids.end(), m.value("id", json())) != ids.end()) {
      maps[m.value("name", "?")] = masked(m, {"id", "bytes_memlock", "btf_id", "pids"});
      if (m.value("name", "") == "verdicts") verdicts_id = std::to_string(m.value("id", 0));
    }
  v.maps = maps;
  const std::string pkt = write_packet(64, 1);
  r = tool({"prog", "run", "pinned", pin, "data_in", pkt, "repeat", "3"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  v.run = r.out.substr(0, r.out.find(','));
  if (!verdicts_id.empty())
    v.verdicts = masked(parse(tool({"-j", "map", "dump", "id", verdicts_id})), {"formatted"});
  if (p.contains("btf_id")) {
    r = tool({"btf", "dump", "id", std::to_string(p.value("btf_id", 0))});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    v.btf = r.out;
  }
  // The first xlated instructions (before the verifier's rewrites differ).
  r = tool({"prog", "dump", "xlated", "id", id});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  std::istringstream lines(r.out);
  std::string line;
  for (int n = 0; n < 4 && std::getline(lines, line);)
    if (const size_t d = line.find_first_not_of(' ');
        d != std::string::npos && line[d] >= '0' && line[d] <= '9') {
      v.xlated_head += line + "\n";
      n++;
    }
  return v;
}

TEST(PreloadBpftool, ProgLoadShowRunDumpAsTheKernel) {
  if (sanitizer_build()) GTEST_SKIP() << kSanitizerSkip;
  if (access(kBpftool, X_OK) != 0) GTEST_SKIP() << "no " << kBpftool;
  const std::string pin = "/sys/fs/bpf/preload_xdp";
  const ProgView b = load_and_look(Bpftool{true}, pin);
  EXPECT_EQ(b.prog.value("name", ""), "xdp_count") << b.prog.dump();
  EXPECT_EQ(b.prog.value("type", ""), "xdp");
  EXPECT_EQ(b.prog.value("gpl_compatible", false), true);
  EXPECT_EQ(b.run, "Return value: 2");
  EXPECT_TRUE(b.maps.contains("verdicts")) << b.maps.dump();
  EXPECT_EQ(b.maps.value("xdp_coun.rodata", json()).value("frozen", 0), 1) << b.maps.dump();
  EXPECT_EQ(b.maps.value("xdp_coun.bss", json()).value("frozen", 1), 0) << b.maps.dump();
  // verdicts[XDP_PASS] counted the three runs.
  bool counted = false;
  for (const json& e : b.verdicts)
    if (e.value("key", json()) == json::array({"0x02", "0x00", "0x00", "0x00"}))
      counted = e.value("value", json()) ==
                json::array({"0x03", "0x00", "0x00", "0x00", "0x00", "0x00", "0x00", "0x00"});
  EXPECT_TRUE(counted) << b.verdicts.dump();
  EXPECT_NE(b.btf.find("] FUNC 'xdp_count' type_id="), std::string::npos) << b.btf;
  // The pin is in the runtime dir's tree, not on the kernel's bpffs.
  EXPECT_TRUE(std::filesystem::exists(g_env->dir() + "/fs/preload_xdp"));

  if (!kernel_available()) GTEST_SKIP() << "bpfbox checked; no kernel bpf() to compare with";
  KernelPin kpin;
  const ProgView k = load_and_look(Bpftool{false}, kpin.path);
  EXPECT_EQ(b.prog, k.prog);
  EXPECT_EQ(b.maps, k.maps);
  EXPECT_EQ(b.verdicts, k.verdicts);
  EXPECT_EQ(b.run, k.run);
  EXPECT_EQ(b.xlated_head, k.xlated_head);
  EXPECT_EQ(b.btf, k.btf);
}

// map create / update / lookup / getnext / delete / dump / show pinned, on a pinned hash map.
std::vector<std::string> map_session(const Bpftool& tool, const std::string& pin) {
  std::vector<std::string> out;
  auto step = [&](std::vector<std::string> args) {
    const ProcessResult r = tool(args);
    out.push_back(args[0] + " " + args[1] + ": " + std::to_string(r.exit_code) + " " + r.out +
                  (r.exit_code ? r.err : ""));
  };
  step({"map", "create", pin, "type", "hash", "key", "4", "value", "8", "entries", "8", "name",
        "pmap"});
  const std::string p = "pinned";
  step({"map", "update", p, pin, "key", "1", "0", "0", "0", "value", "7", "0", "0", "0", "0", "0",
        "0", "0"});
  step({"map", "update", p, pin, "key", "2", "0", "0", "0", "value", "9", "0", "0", "0", "0", "0",
        "0", "0", "noexist"});
  step({"map", "update", p, pin, "key", "2", "0", "0", "0", "value", "9", "0", "0", "0", "0", "0",
        "0", "0", "noexist"});
  step({"map", "lookup", p, pin, "key", "1", "0", "0", "0"});
  step({"map", "lookup", p, pin, "key", "5", "0", "0", "0"});
  step({"map", "delete", p, pin, "key", "1", "0", "0", "0"});
  step({"map", "delete", p, pin, "key", "1", "0", "0", "0"});
  step({"-j", "map", "dump", p, pin});
  step({"map", "getnext", p, pin});
  const ProcessResult r = tool({"-j", "map", "show", p, pin});
  out.push_back("show: " + masked(parse(r), {"id", "bytes_memlock", "pids"}).dump());
  return out;
}

TEST(PreloadBpftool, MapCommandsAsTheKernel) {
  if (sanitizer_build()) GTEST_SKIP() << kSanitizerSkip;
  if (access(kBpftool, X_OK) != 0) GTEST_SKIP() << "no " << kBpftool;
  const std::vector<std::string> b = map_session(Bpftool{true}, "/sys/fs/bpf/preload_map");
  ASSERT_EQ(b.size(), 11u);
  EXPECT_EQ(b[0], "map create: 0 ");
  EXPECT_EQ(b[4], "map lookup: 0 key: 01 00 00 00  value: 07 00 00 00 00 00 00 00\n");
  EXPECT_EQ(b[9], "map getnext: 0 key: None\nnext key:\n02 00 00 00\n");
  EXPECT_EQ(b[10],
            "show: {\"bytes_key\":4,\"bytes_value\":8,\"flags\":0,\"frozen\":0,"
            "\"max_entries\":8,\"name\":\"pmap\",\"type\":\"hash\"}");
  if (!kernel_available()) GTEST_SKIP() << "bpfbox checked; no kernel bpf() to compare with";
  KernelPin kpin;
  const std::vector<std::string> k = map_session(Bpftool{false}, kpin.path);
  EXPECT_EQ(b, k);
}

// What /proc says about a bpfbox fd, through the shim linked into this test (the same code as the
// preload library's): the kernel's link text and fdinfo lines, in the kernel's order.
std::vector<std::string> fdinfo_keys(const std::string& text) {
  std::vector<std::string> keys;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) keys.push_back(line.substr(0, line.find(':')));
  return keys;
}

std::string fdinfo_value(const std::string& text, const std::string& key) {
  const size_t at = text.find("\n" + key + ":\t");
  if (at == std::string::npos) return "?";
  const size_t start = at + key.size() + 3;
  return text.substr(start, text.find('\n', start) - start);
}

std::string read_fdinfo(int fd) {
  std::ifstream in("/proc/self/fdinfo/" + std::to_string(fd));  // fopen() inside
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string link_of(int fd) {
  char buf[64] = {};
  const ssize_t n = readlink(("/proc/self/fd/" + std::to_string(fd)).c_str(), buf, sizeof buf);
  return n < 0 ? std::string("error") : std::string(buf, size_t(n));
}

TEST(PreloadProc, FdinfoAndFdLinkOfBpfboxFds) {
  LIBBPF_OPTS(bpf_map_create_opts, opts, .map_flags = BPF_F_NO_PREALLOC);
  const int map = bpf_map_create(BPF_MAP_TYPE_HASH, "fdi", 4, 8, 16, &opts);
  ASSERT_GE(map, 0) << std::strerror(errno);
  EXPECT_EQ(link_of(map), "anon_inode:bpf-map");
  std::string text = read_fdinfo(map);
  EXPECT_EQ(fdinfo_keys(text),
            (std::vector<std::string>{"pos", "flags", "mnt_id", "ino", "map_type", "key_size",
                                      "value_size", "max_entries", "map_flags", "map_extra",
                                      "memlock", "map_id", "frozen"}))
      << text;
  EXPECT_EQ(fdinfo_value(text, "flags"), "02000002");  // O_RDWR | O_CLOEXEC, as the kernel's
  EXPECT_EQ(fdinfo_value(text, "map_type"), "1");
  EXPECT_EQ(fdinfo_value(text, "value_size"), "8");
  EXPECT_EQ(fdinfo_value(text, "map_flags"), "0x1");
  EXPECT_EQ(fdinfo_value(text, "map_extra"), "0x0");
  EXPECT_EQ(fdinfo_value(text, "frozen"), "0");
  ASSERT_EQ(bpf_map_freeze(map), 0);
  EXPECT_EQ(fdinfo_value(read_fdinfo(map), "frozen"), "1");
  // openat() too, and a read-write open of fdinfo is EACCES (the kernel's files are 0444).
  const int f = openat(AT_FDCWD, ("/proc/self/fdinfo/" + std::to_string(map)).c_str(), O_RDONLY);
  ASSERT_GE(f, 0);
  char buf[16] = {};
  EXPECT_EQ(read(f, buf, 7), 7);
  EXPECT_STREQ(buf, "pos:\t0\n");
  close(f);
  EXPECT_EQ(open(("/proc/self/fdinfo/" + std::to_string(map)).c_str(), O_RDWR), -1);
  EXPECT_EQ(errno, EACCES);

  const bpf_insn insns[] = {{BPF_ALU64 | BPF_MOV | BPF_K, 0, 0, 0, 3}, {BPF_JMP | BPF_EXIT}};
  const int prog = bpf_prog_load(BPF_PROG_TYPE_XDP, "fdi", "GPL", insns, 2, nullptr);
  ASSERT_GE(prog, 0) << std::strerror(errno);
  EXPECT_EQ(link_of(prog), "anon_inode:bpf-prog");
  text = read_fdinfo(prog);
  EXPECT_EQ(fdinfo_keys(text),
            (std::vector<std::string>{"pos", "flags", "mnt_id", "ino", "prog_type", "prog_jited",
                                      "prog_tag", "memlock", "prog_id", "run_time_ns", "run_cnt",
                                      "recursion_misses", "verified_insns"}))
      << text;
  EXPECT_EQ(fdinfo_value(text, "prog_type"), "6");
  EXPECT_EQ(fdinfo_value(text, "memlock"), "4096");
  EXPECT_EQ(fdinfo_value(text, "verified_insns"), "2");
  bpf_prog_info info{};
  uint32_t len = sizeof info;
  ASSERT_EQ(bpf_obj_get_info_by_fd(prog, &info, &len), 0);
  EXPECT_EQ(fdinfo_value(text, "prog_id"), std::to_string(info.id));
  char tag[17];
  for (int i = 0; i < 8; i++) snprintf(tag + 2 * i, 3, "%02x", info.tag[i]);
  EXPECT_EQ(fdinfo_value(text, "prog_tag"), tag);

  // A write-only map fd (BPF_F_WRONLY: the kernel opens its file O_WRONLY) is told apart too.
  LIBBPF_OPTS(bpf_map_create_opts, wo, .map_flags = BPF_F_WRONLY);
  const int wmap = bpf_map_create(BPF_MAP_TYPE_ARRAY, "wo", 4, 8, 1, &wo);
  ASSERT_GE(wmap, 0) << std::strerror(errno);
  EXPECT_EQ(link_of(wmap), "anon_inode:bpf-map");
  EXPECT_EQ(fdinfo_value(read_fdinfo(wmap), "flags"), "02000001");
  close(wmap);

  // Other fds are the kernel's business, as before.
  EXPECT_EQ(link_of(0).rfind("anon_inode:", 0), std::string::npos);
  EXPECT_EQ(read_fdinfo(0).find("map_type"), std::string::npos);
  close(prog);
  close(map);
}

// close() of the last fd of an object: the kernel frees it, so no other process finds it by id.
// bpfbox's object table holds its own fd on the object's file until a sweep; the shim's close()
// sweeps, so the map is gone from this process and from another one's `map show id N` at once.
TEST(PreloadProc, CloseOfTheLastFdFreesTheObject) {
  auto& objects = bpfbox::sys::Objects::get();
  const size_t before = objects.live_count(bpfbox::sys::Kind::Map);
  const int map = bpf_map_create(BPF_MAP_TYPE_ARRAY, "closeme", 4, 8, 2, nullptr);
  ASSERT_GE(map, 0) << std::strerror(errno);
  const int dup_fd = dup(map);
  bpf_map_info info{};
  uint32_t len = sizeof info;
  ASSERT_EQ(bpf_obj_get_info_by_fd(map, &info, &len), 0);
  const std::string id = std::to_string(info.id);
  EXPECT_EQ(objects.live_count(bpfbox::sys::Kind::Map), before + 1);
  close(map);  // the dup still names it
  EXPECT_EQ(objects.live_count(bpfbox::sys::Kind::Map), before + 1);
  const bool bpftool = !sanitizer_build() && access(kBpftool, X_OK) == 0;
  if (bpftool) {
    const ProcessResult r = under_shim({kBpftool, "map", "show", "id", id});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_NE(r.out.find("name closeme"), std::string::npos) << r.out;
  }
  close(dup_fd);
  EXPECT_EQ(objects.live_count(bpfbox::sys::Kind::Map), before);
  if (bpftool) {
    const ProcessResult r = under_shim({kBpftool, "map", "show", "id", id});
    EXPECT_NE(r.exit_code, 0) << r.out;
    EXPECT_NE(r.err.find("No such file or directory"), std::string::npos) << r.err;
  }
}

// perf_event_open of the BPF output event is bpfbox's (the clients' perf_buf case runs libbpf's
// perf_buffer on it); here the kernel's answers around it: errno for what is refused, the ioctls,
// the mmap rules of perf_mmap, the fd's link, a PERF_EVENT_ARRAY holding the event past its fd.
TEST(PreloadProc, PerfEventOpenMmapIoctlAndClose) {
  auto& events = bpfbox::sys::PerfEvents::get();
  const size_t before = events.live_count();
  perf_event_attr attr = bpfbox::testsupport::bpf_output_event_attr();
  auto open_event = [&](int pid, int cpu) {
    return int(syscall(__NR_perf_event_open, &attr, pid, cpu, -1, PERF_FLAG_FD_CLOEXEC));
  };
  EXPECT_EQ(open_event(-1, -1), -1);
  EXPECT_EQ(errno, EINVAL);
  attr.sample_type |= PERF_SAMPLE_TIME;  // bpfbox writes raw samples only
  EXPECT_EQ(open_event(-1, 0), -1);
  EXPECT_EQ(errno, EOPNOTSUPP);
  attr.sample_type = PERF_SAMPLE_RAW;
  EXPECT_EQ(events.live_count(), before);

  const int fd = open_event(-1, 0);
  ASSERT_GE(fd, 0) << std::strerror(errno);
  EXPECT_EQ(events.live_count(), before + 1);
  EXPECT_EQ(link_of(fd), "anon_inode:[perf_event]");
  EXPECT_EQ(fcntl(fd, F_GETFD), FD_CLOEXEC);
  uint64_t id = 0;
  EXPECT_EQ(ioctl(fd, PERF_EVENT_IOC_ID, &id), 0);
  EXPECT_NE(id, 0u);
  EXPECT_EQ(ioctl(fd, PERF_EVENT_IOC_ENABLE, 0), 0);
  EXPECT_EQ(ioctl(fd, PERF_EVENT_IOC_SET_BPF, 3), -1);
  EXPECT_EQ(errno, EINVAL);

  // One page plus 2^n data pages from offset 0; once mapped, the same size only.
  EXPECT_EQ(mmap(nullptr, 4 * 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0), MAP_FAILED);
  EXPECT_EQ(errno, EINVAL);
  EXPECT_EQ(mmap(nullptr, 2 * 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 4096), MAP_FAILED);
  EXPECT_EQ(errno, EINVAL);
  void* p = mmap(nullptr, 3 * 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  ASSERT_NE(p, MAP_FAILED) << std::strerror(errno);
  const auto* up = static_cast<const perf_event_mmap_page*>(p);
  EXPECT_EQ(up->data_offset, 4096u);
  EXPECT_EQ(up->data_size, 2 * 4096u);
  EXPECT_EQ(up->data_head, 0u);
  EXPECT_EQ(mmap(nullptr, 2 * 4096, PROT_READ, MAP_SHARED, fd, 0), MAP_FAILED);
  EXPECT_EQ(errno, EINVAL);

  // A PERF_EVENT_ARRAY takes perf event fds only (EBADF for a map fd, as perf_event_get), and
  // holds the event after its fd is closed, until the map goes.
  const int arr = bpf_map_create(BPF_MAP_TYPE_PERF_EVENT_ARRAY, "pea", 4, 4, 2, nullptr);
  ASSERT_GE(arr, 0) << std::strerror(errno);
  const uint32_t key = 0;
  EXPECT_EQ(bpf_map_update_elem(arr, &key, &arr, BPF_ANY), -EBADF);
  EXPECT_EQ(bpf_map_update_elem(arr, &key, &fd, BPF_ANY), 0);
  munmap(p, 3 * 4096);
  close(fd);
  EXPECT_EQ(events.live_count(), before + 1);
  close(arr);
  EXPECT_EQ(events.live_count(), before);
}

}  // namespace
