// The unprivileged Spectre defences end to end: what the walk marks (speculative paths, masked
// pointer arithmetic, stack stores) and what the rewrite makes of it in the xlated program —
// speculation barriers where the kernel puts them, and the masking sequence, which both engines
// run: an offset beyond the limit the verifier proved becomes 0.
#include <gtest/gtest.h>

#include <climits>
#include <cstring>
#include <string>
#include <vector>

#include "bpfbox/verifier.hpp"
#include "bpfbox/vm.hpp"
#include "isa/assembler.hpp"
#include "isa/disasm.hpp"
#include "isa/uapi.hpp"

namespace bpfbox {
namespace {

struct Verified {
  verifier::VerifyResult r;
  std::vector<std::string> xlated;  // one disassembled line per instruction slot
};

std::shared_ptr<maps::Map> array_map(uint32_t value_size, uint32_t max_entries = 1) {
  union bpf_attr attr;
  std::memset(&attr, 0, sizeof attr);
  attr.map_type = BPF_MAP_TYPE_ARRAY;
  attr.key_size = 4;
  attr.value_size = value_size;
  attr.max_entries = max_entries;
  auto m = maps::Map::create(attr);
  EXPECT_TRUE(m.is_ok()) << m.status().message();
  return m.is_ok() ? m.value() : nullptr;
}

Verified verify(const std::string& text, bool privileged,
                std::shared_ptr<maps::Map> map = nullptr) {
  auto insns = isa::assemble(text, isa::Syntax::Kernel);
  EXPECT_TRUE(insns.is_ok()) << insns.status().message();
  verifier::Options opts;
  opts.load.prog_type = BPF_PROG_TYPE_SOCKET_FILTER;
  opts.load.privileged = privileged;
  opts.load.gpl_compatible = true;
  opts.log_level = 1;
  opts.log_size = 1 << 20;
  opts.map_by_fd = [map](int) -> Result<std::shared_ptr<maps::Map>> {
    if (!map) return Status(EBADF, "no map");
    return map;
  };
  Verified v{verifier::verify(insns.value(), opts), {}};
  if (v.r.program) {
    const auto& x = v.r.program->xlated;
    for (size_t pc = 0; pc < x.size(); ++pc) {
      isa::Decoded d;
      const Status st = isa::decode(x, pc, d);
      v.xlated.push_back(st ? isa::disassemble(d) : "invalid: " + st.message());
      if (st && d.slots == 2) v.xlated.push_back("(lddw)"), ++pc;
    }
  }
  return v;
}

std::string listing(const std::vector<std::string>& lines) {
  std::string s;
  for (size_t i = 0; i < lines.size(); ++i) s += std::to_string(i) + ": " + lines[i] + "\n";
  return s;
}

// A branch decided by constants: the other side is explored speculatively. There `r0` is
// unknown (the jump's operands are forgotten), the load faults, and instead of refusing, the
// kernel (6.17+) puts a barrier before it; the load stays dead code, trapped with `goto -1`.
TEST(Spectre, SpeculativePathFaultBecomesABarrier) {
  const char* prog =
      "r0 = 0\n"
      "if r0 == 0 goto +1\n"
      "r0 = *(u64 *)(r0 +0)\n"
      "exit\n";
  Verified u = verify(prog, false);
  ASSERT_EQ(u.r.status.err(), 0) << u.r.log;
  EXPECT_EQ(listing(u.xlated),
            listing({"r0 = 0", "if r0 == 0x0 goto pc+2", "nospec", "goto pc-1", "exit"}));
  // Root: no speculation is simulated, the dead load is removed.
  Verified p = verify(prog, true);
  ASSERT_EQ(p.r.status.err(), 0) << p.r.log;
  EXPECT_EQ(listing(p.xlated), listing({"r0 = 0", "exit"}));
}

// Spectre v4: a store over a spilled pointer (or over stack never written) may be bypassed by a
// later load; a barrier follows it. Stores over data written before need none.
TEST(Spectre, StackStoresThatMayBeBypassedGetABarrier) {
  const char* prog =
      "r2 = 0\n"
      "*(u64 *)(r10 -8) = r2\n"   // fresh stack: barrier
      "*(u64 *)(r10 -8) = r2\n"   // over data: none
      "*(u64 *)(r10 -16) = r1\n"  // a pointer spilled: barrier
      "r0 = 0\n"
      "exit\n";
  Verified u = verify(prog, false);
  ASSERT_EQ(u.r.status.err(), 0) << u.r.log;
  EXPECT_EQ(listing(u.xlated),
            listing({"r2 = 0", "*(u64 *)(r10 -8) = r2", "nospec", "*(u64 *)(r10 -8) = r2",
                     "*(u64 *)(r10 -16) = r1", "nospec", "r0 = 0", "exit"}));
  Verified p = verify(prog, true);
  ASSERT_EQ(p.r.status.err(), 0) << p.r.log;
  EXPECT_EQ(p.xlated.size(), 6u) << listing(p.xlated);
}

const char* const kMaskedAdd =
    "r1 = 0\n"
    "*(u32 *)(r10 -4) = r1\n"
    "r2 = r10\n"
    "r2 += -4\n"
    "r1 = map[fd:0]\n"
    "call bpf_map_lookup_elem\n"
    "if r0 == 0 goto +4\n"
    "r1 = *(u8 *)(r0 +0)\n"
    "r1 &= 7\n"
    "r0 += r1\n"
    "r0 = *(u8 *)(r0 +0)\n"
    "exit\n";

// ptr += unknown scalar: the offset is masked to [0, 7] (the value is 8 bytes) before the add, in
// the kernel's sequence through AX (r11).
TEST(Spectre, PointerArithmeticIsMasked) {
  auto map = array_map(8);
  Verified u = verify(kMaskedAdd, false, map);
  ASSERT_EQ(u.r.status.err(), 0) << u.r.log;
  const std::vector<std::string> mask = {"w11 = 7",     "r11 -= r1", "r11 |= r1", "r11 = -r11",
                                         "r11 s>>= 63", "r11 &= r1", "r0 += r11"};
  const std::string all = listing(u.xlated);
  std::string seq;
  for (const auto& l : mask) seq += l + "\n";
  std::string lines;
  for (const auto& l : u.xlated) lines += l + "\n";
  EXPECT_NE(lines.find(seq), std::string::npos) << all;
  Verified p = verify(kMaskedAdd, true, map);
  ASSERT_EQ(p.r.status.err(), 0) << p.r.log;
  std::string plines;
  for (const auto& l : p.xlated) plines += l + "\n";
  EXPECT_EQ(plines.find("r11"), std::string::npos) << listing(p.xlated);
}

// The refusals of sanitize_ptr_alu/sanitize_val_alu, with the kernel's messages (the corpus has
// them against the kernel too; these pin them where the kernel's unprivileged half is skipped).
TEST(Spectre, UnmaskablePointerArithmeticIsRefused) {
  auto map = array_map(8);
  struct Case {
    const char* name;
    std::string prog;
    const char* msg;
  };
  const std::string lookup =
      "r1 = 0\n*(u32 *)(r10 -4) = r1\nr2 = r10\nr2 += -4\nr1 = map[fd:0]\n"
      "call bpf_map_lookup_elem\n";
  const Case cases[] = {
      {"mixed signed bounds",
       lookup + "if r0 == 0 goto +3\nr1 = *(u8 *)(r0 +0)\nr1 -= 4\nr0 += r1\nr0 = 0\nexit\n",
       "R1 has unknown scalar with mixed signed bounds, pointer arithmetic with it prohibited "
       "for !root"},
      {"unsupported pointer type", "r2 = 4\nr1 += r2\nr0 = 0\nexit\n",
       "R1 has pointer with unsupported alu operation, pointer arithmetic with it prohibited for "
       "!root"},
      {"pointer on one path, scalar on another",
       lookup + "if r0 == 0 goto +8\nr1 = *(u8 *)(r0 +0)\nif r1 == 0 goto +3\nr2 = r0\nr3 = 1\n"
                "goto +2\nr2 = 0\nr3 = 1\nr2 += r3\nr0 = 0\nexit\n",
       "R2 tried to add from different maps, paths or scalars, pointer arithmetic with it "
       "prohibited for !root"},
  };
  for (const Case& c : cases) {
    Verified u = verify(c.prog, false, map);
    EXPECT_EQ(u.r.status.err(), EACCES) << c.name << "\n" << u.r.log;
    EXPECT_NE(u.r.log.find(c.msg), std::string::npos) << c.name << "\n" << u.r.log;
  }
}

// Spectre v1 for the inlined ARRAY lookup: after the bounds check the index is masked with the
// array's index_mask (its storage is padded to a power of two of elements), as the kernel's
// array_map_gen_lookup does for maps without bypass_spec_v1. Root gets the plain lookup.
TEST(Spectre, InlinedArrayLookupMasksTheIndex) {
  auto map = array_map(8, 5);
  ASSERT_TRUE(map->inline_array());
  EXPECT_EQ(map->inline_array()->index_mask, 7u);
  const char* prog =
      "r1 = 0\n"
      "*(u32 *)(r10 -4) = r1\n"
      "r2 = r10\n"
      "r2 += -4\n"
      "r1 = map[fd:0]\n"
      "call bpf_map_lookup_elem\n"
      "if r0 == 0 goto +1\n"
      "r0 = *(u64 *)(r0 +0)\n"
      "exit\n";
  const auto lookup = [](const Verified& v) {
    std::string s;
    for (size_t i = 0; i < v.xlated.size(); ++i)
      if (v.xlated[i].rfind("r0 = *(u32 *)(r2 +0)", 0) == 0)
        for (size_t j = i; j < i + 6 && j < v.xlated.size(); ++j) s += v.xlated[j] + "\n";
    return s;
  };
  Verified u = verify(prog, false, map);
  ASSERT_EQ(u.r.status.err(), 0) << u.r.log;
  EXPECT_EQ(lookup(u),
            "r0 = *(u32 *)(r2 +0)\nif r0 >= 0x5 goto pc+4\nw0 &= 7\nr0 <<= 3\nr0 += r1\n"
            "goto pc+1\n")
      << listing(u.xlated);
  Verified p = verify(prog, true, map);
  ASSERT_EQ(p.r.status.err(), 0) << p.r.log;
  EXPECT_EQ(lookup(p),
            "r0 = *(u32 *)(r2 +0)\nif r0 >= 0x5 goto pc+3\nr0 <<= 3\nr0 += r1\ngoto pc+1\n"
            "r0 = 0\n")
      << listing(p.xlated);
}

// The masking sequence itself on each engine: cut out of the xlated program, run with offsets
// inside and outside [0, limit] (negative ones too), it adds the offset when allowed and 0 when
// not.
TEST(Spectre, MaskingSequenceRunsOnBothEngines) {
  auto map = array_map(8);
  Verified u = verify(kMaskedAdd, false, map);
  ASSERT_EQ(u.r.status.err(), 0) << u.r.log;
  const auto& x = u.r.program->xlated;
  size_t first = 0, last = 0;  // [first, last]: from "w11 = limit" to "r0 += r11"
  for (size_t i = 0; i < x.size(); ++i) {
    if (x[i].code == (BPF_ALU | BPF_MOV | BPF_K) && x[i].dst_reg == BPF_REG_AX) first = i;
    if (x[i].code == (BPF_ALU64 | BPF_ADD | BPF_X) && x[i].src_reg == BPF_REG_AX) last = i;
  }
  ASSERT_LT(first, last) << listing(u.xlated);
  const uint64_t base = 0x100000;
  const int64_t offsets[] = {0, 3, 7, 8, 9, 255, 1 << 20, -1, -8, INT64_MIN};
  for (const int64_t off : offsets) {
    // r0 = base; r1 = off; <mask>; exit
    std::vector<struct bpf_insn> prog(4);
    isa::encode_lddw(0, 0, base, &prog[0]);
    isa::encode_lddw(1, 0, static_cast<uint64_t>(off), &prog[2]);
    prog.insert(prog.end(), x.begin() + first, x.begin() + last + 1);
    prog.push_back(isa::encode(isa::Op::Exit, 0, 0, 0, 0));
    const uint64_t want = base + ((off >= 0 && off <= 7) ? static_cast<uint64_t>(off) : 0);
    for (vm::EngineKind e : {vm::EngineKind::Interp, vm::EngineKind::Jit}) {
      auto exe = vm::compile(e, prog, vm::HelperTable{});
      ASSERT_TRUE(exe.is_ok()) << exe.status().message();
      vm::RunContext rc;
      EXPECT_EQ(exe.value()->run(rc, 0), want)
          << "offset " << off << " on " << exe.value()->engine_name();
    }
  }
}

}  // namespace
}  // namespace bpfbox
