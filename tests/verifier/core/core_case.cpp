#include "core_case.hpp"

#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

#include "isa/assembler.hpp"
#include "kernel_bpf.hpp"

namespace bpfbox::coretest {
namespace {

long sys_bpf(int cmd, union bpf_attr* attr) {
  return syscall(__NR_bpf, cmd, attr, sizeof(*attr));
}

union bpf_attr map_attr(const MapSpec& s) {
  union bpf_attr a;
  std::memset(&a, 0, sizeof a);
  a.map_type = s.type;
  a.key_size = s.key_size;
  a.value_size = s.value_size;
  a.max_entries = s.max_entries;
  a.map_flags = s.flags;
  return a;
}

}  // namespace

CaseMaps::CaseMaps(const std::vector<MapSpec>& specs) {
  const bool kernel = !testsupport::kernel_bpf_unavailable().has_value();
  for (size_t i = 0; i < specs.size(); ++i) {
    union bpf_attr a = map_attr(specs[i]);
    int fd = -1;
    if (kernel) fd = static_cast<int>(sys_bpf(BPF_MAP_CREATE, &a));
    kernel_owned_.push_back(fd >= 0);
    if (fd < 0) fd = 1000 + static_cast<int>(i);
    fds_.push_back(fd);
    union bpf_attr b = map_attr(specs[i]);
    auto m = maps::Map::create(b);
    if (!m) throw std::runtime_error("bpfbox map: " + m.status().message());
    maps_.push_back(m.value());
  }
}

CaseMaps::~CaseMaps() {
  for (size_t i = 0; i < fds_.size(); ++i)
    if (kernel_owned_[i]) close(fds_[i]);
}

std::string CaseMaps::substitute(std::string text) const {
  for (size_t i = fds_.size(); i-- > 0;) {
    const std::string key = "$M" + std::to_string(i);
    for (size_t p; (p = text.find(key)) != std::string::npos;)
      text.replace(p, key.size(), std::to_string(fds_[i]));
  }
  return text;
}

std::function<Result<std::shared_ptr<maps::Map>>(int)> CaseMaps::by_fd() const {
  return [this](int fd) -> Result<std::shared_ptr<maps::Map>> {
    for (size_t i = 0; i < fds_.size(); ++i)
      if (fds_[i] == fd) return maps_[i];
    return Status(EBADF, "not a map");
  };
}

std::vector<struct bpf_insn> assemble_or_die(const std::string& text) {
  auto r = isa::assemble(text, isa::Syntax::Kernel);
  if (!r) throw std::runtime_error("assemble: " + r.status().message() + "\n" + text);
  return r.value();
}

Outcome bpfbox_verify(const std::vector<struct bpf_insn>& insns, uint32_t prog_type,
                      bool privileged, const CaseMaps& maps, uint32_t log_level) {
  verifier::Options opts;
  opts.load.prog_type = prog_type;
  opts.load.privileged = privileged;
  opts.type = prog_type_ops(prog_type);
  opts.log_level = log_level;
  opts.log_size = log_level ? 1 << 20 : 0;  // a buffer without a level is EINVAL
  opts.map_by_fd = maps.by_fd();
  verifier::VerifyResult r = verifier::verify(insns, opts);
  return {r.status.err(), r.log};
}

std::optional<Outcome> kernel_verify(const std::vector<struct bpf_insn>& insns, uint32_t prog_type,
                                     uint32_t log_level, std::string* why) {
  if (const auto& reason = testsupport::kernel_bpf_unavailable()) {
    *why = *reason;
    return std::nullopt;
  }
  std::vector<char> log(1 << 20);
  union bpf_attr a;
  std::memset(&a, 0, sizeof a);
  a.prog_type = prog_type;
  a.insns = reinterpret_cast<uintptr_t>(insns.data());
  a.insn_cnt = static_cast<uint32_t>(insns.size());
  a.license = reinterpret_cast<uintptr_t>("GPL");
  a.log_level = log_level;
  if (log_level) {
    a.log_size = static_cast<uint32_t>(log.size());
    a.log_buf = reinterpret_cast<uintptr_t>(log.data());
  }
  const long fd = sys_bpf(BPF_PROG_LOAD, &a);
  Outcome o;
  o.err = fd < 0 ? errno : 0;
  if (fd >= 0) close(static_cast<int>(fd));
  o.log = log.data();
  return o;
}

}  // namespace bpfbox::coretest
