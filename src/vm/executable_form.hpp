// What every engine requires of the program it compiles — the executable form the loader (and
// later the verifier's rewrite) produces. The interpreter and the JITs refuse the same programs
// with the same messages because they all ask this one function.
#pragma once

#include <span>

#include "bpfbox/status.hpp"
#include "bpfbox/vm.hpp"
#include "isa/decoder.hpp"

namespace bpfbox::vm {

// EINVAL naming the pc for: a call of a helper id the table lacks ("invalid func unknown#ID"), a
// kfunc call, an lddw whose pseudo source the loader should have resolved (only plain values and
// BPF_PSEUDO_FUNC remain), and a write to r10 ("frame pointer is read only").
Status check_executable_form(std::span<const isa::Decoded> prog, const HelperTable& helpers);

}  // namespace bpfbox::vm
