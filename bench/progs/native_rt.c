/* The native runtime of bench_prog.h (see native_rt.h): the map registry, hash tables and LPM
 * tries for the native twins, and the helpers they call. Single-threaded, like a run. */
#define BENCH_UNIT native_rt
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <linux/bpf.h>

#include "native_registry.h"
#include "native_rt.h"

enum { kMaxMaps = 256, kMaxProgs = 128 };

static struct native_map* g_maps[kMaxMaps];
static int g_nmaps;
static struct {
  const char* unit;
  const char* name;
  native_prog_fn fn;
} g_progs[kMaxProgs];
static int g_nprogs;

/* ---- hash tables: open addressing, linear probing, tombstones ---- */

struct hash_table {
  __u32 cap; /* a power of two, at least twice max_entries */
  __u32 count;
  __u32 slot_size; /* state byte, padding, key, value (8-byte aligned) */
  __u32 key_off, value_off;
  unsigned char* slots;
};

enum { kEmpty = 0, kUsed = 1, kDeleted = 2 };

static __u64 hash_bytes(const void* p, __u32 n) {
  const unsigned char* b = (const unsigned char*)p;
  __u64 h = 0x9e3779b97f4a7c15ull ^ n;
  while (n >= 8) {
    __u64 w;
    memcpy(&w, b, 8);
    h = (h ^ w) * 0xff51afd7ed558ccdull;
    h ^= h >> 32;
    b += 8;
    n -= 8;
  }
  if (n) {
    __u64 w = 0;
    memcpy(&w, b, n);
    h = (h ^ w) * 0xc4ceb9fe1a85ec53ull;
  }
  h ^= h >> 29;
  return h;
}

static struct hash_table* hash_new(const struct native_map* m) {
  struct hash_table* t = (struct hash_table*)calloc(1, sizeof *t);
  __u32 cap = 16;
  while (cap < 2 * m->max_entries) cap *= 2;
  t->cap = cap;
  t->key_off = 8;
  t->value_off = 8 + ((m->key_size + 7) & ~7u);
  t->slot_size = t->value_off + ((m->value_size + 7) & ~7u);
  t->slots = (unsigned char*)calloc(cap, t->slot_size);
  return t;
}

/* The slot holding key, or the first free one on its probe sequence (for an insert). */
static unsigned char* hash_find(struct hash_table* t, __u32 key_size, const void* key,
                                unsigned char** free_slot) {
  __u32 i = (__u32)hash_bytes(key, key_size) & (t->cap - 1);
  *free_slot = NULL;
  for (__u32 probes = 0; probes < t->cap; probes++, i = (i + 1) & (t->cap - 1)) {
    unsigned char* s = t->slots + (size_t)i * t->slot_size;
    if (s[0] == kEmpty) {
      if (!*free_slot) *free_slot = s;
      return NULL;
    }
    if (s[0] == kDeleted) {
      if (!*free_slot) *free_slot = s;
      continue;
    }
    if (memcmp(s + t->key_off, key, key_size) == 0) return s;
  }
  return NULL;
}

/* ---- LPM tries: one node per prefix bit, data[0]'s top bit first ---- */

struct lpm_node {
  struct lpm_node* child[2];
  int has_value;
  unsigned char value[]; /* value_size bytes */
};

struct lpm_trie {
  struct lpm_node* root;
  __u32 count;
};

static struct lpm_node* lpm_node_new(const struct native_map* m) {
  return (struct lpm_node*)calloc(1, sizeof(struct lpm_node) + m->value_size);
}

static void lpm_free(struct lpm_node* n) {
  if (!n) return;
  lpm_free(n->child[0]);
  lpm_free(n->child[1]);
  free(n);
}

static int key_bit(const unsigned char* data, __u32 i) {
  return (data[i / 8] >> (7 - i % 8)) & 1;
}

/* ---- the registry ---- */

