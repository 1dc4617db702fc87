// One program through bpfbox's verifier and the kernel's, for the calls tests: kernel assembly
// with `map[N]` (a BPF_PSEUDO_MAP_FD load of the test's map N) and `map_value[N]` (its first
// value, BPF_PSEUDO_MAP_VALUE), maps created on both sides with the same attributes.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <linux/bpf.h>

#include "bpfbox/maps.hpp"
#include "bpfbox/verifier.hpp"
#include "kernel_verifier.hpp"

namespace bpfbox::calls_test {

struct MapSpec {
  uint32_t type = BPF_MAP_TYPE_ARRAY;
  uint32_t key_size = 4, value_size = 8, max_entries = 4, flags = 0;
};

struct Outcome {
  int err = 0;      // 0: accepted
  std::string log;  // the verifier log (level 1)
};

class Harness {
 public:
  explicit Harness(uint32_t prog_type, std::vector<MapSpec> maps = {});

  // Assembles `text` (kernel syntax plus map[N] / map_value[N]); fails the test on a syntax error.
  std::vector<struct bpf_insn> assemble(const std::string& text) const;

  // bpfbox's verdict; the accepted program in *program when asked.
  Outcome bpfbox(const std::string& text, verifier::Program* program = nullptr,
                 bool gpl = true) const;
  // The kernel's verdict, or nullopt (with the reason in *why) when bpf() is not available.
  std::optional<Outcome> kernel(const std::string& text, std::string* why, bool gpl = true) const;

  const std::shared_ptr<maps::Map>& map(size_t i) const { return maps_[i]; }
  int kernel_map_fd(size_t i) const { return kmaps_[i].fd(); }

 private:
  std::vector<struct bpf_insn> resolve(const std::string& text, bool kernel_fds) const;

  uint32_t prog_type_;
  std::vector<MapSpec> specs_;
  std::vector<std::shared_ptr<maps::Map>> maps_;
  std::vector<testsupport::KernelMap> kmaps_;
  std::string kernel_unavailable_;
};

}  // namespace bpfbox::calls_test
