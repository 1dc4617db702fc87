#include "subprocess.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <stdexcept>

namespace bpfbox::testing {
namespace {

void close_fd(int& fd) {
  if (fd >= 0) close(fd);
  fd = -1;
}

}  // namespace

ProcessResult run_process(const std::vector<std::string>& argv, const std::string& input) {
  int in[2], out[2], err[2];
  if (pipe2(in, O_CLOEXEC) || pipe2(out, O_CLOEXEC) || pipe2(err, O_CLOEXEC))
    throw std::runtime_error("pipe failed");
  const pid_t pid = fork();
  if (pid < 0) throw std::runtime_error("fork failed");
  if (pid == 0) {
    dup2(in[0], 0);
    dup2(out[1], 1);
    dup2(err[1], 2);
    std::vector<char*> args;
    for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    execv(args[0], args.data());
    _exit(127);
  }
  close(in[0]);
  close(out[1]);
  close(err[1]);

  // Feed stdin and drain stdout/stderr together so neither side blocks on a full pipe.
  signal(SIGPIPE, SIG_IGN);
  ProcessResult r;
  int fds[3] = {in[1], out[0], err[0]};
  size_t written = 0;
  if (input.empty()) close_fd(fds[0]);
  while (fds[0] >= 0 || fds[1] >= 0 || fds[2] >= 0) {
    pollfd p[3];
    for (int i = 0; i < 3; ++i) p[i] = {fds[i], static_cast<short>(i == 0 ? POLLOUT : POLLIN), 0};
    if (poll(p, 3, -1) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    if (fds[0] >= 0 && p[0].revents) {
      const ssize_t n = write(fds[0], input.data() + written, input.size() - written);
      if (n > 0) written += static_cast<size_t>(n);
      if (n < 0 || written == input.size()) close_fd(fds[0]);
    }
    for (int i = 1; i < 3; ++i) {
      if (fds[i] < 0 || !p[i].revents) continue;
      char buf[4096];
      const ssize_t n = read(fds[i], buf, sizeof buf);
      if (n <= 0) {
        close_fd(fds[i]);
        continue;
      }
      (i == 1 ? r.out : r.err).append(buf, static_cast<size_t>(n));
    }
  }
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return r;
}

std::string bpfbox_binary() {
  return std::string(BPFBOX_BINARY_DIR) + "/bpfbox";
}

std::string conformance_plugin_binary() {
  return std::string(BPFBOX_BINARY_DIR) + "/bpfbox-conformance-plugin";
}

}  // namespace bpfbox::testing