static void map_init(struct native_map* m) {
  switch (m->type) {
    case BPF_MAP_TYPE_ARRAY:
    case BPF_MAP_TYPE_PERCPU_ARRAY:
      m->impl = calloc(m->max_entries, m->value_size);
      break;
    case BPF_MAP_TYPE_HASH:
    case BPF_MAP_TYPE_PERCPU_HASH:
    case BPF_MAP_TYPE_LRU_HASH:
      m->impl = hash_new(m);
      break;
    case BPF_MAP_TYPE_LPM_TRIE:
      m->impl = calloc(1, sizeof(struct lpm_trie));
      break;
    default:
      abort(); /* a map type the native runtime does not model */
  }
}

void native_register_map(struct native_map* map) {
  if (g_nmaps == kMaxMaps) abort();
  map_init(map);
  g_maps[g_nmaps++] = map;
}

void native_register_prog(const char* unit, const char* name, native_prog_fn fn) {
  if (g_nprogs == kMaxProgs) abort();
  g_progs[g_nprogs].unit = unit;
  g_progs[g_nprogs].name = name;
  g_progs[g_nprogs].fn = fn;
  g_nprogs++;
}

native_prog_fn native_find_prog(const char* unit, const char* name) {
  for (int i = 0; i < g_nprogs; i++)
    if (strcmp(g_progs[i].unit, unit) == 0 && strcmp(g_progs[i].name, name) == 0)
      return g_progs[i].fn;
  return NULL;
}

struct native_map* native_find_map(const char* unit, const char* name) {
  for (int i = 0; i < g_nmaps; i++)
    if (strcmp(g_maps[i]->unit, unit) == 0 && strcmp(g_maps[i]->name, name) == 0) return g_maps[i];
  return NULL;
}

void native_reset_maps(const char* unit) {
  for (int i = 0; i < g_nmaps; i++) {
    struct native_map* m = g_maps[i];
    if (strcmp(m->unit, unit) != 0) continue;
    switch (m->type) {
      case BPF_MAP_TYPE_ARRAY:
      case BPF_MAP_TYPE_PERCPU_ARRAY:
        memset(m->impl, 0, (size_t)m->max_entries * m->value_size);
        break;
      case BPF_MAP_TYPE_LPM_TRIE: {
        struct lpm_trie* t = (struct lpm_trie*)m->impl;
        lpm_free(t->root);
        t->root = NULL;
        t->count = 0;
        break;
      }
      default: {
        struct hash_table* t = (struct hash_table*)m->impl;
        memset(t->slots, 0, (size_t)t->cap * t->slot_size);
        t->count = 0;
      }
    }
  }
}

void* native_map_lookup_slow(struct native_map* m, const void* key) {
  if (m->type == BPF_MAP_TYPE_LPM_TRIE) {
    const struct lpm_trie* t = (const struct lpm_trie*)m->impl;
    const __u32 prefixlen = *(const __u32*)key;
    const unsigned char* data = (const unsigned char*)key + 4;
    const __u32 max_bits = (m->key_size - 4) * 8;
    const __u32 bits = prefixlen < max_bits ? prefixlen : max_bits;
    struct lpm_node* n = t->root;
    void* best = NULL;
    for (__u32 i = 0; n; i++) {
      if (n->has_value) best = n->value;
      if (i == bits) break;
      n = n->child[key_bit(data, i)];
    }
    return best;
  }
  struct hash_table* t = (struct hash_table*)m->impl;
  unsigned char* free_slot;
  unsigned char* s = hash_find(t, m->key_size, key, &free_slot);
  return s ? s + t->value_off : NULL;
}

