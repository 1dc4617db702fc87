// The abstract interpreter's rules (do_check and what it calls), one small program each, through
// verify(); privileged cases are also loaded into the running kernel, which must agree on the
// errno and the message.
#include <gtest/gtest.h>

#include "core_case.hpp"

namespace bpfbox::coretest {
namespace {

constexpr uint32_t kSocket = BPF_PROG_TYPE_SOCKET_FILTER;
constexpr uint32_t kXdp = BPF_PROG_TYPE_XDP;

struct Case {
  const char* name;
  uint32_t prog_type;
  bool privileged;
  std::vector<MapSpec> maps;
  const char* text;  // kernel syntax; $M0.. are the maps' fds
  int err;           // 0: accepted
  const char* msg;   // a substring of the log (the kernel's message), "" for none
};

// Direct value addresses (map[fd:N][0]+off) need single-element arrays, as in the kernel.
const MapSpec kArray8{BPF_MAP_TYPE_ARRAY, 4, 8, 1, 0};                  // ks=4 vs=8
const MapSpec kArray64{BPF_MAP_TYPE_ARRAY, 4, 64, 1, 0};                // vs=64
const MapSpec kRdonly{BPF_MAP_TYPE_ARRAY, 4, 8, 1, BPF_F_RDONLY_PROG};  // read-only
const MapSpec kHash{BPF_MAP_TYPE_HASH, 4, 8, 16, 0};

// Packet bounds prologue for XDP: r2 = data, r3 = data_end.
#define XDP_PKT "r2 = *(u32 *)(r1 +0)\nr3 = *(u32 *)(r1 +4)\n"
// A map value pointer in r0 (lookup with a zero key on the stack), null-checked.
#define LOOKUP(map)         \
  "r1 = 0\n"                \
  "*(u32 *)(r10 -4) = r1\n" \
  "r2 = r10\n"              \
  "r2 += -4\n"              \
  "r1 = map[fd:" map        \
  "]\n"                     \
  "call bpf_map_lookup_elem\n"

const Case kCases[] = {
    // Registers.
    {"UninitRegisterRead", kSocket, true, {}, "r0 = r2\nexit\n", EACCES, "R2 !read_ok"},
    {"FramePointerWrite",
     kSocket,
     true,
     {},
     "r10 = 0\nexit\n",
     EACCES,
     "frame pointer is read only"},
    {"CallerSavedGoneAfterLdAbs",
     kSocket,
     true,
     {},
     "r6 = r1\nr0 = *(u8 *)skb[0]\nr0 = r2\nexit\n",
     EACCES,
     "R2 !read_ok"},
    // ALU on pointers.
    {"PointerMultiply",
     kSocket,
     true,
     {},
     "r1 *= 2\nr0 = 0\nexit\n",
     EACCES,
     "R1 pointer arithmetic with *= operator prohibited"},
    {"PointerBitwiseAnd",
     kSocket,
     true,
     {},
     "r1 &= 1\nr0 = 0\nexit\n",
     EACCES,
     "R1 bitwise operator &= on pointer prohibited"},
    {"Pointer32BitAdd",
     kSocket,
     true,
     {},
     "w1 += 1\nr0 = 0\nexit\n",
     EACCES,
     "R1 32-bit pointer arithmetic prohibited"},
    {"PointerPlusPointer",
     kSocket,
     true,
     {},
     "r1 += r10\nr0 = 0\nexit\n",
     EACCES,
     "R1 pointer += pointer prohibited"},
    {"PointerMinusPointerIsScalar", kSocket, true, {}, "r1 -= r1\nr0 = r1\nexit\n", 0, ""},
    {"ScalarMinusPointer",
     kSocket,
     true,
     {},
     "r0 = 0\nr0 -= r1\nexit\n",
     EACCES,
     "R0 tried to subtract pointer from scalar"},
    {"StackPointerSubtractScalar",
     kSocket,
     true,
     {},
     "r2 = 8\nr1 = r10\nr1 -= r2\nr0 = 0\nexit\n",
     EACCES,
     "R1 subtraction from stack pointer prohibited"},
    {"UnboundedMinPointerMath",
     kSocket,
     true,
     {},
     "r2 = *(u64 *)(r10 -8)\nr1 += r2\nr0 = 0\nexit\n",
     EINVAL,
     "math between ctx pointer and register with unbounded min value is not allowed"},
    {"PointerNeg", kSocket, true, {}, "r1 = -r1\nr0 = 0\nexit\n", 0, ""},
    {"DivByZeroImm", kSocket, true, {}, "r0 = 1\nr0 /= 0\nexit\n", EINVAL, "div by zero"},
    {"DivByZeroRegIsDefined", kSocket, true, {}, "r0 = 1\nr2 = 0\nr0 /= r2\nexit\n", 0, ""},
    {"InvalidShift", kSocket, true, {}, "r0 = 1\nr0 <<= 64\nexit\n", EINVAL, "invalid shift 64"},
    // Stack.
    {"StackReadOutOfBounds",
     kSocket,
     true,
     {},
     "r0 = *(u32 *)(r10 -600)\nexit\n",
     EACCES,
     "invalid read from stack R10 off=-600 size=4"},
    {"StackWriteAboveFramePointer",
     kSocket,
     true,
     {},
     "*(u64 *)(r10 +8) = r1\nr0 = 0\nexit\n",
     EACCES,
     "invalid write to stack R10 off=8 size=8"},
    {"StackMisaligned",
     kSocket,
     true,
     {},
     "r0 = 0\n*(u32 *)(r10 -6) = r0\nexit\n",
     EACCES,
     "misaligned stack access off 0+0+-6 size 4"},
    {"UninitStackReadPrivileged", kSocket, true, {}, "r0 = *(u64 *)(r10 -8)\nexit\n", 0, ""},
    {"SpillFillKeepsPointer",
     kSocket,
     true,
     {},
     "*(u64 *)(r10 -8) = r1\nr2 = *(u64 *)(r10 -8)\nr0 = *(u32 *)(r2 +0)\nexit\n",
     0,
     ""},
    {"NarrowPointerSpill",
     kSocket,
     true,
     {},
     "*(u32 *)(r10 -8) = r1\nr0 = 0\nexit\n",
     EACCES,
     "invalid size of register spill"},
    {"NarrowPointerFill",
     kSocket,
     true,
     {},
     "*(u64 *)(r10 -8) = r1\nr0 = *(u32 *)(r10 -8)\nexit\n",
     EACCES,
     "invalid size of register fill"},
    {"SpilledConstantKeepsValue",
     kSocket,
     true,
     {},
     "r1 = 3\n*(u64 *)(r10 -16) = r1\nr2 = *(u64 *)(r10 -16)\nr0 = 0\n"
     "if r2 == 3 goto +1\nr0 = *(u64 *)(r0 +0)\nexit\n",
     0,
     ""},
    {"StackZeroReadBack",
     kSocket,
     true,
     {},
     "*(u64 *)(r10 -8) = 0\nr0 = *(u32 *)(r10 -8)\nif r0 == 0 goto +1\nr0 = *(u64 *)(r0 +0)\n"
     "exit\n",
     0,
     ""},
    // Context.
    {"CtxReadOutOfRange",
     kSocket,
     true,
     {},
     "r0 = *(u32 *)(r1 +1000)\nexit\n",
     EACCES,
     "invalid bpf_context access off=1000 size=4"},
    {"CtxModifiedPointer",
     kSocket,
     true,
     {},
     "r1 += 4\nr0 = *(u32 *)(r1 +0)\nexit\n",
     EACCES,
     "dereference of modified ctx ptr R1 off=4 disallowed"},
    {"CtxAtomic",
     kSocket,
     true,
     {},
     "r2 = 1\nlock *(u32 *)(r1 +0) += r2\nr0 = 0\nexit\n",
     EACCES,
     "BPF_ATOMIC stores into R1 ctx is not allowed"},
    // Memory through scalars and maybe-null pointers.
    {"ScalarDeref",
     kSocket,
     true,
     {},
     "r0 = 0\nr0 = *(u32 *)(r0 +0)\nexit\n",
     EACCES,
     "R0 invalid mem access 'scalar'"},
    {"MapValueOrNullDeref",
     kSocket,
     true,
     {kHash},
     LOOKUP("$M0") "r0 = *(u32 *)(r0 +0)\nexit\n",
     EACCES,
     "R0 invalid mem access 'map_value_or_null'"},
    {"NullCheckedMapValue",
     kSocket,
     true,
     {kHash},
     LOOKUP("$M0") "if r0 == 0 goto +1\nr0 = *(u32 *)(r0 +4)\nr0 = 0\nexit\n",
     0,
     ""},
    {"NullCheckCopiesShareId",
     kSocket,
     true,
     {kHash},
     LOOKUP("$M0") "r6 = r0\nif r0 == 0 goto +1\nr0 = *(u32 *)(r6 +4)\nr0 = 0\nexit\n",
     0,
     ""},
    {"PointerArithmeticBeforeNullCheck",
     kSocket,
     true,
     {kHash},
     LOOKUP("$M0") "r0 += 4\nexit\n",
     EACCES,
     "R0 pointer arithmetic on map_value_or_null prohibited, null-check it first"},
    // Map values (direct value addresses: no helper needed).
    {"MapValueOutOfBounds",
     kSocket,
     true,
     {kArray8},
     "r1 = map[fd:$M0][0]+0\nr0 = *(u32 *)(r1 +8)\nexit\n",
     EACCES,
     "invalid access to map value, value_size=8 off=8 size=4"},
    {"MapValueUnboundedIndex",
     kSocket,
     true,
     {kArray64},
     "r1 = map[fd:$M0][0]+0\nr2 = *(u32 *)(r1 +0)\nr1 += r2\nr0 = *(u8 *)(r1 +0)\nexit\n",
     EACCES,
     "R1 unbounded memory access, make sure to bounds check any such access"},
    {"MapValueBoundedIndex",
     kSocket,
     true,
     {kArray64},
     "r1 = map[fd:$M0][0]+0\nr2 = *(u32 *)(r1 +0)\nif r2 > 63 goto +2\nr1 += r2\n"
     "r0 = *(u8 *)(r1 +0)\nr0 = 0\nexit\n",
     0,
     ""},
    {"MapValueIndexOffByOne",
     kSocket,
     true,
     {kArray64},
     "r1 = map[fd:$M0][0]+0\nr2 = *(u32 *)(r1 +0)\nif r2 > 64 goto +2\nr1 += r2\n"
     "r0 = *(u8 *)(r1 +0)\nr0 = 0\nexit\n",
     EACCES,
     "invalid access to map value, value_size=64 off=64 size=1"},
    {"BoundsReachEqualScalars",
     kSocket,
     true,
     {kArray64},
     "r1 = map[fd:$M0][0]+0\nr2 = *(u32 *)(r1 +0)\nr3 = r2\nif r3 > 63 goto +2\nr1 += r2\n"
     "r0 = *(u8 *)(r1 +0)\nr0 = 0\nexit\n",
     0,
     ""},
    {"SignedIndexUnboundedBelow",
     kSocket,
     true,
     {kArray64},
     "r1 = map[fd:$M0][0]+0\nr2 = *(u32 *)(r1 +0)\nw2 = (s8)w2\nr2 = (s32)r2\n"
     "if r2 s> 63 goto +2\nr1 += r2\nr0 = *(u8 *)(r1 +0)\nr0 = 0\nexit\n",
     EINVAL,
     "value -2147483648 makes map_value pointer be out of bounds"},
    {"ReadOnlyMapWrite",
     kSocket,
     true,
     {kRdonly},
     "r1 = map[fd:$M0][0]+0\nr2 = 1\n*(u32 *)(r1 +0) = r2\nr0 = 0\nexit\n",
     EACCES,
     "write into map forbidden, value_size=8 off=0 size=4"},
    // Packets.
    {"PacketUnchecked",
     kXdp,
     true,
     {},
     XDP_PKT "r0 = *(u8 *)(r2 +0)\nexit\n",
     EACCES,
     "invalid access to packet, off=0 size=1, R2(id=0,off=0,r=0)"},
    {"PacketChecked",
     kXdp,
     true,
     {},
     XDP_PKT "r4 = r2\nr4 += 8\nr0 = 0\nif r4 > r3 goto +1\nr0 = *(u64 *)(r2 +0)\nexit\n",
     0,
     ""},
    {"PacketBeyondCheck",
     kXdp,
     true,
     {},
     XDP_PKT "r4 = r2\nr4 += 8\nr0 = 0\nif r4 > r3 goto +1\nr0 = *(u8 *)(r2 +8)\nexit\n",
     EACCES,
     "invalid access to packet, off=8 size=1, R2(id=0,off=8,r=8)"},
    {"PacketCheckedReversed",
     kXdp,
     true,
     {},
     XDP_PKT "r4 = r2\nr4 += 14\nr0 = 0\nif r3 < r4 goto +1\nr0 = *(u16 *)(r2 +12)\nexit\n",
     0,
     ""},
    {"PacketWriteSocketFilter",
     kSocket,
     true,
     {},
     "r0 = 0\n*(u32 *)(r10 -8) = r0\nr0 = *(u32 *)(r1 +76)\nexit\n",
     EACCES,
     "invalid bpf_context access off=76 size=4"},
    // Branches.
    {"DeadBranchNotExplored",
     kSocket,
     true,
     {},
     "r0 = 0\nif r0 == 1 goto +1\nexit\nr0 = *(u64 *)(r0 +0)\nexit\n",
     0,
     ""},
    {"BothBranchesExplored",
     kSocket,
     true,
     {},
     "r0 = *(u32 *)(r1 +0)\nif r0 == 1 goto +1\nexit\nr0 = *(u64 *)(r0 +0)\nexit\n",
     EACCES,
     "R0 invalid mem access 'scalar'"},
    {"Jmp32Refinement",
     kSocket,
     true,
     {kArray64},
     "r1 = map[fd:$M0][0]+0\nr2 = *(u32 *)(r1 +0)\nif w2 > 63 goto +2\nr1 += r2\n"
     "r0 = *(u8 *)(r1 +0)\nr0 = 0\nexit\n",
     0,
     ""},
    // Loops and limits.
    {"BoundedLoop", kSocket, true, {}, "r0 = 0\nr0 += 1\nif r0 < 10 goto -2\nexit\n", 0, ""},
    {"InfiniteLoop",
     kSocket,
     true,
     {},
     "r0 = 0\nif r0 == 0 goto -1\nexit\n",
     EINVAL,
     "infinite loop detected at insn 1"},
    // The level-1 log of a path that never ends overflows the 1 MiB buffer: the load fails with
    // ENOSPC (the log's verdict wins, as in the kernel), and the rotated log ends with E2BIG's
    // message.
    {"TooManyInsnsProcessed",
     kSocket,
     true,
     {},
     "r0 = 0\nr0 += 1\nif r0 < 2000000 goto -2\nexit\n",
     ENOSPC,
     "BPF program is too large. Processed 1000001 insn"},
    // LD_ABS / LD_IND.
    {"LdAbsNeedsSkb",
     kXdp,
     true,
     {},
     "r6 = r1\nr0 = *(u8 *)skb[0]\nexit\n",
     EINVAL,
     "BPF_LD_[ABS|IND] instructions not allowed for this program type"},
    {"LdAbsNeedsCtxInR6", kSocket, true, {}, "r0 = *(u8 *)skb[0]\nexit\n", EACCES, "R6 !read_ok"},
    {"LdAbs", kSocket, true, {}, "r6 = r1\nr0 = *(u16 *)skb[12]\nexit\n", 0, ""},
    // Unprivileged rules (the kernel refuses unprivileged bpf() here: bpfbox only).
    {"UnprivPointerComparison",
     kSocket,
     false,
     {},
     "r0 = 0\nif r1 == r10 goto +0\nexit\n",
     EACCES,
     "pointer comparison prohibited"},
    {"UnprivLeakIntoMap",
     kSocket,
     false,
     {kArray8},
     "r2 = map[fd:$M0][0]+0\n*(u64 *)(r2 +0) = r1\nr0 = 0\nexit\n",
     EACCES,
     "R1 leaks addr into map"},
    {"UnprivUninitStack",
     kSocket,
     false,
     {},
     "r0 = *(u64 *)(r10 -8)\nexit\n",
     EACCES,
     "invalid read from stack R10 off=-8 size=8"},
    {"UnprivPointerReturn",
     kSocket,
     false,
     {},
     "r0 = r10\nexit\n",
     EACCES,
     "R0 leaks addr as return value"},
    {"UnprivStackArithOutOfRange",
     kSocket,
     false,
     {},
     "r2 = 8\nr1 = r10\nr1 += r2\nr0 = 0\nexit\n",
     EACCES,
     "R1 stack pointer arithmetic goes out of range, prohibited for !root; off=8"},
};

void PrintTo(const Case& c, std::ostream* os) {
  *os << c.name;
}

class CoreRule : public ::testing::TestWithParam<Case> {};

TEST_P(CoreRule, Bpfbox) {
  const Case& c = GetParam();
  CaseMaps maps(c.maps);
  const auto insns = assemble_or_die(maps.substitute(c.text));
  const Outcome o = bpfbox_verify(insns, c.prog_type, c.privileged, maps);
  EXPECT_EQ(o.err, c.err) << o.log;
  EXPECT_NE(o.log.find(c.msg), std::string::npos) << "expected \"" << c.msg << "\" in\n" << o.log;
}

TEST_P(CoreRule, KernelAgrees) {
  const Case& c = GetParam();
  if (!c.privileged) GTEST_SKIP() << "unprivileged: the kernel here refuses unprivileged bpf()";
  CaseMaps maps(c.maps);
  const auto insns = assemble_or_die(maps.substitute(c.text));
  std::string why;
  const auto k = kernel_verify(insns, c.prog_type, 1, &why);
  if (!k) GTEST_SKIP() << "kernel bpf() unavailable: " << why;
  EXPECT_EQ(k->err, c.err) << k->log;
  EXPECT_NE(k->log.find(c.msg), std::string::npos) << "expected \"" << c.msg << "\" in\n" << k->log;
}

// Without a log the instruction limit itself is the verdict: E2BIG, in bpfbox and the kernel.
TEST(CoreLimit, ProcessedInstructionsE2big) {
  CaseMaps maps({});
  const auto insns = assemble_or_die("r0 = 0\nr0 += 1\nif r0 < 2000000 goto -2\nexit\n");
  EXPECT_EQ(bpfbox_verify(insns, kSocket, true, maps, 0).err, E2BIG);
  std::string why;
  const auto k = kernel_verify(insns, kSocket, 0, &why);
  if (!k) GTEST_SKIP() << "kernel bpf() unavailable: " << why;
  EXPECT_EQ(k->err, E2BIG);
}

INSTANTIATE_TEST_SUITE_P(Rules, CoreRule, ::testing::ValuesIn(kCases),
                         [](const ::testing::TestParamInfo<Case>& i) { return i.param.name; });

}  // namespace
}  // namespace bpfbox::coretest
