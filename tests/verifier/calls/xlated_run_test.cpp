// The rewrite end to end: a verified program's xlated form, compiled by each engine and run
// through the program type's TEST_RUN, gives what the kernel's BPF_PROG_TEST_RUN gives for the
// same program, maps and packet — with context accesses converted and ARRAY lookups inlined.
#include <sys/syscall.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include "bpfbox/prog_type.hpp"
#include "bpfbox/vm.hpp"
#include "calls_harness.hpp"
#include "kernel_bpf.hpp"

namespace bpfbox::calls_test {
namespace {

int kernel_map_update(int fd, const void* key, const void* value) {
  union bpf_attr attr;
  std::memset(&attr, 0, sizeof attr);
  attr.map_fd = static_cast<uint32_t>(fd);
  attr.key = reinterpret_cast<uint64_t>(key);
  attr.value = reinterpret_cast<uint64_t>(value);
  return syscall(__NR_bpf, BPF_MAP_UPDATE_ELEM, &attr, sizeof attr) < 0 ? errno : 0;
}

// r0 = map[packet[0]] (a u64), or 100 when the index is outside the array.
const char* const kLookupByFirstByte =
    "r2 = *(u32 *)(r1 +0)\n"
    "r3 = *(u32 *)(r1 +4)\n"
    "r4 = r2\n"
    "r4 += 1\n"
    "if r4 > r3 goto miss\n"
    "r5 = *(u8 *)(r2 +0)\n"
    "*(u32 *)(r10 -4) = r5\n"
    "r2 = r10\n"
    "r2 += -4\n"
    "r1 = map[0]\n"
    "call bpf_map_lookup_elem\n"
    "if r0 == 0 goto miss\n"
    "r0 = *(u64 *)(r0 +0)\n"
    "exit\n"
    "miss: r0 = 100\n"
    "exit\n";

uint32_t bpfbox_run(const verifier::Program& prog, vm::EngineKind engine,
                    const std::vector<uint8_t>& packet) {
  auto exe = vm::compile(engine, prog.xlated, prog.helpers);
  EXPECT_TRUE(exe.is_ok()) << exe.status().message();
  if (!exe.is_ok()) return ~0u;
  const ProgTypeOps* ops = prog_type_ops(BPF_PROG_TYPE_XDP);
  TestRunProgram p{exe.value().get(), BPF_PROG_TYPE_XDP, 0};
  TestRunArgs args;
  args.data_in = packet;
  TestRunResult result;
  const Status st = ops->test_run(p, args, result);
  EXPECT_TRUE(st.is_ok()) << st.message();
  return result.retval;
}

TEST(XlatedRun, InlinedArrayLookupMatchesTheKernel) {
  Harness h(BPF_PROG_TYPE_XDP, {{BPF_MAP_TYPE_ARRAY, 4, 8, 4}});
  for (uint32_t k = 0; k < 4; ++k) {
    const uint64_t v = 7 + 10 * k;
    ASSERT_TRUE(h.map(0)->update(&k, &v).is_ok());
  }
  verifier::Program prog;
  const Outcome b = h.bpfbox(kLookupByFirstByte, &prog);
  ASSERT_EQ(b.err, 0) << b.log;

  // The lookup is inlined: no call of bpf_map_lookup_elem is left, and no map lddw either.
  for (size_t i = 0; i < prog.xlated.size(); ++i) {
    const struct bpf_insn& insn = prog.xlated[i];
    EXPECT_FALSE(insn.code == (BPF_JMP | BPF_CALL) && insn.imm == BPF_FUNC_map_lookup_elem)
        << "insn " << i;
    EXPECT_FALSE(insn.code == (BPF_LD | BPF_IMM | BPF_DW) && insn.src_reg != 0) << "insn " << i;
    if (insn.code == (BPF_LD | BPF_IMM | BPF_DW)) ++i;
  }
  ASSERT_EQ(prog.orig_index.size(), prog.xlated.size());
  ASSERT_EQ(prog.maps.size(), 1u);

  std::string why;
  const bool have_kernel = h.kernel("r0 = 0\nexit\n", &why).has_value();
  testsupport::KernelProgram kprog;
  if (have_kernel) {
    for (uint32_t k = 0; k < 4; ++k) {
      const uint64_t v = 7 + 10 * k;
      ASSERT_EQ(kernel_map_update(h.kernel_map_fd(0), &k, &v), 0);
    }
    std::vector<struct bpf_insn> insns = h.assemble(kLookupByFirstByte);
    // The harness's kernel form of map[0].
    for (size_t i = 0; i + 1 < insns.size(); ++i)
      if (insns[i].code == (BPF_LD | BPF_IMM | BPF_DW) && insns[i + 1].imm == 0x7eadbeef) {
        insns[i].src_reg = BPF_PSEUDO_MAP_FD;
        insns[i].imm = h.kernel_map_fd(0);
        insns[i + 1].imm = 0;
      }
    auto loaded = testsupport::kernel_load(BPF_PROG_TYPE_XDP, insns);
    ASSERT_TRUE(loaded.is_ok()) << loaded.status().message();
    kprog = std::move(loaded.value());
  } else {
    std::printf("[ kernel  ] not compared: %s\n", why.c_str());
  }

  for (uint8_t first : {0, 1, 2, 3, 4, 9, 255}) {
    std::vector<uint8_t> packet(64, 0xab);
    packet[0] = first;
    const uint32_t expect = first < 4 ? 7 + 10 * first : 100;
    EXPECT_EQ(bpfbox_run(prog, vm::EngineKind::Interp, packet), expect) << int(first);
    EXPECT_EQ(bpfbox_run(prog, vm::EngineKind::Jit, packet), expect) << int(first);
    if (have_kernel) {
      auto r = testsupport::kernel_test_run(kprog, packet);
      ASSERT_TRUE(r.is_ok()) << r.status().message();
      EXPECT_EQ(r.value().retval, expect) << int(first);
    }
  }
}

TEST(XlatedRun, HashLookupCallsTheHelper) {
  Harness h(BPF_PROG_TYPE_XDP, {{BPF_MAP_TYPE_HASH, 4, 8, 16}});
  const uint32_t k = 2;
  const uint64_t v = 42;
  ASSERT_TRUE(h.map(0)->update(&k, &v).is_ok());
  verifier::Program prog;
  const Outcome b = h.bpfbox(kLookupByFirstByte, &prog);
  ASSERT_EQ(b.err, 0) << b.log;
  bool calls_lookup = false;
  for (const struct bpf_insn& insn : prog.xlated)
    calls_lookup |= insn.code == (BPF_JMP | BPF_CALL) && insn.imm == BPF_FUNC_map_lookup_elem;
  EXPECT_TRUE(calls_lookup);
  EXPECT_NE(prog.helpers.get(BPF_FUNC_map_lookup_elem), nullptr);
  std::vector<uint8_t> packet(64, 0);
  packet[0] = 2;
  EXPECT_EQ(bpfbox_run(prog, vm::EngineKind::Interp, packet), 42u);
  packet[0] = 3;
  EXPECT_EQ(bpfbox_run(prog, vm::EngineKind::Jit, packet), 100u);
}

TEST(XlatedRun, DeadCodeIsRemovedAndOrigIndexKept) {
  Harness h(BPF_PROG_TYPE_XDP);
  verifier::Program prog;
  const Outcome b = h.bpfbox(
      "r0 = 1\n"
      "if r0 == 1 goto l\n"
      "r0 = 5\n"  // never reached
      "r0 = 6\n"  // never reached
      "l: r0 = 2\n"
      "exit\n",
      &prog);
  ASSERT_EQ(b.err, 0) << b.log;
  // The always-taken branch is hard-wired, the dead code and the resulting `goto +0` removed.
  ASSERT_EQ(prog.xlated.size(), 3u);
  EXPECT_EQ(prog.xlated[1].imm, 2);
  EXPECT_EQ((std::vector<uint32_t>{0, 4, 5}), prog.orig_index);
}

}  // namespace
}  // namespace bpfbox::calls_test