long native_map_update(struct native_map* m, const void* key, const void* value, __u64 flags) {
  switch (m->type) {
    case BPF_MAP_TYPE_ARRAY:
    case BPF_MAP_TYPE_PERCPU_ARRAY: {
      const __u32 i = *(const __u32*)key;
      if (i >= m->max_entries) return -E2BIG;
      if (flags == BPF_NOEXIST) return -EEXIST;
      memcpy((char*)m->impl + (size_t)i * m->value_size, value, m->value_size);
      return 0;
    }
    case BPF_MAP_TYPE_LPM_TRIE: {
      struct lpm_trie* t = (struct lpm_trie*)m->impl;
      const __u32 prefixlen = *(const __u32*)key;
      const unsigned char* data = (const unsigned char*)key + 4;
      if (prefixlen > (m->key_size - 4) * 8) return -EINVAL;
      struct lpm_node** link = &t->root;
      for (__u32 i = 0;; i++) {
        if (!*link) *link = lpm_node_new(m);
        if (i == prefixlen) break;
        link = &(*link)->child[key_bit(data, i)];
      }
      struct lpm_node* n = *link;
      if (!n->has_value) {
        if (t->count == m->max_entries) return -ENOSPC;
        t->count++;
      }
      n->has_value = 1;
      memcpy(n->value, value, m->value_size);
      return 0;
    }
    default: {
      struct hash_table* t = (struct hash_table*)m->impl;
      unsigned char* free_slot;
      unsigned char* s = hash_find(t, m->key_size, key, &free_slot);
      if (s) {
        if (flags == BPF_NOEXIST) return -EEXIST;
      } else {
        if (flags == BPF_EXIST) return -ENOENT;
        if (t->count == m->max_entries || !free_slot) return -E2BIG;
        s = free_slot;
        s[0] = kUsed;
        memcpy(s + t->key_off, key, m->key_size);
        t->count++;
      }
      memcpy(s + t->value_off, value, m->value_size);
      return 0;
    }
  }
}

long native_map_delete(struct native_map* m, const void* key) {
  if (m->type == BPF_MAP_TYPE_ARRAY || m->type == BPF_MAP_TYPE_PERCPU_ARRAY) return -EINVAL;
  if (m->type == BPF_MAP_TYPE_LPM_TRIE) return -EOPNOTSUPP;
  struct hash_table* t = (struct hash_table*)m->impl;
  unsigned char* free_slot;
  unsigned char* s = hash_find(t, m->key_size, key, &free_slot);
  if (!s) return -ENOENT;
  s[0] = kDeleted;
  t->count--;
  return 0;
}

/* bpf_csum_diff: the one's complement sum of `to` minus that of `from`, plus seed, folded to 16
 * bits as the kernel's (6.x) returns it. */
__s64 native_csum_diff(const __be32* from, __u32 from_size, const __be32* to, __u32 to_size,
                       __wsum seed) {
  if ((from_size | to_size) & 3) return -EINVAL;
  __u64 sum = seed;
  for (__u32 i = 0; i < to_size / 4; i++) sum += to[i];
  for (__u32 i = 0; i < from_size / 4; i++) sum += (__u32)~from[i];
  sum = (sum & 0xffffffffu) + (sum >> 32);
  sum = (sum & 0xffffffffu) + (sum >> 32);
  sum = (sum & 0xffffu) + (sum >> 16);
  sum = (sum & 0xffffu) + (sum >> 16);
  return (__s64)sum;
}

long native_loop(__u32 nr_loops, void* callback_fn, void* callback_ctx, __u64 flags) {
  long (*cb)(__u32, void*) = (long (*)(__u32, void*))callback_fn;
  if (flags) return -EINVAL;
  if (nr_loops > (1u << 23)) return -E2BIG;
  __u32 i = 0;
  for (; i < nr_loops; i++)
    if (cb(i, callback_ctx)) return i + 1;
  return i;
}

__u64 native_ktime_get_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (__u64)ts.tv_sec * 1000000000ull + (__u64)ts.tv_nsec;
}

__u32 native_prandom_u32(void) {
  static __u32 s = 0x12345678u;
  s ^= s << 13;
  s ^= s >> 17;
  s ^= s << 5;
  return s;
}
