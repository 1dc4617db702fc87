// bpfbox's JIT against its interpreter on the same random programs (no kernel needed): the whole
// register file and stack area must match. Skips while the JIT is not built.
// Reproduce: BPFBOX_DIFF_SEED=<seed>; soak: BPFBOX_DIFF_SCALE=<factor>.
#include <gtest/gtest.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <vector>

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

// Tail calls: a chain of random programs, each writing its state into its own part of the ctx
// buffer and then tail-calling the next slot (the last slot is empty, so the last one falls
// through). Both engines must leave the same buffer and r0.
struct ProgArray {
  std::vector<const vm::Executable*> slots;
};

const vm::Executable* lookup(void* map, uint32_t index) {
  const auto* a = static_cast<const ProgArray*>(map);
  return index < a->slots.size() ? a->slots[index] : nullptr;
}

std::vector<struct bpf_insn> chained(const RandomProgram& p, uint32_t k, const ProgArray* array) {
  std::vector<struct bpf_insn> body = wrap(p, Wrapper::Buffer);
  // r1 += k * kStateBytes before the wrapper saves it; its exit becomes a tail call to k + 1.
  body.insert(body.begin(), bpf_insn{.code = BPF_ALU64 | BPF_ADD | BPF_K,
                                     .dst_reg = 1,
                                     .imm = static_cast<int32_t>(k * kStateBytes)});
  body.pop_back();
  const uint64_t map = reinterpret_cast<uint64_t>(array);
  body.push_back(bpf_insn{.code = BPF_LD | BPF_DW | BPF_IMM,
                          .dst_reg = 2,
                          .imm = static_cast<int32_t>(static_cast<uint32_t>(map))});
  body.push_back(bpf_insn{.imm = static_cast<int32_t>(map >> 32)});
  body.push_back(bpf_insn{
      .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = 3, .imm = static_cast<int32_t>(k + 1)});
  body.push_back(bpf_insn{.code = BPF_JMP | BPF_CALL, .imm = BPF_FUNC_tail_call});
  body.push_back(bpf_insn{.code = BPF_ALU64 | BPF_ADD | BPF_K, .imm = 17});
  body.push_back(bpf_insn{.code = BPF_JMP | BPF_EXIT});
  return body;
}

constexpr uint32_t kChain = 5;

std::string run_chain(vm::EngineKind engine, const std::vector<RandomProgram>& progs,
                      const vm::ExecOptions& opts, std::vector<uint8_t>& out, uint64_t& r0) {
  vm::HelperTable helpers;
  helpers.set_tail_call_lookup(&lookup);
  ProgArray array;
  std::vector<std::unique_ptr<vm::Executable>> exes;
  for (uint32_t k = 0; k < progs.size(); ++k) {
    auto exe = vm::compile(engine, chained(progs[k], k, &array), helpers, opts);
    if (!exe) return "compile: " + exe.status().message();
    exes.push_back(std::move(exe).value());
    array.slots.push_back(exes.back().get());
  }
  out.assign(kChain * kStateBytes, 0);
  vm::RunContext rc;
  rc.add_region(out.data(), out.size(), vm::kReadWrite, "out");
  r0 = exes[0]->run(rc, reinterpret_cast<uint64_t>(out.data()));
  if (rc.fault.kind != vm::FaultKind::None) return "fault: " + vm::describe(rc.fault, &rc);
  if (rc.tail_call_cnt != progs.size() - 1)
    return "tail calls: " + std::to_string(rc.tail_call_cnt);
  return "";
}

TEST(InterpVsJit, RandomTailCallChains) {
  {
    vm::HelperTable helpers;
    const struct bpf_insn exit_insns[2] = {{.code = BPF_ALU64 | BPF_MOV | BPF_K},
                                           {.code = BPF_JMP | BPF_EXIT}};
    auto exe = vm::compile(vm::EngineKind::Jit, exit_insns, helpers, {});
    if (!exe && exe.status().err() == EOPNOTSUPP) GTEST_SKIP() << exe.status().message();
  }
  const GeneratorOptions gen{.acquire_release = true, .avoid_kernel_atomic_bugs = false};
  const vm::ExecOptions modes[] = {{false, 0}, {true, 0}, {false, 1u << 20}, {true, 1u << 20}};
  const uint64_t chains = 100 * env_number("BPFBOX_DIFF_SCALE", 1);
  uint64_t failed = 0;
  for (uint64_t c = 0; c < chains; ++c) {
    std::vector<RandomProgram> progs;
    for (uint32_t k = 0; k < kChain; ++k)
      progs.push_back(generate_program(9'000'000 + c * kChain + k, gen));
    for (const vm::ExecOptions& m : modes) {
      std::vector<uint8_t> want, got;
      uint64_t want_r0 = 0, got_r0 = 0;
      const std::string ei = run_chain(vm::EngineKind::Interp, progs, m, want, want_r0);
      const std::string ej = run_chain(vm::EngineKind::Jit, progs, m, got, got_r0);
      if (ei.empty() && ej.empty() && want == got && want_r0 == got_r0 && want_r0 == 17) continue;
      if (++failed > 5) continue;
      std::string diff;
      for (uint32_t k = 0; k < kChain && ei.empty() && ej.empty(); ++k)
        diff += describe_difference(
            MachineState::from_bytes(std::span(want).subspan(k * kStateBytes, kStateBytes)),
            MachineState::from_bytes(std::span(got).subspan(k * kStateBytes, kStateBytes)));
      ADD_FAILURE() << "chain " << c << " (seeds from " << 9'000'000 + c * kChain << ", checked "
                    << m.checked << ", budget " << m.insn_budget << "): interp: " << ei << " r0 "
                    << want_r0 << "; jit: " << ej << " r0 " << got_r0 << "\n"
                    << diff;
    }
  }
  EXPECT_EQ(failed, 0u);
}

}  // namespace
}  // namespace bpfbox::testsupport
