// LPM_TRIE: longest-prefix match for IPv4 and IPv6 keys, the kernel's errno and walk order.
#include <gtest/gtest.h>

#include <vector>

#include "map_test_util.hpp"

namespace bpfbox::maps::testing {
namespace {

struct Ipv4Key {
  uint32_t prefixlen;
  uint8_t addr[4];
};

TEST(LpmTrie, LongestPrefixWins) {
  auto m = make_map(BPF_MAP_TYPE_LPM_TRIE, 8, 4, 16, BPF_F_NO_PREALLOC);
  ASSERT_TRUE(m);
  const Ipv4Key prefixes[] = {
      {8, {10, 0, 0, 0}}, {16, {10, 1, 0, 0}}, {24, {10, 1, 2, 0}}, {0, {0, 0, 0, 0}}};
  for (uint32_t i = 0; i < 4; ++i) ASSERT_TRUE(m->update(&prefixes[i], &i));
  struct Probe {
    Ipv4Key k;
    uint32_t want;
  } probes[] = {{{32, {10, 1, 2, 3}}, 2},
                {{32, {10, 1, 3, 3}}, 1},
                {{32, {10, 9, 9, 9}}, 0},
                {{32, {11, 0, 0, 1}}, 3},
                {{12, {10, 1, 2, 3}}, 0}};
  RunSlot run;
  for (const auto& p : probes) {
    uint32_t v = 99;
    ASSERT_TRUE(m->lookup(&p.k, &v));
    EXPECT_EQ(v, p.want);
    auto* pv = static_cast<uint32_t*>(m->prog_lookup(&p.k, run.cpu()));
    ASSERT_NE(pv, nullptr);
    EXPECT_EQ(*pv, p.want);
  }
  // Postorder: more specific prefixes first.
  std::vector<uint32_t> order;
  Ipv4Key cur, next;
  Status st = m->get_next_key(nullptr, &next);
  while (st) {
    order.push_back(next.prefixlen);
    cur = next;
    st = m->get_next_key(&cur, &next);
  }
  EXPECT_EQ(order, (std::vector<uint32_t>{24, 16, 8, 0}));
}

TEST(LpmTrie, ErrnoTable) {
  EXPECT_EQ(Map::create(map_attr(BPF_MAP_TYPE_LPM_TRIE, 8, 4, 4)).status().err(), EINVAL);
  EXPECT_EQ(Map::create(map_attr(BPF_MAP_TYPE_LPM_TRIE, 4, 4, 4, BPF_F_NO_PREALLOC)).status().err(),
            EINVAL);
  auto m = make_map(BPF_MAP_TYPE_LPM_TRIE, 8, 4, 2, BPF_F_NO_PREALLOC);
  Ipv4Key k{8, {10, 0, 0, 0}};
  uint32_t v = 1;
  EXPECT_EQ(rc(m->update(&k, &v, BPF_EXIST)), -ENOENT);
  EXPECT_EQ(rc(m->update(&k, &v, BPF_NOEXIST)), 0);
  EXPECT_EQ(rc(m->update(&k, &v, BPF_NOEXIST)), -EEXIST);
  EXPECT_EQ(rc(m->update(&k, &v, BPF_F_LOCK)), -EINVAL);
  k.prefixlen = 16;
  EXPECT_EQ(rc(m->update(&k, &v)), 0);
  k.prefixlen = 24;
  EXPECT_EQ(rc(m->update(&k, &v)), -ENOSPC);
  k.prefixlen = 33;
  EXPECT_EQ(rc(m->update(&k, &v)), -EINVAL);
  EXPECT_EQ(rc(m->delete_elem(&k)), -EINVAL);
  EXPECT_EQ(rc(m->lookup(&k, &v)), -ENOENT);
  k.prefixlen = 24;
  EXPECT_EQ(rc(m->delete_elem(&k)), -ENOENT);
  k.prefixlen = 16;
  EXPECT_EQ(rc(m->delete_elem(&k)), 0);
  EXPECT_EQ(rc(m->lookup_and_delete(&k, &v)), -kENOTSUPP);
}

struct Ipv6Key {
  uint32_t prefixlen;
  uint8_t addr[16];
};

TEST(LpmTrie, Ipv6) {
  auto m = make_map(BPF_MAP_TYPE_LPM_TRIE, 20, 8, 64, BPF_F_NO_PREALLOC);
  ASSERT_TRUE(m);
  Ipv6Key net{32, {0x20, 0x01, 0x0d, 0xb8}}, host{128, {0x20, 0x01, 0x0d, 0xb8}};
  host.addr[15] = 1;
  uint64_t a = 1, b = 2, v = 0;
  ASSERT_TRUE(m->update(&net, &a));
  ASSERT_TRUE(m->update(&host, &b));
  Ipv6Key probe = host;
  ASSERT_TRUE(m->lookup(&probe, &v));
  EXPECT_EQ(v, 2u);
  probe.addr[15] = 2;
  ASSERT_TRUE(m->lookup(&probe, &v));
  EXPECT_EQ(v, 1u);
  probe.addr[2] = 0;
  EXPECT_EQ(rc(m->lookup(&probe, &v)), -ENOENT);
  ASSERT_TRUE(m->delete_elem(&net));
  probe = host;
  ASSERT_TRUE(m->lookup(&probe, &v));
  EXPECT_EQ(v, 2u);
}

}  // namespace
}  // namespace bpfbox::maps::testing
