// The running kernel as an oracle: load a program with bpf(BPF_PROG_LOAD) and run it with
// BPF_PROG_TEST_RUN, through the raw syscall (no libbpf), so tests and benchmarks can compare
// bpfbox against the kernel's verifier and JIT.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include <linux/bpf.h>

#include "bpfbox/status.hpp"

namespace bpfbox::testsupport {

// Why the kernel cannot serve as an oracle here (bpf() refused with EPERM/EACCES/ENOSYS, or
// BPF_PROG_TEST_RUN missing), or nullopt when it can. Probed once and cached.
const std::optional<std::string>& kernel_bpf_unavailable();

// An owned program fd.
class KernelProgram {
 public:
  KernelProgram() = default;
  explicit KernelProgram(int fd) : fd_(fd) {}
  KernelProgram(KernelProgram&& o) noexcept : fd_(o.fd_) { o.fd_ = -1; }
  KernelProgram& operator=(KernelProgram&& o) noexcept;
  KernelProgram(const KernelProgram&) = delete;
  KernelProgram& operator=(const KernelProgram&) = delete;
  ~KernelProgram();
  int fd() const { return fd_; }

 private:
  int fd_ = -1;
};

// Loads a program; on failure the Status carries the errno and the verifier log.
Result<KernelProgram> kernel_load(bpf_prog_type type, std::span<const struct bpf_insn> prog);

// Loads a program with the verifier log at `log_level` and returns the log (the whole of it, for
// log_level 2 on success too); err is 0 when the program loaded, else the errno.
struct KernelLog {
  int err = 0;
  std::string log;
};
KernelLog kernel_verifier_log(bpf_prog_type type, std::span<const struct bpf_insn> prog,
                              uint32_t log_level);

struct KernelRunResult {
  uint32_t retval = 0;
  uint32_t duration_ns = 0;  // the kernel's average over `repeat` runs
  std::vector<uint8_t> data_out;
};

// BPF_PROG_TEST_RUN with data_in as the packet; data_out receives data_in.size() bytes.
Result<KernelRunResult> kernel_test_run(const KernelProgram& prog, std::span<const uint8_t> data_in,
                                        uint32_t repeat = 1);

}  // namespace bpfbox::testsupport
