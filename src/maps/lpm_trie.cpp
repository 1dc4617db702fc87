// BPF_MAP_TYPE_LPM_TRIE (the kernel's lpm_trie.c): keys are struct bpf_lpm_trie_key (a 32-bit
// prefixlen, then data), lookups find the longest matching prefix. The trie is the kernel's
// path-compressed binary trie, built and pruned the same way (intermediate nodes only where two
// subtrees branch), so get_next_key walks it in the kernel's postorder: more specific prefixes
// before the prefixes that contain them.
//
// Nodes live in an ElemPool; lookups inside a run walk child links without locks, writers hold
// one trie lock (as the kernel's), and replaced or removed nodes are retired, reused only after
// every run that could see them has ended.
#include <algorithm>
#include <string>
#include <vector>

#include "maps/elem_pool.hpp"
#include "maps/map_ops.hpp"

namespace bpfbox::maps {

namespace {

constexpr uint32_t kFlagIntermediate = 1;
constexpr uint32_t kKeySizeMin = 4 + 1;
constexpr uint32_t kDataSizeMax = 256;
constexpr uint32_t kKeySizeMax = 4 + kDataSizeMax;
constexpr uint32_t kCreateFlags = BPF_F_NO_PREALLOC | BPF_F_NUMA_NODE | kAccessMask;

struct Node {
  PoolLink pool;
  std::atomic<uint32_t> child[2];
  uint32_t prefixlen;
  std::atomic<uint32_t> flags;
  // data[data_size rounded up to 8], then the value
};
constexpr uint32_t kDataOff = sizeof(Node);
static_assert(kDataOff % 8 == 0);

struct TrieLayout {
  SpinLock lock;
  std::atomic<uint32_t> root;
  uint32_t n_entries;
  uint32_t data_size;
  uint32_t max_prefixlen;
  uint32_t value_off;
  PoolHeader pool;
};
constexpr uint64_t kLayoutOff = kMapHeaderSize;

struct TrieView {
  TrieLayout* layout;
  ElemPool pool;
  uint8_t* nodes;      // node 1 (pool.elem(1)), so that lookups index without the pool header
  uint64_t node_size;  // the pool's elem_size
  uint32_t data_size, max_prefixlen, value_off, value_size, max_entries;

