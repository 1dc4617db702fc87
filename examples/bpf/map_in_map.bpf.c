// Maps of maps, BTF-defined: an ARRAY_OF_MAPS of counter arrays and a HASH_OF_MAPS of hash maps,
// whose slots the loader fills from `.values` (libbpf creates the inner maps and stores their
// fds). Each program looks up an inner map by the packet's first byte, then hands it to the map
// helpers: lookup, update, delete, bpf_for_each_map_elem. The return values count the runs, so
// repeated runs show the inner maps' state.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct counters {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 4);
  __type(key, __u32);
  __type(value, __u64);
} counters_a SEC(".maps"), counters_b SEC(".maps");

// Slot 1 stays empty: a lookup of it returns NULL.
struct {
  __uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
  __uint(max_entries, 3);
  __type(key, __u32);
  __array(values, struct counters);
} by_first_byte SEC(".maps") = {
    .values = {[0] = &counters_a, [2] = &counters_b},
};

struct table {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, 8);
  __type(key, __u32);
  __type(value, __u64);
} table_x SEC(".maps"), table_y SEC(".maps");

// Keys 3 and 7 (libbpf stores `.values[i]` under key i).
struct {
  __uint(type, BPF_MAP_TYPE_HASH_OF_MAPS);
  __uint(max_entries, 8);
  __type(key, __u32);
  __array(values, struct table);
} tables SEC(".maps") = {
    .values = {[3] = &table_x, [7] = &table_y},
};

static long add_value(void* map, __u32* key, __u64* value, __u64* sum) {
  *sum += *value;
  return 0;
}

// counters[byte 1 & 7] += 1 + byte 0, counters[next slot] = twice that; returns the new count
// times 1000 plus the sum of the inner array, 1 for a short packet, 2 for an empty outer slot,
// 3 for a slot past the inner array's 4.
SEC("xdp")
int count_in_inner_array(struct xdp_md* ctx) {
  const __u8* p = (const __u8*)(long)ctx->data;
  if (p + 2 > (const __u8*)(long)ctx->data_end) return 1;
  __u32 outer = p[0];
  void* inner = bpf_map_lookup_elem(&by_first_byte, &outer);
  if (!inner) return 2;
  __u32 slot = p[1] & 7, next = (slot + 1) & 3;
  __u64* n = bpf_map_lookup_elem(inner, &slot);
  if (!n) return 3;
  *n += 1 + outer;
  __u64 twice = *n * 2;
  bpf_map_update_elem(inner, &next, &twice, BPF_ANY);
  __u64 sum = 0;
  bpf_for_each_map_elem(inner, add_value, &sum, 0);
  return (int)(*n * 1000 + sum);
}

// tables[byte 0][byte 1] += 1 (inserted at 1), tables[byte 0][byte 1 ^ 1] deleted; returns the
// new value times 10 plus 1 when the delete found the key, 2 for an absent outer key.
SEC("xdp")
int count_in_inner_hash(struct xdp_md* ctx) {
  const __u8* p = (const __u8*)(long)ctx->data;
  if (p + 2 > (const __u8*)(long)ctx->data_end) return 1;
  __u32 outer = p[0];
  void* inner = bpf_map_lookup_elem(&tables, &outer);
  if (!inner) return 2;
  __u32 key = p[1], other = key ^ 1;
  __u64* v = bpf_map_lookup_elem(inner, &key);
  __u64 n = v ? *v + 1 : 1;
  bpf_map_update_elem(inner, &key, &n, BPF_ANY);
  long deleted = bpf_map_delete_elem(inner, &other);
  return (int)(n * 10 + (deleted == 0));
}

// counters_a both directly and through slot 0 of the outer map: a store through one pointer is
// seen through the other (7), whatever the engine assumes about distinct maps.
SEC("xdp")
int inner_and_direct(struct xdp_md* ctx) {
  __u32 zero = 0;
  __u64* direct = bpf_map_lookup_elem(&counters_a, &zero);
  void* inner = bpf_map_lookup_elem(&by_first_byte, &zero);
  if (!direct || !inner) return 1;
  __u64* via_inner = bpf_map_lookup_elem(inner, &zero);
  if (!via_inner) return 2;
  __u64 before = *direct;
  *via_inner = before + 7;
  return (int)(*direct - before);
}

char LICENSE[] SEC("license") = "GPL";
