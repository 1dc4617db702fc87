// The diagnostic API: the first refusal recorded wins, registers are described with their ranges,
// hints are derived from the rule and the access, and verify() completes it for the front's
// refusals (rule, pc, message, path).
#include <gtest/gtest.h>

#include "bpfbox/verifier.hpp"
#include "isa/assembler.hpp"
#include "verifier/diagnostic.hpp"
#include "verifier/env.hpp"

namespace bpfbox::verifier {
namespace {

TEST(Diagnostic, FirstExplanationWins) {
  Options opts;
  Env env(opts);
  env.verbose("R1 invalid mem access 'scalar'\n");
  explain(env, Rule::InvalidMemAccess).at(4).hint("first");
  explain(env, Rule::Other).at(9).hint("second");
  finish_diagnostic(env, EACCES);
  EXPECT_EQ(env.diag.rule, "invalid_mem_access");
  EXPECT_EQ(env.diag.pc, 4u);
  EXPECT_EQ(env.diag.hint, "first");
  EXPECT_EQ(env.diag.message, "R1 invalid mem access 'scalar'");
}

TEST(Diagnostic, MapValueHintNamesTheBound) {
  Options opts;
  Env env(opts);
  RegState idx;
  idx.type = PTR_TO_MAP_VALUE;
  idx.s = Scalar::unknown();
  idx.s.umin = 0;
  idx.s.umax = 255;
  idx.s.smin = 0;
  idx.s.smax = 255;
  env.verbose("invalid access to map value, value_size=64 off=0 size=4\n");
  explain(env, Rule::MapValueBounds).at(7).reg(3, idx).access(0, 4, 64);
  finish_diagnostic(env, EACCES);
  EXPECT_EQ(env.diag.rule, "map_value_bounds");
  EXPECT_NE(env.diag.hint.find("check `idx < 61`"), std::string::npos) << env.diag.hint;
  EXPECT_NE(env.diag.hint.find("64-byte value"), std::string::npos) << env.diag.hint;
  ASSERT_EQ(env.diag.registers.size(), 1u);
  EXPECT_NE(env.diag.registers[0].find("R3 map_value("), std::string::npos);
  EXPECT_NE(env.diag.registers[0].find("umax=255"), std::string::npos) << env.diag.registers[0];
}

TEST(Diagnostic, NullDerefHintNamesTheRegister) {
  Options opts;
  Env env(opts);
  RegState r;
  r.type = PTR_TO_MAP_VALUE_OR_NULL;
  r.s = Scalar::constant(0);
  explain(env, Rule::NullDeref).reg(0, r);
  finish_diagnostic(env, EACCES);
  EXPECT_EQ(env.diag.registers.at(0), "R0 map_value_or_null(off=0)");
  EXPECT_NE(env.diag.hint.find("if r0 == 0"), std::string::npos) << env.diag.hint;
}

TEST(Diagnostic, ScalarRanges) {
  RegState r;
  r.type = SCALAR_VALUE;
  r.s = Scalar::constant(42);
  EXPECT_EQ(describe_reg(2, r), "R2 scalar=42");
  r.s = Scalar::unknown();
  EXPECT_EQ(describe_reg(2, r), "R2 scalar(unbounded)");
  RegState uninit;
  EXPECT_EQ(describe_reg(5, uninit), "R5 ? (not initialised)");
}

TEST(Diagnostic, VerifyFillsItForFrontRefusals) {
  auto prog = isa::assemble(R"(
    r0 = 0
    if r0 > 1 goto skip
    exit
  skip:
    r0 = 1
    exit
    r0 = 2
    exit
  )");
  ASSERT_TRUE(prog.is_ok());
  Options opts;
  opts.load.prog_type = BPF_PROG_TYPE_SOCKET_FILTER;
  const VerifyResult r = verify(prog.value(), opts);
  EXPECT_EQ(r.status.err(), EINVAL);
  EXPECT_EQ(r.status.message(), "unreachable insn 5");
  ASSERT_TRUE(r.diagnostic);
  EXPECT_EQ(r.diagnostic->rule, "unreachable");
  EXPECT_EQ(r.diagnostic->pc, 5u);
  EXPECT_EQ(r.diagnostic->message, "unreachable insn 5");
  EXPECT_FALSE(r.diagnostic->hint.empty());
  EXPECT_TRUE(r.log.empty());  // no log asked for
}

TEST(Diagnostic, JumpDiagnosticHasAPath) {
  auto prog = isa::assemble(R"(
    r0 = 0
    if r0 > 1 goto +1
    goto +7
    exit
  )");
  ASSERT_TRUE(prog.is_ok());
  Options opts;
  opts.load.prog_type = BPF_PROG_TYPE_SOCKET_FILTER;
  const VerifyResult r = verify(prog.value(), opts);
  EXPECT_EQ(r.status.err(), EINVAL);
  ASSERT_TRUE(r.diagnostic);
  EXPECT_EQ(r.diagnostic->rule, "jump_out_of_range");
  EXPECT_EQ(r.diagnostic->pc, 2u);
  EXPECT_EQ(r.diagnostic->path, (std::vector<uint32_t>{0, 1, 2}));
}

TEST(Diagnostic, OptionErrorsBeforeThePasses) {
  const struct bpf_insn prog[2] = {{BPF_ALU64 | BPF_MOV | BPF_K, 0, 0, 0, 0},
                                   {BPF_JMP | BPF_EXIT, 0, 0, 0, 0}};
  Options opts;
  opts.load.prog_type = BPF_PROG_TYPE_XDP;
  opts.load.privileged = false;
  VerifyResult r = verify(prog, opts);
  EXPECT_EQ(r.status.err(), EPERM);
  EXPECT_EQ(r.diagnostic->rule, "privilege");
  opts.load.privileged = true;
  opts.load.prog_flags = 1u << 12;
  r = verify(prog, opts);
  EXPECT_EQ(r.status.err(), EINVAL);
  opts.load.prog_flags = 0;
  opts.load.prog_type = 9999;
  r = verify(prog, opts);
  EXPECT_EQ(r.status.err(), EINVAL);
  EXPECT_EQ(r.diagnostic->rule, "bad_options");
}

}  // namespace
}  // namespace bpfbox::verifier
