// The verifier: the kernel's static safety analysis (path-sensitive abstract interpretation over
// register and stack states with tnums and ranges, state pruning, bounded loops, reference
// tracking), parameterised by a program type (bpfbox/prog_type.hpp) and the maps the program
// references. Its output is the "xlated" program both engines run: standard eBPF instructions
// with context accesses rewritten to the internal layout, map references resolved, helper calls
// checked, array lookups inlined and divisions made safe — what the kernel's `dump xlated` shows.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include <linux/bpf.h>

#include "bpfbox/helper_proto.hpp"
#include "bpfbox/maps.hpp"
#include "bpfbox/prog_type.hpp"
#include "bpfbox/status.hpp"
#include "bpfbox/vm.hpp"

namespace bpfbox::verifier {

// The kernel's limits.
constexpr uint32_t kMaxInsns = 1000000;                // BPF_COMPLEXITY_LIMIT_INSNS (processed)
constexpr uint32_t kMaxProgInsnsPrivileged = 1000000;  // BPF_COMPLEXITY_LIMIT_INSNS (size, root)
constexpr uint32_t kMaxProgInsnsUnprivileged = 4096;   // BPF_MAXINSNS
constexpr uint32_t kMaxStack = 512;                    // MAX_BPF_STACK, per program (all frames)
constexpr uint32_t kMaxCallFrames = 8;                 // MAX_CALL_FRAMES

struct Options {
  ProgLoadContext load;  // prog type, expected attach type, prog_flags, privilege, license
  // The program type's tables; nullptr: prog_type_ops(load.prog_type).
  const ProgTypeOps* type = nullptr;
  // The verifier log (bpf_attr.log_level / log_size): BPF_LOG_LEVEL1, BPF_LOG_LEVEL2,
  // BPF_LOG_STATS, BPF_LOG_FIXED. log_size is the caller's buffer; 0 with a level asks only for
  // log_true_size (the kernel's NULL log_buf); a size without a level is EINVAL, as the kernel.
  uint32_t log_level = 0;
  uint32_t log_size = 0;
  // Resolves the map fds of BPF_PSEUDO_MAP_FD / BPF_PSEUDO_MAP_VALUE lddw (EBADF when not a map).
  std::function<Result<std::shared_ptr<maps::Map>>(int fd)> map_by_fd;
  // fd_array for BPF_PSEUDO_MAP_IDX / BPF_PSEUDO_MAP_IDX_VALUE.
  std::span<const int32_t> fd_array;
  // The program's BTF, as PROG_LOAD passes it: the raw blob BPF_BTF_LOAD took for prog_btf_fd
  // (empty: no BTF), and the func_info / line_info arrays exactly as in bpf_attr — `cnt` records
  // of `rec_size` bytes each (struct bpf_func_info / bpf_line_info, possibly followed by zeroed
  // bytes a newer loader added). Checked as the kernel's check_btf_func / check_btf_line; callbacks
  // need func_info, global functions are verified on their own against their BTF prototype, and
  // the log shows line info's source lines.
  std::span<const uint8_t> btf;
  const void* func_info = nullptr;
  uint32_t func_info_rec_size = 0;
  uint32_t func_info_cnt = 0;
  const void* line_info = nullptr;
  uint32_t line_info_rec_size = 0;
  uint32_t line_info_cnt = 0;
  // Also export operand ranges in Program::facts (vm::InsnFacts::src/dst), for an engine that
  // optimizes with them (the LLVM tier). They come from a second walk (no log) that marks each
  // recorded operand precise, as a decided branch's, and so prunes less; the verdict, log and
  // counts stay the ordinary walk's. Costs that second walk (a few times the first at most;
  // over that budget the program simply has no ranges).
  bool range_facts = false;
};

struct Subprog {
  uint32_t start = 0;        // first instruction (xlated numbering)
  uint32_t stack_depth = 0;  // bytes of stack used, rounded up to 8 as the kernel's
};

// Why a program was refused, beyond the log: the rule, the place, the registers and a hint.
struct Diagnostic {
  uint32_t pc = 0;
  std::string rule;     // a short stable name: "map_value_bounds", "null_deref", "unreleased_ref"
  std::string message;  // the kernel's message: "invalid access to map value, value_size=8 ..."
  std::vector<std::string> registers;  // "R1 map_value(off=0,ks=4,vs=8,imm=0)", with ranges
  std::vector<uint32_t> path;          // the instructions of the failing path, in order
  std::string hint;    // what to change: "check `idx < 16` before indexing this 64-byte value"
  std::string source;  // the source line (from BTF line info) when known
  std::string file;    // its file (the line info's file name, as given) and line number
  uint32_t line = 0;
};

// A verified program, ready for vm::compile().
struct Program {
  std::vector<struct bpf_insn> xlated;           // executable form: map lddw hold Map* addresses
  std::vector<Subprog> subprogs;                 // subprogs[0] is the main program
  std::vector<std::shared_ptr<maps::Map>> maps;  // every map the program holds, in first-use order
  vm::HelperTable helpers;  // the helpers it calls, resolved from the type's protos
  // Per xlated instruction: the original instruction it came from (for line info and dumps).
  std::vector<uint32_t> orig_index;
  // Per xlated instruction: what the verifier proved on every path (the memory region of each
  // access), for the engines: vm::compile(..., {.facts = facts}).
  std::vector<vm::InsnFacts> facts;
  uint32_t verified_insns = 0;  // processed instructions (bpf_prog_info.verified_insns)
  // Options::range_facts: the instructions the second (range-facts) walk processed; 0 when it
  // was not run or gave up (then no range facts).
  uint32_t range_facts_insns = 0;
};

struct VerifyResult {
  Status status;  // 0, or EACCES (unsafe), EINVAL (malformed), E2BIG (too complex),
                  // ENOSPC (the log did not fit; the program may still be valid)
  std::optional<Program> program;  // set when the program was accepted
  std::string log;                 // what the kernel would write into log_buf (≤ log_size - 1)
  uint32_t log_true_size = 0;      // the size the whole log needs, NUL included (log_true_size)
  std::optional<Diagnostic> diagnostic;  // set when refused
};

VerifyResult verify(std::span<const struct bpf_insn> insns, const Options& opts);

}  // namespace bpfbox::verifier
