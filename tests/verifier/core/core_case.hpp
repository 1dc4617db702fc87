// One verifier rule pinned by a small program: assembled from kernel syntax, given maps that
// exist both in bpfbox and (when bpf() is allowed) in the running kernel under the same fd, then
// verified by bpfbox and, for privileged loads, by the kernel, each expected to give the same
// errno and a log containing the same message.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <linux/bpf.h>

#include "bpfbox/maps.hpp"
#include "bpfbox/verifier.hpp"

namespace bpfbox::coretest {

struct MapSpec {
  uint32_t type = BPF_MAP_TYPE_ARRAY;
  uint32_t key_size = 4, value_size = 8, max_entries = 4, flags = 0;
};

// The maps of one case: "$M0", "$M1"... in a program's text name them (as map[fd:N]).
class CaseMaps {
 public:
  explicit CaseMaps(const std::vector<MapSpec>& specs);
  ~CaseMaps();
  CaseMaps(const CaseMaps&) = delete;
  CaseMaps& operator=(const CaseMaps&) = delete;

  // The text with each $Mi replaced by the map's fd.
  std::string substitute(std::string text) const;
  // Options.map_by_fd over these maps.
  std::function<Result<std::shared_ptr<maps::Map>>(int)> by_fd() const;

 private:
  std::vector<int> fds_;  // kernel fds, or made-up numbers when the kernel cannot be used
  std::vector<std::shared_ptr<maps::Map>> maps_;
  std::vector<bool> kernel_owned_;
};

struct Outcome {
  int err = 0;
  std::string log;
};

std::vector<struct bpf_insn> assemble_or_die(const std::string& text);

// bpfbox's verify() at log level 1 (the failing path and the message).
Outcome bpfbox_verify(const std::vector<struct bpf_insn>& insns, uint32_t prog_type,
                      bool privileged, const CaseMaps& maps, uint32_t log_level = 1);

// The kernel's verdict (privileged), or nullopt with the reason in *why when bpf() is refused.
std::optional<Outcome> kernel_verify(const std::vector<struct bpf_insn>& insns, uint32_t prog_type,
                                     uint32_t log_level, std::string* why);

}  // namespace bpfbox::coretest
