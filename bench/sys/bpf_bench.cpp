// The cost of a bpf() command through bpfbox_bpf() against the kernel's bpf(2) for the same
// command: map element commands (one fstat for the fd's object, one fcntl for its access mode,
// then the map), MAP_CREATE + close (id allocation under flock, the object's file), and
// BPF_MAP_GET_NEXT_ID (a sweep of the process's fds, then the registry).
#include <benchmark/benchmark.h>
#include <linux/bpf.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "bpf_attr.hpp"
#include "bpfbox/bpf.h"

namespace {

using bpfbox::testsupport::elem_attr;
using bpfbox::testsupport::map_create_attr;

enum Impl { kBpfbox = 0, kKernel = 1 };

long bpf(int impl, int cmd, union bpf_attr& a) {
  return impl == kKernel ? syscall(__NR_bpf, cmd, &a, sizeof a) : bpfbox_bpf(cmd, &a, sizeof a);
}

void setup_runtime() {
  static bool done = [] {
    char tmpl[] = "/tmp/bpfbox-sys-bench-XXXXXX";
    bpfbox_set_runtime_dir(mkdtemp(tmpl));
    return true;
  }();
  (void)done;
}

int create(int impl, uint32_t type, uint32_t max_entries = 1024) {
  union bpf_attr a = map_create_attr(type, 4, 8, max_entries);
  return int(bpf(impl, BPF_MAP_CREATE, a));
}

// The benchmark's map (`type`, 4-byte keys, 8-byte values, 1024 entries) through the impl
// state.range(0) names, closed at the end, and an element attr for key 7 and value 1. fd is -1,
// and the benchmark skipped, when bpf() refuses.
struct BenchMap {
  BenchMap(benchmark::State& state, uint32_t type) : impl(int(state.range(0))) {
    setup_runtime();
    fd = create(impl, type);
    if (fd < 0) state.SkipWithError("bpf() refused");
    elem = elem_attr(fd, &key, &value);
  }
  ~BenchMap() {
    if (fd >= 0) close(fd);
  }
  BenchMap(const BenchMap&) = delete;
  BenchMap& operator=(const BenchMap&) = delete;

