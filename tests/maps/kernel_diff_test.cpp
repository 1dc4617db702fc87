// Differential tests against the running kernel: the same BPF_MAP_CREATE attributes and the same
// random operation sequences on a kernel map (through bpf()) and a bpfbox map, comparing every
// result, errno, value, the final contents and, where the kernel defines it (arrays, hash maps with
// BPF_F_ZERO_SEED), the get_next_key order. Skipped where bpf() is refused.
#include <sched.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <string>
#include <vector>

#include "create_cases.hpp"
#include "map_test_util.hpp"

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

}  // namespace
}  // namespace bpfbox::maps::testing
