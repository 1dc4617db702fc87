// Running eBPF code: the calling convention, helper table and run context that the interpreter
// and the JITs share, and the engine interface an embedder compiles and runs programs through.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <linux/bpf.h>

#include "bpfbox/insn_facts.hpp"
#include "bpfbox/status.hpp"

namespace bpfbox::vm {

struct RunContext;

// A helper, as the kernel's: five 64-bit arguments (r1..r5), the result in r0. The run context is
// passed as a sixth argument so helpers reach per-run state without thread-locals.
using HelperFn = uint64_t (*)(uint64_t r1, uint64_t r2, uint64_t r3, uint64_t r4, uint64_t r5,
                              RunContext* rc);

// What a compiler may emit in place of calling a helper: the table's entry says so (bpfbox's own
// helpers set it), so an embedder's replacement under the same id is called as written.
enum class HelperInline : uint8_t {
  None,
  RunCpu,  // r0 = RunContext::cpu: bpf_get_smp_processor_id (the kernel inlines it on x86-64)
};

struct Helper {
  HelperFn fn = nullptr;
  std::string name;  // "bpf_map_lookup_elem"; disassembly prints name#id
  HelperInline inline_as = HelperInline::None;
};

class Executable;

// bpf_tail_call's limit: a run makes at most this many tail calls (the kernel's MAX_TAIL_CALL_CNT);
// a further one falls through to the next instruction.
constexpr uint32_t kMaxTailCallCnt = 33;

// Resolves a tail call: the program in slot `index` of the program array `map` (the value the
// program passes in r2), or null when the index is out of range or the slot is empty. Called at
// the time of each tail call, so an update of the array is seen by the next tail call.
using TailCallLookup = const Executable* (*)(void* map, uint32_t index);

// Where a program array keeps slot `index`, for an engine that reads it inline at a tail call whose
// map and index are constants (the kernel's direct tail calls, without patching code): `prog` is
// the 8-byte word holding the slot's `const Executable*` (null: empty), which every update and
// delete of the array writes. The word is current while the 4-byte `*id == *seen` (both null:
// always); otherwise another process changed the slot and resolve_tail_call must resolve it. `prog`
// null: the index is out of range (or `map` is no program array), so the call always falls
// through. The addresses stay valid as long as the map.
struct TailCallSlot {
  const void* prog = nullptr;
  const void* id = nullptr;
  const void* seen = nullptr;
};
using TailCallSlotFn = TailCallSlot (*)(void* map, uint32_t index);

// Helpers indexed by helper id, as `call N` names them.
class HelperTable {
 public:
  void set(uint32_t id, std::string name, HelperFn fn, HelperInline inline_as = HelperInline::None);
  const Helper* get(uint32_t id) const {
    return id < helpers_.size() && helpers_[id].fn ? &helpers_[id] : nullptr;
  }
  size_t size() const { return helpers_.size(); }

  // `call 12` (bpf_tail_call) is the engines' own instruction, not a helper: it needs this lookup
  // (maps::prog_array_lookup for a real PROG_ARRAY). Without one, `call 12` is an unknown helper.
  // `slot` (maps::prog_array_slot), when given, lets the JIT read the slot of a constant map and
  // index inline.
  void set_tail_call_lookup(TailCallLookup lookup, TailCallSlotFn slot = nullptr) {
    tail_call_lookup_ = lookup;
    tail_call_slot_ = slot;
  }
  TailCallLookup tail_call_lookup() const { return tail_call_lookup_; }
  TailCallSlotFn tail_call_slot() const { return tail_call_slot_; }

