// DEVMAP and DEVMAP_HASH: ifindex values (lo is ifindex 1 on Linux), the kernel's errno.
#include <gtest/gtest.h>

#include "map_test_util.hpp"

namespace bpfbox::maps::testing {
namespace {

TEST(Devmap, IfindexValues) {
  auto m = make_map(BPF_MAP_TYPE_DEVMAP, 4, 8, 4);
  ASSERT_TRUE(m);
  uint32_t k = 1, out[2] = {9, 9};
  int32_t lo[2] = {1, -1}, missing[2] = {9999, 0}, prog[2] = {1, 5}, empty[2] = {0, 0};
  EXPECT_EQ(rc(m->lookup(&k, out)), -ENOENT);
  ASSERT_TRUE(m->update(&k, lo));
  ASSERT_TRUE(m->lookup(&k, out));
  EXPECT_EQ(out[0], 1u);
  EXPECT_EQ(out[1], 0u);  // no program: id 0
  EXPECT_EQ(rc(m->update(&k, missing)), -EINVAL);
  EXPECT_EQ(rc(m->update(&k, prog)), -EINVAL);
  EXPECT_EQ(rc(m->update(&k, lo, BPF_NOEXIST)), -EEXIST);
  k = 4;
  EXPECT_EQ(rc(m->update(&k, lo)), -E2BIG);
  EXPECT_EQ(rc(m->delete_elem(&k)), -EINVAL);
  k = 1;
  ASSERT_TRUE(m->update(&k, empty));  // ifindex 0 empties the slot
  EXPECT_EQ(rc(m->lookup(&k, out)), -ENOENT);
  EXPECT_EQ(rc(m->lookup_and_delete(&k, out)), -kENOTSUPP);
}

TEST(DevmapHash, IdentityHashedIndexes) {
  auto m = make_map(BPF_MAP_TYPE_DEVMAP_HASH, 4, 4, 2);
  ASSERT_TRUE(m);
  uint32_t lo = 1, zero = 0, k = 70;
  EXPECT_EQ(rc(m->update(&k, &lo, BPF_EXIST)), 0);  // BPF_EXIST does not require the key
  EXPECT_EQ(rc(m->update(&k, &zero)), -EINVAL);
  k = 71;
  ASSERT_TRUE(m->update(&k, &lo));
  k = 72;
  EXPECT_EQ(rc(m->update(&k, &lo)), -E2BIG);
  uint32_t next;
  ASSERT_TRUE(m->get_next_key(nullptr, &next));
  EXPECT_EQ(next, 70u);  // bucket 70 & 1 = 0 first
  k = 70;
  ASSERT_TRUE(m->delete_elem(&k));
  EXPECT_EQ(rc(m->delete_elem(&k)), -ENOENT);
}

}  // namespace
}  // namespace bpfbox::maps::testing
