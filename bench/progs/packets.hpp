// Test packets for the benchmark programs: Ethernet frames with IPv4 or IPv6 and TCP or UDP,
// checksums right, a deterministic payload.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace bpfbox::progbench {

struct L4 {
  uint8_t proto = 6;  // IPPROTO_TCP or IPPROTO_UDP
  uint16_t sport = 40000, dport = 80;
  uint8_t tcp_flags = 0x18;          // PSH|ACK
  std::vector<uint8_t> tcp_options;  // a multiple of 4 bytes
};

// Addresses in host order (10.0.0.1 is 0x0a000001); payload bytes are (i * 7 + 3) & 0xff unless
// `payload` is given.
std::vector<uint8_t> ipv4_packet(uint32_t saddr, uint32_t daddr, const L4& l4, size_t payload_len,
                                 const std::vector<uint8_t>* payload = nullptr);
std::vector<uint8_t> ipv6_packet(const uint8_t saddr[16], const uint8_t daddr[16], const L4& l4,
                                 size_t payload_len, const std::vector<uint8_t>* payload = nullptr);
// Bytes (i * mul + add) & 0xff.
std::vector<uint8_t> pattern(size_t n, uint32_t mul = 7, uint32_t add = 3);

}  // namespace bpfbox::progbench
