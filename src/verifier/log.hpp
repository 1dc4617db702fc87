// The verifier log (the kernel's struct bpf_verifier_log, kernel/bpf/log.c): what log_level asks
// for is written into a buffer of log_size bytes with the kernel's semantics — a rotating log by
// default (the end of a too-long log is kept), BPF_LOG_FIXED keeps the beginning — and the size
// the whole log would need is reported (log_true_size). A log that did not fit makes the load fail
// with ENOSPC, as the kernel does.
#pragma once

#include <cstdarg>
#include <cstdint>
#include <string>

#include "bpfbox/status.hpp"

namespace bpfbox::verifier {

class VerifierLog {
 public:
  // level: bpf_attr.log_level (BPF_LOG_LEVEL1 | BPF_LOG_LEVEL2 | BPF_LOG_STATS | BPF_LOG_FIXED);
  // size: bpf_attr.log_size, the caller's buffer (0: no buffer). init() applies the kernel's
  // checks (bpf_vlog_init): EINVAL for unknown level bits, a buffer without a level, or a size
  // above UINT_MAX >> 2. A level without a buffer is valid: nothing is kept, but true_size() is
  // computed (the kernel's way to ask how big the buffer must be).
  Status init(uint32_t level, uint32_t size);

  uint32_t level() const { return level_; }
  bool enabled() const { return level_ != 0; }  // anything is logged
  bool level1() const { return level_ & 1; }    // BPF_LOG_LEVEL1
  bool level2() const { return level_ & 2; }    // BPF_LOG_LEVEL2: every state
  bool stats() const { return level_ & 4; }     // BPF_LOG_STATS

  // Appends formatted text (printf syntax, as the kernel's verbose()).
  void printf(const char* fmt, ...) __attribute__((format(printf, 2, 3)));
  void vprintf(const char* fmt, va_list ap);
  void append(const std::string& s);

  // The kernel resets the log to an earlier position when it discards a speculative path's
  // messages (bpf_vlog_reset); pos() is the total bytes written so far.
  uint64_t pos() const { return end_pos_; }
  void reset(uint64_t pos);

  // At the end of verification: the text the caller's buffer receives (at most size - 1 bytes,
  // NUL excluded), the size the whole log needs including its NUL, and whether it was truncated
  // (the load then fails with ENOSPC unless it already failed otherwise).
  std::string contents() const;
  uint32_t true_size() const;
  bool truncated() const;

 private:
  uint32_t level_ = 0;
  uint32_t size_ = 0;
  // The caller's buffer as the kernel leaves it, grown lazily up to size_ bytes: a ring for the
  // rotating log (byte at absolute position p lives at p % size_), a prefix for BPF_LOG_FIXED.
  std::string buf_;
  uint64_t start_pos_ = 0;  // absolute position of the first byte still in the log
  uint64_t end_pos_ = 0;    // absolute position after the last byte written
  uint64_t len_max_ = 0;    // the most the log ever needed, NUL included (log_true_size)

  void put(uint64_t pos, char c);  // one byte at an absolute position of the fixed/ring buffer
};

}  // namespace bpfbox::verifier
