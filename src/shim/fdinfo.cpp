#include "shim/fdinfo.hpp"

#include <algorithm>

#include "bpfbox/bpf.h"
#include "shim/real.hpp"

namespace bpfbox::shim {

std::string fdinfo_text(int fd, FdKind kind) {
  if (kind == FdKind::None || kind == FdKind::PerfEvent) return {};  // perf: the kernel's text
  InBpfbox in;  // bpfbox opens the fd's real fdinfo (for mnt_id): no shim on the way
  char buf[512];
  const int n = bpfbox_fdinfo(fd, buf, sizeof buf);
  if (n < 0) return {};
  if (size_t(n) < sizeof buf) return std::string(buf, size_t(n));
  std::string text(size_t(n) + 1, '\0');
  const int m = bpfbox_fdinfo(fd, text.data(), text.size());
  text.resize(size_t(std::clamp(m, 0, n)));
  return text;
}

}  // namespace bpfbox::shim
