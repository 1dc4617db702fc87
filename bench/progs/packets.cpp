#include "packets.hpp"

#include <algorithm>
#include <cstring>

namespace bpfbox::progbench {
namespace {

void put16(std::vector<uint8_t>& p, size_t off, uint16_t v) {
  p[off] = uint8_t(v >> 8);
  p[off + 1] = uint8_t(v);
}
void put32(std::vector<uint8_t>& p, size_t off, uint32_t v) {
  put16(p, off, uint16_t(v >> 16));
  put16(p, off + 2, uint16_t(v));
}

// The one's complement sum of big-endian 16-bit words.
uint32_t sum16(const uint8_t* p, size_t n, uint32_t sum = 0) {
  for (size_t i = 0; i + 1 < n; i += 2) sum += uint32_t(p[i]) << 8 | p[i + 1];
  if (n & 1) sum += uint32_t(p[n - 1]) << 8;
  return sum;
}
uint16_t fold(uint32_t sum) {
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return uint16_t(~sum);
}

// The L4 header and payload at `off`, its checksum over `pseudo` (the pseudo-header's sum).
void put_l4(std::vector<uint8_t>& p, size_t off, const L4& l4, size_t payload_len,
            const std::vector<uint8_t>* payload, uint32_t pseudo) {
  const size_t hlen = l4.proto == 6 ? 20 + l4.tcp_options.size() : 8;
  p.resize(off + hlen + payload_len, 0);
  put16(p, off, l4.sport);
  put16(p, off + 2, l4.dport);
  const std::vector<uint8_t> pay = payload ? *payload : pattern(payload_len);
  std::copy(pay.begin(), pay.begin() + ptrdiff_t(payload_len), p.begin() + ptrdiff_t(off + hlen));
  size_t csum_off;
  if (l4.proto == 6) {
    put32(p, off + 4, 0x01020304);  // seq
    put32(p, off + 8, 0x0a0b0c0d);  // ack
    p[off + 12] = uint8_t((hlen / 4) << 4);
    p[off + 13] = l4.tcp_flags;
    put16(p, off + 14, 65535);
    std::copy(l4.tcp_options.begin(), l4.tcp_options.end(), p.begin() + ptrdiff_t(off + 20));
    csum_off = off + 16;
  } else {
    put16(p, off + 4, uint16_t(hlen + payload_len));
    csum_off = off + 6;
  }
  const size_t l4_len = hlen + payload_len;
  put16(p, csum_off, fold(sum16(p.data() + off, l4_len, pseudo + uint32_t(l4_len) + l4.proto)));
}

std::vector<uint8_t> eth(uint16_t type) {
  std::vector<uint8_t> p = {0x02, 0, 0, 0, 0, 0x02, 0x02, 0, 0, 0, 0, 0x01, 0, 0};
  put16(p, 12, type);
  return p;
}

}  // namespace

std::vector<uint8_t> pattern(size_t n, uint32_t mul, uint32_t add) {
  std::vector<uint8_t> v(n);
  for (size_t i = 0; i < n; i++) v[i] = uint8_t(i * mul + add);
  return v;
}

std::vector<uint8_t> ipv4_packet(uint32_t saddr, uint32_t daddr, const L4& l4, size_t payload_len,
                                 const std::vector<uint8_t>* payload) {
  std::vector<uint8_t> p = eth(0x0800);
  const size_t ip = p.size();
  const size_t hlen = l4.proto == 6 ? 20 + l4.tcp_options.size() : 8;
  p.resize(ip + 20, 0);
  p[ip] = 0x45;
  put16(p, ip + 2, uint16_t(20 + hlen + payload_len));
  put16(p, ip + 4, 0x1234);
  put16(p, ip + 6, 0x4000);  // DF
  p[ip + 8] = 64;
  p[ip + 9] = l4.proto;
  put32(p, ip + 12, saddr);
  put32(p, ip + 16, daddr);
  put16(p, ip + 10, fold(sum16(p.data() + ip, 20)));
  put_l4(p, ip + 20, l4, payload_len, payload, sum16(p.data() + ip + 12, 8));
  return p;
}

std::vector<uint8_t> ipv6_packet(const uint8_t saddr[16], const uint8_t daddr[16], const L4& l4,
                                 size_t payload_len, const std::vector<uint8_t>* payload) {
  std::vector<uint8_t> p = eth(0x86dd);
  const size_t ip = p.size();
  const size_t hlen = l4.proto == 6 ? 20 + l4.tcp_options.size() : 8;
  p.resize(ip + 40, 0);
  p[ip] = 0x60;
  put16(p, ip + 4, uint16_t(hlen + payload_len));
  p[ip + 6] = l4.proto;
  p[ip + 7] = 64;
  std::memcpy(p.data() + ip + 8, saddr, 16);
  std::memcpy(p.data() + ip + 24, daddr, 16);
  put_l4(p, ip + 40, l4, payload_len, payload, sum16(p.data() + ip + 8, 32));
  return p;
}

}  // namespace bpfbox::progbench
