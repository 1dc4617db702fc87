// Soundness of the numeric domain against concrete execution: for random abstract operands and
// random concrete members of them, the abstract result of every ALU operation (both widths, both
// source forms) contains the concrete result, and for every conditional jump the refined operands
// on the side the concrete pair takes contain the pair, and the branch is never claimed decided
// against it. Each test runs on the order of 10^5 concrete checks in a fraction of a second.
#include <gtest/gtest.h>
#include <linux/bpf.h>

#include <algorithm>
#include <sstream>
#include <string>
#include <vector>

#include "concrete.hpp"
#include "domain_gen.hpp"
#include "verifier/scalar.hpp"

namespace bpfbox::verifier::test {
namespace {

constexpr int kAbstractPairs = 3000;
constexpr int kMembers = 6;  // per operand: kMembers^2 concrete pairs per abstract pair
constexpr int kMaxReported = 5;

std::string describe(const Scalar& s) {
  std::ostringstream o;
  o << "{var_off=" << s.var_off.to_string() << " s=[" << s.smin << "," << s.smax << "] u=["
    << s.umin << "," << s.umax << "] s32=[" << s.s32_min << "," << s.s32_max << "] u32=["
    << s.u32_min << "," << s.u32_max << "]}";
  return o.str();
}

std::vector<uint64_t> members(DomainGen& g, const Scalar& s) {
  std::vector<uint64_t> out;
  for (int i = 0; i < kMembers; ++i)
    if (auto v = g.member(s)) out.push_back(*v);
  return out;
}

// ---- ALU ----

struct AluCase {
  std::string name;
  uint8_t code;
  int16_t off;
  int32_t imm;  // BPF_END: the width; otherwise drawn per pair for BPF_K
};

std::vector<AluCase> alu_cases() {
  std::vector<AluCase> cases;
  struct Named {
    const char* name;
    uint8_t op;
    int16_t off;
  };
  const Named binary[] = {{"add", BPF_ADD, 0},   {"sub", BPF_SUB, 0},  {"mul", BPF_MUL, 0},
                          {"div", BPF_DIV, 0},   {"sdiv", BPF_DIV, 1}, {"mod", BPF_MOD, 0},
                          {"smod", BPF_MOD, 1},  {"or", BPF_OR, 0},    {"and", BPF_AND, 0},
                          {"xor", BPF_XOR, 0},   {"lsh", BPF_LSH, 0},  {"rsh", BPF_RSH, 0},
                          {"arsh", BPF_ARSH, 0}, {"mov", BPF_MOV, 0}};
  for (const uint8_t cls : {uint8_t(BPF_ALU64), uint8_t(BPF_ALU)}) {
    const std::string w = cls == BPF_ALU64 ? "64" : "32";
    for (const auto& b : binary) {
      cases.push_back({std::string(b.name) + w + "_imm", uint8_t(cls | b.op | BPF_K), b.off, 0});
      cases.push_back({std::string(b.name) + w + "_reg", uint8_t(cls | b.op | BPF_X), b.off, 0});
    }
    cases.push_back({"neg" + w, uint8_t(cls | BPF_NEG), 0, 0});
  }
  for (const int16_t off : {8, 16, 32})
    cases.push_back({"movsx64_" + std::to_string(off), BPF_ALU64 | BPF_MOV | BPF_X, off, 0});
  for (const int16_t off : {8, 16})
    cases.push_back({"movsx32_" + std::to_string(off), BPF_ALU | BPF_MOV | BPF_X, off, 0});
  for (const int32_t bits : {16, 32, 64}) {
    const std::string n = std::to_string(bits);
    cases.push_back({"le" + n, BPF_ALU | BPF_END | BPF_TO_LE, 0, bits});
    cases.push_back({"be" + n, BPF_ALU | BPF_END | BPF_TO_BE, 0, bits});
    cases.push_back({"bswap" + n, BPF_ALU64 | BPF_END, 0, bits});
  }
  return cases;
}

void apply(const AluCase& c, Scalar& dst, const Scalar& src) {
  const uint8_t op = BPF_OP(c.code);
  const bool alu64 = BPF_CLASS(c.code) == BPF_ALU64;
  if (op == BPF_NEG)
    scalar_neg(dst, alu64);
  else if (op == BPF_END)
    scalar_endian(dst, c.code, c.imm);
  else
    scalar_alu(dst, src, op, alu64, c.off);
}

class AluSoundness : public ::testing::TestWithParam<AluCase> {};

TEST_P(AluSoundness, ResultContainsEveryConcreteResult) {
  const AluCase& c = GetParam();
  DomainGen g(0x5eed0000 + c.code * 131 + c.off * 7 + c.imm);
  const uint8_t op = BPF_OP(c.code);
  const bool imm_form = BPF_SRC(c.code) == BPF_K && op != BPF_END && op != BPF_NEG;
  const bool shift = op == BPF_LSH || op == BPF_RSH || op == BPF_ARSH;
  const unsigned width = BPF_CLASS(c.code) == BPF_ALU64 ? 64 : 32;
  int failures = 0;
  long checks = 0;
  for (int i = 0; i < kAbstractPairs && failures < kMaxReported; ++i) {
    AluCase k = c;
    Scalar src;
    if (imm_form) {
      // Shifts by an immediate below the width are the ones the kernel accepts; others too.
      k.imm = shift && g.below(8) ? int32_t(g.below(width)) : int32_t(g.interesting());
      src = Scalar::constant(uint64_t(int64_t(k.imm)));
    } else if (shift && g.coin()) {
      src = g.coin() ? Scalar::constant(g.below(width)) : g.scalar();
    } else {
      src = g.scalar();
    }
    const Scalar dst = g.scalar();
    Scalar result = dst;
    apply(k, result, src);
    const auto xs = members(g, dst), ys = members(g, src);
    for (uint64_t x : xs)
      for (uint64_t y : ys) {
        const uint64_t r = eval_alu(k.code, k.off, k.imm, x, y);
        ++checks;
        if (!result.contains(r) && failures++ < kMaxReported)
          ADD_FAILURE() << c.name << " imm=" << k.imm << "\n dst " << describe(dst) << " x=" << x
                        << "\n src " << describe(src) << " y=" << y << "\n result "
                        << describe(result) << " misses " << r;
      }
  }
  EXPECT_GT(checks, kAbstractPairs * 4);  // the sampler found members for nearly every value
}

INSTANTIATE_TEST_SUITE_P(Ops, AluSoundness, ::testing::ValuesIn(alu_cases()),
                         [](const auto& param_info) { return param_info.param.name; });

// ---- Conditional jumps ----

struct JmpCase {
  std::string name;
  uint8_t op;
  bool is32;
  bool imm_form;
};

std::vector<JmpCase> jmp_cases() {
  const std::pair<const char*, uint8_t> ops[] = {
      {"jeq", BPF_JEQ},   {"jne", BPF_JNE},   {"jgt", BPF_JGT},   {"jge", BPF_JGE},
      {"jlt", BPF_JLT},   {"jle", BPF_JLE},   {"jsgt", BPF_JSGT}, {"jsge", BPF_JSGE},
      {"jslt", BPF_JSLT}, {"jsle", BPF_JSLE}, {"jset", BPF_JSET}};
  std::vector<JmpCase> cases;
  for (const auto& [name, op] : ops)
    for (const bool is32 : {false, true})
      for (const bool imm : {true, false})
        cases.push_back(
            {std::string(name) + (is32 ? "32" : "64") + (imm ? "_imm" : "_reg"), op, is32, imm});
  return cases;
}

class JmpSoundness : public ::testing::TestWithParam<JmpCase> {};

TEST_P(JmpSoundness, RefinementKeepsThePairOnTheSideItTakes) {
  const JmpCase& c = GetParam();
  DomainGen g(0x7a3e0000 + c.op * 17 + c.is32 * 3 + c.imm_form);
  int failures = 0;
  long checks = 0, decided = 0;
  for (int i = 0; i < kAbstractPairs && failures < kMaxReported; ++i) {
    const Scalar a = g.scalar();
    // Comparing a value with a close one (a copy, or one refined from it) makes the bounds meet.
    Scalar b = c.imm_form        ? Scalar::constant(uint64_t(int64_t(int32_t(g.interesting()))))
               : g.below(4) == 0 ? a
                                 : g.scalar();
    const int taken = scalar_branch_taken(a, b, c.op, c.is32);
    decided += taken >= 0;
    Scalar at = a, bt = b, af = a, bf = b;
    const bool ok_t = scalar_refine(at, bt, c.op, c.is32, true);
    const bool ok_f = scalar_refine(af, bf, c.op, c.is32, false);
    const auto xs = members(g, a), ys = members(g, b);
    for (uint64_t x : xs)
      for (uint64_t y : ys) {
        const bool outcome = eval_jmp(c.op, c.is32, x, y);
        ++checks;
        const bool ok = outcome ? ok_t : ok_f;
        const Scalar& ra = outcome ? at : af;
        const Scalar& rb = outcome ? bt : bf;
        const bool wrong_decision = taken >= 0 && taken != int(outcome);
        if ((wrong_decision || !ok || !ra.contains(x) || !rb.contains(y)) &&
            failures++ < kMaxReported)
          ADD_FAILURE() << c.name << " x=" << x << " y=" << y << " outcome=" << outcome
                        << " taken=" << taken << " refine_ok=" << ok << "\n a " << describe(a)
                        << "\n b " << describe(b) << "\n a' " << describe(ra) << "\n b' "
                        << describe(rb);
      }
  }
  EXPECT_GT(checks, kAbstractPairs * 4);
  EXPECT_GT(decided, 0);  // the generator reaches decided comparisons too
}

INSTANTIATE_TEST_SUITE_P(Ops, JmpSoundness, ::testing::ValuesIn(jmp_cases()),
                         [](const auto& param_info) { return param_info.param.name; });

// ---- Pruning, truncation, extension ----

TEST(DomainSoundness, WithinMeansEveryMemberIsAnOldMember) {
  DomainGen g(42);
  long implied = 0;
  for (int i = 0; i < 200000; ++i) {
    const Scalar old = g.scalar();
    // A candidate refined from the old value is often within it.
    Scalar cur = old;
    if (g.coin()) {
      Scalar k = Scalar::constant(g.interesting());
      if (!scalar_refine(cur, k, BPF_JLE, g.coin(), g.coin())) continue;
    } else {
      cur = g.scalar();
    }
    if (!cur.within(old)) continue;
    ++implied;
    for (int m = 0; m < 4; ++m)
      if (auto v = g.member(cur)) {
        ASSERT_TRUE(old.contains(*v)) << *v;
      }
  }
  EXPECT_GT(implied, 10000);
}

TEST(DomainSoundness, TruncateAndSextContainTheConcreteResult) {
  DomainGen g(7);
  for (int i = 0; i < 100000; ++i) {
    const Scalar s = g.scalar();
    const uint8_t size = uint8_t(1) << g.below(4);  // 1, 2, 4, 8 bytes
    const uint8_t bits = uint8_t(8) << g.below(3);  // 8, 16, 32
    Scalar t = s, x = s;
    t.truncate(size);
    x.sext(bits);
    for (int m = 0; m < 4; ++m) {
      const auto v = g.member(s);
      if (!v) continue;
      const uint64_t truncated = size == 8 ? *v : *v & ((uint64_t(1) << (size * 8)) - 1);
      const uint64_t extended = bits == 8    ? uint64_t(int64_t(int8_t(*v)))
                                : bits == 16 ? uint64_t(int64_t(int16_t(*v)))
                                             : uint64_t(int64_t(int32_t(*v)));
      ASSERT_TRUE(t.contains(truncated)) << describe(s) << " size " << int(size) << " v=" << *v;
      ASSERT_TRUE(x.contains(extended)) << describe(s) << " bits " << int(bits) << " v=" << *v;
    }
  }
}

TEST(DomainSoundness, SyncKeepsEveryMember) {
  // Unsynced combinations of constraints around a known member v, as refinements leave them.
  DomainGen g(11);
  for (int i = 0; i < 100000; ++i) {
    const uint64_t v = g.interesting();
    const auto below_v = [&](uint64_t d) { return v - std::min(v, d); };
    const auto above_v = [&](uint64_t d) { return v + std::min(UINT64_MAX - v, d); };
    Scalar s;
    const Tnum t = g.tnum();
    s.var_off = {v & ~t.mask, t.mask};
    if (g.coin()) s.umin = below_v(g.interesting());
    if (g.coin()) s.umax = above_v(g.interesting());
    // Distances to the ends of the s64 range, exact in unsigned arithmetic.
    const uint64_t to_min = v - uint64_t(INT64_MIN), to_max = uint64_t(INT64_MAX) - v;
    if (g.coin()) s.smin = int64_t(v - std::min<uint64_t>(g.below(1 << 20), to_min));
    if (g.coin()) s.smax = int64_t(v + std::min<uint64_t>(g.below(1 << 20), to_max));
    const auto v32 = uint32_t(v);
    if (g.coin()) s.u32_min = v32 - std::min<uint32_t>(v32, uint32_t(g.below(1 << 20)));
    if (g.coin())
      s.u32_max = v32 + std::min<uint32_t>(UINT32_MAX - v32, uint32_t(g.below(1 << 20)));
    if (g.coin())
      s.s32_min =
          int32_t(std::max<int64_t>(INT32_MIN, int64_t(int32_t(v32)) - int64_t(g.below(1 << 20))));
    if (g.coin())
      s.s32_max =
          int32_t(std::min<int64_t>(INT32_MAX, int64_t(int32_t(v32)) + int64_t(g.below(1 << 20))));
    ASSERT_TRUE(s.contains(v));
    Scalar synced = s;
    synced.sync();
    ASSERT_TRUE(synced.contains(v)) << describe(s) << " -> " << describe(synced) << " v=" << v;
    ASSERT_FALSE(synced.is_empty());
    for (int m = 0; m < 2; ++m) {
      const auto w = g.member(s);
      if (w) {
        ASSERT_TRUE(synced.contains(*w))
            << describe(s) << " -> " << describe(synced) << " w=" << *w;
      }
    }
  }
}

}  // namespace
}  // namespace bpfbox::verifier::test
