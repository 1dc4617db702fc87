// The log of the abstract interpreter, byte for byte as the kernel 6.18 writes it, for programs
// whose log holds no kernel addresses.
#include <gtest/gtest.h>

#include "core_case.hpp"

namespace bpfbox::coretest {
namespace {

struct LogCase {
  const char* name;
  uint32_t prog_type;
  uint32_t log_level;
  const char* text;
};

const LogCase kLogCases[] = {
    {"StraightLineLevel2", BPF_PROG_TYPE_SOCKET_FILTER, 2,
     "r0 = 0\nr2 = r10\nr2 += -8\n*(u64 *)(r10 -8) = r0\nr3 = *(u64 *)(r10 -8)\nexit\n"},
    {"FailingPathLevel1", BPF_PROG_TYPE_XDP, 1,
     "r2 = *(u32 *)(r1 +0)\nr3 = *(u32 *)(r1 +4)\nr4 = r2\nr4 += 8\nr0 = 0\n"
     "if r4 > r3 goto +2\nr0 = *(u32 *)(r2 +4)\nr0 = *(u8 *)(r2 +8)\nexit\n"},
    {"BranchesLevel2", BPF_PROG_TYPE_SOCKET_FILTER, 2,
     "r0 = *(u32 *)(r1 +0)\nif r0 > 7 goto +2\nr0 &= 3\nexit\nr0 = 1\nexit\n"},
    {"SpillsLevel2", BPF_PROG_TYPE_SOCKET_FILTER, 2,
     "r6 = *(u32 *)(r1 +0)\n*(u32 *)(r10 -16) = r6\n*(u64 *)(r10 -8) = r1\n"
     "*(u16 *)(r10 -24) = 0\nr0 = *(u32 *)(r10 -16)\nexit\n"},
    // Links with negative, subtracted and 32-bit deltas (6.18.y: BPF_ADD_CONST32/64), a mixed
    // 32/64-bit pair that does not move, and bounds synced both ways.
    {"LinkedDeltasLevel2", BPF_PROG_TYPE_SOCKET_FILTER, 2,
     "call bpf_get_prandom_u32\nr6 = r0\nr6 &= 0xffff\nr2 = r6\nw2 += -512\nr3 = r6\n"
     "r3 -= 4\nif r2 > 100 goto +3\nif r3 s< 10 goto +2\nr0 = r6\nexit\nr0 = 0\nexit\n"},
};

void PrintTo(const LogCase& c, std::ostream* os) {
  *os << c.name;
}

class CoreLog : public ::testing::TestWithParam<LogCase> {};

TEST_P(CoreLog, SameAsKernel) {
  const LogCase& c = GetParam();
  CaseMaps maps({});
  const auto insns = assemble_or_die(c.text);
  std::string why;
  const auto k = kernel_verify(insns, c.prog_type, c.log_level, &why);
  if (!k) GTEST_SKIP() << "kernel bpf() unavailable: " << why;
  const Outcome o = bpfbox_verify(insns, c.prog_type, true, maps, c.log_level);
  EXPECT_EQ(o.err, k->err);
  // Level 2 of 6.18 adds its static liveness listings ("Live regs before insn:" and the
  // "(0) frame 0 insn 4 +live -8" stack liveness lines), which bpfbox does not print: compare the
  // state lines only.
  auto from_states = [](const std::string& log) {
    const size_t p = log.find("0: R1=");
    std::string in = p == std::string::npos ? log : log.substr(p), out;
    for (size_t b = 0; b < in.size();) {
      size_t e = in.find('\n', b);
      e = e == std::string::npos ? in.size() : e + 1;
      const std::string line = in.substr(b, e - b);
      if (line.rfind("(0) ", 0) != 0) out += line;
      b = e;
    }
    return out;
  };
  EXPECT_EQ(from_states(o.log), from_states(k->log));
}

INSTANTIATE_TEST_SUITE_P(Logs, CoreLog, ::testing::ValuesIn(kLogCases),
                         [](const ::testing::TestParamInfo<LogCase>& i) { return i.param.name; });

// BPF_LOG_STATS's "stack depth" line counts whole 8-byte slots, as the kernel's grow_stack_state
// (found by the soundness fuzzer: a 2-byte store at fp-438 is a depth of 440, not 438).
TEST(CoreLogStats, StackDepthCountsWholeSlots) {
  CaseMaps maps({});
  const auto insns = assemble_or_die("r1 = 0\n*(u16 *)(r10 -438) = r1\nr0 = 0\nexit\n");
  auto depth_line = [](const std::string& log) {
    const size_t p = log.find("stack depth ");
    return p == std::string::npos ? std::string() : log.substr(p, log.find('\n', p) - p);
  };
  const Outcome o = bpfbox_verify(insns, BPF_PROG_TYPE_SOCKET_FILTER, true, maps, 4);
  EXPECT_EQ(depth_line(o.log), "stack depth 440");
  std::string why;
  if (const auto k = kernel_verify(insns, BPF_PROG_TYPE_SOCKET_FILTER, 4, &why)) {
    EXPECT_EQ(depth_line(o.log), depth_line(k->log));
  }
}

}  // namespace
}  // namespace bpfbox::coretest
