#include "programs.hpp"

#include <arpa/inet.h>

#include <cstring>

#include "packets.hpp"

namespace bpfbox::progbench {
namespace {

constexpr uint32_t kClient = 0x0a000001;  // 10.0.0.1
constexpr uint32_t kServer = 0xc0a80a05;  // 192.168.10.5

std::vector<uint8_t> tcp_1k() {
  return ipv4_packet(kClient, kServer, L4{}, 1000);
}
[[maybe_unused]] std::vector<uint8_t> udp_512() {
  return ipv4_packet(kClient, kServer, L4{.proto = 17, .sport = 5353, .dport = 53}, 512);
}
std::vector<uint8_t> tcp_64() {
  return ipv4_packet(kClient, kServer, L4{}, 10);
}

// ---- hash_conntrack ----
struct CtKey {
  uint32_t saddr, daddr;
  uint16_t sport, dport;
  uint8_t proto, pad[3];
};
struct CtEntry {
  uint64_t packets, bytes;
  uint32_t flags, rev_nat;
};
void conntrack_setup(MapFiller& m) {
  // 1000 unrelated flows, then the reply direction of the test packet's flow.
  for (uint32_t i = 0; i < 1000; i++) {
    CtKey k{htonl(0x0b000000 + i), htonl(kServer), htons(uint16_t(1024 + i)), htons(443), 6, {}};
    m.put("ct_table", k, CtEntry{i, i * 100, 1, i});
  }
  CtKey rev{htonl(kServer), htonl(kClient), htons(80), htons(40000), 6, {}};
  m.put("ct_table", rev, CtEntry{5, 5000, 1, 3});
}

}  // namespace

const std::vector<ProgSpec>& programs() {
  static const std::vector<ProgSpec> all = {
      {"empty", "empty", "return XDP_PASS: the fixed cost of a run", tcp_64},
      {"arith_mix", "arith_mix", "256 rounds of a 64/32-bit mul/add/rotate/div recurrence", tcp_64},
      {"switch_dispatch", "switch_dispatch", "a 16-opcode bytecode interpreter over 512 bytes",
       [] { return pattern(600, 13, 5); }},
      {"parse_flow", "parse_flow", "Ethernet/VLAN/IPv4/IPv6/TCP/UDP parse into a flow key", tcp_64},
      {"hash_conntrack", "hash_conntrack", "5-tuple conntrack: two hash lookups, counters", tcp_64,
       conntrack_setup},
      {"csum_hand", "csum_hand", "IPv4 header and TCP checksum by hand over 1 KiB", tcp_1k},
  };
  return all;
}

}  // namespace bpfbox::progbench
