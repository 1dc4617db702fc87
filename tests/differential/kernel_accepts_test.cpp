// The generator's contract with the kernel: every program it makes passes the running kernel's
// verifier and runs, leaving its state in the packet. (The comparison with bpfbox lives in
// kernel_vs_interp_test.cpp; this one says whether a failure there can be trusted.)
#include <gtest/gtest.h>

#include <cstdio>

#include "kernel_bpf.hpp"
#include "kernel_features.hpp"
#include "random_program.hpp"

namespace bpfbox::testsupport {
namespace {

TEST(KernelOracle, AcceptsGeneratedPrograms) {
  if (const auto& why = kernel_bpf_unavailable()) GTEST_SKIP() << *why;
  GeneratorOptions opts = supported_by_kernel({.acquire_release = true});
  std::printf("kernel features: v4=%d acquire_release=%d\n", opts.v4, opts.acquire_release);
  int rejected = 0;
  const int n = 500;
  for (uint64_t seed = 1; seed <= n; ++seed) {
    const RandomProgram p = generate_program(seed, opts);
    const auto prog = wrap(p, Wrapper::KernelXdp);
    auto loaded = kernel_load(BPF_PROG_TYPE_XDP, prog);
    if (!loaded) {
      ++rejected;
      ADD_FAILURE() << "seed " << seed << ": the kernel refused the program ("
                    << loaded.status().err() << ")\n"
                    << loaded.status().message() << "\n"
                    << listing(prog);
      continue;
    }
    std::vector<uint8_t> pkt(kStateBytes, 0);
    auto run = kernel_test_run(*loaded, pkt);
    ASSERT_TRUE(run) << "seed " << seed << ": " << run.status().message();
    EXPECT_EQ(run->retval, kWrappedRetval) << "seed " << seed;
  }
  std::printf("%d programs, %d refused by the kernel verifier\n", n, rejected);
}

}  // namespace
}  // namespace bpfbox::testsupport
