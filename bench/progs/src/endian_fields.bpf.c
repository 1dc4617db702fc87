// Byte loads and endian work: every field of the Ethernet, IPv4 and TCP headers read byte by
// byte and as big-endian words, compared, then the 64 payload words converted to host order in
// place (as a decoder of a binary protocol does) and summed.
#include "bench_prog.h"

static __always_inline __u32 be32_bytes(const __u8* p) {
  return ((__u32)p[0] << 24) | ((__u32)p[1] << 16) | ((__u32)p[2] << 8) | p[3];
}

BENCH_XDP(endian_fields) {
  __u8* data = PKT_DATA(ctx);
  __u8* end = PKT_END(ctx);
  if (data + 54 + 256 > end) return XDP_PASS;
  __u32 bad = 0;
  // IPv4 header fields, byte-assembled against ntohs/ntohl.
  bad += ((data[16] << 8) | data[17]) != bpf_ntohs(*(__be16*)(data + 16));
  bad += be32_bytes(data + 26) != bpf_ntohl(*(__be32*)(data + 26));
  bad += be32_bytes(data + 30) != bpf_ntohl(*(__be32*)(data + 30));
  // TCP: ports, seq, ack, window.
  bad += ((data[34] << 8) | data[35]) != bpf_ntohs(*(__be16*)(data + 34));
  bad += be32_bytes(data + 38) != bpf_ntohl(*(__be32*)(data + 38));
  bad += be32_bytes(data + 42) != bpf_ntohl(*(__be32*)(data + 42));
  __u64 mac = 0;
  for (int i = 0; i < 6; i++) mac = (mac << 8) | data[i];
  __u64 sum = mac ^ bpf_be64_to_cpu(*(__be64*)(data + 26));
  __u32* w = (__u32*)(data + 54);
  for (int i = 0; i < 64; i++) {
    __u32 v = bpf_ntohl(w[i]);
    w[i] = v;
    sum += v ^ (sum >> 7);
    sum += bpf_ntohs((__u16)v);
  }
  return (__u32)(sum ^ (sum >> 32)) + bad * 1000;
}

BENCH_LICENSE;
