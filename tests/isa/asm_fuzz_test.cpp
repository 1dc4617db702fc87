// Garbage in: random bytes, random token soup and mutated listings never crash or hang the
// assembler or the disassembler; every failure is EINVAL/E2BIG with "line N: ...", and every
// success is made of instructions the decoder accepts.
#include <gtest/gtest.h>

#include <cstring>
#include <random>
#include <sstream>

#include "isa/assembler.hpp"
#include "isa/decoder.hpp"
#include "isa/disasm.hpp"

namespace bpfbox::isa {
namespace {

void expect_sane(std::string_view text) {
  auto r = assemble(text);
  if (!r) {
    EXPECT_TRUE(r.status().err() == EINVAL || r.status().err() == E2BIG) << text;
    EXPECT_TRUE(r.status().message().starts_with("line ")) << r.status().message();
    return;
  }
  for (size_t pc = 0; pc < r->size();) {
    Decoded d;
    const Status st = decode(*r, pc, d);
    ASSERT_TRUE(st) << "assembled an invalid instruction from '" << text << "': " << st.message();
    pc += d.slots;
  }
}

TEST(AsmFuzz, RandomBytes) {
  std::mt19937 rng(1);
  for (int n = 0; n < 3000; ++n) {
    std::string s(rng() % 64, '\0');
    for (char& c : s) c = static_cast<char>(rng());
    expect_sane(s);
    if (testing::Test::HasFailure()) return;
  }
}

TEST(AsmFuzz, TokenSoup) {
  const char* const vocab[] = {"r0",
                               "r1",
                               "w2",
                               "r10",
                               "r11",
                               "%r3",
                               "%w3",
                               "=",
                               "+=",
                               "s/=",
                               "s>>=",
                               "<<=",
                               "==",
                               "s>",
                               "&",
                               "(",
                               ")",
                               "[",
                               "]",
                               "*",
                               "u32",
                               "s8",
                               "u64",
                               "0x10",
                               "-",
                               "+",
                               "pc",
                               "goto",
                               "gotol",
                               "if",
                               "call",
                               "#",
                               "lock",
                               "fetch",
                               "add",
                               "add32",
                               "mov",
                               "ll",
                               "map",
                               "fd",
                               ":",
                               "idx",
                               "subprog",
                               "exit",
                               "lbl",
                               ",",
                               "atomic64_fetch_add",
                               "atomic_cmpxchg",
                               "load_acquire",
                               "store_release",
                               "skb",
                               "99999999999999999999",
                               "-2147483649",
                               "4294967295",
                               "le16",
                               "bswap64",
                               "ja",
                               "ja32",
                               "jeq",
                               "ldxw",
                               "stxdw",
                               "lock",
                               "cmpxchg",
                               "0",
                               "1",
                               "-1",
                               "32767",
                               "-32768",
                               "65536",
                               "kernel-function",
                               "off",
                               "hi",
                               "btf_id",
                               "local",
                               "may_goto",
                               "lbl:",
                               "\n",
                               "\n",
                               ";",
                               "//",
                               "0:",
                               "(b7)",
                               "0x",
                               "1x"};
  std::mt19937 rng(2);
  for (int n = 0; n < 20000; ++n) {
    std::string s;
    const int len = static_cast<int>(rng() % 12);
    for (int i = 0; i < len; ++i) {
      s += vocab[rng() % std::size(vocab)];
      if (rng() % 3) s += ' ';
    }
    expect_sane(s);
    if (testing::Test::HasFailure()) return;
  }
}

TEST(AsmFuzz, MutatedListings) {
  std::mt19937 rng(3);
  for (int n = 0; n < 20000; ++n) {
    // A random valid instruction's text with one character replaced, inserted or dropped.
    const Op op = static_cast<Op>(rng() % kOpCount);
    Insn prog[2] = {};
    if (op == Op::Lddw)
      encode_lddw(static_cast<uint8_t>(rng() % 11), static_cast<uint8_t>(rng() % 7), rng(), prog);
    else
      prog[0] = encode(op, static_cast<uint8_t>(rng() % 11), static_cast<uint8_t>(rng() % 11),
                       static_cast<int16_t>(rng()), static_cast<int32_t>(rng()));
    Decoded d;
    std::string text = decode(prog, 0, d) ? disassemble(d) : "r0 = 1";
    const size_t at = rng() % (text.size() + 1);
    const char c = "r0w9=+-*()[]#:,x %s"[rng() % 19];
    switch (rng() % 3) {
      case 0:
        if (at < text.size()) text[at] = c;
        break;
      case 1:
        text.insert(at, 1, c);
        break;
      default:
        if (at < text.size()) text.erase(at, 1);
    }
    expect_sane(text);
    if (testing::Test::HasFailure()) return;
  }
}

TEST(AsmFuzz, DisassemblerTakesAnyBytes) {
  std::mt19937 rng(4);
  int readback = 0;
  for (int n = 0; n < 6000; ++n) {
    std::vector<Insn> prog(1 + rng() % 16);
    for (Insn& insn : prog) {
      uint64_t word = (static_cast<uint64_t>(rng()) << 32) | rng();
      std::memcpy(&insn, &word, sizeof insn);
      // Half of them with a real opcode and registers, so many decode.
      if (rng() % 2) {
        insn.code = info(static_cast<Op>(rng() % kOpCount)).code;
        insn.dst_reg = static_cast<uint8_t>(rng() % 11);
        insn.src_reg = static_cast<uint8_t>(rng() % 11);
      }
    }
    const std::string listing = disassemble_program(prog);
    size_t lines = 0;
    for (char c : listing) lines += c == '\n';
    EXPECT_GE(lines, 1u);
    EXPECT_LE(lines, prog.size());
    // Each line the disassembler could decode reads back to the same instruction.
    std::istringstream lines_in(listing);
    std::string line;
    while (std::getline(lines_in, line)) {
      if (line.ends_with("invalid")) continue;
      const size_t pc = std::stoul(line);
      auto r = assemble(line);
      ASSERT_TRUE(r) << line << ": " << r.status().message();
      ASSERT_LE(pc + r->size(), prog.size()) << line;
      EXPECT_EQ(std::memcmp(r->data(), &prog[pc], r->size() * sizeof(Insn)), 0) << line;
      ++readback;
    }
  }
  EXPECT_GT(readback, 300);
}

TEST(AsmFuzz, LongLinesAndHugeCountsStayBounded) {
  expect_sane(std::string(100000, '('));
  expect_sane("r0 = " + std::string(5000, '9'));
  expect_sane(std::string(50000, '\n') + "exit");
  std::string many;
  for (int i = 0; i < 1000; ++i) many += "l" + std::to_string(i) + ": ";
  expect_sane(many + "exit");
}

}  // namespace
}  // namespace bpfbox::isa
