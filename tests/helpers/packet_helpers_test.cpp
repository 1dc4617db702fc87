// The map, ring buffer, redirect and skb helpers called as the engines call them (r1..r5 and the
// run context), and one whole program per map kind run through TEST_RUN: what the kernel
// comparison in tests/progs cannot reach (bpfbox maps, the redirect record, the flow hash).
#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include "bpfbox/maps.hpp"
#include "bpfbox/prog_type.hpp"
#include "helpers/csum.hpp"
#include "helpers/protos.hpp"
#include "progs/helper_table.hpp"
#include "progs/packet_run.hpp"
#include "progs/skb.hpp"

namespace bpfbox {
namespace {

std::shared_ptr<maps::Map> make_map(uint32_t type, uint32_t key_size, uint32_t value_size,
                                    uint32_t max_entries) {
  union bpf_attr a;
  std::memset(&a, 0, sizeof a);
  a.map_type = type;
  a.key_size = key_size;
  a.value_size = value_size;
  a.max_entries = max_entries;
  auto r = maps::Map::create(a);
  EXPECT_TRUE(r) << r.status().message();
  return r ? *r : nullptr;
}

uint64_t u(const void* p) {
  return reinterpret_cast<uint64_t>(p);
}
uint64_t call(const HelperProto& p, uint64_t r1 = 0, uint64_t r2 = 0, uint64_t r3 = 0,
              uint64_t r4 = 0, uint64_t r5 = 0, vm::RunContext* rc = nullptr) {
  static vm::RunContext dflt;
  return p.fn(r1, r2, r3, r4, r5, rc ? rc : &dflt);
}

TEST(MapHelpers, LookupUpdateDeleteThroughTheProgramSide) {
  using namespace helpers;
  auto m = make_map(BPF_MAP_TYPE_HASH, 4, 8, 4);
  ASSERT_TRUE(m);
  uint32_t key = 7;
  uint64_t value = 0x1122334455667788;
  EXPECT_EQ(call(kMapLookupElemProto, u(m.get()), u(&key)), 0u);
  EXPECT_EQ(call(kMapUpdateElemProto, u(m.get()), u(&key), u(&value), BPF_NOEXIST), 0u);
  EXPECT_EQ(int64_t(call(kMapUpdateElemProto, u(m.get()), u(&key), u(&value), BPF_NOEXIST)),
            -EEXIST);
  auto* found = reinterpret_cast<uint64_t*>(call(kMapLookupElemProto, u(m.get()), u(&key)));
  ASSERT_NE(found, nullptr);
  EXPECT_EQ(*found, value);
  EXPECT_EQ(call(kMapDeleteElemProto, u(m.get()), u(&key)), 0u);
  EXPECT_EQ(int64_t(call(kMapDeleteElemProto, u(m.get()), u(&key))), -ENOENT);
}

TEST(MapHelpers, QueuePushPopPeek) {
  using namespace helpers;
  auto q = make_map(BPF_MAP_TYPE_QUEUE, 0, 4, 2);
  ASSERT_TRUE(q);
  uint32_t a = 1, b = 2, out = 0;
  EXPECT_EQ(call(kMapPushElemProto, u(q.get()), u(&a), 0), 0u);
  EXPECT_EQ(call(kMapPushElemProto, u(q.get()), u(&b), 0), 0u);
  EXPECT_EQ(int64_t(call(kMapPushElemProto, u(q.get()), u(&a), 0)), -E2BIG);
  EXPECT_EQ(call(kMapPeekElemProto, u(q.get()), u(&out)), 0u);
  EXPECT_EQ(out, 1u);
  EXPECT_EQ(call(kMapPopElemProto, u(q.get()), u(&out)), 0u);
  EXPECT_EQ(call(kMapPopElemProto, u(q.get()), u(&out)), 0u);
  EXPECT_EQ(out, 2u);
  EXPECT_EQ(int64_t(call(kMapPopElemProto, u(q.get()), u(&out))), -ENOENT);
}

TEST(MapHelpers, PercpuLookupReadsTheNamedCpu) {
  using namespace helpers;
  auto m = make_map(BPF_MAP_TYPE_PERCPU_ARRAY, 4, 8, 1);
  ASSERT_TRUE(m);
  const uint32_t n = m->nr_cpus();
  std::vector<uint64_t> values(n);
  for (uint32_t c = 0; c < n; c++) values[c] = 100 + c;
  uint32_t key = 0;
  ASSERT_TRUE(m->update(&key, values.data()));
  for (uint32_t c = 0; c < n; c++) {
    auto* v = reinterpret_cast<uint64_t*>(call(kMapLookupPercpuElemProto, u(m.get()), u(&key), c));
    ASSERT_NE(v, nullptr);
    EXPECT_EQ(*v, 100 + c);
  }
  EXPECT_EQ(call(kMapLookupPercpuElemProto, u(m.get()), u(&key), n), 0u);
  // bpf_map_lookup_elem reads the run's own slot.
  vm::RunContext rc;
  rc.cpu = n - 1;
  auto* mine =
      reinterpret_cast<uint64_t*>(call(kMapLookupElemProto, u(m.get()), u(&key), 0, 0, 0, &rc));
  ASSERT_NE(mine, nullptr);
  EXPECT_EQ(*mine, 100 + n - 1);
}

TEST(RingbufHelpers, ReserveSubmitOutputQuery) {
  using namespace helpers;
  auto rb = make_map(BPF_MAP_TYPE_RINGBUF, 0, 0, 4096);
  ASSERT_TRUE(rb);
  auto* sample = reinterpret_cast<uint32_t*>(call(kRingbufReserveProto, u(rb.get()), 8, 0));
  ASSERT_NE(sample, nullptr);
  sample[0] = 42;
  call(kRingbufSubmitProto, u(sample), 0);
  const uint64_t data = 0xabcdef;
  EXPECT_EQ(call(kRingbufOutputProto, u(rb.get()), u(&data), sizeof data, 0), 0u);
  // Two 8-byte records, each with its 8-byte header.
  EXPECT_EQ(call(kRingbufQueryProto, u(rb.get()), BPF_RB_AVAIL_DATA), 32u);
  EXPECT_EQ(call(kRingbufQueryProto, u(rb.get()), BPF_RB_RING_SIZE), 4096u);
  EXPECT_EQ(call(kRingbufReserveProto, u(rb.get()), 8192, 0), 0u);  // larger than the ring
  EXPECT_EQ(int64_t(call(kRingbufOutputProto, u(rb.get()), u(&data), sizeof data, 4)), -EINVAL);
}

TEST(RedirectHelpers, RecordTheTargetInThePacketRun) {
  using namespace helpers;
  progs::PacketRun run;
  vm::RunContext rc;
  rc.user = &run;
  EXPECT_EQ(call(kRedirectProto, 3, BPF_F_INGRESS, 0, 0, 0, &rc), 7u);  // TC_ACT_REDIRECT
  EXPECT_EQ(run.redirect.tgt_index, 3u);
  EXPECT_EQ(run.redirect.flags, uint32_t(BPF_F_INGRESS));
  EXPECT_EQ(call(kRedirectProto, 3, 4, 0, 0, 0, &rc), 2u);  // TC_ACT_SHOT: unknown flag
  EXPECT_EQ(call(kXdpRedirectProto, 5, 0, 0, 0, 0, &rc), uint64_t(XDP_REDIRECT));
  EXPECT_EQ(run.redirect.tgt_index, 5u);
  EXPECT_EQ(call(kXdpRedirectProto, 5, 1, 0, 0, 0, &rc), uint64_t(XDP_ABORTED));
}

TEST(RedirectHelpers, RedirectMapThroughADevmap) {
  using namespace helpers;
  for (uint32_t type : {uint32_t(BPF_MAP_TYPE_DEVMAP), uint32_t(BPF_MAP_TYPE_DEVMAP_HASH)}) {
    auto dm = make_map(type, 4, 4, 4);
    ASSERT_TRUE(dm);
    uint32_t key = 2, ifindex = 1;  // the loopback device
    ASSERT_TRUE(dm->update(&key, &ifindex));
    progs::PacketRun run;
    vm::RunContext rc;
    rc.user = &run;
    EXPECT_EQ(call(kXdpRedirectMapProto, u(dm.get()), 2, 0, 0, 0, &rc), uint64_t(XDP_REDIRECT));
    EXPECT_EQ(run.redirect.tgt_index, 2u);
    EXPECT_EQ(run.redirect.map_type, type);
    EXPECT_EQ(run.redirect.tgt_value & 0xffffffff, 1u);
    // A key without a device: the low bits of flags are the verdict.
    EXPECT_EQ(call(kXdpRedirectMapProto, u(dm.get()), 3, XDP_PASS, 0, 0, &rc), uint64_t(XDP_PASS));
    EXPECT_EQ(call(kXdpRedirectMapProto, u(dm.get()), 3, 0, 0, 0, &rc), uint64_t(XDP_ABORTED));
    EXPECT_EQ(call(kXdpRedirectMapProto, u(dm.get()), 2, 1u << 5, 0, 0, &rc),
              uint64_t(XDP_ABORTED));  // unknown flag
    // Broadcast redirects record the map even for a missing key.
    EXPECT_EQ(call(kXdpRedirectMapProto, u(dm.get()), 3, BPF_F_BROADCAST, 0, 0, &rc),
              uint64_t(XDP_REDIRECT));
    EXPECT_EQ(run.redirect.map, dm.get());
  }
}

// csum_partial adds 64 bytes at a time in vector lanes, then 8, 4 and the last 0..3 bytes: at every
// length and alignment its bits must be those of the plain sum of 32-bit words it replaced (the
// kernel's result), here with all-ones data for the largest carries and a mixed pattern.
TEST(CsumHelpers, CsumPartialIsTheWordSumAtEveryLengthAndAlignment) {
  auto reference = [](const uint8_t* p, uint64_t len, uint32_t seed) {
    uint64_t sum = seed;
    uint64_t i = 0;
    for (; i + 4 <= len; i += 4)
      sum += uint32_t(p[i] | p[i + 1] << 8 | p[i + 2] << 16) | uint32_t(p[i + 3]) << 24;
    for (uint64_t k = 0; i + k < len; ++k) sum += uint64_t(p[i + k]) << (8 * k);
    sum = (sum & 0xffffffff) + (sum >> 32);
    sum = (sum & 0xffffffff) + (sum >> 32);
    return static_cast<uint32_t>(sum);
  };
  std::vector<uint8_t> ones(1100, 0xff), mixed(1100);
  uint32_t x = 0x9e3779b9;
  for (uint8_t& b : mixed) b = static_cast<uint8_t>((x = x * 1103515245 + 12345) >> 23);
  for (const std::vector<uint8_t>* buf : {&ones, &mixed})
    for (uint64_t len : {0,  1,  2,  3,  4,   5,   7,   8,   9,   15,  16,  63,
                         64, 65, 67, 71, 127, 128, 131, 200, 511, 512, 513, 1024})
      for (uint64_t align = 0; align < 8; ++align)
        for (uint32_t seed : {0u, 1u, 0xffffu, 0xffffffffu}) {
          const uint8_t* p = buf->data() + align;
          ASSERT_EQ(helpers::csum_partial(p, len, seed), reference(p, len, seed))
              << "len " << len << " align " << align << " seed " << seed;
        }
  // bpf_csum_diff (to only, from only, both) over the same sums, folded to 16 bits.
  const uint8_t* a = mixed.data() + 1;
  const uint8_t* b = mixed.data() + 600;
  EXPECT_EQ(call(helpers::kCsumDiffProto, 0, 0, u(a), 512, 7),
            helpers::csum_from32to16(reference(a, 512, 7)));
  EXPECT_EQ(call(helpers::kCsumDiffProto, u(a), 100, 0, 0, 7),
            helpers::csum_from32to16(~reference(a, 100, ~7u)));
  EXPECT_EQ(call(helpers::kCsumDiffProto, u(a), 68, u(b), 260, 0),
            helpers::csum_from32to16(helpers::csum_sub(reference(b, 260, 0), reference(a, 68, 0))));
}

TEST(SkbHelpers, FlowHashIsStableAndResettable) {
  using namespace helpers;
  std::vector<uint8_t> buf(64, 0);
  buf[14] = 0x45, buf[14 + 9] = 6;  // IPv4, TCP
  buf[26] = 10, buf[30] = 10;
  buf[34] = 0x30, buf[36] = 0x50;
  progs::Skb skb;
  skb.data = buf.data();
  skb.len = 64;
  skb.data_end = skb.data + 64;
  skb.network_offset = 14;
  skb.protocol = 0x0008;
  const uint64_t h = call(kGetHashRecalcProto, u(&skb));
  EXPECT_NE(h, 0u);
  EXPECT_EQ(skb.hash, h);
  EXPECT_TRUE(skb.l4_hash);
  EXPECT_EQ(call(kGetHashRecalcProto, u(&skb)), h);
  buf[37] = 1;  // another port: another flow, but the hash is kept until invalidated
  EXPECT_EQ(call(kGetHashRecalcProto, u(&skb)), h);
  call(kSetHashInvalidProto, u(&skb));
  EXPECT_EQ(skb.hash, 0u);
  EXPECT_NE(call(kGetHashRecalcProto, u(&skb)), h);
  call(kSetHashProto, u(&skb), 1234);
  EXPECT_EQ(call(kGetHashRecalcProto, u(&skb)), 1234u);
}

// A whole program: an XDP counter in a PERCPU_ARRAY, TEST_RUN with repeat. The map is referenced
// as the xlated form holds it (lddw of the Map's address).
TEST(PacketPrograms, PercpuCounterThroughTestRun) {
  auto m = make_map(BPF_MAP_TYPE_PERCPU_ARRAY, 4, 8, 1);
  ASSERT_TRUE(m);
  const uint64_t addr = u(m.get());
  const bpf_insn prog[] = {
      {BPF_ST | BPF_W | BPF_MEM, 10, 0, -4, 0},             // *(u32 *)(r10 - 4) = 0
      {BPF_LD | BPF_DW | BPF_IMM, 1, 0, 0, int32_t(addr)},  // r1 = map
      {0, 0, 0, 0, int32_t(addr >> 32)},
      {BPF_ALU64 | BPF_MOV | BPF_X, 2, 10, 0, 0},               // r2 = r10
      {BPF_ALU64 | BPF_ADD | BPF_K, 2, 0, 0, -4},               // r2 += -4
      {BPF_JMP | BPF_CALL, 0, 0, 0, BPF_FUNC_map_lookup_elem},  //
      {BPF_JMP | BPF_JEQ | BPF_K, 0, 0, 3, 0},                  // if r0 == 0 goto +3
      {BPF_LDX | BPF_DW | BPF_MEM, 1, 0, 0, 0},                 // r1 = *(u64 *)(r0 + 0)
      {BPF_ALU64 | BPF_ADD | BPF_K, 1, 0, 0, 1},                // r1 += 1
      {BPF_STX | BPF_DW | BPF_MEM, 0, 1, 0, 0},                 // *(u64 *)(r0 + 0) = r1
      {BPF_ALU64 | BPF_MOV | BPF_K, 0, 0, 0, XDP_PASS},         // r0 = XDP_PASS
      {BPF_JMP | BPF_EXIT, 0, 0, 0, 0},
  };
  const ProgTypeOps* ops = prog_type_ops(BPF_PROG_TYPE_XDP);
  ProgLoadContext load;
  load.prog_type = BPF_PROG_TYPE_XDP;
  for (vm::EngineKind engine : {vm::EngineKind::Interp, vm::EngineKind::Jit}) {
    auto exe = vm::compile(engine, prog, progs::helper_table(*ops, load), {.checked = false});
    ASSERT_TRUE(exe) << exe.status().message();
    std::vector<uint8_t> pkt(64, 0);
    TestRunArgs args;
    args.data_in = pkt;
    args.repeat = 1000;
    TestRunResult res;
    TestRunProgram p{.exe = exe->get(), .prog_type = BPF_PROG_TYPE_XDP};
    ASSERT_TRUE(ops->test_run(p, args, res));
    EXPECT_EQ(res.retval, uint32_t(XDP_PASS));
  }
  std::vector<uint64_t> values(m->nr_cpus());
  uint32_t key = 0;
  ASSERT_TRUE(m->lookup(&key, values.data()));
  uint64_t total = 0;
  for (uint64_t v : values) total += v;
  EXPECT_EQ(total, 2000u);  // every run counted once, on the slot it held
}

}  // namespace
}  // namespace bpfbox
