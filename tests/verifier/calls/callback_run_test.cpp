// Callbacks end to end: bpf_loop and bpf_for_each_map_elem programs (with the BTF func_info the
// kernel requires) verified by bpfbox, run on the interpreter and the JIT through XDP TEST_RUN,
// and compared with the kernel's BPF_PROG_TEST_RUN of the same program, BTF and map contents.
#include <sys/syscall.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cstring>
#include <memory>
#include <vector>

#include "bpfbox/maps.hpp"
#include "bpfbox/prog_type.hpp"
#include "bpfbox/verifier.hpp"
#include "bpfbox/vm.hpp"
#include "isa/assembler.hpp"
#include "kernel_bpf.hpp"
#include "xdp_test_run.hpp"
#include "kernel_verifier.hpp"
#include "test_btf.hpp"

namespace bpfbox::calls_test {
namespace {

// The sum of i for i < 5 through a stack counter, times 16, plus bpf_loop's return (5).
const char* const kLoopSum =
    "r1 = 0\n"
    "*(u64 *)(r10 -8) = r1\n"
    "r1 = 5\n"
    "r2 = subprog[cb]\n"
    "r3 = r10\n"
    "r3 += -8\n"
    "r4 = 0\n"
    "call bpf_loop\n"
    "r6 = r0\n"
    "r0 = *(u64 *)(r10 -8)\n"
    "r0 *= 16\n"
    "r0 += r6\n"
    "exit\n"
    "cb:\n"
    "r3 = *(u64 *)(r2 +0)\n"
    "r3 += r1\n"
    "*(u64 *)(r2 +0) = r3\n"
    "r0 = 0\n"
    "if r1 != 3 goto +1\n"
    "r0 = 1\n"  // stops after index 3: 0+1+2+3 = 6, 4 calls
    "exit\n";

// For each element of map 0 (an array of 4 u64): sum += value, value += 1; returns
// sum * 16 + the number of elements visited.
const char* const kForEachSum =
    "r1 = 0\n"
    "*(u64 *)(r10 -8) = r1\n"
    "r1 = map[fd:0]\n"
    "r2 = subprog[cb]\n"
    "r3 = r10\n"
    "r3 += -8\n"
    "r4 = 0\n"
    "call bpf_for_each_map_elem\n"
    "r6 = r0\n"
    "r0 = *(u64 *)(r10 -8)\n"
    "r0 *= 16\n"
    "r0 += r6\n"
    "exit\n"
    "cb:\n"
    "r5 = *(u64 *)(r3 +0)\n"
    "r0 = *(u64 *)(r4 +0)\n"
    "r0 += r5\n"
    "*(u64 *)(r4 +0) = r0\n"
    "r5 += 1\n"
    "*(u64 *)(r3 +0) = r5\n"
    "r0 = 0\n"
    "exit\n";

std::vector<struct bpf_insn> assemble(const char* text) {
  auto r = isa::assemble(text);
  EXPECT_TRUE(r.is_ok()) << r.status().message();
  return r.is_ok() ? r.value() : std::vector<struct bpf_insn>{};
}

struct Case {
  const char* text;
  std::vector<testsupport::FuncDecl> funcs;
  bool with_map = false;
  uint32_t expect = 0;
};

uint32_t run_bpfbox(const verifier::Program& prog, vm::EngineKind engine) {
  const Result<uint32_t> r = testsupport::xdp_test_run_once(prog, engine);
  EXPECT_TRUE(r.is_ok()) << r.status().message();
  return r.is_ok() ? r.value() : ~0u;
}

void check(const Case& c) {
  std::vector<struct bpf_insn> insns = assemble(c.text);
  ASSERT_FALSE(insns.empty());
  const testsupport::ProgBtfBlob btf =
      testsupport::build_prog_btf(c.funcs, {}, BPF_PROG_TYPE_XDP, insns);
  const uint64_t values[4] = {1, 2, 3, 4};

  // bpfbox, on each engine, with a fresh map each time (the callback writes the values).
  for (vm::EngineKind engine : {vm::EngineKind::Interp, vm::EngineKind::Jit}) {
    std::shared_ptr<maps::Map> map;
    if (c.with_map) {
      union bpf_attr attr;
      std::memset(&attr, 0, sizeof attr);
      attr.map_type = BPF_MAP_TYPE_ARRAY;
      attr.key_size = 4;
      attr.value_size = 8;
      attr.max_entries = 4;
      auto made = maps::Map::create(attr);
      ASSERT_TRUE(made.is_ok());
      map = made.value();
      for (uint32_t k = 0; k < 4; ++k) ASSERT_TRUE(map->update(&k, &values[k]).is_ok());
    }
    verifier::Options opts;
    opts.load.prog_type = BPF_PROG_TYPE_XDP;
    opts.log_level = 1;
    opts.log_size = 1 << 20;
    opts.map_by_fd = [&](int) -> Result<std::shared_ptr<maps::Map>> {
      if (map) return map;
      return Status(EBADF, "no map");
    };
    opts.btf = btf.btf;
    opts.func_info = btf.func_info.data();
    opts.func_info_cnt = static_cast<uint32_t>(btf.func_info.size());
    opts.func_info_rec_size = sizeof(struct bpf_func_info);
    const verifier::VerifyResult r = verifier::verify(insns, opts);
    ASSERT_TRUE(r.status.is_ok()) << r.log;
    EXPECT_EQ(run_bpfbox(*r.program, engine), c.expect) << "engine " << int(engine);
    if (map) {
      for (uint32_t k = 0; k < 4; ++k) {
        uint64_t v = 0;
        ASSERT_TRUE(map->lookup(&k, &v).is_ok());
        EXPECT_EQ(v, values[k] + 1) << k;
      }
    }
  }

  // The kernel.
  if (auto why = testsupport::kernel_bpf_unavailable()) GTEST_SKIP() << *why;
  testsupport::KernelMap kmap;
  if (c.with_map) {
    int err = 0;
    kmap = testsupport::kernel_map_create(BPF_MAP_TYPE_ARRAY, 4, 8, 4, 0, &err);
    ASSERT_EQ(err, 0);
    for (uint32_t k = 0; k < 4; ++k) {
      union bpf_attr attr;
      std::memset(&attr, 0, sizeof attr);
      attr.map_fd = static_cast<uint32_t>(kmap.fd());
      attr.key = reinterpret_cast<uint64_t>(&k);
      attr.value = reinterpret_cast<uint64_t>(&values[k]);
      ASSERT_EQ(syscall(__NR_bpf, BPF_MAP_UPDATE_ELEM, &attr, sizeof attr), 0);
    }
    for (size_t i = 0; i + 1 < insns.size(); ++i)
      if (insns[i].code == (BPF_LD | BPF_IMM | BPF_DW) && insns[i].src_reg == BPF_PSEUDO_MAP_FD)
        insns[i].imm = kmap.fd();
  }
  testsupport::KernelLoad load;
  load.prog_type = BPF_PROG_TYPE_XDP;
  load.insns = insns;
  load.btf = btf.btf;
  load.func_info = btf.func_info;
  load.keep_fd = true;
  const testsupport::KernelVerdict v = testsupport::kernel_verify(load);
  ASSERT_EQ(v.err, 0) << v.log;
  testsupport::KernelProgram kprog(v.fd);
  auto run = testsupport::kernel_test_run(kprog, std::vector<uint8_t>(64, 0));
  ASSERT_TRUE(run.is_ok()) << run.status().message();
  EXPECT_EQ(run.value().retval, c.expect);
}

TEST(CallbackRun, BpfLoopMatchesTheKernel) {
  check({kLoopSum,
         {{"main", true, "int", {"ctx"}}, {"cb", false, "int", {"u32", "void*"}}},
         false,
         6 * 16 + 4});
}

TEST(CallbackRun, ForEachMapElemMatchesTheKernel) {
  check(
      {kForEachSum,
       {{"main", true, "int", {"ctx"}}, {"cb", false, "long", {"void*", "u32*", "u64*", "void*"}}},
       true,
       10 * 16 + 4});
}

}  // namespace
}  // namespace bpfbox::calls_test
