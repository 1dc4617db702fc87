// End-to-end: the bpfbox binary as a user runs it, files in and out, exit codes and messages.
#include <gtest/gtest.h>

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "subprocess.hpp"

namespace bpfbox::testing {
namespace {

namespace fs = std::filesystem;

class Cli : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("bpfbox_cli_test_" + std::to_string(getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string path(const std::string& name) const { return (dir_ / name).string(); }
  std::string write(const std::string& name, const std::string& content) const {
    std::ofstream(path(name), std::ios::binary) << content;
    return path(name);
  }
  std::string read(const std::string& name) const {
    std::ifstream f(path(name), std::ios::binary);
    std::stringstream s;
    s << f.rdbuf();
    return s.str();
  }
  static ProcessResult bpfbox(std::vector<std::string> args, const std::string& input = "") {
    args.insert(args.begin(), bpfbox_binary());
    return run_process(args, input);
  }
  // A failure is one line on stderr and nothing on stdout.
  static void expect_one_line_error(const ProcessResult& r) {
    EXPECT_NE(r.exit_code, 0);
    EXPECT_EQ(r.out, "");
    ASSERT_FALSE(r.err.empty());
    EXPECT_EQ(r.err.find('\n'), r.err.size() - 1) << r.err;
    EXPECT_EQ(r.err.rfind("bpfbox: ", 0), 0u) << r.err;
  }

  fs::path dir_;
};

constexpr const char* kSum =
    "# sum the bytes of the memory\n"
    "r0 = 0\n"
    "r3 = r1\n"
    "r3 += r2\n"
    "loop:\n"
    "if r1 >= r3 goto done\n"
    "r4 = *(u8 *)(r1 +0)\n"
    "r0 += r4\n"
    "r1 += 1\n"
    "goto loop\n"
    "done:\n"
    "exit\n";

TEST_F(Cli, AsmWritesRawWordsNextToTheInput) {
  const std::string src = write("sum.s", kSum);
  const ProcessResult r = bpfbox({"asm", src});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string bin = read("sum.bin");
  ASSERT_EQ(bin.size(), 9u * 8);
  EXPECT_EQ(static_cast<uint8_t>(bin[0]), 0xb7);      // r0 = 0
  EXPECT_EQ(static_cast<uint8_t>(bin[8 * 8]), 0x95);  // exit
}

TEST_F(Cli, AsmDisasmAsmRoundTrip) {
  const std::string src = write("sum.s", kSum);
  ASSERT_EQ(bpfbox({"asm", src, "-o", path("a.bin")}).exit_code, 0);
  const ProcessResult listing = bpfbox({"disasm", path("a.bin")});
  ASSERT_EQ(listing.exit_code, 0) << listing.err;
  EXPECT_NE(listing.out.find("0: (b7) r0 = 0\n"), std::string::npos) << listing.out;
  EXPECT_NE(listing.out.find("4: (71) r4 = *(u8 *)(r1 +0)\n"), std::string::npos) << listing.out;
  EXPECT_NE(listing.out.find("8: (95) exit\n"), std::string::npos) << listing.out;

  // The listing without its "N: (code) " prefixes assembles back to the same words.
  std::istringstream lines(listing.out);
  std::string line, text;
  while (std::getline(lines, line)) text += line.substr(line.find(')') + 2) + "\n";
  write("b.s", text);
  ASSERT_EQ(bpfbox({"asm", path("b.s"), "-o", path("b.bin")}).exit_code, 0) << text;
  EXPECT_EQ(read("a.bin"), read("b.bin"));
}

TEST_F(Cli, ConformanceSyntaxAssemblesToo) {
  write("c.s", "mov %r0, 1\nlsh %r0, 4\nexit\n");
  ASSERT_EQ(bpfbox({"asm", path("c.s")}).exit_code, 0);
  const ProcessResult r = bpfbox({"run", path("c.bin")});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "0x10\n");
}

TEST_F(Cli, RunTakesTextOrRawAndTheMemory) {
  const std::string src = write("sum.s", kSum);
  ASSERT_EQ(bpfbox({"asm", src}).exit_code, 0);
  for (const std::string& prog : {src, path("sum.bin")}) {
    ProcessResult r = bpfbox({"run", prog, "--mem", "01 02 03 0a"});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.out, "0x10\n");
    r = bpfbox({"run", prog, "--mem", "ff00ff"});
    EXPECT_EQ(r.out, "0x1fe\n");
    r = bpfbox({"run", prog, "--checked", "--mem", "0x05 0x06"});
    EXPECT_EQ(r.out, "0xb\n") << r.err;
  }
  write("mem.bin", std::string("\x10\x20\x30", 3));
  const ProcessResult r = bpfbox({"run", src, "--mem-file", path("mem.bin"), "--checked"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "0x60\n");
  // No memory: r1 is 0 and r2 is 0, so the loop never runs.
  EXPECT_EQ(bpfbox({"run", src}).out, "0x0\n");
}

TEST_F(Cli, ProgramsWriteTheirMemory) {
  write("w.s",
        "*(u32 *)(r1 +0) = 0x11223344\n"
        "r0 = *(u16 *)(r1 +2)\n"
        "exit\n");
  const ProcessResult r = bpfbox({"run", path("w.s"), "--checked", "--mem", "00 00 00 00"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "0x1122\n");
}

TEST_F(Cli, CheckedFaultPrintsWhereAndExitsOne) {
  write("oob.s", "*(u64 *)(r1 +8) = r2\nr0 = 0\nexit\n");
  const ProcessResult r = bpfbox({"run", path("oob.s"), "--checked", "--mem", "01 02 03 04"});
  expect_one_line_error(r);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("fault: pc 0:"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("8 bytes"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("mem"), std::string::npos) << r.err;
}

TEST_F(Cli, BudgetStopsAnEndlessLoop) {
  write("spin.s", "loop:\ngoto loop\nexit\n");
  const ProcessResult r = bpfbox({"run", path("spin.s"), "--budget", "1000"});
  expect_one_line_error(r);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("budget"), std::string::npos) << r.err;
}

TEST_F(Cli, HelpersAreThere) {
  // bpf_trace_printk from a string on the stack, then bpf_get_smp_processor_id.
  write("hello.s",
        "r1 = 0x0a6425206968\n"  // "hi %d\n"
        "*(u64 *)(r10 -8) = r1\n"
        "r1 = r10\n"
        "r1 += -8\n"
        "r2 = 8\n"
        "r3 = 42\n"
        "call 6\n"
        "call 8\n"
        "exit\n");
  const ProcessResult r = bpfbox({"run", path("hello.s"), "--checked"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "0x0\n");
  EXPECT_EQ(r.err, "hi 42\n");
}

TEST_F(Cli, EngineJitRunsOrSaysItIsNotAvailable) {
  write("one.s", "r0 = 1\nexit\n");
  const ProcessResult r = bpfbox({"run", path("one.s"), "--engine", "jit"});
  if (r.exit_code == 0) {
    EXPECT_EQ(r.out, "0x1\n");
    // Constant blinding changes the code, not the result: by the flag or by the sysctl's twin.
    write("imm.s", "r0 = 0x12345678\nr0 += 0x1111\nr0 ^= 0x5a5a\nexit\n");
    const ProcessResult h = bpfbox({"run", path("imm.s"), "--engine", "jit", "--jit-harden"});
    EXPECT_EQ(h.exit_code, 0) << h.err;
    EXPECT_EQ(h.out, "0x12343dd3\n");
    setenv("BPFBOX_JIT_HARDEN", "2", 1);
    const ProcessResult e = bpfbox({"run", path("imm.s"), "--engine", "jit"});
    unsetenv("BPFBOX_JIT_HARDEN");
    EXPECT_EQ(e.exit_code, 0) << e.err;
    EXPECT_EQ(e.out, "0x12343dd3\n");
  } else {
    expect_one_line_error(r);
    EXPECT_EQ(r.err, "bpfbox: engine jit is not available yet\n");
  }
}

// verify --map makes its maps outside bpf(): the maps layer's own mmap of their storage must not be
// taken by the executable's mmap shim for a user's mmap of a map fd (it was: EINVAL/ENOTSUPP).
TEST_F(Cli, VerifyResolvesTheMapsGivenOnItsCommandLine) {
  write("lookup.s",
        "r1 = 0\n*(u32 *)(r10 - 4) = r1\nr2 = r10\nr2 += -4\nr1 = map[fd:0]\ncall 1\n"
        "if r0 == 0 goto out\nr0 = *(u64 *)(r0 + 0)\nout:\nr0 = 0\nexit\n");
  for (const char* spec : {"array:4:8:1", "hash:4:8:16", "ringbuf:0:0:4096"}) {
    const ProcessResult r = bpfbox({"verify", "--map", spec, path("lookup.s")});
    if (std::string(spec).rfind("ringbuf", 0) == 0) {
      // A ring buffer has no lookup: the verifier's refusal, not a map-creation error.
      EXPECT_EQ(r.exit_code, 1) << r.err;
      EXPECT_NE(r.out.find("verdict: reject"), std::string::npos) << spec << "\n" << r.out << r.err;
      continue;
    }
    EXPECT_EQ(r.exit_code, 0) << spec << "\n" << r.err;
    EXPECT_NE(r.out.find("verdict: accept"), std::string::npos) << spec << "\n" << r.out << r.err;
  }
}

TEST_F(Cli, MissingFile) {
  for (const char* cmd : {"asm", "disasm", "run"}) {
    const ProcessResult r = bpfbox({cmd, path("nope.s")});
    expect_one_line_error(r);
    EXPECT_NE(r.err.find("cannot open"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("nope.s"), std::string::npos) << r.err;
  }
}

TEST_F(Cli, GarbageHex) {
  write("one.s", "r0 = 1\nexit\n");
  ProcessResult r = bpfbox({"run", path("one.s"), "--mem", "01 zz"});
  expect_one_line_error(r);
  EXPECT_NE(r.err.find("'zz'"), std::string::npos) << r.err;
  r = bpfbox({"conformance-plugin"}, "b7 00 00 00 01 00 00 0g\n");
  expect_one_line_error(r);
  r = bpfbox({"conformance-plugin"}, "b7 00 00\n");  // not a whole instruction
  expect_one_line_error(r);
  EXPECT_NE(r.err.find("8-byte"), std::string::npos) << r.err;
}

TEST_F(Cli, UnknownOpcodeNamesPcAndOpcode) {
  // r0 = 0; an instruction with opcode 0xff; exit.
  const std::string raw("\xb7\0\0\0\0\0\0\0\xff\0\0\0\0\0\0\0\x95\0\0\0\0\0\0\0", 24);
  write("bad.bin", raw);
  for (const char* cmd : {"run", "disasm"}) {
    const ProcessResult r = bpfbox({cmd, path("bad.bin")});
    EXPECT_NE(r.exit_code, 0);
    EXPECT_NE(r.err.find("ff"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("1"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("opcode"), std::string::npos) << r.err;
  }
  // disasm still shows the listing, marking the bad slot.
  EXPECT_NE(bpfbox({"disasm", path("bad.bin")}).out.find("1: (ff) invalid"), std::string::npos);
}

TEST_F(Cli, BadAssemblyNamesTheLine) {
  write("bad.s", "r0 = 1\nfrobnicate r1\nexit\n");
  for (const char* cmd : {"asm", "run"}) {
    const ProcessResult r = bpfbox({cmd, path("bad.s")});
    expect_one_line_error(r);
    EXPECT_NE(r.err.find("line 2"), std::string::npos) << r.err;
  }
}

TEST_F(Cli, RawSizeMustBeWholeInstructions) {
  write("short.bin", std::string("\x95\0\0\0", 4));
  const ProcessResult r = bpfbox({"run", path("short.bin")});
  expect_one_line_error(r);
  EXPECT_NE(r.err.find("8-byte"), std::string::npos) << r.err;
}

TEST_F(Cli, UsageErrorsAreOneLine) {
  expect_one_line_error(bpfbox({}));
  expect_one_line_error(bpfbox({"frob"}));
  expect_one_line_error(bpfbox({"run"}));
  expect_one_line_error(bpfbox({"run", "x", "--engine", "llvm"}));
  expect_one_line_error(bpfbox({"run", "x", "--mem", "01", "--mem-file", "y"}));
}

TEST_F(Cli, HelpEverywhere) {
  for (std::vector<std::string> args : {std::vector<std::string>{"--help"},
                                        {"asm", "--help"},
                                        {"disasm", "--help"},
                                        {"run", "--help"},
                                        {"conformance-plugin", "--help"}}) {
    const ProcessResult r = bpfbox(args);
    EXPECT_EQ(r.exit_code, 0) << args[0];
    EXPECT_NE(r.out.find("Usage:"), std::string::npos) << r.out;
  }
}

TEST_F(Cli, ConformancePluginSpeaksTheRunnersProtocol) {
  // ldxb r0, [r1+1]; exit — bytes as the runner writes them, memory as one argument.
  const std::string prog = "71  10  01  00  00  00  00  00  95  00  00  00  00  00  00  00  \n";
  ProcessResult r = bpfbox({"conformance-plugin", "aa  bb  cc  "}, prog);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "0xbb\n");
  // Without memory r1 is 0: the load faults with a one-line message.
  r = bpfbox({"conformance-plugin"}, prog);
  expect_one_line_error(r);
  EXPECT_NE(r.err.find("fault"), std::string::npos) << r.err;
}

// The bundled example gives the results its comment documents, on both engines, checked or not.
TEST(Examples, ChecksumOfTheBundledIpv4Headers) {
  const std::string dir = std::string(BPFBOX_SOURCE_DIR) + "/examples/";
  for (const char* engine : {"interp", "jit"}) {
    for (const auto& [data, expected] :
         {std::pair{"ipv4_header.bin", "0xb861"}, std::pair{"ipv4_header_ok.bin", "0x0"}}) {
      for (const bool checked : {false, true}) {
        std::vector<std::string> args = {
            bpfbox_binary(), "run", dir + "checksum.bpf.s", "--mem-file", dir + "data/" + data,
            "--engine",      engine};
        if (checked) args.push_back("--checked");
        const ProcessResult r = run_process(args);
        if (r.err == "bpfbox: engine jit is not available yet\n") continue;
        EXPECT_EQ(r.exit_code, 0) << r.err;
        EXPECT_EQ(r.out, std::string(expected) + "\n") << engine << " " << data;
        EXPECT_EQ(r.err, "csum " + std::string(expected) + " over 20 bytes\n");
      }
    }
  }
}

}  // namespace
}  // namespace bpfbox::testing
