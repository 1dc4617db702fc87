// net.core.bpf_jit_harden for bpfbox: BPFBOX_JIT_HARDEN decides which loads get constant blinding.
#include <cstdlib>
#include <cstring>

#include "bpfbox/vm.hpp"

namespace bpfbox::vm {

int jit_harden_level() {
  // Read at each call, as the sysctl is read at each load.
  const char* v = std::getenv("BPFBOX_JIT_HARDEN");
  if (!v) return 0;
  if (std::strcmp(v, "1") == 0) return 1;
  if (std::strcmp(v, "2") == 0) return 2;
  return 0;
}

bool blind_constants_for(bool privileged) {
  const int level = jit_harden_level();
  return level == 2 || (level == 1 && !privileged);
}

}  // namespace bpfbox::vm
