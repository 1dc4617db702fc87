// VerifierLog on its own: the rotating and fixed modes, resets, log_true_size and truncation, with
// expectations worked out from the kernel's algorithm (kernel/bpf/log.c); front_kernel_test checks
// the same against the running kernel.
#include <gtest/gtest.h>

#include <string>

#include "verifier/log.hpp"

namespace bpfbox::verifier {
namespace {

TEST(VerifierLog, InitRefusesWhatTheKernelRefuses) {
  VerifierLog log;
  EXPECT_EQ(log.init(0, 16).err(), EINVAL);          // a buffer without a level
  EXPECT_EQ(log.init(16, 16).err(), EINVAL);         // BPF_LOG_KERNEL is internal
  EXPECT_EQ(log.init(1, 1u << 30).err(), EINVAL);    // above UINT_MAX >> 2
  EXPECT_TRUE(log.init(1, (1u << 30) - 1).is_ok());  // the largest size
  EXPECT_TRUE(log.init(1, 0).is_ok());               // a level alone: log_true_size only
  EXPECT_TRUE(log.init(15, 1).is_ok());
  EXPECT_TRUE(log.init(0, 0).is_ok());
  EXPECT_FALSE(log.enabled());
}

TEST(VerifierLog, EverythingFits) {
  VerifierLog log;
  ASSERT_TRUE(log.init(1, 64).is_ok());
  log.printf("%d: %s\n", 3, "exit");
  log.append("done\n");
  EXPECT_EQ(log.contents(), "3: exit\ndone\n");
  EXPECT_EQ(log.true_size(), 14u);  // 13 bytes and the NUL
  EXPECT_FALSE(log.truncated());
}

TEST(VerifierLog, ExactFitIsNotTruncated) {
  VerifierLog log;
  ASSERT_TRUE(log.init(1, 6).is_ok());
  log.append("abcde");  // 5 bytes + NUL == 6
  EXPECT_EQ(log.contents(), "abcde");
  EXPECT_FALSE(log.truncated());
  log.append("f");
  EXPECT_TRUE(log.truncated());
  EXPECT_EQ(log.true_size(), 7u);
}

TEST(VerifierLog, RotatingKeepsTheEnd) {
  VerifierLog log;
  ASSERT_TRUE(log.init(1, 8).is_ok());
  log.append("0123456789");
  log.append("abc");
  EXPECT_EQ(log.contents(), "6789abc");  // the last size - 1 bytes
  EXPECT_EQ(log.true_size(), 14u);
  EXPECT_TRUE(log.truncated());
}

TEST(VerifierLog, RotatingAcrossManyWraps) {
  VerifierLog log;
  ASSERT_TRUE(log.init(1, 5).is_ok());
  std::string all;
  for (int i = 0; i < 50; ++i) {
    const std::string piece = std::to_string(i) + ",";
    log.append(piece);
    all += piece;
  }
  EXPECT_EQ(log.contents(), all.substr(all.size() - 4));
  EXPECT_EQ(log.true_size(), all.size() + 1);
}

TEST(VerifierLog, FixedKeepsTheBeginning) {
  VerifierLog log;
  ASSERT_TRUE(log.init(1 | 8, 8).is_ok());
  log.append("0123456789");
  log.append("abc");
  EXPECT_EQ(log.contents(), "0123456");
  EXPECT_EQ(log.true_size(), 14u);
  EXPECT_TRUE(log.truncated());
}

TEST(VerifierLog, NoBufferCountsOnly) {
  VerifierLog log;
  ASSERT_TRUE(log.init(2, 0).is_ok());
  log.append("hello\n");
  EXPECT_EQ(log.contents(), "");
  EXPECT_EQ(log.true_size(), 7u);
  EXPECT_FALSE(log.truncated());  // no buffer, no ENOSPC
}

TEST(VerifierLog, NothingLoggedHasNoTrueSize) {
  VerifierLog log;
  ASSERT_TRUE(log.init(1, 100).is_ok());
  EXPECT_EQ(log.true_size(), 0u);
  EXPECT_EQ(log.contents(), "");
}

TEST(VerifierLog, ResetDropsTextButNotTheMaximum) {
  VerifierLog log;
  ASSERT_TRUE(log.init(1, 100).is_ok());
  log.append("keep\n");
  const uint64_t mark = log.pos();
  log.append("speculative path\n");
  log.reset(mark);
  log.append("end\n");
  EXPECT_EQ(log.contents(), "keep\nend\n");
  EXPECT_EQ(log.true_size(), 23u);  // the longest the log ever was: 5 + 17 + NUL
}

TEST(VerifierLog, ResetInFixedModeTerminatesOneByteLate) {
  // The kernel writes the NUL at end_pos + 1 in fixed mode; the byte at end_pos stays until the
  // next write overwrites it.
  VerifierLog log;
  ASSERT_TRUE(log.init(1 | 8, 100).is_ok());
  log.append("abc");
  log.reset(1);
  EXPECT_EQ(log.contents(), "ab");
  log.append("Z");
  EXPECT_EQ(log.contents(), "aZ");
}

TEST(VerifierLog, ResetBeyondTheWindowEmptiesTheRing) {
  VerifierLog log;
  ASSERT_TRUE(log.init(1, 4).is_ok());
  log.append("0123456789");
  log.reset(2);
  EXPECT_EQ(log.contents(), "");
  log.append("xy");
  EXPECT_EQ(log.contents(), "xy");
}

TEST(VerifierLog, LongMessagesAreCutAt1023Bytes) {
  VerifierLog log;
  ASSERT_TRUE(log.init(1, 4096).is_ok());
  const std::string big(3000, 'x');
  log.printf("%s", big.c_str());
  EXPECT_EQ(log.contents().size(), 1023u);
}

TEST(VerifierLog, LevelZeroLogsNothing) {
  VerifierLog log;
  ASSERT_TRUE(log.init(0, 0).is_ok());
  log.append("ignored");
  EXPECT_EQ(log.true_size(), 0u);
}

}  // namespace
}  // namespace bpfbox::verifier
