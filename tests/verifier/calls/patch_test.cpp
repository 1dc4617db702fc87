// The patcher (verifier/patch.hpp): replacing and removing instructions keeps every relative
// offset (jumps, gotol, bpf-to-bpf calls, BPF_PSEUDO_FUNC loads), the per-instruction facts and
// the subprogram starts right; and a jump that would no longer fit is ERANGE with nothing changed.
#include "verifier/patch.hpp"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "isa/assembler.hpp"
#include "isa/uapi.hpp"

namespace bpfbox::verifier {
namespace {

struct Fixture {
  Options opts;
  Env env{opts};
  explicit Fixture(const std::string& text, std::vector<uint32_t> subprog_starts = {0}) {
    auto r = isa::assemble(text, isa::Syntax::Kernel);
    EXPECT_TRUE(r.is_ok()) << r.status().message();
    if (r.is_ok()) env.insns = r.value();
    env.aux.resize(env.insns.size());
    for (uint32_t i = 0; i < env.aux.size(); ++i) {
      env.aux[i].orig_idx = i;
      env.aux[i].seen = true;
    }
    for (uint32_t s : subprog_starts) env.subprogs.push_back(SubprogInfo{s});
  }
};

struct bpf_insn mov(uint8_t dst, int32_t imm) {
  struct bpf_insn i {};
  i.code = BPF_ALU64 | BPF_MOV | BPF_K;
  i.dst_reg = dst;
  i.imm = imm;
  return i;
}

TEST(Patch, OneByThreeMovesJumpsThatCrossIt) {
  Fixture f(
      "if r1 > 3 goto l1\n"      // 0: crosses the patch forwards
      "r0 = 1\n"                 // 1: patched
      "if r1 > 4 goto l0\n"      // 2: does not cross
      "l0: r0 = 2\n"             // 3
      "goto l2\n"                // 4: does not cross
      "l1: r0 = 3\n"             // 5
      "l2: if r1 > 5 goto l3\n"  // 6: backwards over the patch
      "exit\n"                   // 7
      "l3: goto -9\n"            // 8: to insn 0, across the patch backwards
  );
  const struct bpf_insn p[3] = {mov(0, 7), mov(0, 8), mov(0, 9)};
  ASSERT_TRUE(patch_insn(f.env, 1, p).is_ok());
  ASSERT_EQ(f.env.insns.size(), 11u);
  EXPECT_EQ(f.env.insns[0].off, 6);  // to l1, now at 7
  EXPECT_EQ(f.env.insns[1].imm, 7);
  EXPECT_EQ(f.env.insns[3].imm, 9);
  EXPECT_EQ(f.env.insns[4].off, 0);     // still to the next instruction
  EXPECT_EQ(f.env.insns[6].off, 1);     // goto l2 unchanged
  EXPECT_EQ(f.env.insns[10].off, -11);  // back to 0
  // The last patched instruction keeps the original's facts; the others its orig_idx.
  EXPECT_EQ(f.env.aux[1].orig_idx, 1u);
  EXPECT_EQ(f.env.aux[3].orig_idx, 1u);
  EXPECT_EQ(f.env.aux[4].orig_idx, 2u);
  EXPECT_EQ(f.env.aux[10].orig_idx, 8u);
  EXPECT_TRUE(f.env.aux[2].seen);
}

TEST(Patch, JumpToThePatchedInsnLandsOnItsFirstReplacement) {
  Fixture f(
      "if r1 > 3 goto l1\n"  // 0
      "r0 = 0\n"             // 1
      "l1: r0 = 1\n"         // 2: patched
      "if r1 > 4 goto l1\n"  // 3: back to the patched one
      "exit\n");
  const struct bpf_insn p[2] = {mov(0, 7), mov(0, 8)};
  ASSERT_TRUE(patch_insn(f.env, 2, p).is_ok());
  EXPECT_EQ(f.env.insns[0].off, 1);   // 0 -> 2
  EXPECT_EQ(f.env.insns[4].off, -3);  // 4 -> 2
}

TEST(Patch, CallsGotolAndPseudoFuncMoveToo) {
  Fixture f(
      "call pc+5\n"  // 0: bpf-to-bpf call to 6
      "r0 = 1\n"     // 1: patched
      "gotol +2\n"   // 2: JMP32|JA, imm offset, to 5
      "r0 = 0\n"     // 3
      "r0 = 0\n"     // 4
      "exit\n"       // 5
      "r0 = 2\n"     // 6: subprog 1
      "exit\n",      // 7
      {0, 6});
  ASSERT_EQ(f.env.insns[2].code, BPF_JMP32 | BPF_JA);
  const struct bpf_insn p[4] = {mov(0, 1), mov(0, 2), mov(0, 3), mov(0, 4)};
  ASSERT_TRUE(patch_insn(f.env, 1, p).is_ok());
  EXPECT_EQ(f.env.insns[0].imm, 8);  // 0 -> 9
  EXPECT_EQ(f.env.insns[5].imm, 2);  // gotol does not cross
  ASSERT_EQ(f.env.subprogs.size(), 2u);
  EXPECT_EQ(f.env.subprogs[1].start, 9u);
}

TEST(Patch, PseudoFuncLoadFollowsItsTarget) {
  Fixture f("r0 = 1\nr0 = 2\nexit\nr0 = 0\nexit\n", {0, 3});
  // Insn 0 becomes `r2 = func(pc+...)`: an lddw with BPF_PSEUDO_FUNC pointing at insn 3.
  std::vector<struct bpf_insn> insns(f.env.insns);
  struct bpf_insn ld[2] = {};
  ld[0].code = BPF_LD | BPF_IMM | BPF_DW;
  ld[0].dst_reg = 2;
  ld[0].src_reg = BPF_PSEUDO_FUNC;
  ld[0].imm = 2;  // 0 + 2 + 1 = 3 ... after the insertion below it points at 4
  f.env.insns.insert(f.env.insns.begin(), ld, ld + 2);
  f.env.insns.erase(f.env.insns.begin() + 2);  // lddw replaces r0 = 1
  // Now: 0-1 lddw, 2 r0=2, 3 exit, 4 r0=0 (subprog), 5 exit; imm 2 -> 0+2+1 = 3: fix to 4.
  f.env.insns[0].imm = 3;
  f.env.aux.resize(f.env.insns.size());
  f.env.subprogs[1].start = 4;
  const struct bpf_insn p[3] = {mov(0, 1), mov(0, 2), mov(0, 3)};
  ASSERT_TRUE(patch_insn(f.env, 2, p).is_ok());
  EXPECT_EQ(f.env.insns[0].imm, 5);  // 0 -> 6
  EXPECT_EQ(f.env.insns[1].imm, 0);  // the second slot is data, untouched
  EXPECT_EQ(f.env.subprogs[1].start, 6u);
}

TEST(Patch, RemovalShortensJumpsAndDropsWhollyRemovedSubprograms) {
  Fixture f(
      "if r1 > 3 goto l1\n"  // 0: over the removed range
      "r0 = 1\n"             // 1: removed
      "r0 = 2\n"             // 2: removed
      "l1: r0 = 3\n"         // 3
      "if r1 > 4 goto -5\n"  // 4: back to 0 over the range
      "exit\n"               // 5
      "r0 = 0\n"             // 6: subprog 1, removed
      "exit\n"               // 7: removed
      "r0 = 5\n"             // 8: subprog 2
      "exit\n",              // 9
      {0, 6, 8});
  ASSERT_TRUE(remove_insns(f.env, 1, 2).is_ok());
  EXPECT_EQ(f.env.insns[0].off, 0);
  EXPECT_EQ(f.env.insns[2].off, -3);
  ASSERT_TRUE(remove_insns(f.env, 4, 2).is_ok());
  ASSERT_EQ(f.env.subprogs.size(), 2u);
  EXPECT_EQ(f.env.subprogs[1].start, 4u);
  EXPECT_EQ(f.env.insns.size(), 6u);
  EXPECT_EQ(f.env.aux[4].orig_idx, 8u);
}

TEST(Patch, OffsetThatNoLongerFitsIsErangeAndChangesNothing) {
  Fixture f("if r1 > 3 goto +32767\nr0 = 1\nexit\n");
  f.env.insns.resize(32771, mov(0, 0));
  f.env.insns.back().code = BPF_JMP | BPF_EXIT;
  f.env.aux.resize(f.env.insns.size());
  const std::vector<struct bpf_insn> before = f.env.insns;
  const struct bpf_insn p[2] = {mov(0, 1), mov(0, 2)};
  const Status st = patch_insn(f.env, 1, p);
  EXPECT_EQ(st.err(), ERANGE);
  EXPECT_NE(st.message().find("cannot be patched due to 16-bit range"), std::string::npos)
      << st.message();
  ASSERT_EQ(f.env.insns.size(), before.size());
  EXPECT_EQ(f.env.insns[0].off, 32767);
}

// Property: after any patch or removal, every jump outside the changed range reaches the same
// instruction as before (named by orig_idx), or the replacement's start when it aimed inside.
TEST(Patch, RandomProgramsKeepEveryTarget) {
  std::mt19937 rng(12345);
  for (int round = 0; round < 400; ++round) {
    const uint32_t n = 8 + rng() % 40;
    Options opts;
    Env env(opts);
    for (uint32_t i = 0; i < n; ++i) {
      struct bpf_insn insn {};
      const uint32_t target = rng() % n;
      const int32_t rel = static_cast<int32_t>(target) - static_cast<int32_t>(i) - 1;
      switch (rng() % 4) {
        case 0:
          insn = mov(0, static_cast<int32_t>(i));
          break;
        case 1:
          insn.code = BPF_JMP | BPF_JGT | BPF_K;
          insn.dst_reg = 1;
          insn.off = static_cast<int16_t>(rel);
          break;
        case 2:
          insn.code = BPF_JMP32 | BPF_JA;
          insn.imm = rel;
          break;
        default:
          insn.code = BPF_JMP | BPF_CALL;
          insn.src_reg = BPF_PSEUDO_CALL;
          insn.imm = rel;
          break;
      }
      env.insns.push_back(insn);
      InsnAux a;
      a.orig_idx = i;
      env.aux.push_back(a);
    }
    env.subprogs.push_back(SubprogInfo{0});
    const auto targets = [](const Env& e) {
      std::vector<int64_t> t(e.insns.size(), -1);
      for (size_t i = 0; i < e.insns.size(); ++i) {
        const struct bpf_insn& x = e.insns[i];
        if (x.code == (BPF_JMP | BPF_JGT | BPF_K)) t[i] = static_cast<int64_t>(i) + x.off + 1;
        if (x.code == (BPF_JMP32 | BPF_JA) || x.code == (BPF_JMP | BPF_CALL))
          t[i] = static_cast<int64_t>(i) + x.imm + 1;
      }
      return t;
    };
    const std::vector<int64_t> before = targets(env);
    const std::vector<struct bpf_insn> old = env.insns;
    const uint32_t off = rng() % n;
    const uint32_t old_cnt = 1 + rng() % std::min<uint32_t>(3, n - off);
    const uint32_t new_cnt = rng() % 5;
    std::vector<struct bpf_insn> p(new_cnt, mov(5, 5));
    ASSERT_TRUE(replace_insns(env, off, old_cnt, p).is_ok());
    ASSERT_EQ(env.insns.size(), n - old_cnt + new_cnt);
    const std::vector<int64_t> after = targets(env);
    const int64_t delta = static_cast<int64_t>(new_cnt) - old_cnt;
    for (uint32_t i = 0; i < n; ++i) {
      if (i >= off && i < off + old_cnt) continue;
      const uint32_t ni = i < off ? i : static_cast<uint32_t>(i + delta);
      if (before[i] < 0) continue;
      const int64_t t = before[i];
      const int64_t expect = t < off ? t : t >= off + old_cnt ? t + delta : off;
      EXPECT_EQ(after[ni], expect) << "round " << round << " insn " << i;
      if (static_cast<uint64_t>(expect) < env.aux.size() && (t < off || t >= off + old_cnt)) {
        EXPECT_EQ(env.aux[expect].orig_idx, static_cast<uint32_t>(t));
      }
    }
  }
}

}  // namespace
}  // namespace bpfbox::verifier
