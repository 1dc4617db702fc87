// What the verifier proved, used by the LLVM tier (ExecOptions::facts): the region of each memory
// access exported beside the xlated program (joined over paths: mixed paths give no fact), alias
// scopes per region in the IR (a store to a map value no longer forces a packet reload; map A vs
// map B), stack pointers in registers addressed from the frame; and the same results as the
// interpreter and the JIT on programs built to stress it, through XDP TEST_RUN.
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "bpf_attr.hpp"
#include "bpfbox/maps.hpp"
#include "bpfbox/prog_type.hpp"
#include "bpfbox/verifier.hpp"
#include "bpfbox/vm.hpp"
#include "isa/assembler.hpp"
#include "llvm_harness.hpp"
#include "xdp_test_run.hpp"

namespace bpfbox::vm::llvm_tier::test {
namespace {

// An XDP program verified against `nmaps` maps (fd i: map i) of four u32 -> u64 entries
// {k: (i + 1) * 100 + k} (per-CPU maps: zeroes), as privileged loads for the LLVM tier are
// (range facts on).
struct Verified {
  std::vector<std::shared_ptr<maps::Map>> maps;
  verifier::Program prog;
};

Verified verify_xdp(const std::string& text, int nmaps, uint32_t map_type = BPF_MAP_TYPE_ARRAY) {
  Verified v;
  for (int i = 0; i < nmaps; ++i) {
    auto made = maps::Map::create(testsupport::map_create_attr(map_type, 4, 8, 4));
    EXPECT_TRUE(made.is_ok()) << made.status().message();
    if (!made.is_ok()) return v;
    for (uint32_t k = 0; k < 4 && !made.value()->percpu(); ++k) {
      const uint64_t value = (i + 1) * 100 + k;
      EXPECT_TRUE(made.value()->update(&k, &value).is_ok());
    }
    v.maps.push_back(made.value());
  }
  auto insns = isa::assemble(text);
  EXPECT_TRUE(insns.is_ok()) << insns.status().message();
  if (!insns.is_ok()) return v;
  verifier::Options opts;
  opts.load.prog_type = BPF_PROG_TYPE_XDP;
  opts.load.privileged = true;
  opts.log_level = 1;
  opts.log_size = 1 << 20;
  opts.range_facts = true;
  opts.map_by_fd = [&](int fd) -> Result<std::shared_ptr<maps::Map>> {
    if (fd >= 0 && fd < static_cast<int>(v.maps.size())) return v.maps[fd];
    return Status(EBADF, "no map");
  };
  verifier::VerifyResult r = verifier::verify(insns.value(), opts);
  EXPECT_TRUE(r.status.is_ok()) << r.status.message() << "\n" << r.log;
  if (r.program) v.prog = std::move(*r.program);
  return v;
}

// The pc of the first xlated instruction with this code, base register and offset.
int pc_of(const verifier::Program& p, uint8_t code, uint8_t base, int16_t off) {
  for (size_t i = 0; i < p.xlated.size(); ++i) {
    const struct bpf_insn& in = p.xlated[i];
    const uint8_t reg = BPF_CLASS(code) == BPF_LDX ? in.src_reg : in.dst_reg;
    if (in.code == code && reg == base && in.off == off) return static_cast<int>(i);
  }
  return -1;
}

// r0 of one XDP TEST_RUN on `engine`, then the bytes of every map's values at keys 0..3 (every
// CPU's slot for per-CPU maps): what engines must agree on.
std::pair<uint32_t, std::vector<uint8_t>> run_on(const Verified& v, EngineKind engine) {
  const Result<uint32_t> r0 = testsupport::xdp_test_run_once(v.prog, engine);
  EXPECT_TRUE(r0.is_ok()) << r0.status().message();
  std::vector<uint8_t> values;
  for (const auto& m : v.maps)
    for (uint32_t k = 0; k < 4; ++k) {
      std::vector<uint8_t> value(m->value_copy_size());
      if (m->lookup(&k, value.data())) values.insert(values.end(), value.begin(), value.end());
    }
  return {r0.is_ok() ? r0.value() : 0, values};
}

// The packet (r7 = data, 16 bytes checked), then `body`; "out" returns 2.
std::string with_packet(const std::string& body) {
  return "r7 = *(u32 *)(r1 +0)\nr8 = *(u32 *)(r1 +4)\nr4 = r7\nr4 += 16\nif r4 > r8 goto out\n" +
         body + "out:\nr0 = 2\nexit\n";
}

// r0 = &map[fd:N][key], returning 3 when the lookup fails.
std::string lookup(int fd, int key) {
  return "r1 = " + std::to_string(key) +
         "\n*(u32 *)(r10 -4) = r1\nr1 = map[fd:" + std::to_string(fd) +
         "]\nr2 = r10\nr2 += -4\ncall bpf_map_lookup_elem\n" + "if r0 != 0 goto +2\nr0 = 3\nexit\n";
}

// A packet load, a store to a map value, the same packet load again.
const std::string kPacketAroundMapStore =
    with_packet("r6 = *(u16 *)(r7 +2)\n" + lookup(0, 1) +
                "*(u64 *)(r0 +0) = r6\nr9 = *(u16 *)(r7 +2)\nr0 = r9\nr0 += r6\nexit\n");

// Map 0's value and map 1's value: a store to the second between two loads of the first.
const std::string kTwoMaps = lookup(0, 2) + "r6 = r0\n" + lookup(1, 2) +
                             "r1 = *(u64 *)(r6 +0)\n*(u64 *)(r0 +0) = r1\n"
                             "r2 = *(u64 *)(r6 +0)\nr0 = r1\nr0 += r2\nexit\n";

// A stack slot written through r10, another through a register holding r10 - 16, then the first
// read back: with the register proven to be r10 - 16, the two are known apart.
const char* const kStackThroughRegister =
    "r6 = *(u32 *)(r1 +12)\n*(u64 *)(r10 -8) = r6\nr1 = r10\nr1 += -16\n"
    "r2 = 7\n*(u64 *)(r1 +0) = r2\nr0 = *(u64 *)(r10 -8)\nr0 += 5\nexit\n";

// A per-CPU counter: slot 1 of this CPU += 5; r0 = the CPU * 1000 + the count, + 1 when a lookup
// past the end gave NULL.
const std::string kPerCpuCount =
    lookup(0, 1) + "r1 = *(u64 *)(r0 +0)\nr1 += 5\n*(u64 *)(r0 +0) = r1\nr6 = r1\n" +
    "call bpf_get_smp_processor_id\nr0 *= 1000\nr6 += r0\n" +
    "r1 = 4\n*(u32 *)(r10 -4) = r1\nr1 = map[fd:0]\nr2 = r10\nr2 += -4\n"
    "call bpf_map_lookup_elem\nif r0 != 0 goto +1\nr6 += 1\nr0 = r6\nexit\n";

TEST(LlvmFacts, TheVerifierExportsTheRegionOfEachAccess) {
  const Verified v = verify_xdp(kPacketAroundMapStore, 1);
  const verifier::Program& p = v.prog;
  ASSERT_EQ(p.facts.size(), p.xlated.size());
  const int pkt = pc_of(p, BPF_LDX | BPF_MEM | BPF_H, 7, 2);
  const int map_store = pc_of(p, BPF_STX | BPF_MEM | BPF_DW, 0, 0);
  const int key_store = pc_of(p, BPF_STX | BPF_MEM | BPF_W, 10, -4);
  ASSERT_GE(pkt, 0);
  ASSERT_GE(map_store, 0);
  ASSERT_GE(key_store, 0);
  EXPECT_EQ(p.facts[pkt].region, AccessRegion::Packet);
  EXPECT_EQ(p.facts[map_store].region, AccessRegion::MapValue);
  EXPECT_EQ(p.facts[map_store].map, v.maps[0].get());
  EXPECT_EQ(p.facts[key_store].region, AccessRegion::Stack);
  EXPECT_TRUE(p.facts[key_store].stack_const);
  EXPECT_EQ(p.facts[key_store].stack_off, 0);
  // The context's data and data_end loads: rewritten onto the internal layout, still the ctx.
  EXPECT_EQ(p.facts[0].region, AccessRegion::Ctx);

  // A register proven to hold r10 - 16.
  const Verified s = verify_xdp(kStackThroughRegister, 0);
  const int through = pc_of(s.prog, BPF_STX | BPF_MEM | BPF_DW, 1, 0);
  ASSERT_GE(through, 0);
  EXPECT_EQ(s.prog.facts[through].region, AccessRegion::Stack);
  EXPECT_TRUE(s.prog.facts[through].stack_const);
  EXPECT_EQ(s.prog.facts[through].stack_frame_up, 0);
  EXPECT_EQ(s.prog.facts[through].stack_off, -16);

  // Paths that disagree leave only what they share: two stack offsets (a region, no offset), a
  // stack slot on one path and a map value on the other (nothing).
  const Verified j = verify_xdp(lookup(0, 0) +
                                    "r6 = *(u64 *)(r0 +0)\nr2 = r10\nr2 += -8\n"
                                    "*(u64 *)(r10 -8) = r6\n*(u64 *)(r10 -16) = r6\n"
                                    "if r6 == 100 goto +2\nr2 = r10\nr2 += -16\n"
                                    "r3 = *(u64 *)(r2 +0)\n"
                                    "if r6 == 100 goto +1\nr2 = r0\nr0 = *(u64 *)(r2 +0)\n"
                                    "r0 += r3\nexit\n",
                                1);
  const int two_offsets = pc_of(j.prog, BPF_LDX | BPF_MEM | BPF_DW, 2, 0);
  ASSERT_GE(two_offsets, 0);
  EXPECT_EQ(j.prog.facts[two_offsets].region, AccessRegion::Stack);
  EXPECT_FALSE(j.prog.facts[two_offsets].stack_const);
  int mixed = -1;
  for (size_t i = two_offsets + 1; i < j.prog.xlated.size(); ++i)
    if (j.prog.xlated[i].code == (BPF_LDX | BPF_MEM | BPF_DW) && j.prog.xlated[i].src_reg == 2)
      mixed = static_cast<int>(i);
  ASSERT_GE(mixed, 0);
  EXPECT_EQ(j.prog.facts[mixed].region, AccessRegion::Unknown);
}

// The optimized IR with and without the facts: with them, the second packet load is gone (the
// map store between cannot touch the packet) and map 1's store does not reload map 0's value.
// (A stack pointer in a register needs no fact here: AddressBasesPass already turns
// inttoptr(ptrtoint(frame) - 16) back into a GEP from the frame.)
TEST(LlvmFacts, RegionsLetLlvmDropReloads) {
  struct Case {
    std::string text;
    int nmaps;
    std::string load;  // the IR of the load that is reloaded without the facts
  };
  for (const Case& c :
       {Case{kPacketAroundMapStore, 1, "load i16"}, Case{kTwoMaps, 2, "load i64"}}) {
    SCOPED_TRACE(c.text);
    const Verified v = verify_xdp(c.text, c.nmaps);
    ASSERT_FALSE(v.prog.xlated.empty());
    std::unique_ptr<Executable> with_exe, without_exe;
    const std::string with =
        compile_dumping_ir(v.prog.xlated, v.prog.helpers, {.facts = v.prog.facts}, &with_exe);
    const std::string without = compile_dumping_ir(v.prog.xlated, v.prog.helpers, {}, &without_exe);
    ASSERT_TRUE(with_exe) << with;
    ASSERT_TRUE(without_exe) << without;
    EXPECT_LT(count(with, c.load), count(without, c.load)) << with << "\n----\n" << without;
    EXPECT_NE(count(with, "!alias.scope"), 0u) << with;
    EXPECT_EQ(count(without, "!alias.scope"), 0u) << without;
  }
}

// Dead branches come with the xlated program: for privileged loads the verifier hard-wires a
// branch it proved one-sided into a jump and removes the dead side (dead_code.cpp, the kernel's
// opt_hard_wire_dead_code_branches), so the tier never sees it. Here the verifier knows the
// spilled constant survives the helper call; LLVM, compiling the program as loaded, cannot (the
// helper may write the stack), and keeps the dead side.
TEST(LlvmFacts, DeadBranchesAreGoneBeforeTheTierSeesThem) {
  const char* const text =
      "r1 = 7\n*(u64 *)(r10 -8) = r1\ncall bpf_get_prandom_u32\nr1 = *(u64 *)(r10 -8)\n"
      "if r1 == 7 goto +2\nr0 = 1234567\nexit\nr0 = 1\nexit\n";
  const Verified v = verify_xdp(text, 0);
  ASSERT_FALSE(v.prog.xlated.empty());
  auto loaded = isa::assemble(text);
  ASSERT_TRUE(loaded.is_ok());
  std::unique_ptr<Executable> xlated_exe, loaded_exe;
  const std::string xlated =
      compile_dumping_ir(v.prog.xlated, v.prog.helpers, {.facts = v.prog.facts}, &xlated_exe);
  const std::string as_loaded = compile_dumping_ir(loaded.value(), v.prog.helpers, {}, &loaded_exe);
  ASSERT_TRUE(xlated_exe) << xlated;
  ASSERT_TRUE(loaded_exe) << as_loaded;
  EXPECT_EQ(count(xlated, "1234567"), 0u) << xlated;
  EXPECT_NE(count(as_loaded, "1234567"), 0u) << as_loaded;
  const Result<uint32_t> r0 = testsupport::xdp_test_run_once(v.prog, EngineKind::Llvm);
  ASSERT_TRUE(r0.is_ok()) << r0.status().message();
  EXPECT_EQ(r0.value(), 1u);
}

// The interpreter, the JIT and the LLVM tier (with the facts) agree on r0 and on every map
// value, on programs that mix regions around the same instructions.
TEST(LlvmFacts, EnginesAgreeOnProgramsThatStressTheRegions) {
  const std::vector<std::pair<std::string, int>> cases = {
      {kPacketAroundMapStore, 1},
      {kTwoMaps, 2},
      {kStackThroughRegister, 0},
      // Packet stores and loads around map stores, the value written back into the packet.
      {with_packet("r1 = 0x1234\n*(u16 *)(r7 +2) = r1\nr6 = *(u16 *)(r7 +2)\n" + lookup(0, 1) +
                   "r1 = *(u64 *)(r0 +0)\nr1 += r6\n*(u64 *)(r0 +0) = r1\n"
                   "*(u16 *)(r7 +2) = r1\nr9 = *(u16 *)(r7 +2)\nr2 = *(u64 *)(r0 +0)\n"
                   "r0 = r9\nr0 <<= 20\nr0 += r2\nexit\n"),
       1},
      // The same map value reached through two lookups: one scope, so the store is seen.
      {lookup(0, 3) + "r6 = r0\n" + lookup(0, 3) +
           "r1 = *(u64 *)(r6 +0)\nr1 += 1\n*(u64 *)(r0 +0) = r1\nr2 = *(u64 *)(r6 +0)\n"
           "r0 = r2\nr0 *= 1000\nr0 += r1\nexit\n",
       1},
      // Overlapping stack bytes through r10 and through a register (r10 - 16 + 4).
      {"r1 = r10\nr1 += -16\nr2 = -1\n*(u64 *)(r10 -16) = r2\nr3 = 0x55\n"
       "*(u32 *)(r1 +4) = r3\nr0 = *(u64 *)(r10 -16)\nr0 >>= 16\nexit\n",
       0},
      // A caller's stack slot written by a subprogram through the pointer it was passed.
      {"r1 = 9\n*(u64 *)(r10 -8) = r1\nr1 = r10\nr1 += -8\ncall f\nr0 = *(u64 *)(r10 -8)\n"
       "exit\nf:\nr2 = *(u64 *)(r1 +0)\nr2 *= 3\n*(u64 *)(r1 +0) = r2\nr0 = 0\nexit\n",
       0},
      // Paths that disagree on the stack offset and on the region of one load.
      {lookup(0, 1) + "r6 = *(u64 *)(r0 +0)\nr2 = r10\nr2 += -8\n*(u64 *)(r10 -8) = r6\nr5 = 77\n"
                      "*(u64 *)(r10 -16) = r5\nif r6 == 101 goto +2\nr2 = r10\nr2 += -16\n"
                      "r3 = *(u64 *)(r2 +0)\nif r6 != 101 goto +1\nr2 = r0\nr4 = *(u64 *)(r2 +0)\n"
                      "r4 += 1\n*(u64 *)(r2 +0) = r4\nr0 = r3\nr0 *= 1000\nr0 += r4\nexit\n",
       1},
  };
  for (const auto& [text, nmaps] : cases) {
    SCOPED_TRACE(text);
    std::pair<uint32_t, std::vector<uint8_t>> want;
    for (EngineKind engine : {EngineKind::Interp, EngineKind::Jit, EngineKind::Llvm}) {
      SCOPED_TRACE(engine_name(engine));
      const Verified v = verify_xdp(text, nmaps);
      ASSERT_FALSE(v.prog.xlated.empty());
      const auto got = run_on(v, engine);
      if (engine == EngineKind::Interp)
        want = got;
      else
        EXPECT_EQ(got, want);
    }
  }
}

// A divisor and a shift count the verifier proved in [1, 8] (map 0's value at `key`, & 7, + 1),
// kept in a stack slot across a helper call (LLVM, seeing the stack escape to helpers, cannot
// follow it): the tier drops the safe-divisor selects and the count masks, and results stay the
// interpreter's for every divisor (keys 0..3: 5..8) and for negative dividends.
std::string proven_operands(int key) {
  return lookup(0, key) +
         "r1 = *(u64 *)(r0 +0)\nr1 &= 7\nr1 += 1\n*(u64 *)(r10 -8) = r1\n"
         "r6 = *(u64 *)(r0 +0)\nr6 *= -12345\n*(u64 *)(r10 -16) = r6\n"
         "call bpf_get_prandom_u32\nr6 = *(u64 *)(r10 -16)\nr1 = *(u64 *)(r10 -8)\n"
         "r2 = r6\nr2 /= r1\nr3 = r6\nr3 s/= r1\nw4 = w6\nw4 %= w1\nr5 = r6\nr5 s%= r1\n"
         "r7 = r6\nr7 <<= r1\nw8 = w6\nw8 >>= w1\nr9 = r6\nr9 s>>= r1\n"
         "r0 = r2\nr0 ^= r3\nr0 ^= r4\nr0 ^= r5\nr0 ^= r7\nr0 ^= r8\nr0 ^= r9\n"
         "r1 = r0\nr1 >>= 32\nr0 ^= r1\nexit\n";
}

// The IR for the same divisions and shifts, with and without range facts saying the register
// operand is in [1, 8] (loaded from memory: LLVM cannot know it).
TEST(LlvmFacts, ProvenRangesDropTheSafeDivisorAndTheShiftMasks) {
  auto prog = isa::assemble(
      "r6 = *(u64 *)(r1 +0)\nr1 = *(u64 *)(r1 +8)\n"
      "r2 = r6\nr2 /= r1\nr3 = r6\nr3 s/= r1\nw4 = w6\nw4 %= w1\nr5 = r6\nr5 s%= r1\n"
      "r7 = r6\nr7 <<= r1\nw8 = w6\nw8 >>= w1\nr9 = r6\nr9 s>>= r1\n"
      "r0 = r2\nr0 ^= r3\nr0 ^= r4\nr0 ^= r5\nr0 ^= r7\nr0 ^= r8\nr0 ^= r9\nexit\n");
  ASSERT_TRUE(prog.is_ok()) << prog.status().message();
  std::vector<InsnFacts> facts(prog.value().size());
  size_t proven = 0;
  for (size_t pc = 0; pc < facts.size(); ++pc) {
    const struct bpf_insn& in = prog.value()[pc];
    const uint8_t op = BPF_OP(in.code);
    if ((BPF_CLASS(in.code) == BPF_ALU64 || BPF_CLASS(in.code) == BPF_ALU) &&
        BPF_SRC(in.code) == BPF_X &&
        (op == BPF_DIV || op == BPF_MOD || op == BPF_LSH || op == BPF_RSH || op == BPF_ARSH)) {
      facts[pc].has_src = true;
      facts[pc].src = {.umin = 1, .umax = 8, .smin = 1, .smax = 8};
      ++proven;
    }
  }
  ASSERT_EQ(proven, 7u);
  std::unique_ptr<Executable> with_exe, without_exe;
  const std::string with = compile_dumping_ir(prog.value(), {}, {.facts = facts}, &with_exe);
  const std::string without = compile_dumping_ir(prog.value(), {}, {}, &without_exe);
  ASSERT_TRUE(with_exe) << with;
  ASSERT_TRUE(without_exe) << without;
  // Without the facts: selects around each division (the safe divisor, the results for 0 and for
  // MIN / -1) and a mask on each count; with them, the plain instructions.
  EXPECT_EQ(count(with, "select"), 0u) << with;
  EXPECT_GE(count(without, "select"), 8u) << without;
  EXPECT_EQ(count(with, ", 63\n") + count(with, ", 31\n"), 0u) << with;
  EXPECT_GE(count(without, ", 63\n") + count(without, ", 31\n"), 2u) << without;
  for (const char* op :
       {"udiv i64", "sdiv i64", "urem i32", "srem i64", "shl i64", "lshr i32", "ashr i64"})
    EXPECT_EQ(count(with, op), 1u) << op << "\n" << with;
}

// Map lookups the tier calls itself: a hash lookup's result is dereferenceable for value_size
// bytes once non-null (LLVM may then load from it speculatively: hoist a load out of a branch or
// a loop); PERCPU_ARRAY lookups are inlined (no call, so the key's stack slot stays a register)
// on the run's CPU slot; bpf_get_smp_processor_id is a load of the run's CPU, as in the JIT.
TEST(LlvmFacts, MapLookupsTheTierKnows) {
  std::unique_ptr<Executable> exe;
  const Verified h =
      verify_xdp(lookup(0, 2) + "r0 = *(u64 *)(r0 +0)\nexit\n", 1, BPF_MAP_TYPE_HASH);
  ASSERT_FALSE(h.prog.xlated.empty());
  const std::string hash_ir =
      compile_dumping_ir(h.prog.xlated, h.prog.helpers, {.facts = h.prog.facts}, &exe);
  ASSERT_TRUE(exe) << hash_ir;
  EXPECT_NE(count(hash_ir, "dereferenceable_or_null(8)"), 0u) << hash_ir;

  const Verified p = verify_xdp(kPerCpuCount, 1, BPF_MAP_TYPE_PERCPU_ARRAY);
  ASSERT_FALSE(p.prog.xlated.empty());
  const std::string percpu_ir =
      compile_dumping_ir(p.prog.xlated, p.prog.helpers, {.facts = p.prog.facts}, &exe);
  ASSERT_TRUE(exe) << percpu_ir;
  // Neither the map family's lookup (ptr (map, key, cpu)) nor a helper (r1..r5, rc) is called.
  const char* const lookup_call = "(i8*, i8*, i32)";
  const char* const helper_call = "(i64, i64, i64, i64, i64, i8*)";
  EXPECT_NE(count(hash_ir, lookup_call), 0u) << hash_ir;
  EXPECT_EQ(count(percpu_ir, lookup_call), 0u) << percpu_ir;
  EXPECT_EQ(count(percpu_ir, helper_call), 0u) << percpu_ir;
}

// The interpreter, the JIT and the tier agree on the proven operands (each divisor 5..8) and on
// per-CPU lookups (the run's own slot written, an index past the end giving NULL), r0 and every
// map value (every CPU's slot) alike.
TEST(LlvmFacts, EnginesAgreeWithProvenRangesAndPerCpuLookups) {
  struct Case {
    std::string text;
    uint32_t map_type;
  };
  std::vector<Case> cases;
  for (int key = 0; key < 4; ++key) cases.push_back({proven_operands(key), BPF_MAP_TYPE_ARRAY});
  cases.push_back({kPerCpuCount, BPF_MAP_TYPE_PERCPU_ARRAY});
  cases.push_back({lookup(0, 2) + "r1 = *(u64 *)(r0 +0)\nr1 += 9\n*(u64 *)(r0 +0) = r1\n"
                                  "r2 = 17\n*(u32 *)(r10 -4) = r2\nr1 = map[fd:0]\nr2 = r10\n"
                                  "r2 += -4\ncall bpf_map_lookup_elem\nexit\n",
                   BPF_MAP_TYPE_HASH});
  for (const Case& c : cases) {
    SCOPED_TRACE(c.text);
    std::pair<uint32_t, std::vector<uint8_t>> want;
    for (EngineKind engine : {EngineKind::Interp, EngineKind::Jit, EngineKind::Llvm}) {
      SCOPED_TRACE(engine_name(engine));
      const Verified v = verify_xdp(c.text, 1, c.map_type);
      ASSERT_FALSE(v.prog.xlated.empty());
      if (const int div = pc_of(v.prog, BPF_ALU64 | BPF_DIV | BPF_X, 2, 0); div >= 0) {
        ASSERT_TRUE(v.prog.facts[div].has_src);  // the tier runs on the proven divisor
        EXPECT_GE(v.prog.facts[div].src.umin, 1u);
      }
      const auto got = run_on(v, engine);
      if (engine == EngineKind::Interp)
        want = got;
      else
        EXPECT_EQ(got, want);
    }
  }
}

}  // namespace
}  // namespace bpfbox::vm::llvm_tier::test
