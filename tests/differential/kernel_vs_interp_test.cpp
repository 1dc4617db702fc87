// bpfbox's interpreter against the running kernel (verifier + JIT) on random programs: the whole
// register file r0..r9 and the body's stack area must match after every program, in each of the
// interpreter's modes (fast, checked, budgeted).
//
// Reproduce a failure: BPFBOX_DIFF_SEED=<seed> differential_test --gtest_filter=<test>
// Soak: BPFBOX_DIFF_SCALE=50 runs fifty times as many seeds.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include "bpfbox/vm.hpp"
#include "isa/decoder.hpp"
#include "kernel_bpf.hpp"
#include "kernel_features.hpp"
#include "random_program.hpp"

namespace bpfbox::testsupport {
namespace {

struct Outcome {
  MachineState state;
  uint64_t retval = 0;
  std::string error;  // compile error or fault; empty on success
};

// The interpreter's three dispatch variants: plain, bounds-checked, instruction-budgeted.
enum class Mode { Fast, Checked, Budget };
const char* name(Mode m) {
  return m == Mode::Fast ? "fast" : m == Mode::Checked ? "checked" : "budget";
}

Outcome run_interp(std::span<const struct bpf_insn> prog, Mode mode) {
  Outcome o;
  vm::HelperTable helpers;
  const bool checked = mode == Mode::Checked;
  const uint64_t budget = mode == Mode::Budget ? 1'000'000 : 0;
  auto exe = vm::compile(vm::EngineKind::Interp, prog, helpers,
                         {.checked = checked, .insn_budget = budget});
  if (!exe) {
    o.error = "compile: " + exe.status().message();
    return o;
  }
  alignas(8) uint8_t out[kStateBytes] = {};
  vm::RunContext rc;
  if (checked) rc.add_region(out, sizeof out, vm::kReadWrite, "out");
  o.retval = (*exe)->run(rc, reinterpret_cast<uint64_t>(out));
  if (rc.fault.kind != vm::FaultKind::None) o.error = "fault: " + vm::describe(rc.fault, &rc);
  // Forward jumps only: a run executes at most every slot of the program once per call.
  if (budget && (rc.insns_executed == 0 || rc.insns_executed > 8 * prog.size()))
    o.error += "insns_executed " + std::to_string(rc.insns_executed) + "\n";
  o.state = MachineState::from_bytes(out);
  return o;
}

uint64_t env_number(const char* name, uint64_t fallback) {
  const char* v = std::getenv(name);
  return v && *v ? std::strtoull(v, nullptr, 0) : fallback;
}

// One program through the kernel and the interpreter.
struct Comparison {
  std::string refused;     // the kernel verifier's log when it refused the program
  std::string diff;        // how the interpreter differs (empty: it agrees in both modes)
  Mode mode = Mode::Fast;  // the mode that differed
};

Comparison compare(const RandomProgram& p) {
  Comparison c;
  const auto kprog = wrap(p, Wrapper::KernelXdp);
  auto loaded = kernel_load(BPF_PROG_TYPE_XDP, kprog);
  if (!loaded) {
    c.refused = "errno " + std::to_string(loaded.status().err()) + "\n" + loaded.status().message();
    return c;
  }
  std::vector<uint8_t> pkt(kStateBytes, 0);
  auto run = kernel_test_run(*loaded, pkt);
  if (!run) {
    c.refused = "BPF_PROG_TEST_RUN: " + run.status().message();
    return c;
  }
  if (run->retval != kWrappedRetval) {
    c.refused = "kernel retval " + std::to_string(run->retval);
    return c;
  }
  const MachineState expected = MachineState::from_bytes(run->data_out);
  const auto prog = wrap(p, Wrapper::Buffer);
  for (Mode mode : {Mode::Fast, Mode::Checked, Mode::Budget}) {
    const Outcome got = run_interp(prog, mode);
    c.diff = got.error;
    if (c.diff.empty() && got.retval != kWrappedRetval)
      c.diff = "retval " + std::to_string(got.retval) + "\n";
    if (c.diff.empty()) c.diff = describe_difference(expected, got.state);
    c.mode = mode;
    if (!c.diff.empty()) break;
  }
  return c;
}

// Runs `count` seeds from `first_seed` (or only BPFBOX_DIFF_SEED) through kernel and interpreter.
void compare_with_kernel(const char* what, GeneratorOptions opts, uint64_t first_seed,
                         uint64_t count) {
  if (const auto& why = kernel_bpf_unavailable()) GTEST_SKIP() << *why;
  opts = supported_by_kernel(opts);
  count *= env_number("BPFBOX_DIFF_SCALE", 1);
  if (const uint64_t only = env_number("BPFBOX_DIFF_SEED", 0)) {
    first_seed = only;
    count = 1;
  }
  uint64_t compared = 0, refused = 0, mismatched = 0;
  constexpr uint64_t kReportAtMost = 5;  // full reports; the rest are counted
  for (uint64_t seed = first_seed; seed < first_seed + count; ++seed) {
    const RandomProgram p = generate_program(seed, opts);
    const Comparison c = compare(p);
    if (!c.refused.empty()) {
      if (++refused <= kReportAtMost)
        ADD_FAILURE() << what << " seed " << seed
                      << ": the kernel refused the program; fix the generator\n"
                      << c.refused << "\n"
                      << listing(wrap(p, Wrapper::KernelXdp));
      continue;
    }
    ++compared;
    if (c.diff.empty()) continue;
    if (++mismatched > kReportAtMost) continue;
    // Shrink to the few instructions that matter before reporting.
    const RandomProgram small = shrink(p, [](const RandomProgram& q) {
      const Comparison d = compare(q);
      return d.refused.empty() && !d.diff.empty();
    });
    const Comparison s = compare(small);
    ADD_FAILURE() << what << " seed " << seed << ": the interpreter (" << name(c.mode)
                  << " mode) differs from the kernel:\n"
                  << c.diff << "shrunk to (interpreter, " << name(s.mode) << " mode):\n"
                  << s.diff << describe_program(small) << "reproduce: BPFBOX_DIFF_SEED=" << seed
                  << "\n";
  }
  std::printf("%s: %llu programs compared, %llu refused by the kernel verifier, %llu differ\n",
              what, static_cast<unsigned long long>(compared),
              static_cast<unsigned long long>(refused),
              static_cast<unsigned long long>(mismatched));
  EXPECT_EQ(mismatched, 0u) << what;
  EXPECT_EQ(refused, 0u) << what;
}

// The harness itself: an empty body leaves the prologue's state, and a one-instruction change
// shows up as a difference, so a silent pass means agreement rather than a blind comparison.
TEST(KernelVsInterp, HarnessSeesStateAndDifferences) {
  if (const auto& why = kernel_bpf_unavailable()) GTEST_SKIP() << *why;
  RandomProgram p = generate_program(42, {.min_body = 1, .max_body = 1});
  p.body.clear();
  auto loaded = kernel_load(BPF_PROG_TYPE_XDP, wrap(p, Wrapper::KernelXdp));
  ASSERT_TRUE(loaded) << loaded.status().message();
  std::vector<uint8_t> pkt(kStateBytes, 0xa5);
  auto run = kernel_test_run(*loaded, pkt);
  ASSERT_TRUE(run) << run.status().message();
  const MachineState kernel = MachineState::from_bytes(run->data_out);
  MachineState initial;
  initial.regs = p.init;
  EXPECT_EQ(describe_difference(initial, kernel), "");

  p.body.push_back(isa::encode(isa::Op::Add64K, 3, 0, 0, 1));
  const Outcome interp = run_interp(wrap(p, Wrapper::Buffer), Mode::Checked);
  ASSERT_EQ(interp.error, "");
  const std::string diff = describe_difference(kernel, interp.state);
  EXPECT_EQ(diff.rfind("r3: expected", 0), 0u) << diff;
  EXPECT_EQ(diff.find('\n'), diff.size() - 1) << diff;  // r3 and nothing else
}

TEST(KernelVsInterp, StraightLineAlu) {
  compare_with_kernel("straight-line ALU", {.jumps = false, .memory = false, .atomics = false},
                      1'000'000, 500);
}

TEST(KernelVsInterp, StraightLineAluAndStack) {
  compare_with_kernel("straight-line ALU+stack", {.jumps = false, .acquire_release = true},
                      2'000'000, 500);
}

TEST(KernelVsInterp, BranchingAluJmpStackAtomics) {
  compare_with_kernel("branching", {.acquire_release = true}, 3'000'000, 1000);
}

TEST(KernelVsInterp, BranchingWithCalls) {
  // bpf-to-bpf calls: the callee's own frame and stack, r6..r9 kept for the caller.
  compare_with_kernel("calls", {.acquire_release = true, .calls = true}, 6'000'000, 500);
}

TEST(KernelVsInterp, PreV4Isa) {
  // What older programs use: no sdiv/smod/movsx/ldxs/bswap/gotol.
  compare_with_kernel("pre-v4 ISA", {.v4 = false}, 4'000'000, 250);
}

}  // namespace
}  // namespace bpfbox::testsupport
