// `dump jited`: the per-instruction native offsets, the capstone listing interleaved with the
// eBPF text, jited_line_info addresses, and `bpfbox jit-dump` end to end.
#include <gtest/gtest.h>

#include <cerrno>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>

#include "jit_harness.hpp"
#include "vm/jit/dump.hpp"

namespace bpfbox::vm::jit::test {
namespace {

Prog sample() {
  Prog p;
  p << I(Op::Mov64K, 0, 0, 0, 1);    // 0
  p.lddw(2, 0x1122334455667788ull);  // 1..2
  p << I(Op::Jeq64K, 1, 0, 1, 0)     // 3
    << I(Op::Add64X, 0, 2)           // 4
    << I(Op::StxDW, 10, 0, -8)       // 5
    << I(Op::LdxDW, 0, 10, -8)       // 6
    << I(Op::Exit);                  // 7
  return p;
}

std::unique_ptr<Executable> jit_exe(const Prog& p, bool checked = false) {
  auto exe = jit::compile(p.insns, test_helpers(), ExecOptions{checked, 0});
  EXPECT_TRUE(exe) << exe.status().message();
  return exe ? std::move(exe).value() : nullptr;
}

TEST(JitDump, OffsetsCoverTheBodyInOrder) {
  const Prog p = sample();
  for (bool checked : {false, true}) {
    auto exe = jit_exe(p, checked);
    ASSERT_TRUE(exe);
    const NativeLayout info = exe->native_layout();
    ASSERT_EQ(info.insn_offsets.size(), p.size() + 1);
    for (size_t pc = 0; pc < p.size(); ++pc)
      EXPECT_LE(info.insn_offsets[pc], info.insn_offsets[pc + 1]) << pc;
    EXPECT_EQ(info.insn_offsets[2], info.insn_offsets[3]);  // an lddw's second slot: no code
    EXPECT_LT(info.insn_offsets[0], info.insn_offsets[1]);  // every real instruction has code
    EXPECT_LE(info.insn_offsets[p.size()], info.size);
    if (checked) {
      EXPECT_LT(info.insn_offsets[p.size()], info.size);  // the stubs and thunks
    }
  }
}

// The native instruction lines of a dump: "   a:\tmnemonic operands".
std::vector<std::pair<uint64_t, std::string>> native_lines(const std::string& dump) {
  std::vector<std::pair<uint64_t, std::string>> out;
  std::istringstream in(dump);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == ';') continue;
    const size_t tab = line.find('\t');
    out.emplace_back(std::stoull(line.substr(0, tab), nullptr, 16), line.substr(tab + 1));
  }
  return out;
}

TEST(JitDump, InterleavesEachInstructionWithItsCode) {
  const Prog p = sample();
  auto exe = jit_exe(p);
  ASSERT_TRUE(exe);
  auto dump = dump_jited(*exe, p.insns);
  if (!dump && dump.status().err() == EOPNOTSUPP) GTEST_SKIP() << dump.status().message();
  ASSERT_TRUE(dump) << dump.status().message();
  const std::string& d = *dump;
  // The eBPF text as the verifier log prints it, in order, the lddw once.
  size_t at = 0;
  for (const char* text : {"; 0: (b7) r0 = 1\n", "; 1: (18) r2 = 0x1122334455667788\n",
                           "; 3: (15) if r1 == 0x0 goto pc+1\n", "; 4: (0f) r0 += r2\n",
                           "; 5: (7b) *(u64 *)(r10 -8) = r0\n", "; 6: (79) r0 = *(u64 *)(r10 -8)\n",
                           "; 7: (95) exit\n"}) {
    const size_t found = d.find(text, at);
    ASSERT_NE(found, std::string::npos) << text << "\n" << d;
    at = found;
  }
  EXPECT_EQ(d.find("; 2:"), std::string::npos);
  // r0 = 1 is a 32-bit move of 1 into eax (AT&T, as bpftool prints), right under its line.
  const size_t r0 = d.find("; 0: (b7) r0 = 1\n");
  const std::string first = d.substr(r0, d.find('\n', d.find('\n', r0) + 1) - r0);
  EXPECT_NE(first.find("mov"), std::string::npos) << first;
  EXPECT_NE(first.find("$1, %eax"), std::string::npos) << first;
  EXPECT_NE(d.find("movabs"), std::string::npos);
  // The lines cover the whole code, each starting where the previous one ended.
  const auto lines = native_lines(d);
  ASSERT_FALSE(lines.empty());
  EXPECT_EQ(lines[0].first, 0u);
  const NativeLayout info = exe->native_layout();
  for (size_t pc = 0; pc < p.size(); ++pc) {
    bool starts_a_line = false;
    for (const auto& l : lines) starts_a_line |= l.first == info.insn_offsets[pc];
    EXPECT_TRUE(starts_a_line) << "pc " << pc;
  }
  for (const auto& l : lines) EXPECT_EQ(l.second.find("(bad)"), std::string::npos) << l.second;
  // With --opcodes, the bytes of the first instruction are the code's first bytes.
  auto with_bytes = dump_jited(*exe, p.insns, DumpOptions{true});
  ASSERT_TRUE(with_bytes);
  char first_byte[8];
  std::snprintf(first_byte, sizeof first_byte, "\t%02x ", info.code[0]);
  EXPECT_NE(with_bytes->find(first_byte), std::string::npos) << *with_bytes;
}

