// A perf event array: each packet's length and first byte, followed by its first 8 bytes (the
// XDP flavour of bpf_perf_event_output appends packet bytes named in the flags' upper half), on
// the current CPU's event. XDP_PASS when the record was written, XDP_DROP when it was not.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
  __uint(type, BPF_MAP_TYPE_PERF_EVENT_ARRAY);
  __uint(key_size, sizeof(__u32));
  __uint(value_size, sizeof(__u32));
} events SEC(".maps");

struct event {
  __u32 len;
  __u32 first;
};

SEC("xdp")
int xdp_perf(struct xdp_md* ctx) {
  void* data = (void*)(long)ctx->data;
  void* end = (void*)(long)ctx->data_end;
  struct event e = {.len = end - data, .first = data + 1 <= end ? *(__u8*)data : 0};
  __u64 copy = e.len >= 8 ? 8 : 0;
  long r = bpf_perf_event_output(ctx, &events, BPF_F_CURRENT_CPU | (copy << 32), &e, sizeof e);
  return r == 0 ? XDP_PASS : XDP_DROP;
}

char LICENSE[] SEC("license") = "GPL";
