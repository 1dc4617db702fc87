// The kernel's verifier as an oracle for bpfbox's: BPF_PROG_LOAD with everything a verifier test
// controls (program type, maps through fd_array or fds, log level and size, prog_flags, license),
// returning the errno, the log and log_true_size. Raw bpf(), no libbpf.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include <linux/bpf.h>

namespace bpfbox::testsupport {

// An owned kernel map fd.
class KernelMap {
 public:
  KernelMap() = default;
  explicit KernelMap(int fd) : fd_(fd) {}
  KernelMap(KernelMap&& o) noexcept : fd_(o.fd_) { o.fd_ = -1; }
  KernelMap& operator=(KernelMap&& o) noexcept;
  KernelMap(const KernelMap&) = delete;
  KernelMap& operator=(const KernelMap&) = delete;
  ~KernelMap();
  int fd() const { return fd_; }

 private:
  int fd_ = -1;
};

// BPF_MAP_CREATE; fd -1 and errno in *err on failure. inner_map_fd for map-in-maps.
KernelMap kernel_map_create(uint32_t type, uint32_t key_size, uint32_t value_size,
                            uint32_t max_entries, uint32_t flags, int* err,
                            uint32_t inner_map_fd = 0);

// BPF_MAP_CREATE of a map whose value (BTF: a struct of value_size bytes) holds a struct
// bpf_spin_lock at lock_off, and whose key is an int (key_size 4) or a char array.
KernelMap kernel_map_create_with_spin_lock(uint32_t type, uint32_t key_size, uint32_t value_size,
                                           uint32_t max_entries, uint32_t flags, uint32_t lock_off,
                                           int* err);

struct KernelLoad {
  uint32_t prog_type = BPF_PROG_TYPE_SOCKET_FILTER;
  uint32_t expected_attach_type = 0;
  uint32_t prog_flags = 0;
  std::span<const struct bpf_insn> insns;
  std::span<const int32_t> fd_array;
  uint32_t log_level = 1;
  uint32_t log_size = 1 << 20;  // 0: no buffer (log_true_size only)
  const char* license = "GPL";
  // The program's BTF (loaded with BPF_BTF_LOAD first, then passed as prog_btf_fd) and its
  // func_info / line_info records. A BTF the kernel refuses makes the verdict that errno, with
  // the BTF log as the log.
  std::span<const uint8_t> btf;
  std::span<const struct bpf_func_info> func_info;
  std::span<const struct bpf_line_info> line_info;
  uint32_t func_info_rec_size = sizeof(struct bpf_func_info);  // what the records claim to be
  uint32_t line_info_rec_size = sizeof(struct bpf_line_info);
  bool keep_fd = false;  // the loaded program's fd is returned in KernelVerdict::fd (caller closes)
};

struct KernelVerdict {
  int err = 0;  // 0: loaded
  std::string log;
  uint32_t log_true_size = 0;
  uint32_t verified_insns = 0;  // bpf_prog_info.verified_insns when loaded
  int fd = -1;                  // with KernelLoad::keep_fd
};

KernelVerdict kernel_verify(const KernelLoad& load);

// Why unprivileged loads cannot be checked against this kernel (kernel.unprivileged_bpf_disabled
// is set), or nullopt when they can.
std::optional<std::string> kernel_unprivileged_unavailable();

// KernelVerdict for a load made by an unprivileged child process (no capabilities, nobody's
// uid); only meaningful when kernel_unprivileged_unavailable() is nullopt. Maps are inherited.
KernelVerdict kernel_verify_unprivileged(const KernelLoad& load);

}  // namespace bpfbox::testsupport
