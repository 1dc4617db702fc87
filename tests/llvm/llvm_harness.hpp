// Runs a program on the interpreter (the reference) and on the LLVM tier in every mode (unchecked,
// checked, budget, checked+budget; -O2 and -O3) and reports the first difference in r0, memory,
// fault, instruction count or helper-call sequence. The helpers and the Run record are the JIT
// harness's, so both tiers are held to the same observations.
#pragma once

#include <memory>
#include <span>
#include <string>
#include <vector>

#include "jit_harness.hpp"
#include "vm/llvm/llvm_tier.hpp"

namespace bpfbox::vm::llvm_tier::test {

using jit::test::Run;
using jit::test::test_helpers;

struct Mode {
  std::string name;
  ExecOptions opts;
  int opt_level = 2;
};

std::vector<Mode> llvm_modes(uint64_t budget = 1u << 30);

// engine Interp runs the reference with mode.opts; Llvm compiles at mode.opt_level.
Run run(EngineKind engine, const Mode& mode, const std::vector<isa::Insn>& prog,
        const std::vector<uint8_t>& mem, const uint8_t* pkt = nullptr, uint32_t pkt_len = 0);

// Empty when every LLVM mode agrees with the interpreter in the same mode (only the checked
// modes for programs whose wild accesses would corrupt the host in the others).
std::string compare_with_interp(const std::vector<isa::Insn>& prog,
                                const std::vector<uint8_t>& mem = {}, const uint8_t* pkt = nullptr,
                                uint32_t pkt_len = 0, uint64_t budget = 1u << 30,
                                bool checked_only = false);

// Compiles `prog` on this tier with BPFBOX_LLVM_DUMP set and returns its optimized IR (or what
// went wrong); the executable in *out.
std::string compile_dumping_ir(std::span<const struct bpf_insn> prog, const HelperTable& helpers,
                               const ExecOptions& opts, std::unique_ptr<Executable>* out);
// How often `what` occurs in `text`.
size_t count(const std::string& text, const std::string& what);

#define EXPECT_LLVM_SAME_AS_INTERP(...)                                                        \
  do {                                                                                         \
    const std::string diff_ = ::bpfbox::vm::llvm_tier::test::compare_with_interp(__VA_ARGS__); \
    EXPECT_TRUE(diff_.empty()) << diff_;                                                       \
  } while (0)

}  // namespace bpfbox::vm::llvm_tier::test
