/* The runner's side of native_rt.c: the native programs and maps by (unit, name), and their reset
 * to empty maps before each run's setup (as a fresh load gives fresh maps). */
#ifndef BENCH_NATIVE_REGISTRY_H
#define BENCH_NATIVE_REGISTRY_H

#include <linux/types.h>

#ifdef __cplusplus
extern "C" {
#endif
struct native_map;
struct bench_xdp_md;
typedef int (*native_prog_fn)(struct bench_xdp_md* ctx);

native_prog_fn native_find_prog(const char* unit, const char* name);
struct native_map* native_find_map(const char* unit, const char* name);
/* Empties every map of the unit (arrays zeroed, hashes and tries emptied). */
void native_reset_maps(const char* unit);
long native_map_update(struct native_map* map, const void* key, const void* value, __u64 flags);
#ifdef __cplusplus
}
#endif

#endif /* BENCH_NATIVE_REGISTRY_H */