  int impl;
  int fd = -1;
  uint32_t key = 7;
  uint64_t value = 1;
  union bpf_attr elem;
};

void Lookup(benchmark::State& state) {
  BenchMap m(state, BPF_MAP_TYPE_HASH);
  if (m.fd < 0) return;
  bpf(m.impl, BPF_MAP_UPDATE_ELEM, m.elem);
  for (auto _ : state) benchmark::DoNotOptimize(bpf(m.impl, BPF_MAP_LOOKUP_ELEM, m.elem));
}
BENCHMARK(Lookup)->Arg(kBpfbox)->Arg(kKernel)->ArgName("kernel");

void Update(benchmark::State& state) {
  BenchMap m(state, BPF_MAP_TYPE_HASH);
  if (m.fd < 0) return;
  for (auto _ : state) benchmark::DoNotOptimize(bpf(m.impl, BPF_MAP_UPDATE_ELEM, m.elem));
}
BENCHMARK(Update)->Arg(kBpfbox)->Arg(kKernel)->ArgName("kernel");

void CreateClose(benchmark::State& state) {
  setup_runtime();
  const int impl = int(state.range(0));
  for (auto _ : state) {
    const int fd = create(impl, BPF_MAP_TYPE_ARRAY);
    if (fd < 0) {
      state.SkipWithError("bpf() refused");
      return;
    }
    close(fd);
  }
}
BENCHMARK(CreateClose)->Arg(kBpfbox)->Arg(kKernel)->ArgName("kernel");

void NextId(benchmark::State& state) {
  BenchMap m(state, BPF_MAP_TYPE_ARRAY);
  if (m.fd < 0) return;
  for (auto _ : state) {
    union bpf_attr a = bpfbox::testsupport::zeroed_attr();
    benchmark::DoNotOptimize(bpf(m.impl, BPF_MAP_GET_NEXT_ID, a));
  }
}
BENCHMARK(NextId)->Arg(kBpfbox)->Arg(kKernel)->ArgName("kernel");

// BPF_MAP_UPDATE_BATCH then BPF_MAP_LOOKUP_BATCH of 1024 elements (HASH, 4-byte key, 8-byte
// value): the batch buffers are copied through user_mem's bounce buffers in bpfbox.
void Batch1024(benchmark::State& state) {
  BenchMap m(state, BPF_MAP_TYPE_HASH);
  if (m.fd < 0) return;
  std::vector<uint32_t> keys(1024), okeys(1024);
  std::vector<uint64_t> values(1024), ovalues(1024);
  for (uint32_t i = 0; i < 1024; i++) keys[i] = i, values[i] = i * 3;
  uint32_t out_batch = 0;
  for (auto _ : state) {
    using bpfbox::testsupport::batch_attr;
    using bpfbox::testsupport::uptr;
    union bpf_attr a = batch_attr(m.fd, uptr(keys.data()), uptr(values.data()), 1024);
    benchmark::DoNotOptimize(bpf(m.impl, BPF_MAP_UPDATE_BATCH, a));
    a = batch_attr(m.fd, uptr(okeys.data()), uptr(ovalues.data()), 1024, uptr(&out_batch));
    benchmark::DoNotOptimize(bpf(m.impl, BPF_MAP_LOOKUP_BATCH, a));
  }
}
BENCHMARK(Batch1024)->Arg(kBpfbox)->Arg(kKernel)->ArgName("kernel");

// Map churn while another thread's TEST_RUN repeats a program for ~0.5 s: 3000 delete + update
// pairs on a full 16-entry HASH, which outrun its pool's slack, so each pair's element comes back
// only once the runs that were active at its delete have ended. A repeat that held its RunSlot
// for the whole loop made the churn wait for the repeat's end; it now leaves the slot every 1 ms
// (progs::kRunSliceNs). Manual time: the churn's wall time.
void ChurnDuringRepeat(benchmark::State& state) {
  setup_runtime();
  const int fd = create(kBpfbox, BPF_MAP_TYPE_HASH, 16);
  bpf_insn insns[2] = {};
  insns[0].code = BPF_ALU64 | BPF_MOV | BPF_K;
  insns[1].code = BPF_JMP | BPF_EXIT;
  union bpf_attr a = bpfbox::testsupport::prog_load_attr(BPF_PROG_TYPE_SOCKET_FILTER, insns);
  const int prog = int(bpfbox_bpf(BPF_PROG_LOAD, &a, sizeof a));
  if (fd < 0 || prog < 0) {
    state.SkipWithError("map or program refused");
    return;
  }
  auto elem = [&](int cmd, uint32_t key, uint64_t value) {
    union bpf_attr e = elem_attr(fd, &key, cmd == BPF_MAP_UPDATE_ELEM ? &value : nullptr);
    return bpfbox_bpf(cmd, &e, sizeof e);
  };
  for (uint32_t k = 0; k < 16; k++) elem(BPF_MAP_UPDATE_ELEM, k, k);
  uint8_t pkt[64] = {};
  // A repeat of about half a second.
  auto run = [&](uint32_t repeat) {
    union bpf_attr t = bpfbox::testsupport::test_run_attr(prog, pkt, sizeof pkt, repeat);
    bpfbox_bpf(BPF_PROG_TEST_RUN, &t, sizeof t);
    return t.test.duration;
  };
  const uint32_t per_run = std::max<uint32_t>(1, run(1'000'000));
  const uint32_t repeat = uint32_t(std::min<uint64_t>(500'000'000ull / per_run, UINT32_MAX));
  uint32_t next = 16;
  for (auto _ : state) {
    std::thread runner([&] { run(repeat); });
    usleep(20000);
    const auto start = std::chrono::steady_clock::now();
    for (int i = 0; i < 3000; i++, next++) {
      elem(BPF_MAP_DELETE_ELEM, next - 16, 0);
      elem(BPF_MAP_UPDATE_ELEM, next, next);
    }
    state.SetIterationTime(
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    runner.join();
  }
  close(prog);
  close(fd);
}
BENCHMARK(ChurnDuringRepeat)->UseManualTime()->Iterations(3)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
