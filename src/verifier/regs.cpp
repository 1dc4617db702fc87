// Register states (the kernel's mark_reg_* family, init_reg_state, check_reg_arg, reg_type_str).
#include "verifier/regs.hpp"

#include <cerrno>

#include "verifier/diagnostic.hpp"

namespace bpfbox::verifier {

std::string reg_type_str(uint32_t type) {
  static const char* const kNames[kRegTypeCount] = {
      "?",           "scalar",   "ctx",       "map_ptr",    "map_value", "map_key",
      "fp",          "pkt_meta", "pkt",       "pkt_end",    "flow_keys", "sock",
      "sock_common", "tcp_sock", "tp_buffer", "xdp_sock",   "ptr_",      "mem",
      "arena",       "buf",      "func",      "dynptr_ptr",
  };
  uint32_t base = base_type(type);
  std::string out;
  if (type & MEM_RDONLY) out += "rdonly_";
  if (type & MEM_RINGBUF) out += "ringbuf_";
  if (type & MEM_USER) out += "user_";
  if (type & MEM_PERCPU) out += "percpu_";
  if (type & MEM_RCU) out += "rcu_";
  if (type & PTR_UNTRUSTED) out += "untrusted_";
  if (type & PTR_TRUSTED) out += "trusted_";
  out += base < kRegTypeCount ? kNames[base] : "?";
  if (type & PTR_MAYBE_NULL) out += base == PTR_TO_BTF_ID ? "or_null_" : "_or_null";
  return out;
}

// Everything but the type cleared (the kernel zeroes from `off` to `var_off`, then the ids).
static void clear_facts(RegState& reg) {
  reg.off = 0;
  reg.map_ptr = nullptr;
  reg.map_uid = 0;
  reg.range = 0;
  reg.mem_size = 0;
  reg.subprogno = 0;
  reg.id = 0;
  reg.ref_obj_id = 0;
  reg.frameno = 0;
  reg.precise = false;
}

void mark_reg_known(RegState& reg, uint64_t imm) {
  clear_facts(reg);
  reg.s = Scalar::constant(imm);
}

void mark_reg_known_zero(RegState& reg) {
  mark_reg_known(reg, 0);
}

void mark_reg_scalar_const(RegState& reg, uint64_t imm) {
  reg.type = SCALAR_VALUE;
  mark_reg_known(reg, imm);
}

void mark_reg_unknown(const Env& env, RegState& reg) {
  clear_facts(reg);
  reg.type = SCALAR_VALUE;
  reg.s = Scalar::unknown();
  reg.precise = !env.privileged();
}

void mark_reg_not_init(RegState& reg) {
  clear_facts(reg);
  reg.type = NOT_INIT;
  reg.s = Scalar::unknown();
}

void init_reg_state(FuncState& frame, uint32_t frameno) {
  for (auto& r : frame.regs) {
    mark_reg_not_init(r);
    r.live = REG_LIVE_NONE;
    r.subreg_def = 0;
  }
  RegState& fp = frame.regs[kFramePointer];
  fp.type = PTR_TO_STACK;
  mark_reg_known_zero(fp);
  fp.frameno = frameno;
  frame.frameno = frameno;
}

Status check_reg_arg(Env& env, int regno, RegArg use) {
  if (regno < 0 || regno >= kMaxBpfReg) {
    env.verbose("R%d is invalid\n", regno);
    return Status(EINVAL, "invalid register");
  }
  mark_reg_scratched(env, regno);
  RegState& reg = env.cur_state->cur().regs[regno];
  if (use == RegArg::Src) {
    if (reg.type == NOT_INIT) {
      env.verbose("R%d !read_ok\n", regno);
      explain(env, Rule::UninitRegister).reg(regno, reg);
      return Status(EACCES, "register not initialised");
    }
    if (regno != kFramePointer) reg.live |= REG_LIVE_READ64;
    return {};
  }
  if (regno == kFramePointer) {
    env.verbose("frame pointer is read only\n");
    explain(env, Rule::FramePointerWrite);
    return Status(EACCES, "frame pointer is read only");
  }
  reg.live |= REG_LIVE_WRITTEN;
  reg.subreg_def = static_cast<int32_t>(env.insn_idx) + 1;
  if (use == RegArg::Dst) mark_reg_unknown(env, reg);
  return {};
}

bool is_pointer_value(const Env& env, const RegState& reg) {
  return !env.allow_ptr_leaks() && reg.is_pointer();
}

bool type_may_be_null(uint32_t type) {
  return type & PTR_MAYBE_NULL;
}

bool reg_type_not_null(const RegState& reg) {
  // The kernel's reg_not_null(): the types a helper or a null check proved non-NULL (a stack or
  // ctx pointer compared with 0 is still explored both ways, as the kernel does).
  if (type_may_be_null(reg.type)) return false;
  switch (reg.base()) {
    case PTR_TO_SOCKET:
    case PTR_TO_TCP_SOCK:
    case PTR_TO_MAP_VALUE:
    case PTR_TO_MAP_KEY:
    case PTR_TO_SOCK_COMMON:
    case PTR_TO_MEM:
      return true;
    default:
      return false;
  }
}

}  // namespace bpfbox::verifier
