// Differential fuzzing, interpreter against the LLVM tier, on random programs: the generator's
// bodies (every ALU/JMP form, stack memory, atomics, v4, acquire/release, bpf-to-bpf calls)
// composed with helper calls and callx. Every mode (unchecked, checked, budget, checked+budget,
// -O3) must leave the same r0, memory, fault, instruction count and helper-call sequence as the
// interpreter; small budgets stop programs at random points.
//
// Reproduce: BPFBOX_LLVM_DIFF_SEED=<seed> llvm_test --gtest_filter='LlvmDifferential.*'
// Soak: BPFBOX_LLVM_DIFF_SCALE=20 runs twenty times as many seeds.
#include <gtest/gtest.h>

#include <cstdlib>
#include <random>

#include "llvm_harness.hpp"
#include "random_program.hpp"

namespace bpfbox::vm::llvm_tier::test {
namespace {

using bpfbox::test::I;
using isa::Insn;
using isa::Op;

uint64_t env_number(const char* name, uint64_t fallback) {
  const char* v = std::getenv(name);
  return v && *v ? std::strtoull(v, nullptr, 0) : fallback;
}

// The generator's program (with bpf-to-bpf calls half the time), followed by segments of a
// helper call or a callx of a helper id, each followed by more generated code.
std::vector<Insn> compose(uint64_t seed) {
  std::mt19937_64 rng(seed);
  testsupport::GeneratorOptions gopts;
  gopts.min_body = 16;
  gopts.max_body = 48;
  gopts.acquire_release = rng() % 2;
  gopts.calls = rng() % 2;
  testsupport::RandomProgram main = testsupport::generate_program(seed, gopts);
  gopts.calls = false;  // appended bodies: their call indexes would not match main's subprograms
  const int segments = static_cast<int>(rng() % 4);
  for (int s = 0; s < segments; ++s) {
    for (uint8_t r = 1; r <= 5; ++r)
      main.body.push_back(I(Op::Mov64X, r, static_cast<uint8_t>(rng() % 10)));
    if (rng() % 2) {
      main.body.push_back(I(Op::Call, 0, 0, 0, rng() % 2 ? 1 : 2));
    } else {
      const uint8_t reg = static_cast<uint8_t>(6 + rng() % 4);
      main.body.push_back(I(Op::StxDW, 10, reg, -88));  // below the wrapper's slots
      main.body.push_back(I(Op::Mov64K, reg, 0, 0, 1));
      main.body.push_back(I(Op::Callx, reg));
      main.body.push_back(I(Op::LdxDW, reg, 10, -88));
    }
    // r1..r5 are undefined after a call (the kernel's verifier refuses reading them).
    for (uint8_t r = 1; r <= 5; ++r)
      main.body.push_back(I(Op::Mov64K, r, 0, 0, static_cast<int32_t>(rng())));
    auto more = testsupport::generate_program(seed * 7 + s + 100, gopts).body;
    main.body.insert(main.body.end(), more.begin(), more.end());
  }
  return testsupport::wrap(main, testsupport::Wrapper::Buffer);
}

TEST(LlvmDifferential, ComposedRandomPrograms) {
  const uint64_t only = env_number("BPFBOX_LLVM_DIFF_SEED", 0);
  const uint64_t n = 60 * env_number("BPFBOX_LLVM_DIFF_SCALE", 1);
  for (uint64_t seed = only ? only : 1; seed <= (only ? only : n); ++seed) {
    const std::vector<Insn> prog = compose(seed);
    std::mt19937_64 rng(seed ^ 0x11c3);
    // Half the seeds run with a budget small enough to stop them somewhere.
    const uint64_t budget = seed % 2 ? 1u << 30 : 1 + rng() % 300;
    const std::string d = compare_with_interp(prog, std::vector<uint8_t>(testsupport::kStateBytes),
                                              nullptr, 0, budget);
    ASSERT_TRUE(d.empty()) << "seed " << seed << " (BPFBOX_LLVM_DIFF_SEED=" << seed << ")\n" << d;
  }
}

}  // namespace
}  // namespace bpfbox::vm::llvm_tier::test
