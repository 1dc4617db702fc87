// The interpreter's executable form: one 16-byte slot per instruction slot of the program (slot
// index == pc, so faults name the original pc), everything the handlers need resolved up front.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "bpfbox/vm.hpp"
#include "isa/insn.hpp"

namespace bpfbox::vm::interp {

// The interpreter's own operation after the ISA's: `call 12` when it is bpf_tail_call.
constexpr isa::Op kTailCallOp = static_cast<isa::Op>(isa::kOpCount);
static_assert(isa::kOpCount < 255);

struct Slot {
  isa::Op op;  // the dispatch index: the operation with its operand form and width
  uint8_t dst;
  uint8_t src;
  uint8_t pad;
  // Memory operations: the offset. Jumps and may_goto: the distance to the target in bytes of
  // slots. Local calls: the target pc.
  int32_t off;
  union {
    int64_t imm;     // immediates, sign-extended to 64 bits once here
    uint64_t imm64;  // lddw: the 64-bit value (for BPF_PSEUDO_FUNC the address of the target slot)
    HelperFn fn;     // helper calls, resolved at compile time
  };
};
static_assert(sizeof(Slot) == 16);

class Program final : public Executable {
 public:
  Program(std::vector<Slot> code, std::vector<uint8_t> is_function, std::vector<HelperFn> helpers,
          const HelperTable& table, const ExecOptions& opts);
  const char* engine_name() const override { return "interp"; }

  const Slot* code() const { return code_.data(); }
  size_t size() const { return code_.size(); }
  uint64_t budget() const { return budget_; }
  // A tail call continues in place (no native stack growth) when the target runs this loop too.
  // (Only interpreter programs have run<Checked, Budget> as their entry.)
  bool same_loop(Entry target_entry) const { return target_entry == entry_; }

  // callx: the pc of the function a BPF_PSEUDO_FUNC value names, or -1 when it names none.
  int64_t function_at(uint64_t value) const {
    const uint64_t delta = value - reinterpret_cast<uint64_t>(code_.data());
    if (delta >= code_.size() * sizeof(Slot) || delta % sizeof(Slot)) return -1;
    const uint64_t pc = delta / sizeof(Slot);
    return is_function_[pc] ? static_cast<int64_t>(pc) : -1;
  }
  // callx: the helper a small integer names, or null.
  HelperFn helper(uint64_t id) const { return id < helpers_.size() ? helpers_[id] : nullptr; }

 private:
  std::vector<Slot> code_;
  std::vector<uint8_t> is_function_;  // 1 at pc 0 and at every local call or BPF_PSEUDO_FUNC target
  std::vector<HelperFn> helpers_;     // by helper id, for callx
  uint64_t budget_ = 0;
};

// The run loop, one instantiation per mode; Executable::run calls one of them.
template <bool Checked, bool Budget>
uint64_t run(const Executable* self, RunContext* rc, uint64_t r1, uint64_t r2);

}  // namespace bpfbox::vm::interp
