// The front's passes on an Env, one at a time: what they record for the passes after them
// (subprograms, maps, prune points) and the refusals the kernel cannot show here (unprivileged
// back-edges need an unprivileged loader).
#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include "bpfbox/maps.hpp"
#include "isa/assembler.hpp"
#include "verifier/env.hpp"
#include "verifier/passes.hpp"

namespace bpfbox::verifier {
namespace {

std::vector<struct bpf_insn> assemble(const char* text) {
  auto r = isa::assemble(text);
  EXPECT_TRUE(r.is_ok()) << r.status().message();
  return r.is_ok() ? r.value() : std::vector<struct bpf_insn>{};
}

struct Fixture {
  Options opts;
  Env env{opts};
  explicit Fixture(const char* text, bool privileged = true) {
    opts.load.prog_type = BPF_PROG_TYPE_SOCKET_FILTER;
    opts.load.privileged = privileged;
    env.insns = assemble(text);
    env.aux.resize(env.insns.size());
    EXPECT_TRUE(env.log.init(1, 4096).is_ok());
  }
  Status front() {
    if (Status st = check_program(env); !st) return st;
    if (Status st = check_subprogs(env); !st) return st;
    if (Status st = resolve_pseudo_ldimm64(env); !st) return st;
    return check_cfg(env);
  }
};

std::shared_ptr<maps::Map> make_array(uint32_t value_size, uint32_t entries) {
  union bpf_attr attr;
  std::memset(&attr, 0, sizeof attr);
  attr.map_type = BPF_MAP_TYPE_ARRAY;
  attr.key_size = 4;
  attr.value_size = value_size;
  attr.max_entries = entries;
  auto m = maps::Map::create(attr);
  EXPECT_TRUE(m.is_ok()) << m.status().message();
  return m.is_ok() ? m.value() : nullptr;
}

TEST(FrontPasses, SubprogramsFromCallsAndCallbacks) {
  Fixture f(R"(
    call f1
    r1 = 4
    r2 = subprog[f2]
    r3 = 0
    r4 = 0
    call bpf_loop
    r0 = 0
    exit
  f1:
    r0 = 1
    exit
  f2:
    r0 = 0
    exit
  )");
  ASSERT_TRUE(f.front().is_ok()) << f.env.log.contents();
  ASSERT_EQ(f.env.subprogs.size(), 3u);
  EXPECT_EQ(f.env.subprogs[0].start, 0u);
  EXPECT_EQ(f.env.subprogs[1].start, 9u);
  EXPECT_EQ(f.env.subprogs[2].start, 11u);
  EXPECT_EQ(f.env.aux[2].ptr_type, PTR_TO_FUNC);  // the callback's lddw
  EXPECT_TRUE(f.env.aux[6].calls_callback);       // bpf_loop
  EXPECT_TRUE(f.env.aux[1].prune_point);          // after the call
}

TEST(FrontPasses, TailCallAndLdAbsMarkTheirSubprogram) {
  Fixture f(R"(
    r6 = r1
    call f1
    r0 = 0
    exit
  f1:
    r1 = r6
    r2 = 0
    r3 = 0
    call bpf_tail_call
    r0 = 0
    exit
  )");
  ASSERT_TRUE(f.front().is_ok()) << f.env.log.contents();
  ASSERT_EQ(f.env.subprogs.size(), 2u);
  EXPECT_FALSE(f.env.subprogs[0].has_tail_call);
  EXPECT_TRUE(f.env.subprogs[1].has_tail_call);
}

// As the kernel's visit_insn(): a conditional jump is a prune point, its target a prune and jmp
// point (the jump itself is no jmp point: the kernel's jmp history would count it).
TEST(FrontPasses, ConditionalJumpsArePrunePointsTheirTargetsJmpPoints) {
  Fixture f(R"(
    r0 = 0
    if r0 > 3 goto out
    r0 = 1
  out:
    exit
  )");
  ASSERT_TRUE(f.front().is_ok());
  EXPECT_TRUE(f.env.aux[1].prune_point);
  EXPECT_FALSE(f.env.aux[1].jmp_point);
  EXPECT_FALSE(f.env.aux[2].prune_point);
  EXPECT_TRUE(f.env.aux[3].prune_point);
  EXPECT_TRUE(f.env.aux[3].jmp_point);
}

TEST(FrontPasses, LoopsAreAllowedWhenPrivileged) {
  Fixture f(R"(
    r0 = 0
  loop:
    r0 += 1
    if r0 < 10 goto loop
    exit
  )");
  ASSERT_TRUE(f.front().is_ok()) << f.env.log.contents();
  EXPECT_TRUE(f.env.aux[1].prune_point);  // the loop head: where the core compares states
}

TEST(FrontPasses, BackEdgeRefusedWhenUnprivileged) {
  // The kernel's check_cfg() for !bpf_capable(); the running kernel cannot show it while
  // kernel.unprivileged_bpf_disabled is set.
  Fixture f(R"(
    r0 = 0
  loop:
    r0 += 1
    if r0 < 10 goto loop
    exit
  )",
            false);
  const Status st = f.front();
  EXPECT_EQ(st.err(), EINVAL);
  EXPECT_EQ(f.env.log.contents(), "back-edge from insn 2 to 1\n");
  EXPECT_EQ(f.env.refusal.rule, Rule::BackEdge);
  EXPECT_EQ(f.env.refusal.pc, 2u);
}

TEST(FrontPasses, BpfToBpfCallsNeedCapBpf) {
  Fixture f(R"(
    call f1
    exit
  f1:
    r0 = 0
    exit
  )",
            false);
  EXPECT_EQ(f.front().err(), EPERM);
  EXPECT_EQ(f.env.log.contents(),
            "loading/calling other bpf or kernel functions are allowed for CAP_BPF and "
            "CAP_SYS_ADMIN\n");
}

