// A ring buffer: each packet's length and first byte as a record, through reserve/submit for
// XDP_PASS'ed packets and bpf_ringbuf_output for the others.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
  __uint(type, BPF_MAP_TYPE_RINGBUF);
  __uint(max_entries, 4096);
} events SEC(".maps");

struct event {
  __u32 len;
  __u32 first;
};

SEC("xdp")
int xdp_events(struct xdp_md* ctx) {
  void* data = (void*)(long)ctx->data;
  void* end = (void*)(long)ctx->data_end;
  __u32 first = data + 1 <= end ? *(__u8*)data : 0;
  __u32 len = end - data;
  if (len >= 32) {
    struct event* e = bpf_ringbuf_reserve(&events, sizeof *e, 0);
    if (!e) return XDP_ABORTED;
    e->len = len;
    e->first = first;
    bpf_ringbuf_submit(e, 0);
    return XDP_PASS;
  }
  struct event e = {.len = len, .first = first};
  bpf_ringbuf_output(&events, &e, sizeof e, 0);
  return XDP_DROP;
}

char LICENSE[] SEC("license") = "GPL";
