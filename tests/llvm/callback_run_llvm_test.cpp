// Callbacks end to end on the LLVM tier: bpf_loop and bpf_for_each_map_elem programs (BTF
// func_info as the kernel requires) verified by bpfbox, run through XDP TEST_RUN on the
// interpreter, the JIT and the LLVM tier, and compared with the kernel's BPF_PROG_TEST_RUN of the
// same program and map contents (skipped where bpf() is refused). Edge cases: no iterations, the
// callback stopping the loop, nested loops, a callback making a bpf-to-bpf call, hash maps with
// the callback deleting the element it visits; and bpf_map_lookup_elem on a hash map, which the
// LLVM tier calls directly (the map family's lookup, no helper in between).
#include <sys/syscall.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cstring>
#include <map>
#include <memory>
#include <optional>
#include <string>
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

namespace bpfbox::vm::llvm_tier::test {
namespace {

using testsupport::FuncDecl;

// The final value of each key of the map; nullopt: the key was deleted.
using MapState = std::map<uint32_t, std::optional<uint64_t>>;

struct Case {
  std::string text;
  std::vector<FuncDecl> funcs;
  uint32_t map_type = 0;  // 0: no map; else map 0, four u32 -> u64 entries {k: k + 1}
  uint32_t expect = 0;
  MapState after;
};

const FuncDecl kMain{"main", true, "int", {"ctx"}};
const FuncDecl kLoopCb{"cb", false, "int", {"u32", "void*"}};
const FuncDecl kForEachCb{"cb", false, "long", {"void*", "u32*", "u64*", "void*"}};

// main: r7 = nr (`count`: asm setting r7, r1 = the XDP ctx); slot = 7;
// r0 = bpf_loop(r7, cb, &slot); return slot * 16 + r0.  cb(i, ctx): *ctx += i; return i == stop_at
std::string loop_text(const std::string& count, int stop_at) {
  return count +
         "r1 = 7\n*(u64 *)(r10 -8) = r1\nr1 = r7\nr2 = subprog[cb]\nr3 = r10\nr3 += -8\nr4 = 0\n"
         "call bpf_loop\nr6 = r0\nr0 = *(u64 *)(r10 -8)\nr0 *= 16\nr0 += r6\nexit\n"
         "cb:\nr3 = *(u64 *)(r2 +0)\nr3 += r1\n*(u64 *)(r2 +0) = r3\nr0 = 0\nif r1 != " +
         std::to_string(stop_at) + " goto +1\nr0 = 1\nexit\n";
}
std::string loop_text(int nr, int stop_at) {
  return loop_text("r7 = " + std::to_string(nr) + "\n", stop_at);
}
// The first u32 of the packet (64 zero bytes): 0 at run time, unknown to the verifier.
const char* const kCountFromPacket =
    "r7 = 0\nr2 = *(u32 *)(r1 +0)\nr3 = *(u32 *)(r1 +4)\nr4 = r2\nr4 += 8\n"
    "if r4 > r3 goto +1\nr7 = *(u32 *)(r2 +0)\n";

// main: slot = 0; r0 = bpf_loop(3, outer, &slot); return slot * 16 + r0
// outer(i, ctx): bpf_loop(4, inner, ctx); return 0.  inner(i, ctx): *ctx += 1; return 0
const char* const kNestedLoops =
    "r1 = 0\n*(u64 *)(r10 -8) = r1\nr1 = 3\nr2 = subprog[outer]\nr3 = r10\nr3 += -8\nr4 = 0\n"
    "call bpf_loop\nr6 = r0\nr0 = *(u64 *)(r10 -8)\nr0 *= 16\nr0 += r6\nexit\n"
    "outer:\nr3 = r2\nr1 = 4\nr2 = subprog[inner]\nr4 = 0\ncall bpf_loop\nr0 = 0\nexit\n"
    "inner:\nr3 = *(u64 *)(r2 +0)\nr3 += 1\n*(u64 *)(r2 +0) = r3\nr0 = 0\nexit\n";

// cb(i, ctx) calls add(ctx, i), a bpf-to-bpf call: *ctx += 2 * i
const char* const kCallbackCalls =
    "r1 = 0\n*(u64 *)(r10 -8) = r1\nr1 = 5\nr2 = subprog[cb]\nr3 = r10\nr3 += -8\nr4 = 0\n"
    "call bpf_loop\nr6 = r0\nr0 = *(u64 *)(r10 -8)\nr0 *= 16\nr0 += r6\nexit\n"
    "cb:\nr6 = r1\nr1 = r2\nr2 = r6\ncall add\nexit\n"
    "add:\nr3 = *(u64 *)(r1 +0)\nr2 *= 2\nr3 += r2\n*(u64 *)(r1 +0) = r3\nr0 = 0\nexit\n";

// For each element: sum += value; then the callback's choice (`body`, with r0 = value, r3 =
// &value, r2 = &key, r1 = the map); returns sum * 16 + the number of elements visited.
std::string for_each_text(const std::string& body) {
  return "r1 = 0\n*(u64 *)(r10 -8) = r1\nr1 = map[fd:0]\nr2 = subprog[cb]\nr3 = r10\n"
         "r3 += -8\nr4 = 0\ncall bpf_for_each_map_elem\nr6 = r0\nr0 = *(u64 *)(r10 -8)\n"
         "r0 *= 16\nr0 += r6\nexit\n"
         "cb:\nr5 = *(u64 *)(r4 +0)\nr0 = *(u64 *)(r3 +0)\nr5 += r0\n*(u64 *)(r4 +0) = r5\n" +
         body;
}

// value += 1, go on
const char* const kIncrement = "r0 += 1\n*(u64 *)(r3 +0) = r0\nr0 = 0\nexit\n";
// value += 1; stop after key 1
const char* const kIncrementStopAt1 =
    "r0 += 1\n*(u64 *)(r3 +0) = r0\nr0 = 0\nr2 = *(u32 *)(r2 +0)\nif r2 != 1 goto +1\nr0 = 1\n"
    "exit\n";
// delete the element being visited when its value is even, else value += 1
const char* const kDeleteEven =
    "r5 = r0\nr5 &= 1\nif r5 == 0 goto +4\nr0 += 1\n*(u64 *)(r3 +0) = r0\nr0 = 0\nexit\n"
    "call bpf_map_delete_elem\nr0 = 0\nexit\n";

std::vector<struct bpf_insn> assemble(const std::string& text) {
  auto r = isa::assemble(text);
  EXPECT_TRUE(r.is_ok()) << r.status().message();
  return r.is_ok() ? r.value() : std::vector<struct bpf_insn>{};
}

uint32_t run_bpfbox(const verifier::Program& prog, EngineKind engine) {
  const Result<uint32_t> r = testsupport::xdp_test_run_once(prog, engine);
  EXPECT_TRUE(r.is_ok()) << r.status().message();
  return r.is_ok() ? r.value() : ~0u;
}

void check(const Case& c) {
  std::vector<struct bpf_insn> insns = assemble(c.text);
  ASSERT_FALSE(insns.empty());
  const testsupport::ProgBtfBlob btf =
      testsupport::build_prog_btf(c.funcs, {}, BPF_PROG_TYPE_XDP, insns);

  for (EngineKind engine : {EngineKind::Interp, EngineKind::Jit, EngineKind::Llvm}) {
    SCOPED_TRACE(engine_name(engine));
    std::shared_ptr<maps::Map> map;
    if (c.map_type) {
      union bpf_attr attr;
      std::memset(&attr, 0, sizeof attr);
      attr.map_type = c.map_type;
      attr.key_size = 4;
      attr.value_size = 8;
      attr.max_entries = 4;
      auto made = maps::Map::create(attr);
      ASSERT_TRUE(made.is_ok()) << made.status().message();
      map = made.value();
      for (uint32_t k = 0; k < 4; ++k) {
        const uint64_t v = k + 1;
        ASSERT_TRUE(map->update(&k, &v).is_ok());
      }
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
    EXPECT_EQ(run_bpfbox(*r.program, engine), c.expect);
    for (const auto& [k, want] : c.after) {
      uint64_t v = 0;
      const Status st = map->lookup(&k, &v);
      EXPECT_EQ(st.is_ok(), want.has_value()) << "key " << k;
      if (st.is_ok() && want) {
        EXPECT_EQ(v, *want) << "key " << k;
      }
    }
  }

  if (auto why = testsupport::kernel_bpf_unavailable()) GTEST_SKIP() << *why;
  testsupport::KernelMap kmap;
  if (c.map_type) {
    int err = 0;
    kmap = testsupport::kernel_map_create(c.map_type, 4, 8, 4, 0, &err);
    ASSERT_EQ(err, 0);
    for (uint32_t k = 0; k < 4; ++k) {
      const uint64_t v = k + 1;
      union bpf_attr attr;
      std::memset(&attr, 0, sizeof attr);
      attr.map_fd = static_cast<uint32_t>(kmap.fd());
      attr.key = reinterpret_cast<uint64_t>(&k);
      attr.value = reinterpret_cast<uint64_t>(&v);
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
  EXPECT_EQ(run.value().retval, c.expect) << "kernel";
  for (const auto& [k, want] : c.after) {
    uint64_t got = 0;
    union bpf_attr attr;
    std::memset(&attr, 0, sizeof attr);
    attr.map_fd = static_cast<uint32_t>(kmap.fd());
    attr.key = reinterpret_cast<uint64_t>(&k);
    attr.value = reinterpret_cast<uint64_t>(&got);
    const bool found = syscall(__NR_bpf, BPF_MAP_LOOKUP_ELEM, &attr, sizeof attr) == 0;
    EXPECT_EQ(found, want.has_value()) << "kernel, key " << k;
    if (found && want) {
      EXPECT_EQ(got, *want) << "kernel, key " << k;
    }
  }
}

TEST(LlvmCallbackRun, BpfLoopEdgeCasesMatchTheKernel) {
  // No iteration, a count the verifier does not know and a constant 0 (the callback is never
  // explored, so the verifier keeps only a stub of it): the callback never runs, bpf_loop
  // returns 0.
  check({loop_text(kCountFromPacket, -1), {kMain, kLoopCb}, 0, 7 * 16 + 0, {}});
  check({loop_text(0, -1), {kMain, kLoopCb}, 0, 7 * 16 + 0, {}});
  // Every iteration: 0 + 1 + 2 + 3 + 4, five calls.
  check({loop_text(5, -1), {kMain, kLoopCb}, 0, (7 + 10) * 16 + 5, {}});
  // The callback returns 1 at the first and at the fourth call: the call that stops counts.
  check({loop_text(5, 0), {kMain, kLoopCb}, 0, 7 * 16 + 1, {}});
  check({loop_text(5, 3), {kMain, kLoopCb}, 0, (7 + 6) * 16 + 4, {}});
}

TEST(LlvmCallbackRun, NestedLoopsAndCallsFromACallbackMatchTheKernel) {
  check({kNestedLoops,
         {kMain,
          {"outer", false, "int", {"u32", "void*"}},
          {"inner", false, "int", {"u32", "void*"}}},
         0,
         12 * 16 + 3,
         {}});
  check({kCallbackCalls,
         {kMain, kLoopCb, {"add", false, "int", {"void*", "u64"}}},
         0,
         20 * 16 + 5,
         {}});
}

TEST(LlvmCallbackRun, ForEachMapElemMatchesTheKernel) {
  // Array: every element, then stopping after key 1 (the stopping call counts).
  check({for_each_text(kIncrement),
         {kMain, kForEachCb},
         BPF_MAP_TYPE_ARRAY,
         10 * 16 + 4,
         {{0, 2}, {1, 3}, {2, 4}, {3, 5}}});
  check({for_each_text(kIncrementStopAt1),
         {kMain, kForEachCb},
         BPF_MAP_TYPE_ARRAY,
         3 * 16 + 2,
         {{0, 2}, {1, 3}, {2, 3}, {3, 4}}});
  // Hash: every element (in the map's order: only order-independent results), and the callback
  // deleting the element it visits (even values) while the others are incremented.
  check({for_each_text(kIncrement),
         {kMain, kForEachCb},
         BPF_MAP_TYPE_HASH,
         10 * 16 + 4,
         {{0, 2}, {1, 3}, {2, 4}, {3, 5}}});
  check({for_each_text(kDeleteEven),
         {kMain, kForEachCb},
         BPF_MAP_TYPE_HASH,
         10 * 16 + 4,
         {{0, 2}, {1, std::nullopt}, {2, 4}, {3, std::nullopt}}});
}

// key = k; v = lookup(map 0, &key); if (!v) return 99; *v += 10; return *v
std::string hash_lookup_text(int key) {
  return "r1 = " + std::to_string(key) +
         "\n*(u32 *)(r10 -4) = r1\nr2 = r10\nr2 += -4\nr1 = map[fd:0]\n"
         "call bpf_map_lookup_elem\nif r0 == 0 goto +5\nr1 = *(u64 *)(r0 +0)\nr1 += 10\n"
         "*(u64 *)(r0 +0) = r1\nr0 = r1\nexit\nr0 = 99\nexit\n";
}

TEST(LlvmCallbackRun, HashLookupMatchesTheKernel) {
  check({hash_lookup_text(2), {kMain}, BPF_MAP_TYPE_HASH, 13, {{0, 1}, {1, 2}, {2, 13}, {3, 4}}});
  check({hash_lookup_text(7),
         {kMain},
         BPF_MAP_TYPE_HASH,
         99,
         {{0, 1}, {1, 2}, {2, 3}, {3, 4}, {7, std::nullopt}}});
}

}  // namespace
}  // namespace bpfbox::vm::llvm_tier::test
