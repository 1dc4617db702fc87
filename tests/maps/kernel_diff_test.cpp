// Differential tests against the running kernel: the same BPF_MAP_CREATE attributes and the same
// random operation sequences on a kernel map (through bpf()) and a bpfbox map, comparing every
// result, errno, value, the final contents and, where the kernel defines it (arrays, hash maps with
// BPF_F_ZERO_SEED), the get_next_key order. Skipped where bpf() is refused.
#include <fcntl.h>
#include <sched.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <bit>
#include <random>
#include <string>
#include <vector>

#include "create_cases.hpp"
#include "map_test_util.hpp"
#include "maps/map_ops.hpp"
#include "test_object_table.hpp"

namespace bpfbox::maps::testing {
namespace {

#define REQUIRE_KERNEL_BPF()                              \
  do {                                                    \
    std::string why;                                      \
    if (!KernelMap::available(&why)) GTEST_SKIP() << why; \
  } while (0)

TEST(KernelDiff, CreateAttributes) {
  REQUIRE_KERNEL_BPF();
  for (const CreateCase& c : kCreateCases) {
    KernelMap k(c.attr());
    auto b = Map::create(c.attr());
    long kr = k.fd() >= 0 ? 0 : k.fd();
    EXPECT_EQ(b ? 0 : -b.status().err(), kr) << c.name << ": " << b.status().message();
  }
  KernelMap k(unterminated_name_attr());
  EXPECT_EQ(k.fd(), -EINVAL);
  EXPECT_EQ(Map::create(unterminated_name_attr()).status().err(), EINVAL);
}

struct DiffSpec {
  const char* name;
  uint32_t type, key_size, value_size, max_entries, flags;
  uint32_t key_space;          // keys drawn from [0, key_space)
  bool ordered;                // get_next_key order is defined (arrays, zero-seeded hashes)
  bool devmap_values = false;  // struct bpf_devmap_val: ifindex (of lo, none, or missing), prog fd
  bool lpm_keys = false;       // struct bpf_lpm_trie_key: prefixlen (up to max + 1), nested data
};

const DiffSpec kSpecs[] = {
    {"array", BPF_MAP_TYPE_ARRAY, 4, 12, 32, 0, 40, true},
    {"percpu_array", BPF_MAP_TYPE_PERCPU_ARRAY, 4, 5, 16, 0, 20, true},
    {"hash_zero_seed", BPF_MAP_TYPE_HASH, 4, 8, 48, BPF_F_ZERO_SEED, 96, true},
    {"hash_odd_key", BPF_MAP_TYPE_HASH, 6, 12, 40, BPF_F_ZERO_SEED, 80, true},
    {"hash_long_key", BPF_MAP_TYPE_HASH, 20, 4, 40, BPF_F_ZERO_SEED | BPF_F_NO_PREALLOC, 80, true},
    {"hash_seeded", BPF_MAP_TYPE_HASH, 8, 16, 64, 0, 100, false},
    {"hash_no_prealloc", BPF_MAP_TYPE_HASH, 4, 4, 20, BPF_F_NO_PREALLOC | BPF_F_ZERO_SEED, 30,
     true},
    {"percpu_hash", BPF_MAP_TYPE_PERCPU_HASH, 4, 12, 32, BPF_F_ZERO_SEED, 48, true},
    {"percpu_hash_seeded", BPF_MAP_TYPE_PERCPU_HASH, 8, 8, 16, BPF_F_NO_PREALLOC, 24, false},
    // LRU maps below capacity (eviction choices are the kernel's approximation, not compared).
    {"lru_hash", BPF_MAP_TYPE_LRU_HASH, 4, 8, 256, BPF_F_ZERO_SEED, 128, true},
    {"lru_percpu_hash", BPF_MAP_TYPE_LRU_PERCPU_HASH, 4, 8, 256, BPF_F_ZERO_SEED, 128, true},
    // Per-CPU LRU lists at capacity: the kernel's rotation and 4-at-a-time shrinking, compared
    // key for key (syscall-side lookups set no reference bits, so the order is deterministic).
    {"lru_no_common", BPF_MAP_TYPE_LRU_HASH, 4, 8, 33, BPF_F_ZERO_SEED | BPF_F_NO_COMMON_LRU, 96,
     true},
    {"lru_percpu_no_common", BPF_MAP_TYPE_LRU_PERCPU_HASH, 4, 12, 17,
     BPF_F_ZERO_SEED | BPF_F_NO_COMMON_LRU, 64, true},
    {"devmap", BPF_MAP_TYPE_DEVMAP, 4, 8, 16, 0, 20, true, true},
    {"devmap_ifindex_only", BPF_MAP_TYPE_DEVMAP, 4, 4, 16, 0, 20, true, true},
    {"devmap_hash", BPF_MAP_TYPE_DEVMAP_HASH, 4, 8, 16, 0, 40, true, true},
    {"lpm_ipv4", BPF_MAP_TYPE_LPM_TRIE, 8, 4, 48, BPF_F_NO_PREALLOC, 400, true, false, true},
    {"lpm_ipv6", BPF_MAP_TYPE_LPM_TRIE, 20, 12, 64, BPF_F_NO_PREALLOC, 600, true, false, true},
    {"lpm_one_byte", BPF_MAP_TYPE_LPM_TRIE, 5, 8, 300, BPF_F_NO_PREALLOC, 300, true, false, true},
};

// Keeps the kernel's per-CPU LRU free lists in one place while a test runs.
struct PinToOneCpu {
  cpu_set_t saved;
  PinToOneCpu() {
    sched_getaffinity(0, sizeof saved, &saved);
    cpu_set_t one;
    CPU_ZERO(&one);
    CPU_SET(sched_getcpu(), &one);
    sched_setaffinity(0, sizeof one, &one);
  }
  ~PinToOneCpu() { sched_setaffinity(0, sizeof saved, &saved); }
};

// BPF_F_NO_COMMON_LRU: max_entries rounds to a multiple of nr_possible_cpus (down when rounding
// up overflows), then the kernel's bounds apply; what BPF_OBJ_GET_INFO_BY_FD reports is compared.
TEST(KernelDiff, NoCommonLruMaxEntries) {
  REQUIRE_KERNEL_BPF();
  for (uint32_t type : {BPF_MAP_TYPE_LRU_HASH, BPF_MAP_TYPE_LRU_PERCPU_HASH}) {
    for (uint32_t max : {1u, 3u, 33u, 1000u, 0x80000001u, 0xffffffffu}) {
      union bpf_attr attr = map_attr(type, 4, 8, max, BPF_F_NO_COMMON_LRU);
      KernelMap km(attr);
      auto bm = Map::create(attr);
      std::string what = "type " + std::to_string(type) + " max_entries " + std::to_string(max);
      ASSERT_EQ(bm ? 0 : -bm.status().err(), km.fd() >= 0 ? 0 : km.fd()) << what;
      if (km.fd() < 0) continue;
      struct bpf_map_info info;
      std::memset(&info, 0, sizeof info);
      union bpf_attr a;
      std::memset(&a, 0, sizeof a);
      a.info.bpf_fd = static_cast<uint32_t>(km.fd());
      a.info.info_len = sizeof info;
      a.info.info = reinterpret_cast<uint64_t>(&info);
      ASSERT_EQ(KernelMap::sys(BPF_OBJ_GET_INFO_BY_FD, &a), 0) << what;
      EXPECT_EQ((*bm)->max_entries(), info.max_entries) << what;
    }
  }
}

class KernelDiffOps : public ::testing::TestWithParam<DiffSpec> {};

std::vector<uint8_t> make_key(const DiffSpec& s, uint32_t k) {
  std::vector<uint8_t> key(s.key_size, 0);
  if (s.lpm_keys) {  // few distinct leading bits, so prefixes nest, branch and collide
    uint32_t h = k * 2654435761u;
    uint32_t max_pl = (s.key_size - 4) * 8;
    uint32_t pl = (h >> 3) % (max_pl + 2);
    std::memcpy(key.data(), &pl, 4);
    const uint8_t first[] = {10, 192, 0x80, 0};
    key[4] = first[(h >> 28) & 3];
    if (s.key_size > 5) key[5] = static_cast<uint8_t>(((h >> 20) & 3) * 64);
    if (s.key_size > 6) key[6] = static_cast<uint8_t>((h >> 12) & 3);
    if (s.key_size > 7) key[s.key_size - 1] = static_cast<uint8_t>((h >> 16) & 1);
    return key;
  }
  for (uint32_t i = 0; i < s.key_size; ++i) key[i] = static_cast<uint8_t>(k >> (8 * (i % 4)));
  if (s.key_size > 4) key[s.key_size - 1] ^= 0x5a;  // bytes beyond the first word matter
  return key;
}

// Walks the map with get_next_key from nullptr.
template <class Next>
std::vector<std::vector<uint8_t>> walk(uint32_t key_size, Next next) {
  std::vector<std::vector<uint8_t>> keys;
  std::vector<uint8_t> cur(key_size), nk(key_size);
  long r = next(nullptr, nk.data());
  while (r == 0 && keys.size() < 100000) {
    keys.push_back(nk);
    cur = nk;
    r = next(cur.data(), nk.data());
  }
  EXPECT_EQ(r, -ENOENT);
  return keys;
}

// One random batch command on both maps: the same errno and count, and where the order is the
// kernel's, the same keys, values and cursor. Cursors are the previous out_batch, the start, or a
// random one (for hash maps, a bucket index that may be past the last bucket).
void batch_step(const DiffSpec& s, KernelMap& km, Map& bm, std::mt19937& rng,
                std::vector<uint8_t>& cursor, const std::string& where) {
  const uint32_t vsize = bm.value_copy_size();
  const uint32_t csize = bm.batch_cursor_size();  // exactly what the kernel copies
  const bool hash_cursor = bm.ops().lookup_batch != nullptr;
  // Seeded hashes put keys in other buckets than the kernel: only updates and deletes compare.
  uint32_t kind = s.ordered ? rng() % 4 : 2 + rng() % 2;
  uint32_t n = rng() % 9;
  std::vector<uint8_t> kkeys(s.key_size * 8 + 1, 0xee), bkeys = kkeys;
  std::vector<uint8_t> kvals(vsize * 8 + 1, 0xee), bvals = kvals;
  if (kind < 2) {
    std::vector<uint8_t> in(csize, 0), kout(csize, 0xee), bout(csize, 0xee);
    const void* inp = nullptr;
    uint32_t pick = rng() % 4;
    if (pick == 1 && !cursor.empty()) {
      in = cursor;
      inp = in.data();
    } else if (pick == 2) {
      if (hash_cursor) {
        uint32_t b = rng() % (2 * std::bit_ceil(s.max_entries) + 1);
        std::memcpy(in.data(), &b, 4);
      } else {
        auto key = make_key(s, rng() % s.key_space);
        std::memcpy(in.data(), key.data(), s.key_size);
      }
      inp = in.data();
    }
    bool del = kind == 1;
    uint64_t elem_flags = rng() % 10 == 0 ? BPF_F_LOCK : 0;
    uint64_t flags = rng() % 20 == 0 ? 1 : 0;
    uint32_t kc = n, bc = n;
    long kr = km.batch(del ? BPF_MAP_LOOKUP_AND_DELETE_BATCH : BPF_MAP_LOOKUP_BATCH, inp,
                       kout.data(), kkeys.data(), kvals.data(), &kc, elem_flags, flags);
    long br = rc(
        bm.lookup_batch(inp, bout.data(), bkeys.data(), bvals.data(), &bc, elem_flags, del, flags));
    std::string what = where + (del ? " lookup_and_delete_batch" : " lookup_batch") + " count " +
                       std::to_string(n);
    ASSERT_EQ(br, kr) << what;
    ASSERT_EQ(bc, kc) << what;
    if (s.ordered) {
      ASSERT_EQ(bkeys, kkeys) << what << " keys";
      ASSERT_EQ(bvals, kvals) << what << " values";
      ASSERT_EQ(bout, kout) << what << " out_batch";
      if (kr == 0) cursor = kout;
    }
    return;
  }
  // update or delete batch with random keys
  std::vector<uint8_t> keys, vals(vsize * n);
  for (uint32_t i = 0; i < n; ++i) {
    auto key = make_key(s, rng() % s.key_space);
    keys.insert(keys.end(), key.begin(), key.end());
  }
  for (auto& b : vals) b = static_cast<uint8_t>(rng());
  if (s.devmap_values) {
    for (uint32_t i = 0; i < n; ++i) {
      uint32_t lo = 1;
      std::memcpy(vals.data() + i * vsize, &lo, 4);
      if (vsize >= 8) std::memset(vals.data() + i * vsize + 4, 0, 4);
    }
  }
  const uint64_t kElemFlags[] = {0, 0, 0, BPF_F_LOCK, BPF_NOEXIST};
  uint64_t elem_flags = kElemFlags[rng() % std::size(kElemFlags)];
  uint32_t kc = n, bc = n;
  long kr, br;
  if (kind == 2) {
    kr =
        km.batch(BPF_MAP_UPDATE_BATCH, nullptr, nullptr, keys.data(), vals.data(), &kc, elem_flags);
    br = rc(bm.update_batch(keys.data(), vals.data(), &bc, elem_flags));
  } else {
    kr = km.batch(BPF_MAP_DELETE_BATCH, nullptr, nullptr, keys.data(), nullptr, &kc, elem_flags);
    br = rc(bm.delete_batch(keys.data(), &bc, elem_flags));
  }
  std::string what = where + (kind == 2 ? " update_batch" : " delete_batch") + " flags " +
                     std::to_string(elem_flags) + " count " + std::to_string(n);
  ASSERT_EQ(br, kr) << what;
  ASSERT_EQ(bc, kc) << what;
}

TEST_P(KernelDiffOps, RandomSequence) {
  REQUIRE_KERNEL_BPF();
  const DiffSpec& s = GetParam();
  PinToOneCpu pin;
  union bpf_attr attr = map_attr(s.type, s.key_size, s.value_size, s.max_entries, s.flags);
  KernelMap km(attr);
  ASSERT_GE(km.fd(), 0) << "kernel refused " << s.name;
  auto created = Map::create(attr);
  ASSERT_TRUE(created) << created.status().message();
  Map& bm = **created;
  const uint32_t vsize = bm.value_copy_size();
  const bool percpu = bm.percpu();
  const bool is_array = s.type == BPF_MAP_TYPE_ARRAY || s.type == BPF_MAP_TYPE_PERCPU_ARRAY;

  std::mt19937 rng(0xb9f + s.type * 131 + s.key_size);
  const uint64_t kFlags[] = {BPF_ANY, BPF_ANY, BPF_NOEXIST, BPF_EXIST, BPF_F_LOCK, 8, 3};
  std::vector<uint8_t> kv(vsize), bv(vsize), val(vsize);
  std::vector<uint8_t> cursor;  // the last out_batch both agreed on
  for (int step = 0; step < 20000; ++step) {
    uint32_t kidx = rng() % s.key_space;
    auto key = make_key(s, kidx);
    std::string where =
        std::string(s.name) + " step " + std::to_string(step) + " key " + std::to_string(kidx);
    uint32_t op = rng() % 100;
    if (op < 40) {
      for (auto& b : val) b = static_cast<uint8_t>(rng());
      if (s.devmap_values) {
        const uint32_t ifindexes[] = {0, 1, 1, 1, 9999};
        const int32_t fds[] = {0, 0, 0, -1, 5};
        uint32_t ifindex = ifindexes[rng() % 5];
        int32_t fd = fds[rng() % 5];
        std::memcpy(val.data(), &ifindex, 4);
        if (val.size() >= 8) std::memcpy(val.data() + 4, &fd, 4);
      }
      uint64_t flags = kFlags[rng() % std::size(kFlags)];
      long kr = km.update(key.data(), val.data(), flags);
      long br = rc(bm.update(key.data(), val.data(), flags));
      ASSERT_EQ(br, kr) << where << " update flags " << flags;
    } else if (op < 65) {
      std::fill(kv.begin(), kv.end(), 0xee);
      std::fill(bv.begin(), bv.end(), 0xee);
      uint64_t flags = rng() % 8 == 0 ? BPF_F_LOCK : 0;
      long kr = km.lookup(key.data(), kv.data(), flags);
      long br = rc(bm.lookup(key.data(), bv.data(), flags));
      ASSERT_EQ(br, kr) << where << " lookup";
      ASSERT_EQ(bv, kv) << where << " lookup value";
    } else if (op < 80) {
      long kr = km.remove(key.data());
      long br = rc(bm.delete_elem(key.data()));
      ASSERT_EQ(br, kr) << where << " delete";
    } else if (op < 88) {
      std::fill(kv.begin(), kv.end(), 0xee);
      std::fill(bv.begin(), bv.end(), 0xee);
      uint64_t flags = rng() % 8 == 0 ? 1 : 0;
      long kr = km.lookup_and_delete(key.data(), kv.data(), flags);
      long br = rc(bm.lookup_and_delete(key.data(), bv.data(), flags));
      ASSERT_EQ(br, kr) << where << " lookup_and_delete";
      ASSERT_EQ(bv, kv) << where << " lookup_and_delete value";
    } else if (op < 94) {
      batch_step(s, km, bm, rng, cursor, where);
      if (HasFatalFailure()) return;
    } else if (s.ordered) {
      std::vector<uint8_t> kn(s.key_size, 0xee), bn(s.key_size, 0xee);
      bool from_null = rng() % 4 == 0;
      long kr = km.get_next_key(from_null ? nullptr : key.data(), kn.data());
      long br = rc(bm.get_next_key(from_null ? nullptr : key.data(), bn.data()));
      ASSERT_EQ(br, kr) << where << " get_next_key";
      ASSERT_EQ(bn, kn) << where << " get_next_key result";
    }
  }

  // Final contents: the same keys, values and (where defined) order.
  auto kkeys = walk(s.key_size, [&](const void* k, void* n) { return km.get_next_key(k, n); });
  auto bkeys = walk(s.key_size, [&](const void* k, void* n) { return rc(bm.get_next_key(k, n)); });
  if (!s.ordered) {
    std::sort(kkeys.begin(), kkeys.end());
    std::sort(bkeys.begin(), bkeys.end());
  }
  ASSERT_EQ(bkeys, kkeys) << s.name << " keys";
  for (const auto& k : kkeys) {  // (device maps list every index, empty ones too)
    long kr = km.lookup(k.data(), kv.data());
    ASSERT_EQ(rc(bm.lookup(k.data(), bv.data())), kr);
    if (kr == 0) {
      ASSERT_EQ(bv, kv) << s.name << " final value";
    }
  }
  if (is_array) {
    EXPECT_EQ(kkeys.size(), s.max_entries);
  }
  (void)percpu;
}

INSTANTIATE_TEST_SUITE_P(Types, KernelDiffOps, ::testing::ValuesIn(kSpecs),
                         [](const auto& p) { return std::string(p.param.name); });

// Freeze and the BPF_F_RDONLY / BPF_F_WRONLY fd rules, command by command.
TEST(KernelDiff, FreezeAndAccess) {
  REQUIRE_KERNEL_BPF();
  for (uint32_t type : {uint32_t(BPF_MAP_TYPE_ARRAY), uint32_t(BPF_MAP_TYPE_HASH)}) {
    for (uint32_t flags : {0u, uint32_t(BPF_F_RDONLY), uint32_t(BPF_F_WRONLY)}) {
      for (bool freeze : {false, true}) {
        union bpf_attr a = map_attr(type, 4, 8, 4, flags);
        KernelMap km(a);
        auto made = Map::create(a);
        ASSERT_TRUE(made);
        auto bm = *made;
        std::string where = "type " + std::to_string(type) + " flags " + std::to_string(flags) +
                            (freeze ? " frozen" : "");
        uint32_t key = 1, next = 0;
        uint64_t v = 9, kv = 0, bv = 0;
        if (freeze) {
          ASSERT_EQ(rc(bm->freeze()), km.freeze()) << where;
        }
        EXPECT_EQ(rc(bm->freeze()), km.freeze()) << where << " freeze";
        EXPECT_EQ(rc(bm->update(&key, &v)), km.update(&key, &v)) << where << " update";
        EXPECT_EQ(rc(bm->lookup(&key, &bv)), km.lookup(&key, &kv)) << where << " lookup";
        EXPECT_EQ(bv, kv) << where;
        EXPECT_EQ(rc(bm->get_next_key(nullptr, &next)), km.get_next_key(nullptr, &next))
            << where << " get_next_key";
        EXPECT_EQ(rc(bm->lookup_and_delete(&key, &bv)), km.lookup_and_delete(&key, &kv))
            << where << " lookup_and_delete";
        EXPECT_EQ(rc(bm->delete_elem(&key)), km.remove(&key)) << where << " delete";
      }
    }
  }
}

// QUEUE, STACK and BLOOM_FILTER: random pushes, peeks and pops with random flags.
struct PushSpec {
  const char* name;
  uint32_t type, value_size, max_entries, flags;
  uint64_t extra;
};
const PushSpec kPushSpecs[] = {
    {"queue", BPF_MAP_TYPE_QUEUE, 8, 5, 0, 0},
    {"stack", BPF_MAP_TYPE_STACK, 12, 4, 0, 0},
    {"bloom", BPF_MAP_TYPE_BLOOM_FILTER, 8, 64, BPF_F_ZERO_SEED, 3},
    {"bloom_odd", BPF_MAP_TYPE_BLOOM_FILTER, 5, 16, BPF_F_ZERO_SEED, 0},
};

class KernelDiffPush : public ::testing::TestWithParam<PushSpec> {};

TEST_P(KernelDiffPush, RandomSequence) {
  REQUIRE_KERNEL_BPF();
  const PushSpec& s = GetParam();
  union bpf_attr attr = map_attr(s.type, 0, s.value_size, s.max_entries, s.flags, s.extra);
  KernelMap km(attr);
  ASSERT_GE(km.fd(), 0);
  auto created = Map::create(attr);
  ASSERT_TRUE(created) << created.status().message();
  Map& bm = **created;
  std::mt19937 rng(77 + s.type);
  std::vector<uint8_t> val(s.value_size), kv(s.value_size), bv(s.value_size);
  for (int step = 0; step < 20000; ++step) {
    std::string where = std::string(s.name) + " step " + std::to_string(step);
    for (auto& b : val) b = static_cast<uint8_t>(rng() % 200);  // bloom: a small value space
    uint32_t op = rng() % 100;
    uint64_t flags = rng() % 6 == 0 ? rng() % 5 : 0;
    if (op < 45) {
      ASSERT_EQ(rc(bm.update(nullptr, val.data(), flags)), km.update(nullptr, val.data(), flags))
          << where << " push flags " << flags;
    } else if (op < 70) {
      kv = val;
      bv = val;
      ASSERT_EQ(rc(bm.lookup(nullptr, bv.data(), flags)), km.lookup(nullptr, kv.data(), flags))
          << where << " peek";
      ASSERT_EQ(bv, kv) << where;
    } else if (op < 95) {
      kv = val;
      bv = val;
      ASSERT_EQ(rc(bm.lookup_and_delete(nullptr, bv.data(), flags)),
                km.lookup_and_delete(nullptr, kv.data(), flags))
          << where << " pop";
      ASSERT_EQ(bv, kv) << where;
    } else if (op < 97) {
      ASSERT_EQ(rc(bm.delete_elem(nullptr)), km.remove(nullptr)) << where << " delete";
    } else {
      ASSERT_EQ(rc(bm.get_next_key(nullptr, bv.data())), km.get_next_key(nullptr, kv.data()))
          << where << " get_next_key";
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Types, KernelDiffPush, ::testing::ValuesIn(kPushSpecs),
                         [](const auto& p) { return std::string(p.param.name); });

// Map-in-map templates and inner maps, every pair: the kernel's errno for creating the outer map
// with inner_map_fd, then for storing the candidate (kernel fds on one side, the same maps in a
// TestObjectTable on the other).
struct InnerSpec {
  const char* name;
  uint32_t type, key_size, value_size, max_entries, flags;
};
const InnerSpec kInnerSpecs[] = {
    {"hash", BPF_MAP_TYPE_HASH, 4, 8, 4, 0},
    {"hash_big", BPF_MAP_TYPE_HASH, 4, 8, 40, 0},
    {"hash_key8", BPF_MAP_TYPE_HASH, 8, 8, 4, 0},
    {"hash_no_prealloc", BPF_MAP_TYPE_HASH, 4, 8, 4, BPF_F_NO_PREALLOC},
    {"hash_rdonly", BPF_MAP_TYPE_HASH, 4, 8, 4, BPF_F_RDONLY},
    {"lru", BPF_MAP_TYPE_LRU_HASH, 4, 8, 4, 0},
    {"array", BPF_MAP_TYPE_ARRAY, 4, 8, 4, 0},
    {"array9", BPF_MAP_TYPE_ARRAY, 4, 8, 9, 0},
    {"array_inner", BPF_MAP_TYPE_ARRAY, 4, 8, 4, BPF_F_INNER_MAP},
    {"array_inner9", BPF_MAP_TYPE_ARRAY, 4, 8, 9, BPF_F_INNER_MAP},
    {"percpu_array", BPF_MAP_TYPE_PERCPU_ARRAY, 4, 8, 4, 0},
    {"percpu_array9", BPF_MAP_TYPE_PERCPU_ARRAY, 4, 8, 9, 0},
    {"prog_array", BPF_MAP_TYPE_PROG_ARRAY, 4, 4, 4, 0},
    {"perf", BPF_MAP_TYPE_PERF_EVENT_ARRAY, 4, 4, 4, 0},
    {"queue", BPF_MAP_TYPE_QUEUE, 0, 8, 4, 0},
    {"ringbuf", BPF_MAP_TYPE_RINGBUF, 0, 0, 4096, 0},
    {"ringbuf2", BPF_MAP_TYPE_RINGBUF, 0, 0, 8192, 0},
    {"lpm", BPF_MAP_TYPE_LPM_TRIE, 8, 8, 4, BPF_F_NO_PREALLOC},
    {"bloom", BPF_MAP_TYPE_BLOOM_FILTER, 0, 8, 4, 0},
    {"devmap", BPF_MAP_TYPE_DEVMAP, 4, 4, 4, 0},
};

TEST(KernelDiff, MapInMapTemplates) {
  REQUIRE_KERNEL_BPF();
  TestObjectTable t;
  std::vector<std::unique_ptr<KernelMap>> kinner;
  std::vector<int> binner;
  for (const InnerSpec& i : kInnerSpecs) {
    union bpf_attr a = map_attr(i.type, i.key_size, i.value_size, i.max_entries, i.flags);
    kinner.push_back(std::make_unique<KernelMap>(a));
    ASSERT_GE(kinner.back()->fd(), 0) << i.name;
    auto m = Map::create(a);
    ASSERT_TRUE(m) << i.name << ": " << m.status().message();
    binner.push_back(t.add_map(*m));
  }
  CreateOptions o;
  o.objects = &t;
  for (uint32_t outer_type :
       {uint32_t(BPF_MAP_TYPE_ARRAY_OF_MAPS), uint32_t(BPF_MAP_TYPE_HASH_OF_MAPS)}) {
    for (size_t ti = 0; ti < std::size(kInnerSpecs); ++ti) {
      std::string where = std::string(outer_type == BPF_MAP_TYPE_ARRAY_OF_MAPS ? "aom" : "hom") +
                          " template " + kInnerSpecs[ti].name;
      union bpf_attr ka = map_attr(outer_type, 4, 4, 2), ba = ka;
      ka.inner_map_fd = static_cast<uint32_t>(kinner[ti]->fd());
      ba.inner_map_fd = static_cast<uint32_t>(binner[ti]);
      KernelMap kouter(ka);
      auto bouter = Map::create(ba, o);
      ASSERT_EQ(bouter ? 0 : -bouter.status().err(), kouter.fd() >= 0 ? 0 : kouter.fd())
          << where << ": " << bouter.status().message();
      if (!bouter) continue;
      for (size_t ci = 0; ci < std::size(kInnerSpecs); ++ci) {
        uint32_t key = 1;
        int32_t kfd = static_cast<int32_t>(kinner[ci]->fd()), bfd = binner[ci];
        long kr = kouter.update(&key, &kfd);
        long br = rc((*bouter)->update(&key, &bfd));
        EXPECT_EQ(br, kr) << where << " inner " << kInnerSpecs[ci].name;
      }
    }
  }
}

// PROG_ARRAY and PERF_EVENT_ARRAY given fds of the wrong kind, and every command's errno on them.
TEST(KernelDiff, FdArrayCommands) {
  REQUIRE_KERNEL_BPF();
  TestObjectTable t;
  KernelMap kmap(map_attr(BPF_MAP_TYPE_HASH, 4, 8, 4));
  int bmap = t.add_map(make_map(BPF_MAP_TYPE_HASH, 4, 8, 4));
  int devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);  // an open fd that is no bpf object
  ASSERT_GE(devnull, 0);
  CreateOptions o;
  o.objects = &t;
  for (uint32_t type : {uint32_t(BPF_MAP_TYPE_PROG_ARRAY), uint32_t(BPF_MAP_TYPE_PERF_EVENT_ARRAY),
                        uint32_t(BPF_MAP_TYPE_ARRAY_OF_MAPS)}) {
    union bpf_attr ka = map_attr(type, 4, 4, 4), ba = ka;
    if (type == BPF_MAP_TYPE_ARRAY_OF_MAPS) {
      ka.inner_map_fd = static_cast<uint32_t>(kmap.fd());
      ba.inner_map_fd = static_cast<uint32_t>(bmap);
    }
    KernelMap km(ka);
    ASSERT_GE(km.fd(), 0);
    auto made = Map::create(ba, o);
    ASSERT_TRUE(made) << made.status().message();
    Map& bm = **made;
    std::string where = bm.ops().name;
    for (uint32_t key : {0u, 3u, 4u, 100u}) {
      for (uint64_t flags :
           {uint64_t(BPF_ANY), uint64_t(BPF_NOEXIST), uint64_t(BPF_EXIST), uint64_t(BPF_F_LOCK)}) {
        for (int which : {0, 1, 2}) {  // a map fd, a closed fd, a non-bpf fd
          int32_t kfd = which == 0 ? static_cast<int32_t>(kmap.fd()) : which == 1 ? 999 : devnull;
          int32_t bfd = which == 0 ? bmap : which == 1 ? 999 : TestObjectTable::kNotBpf;
          EXPECT_EQ(rc(bm.update(&key, &bfd, flags)), km.update(&key, &kfd, flags))
              << where << " key " << key << " flags " << flags << " fd kind " << which;
        }
      }
      uint32_t kv = 0, bv = 0, kn = 0, bn = 0;
      EXPECT_EQ(rc(bm.lookup(&key, &bv)), km.lookup(&key, &kv)) << where << " lookup " << key;
      EXPECT_EQ(rc(bm.delete_elem(&key)), km.remove(&key)) << where << " delete " << key;
      EXPECT_EQ(rc(bm.lookup_and_delete(&key, &bv)), km.lookup_and_delete(&key, &kv))
          << where << " lookup_and_delete " << key;
      EXPECT_EQ(rc(bm.get_next_key(&key, &bn)), km.get_next_key(&key, &kn)) << where;
      EXPECT_EQ(bn, kn) << where;
    }
    uint32_t keys[4], vals[4], kc = 4, bc = 4, kout = 0, bout = 0;
    EXPECT_EQ(rc(bm.lookup_batch(nullptr, &bout, keys, vals, &bc)),
              km.batch(BPF_MAP_LOOKUP_BATCH, nullptr, &kout, keys, vals, &kc))
        << where << " lookup_batch";
    EXPECT_EQ(bc, kc) << where;
    EXPECT_EQ(rc(bm.freeze()), km.freeze()) << where << " freeze";
  }
  close(devnull);
}

}  // namespace
}  // namespace bpfbox::maps::testing
