// The main job's program: an XDP filter run over a capture (`bpfbox prog run ... pcap`). It counts
// IPv4 packets per IP protocol and packets and bytes per IPv4 source, in maps `bpfbox map dump`
// prints afterwards, and drops UDP; everything else (non-IPv4 frames included) passes.
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

struct src_key {
  __u8 addr[4];  // the IPv4 source, in network order
};

struct src_stats {
  __u64 packets;
  __u64 bytes;
};

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, 256);
  __type(key, __u32);  // the IP protocol number
  __type(value, __u64);
} proto_count SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, 1024);
  __type(key, struct src_key);
  __type(value, struct src_stats);
} src_count SEC(".maps");

static __always_inline void count_proto(__u32 proto) {
  __u64* n = bpf_map_lookup_elem(&proto_count, &proto);
  if (n) {
    __sync_fetch_and_add(n, 1);
  } else {
    __u64 one = 1;
    bpf_map_update_elem(&proto_count, &proto, &one, BPF_NOEXIST);
  }
}

static __always_inline void count_source(const struct iphdr* ip, __u64 len) {
  struct src_key k;
  __builtin_memcpy(k.addr, &ip->saddr, sizeof k.addr);
  struct src_stats* s = bpf_map_lookup_elem(&src_count, &k);
  if (s) {
    __sync_fetch_and_add(&s->packets, 1);
    __sync_fetch_and_add(&s->bytes, len);
  } else {
    struct src_stats first = {1, len};
    bpf_map_update_elem(&src_count, &k, &first, BPF_NOEXIST);
  }
}

SEC("xdp")
int xdp_filter(struct xdp_md* ctx) {
  void* data = (void*)(long)ctx->data;
  void* end = (void*)(long)ctx->data_end;
  struct ethhdr* eth = data;
  if ((void*)(eth + 1) > end) return XDP_DROP;  // shorter than an Ethernet header
  if (eth->h_proto != bpf_htons(ETH_P_IP)) return XDP_PASS;
  struct iphdr* ip = (void*)(eth + 1);
  if ((void*)(ip + 1) > end) return XDP_DROP;  // truncated IPv4 header
  count_proto(ip->protocol);
  count_source(ip, (__u64)(end - data));
  return ip->protocol == IPPROTO_UDP ? XDP_DROP : XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
