// Soundness fuzzing: every biased random program bpfbox's verifier accepts runs in the checked
// interpreter on random packets; a memory fault means the verifier accepted an unsafe program.
// Each program is also loaded into the running kernel and the verdicts are compared (counted and
// reported; a disagreement is listed, not failed, since the corpus pins verdicts).
// BPFBOX_FUZZ_ITERATIONS=N sets the number of programs (default 300), BPFBOX_FUZZ_SEED the first.
#include <gtest/gtest.h>

#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include "biased_program.hpp"
#include "bpfbox/prog_type.hpp"
#include "bpfbox/verifier.hpp"
#include "isa/assembler.hpp"
#include "kernel_bpf.hpp"
#include "kernel_verifier.hpp"

namespace bpfbox::fuzz {
namespace {

uint64_t env_u64(const char* name, uint64_t fallback) {
  const char* v = std::getenv(name);
  return v ? std::strtoull(v, nullptr, 0) : fallback;
}

TEST(VerifierSoundnessFuzz, AcceptedProgramsNeverFaultInTheCheckedInterpreter) {
  const uint64_t iterations = env_u64("BPFBOX_FUZZ_ITERATIONS", 300);
  const uint64_t first_seed = env_u64("BPFBOX_FUZZ_SEED", 1);
  const ProgTypeOps* xdp = prog_type_ops(BPF_PROG_TYPE_XDP);
  ASSERT_NE(xdp, nullptr);
  const bool kernel = !testsupport::kernel_bpf_unavailable();
  uint64_t accepted = 0, runs = 0, kernel_checked = 0, kernel_agree = 0;
  std::vector<std::string> violations, disagreements;
  std::mt19937_64 rng(first_seed);
  for (uint64_t seed = first_seed; seed < first_seed + iterations; ++seed) {
    const std::string text = biased_xdp_program(seed);
    auto prog = isa::assemble(text);
    ASSERT_TRUE(prog.is_ok()) << prog.status().message() << "\n" << text;
    verifier::Options opts;
    opts.load.prog_type = BPF_PROG_TYPE_XDP;
    const verifier::VerifyResult r = verifier::verify(prog.value(), opts);
    if (kernel) {
      testsupport::KernelLoad load;
      load.prog_type = BPF_PROG_TYPE_XDP;
      load.insns = prog.value();
      load.log_level = 0;
      load.log_size = 0;
      const int kerr = testsupport::kernel_verify(load).err;
      ++kernel_checked;
      if ((kerr == 0) == r.status.is_ok()) {
        ++kernel_agree;
      } else if (disagreements.size() < 5) {
        disagreements.push_back("seed " + std::to_string(seed) + ": kernel " +
                                std::to_string(kerr) + ", bpfbox " +
                                std::to_string(r.status.err()) + " " + r.status.message());
      }
    }
    if (!r.status.is_ok()) continue;
    ++accepted;
    vm::ExecOptions exec;
    exec.checked = true;
    exec.insn_budget = 1 << 20;
    auto exe = vm::compile(vm::EngineKind::Interp, r.program->xlated, r.program->helpers, exec);
    ASSERT_TRUE(exe.is_ok()) << exe.status().message() << "\n" << text;
    for (int input = 0; input < 8; ++input) {
      std::vector<uint8_t> packet(std::uniform_int_distribution<int>(14, 96)(rng));
      for (auto& b : packet) b = static_cast<uint8_t>(rng());
      TestRunArgs args;
      args.data_in = packet;
      TestRunResult result;
      const Status st = xdp->test_run({exe.value().get(), BPF_PROG_TYPE_XDP, 0}, args, result);
      ++runs;
      if (!st.is_ok())
        violations.push_back("seed " + std::to_string(seed) + ", " + std::to_string(packet.size()) +
                             "-byte packet: " + st.message() + "\n" + text);
    }
  }
  std::printf(
      "fuzz: %llu programs (seeds %llu..), bpfbox accepted %llu, %llu checked runs, soundness "
      "violations %zu; kernel agreement %llu/%llu\n",
      static_cast<unsigned long long>(iterations), static_cast<unsigned long long>(first_seed),
      static_cast<unsigned long long>(accepted), static_cast<unsigned long long>(runs),
      violations.size(), static_cast<unsigned long long>(kernel_agree),
      static_cast<unsigned long long>(kernel_checked));
  for (const std::string& d : disagreements) std::printf("  disagreement: %s\n", d.c_str());
  EXPECT_TRUE(violations.empty()) << violations.size() << " violations, first:\n"
                                  << (violations.empty() ? "" : violations.front());
  EXPECT_GT(accepted, 0u);
}

}  // namespace
}  // namespace bpfbox::fuzz
