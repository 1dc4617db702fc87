// Runs a program on the interpreter (the reference) and on the JIT in every mode and tuning, and
// reports the first difference in r0, memory, fault, instruction count or helper-call sequence.
#pragma once

#include <gtest/gtest.h>

#include <array>
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "bpfbox/vm.hpp"
#include "isa/decoder.hpp"
#include "program_builder.hpp"
#include "vm/jit/jit.hpp"

namespace bpfbox::vm::jit::test {

using isa::Insn;
using isa::Op;

using bpfbox::test::I;
using bpfbox::test::Prog;

// Helpers that log their calls so both engines' call sequences can be compared.
inline std::string r0_hex(uint64_t v) {
  char b[24];
  std::snprintf(b, sizeof b, "0x%llx", static_cast<unsigned long long>(v));
  return b;
}

struct CallLog {
  std::vector<std::array<uint64_t, 6>> calls;
};
uint64_t log_call(uint64_t id, uint64_t r1, uint64_t r2, uint64_t r3, uint64_t r4, uint64_t r5,
                  RunContext* rc);
// 1: returns a mix of its arguments; 2: returns r1 + 1; 3: faults the run (BadCall);
// 5: returns 0 (the conformance suite's); 6: returns its RunContext's pkt_len; 7: bpf_loop-like
// (r1 = count, r2 = function, r3 = ctx), calling back through RunContext::call_function.
const HelperTable& test_helpers();

struct Run {
  std::string error;  // compile error
  uint64_t r0 = 0;
  std::vector<uint8_t> mem;
  Fault fault;
  uint64_t fault_addr_rel = 0;  // fault.addr relative to the stack or mem base when inside them
  uint64_t insns = 0;
  CallLog log;
};

struct Variant {
  std::string name;
  bool jit = true;
  ExecOptions opts;
  x86_64::Tuning tuning;
};

// Unchecked, checked, budget, checked+budget, each with host tuning; plus blinding, no-BMI2 and
// no-short-jump tunings in unchecked and checked modes.
std::vector<Variant> jit_variants(uint64_t budget = 1u << 30);

Run run(const Variant& v, const std::vector<Insn>& prog, const std::vector<uint8_t>& mem,
        const uint8_t* pkt = nullptr, uint32_t pkt_len = 0);
// Runs a compiled program (or records why it did not compile) as run() does, for other engines'
// harnesses; count_insns when the run has a budget.
Run run_compiled(Result<std::unique_ptr<Executable>> exe, bool count_insns,
                 const std::vector<uint8_t>& mem, const uint8_t* pkt, uint32_t pkt_len);
// The first differences between the interpreter's run and `engine`'s, or "" when they agree.
std::string differ(const Run& want, const Run& got, const std::string& engine);

// Empty when every JIT variant agrees with the interpreter in the same mode.
std::string compare_engines(const std::vector<Insn>& prog, const std::vector<uint8_t>& mem = {},
                            const uint8_t* pkt = nullptr, uint32_t pkt_len = 0,
                            uint64_t budget = 1u << 30, bool checked_only = false);

#define EXPECT_SAME_AS_INTERP(...)                                                   \
  do {                                                                               \
    const std::string diff_ = ::bpfbox::vm::jit::test::compare_engines(__VA_ARGS__); \
    EXPECT_TRUE(diff_.empty()) << diff_;                                             \
  } while (0)

}  // namespace bpfbox::vm::jit::test

namespace bpfbox::vm::jit::test {

// body wrapped so that r0..r9 start at `init` and all ten end up in an 80-byte memory buffer.
std::vector<Insn> with_state(const std::array<uint64_t, 10>& init, const std::vector<Insn>& body);

// A chain of `frames` frames without recursion: main (r6..r9 = 6..9) calls f1, each fi the next,
// the last writes r8 and returns 100; each adds its index on the way back, main adds r6..r9.
// The main program's call is at pc 4; fi starts at pc 10 + 3 * (i - 1).
std::vector<Insn> call_chain(int frames);

}  // namespace bpfbox::vm::jit::test
