// ARRAY and PERCPU_ARRAY: every command's results and errno, program side and syscall side.
#include <sys/mman.h>

#include <gtest/gtest.h>

#include <vector>

#include "map_test_util.hpp"

namespace bpfbox::maps::testing {
namespace {

struct ElemCase {
  const char* what;
  uint32_t key;
  uint64_t flags;
  long expect;
};

TEST(ArrayMap, UpdateErrnoTable) {
  auto m = make_map(BPF_MAP_TYPE_ARRAY, 4, 8, 4);
  ASSERT_TRUE(m);
  const ElemCase cases[] = {
      {"any", 1, BPF_ANY, 0},
      {"exist", 2, BPF_EXIST, 0},
      {"noexist: elements always exist", 1, BPF_NOEXIST, -EEXIST},
      {"out of range", 4, BPF_ANY, -E2BIG},
      {"out of range noexist", 9, BPF_NOEXIST, -E2BIG},
      {"unknown flag", 1, 8, -EINVAL},
      {"exist|noexist", 1, 3, -EINVAL},
      {"F_LOCK without spin lock", 1, BPF_F_LOCK, -EINVAL},
  };
  uint64_t v = 7;
  for (const auto& c : cases) EXPECT_EQ(rc(m->update(&c.key, &v, c.flags)), c.expect) << c.what;
}

TEST(ArrayMap, LookupDeleteNextKey) {
  auto m = make_map(BPF_MAP_TYPE_ARRAY, 4, 12, 4);
  ASSERT_TRUE(m);
  uint8_t v[12] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}, out[12] = {};
  uint32_t k = 3;
  ASSERT_TRUE(m->update(&k, v));
  ASSERT_TRUE(m->lookup(&k, out));
  EXPECT_EQ(std::memcmp(v, out, 12), 0);
  k = 0;
  ASSERT_TRUE(m->lookup(&k, out));  // zero-initialised
  EXPECT_EQ(out[0], 0);
  k = 4;
  EXPECT_EQ(rc(m->lookup(&k, out)), -ENOENT);
  EXPECT_EQ(rc(m->lookup(&k, out, BPF_F_LOCK)), -EINVAL);
  EXPECT_EQ(rc(m->lookup(&k, out, 1)), -EINVAL);
  k = 1;
  EXPECT_EQ(rc(m->delete_elem(&k)), -EINVAL);
  EXPECT_EQ(rc(m->lookup_and_delete(&k, out)), -kENOTSUPP);

