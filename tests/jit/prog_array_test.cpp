// Tail calls end to end through the maps layer's PROG_ARRAY (maps::prog_array_lookup): slots
// updated and deleted between runs, the limit of 33 through a real array, both engines.
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "bpfbox/maps.hpp"
#include "jit_harness.hpp"
#include "test_object_table.hpp"

namespace bpfbox::vm::jit::test {
namespace {

std::shared_ptr<maps::Map> prog_array(maps::testing::TestObjectTable& t, uint32_t entries) {
  union bpf_attr a = {};
  a.map_type = BPF_MAP_TYPE_PROG_ARRAY;
  a.key_size = 4;
  a.value_size = 4;
  a.max_entries = entries;
  maps::CreateOptions o;
  o.objects = &t;
  auto m = maps::Map::create(a, o);
  EXPECT_TRUE(m) << m.status().message();
  return m ? *m : nullptr;
}

// ctx[slot] += 1; r2 = map; r3 = index; tail call; return 100 + r0
Prog caller(const maps::Map* map, int32_t index, int16_t slot) {
  Prog p;
  p << I(Op::LdxDW, 0, 1, slot * 8) << I(Op::Add64K, 0, 0, 0, 1) << I(Op::StxDW, 1, 0, slot * 8);
  p.lddw(2, reinterpret_cast<uint64_t>(map));
  p << I(Op::Mov64K, 3, 0, 0, index) << I(Op::Call, 0, 0, 0, BPF_FUNC_tail_call)
    << I(Op::Add64K, 0, 0, 0, 100) << I(Op::Exit);
  return p;
}

class ProgArrayTailCall : public ::testing::TestWithParam<EngineKind> {
 protected:
  std::unique_ptr<Executable> build(const Prog& p) {
    auto exe = compile(GetParam(), p.insns, helpers_, {});
    EXPECT_TRUE(exe) << exe.status().message();
    return exe ? std::move(exe).value() : nullptr;
  }
  uint64_t run(const Executable& e) {
    rc_ = RunContext{};
    return e.run(rc_, reinterpret_cast<uint64_t>(ctx_));
  }
  void set(maps::Map& m, uint32_t key, int32_t fd) {
    ASSERT_TRUE(m.update(&key, &fd)) << "slot " << key;
  }

