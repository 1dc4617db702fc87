// What BPF_PROG_TEST_RUN does the same way for every type (net/bpf/test_run.c): the ctx_in rules
// (bpf_ctx_init), copying out data and ctx with ENOSPC (bpf_test_finish, bpf_ctx_finish), and the
// repeat loop on a RunSlot with its average duration (bpf_test_run).
#pragma once

#include <cstdint>
#include <span>

#include "bpfbox/prog_type.hpp"
#include "progs/packet_limits.hpp"

namespace bpfbox::progs {

// bpf_ctx_init: when the caller gave a ctx (in or out), fills `ctx` (ctx_max bytes, zeroed) from
// ctx_in; bytes of ctx_in beyond ctx_max must be zero (E2BIG), as bpf_check_uarg_tail_zero.
// *present tells whether there is a ctx at all.
Status ctx_init(const TestRunArgs& args, void* ctx, uint32_t ctx_max, bool* present);

// bpf_test_finish: the packet out (data_out clamped to data_size_out, ENOSPC then), its true size,
// retval and duration.
Status finish_data(const TestRunArgs& args, const uint8_t* data, uint32_t size,
                   TestRunResult& result);

// bpf_ctx_finish: the context out when the caller asked for it (ENOSPC when ctx_size_out is short).
Status finish_ctx(const TestRunArgs& args, const void* ctx, uint32_t size, bool present,
                  TestRunResult& result);

// What one test run executes on.
struct RunInput {
  void* ctx = nullptr;  // r1: the internal context
  uint32_t ctx_size = 0;
  std::span<uint8_t> buffer;             // the packet's whole buffer (head- and tailroom included)
  void* user = nullptr;                  // RunContext::user: the run's PacketRun
  const uint8_t* ld_abs_data = nullptr;  // what LD_ABS/LD_IND read (skb->data), and its length
  uint32_t ld_abs_len = 0;
  std::span<const vm::MemRegion> regions;  // TestRunArgs::checked_regions
};

// How long a TEST_RUN repeat holds its RunSlot before leaving it and taking it again (the
// kernel's bpf_test_timer does so on need_resched), so that reclamation goes on meanwhile.
constexpr uint64_t kRunSliceNs = 1'000'000;

// bpf_test_run: runs the program `repeat` times (0 means 1) on a RunSlot taken again every
// kRunSliceNs, each run on the state the previous one left (as the kernel's); sets retval and the
// average duration (the runs' time, not the gaps between slots). A fault (checked
// mode) ends the run with EFAULT and its description; a checked run may touch the context and the
// packet buffer besides its stack.
Status run_repeat(const TestRunProgram& prog, const RunInput& in, uint32_t repeat,
                  TestRunResult& result);

}  // namespace bpfbox::progs
