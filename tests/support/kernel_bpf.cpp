#include "kernel_bpf.hpp"

#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace bpfbox::testsupport {
namespace {

long sys_bpf(int cmd, union bpf_attr* attr) {
  return syscall(__NR_bpf, cmd, attr, sizeof(*attr));
}

std::optional<std::string> probe() {
  // The smallest program every kernel takes: r0 = 0; exit, as a socket filter.
  const struct bpf_insn prog[2] = {
      {.code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = 0, .src_reg = 0, .off = 0, .imm = 0},
      {.code = BPF_JMP | BPF_EXIT, .dst_reg = 0, .src_reg = 0, .off = 0, .imm = 0},
  };
  auto loaded = kernel_load(BPF_PROG_TYPE_XDP, prog);
  if (!loaded) {
    const int err = loaded.status().err();
    return std::string("the kernel refuses bpf(BPF_PROG_LOAD): ") + std::strerror(err) +
           (err == EPERM || err == EACCES ? " (needs root or CAP_BPF)" : "");
  }
  uint8_t pkt[64] = {};
  auto run = kernel_test_run(*loaded, pkt);
  if (!run)
    return std::string("the kernel refuses BPF_PROG_TEST_RUN: ") +
           std::strerror(run.status().err());
  return std::nullopt;
}

}  // namespace

const std::optional<std::string>& kernel_bpf_unavailable() {
  static const std::optional<std::string> reason = probe();
  return reason;
}

KernelProgram& KernelProgram::operator=(KernelProgram&& o) noexcept {
  if (this != &o) {
    if (fd_ >= 0) close(fd_);
    fd_ = o.fd_;
    o.fd_ = -1;
  }
  return *this;
}

KernelProgram::~KernelProgram() {
  if (fd_ >= 0) close(fd_);
}

Result<KernelProgram> kernel_load(bpf_prog_type type, std::span<const struct bpf_insn> prog) {
  static const char license[] = "GPL";
  std::string log(1 << 20, '\0');
  union bpf_attr attr;
  std::memset(&attr, 0, sizeof attr);
  attr.prog_type = type;
  attr.insns = reinterpret_cast<uint64_t>(prog.data());
  attr.insn_cnt = static_cast<uint32_t>(prog.size());
  attr.license = reinterpret_cast<uint64_t>(license);
  // Load without a log first (fast path); reload with one only to explain a rejection.
  long fd = sys_bpf(BPF_PROG_LOAD, &attr);
  if (fd >= 0) return KernelProgram(static_cast<int>(fd));
  const int err = errno;
  if (err == EPERM || err == EACCES || err == ENOSYS) return Status(err, std::strerror(err));
  attr.log_buf = reinterpret_cast<uint64_t>(log.data());
  attr.log_size = static_cast<uint32_t>(log.size());
  attr.log_level = 1;
  fd = sys_bpf(BPF_PROG_LOAD, &attr);
  if (fd >= 0) return KernelProgram(static_cast<int>(fd));  // ENOSPC-free retry succeeded
  log.resize(std::strlen(log.c_str()));
  // Keep the tail: the reason for a rejection is at the end of the log.
  if (log.size() > 4000) log = "...\n" + log.substr(log.size() - 4000);
  return Status(err, log);
}

KernelLog kernel_verifier_log(bpf_prog_type type, std::span<const struct bpf_insn> prog,
                              uint32_t log_level) {
  static const char license[] = "GPL";
  std::string log(1 << 22, '\0');
  union bpf_attr attr;
  std::memset(&attr, 0, sizeof attr);
  attr.prog_type = type;
  attr.insns = reinterpret_cast<uint64_t>(prog.data());
  attr.insn_cnt = static_cast<uint32_t>(prog.size());
  attr.license = reinterpret_cast<uint64_t>(license);
  attr.log_buf = reinterpret_cast<uint64_t>(log.data());
  attr.log_size = static_cast<uint32_t>(log.size());
  attr.log_level = log_level;
  const long fd = sys_bpf(BPF_PROG_LOAD, &attr);
  KernelLog out;
  out.err = fd < 0 ? errno : 0;
  if (fd >= 0) close(static_cast<int>(fd));
  log.resize(std::strlen(log.c_str()));
  out.log = std::move(log);
  return out;
}

Result<KernelRunResult> kernel_test_run(const KernelProgram& prog, std::span<const uint8_t> data_in,
                                        uint32_t repeat) {
  KernelRunResult r;
  r.data_out.resize(data_in.size());
  union bpf_attr attr;
  std::memset(&attr, 0, sizeof attr);
  attr.test.prog_fd = static_cast<uint32_t>(prog.fd());
  attr.test.data_in = reinterpret_cast<uint64_t>(data_in.data());
  attr.test.data_size_in = static_cast<uint32_t>(data_in.size());
  attr.test.data_out = reinterpret_cast<uint64_t>(r.data_out.data());
  attr.test.data_size_out = static_cast<uint32_t>(r.data_out.size());
  attr.test.repeat = repeat;
  if (sys_bpf(BPF_PROG_TEST_RUN, &attr) < 0) return Status(errno, std::strerror(errno));
  r.retval = attr.test.retval;
  r.duration_ns = attr.test.duration;
  r.data_out.resize(attr.test.data_size_out);
  return r;
}

}  // namespace bpfbox::testsupport
