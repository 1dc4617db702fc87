// Memory accesses (the kernel's check_mem_access and what it calls): stack, context, map key and
// value, packet and PTR_TO_MEM, with the kernel's messages and errno.
#include <algorithm>
#include <bit>
#include <cerrno>

#include "isa/access_size.hpp"
#include "isa/uapi.hpp"
#include "verifier/diagnostic.hpp"
#include "verifier/insn_facts.hpp"
#include "verifier/mem.hpp"
#include "verifier/print.hpp"
#include "verifier/precision.hpp"
#include "verifier/regs.hpp"
#include "verifier/sanitize.hpp"

namespace bpfbox::verifier {
namespace {

#define TRY(expr)                 \
  do {                            \
    Status st_ = (expr);          \
    if (!st_.is_ok()) return st_; \
  } while (0)

Status refuse(int err, const char* what) {
  return Status(err, what);
}

RegState* regs(Env& env) {
  return env.cur_state->cur().regs.data();
}

// The frame a stack pointer points into (func(env, reg)).
FuncState& stack_frame(Env& env, const RegState& reg) {
  return *env.cur_state->frame[reg.frameno];
}

// A stack byte at offset off (-512..-1) from the frame pointer: its 8-byte slot and its index in
// slot_type[] (0: the lowest address).
struct StackByte {
  int spi;
  int idx;
};
StackByte stack_byte(int64_t off) {
  const int slot = static_cast<int>(-off - 1);
  return {slot / kRegSize, kRegSize - 1 - slot % kRegSize};
}

bool is_spilled_reg(const StackSlot& s) {
  return s.slot_type[0] == STACK_SPILL;
}
bool is_spilled_scalar_reg(const StackSlot& s) {
  return is_spilled_reg(s) && s.spilled_ptr.type == SCALAR_VALUE;
}

// The bit width of a scalar's largest value (get_reg_width: fls64(umax)).
int reg_width(const RegState& r) {
  return 64 - std::countl_zero(r.s.umax);
}

// A scalar about to be copied gets an id, so bounds learnt on either copy reach the other.
void assign_scalar_id_before_mov(Env& env, RegState& r) {
  if (r.type != SCALAR_VALUE) return;
  if (!r.id && !r.s.is_const()) r.id = env.new_id();
}

void copy_register_state(RegState& dst, const RegState& src) {
  dst = src;
  dst.live |= REG_LIVE_WRITTEN;
}

void mark_stack_slot_misc(const Env& env, uint8_t& t) {
  if (t == STACK_ZERO) return;
  if (t == STACK_INVALID && env.privileged()) return;  // allow_uninit_stack
  t = STACK_MISC;
}

void scrub_spilled_slot(uint8_t& t) {
  if (t != STACK_INVALID) t = STACK_MISC;
}

// The frame's stack grows to cover `size` bytes below the frame pointer; the subprogram's
// stack depth follows (grow_stack_state).
void grow_stack_state(Env& env, FuncState& f, int64_t size) {
  const size_t slots = static_cast<size_t>((size + kRegSize - 1) / kRegSize);
  if (f.stack.size() < slots) f.stack.resize(slots);
  if (f.subprogno < env.subprogs.size()) {
    uint32_t& depth = env.subprogs[f.subprogno].stack_depth;
    depth = std::max<uint32_t>(depth, static_cast<uint32_t>(slots * kRegSize));  // whole slots
  }
}

// check_stack_access_within_bounds(): [off, off+size) below the frame pointer, for every value
// of a variable offset.
Status check_stack_access_within_bounds(Env& env, int regno, int64_t off, int64_t size,
                                        const char* err_extra) {
  RegState& reg = regs(env)[regno];
  int64_t min_off, max_off;
  if (reg.s.is_const()) {
    min_off = static_cast<int64_t>(reg.s.const_value()) + off;
    max_off = min_off + size;
  } else {
    if (reg.s.smax >= kMaxVarOff || reg.s.smin <= -kMaxVarOff) {
      env.verbose("invalid unbounded variable-offset%s stack R%d\n", err_extra, regno);
      explain(env, Rule::StackBounds).reg(regno);
      return refuse(EACCES, "unbounded variable stack offset");
    }
    min_off = reg.s.smin + off;
    max_off = reg.s.smax + off + size;
  }
  int err = 0;
  if (min_off >= 0 || min_off < -static_cast<int64_t>(kMaxStack))
    err = EACCES;
  else if (max_off > 0)
    err = EINVAL;
  if (err) {
    if (reg.s.is_const())
      env.verbose("invalid%s stack R%d off=%d size=%d\n", err_extra, regno, static_cast<int>(off),
                  static_cast<int>(size));
    else
      env.verbose("invalid variable-offset%s stack R%d var_off=%s off=%d size=%d\n", err_extra,
                  regno, tnum_str(reg.s.var_off).c_str(), static_cast<int>(off),
                  static_cast<int>(size));
    explain(env, Rule::StackBounds)
        .reg(regno)
        .access(min_off, static_cast<uint32_t>(size), kMaxStack);
    return refuse(err, "stack access out of bounds");
  }
  grow_stack_state(env, stack_frame(env, reg), -min_off);
  return {};
}

// mark_reg_stack_read(): a read of bytes [min_off, max_off) that is not a register fill: zero
// when every byte is known zero, else unknown.
void mark_reg_stack_read(Env& env, FuncState& f, int64_t min_off, int64_t max_off, int dst) {
  int zeros = 0;
  for (int64_t i = min_off; i < max_off; ++i) {
    StackByte b = stack_byte(i);
    if (f.stack[b.spi].slot_type[b.idx] == STACK_ZERO) ++zeros;
  }
  RegState& r = regs(env)[dst];
  if (zeros == max_off - min_off)
    mark_reg_scalar_const(r, 0);
  else
    mark_reg_unknown(env, r);
  r.live |= REG_LIVE_WRITTEN;
}

// check_stack_read_fixed_off().
Status check_stack_read_fixed_off(Env& env, FuncState& f, int ptr_regno, int64_t off, uint32_t size,
                                  int dst) {
  StackByte first = stack_byte(off);
  StackSlot& slot = f.stack[first.spi];
  mark_stack_slot_scratched(env, first.spi);
  note_stack_access(env, f.frameno, first.spi, is_spilled_reg(slot));
  RegState* dregs = regs(env);
  if (is_spilled_reg(slot)) {
    RegState& spilled = slot.spilled_ptr;
    uint32_t spill_size = 0;
    while (spill_size < kRegSize && slot.slot_type[spill_size] == STACK_SPILL) ++spill_size;
    if (size != kRegSize || spill_size != kRegSize) {
      if (spilled.type != SCALAR_VALUE) {
        env.verbose("invalid size of register fill\n");
        explain(env, Rule::InvalidMemAccess);
        return refuse(EACCES, "invalid size of register fill");
      }
      if (dst < 0) return {};
      if (size <= spill_size && off % kRegSize == 0) {
        const int32_t subreg_def = dregs[dst].subreg_def;
        if (env.privileged() && size == 4 && spill_size == 4 && reg_width(spilled) <= 32)
          assign_scalar_id_before_mov(env, spilled);
        copy_register_state(dregs[dst], spilled);
        dregs[dst].subreg_def = subreg_def;
        // A narrowing fill breaks the relation; the load's truncation fixes the bounds.
        if (reg_width(spilled) > static_cast<int>(size) * 8) dregs[dst].id = 0;
      } else {
        uint32_t spill_cnt = 0, zero_cnt = 0;
        for (uint32_t i = 0; i < size; ++i) {
          StackByte b = stack_byte(off + i);
          const uint8_t t = f.stack[b.spi].slot_type[b.idx];
          if (t == STACK_SPILL) {
            ++spill_cnt;
          } else if (t == STACK_ZERO) {
            ++zero_cnt;
          } else if (t != STACK_MISC && !(t == STACK_INVALID && env.privileged())) {
            env.verbose("invalid read from stack off %d+%d size %d\n", static_cast<int>(off), i,
                        size);
            explain(env, Rule::UninitStack).access(off, size, kMaxStack);
            return refuse(EACCES, "invalid read from stack");
          }
        }
        if (spill_cnt == size && spilled.s.is_const() && spilled.s.const_value() == 0)
          mark_reg_scalar_const(dregs[dst], 0);
        else if (zero_cnt == size)
          mark_reg_scalar_const(dregs[dst], 0);
        else
          mark_reg_unknown(env, dregs[dst]);
      }
      dregs[dst].live |= REG_LIVE_WRITTEN;
      return {};
    }
    if (dst >= 0) {
      if (env.privileged()) assign_scalar_id_before_mov(env, spilled);
      copy_register_state(dregs[dst], spilled);
    } else if (is_pointer_value(env, spilled)) {
      // An atomic's read of a spilled pointer would let the program see it as a number.
      env.verbose("leaking pointer from stack off %d\n", static_cast<int>(off));
      explain(env, Rule::PointerLeak);
      return refuse(EACCES, "leaking pointer from stack");
    }
    return {};
  }
  for (uint32_t i = 0; i < size; ++i) {
    StackByte b = stack_byte(off + i);
    const uint8_t t = f.stack[b.spi].slot_type[b.idx];
    if (t == STACK_MISC || t == STACK_ZERO) continue;
    if (t == STACK_INVALID && env.privileged()) continue;
    // 6.18's wording names the pointer register and the access, not the first bad byte.
    env.verbose("invalid read from stack R%d off=%d size=%d\n", ptr_regno, static_cast<int>(off),
                size);
    explain(env, Rule::UninitStack).access(off, size, kMaxStack);
    return refuse(EACCES, "invalid read from stack");
  }
  if (dst >= 0) mark_reg_stack_read(env, f, off, off + size, dst);
  return {};
}

// check_stack_range_initialized(): the bytes a helper reads (or, clobbering, may write) through
// a stack pointer; for a variable offset, every byte of every possible position.
Status check_stack_range_initialized(Env& env, int regno, int64_t off, uint32_t access_size,
                                     bool zero_size_allowed, AccessType type, bool raw_mode) {
  RegState& reg = regs(env)[regno];
  FuncState& f = stack_frame(env, reg);
  const char* err_extra = " indirect";
  const bool clobber = type == AccessType::Write;
  if (access_size == 0 && !zero_size_allowed) {
    env.verbose("invalid zero-sized read\n");
    return refuse(EACCES, "invalid zero-sized read");
  }
  // 6.18 words helper accesses as direct ones (the "indirect access to" form is gone).
  TRY(check_stack_access_within_bounds(env, regno, off, access_size,
                                       clobber ? " write to" : " read from"));
  int64_t min_off, max_off;
  if (reg.s.is_const()) {
    min_off = max_off = static_cast<int64_t>(reg.s.const_value()) + off;
  } else {
    if (!env.bypass_spec_v1()) {
      env.verbose("R%d%s variable offset stack access prohibited for !root, var_off=%s\n", regno,
                  err_extra, tnum_str(reg.s.var_off).c_str());
      explain(env, Rule::Privilege).reg(regno);
      return refuse(EACCES, "variable stack offset prohibited for !root");
    }
    raw_mode = false;  // the whole range must be initialised: the helper may fill only part
    min_off = reg.s.smin + off;
    max_off = reg.s.smax + off;
  }
  if (raw_mode) {
    // The helper writes these bytes: whatever they held is now unknown data.
    for (int64_t i = min_off; i < max_off + access_size; ++i) {
      StackByte b = stack_byte(i);
      StackSlot& s = f.stack[b.spi];
      if (is_spilled_reg(s)) {
        mark_reg_unknown(env, s.spilled_ptr);
        for (auto& t : s.slot_type) scrub_spilled_slot(t);
      }
      s.slot_type[b.idx] = STACK_MISC;
      mark_stack_slot_scratched(env, b.spi);
    }
    return {};
  }
  for (int64_t i = min_off; i < max_off + access_size; ++i) {
    StackByte b = stack_byte(i);
    StackSlot& s = f.stack[b.spi];
    uint8_t& t = s.slot_type[b.idx];
    if (t == STACK_MISC) continue;
    if (t == STACK_ZERO || (t == STACK_INVALID && env.privileged())) {
      if (clobber) t = STACK_MISC;
      continue;
    }
    if (is_spilled_reg(s) && (s.spilled_ptr.type == SCALAR_VALUE || env.allow_ptr_leaks())) {
      if (clobber) {
        mark_reg_unknown(env, s.spilled_ptr);
        for (auto& st : s.slot_type) scrub_spilled_slot(st);
      }
      continue;
    }
    if (reg.s.is_const())
      env.verbose("invalid%s read from stack R%d off %d+%d size %d\n", err_extra, regno,
                  static_cast<int>(min_off), static_cast<int>(i - min_off), access_size);
    else
      env.verbose("invalid%s read from stack R%d var_off %s+%d size %d\n", err_extra, regno,
                  tnum_str(reg.s.var_off).c_str(), static_cast<int>(i - min_off), access_size);
    explain(env, Rule::UninitStack).reg(regno).access(min_off, access_size, kMaxStack);
    return refuse(EACCES, "invalid indirect read from stack");
  }
  return {};
}

// check_stack_read(): a load through a stack pointer.
Status check_stack_read(Env& env, int ptr_regno, int64_t off, uint32_t size, int dst) {
  RegState& reg = regs(env)[ptr_regno];
  FuncState& f = stack_frame(env, reg);
  const bool var_off = !reg.s.is_const();
  if (dst < 0 && var_off) {
    env.verbose(
        "variable offset stack pointer cannot be passed into helper function; var_off=%s off=%d "
        "size=%d\n",
        tnum_str(reg.s.var_off).c_str(), static_cast<int>(off), size);
    return refuse(EACCES, "variable offset stack pointer");
  }
  if (!env.bypass_spec_v1() && var_off) {
    env.verbose("R%d variable offset stack access prohibited for !root, var_off=%s\n", ptr_regno,
                tnum_str(reg.s.var_off).c_str());
    explain(env, Rule::Privilege).reg(ptr_regno);
    return refuse(EACCES, "variable stack offset prohibited for !root");
  }
  if (!var_off)
    return check_stack_read_fixed_off(env, f, ptr_regno,
                                      off + static_cast<int64_t>(reg.s.const_value()), size, dst);
  // Variable offset: every byte that may be read must be initialised; the result is unknown
  // (or zero when all of them are zero).
  TRY(check_stack_range_initialized(env, ptr_regno, off, size, false, AccessType::Read, false));
  mark_reg_stack_read(env, f, reg.s.smin + off, reg.s.smax + off + size, dst);
  return {};
}

// check_stack_write_fixed_off().
Status check_stack_write_fixed_off(Env& env, FuncState& f, int64_t off, uint32_t size,
                                   int value_regno, const struct bpf_insn& insn) {
  StackByte first = stack_byte(off);
  StackSlot& slot = f.stack[first.spi];
  if (!env.allow_ptr_leaks() && is_spilled_reg(slot) && !is_spilled_scalar_reg(slot) &&
      size != kRegSize) {
    env.verbose("attempt to corrupt spilled pointer on stack\n");
    explain(env, Rule::PointerLeak);
    return refuse(EACCES, "attempt to corrupt spilled pointer on stack");
  }
  FuncState& cur = env.cur_state->cur();
  RegState* reg = value_regno >= 0 ? &cur.regs[value_regno] : nullptr;
  sanitize_stack_write(env, slot, size, reg);  // Spectre v4: a barrier after this store?
  mark_stack_slot_scratched(env, first.spi);
  const bool st_mem = BPF_CLASS(insn.code) == BPF_ST;
  const bool spill = (off % kRegSize == 0 && env.privileged() &&
                      ((reg && reg->type == SCALAR_VALUE) || (!reg && st_mem))) ||
                     (reg && reg->is_pointer());
  note_stack_access(env, f.frameno, first.spi, spill);
  auto save_register_state = [&](const RegState& r) {
    copy_register_state(slot.spilled_ptr, r);
    for (uint32_t i = 0; i < kRegSize; ++i) {
      if (i < size)
        slot.slot_type[i] = STACK_SPILL;
      else
        mark_stack_slot_misc(env, slot.slot_type[i]);
    }
  };
  if (reg && off % kRegSize == 0 && reg->type == SCALAR_VALUE && env.privileged()) {
    const bool fits = reg_width(*reg) <= static_cast<int>(size) * 8;
    if (fits) assign_scalar_id_before_mov(env, *reg);
    save_register_state(*reg);
    if (!fits) slot.spilled_ptr.id = 0;
  } else if (!reg && off % kRegSize == 0 && st_mem && env.privileged()) {
    RegState imm;
    mark_reg_scalar_const(imm, static_cast<uint64_t>(static_cast<int64_t>(insn.imm)));
    save_register_state(imm);
  } else if (reg && reg->is_pointer()) {
    if (size != kRegSize) {
      env.verbose("invalid size of register spill\n");
      explain(env, Rule::PointerLeak).reg(value_regno);
      return refuse(EACCES, "invalid size of register spill");
    }
    if (&f != &cur && reg->base() == PTR_TO_STACK) {
      env.verbose("cannot spill pointers to stack into stack frame of the caller\n");
      return refuse(EINVAL, "stack pointer spilled into the caller's frame");
    }
    save_register_state(*reg);
  } else {
    uint8_t type = STACK_MISC;
    slot.spilled_ptr.type = NOT_INIT;
    if (is_spilled_reg(slot))
      for (auto& t : slot.slot_type) scrub_spilled_slot(t);
    if ((reg && reg->type == SCALAR_VALUE && reg->s.is_const() && reg->s.const_value() == 0) ||
        (!reg && st_mem && insn.imm == 0)) {
      if (reg) mark_chain_precision(env, value_regno);  // STACK_ZERO relies on the exact value
      type = STACK_ZERO;
    }
    for (uint32_t i = 0; i < size; ++i) {
      StackByte b = stack_byte(off + i);
      f.stack[b.spi].slot_type[b.idx] = type;
    }
  }
  return {};
}

// check_stack_write_var_off(): privileged only (unprivileged pointers never get here).
Status check_stack_write_var_off(Env& env, FuncState& f, int ptr_regno, int64_t off, uint32_t size,
                                 int value_regno, const struct bpf_insn& insn) {
  RegState& ptr = regs(env)[ptr_regno];
  const int64_t min_off = ptr.s.smin + off;
  const int64_t max_off = ptr.s.smax + off + size;
  const RegState* value = value_regno >= 0 ? &regs(env)[value_regno] : nullptr;
  const bool writing_zero = (value && value->type == SCALAR_VALUE && value->s.is_const() &&
                             value->s.const_value() == 0) ||
                            (!value && BPF_CLASS(insn.code) == BPF_ST && insn.imm == 0);
  bool zero_used = false;
  for (int64_t i = min_off; i < max_off; ++i) {
    StackByte b = stack_byte(i);
    StackSlot& s = f.stack[b.spi];
    uint8_t& t = s.slot_type[b.idx];
    mark_stack_slot_scratched(env, b.spi);
    if (!env.allow_ptr_leaks() && t != STACK_MISC && t != STACK_ZERO) {
      env.verbose("spilled ptr in range of var-offset stack write; insn %d, ptr off: %d",
                  env.insn_idx, static_cast<int>(i));
      return refuse(EINVAL, "spilled pointer in range of var-offset stack write");
    }
    if (is_spilled_reg(s)) {
      // The spilled register may be partly overwritten: what is left is unknown data.
      s.spilled_ptr.type = NOT_INIT;
      for (auto& st : s.slot_type)
        if (st == STACK_SPILL) st = STACK_MISC;
    }
    uint8_t new_type = STACK_MISC;
    if (writing_zero && t == STACK_ZERO) {
      new_type = STACK_ZERO;
      zero_used = true;
    }
    if (t == STACK_INVALID && !env.privileged()) {
      env.verbose(
          "uninit stack in range of var-offset write prohibited for !root; insn %d, off: %d",
          env.insn_idx, static_cast<int>(i));
      return refuse(EINVAL, "uninit stack in range of var-offset write");
    }
    t = new_type;
  }
  // STACK_ZERO kept relies on the exact value written.
  if (zero_used && value) mark_chain_precision(env, value_regno);
  return {};
}

// __check_mem_access(): [off, off+size) within [0, mem_size).
Status check_mem_bounds(Env& env, int regno, int64_t off, int64_t size, uint64_t mem_size,
                        bool zero_size_allowed) {
  const bool size_ok = size > 0 || (size == 0 && zero_size_allowed);
  if (off >= 0 && size_ok && static_cast<uint64_t>(off) + size <= mem_size) return {};
  RegState& reg = regs(env)[regno];
  Rule rule = Rule::InvalidMemAccess;
  switch (reg.type) {
    case PTR_TO_MAP_KEY:
      env.verbose("invalid access to map key, key_size=%d off=%d size=%d\n",
                  static_cast<int>(mem_size), static_cast<int>(off), static_cast<int>(size));
      rule = Rule::MapValueBounds;
      break;
    case PTR_TO_MAP_VALUE:
      env.verbose("invalid access to map value, value_size=%d off=%d size=%d\n",
                  static_cast<int>(mem_size), static_cast<int>(off), static_cast<int>(size));
      rule = Rule::MapValueBounds;
      break;
    case PTR_TO_PACKET:
    case PTR_TO_PACKET_META:
    case PTR_TO_PACKET_END:
      env.verbose("invalid access to packet, off=%d size=%d, R%d(id=%d,off=%d,r=%d)\n",
                  static_cast<int>(off), static_cast<int>(size), regno, reg.id,
                  static_cast<int>(off), static_cast<int>(mem_size));
      rule = Rule::PacketBounds;
      break;
    default:
      env.verbose("invalid access to memory, mem_size=%u off=%d size=%d\n",
                  static_cast<uint32_t>(mem_size), static_cast<int>(off), static_cast<int>(size));
  }
  explain(env, rule).reg(regno).access(off, static_cast<uint32_t>(size), mem_size);
  return refuse(EACCES, "access out of bounds");
}

// check_mem_region_access(): every offset the pointer may have, plus off, within mem_size.
Status check_mem_region_access(Env& env, int regno, int64_t off, int64_t size, uint64_t mem_size,
                               bool zero_size_allowed) {
  RegState& reg = regs(env)[regno];
  const Scalar& s = reg.s;
  if (s.smin < 0 && (s.smin == INT64_MIN ||
                     off + s.smin != static_cast<int64_t>(static_cast<int32_t>(off + s.smin)) ||
                     s.smin + off < 0)) {
    env.verbose(
        "R%d min value is negative, either use unsigned index or do a if (index >=0) check.\n",
        regno);
    explain(env, reg.type == PTR_TO_MAP_VALUE ? Rule::MapValueBounds : Rule::InvalidMemAccess)
        .reg(regno)
        .access(off, static_cast<uint32_t>(size), mem_size);
    return refuse(EACCES, "min value is negative");
  }
  if (Status st = check_mem_bounds(env, regno, s.smin + off, size, mem_size, zero_size_allowed);
      !st.is_ok()) {
    env.verbose("R%d min value is outside of the allowed memory range\n", regno);
    return st;
  }
  if (s.umax >= static_cast<uint64_t>(kMaxVarOff)) {
    env.verbose("R%d unbounded memory access, make sure to bounds check any such access\n", regno);
    explain(env, reg.type == PTR_TO_MAP_VALUE ? Rule::MapValueBounds : Rule::InvalidMemAccess)
        .reg(regno)
        .access(off, static_cast<uint32_t>(size), mem_size);
    return refuse(EACCES, "unbounded memory access");
  }
  if (Status st = check_mem_bounds(env, regno, static_cast<int64_t>(s.umax) + off, size, mem_size,
                                   zero_size_allowed);
      !st.is_ok()) {
    env.verbose("R%d max value is outside of the allowed memory range\n", regno);
    return st;
  }
  return {};
}

// check_map_access_type(): BPF_F_RDONLY_PROG / BPF_F_WRONLY_PROG.
Status check_map_access_type(Env& env, int regno, int64_t off, int64_t size, AccessType t) {
  const maps::Map* map = regs(env)[regno].map_ptr;
  if (!map) return {};
  if (t == AccessType::Write && !map->prog_may_write()) {
    env.verbose("write into map forbidden, value_size=%d off=%d size=%d\n", map->value_size(),
                static_cast<int>(off), static_cast<int>(size));
    explain(env, Rule::ReadOnly).reg(regno);
    return refuse(EACCES, "write into map forbidden");
  }
  if (t == AccessType::Read && !map->prog_may_read()) {
    env.verbose("read from map forbidden, value_size=%d off=%d size=%d\n", map->value_size(),
                static_cast<int>(off), static_cast<int>(size));
    explain(env, Rule::ReadOnly).reg(regno);
    return refuse(EACCES, "read from map forbidden");
  }
  return {};
}

// check_packet_access(): off (fixed part) within the range learnt from data_end.
Status check_packet_access(Env& env, int regno, int64_t off, int64_t size, bool zero_size_allowed) {
  RegState& reg = regs(env)[regno];
  if (reg.s.smin < 0) {
    env.verbose(
        "R%d min value is negative, either use unsigned index or do a if (index >=0) check.\n",
        regno);
    explain(env, Rule::PacketBounds).reg(regno);
    return refuse(EACCES, "min value is negative");
  }
  Status st = reg.range < 0 ? refuse(EINVAL, "packet range invalidated")
                            : check_mem_bounds(env, regno, off, size, reg.range, zero_size_allowed);
  if (!st.is_ok()) {
    env.verbose("R%d offset is outside of the packet\n", regno);
    return st;
  }
  return {};
}

// __check_ptr_off_reg(): a pointer that must be used unmodified (ctx, helper arguments).
Status check_ptr_off_reg(Env& env, const RegState& reg, int regno, bool fixed_off_ok) {
  if (reg.off < 0) {
    env.verbose("negative offset %s ptr R%d off=%d disallowed\n", reg_type_str(reg.type).c_str(),
                regno, reg.off);
    explain(env, Rule::CtxAccess).reg(regno);
    return refuse(EACCES, "negative pointer offset");
  }
  if (!fixed_off_ok && reg.off) {
    env.verbose("dereference of modified %s ptr R%d off=%d disallowed\n",
                reg_type_str(reg.type).c_str(), regno, reg.off);
    explain(env, Rule::CtxAccess).reg(regno);
    return refuse(EACCES, "dereference of modified pointer");
  }
  if (!reg.s.is_const() || reg.s.const_value()) {
    env.verbose("variable %s access var_off=%s disallowed\n", reg_type_str(reg.type).c_str(),
                tnum_str(reg.s.var_off).c_str());
    explain(env, Rule::CtxAccess).reg(regno);
    return refuse(EACCES, "variable pointer offset");
  }
  return {};
}

// check_ptr_alignment(): the stack is always strictly aligned (spill tracking relies on it);
// other pointers only with BPF_F_STRICT_ALIGNMENT. Packets assume NET_IP_ALIGN 2 when strict.
Status check_ptr_alignment(Env& env, const RegState& reg, int32_t off, uint32_t size,
                           bool strict_alignment_once) {
  bool strict = env.strict_alignment() || strict_alignment_once;
  const char* desc = "";
  switch (reg.base()) {
    case PTR_TO_PACKET:
    case PTR_TO_PACKET_META: {
      if (!strict || size == 1) return {};
      Tnum reg_off =
          tnum_add(reg.s.var_off, Tnum::constant(static_cast<uint64_t>(2 + reg.off + off)));
      if (!tnum_is_aligned(reg_off, size)) {
        env.verbose("misaligned packet access off %d+%s+%d+%d size %d\n", 2,
                    tnum_str(reg.s.var_off).c_str(), reg.off, off, size);
        explain(env, Rule::Misaligned);
        return refuse(EACCES, "misaligned packet access");
      }
      return {};
    }
    case PTR_TO_MAP_KEY:
      desc = "key ";
      break;
    case PTR_TO_MAP_VALUE:
      desc = "value ";
      break;
    case PTR_TO_CTX:
      desc = "context ";
      break;
    case PTR_TO_STACK:
      desc = "stack ";
      strict = true;
      break;
    default:
      break;
  }
  if (!strict || size == 1) return {};
  Tnum reg_off = tnum_add(
      reg.s.var_off, Tnum::constant(static_cast<uint64_t>(static_cast<int64_t>(reg.off) + off)));
  if (!tnum_is_aligned(reg_off, size)) {
    env.verbose("misaligned %saccess off %s+%d+%d size %d\n", desc, tnum_str(reg.s.var_off).c_str(),
                reg.off, off, size);
    explain(env, Rule::Misaligned);
    return refuse(EACCES, "misaligned access");
  }
  return {};
}

// save_aux_ptr_type(): a load/store instruction must see the same kind of pointer on every path
// when one of them is the context (its access is rewritten).
Status save_aux_ptr_type(Env& env, uint32_t type) {
  uint32_t& prev = env.aux[env.insn_idx].ptr_type;
  auto mismatch_matters = [](uint32_t t) {
    const uint32_t b = base_type(t);
    return b == PTR_TO_CTX || b == PTR_TO_SOCKET || b == PTR_TO_SOCK_COMMON ||
           b == PTR_TO_TCP_SOCK || b == PTR_TO_XDP_SOCK || b == PTR_TO_BTF_ID;
  };
  if (prev == NOT_INIT) {
    prev = type;
  } else if (type != prev && (mismatch_matters(type) || mismatch_matters(prev))) {
    env.verbose("same insn cannot be used with different pointers\n");
    explain(env, Rule::Other);
    return refuse(EINVAL, "same insn cannot be used with different pointers");
  }
  return {};
}

// may_access_skb(): the types whose context is an skb (LD_ABS/LD_IND).
bool may_access_skb(uint32_t prog_type) {
  return prog_type == BPF_PROG_TYPE_SOCKET_FILTER || prog_type == BPF_PROG_TYPE_SCHED_CLS ||
         prog_type == BPF_PROG_TYPE_SCHED_ACT;
}

}  // namespace

Status check_mem_access(Env& env, uint32_t insn_idx, int regno, int32_t insn_off, uint32_t size,
                        AccessType t, int value_regno, bool strict_alignment_once, bool is_ldsx) {
  RegState* rs = regs(env);
  RegState& reg = rs[regno];
  TRY(check_ptr_alignment(env, reg, insn_off, size, strict_alignment_once));
  const int64_t off = static_cast<int64_t>(insn_off) + reg.off;
  const bool write = t == AccessType::Write;
  auto leaks = [&](const char* into) -> Status {
    if (write && value_regno >= 0 && is_pointer_value(env, rs[value_regno])) {
      env.verbose("R%d leaks addr into %s\n", value_regno, into);
      explain(env, Rule::PointerLeak).reg(value_regno);
      return refuse(EACCES, "pointer leak");
    }
    return {};
  };

  if (reg.type == PTR_TO_MAP_KEY) {
    if (write) {
      env.verbose("write to change key R%d not allowed\n", regno);
      explain(env, Rule::ReadOnly).reg(regno);
      return refuse(EACCES, "write to map key");
    }
    TRY(check_mem_region_access(env, regno, off, size, reg.map_ptr ? reg.map_ptr->key_size() : 0,
                                false));
    if (value_regno >= 0) mark_reg_unknown(env, rs[value_regno]);
  } else if (reg.type == PTR_TO_MAP_VALUE) {
    TRY(leaks("map"));
    TRY(check_map_access_type(env, regno, off, size, t));
    TRY(check_mem_region_access(env, regno, off, size, reg.map_ptr ? reg.map_ptr->value_size() : 0,
                                false));
    if (value_regno >= 0 && !write) mark_reg_unknown(env, rs[value_regno]);
  } else if (reg.base() == PTR_TO_MEM) {
    const bool rdonly = reg.type & MEM_RDONLY;
    if (reg.maybe_null()) {
      env.verbose("R%d invalid mem access '%s'\n", regno, reg_type_str(reg.type).c_str());
      explain(env, Rule::NullDeref).reg(regno);
      return refuse(EACCES, "invalid mem access");
    }
    if (write && rdonly) {
      env.verbose("R%d cannot write into %s\n", regno, reg_type_str(reg.type).c_str());
      explain(env, Rule::ReadOnly).reg(regno);
      return refuse(EACCES, "write into read-only memory");
    }
    TRY(leaks("mem"));
    TRY(check_mem_region_access(env, regno, off, size, reg.mem_size, false));
    if (value_regno >= 0 && (!write || rdonly)) mark_reg_unknown(env, rs[value_regno]);
  } else if (reg.type == PTR_TO_CTX) {
    TRY(leaks("ctx"));
    TRY(check_ptr_off_reg(env, reg, regno, false));
    CtxAccessInfo info;
    info.is_ldsx = is_ldsx;
    const ProgTypeOps* ops = env.ops;
    if (!ops || !ops->is_valid_access ||
        !ops->is_valid_access(static_cast<int32_t>(off), size, t, env.opts.load, &info)) {
      env.verbose("invalid bpf_context access off=%d size=%d\n", static_cast<int>(off), size);
      explain(env, Rule::CtxAccess).reg(regno).access(off, size, ops ? ops->ctx_size : 0);
      return refuse(EACCES, "invalid bpf_context access");
    }
    env.aux[insn_idx].ctx_field_size = info.ctx_field_size;
    if (!write && value_regno >= 0) {
      RegState& dst = rs[value_regno];
      if (info.reg_type == SCALAR_VALUE) {
        mark_reg_unknown(env, dst);
      } else {
        mark_reg_known_zero(dst);
        if (type_may_be_null(info.reg_type)) dst.id = env.new_id();
        dst.subreg_def = 0;
      }
      dst.type = info.reg_type;
    }
  } else if (reg.type == PTR_TO_STACK) {
    TRY(check_stack_access_within_bounds(env, regno, off, size,
                                         write ? " write to" : " read from"));
    FuncState& f = stack_frame(env, reg);
    if (!write) {
      TRY(check_stack_read(env, regno, off, size, value_regno));
    } else {
      const struct bpf_insn& insn = env.insns[insn_idx];
      if (reg.s.is_const())
        TRY(check_stack_write_fixed_off(env, f, off + static_cast<int64_t>(reg.s.const_value()),
                                        size, value_regno, insn));
      else
        TRY(check_stack_write_var_off(env, f, regno, off, size, value_regno, insn));
    }
  } else if (reg.is_pkt_pointer() && !reg.maybe_null()) {
    if (write && !(env.ops && env.ops->may_access_direct_pkt_data &&
                   env.ops->may_access_direct_pkt_data(t, env.opts.load))) {
      env.verbose("cannot write into packet\n");
      explain(env, Rule::ReadOnly).reg(regno);
      return refuse(EACCES, "cannot write into packet");
    }
    TRY(leaks("packet"));
    TRY(check_packet_access(env, regno, off, size, false));
    if (!write && value_regno >= 0) mark_reg_unknown(env, rs[value_regno]);
  } else {
    env.verbose("R%d invalid mem access '%s'\n", regno, reg_type_str(reg.type).c_str());
    explain(env, reg.maybe_null() ? Rule::NullDeref : Rule::InvalidMemAccess).reg(regno);
    return refuse(EACCES, "invalid mem access");
  }

  if (size < kRegSize && value_regno >= 0 && !write && rs[value_regno].type == SCALAR_VALUE) {
    if (is_ldsx)
      rs[value_regno].s.sext(static_cast<uint8_t>(size * 8));
    else
      rs[value_regno].s.truncate(static_cast<uint8_t>(size));
  }
  return {};
}

Status check_load(Env& env, const struct bpf_insn& insn) {
  const bool is_ldsx = BPF_MODE(insn.code) == BPF_MEMSX;
  TRY(check_reg_arg(env, insn.src_reg, RegArg::Src));
  TRY(check_reg_arg(env, insn.dst_reg, RegArg::DstNoMark));
  const RegState base = regs(env)[insn.src_reg];
  TRY(check_mem_access(env, env.insn_idx, insn.src_reg, insn.off, isa::access_bytes(insn.code),
                       AccessType::Read, insn.dst_reg, false, is_ldsx));
  note_mem_access(env, insn, base);
  return save_aux_ptr_type(env, base.type);
}

Status check_store(Env& env, const struct bpf_insn& insn) {
  int value_regno = -1;
  if (BPF_CLASS(insn.code) == BPF_STX) {
    TRY(check_reg_arg(env, insn.src_reg, RegArg::Src));
    value_regno = insn.src_reg;
  }
  TRY(check_reg_arg(env, insn.dst_reg, RegArg::Src));
  const RegState& base = regs(env)[insn.dst_reg];
  const uint32_t dst_type = base.type;
  note_mem_access(env, insn, base);
  TRY(check_mem_access(env, env.insn_idx, insn.dst_reg, insn.off, isa::access_bytes(insn.code),
                       AccessType::Write, value_regno, false, false));
  return save_aux_ptr_type(env, dst_type);
}

Status check_atomic(Env& env, const struct bpf_insn& insn) {
  const uint32_t size = isa::access_bytes(insn.code);
  switch (insn.imm) {
    case BPF_ADD:
    case BPF_ADD | BPF_FETCH:
    case BPF_AND:
    case BPF_AND | BPF_FETCH:
    case BPF_OR:
    case BPF_OR | BPF_FETCH:
    case BPF_XOR:
    case BPF_XOR | BPF_FETCH:
    case BPF_XCHG:
    case BPF_CMPXCHG:
      break;
    case BPF_LOAD_ACQ: {
      if (size == 8 && BPF_SIZE(insn.code) != BPF_DW) break;
      TRY(check_reg_arg(env, insn.src_reg, RegArg::Src));
      TRY(check_reg_arg(env, insn.dst_reg, RegArg::DstNoMark));
      const RegState base = regs(env)[insn.src_reg];
      TRY(check_mem_access(env, env.insn_idx, insn.src_reg, insn.off, size, AccessType::Read,
                           insn.dst_reg, true, false));
      note_mem_access(env, insn, base);
      return save_aux_ptr_type(env, base.type);
    }
    case BPF_STORE_REL: {
      TRY(check_reg_arg(env, insn.src_reg, RegArg::Src));
      TRY(check_reg_arg(env, insn.dst_reg, RegArg::Src));
      const RegState& base = regs(env)[insn.dst_reg];
      const uint32_t dst_type = base.type;
      note_mem_access(env, insn, base);
      TRY(check_mem_access(env, env.insn_idx, insn.dst_reg, insn.off, size, AccessType::Write,
                           insn.src_reg, true, false));
      return save_aux_ptr_type(env, dst_type);
    }
    default:
      env.verbose("BPF_ATOMIC uses invalid atomic opcode %02x\n", insn.imm);
      return refuse(EINVAL, "invalid atomic opcode");
  }
  if (BPF_SIZE(insn.code) != BPF_W && BPF_SIZE(insn.code) != BPF_DW) {
    env.verbose("invalid atomic operand size\n");
    return refuse(EINVAL, "invalid atomic operand size");
  }
  TRY(check_reg_arg(env, insn.src_reg, RegArg::Src));
  TRY(check_reg_arg(env, insn.dst_reg, RegArg::Src));
  RegState* rs = regs(env);
  if (insn.imm == BPF_CMPXCHG) {
    TRY(check_reg_arg(env, 0, RegArg::Src));
    if (is_pointer_value(env, rs[0])) {
      env.verbose("R%d leaks addr into mem\n", 0);
      explain(env, Rule::PointerLeak).reg(0);
      return refuse(EACCES, "pointer leak");
    }
  }
  if (is_pointer_value(env, rs[insn.src_reg])) {
    env.verbose("R%d leaks addr into mem\n", insn.src_reg);
    explain(env, Rule::PointerLeak).reg(insn.src_reg);
    return refuse(EACCES, "pointer leak");
  }
  const RegState& dst = rs[insn.dst_reg];
  note_mem_access(env, insn, dst);
  if (dst.base() == PTR_TO_CTX || dst.is_pkt_pointer() || dst.base() == PTR_TO_FLOW_KEYS ||
      dst.base() == PTR_TO_SOCKET || dst.base() == PTR_TO_SOCK_COMMON ||
      dst.base() == PTR_TO_TCP_SOCK || dst.base() == PTR_TO_XDP_SOCK) {
    env.verbose("BPF_ATOMIC stores into R%d %s is not allowed\n", insn.dst_reg,
                reg_type_str(dst.type).c_str());
    explain(env, Rule::InvalidMemAccess).reg(insn.dst_reg);
    return refuse(EACCES, "atomic store into this pointer type");
  }
  int load_reg = -1;
  if (insn.imm & BPF_FETCH) {
    load_reg = insn.imm == BPF_CMPXCHG ? 0 : insn.src_reg;
    TRY(check_reg_arg(env, load_reg, RegArg::Dst));
  }
  TRY(check_mem_access(env, env.insn_idx, insn.dst_reg, insn.off, size, AccessType::Read, -1, true,
                       false));
  if (load_reg >= 0)
    TRY(check_mem_access(env, env.insn_idx, insn.dst_reg, insn.off, size, AccessType::Read,
                         load_reg, true, false));
  TRY(check_mem_access(env, env.insn_idx, insn.dst_reg, insn.off, size, AccessType::Write, -1, true,
                       false));
  return save_aux_ptr_type(env, rs[insn.dst_reg].type);
}

Status check_ld_abs(Env& env, const struct bpf_insn& insn) {
  const uint8_t mode = BPF_MODE(insn.code);
  if (!may_access_skb(env.opts.load.prog_type)) {
    env.verbose("BPF_LD_[ABS|IND] instructions not allowed for this program type\n");
    return refuse(EINVAL, "LD_ABS not allowed for this program type");
  }
  if (insn.dst_reg != 0 || insn.off != 0 || BPF_SIZE(insn.code) == BPF_DW ||
      (mode == BPF_ABS && insn.src_reg != 0)) {
    env.verbose("BPF_LD_[ABS|IND] uses reserved fields\n");
    return refuse(EINVAL, "BPF_LD_[ABS|IND] uses reserved fields");
  }
  constexpr int kCtxReg = 6;
  TRY(check_reg_arg(env, kCtxReg, RegArg::Src));
  // The run-time load may end the program (out of bounds), so no reference may be held.
  if (!env.cur_state->refs.empty()) {
    env.verbose("BPF_LD_[ABS|IND] would lead to reference leak\n");
    explain(env, Rule::UnreleasedRef);
    return refuse(EINVAL, "LD_ABS with references held");
  }
  RegState* rs = regs(env);
  if (rs[kCtxReg].type != PTR_TO_CTX) {
    env.verbose("at the time of BPF_LD_ABS|IND R6 != pointer to skb\n");
    explain(env, Rule::CtxAccess).reg(kCtxReg);
    return refuse(EINVAL, "LD_ABS without ctx in R6");
  }
  if (mode == BPF_IND) TRY(check_reg_arg(env, insn.src_reg, RegArg::Src));
  TRY(check_ptr_off_reg(env, rs[kCtxReg], kCtxReg, false));
  for (int r = 0; r <= 5; ++r) {
    mark_reg_not_init(rs[r]);
    TRY(check_reg_arg(env, r, RegArg::DstNoMark));
  }
  mark_reg_unknown(env, rs[0]);
  rs[0].subreg_def = static_cast<int32_t>(env.insn_idx) + 1;
  const uint32_t subprog = env.cur_state->cur().subprogno;
  if (subprog < env.subprogs.size()) env.subprogs[subprog].has_ld_abs = true;
  return {};
}

Status check_helper_mem_access(Env& env, int regno, uint32_t access_size, AccessType type,
                               bool zero_size_allowed, bool raw_mode) {
  RegState& reg = regs(env)[regno];
  switch (reg.maybe_null() ? NOT_INIT : reg.base()) {
    case PTR_TO_PACKET:
    case PTR_TO_PACKET_META:
      return check_packet_access(env, regno, reg.off, access_size, zero_size_allowed);
    case PTR_TO_MAP_KEY:
      if (type == AccessType::Write) {
        env.verbose("R%d cannot write into %s\n", regno, reg_type_str(reg.type).c_str());
        explain(env, Rule::ReadOnly).reg(regno);
        return refuse(EACCES, "write into map key");
      }
      return check_mem_region_access(env, regno, reg.off, access_size,
                                     reg.map_ptr ? reg.map_ptr->key_size() : 0, false);
    case PTR_TO_MAP_VALUE:
      TRY(check_map_access_type(env, regno, reg.off, access_size, type));
      return check_mem_region_access(env, regno, reg.off, access_size,
                                     reg.map_ptr ? reg.map_ptr->value_size() : 0,
                                     zero_size_allowed);
    case PTR_TO_MEM:
      if ((reg.type & MEM_RDONLY) && type == AccessType::Write) {
        env.verbose("R%d cannot write into %s\n", regno, reg_type_str(reg.type).c_str());
        explain(env, Rule::ReadOnly).reg(regno);
        return refuse(EACCES, "write into read-only memory");
      }
      return check_mem_region_access(env, regno, reg.off, access_size, reg.mem_size,
                                     zero_size_allowed);
    case PTR_TO_STACK:
      return check_stack_range_initialized(env, regno, reg.off, access_size, zero_size_allowed,
                                           type, raw_mode);
    default:
      if (zero_size_allowed && access_size == 0 && reg.type == SCALAR_VALUE && reg.s.is_const() &&
          reg.s.const_value() == 0) {
        mark_chain_precision(env, regno);  // a NULL memory argument only as the exact value 0
        return {};
      }
      env.verbose("R%d type=%s ", regno, reg_type_str(reg.type).c_str());
      env.verbose("expected=%s\n", reg_type_str(PTR_TO_STACK).c_str());
      explain(env, Rule::HelperArgument).reg(regno);
      return refuse(EACCES, "helper memory argument of the wrong type");
  }
}

Status check_mem_size_reg(Env& env, int size_regno, AccessType type, bool zero_size_allowed,
                          bool raw_mode) {
  const RegState& reg = regs(env)[size_regno];
  if (!reg.s.is_const()) raw_mode = false;  // a variable size: all of it must be initialised
  if (reg.s.smin < 0) {
    env.verbose("R%d min value is negative, either use unsigned or 'var &= const'\n", size_regno);
    explain(env, Rule::HelperArgument).reg(size_regno);
    return refuse(EACCES, "size min value is negative");
  }
  if (reg.s.umin == 0 && !zero_size_allowed) {
    env.verbose("R%d invalid zero-sized read: u64=[%lld,%lld]\n", size_regno,
                static_cast<long long>(reg.s.umin), static_cast<long long>(reg.s.umax));
    explain(env, Rule::HelperArgument).reg(size_regno);
    return refuse(EACCES, "invalid zero-sized read");
  }
  if (reg.s.umax >= kMaxVarSize) {
    env.verbose("R%d unbounded memory access, use 'var &= const' or 'if (var < const)'\n",
                size_regno);
    explain(env, Rule::HelperArgument).reg(size_regno);
    return refuse(EACCES, "unbounded size");
  }
  TRY(check_helper_mem_access(env, size_regno - 1, static_cast<uint32_t>(reg.s.umax), type,
                              zero_size_allowed, raw_mode));
  mark_chain_precision(env, size_regno);
  return {};
}

}  // namespace bpfbox::verifier