 private:
  std::vector<Helper> helpers_;
  TailCallLookup tail_call_lookup_ = nullptr;
  TailCallSlotFn tail_call_slot_ = nullptr;
};

// Memory a run may touch, checked in checked mode. The stack is always a region.
enum Access : uint8_t { kRead = 1, kWrite = 2, kReadWrite = 3 };
struct MemRegion {
  uint64_t base = 0;
  uint64_t size = 0;
  uint8_t access = kReadWrite;
  const char* name = "";
};

enum class FaultKind : uint8_t {
  None,
  OutOfBounds,  // a load, store or atomic outside every region (checked mode)
  ReadOnly,     // a store to a region that may only be read (checked mode)
  BadCall,      // call of an unknown helper or a callx target that is no function
  CallDepth,    // more than 8 nested bpf-to-bpf calls
  Budget,       // the instruction budget ran out
  Unsupported,  // an instruction this engine cannot run (a kfunc call; addr 12: a tail call
                // inside a callback, which cannot leave its helper)
};

struct Fault {
  FaultKind kind = FaultKind::None;
  int err = 0;         // EFAULT, EACCES, EINVAL, E2BIG, EOPNOTSUPP
  uint32_t pc = 0;     // the faulting instruction
  uint64_t addr = 0;   // the address (memory faults), helper id or call target
  uint32_t size = 0;   // the access size in bytes
  uint8_t access = 0;  // memory faults: kRead (load), kWrite (store) or kReadWrite (atomic)
};
// "pc 12: load of 4 bytes at 0x7ffd... outside every region (stack, ctx)"
std::string describe(const Fault& f, const struct RunContext* rc = nullptr);

constexpr uint32_t kMaxRegions = 64;

// Per-run state, owned by the caller (usually on its stack: a run allocates nothing).
struct RunContext {
  // Set by the caller.
  void* user = nullptr;               // an embedder's data for its helpers
  const uint8_t* pkt_data = nullptr;  // the packet LD_ABS/LD_IND read
  uint32_t pkt_len = 0;
  uint32_t cpu = 0;  // the per-CPU slot this run owns
  // Set by the engine for the run: helpers taking pointers check them with check() when true.
  uint32_t checked = 0;

  // Regions the run may touch in checked mode, besides its stack.
  MemRegion regions[kMaxRegions];
  uint32_t n_regions = 0;
  bool add_region(const void* base, uint64_t size, uint8_t access, const char* name);
  // True when [addr, addr+size) lies within one region allowing `access`.
  bool check(uint64_t addr, uint64_t size, uint8_t access) const;

  // Results.
  Fault fault;
  uint64_t insns_executed = 0;  // counted when a budget is set

  // Engine state.
  uint64_t stack_base = 0;  // the lowest address of the run's stack, for describe()
  uint64_t stack_size = 0;
  uint32_t tail_call_cnt = 0;  // tail calls this run made (kMaxTailCallCnt at most)
  uint64_t tail_call_ctx = 0;  // the run's r1 at entry: what a tail call passes its target as r1
  // Set by the engine while it runs (null otherwise): lets a helper call the BPF function a
  // BPF_PSEUDO_FUNC value names (bpf_loop, bpf_for_each_map_elem callbacks) with r1..r5, as one
  // frame deeper than the helper's caller. Returns the function's r0; on a fault returns 0 with
  // `fault` set, and the helper should return at once (the run then stops).
  uint64_t (*call_function)(RunContext* rc, uint64_t fn, uint64_t r1, uint64_t r2, uint64_t r3,
                            uint64_t r4, uint64_t r5) = nullptr;
  void* engine_state = nullptr;  // the engine's, for call_function
};

struct ExecOptions {
  bool checked = false;          // bounds-check memory, jumps and calls; stop with a Fault
  uint64_t insn_budget = 0;      // stop after this many instructions (0: no limit)
  bool blind_constants = false;  // JIT: keep the program's immediates out of the machine code
  // The verifier's facts, one per instruction of the program (empty: none, e.g. unverified
  // code). Only read during compile(); the LLVM tier uses them, the other engines ignore them.
  std::span<const InsnFacts> facts;
};

class Executable;

// One function of an engine's machine code: bpf_prog_info's jited_ksyms and jited_func_lens.
struct NativeFunc {
  uint32_t insn = 0;  // its first instruction (0: the main program)
  uint64_t addr = 0;  // where its code starts
  uint32_t len = 0;   // bytes of code up to the next function (the main one includes the prologue)
};

// Where an engine put a program's machine code, for bpf_prog_info (jited_prog_len and
// jited_prog_insns, jited_ksyms, jited_func_lens, jited_line_info) and `prog dump jited`. Engines
// without native code of their own (the interpreter) give an empty layout (code == nullptr).
struct NativeLayout {
  const uint8_t* code = nullptr;
  size_t size = 0;  // the whole image: body, then the out-of-line code (fault stubs, thunks)
  // Per pc, the offset of its code from `code`; index n (the program's length): the end of the
  // body. An lddw's second slot maps to the next instruction.
  std::span<const uint32_t> insn_offsets;
  std::span<const NativeFunc> funcs;  // the main program first, then each subprogram by pc
};

// jited_line_info: the native address of each instruction in `insn_offs` (each bpf_line_info
// record's insn_off). EINVAL when `exe` has no native code or an offset is past the program.
Result<std::vector<uint64_t>> jited_line_addresses(const Executable& exe,
                                                   std::span<const uint32_t> insn_offs);

// net.core.bpf_jit_harden, read from BPFBOX_JIT_HARDEN at each call: 0 (default) no constant
// blinding, 1 blinding for programs loaded without privilege, 2 for every program. Anything else
// reads as 0.
int jit_harden_level();
// What ExecOptions::blind_constants should be for a program loaded with or without privilege
// (CAP_BPF), as the kernel's bpf_jit_blinding_enabled() decides.
bool blind_constants_for(bool privileged);

// Where a tail call goes: the target and the entry to jump to, or {null, null} to fall through.
struct TailCallTarget {
  const Executable* target = nullptr;
  uint64_t (*entry)(const Executable*, RunContext*, uint64_t, uint64_t) = nullptr;
};
// For engines, at `call 12` in `self` with r2 = map, r3 = index: null once the run made
// kMaxTailCallCnt tail calls, when the slot is empty or out of range, or when the target is not
// tail_call_compatible(); else counts the tail call and returns the target. The engine then enters
// the target's entry with r1 = rc->tail_call_ctx, r2 = 0, never returning to `self`.
TailCallTarget resolve_tail_call(RunContext* rc, const Executable* self, uint64_t map,
                                 uint64_t index);

// A program compiled by an engine. run() is the hot path: one indirect call, no allocation.
class Executable {
 public:
  using Entry = uint64_t (*)(const Executable* self, RunContext* rc, uint64_t r1, uint64_t r2);

