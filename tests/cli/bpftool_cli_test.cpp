// bpftool's commands in the bpfbox CLI (prog show/list/dump/pin, map show/dump/lookup/update/
// delete/getnext/pin/create/freeze/peek/push/enqueue/pop/dequeue, btf, -j/-p, and `prog run ...
// pcap`) on the clang-built examples, as a user runs them: exact text, exit codes, one-line errors.
// Then the same object in the kernel through Debian's bpftool, where bpf() is allowed: same
// verdicts, same map contents, same JSON keys, same xlated instructions up to the kernel's
// map-lookup inlining.
#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <linux/bpf.h>

#include "bpfbox/bpf.h"
#include "runtime_dir.hpp"
#include "subprocess.hpp"

namespace bpfbox::testing {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

std::string object(const std::string& name) {
  return std::string(BPFBOX_BPF_OBJECTS_DIR) + "/" + name + ".bpf.o";
}
std::string traffic_pcap() {
  return std::string(BPFBOX_SOURCE_DIR) + "/examples/data/traffic.pcap";
}

// Every test has its own runtime dir (ids from 1, an empty pin tree), removed afterwards.
class BpftoolCli : public ::testing::Test {
 protected:
  void SetUp() override { rt_.SetUp(); }
  void TearDown() override { rt_.TearDown(); }
  static ProcessResult bpfbox(std::vector<std::string> args) {
    args.insert(args.begin(), bpfbox_binary());
    return run_process(args);
  }
  // Runs and expects success; the output.
  static std::string ok(std::vector<std::string> args) {
    const ProcessResult r = bpfbox(args);
    EXPECT_EQ(r.exit_code, 0) << args[0] << " " << (args.size() > 1 ? args[1] : "") << ": "
                              << r.err;
    EXPECT_EQ(r.err, "");
    return r.out;
  }
  // Runs and expects the one-line error `message`.
  static void fails(std::vector<std::string> args, const std::string& message) {
    const ProcessResult r = bpfbox(args);
    EXPECT_NE(r.exit_code, 0);
    EXPECT_EQ(r.out, "");
    EXPECT_EQ(r.err, "bpfbox: " + message + "\n");
  }
  std::string path(const std::string& name) const { return rt_.dir() + "/" + name; }

