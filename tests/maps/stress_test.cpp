// Many runs and user-space writers at once; every count is checked at the end. Run under TSan in
// CI (BPFBOX_SANITIZE=thread): runs must never share a CPU slot, and an element must never be
// reused while a run can still see it.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <thread>
#include <vector>

#include "map_test_util.hpp"
#include "test_object_table.hpp"

namespace bpfbox::maps::testing {
namespace {

constexpr uint32_t kThreads = 4;  // more threads than the machine's CPUs: slots are contended
constexpr uint32_t kOpsPerThread = 300'000;

// Runs increment counters through the pointers lookups return (BPF_ATOMIC adds), while a
// user-space thread inserts and deletes other keys in the same buckets.
TEST(MapStress, HashCountersWithConcurrentChurn) {
  constexpr uint32_t kCounters = 64, kChurn = 4096;
  auto m = make_map(BPF_MAP_TYPE_HASH, 4, 8, kCounters + kChurn);
  ASSERT_TRUE(m);
  for (uint32_t k = 0; k < kCounters; ++k) {
    uint64_t zero = 0;
    ASSERT_TRUE(m->update(&k, &zero));
  }
  std::atomic<bool> stop{false};
  std::vector<uint8_t> present(kChurn, 0);
  std::thread churn([&] {
    uint32_t x = 12345;
    uint64_t ops = 0;
    while (!stop.load(std::memory_order_relaxed) || ops < kOpsPerThread) {
      x = x * 1103515245 + 12345;
      uint32_t i = (x >> 8) % kChurn, k = kCounters + i;
      uint64_t v = k;
      if (present[i]) {
        ASSERT_TRUE(m->delete_elem(&k));
      } else {
        ASSERT_TRUE(m->update(&k, &v, BPF_NOEXIST));
      }
      present[i] ^= 1;
      ++ops;
    }
  });
  std::vector<std::thread> runs;
  for (uint32_t t = 0; t < kThreads; ++t) {
    runs.emplace_back([&, t] {
      uint32_t x = t * 7919 + 1;
      for (uint32_t i = 0; i < kOpsPerThread; ++i) {
        RunSlot run;
        x = x * 1103515245 + 12345;
        uint32_t k = (x >> 8) % kCounters;
        auto* p = static_cast<uint64_t*>(m->prog_lookup(&k, run.cpu()));
        ASSERT_NE(p, nullptr);
        __atomic_fetch_add(p, 1, __ATOMIC_RELAXED);
        // A churn key, if present, holds its own key as value.
        uint32_t c = kCounters + (x >> 4) % kChurn;
        if (auto* q = static_cast<uint64_t*>(m->prog_lookup(&c, run.cpu()))) {
          ASSERT_EQ(*q, c);
        }
      }
    });
  }
  for (auto& t : runs) t.join();
  stop = true;
  churn.join();
  uint64_t total = 0;
  for (uint32_t k = 0; k < kCounters; ++k) {
    uint64_t v;
    ASSERT_TRUE(m->lookup(&k, &v));
    total += v;
  }
  EXPECT_EQ(total, uint64_t(kThreads) * kOpsPerThread);
  for (uint32_t i = 0; i < kChurn; ++i) {
    uint32_t k = kCounters + i;
    uint64_t v;
    EXPECT_EQ(rc(m->lookup(&k, &v)), present[i] ? 0 : -ENOENT) << k;
  }
}

// Per-CPU counters incremented without atomics, as programs do: correct only if no two
// concurrent runs ever share a slot.
TEST(MapStress, PercpuCountersNeedNoAtomics) {
  auto arr = make_map(BPF_MAP_TYPE_PERCPU_ARRAY, 4, 8, 4);
  auto hash = make_map(BPF_MAP_TYPE_PERCPU_HASH, 4, 8, 4);
  ASSERT_TRUE(arr && hash);
  uint32_t n = nr_possible_cpus();
  std::vector<uint64_t> zeros(n, 0);
  for (uint32_t k = 0; k < 4; ++k) ASSERT_TRUE(hash->update(&k, zeros.data()));
  std::vector<std::thread> runs;
  for (uint32_t t = 0; t < kThreads; ++t) {
    runs.emplace_back([&, t] {
      for (uint32_t i = 0; i < kOpsPerThread; ++i) {
        RunSlot run;
        uint32_t k = (i + t) % 4;
        ++*static_cast<uint64_t*>(arr->prog_lookup(&k, run.cpu()));
        ++*static_cast<uint64_t*>(hash->prog_lookup(&k, run.cpu()));
      }
    });
  }
  for (auto& t : runs) t.join();
  for (auto* m : {arr.get(), hash.get()}) {
    uint64_t total = 0;
    std::vector<uint64_t> v(n);
    for (uint32_t k = 0; k < 4; ++k) {
      ASSERT_TRUE(m->lookup(&k, v.data()));
      for (uint64_t x : v) total += x;
    }
    EXPECT_EQ(total, uint64_t(kThreads) * kOpsPerThread) << m->type();
  }
}

// Runs insert, replace and delete keys themselves while others read: a value a run holds keeps
// its contents until the run ends, whatever happens to its key meanwhile.
TEST(MapStress, HeldValuesSurviveReplaceAndDelete) {
  constexpr uint32_t kKeys = 256, kWords = 8;
  auto m = make_map(BPF_MAP_TYPE_HASH, 4, kWords * 8, kKeys, BPF_F_NO_PREALLOC);
  ASSERT_TRUE(m);
  std::atomic<uint64_t> inserted{0}, deleted{0};
  std::vector<std::thread> runs;
  for (uint32_t t = 0; t < kThreads; ++t) {
    runs.emplace_back([&, t] {
      uint32_t x = t * 31 + 7;
      uint64_t ins = 0, del = 0;
      for (uint32_t i = 0; i < kOpsPerThread / 2; ++i) {
        RunSlot run;
        x = x * 1103515245 + 12345;
        uint32_t k = (x >> 8) % kKeys;
        uint64_t val[kWords];
        for (auto& w : val) w = uint64_t(k) << 32 | (x & 0xffff);
        auto* held = static_cast<uint64_t*>(m->prog_lookup(&k, run.cpu()));
        uint64_t snapshot = held ? held[0] : 0;
        switch ((x >> 20) % 3) {
          case 0: {
            long r = m->prog_update(&k, val, BPF_NOEXIST, run.cpu());
            ASSERT_TRUE(r == 0 || r == -EEXIST) << r;
            ins += r == 0;
            break;
          }
          case 1:
            ASSERT_EQ(m->prog_update(&k, val, BPF_ANY, run.cpu()), 0);
            break;
          default: {
            long r = m->prog_delete(&k, run.cpu());
            ASSERT_TRUE(r == 0 || r == -ENOENT) << r;
            del += r == 0;
          }
        }
        if (held) {  // still the value we saw, every word of it
          for (uint32_t w = 0; w < kWords; ++w) ASSERT_EQ(held[w] >> 32, k);
          ASSERT_EQ(held[0], snapshot);
        }
      }
      inserted += ins;
      deleted += del;
    });
  }
  for (auto& t : runs) t.join();
  uint64_t live = 0;
  uint32_t cur, next;
  Status st = m->get_next_key(nullptr, &next);
  while (st) {
    uint64_t v[kWords];
    ASSERT_TRUE(m->lookup(&next, v));
    for (uint64_t w : v) ASSERT_EQ(w >> 32, next);
    ++live;
    cur = next;
    st = m->get_next_key(&cur, &next);
  }
  EXPECT_LE(live, kKeys);
  EXPECT_GT(inserted.load(), 0u);
  EXPECT_GT(deleted.load(), 0u);
}

// The oldest run can always allocate, however many elements the runs it holds back retired: a
// newer run draining the pool (preempted oldest run, CPU-starved CI) must leave the reserve, and
// wait. Before the reserve was enforced the newer run took it all and the oldest got E2BIG.
TEST(MapStress, OldestRunAllocatesAfterOthersDrainThePool) {
  auto m = make_map(BPF_MAP_TYPE_HASH, 4, 8, 256, BPF_F_NO_PREALLOC);
  ASSERT_TRUE(m);
  uint32_t k0 = 0;
  uint64_t v = 1;
  ASSERT_TRUE(m->update(&k0, &v));
  std::optional<RunSlot> oldest;
  oldest.emplace();  // held while the other thread churns: nothing it retires can come back
  std::atomic<uint64_t> done{0};
  std::thread churn([&] {
    for (uint32_t i = 0; i < 100'000; ++i) {
      RunSlot run;
      uint64_t w = i;
      ASSERT_EQ(m->prog_update(&k0, &w, BPF_ANY, run.cpu()), 0);  // a replace: one retire each
      done.store(i + 1, std::memory_order_relaxed);
    }
  });
  // Until the churn stops making progress (it waits for this run) or is done.
  for (uint64_t last = ~0ull; done.load() != last && done.load() < 100'000;) {
    last = done.load();
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  for (uint32_t k = 1; k <= 8; ++k)
    EXPECT_EQ(m->prog_update(&k, &v, BPF_NOEXIST, oldest->cpu()), 0);
  oldest.reset();
  churn.join();
}

// User space replaces values while runs read them: a reader sees an old or a new value, whole.
TEST(MapStress, UserReplaceIsAtomicForRuns) {
  constexpr uint32_t kWords = 16;
  auto m = make_map(BPF_MAP_TYPE_HASH, 4, kWords * 8, 8);
  ASSERT_TRUE(m);
  uint64_t init[kWords] = {};
  for (uint32_t k = 0; k < 8; ++k) ASSERT_TRUE(m->update(&k, init));
  std::atomic<bool> stop{false};
  std::thread writer([&] {
    uint64_t gen = 1;
    while (!stop.load(std::memory_order_relaxed)) {
      uint64_t v[kWords];
      for (auto& w : v) w = gen;
      uint32_t k = gen % 8;
      ASSERT_TRUE(m->update(&k, v, BPF_EXIST));
      ++gen;
    }
  });
  std::vector<std::thread> runs;
  for (uint32_t t = 0; t < 2; ++t) {
    runs.emplace_back([&] {
      for (uint32_t i = 0; i < kOpsPerThread; ++i) {
        RunSlot run;
        uint32_t k = i % 8;
        auto* p = static_cast<const uint64_t*>(m->prog_lookup(&k, run.cpu()));
        ASSERT_NE(p, nullptr);
        for (uint32_t w = 1; w < kWords; ++w) ASSERT_EQ(p[w], p[0]);
      }
    });
  }
  for (auto& t : runs) t.join();
  stop = true;
  writer.join();
}

// An LRU map under constant eviction: runs insert and read keys from a space four times its
// size; values always match their keys and the map never holds more than max_entries.
TEST(MapStress, LruEvictsUnderConcurrentInserts) {
  constexpr uint32_t kMax = 512, kSpace = 4 * kMax;
  for (uint32_t flags : {0u, uint32_t(BPF_F_NO_COMMON_LRU)}) {
    auto m = make_map(BPF_MAP_TYPE_LRU_HASH, 4, 8, kMax, flags);
    ASSERT_TRUE(m);
    std::vector<std::thread> runs;
    for (uint32_t t = 0; t < kThreads; ++t) {
      runs.emplace_back([&, t] {
        uint32_t x = t * 101 + 3;
        for (uint32_t i = 0; i < kOpsPerThread / 2; ++i) {
          RunSlot run;
          x = x * 1103515245 + 12345;
          uint32_t k = (x >> 8) % kSpace;
          if (auto* p = static_cast<uint64_t*>(m->prog_lookup(&k, run.cpu()))) {
            ASSERT_EQ(*p, k);
          } else {
            uint64_t v = k;
            long r = m->prog_update(&k, &v, BPF_NOEXIST, run.cpu());
            ASSERT_TRUE(r == 0 || r == -EEXIST) << r;
          }
        }
      });
    }
    for (auto& t : runs) t.join();
    uint32_t cur, next, live = 0;
    Status st = m->get_next_key(nullptr, &next);
    while (st) {
      uint64_t v;
      ASSERT_TRUE(m->lookup(&next, &v));
      ASSERT_EQ(v, next);
      ++live;
      cur = next;
      st = m->get_next_key(&cur, &next);
    }
    EXPECT_LE(live, kMax);
    EXPECT_GE(live, kMax / 2);
  }
}

// An LPM trie changing under lock-free lookups: whatever prefix a lookup returns contains the
// address looked up, and its value is the one stored with it.
TEST(MapStress, LpmLookupsDuringInsertAndDelete) {
  struct Key {
    uint32_t prefixlen;
    uint8_t addr[4];
  };
  auto m = make_map(BPF_MAP_TYPE_LPM_TRIE, 8, 8, 1024, BPF_F_NO_PREALLOC);
  ASSERT_TRUE(m);
  auto value_of = [](const Key& k) {  // prefixlen and the prefix's bytes
    return uint64_t(k.prefixlen) << 32 | uint64_t(k.addr[0]) << 24 | uint64_t(k.addr[1]) << 16 |
           uint64_t(k.addr[2]) << 8;
  };
  Key root{0, {0, 0, 0, 0}};
  uint64_t rv = value_of(root);
  ASSERT_TRUE(m->update(&root, &rv));
  std::atomic<bool> stop{false};
  std::thread writer([&] {
    uint32_t x = 99;
    while (!stop.load(std::memory_order_relaxed)) {
      x = x * 1103515245 + 12345;
      Key k{8 + 8 * ((x >> 8) % 3), {10, uint8_t((x >> 12) & 7), uint8_t((x >> 16) & 7), 0}};
      if (k.prefixlen < 24) k.addr[2] = 0;
      if (k.prefixlen < 16) k.addr[1] = 0;
      uint64_t v = value_of(k);
      if ((x >> 20) & 1) {
        m->update(&k, &v);
      } else {
        m->delete_elem(&k);
      }
    }
  });
  std::vector<std::thread> runs;
  for (uint32_t t = 0; t < 2; ++t) {
    runs.emplace_back([&, t] {
      uint32_t x = t + 5;
      for (uint32_t i = 0; i < kOpsPerThread; ++i) {
        RunSlot run;
        x = x * 1103515245 + 12345;
        Key k{32, {10, uint8_t((x >> 12) & 7), uint8_t((x >> 16) & 7), uint8_t(x >> 24)}};
        auto* p = static_cast<const uint64_t*>(m->prog_lookup(&k, run.cpu()));
        ASSERT_NE(p, nullptr);  // the /0 root always matches
        uint64_t v = *p;
        uint32_t pl = uint32_t(v >> 32);
        uint32_t prefix = uint32_t(v) >> 8;
        uint32_t addr = uint32_t(k.addr[0]) << 16 | uint32_t(k.addr[1]) << 8 | k.addr[2];
        ASSERT_TRUE(pl == 0 || pl == 8 || pl == 16 || pl == 24) << pl;
        if (pl) {
          ASSERT_EQ(addr >> (24 - pl), prefix >> (24 - pl)) << "prefix /" << pl;
        }
      }
    });
  }
  for (auto& t : runs) t.join();
  stop = true;
  writer.join();
}

// Tail calls racing with PROG_ARRAY updates: a program a run found in the array stays alive (its
// reference is not dropped) until that run ends, while user space replaces it thousands of times.
struct FakeProgram : vm::Executable {
  const char* engine_name() const override { return "fake"; }
  std::atomic<bool> released{false};
};

TEST(MapStress, TailCallTargetsLiveUntilRunsEnd) {
  TestObjectTable t;
  constexpr int kPrograms = 4000;
  std::vector<std::unique_ptr<FakeProgram>> progs;
  std::vector<int> fds;
  std::map<uint32_t, FakeProgram*> by_id;
  for (int i = 0; i < kPrograms; ++i) {
    progs.push_back(std::make_unique<FakeProgram>());
    fds.push_back(t.add_prog(BPF_PROG_TYPE_XDP, progs.back().get()));
    by_id[t.id(fds.back())] = progs.back().get();
  }
  t.on_released = [&](const ObjectRef& r) { by_id.at(r.id)->released.store(true); };
  CreateOptions o;
  o.objects = &t;
  auto made = Map::create(map_attr(BPF_MAP_TYPE_PROG_ARRAY, 4, 4, 2), o);
  ASSERT_TRUE(made);
  Map* m = made->get();
  std::atomic<bool> stop{false};
  std::atomic<uint64_t> calls{0}, bad{0};
  std::vector<std::thread> runners;
  for (int r = 0; r < 2; ++r) {
    runners.emplace_back([&, r] {
      while (!stop.load(std::memory_order_relaxed)) {
        RunSlot run;
        for (int i = 0; i < 64; ++i) {
          auto* p = static_cast<const FakeProgram*>(prog_array_lookup(m, uint32_t(i + r) % 2));
          if (!p) continue;
          if (p->released.load()) bad.fetch_add(1);
          calls.fetch_add(1, std::memory_order_relaxed);
        }
      }
    });
  }
  Status failed;
  for (int i = 0; i < kPrograms && failed; ++i) {
    uint32_t k = uint32_t(i) % 2;
    int32_t fd = fds[i];
    failed = m->update(&k, &fd);
  }
  stop.store(true);
  for (auto& th : runners) th.join();
  ASSERT_TRUE(failed) << failed.message();
  EXPECT_EQ(bad.load(), 0u);
  EXPECT_GT(calls.load(), 0u);
  made->reset();
  EXPECT_EQ(t.total_refs(), 0);
}

}  // namespace
}  // namespace bpfbox::maps::testing