TEST(FrontPasses, MapsResolvedOncePerProgram) {
  auto a = make_array(64, 4);
  auto b = make_array(8, 1);
  ASSERT_TRUE(a && b);
  Fixture f(R"(
    r1 = map[fd:3]
    r2 = map[fd:4][0]+4
    r3 = map[fd:3]
    r0 = 0
    exit
  )");
  f.opts.map_by_fd = [&](int fd) -> Result<std::shared_ptr<maps::Map>> {
    if (fd == 3) return a;
    if (fd == 4) return b;
    return Status(EBADF, "no map");
  };
  ASSERT_TRUE(f.front().is_ok()) << f.env.log.contents();
  ASSERT_EQ(f.env.used_maps.size(), 2u);
  EXPECT_EQ(f.env.used_maps[0], a);
  EXPECT_EQ(f.env.aux[0].map_ptr, a.get());
  EXPECT_EQ(f.env.aux[2].map_ptr, b.get());
  EXPECT_EQ(f.env.aux[2].map_off, 4u);
  EXPECT_EQ(f.env.aux[4].map_ptr, a.get());
}

TEST(FrontPasses, DirectValueAccessNeedsASingleElementArray) {
  auto a = make_array(64, 4);
  ASSERT_TRUE(a);
  Fixture f(R"(
    r2 = map[fd:3][0]+4
    r0 = 0
    exit
  )");
  f.opts.map_by_fd = [&](int) -> Result<std::shared_ptr<maps::Map>> { return a; };
  EXPECT_EQ(f.front().err(), maps::kENOTSUPP);
  EXPECT_EQ(f.env.log.contents(), "invalid access to map value pointer, value_size=64 off=4\n");
}

TEST(FrontPasses, DirectValueOffsetInsideTheValue) {
  auto b = make_array(8, 1);
  ASSERT_TRUE(b);
  Fixture f(R"(
    r2 = map[fd:3][0]+8
    r0 = 0
    exit
  )");
  f.opts.map_by_fd = [&](int) -> Result<std::shared_ptr<maps::Map>> { return b; };
  EXPECT_EQ(f.front().err(), EINVAL);
  EXPECT_EQ(f.env.log.contents(), "invalid access to map value pointer, value_size=8 off=8\n");
}

TEST(FrontPasses, FdArrayIndexes) {
  auto a = make_array(16, 2);
  ASSERT_TRUE(a);
  const int32_t fds[] = {7, 9};
  Fixture f(R"(
    r1 = map[idx:1]
    r0 = 0
    exit
  )");
  f.opts.fd_array = fds;
  int asked = -1;
  f.opts.map_by_fd = [&](int fd) -> Result<std::shared_ptr<maps::Map>> {
    asked = fd;
    return a;
  };
  ASSERT_TRUE(f.front().is_ok());
  EXPECT_EQ(asked, 9);
}

TEST(FrontPasses, ProgramSizeLimits) {
  std::string big;
  for (int i = 0; i < 4096; ++i) big += "r0 = 0\n";
  big += "exit\n";
  Fixture unpriv(big.c_str(), false);
  EXPECT_EQ(check_program(unpriv.env).err(), E2BIG);  // 4097 > BPF_MAXINSNS
  Fixture priv(big.c_str(), true);
  EXPECT_TRUE(check_program(priv.env).is_ok());
  Fixture empty("", true);
  EXPECT_EQ(check_program(empty.env).err(), E2BIG);
}

}  // namespace
}  // namespace bpfbox::verifier
