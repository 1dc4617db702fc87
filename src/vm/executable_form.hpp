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

// `call 12` is bpf_tail_call, run by the engine itself, when the embedder gave a lookup; without
// one it is an ordinary helper id (refused when the table lacks it).
inline bool is_tail_call(const isa::Decoded& d, const HelperTable& helpers) {
  return d.info().kind == isa::Kind::Call && d.imm == BPF_FUNC_tail_call &&
         helpers.tail_call_lookup() != nullptr;
}

}  // namespace bpfbox::vm
