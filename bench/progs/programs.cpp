#include "programs.hpp"

#include <arpa/inet.h>

#include <cctype>
#include <cstring>
#include <string>

#include "packets.hpp"

namespace bpfbox::progbench {
namespace {

constexpr uint32_t kClient = 0x0a000001;  // 10.0.0.1
constexpr uint32_t kServer = 0xc0a80a05;  // 192.168.10.5

std::vector<uint8_t> tcp_1k() {
  return ipv4_packet(kClient, kServer, L4{}, 1000);
}
std::vector<uint8_t> udp_512() {
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

std::vector<uint8_t> bytes_of(const std::string& text, size_t pad_to) {
  std::vector<uint8_t> v(text.begin(), text.end());
  const std::vector<uint8_t> fill = pattern(pad_to > v.size() ? pad_to - v.size() : 0);
  v.insert(v.end(), fill.begin(), fill.end());
  return v;
}

// ---- dns_block ----
std::vector<uint8_t> dns_query() {
  std::vector<uint8_t> q = {0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0};  // one question
  for (const char* label : {"www", "Example", "com"}) {
    q.push_back(uint8_t(std::strlen(label)));
    q.insert(q.end(), label, label + std::strlen(label));
  }
  q.insert(q.end(), {0, 0, 1, 0, 1});  // end of name, QTYPE A, QCLASS IN
  return ipv4_packet(kClient, 0x08080808, L4{.proto = 17, .sport = 5353, .dport = 53}, q.size(),
                     &q);
}
// The program's hash of a name: FNV-1a 64 with each length byte as '.', lower case.
uint64_t dns_hash(const std::vector<std::string>& labels) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (const std::string& l : labels) {
    h = (h ^ uint8_t('.')) * 0x100000001b3ull;
    for (char c : l) h = (h ^ uint8_t(std::tolower(c))) * 0x100000001b3ull;
  }
  return h;
}
void dns_setup(MapFiller& m) {
  for (uint32_t i = 0; i < 500; i++)
    m.put("blocklist", dns_hash({"host" + std::to_string(i), "example", "net"}), uint32_t(2));
  m.put("blocklist", dns_hash({"www", "example", "com"}), uint32_t(1));  // XDP_DROP
}

// ---- tcp_options: a SYN with MSS, SACK-permitted, timestamps, NOP, window scale ----
std::vector<uint8_t> tcp_syn_options() {
  L4 l4{.tcp_flags = 0x02, .tcp_options = {2,    4,    0x05, 0xb4, 4,    2,    8, 10, 0, 0,
                                           0x12, 0x34, 0,    0,    0x01, 0x00, 1, 3,  3, 7}};
  return ipv4_packet(kClient, kServer, l4, 0);
}

// ---- ipv6_ext: hop-by-hop, routing, destination options, fragment, then UDP ----
std::vector<uint8_t> ipv6_with_extensions() {
  const uint8_t src[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
  const uint8_t dst[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 2};
  std::vector<uint8_t> p = ipv6_packet(src, dst, L4{.proto = 17, .sport = 1234, .dport = 4789}, 64);
  std::vector<uint8_t> ext;
  auto add = [&](uint8_t next, size_t len) {
    const size_t at = ext.size();
    ext.resize(at + len, 0);
    ext[at] = next;
    ext[at + 1] = uint8_t(len / 8 - 1);
  };
  add(43, 8);                   // hop-by-hop, next: routing
  add(60, 24);                  // routing, next: destination options
  add(44, 8);                   // destination options, next: fragment
  add(17, 8);                   // fragment, next: UDP
  ext[ext.size() - 8 + 1] = 0;  // the fragment header's reserved byte
  p[14 + 6] = 0;                // the IPv6 header's next header: hop-by-hop
  p.insert(p.begin() + 14 + 40, ext.begin(), ext.end());
  const uint16_t plen = uint16_t(p.size() - 54);
  p[14 + 4] = uint8_t(plen >> 8);
  p[14 + 5] = uint8_t(plen);
  return p;
}

// ---- byte_search, http_state: an HTTP request ----
const char kRequest[] =
    "GET /index.html?user=1234&session=abcdef HTTP/1.1\r\n"
    "Host: www.example.com\r\n"
    "User-Agent: bench/1.0 (X11; Linux x86_64)\r\n"
    "Accept: text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8\r\n"
    "Accept-Language: en-US,en;q=0.5\r\n"
    "Accept-Encoding: gzip, deflate, br\r\n"
    "Connection: keep-alive\r\n"
    "Cookie: a=1; b=2; c=3\r\n"
    "\r\n";
std::vector<uint8_t> http_request() {
  const std::vector<uint8_t> pay = bytes_of(kRequest, 0);
  return ipv4_packet(kClient, kServer, L4{}, pay.size(), &pay);
}
std::vector<uint8_t> http_with_signature() {
  std::vector<uint8_t> pay = bytes_of(kRequest, 1000);
  const uint8_t sig[] = {0xde, 0xad, 0xbe, 0xef};
  std::memcpy(pay.data() + 400, sig, 4);
  return ipv4_packet(kClient, kServer, L4{}, pay.size(), &pay);
}

// ---- percpu_stats ----
struct Counter {
  uint64_t packets, bytes;
};
void percpu_setup(MapFiller& m) {
  for (uint32_t i = 0; i < 500; i++) m.put("pc_source", htonl(0x0a010000 + i), Counter{i, i * 64});
  m.put("pc_source", htonl(kClient), Counter{41, 4100});
}

// ---- lpm_route ----
struct LpmV4 {
  uint32_t prefixlen;
  uint32_t addr;  // network order
};
void lpm_setup(MapFiller& m) {
  for (uint32_t i = 0; i < 190; i++) {  // unrelated prefixes, /12 to /28
    const uint32_t len = 12 + i % 17;
    const uint32_t addr = (0x64000000u + i * 0x00131000u) & (~0u << (32 - len));
    m.put("routes", LpmV4{len, htonl(addr)}, uint32_t(100 + i));
  }
  m.put("routes", LpmV4{8, htonl(0x0a000000)}, uint32_t(11));   // 10.0.0.0/8
  m.put("routes", LpmV4{16, htonl(0x0a000000)}, uint32_t(12));  // 10.0.0.0/16
  m.put("routes", LpmV4{30, htonl(0x0a000004)}, uint32_t(13));  // 10.0.0.4/30
  m.put("routes", LpmV4{16, htonl(0xc0a80000)}, uint32_t(3));   // 192.168.0.0/16
  m.put("routes", LpmV4{24, htonl(0xc0a80a00)}, uint32_t(7));   // 192.168.10.0/24
  m.put("routes", LpmV4{28, htonl(0xc0a80a10)}, uint32_t(8));   // 192.168.10.16/28
  m.put("routes", LpmV4{32, htonl(0xc0a80a06)}, uint32_t(9));   // 192.168.10.6/32
  m.put("routes", LpmV4{0, 0}, uint32_t(1));                    // default
  m.put("routes", LpmV4{12, htonl(0xac100000)}, uint32_t(5));   // 172.16.0.0/12
  m.put("routes", LpmV4{20, htonl(0xac10f000)}, uint32_t(6));   // 172.16.240.0/20
}

// ---- jhash_lb ----
struct Backend {
  uint8_t mac[6];
  uint16_t weight;
  uint32_t id;
};
void jhash_setup(MapFiller& m) {
  for (uint32_t slot = 0; slot < 4096; slot++) m.put("ch_ring", slot, uint32_t((slot * 7) % 16));
  for (uint32_t b = 0; b < 16; b++)
    m.put("backends", b, Backend{{0x02, 0xbe, 0, 0, 0, uint8_t(b)}, 1, 1000 + b});
}

// ---- acl_rules: 31 rules that miss (each on another field), then one that matches ----
struct Rule {
  uint32_t src, src_mask, dst, dst_mask;
  uint16_t port_lo, port_hi;
  uint8_t proto, action;
  uint16_t pad;
};
void acl_setup(MapFiller& m) {
  for (uint32_t i = 0; i < 31; i++) {
    Rule r{0, 0, 0, 0, 0, 65535, 0, 1, 0};
    switch (i % 4) {
      case 0:
        r.src = 0x0b000000 + (i << 8), r.src_mask = 0xffffff00;
        break;  // another source
      case 1:
        r.dst = 0xc0a80b00, r.dst_mask = 0xffffff00;
        break;  // another subnet
      case 2:
        r.proto = 17;
        break;  // UDP only
      default:
        r.port_lo = 1000, r.port_hi = 2000;
        break;  // other ports
    }
    m.put("rules", i, r);
  }
  m.put("rules", uint32_t(31),
        Rule{0x0a000000, 0xff000000, 0xc0a80a00, 0xffffff00, 80, 80, 6, 2, 0});
}

// ---- bloom_check: 300 addresses inserted, the test packet's source among them ----
void bloom_setup(MapFiller& m) {
  static const uint64_t kMul[4] = {0x9e3779b97f4a7c15ull, 0xc2b2ae3d27d4eb4full,
                                   0x165667b19e3779f9ull, 0xd6e8feb86659fd93ull};
  std::vector<uint64_t> bits(1024, 0);
  auto insert = [&](uint32_t addr) {
    for (uint64_t k : kMul) {
      const uint32_t bit = uint32_t((uint64_t(addr) * k) >> 48);
      bits[bit >> 6] |= 1ull << (bit & 63);
    }
  };
  for (uint32_t i = 0; i < 300; i++) insert(0x0a000000 + i * 97);
  insert(kClient);
  for (uint32_t w = 0; w < 1024; w++)
    if (bits[w]) m.put("bloom_bits", w, bits[w]);
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
      {"dns_block", "dns_block", "DNS query name walk, FNV-1a 64, blocklist hash lookup", dns_query,
       dns_setup},
      {"tcp_options", "tcp_options", "TCP options walk: MSS, window scale, SACK-perm, timestamps",
       tcp_syn_options},
      {"ipv6_ext", "ipv6_ext", "IPv6 extension header chain (4 headers) to the UDP ports",
       ipv6_with_extensions},
      {"endian_fields", "endian_fields",
       "byte loads vs ntohs/ntohl, 64 words byte-swapped in place", tcp_1k},
      {"loop_sum", "loop_sum", "bounded loop: 256 u32 words summed with a check per word", tcp_1k},
      {"byte_search", "byte_search", "payload scan for \"Host:\" and a 4-byte signature, 512 bytes",
       http_with_signature},
      {"bpf_loop_mix", "bpf_loop_mix", "bpf_loop: 512 callbacks, an array-map bump every 8th",
       tcp_64},
      {"bpf2bpf_parse", "bpf2bpf_parse", "parse in 5 non-inlined subprograms (bpf-to-bpf calls)",
       tcp_64},
      {"array_stats", "array_stats", "4 array-map counter pairs with atomic adds", tcp_64},
      {"percpu_stats", "percpu_stats", "per-CPU array and per-CPU hash counters", tcp_64,
       percpu_setup},
      {"lpm_route", "lpm_route", "2 LPM-trie lookups in a 200-prefix IPv4 table", tcp_64,
       lpm_setup},
      {"helper_mix", "helper_mix", "48 helper calls: ktime, smp_processor_id, prandom", tcp_64},
      {"csum_diff", "csum_diff", "TCP checksum through bpf_csum_diff in 512/64/4-byte chunks",
       tcp_1k},
      {"nat_rewrite", "nat_rewrite", "DNAT: address and port rewrite, incremental checksums",
       tcp_64},
      {"jhash_lb", "jhash_lb", "jhash (lookup3) of the 5-tuple, ring and backend array lookups",
       tcp_64, jhash_setup},
      {"fnv_payload", "fnv_payload", "FNV-1a 64 over 1 KiB of payload", tcp_1k},
      {"http_state", "http_state", "HTTP/1.1 request parser state machine, per byte", http_request},
      {"crc32_payload", "crc32_payload", "table CRC-32 over 1 KiB of payload (.rodata table)",
       tcp_1k},
      {"reflect_memcpy", "reflect_memcpy", "address swaps, 2x64-byte memcpy, 128-byte memset",
       udp_512},
      {"siphash_flow", "siphash_flow", "SipHash-2-4 of the 5-tuple", tcp_64},
      {"bloom_check", "bloom_check", "Bloom filter: 2x4 hashed bit tests in an array map", tcp_64,
       bloom_setup},
      {"acl_rules", "acl_rules", "32-rule firewall list in an array map, first match", tcp_64,
       acl_setup},
  };
  return all;
}

}  // namespace bpfbox::progbench
