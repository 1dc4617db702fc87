// ALU instructions (check_alu_op): scalar transfer through the numeric domain, pointer arithmetic
// under the kernel's rules (adjust_ptr_min_max_vals), and the privilege rules on pointers.
#pragma once

#include <linux/bpf.h>

#include "bpfbox/status.hpp"
#include "verifier/env.hpp"

namespace bpfbox::verifier {

Status check_alu_op(Env& env, const struct bpf_insn& insn);

}  // namespace bpfbox::verifier
