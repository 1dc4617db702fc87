// The default helper set: registered under the kernel's ids and names, each behaving as its kernel
// counterpart does.
#include <gtest/gtest.h>

#include <ctime>
#include <set>

#include "helpers/core.hpp"

namespace bpfbox::helpers {
namespace {

uint64_t call(const vm::HelperTable& t, uint32_t id, vm::RunContext* rc = nullptr) {
  const vm::Helper* h = t.get(id);
  EXPECT_NE(h, nullptr) << "helper " << id;
  return h ? h->fn(0, 0, 0, 0, 0, rc) : 0;
}

uint64_t clock_ns(clockid_t clock) {
  timespec ts{};
  clock_gettime(clock, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1'000'000'000u + static_cast<uint64_t>(ts.tv_nsec);
}

TEST(CoreHelpers, RegistersTheKernelIdsAndNames) {
  vm::HelperTable t;
  register_core(t);
  const std::pair<uint32_t, const char*> expected[] = {
      {5, "bpf_ktime_get_ns"},         {6, "bpf_trace_printk"},      {7, "bpf_get_prandom_u32"},
      {8, "bpf_get_smp_processor_id"}, {42, "bpf_get_numa_node_id"}, {125, "bpf_ktime_get_boot_ns"},
      {160, "bpf_ktime_get_coarse_ns"}};
  for (const auto& [id, name] : expected) {
    ASSERT_NE(t.get(id), nullptr) << id;
    EXPECT_EQ(t.get(id)->name, name);
  }
  EXPECT_EQ(t.get(1), nullptr);  // map helpers are not part of the core set
}

TEST(CoreHelpers, KtimeFollowsTheMonotonicClock) {
  vm::HelperTable t;
  register_core(t);
  const uint64_t before = clock_ns(CLOCK_MONOTONIC);
  const uint64_t a = call(t, BPF_FUNC_ktime_get_ns);
  const uint64_t b = call(t, BPF_FUNC_ktime_get_ns);
  const uint64_t after = clock_ns(CLOCK_MONOTONIC);
  EXPECT_LE(before, a);
  EXPECT_LE(a, b);
  EXPECT_LE(b, after);
}

TEST(CoreHelpers, BootAndCoarseClocksAreTheirOwn) {
  vm::HelperTable t;
  register_core(t);
  const uint64_t boot_before = clock_ns(CLOCK_BOOTTIME);
  const uint64_t boot = call(t, BPF_FUNC_ktime_get_boot_ns);
  EXPECT_LE(boot_before, boot);
  EXPECT_LE(boot, clock_ns(CLOCK_BOOTTIME));
  // The coarse clock lags the fine one by at most a few ticks.
  const uint64_t coarse = call(t, BPF_FUNC_ktime_get_coarse_ns);
  const uint64_t fine = clock_ns(CLOCK_MONOTONIC);
  EXPECT_LE(coarse, fine);
  EXPECT_LT(fine - coarse, 100'000'000u);
}

TEST(CoreHelpers, PrandomIsA32BitValueThatChanges) {
  vm::HelperTable t;
  register_core(t);
  std::set<uint64_t> seen;
  for (int i = 0; i < 64; ++i) {
    const uint64_t v = call(t, BPF_FUNC_get_prandom_u32);
    EXPECT_LE(v, 0xffffffffu);
    seen.insert(v);
  }
  EXPECT_GT(seen.size(), 60u);
}

TEST(CoreHelpers, ProcessorIdIsTheRunsCpuSlotAndNumaNodeIsZero) {
  vm::HelperTable t;
  register_core(t);
  vm::RunContext rc;
  rc.cpu = 3;
  EXPECT_EQ(call(t, BPF_FUNC_get_smp_processor_id, &rc), 3u);
  EXPECT_EQ(call(t, BPF_FUNC_get_numa_node_id, &rc), 0u);
}

}  // namespace
}  // namespace bpfbox::helpers