  uint32_t next = 99;
  ASSERT_TRUE(m->get_next_key(nullptr, &next));
  EXPECT_EQ(next, 0u);
  k = 2;
  ASSERT_TRUE(m->get_next_key(&k, &next));
  EXPECT_EQ(next, 3u);
  k = 3;
  EXPECT_EQ(rc(m->get_next_key(&k, &next)), -ENOENT);
  k = 77;  // out of range: restart
  ASSERT_TRUE(m->get_next_key(&k, &next));
  EXPECT_EQ(next, 0u);
}

TEST(ArrayMap, ProgramSideIsDirect) {
  auto m = make_map(BPF_MAP_TYPE_ARRAY, 4, 8, 8);
  ASSERT_TRUE(m);
  const InlineArray* ia = m->inline_array();
  ASSERT_NE(ia, nullptr);
  EXPECT_EQ(ia->elem_size, 8u);
  EXPECT_EQ(ia->max_entries, 8u);
  uint32_t k = 5;
  RunSlot run;
  auto* p = static_cast<uint64_t*>(m->prog_lookup(&k, run.cpu()));
  ASSERT_EQ(p, reinterpret_cast<uint64_t*>(ia->base + 5 * 8));
  *p += 41;
  uint64_t v = 1;
  EXPECT_EQ(m->prog_update(&k, &v, BPF_EXIST, run.cpu()), 0);
  EXPECT_EQ(*p, 1u);
  k = 8;
  EXPECT_EQ(m->prog_lookup(&k, run.cpu()), nullptr);
  EXPECT_EQ(m->prog_update(&k, &v, 0, run.cpu()), -E2BIG);
  EXPECT_EQ(m->prog_delete(&k, run.cpu()), -EINVAL);
}

TEST(PercpuArrayMap, ValuesComeInPossibleCpuSlots) {
  auto m = make_map(BPF_MAP_TYPE_PERCPU_ARRAY, 4, 4, 2);
  ASSERT_TRUE(m);
  uint32_t n = nr_possible_cpus();
  EXPECT_EQ(m->value_copy_size(), 8 * n);  // round_up(4, 8) per CPU, as libbpf expects
  std::vector<uint8_t> in(8 * n), out(8 * n);
  for (uint32_t c = 0; c < n; ++c) in[8 * c] = static_cast<uint8_t>(c + 10);
  uint32_t k = 1;
  ASSERT_TRUE(m->update(&k, in.data()));
  ASSERT_TRUE(m->lookup(&k, out.data()));
  EXPECT_EQ(in, out);
  // A run sees its own CPU's slot.
  {
    RunSlot run;
    auto* p = static_cast<uint8_t*>(m->prog_lookup(&k, run.cpu()));
    ASSERT_NE(p, nullptr);
    EXPECT_EQ(*p, run.cpu() + 10);
    uint32_t v = 200;
    EXPECT_EQ(m->prog_update(&k, &v, 0, run.cpu()), 0);
    ASSERT_TRUE(m->lookup(&k, out.data()));
    EXPECT_EQ(out[8 * run.cpu()], 200);
  }
  EXPECT_EQ(rc(m->update(&k, in.data(), BPF_F_LOCK)), -EINVAL);
  EXPECT_EQ(rc(m->mmap_region().status()), -kENOTSUPP);
}

TEST(ArrayMap, MmapableSharesTheValues) {
  auto m = make_map(BPF_MAP_TYPE_ARRAY, 4, 8, 1000, BPF_F_MMAPABLE);
  ASSERT_TRUE(m);
  auto region = m->mmap_region();
  ASSERT_TRUE(region) << region.status().message();
  EXPECT_EQ(region->offset % 4096, 0u);
  EXPECT_GE(region->size, 8000u);
  void* p = mmap(nullptr, region->size, PROT_READ | PROT_WRITE, MAP_SHARED, region->memfd,
                 static_cast<off_t>(region->offset));
  ASSERT_NE(p, MAP_FAILED);
  static_cast<uint64_t*>(p)[999] = 0xabcdef;
  uint32_t k = 999;
  uint64_t v = 0;
  ASSERT_TRUE(m->lookup(&k, &v));
  EXPECT_EQ(v, 0xabcdefu);
  munmap(p, region->size);
  auto plain = make_map(BPF_MAP_TYPE_ARRAY, 4, 8, 4);
  EXPECT_EQ(rc(plain->mmap_region().status()), -EINVAL);
}

TEST(ArrayMap, FreezeAndAccessFlags) {
  auto m = make_map(BPF_MAP_TYPE_ARRAY, 4, 8, 4);
  uint32_t k = 1;
  uint64_t v = 3;
  ASSERT_TRUE(m->freeze());
  EXPECT_TRUE(m->frozen());
  EXPECT_EQ(rc(m->freeze()), -EPERM);
  EXPECT_EQ(rc(m->update(&k, &v)), -EPERM);
  EXPECT_TRUE(m->lookup(&k, &v));
  {
    RunSlot run;  // freezing stops syscall writes only
    EXPECT_EQ(m->prog_update(&k, &v, 0, run.cpu()), 0);
  }
  auto ro = make_map(BPF_MAP_TYPE_ARRAY, 4, 8, 4, BPF_F_RDONLY);
  EXPECT_EQ(rc(ro->update(&k, &v)), -EPERM);
  EXPECT_EQ(rc(ro->freeze()), -EPERM);
  EXPECT_TRUE(ro->lookup(&k, &v));
  auto wo = make_map(BPF_MAP_TYPE_ARRAY, 4, 8, 4, BPF_F_WRONLY);
  EXPECT_TRUE(wo->update(&k, &v));
  EXPECT_EQ(rc(wo->lookup(&k, &v)), -EPERM);
  EXPECT_EQ(rc(wo->get_next_key(nullptr, &k)), -EPERM);
  auto rp = make_map(BPF_MAP_TYPE_ARRAY, 4, 8, 4, BPF_F_RDONLY_PROG);
  EXPECT_FALSE(rp->prog_may_write());
  EXPECT_TRUE(rp->prog_may_read());
}

TEST(ArrayMap, SpinLockValue) {
  union bpf_attr a = map_attr(BPF_MAP_TYPE_ARRAY, 4, 16, 2);
  CreateOptions o;
  o.spin_lock_off = 0;  // struct { struct bpf_spin_lock l; u32 pad; u64 v; }
  auto r = Map::create(a, o);
  ASSERT_TRUE(r) << r.status().message();
  auto& m = *r;
  uint8_t v[16] = {0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, 42};
  uint32_t k = 1;
  ASSERT_TRUE(m->update(&k, v, BPF_F_LOCK));
  uint8_t out[16];
  std::memset(out, 0x55, sizeof out);
  ASSERT_TRUE(m->lookup(&k, out, BPF_F_LOCK));
  EXPECT_EQ(out[8], 42);
  auto* lock = static_cast<uint32_t*>(m->prog_lookup(&k, 0));
  EXPECT_EQ(*lock, 0u);  // the lock word is never copied in
  EXPECT_EQ(rc(m->freeze()), -kENOTSUPP);
}

}  // namespace
}  // namespace bpfbox::maps::testing
