#include "privilege.hpp"

#include <linux/capability.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>

namespace bpfbox::sys {

bool caller_privileged() {
  // Read on every load (not cached), so a test or a tool can switch it between loads.
  const char* v = std::getenv("BPFBOX_UNPRIVILEGED");
  return v == nullptr || *v == '\0' || std::strcmp(v, "0") == 0;
}

bool caller_dac_override(bool write) {
  if (!caller_privileged()) return false;
  __user_cap_header_struct hdr{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3] = {};
  if (syscall(SYS_capget, &hdr, data) != 0) return geteuid() == 0;
  auto has = [&](int cap) { return (data[cap / 32].effective >> (cap % 32)) & 1; };
  return has(CAP_DAC_OVERRIDE) || (!write && has(CAP_DAC_READ_SEARCH));
}

}  // namespace bpfbox::sys
