// Map lookup/update/delete cost per operation, 1 and 2 threads: bpfbox's program side (what the
// helpers call inside a run), bpfbox's syscall side, the kernel's map through bpf() (the syscall
// round trip) and from a program (BPF_PROG_TEST_RUN of a few instructions calling the helper: the
// kernel's own program-side cost), and std::unordered_map (under a mutex when shared by threads).
// QUEUE and STACK time a push + pop pair, BLOOM_FILTER push (update) and peek (lookup).
// DEVMAP, RINGBUF, PROG_ARRAY and the map-in-maps run as one program, the same instructions
// loaded and run (BPF_PROG_TEST_RUN) through both bpf() implementations (BM_*_TestRun).
//
//   ./build/bench/maps/maps_bench --benchmark_filter=Lookup
#include <arpa/inet.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <benchmark/benchmark.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <map>
#include <mutex>
#include <shared_mutex>
#include <unordered_map>
#include <vector>

#include <linux/bpf.h>

#include "bpf_attr.hpp"
#include "bpfbox/bpf.h"
#include "bpfbox/maps.hpp"
#include "progs/ctx_insn.hpp"

namespace {

using bpfbox::maps::Map;
using bpfbox::maps::RunSlot;

constexpr uint32_t kKeys = 1024;
constexpr uint32_t kMaxEntries = 4096;

bool keyless(uint32_t type) {
  return type == BPF_MAP_TYPE_QUEUE || type == BPF_MAP_TYPE_STACK ||
         type == BPF_MAP_TYPE_BLOOM_FILTER;
}

union bpf_attr attr_for(uint32_t type) {
  union bpf_attr a =
      bpfbox::testsupport::map_create_attr(type, keyless(type) ? 0 : 4, 8, kMaxEntries);
  if (type == BPF_MAP_TYPE_LPM_TRIE) {
    a.key_size = 8;  // struct bpf_lpm_trie_key_u8 with an IPv4 address
    a.map_flags = BPF_F_NO_PREALLOC;
  }
  return a;
}

// Key k of the kKeys the maps hold (LPM_TRIE: the /24 10.k.0/24 when filling, and an address in
// it, /32, when looking up).
struct Key {
  uint32_t w[2];
};
Key key_for(uint32_t type, uint32_t k, bool fill) {
  Key key{{k, 0}};
  if (type == BPF_MAP_TYPE_LPM_TRIE) {
    key.w[0] = fill ? 24 : 32;
    key.w[1] = htonl(0x0a000000u | (k << 8) | (fill ? 0 : k & 0xff));
  }
  return key;
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
    if (keyless(type)) {
      RunSlot run;
      for (uint32_t k = 0; k < kKeys; ++k) m->prog().push(m.get(), &k, 0, run.cpu());
    } else {
      for (uint32_t k = 0; k < kKeys; ++k) {
        Key key = key_for(type, k, true);
        m->update(&key, v.data());
      }
    }
  }
  return *m;
}

long sys_bpf(int cmd, union bpf_attr* a) {
  long r = syscall(__NR_bpf, cmd, a, sizeof(*a));
  return r < 0 ? -errno : r;
}

