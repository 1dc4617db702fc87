#include "kernel_verifier.hpp"

#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <bpf/btf.h>

namespace bpfbox::testsupport {

namespace {

long sys_bpf(int cmd, union bpf_attr* attr, unsigned size = sizeof(union bpf_attr)) {
  return syscall(__NR_bpf, cmd, attr, size);
}

// bpf_attr offsets newer than the build machine's UAPI header may know (6.4+).
constexpr size_t kFdArrayOffset = 120;      // prog_load.fd_array
constexpr size_t kLogTrueSizeOffset = 140;  // prog_load.log_true_size

}  // namespace

KernelMap& KernelMap::operator=(KernelMap&& o) noexcept {
  if (this != &o) {
    if (fd_ >= 0) close(fd_);
    fd_ = o.fd_;
    o.fd_ = -1;
  }
  return *this;
}

KernelMap::~KernelMap() {
  if (fd_ >= 0) close(fd_);
}

KernelMap kernel_map_create(uint32_t type, uint32_t key_size, uint32_t value_size,
                            uint32_t max_entries, uint32_t flags, int* err, uint32_t inner_map_fd) {
  union bpf_attr attr;
  std::memset(&attr, 0, sizeof attr);
  attr.map_type = type;
  attr.key_size = key_size;
  attr.value_size = value_size;
  attr.max_entries = max_entries;
  attr.map_flags = flags;
  attr.inner_map_fd = inner_map_fd;
  const long fd = sys_bpf(BPF_MAP_CREATE, &attr);
  *err = fd < 0 ? errno : 0;
  return KernelMap(fd < 0 ? -1 : static_cast<int>(fd));
}

KernelMap kernel_map_create_with_spin_lock(uint32_t type, uint32_t key_size, uint32_t value_size,
                                           uint32_t max_entries, uint32_t flags, uint32_t lock_off,
                                           int* err) {
  struct btf* b = btf__new_empty();
  const int int_id = btf__add_int(b, "int", 4, BTF_INT_SIGNED);
  const int char_id = btf__add_int(b, "char", 1, BTF_INT_CHAR);
  const int key_id = key_size == 4 ? int_id : btf__add_array(b, int_id, char_id, key_size);
  const int lock_id = btf__add_struct(b, "bpf_spin_lock", 4);
  btf__add_field(b, "val", int_id, 0, 0);
  const int value_id = btf__add_struct(b, "val", value_size);
  btf__add_field(b, "lock", lock_id, lock_off * 8, 0);
  uint32_t size = 0;
  const void* raw = btf__raw_data(b, &size);
  union bpf_attr ba;
  std::memset(&ba, 0, sizeof ba);
  ba.btf = reinterpret_cast<uint64_t>(raw);
  ba.btf_size = size;
  const long btf_fd = sys_bpf(BPF_BTF_LOAD, &ba);
  btf__free(b);
  if (btf_fd < 0) {
    *err = errno;
    return KernelMap();
  }
  union bpf_attr attr;
  std::memset(&attr, 0, sizeof attr);
  attr.map_type = type;
  attr.key_size = key_size;
  attr.value_size = value_size;
  attr.max_entries = max_entries;
  attr.map_flags = flags;
  attr.btf_fd = static_cast<uint32_t>(btf_fd);
  attr.btf_key_type_id = static_cast<uint32_t>(key_id);
  attr.btf_value_type_id = static_cast<uint32_t>(value_id);
  const long fd = sys_bpf(BPF_MAP_CREATE, &attr);
  *err = fd < 0 ? errno : 0;
  close(static_cast<int>(btf_fd));
  return KernelMap(fd < 0 ? -1 : static_cast<int>(fd));
}

KernelVerdict kernel_verify(const KernelLoad& load) {
  KernelVerdict v;
  // A size above UINT_MAX >> 2 is refused before the buffer is touched: do not allocate it.
  const bool refused_size = load.log_size > (UINT32_MAX >> 2);
  std::string log(refused_size ? 1 : load.log_size, '\0');
  alignas(8) unsigned char raw[sizeof(union bpf_attr) > 160 ? sizeof(union bpf_attr) : 160] = {};
  auto* attr = reinterpret_cast<union bpf_attr*>(raw);
  attr->prog_type = load.prog_type;
  attr->expected_attach_type = load.expected_attach_type;
  attr->prog_flags = load.prog_flags;
  attr->insns = reinterpret_cast<uint64_t>(load.insns.data());
  attr->insn_cnt = static_cast<uint32_t>(load.insns.size());
  attr->license = reinterpret_cast<uint64_t>(load.license);
  attr->log_level = load.log_level;
  attr->log_size = load.log_size;
  attr->log_buf = load.log_size ? reinterpret_cast<uint64_t>(log.data()) : 0;
  if (!load.fd_array.empty()) {
    const uint64_t p = reinterpret_cast<uint64_t>(load.fd_array.data());
    std::memcpy(raw + kFdArrayOffset, &p, sizeof p);
  }
  int btf_fd = -1;
  if (!load.btf.empty()) {
    std::string btf_log(1 << 16, '\0');
    union bpf_attr ba;
    std::memset(&ba, 0, sizeof ba);
    ba.btf = reinterpret_cast<uint64_t>(load.btf.data());
    ba.btf_size = static_cast<uint32_t>(load.btf.size());
    ba.btf_log_buf = reinterpret_cast<uint64_t>(btf_log.data());
    ba.btf_log_size = static_cast<uint32_t>(btf_log.size());
    ba.btf_log_level = 1;
    btf_fd = static_cast<int>(sys_bpf(BPF_BTF_LOAD, &ba));
    if (btf_fd < 0) {
      v.err = errno;
      btf_log.resize(std::strlen(btf_log.c_str()));
      v.log = "BTF_LOAD: " + btf_log;
      return v;
    }
    attr->prog_btf_fd = static_cast<uint32_t>(btf_fd);
  }
  if (!load.func_info.empty()) {
    attr->func_info = reinterpret_cast<uint64_t>(load.func_info.data());
    attr->func_info_cnt = static_cast<uint32_t>(load.func_info.size());
    attr->func_info_rec_size = load.func_info_rec_size;
  }
  if (!load.line_info.empty()) {
    attr->line_info = reinterpret_cast<uint64_t>(load.line_info.data());
    attr->line_info_cnt = static_cast<uint32_t>(load.line_info.size());
    attr->line_info_rec_size = load.line_info_rec_size;
  }
  const long fd = sys_bpf(BPF_PROG_LOAD, attr, kLogTrueSizeOffset + 4);
  if (btf_fd >= 0) close(btf_fd);
  v.err = fd < 0 ? errno : 0;
  std::memcpy(&v.log_true_size, raw + kLogTrueSizeOffset, sizeof v.log_true_size);
  log.resize(std::strlen(log.c_str()));
  v.log = std::move(log);
  if (fd >= 0) {
    struct bpf_prog_info info;
    std::memset(&info, 0, sizeof info);
    union bpf_attr ia;
    std::memset(&ia, 0, sizeof ia);
    ia.info.bpf_fd = static_cast<uint32_t>(fd);
    ia.info.info_len = sizeof info;
    ia.info.info = reinterpret_cast<uint64_t>(&info);
    if (sys_bpf(BPF_OBJ_GET_INFO_BY_FD, &ia) == 0) v.verified_insns = info.verified_insns;
    if (load.keep_fd)
      v.fd = static_cast<int>(fd);
    else
      close(static_cast<int>(fd));
  }
  return v;
}

std::optional<std::string> kernel_unprivileged_unavailable() {
  std::ifstream f("/proc/sys/kernel/unprivileged_bpf_disabled");
  int v = -1;
  if (!(f >> v)) return std::string("cannot read kernel.unprivileged_bpf_disabled");
  if (v != 0)
    return "kernel.unprivileged_bpf_disabled=" + std::to_string(v) +
           ": the kernel refuses unprivileged bpf()";
  return std::nullopt;
}

KernelVerdict kernel_verify_unprivileged(const KernelLoad& load) {
  int pipefd[2];
  KernelVerdict v;
  if (pipe(pipefd) != 0) {
    v.err = errno;
    return v;
  }
  const pid_t pid = fork();
  if (pid == 0) {
    close(pipefd[0]);
    // nobody: setuid from root drops every capability.
    if (setgid(65534) != 0 || setuid(65534) != 0) _exit(100);
    KernelVerdict c = kernel_verify(load);
    const uint32_t hdr[3] = {static_cast<uint32_t>(c.err), c.log_true_size,
                             static_cast<uint32_t>(c.log.size())};
    if (write(pipefd[1], hdr, sizeof hdr) < 0) _exit(101);
    if (!c.log.empty() && write(pipefd[1], c.log.data(), c.log.size()) < 0) _exit(101);
    _exit(0);
  }
  close(pipefd[1]);
  uint32_t hdr[3] = {};
  if (read(pipefd[0], hdr, sizeof hdr) == sizeof hdr) {
    v.err = static_cast<int>(hdr[0]);
    v.log_true_size = hdr[1];
    v.log.resize(hdr[2]);
    size_t got = 0;
    while (got < v.log.size()) {
      const ssize_t r = read(pipefd[0], v.log.data() + got, v.log.size() - got);
      if (r <= 0) break;
      got += static_cast<size_t>(r);
    }
    v.log.resize(got);
  } else {
    v.err = ECHILD;
  }
  close(pipefd[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  return v;
}

}  // namespace bpfbox::testsupport
