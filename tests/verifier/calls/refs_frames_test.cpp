// References (ringbuf reservations), bpf-to-bpf calls with frames, the combined stack limit and
// the main program's exit, each through bpfbox's verifier and the kernel's.
#include <gtest/gtest.h>

#include <string>

#include "calls_harness.hpp"

namespace bpfbox::calls_test {
namespace {

void expect_verdict(const Harness& h, const std::string& text, int err, const std::string& msg) {
  const Outcome b = h.bpfbox(text);
  EXPECT_EQ(b.err, err) << "bpfbox log:\n" << b.log;
  if (!msg.empty()) {
    EXPECT_NE(b.log.find(msg), std::string::npos) << "bpfbox log:\n" << b.log;
  }
  std::string why;
  const std::optional<Outcome> k = h.kernel(text, &why);
  if (!k) {
    std::printf("[ kernel  ] not compared: %s\n", why.c_str());
    return;
  }
  EXPECT_EQ(k->err, err) << "kernel log:\n" << k->log;
  if (!msg.empty()) {
    EXPECT_NE(k->log.find(msg), std::string::npos) << "kernel log:\n" << k->log;
  }
}

const MapSpec kRingbuf{BPF_MAP_TYPE_RINGBUF, 0, 0, 4096};

const char* const kReserve =
    "r1 = map[0]\n"
    "r2 = 8\n"
    "r3 = 0\n"
    "call bpf_ringbuf_reserve\n";

TEST(Refs, ReservationSubmittedOnEveryPathIsAccepted) {
  Harness h(BPF_PROG_TYPE_XDP, {kRingbuf});
  expect_verdict(h,
                 std::string(kReserve) +
                     "if r0 == 0 goto out\n"
                     "r1 = 5\n"
                     "*(u64 *)(r0 +0) = r1\n"
                     "r1 = r0\n"
                     "r2 = 0\n"
                     "call bpf_ringbuf_submit\n"
                     "out: r0 = 0\n"
                     "exit\n",
                 0, "");
}

TEST(Refs, ReservationLeakedAtExit) {
  Harness h(BPF_PROG_TYPE_XDP, {kRingbuf});
  expect_verdict(h,
                 std::string(kReserve) +
                     "if r0 == 0 goto out\n"
                     "r1 = 5\n"
                     "*(u64 *)(r0 +0) = r1\n"
                     "out: r0 = 0\n"
                     "exit\n",
                 EINVAL, "BPF_EXIT instruction in main prog would lead to reference leak");
  const Outcome b = h.bpfbox(std::string(kReserve) + "r0 = 0\nexit\n");
  EXPECT_NE(b.log.find("Unreleased reference id="), std::string::npos) << b.log;
  EXPECT_NE(b.log.find("alloc_insn=4"), std::string::npos) << b.log;
}

TEST(Refs, ReservationMayBeNullWhenSubmitted) {
  Harness h(BPF_PROG_TYPE_XDP, {kRingbuf});
  expect_verdict(h,
                 std::string(kReserve) +
                     "r1 = r0\n"
                     "r2 = 0\n"
                     "call bpf_ringbuf_submit\n"
                     "r0 = 0\n"
                     "exit\n",
                 EACCES, "R1 type=ringbuf_mem_or_null expected=ringbuf_mem");
}

TEST(Refs, ReleaseNeedsAReference) {
  Harness h(BPF_PROG_TYPE_XDP, {kRingbuf});
  expect_verdict(h,
                 "r1 = r10\n"
                 "r1 += -8\n"
                 "r2 = 0\n"
                 "call bpf_ringbuf_discard\n"
                 "r0 = 0\n"
                 "exit\n",
                 EACCES, "R1 type=fp expected=ringbuf_mem");
}

TEST(Refs, ReleasedPointerIsDeadInEveryCopy) {
  Harness h(BPF_PROG_TYPE_XDP, {kRingbuf});
  expect_verdict(h,
                 std::string(kReserve) +
                     "if r0 == 0 goto out\n"
                     "r6 = r0\n"
                     "r1 = r0\n"
                     "r2 = 0\n"
                     "call bpf_ringbuf_discard\n"
                     "r1 = 1\n"
                     "*(u64 *)(r6 +0) = r1\n"
                     "out: r0 = 0\n"
                     "exit\n",
                 EACCES, "R6 invalid mem access 'scalar'");
}

TEST(Refs, DoubleReleaseIsRefused) {
  Harness h(BPF_PROG_TYPE_XDP, {kRingbuf});
  expect_verdict(h,
                 std::string(kReserve) +
                     "if r0 == 0 goto out\n"
                     "r6 = r0\n"
                     "r1 = r0\n"
                     "r2 = 0\n"
                     "call bpf_ringbuf_discard\n"
                     "r1 = r6\n"
                     "r2 = 0\n"
                     "call bpf_ringbuf_discard\n"
                     "out: r0 = 0\n"
                     "exit\n",
                 EACCES, "R1 type=scalar expected=ringbuf_mem");
}

TEST(Frames, CalleeGetsArgumentsAndCallerKeepsCalleeSaved) {
  Harness h(BPF_PROG_TYPE_XDP);
  expect_verdict(h,
                 "r6 = 40\n"
                 "r1 = 2\n"
                 "call add\n"
                 "r0 += r6\n"
                 "exit\n"
                 "add: r0 = r1\n"
                 "r0 += 1\n"
                 "exit\n",
                 0, "");
}

TEST(Frames, CallerSavedRegistersAreUnreadableAfterTheCall) {
  Harness h(BPF_PROG_TYPE_XDP);
  expect_verdict(h,
                 "r1 = 2\n"
                 "call f\n"
                 "r0 = r1\n"
                 "exit\n"
                 "f: r0 = 0\n"
                 "exit\n",
                 EACCES, "R1 !read_ok");
}

TEST(Frames, CalleeCannotReadTheCallersRegisters) {
  Harness h(BPF_PROG_TYPE_XDP);
  expect_verdict(h,
                 "r6 = 2\n"
                 "call f\n"
                 "exit\n"
                 "f: r0 = r6\n"
                 "exit\n",
                 EACCES, "R6 !read_ok");
}

TEST(Frames, ReturningAStackPointer) {
  Harness h(BPF_PROG_TYPE_XDP);
  expect_verdict(h,
                 "call f\n"
                 "r0 = 0\n"
                 "exit\n"
                 "f: r0 = r10\n"
                 "r0 += -8\n"
                 "exit\n",
                 EINVAL, "cannot return stack pointer to the caller");
}

// main -> f1 -> ... -> f8: nine frames.
std::string call_chain(int depth) {
  std::string t = "call f1\nr0 = 0\nexit\n";
  for (int i = 1; i <= depth; ++i) {
    t += "f" + std::to_string(i) + ": ";
    if (i < depth) t += "call f" + std::to_string(i + 1) + "\n";
    t += "r0 = 0\nexit\n";
  }
  return t;
}

TEST(Frames, EightFramesAreAllowed) {
  Harness h(BPF_PROG_TYPE_XDP);
  expect_verdict(h, call_chain(7), 0, "");
}

TEST(Frames, NineFramesAreTooDeep) {
  Harness h(BPF_PROG_TYPE_XDP);
  expect_verdict(h, call_chain(8), E2BIG, "the call stack of 9 frames is too deep");
}

TEST(StackDepth, CombinedStackOfTheDeepestChain) {
  Harness h(BPF_PROG_TYPE_XDP);
  expect_verdict(h,
                 "r1 = 0\n"
                 "*(u64 *)(r10 -256) = r1\n"
                 "call f\n"
                 "r0 = 0\n"
                 "exit\n"
                 "f: r1 = 0\n"
                 "*(u64 *)(r10 -264) = r1\n"
                 "r0 = 0\n"
                 "exit\n",
                 EACCES, "combined stack size of 2 calls is 528. Too large");
}

TEST(StackDepth, FramesThatFitAreAccepted) {
  Harness h(BPF_PROG_TYPE_XDP);
  expect_verdict(h,
                 "r1 = 0\n"
                 "*(u64 *)(r10 -256) = r1\n"
                 "call f\n"
                 "r0 = 0\n"
                 "exit\n"
                 "f: r1 = 0\n"
                 "*(u64 *)(r10 -256) = r1\n"
                 "r0 = 0\n"
                 "exit\n",
                 0, "");
}

TEST(MainExit, R0MustBeWritten) {
  Harness h(BPF_PROG_TYPE_XDP);
  expect_verdict(h, "exit\n", EACCES, "R0 !read_ok");
}

}  // namespace
}  // namespace bpfbox::calls_test
