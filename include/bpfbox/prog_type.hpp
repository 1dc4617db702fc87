// Program types: one ops table per BPF_PROG_TYPE_*, as the kernel's bpf_verifier_ops and
// bpf_prog_ops. The verifier is parameterised by these tables and knows no program type by name;
// adding a program type is adding one file under src/progs/ (and one line in its registry), and
// an embedder may register a type of its own.
//
// The context: programs see the UAPI struct (struct __sk_buff, struct xdp_md). bpfbox runs them on
// its own internal struct, as the kernel runs them on struct sk_buff / struct xdp_buff: the
// verifier checks each context access against is_valid_access() at the UAPI offset and the
// rewrite replaces it with convert_ctx_access()'s instructions on the internal layout (e.g. the
// u32 `data` field becomes a u64 load of the internal data pointer).
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include <linux/bpf.h>

#include "bpfbox/helper_proto.hpp"
#include "bpfbox/status.hpp"
#include "bpfbox/vm.hpp"

namespace bpfbox {

enum class AccessType : uint8_t { Read, Write };  // enum bpf_access_type

// What the load being checked asked for (the parts of struct bpf_prog the kernel's callbacks use).
struct ProgLoadContext {
  uint32_t prog_type = 0;
  uint32_t expected_attach_type = 0;
  uint32_t prog_flags = 0;
  bool privileged = true;      // bpf_capable() and perfmon_capable(): root's rule set
  bool gpl_compatible = true;  // the license is GPL-compatible (gpl_only helpers allowed)
};

// What is_valid_access() tells the verifier about an allowed context access (bpf_insn_access_aux).
struct CtxAccessInfo {
  // In: the load sign-extends (BPF_MEMSX); the kernel refuses that for packet pointers.
  bool is_ldsx = false;
  uint32_t reg_type = SCALAR_VALUE;  // what a load yields: SCALAR_VALUE, PTR_TO_PACKET, ...
  // For a narrow load (fewer bytes than the field): the field's size, so the verifier can load the
  // whole field and shift/mask (the kernel's bpf_ctx_narrow_access_ok). 0 when not narrowable.
  uint32_t ctx_field_size = 0;
};

// BPF_PROG_TEST_RUN's input, as bpf_attr.test carries it.
struct TestRunArgs {
  std::span<const uint8_t> data_in;
  std::span<const uint8_t> ctx_in;  // empty: the type's default context
  uint32_t data_size_out = 0;       // capacity of the caller's data_out buffer (0: none given)
  uint32_t ctx_size_out = 0;        // capacity of the caller's ctx_out buffer (0: none given)
  uint32_t repeat = 0;              // 0 means 1, as the kernel
  uint32_t flags = 0;               // BPF_F_TEST_RUN_ON_CPU, BPF_F_TEST_XDP_LIVE_FRAMES
  uint32_t cpu = 0;
  uint32_t batch_size = 0;
  // bpfbox's own, for checked runs (vm::ExecOptions::checked), not in bpf_attr: memory the run may
  // touch besides its stack, context and packet (a test's map values), and whether the packet
  // region is only [data, data_end) as the run starts rather than the whole buffer with its head-
  // and tailroom (exact for programs that do not move the packet's bounds: soundness fuzzing).
  std::span<const vm::MemRegion> checked_regions;
  bool checked_exact_packet = false;
};

struct TestRunResult {
  uint32_t retval = 0;
  uint32_t duration = 0;          // average ns per run, as the kernel
  std::vector<uint8_t> data_out;  // the packet after the run (at most data_size_out bytes)
  uint32_t data_size_out = 0;     // the packet's true size (may exceed data_out.size(): ENOSPC)
  std::vector<uint8_t> ctx_out;
  uint32_t ctx_size_out = 0;
};

// The program as TEST_RUN needs it.
struct TestRunProgram {
  const vm::Executable* exe = nullptr;
  uint32_t prog_type = 0;
  uint32_t expected_attach_type = 0;
};

struct ProgTypeOps {
  uint32_t prog_type = 0;  // BPF_PROG_TYPE_*
  const char* name = "";   // bpftool's name: "socket_filter", "sched_cls", "xdp"
  uint32_t ctx_size = 0;   // sizeof the UAPI context (struct __sk_buff, struct xdp_md)

  // The helpers this type may call (nullptr: unknown or not allowed here); the kernel's
  // get_func_proto, including the privileged/unprivileged split of bpf_base_func_proto.
  const HelperProto* (*get_func_proto)(uint32_t func_id, const ProgLoadContext& ctx) = nullptr;

  // May the program access [off, off+size) of its context this way? Fills info on success.
  bool (*is_valid_access)(int32_t off, uint32_t size, AccessType type, const ProgLoadContext& ctx,
                          CtxAccessInfo* info) = nullptr;

  // Rewrites one context access that is_valid_access() allowed (a BPF_LDX/BPF_STX/BPF_ST|BPF_MEM
  // with the UAPI offset; narrow loads arrive widened to the field's size) into at most
  // kMaxCtxRewrite instructions on the internal context. Sets *target_size to the size of the
  // field actually loaded (for the verifier's narrow-load shift/mask). Returns the count written.
  static constexpr uint32_t kMaxCtxRewrite = 16;
  uint32_t (*convert_ctx_access)(AccessType type, const struct bpf_insn& insn, struct bpf_insn* out,
                                 uint32_t* target_size) = nullptr;

  // Whether direct packet access (PTR_TO_PACKET from the context) is allowed for reads/writes:
  // the kernel's may_access_direct_pkt_data().
  bool (*may_access_direct_pkt_data)(AccessType type, const ProgLoadContext& ctx) = nullptr;

  // The values r0 may hold at exit (check_return_code): unchecked when has_retval_range is false.
  bool has_retval_range = false;
  int32_t retval_min = 0, retval_max = 0;

  // BPF_PROG_TEST_RUN: builds the context from the args, runs repeat times, fills the result.
  // The kernel's size checks and errno (EINVAL, ENOSPC for a short data_out, ...).
  Status (*test_run)(const TestRunProgram& prog, const TestRunArgs& args,
                     TestRunResult& result) = nullptr;
};

// The registered types (src/progs/prog_types.cpp); nullptr for a type bpfbox does not have.
const ProgTypeOps* prog_type_ops(uint32_t prog_type);
// Adds or replaces an embedder's program type (not thread-safe against concurrent loads).
void register_prog_type(const ProgTypeOps* ops);

}  // namespace bpfbox
