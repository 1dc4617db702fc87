// The verifier log with the kernel 6.18 semantics (kernel/bpf/log.c): the caller's buffer is
// simulated byte for byte, so what contents() returns is what the kernel leaves in log_buf —
// the end of the log for the default rotating mode, its beginning for BPF_LOG_FIXED — and
// true_size() is log_true_size.
#include "verifier/log.hpp"

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdio>

#include <linux/bpf.h>

#include "verifier/env.hpp"

namespace bpfbox::verifier {

namespace {

// BPF_LOG_LEVEL1 | BPF_LOG_LEVEL2 | BPF_LOG_STATS | BPF_LOG_FIXED (the kernel's BPF_LOG_MASK).
constexpr uint32_t kLogMask = 1 | 2 | 4 | 8;
constexpr uint32_t kLogFixed = 8;
// One verbose() call formats into a buffer of this size (BPF_VERIFIER_TMP_LOG_SIZE): longer
// messages are cut at 1023 bytes, as the kernel's vscnprintf cuts them.
constexpr size_t kTmpLogSize = 1024;

}  // namespace

Status VerifierLog::init(uint32_t level, uint32_t size) {
  level_ = level;
  size_ = size;
  buf_.clear();
  start_pos_ = end_pos_ = len_max_ = 0;
  // bpf_verifier_log_attr_valid(): a buffer needs a level, levels are known bits, and the size
  // fits in 30 bits. A level without a buffer is allowed (log_true_size alone).
  if ((size != 0 && level == 0) || (level & ~kLogMask) || size > (UINT_MAX >> 2)) {
    level_ = 0;
    size_ = 0;
    return Status(EINVAL, "invalid log_level/log_size");
  }
  return Status::ok();
}

void VerifierLog::printf(const char* fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vprintf(fmt, ap);
  va_end(ap);
}

void VerifierLog::vprintf(const char* fmt, va_list ap) {
  if (level_ == 0) return;
  char tmp[kTmpLogSize];
  const int n = std::vsnprintf(tmp, sizeof tmp, fmt, ap);
  if (n <= 0) {
    append(std::string());
    return;
  }
  append(std::string(tmp, std::min<size_t>(static_cast<size_t>(n), kTmpLogSize - 1)));
}

void VerifierLog::put(uint64_t pos, char c) {
  const uint64_t idx = (level_ & kLogFixed) ? pos : pos % size_;
  if (idx >= size_) return;
  if (buf_.size() <= idx) buf_.resize(idx + 1, '\0');
  buf_[idx] = c;
}

void VerifierLog::append(const std::string& s) {
  if (level_ == 0) return;
  const uint64_t n = s.size() + 1;  // the kernel counts (and writes) the terminating NUL
  len_max_ = std::max(len_max_, std::min<uint64_t>(end_pos_ + n, UINT_MAX));
  if (level_ & kLogFixed) {
    // Keep the beginning: bytes past the buffer are counted, not stored.
    if (end_pos_ < size_) {
      const uint64_t new_n = std::min<uint64_t>(size_ - end_pos_, n);
      for (uint64_t i = 0; i + 1 < new_n; ++i) put(end_pos_ + i, s[i]);
      put(end_pos_ + new_n - 1, '\0');
    }
    end_pos_ += n - 1;
    return;
  }
  // Rotating: the window [start_pos_, end_pos_] (NUL included) is at most size_ bytes.
  const uint64_t new_end = end_pos_ + n;
  if (new_end - start_pos_ >= size_) start_pos_ = new_end - size_;
  end_pos_ = new_end - 1;
  if (size_ == 0) return;
  const uint64_t new_n = std::min<uint64_t>(n, size_);
  for (uint64_t i = 0; i < new_n; ++i) {
    const uint64_t src = n - new_n + i;  // index into s + NUL
    put(new_end - new_n + i, src < s.size() ? s[src] : '\0');
  }
}

void VerifierLog::reset(uint64_t pos) {
  if (pos > end_pos_ || level_ == 0) return;
  end_pos_ = pos;
  if (end_pos_ < start_pos_) start_pos_ = end_pos_;
  if (size_ == 0) return;
  // The kernel terminates the string at end_pos + 1 in fixed mode (one byte late: the byte at
  // end_pos stays visible until the next write) and at end_pos in the ring. Kept as is.
  if (level_ & kLogFixed) {
    put(end_pos_ + 1, '\0');
  } else {
    put(pos, '\0');
  }
}

std::string VerifierLog::contents() const {
  if (level_ == 0 || size_ == 0 || buf_.empty()) return {};
  std::string out;
  if ((level_ & kLogFixed) || start_pos_ == 0) {
    out = buf_;
  } else {
    // bpf_vlog_finalize() rotates the ring so that the window starts at the buffer's beginning.
    const uint64_t shift = start_pos_ % size_;
    out.reserve(size_);
    for (uint64_t i = 0; i < size_; ++i) {
      const uint64_t idx = (shift + i) % size_;
      out.push_back(idx < buf_.size() ? buf_[idx] : '\0');
    }
  }
  const size_t nul = out.find('\0');
  if (nul != std::string::npos) out.resize(nul);
  return out;
}

uint32_t VerifierLog::true_size() const {
  return level_ == 0 ? 0 : static_cast<uint32_t>(len_max_);
}

bool VerifierLog::truncated() const {
  return level_ != 0 && size_ != 0 && len_max_ > size_;
}

// Env::verbose (env.hpp) lives with the log: it formats once, appends to the log when one is
// asked for, and always remembers the last complete line, which is the kernel's message of an
// error (Diagnostic::message) even when no log was asked for.
void Env::verbose(const char* fmt, ...) {
  char tmp[1024];
  va_list ap;
  va_start(ap, fmt);
  const int n = std::vsnprintf(tmp, sizeof tmp, fmt, ap);
  va_end(ap);
  const std::string text(tmp,
                         n <= 0 ? 0 : std::min<size_t>(static_cast<size_t>(n), sizeof tmp - 1));
  log.append(text);
  for (char c : text) {
    if (c == '\n') {
      if (!refusal.partial_line.empty()) refusal.last_line = std::move(refusal.partial_line);
      refusal.partial_line.clear();
    } else {
      refusal.partial_line.push_back(c);
    }
  }
}

}  // namespace bpfbox::verifier
