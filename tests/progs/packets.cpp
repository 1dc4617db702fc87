#include "packets.hpp"

#include <cstddef>

namespace bpfbox::testprogs {
namespace {

uint16_t ones_sum(const uint8_t* p, std::size_t n, uint32_t sum = 0) {
  for (std::size_t i = 0; i + 1 < n; i += 2) sum += uint32_t(p[i] << 8 | p[i + 1]);
  if (n & 1) sum += uint32_t(p[n - 1] << 8);
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<uint16_t>(sum);
}

}  // namespace

std::vector<uint8_t> ipv4_tcp_frame() {
  std::vector<uint8_t> f = {0,    0,    0,    0,    0,    0,     // dst MAC
                            0x02, 0x11, 0x22, 0x33, 0x44, 0x55,  // src MAC
                            0x08, 0x00,                          // IPv4
                            0x45, 0x00, 0x00, 48,    // version/IHL, TOS, total length 48
                            0x12, 0x34, 0x40, 0x00,  // id, DF
                            64,   6,    0,    0,     // TTL, TCP, checksum (below)
                            10,   0,    0,    1,     // src
                            10,   0,    0,    2,     // dst
                            0x30, 0x39, 0x00, 0x50,  // ports 12345 -> 80
                            0,    0,    0,    1,    0,    0,    0,   0,  // seq, ack
                            0x50, 0x18, 0xff, 0xff,  // data offset 5, PSH|ACK, window
                            0,    0,    0,    0,     // checksum (below), urgent
                            'b',  'p',  'f',  'b',  'o',  'x',  '!', '\n'};
  const uint16_t ip = static_cast<uint16_t>(~ones_sum(&f[14], 20));
  f[24] = ip >> 8, f[25] = ip & 0xff;
  // TCP pseudo header: src, dst, zero, protocol, TCP length.
  uint32_t pseudo = ones_sum(&f[26], 8) + 6 + 28;
  const uint16_t tcp = static_cast<uint16_t>(~ones_sum(&f[34], 28, pseudo));
  f[50] = tcp >> 8, f[51] = tcp & 0xff;
  return f;
}

std::vector<uint8_t> with_dst(std::vector<uint8_t> frame, uint8_t first_byte, uint8_t rest) {
  frame[0] = first_byte;
  for (int i = 1; i < 6; i++) frame[i] = rest;
  return frame;
}

std::vector<uint8_t> with_ethertype(std::vector<uint8_t> frame, uint16_t type) {
  frame[12] = type >> 8;
  frame[13] = type & 0xff;
  return frame;
}

}  // namespace bpfbox::testprogs
