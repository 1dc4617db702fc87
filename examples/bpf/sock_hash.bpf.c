// A socket filter with a hash map: counts packets per first byte, keeps packets whose first byte
// is not 0xff (returns the length to keep, as the kernel's socket filters do).
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, 256);
  __type(key, __u32);
  __type(value, __u64);
} by_first_byte SEC(".maps");

SEC("socket")
int sock_count(struct __sk_buff* skb) {
  __u8 b = 0;
  if (bpf_skb_load_bytes(skb, 0, &b, 1) < 0) return 0;
  __u32 key = b;
  __u64 one = 1;
  __u64* n = bpf_map_lookup_elem(&by_first_byte, &key);
  if (n)
    __sync_fetch_and_add(n, 1);
  else
    bpf_map_update_elem(&by_first_byte, &key, &one, BPF_NOEXIST);
  return b == 0xff ? 0 : skb->len;
}

char LICENSE[] SEC("license") = "GPL";
