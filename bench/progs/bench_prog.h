/* One program text, two targets. Every program of bench/progs/src includes this header and is
 * compiled twice by the build: by clang -O2 -target bpf into an object that libbpf loads (into
 * bpfbox or the kernel), and by the host C compiler (-O2) into native x86-64 code, where
 * native_rt.h maps the maps, helpers and the XDP context onto plain C. Both run the same algorithm
 * on the same packet, so their return values and output packets must agree.
 *
 * A program is one XDP entry point:
 *
 *   BENCH_MAP(counters, BPF_MAP_TYPE_ARRAY, __u32, __u64, 16);
 *   BENCH_XDP(my_prog) { void *data = (void *)(long)ctx->data; ... return XDP_PASS; }
 *   BENCH_LICENSE;
 */
#ifndef BENCH_PROG_H
#define BENCH_PROG_H

#include <linux/types.h>
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/tcp.h>
#include <linux/udp.h>

#ifdef __bpf__

#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#define BENCH_MAP(name, type_, key_t, value_t, entries) \
  struct {                                              \
    __uint(type, type_);                                \
    __uint(max_entries, entries);                       \
    __type(key, key_t);                                 \
    __type(value, value_t);                             \
  } name SEC(".maps")
/* LPM tries must be created with BPF_F_NO_PREALLOC. */
#define BENCH_MAP_NOPREALLOC(name, type_, key_t, value_t, entries) \
  struct {                                                         \
    __uint(type, type_);                                           \
    __uint(max_entries, entries);                                  \
    __type(key, key_t);                                            \
    __type(value, value_t);                                        \
    __uint(map_flags, BPF_F_NO_PREALLOC);                          \
  } name SEC(".maps")
#define BENCH_XDP(fn) SEC("xdp") int fn(struct xdp_md* ctx)
#define BENCH_LICENSE char LICENSE[] SEC("license") = "GPL"

#else /* native x86-64 */

#include "native_rt.h"

#endif

/* Full unrolling where the BPF verifier needs constant keys or offsets; the native compiler decides
 * for itself. */
#ifdef __clang__
#define BENCH_UNROLL _Pragma("unroll")
#else
#define BENCH_UNROLL
#endif

/* What both targets share: packet pointers from the context and the end-of-packet check. */
#define PKT_DATA(ctx) ((void*)(long)(ctx)->data)
#define PKT_END(ctx) ((void*)(long)(ctx)->data_end)

#endif /* BENCH_PROG_H */
