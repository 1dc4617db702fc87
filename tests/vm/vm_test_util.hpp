// Helpers for the interpreter tests: build programs with the encoder, run them in every mode
// (unchecked, checked, with a budget, both) and insist the modes agree.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <initializer_list>
#include <string>
#include <vector>

#include "bpfbox/vm.hpp"
#include "isa/decoder.hpp"
#include "program_builder.hpp"

namespace bpfbox::vm::test {

using isa::Insn;
using isa::Op;

// Programs are built with tests/support/program_builder.hpp: p << I(Op::Mov64K, 0, 0, 0, 1).
using bpfbox::test::I;
using bpfbox::test::Prog;

inline Insn exit_insn() {
  return I(Op::Exit);
}
inline Insn mov(uint8_t dst, int32_t imm) {
  return I(Op::Mov64K, dst, 0, 0, imm);
}
inline Insn movr(uint8_t dst, uint8_t src) {
  return I(Op::Mov64X, dst, src);
}

inline std::unique_ptr<Executable> compile_ok(const std::vector<Insn>& prog,
                                              const HelperTable& helpers = {},
                                              const ExecOptions& opts = {}) {
  auto r = compile(EngineKind::Interp, prog, helpers, opts);
  EXPECT_TRUE(r.is_ok()) << r.status().message();
  if (!r.is_ok()) return nullptr;
  return std::move(r).value();
}

inline Status compile_error(const std::vector<Insn>& prog, const HelperTable& helpers = {}) {
  auto r = compile(EngineKind::Interp, prog, helpers);
  EXPECT_FALSE(r.is_ok());
  return r.status();
}

struct Outcome {
  uint64_t r0 = 0;
  std::vector<uint8_t> mem;  // the memory after the run
};

// Runs in all four modes, each on a fresh copy of `mem` (r1 = its address, r2 = its length, added
// as a writable region for the checked modes; r1 = r2 = 0 when empty), expecting no fault and the
// same r0 and memory everywhere. Returns the outcome.
inline Outcome run_all(const std::vector<Insn>& prog, std::vector<uint8_t> mem = {},
                       const HelperTable& helpers = {}, const uint8_t* pkt = nullptr,
                       uint32_t pkt_len = 0) {
  Outcome first;
  const ExecOptions modes[] = {{false, 0}, {true, 0}, {false, 1u << 30}, {true, 1u << 30}};
  for (size_t m = 0; m < 4; ++m) {
    auto exe = compile_ok(prog, helpers, modes[m]);
    if (!exe) return first;
    std::vector<uint8_t> copy = mem;
    RunContext rc;
    rc.pkt_data = pkt;
    rc.pkt_len = pkt_len;
    if (!copy.empty()) rc.add_region(copy.data(), copy.size(), kReadWrite, "mem");
    const uint64_t r1 = copy.empty() ? 0 : reinterpret_cast<uint64_t>(copy.data());
    const uint64_t r0 = exe->run(rc, r1, copy.size());
    EXPECT_EQ(rc.fault.kind, FaultKind::None) << "mode " << m << ": " << describe(rc.fault, &rc);
    if (m == 0) {
      first = Outcome{r0, copy};
    } else {
      EXPECT_EQ(r0, first.r0) << "mode " << m << " disagrees with the unchecked run";
      EXPECT_EQ(copy, first.mem) << "mode " << m << " left different memory";
    }
    if (modes[m].insn_budget) {
      EXPECT_GT(rc.insns_executed, 0u);
    }
  }
  return first;
}

inline uint64_t run_r0(const std::vector<Insn>& prog, std::vector<uint8_t> mem = {}) {
  return run_all(prog, std::move(mem)).r0;
}

}  // namespace bpfbox::vm::test