  HelperTable helpers_ = [] {
    HelperTable h;
    h.set_tail_call_lookup(&maps::prog_array_lookup, &maps::prog_array_slot);
    return h;
  }();
  maps::testing::TestObjectTable table_;
  uint64_t ctx_[4] = {};
  RunContext rc_;
};

TEST_P(ProgArrayTailCall, UpdatesAndDeletesAreSeenByTheNextTailCall) {
  auto m = prog_array(table_, 4);
  ASSERT_TRUE(m);
  Prog one, two;
  one << I(Op::Mov64K, 0, 0, 0, 1) << I(Op::Exit);
  two << I(Op::Mov64K, 0, 0, 0, 2) << I(Op::Exit);
  auto e0 = build(caller(m.get(), 1, 0)), e1 = build(one), e2 = build(two);
  ASSERT_TRUE(e0 && e1 && e2);
  const int fd1 = table_.add_prog(BPF_PROG_TYPE_XDP, e1.get());
  const int fd2 = table_.add_prog(BPF_PROG_TYPE_XDP, e2.get());
  EXPECT_EQ(run(*e0), 100u);  // empty: falls through with r0 = 0
  set(*m, 1, fd1);
  EXPECT_EQ(run(*e0), 1u);
  set(*m, 1, fd2);
  EXPECT_EQ(run(*e0), 2u);
  EXPECT_EQ(rc_.tail_call_cnt, 1u);
  uint32_t key = 1;
  ASSERT_TRUE(m->delete_elem(&key));
  EXPECT_EQ(run(*e0), 100u);
  EXPECT_EQ(rc_.fault.kind, FaultKind::None);
}

TEST_P(ProgArrayTailCall, TheLimitThroughARealArray) {
  auto m = prog_array(table_, 2);
  ASSERT_TRUE(m);
  auto self = build(caller(m.get(), 0, 0));
  ASSERT_TRUE(self);
  set(*m, 0, table_.add_prog(BPF_PROG_TYPE_XDP, self.get()));
  EXPECT_EQ(run(*self), 100u);
  EXPECT_EQ(ctx_[0], 1u + kMaxTailCallCnt);
  EXPECT_EQ(rc_.tail_call_cnt, kMaxTailCallCnt);
  // An index past max_entries falls through.
  auto past = build(caller(m.get(), 2, 1));
  EXPECT_EQ(run(*past), 100u);
  EXPECT_EQ(ctx_[1], 1u);
  EXPECT_EQ(rc_.tail_call_cnt, 0u);
}

// r6 = ctx; ctx[0] += 1; tail call slot `first`, then slot 0; return 100 + r0. Constant indexes,
// or (indirect) the same read from ctx[2] and ctx[3].
Prog two_calls(const maps::Map* map, bool indirect, int32_t first) {
  Prog p;
  p << I(Op::Mov64X, 6, 1) << I(Op::LdxDW, 0, 6, 0) << I(Op::Add64K, 0, 0, 0, 1)
    << I(Op::StxDW, 6, 0, 0);
  for (int k : {2, 3}) {
    p.lddw(2, reinterpret_cast<uint64_t>(map));
    if (indirect)
      p << I(Op::LdxDW, 3, 6, static_cast<int16_t>(k * 8));
    else
      p << I(Op::Mov64K, 3, 0, 0, k == 2 ? first : 0);
    p << I(Op::Call, 0, 0, 0, BPF_FUNC_tail_call);
  }
  p << I(Op::Add64K, 0, 0, 0, 100) << I(Op::Exit);
  return p;
}

TEST_P(ProgArrayTailCall, OnlyTailCallsThatSucceedCount) {
  // As the kernel (tests/sys compares): a program that tries an empty slot or an index past the
  // array, then itself, runs 34 times.
  auto m = prog_array(table_, 2);
  ASSERT_TRUE(m);
  for (bool indirect : {false, true}) {
    for (uint32_t first : {1u, 2u}) {
      SCOPED_TRACE(std::string(indirect ? "indirect" : "constant") + " index, first slot " +
                   std::to_string(first));
      auto e = build(two_calls(m.get(), indirect, static_cast<int32_t>(first)));
      ASSERT_TRUE(e);
      set(*m, 0, table_.add_prog(BPF_PROG_TYPE_XDP, e.get()));
      ctx_[0] = 0, ctx_[2] = first, ctx_[3] = 0;
      EXPECT_EQ(run(*e), 100u);
      EXPECT_EQ(rc_.fault.kind, FaultKind::None);
      EXPECT_EQ(ctx_[0], 1u + kMaxTailCallCnt);
      EXPECT_EQ(rc_.tail_call_cnt, kMaxTailCallCnt);
    }
  }
}

TEST_P(ProgArrayTailCall, AnotherHandlesUpdateIsSeen) {
  // The caller names the array through a second handle (another process attaching it): updates
  // through the first change the shared ids, which the second resolves at the next tail call.
  auto m = prog_array(table_, 2);
  ASSERT_TRUE(m);
  auto m2 = maps::Map::attach(m->memfd(), &table_);
  ASSERT_TRUE(m2);
  Prog one, two;
  one << I(Op::Mov64K, 0, 0, 0, 1) << I(Op::Exit);
  two << I(Op::Mov64K, 0, 0, 0, 2) << I(Op::Exit);
  auto e0 = build(caller(m2->get(), 1, 0)), e1 = build(one), e2 = build(two);
  ASSERT_TRUE(e0 && e1 && e2);
  const int fd1 = table_.add_prog(BPF_PROG_TYPE_XDP, e1.get());
  const int fd2 = table_.add_prog(BPF_PROG_TYPE_XDP, e2.get());
  EXPECT_EQ(run(*e0), 100u);
  set(*m, 1, fd1);
  EXPECT_EQ(run(*e0), 1u);
  EXPECT_EQ(run(*e0), 1u);  // resolved now
  set(*m, 1, fd2);
  EXPECT_EQ(run(*e0), 2u);
  uint32_t key = 1;
  ASSERT_TRUE(m->delete_elem(&key));
  EXPECT_EQ(run(*e0), 100u);
  EXPECT_EQ(run(*e0), 100u);
}

TEST_P(ProgArrayTailCall, TargetInAnotherModeFallsThrough) {
  auto m = prog_array(table_, 2);
  ASSERT_TRUE(m);
  Prog one;
  one << I(Op::Mov64K, 0, 0, 0, 1) << I(Op::Exit);
  auto e0 = build(caller(m.get(), 1, 0));
  ASSERT_TRUE(e0);
  for (ExecOptions o : {ExecOptions{true, 0}, ExecOptions{false, 1u << 20},
                        ExecOptions{false, uint64_t{1} << 40}}) {
    auto e1 = compile(GetParam(), one.insns, helpers_, o);
    ASSERT_TRUE(e1);
    set(*m, 1, table_.add_prog(BPF_PROG_TYPE_XDP, e1->get()));
    EXPECT_EQ(run(*e0), 100u);
    EXPECT_EQ(rc_.tail_call_cnt, 0u);
  }
}

INSTANTIATE_TEST_SUITE_P(Engines, ProgArrayTailCall,
                         ::testing::Values(EngineKind::Interp, EngineKind::Jit),
                         [](const ::testing::TestParamInfo<EngineKind>& i) {
                           return i.param == EngineKind::Interp ? "interp" : "jit";
                         });

}  // namespace
}  // namespace bpfbox::vm::jit::test
