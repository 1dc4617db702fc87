// A payload signature search (an IDS's first pass): the TCP payload scanned byte by byte for
// "Host:" and a 4-byte signature with a naive compare, bounded to 512 bytes.
#include "bench_prog.h"

BENCH_XDP(byte_search) {
  __u8* data = PKT_DATA(ctx);
  __u8* end = PKT_END(ctx);
  __u8* p = data + 54;  // Ethernet, IPv4 without options, TCP without options
  if (p > end) return XDP_PASS;
  __u32 host_at = 0, sig_at = 0, lines = 0;
  for (int i = 0; i < 512; i++) {
    if (p + i + 5 > end) break;
    __u8 c = p[i];
    if (c == '\n') lines++;
    if (c == 'H' && p[i + 1] == 'o' && p[i + 2] == 's' && p[i + 3] == 't' && p[i + 4] == ':')
      host_at = i;
    if (c == 0xde && p[i + 1] == 0xad && p[i + 2] == 0xbe && p[i + 3] == 0xef) sig_at = i;
  }
  return (host_at << 20) | (sig_at << 8) | (lines & 0xff);
}

BENCH_LICENSE;
