// QUEUE, STACK and BLOOM_FILTER: order, full/empty errno, flags, and the program-side helpers.
#include <gtest/gtest.h>

#include "map_test_util.hpp"

namespace bpfbox::maps::testing {
namespace {

TEST(QueueMap, FifoWithErrnoTable) {
  auto q = make_map(BPF_MAP_TYPE_QUEUE, 0, 8, 3);
  ASSERT_TRUE(q);
  uint64_t v = 0;
  EXPECT_EQ(rc(q->lookup_and_delete(nullptr, &v)), -ENOENT);
  EXPECT_EQ(rc(q->lookup(nullptr, &v)), -ENOENT);
  for (uint64_t i = 1; i <= 3; ++i) ASSERT_TRUE(q->update(nullptr, &i));
  uint64_t four = 4;
  EXPECT_EQ(rc(q->update(nullptr, &four)), -E2BIG);
  EXPECT_EQ(rc(q->update(nullptr, &four, BPF_NOEXIST)), -EINVAL);
  EXPECT_EQ(rc(q->update(nullptr, &four, BPF_F_LOCK)), -EINVAL);
  EXPECT_EQ(rc(q->update(nullptr, &four, BPF_EXIST)), 0);  // drops the oldest (1)
  EXPECT_EQ(rc(q->delete_elem(nullptr)), -EINVAL);
  EXPECT_EQ(rc(q->get_next_key(nullptr, &v)), -EINVAL);
  EXPECT_EQ(rc(q->lookup_and_delete(nullptr, &v, BPF_F_LOCK)), -EINVAL);
  ASSERT_TRUE(q->lookup(nullptr, &v));
  EXPECT_EQ(v, 2u);
  for (uint64_t want : {2, 3, 4}) {
    ASSERT_TRUE(q->lookup_and_delete(nullptr, &v));
    EXPECT_EQ(v, want);
  }
  EXPECT_EQ(rc(q->lookup_and_delete(nullptr, &v)), -ENOENT);
}

TEST(StackMap, LifoAndProgramHelpers) {
  auto s = make_map(BPF_MAP_TYPE_STACK, 0, 4, 2);
  ASSERT_TRUE(s);
  RunSlot run;
  uint32_t a = 1, b = 2, c = 3, out = 0;
  EXPECT_EQ(s->prog().push(s.get(), &a, 0, run.cpu()), 0);
  EXPECT_EQ(s->prog().push(s.get(), &b, 0, run.cpu()), 0);
  EXPECT_EQ(s->prog().push(s.get(), &c, 0, run.cpu()), -E2BIG);
  EXPECT_EQ(s->prog().peek(s.get(), &out, run.cpu()), 0);
  EXPECT_EQ(out, 2u);
  EXPECT_EQ(s->prog().pop(s.get(), &out, run.cpu()), 0);
  EXPECT_EQ(out, 2u);
  EXPECT_EQ(s->prog().pop(s.get(), &out, run.cpu()), 0);
  EXPECT_EQ(out, 1u);
  EXPECT_EQ(s->prog().pop(s.get(), &out, run.cpu()), -ENOENT);
  EXPECT_EQ(s->prog_lookup(&a, run.cpu()), nullptr);
  ASSERT_TRUE(s->freeze());
  EXPECT_EQ(rc(s->update(nullptr, &a)), -EPERM);
  EXPECT_EQ(rc(s->lookup_and_delete(nullptr, &out)), -EPERM);
}

TEST(QueueMap, CreateChecks) {
  EXPECT_EQ(Map::create(map_attr(BPF_MAP_TYPE_QUEUE, 4, 8, 2)).status().err(), EINVAL);
  EXPECT_EQ(Map::create(map_attr(BPF_MAP_TYPE_QUEUE, 0, 8, 2, BPF_F_NO_PREALLOC)).status().err(),
            EINVAL);
  EXPECT_EQ(Map::create(map_attr(BPF_MAP_TYPE_STACK, 0, 0, 2)).status().err(), EINVAL);
  EXPECT_EQ(Map::create(map_attr(BPF_MAP_TYPE_STACK, 0, 8, 0)).status().err(), EINVAL);
}

TEST(BloomFilter, MembershipAndErrno) {
  auto b = Map::create(map_attr(BPF_MAP_TYPE_BLOOM_FILTER, 0, 8, 100, 0, 3));
  ASSERT_TRUE(b) << b.status().message();
  Map& m = **b;
  for (uint64_t v = 0; v < 100; v += 2) ASSERT_TRUE(m.update(nullptr, &v));
  for (uint64_t v = 0; v < 100; v += 2)
    EXPECT_TRUE(m.lookup(nullptr, &v)) << v;  // no false negatives
  int false_pos = 0;
  for (uint64_t v = 1000; v < 2000; ++v) false_pos += m.lookup(nullptr, &v).is_ok();
  EXPECT_LT(false_pos, 200);
  uint64_t v = 1;
  EXPECT_EQ(rc(m.update(nullptr, &v, BPF_NOEXIST)), -EINVAL);
  EXPECT_EQ(rc(m.update(nullptr, &v, BPF_EXIST)), -EINVAL);
  EXPECT_EQ(rc(m.delete_elem(nullptr)), -EOPNOTSUPP);
  EXPECT_EQ(rc(m.get_next_key(nullptr, &v)), -EOPNOTSUPP);
  EXPECT_EQ(rc(m.lookup_and_delete(nullptr, &v)), -kENOTSUPP);
  EXPECT_EQ(Map::create(map_attr(BPF_MAP_TYPE_BLOOM_FILTER, 0, 8, 100, 0, 16)).status().err(),
            EINVAL);
  EXPECT_EQ(Map::create(map_attr(BPF_MAP_TYPE_BLOOM_FILTER, 4, 8, 100)).status().err(), EINVAL);
}

}  // namespace
}  // namespace bpfbox::maps::testing
