// The engines' helper table for a program type: every helper its get_func_proto allows under the
// load's privileges, installed under the kernel's id and name. What TEST_RUN and tests compile
// with until the verifier hands over the table of the helpers a program really calls.
#pragma once

#include "bpfbox/prog_type.hpp"

namespace bpfbox::progs {

vm::HelperTable helper_table(const ProgTypeOps& ops, const ProgLoadContext& ctx);

}  // namespace bpfbox::progs
