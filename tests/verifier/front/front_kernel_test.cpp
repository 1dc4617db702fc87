// The front's refusals against the running kernel: programs that fail a structural check must get
// the kernel's errno and, at log level 1, exactly the kernel's log (the message, then the
// statistics line), for every log buffer size and both log modes.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "bpfbox/verifier.hpp"
#include "isa/assembler.hpp"
#include "kernel_bpf.hpp"
#include "kernel_verifier.hpp"

namespace bpfbox::verifier {
namespace {

using testsupport::kernel_bpf_unavailable;
using testsupport::kernel_verify;
using testsupport::KernelLoad;

struct Malformed {
  const char* name;
  std::vector<struct bpf_insn> insns;
  int err;
  const char* message;  // the first line of the log
};

struct bpf_insn raw(uint8_t code, uint8_t dst = 0, uint8_t src = 0, int16_t off = 0,
                    int32_t imm = 0) {
  struct bpf_insn i {};
  i.code = code;
  i.dst_reg = dst & 0xf;
  i.src_reg = src & 0xf;
  i.off = off;
  i.imm = imm;
  return i;
}

const struct bpf_insn kMov0 = raw(BPF_ALU64 | BPF_MOV | BPF_K);
const struct bpf_insn kExit = raw(BPF_JMP | BPF_EXIT);
const struct bpf_insn kLddw = raw(BPF_LD | BPF_IMM | BPF_DW, 0, 0, 0, 1);
const struct bpf_insn kZero = raw(0);

std::vector<Malformed> malformed_programs() {
  return {
      {"jump_past_end",
       {raw(BPF_JMP | BPF_JA, 0, 0, 5), kMov0, kExit},
       EINVAL,
       "jump out of range from insn 0 to 6"},
      {"jump_before_start",
       {kMov0, raw(BPF_JMP | BPF_JEQ | BPF_K, 0, 0, -3), kExit},
       EINVAL,
       "jump out of range from insn 1 to -1"},
      {"gotol_past_end",
       {raw(BPF_JMP32 | BPF_JA, 0, 0, 0, 7), kMov0, kExit},
       EINVAL,
       "jump out of range from insn 0 to 8"},
      {"falls_off_end", {kMov0, kMov0}, EINVAL, "last insn is not an exit or jmp"},
      {"ends_with_cond_jump",
       {kMov0, raw(BPF_JMP | BPF_JEQ | BPF_K, 0, 0, -2)},
       EINVAL,
       "last insn is not an exit or jmp"},
      {"unknown_opcode", {kMov0, raw(0xff), kExit}, EINVAL, "unknown opcode ff"},
      {"unknown_opcode_before_dead_code",
       {kMov0, kExit, raw(0x8f), kExit},
       EINVAL,
       "unknown opcode 8f"},
      {"ldx_imm_set",
       {raw(BPF_LDX | BPF_MEM | BPF_DW, 0, 1, 0, 5), kExit},
       EINVAL,
       "BPF_LDX uses reserved fields"},
      {"ldx_bad_mode",
       {raw(BPF_LDX | BPF_IMM | BPF_W, 0, 1), kExit},
       EINVAL,
       "BPF_LDX uses reserved fields"},
      {"lddw_second_slot_code",
       {kLddw, raw(BPF_JMP | BPF_JA), kExit},
       EINVAL,
       "invalid bpf_ld_imm64 insn"},
      {"lddw_second_slot_off",
       {kLddw, raw(0, 0, 0, 1), kExit},
       EINVAL,
       "invalid bpf_ld_imm64 insn"},
      {"lddw_bad_pseudo",
       {raw(BPF_LD | BPF_IMM | BPF_DW, 0, 7, 0, 1), kZero, kExit},
       EINVAL,
       "unrecognized bpf_ld_imm64 insn"},
      {"lddw_map_fd_high_imm",
       {raw(BPF_LD | BPF_IMM | BPF_DW, 1, BPF_PSEUDO_MAP_FD, 0, 1000), raw(0, 0, 0, 0, 1), kMov0,
        kExit},
       EINVAL,
       "unrecognized bpf_ld_imm64 insn"},
      {"lddw_bad_map_fd",
       {raw(BPF_LD | BPF_IMM | BPF_DW, 1, BPF_PSEUDO_MAP_FD, 0, 1000), kZero, kMov0, kExit},
       EBADF,
       "fd 1000 is not pointing to valid bpf_map"},
      {"lddw_map_idx_without_fd_array",
       {raw(BPF_LD | BPF_IMM | BPF_DW, 1, BPF_PSEUDO_MAP_IDX, 0, 0), kZero, kMov0, kExit},
       EPROTO,
       "fd_idx without fd_array is invalid"},
      {"unreachable_tail", {kMov0, kExit, kMov0, kExit}, EINVAL, "unreachable insn 2"},
      {"unreachable_skipped",
       {kMov0, raw(BPF_JMP | BPF_JA, 0, 0, 1), kMov0, kExit},
       EINVAL,
       "unreachable insn 2"},
      {"jump_into_lddw",
       {kMov0, raw(BPF_JMP | BPF_JEQ | BPF_K, 0, 0, 1), kLddw, kZero, kExit},
       EINVAL,
       "jump into the middle of ldimm64 insn 2"},
      {"infinite_loop_only",
       {kMov0, raw(BPF_JMP | BPF_JA, 0, 0, -2), kExit},
       EINVAL,
       "unreachable insn 2"},
      {"call_before_start",
       {raw(BPF_JMP | BPF_CALL, 0, BPF_PSEUDO_CALL, 0, -5), kExit},
       EINVAL,
       "call to invalid destination"},
      {"call_past_end",
       {raw(BPF_JMP | BPF_CALL, 0, BPF_PSEUDO_CALL, 0, 9), kMov0, kExit},
       EINVAL,
       "call to invalid destination"},
      {"kfunc_call",
       {raw(BPF_JMP | BPF_CALL, 0, BPF_PSEUDO_KFUNC_CALL, 0, 1), kExit},
       EINVAL,
       "kernel btf_id 1 is not a function"},
      {"subprog_falls_into_next",
       {raw(BPF_JMP | BPF_CALL, 0, BPF_PSEUDO_CALL, 0, 2), kMov0, kMov0, kMov0, kExit},
       EINVAL,
       "last insn is not an exit or jmp"},
      {"jump_across_subprogs",
       {raw(BPF_JMP | BPF_CALL, 0, BPF_PSEUDO_CALL, 0, 2), kMov0, kExit,
        raw(BPF_JMP | BPF_JA, 0, 0, -3), kExit},
       EINVAL,
       "jump out of range from insn 3 to 1"},
      {"unreachable_subprog", {kMov0, kExit, kMov0, kExit}, EINVAL, "unreachable insn 2"},
  };
}

const char* const kStatsZero =
    "processed 0 insns (limit 1000000) max_states_per_insn 0 total_states 0 peak_states 0 "
    "mark_read 0\n";

Options socket_filter(uint32_t level, uint32_t size) {
  Options o;
  o.load.prog_type = BPF_PROG_TYPE_SOCKET_FILTER;
  o.log_level = level;
  o.log_size = size;
  return o;
}

class FrontKernel : public testing::TestWithParam<Malformed> {};

TEST_P(FrontKernel, SameErrnoAndLogAsBpfbox) {
  const Malformed& m = GetParam();
  const VerifyResult r = verify(m.insns, socket_filter(1, 4096));
  const std::string expected_log = std::string(m.message) + "\n" + kStatsZero;
  EXPECT_EQ(r.status.err(), m.err) << r.status.message();
  EXPECT_EQ(r.log, expected_log);
  EXPECT_EQ(r.log_true_size, expected_log.size() + 1);
  ASSERT_TRUE(r.diagnostic.has_value());
  EXPECT_EQ(r.diagnostic->message, m.message);
  EXPECT_FALSE(r.diagnostic->rule.empty());
  if (kernel_bpf_unavailable()) GTEST_SKIP() << "kernel half: " << *kernel_bpf_unavailable();
  KernelLoad load;
  load.insns = m.insns;
  load.log_size = 4096;
  const auto k = kernel_verify(load);
  EXPECT_EQ(k.err, m.err) << k.log;
  EXPECT_EQ(k.log, expected_log);
  EXPECT_EQ(k.log_true_size, expected_log.size() + 1);
}

INSTANTIATE_TEST_SUITE_P(Structure, FrontKernel, testing::ValuesIn(malformed_programs()),
                         [](const auto& p) { return std::string(p.param.name); });

// Every buffer size from 1 byte to past the whole log, rotating and fixed: the same bytes, errno
// and log_true_size as the kernel.
TEST(FrontKernelLog, EveryLogSizeMatchesTheKernel) {
  if (kernel_bpf_unavailable()) GTEST_SKIP() << *kernel_bpf_unavailable();
  const std::vector<struct bpf_insn> prog = {kMov0, kExit, kMov0, kExit};  // unreachable insn 2
  for (uint32_t level : {1u, 1u | 8u, 2u | 8u}) {
    for (uint32_t size = 1; size < 140; ++size) {
      const VerifyResult r = verify(prog, socket_filter(level, size));
      KernelLoad load;
      load.insns = prog;
      load.log_level = level;
      load.log_size = size;
      const auto k = kernel_verify(load);
      SCOPED_TRACE("level " + std::to_string(level) + " size " + std::to_string(size));
      EXPECT_EQ(r.status.err(), k.err);
      EXPECT_EQ(r.log, k.log);
      EXPECT_EQ(r.log_true_size, k.log_true_size);
    }
  }
}

// Log attributes bpf_vlog_init() refuses (EINVAL before any pass), and a level without a buffer,
// which only reports log_true_size. The program fails its first pass with EBADF, so a valid
// attribute set shows as EBADF.
TEST(FrontKernelLog, LogAttributesAsTheKernel) {
  const std::vector<struct bpf_insn> prog = {
      raw(BPF_LD | BPF_IMM | BPF_DW, 1, BPF_PSEUDO_MAP_FD, 0, 1000), kZero, kMov0, kExit};
  const std::string log = std::string("fd 1000 is not pointing to valid bpf_map\n") + kStatsZero;
  struct Attr {
    uint32_t level, size;
    int err;
    uint32_t true_size;
  };
  const std::vector<Attr> attrs = {
      {0, 100, EINVAL, 0},
      {16, 100, EINVAL, 0},
      {1 | 32, 100, EINVAL, 0},
      {1, 1u << 30, EINVAL, 0},
      {1, 0, EBADF, uint32_t(log.size() + 1)},
      {2, 0, EBADF, uint32_t(log.size() + 1 + 10)},  // level 2 adds "func#0 @0\n"
      {0, 0, EBADF, 0},
      {1, 4096, EBADF, uint32_t(log.size() + 1)},
      {1, 20, ENOSPC, uint32_t(log.size() + 1)},
  };
  for (const Attr& a : attrs) {
    SCOPED_TRACE("level " + std::to_string(a.level) + " size " + std::to_string(a.size));
    const VerifyResult r = verify(prog, socket_filter(a.level, a.size));
    EXPECT_EQ(r.status.err(), a.err);
    EXPECT_EQ(r.log_true_size, a.true_size);
    if (kernel_bpf_unavailable()) continue;
    KernelLoad load;
    load.insns = prog;
    load.log_level = a.level;
    load.log_size = a.size;
    const auto k = kernel_verify(load);
    EXPECT_EQ(k.err, a.err);
    EXPECT_EQ(k.log_true_size, a.true_size);
    EXPECT_EQ(r.log, k.log);
  }
}

}  // namespace
}  // namespace bpfbox::verifier
