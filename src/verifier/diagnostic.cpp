// The structured explanation of a refusal: what error sites record (explain()) and how verify()
// completes it into the public Diagnostic (finish_diagnostic()).
#include "verifier/diagnostic.hpp"

#include <cinttypes>
#include <cstdio>
#include <deque>

#include "verifier/env.hpp"

namespace bpfbox::verifier {

const char* rule_name(Rule rule) {
  switch (rule) {
    case Rule::None:
      return "";
    case Rule::ProgramSize:
      return "program_size";
    case Rule::BadInsn:
      return "bad_insn";
    case Rule::BadLdImm64:
      return "bad_ld_imm64";
    case Rule::JumpOutOfRange:
      return "jump_out_of_range";
    case Rule::FallOffEnd:
      return "fall_off_end";
    case Rule::Unreachable:
      return "unreachable";
    case Rule::JumpIntoLdImm64:
      return "jump_into_ld_imm64";
    case Rule::BackEdge:
      return "back_edge";
    case Rule::BadOptions:
      return "bad_options";
    case Rule::UninitRegister:
      return "uninit_register";
    case Rule::FramePointerWrite:
      return "frame_pointer_write";
    case Rule::PointerArithmetic:
      return "pointer_arithmetic";
    case Rule::PointerLeak:
      return "pointer_leak";
    case Rule::UninitStack:
      return "uninit_stack";
    case Rule::StackBounds:
      return "stack_bounds";
    case Rule::MapValueBounds:
      return "map_value_bounds";
    case Rule::PacketBounds:
      return "packet_bounds";
    case Rule::CtxAccess:
      return "ctx_access";
    case Rule::NullDeref:
      return "null_deref";
    case Rule::InvalidMemAccess:
      return "invalid_mem_access";
    case Rule::Misaligned:
      return "misaligned";
    case Rule::ReadOnly:
      return "read_only";
    case Rule::UnknownHelper:
      return "unknown_helper";
    case Rule::HelperArgument:
      return "helper_argument";
    case Rule::CallDepth:
      return "call_depth";
    case Rule::StackDepth:
      return "stack_depth";
    case Rule::UnreleasedRef:
      return "unreleased_ref";
    case Rule::SpinLock:
      return "spin_lock";
    case Rule::BtfInfo:
      return "btf_info";
    case Rule::InfiniteLoop:
      return "infinite_loop";
    case Rule::Complexity:
      return "complexity";
    case Rule::ReturnValue:
      return "return_value";
    case Rule::Privilege:
      return "privilege";
    case Rule::Other:
      return "other";
  }
  return "other";
}

namespace {

const char* type_name(uint32_t base) {
  switch (base) {
    case NOT_INIT:
      return "?";
    case SCALAR_VALUE:
      return "scalar";
    case PTR_TO_CTX:
      return "ctx";
    case CONST_PTR_TO_MAP:
      return "map_ptr";
    case PTR_TO_MAP_VALUE:
      return "map_value";
    case PTR_TO_MAP_KEY:
      return "map_key";
    case PTR_TO_STACK:
      return "fp";
    case PTR_TO_PACKET:
      return "pkt";
    case PTR_TO_PACKET_META:
      return "pkt_meta";
    case PTR_TO_PACKET_END:
      return "pkt_end";
    case PTR_TO_SOCKET:
      return "sock";
    case PTR_TO_SOCK_COMMON:
      return "sock_common";
    case PTR_TO_TCP_SOCK:
      return "tcp_sock";
    case PTR_TO_MEM:
      return "mem";
    case PTR_TO_BUF:
      return "buf";
    case PTR_TO_FUNC:
      return "func";
    default:
      return "ptr";
  }
}

// The ranges of a scalar (or of a pointer's variable offset) that are not the defaults.
std::string ranges(const Scalar& s) {
  if (s.is_const()) return "=" + std::to_string(static_cast<int64_t>(s.const_value()));
  std::string out;
  char buf[64];
  auto add = [&](const char* name, bool omit, const char* fmt, auto v) {
    if (omit) return;
    std::snprintf(buf, sizeof buf, fmt, v);
    out += out.empty() ? "" : ",";
    out += name;
    out += '=';
    out += buf;
  };
  add("smin", s.smin == INT64_MIN, "%" PRId64, s.smin);
  add("smax", s.smax == INT64_MAX, "%" PRId64, s.smax);
  add("umin", s.umin == 0, "%" PRIu64, s.umin);
  add("umax", s.umax == UINT64_MAX, "%" PRIu64, s.umax);
  if (!s.var_off.is_unknown()) {
    std::snprintf(buf, sizeof buf, "(0x%" PRIx64 "; 0x%" PRIx64 ")", s.var_off.value,
                  s.var_off.mask);
    out += out.empty() ? "var_off=" : ",var_off=";
    out += buf;
  }
  return out.empty() ? "(unbounded)" : "(" + out + ")";
}

bool var_offset_known(const RegState& r) {
  return r.s.is_const();
}

// A hint from the rule and the facts, when the error site wrote none.
std::string derive_hint(const RefusalFacts& f) {
  const RegState* reg = f.reg_states.empty() ? nullptr : &f.reg_states.front();
  const int regno = f.regnos.empty() ? -1 : f.regnos.front();
  char buf[320];
  switch (f.rule) {
    case Rule::MapValueBounds:
    case Rule::PacketBounds:
    case Rule::StackBounds:
    case Rule::CtxAccess: {
      const char* what = f.rule == Rule::MapValueBounds ? "value"
                         : f.rule == Rule::PacketBounds ? "packet range"
                         : f.rule == Rule::StackBounds  ? "stack"
                                                        : "context";
      if (f.rule == Rule::PacketBounds && f.has_access) {
        std::snprintf(buf, sizeof buf,
                      "compare `data + %" PRId64
                      "` with `data_end` (if r > data_end goto out) "
                      "before this %u-byte access",
                      f.access_off + f.access_size, f.access_size);
        return buf;
      }
      if (f.has_access && reg && !var_offset_known(*reg) && f.mem_size >= f.access_size) {
        // The variable part must stay below mem_size - size - fixed offset + 1.
        const int64_t limit = static_cast<int64_t>(f.mem_size) - f.access_size - f.access_off + 1;
        if (limit > 0) {
          std::snprintf(buf, sizeof buf,
                        "check `idx < %" PRId64
                        "` (the variable offset in R%d, in bytes) before "
                        "indexing this %" PRIu64 "-byte %s",
                        limit, regno, f.mem_size, what);
        } else {
          std::snprintf(buf, sizeof buf,
                        "a %u-byte access at offset %" PRId64 " does not fit in this %" PRIu64
                        "-byte %s whatever the index",
                        f.access_size, f.access_off, f.mem_size, what);
        }
        return buf;
      }
      if (f.has_access) {
        std::snprintf(buf, sizeof buf,
                      "keep offset + size within the %" PRIu64
                      "-byte %s: this access covers [%" PRId64 ", %" PRId64 ")",
                      f.mem_size, what, f.access_off, f.access_off + f.access_size);
        return buf;
      }
      return std::string("keep the access inside the ") + what;
    }
    case Rule::NullDeref:
      std::snprintf(buf, sizeof buf,
                    "the pointer in R%d may be NULL: test it (`if r%d == 0 goto ...`) before "
                    "using it",
                    regno, regno);
      return buf;
    case Rule::UninitRegister:
      std::snprintf(buf, sizeof buf,
                    "R%d is read before it is written on this path (only r1 and r10 are set at "
                    "entry; a call clobbers r1-r5)",
                    regno);
      return buf;
    case Rule::UninitStack:
      return "write the stack bytes before reading them or passing them to a helper";
    case Rule::FramePointerWrite:
      return "r10 is read-only: copy it to another register first";
    case Rule::PointerArithmetic:
      return "only add/subtract bounded scalars to pointers; bound the scalar with a comparison "
             "first";
    case Rule::PointerLeak:
      return "unprivileged programs may not store, return or compare pointers";
    case Rule::UnknownHelper:
      return "this helper is not available to the program type (or to unprivileged loads)";
    case Rule::HelperArgument:
      return "pass the argument type the helper's prototype expects";
    case Rule::UnreleasedRef:
      return "release the reference on every path (bpf_ringbuf_submit or bpf_ringbuf_discard)";
    case Rule::SpinLock:
      return "release the spin lock before exit and make no calls while holding it";
    case Rule::BtfInfo:
      return "the program's BTF func_info/line_info must describe its subprograms as the "
             "compiler emitted them";
    case Rule::StackDepth:
      return "the deepest call chain uses more than 512 bytes of stack: use smaller locals or a "
             "per-CPU array map";
    case Rule::CallDepth:
      return "at most 8 nested bpf-to-bpf calls";
    case Rule::InfiniteLoop:
      return "make the loop's exit condition depend on a bounded counter";
    case Rule::Complexity:
      return "the verifier explored 1,000,000 instructions: bound loops tighter or split the "
             "program with bpf-to-bpf calls";
    case Rule::ReturnValue:
      return "return a value in the program type's range (r0 at exit)";
    case Rule::Unreachable:
      return "remove the dead instructions";
    case Rule::FallOffEnd:
      return "end the program with `exit` or a jump";
    case Rule::JumpOutOfRange:
      return "jump targets must be inside the same function";
    case Rule::JumpIntoLdImm64:
      return "a jump may not land on the second half of a 64-bit load";
    case Rule::BackEdge:
      return "loops need a privileged load (CAP_BPF)";
    case Rule::Privilege:
      return "this is allowed only for privileged loads (CAP_BPF/CAP_PERFMON)";
    default:
      return "";
  }
}

// A shortest path in the control-flow graph from the entry to pc (when the site gave no path).
std::vector<uint32_t> cfg_path(const std::vector<struct bpf_insn>& insns, uint32_t pc) {
  const size_t n = insns.size();
  if (pc >= n) return {};
  std::vector<int64_t> prev(n, -2);
  std::deque<uint32_t> q{0};
  prev[0] = -1;
  while (!q.empty()) {
    const uint32_t i = q.front();
    q.pop_front();
    if (i == pc) break;
    const struct bpf_insn& in = insns[i];
    const uint8_t cls = BPF_CLASS(in.code), op = BPF_OP(in.code);
    std::vector<int64_t> next;
    if (in.code == (BPF_LD | BPF_IMM | BPF_DW)) {
      next.push_back(i + 2);
    } else if (cls == BPF_JMP || cls == BPF_JMP32) {
      if (op == BPF_EXIT) {
      } else if (op == BPF_CALL) {
        next.push_back(i + 1);
      } else if (op == BPF_JA) {
        next.push_back(int64_t(i) + 1 + (cls == BPF_JMP32 ? in.imm : in.off));
      } else {
        next.push_back(i + 1);
        next.push_back(int64_t(i) + 1 + in.off);
      }
    } else {
      next.push_back(i + 1);
    }
    for (int64_t t : next) {
      if (t < 0 || t >= int64_t(n) || prev[t] != -2) continue;
      prev[t] = i;
      q.push_back(static_cast<uint32_t>(t));
    }
  }
  if (prev[pc] == -2) return {pc};
  std::vector<uint32_t> path;
  for (int64_t i = pc; i >= 0; i = prev[i]) path.insert(path.begin(), static_cast<uint32_t>(i));
  return path;
}

}  // namespace

std::string describe_reg(int regno, const RegState& r) {
  std::string out = "R" + std::to_string(regno) + " ";
  const uint32_t base = r.base();
  if (r.type & MEM_RDONLY) out += "rdonly_";
  if (r.type & MEM_RINGBUF) out += "ringbuf_";
  out += type_name(base);
  if (r.maybe_null()) out += "_or_null";
  if (base == NOT_INIT) return out + " (not initialised)";
  if (base == SCALAR_VALUE) return out + ranges(r.s);
  std::string attrs;
  auto add = [&](const std::string& a) { attrs += (attrs.empty() ? "" : ",") + a; };
  if (r.map_ptr &&
      (base == PTR_TO_MAP_VALUE || base == CONST_PTR_TO_MAP || base == PTR_TO_MAP_KEY)) {
    if (r.map_ptr->name()[0]) add(std::string("map=") + r.map_ptr->name());
    add("ks=" + std::to_string(r.map_ptr->key_size()));
    add("vs=" + std::to_string(r.map_ptr->value_size()));
  }
  if (base == PTR_TO_MEM) add("sz=" + std::to_string(r.mem_size));
  if (r.is_pkt_pointer()) add("r=" + std::to_string(r.range));
  if (r.id) add("id=" + std::to_string(r.id));
  if (r.ref_obj_id) add("ref_obj_id=" + std::to_string(r.ref_obj_id));
  add("off=" + std::to_string(r.off));
  if (r.s.is_const()) {
    if (r.s.const_value() != 0) add("imm=" + std::to_string(int64_t(r.s.const_value())));
  } else {
    add("var" + ranges(r.s));
  }
  return out + "(" + attrs + ")";
}

Explain explain(Env& env, Rule rule) {
  const bool active = env.refusal.rule == Rule::None;
  if (active) env.refusal.rule = rule;
  return Explain(env, active);
}

Explain& Explain::at(uint32_t pc) {
  if (active_) {
    env_.refusal.has_pc = true;
    env_.refusal.pc = pc;
  }
  return *this;
}

Explain& Explain::reg(int regno) {
  if (!active_ || !env_.cur_state || regno < 0 || regno >= kMaxBpfReg) return *this;
  return reg(regno, env_.cur_state->cur().regs[regno]);
}

Explain& Explain::reg(int regno, const RegState& r) {
  if (active_) {
    env_.refusal.registers.push_back(describe_reg(regno, r));
    env_.refusal.reg_states.push_back(r);
    env_.refusal.regnos.push_back(regno);
  }
  return *this;
}

Explain& Explain::access(int64_t off, uint32_t size, uint64_t mem_size) {
  if (active_) {
    env_.refusal.has_access = true;
    env_.refusal.access_off = off;
    env_.refusal.access_size = size;
    env_.refusal.mem_size = mem_size;
  }
  return *this;
}

Explain& Explain::hint(std::string text) {
  if (active_) env_.refusal.hint = std::move(text);
  return *this;
}

Explain& Explain::path(std::vector<uint32_t> pcs) {
  if (active_) {
    env_.refusal.has_path = true;
    env_.refusal.path = std::move(pcs);
  }
  return *this;
}

void finish_diagnostic(Env& env, int err) {
  RefusalFacts& f = env.refusal;
  if (f.rule == Rule::None) {
    f.rule = err == E2BIG ? Rule::Complexity : Rule::Other;
  }
  Diagnostic& d = env.diag;
  d.rule = rule_name(f.rule);
  if (f.has_pc) {
    d.pc = f.pc;
  } else if (env.cur_state) {
    d.pc = env.cur_state->insn_idx;
  }
  if (d.message.empty()) d.message = f.last_line;
  if (d.registers.empty()) d.registers = f.registers;
  if (d.path.empty()) {
    if (f.has_path) {
      d.path = f.path;
    } else if (f.rule != Rule::ProgramSize && f.rule != Rule::BadOptions &&
               d.pc < env.insns.size()) {
      d.path = cfg_path(env.insns, d.pc);
    }
  }
  if (d.hint.empty()) d.hint = f.hint.empty() ? derive_hint(f) : f.hint;
  if (d.source.empty()) source_line_of(env, d.pc, &d.source, &d.file, &d.line);
}

}  // namespace bpfbox::verifier