TEST(JitDump, CheckedCodeShowsTheOutOfLinePart) {
  const Prog p = sample();
  auto exe = jit_exe(p, true);
  ASSERT_TRUE(exe);
  auto dump = dump_jited(*exe, p.insns);
  if (!dump && dump.status().err() == EOPNOTSUPP) GTEST_SKIP() << dump.status().message();
  ASSERT_TRUE(dump);
  EXPECT_NE(dump->find("; out of line: fault stubs, thunks\n"), std::string::npos);
  EXPECT_NE(dump->find("; prologue\n"), std::string::npos);
}

TEST(JitDump, RefusesOtherEnginesAndOtherPrograms) {
  const Prog p = sample();
  auto interp = compile(EngineKind::Interp, p.insns, test_helpers(), {});
  ASSERT_TRUE(interp);
  auto d = dump_jited(**interp, p.insns);
  ASSERT_FALSE(d);
  EXPECT_EQ(d.status().err(), EINVAL);
  auto exe = jit_exe(p);
  Prog shorter;
  shorter << I(Op::Mov64K, 0, 0, 0, 1) << I(Op::Exit);
  auto d2 = dump_jited(*exe, shorter.insns);
  ASSERT_FALSE(d2);
  EXPECT_EQ(d2.status().err(), EINVAL);
}