  Node* node(uint32_t idx) const { return reinterpret_cast<Node*>(nodes + (idx - 1) * node_size); }
  const uint8_t* data(const Node* n) const {
    return reinterpret_cast<const uint8_t*>(n) + kDataOff;
  }
  uint8_t* value(Node* n) const { return reinterpret_cast<uint8_t*>(n) + value_off; }
};

TrieView& view(const Map& m) {
  return *static_cast<TrieView*>(m.impl);
}

uint32_t key_prefixlen(const void* key) {
  uint32_t pl;
  std::memcpy(&pl, key, 4);
  return pl;
}
const uint8_t* key_data(const void* key) {
  return static_cast<const uint8_t*>(key) + 4;
}

bool extract_bit(const uint8_t* data, uint32_t index) {
  return (data[index / 8] >> (7 - index % 8)) & 1;
}

// The number of leading bits a and b (size bytes each) share, up to limit: 64, then 32 bits at a
// time as big-endian words (xor and count leading zeros, as the kernel's), bytes for the rest.
inline uint32_t common_bits(const uint8_t* a, const uint8_t* b, uint32_t size, uint32_t limit) {
  uint32_t bits = 0, i = 0;
  for (; i + 8 <= size; i += 8) {
    uint64_t x, y;
    std::memcpy(&x, a + i, 8);
    std::memcpy(&y, b + i, 8);
    if (uint64_t d = __builtin_bswap64(x ^ y))
      return std::min(bits + static_cast<uint32_t>(__builtin_clzll(d)), limit);
    bits += 64;
    if (bits >= limit) return limit;
  }
  if (i + 4 <= size) {
    uint32_t x, y;
    std::memcpy(&x, a + i, 4);
    std::memcpy(&y, b + i, 4);
    if (uint32_t d = __builtin_bswap32(x ^ y))
      return std::min(bits + static_cast<uint32_t>(__builtin_clz(d)), limit);
    bits += 32;
    i += 4;
  }
  for (; i < size && bits < limit; ++i) {
    if (uint8_t d = a[i] ^ b[i]) {
      bits += static_cast<uint32_t>(__builtin_clz(uint32_t(d)) - 24);
      break;
    }
    bits += 8;
  }
  return std::min(bits, limit);
}

// The number of leading bits node and key share, up to the shorter prefix.
uint32_t longest_prefix_match(const TrieView& v, const Node* n, const uint8_t* kdata,
                              uint32_t kprefixlen) {
  return common_bits(v.data(n), kdata, v.data_size, std::min(n->prefixlen, kprefixlen));
}

Status alloc_check(const MapAttr& a) {
  if (a.max_entries == 0) return Status(EINVAL, "max_entries must be > 0");
  if (!(a.map_flags & BPF_F_NO_PREALLOC))
    return Status(EINVAL, "LPM tries must be created with BPF_F_NO_PREALLOC");
  if ((a.map_flags & ~kCreateFlags) || !access_flags_ok(a.map_flags))
    return Status(EINVAL, "unsupported map_flags for an LPM trie");
  if (a.key_size < kKeySizeMin || a.key_size > kKeySizeMax)
    return Status(EINVAL,
                  "LPM trie keys are struct bpf_lpm_trie_key: 4 bytes of prefixlen and 1 "
                  "to 256 bytes of data");
  if (a.value_size < 1 || a.value_size > kKmallocMaxSize - kDataSizeMax - sizeof(Node))
    return Status(EINVAL, "bad value_size for an LPM trie");
  return Status::ok();
}

uint32_t node_size(const MapAttr& a) {
  return kDataOff + round8(a.key_size - 4) + round8(a.value_size);
}
// Every entry may bring an intermediate node; room beyond that for retired nodes. Huge tries
// are capped (memory is reserved as address space).
uint32_t capacity(const MapAttr& a) {
  uint64_t c = 2 * uint64_t(a.max_entries) + std::max<uint64_t>(a.nr_cpus_possible * 256, 1024);
  return uint32_t(std::min<uint64_t>(c, uint64_t(1) << 26));
}
uint64_t elems_off() {
  return round_up(kLayoutOff + sizeof(TrieLayout), 64);
}

Result<uint64_t> arena_size(const MapAttr& a) {
  return elems_off() - kMapHeaderSize +
         ElemPool::bytes(capacity(a), node_size(a), a.nr_cpus_possible);
}

void init(const MapAttr& a, uint8_t* base) {
  auto* l = new (base + kLayoutOff) TrieLayout();
  l->data_size = a.key_size - 4;
  l->max_prefixlen = l->data_size * 8;
  l->value_off = kDataOff + round8(l->data_size);
  ElemPool::init(&l->pool, capacity(a), node_size(a), a.nr_cpus_possible, elems_off());
}

void bind(Map& m);
void unbind(Map& m) {
  delete static_cast<TrieView*>(m.impl);
  m.impl = nullptr;
}

// Longest-prefix match; lock-free inside a run.
Node* lookup_node(const TrieView& v, const void* key) {
  uint32_t kpl = key_prefixlen(key);
  if (kpl > v.max_prefixlen) return nullptr;
  const uint8_t* kd = key_data(key);
  Node* found = nullptr;
  for (uint32_t idx = v.layout->root.load(std::memory_order_acquire); idx;) {
    Node* n = v.node(idx);
    uint32_t matchlen = longest_prefix_match(v, n, kd, kpl);
    if (matchlen == v.max_prefixlen) {
      found = n;
      break;
    }
    if (matchlen < n->prefixlen) break;
    if (!(n->flags.load(std::memory_order_acquire) & kFlagIntermediate)) found = n;
    idx = n->child[extract_bit(kd, n->prefixlen)].load(std::memory_order_acquire);
  }
  return found;
}

// lookup_node for IPv4 keys (4 data bytes): the key as one host-order word, each node's data
// xored with it once (the kernel's 32-bit compare with fls).
Node* lookup_node_v4(const TrieView& v, const void* key) {
  const uint32_t kpl = key_prefixlen(key);
  if (kpl > 32) return nullptr;
  uint32_t k;
  std::memcpy(&k, key_data(key), 4);
  k = __builtin_bswap32(k);
  uint8_t* const nodes = v.nodes;
  const uint64_t size = v.node_size;
  Node* found = nullptr;
  for (uint32_t idx = v.layout->root.load(std::memory_order_acquire); idx;) {
    Node* n = reinterpret_cast<Node*>(nodes + (idx - 1) * size);
    // Both children loaded before the compare decides: the walk waits for one load per node.
    const uint32_t c0 = n->child[0].load(std::memory_order_acquire);
    const uint32_t c1 = n->child[1].load(std::memory_order_acquire);
    uint32_t nd;
    std::memcpy(&nd, reinterpret_cast<const uint8_t*>(n) + kDataOff, 4);
    const uint32_t d = __builtin_bswap32(nd) ^ k;
    const uint32_t pl = n->prefixlen;
    const uint32_t match =
        std::min(d ? static_cast<uint32_t>(__builtin_clz(d)) : 32u, std::min(pl, kpl));
    if (match == 32) {
      found = n;
      break;
    }
    if (match < pl) break;
    if (!(n->flags.load(std::memory_order_acquire) & kFlagIntermediate)) found = n;
    idx = (k >> (31 - pl)) & 1 ? c1 : c0;  // pl < 32 here
  }
  return found;
}

template <bool V4>
void* prog_lookup(Map* m, const void* key, uint32_t) {
  TrieView& v = view(*m);
  Node* n = V4 ? lookup_node_v4(v, key) : lookup_node(v, key);
  return n ? v.value(n) : nullptr;
}

long check_add(TrieView& v, uint64_t flags) {
  if (flags == BPF_EXIST) return -ENOENT;
  if (v.layout->n_entries == v.max_entries) return -ENOSPC;
  ++v.layout->n_entries;
  return 0;
}

long update_elem(TrieView& v, const void* key, const void* value, uint64_t flags, int32_t run_cpu) {
  if (flags > BPF_EXIST) return -EINVAL;
  uint32_t kpl = key_prefixlen(key);
  if (kpl > v.max_prefixlen) return -EINVAL;
  const uint8_t* kd = key_data(key);
  uint32_t fresh = v.pool.alloc(run_cpu);
  if (!fresh) return -ENOMEM;
  Node* nn = v.node(fresh);
  nn->child[0].store(0, std::memory_order_relaxed);
  nn->child[1].store(0, std::memory_order_relaxed);
  nn->prefixlen = kpl;
  nn->flags.store(0, std::memory_order_relaxed);
  std::memcpy(reinterpret_cast<uint8_t*>(nn) + kDataOff, kd, v.data_size);
  std::memcpy(v.value(nn), value, v.value_size);
  uint32_t retired = 0, unused = 0;
  long err = 0;
  {
    SpinGuard g(v.layout->lock);
    std::atomic<uint32_t>* slot = &v.layout->root;
    Node* n = nullptr;
    uint32_t idx, matchlen = 0;
    while ((idx = slot->load(std::memory_order_relaxed))) {
      n = v.node(idx);
      matchlen = longest_prefix_match(v, n, kd, kpl);
      if (n->prefixlen != matchlen || n->prefixlen == kpl || n->prefixlen == v.max_prefixlen) break;
      slot = &n->child[extract_bit(kd, n->prefixlen)];
    }
    if (!idx) {
      if (!(err = check_add(v, flags))) slot->store(fresh, std::memory_order_release);
    } else if (n->prefixlen == matchlen) {  // the same prefix: replace the node
      if (!(n->flags.load(std::memory_order_relaxed) & kFlagIntermediate)) {
        if (flags == BPF_NOEXIST) err = -EEXIST;
      } else {
        err = check_add(v, flags);
      }
      if (!err) {
        nn->child[0].store(n->child[0].load(std::memory_order_relaxed), std::memory_order_relaxed);
        nn->child[1].store(n->child[1].load(std::memory_order_relaxed), std::memory_order_relaxed);
        slot->store(fresh, std::memory_order_release);
        retired = idx;
      }
    } else if (!(err = check_add(v, flags))) {
      if (matchlen == kpl) {  // the new prefix contains the node's: insert it above
        nn->child[extract_bit(v.data(n), matchlen)].store(idx, std::memory_order_relaxed);
        slot->store(fresh, std::memory_order_release);
      } else {  // they branch: an intermediate node with both below it
        uint32_t im = v.pool.alloc(run_cpu);
        if (!im) {
          --v.layout->n_entries;
          err = -ENOMEM;
        } else {
          Node* in = v.node(im);
          in->prefixlen = matchlen;
          in->flags.store(kFlagIntermediate, std::memory_order_relaxed);
          std::memcpy(reinterpret_cast<uint8_t*>(in) + kDataOff, v.data(n), v.data_size);
          bool bit = extract_bit(kd, matchlen);
          in->child[bit].store(fresh, std::memory_order_relaxed);
          in->child[!bit].store(idx, std::memory_order_relaxed);
          slot->store(im, std::memory_order_release);
        }
      }
    }
    if (err) unused = fresh;
  }
  if (unused) v.pool.free_unused(unused);
  if (retired) v.pool.retire(retired);
  return err;
}

long delete_elem(TrieView& v, const void* key) {
  uint32_t kpl = key_prefixlen(key);
  if (kpl > v.max_prefixlen) return -EINVAL;
  const uint8_t* kd = key_data(key);
  uint32_t free1 = 0, free2 = 0;
  {
    SpinGuard g(v.layout->lock);
    std::atomic<uint32_t>* trim = &v.layout->root;
    std::atomic<uint32_t>* trim2 = trim;
    Node* parent = nullptr;
    Node* n = nullptr;
    uint32_t idx, matchlen = 0;
    while ((idx = trim->load(std::memory_order_relaxed))) {
      n = v.node(idx);
      matchlen = longest_prefix_match(v, n, kd, kpl);
      if (n->prefixlen != matchlen || n->prefixlen == kpl) break;
      parent = n;
      trim2 = trim;
      trim = &n->child[extract_bit(kd, n->prefixlen)];
    }
    if (!idx || n->prefixlen != kpl || n->prefixlen != matchlen ||
        (n->flags.load(std::memory_order_relaxed) & kFlagIntermediate))
      return -ENOENT;
    --v.layout->n_entries;
    uint32_t c0 = n->child[0].load(std::memory_order_relaxed);
    uint32_t c1 = n->child[1].load(std::memory_order_relaxed);
    if (c0 && c1) {  // keeps its place as an intermediate node
      n->flags.fetch_or(kFlagIntermediate, std::memory_order_release);
      return 0;
    }
    if (parent && (parent->flags.load(std::memory_order_relaxed) & kFlagIntermediate) && !c0 &&
        !c1) {  // the intermediate parent goes too; the sibling moves up
      uint32_t p0 = parent->child[0].load(std::memory_order_relaxed);
      uint32_t p1 = parent->child[1].load(std::memory_order_relaxed);
      free2 = trim2->load(std::memory_order_relaxed);
      trim2->store(p0 == idx ? p1 : p0, std::memory_order_release);
      free1 = idx;
    } else {
      trim->store(c0 ? c0 : c1, std::memory_order_release);
      free1 = idx;
    }
  }
  if (free1) v.pool.retire(free1);
  if (free2) v.pool.retire(free2);
  return 0;
}

// Postorder successor, as trie_get_next_key; under the trie lock.
Status get_next_key(Map& m, const void* key, void* next_key) {
  TrieView& v = view(m);
  SpinGuard g(v.layout->lock);
  uint32_t search_root = v.layout->root.load(std::memory_order_relaxed);
  if (!search_root) return Status(ENOENT, "empty trie");
  Node* next = nullptr;
  if (key && key_prefixlen(key) <= v.max_prefixlen) {
    uint32_t kpl = key_prefixlen(key);
    const uint8_t* kd = key_data(key);
    std::vector<uint32_t> stack;
    uint32_t idx = search_root, matchlen = 0;
    Node* n = nullptr;
    while (idx) {
      stack.push_back(idx);
      n = v.node(idx);
      matchlen = longest_prefix_match(v, n, kd, kpl);
      if (n->prefixlen != matchlen || n->prefixlen == kpl) break;
      idx = n->child[extract_bit(kd, n->prefixlen)].load(std::memory_order_relaxed);
    }
    bool exact = idx && n->prefixlen == matchlen && n->prefixlen == kpl &&
                 !(n->flags.load(std::memory_order_relaxed) & kFlagIntermediate);
    if (exact) {
      search_root = 0;
      uint32_t cur = stack.back();
      while (stack.size() > 1) {
        Node* parent = v.node(stack[stack.size() - 2]);
        if (parent->child[0].load(std::memory_order_relaxed) == cur) {
          search_root = parent->child[1].load(std::memory_order_relaxed);
          if (search_root) break;
        }
        if (!(parent->flags.load(std::memory_order_relaxed) & kFlagIntermediate)) {
          next = parent;
          break;
        }
        cur = stack[stack.size() - 2];
        stack.pop_back();
      }
      if (!next && !search_root) return Status(ENOENT, "no more keys");
    }
  }
  if (!next) {  // the leftmost non-intermediate node below search_root
    for (uint32_t idx = search_root; idx;) {
      Node* n = v.node(idx);
      if (n->flags.load(std::memory_order_relaxed) & kFlagIntermediate) {
        idx = n->child[0].load(std::memory_order_relaxed);
      } else {
        next = n;
        idx = n->child[0].load(std::memory_order_relaxed);
        if (!idx) idx = n->child[1].load(std::memory_order_relaxed);
      }
    }
  }
  uint32_t pl = next->prefixlen;
  std::memcpy(next_key, &pl, 4);
  std::memcpy(static_cast<uint8_t*>(next_key) + 4, v.data(next), v.data_size);
  return Status::ok();
}

Status errno_status(long err, const char* what) {
  if (!err) return Status::ok();
  const char* why = err == -ENOENT   ? "no such prefix"
                    : err == -EEXIST ? "BPF_NOEXIST: the prefix exists"
                    : err == -ENOSPC ? "trie is full (max_entries reached)"
                    : err == -EINVAL ? "bad flags or prefixlen beyond the key's data"
                                     : "out of memory";
  return Status(static_cast<int>(-err), std::string(what) + ": " + why);
}

Status lookup(Map& m, const void* key, void* value, uint64_t) {
  TrieView& v = view(m);
  SpinGuard g(v.layout->lock);
  Node* n = v.data_size == 4 ? lookup_node_v4(v, key) : lookup_node(v, key);
  if (!n) return Status(ENOENT, "lookup: no prefix matches");
  std::memcpy(value, v.value(n), v.value_size);
  return Status::ok();
}
Status update(Map& m, const void* key, const void* value, uint64_t flags) {
  return errno_status(update_elem(view(m), key, value, flags, -1), "update");
}
Status remove(Map& m, const void* key) {
  return errno_status(delete_elem(view(m), key), "delete");
}

long prog_update(Map* m, const void* key, const void* value, uint64_t flags, uint32_t cpu) {
  return update_elem(view(*m), key, value, flags, static_cast<int32_t>(cpu));
}
long prog_delete(Map* m, const void* key, uint32_t) {
  return delete_elem(view(*m), key);
}

void bind(Map& m) {
  auto* l = reinterpret_cast<TrieLayout*>(m.arena_base() + kLayoutOff);
  auto* v = new TrieView();
  v->layout = l;
  v->pool = ElemPool(m.arena_base(), &l->pool, &RunDomain::process());
  v->nodes = v->pool.elem(1);
  v->node_size = l->pool.elem_size;
  v->data_size = l->data_size;
  v->max_prefixlen = l->max_prefixlen;
  v->value_off = l->value_off;
  v->value_size = m.value_size();
  v->max_entries = m.max_entries();
  m.impl = v;
  ProgOps p;
  p.lookup = v->data_size == 4 ? prog_lookup<true> : prog_lookup<false>;
  p.update = prog_update;
  p.delete_elem = prog_delete;
  MapBuilder::set_prog(m, p);
}

constexpr MapOps make_ops() {
  MapOps o{.name = "BPF_MAP_TYPE_LPM_TRIE"};
  o.alloc_check = alloc_check;
  o.arena_size = arena_size;
  o.init = init;
  o.bind = bind;
  o.unbind = unbind;
  o.lookup = lookup;
  o.update = update;
  o.delete_elem = remove;
  o.get_next_key = get_next_key;
  o.batch_ops = kBatchLookup | kBatchUpdate | kBatchDelete;  // generic_map_*_batch
  return o;
}

}  // namespace

const MapOps kLpmTrieOps = make_ops();

}  // namespace bpfbox::maps
