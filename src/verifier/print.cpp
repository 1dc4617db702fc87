// The verifier log's state lines (kernel/bpf/log.c, 6.18 format). Liveness suffixes ("_w") are
// not printed: 6.18 computes liveness statically and its log no longer shows them.
#include "verifier/print.hpp"

#include <algorithm>
#include <cinttypes>
#include <cstdio>

#include "isa/decoder.hpp"
#include "isa/disasm.hpp"
#include "verifier/regs.hpp"

namespace bpfbox::verifier {
namespace {

// Numbers in [-32768, 32767] print in decimal, others in hex (verbose_snum / verbose_unum).
std::string snum(int64_t v) {
  char buf[32];
  if (v >= INT16_MIN && v <= INT16_MAX)
    std::snprintf(buf, sizeof buf, "%" PRId64, v);
  else
    std::snprintf(buf, sizeof buf, "%#" PRIx64, static_cast<uint64_t>(v));
  return buf;
}
std::string unum(uint64_t v) {
  char buf[32];
  if (v <= UINT16_MAX)
    std::snprintf(buf, sizeof buf, "%" PRIu64, v);
  else
    std::snprintf(buf, sizeof buf, "%#" PRIx64, v);
  return buf;
}

bool type_is_map_ptr(uint32_t t) {
  uint32_t b = base_type(t);
  return b == CONST_PTR_TO_MAP || b == PTR_TO_MAP_KEY || b == PTR_TO_MAP_VALUE;
}

constexpr char kSlotTypeChar[] = {'?', 'r', 'm', '0', 'd', 'i', 'f'};

// vlog_alignment(): the column the "; state" of an instruction line starts at.
uint32_t vlog_alignment(uint32_t pos) {
  constexpr uint32_t kAlign = 40, kMinAlign = 8;
  uint32_t v = std::max(pos + kMinAlign / 2, kAlign);
  return (v + kMinAlign - 1) / kMinAlign * kMinAlign - pos - 1;
}

}  // namespace

std::string tnum_str(Tnum t) {
  return t.is_const() ? unum(t.value) : t.to_string();
}

std::string reg_state_str(const RegState& reg, uint32_t cur_frameno) {
  const uint32_t t = reg.type;
  std::string out;
  if (t == SCALAR_VALUE && reg.precise) out += "P";
  if (t == SCALAR_VALUE && reg.s.is_const())
    return out + snum(static_cast<int64_t>(reg.s.const_value()));
  out += reg_type_str(t);
  if (t == PTR_TO_ARENA) return out;
  if (t == PTR_TO_STACK) {
    if (reg.frameno != cur_frameno) out += "[" + std::to_string(reg.frameno) + "]";
    if (reg.s.is_const()) return out + snum(static_cast<int64_t>(reg.s.const_value() + reg.off));
  }
  out += "(";
  const char* sep = "";
  auto add = [&](const std::string& s) {
    out += sep;
    out += s;
    sep = ",";
  };
  if (reg.id) {
    // A linked scalar with a delta prints as the kernel's "id=1+4".
    std::string id = "id=" + std::to_string(reg.id & ~kAddConst);
    if (reg.id & kAddConst) id += (reg.off < 0 ? "" : "+") + std::to_string(reg.off);
    add(id);
  }
  if (reg.ref_obj_id) add("ref_obj_id=" + std::to_string(reg.ref_obj_id));
  if (type_is_map_ptr(t) && reg.map_ptr) {
    if (reg.map_ptr->name()[0]) add(std::string("map=") + reg.map_ptr->name());
    add("ks=" + std::to_string(reg.map_ptr->key_size()) +
        ",vs=" + std::to_string(reg.map_ptr->value_size()));
  }
  if (t != SCALAR_VALUE && reg.off) add("off=" + snum(reg.off));
  if (reg.is_pkt_pointer()) add("r=" + unum(static_cast<uint32_t>(reg.range)));
  if (base_type(t) == PTR_TO_MEM) add("sz=" + unum(reg.mem_size));
  if (reg.s.is_const()) {
    if (reg.s.const_value()) add("imm=" + snum(static_cast<int64_t>(reg.s.const_value())));
  } else {
    std::string ranges = reg.s.to_string();
    if (!ranges.empty()) add(ranges);
  }
  out += ")";
  return out;
}

void print_verifier_state(Env& env, const VerifierState& st, uint32_t frameno, bool print_all) {
  const FuncState& f = *st.frame[frameno];
  std::string out;
  if (f.frameno) out += " frame" + std::to_string(f.frameno) + ":";
  for (int i = 0; i < kMaxBpfReg; ++i) {
    const RegState& r = f.regs[i];
    if (r.type == NOT_INIT) continue;
    if (!print_all && !(env.scratched_regs & (1u << i))) continue;
    out += " R" + std::to_string(i) + "=" + reg_state_str(r, f.frameno);
  }
  for (size_t i = 0; i < f.stack.size(); ++i) {
    if (!print_all && (i >= 64 || !(env.scratched_stack & (uint64_t(1) << i)))) continue;
    const StackSlot& slot = f.stack[i];
    char types[kRegSize + 1];
    bool valid = false;
    for (int j = 0; j < kRegSize; ++j) {
      // slot_type[0] is the lowest address; the log prints the highest first, as the kernel's
      // slot_type[] (indexed from the top of the slot) reads.
      uint8_t ty = slot.slot_type[kRegSize - 1 - j];
      if (ty != STACK_INVALID) valid = true;
      types[j] = ty < sizeof kSlotTypeChar ? kSlotTypeChar[ty] : '?';
    }
    types[kRegSize] = 0;
    if (!valid) continue;
    std::string name = " fp" + std::to_string(-static_cast<int>(i + 1) * kRegSize);
    if (slot.slot_type[0] == STACK_SPILL) {
      // Bytes above a narrow spill (MISC/ZERO/INVALID) print before the spilled register.
      int j = 0;
      while (j < kRegSize && types[j] != 'r') ++j;
      types[j] = 0;
      out += name + "=" + types + reg_state_str(slot.spilled_ptr, f.frameno);
    } else {
      out += name + "=" + types;
    }
  }
  if (!st.refs.empty()) {
    out += " refs=";
    for (size_t i = 0; i < st.refs.size(); ++i)
      out += (i ? "," : "") + std::to_string(st.refs[i].id);
  }
  if (f.in_callback_fn) out += " cb";
  out += "\n";
  env.log.append(out);
  if (!print_all) {
    env.scratched_regs = 0;
    env.scratched_stack = 0;
  }
}

void print_insn_state(Env& env, const VerifierState& st, uint32_t frameno) {
  if (env.prev_log_pos && env.prev_log_pos == env.log.pos()) {
    env.log.reset(env.prev_log_pos - 1);  // the instruction line's newline
    uint32_t pad = vlog_alignment(static_cast<uint32_t>(env.prev_insn_print_pos));
    env.log.append(std::string(pad, ' ') + ";");
  } else {
    env.log.printf("%u:", env.insn_idx);
  }
  print_verifier_state(env, st, frameno, false);
}

void print_insn(Env& env, uint32_t insn_idx) {
  isa::Decoded d;
  std::string text = "invalid";
  if (isa::decode(env.insns, insn_idx, d)) text = isa::disassemble(d);
  uint64_t start = env.log.pos();
  env.log.printf("%u: (%02x) %s\n", insn_idx, env.insns[insn_idx].code, text.c_str());
  // The kernel's prev_insn_print_pos (the line's length, newline included) and prev_log_pos
  // (nothing logged since: the state goes on this line).
  env.prev_insn_print_pos = env.log.pos() - start;
  env.prev_log_pos = env.log.pos();
}

}  // namespace bpfbox::verifier
