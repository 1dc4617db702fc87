#include "privilege.hpp"

#include <cstdlib>
#include <cstring>

namespace bpfbox::sys {

bool caller_privileged() {
  // Read on every load (not cached), so a test or a tool can switch it between loads.
  const char* v = std::getenv("BPFBOX_UNPRIVILEGED");
  return v == nullptr || *v == '\0' || std::strcmp(v, "0") == 0;
}

}  // namespace bpfbox::sys
