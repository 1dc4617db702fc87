// Map lookup/update/delete cost per operation, 1 and 2 threads: bpfbox's program side (what the
// helpers call inside a run), bpfbox's syscall side, the kernel's map through bpf(), and
// std::unordered_map (under a mutex when shared by threads).
//
//   ./build-maps/bench/maps/maps_bench --benchmark_filter=Lookup
#include <sys/syscall.h>
#include <unistd.h>

#include <benchmark/benchmark.h>

#include <cstring>
#include <map>
#include <mutex>
#include <shared_mutex>
#include <unordered_map>
#include <vector>

#include <linux/bpf.h>

#include "bpfbox/maps.hpp"

namespace {

using bpfbox::maps::Map;
using bpfbox::maps::RunSlot;

constexpr uint32_t kKeys = 1024;
constexpr uint32_t kMaxEntries = 4096;

union bpf_attr attr_for(uint32_t type) {
  union bpf_attr a;
  std::memset(&a, 0, sizeof a);
  a.map_type = type;
  a.key_size = 4;
  a.value_size = 8;
  a.max_entries = kMaxEntries;
  return a;
}

uint32_t value_bytes(uint32_t type) {
  bool percpu = type == BPF_MAP_TYPE_PERCPU_ARRAY || type == BPF_MAP_TYPE_PERCPU_HASH;
  return percpu ? 8 * bpfbox::maps::nr_possible_cpus() : 8;
}

// One map per type, filled with kKeys keys, shared by the benchmark's threads.
Map& bpfbox_map(uint32_t type) {
  static std::mutex mu;
  static std::map<uint32_t, std::shared_ptr<Map>> maps;
  std::lock_guard<std::mutex> g(mu);
  auto& m = maps[type];
  if (!m) {
    auto r = Map::create(attr_for(type));
    m = *r;
    std::vector<uint8_t> v(value_bytes(type), 1);
    for (uint32_t k = 0; k < kKeys; ++k) m->update(&k, v.data());
  }
  return *m;
}

long sys_bpf(int cmd, union bpf_attr* a) {
  long r = syscall(__NR_bpf, cmd, a, sizeof(*a));
  return r < 0 ? -errno : r;
}

int kernel_map(uint32_t type) {
  static std::mutex mu;
  static std::map<uint32_t, int> fds;
  std::lock_guard<std::mutex> g(mu);
  auto it = fds.find(type);
  if (it != fds.end()) return it->second;
  union bpf_attr a = attr_for(type);
  int fd = static_cast<int>(sys_bpf(BPF_MAP_CREATE, &a));
  if (fd >= 0) {
    std::vector<uint8_t> v(value_bytes(type), 1);
    for (uint32_t k = 0; k < kKeys; ++k) {
      union bpf_attr u;
      std::memset(&u, 0, sizeof u);
      u.map_fd = static_cast<uint32_t>(fd);
      u.key = reinterpret_cast<uint64_t>(&k);
      u.value = reinterpret_cast<uint64_t>(v.data());
      sys_bpf(BPF_MAP_UPDATE_ELEM, &u);
    }
  }
  fds[type] = fd;
  return fd;
}

uint32_t next_key(uint32_t& x) {
  x = x * 1103515245 + 12345;
  return (x >> 8) % kKeys;
}

// ---- bpfbox, program side: inside one run (RunSlot held across the loop, as a program would).
void BM_Bpfbox_Prog_Lookup(benchmark::State& state) {
  Map& m = bpfbox_map(static_cast<uint32_t>(state.range(0)));
  uint32_t x = static_cast<uint32_t>(state.thread_index()) + 1;
  RunSlot run;
  for (auto _ : state) {
    uint32_t k = next_key(x);
    benchmark::DoNotOptimize(m.prog_lookup(&k, run.cpu()));
  }
}
void BM_Bpfbox_Prog_Update(benchmark::State& state) {
  Map& m = bpfbox_map(static_cast<uint32_t>(state.range(0)));
  uint32_t x = static_cast<uint32_t>(state.thread_index()) + 1;
  uint64_t v = 7;
  for (auto _ : state) {
    RunSlot run;  // a run per update: retired elements come back between runs
    uint32_t k = next_key(x);
    benchmark::DoNotOptimize(m.prog_update(&k, &v, BPF_ANY, run.cpu()));
  }
}
void BM_Bpfbox_Prog_DeleteInsert(benchmark::State& state) {
  Map& m = bpfbox_map(static_cast<uint32_t>(state.range(0)));
  uint32_t x = static_cast<uint32_t>(state.thread_index()) + 1;
  std::vector<uint8_t> v(8, 1);
  for (auto _ : state) {
    RunSlot run;
    uint32_t k = next_key(x);
    m.prog_delete(&k, run.cpu());
    m.prog_update(&k, v.data(), BPF_ANY, run.cpu());
  }
  state.SetItemsProcessed(state.iterations() * 2);
}
void BM_Bpfbox_RunEnterExit(benchmark::State& state) {
  for (auto _ : state) {
    RunSlot run;
    benchmark::DoNotOptimize(run.cpu());
  }
}

// ---- bpfbox, syscall side.
void BM_Bpfbox_Sys_Lookup(benchmark::State& state) {
  uint32_t type = static_cast<uint32_t>(state.range(0));
  Map& m = bpfbox_map(type);
  std::vector<uint8_t> v(value_bytes(type));
  uint32_t x = static_cast<uint32_t>(state.thread_index()) + 1;
  for (auto _ : state) {
    uint32_t k = next_key(x);
    benchmark::DoNotOptimize(m.lookup(&k, v.data()).err());
  }
}
void BM_Bpfbox_Sys_Update(benchmark::State& state) {
  uint32_t type = static_cast<uint32_t>(state.range(0));
  Map& m = bpfbox_map(type);
  std::vector<uint8_t> v(value_bytes(type), 3);
  uint32_t x = static_cast<uint32_t>(state.thread_index()) + 1;
  for (auto _ : state) {
    uint32_t k = next_key(x);
    benchmark::DoNotOptimize(m.update(&k, v.data()).err());
  }
}
void BM_Bpfbox_Sys_DeleteInsert(benchmark::State& state) {
  uint32_t type = static_cast<uint32_t>(state.range(0));
  Map& m = bpfbox_map(type);
  std::vector<uint8_t> v(value_bytes(type), 3);
  uint32_t x = static_cast<uint32_t>(state.thread_index()) + 1;
  for (auto _ : state) {
    uint32_t k = next_key(x);
    m.delete_elem(&k);
    m.update(&k, v.data());
  }
  state.SetItemsProcessed(state.iterations() * 2);
}

// ---- the kernel's map through bpf().
bool kernel_ready(benchmark::State& state, int fd) {
  if (fd >= 0) return true;
  state.SkipWithError("bpf(BPF_MAP_CREATE) refused: no kernel baseline");
  return false;
}
long kernel_elem(int cmd, int fd, const void* k, void* v, uint64_t flags) {
  union bpf_attr a;
  std::memset(&a, 0, sizeof a);
  a.map_fd = static_cast<uint32_t>(fd);
  a.key = reinterpret_cast<uint64_t>(k);
  a.value = reinterpret_cast<uint64_t>(v);
  a.flags = flags;
  return sys_bpf(cmd, &a);
}
void BM_Kernel_Sys_Lookup(benchmark::State& state) {
  uint32_t type = static_cast<uint32_t>(state.range(0));
  int fd = kernel_map(type);
  if (!kernel_ready(state, fd)) return;
  std::vector<uint8_t> v(value_bytes(type));
  uint32_t x = static_cast<uint32_t>(state.thread_index()) + 1;
  for (auto _ : state) {
    uint32_t k = next_key(x);
    benchmark::DoNotOptimize(kernel_elem(BPF_MAP_LOOKUP_ELEM, fd, &k, v.data(), 0));
  }
}
void BM_Kernel_Sys_Update(benchmark::State& state) {
  uint32_t type = static_cast<uint32_t>(state.range(0));
  int fd = kernel_map(type);
  if (!kernel_ready(state, fd)) return;
  std::vector<uint8_t> v(value_bytes(type), 3);
  uint32_t x = static_cast<uint32_t>(state.thread_index()) + 1;
  for (auto _ : state) {
    uint32_t k = next_key(x);
    benchmark::DoNotOptimize(kernel_elem(BPF_MAP_UPDATE_ELEM, fd, &k, v.data(), 0));
  }
}
void BM_Kernel_Sys_DeleteInsert(benchmark::State& state) {
  uint32_t type = static_cast<uint32_t>(state.range(0));
  int fd = kernel_map(type);
  if (!kernel_ready(state, fd)) return;
  std::vector<uint8_t> v(value_bytes(type), 3);
  uint32_t x = static_cast<uint32_t>(state.thread_index()) + 1;
  for (auto _ : state) {
    uint32_t k = next_key(x);
    kernel_elem(BPF_MAP_DELETE_ELEM, fd, &k, nullptr, 0);
    kernel_elem(BPF_MAP_UPDATE_ELEM, fd, &k, v.data(), 0);
  }
  state.SetItemsProcessed(state.iterations() * 2);
}

// ---- std::unordered_map under a shared_mutex (readers share it, writers exclude).
struct StdMap {
  std::shared_mutex mu;
  std::unordered_map<uint32_t, uint64_t> m;
  StdMap() {
    for (uint32_t k = 0; k < kKeys; ++k) m[k] = 1;
  }
};
StdMap& std_map() {
  static StdMap m;
  return m;
}
void BM_Std_Lookup(benchmark::State& state) {
  StdMap& s = std_map();
  uint32_t x = static_cast<uint32_t>(state.thread_index()) + 1;
  for (auto _ : state) {
    uint32_t k = next_key(x);
    std::shared_lock g(s.mu);
    auto it = s.m.find(k);
    benchmark::DoNotOptimize(it == s.m.end() ? 0 : it->second);
  }
}
void BM_Std_Update(benchmark::State& state) {
  StdMap& s = std_map();
  uint32_t x = static_cast<uint32_t>(state.thread_index()) + 1;
  for (auto _ : state) {
    uint32_t k = next_key(x);
    std::unique_lock g(s.mu);
    s.m[k] = 3;
  }
}
void BM_Std_DeleteInsert(benchmark::State& state) {
  StdMap& s = std_map();
  uint32_t x = static_cast<uint32_t>(state.thread_index()) + 1;
  for (auto _ : state) {
    uint32_t k = next_key(x);
    std::unique_lock g(s.mu);
    s.m.erase(k);
    s.m.emplace(k, 3);
  }
  state.SetItemsProcessed(state.iterations() * 2);
}

void all_types(benchmark::internal::Benchmark* b) {
  b->ArgName("type");
  for (int t :
       {BPF_MAP_TYPE_ARRAY, BPF_MAP_TYPE_PERCPU_ARRAY, BPF_MAP_TYPE_HASH, BPF_MAP_TYPE_PERCPU_HASH})
    b->Arg(t);
  b->Threads(1)->Threads(2)->UseRealTime();
}
void hash_types(benchmark::internal::Benchmark* b) {
  b->ArgName("type");
  for (int t : {BPF_MAP_TYPE_HASH, BPF_MAP_TYPE_PERCPU_HASH}) b->Arg(t);
  b->Threads(1)->Threads(2)->UseRealTime();
}

BENCHMARK(BM_Bpfbox_Prog_Lookup)->Apply(all_types);
BENCHMARK(BM_Bpfbox_Prog_Update)->Apply(all_types);
BENCHMARK(BM_Bpfbox_Prog_DeleteInsert)->Apply(hash_types);
BENCHMARK(BM_Bpfbox_RunEnterExit)->Threads(1)->Threads(2)->UseRealTime();
BENCHMARK(BM_Bpfbox_Sys_Lookup)->Apply(all_types);
BENCHMARK(BM_Bpfbox_Sys_Update)->Apply(all_types);
BENCHMARK(BM_Bpfbox_Sys_DeleteInsert)->Apply(hash_types);
BENCHMARK(BM_Kernel_Sys_Lookup)->Apply(all_types);
BENCHMARK(BM_Kernel_Sys_Update)->Apply(all_types);
BENCHMARK(BM_Kernel_Sys_DeleteInsert)->Apply(hash_types);
BENCHMARK(BM_Std_Lookup)->Threads(1)->Threads(2)->UseRealTime();
BENCHMARK(BM_Std_Update)->Threads(1)->Threads(2)->UseRealTime();
BENCHMARK(BM_Std_DeleteInsert)->Threads(1)->Threads(2)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