  virtual ~Executable() = default;
  Executable(const Executable&) = delete;
  Executable& operator=(const Executable&) = delete;

  // Runs with r1, r2 as arguments and returns r0. On a fault, returns 0 with rc.fault set.
  // The per-run counters are reset here, not in the entry: a tail call enters its target through
  // the entry with them running (so an engine's entry must not reset them).
  uint64_t run(RunContext& rc, uint64_t r1, uint64_t r2 = 0) const {
    rc.tail_call_cnt = 0;
    rc.insns_executed = 0;
    rc.tail_call_ctx = r1;
    return entry_(this, &rc, r1, r2);
  }
  virtual const char* engine_name() const = 0;
  // The machine code and its line mapping, for bpf_prog_info; empty without native code.
  virtual NativeLayout native_layout() const { return {}; }

  // Whether a tail call from this program may enter `target`: both run in the same mode (checked
  // or not, the same budget), so a checked run never continues unchecked. The engines may differ.
  bool tail_call_compatible(const Executable& target) const {
    return checked_ == target.checked_ && budget_ == target.budget_;
  }
  // For a JIT reading a target inline: the byte offsets, from any `const Executable*`, of its
  // entry (8 bytes), of whether it is checked (1 byte) and of its budget (8 bytes).
  struct TailCallFields {
    int32_t entry, checked, budget;
  };
  static TailCallFields tail_call_fields();

 protected:
  Executable() = default;
  // Engines call this once compiled: the mode and the tail-call lookup the program runs with.
  void set_run_mode(const HelperTable& helpers, const ExecOptions& opts);

  Entry entry_ = nullptr;

 private:
  friend TailCallTarget resolve_tail_call(RunContext*, const Executable*, uint64_t, uint64_t);
  TailCallLookup tail_call_lookup_ = nullptr;
  bool checked_ = false;
  uint64_t budget_ = 0;
};

// Tiered: the baseline JIT first (the interpreter where there is no JIT), the LLVM tier once the
// program has run often (BPFBOX_TIER_UP_RUNS runs, default 1000), compiled in the background and
// swapped in atomically; a program the LLVM tier refuses stays on the baseline.
// Default: the library's default, what programs loaded without a choice get (the LD_PRELOAD
// shim's): BPFBOX_ENGINE (interp, jit, llvm or tiered) when set, else the JIT, as the kernel's
// default (the interpreter in a build without the JIT).
enum class EngineKind : uint8_t { Interp, Jit, Llvm, Tiered, Default };

// The names --engine and BPFBOX_ENGINE take: "interp", "jit", "llvm", "tiered", "default".
const char* engine_name(EngineKind engine);
// EINVAL naming the choices for anything else.
Result<EngineKind> engine_from_name(std::string_view name);
// What EngineKind::Default stands for now (BPFBOX_ENGINE is read at each call): never Default;
// EINVAL when BPFBOX_ENGINE names no engine.
Result<EngineKind> default_engine();

// Compiles a program in its executable form (pseudo map loads resolved to addresses; only plain
// and BPF_PSEUDO_FUNC lddw left) for the chosen engine. EINVAL with a message naming the pc for an
// instruction the engine cannot take.
Result<std::unique_ptr<Executable>> compile(EngineKind engine,
                                            std::span<const struct bpf_insn> prog,
                                            const HelperTable& helpers,
                                            const ExecOptions& opts = {});

}  // namespace bpfbox::vm
