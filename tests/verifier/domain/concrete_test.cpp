// The tests' concrete semantics (concrete.hpp) against the interpreter, so the soundness tests
// check the domain against what programs really compute: every ALU and jump instruction, both
// widths and source forms, on edge and random operands.
#include <gtest/gtest.h>
#include <linux/bpf.h>

#include <vector>

#include "bpfbox/vm.hpp"
#include "concrete.hpp"
#include "domain_gen.hpp"

namespace bpfbox::verifier::test {
namespace {

bpf_insn insn(uint8_t code, uint8_t dst, uint8_t src, int16_t off, int32_t imm) {
  bpf_insn i{};
  i.code = code;
  i.dst_reg = dst & 0xf;
  i.src_reg = src & 0xf;
  i.off = off;
  i.imm = imm;
  return i;
}

const bpf_insn kExit = insn(BPF_JMP | BPF_EXIT, 0, 0, 0, 0);

std::unique_ptr<vm::Executable> compile(const std::vector<bpf_insn>& prog) {
  auto r = vm::compile(vm::EngineKind::Interp, prog, vm::HelperTable{});
  EXPECT_TRUE(r.is_ok()) << r.status().message();
  return r.is_ok() ? std::move(r).value() : nullptr;
}

uint64_t run(const vm::Executable& exe, uint64_t r1, uint64_t r2) {
  vm::RunContext rc;
  return exe.run(rc, r1, r2);
}

struct Alu {
  uint8_t code;
  int16_t off;
  int32_t imm;
};

std::vector<Alu> all_alu() {
  std::vector<Alu> v;
  for (const uint8_t cls : {uint8_t(BPF_ALU64), uint8_t(BPF_ALU)}) {
    for (const uint8_t op : {BPF_ADD, BPF_SUB, BPF_MUL, BPF_DIV, BPF_MOD, BPF_OR, BPF_AND, BPF_XOR,
                             BPF_LSH, BPF_RSH, BPF_ARSH, BPF_MOV})
      for (const uint8_t src : {uint8_t(BPF_K), uint8_t(BPF_X)}) {
        v.push_back({uint8_t(cls | op | src), 0, 0});
        if (op == BPF_DIV || op == BPF_MOD) v.push_back({uint8_t(cls | op | src), 1, 0});
      }
    v.push_back({uint8_t(cls | BPF_NEG), 0, 0});
  }
  for (const int16_t off : {8, 16, 32}) v.push_back({BPF_ALU64 | BPF_MOV | BPF_X, off, 0});
  for (const int16_t off : {8, 16}) v.push_back({BPF_ALU | BPF_MOV | BPF_X, off, 0});
  for (const int32_t bits : {16, 32, 64}) {
    v.push_back({BPF_ALU | BPF_END | BPF_TO_LE, 0, bits});
    v.push_back({BPF_ALU | BPF_END | BPF_TO_BE, 0, bits});
    v.push_back({BPF_ALU64 | BPF_END, 0, bits});
  }
  return v;
}

TEST(ConcreteSemantics, AluMatchesTheInterpreter) {
  DomainGen g(1);
  for (const Alu& a : all_alu()) {
    const uint8_t op = BPF_OP(a.code);
    const bool imm_form = BPF_SRC(a.code) == BPF_K && op != BPF_NEG && op != BPF_END;
    // r0 = r1; r0 OP= (r2 | imm); exit — an immediate form is compiled once per immediate.
    for (int k = 0; k < (imm_form ? 40 : 1); ++k) {
      Alu c = a;
      if (imm_form) c.imm = k < 8 ? k - 2 : int32_t(g.interesting());
      if (imm_form && (op == BPF_LSH || op == BPF_RSH || op == BPF_ARSH))
        c.imm = int32_t(g.below(BPF_CLASS(c.code) == BPF_ALU64 ? 64 : 32));
      if (imm_form && (op == BPF_DIV || op == BPF_MOD) && c.imm == 0) c.imm = 3;  // refused
      const auto exe =
          compile({insn(BPF_ALU64 | BPF_MOV | BPF_X, 0, 1, 0, 0),
                   insn(c.code, 0, BPF_SRC(c.code) == BPF_X && op != BPF_END ? 2 : 0, c.off, c.imm),
                   kExit});
      ASSERT_TRUE(exe) << int(c.code);
      for (int i = 0; i < 400; ++i) {
        const uint64_t x = g.interesting(), y = g.interesting();
        const uint64_t src = imm_form ? uint64_t(int64_t(c.imm)) : y;
        ASSERT_EQ(run(*exe, x, y), eval_alu(c.code, c.off, c.imm, x, src))
            << "code " << std::hex << int(c.code) << " off " << std::dec << c.off << " imm "
            << c.imm << " x=" << x << " y=" << src;
      }
    }
  }
}

TEST(ConcreteSemantics, JumpsMatchTheInterpreter) {
  DomainGen g(2);
  for (const uint8_t cls : {uint8_t(BPF_JMP), uint8_t(BPF_JMP32)})
    for (const uint8_t op : {BPF_JEQ, BPF_JNE, BPF_JGT, BPF_JGE, BPF_JLT, BPF_JLE, BPF_JSGT,
                             BPF_JSGE, BPF_JSLT, BPF_JSLE, BPF_JSET}) {
      // if r1 OP r2 goto +2; r0 = 0; exit; r0 = 1; exit
      const auto exe = compile({insn(uint8_t(cls | op | BPF_X), 1, 2, 2, 0),
                                insn(BPF_ALU64 | BPF_MOV | BPF_K, 0, 0, 0, 0), kExit,
                                insn(BPF_ALU64 | BPF_MOV | BPF_K, 0, 0, 0, 1), kExit});
      ASSERT_TRUE(exe);
      for (int i = 0; i < 2000; ++i) {
        const uint64_t x = g.interesting();
        const uint64_t y = i % 4 == 0 ? x : i % 4 == 1 ? x + g.below(3) - 1 : g.interesting();
        ASSERT_EQ(run(*exe, x, y) == 1, eval_jmp(op, cls == BPF_JMP32, x, y))
            << "op " << std::hex << int(op) << " x=" << x << " y=" << y;
      }
    }
}

}  // namespace
}  // namespace bpfbox::verifier::test
