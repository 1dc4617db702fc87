// Hashing for load balancing (katran-like): the 5-tuple hashed with Bob Jenkins' lookup3 (the
// kernel's jhash, written here from the published algorithm), the hash picks a slot of a
// 4096-entry consistent-hashing ring (array map), the slot a backend (array map) whose MAC the
// packet gets.
#include "bench_prog.h"

#define ROL32(x, k) (((x) << (k)) | ((x) >> (32 - (k))))
#define JHASH_MIX(a, b, c) \
  {                        \
    a -= c;                \
    a ^= ROL32(c, 4);      \
    c += b;                \
    b -= a;                \
    b ^= ROL32(a, 6);      \
    a += c;                \
    c -= b;                \
    c ^= ROL32(b, 8);      \
    b += a;                \
    a -= c;                \
    a ^= ROL32(c, 16);     \
    c += b;                \
    b -= a;                \
    b ^= ROL32(a, 19);     \
    a += c;                \
    c -= b;                \
    c ^= ROL32(b, 4);      \
    b += a;                \
  }
#define JHASH_FINAL(a, b, c) \
  {                          \
    c ^= b;                  \
    c -= ROL32(b, 14);       \
    a ^= c;                  \
    a -= ROL32(c, 11);       \
    b ^= a;                  \
    b -= ROL32(a, 25);       \
    c ^= b;                  \
    c -= ROL32(b, 16);       \
    a ^= c;                  \
    a -= ROL32(c, 4);        \
    b ^= a;                  \
    b -= ROL32(a, 14);       \
    c ^= b;                  \
    c -= ROL32(b, 24);       \
  }

// lookup3's hashword() over `n` 32-bit words.
static __always_inline __u32 jhash_words(const __u32* k, int n, __u32 initval) {
  __u32 a, b, c;
  a = b = c = 0xdeadbeef + ((__u32)n << 2) + initval;
  while (n > 3) {
    a += k[0];
    b += k[1];
    c += k[2];
    JHASH_MIX(a, b, c);
    n -= 3;
    k += 3;
  }
  switch (n) {
    case 3:
      c += k[2]; /* fall through */
    case 2:
      b += k[1]; /* fall through */
    case 1:
      a += k[0];
      JHASH_FINAL(a, b, c);
      break;
    default:
      break;
  }
  return c;
}

struct backend {
  __u8 mac[ETH_ALEN];
  __u16 weight;
  __u32 id;
};

BENCH_MAP(ch_ring, BPF_MAP_TYPE_ARRAY, __u32, __u32, 4096);
BENCH_MAP(backends, BPF_MAP_TYPE_ARRAY, __u32, struct backend, 64);

BENCH_XDP(jhash_lb) {
  void* data = PKT_DATA(ctx);
  void* end = PKT_END(ctx);
  struct ethhdr* eth = data;
  if ((void*)(eth + 1) > end || eth->h_proto != bpf_htons(ETH_P_IP)) return XDP_PASS;
  struct iphdr* ip = (void*)(eth + 1);
  if ((void*)(ip + 1) > end || ip->ihl != 5) return XDP_PASS;
  __be16* ports = (void*)(ip + 1);
  if ((void*)(ports + 2) > end) return XDP_DROP;
  __u32 words[4] = {ip->saddr, ip->daddr, ((__u32)ports[0] << 16) | ports[1], ip->protocol};
  __u32 h = jhash_words(words, 4, 0x3c9d5e6f);
  __u32 slot = h & 4095;
  __u32* id = bpf_map_lookup_elem(&ch_ring, &slot);
  if (!id) return XDP_ABORTED;
  __u32 bid = *id;
  struct backend* b = bpf_map_lookup_elem(&backends, &bid);
  if (!b) return XDP_DROP;
  __builtin_memcpy(eth->h_dest, b->mac, ETH_ALEN);
  return b->id;
}

BENCH_LICENSE;
