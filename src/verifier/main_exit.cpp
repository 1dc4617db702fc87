// The main program's exit (the kernel's process_bpf_exit_full for frame 0): nothing acquired still
// held (check_resource_leak) and r0 a value the program type accepts (check_return_code).
#include <cerrno>

#include "verifier/calls_common.hpp"
#include "verifier/passes.hpp"
#include "verifier/precision.hpp"
#include "verifier/regs.hpp"

namespace bpfbox::verifier {

using namespace calls;

Status check_main_exit(Env& env) {
  if (Status st = check_resource_leak(env, false, true, "BPF_EXIT instruction in main prog"); !st)
    return st;

  // check_return_code(): r0 was written, is no pointer the program may not leak, and lies in the
  // type's range when it has one.
  if (Status st = check_reg_arg(env, 0, RegArg::Src); !st) return st;
  const RegState& r0 = cur_regs(env)[0];
  if (is_pointer_value(env, r0)) {
    env.verbose("R0 leaks addr as return value\n");
    explain(env, Rule::PointerLeak).reg(0);
    return refuse(env, EACCES);
  }
  // A global function verified on its own returns a scalar; the type's range is the program's.
  if (cur_frame(env).subprogno) {
    if (r0.type != SCALAR_VALUE) {
      env.verbose("At subprogram exit the register R0 is not a scalar value (%s)\n",
                  reg_type_str(r0.type).c_str());
      explain(env, Rule::ReturnValue).reg(0);
      return refuse(env, EINVAL);
    }
    return Status::ok();
  }
  if (!env.ops || !env.ops->has_retval_range) return Status::ok();
  if (r0.type != SCALAR_VALUE) {
    env.verbose("At program exit the register R0 is not a known value (%s)\n",
                reg_type_str(r0.type).c_str());
    explain(env, Rule::ReturnValue).reg(0);
    return refuse(env, EINVAL);
  }
  mark_chain_precision(env, 0);
  if (!retval_in_range(r0, env.ops->retval_min, env.ops->retval_max)) {
    verbose_invalid_scalar(env, r0, env.ops->retval_min, env.ops->retval_max, "At program exit",
                           "R0");
    explain(env, Rule::ReturnValue).reg(0);
    return refuse(env, EINVAL);
  }
  return Status::ok();
}

}  // namespace bpfbox::verifier
