// check_helper_call's rules, each program verified by bpfbox and, when bpf() is available, by the
// running kernel: both must give the same verdict, errno and message.
#include <gtest/gtest.h>

#include <string>

#include "calls_harness.hpp"

namespace bpfbox::calls_test {
namespace {

// Both verifiers refuse (or accept, err 0) `text` with err, and both logs hold `msg`.
void expect_verdict(const Harness& h, const std::string& text, int err, const std::string& msg,
                    bool gpl = true) {
  const Outcome b = h.bpfbox(text, nullptr, gpl);
  EXPECT_EQ(b.err, err) << "bpfbox log:\n" << b.log;
  if (!msg.empty()) {
    EXPECT_NE(b.log.find(msg), std::string::npos) << "bpfbox log:\n" << b.log;
  }
  std::string why;
  const std::optional<Outcome> k = h.kernel(text, &why, gpl);
  if (!k) {
    std::printf("[ kernel  ] not compared: %s\n", why.c_str());
    return;
  }
  EXPECT_EQ(k->err, err) << "kernel log:\n" << k->log;
  if (!msg.empty()) {
    EXPECT_NE(k->log.find(msg), std::string::npos) << "kernel log:\n" << k->log;
  }
}

const char* const kLookupKey0 =
    "r1 = 0\n"
    "*(u32 *)(r10 -4) = r1\n"
    "r2 = r10\n"
    "r2 += -4\n"
    "r1 = map[0]\n"
    "call bpf_map_lookup_elem\n";

TEST(HelperCall, ArrayLookupWithNullCheckIsAccepted) {
  Harness h(BPF_PROG_TYPE_XDP, {{BPF_MAP_TYPE_HASH, 4, 8, 16}});
  expect_verdict(h,
                 std::string(kLookupKey0) +
                     "if r0 == 0 goto out\n"
                     "r0 = *(u64 *)(r0 +0)\n"
                     "out: exit\n",
                 0, "");
}

TEST(HelperCall, LookupResultMayBeNull) {
  Harness h(BPF_PROG_TYPE_XDP, {{BPF_MAP_TYPE_HASH, 4, 8, 16}});
  expect_verdict(h,
                 std::string(kLookupKey0) +
                     "r0 = *(u64 *)(r0 +0)\n"
                     "exit\n",
                 EACCES, "invalid mem access 'map_value_or_null'");
}

TEST(HelperCall, ArrayLookupWithConstantKeyInRangeIsNeverNull) {
  Harness h(BPF_PROG_TYPE_XDP, {{BPF_MAP_TYPE_ARRAY, 4, 8, 4}});
  expect_verdict(h,
                 std::string(kLookupKey0) +
                     "r0 = *(u64 *)(r0 +0)\n"
                     "exit\n",
                 0, "");
}

TEST(HelperCall, ArrayLookupWithConstantKeyOutOfRangeMayBeNull) {
  Harness h(BPF_PROG_TYPE_XDP, {{BPF_MAP_TYPE_ARRAY, 4, 8, 4}});
  expect_verdict(h,
                 "r1 = 4\n"
                 "*(u32 *)(r10 -4) = r1\n"
                 "r2 = r10\n"
                 "r2 += -4\n"
                 "r1 = map[0]\n"
                 "call bpf_map_lookup_elem\n"
                 "r0 = *(u64 *)(r0 +0)\n"
                 "exit\n",
                 EACCES, "invalid mem access 'map_value_or_null'");
}

TEST(HelperCall, MapArgumentMustBeAMap) {
  Harness h(BPF_PROG_TYPE_XDP);
  expect_verdict(h,
                 "r1 = 0\n"
                 "*(u32 *)(r10 -4) = r1\n"
                 "r2 = r10\n"
                 "r2 += -4\n"
                 "call bpf_map_lookup_elem\n"
                 "exit\n",
                 EACCES, "R1 type=scalar expected=map_ptr");
}

TEST(HelperCall, KeyMustBeMemoryOfKeySize) {
  Harness h(BPF_PROG_TYPE_XDP, {{BPF_MAP_TYPE_HASH, 4, 8, 16}});
  expect_verdict(h,
                 "r2 = 0\n"
                 "r1 = map[0]\n"
                 "call bpf_map_lookup_elem\n"
                 "r0 = 0\n"
                 "exit\n",
                 EACCES,
                 "R2 type=scalar expected=fp, pkt, pkt_meta, map_key, map_value, mem, "
                 "ringbuf_mem, buf, trusted_ptr_");
}

TEST(HelperCall, UnknownHelperId) {
  Harness h(BPF_PROG_TYPE_XDP);
  expect_verdict(h, "call 9999\nr0 = 0\nexit\n", EINVAL, "invalid func unknown#9999");
}

TEST(HelperCall, HelperTheProgramTypeMayNotCall) {
  Harness h(BPF_PROG_TYPE_XDP);
  expect_verdict(h, "call bpf_skb_load_bytes\nr0 = 0\nexit\n", EINVAL,
                 "program of this type cannot use helper bpf_skb_load_bytes#26");
}

TEST(HelperCall, GplOnlyHelperFromProprietaryProgram) {
  Harness h(BPF_PROG_TYPE_XDP);
  expect_verdict(h,
                 "r1 = r10\n"
                 "r1 += -8\n"
                 "r2 = 8\n"
                 "call bpf_trace_printk\n"
                 "r0 = 0\n"
                 "exit\n",
                 EINVAL, "cannot call GPL-restricted function from non-GPL compatible program",
                 /*gpl=*/false);
}

TEST(HelperCall, CallerSavedRegistersAreClobbered) {
  Harness h(BPF_PROG_TYPE_XDP);
  expect_verdict(h,
                 "r1 = 1\n"
                 "r6 = 2\n"
                 "call bpf_ktime_get_ns\n"
                 "r0 = r6\n"
                 "r0 += r1\n"
                 "exit\n",
                 EACCES, "R1 !read_ok");
}

TEST(HelperCall, MapTypeTheHelperDoesNotTake) {
  Harness h(BPF_PROG_TYPE_XDP, {{BPF_MAP_TYPE_PROG_ARRAY, 4, 4, 4}});
  expect_verdict(h, std::string(kLookupKey0) + "r0 = 0\nexit\n", EINVAL,
                 "cannot pass map_type 3 into func bpf_map_lookup_elem#1");
}

TEST(HelperCall, HelperThatDoesNotTakeTheMapType) {
  Harness h(BPF_PROG_TYPE_XDP, {{BPF_MAP_TYPE_ARRAY, 4, 8, 4}});
  expect_verdict(h,
                 "r2 = r10\n"
                 "r2 += -8\n"
                 "r1 = 0\n"
                 "*(u64 *)(r10 -8) = r1\n"
                 "r1 = map[0]\n"
                 "r3 = 8\n"
                 "r4 = 0\n"
                 "call bpf_ringbuf_output\n"
                 "r0 = 0\n"
                 "exit\n",
                 EINVAL, "cannot pass map_type 2 into func bpf_ringbuf_output#130");
}

TEST(HelperCall, SizeThatMayBeNegative) {
  Harness h(BPF_PROG_TYPE_XDP, {{BPF_MAP_TYPE_RINGBUF, 0, 0, 4096}});
  expect_verdict(h,
                 "r6 = r1\n"
                 "call bpf_get_prandom_u32\n"
                 "r3 = r0\n"
                 "r3 <<= 32\n"
                 "r3 s>>= 32\n"
                 "r1 = 0\n"
                 "*(u64 *)(r10 -8) = r1\n"
                 "r2 = r10\n"
                 "r2 += -8\n"
                 "r1 = map[0]\n"
                 "r4 = 0\n"
                 "call bpf_ringbuf_output\n"
                 "r0 = 0\n"
                 "exit\n",
                 EACCES, "R3 min value is negative, either use unsigned or 'var &= const'");
}

TEST(HelperCall, UnboundedSize) {
  Harness h(BPF_PROG_TYPE_XDP, {{BPF_MAP_TYPE_RINGBUF, 0, 0, 4096}});
  expect_verdict(h,
                 "call bpf_get_prandom_u32\n"
                 "w3 = w0\n"
                 "r1 = 0\n"
                 "*(u64 *)(r10 -8) = r1\n"
                 "r2 = r10\n"
                 "r2 += -8\n"
                 "r1 = map[0]\n"
                 "r4 = 0\n"
                 "call bpf_ringbuf_output\n"
                 "r0 = 0\n"
                 "exit\n",
                 EACCES, "R3 unbounded memory access");
}

TEST(HelperCall, BoundedSizeWithinTheBuffer) {
  Harness h(BPF_PROG_TYPE_XDP, {{BPF_MAP_TYPE_RINGBUF, 0, 0, 4096}});
  expect_verdict(h,
                 "call bpf_get_prandom_u32\n"
                 "r3 = r0\n"
                 "r3 &= 7\n"
                 "r3 += 1\n"
                 "r1 = 0\n"
                 "*(u64 *)(r10 -8) = r1\n"
                 "r2 = r10\n"
                 "r2 += -8\n"
                 "r1 = map[0]\n"
                 "r4 = 0\n"
                 "call bpf_ringbuf_output\n"
                 "r0 = 0\n"
                 "exit\n",
                 0, "");
}

TEST(HelperCall, TailCallThroughAProgArray) {
  Harness h(BPF_PROG_TYPE_XDP, {{BPF_MAP_TYPE_PROG_ARRAY, 4, 4, 4}});
  expect_verdict(h,
                 "r2 = map[0]\n"
                 "r3 = 1\n"
                 "call bpf_tail_call\n"
                 "r0 = 2\n"
                 "exit\n",
                 0, "");
}

TEST(HelperCall, TailCallNeedsAProgArray) {
  Harness h(BPF_PROG_TYPE_XDP, {{BPF_MAP_TYPE_ARRAY, 4, 8, 4}});
  expect_verdict(h,
                 "r2 = map[0]\n"
                 "r3 = 1\n"
                 "call bpf_tail_call\n"
                 "r0 = 2\n"
                 "exit\n",
                 EINVAL, "expected prog array map for tail call");
}

}  // namespace
}  // namespace bpfbox::calls_test
