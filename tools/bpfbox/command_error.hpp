// How a command fails: a one-line message for stderr and the process's exit status. An empty
// message fails quietly (the command already said why on stdout, as bpftool's lookup does).
#pragma once

#include <stdexcept>
#include <string>

namespace bpfbox::cli {

class CommandError : public std::runtime_error {
 public:
  explicit CommandError(const std::string& message, int exit_code = 1)
      : std::runtime_error(message), exit_code_(exit_code) {}
  int exit_code() const { return exit_code_; }

 private:
  int exit_code_;
};

// bpftool's exit status: its commands return -1 (255) for most failures, and a failed libbpf call's
// -errno (256 - errno: 254 for ENOENT) where they pass that result on (map element commands,
// `prog run`, `link show id N`). bpfbox's bpftool commands (prog, map, btf, link) fail with these.
constexpr int kBpftoolFailure = 255;
inline int bpftool_errno_status(int err) {
  return err > 0 && err < 256 ? 256 - err : kBpftoolFailure;
}

}  // namespace bpfbox::cli
