// Maps holding other objects through an ObjectTable: PROG_ARRAY, ARRAY_OF_MAPS, HASH_OF_MAPS. The
// kernel's errno for each case (checked against the kernel in kernel_diff_test where bpf() can
// make the same objects), references dropped only after the runs that may use them end.
#include <gtest/gtest.h>

#include <vector>

#include "bpfbox/vm.hpp"
#include "map_test_util.hpp"
#include "maps/run_domain.hpp"
#include "test_object_table.hpp"

namespace bpfbox::maps::testing {
namespace {

// r0 = ret; exit
std::unique_ptr<vm::Executable> returning(int32_t ret) {
  static const vm::HelperTable helpers;
  struct bpf_insn prog[2] = {};
  prog[0].code = BPF_ALU64 | BPF_MOV | BPF_K;
  prog[0].imm = ret;
  prog[1].code = BPF_JMP | BPF_EXIT;
  auto r = vm::compile(vm::EngineKind::Interp, prog, helpers);
  EXPECT_TRUE(r) << r.status().message();
  return std::move(r).value();
}

std::shared_ptr<Map> create(TestObjectTable& t, union bpf_attr a, int* err = nullptr) {
  CreateOptions o;
  o.objects = &t;
  auto r = Map::create(a, o);
  if (err) *err = r ? 0 : r.status().err();
  return r ? *r : nullptr;
}

// Makes RunDomain drop what was retired before now (no run is active in these tests).
void quiesce() {
  RunDomain::process().synchronize(RunDomain::process().retire());
}

TEST(ProgArray, FdsInIdsOutAndTheKernelErrno) {
  TestObjectTable t;
  auto e1 = returning(1), e2 = returning(2);
  int p1 = t.add_prog(BPF_PROG_TYPE_XDP, e1.get());
  int p2 = t.add_prog(BPF_PROG_TYPE_XDP, e2.get());
  int other = t.add_prog(BPF_PROG_TYPE_SOCKET_FILTER, e1.get());
  int ext = t.add_prog(BPF_PROG_TYPE_EXT, e1.get());
  int a_map = t.add_map(make_map(BPF_MAP_TYPE_ARRAY, 4, 4, 1));
  auto m = create(t, map_attr(BPF_MAP_TYPE_PROG_ARRAY, 4, 4, 4));
  ASSERT_TRUE(m);
  uint32_t k = 0, out = 0;
  int32_t fd = p1;
  EXPECT_EQ(rc(m->lookup(&k, &out)), -ENOENT);
  ASSERT_TRUE(m->update(&k, &fd));
  ASSERT_TRUE(m->lookup(&k, &out));
  EXPECT_EQ(out, t.id(p1));
  EXPECT_EQ(t.refs(p1), 1);
  EXPECT_EQ(rc(m->update(&k, &fd, BPF_NOEXIST)), -EINVAL);  // BPF_ANY only
  EXPECT_EQ(rc(m->update(&k, &fd, BPF_EXIST)), -EINVAL);
  k = 4;
  EXPECT_EQ(rc(m->update(&k, &fd)), -E2BIG);
  EXPECT_EQ(rc(m->update(&k, &fd, BPF_EXIST)), -EINVAL);  // flags before the index
  EXPECT_EQ(rc(m->delete_elem(&k)), -E2BIG);
  EXPECT_EQ(rc(m->lookup(&k, &out)), -ENOENT);
  k = 1;
  fd = 999;
  EXPECT_EQ(rc(m->update(&k, &fd)), -EBADF);
  fd = a_map;
  EXPECT_EQ(rc(m->update(&k, &fd)), -EINVAL);  // a map is no program
  fd = TestObjectTable::kNotBpf;
  EXPECT_EQ(rc(m->update(&k, &fd)), -EINVAL);
  fd = other;
  EXPECT_EQ(rc(m->update(&k, &fd)), -EINVAL);  // the owner type is XDP
  EXPECT_EQ(t.refs(other), 0);
  fd = ext;
  EXPECT_EQ(rc(m->update(&k, &fd)), -EINVAL);
  EXPECT_EQ(rc(m->prog_array_compatible(BPF_PROG_TYPE_SOCKET_FILTER)), -EINVAL);
  EXPECT_TRUE(m->prog_array_compatible(BPF_PROG_TYPE_XDP));
  fd = p2;
  ASSERT_TRUE(m->update(&k, &fd));
  EXPECT_EQ(rc(m->lookup_and_delete(&k, &out)), -kENOTSUPP);

  // The tail-call lookup engines use.
  EXPECT_EQ(prog_array_lookup(m.get(), 0), e1.get());
  EXPECT_EQ(prog_array_lookup(m.get(), 1), e2.get());
  EXPECT_EQ(prog_array_lookup(m.get(), 2), nullptr);
  EXPECT_EQ(prog_array_lookup(m.get(), 4), nullptr);
  EXPECT_EQ(prog_array_lookup(m.get(), UINT32_MAX), nullptr);
  vm::RunContext rc_;
  EXPECT_EQ(prog_array_lookup(m.get(), 1)->run(rc_, 0), 2u);

  k = 0;
  ASSERT_TRUE(m->delete_elem(&k));
  EXPECT_EQ(rc(m->delete_elem(&k)), -ENOENT);
  EXPECT_EQ(prog_array_lookup(m.get(), 0), nullptr);
  quiesce();
  uint32_t next;
  ASSERT_TRUE(m->get_next_key(nullptr, &next));
  EXPECT_EQ(next, 0u);
  m.reset();  // destruction drops the rest
  EXPECT_EQ(t.total_refs(), 0);
}

TEST(ProgArray, CreationChecks) {
  TestObjectTable t;
  int err;
  create(t, map_attr(BPF_MAP_TYPE_PROG_ARRAY, 4, 8, 4), &err);
  EXPECT_EQ(err, EINVAL);
  create(t, map_attr(BPF_MAP_TYPE_PROG_ARRAY, 4, 4, 4, BPF_F_RDONLY_PROG), &err);
  EXPECT_EQ(err, EINVAL);
  create(t, map_attr(BPF_MAP_TYPE_PROG_ARRAY, 4, 4, 4, BPF_F_MMAPABLE), &err);
  EXPECT_EQ(err, EINVAL);
  create(t, map_attr(BPF_MAP_TYPE_PROG_ARRAY, 4, 4, 0), &err);
  EXPECT_EQ(err, EINVAL);
  create(t, map_attr(BPF_MAP_TYPE_PROG_ARRAY, 8, 4, 4), &err);
  EXPECT_EQ(err, EINVAL);
  // Without an object table the map exists, but fds cannot be stored.
  auto m = make_map(BPF_MAP_TYPE_PROG_ARRAY, 4, 4, 4);
  ASSERT_TRUE(m);
  uint32_t k = 0;
  int32_t fd = 3;
  EXPECT_EQ(rc(m->update(&k, &fd)), -EBADF);
}

// A program that reached a slot (a tail call in flight) keeps it alive until its run ends.
TEST(ProgArray, ReplacedProgramLivesUntilRunsEnd) {
  TestObjectTable t;
  auto e1 = returning(1), e2 = returning(2);
  int p1 = t.add_prog(BPF_PROG_TYPE_XDP, e1.get());
  int p2 = t.add_prog(BPF_PROG_TYPE_XDP, e2.get());
  auto m = create(t, map_attr(BPF_MAP_TYPE_PROG_ARRAY, 4, 4, 1));
  ASSERT_TRUE(m);
  uint32_t k = 0;
  int32_t fd = p1;
  ASSERT_TRUE(m->update(&k, &fd));
  quiesce();
  {
    RunSlot run;
    const vm::Executable* held = prog_array_lookup(m.get(), 0);
    ASSERT_EQ(held, e1.get());
    fd = p2;
    ASSERT_TRUE(m->update(&k, &fd));  // the syscall side never waits for runs
    EXPECT_EQ(prog_array_lookup(m.get(), 0), e2.get());
    ASSERT_TRUE(m->update(&k, &fd));  // drains what it can: p1 is still held by the run
    EXPECT_EQ(t.refs(p1), 1);
  }
  quiesce();
  ASSERT_TRUE(m->delete_elem(&k));  // no run holds p1 or the deleted p2 any more: both go
  EXPECT_EQ(t.refs(p1), 0);
  EXPECT_EQ(t.refs(p2), 0);
  m.reset();
  EXPECT_EQ(t.total_refs(), 0);
}

TEST(ArrayOfMaps, InnerTemplateChecks) {
  TestObjectTable t;
  int hash = t.add_map(make_map(BPF_MAP_TYPE_HASH, 4, 8, 4));
  int hash_big = t.add_map(make_map(BPF_MAP_TYPE_HASH, 4, 8, 40));
  int hash_other_key = t.add_map(make_map(BPF_MAP_TYPE_HASH, 8, 8, 4));
  int hash_no_prealloc = t.add_map(make_map(BPF_MAP_TYPE_HASH, 4, 8, 4, BPF_F_NO_PREALLOC));
  int hash_rdonly = t.add_map(make_map(BPF_MAP_TYPE_HASH, 4, 8, 4, BPF_F_RDONLY));
  int prog_array = t.add_map(make_map(BPF_MAP_TYPE_PROG_ARRAY, 4, 4, 4));
  int a = t.add_map(make_map(BPF_MAP_TYPE_ARRAY, 4, 8, 4));
  int a9 = t.add_map(make_map(BPF_MAP_TYPE_ARRAY, 4, 8, 9));
  int a_inner = t.add_map(make_map(BPF_MAP_TYPE_ARRAY, 4, 8, 4, BPF_F_INNER_MAP));
  int a_inner9 = t.add_map(make_map(BPF_MAP_TYPE_ARRAY, 4, 8, 9, BPF_F_INNER_MAP));
  auto attr = [](uint32_t type, int inner, uint32_t value_size = 4, uint32_t flags = 0) {
    union bpf_attr x = map_attr(type, 4, value_size, 2, flags);
    x.inner_map_fd = static_cast<uint32_t>(inner);
    return x;
  };
  int err;
  create(t, attr(BPF_MAP_TYPE_ARRAY_OF_MAPS, 999), &err);
  EXPECT_EQ(err, EBADF);
  create(t, attr(BPF_MAP_TYPE_ARRAY_OF_MAPS, 999, 8), &err);
  EXPECT_EQ(err, EINVAL);  // attributes before the fd
  create(t, attr(BPF_MAP_TYPE_ARRAY_OF_MAPS, TestObjectTable::kNotBpf), &err);
  EXPECT_EQ(err, EINVAL);
  create(t, attr(BPF_MAP_TYPE_ARRAY_OF_MAPS, prog_array), &err);
  EXPECT_EQ(err, kENOTSUPP);
  create(t, attr(BPF_MAP_TYPE_ARRAY_OF_MAPS, hash, 4, BPF_F_RDONLY_PROG), &err);
  EXPECT_EQ(err, EINVAL);
  create(t, attr(BPF_MAP_TYPE_ARRAY_OF_MAPS, hash, 4, BPF_F_INNER_MAP), &err);
  EXPECT_EQ(err, EINVAL);
  EXPECT_FALSE(Map::create(attr(BPF_MAP_TYPE_ARRAY_OF_MAPS, hash)));  // no object table
  auto outer = create(t, attr(BPF_MAP_TYPE_ARRAY_OF_MAPS, hash));
  ASSERT_TRUE(outer);
  EXPECT_EQ(t.refs(hash), 0);  // the template is not held
  int nested = t.add_map(outer);
  create(t, attr(BPF_MAP_TYPE_HASH_OF_MAPS, nested), &err);
  EXPECT_EQ(err, EINVAL);  // one level only

  uint32_t k = 0, id = 0;
  auto put = [&](int fd) {
    int32_t v = fd;
    return rc(outer->update(&k, &v));
  };
  EXPECT_EQ(put(hash), 0);
  EXPECT_EQ(put(hash_big), 0);     // hash maps may differ in max_entries
  EXPECT_EQ(put(hash_rdonly), 0);  // fd permissions are not map flags
  EXPECT_EQ(put(hash_other_key), -EINVAL);
  EXPECT_EQ(put(hash_no_prealloc), -EINVAL);
  EXPECT_EQ(put(a), -EINVAL);
  EXPECT_EQ(put(nested), -EINVAL);
  EXPECT_EQ(put(999), -EBADF);
  ASSERT_TRUE(outer->lookup(&k, &id));
  EXPECT_EQ(id, t.id(hash_rdonly));

  // Arrays must match max_entries unless the template has BPF_F_INNER_MAP.
  auto of_arrays = create(t, attr(BPF_MAP_TYPE_ARRAY_OF_MAPS, a));
  auto of_inner_arrays = create(t, attr(BPF_MAP_TYPE_ARRAY_OF_MAPS, a_inner));
  ASSERT_TRUE(of_arrays && of_inner_arrays);
  int32_t v = a;
  EXPECT_EQ(rc(of_arrays->update(&k, &v)), 0);
  v = a9;
  EXPECT_EQ(rc(of_arrays->update(&k, &v)), -EINVAL);
  v = a_inner9;
  EXPECT_EQ(rc(of_inner_arrays->update(&k, &v)), 0);
  v = a_inner;
  EXPECT_EQ(rc(of_inner_arrays->update(&k, &v)), 0);

  // The template the verifier types inner lookups with (bpf_map_meta_alloc): the inner_map_fd
  // map's attributes, without its name, storage or fd permissions; kept by a handle attached to
  // the same storage. Other maps have none.
  const Map* meta = of_inner_arrays->inner_map_meta();
  ASSERT_NE(meta, nullptr);
  EXPECT_TRUE(meta->is_inner_map_meta());
  EXPECT_EQ(meta->type(), uint32_t(BPF_MAP_TYPE_ARRAY));
  EXPECT_EQ(meta->key_size(), 4u);
  EXPECT_EQ(meta->value_size(), 8u);
  EXPECT_EQ(meta->max_entries(), 4u);
  EXPECT_EQ(meta->map_flags(), uint32_t(BPF_F_INNER_MAP));
  EXPECT_EQ(meta->name()[0], 0);
  EXPECT_EQ(meta->inline_array(), nullptr);
  EXPECT_EQ(meta->inner_map_meta(), nullptr);
  EXPECT_EQ(outer->inner_map_meta()->map_flags(), 0u);  // hash_rdonly's BPF_F_RDONLY is the fd's
  EXPECT_EQ(outer->inner_map_meta()->type(), uint32_t(BPF_MAP_TYPE_HASH));
  EXPECT_FALSE(outer->is_inner_map_meta());
  EXPECT_EQ(make_map(BPF_MAP_TYPE_ARRAY, 4, 8, 4)->inner_map_meta(), nullptr);
  auto again = Map::attach(of_inner_arrays->memfd(), &t);
  ASSERT_TRUE(again);
  ASSERT_NE((*again)->inner_map_meta(), nullptr);
  EXPECT_EQ((*again)->inner_map_meta()->max_entries(), 4u);
  EXPECT_EQ((*again)->inner_map_meta()->map_flags(), uint32_t(BPF_F_INNER_MAP));

  // An inner map's bpf_spin_lock is part of the template (btf_record_equal).
  CreateOptions locked;
  locked.spin_lock_off = 0;
  auto with_lock = Map::create(map_attr(BPF_MAP_TYPE_HASH, 4, 8, 4), locked);
  ASSERT_TRUE(with_lock);
  int h_lock = t.add_map(*with_lock);
  auto of_locked = create(t, attr(BPF_MAP_TYPE_HASH_OF_MAPS, h_lock));
  ASSERT_TRUE(of_locked);
  EXPECT_EQ(of_locked->inner_map_meta()->spin_lock_off(), 0);
  v = hash;
  EXPECT_EQ(rc(of_locked->update(&k, &v)), -EINVAL);
  v = h_lock;
  EXPECT_EQ(rc(outer->update(&k, &v)), -EINVAL);
  EXPECT_EQ(rc(of_locked->update(&k, &v)), 0);
}

// What bpf_map_lookup_elem gives a program: the inner Map, usable with the map helpers.
TEST(ArrayOfMaps, ProgramLookupReturnsTheInnerMap) {
  TestObjectTable t;
  auto inner = make_map(BPF_MAP_TYPE_HASH, 4, 8, 4);
  int fd = t.add_map(inner);
  union bpf_attr x = map_attr(BPF_MAP_TYPE_ARRAY_OF_MAPS, 4, 4, 3);
  x.inner_map_fd = static_cast<uint32_t>(fd);
  auto outer = create(t, x);
  ASSERT_TRUE(outer);
  uint32_t k = 1;
  int32_t v = fd;
  ASSERT_TRUE(outer->update(&k, &v));
  uint64_t val = 77;
  uint32_t ik = 5;
  ASSERT_TRUE(inner->update(&ik, &val));
  {
    RunSlot run;
    auto* got = static_cast<Map*>(outer->prog_lookup(&k, run.cpu()));
    ASSERT_EQ(got, inner.get());
    auto* pv = static_cast<uint64_t*>(got->prog_lookup(&ik, run.cpu()));
    ASSERT_NE(pv, nullptr);
    EXPECT_EQ(*pv, 77u);
    k = 0;
    EXPECT_EQ(outer->prog_lookup(&k, run.cpu()), nullptr);
    k = 3;
    EXPECT_EQ(outer->prog_lookup(&k, run.cpu()), nullptr);
  }
  k = 1;
  EXPECT_EQ(rc(outer->update(&k, &v, BPF_NOEXIST)), -EINVAL);
  ASSERT_TRUE(outer->delete_elem(&k));
  EXPECT_EQ(rc(outer->delete_elem(&k)), -ENOENT);
  k = 3;
  EXPECT_EQ(rc(outer->delete_elem(&k)), -E2BIG);
  outer.reset();
  EXPECT_EQ(t.refs(fd), 0);
}

TEST(HashOfMaps, FdsInIdsOutWithHashFlags) {
  TestObjectTable t;
  int h1 = t.add_map(make_map(BPF_MAP_TYPE_HASH, 4, 8, 4));
  int h2 = t.add_map(make_map(BPF_MAP_TYPE_HASH, 4, 8, 4));
  union bpf_attr x = map_attr(BPF_MAP_TYPE_HASH_OF_MAPS, 4, 4, 2);
  x.inner_map_fd = static_cast<uint32_t>(h1);
  auto m = create(t, x);
  ASSERT_TRUE(m);
  uint32_t k = 1, id = 0;
  int32_t v = h1;
  ASSERT_TRUE(m->update(&k, &v));
  EXPECT_EQ(rc(m->update(&k, &v, BPF_NOEXIST)), -EEXIST);
  v = 999;
  EXPECT_EQ(rc(m->update(&k, &v, BPF_NOEXIST)), -EBADF);  // the fd before the flags
  v = h1;
  EXPECT_EQ(rc(m->update(&k, &v, 7)), -EINVAL);
  k = 2;
  EXPECT_EQ(rc(m->update(&k, &v, BPF_EXIST)), -ENOENT);
  ASSERT_TRUE(m->update(&k, &v));
  k = 3;
  EXPECT_EQ(rc(m->update(&k, &v)), -E2BIG);
  EXPECT_EQ(t.refs(h1), 2);
  k = 1;
  v = h2;
  ASSERT_TRUE(m->update(&k, &v));  // replace
  ASSERT_TRUE(m->lookup(&k, &id));
  EXPECT_EQ(id, t.id(h2));
  EXPECT_EQ(rc(m->lookup_and_delete(&k, &id)), -kENOTSUPP);
  quiesce();
  k = 9;
  EXPECT_EQ(rc(m->delete_elem(&k)), -ENOENT);  // drains the retired h1 reference
  EXPECT_EQ(t.refs(h1), 1);
  {
    RunSlot run;
    k = 1;
    auto* inner = static_cast<Map*>(m->prog_lookup(&k, run.cpu()));
    ASSERT_NE(inner, nullptr);
    ASSERT_TRUE(m->delete_elem(&k));
    EXPECT_EQ(t.refs(h2), 1);  // still held for the run
    uint32_t ik = 0;
    uint64_t val = 5;
    EXPECT_EQ(inner->prog_update(&ik, &val, BPF_ANY, run.cpu()), 0);  // still usable
  }
  // Batches see ids.
  uint32_t keys[4], ids[4], count = 4, out_batch = 0;
  Status st = m->lookup_batch(nullptr, &out_batch, keys, ids, &count);
  EXPECT_EQ(st.err(), ENOENT);
  ASSERT_EQ(count, 1u);
  EXPECT_EQ(keys[0], 2u);
  EXPECT_EQ(ids[0], t.id(h1));
  count = 4;
  st = m->lookup_batch(nullptr, &out_batch, keys, ids, &count, 0, /*and_delete=*/true);
  EXPECT_EQ(count, 1u);
  EXPECT_EQ(rc(m->lookup(&keys[0], &id)), -ENOENT);
  m.reset();
  EXPECT_EQ(t.total_refs(), 0);
}

// Many replaces while a run holds inner maps: slots are recycled once runs end, never while held.
TEST(HashOfMaps, ChurnRecyclesSlots) {
  TestObjectTable t;
  std::vector<int> fds;
  for (int i = 0; i < 4; ++i) fds.push_back(t.add_map(make_map(BPF_MAP_TYPE_ARRAY, 4, 4, 1)));
  union bpf_attr x = map_attr(BPF_MAP_TYPE_HASH_OF_MAPS, 4, 4, 8);
  x.inner_map_fd = static_cast<uint32_t>(fds[0]);
  auto m = create(t, x);
  ASSERT_TRUE(m);
  for (uint32_t i = 0; i < 10000; ++i) {
    uint32_t k = i % 8;
    int32_t v = fds[i % 4];
    ASSERT_TRUE(m->update(&k, &v)) << i;
  }
  int held = 0;
  for (int fd : fds) held += t.refs(fd);
  EXPECT_GE(held, 8);
  m.reset();
  EXPECT_EQ(t.total_refs(), 0);
}

// Another process attaching a map that holds objects (a pinned map) finds them through the
// object table's ids: the tail-call table and the inner maps work on its program side, its own
// inserts take free slots only, and dropping its Map leaves the creator's contents alone.
TEST(FdMaps, AttachedMapsResolveIdsThroughTheObjectTable) {
  TestObjectTable t;
  auto e1 = returning(1);
  int p1 = t.add_prog(BPF_PROG_TYPE_XDP, e1.get());
  auto inner = make_map(BPF_MAP_TYPE_ARRAY, 4, 4, 1);
  int im = t.add_map(inner);
  auto progs = create(t, map_attr(BPF_MAP_TYPE_PROG_ARRAY, 4, 4, 4));
  union bpf_attr aa = map_attr(BPF_MAP_TYPE_ARRAY_OF_MAPS, 4, 4, 2);
  aa.inner_map_fd = static_cast<uint32_t>(im);
  auto arr = create(t, aa);
  union bpf_attr ha = map_attr(BPF_MAP_TYPE_HASH_OF_MAPS, 4, 4, 4);
  ha.inner_map_fd = static_cast<uint32_t>(im);
  auto hom = create(t, ha);
  ASSERT_TRUE(progs && arr && hom);
  uint32_t k = 2;
  int32_t fd = p1;
  ASSERT_TRUE(progs->update(&k, &fd));
  fd = im;
  ASSERT_TRUE(arr->update(&(k = 1), &fd));
  ASSERT_TRUE(hom->update(&(k = 7), &fd));
  int refs = t.refs(im);
  {
    auto progs2 = Map::attach(progs->memfd(), &t);
    auto arr2 = Map::attach(arr->memfd(), &t);
    auto hom2 = Map::attach(hom->memfd(), &t);
    ASSERT_TRUE(progs2 && arr2 && hom2);
    EXPECT_EQ(prog_array_lookup(progs2->get(), 2), e1.get());
    EXPECT_EQ(prog_array_lookup(progs2->get(), 1), nullptr);
    EXPECT_EQ(t.refs(p1), 2);
    RunSlot run;
    k = 1;
    EXPECT_EQ((*arr2)->prog_lookup(&k, run.cpu()), inner.get());
    k = 7;
    EXPECT_EQ((*hom2)->prog_lookup(&k, run.cpu()), inner.get());
    EXPECT_EQ(t.refs(im), refs + 2);
  }
  quiesce();
  EXPECT_EQ(t.refs(p1), 1);
  EXPECT_EQ(t.refs(im), refs);
  uint32_t out = 0;
  ASSERT_TRUE(progs->lookup(&(k = 2), &out));  // the creator's ids are untouched
  EXPECT_EQ(out, t.id(p1));
  ASSERT_TRUE(hom->lookup(&(k = 7), &out));
  EXPECT_EQ(out, t.id(im));
  {  // an insert through an attached HASH_OF_MAPS takes a slot nobody uses
    auto hom2 = Map::attach(hom->memfd(), &t);
    ASSERT_TRUE(hom2);
    ASSERT_TRUE((*hom2)->update(&(k = 8), &fd));
    RunSlot run;
    EXPECT_EQ(hom->prog_lookup(&(k = 7), run.cpu()), inner.get());
  }
  quiesce();
}

// Two handles on one storage (what two processes sharing a pinned map have): slots the other
// handle changes after attach reach this handle's programs (ids resolved lazily through the
// object table), and HASH_OF_MAPS inserts through either handle never take the same slot.
TEST(FdMaps, SlotsChangedThroughAnotherHandleAfterAttach) {
  TestObjectTable t;
  auto e1 = returning(1), e2 = returning(2);
  int p1 = t.add_prog(BPF_PROG_TYPE_XDP, e1.get());
  int p2 = t.add_prog(BPF_PROG_TYPE_XDP, e2.get());
  std::shared_ptr<Map> inner[3];
  int im[3];
  for (int i = 0; i < 3; ++i) im[i] = t.add_map(inner[i] = make_map(BPF_MAP_TYPE_ARRAY, 4, 4, 1));
  auto progs = create(t, map_attr(BPF_MAP_TYPE_PROG_ARRAY, 4, 4, 4));
  union bpf_attr aa = map_attr(BPF_MAP_TYPE_ARRAY_OF_MAPS, 4, 4, 2);
  aa.inner_map_fd = static_cast<uint32_t>(im[0]);
  auto arr = create(t, aa);
  union bpf_attr ha = map_attr(BPF_MAP_TYPE_HASH_OF_MAPS, 4, 4, 4);
  ha.inner_map_fd = static_cast<uint32_t>(im[0]);
  auto hom = create(t, ha);
  ASSERT_TRUE(progs && arr && hom);
  uint32_t k = 0;
  int32_t fd = p1;
  ASSERT_TRUE(progs->update(&k, &fd));
  ASSERT_TRUE(arr->update(&k, &im[0]));
  ASSERT_TRUE(hom->update(&k, &im[0]));
  {
    auto progs2 = Map::attach(progs->memfd(), &t);
    auto arr2 = Map::attach(arr->memfd(), &t);
    auto hom2 = Map::attach(hom->memfd(), &t);
    ASSERT_TRUE(progs2 && arr2 && hom2);
    // Changed through the first handle after the attach.
    ASSERT_TRUE(progs->update(&k, &(fd = p2)));
    ASSERT_TRUE(progs->update(&(k = 1), &(fd = p1)));
    ASSERT_TRUE(arr->update(&(k = 0), &im[1]));
    ASSERT_TRUE(arr->update(&(k = 1), &im[2]));
    ASSERT_TRUE(hom->update(&(k = 0), &im[1]));
    ASSERT_TRUE(hom->update(&(k = 5), &im[2]));
    // Inserted through the second: a slot of its own.
    ASSERT_TRUE((*hom2)->update(&(k = 6), &im[0]));
    {
      RunSlot run;
      EXPECT_EQ(prog_array_lookup(progs2->get(), 0), e2.get());
      EXPECT_EQ(prog_array_lookup(progs2->get(), 1), e1.get());
      EXPECT_EQ((*arr2)->prog_lookup(&(k = 0), run.cpu()), inner[1].get());
      EXPECT_EQ((*arr2)->prog_lookup(&(k = 1), run.cpu()), inner[2].get());
      EXPECT_EQ((*hom2)->prog_lookup(&(k = 0), run.cpu()), inner[1].get());
      EXPECT_EQ((*hom2)->prog_lookup(&(k = 5), run.cpu()), inner[2].get());
      EXPECT_EQ((*hom2)->prog_lookup(&(k = 6), run.cpu()), inner[0].get());
      EXPECT_EQ(hom->prog_lookup(&(k = 5), run.cpu()), inner[2].get());
      EXPECT_EQ(hom->prog_lookup(&(k = 6), run.cpu()), inner[0].get());
    }
    // Deleted through the first handle: gone for the second's programs too.
    ASSERT_TRUE(arr->delete_elem(&(k = 1)));
    ASSERT_TRUE(progs->delete_elem(&(k = 0)));
    ASSERT_TRUE(hom->delete_elem(&(k = 5)));
    RunSlot run;
    EXPECT_EQ((*arr2)->prog_lookup(&(k = 1), run.cpu()), nullptr);
    EXPECT_EQ(prog_array_lookup(progs2->get(), 0), nullptr);
    EXPECT_EQ((*hom2)->prog_lookup(&(k = 5), run.cpu()), nullptr);
  }
  quiesce();
  // The second handle's references are all dropped: p1 is held by the first's slot 1, im[0] by
  // the first's lookup of key 6 (resolved from the id the second stored).
  EXPECT_EQ(t.refs(p1), 1);
  EXPECT_EQ(t.refs(im[0]), 1);
  progs.reset();
  arr.reset();
  hom.reset();
  quiesce();
  EXPECT_EQ(t.total_refs(), 0);
}

}  // namespace
}  // namespace bpfbox::maps::testing
