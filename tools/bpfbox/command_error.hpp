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

}  // namespace bpfbox::cli
