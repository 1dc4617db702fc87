// bpfbox's JIT against its interpreter on the same random programs (no kernel needed): the whole
// register file and stack area must match. Skips while the JIT is not built.
// Reproduce: BPFBOX_DIFF_SEED=<seed>; soak: BPFBOX_DIFF_SCALE=<factor>.
#include <gtest/gtest.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>

#include "bpfbox/vm.hpp"
#include "random_program.hpp"

namespace bpfbox::testsupport {
namespace {

struct Outcome {
  MachineState state;
  std::string error;
};

Outcome run(vm::EngineKind engine, const RandomProgram& p) {
  Outcome o;
  const auto prog = wrap(p, Wrapper::Buffer);
  vm::HelperTable helpers;
  auto exe = vm::compile(engine, prog, helpers, {});
  if (!exe) {
    o.error = "compile: " + exe.status().message();
    return o;
  }
  alignas(8) uint8_t out[kStateBytes] = {};
  vm::RunContext rc;
  const uint64_t ret = (*exe)->run(rc, reinterpret_cast<uint64_t>(out));
  if (rc.fault.kind != vm::FaultKind::None)
    o.error = "fault: " + vm::describe(rc.fault, &rc);
  else if (ret != kWrappedRetval)
    o.error = "retval " + std::to_string(ret);
  o.state = MachineState::from_bytes(out);
  return o;
}

std::string difference(const RandomProgram& p) {
  const Outcome interp = run(vm::EngineKind::Interp, p), jit = run(vm::EngineKind::Jit, p);
  if (!interp.error.empty() || !jit.error.empty())
    return "interp: " + interp.error + " jit: " + jit.error + "\n";
  return describe_difference(interp.state, jit.state);  // "expected" is the interpreter
}

uint64_t env_number(const char* name, uint64_t fallback) {
  const char* v = std::getenv(name);
  return v && *v ? std::strtoull(v, nullptr, 0) : fallback;
}

TEST(InterpVsJit, RandomPrograms) {
  {
    vm::HelperTable helpers;
    const struct bpf_insn exit_insns[2] = {{.code = BPF_ALU64 | BPF_MOV | BPF_K},
                                           {.code = BPF_JMP | BPF_EXIT}};
    auto exe = vm::compile(vm::EngineKind::Jit, exit_insns, helpers, {});
    if (!exe && exe.status().err() == EOPNOTSUPP) GTEST_SKIP() << exe.status().message();
  }
  // Everything the ISA has, including what the kernel trips on (the JIT has no such excuse).
  const GeneratorOptions opts{
      .acquire_release = true, .calls = true, .avoid_kernel_atomic_bugs = false};
  uint64_t first = 5'000'000, count = 2000 * env_number("BPFBOX_DIFF_SCALE", 1);
  if (const uint64_t only = env_number("BPFBOX_DIFF_SEED", 0)) {
    first = only;
    count = 1;
  }
  uint64_t mismatched = 0;
  for (uint64_t seed = first; seed < first + count; ++seed) {
    const RandomProgram p = generate_program(seed, opts);
    const std::string diff = difference(p);
    if (diff.empty() || ++mismatched > 5) continue;
    const RandomProgram small =
        shrink(p, [](const RandomProgram& q) { return !difference(q).empty(); });
    ADD_FAILURE() << "seed " << seed << ": the JIT differs from the interpreter (expected):\n"
                  << diff << "shrunk to:\n"
                  << difference(small) << describe_program(small)
                  << "reproduce: BPFBOX_DIFF_SEED=" << seed << "\n";
  }
  std::printf("%llu programs compared, %llu differ\n", static_cast<unsigned long long>(count),
              static_cast<unsigned long long>(mismatched));
  EXPECT_EQ(mismatched, 0u);
}

}  // namespace
}  // namespace bpfbox::testsupport
