// LRU_HASH and LRU_PERCPU_HASH: a full map evicts instead of failing, referenced keys get a
// second chance, and the hash-map errno table otherwise holds.
#include <sched.h>

#include <gtest/gtest.h>

#include <set>
#include <vector>

#include "map_test_util.hpp"

namespace bpfbox::maps::testing {
namespace {

size_t count_keys(Map& m) {
  size_t n = 0;
  uint32_t cur, next;
  Status st = m.get_next_key(nullptr, &next);
  while (st) {
    ++n;
    cur = next;
    st = m.get_next_key(&cur, &next);
  }
  return n;
}

TEST(LruHashMap, FullMapEvictsInsteadOfE2big) {
  for (uint32_t flags : {0u, uint32_t(BPF_F_NO_COMMON_LRU)}) {
    auto m = make_map(BPF_MAP_TYPE_LRU_HASH, 4, 8, 64, flags);
    ASSERT_TRUE(m);
    for (uint32_t k = 0; k < 1000; ++k) {
      uint64_t v = k;
      ASSERT_TRUE(m->update(&k, &v)) << k;
    }
    EXPECT_LE(count_keys(*m), 64u);
    EXPECT_GE(count_keys(*m), flags ? 28u : 32u);  // per-CPU lists shrink 4 at a time
    uint32_t k = 999;                              // the newest survives
    uint64_t v;
    ASSERT_TRUE(m->lookup(&k, &v));
    EXPECT_EQ(v, 999u);
  }
}

TEST(LruHashMap, ReferencedKeysGetASecondChance) {
  auto m = make_map(BPF_MAP_TYPE_LRU_HASH, 4, 8, 32);
  ASSERT_TRUE(m);
  for (uint32_t k = 0; k < 32; ++k) {
    uint64_t v = k;
    ASSERT_TRUE(m->update(&k, &v));
  }
  {
    RunSlot run;  // programs' lookups mark keys 0..7 as used
    for (uint32_t k = 0; k < 8; ++k) ASSERT_NE(m->prog_lookup(&k, run.cpu()), nullptr);
  }
  for (uint32_t k = 100; k < 116; ++k) {  // evicts 16
    uint64_t v = k;
    ASSERT_TRUE(m->update(&k, &v));
  }
  uint64_t v;
  for (uint32_t k = 0; k < 8; ++k) EXPECT_TRUE(m->lookup(&k, &v)) << "referenced key " << k;
  for (uint32_t k = 8; k < 24; ++k) EXPECT_EQ(rc(m->lookup(&k, &v)), -ENOENT) << k;
  EXPECT_EQ(count_keys(*m), 32u);
}

TEST(LruHashMap, ErrnoAsHash) {
  auto m = make_map(BPF_MAP_TYPE_LRU_HASH, 4, 8, 4);
  uint32_t k = 1;
  uint64_t v = 1;
  EXPECT_EQ(rc(m->update(&k, &v, BPF_EXIST)), -ENOENT);
  EXPECT_EQ(rc(m->update(&k, &v, BPF_NOEXIST)), 0);
  EXPECT_EQ(rc(m->update(&k, &v, BPF_NOEXIST)), -EEXIST);
  EXPECT_EQ(rc(m->update(&k, &v, 4)), -EINVAL);
  EXPECT_EQ(rc(m->lookup_and_delete(&k, &v)), 0);
  EXPECT_EQ(rc(m->delete_elem(&k)), -ENOENT);
  EXPECT_EQ(Map::create(map_attr(BPF_MAP_TYPE_LRU_HASH, 4, 8, 4, BPF_F_NO_PREALLOC)).status().err(),
            kENOTSUPP);
}

TEST(LruPercpuHashMap, SlotsAndEviction) {
  auto m = make_map(BPF_MAP_TYPE_LRU_PERCPU_HASH, 4, 8, 16);
  ASSERT_TRUE(m);
  uint32_t n = nr_possible_cpus();
  std::vector<uint64_t> in(n), out(n);
  for (uint32_t k = 0; k < 100; ++k) {
    for (uint32_t c = 0; c < n; ++c) in[c] = k * 10 + c;
    ASSERT_TRUE(m->update(&k, in.data()));
  }
  uint32_t k = 99;
  ASSERT_TRUE(m->lookup(&k, out.data()));
  EXPECT_EQ(out, in);
  EXPECT_LE(count_keys(*m), 16u);
}

// BPF_F_NO_COMMON_LRU: max_entries rounds up to a multiple of nr_possible_cpus, each CPU's list
// holds its share, and a full list drops its 4 oldest unreferenced elements at once (the
// kernel's PERCPU_FREE_TARGET), so the next 3 inserts evict nothing.
TEST(LruHashMap, PerCpuListsShrinkFourAtATime) {
  uint32_t n = nr_possible_cpus();
  auto m = make_map(BPF_MAP_TYPE_LRU_HASH, 4, 8, 8 * n - 1, BPF_F_NO_COMMON_LRU);
  ASSERT_TRUE(m);
  EXPECT_EQ(m->max_entries(), 8 * n);
  cpu_set_t saved, one;
  sched_getaffinity(0, sizeof saved, &saved);
  CPU_ZERO(&one);
  CPU_SET(sched_getcpu(), &one);
  sched_setaffinity(0, sizeof one, &one);
  uint64_t v = 0;
  for (uint32_t k = 0; k < 9; ++k) ASSERT_TRUE(m->update(&k, &v));  // 8 fit, the 9th evicts 4
  sched_setaffinity(0, sizeof saved, &saved);
  for (uint32_t k = 0; k < 4; ++k) EXPECT_EQ(rc(m->lookup(&k, &v)), -ENOENT) << k;
  for (uint32_t k = 4; k < 9; ++k) EXPECT_TRUE(m->lookup(&k, &v)) << k;
  EXPECT_EQ(count_keys(*m), 5u);
}

}  // namespace
}  // namespace bpfbox::maps::testing
