// Tail calls end to end through the maps layer's PROG_ARRAY (maps::prog_array_lookup): slots
// updated and deleted between runs, the limit of 33 through a real array, both engines.
#include <gtest/gtest.h>

#include <memory>
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
    h.set_tail_call_lookup(&maps::prog_array_lookup);
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

INSTANTIATE_TEST_SUITE_P(Engines, ProgArrayTailCall,
                         ::testing::Values(EngineKind::Interp, EngineKind::Jit),
                         [](const ::testing::TestParamInfo<EngineKind>& i) {
                           return i.param == EngineKind::Interp ? "interp" : "jit";
                         });

}  // namespace
}  // namespace bpfbox::vm::jit::test
