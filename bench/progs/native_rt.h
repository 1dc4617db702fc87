/* The native side of bench_prog.h: what clang's BPF target and libbpf provide to a program,
 * written in plain C for x86-64 so the same program text compiles with the host compiler.
 *
 * - Maps are `struct native_map` objects registered by name (unit, map) at start-up, so the runner
 *   fills them as it fills the BPF maps through bpf(). Array and per-CPU array lookups are inline
 *   (the kernel's JIT inlines them too); hash and LPM lookups are calls, as helpers are.
 * - The XDP context is a struct of real pointers: `(void *)(long)ctx->data` reads the same.
 * - Per-CPU maps have one CPU (0); bpf_get_smp_processor_id() says 0.
 * Each unit is compiled with -DBENCH_UNIT=<file name> so its registrations carry it. */
#ifndef BENCH_NATIVE_RT_H
#define BENCH_NATIVE_RT_H

#include <stddef.h>
#include <stdint.h>

#ifndef BENCH_UNIT
#error "compile native programs with -DBENCH_UNIT=<name>"
#endif
#define BENCH_STR2(x) #x
#define BENCH_STR(x) BENCH_STR2(x)

#define SEC(name)
#ifndef __always_inline
#define __always_inline inline __attribute__((always_inline))
#endif
#define __noinline __attribute__((noinline))

#define bpf_htons(x) ((__be16)__builtin_bswap16(x))
#define bpf_ntohs(x) ((__u16)__builtin_bswap16(x))
#define bpf_htonl(x) ((__be32)__builtin_bswap32(x))
#define bpf_ntohl(x) ((__u32)__builtin_bswap32(x))
#define bpf_cpu_to_be64(x) ((__be64)__builtin_bswap64(x))
#define bpf_be64_to_cpu(x) ((__u64)__builtin_bswap64(x))

/* struct xdp_md as programs read it, with pointers where the UAPI has offsets. */
struct bench_xdp_md {
  void* data;
  void* data_end;
  void* data_meta;
  __u32 ingress_ifindex;
  __u32 rx_queue_index;
  __u32 egress_ifindex;
};
#define xdp_md bench_xdp_md

struct native_map {
  const char* unit;
  const char* name;
  __u32 type;
  __u32 key_size;
  __u32 value_size;
  __u32 max_entries;
  void* impl; /* the storage: array values, or a hash table or trie (native_rt.c) */
};

typedef int (*native_prog_fn)(struct xdp_md* ctx);

#ifdef __cplusplus
extern "C" {
#endif
void native_register_map(struct native_map* map);
void native_register_prog(const char* unit, const char* name, native_prog_fn fn);
void* native_map_lookup_slow(struct native_map* map, const void* key);
long native_map_update(struct native_map* map, const void* key, const void* value, __u64 flags);
long native_map_delete(struct native_map* map, const void* key);
__s64 native_csum_diff(const __be32* from, __u32 from_size, const __be32* to, __u32 to_size,
                       __wsum seed);
long native_loop(__u32 nr_loops, void* callback_fn, void* callback_ctx, __u64 flags);
__u64 native_ktime_get_ns(void);
__u32 native_prandom_u32(void);
#ifdef __cplusplus
}
#endif

#define BENCH_MAP(name, type_, key_t, value_t, entries)                                  \
  static struct native_map name = {BENCH_STR(BENCH_UNIT), #name,   type_, sizeof(key_t), \
                                   sizeof(value_t),       entries, NULL};                \
  __attribute__((constructor)) static void bench_register_map_##name(void) {             \
    native_register_map(&name);                                                          \
  }                                                                                      \
  struct bench_map_##name##_unused
#define BENCH_MAP_NOPREALLOC BENCH_MAP
#define BENCH_XDP(fn)                                                  \
  int fn(struct xdp_md* ctx);                                          \
  __attribute__((constructor)) static void bench_register_prog(void) { \
    native_register_prog(BENCH_STR(BENCH_UNIT), #fn, fn);              \
  }                                                                    \
  int fn(struct xdp_md* ctx)
#define BENCH_LICENSE struct bench_license_unused

/* Array lookups inline, the rest through calls: what the kernel's JIT does with them. */
static inline void* bpf_map_lookup_elem(void* m, const void* key) {
  struct native_map* map = (struct native_map*)m;
  if (map->type == BPF_MAP_TYPE_ARRAY || map->type == BPF_MAP_TYPE_PERCPU_ARRAY) {
    __u32 i = *(const __u32*)key;
    return i < map->max_entries ? (char*)map->impl + (size_t)i * map->value_size : NULL;
  }
  return native_map_lookup_slow(map, key);
}
static inline long bpf_map_update_elem(void* map, const void* key, const void* value, __u64 flags) {
  return native_map_update((struct native_map*)map, key, value, flags);
}
static inline long bpf_map_delete_elem(void* map, const void* key) {
  return native_map_delete((struct native_map*)map, key);
}
#define bpf_csum_diff native_csum_diff
#define bpf_loop native_loop
#define bpf_ktime_get_ns native_ktime_get_ns
#define bpf_get_prandom_u32 native_prandom_u32
static inline __u32 bpf_get_smp_processor_id(void) {
  return 0;
}

#endif /* BENCH_NATIVE_RT_H */