// bpf_prog_info's view (Executable::native_layout): jited_line_info addresses, and one
// jited_ksyms / jited_func_lens entry per function, main first, the functions tiling the body.
TEST(JitDump, NativeLayout) {
  const Prog p = sample();
  auto exe = jit_exe(p);
  ASSERT_TRUE(exe);
  const NativeLayout layout = exe->native_layout();
  ASSERT_NE(layout.code, nullptr);
  ASSERT_EQ(layout.insn_offsets.size(), p.insns.size() + 1);
  const uint32_t lines[] = {0, 3, 7};
  auto addrs = vm::jited_line_addresses(*exe, lines);
  ASSERT_TRUE(addrs) << addrs.status().message();
  ASSERT_EQ(addrs->size(), 3u);
  // The first line is the function's address, the prologue included (as the kernel's).
  EXPECT_EQ((*addrs)[0], reinterpret_cast<uint64_t>(layout.code));
  for (size_t i = 1; i < 3; ++i)
    EXPECT_EQ((*addrs)[i], reinterpret_cast<uint64_t>(layout.code) + layout.insn_offsets[lines[i]]);
  const uint32_t past[] = {8};
  auto bad = vm::jited_line_addresses(*exe, past);
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.status().err(), EINVAL);
  ASSERT_EQ(layout.funcs.size(), 1u);
  EXPECT_EQ(layout.funcs[0].addr, reinterpret_cast<uint64_t>(layout.code));
  EXPECT_EQ(layout.funcs[0].len, layout.insn_offsets[p.insns.size()]);

  // main: r0 = f(1) + g(2); f at 5 calls g at 8.
  Prog q;
  q << I(Op::Mov64K, 1, 0, 0, 1) << I(Op::CallLocal, 0, 0, 0, 3)  // 0, 1: call f
    << I(Op::Mov64X, 6, 0) << I(Op::CallLocal, 0, 0, 0, 4)        // 2, 3: call g
    << I(Op::Exit)                                                // 4
    << I(Op::Mov64K, 1, 0, 0, 5) << I(Op::CallLocal, 0, 0, 0, 1)  // 5, 6: f calls g
    << I(Op::Exit)                                                // 7
    << I(Op::Mov64X, 0, 1) << I(Op::Add64K, 0, 0, 0, 1)           // 8, 9: g
    << I(Op::Exit);                                               // 10
  auto e2 = jit_exe(q);
  ASSERT_TRUE(e2);
  const NativeLayout l2 = e2->native_layout();
  ASSERT_EQ(l2.funcs.size(), 3u);
  const uint64_t base = reinterpret_cast<uint64_t>(l2.code);
  const uint32_t starts[] = {0, 5, 8};
  uint64_t end = base;
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(l2.funcs[i].insn, starts[i]);
    EXPECT_EQ(l2.funcs[i].addr, i ? base + l2.insn_offsets[starts[i]] : base);
    EXPECT_EQ(l2.funcs[i].addr, end) << "function " << i << " does not follow the previous one";
    EXPECT_GT(l2.funcs[i].len, 0u);
    end = l2.funcs[i].addr + l2.funcs[i].len;
  }
  EXPECT_EQ(end, base + l2.insn_offsets[q.insns.size()]);
  const uint32_t q_lines[] = {0, 2, 5, 9};
  auto q_addrs = vm::jited_line_addresses(*e2, q_lines);
  ASSERT_TRUE(q_addrs);
  EXPECT_EQ((*q_addrs)[0], base);
  EXPECT_EQ((*q_addrs)[1], base + l2.insn_offsets[2]);
  EXPECT_EQ((*q_addrs)[2], l2.funcs[1].addr);
  EXPECT_EQ((*q_addrs)[3], base + l2.insn_offsets[9]);
  EXPECT_LE(l2.insn_offsets[q.insns.size()], l2.size);

  // The interpreter has no native code.
  auto interp = compile(EngineKind::Interp, q.insns, test_helpers(), {});
  ASSERT_TRUE(interp);
  EXPECT_EQ((*interp)->native_layout().code, nullptr);
  auto none = vm::jited_line_addresses(**interp, lines);
  ASSERT_FALSE(none);
  EXPECT_EQ(none.status().err(), EINVAL);
}

TEST(JitDump, CommandLine) {
  const std::string dir = ::testing::TempDir();
  const std::string src = dir + "/jit_dump_test.s";
  std::ofstream(src) << "r0 = 7\nr0 += 3\nexit\n";
  const std::string cmd = std::string(BPFBOX_BINARY_DIR) + "/bpfbox jit-dump " + src + " 2>&1";
  FILE* f = popen(cmd.c_str(), "r");
  ASSERT_NE(f, nullptr);
  std::string out;
  char buf[512];
  while (size_t n = std::fread(buf, 1, sizeof buf, f)) out.append(buf, n);
  const int status = pclose(f);
  if (out.find("without capstone") != std::string::npos) GTEST_SKIP() << out;
  EXPECT_EQ(status, 0) << out;
  EXPECT_NE(out.find("; 0: (b7) r0 = 7\n"), std::string::npos) << out;
  EXPECT_NE(out.find("; 1: (07) r0 += 3\n"), std::string::npos) << out;
  EXPECT_NE(out.find("$7, %eax"), std::string::npos) << out;
  EXPECT_NE(out.find("ret"), std::string::npos) << out;
  // Errors are one line, exit status 1.
  FILE* g =
      popen((std::string(BPFBOX_BINARY_DIR) + "/bpfbox jit-dump /nonexistent 2>&1").c_str(), "r");
  ASSERT_NE(g, nullptr);
  out.clear();
  while (size_t n = std::fread(buf, 1, sizeof buf, g)) out.append(buf, n);
  EXPECT_EQ(WEXITSTATUS(pclose(g)), 1);
  EXPECT_EQ(out.rfind("bpfbox: ", 0), 0u) << out;
}

}  // namespace
}  // namespace bpfbox::vm::jit::test
