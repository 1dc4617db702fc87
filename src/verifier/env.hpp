// One verification (the kernel's struct bpf_verifier_env): the program, the options, the log,
// the per-instruction facts, the subprograms, the maps used and the states explored so far.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <unordered_map>
#include <vector>

#include <linux/bpf.h>

#include "bpfbox/prog_type.hpp"
#include "bpfbox/verifier.hpp"
#include "verifier/btf_info.hpp"
#include "verifier/diagnostic.hpp"
#include "verifier/log.hpp"
#include "verifier/state.hpp"

namespace bpfbox::verifier {

struct Env {
  const Options& opts;
  const ProgTypeOps* ops = nullptr;
  std::vector<struct bpf_insn> insns;  // the program, rewritten in place as the checks go
  std::vector<InsnAux> aux;            // one per instruction
  std::vector<SubprogInfo> subprogs;   // sorted by start; subprogs[0] is the main program
  std::vector<std::shared_ptr<maps::Map>> used_maps;
  std::unique_ptr<ProgBtf> btf;  // the program's BTF, func_info and line_info (btf_info.hpp)
  VerifierLog log;
  Diagnostic diag;       // filled at the first error
  RefusalFacts refusal;  // what error sites recorded with explain() (verifier/diagnostic.hpp)

  // Exploration.
  std::unique_ptr<VerifierState> cur_state;
  // Checkpointed states per instruction (explored_states), for pruning.
  std::unordered_map<uint32_t, std::vector<std::unique_ptr<VerifierState>>> explored;
  uint32_t insn_processed = 0;
  uint32_t insn_limit = kMaxInsns;  // lower for the range-facts walk (verify.cpp)
  uint32_t prev_insn_processed = 0;
  uint32_t jmps_processed = 0, prev_jmps_processed = 0;  // jump-class instructions checked
  uint32_t total_states = 0, peak_states = 0, max_states_per_insn = 0;
  // As the kernel's peak_states counts them: checkpoints in the search, evicted ones some path
  // still descends from (the kernel's free list: freed once their branches reach 0).
  uint32_t explored_states_size = 0, free_list_size = 0;
  uint32_t id_gen = 0;  // ids for scalars, maybe-null pointers and references
  // The core's walk (do_check.cpp): the instruction being checked, the one before it on this path,
  // and the branches still to explore (push_stack/pop_stack).
  struct PendingBranch {
    std::unique_ptr<VerifierState> state;
    uint32_t insn_idx = 0, prev_insn_idx = 0;
    uint64_t log_pos = 0;  // where the log rewinds to when this branch is popped (level 1)
  };
  std::vector<PendingBranch> pending;
  uint32_t insn_idx = 0, prev_insn_idx = 0;
  // The log's per-instruction state (print.cpp): where the last instruction's line ended, so its
  // state is appended after "; ", and which registers/stack slots it touched ("scratched").
  uint64_t prev_log_pos = 0, prev_insn_print_pos = 0;
  uint32_t scratched_regs = 0;
  uint64_t scratched_stack = 0;
  uint32_t mark_read = 0;  // the stats line's mark_read
  // Pruning (prune.cpp): per instruction, the registers some path from it reads before writing
  // (bit i: ri), computed once from the program as the kernel's compute_live_registers.
  std::vector<uint16_t> live_regs_before;
  // The same for stack slots of the instruction's frame (bit spi; stack_liveness.cpp).
  std::vector<uint64_t> live_slots_before;
  // Checkpoints dropped from `explored` (they missed too often) but still parents of live paths.
  std::vector<std::unique_ptr<VerifierState>> evicted_states;
  // Precision (precision.cpp): the scalar sets conditional jumps linked (HistEntry::linked).
  std::vector<std::vector<uint16_t>> linked_sets;
  // Paths pruned against a checkpoint whose marks were still incomplete (a loop head being
  // explored): what that checkpoint later learns is propagated to them (the kernel's backedges).
  struct Backedge {
    VerifierState* old = nullptr;
    std::unique_ptr<VerifierState> cur;  // the pruned state (its history and parent chain)
  };
  std::vector<Backedge> backedges;
  bool privileged() const { return opts.load.privileged; }
  bool allow_ptr_leaks() const { return opts.load.privileged; }
  bool bypass_spec_v1() const { return opts.load.privileged; }
  bool bypass_spec_v4() const { return opts.load.privileged; }
  bool strict_alignment() const { return opts.load.prog_flags & BPF_F_STRICT_ALIGNMENT; }

  explicit Env(const Options& o) : opts(o) {}
  uint32_t new_id() { return ++id_gen; }
  // verbose(): the kernel's log message, also remembered for the diagnostic.
  void verbose(const char* fmt, ...) __attribute__((format(printf, 2, 3)));
};

}  // namespace bpfbox::verifier