// bpf() commands through one implementation (sys_bpf, or bpfbox_sys below): result or -errno.
using SysFn = long (*)(int cmd, union bpf_attr* a);
long map_elem(SysFn sys, int cmd, long fd, const void* k, const void* v, uint64_t flags = 0) {
  union bpf_attr a = bpfbox::testsupport::elem_attr(int(fd), k, v, flags);
  return sys(cmd, &a);
}
long load_xdp(SysFn sys, const std::vector<bpf_insn>& insns) {
  union bpf_attr a = bpfbox::testsupport::prog_load_attr(BPF_PROG_TYPE_XDP, insns);
  return sys(BPF_PROG_LOAD, &a);
}
// One BPF_PROG_TEST_RUN (repeat 512, 64 zero bytes) of `prog` per iteration, each expected to
// return XDP_PASS; `after` runs after each. Counter `counter`: the implementation's own mean ns
// per program run, averaged over iterations and threads.
template <class After>
void time_test_runs(benchmark::State& state, SysFn sys, long prog, const char* counter,
                    After after) {
  constexpr uint32_t kRepeat = 512;
  uint8_t pkt[64] = {};
  double ns = 0;
  for (auto _ : state) {
    union bpf_attr a = bpfbox::testsupport::test_run_attr(int(prog), pkt, sizeof pkt, kRepeat);
    if (sys(BPF_PROG_TEST_RUN, &a) < 0 || a.test.retval != XDP_PASS) {
      state.SkipWithError("BPF_PROG_TEST_RUN failed");
      return;
    }
    ns += a.test.duration;
    after();
  }
  state.counters[counter] =
      benchmark::Counter(ns / double(state.iterations()), benchmark::Counter::kAvgThreads);
  state.SetItemsProcessed(state.iterations() * kRepeat);
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
      Key key = key_for(type, k, true);
      if (keyless(type)) std::memcpy(v.data(), &k, 4);
      map_elem(sys_bpf, BPF_MAP_UPDATE_ELEM, fd, keyless(type) ? nullptr : &key, v.data());
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
  uint32_t type = static_cast<uint32_t>(state.range(0));
  Map& m = bpfbox_map(type);
  uint32_t x = static_cast<uint32_t>(state.thread_index()) + 1;
  RunSlot run;
  if (type == BPF_MAP_TYPE_BLOOM_FILTER) {
    for (auto _ : state) {
      uint64_t v = next_key(x);
      benchmark::DoNotOptimize(m.prog().peek(&m, &v, run.cpu()));
    }
    return;
  }
  for (auto _ : state) {
    Key k = key_for(type, next_key(x), false);
    benchmark::DoNotOptimize(m.prog_lookup(&k, run.cpu()));
  }
}
void BM_Bpfbox_Prog_Update(benchmark::State& state) {
  uint32_t type = static_cast<uint32_t>(state.range(0));
  Map& m = bpfbox_map(type);
  uint32_t x = static_cast<uint32_t>(state.thread_index()) + 1;
  uint64_t v = 7;
  if (type == BPF_MAP_TYPE_BLOOM_FILTER) {
    for (auto _ : state) {
      RunSlot run;
      v = next_key(x);
      benchmark::DoNotOptimize(m.prog().push(&m, &v, BPF_ANY, run.cpu()));
    }
    return;
  }
  for (auto _ : state) {
    RunSlot run;  // a run per update: retired elements come back between runs
    Key k = key_for(type, next_key(x), true);
    benchmark::DoNotOptimize(m.prog_update(&k, &v, BPF_ANY, run.cpu()));
  }
}
// QUEUE and STACK: a push and a pop in one run.
void BM_Bpfbox_Prog_PushPop(benchmark::State& state) {
  Map& m = bpfbox_map(static_cast<uint32_t>(state.range(0)));
  uint64_t v = 7;
  for (auto _ : state) {
    RunSlot run;
    m.prog().push(&m, &v, BPF_ANY, run.cpu());
    benchmark::DoNotOptimize(m.prog().pop(&m, &v, run.cpu()));
  }
  state.SetItemsProcessed(state.iterations() * 2);
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
    Key k = key_for(type, next_key(x), false);
    benchmark::DoNotOptimize(m.lookup(&k, v.data()).err());
  }
}
void BM_Bpfbox_Sys_Update(benchmark::State& state) {
  uint32_t type = static_cast<uint32_t>(state.range(0));
  Map& m = bpfbox_map(type);
  std::vector<uint8_t> v(value_bytes(type), 3);
  uint32_t x = static_cast<uint32_t>(state.thread_index()) + 1;
  for (auto _ : state) {
    Key k = key_for(type, next_key(x), true);
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
  return map_elem(sys_bpf, cmd, fd, k, v, flags);
}
void BM_Kernel_Sys_Lookup(benchmark::State& state) {
  uint32_t type = static_cast<uint32_t>(state.range(0));
  int fd = kernel_map(type);
  if (!kernel_ready(state, fd)) return;
  std::vector<uint8_t> v(value_bytes(type));
  uint32_t x = static_cast<uint32_t>(state.thread_index()) + 1;
  for (auto _ : state) {
    Key k = key_for(type, next_key(x), false);
    if (keyless(type)) std::memcpy(v.data(), &k, 4);  // BLOOM_FILTER: peek for this value
    benchmark::DoNotOptimize(
        kernel_elem(BPF_MAP_LOOKUP_ELEM, fd, keyless(type) ? nullptr : &k, v.data(), 0));
  }
}
void BM_Kernel_Sys_Update(benchmark::State& state) {
  uint32_t type = static_cast<uint32_t>(state.range(0));
  int fd = kernel_map(type);
  if (!kernel_ready(state, fd)) return;
  std::vector<uint8_t> v(value_bytes(type), 3);
  uint32_t x = static_cast<uint32_t>(state.thread_index()) + 1;
  for (auto _ : state) {
    Key k = key_for(type, next_key(x), true);
    if (keyless(type)) std::memcpy(v.data(), &k, 4);
    benchmark::DoNotOptimize(
        kernel_elem(BPF_MAP_UPDATE_ELEM, fd, keyless(type) ? nullptr : &k, v.data(), 0));
  }
}
void BM_Kernel_Sys_PushPop(benchmark::State& state) {
  uint32_t type = static_cast<uint32_t>(state.range(0));
  int fd = kernel_map(type);
  if (!kernel_ready(state, fd)) return;
  uint64_t v = 7;
  for (auto _ : state) {
    kernel_elem(BPF_MAP_UPDATE_ELEM, fd, nullptr, &v, 0);
    benchmark::DoNotOptimize(kernel_elem(BPF_MAP_LOOKUP_AND_DELETE_ELEM, fd, nullptr, &v, 0));
  }
  state.SetItemsProcessed(state.iterations() * 2);
}

// ---- the kernel's map from a program: BPF_PROG_TEST_RUN of an XDP program that picks a key with
// bpf_get_prandom_u32() and calls one map helper (QUEUE/STACK: push then pop), `repeat` times; the
// kernel reports the mean ns per run. "kernel prog base" is the same program without the map call.
enum class ProgOp { None, Lookup, Update, PushPop };

struct Insn {
  static bpf_insn make(uint8_t code, uint8_t dst, uint8_t src, int16_t off, int32_t imm) {
    return bpfbox::progs::raw_insn(code, dst, src, off, imm);
  }
};
void emit_call(std::vector<bpf_insn>& p, int32_t fn) {
  p.push_back(Insn::make(BPF_JMP | BPF_CALL, 0, 0, 0, fn));
}
void emit_map_args(std::vector<bpf_insn>& p, int fd, int16_t key_off, int16_t value_off) {
  p.push_back(Insn::make(BPF_LD | BPF_DW | BPF_IMM, 1, BPF_PSEUDO_MAP_FD, 0, fd));
  p.push_back(Insn::make(0, 0, 0, 0, 0));
  p.push_back(Insn::make(BPF_ALU64 | BPF_MOV | BPF_X, 2, 10, 0, 0));
  p.push_back(Insn::make(BPF_ALU64 | BPF_ADD | BPF_K, 2, 0, 0, key_off));
  p.push_back(Insn::make(BPF_ALU64 | BPF_MOV | BPF_X, 3, 10, 0, 0));
  p.push_back(Insn::make(BPF_ALU64 | BPF_ADD | BPF_K, 3, 0, 0, value_off));
  p.push_back(Insn::make(BPF_ALU64 | BPF_MOV | BPF_K, 4, 0, 0, BPF_ANY));
}

// Stack: key at fp-16 (8 bytes: for LPM_TRIE the prefix length, then the address), value at
// fp-8.
std::vector<bpf_insn> kernel_prog(uint32_t type, int fd, ProgOp op) {
  std::vector<bpf_insn> p;
  emit_call(p, BPF_FUNC_get_prandom_u32);
  p.push_back(Insn::make(BPF_ALU64 | BPF_AND | BPF_K, 0, 0, 0, kKeys - 1));
  if (type == BPF_MAP_TYPE_LPM_TRIE) {  // 10.(k >> 8).(k & 255).(k & 255)/32, as key_for
    p.push_back(Insn::make(BPF_ALU64 | BPF_MOV | BPF_X, 1, 0, 0, 0));
    p.push_back(Insn::make(BPF_ALU64 | BPF_AND | BPF_K, 1, 0, 0, 0xff));
    p.push_back(Insn::make(BPF_ALU64 | BPF_MOV | BPF_X, 2, 1, 0, 0));
    p.push_back(Insn::make(BPF_ALU64 | BPF_LSH | BPF_K, 1, 0, 0, 16));
    p.push_back(Insn::make(BPF_ALU64 | BPF_LSH | BPF_K, 2, 0, 0, 24));
    p.push_back(Insn::make(BPF_ALU64 | BPF_OR | BPF_X, 1, 2, 0, 0));
    p.push_back(Insn::make(BPF_ALU64 | BPF_RSH | BPF_K, 0, 0, 0, 8));
    p.push_back(Insn::make(BPF_ALU64 | BPF_LSH | BPF_K, 0, 0, 0, 8));
    p.push_back(Insn::make(BPF_ALU64 | BPF_OR | BPF_X, 0, 1, 0, 0));
    p.push_back(Insn::make(BPF_ALU64 | BPF_OR | BPF_K, 0, 0, 0, 0x0a));
    p.push_back(Insn::make(BPF_ST | BPF_MEM | BPF_W, 10, 0, -16, 32));
    p.push_back(Insn::make(BPF_STX | BPF_MEM | BPF_W, 10, 0, -12, 0));
  } else {
    p.push_back(Insn::make(BPF_STX | BPF_MEM | BPF_DW, 10, 0, -16, 0));
  }
  p.push_back(Insn::make(BPF_STX | BPF_MEM | BPF_DW, 10, 0, -8, 0));  // the value
  const bool keyed = !keyless(type);
  switch (op) {
    case ProgOp::None:
      break;
    case ProgOp::Lookup:
      emit_map_args(p, fd, -16, -8);
      if (keyed) {
        emit_call(p, BPF_FUNC_map_lookup_elem);
      } else {  // bloom filter peek(map, value)
        p.push_back(Insn::make(BPF_ALU64 | BPF_MOV | BPF_X, 2, 3, 0, 0));
        emit_call(p, BPF_FUNC_map_peek_elem);
      }
      break;
    case ProgOp::Update:
      emit_map_args(p, fd, -16, -8);
      if (keyed) {
        emit_call(p, BPF_FUNC_map_update_elem);
      } else {  // push(map, value, flags)
        p.push_back(Insn::make(BPF_ALU64 | BPF_MOV | BPF_X, 2, 3, 0, 0));
        p.push_back(Insn::make(BPF_ALU64 | BPF_MOV | BPF_K, 3, 0, 0, BPF_ANY));
        emit_call(p, BPF_FUNC_map_push_elem);
      }
      break;
    case ProgOp::PushPop:
      emit_map_args(p, fd, -16, -8);
      p.push_back(Insn::make(BPF_ALU64 | BPF_MOV | BPF_X, 2, 3, 0, 0));
      p.push_back(Insn::make(BPF_ALU64 | BPF_MOV | BPF_K, 3, 0, 0, BPF_ANY));
      emit_call(p, BPF_FUNC_map_push_elem);
      emit_map_args(p, fd, -16, -8);
      p.push_back(Insn::make(BPF_ALU64 | BPF_MOV | BPF_X, 2, 3, 0, 0));
      emit_call(p, BPF_FUNC_map_pop_elem);
      break;
  }
  p.push_back(Insn::make(BPF_ALU64 | BPF_MOV | BPF_K, 0, 0, 0, 2));  // XDP_PASS
  p.push_back(Insn::make(BPF_JMP | BPF_EXIT, 0, 0, 0, 0));
  return p;
}

int kernel_prog_fd(uint32_t type, ProgOp op) {
  static std::mutex mu;
  static std::map<std::pair<uint32_t, int>, int> fds;
  int fd = kernel_map(type);
  std::lock_guard<std::mutex> g(mu);
  auto key = std::make_pair(type, static_cast<int>(op));
  auto it = fds.find(key);
  if (it != fds.end()) return it->second;
  int pfd = -1;
  if (fd >= 0) {
    pfd = static_cast<int>(load_xdp(sys_bpf, kernel_prog(type, fd, op)));
  }
  fds[key] = pfd;
  return pfd;
}

void kernel_prog_bench(benchmark::State& state, ProgOp op) {
  uint32_t type = static_cast<uint32_t>(state.range(0));
  int pfd = kernel_prog_fd(type, op);
  if (pfd < 0) {
    state.SkipWithError("bpf(BPF_PROG_LOAD) refused: no kernel baseline");
    return;
  }
  time_test_runs(state, sys_bpf, pfd, "kernel_ns", [] {});
}
void BM_Kernel_Prog_Base(benchmark::State& state) {
  kernel_prog_bench(state, ProgOp::None);
}
void BM_Kernel_Prog_Lookup(benchmark::State& state) {
  kernel_prog_bench(state, ProgOp::Lookup);
}
void BM_Kernel_Prog_Update(benchmark::State& state) {
  kernel_prog_bench(state, ProgOp::Update);
}
void BM_Kernel_Prog_PushPop(benchmark::State& state) {
  kernel_prog_bench(state, ProgOp::PushPop);
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

// ---- One program through both bpf() implementations: bpfbox_bpf() (its default engine, the JIT)
// and the kernel's, each reporting BPF_PROG_TEST_RUN's mean ns per run (`run_ns`). Every program
// starts as kernel_prog's (a key from bpf_get_prandom_u32() at fp-16, the context kept in r6),
// then:
//   base: nothing more; hash: a HASH lookup (calibrates against the direct rows above);
//   devmap: a DEVMAP lookup (1024 slots of ifindex 1); ringbuf_reserve: bpf_ringbuf_reserve of
//   8 bytes, a store, bpf_ringbuf_submit; ringbuf_output: bpf_ringbuf_output of 8 bytes (the
//   consumer catches up after each TEST_RUN); tail_call: bpf_tail_call into a program returning
//   XDP_PASS (slot 0 of a PROG_ARRAY); array_of_maps / hash_of_maps: the outer lookup of key & 15
//   (16 inner ARRAYs of 1024 u64), then the inner lookup of key.
enum class RunCase {
  Base,
  Hash,
  Devmap,
  RingbufReserve,
  RingbufOutput,
  TailCall,
  ArrayOfMaps,
  HashOfMaps
};
constexpr RunCase kRunCases[] = {RunCase::Base,           RunCase::Hash,          RunCase::Devmap,
                                 RunCase::RingbufReserve, RunCase::RingbufOutput, RunCase::TailCall,
                                 RunCase::ArrayOfMaps,    RunCase::HashOfMaps};
const char* run_case_name(RunCase c) {
  switch (c) {
    case RunCase::Base:
      return "base";
    case RunCase::Hash:
      return "hash";
    case RunCase::Devmap:
      return "devmap";
    case RunCase::RingbufReserve:
      return "ringbuf_reserve";
    case RunCase::RingbufOutput:
      return "ringbuf_output";
    case RunCase::TailCall:
      return "tail_call";
    case RunCase::ArrayOfMaps:
      return "array_of_maps";
    case RunCase::HashOfMaps:
      return "hash_of_maps";
  }
  return "?";
}

// A bpf() implementation: the call (result or -errno) and mmap of a map fd.
struct BpfImpl {
  SysFn sys;
  void* (*map_mmap)(size_t len, int prot, int fd, off_t off);
};
long bpfbox_sys(int cmd, union bpf_attr* a) {
  // A private runtime dir for this process's objects, removed at exit.
  static const std::string dir = [] {
    char tmpl[] = "/tmp/bpfbox-maps-bench-XXXXXX";
    std::string d = mkdtemp(tmpl) ? tmpl : "";
    if (!d.empty()) {
      bpfbox_set_runtime_dir(d.c_str());
      static std::string to_remove = d;
      std::atexit([] {
        std::error_code ec;
        std::filesystem::remove_all(to_remove, ec);
      });
    }
    return d;
  }();
  long r = bpfbox_bpf(cmd, a, sizeof *a);
  return r < 0 ? -errno : r;
}
const BpfImpl kBpfboxImpl{bpfbox_sys, [](size_t len, int prot, int fd, off_t off) {
                            return bpfbox_map_mmap(nullptr, len, prot, MAP_SHARED, fd, off);
                          }};
const BpfImpl kKernelImpl{sys_bpf, [](size_t len, int prot, int fd, off_t off) {
                            return mmap(nullptr, len, prot, MAP_SHARED, fd, off);
                          }};

long create_map(const BpfImpl& impl, uint32_t type, uint32_t key, uint32_t value, uint32_t entries,
                int inner_fd = 0) {
  union bpf_attr a =
      bpfbox::testsupport::map_create_attr(type, key, value, entries, 0, uint32_t(inner_fd));
  return impl.sys(BPF_MAP_CREATE, &a);
}
long update_elem(const BpfImpl& impl, long fd, const void* k, const void* v) {
  return map_elem(impl.sys, BPF_MAP_UPDATE_ELEM, fd, k, v);
}

// What a case runs: the program, and for RINGBUF the consumer and producer positions.
struct RunSetup {
  long prog = -1;
  const char* error = nullptr;
  uint64_t* consumer_pos = nullptr;
  const uint64_t* producer_pos = nullptr;
};

// A map-in-map of 16 inner ARRAYs (1024 u64 each).
long map_in_map(const BpfImpl& impl, uint32_t outer_type) {
  long inner[16];
  for (long& fd : inner) {
    fd = create_map(impl, BPF_MAP_TYPE_ARRAY, 4, 8, kKeys);
    if (fd < 0) return fd;
  }
  long outer = create_map(impl, outer_type, 4, 4, 16, int(inner[0]));
  for (uint32_t k = 0; outer >= 0 && k < 16; ++k) {
    int32_t v = int32_t(inner[k]);
    if (long r = update_elem(impl, outer, &k, &v); r < 0) return r;
  }
  return outer;
}

RunSetup make_run_setup(const BpfImpl& impl, RunCase c) {
  RunSetup s;
  using I = Insn;
  std::vector<bpf_insn> p{I::make(BPF_ALU64 | BPF_MOV | BPF_X, 6, 1, 0, 0)};  // r6 = ctx
  for (const bpf_insn& i : kernel_prog(BPF_MAP_TYPE_HASH, -1, ProgOp::None)) p.push_back(i);
  p.resize(p.size() - 2);  // without `r0 = XDP_PASS; exit`
  long fd = -1;
  switch (c) {
    case RunCase::Base:
      break;
    case RunCase::Hash:
    case RunCase::Devmap: {
      const bool devmap = c == RunCase::Devmap;
      fd = create_map(impl, devmap ? BPF_MAP_TYPE_DEVMAP : BPF_MAP_TYPE_HASH, 4, devmap ? 4 : 8,
                      devmap ? kKeys : kMaxEntries);
      uint64_t v = 1;  // DEVMAP: ifindex 1, lo
      for (uint32_t k = 0; fd >= 0 && k < kKeys; ++k)
        if (update_elem(impl, fd, &k, &v) < 0) fd = -1;
      if (fd < 0) break;
      emit_map_args(p, int(fd), -16, -8);
      emit_call(p, BPF_FUNC_map_lookup_elem);
      break;
    }
    case RunCase::RingbufReserve:
    case RunCase::RingbufOutput: {
      constexpr uint32_t kRingSize = 1 << 20;  // > 512 runs of 16-byte records
      fd = create_map(impl, BPF_MAP_TYPE_RINGBUF, 0, 0, kRingSize);
      if (fd < 0) break;
      void* cons = impl.map_mmap(4096, PROT_READ | PROT_WRITE, int(fd), 0);
      void* prod = impl.map_mmap(4096, PROT_READ, int(fd), 4096);
      if (cons == MAP_FAILED || prod == MAP_FAILED) {
        s.error = "mmap of the ring buffer failed";
        return s;
      }
      s.consumer_pos = static_cast<uint64_t*>(cons);
      s.producer_pos = static_cast<const uint64_t*>(prod);
      p.push_back(I::make(BPF_LD | BPF_DW | BPF_IMM, 1, BPF_PSEUDO_MAP_FD, 0, int(fd)));
      p.push_back(I::make(0, 0, 0, 0, 0));
      if (c == RunCase::RingbufReserve) {
        p.push_back(I::make(BPF_ALU64 | BPF_MOV | BPF_K, 2, 0, 0, 8));
        p.push_back(I::make(BPF_ALU64 | BPF_MOV | BPF_K, 3, 0, 0, 0));
        emit_call(p, BPF_FUNC_ringbuf_reserve);
        p.push_back(I::make(BPF_JMP | BPF_JEQ | BPF_K, 0, 0, 4, 0));
        p.push_back(I::make(BPF_ST | BPF_MEM | BPF_DW, 0, 0, 0, 7));
        p.push_back(I::make(BPF_ALU64 | BPF_MOV | BPF_X, 1, 0, 0, 0));
        p.push_back(I::make(BPF_ALU64 | BPF_MOV | BPF_K, 2, 0, 0, 0));
        emit_call(p, BPF_FUNC_ringbuf_submit);
      } else {
        p.push_back(I::make(BPF_ALU64 | BPF_MOV | BPF_X, 2, 10, 0, 0));
        p.push_back(I::make(BPF_ALU64 | BPF_ADD | BPF_K, 2, 0, 0, -8));
        p.push_back(I::make(BPF_ALU64 | BPF_MOV | BPF_K, 3, 0, 0, 8));
        p.push_back(I::make(BPF_ALU64 | BPF_MOV | BPF_K, 4, 0, 0, 0));
        emit_call(p, BPF_FUNC_ringbuf_output);
      }
      break;
    }
    case RunCase::TailCall: {
      long target = load_xdp(impl.sys, {I::make(BPF_ALU64 | BPF_MOV | BPF_K, 0, 0, 0, XDP_PASS),
                                        I::make(BPF_JMP | BPF_EXIT, 0, 0, 0, 0)});
      fd = target < 0 ? target : create_map(impl, BPF_MAP_TYPE_PROG_ARRAY, 4, 4, 1);
      const uint32_t k = 0;
      const int32_t v = int32_t(target);
      if (fd >= 0 && update_elem(impl, fd, &k, &v) < 0) fd = -1;
      if (fd < 0) break;
      p.push_back(I::make(BPF_ALU64 | BPF_MOV | BPF_X, 1, 6, 0, 0));
      p.push_back(I::make(BPF_LD | BPF_DW | BPF_IMM, 2, BPF_PSEUDO_MAP_FD, 0, int(fd)));
      p.push_back(I::make(0, 0, 0, 0, 0));
      p.push_back(I::make(BPF_ALU64 | BPF_MOV | BPF_K, 3, 0, 0, 0));
      emit_call(p, BPF_FUNC_tail_call);
      break;
    }
    case RunCase::ArrayOfMaps:
    case RunCase::HashOfMaps: {
      fd = map_in_map(
          impl, c == RunCase::ArrayOfMaps ? BPF_MAP_TYPE_ARRAY_OF_MAPS : BPF_MAP_TYPE_HASH_OF_MAPS);
      if (fd < 0) break;
      // outer key (key & 15) at fp-8, inner key at fp-16
      p.push_back(I::make(BPF_ALU64 | BPF_MOV | BPF_X, 1, 0, 0, 0));
      p.push_back(I::make(BPF_ALU64 | BPF_AND | BPF_K, 1, 0, 0, 15));
      p.push_back(I::make(BPF_STX | BPF_MEM | BPF_DW, 10, 1, -8, 0));
      emit_map_args(p, int(fd), -8, -8);
      emit_call(p, BPF_FUNC_map_lookup_elem);
      p.push_back(I::make(BPF_JMP | BPF_JEQ | BPF_K, 0, 0, 4, 0));
      p.push_back(I::make(BPF_ALU64 | BPF_MOV | BPF_X, 1, 0, 0, 0));
      p.push_back(I::make(BPF_ALU64 | BPF_MOV | BPF_X, 2, 10, 0, 0));
      p.push_back(I::make(BPF_ALU64 | BPF_ADD | BPF_K, 2, 0, 0, -16));
      emit_call(p, BPF_FUNC_map_lookup_elem);
      break;
    }
  }
  if (c != RunCase::Base && fd < 0) {
    s.error = "a map of the case could not be made";
    return s;
  }
  // A tail call that falls through returns XDP_DROP: the run fails the retval check.
  const int32_t ret = c == RunCase::TailCall ? XDP_DROP : XDP_PASS;
  p.push_back(I::make(BPF_ALU64 | BPF_MOV | BPF_K, 0, 0, 0, ret));
  p.push_back(I::make(BPF_JMP | BPF_EXIT, 0, 0, 0, 0));
  s.prog = load_xdp(impl.sys, p);
  if (s.prog < 0) {
    s.error = "BPF_PROG_LOAD refused the program";
    if (&impl == &kBpfboxImpl) std::fprintf(stderr, "bpfbox: %s\n", bpfbox_bpf_last_error());
  }
  return s;
}

const RunSetup& run_setup(const BpfImpl& impl, RunCase c) {
  static std::mutex mu;
  static std::map<std::pair<const BpfImpl*, RunCase>, RunSetup> setups;
  std::lock_guard<std::mutex> g(mu);
  auto key = std::make_pair(&impl, c);
  auto it = setups.find(key);
  if (it == setups.end()) it = setups.emplace(key, make_run_setup(impl, c)).first;
  return it->second;
}

void test_run_bench(benchmark::State& state, const BpfImpl& impl) {
  const RunCase c = kRunCases[state.range(0)];
  state.SetLabel(run_case_name(c));
  const RunSetup& s = run_setup(impl, c);
  if (s.error) {
    state.SkipWithError(s.error);
    return;
  }
  time_test_runs(state, impl.sys, s.prog, "run_ns", [&s] {
    if (s.consumer_pos)  // the consumer catches up: every record read
      __atomic_store_n(s.consumer_pos, __atomic_load_n(s.producer_pos, __ATOMIC_ACQUIRE),
                       __ATOMIC_RELEASE);
  });
}
void BM_Bpfbox_TestRun(benchmark::State& state) {
  test_run_bench(state, kBpfboxImpl);
}
void BM_Kernel_TestRun(benchmark::State& state) {
  if (!kernel_ready(state, kernel_map(BPF_MAP_TYPE_ARRAY))) return;
  test_run_bench(state, kKernelImpl);
}
void run_cases(benchmark::internal::Benchmark* b) {
  b->ArgName("case");
  for (size_t i = 0; i < std::size(kRunCases); ++i) b->Arg(static_cast<int64_t>(i));
  b->Threads(1)->Threads(2)->UseRealTime();
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

// Keyed types (lookup and update), BLOOM_FILTER (peek and push), QUEUE/STACK (push + pop).
void keyed_types(benchmark::internal::Benchmark* b) {
  b->ArgName("type");
  for (int t : {BPF_MAP_TYPE_ARRAY, BPF_MAP_TYPE_PERCPU_ARRAY, BPF_MAP_TYPE_HASH,
                BPF_MAP_TYPE_PERCPU_HASH, BPF_MAP_TYPE_LRU_HASH, BPF_MAP_TYPE_LPM_TRIE})
    b->Arg(t);
  b->Threads(1)->Threads(2)->UseRealTime();
}
void lookup_types(benchmark::internal::Benchmark* b) {
  keyed_types(b);
  b->Arg(BPF_MAP_TYPE_BLOOM_FILTER);
}
void hash_types(benchmark::internal::Benchmark* b) {
  b->ArgName("type");
  for (int t : {BPF_MAP_TYPE_HASH, BPF_MAP_TYPE_PERCPU_HASH}) b->Arg(t);
  b->Threads(1)->Threads(2)->UseRealTime();
}
void fifo_types(benchmark::internal::Benchmark* b) {
  b->ArgName("type");
  for (int t : {BPF_MAP_TYPE_QUEUE, BPF_MAP_TYPE_STACK}) b->Arg(t);
  b->Threads(1)->Threads(2)->UseRealTime();
}

BENCHMARK(BM_Bpfbox_Prog_Lookup)->Apply(lookup_types);
BENCHMARK(BM_Bpfbox_Prog_Update)->Apply(lookup_types);
BENCHMARK(BM_Bpfbox_Prog_DeleteInsert)->Apply(hash_types);
BENCHMARK(BM_Bpfbox_Prog_PushPop)->Apply(fifo_types);
BENCHMARK(BM_Bpfbox_RunEnterExit)->Threads(1)->Threads(2)->UseRealTime();
BENCHMARK(BM_Bpfbox_Sys_Lookup)->Apply(keyed_types);
BENCHMARK(BM_Bpfbox_Sys_Update)->Apply(keyed_types);
BENCHMARK(BM_Bpfbox_Sys_DeleteInsert)->Apply(hash_types);
BENCHMARK(BM_Kernel_Prog_Base)->Arg(BPF_MAP_TYPE_HASH)->Threads(1)->Threads(2)->UseRealTime();
BENCHMARK(BM_Kernel_Prog_Lookup)->Apply(lookup_types);
BENCHMARK(BM_Kernel_Prog_Update)->Apply(lookup_types);
BENCHMARK(BM_Kernel_Prog_PushPop)->Apply(fifo_types);
BENCHMARK(BM_Kernel_Sys_Lookup)->Apply(lookup_types);
BENCHMARK(BM_Kernel_Sys_Update)->Apply(lookup_types);
BENCHMARK(BM_Kernel_Sys_DeleteInsert)->Apply(hash_types);
BENCHMARK(BM_Kernel_Sys_PushPop)->Apply(fifo_types);
BENCHMARK(BM_Bpfbox_TestRun)->Apply(run_cases);
BENCHMARK(BM_Kernel_TestRun)->Apply(run_cases);
BENCHMARK(BM_Std_Lookup)->Threads(1)->Threads(2)->UseRealTime();
BENCHMARK(BM_Std_Update)->Threads(1)->Threads(2)->UseRealTime();
BENCHMARK(BM_Std_DeleteInsert)->Threads(1)->Threads(2)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
