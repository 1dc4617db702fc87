// bpf_ktime_get_ns, bpf_ktime_get_boot_ns, bpf_ktime_get_coarse_ns: the kernel's clocks, read
// through the same POSIX clocks user space sees them by.
#include <ctime>

#include "helpers/core.hpp"
#include "helpers/protos.hpp"

namespace bpfbox::helpers {
namespace {

uint64_t now_ns(clockid_t clock) {
  timespec ts{};
  clock_gettime(clock, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1'000'000'000u + static_cast<uint64_t>(ts.tv_nsec);
}

// CLOCK_MONOTONIC: does not count time while suspended, as ktime_get_mono_fast_ns().
uint64_t ktime_get_ns(uint64_t, uint64_t, uint64_t, uint64_t, uint64_t, vm::RunContext*) {
  return now_ns(CLOCK_MONOTONIC);
}

// CLOCK_BOOTTIME: counts time while suspended, as ktime_get_boot_fast_ns().
uint64_t ktime_get_boot_ns(uint64_t, uint64_t, uint64_t, uint64_t, uint64_t, vm::RunContext*) {
  return now_ns(CLOCK_BOOTTIME);
}

// CLOCK_MONOTONIC_COARSE: tick resolution, cheaper, as ktime_get_coarse_ns().
uint64_t ktime_get_coarse_ns(uint64_t, uint64_t, uint64_t, uint64_t, uint64_t, vm::RunContext*) {
  return now_ns(CLOCK_MONOTONIC_COARSE);
}

}  // namespace

// The kernel's prototypes: no arguments, a scalar result, not GPL-only.
const HelperProto kKtimeGetNsProto{
    .func_id = BPF_FUNC_ktime_get_ns, .name = "bpf_ktime_get_ns", .fn = ktime_get_ns};
const HelperProto kKtimeGetBootNsProto{.func_id = BPF_FUNC_ktime_get_boot_ns,
                                       .name = "bpf_ktime_get_boot_ns",
                                       .fn = ktime_get_boot_ns};
const HelperProto kKtimeGetCoarseNsProto{.func_id = BPF_FUNC_ktime_get_coarse_ns,
                                         .name = "bpf_ktime_get_coarse_ns",
                                         .fn = ktime_get_coarse_ns};

void register_time(vm::HelperTable& table) {
  table.set(BPF_FUNC_ktime_get_ns, "bpf_ktime_get_ns", ktime_get_ns);
  table.set(BPF_FUNC_ktime_get_boot_ns, "bpf_ktime_get_boot_ns", ktime_get_boot_ns);
  table.set(BPF_FUNC_ktime_get_coarse_ns, "bpf_ktime_get_coarse_ns", ktime_get_coarse_ns);
}

}  // namespace bpfbox::helpers