  RuntimeDirEnv rt_{"bpfbox-bpftool-cli"};
};

std::vector<std::string> lines(const std::string& s) {
  std::vector<std::string> out;
  std::istringstream in(s);
  for (std::string l; std::getline(in, l);) out.push_back(l);
  return out;
}

// bpftool's loaded_at is the load's boot time plus the boot's wall-clock time, which it computes
// afresh each run (to the second): two runs may differ by one.
std::string mask_loaded_at(std::string s) {
  for (const char* key : {"loaded_at ", "\"loaded_at\":", "\"loaded_at\": "}) {
    for (size_t at = s.find(key); at != std::string::npos; at = s.find(key, at + 1)) {
      const size_t from = at + std::strlen(key);
      size_t to = from;
      while (to < s.size() && s[to] != ' ' && s[to] != ',' && s[to] != '\n') to++;
      s.erase(from, to - from);
    }
  }
  return s;
}

// The instructions of `prog dump xlated`, without the source lines ("; ...") and function headers
// ("int f(...):") it prints when the program has BTF line and func info.
std::vector<std::string> insn_lines(const std::string& s) {
  std::vector<std::string> out;
  for (const std::string& l : lines(s))
    if (!l.empty() && l[0] != ';' && l.back() != ':') out.push_back(l);
  return out;
}

// v as n little-endian bytes in bpftool's JSON ("0x2a", "0x00", ...).
json hex_le(uint64_t v, int n) {
  json a = json::array();
  char b[8];
  for (int i = 0; i < n; i++, v >>= 8) {
    std::snprintf(b, sizeof b, "0x%02x", unsigned(v & 0xff));
    a.push_back(b);
  }
  return a;
}

std::set<std::string> keys(const json& j) {
  std::set<std::string> out;
  for (const auto& [k, v] : j.items()) out.insert(k);
  return out;
}

// The packets of a pcap file (little-endian, as make_traffic_pcap.py writes it).
std::vector<std::string> pcap_packets(const std::string& file) {
  std::ifstream f(file, std::ios::binary);
  std::string d((std::istreambuf_iterator<char>(f)), {});
  std::vector<std::string> out;
  for (size_t at = 24; at + 16 <= d.size();) {
    uint32_t caplen;
    std::memcpy(&caplen, d.data() + at + 8, 4);
    out.push_back(d.substr(at + 16, caplen));
    at += 16 + caplen;
  }
  return out;
}

TEST_F(BpftoolCli, ProgShowListDumpAndPin) {
  ok({"prog", "load", object("xdp_count"), "/sys/fs/bpf/t/prog", "pinmaps", "/sys/fs/bpf/t/maps"});
  const std::vector<std::string> show = lines(ok({"prog", "show", "pinned", "/sys/fs/bpf/t/prog"}));
  ASSERT_GE(show.size(), 3u);
  // The kernel's tag for this program (the kernel's bpftool printed the same).
  const std::string id = show[0].substr(0, show[0].find(':'));
  EXPECT_EQ(show[0], id + ": xdp  name xdp_count  tag d6eafa1623bb640d  gpl");
  EXPECT_EQ(show[1].rfind("\tloaded_at 20", 0), 0u) << show[1];
  EXPECT_NE(show[1].find("  uid " + std::to_string(getuid())), std::string::npos) << show[1];
  EXPECT_EQ(show[2].rfind("\txlated ", 0), 0u) << show[2];
  EXPECT_NE(show[2].find("  map_ids "), std::string::npos) << show[2];
  // The same program by id, name, tag and prefix-abbreviated words, and in the full list.
  const std::string first = mask_loaded_at(ok({"prog", "show", "id", id}));
  EXPECT_EQ(mask_loaded_at(ok({"prog", "show", "name", "xdp_count"})), first);
  EXPECT_EQ(mask_loaded_at(ok({"prog", "show", "tag", "d6eafa1623bb640d"})), first);
  EXPECT_EQ(mask_loaded_at(ok({"prog", "s", "i", id})), first);
  EXPECT_NE(mask_loaded_at(ok({"prog", "list"})).find(first), std::string::npos);

  json j = json::parse(ok({"-j", "prog", "show", "id", id}));
  EXPECT_GT(j["loaded_at"], 1700000000);
  j.erase("loaded_at");
  EXPECT_EQ(j["id"], std::stoi(id));
  EXPECT_EQ(j["type"], "xdp");
  EXPECT_EQ(j["name"], "xdp_count");
  EXPECT_EQ(j["tag"], "d6eafa1623bb640d");
  EXPECT_EQ(j["gpl_compatible"], true);
  EXPECT_EQ(j["map_ids"].size(), 4u);
  const std::string pretty = ok({"prog", "show", "id", id, "-p"});
  json jp = json::parse(pretty);
  jp.erase("loaded_at");
  EXPECT_EQ(jp, j);
  EXPECT_EQ(pretty.rfind("{\n    \"id\": " + id + ",\n    \"type\": \"xdp\",\n", 0), 0u) << pretty;
  EXPECT_TRUE(json::parse(ok({"-j", "prog", "list"})).is_array());

  const std::vector<std::string> xl = insn_lines(ok({"prog", "dump", "xlated", "id", id}));
  ASSERT_GT(xl.size(), 10u);
  EXPECT_EQ(xl[0], "   0: (79) r2 = *(u64 *)(r1 +0)");
  EXPECT_EQ(xl[1], "   1: (79) r6 = *(u64 *)(r1 +8)");
  EXPECT_EQ(xl.back().substr(xl.back().find(':')), ": (95) exit");
  EXPECT_NE(
      std::find_if(xl.begin(), xl.end(),
                   [](const std::string& l) { return l.find("= map[id:") != std::string::npos; }),
      xl.end());
  const std::vector<std::string> op =
      insn_lines(ok({"prog", "dump", "xlated", "id", id, "opcodes"}));
  ASSERT_GT(op.size(), 2u);
  EXPECT_EQ(op[1], "       79 12 00 00 00 00 00 00");
  const json jx = json::parse(ok({"-j", "prog", "dump", "xlated", "id", id, "opcodes"}));
  EXPECT_EQ(jx[0]["disasm"], "(79) r2 = *(u64 *)(r1 +0)");
  EXPECT_EQ(jx[0]["opcodes"]["code"], "0x79");
  EXPECT_EQ(jx[0]["opcodes"]["imm"], json::array({"0x00", "0x00", "0x00", "0x00"}));

  ok({"prog", "pin", "id", id, "/sys/fs/bpf/t/again"});
  EXPECT_EQ(mask_loaded_at(ok({"prog", "show", "pinned", "/sys/fs/bpf/t/again"})), first);

  fails({"prog", "show", "pinned", "/sys/fs/bpf/t/maps/verdicts"}, "incorrect object type: map");
  fails({"prog", "show", "id", "999999"}, "get by id (999999): No such file or directory");
  fails({"prog", "show", "pinned", "/sys/fs/bpf/t/none"},
        "bpf obj get (/sys/fs/bpf/t/none): No such file or directory");
  fails({"prog", "show", "name", "nope"}, "can't find any prog with name nope");
  fails({"prog", "show", "bogus", "1"}, "expected 'id', 'tag', 'name' or 'pinned', got: 'bogus'?");
  fails({"prog", "dump", "raw", "id", id}, "expected 'xlated' or 'jited', got: raw");
  fails({"prog", "show", "id", id, "extra"}, "too many arguments, unexpected: 'extra'");
  fails({"prog", "frobnicate"},
        "unknown prog command 'frobnicate' (show, list, dump, pin, load, loadall, run)");
}

TEST_F(BpftoolCli, MapCreateUpdateLookupGetnextDeleteFreeze) {
  const std::string m = "/sys/fs/bpf/h";
  ok({"map", "create", m, "type", "hash", "key", "4", "value", "8", "entries", "4", "name",
      "clih"});
  const std::string show = ok({"map", "show", "pinned", m});
  const std::string id = show.substr(0, show.find(':'));
  EXPECT_EQ(show, id + ": hash  name clih  flags 0x0\n\tkey 4B  value 8B  max_entries 4" +
                      show.substr(show.find("  memlock ")));
  EXPECT_EQ(ok({"map", "show", "name", "clih"}), show);

  EXPECT_EQ(ok({"map", "update", "pinned", m, "key", "1", "0", "0", "0", "value", "1", "2", "3",
                "4", "5", "6", "7", "8"}),
            "");
  ok({"map", "update", "pinned", m,   "key", "hex", "0a", "00", "00", "00",     "value",
      "hex", "ff",     "0",      "0", "0",   "0",   "0",  "0",  "0",  "noexist"});
  EXPECT_EQ(ok({"map", "lookup", "pinned", m, "key", "1", "0", "0", "0"}),
            "key: 01 00 00 00  value: 01 02 03 04 05 06 07 08\n");
  EXPECT_EQ(ok({"-j", "map", "lookup", "pinned", m, "key", "10", "0", "0", "0"}),
            "{\"key\":[\"0x0a\",\"0x00\",\"0x00\",\"0x00\"],\"value\":[\"0xff\",\"0x00\",\"0x00\","
            "\"0x00\",\"0x00\",\"0x00\",\"0x00\",\"0x00\"]}\n");
  const std::string dump = ok({"map", "dump", "pinned", m});
  EXPECT_NE(dump.find("key: 01 00 00 00  value: 01 02 03 04 05 06 07 08\n"), std::string::npos);
  EXPECT_NE(dump.find("key: 0a 00 00 00  value: ff 00 00 00 00 00 00 00\n"), std::string::npos);
  EXPECT_EQ(dump.substr(dump.size() - 17), "Found 2 elements\n");
  EXPECT_EQ(json::parse(ok({"-j", "map", "dump", "id", id})).size(), 2u);

  const std::string next = ok({"map", "getnext", "pinned", m});
  EXPECT_EQ(next.rfind("key: None\nnext key:\n", 0), 0u) << next;
  const ProcessResult missing = bpfbox({"map", "lookup", "pinned", m, "key", "2", "0", "0", "0"});
  EXPECT_EQ(missing.exit_code, 254);  // bpftool returns the lookup's -ENOENT
  EXPECT_EQ(missing.out, "key:\n02 00 00 00\n\nNot found\n");
  EXPECT_EQ(missing.err, "");
  EXPECT_EQ(ok({"-j", "map", "lookup", "pinned", m, "key", "1", "0", "0", "0", "-p"}).front(), '{');

  fails({"map", "update", "pinned", m, "key", "1", "0", "0", "0", "value", "0", "0", "0", "0", "0",
         "0", "0", "0", "noexist"},
        "update failed: File exists");
  fails({"map", "update", "pinned", m, "key", "1", "0", "0", "value", "1"},
        "error parsing byte: value");
  fails({"map", "lookup", "pinned", m, "key", "1", "0", "0"}, "key expected 4 bytes got 3");
  fails({"map", "lookup", "pinned", m, "key", "zz", "0", "0", "0"}, "error parsing byte: zz");
  fails({"map", "lookup", "pinned", m}, "did not find key");
  fails({"map", "delete", "pinned", m, "key", "9", "0", "0", "0"},
        "delete failed: No such file or directory");
  fails({"map", "create", "/sys/fs/bpf/x", "type", "nosuch", "key", "4", "value", "4", "entries",
         "1", "name", "x"},
        "unrecognized map type: nosuch");
  fails(
      {"map", "create", "/sys/fs/bpf/x", "type", "hash", "key", "4", "value", "4", "entries", "1"},
      "map name not specified");

  EXPECT_EQ(ok({"map", "delete", "pinned", m, "key", "1", "0", "0", "0"}), "");
  ok({"map", "pin", "id", id, "/sys/fs/bpf/h2"});
  EXPECT_EQ(ok({"map", "dump", "pinned", "/sys/fs/bpf/h2"}),
            "key: 0a 00 00 00  value: ff 00 00 00 00 00 00 00\nFound 1 element\n");
  EXPECT_EQ(ok({"-j", "map", "freeze", "pinned", m}), "null\n");
  EXPECT_NE(ok({"map", "show", "id", id}).find("\n\tfrozen\n"), std::string::npos);
  EXPECT_EQ(json::parse(ok({"-j", "map", "show", "id", id}))["frozen"], 1);
  fails({"map", "update", "pinned", m, "key", "1", "0", "0", "0", "value", "0", "0", "0", "0", "0",
         "0", "0", "0"},
        "update failed: Operation not permitted");
}

// The main job: xdp_filter over examples/data/traffic.pcap, then its maps (the kernel gives the
// same counts: BpftoolCli.AgreesWithTheKernelsBpftool).
TEST_F(BpftoolCli, PcapRunCountsVerdictsWritesPassingPacketsAndFillsMaps) {
  ok({"prog", "load", object("xdp_filter"), "/sys/fs/bpf/f", "pinmaps", "/sys/fs/bpf/fm"});
  const std::string out = path("pass.pcap");
  EXPECT_EQ(ok({"prog", "run", "pinned", "/sys/fs/bpf/f", "pcap", traffic_pcap(), "out", out}),
            "packets 16  bytes 997\n"
            "XDP_DROP         4\n"
            "XDP_PASS         12\n"
            "written 12 packets to " +
                out + "\n");
  // The packets that passed, in order: every input packet but the 4 UDP ones.
  const std::vector<std::string> in = pcap_packets(traffic_pcap()), passed = pcap_packets(out);
  std::vector<std::string> expected;
  for (const std::string& p : in)
    if (!(p.size() > 23 && p[12] == 0x08 && p[13] == 0 && p[23] == 17)) expected.push_back(p);
  EXPECT_EQ(passed, expected);

  // The bytes of each element (-j has them whether or not the map's BTF formats them too).
  std::vector<std::pair<json, json>> proto;
  for (const json& e :
       json::parse(ok({"-j", "map", "dump", "pinned", "/sys/fs/bpf/fm/proto_count"})))
    proto.emplace_back(e["key"], e["value"]);
  std::sort(proto.begin(), proto.end());
  EXPECT_EQ(proto, (std::vector<std::pair<json, json>>{{hex_le(1, 4), hex_le(3, 8)},      // ICMP
                                                       {hex_le(6, 4), hex_le(7, 8)},      // TCP
                                                       {hex_le(17, 4), hex_le(4, 8)}}));  // UDP
  const json src = json::parse(ok({"-j", "map", "dump", "pinned", "/sys/fs/bpf/fm/src_count"}));
  ASSERT_EQ(src.size(), 3u);
  for (const json& e : src) {
    if (e["key"] == json::array({"0x0a", "0x00", "0x00", "0x01"})) {  // 10.0.0.1: 6 packets, 347 B
      EXPECT_EQ(e["value"],
                json::array({"0x06", "0x00", "0x00", "0x00", "0x00", "0x00", "0x00", "0x00", "0x5b",
                             "0x01", "0x00", "0x00", "0x00", "0x00", "0x00", "0x00"}));
    }
  }
  // A second run over the same capture, from the object file, in JSON.
  const json j =
      json::parse(ok({"-j", "prog", "run", object("xdp_filter"), "pcap", traffic_pcap()}));
  EXPECT_EQ(j,
            json::parse(R"({"packets":16,"bytes":997,"verdicts":{"XDP_DROP":4,"XDP_PASS":12}})"));

  fails(
      {"prog", "run", "pinned", "/sys/fs/bpf/f", "pcap", path("none.pcap")},
      "can't read " + path("none.pcap") + ": " + path("none.pcap") + ": No such file or directory");
  fails({"prog", "run", "pinned", "/sys/fs/bpf/f", "pcap", traffic_pcap(), "repeat", "2"},
        "pcap runs every packet: repeat does not apply");
}

// Debian's bpftool under libbpfbox-preload.so reads the same runtime dir: every command prints the
// same text as bpfbox's own (loaded_at masked: each run computes it afresh).
TEST_F(BpftoolCli, SameTextAsBpftoolUnderThePreloadShim) {
  const char* bpftool = "/usr/sbin/bpftool";
  if (access(bpftool, X_OK) != 0) GTEST_SKIP() << "no bpftool";
#ifdef __SANITIZE_ADDRESS__
  // As tests/shim: bpftool is not instrumented, and under the ASan-built library each command
  // takes seconds on a loaded machine; the release build compares the texts.
  GTEST_SKIP() << "bpftool under the preload library runs in the release build only";
#endif
  ok({"prog", "load", object("xdp_filter"), "/sys/fs/bpf/f", "pinmaps", "/sys/fs/bpf/fm"});
  ok({"prog", "run", "pinned", "/sys/fs/bpf/f", "pcap", traffic_pcap()});
  const std::string m = "/sys/fs/bpf/fm/src_count";
  const std::vector<std::vector<std::string>> commands = {
      {"prog", "show"},
      {"-j", "prog", "show", "name", "xdp_filter"},
      {"prog", "dump", "xlated", "pinned", "/sys/fs/bpf/f", "opcodes"},
      {"-j", "prog", "dump", "xlated", "pinned", "/sys/fs/bpf/f", "opcodes"},
      {"map", "show"},
      {"-p", "map", "show", "pinned", m},
      {"map", "dump", "pinned", m},
      {"-j", "map", "dump", "pinned", m},
      {"map", "lookup", "pinned", m, "key", "10", "0", "0", "9"},
      {"map", "getnext", "pinned", m, "key", "10", "0", "0", "1"},
      {"btf", "show"},
      {"btf", "dump", "map", "pinned", m, "format", "c"},
      {"-j", "btf", "dump", "map", "pinned", m},
  };
  for (const auto& c : commands) {
    std::vector<std::string> argv = {"/usr/bin/env",
                                     std::string("LD_PRELOAD=") + BPFBOX_PRELOAD_LIB};
    argv.push_back(bpftool);
    argv.insert(argv.end(), c.begin(), c.end());
    const ProcessResult theirs = run_process(argv);
    const ProcessResult mine = bpfbox(c);
    std::string line;
    for (const std::string& w : c) line += w + " ";
    EXPECT_EQ(mask_loaded_at(mine.out), mask_loaded_at(theirs.out)) << line;
    EXPECT_EQ(mine.exit_code, theirs.exit_code) << line << theirs.err;
  }
}

// -j/-p: a failed command prints bpftool's {"error": ...} on stdout, nothing on stderr. -f: prog
// show and map show list each object's pins ("pinned PATH" lines, a "pinned" array). Both compared
// with Debian's bpftool on the kernel for the same pins where it runs (the same paths: bpfbox's
// /sys/fs/bpf is its runtime dir's pin tree).
TEST_F(BpftoolCli, JsonErrorsAndPinnedPathsAsTheKernelsBpftool) {
  const char* bpftool = "/usr/sbin/bpftool";
  const std::string d = "/sys/fs/bpf/bpfbox_cli_pins" + std::to_string(getpid());
  const std::vector<std::string> load = {"prog",       "loadall", object("tail_call"),
                                         d + "_progs", "pinmaps", d + "_maps"};
  const std::string pa = d + "_maps/jump_table";
  const std::vector<std::string> pin = {"map", "pin", "pinned", pa, d + "_pa"};
  ok(load);
  ok(pin);
  auto theirs = [&](std::vector<std::string> args) {
    args.insert(args.begin(), bpftool);
    return run_process(args);
  };
  struct Cleanup {
    std::string d;
    ~Cleanup() {
      for (const char* s : {"_progs", "_maps", "_pa"}) fs::remove_all(d + s);
    }
  } cleanup{d};
  const bool kernel = geteuid() == 0 && access(bpftool, X_OK) == 0 && theirs(load).exit_code == 0 &&
                      theirs(pin).exit_code == 0;

  const std::string enoent = ": No such file or directory";
  const std::vector<std::pair<std::vector<std::string>, std::string>> errors = {
      {{"-j", "prog", "show", "pinned", d + "_none"},
       "{\"error\":\"bpf obj get (" + d + "_none)" + enoent + "\"}\n"},
      {{"-j", "map", "show", "id", "999999999"},
       "{\"error\":\"get map by id (999999999)" + enoent + "\"}\n"},
      {{"-p", "prog", "dump", "xlated", "id", "999999999"},
       "{\n    \"error\": \"get by id (999999999)" + enoent + "\"\n}\n"},
      {{"-j", "map", "lookup", "pinned", pa, "key", "1", "0"},
       "{\"error\":\"key expected 4 bytes got 2\"}\n"},
      {{"-j", "map", "show", "pinned", d + "_progs/tail_entry"},
       "{\"error\":\"incorrect object type: prog\"}\n"},
  };
  for (const auto& [args, out] : errors) {
    const ProcessResult mine = bpfbox(args);
    EXPECT_EQ(mine.out, out);
    EXPECT_EQ(mine.err, "");
    EXPECT_EQ(mine.exit_code, 255);
    if (kernel) {
      const ProcessResult k = theirs(args);
      EXPECT_EQ(k.out, out);
      EXPECT_EQ(k.exit_code, 255);
    }
  }

  // The prog array holds two pins (bpfbox lists them by path).
  const std::string text = ok({"-f", "map", "show", "pinned", pa});
  const std::vector<std::string> l = lines(text);
  ASSERT_EQ(l.size(), 5u) << text;
  EXPECT_EQ(l[2], "\towner_prog_type xdp  owner jited");
  EXPECT_EQ(l[3], "\tpinned " + pa);
  EXPECT_EQ(l[4], "\tpinned " + d + "_pa");
  json mj = json::parse(ok({"-f", "-j", "map", "show", "pinned", pa}));
  EXPECT_EQ(mj["pinned"], json::array({pa, d + "_pa"}));
  EXPECT_FALSE(json::parse(ok({"-j", "map", "show", "pinned", pa})).contains("pinned"));
  const json pj = json::parse(ok({"-f", "-j", "prog", "show", "pinned", d + "_progs/tail_entry"}));
  EXPECT_EQ(pj["pinned"], json::array({d + "_progs/tail_entry"}));
  const std::string ptext = ok({"prog", "show", "pinned", d + "_progs/tail_target", "-f"});
  EXPECT_NE(ptext.find("\n\tpinned " + d + "_progs/tail_target\n"), std::string::npos) << ptext;
  if (!kernel) return;
  // The kernel's: the same lines but the id's, the pins in its tree walk's order.
  auto norm = [](const std::string& s) {
    std::vector<std::string> v = lines(s.substr(s.find(':')));
    std::sort(v.begin() + 1, v.end());
    return v;
  };
  EXPECT_EQ(norm(theirs({"-f", "map", "show", "pinned", pa}).out), norm(text));
  json kj = json::parse(theirs({"-f", "-j", "map", "show", "pinned", pa}).out);
  std::sort(kj["pinned"].begin(), kj["pinned"].end());
  kj.erase("id");
  mj.erase("id");
  EXPECT_EQ(mj, kj);
  const json kp =
      json::parse(theirs({"-f", "-j", "prog", "show", "pinned", d + "_progs/tail_entry"}).out);
  EXPECT_EQ(pj["pinned"], kp["pinned"]);
}

// Queues and stacks (two entries): peek, push/enqueue (full: E2BIG, unless `exist` replaces the
// oldest),
// pop/dequeue to empty ("Error: empty map" on stdout and a failure, as bpftool), in bpfbox's CLI,
// in Debian's bpftool under the preload shim and in Debian's bpftool against the kernel: the
// same stdout and the same success or failure, command by command.
TEST_F(BpftoolCli, QueueAndStackCommandsAsBpftool) {
  const char* bpftool = "/usr/sbin/bpftool";
  const bool shim = access(bpftool, X_OK) == 0;
  const bool kernel = shim && geteuid() == 0;
  struct Step {
    std::vector<std::string> args;  // "P" stands for the map's pin path
    std::string queue_out, stack_out;
    bool ok;
  };
  const std::vector<Step> steps = {
      {{"map", "push", "pinned", "P", "value", "1", "0", "0", "0"}, "", "", true},
      {{"map", "enqueue", "pinned", "P", "value", "hex", "02", "00", "00", "00"}, "", "", true},
      {{"map", "push", "pinned", "P", "value", "4", "0", "0", "0"}, "", "", false},
      {{"map", "push", "pinned", "P", "value", "5", "0", "0", "0", "exist"}, "", "", true},
      {{"map", "peek", "pinned", "P"}, "value: 02 00 00 00\n", "value: 05 00 00 00\n", true},
      {{"-j", "map", "pop", "pinned", "P"},
       "{\"key\":[],\"value\":[\"0x02\",\"0x00\",\"0x00\",\"0x00\"]}\n",
       "{\"key\":[],\"value\":[\"0x05\",\"0x00\",\"0x00\",\"0x00\"]}\n",
       true},
      {{"map", "dequeue", "pinned", "P"}, "value: 05 00 00 00\n", "value: 02 00 00 00\n", true},
      {{"map", "pop", "pinned", "P"}, "Error: empty map\n", "Error: empty map\n", false},
      {{"-j", "map", "dequeue", "pinned", "P"}, "null\n", "null\n", false},
  };
#ifdef __SANITIZE_ADDRESS__
  // The stack runs the same CLI code; under ASan each command costs seconds on a loaded machine.
  const std::vector<const char*> types = {"queue"};
#else
  const std::vector<const char*> types = {"queue", "stack"};
#endif
  for (const char* type : types) {
    const std::string mine_pin = "/sys/fs/bpf/" + std::string(type);
    const std::string shim_pin = mine_pin + "_shim";
    const std::string kernel_pin =
        "/sys/fs/bpf/bpfbox_cli_test_" + std::string(type) + std::to_string(getpid());
    struct Cleanup {
      std::string pin;
      ~Cleanup() { fs::remove(pin); }
    } cleanup{kernel_pin};
    auto create = [&](const std::string& pin) {
      return std::vector<std::string>{"map",   "create", pin,       "type", type,   "key", "0",
                                      "value", "4",      "entries", "2",    "name", "qs"};
    };
    const std::vector<std::string> preload = {
        "/usr/bin/env", std::string("LD_PRELOAD=") + BPFBOX_PRELOAD_LIB, bpftool};
    auto bpftool_argv = [&](const std::vector<std::string>& prefix, std::vector<std::string> args) {
      args.insert(args.begin(), prefix.begin(), prefix.end());
      return args;
    };
    ok(create(mine_pin));
#ifdef __SANITIZE_ADDRESS__
    const bool use_shim = false;  // as SameTextAsBpftoolUnderThePreloadShim
#else
    // The stack's expectations were taken from the kernel too; comparing the queue is enough to
    // check the commands' text (each process costs ~0.1 s on a loaded machine).
    const bool use_shim = shim && std::string(type) == "queue";
#endif
    if (use_shim) {
      ASSERT_EQ(run_process(bpftool_argv(preload, create(shim_pin))).exit_code, 0);
    }
    const bool use_kernel = kernel && std::string(type) == "queue" &&
                            run_process(bpftool_argv({bpftool}, create(kernel_pin))).exit_code == 0;
    for (const Step& st : steps) {
      auto with = [&](const std::string& pin) {
        std::vector<std::string> a = st.args;
        std::replace(a.begin(), a.end(), std::string("P"), pin);
        return a;
      };
      std::string line = type;
      for (const std::string& w : st.args) line += " " + w;
      const ProcessResult mine = bpfbox(with(mine_pin));
      EXPECT_EQ(mine.out, std::string(type) == "queue" ? st.queue_out : st.stack_out) << line;
      EXPECT_EQ(mine.exit_code == 0, st.ok) << line << ": " << mine.err;
      if (use_shim) {
        const ProcessResult theirs = run_process(bpftool_argv(preload, with(shim_pin)));
        EXPECT_EQ(theirs.out, mine.out) << "bpftool under the shim: " << line;
        EXPECT_EQ(theirs.exit_code, mine.exit_code) << "bpftool under the shim: " << line;
      }
      if (use_kernel) {
        const ProcessResult theirs = run_process(bpftool_argv({bpftool}, with(kernel_pin)));
        EXPECT_EQ(theirs.out, mine.out) << "bpftool, kernel: " << line;
        EXPECT_EQ(theirs.exit_code, mine.exit_code) << "bpftool, kernel: " << line;
      }
    }
  }
}

// The same object in the kernel, through Debian's bpftool: the same verdict per packet, the same
// map contents, the same JSON keys and the same xlated instructions up to the first helper call
// (from there the kernel inlines hash lookups into __htab_map_lookup_elem, bpfbox does not).
TEST_F(BpftoolCli, AgreesWithTheKernelsBpftool) {
  const char* bpftool = "/usr/sbin/bpftool";
  if (geteuid() != 0 || access(bpftool, X_OK) != 0) GTEST_SKIP() << "no bpftool or not root";
  const std::string kpin = "/sys/fs/bpf/bpfbox_cli_test_" + std::to_string(getpid());
  ProcessResult k =
      run_process({bpftool, "prog", "load", object("xdp_filter"), kpin, "pinmaps", kpin + "_maps"});
  if (k.exit_code != 0) GTEST_SKIP() << "the kernel refused the load: " << k.err;
  struct Cleanup {
    std::string pin;
    ~Cleanup() {
      fs::remove(pin);
      fs::remove_all(pin + "_maps");
    }
  } cleanup{kpin};

  // bpfbox runs the capture in one go; the kernel, one bpftool run per packet.
  ok({"prog", "load", object("xdp_filter"), "/sys/fs/bpf/f", "pinmaps", "/sys/fs/bpf/fm"});
  const json mine_run =
      json::parse(ok({"-j", "prog", "run", "pinned", "/sys/fs/bpf/f", "pcap", traffic_pcap()}));
  const std::vector<std::string> packets = pcap_packets(traffic_pcap());
  json verdicts = json::object();
  for (size_t i = 0; i < packets.size(); i++) {
    const std::string f = path("pkt" + std::to_string(i));
    std::ofstream(f, std::ios::binary) << packets[i];
    k = run_process({bpftool, "-j", "prog", "run", "pinned", kpin, "data_in", f});
    ASSERT_EQ(k.exit_code, 0) << k.err;
    const int ret = json::parse(k.out)["retval"];
    const std::string name = ret == 1 ? "XDP_DROP" : ret == 2 ? "XDP_PASS" : std::to_string(ret);
    verdicts[name] = verdicts.value(name, 0) + 1;
  }
  EXPECT_EQ(mine_run["verdicts"], verdicts);
  for (const char* map : {"proto_count", "src_count"}) {
    k = run_process({bpftool, "-j", "map", "dump", "pinned", kpin + "_maps/" + map});
    ASSERT_EQ(k.exit_code, 0) << k.err;
    json theirs = json::parse(k.out);
    json mine =
        json::parse(ok({"-j", "map", "dump", "pinned", std::string("/sys/fs/bpf/fm/") + map}));
    // Hash order is the implementation's; "formatted" needs the map's BTF ids in bpf_map_info.
    auto norm = [&](json& a) {
      const bool formatted = !mine.empty() && mine[0].contains("formatted");
      for (json& e : a)
        if (!formatted) e.erase("formatted");
      std::sort(a.begin(), a.end());
    };
    norm(theirs);
    norm(mine);
    EXPECT_EQ(mine, theirs) << map;
  }

  // JSON keys: bpfbox's are the kernel's, less those it cannot have yet (listed).
  auto same_keys = [](const json& mine, const json& theirs, std::set<std::string> not_yet) {
    std::set<std::string> m = keys(mine), t = keys(theirs);
    for (const std::string& key : m) EXPECT_TRUE(t.count(key)) << "bpfbox has " << key;
    for (const std::string& key : t)
      EXPECT_TRUE(m.count(key) || not_yet.count(key)) << "bpfbox lacks " << key;
  };
  k = run_process({bpftool, "-j", "prog", "show", "pinned", kpin});
  same_keys(json::parse(ok({"-j", "prog", "show", "pinned", "/sys/fs/bpf/f"})), json::parse(k.out),
            {"btf_id", "bytes_jited", "run_time_ns", "run_cnt"});
  k = run_process({bpftool, "-j", "map", "show", "pinned", kpin + "_maps/src_count"});
  same_keys(json::parse(ok({"-j", "map", "show", "pinned", "/sys/fs/bpf/fm/src_count"})),
            json::parse(k.out), {"btf_id"});

  // xlated: the kernel's lines (source lines and function headers left out) until the first call.
  k = run_process({bpftool, "prog", "dump", "xlated", "pinned", kpin});
  const std::vector<std::string> theirs = insn_lines(k.out);
  const std::vector<std::string> mine =
      insn_lines(ok({"prog", "dump", "xlated", "pinned", "/sys/fs/bpf/f"}));
  size_t n = 0;
  // Map ids differ, and so do the kernel's jump distances over the lookups it inlined.
  auto mask = [](std::string l) {
    for (const char* cut : {"map[id:", "goto pc"})
      if (const size_t at = l.find(cut); at != std::string::npos)
        l = l.substr(0, at + std::strlen(cut));
    return l;
  };
  while (n < theirs.size() && n < mine.size() && theirs[n].find("call") == std::string::npos) {
    EXPECT_EQ(mask(mine[n]), mask(theirs[n]));
    n++;
  }
  EXPECT_GE(n, 20u);
}

// A program with bpf-to-bpf calls (bench/progs' bpf2bpf_parse, four static functions, one called
// four times): each call names its callee as bpftool does for a JITed program, "call
// pc+31#bpf_prog_<the callee's tag>_parse_eth", with the kernel's xlated encoding (the offset in
// off, the callee's index in imm). The kernel's bpftool prints the same bytes, text and JSON.
TEST_F(BpftoolCli, XlatedCallsAsTheKernelsBpftool) {
  const std::string obj = std::string(BPFBOX_BENCH_OBJECTS_DIR) + "/bpf2bpf_parse.bpf.o";
  ok({"prog", "load", obj, "/sys/fs/bpf/p"});
  const std::string text = ok({"prog", "dump", "xlated", "pinned", "/sys/fs/bpf/p", "opcodes"});
  const std::vector<std::string> xl = lines(text);
  const auto call = std::find_if(xl.begin(), xl.end(), [](const std::string& l) {
    return l.find("(85) call pc+") != std::string::npos;
  });
  ASSERT_NE(call, xl.end());
  ASSERT_NE(call->find('#'), std::string::npos) << *call;
  EXPECT_EQ(call->substr(call->find('#')).size(), std::string("#bpf_prog_").size() + 16 + 10)
      << *call;
  EXPECT_NE(call->find("_parse_eth"), std::string::npos) << *call;
  // "85 10 <off> 00 <callee index> 00 00 00".
  EXPECT_EQ((call + 1)->substr(0, 22), "       85 10 1f 00 01 ") << *(call + 1);

  const char* bpftool = "/usr/sbin/bpftool";
  if (geteuid() != 0 || access(bpftool, X_OK) != 0) GTEST_SKIP() << "no bpftool or not root";
  const std::string kpin = "/sys/fs/bpf/bpfbox_cli_calls_" + std::to_string(getpid());
  ProcessResult k = run_process({bpftool, "prog", "load", obj, kpin});
  if (k.exit_code != 0) GTEST_SKIP() << "the kernel refused the load: " << k.err;
  struct Cleanup {
    std::string pin;
    ~Cleanup() { fs::remove(pin); }
  } cleanup{kpin};
  // bpftool takes one of opcodes, linum, visual.
  const std::vector<std::vector<std::string>> runs = {
      {"prog", "dump", "xlated", "pinned", "P", "opcodes"},
      {"-j", "prog", "dump", "xlated", "pinned", "P", "opcodes"},
      {"-j", "prog", "dump", "xlated", "pinned", "P", "linum"}};
  for (const std::vector<std::string>& args : runs) {
    std::vector<std::string> mine = args, theirs = args;
    std::replace(mine.begin(), mine.end(), std::string("P"), std::string("/sys/fs/bpf/p"));
    std::replace(theirs.begin(), theirs.end(), std::string("P"), kpin);
    theirs.insert(theirs.begin(), bpftool);
    k = run_process(theirs);
    ASSERT_EQ(k.exit_code, 0) << k.err;
    EXPECT_EQ(ok(mine), k.out) << args[0] << " " << args.back();
  }
}

// `link show|list|pin|detach` as Debian's bpftool prints them for an XDP link (its 6.1 text: id,
// type, prog id; -f adds the pins), and bpftool's exit statuses: 254 (-ENOENT) for a link id that
// does not exist, 255 for the other failures. Compared with bpftool under the preload shim where
// it runs, but for -f (the kernel's bpftool showed the same text, pins too, for its own XDP link
// on lo).
TEST_F(BpftoolCli, LinkCommandsAsBpftool) {
  ASSERT_EQ(bpfbox_set_runtime_dir(rt_.dir().c_str()), 0);
  const bpf_insn insns[2] = {{BPF_ALU64 | BPF_MOV | BPF_K, 0, 0, 0, XDP_PASS},
                             {BPF_JMP | BPF_EXIT, 0, 0, 0, 0}};
  union bpf_attr a;
  std::memset(&a, 0, sizeof a);
  a.prog_type = BPF_PROG_TYPE_XDP;
  a.insns = reinterpret_cast<uint64_t>(insns);
  a.insn_cnt = 2;
  a.license = reinterpret_cast<uint64_t>("GPL");
  const int prog = bpfbox_bpf(BPF_PROG_LOAD, &a, sizeof a);
  ASSERT_GE(prog, 0) << bpfbox_bpf_last_error();
  std::memset(&a, 0, sizeof a);
  a.link_create.prog_fd = uint32_t(prog);
  a.link_create.target_ifindex = 1;
  a.link_create.attach_type = BPF_XDP;
  const int link = bpfbox_bpf(BPF_LINK_CREATE, &a, sizeof a);
  ASSERT_GE(link, 0) << bpfbox_bpf_last_error();
  bpf_link_info info;
  std::memset(&info, 0, sizeof info);
  std::memset(&a, 0, sizeof a);
  a.info.bpf_fd = uint32_t(link);
  a.info.info_len = sizeof info;
  a.info.info = reinterpret_cast<uint64_t>(&info);
  ASSERT_EQ(bpfbox_bpf(BPF_OBJ_GET_INFO_BY_FD, &a, sizeof a), 0);
  const std::string id = std::to_string(info.id), prog_id = std::to_string(info.prog_id);
  fs::create_directories(rt_.dir() + "/fs");
  std::memset(&a, 0, sizeof a);
  a.bpf_fd = uint32_t(link);
  a.pathname = reinterpret_cast<uint64_t>("/sys/fs/bpf/xdp_link");
  ASSERT_EQ(bpfbox_bpf(BPF_OBJ_PIN, &a, sizeof a), 0) << bpfbox_bpf_last_error();

  const std::string line = id + ": xdp  prog " + prog_id + "  ";
  const std::string obj = "{\"id\":" + id + ",\"type\":\"xdp\",\"prog_id\":" + prog_id;
  const std::string pins = ",\"pinned\":[\"/sys/fs/bpf/xdp_link\"]}";
  const std::string enoent = "failed to get link with ID 999999: No such file or directory";
  struct Case {
    std::vector<std::string> args;
    std::string out;
    int status;
  };
  const std::vector<Case> cases = {
      {{"link", "show"}, line + "\n", 0},
      {{"link", "list", "id", id}, line + "\n", 0},
      {{"-f", "link", "show", "pinned", "/sys/fs/bpf/xdp_link"},
       line + "\n\tpinned /sys/fs/bpf/xdp_link\n",
       0},
      {{"-j", "link", "show"}, "[" + obj + "}]\n", 0},
      {{"-j", "-f", "link", "show", "id", id}, obj + pins + "\n", 0},
      {{"-j", "link", "show", "id", "999999"}, "{\"error\":\"" + enoent + "\"}\n", 254},
      {{"-j", "link", "show", "bogus"}, "{\"error\":\"what is 'bogus'?\"}\n", 255},
      {{"-j", "link", "show", "bogus", "1"},
       "{\"error\":\"expected 'id' or 'pinned', got: 'bogus'?\"}\n",
       255},
      {{"-j", "map", "show", "id", "999999"},
       "{\"error\":\"get map by id (999999): No such file or directory\"}\n",
       255},
  };
  const char* bpftool = "/usr/sbin/bpftool";
  bool compare = access(bpftool, X_OK) == 0;
#ifdef __SANITIZE_ADDRESS__
  compare = false;  // as SameTextAsBpftoolUnderThePreloadShim
#endif
  for (const Case& c : cases) {
    std::string cmd;
    for (const std::string& w : c.args) cmd += w + " ";
    const ProcessResult mine = bpfbox(c.args);
    EXPECT_EQ(mine.out, c.out) << cmd;
    EXPECT_EQ(mine.exit_code, c.status) << cmd << mine.err;
    // Under the shim bpftool finds no pins (it walks the bpf mounts of /proc/mounts): no -f there.
    if (!compare || c.args[0] == "-f" || c.args[1] == "-f") continue;
    std::vector<std::string> argv = {"/usr/bin/env",
                                     std::string("LD_PRELOAD=") + BPFBOX_PRELOAD_LIB, bpftool};
    argv.insert(argv.end(), c.args.begin(), c.args.end());
    const ProcessResult theirs = run_process(argv);
    EXPECT_EQ(mine.out, theirs.out) << cmd;
    EXPECT_EQ(mine.exit_code, theirs.exit_code) << cmd << theirs.err;
  }
  const ProcessResult missing = bpfbox({"link", "show", "id", "999999"});
  EXPECT_EQ(missing.err, "bpfbox: " + enoent + "\n");
  EXPECT_EQ(missing.exit_code, 254);

  // detach: the link stays, as the kernel's (its prog id too), with no interface.
  EXPECT_EQ(ok({"-j", "link", "detach", "pinned", "/sys/fs/bpf/xdp_link"}), "null\n");
  EXPECT_EQ(ok({"link", "show", "id", id}), line + "\n");
  close(link);
  close(prog);
}

}  // namespace
}  // namespace bpfbox::testing
