// HASH and PERCPU_HASH: every command's results and errno, program side and syscall side.
#include <gtest/gtest.h>

#include <functional>
#include <set>
#include <utility>
#include <vector>

#include "map_test_util.hpp"
#include "maps/jhash.hpp"
#include "maps/key_equal.hpp"

namespace bpfbox::maps::testing {
namespace {

TEST(HashMap, ErrnoTable) {
  auto m = make_map(BPF_MAP_TYPE_HASH, 4, 8, 2);
  ASSERT_TRUE(m);
  uint64_t v = 5, out = 0;
  uint32_t k = 1;
  struct Step {
    const char* what;
    std::function<Status()> op;
    long expect;
  };
  const Step steps[] = {
      {"lookup missing",
       [&] {
         k = 1;
         return m->lookup(&k, &out);
       },
       -ENOENT},
      {"delete missing", [&] { return m->delete_elem(&k); }, -ENOENT},
      {"lookup_and_delete missing", [&] { return m->lookup_and_delete(&k, &out); }, -ENOENT},
      {"lookup_and_delete bad flags", [&] { return m->lookup_and_delete(&k, &out, 1); }, -EINVAL},
      {"update EXIST missing", [&] { return m->update(&k, &v, BPF_EXIST); }, -ENOENT},
      {"update bad flags", [&] { return m->update(&k, &v, 8); }, -EINVAL},
      {"update F_LOCK no lock", [&] { return m->update(&k, &v, BPF_F_LOCK); }, -EINVAL},
      {"insert 1", [&] { return m->update(&k, &v, BPF_NOEXIST); }, 0},
      {"insert 1 again NOEXIST", [&] { return m->update(&k, &v, BPF_NOEXIST); }, -EEXIST},
      {"insert 2",
       [&] {
         k = 2;
         return m->update(&k, &v);
       },
       0},
      {"full",
       [&] {
         k = 3;
         return m->update(&k, &v);
       },
       -E2BIG},
      {"full NOEXIST", [&] { return m->update(&k, &v, BPF_NOEXIST); }, -E2BIG},
      {"full EXIST missing", [&] { return m->update(&k, &v, BPF_EXIST); }, -ENOENT},
      {"replace when full",
       [&] {
         k = 1;
         v = 6;
         return m->update(&k, &v, BPF_EXIST);
       },
       0},
      {"lookup replaced", [&] { return m->lookup(&k, &out); }, 0},
      {"lookup_and_delete",
       [&] {
         out = 0;
         return m->lookup_and_delete(&k, &out);
       },
       0},
      {"gone", [&] { return m->lookup(&k, &out); }, -ENOENT},
      {"room again",
       [&] {
         k = 3;
         return m->update(&k, &v);
       },
       0},
      {"delete", [&] { return m->delete_elem(&k); }, 0},
      {"lookup flags", [&] { return m->lookup(&k, &out, 2); }, -EINVAL},
  };
  for (const auto& s : steps) {
    EXPECT_EQ(rc(s.op()), s.expect) << s.what;
    if (std::string(s.what) == "lookup_and_delete") {
      EXPECT_EQ(out, 6u);
    }
  }
}

TEST(HashMap, GetNextKeyWalksEveryKeyOnce) {
  auto m = make_map(BPF_MAP_TYPE_HASH, 8, 4, 1000);
  ASSERT_TRUE(m);
  for (uint64_t k = 0; k < 1000; ++k) {
    uint32_t v = static_cast<uint32_t>(k);
    ASSERT_TRUE(m->update(&k, &v));
  }
  std::set<uint64_t> seen;
  uint64_t cur, next;
  Status st = m->get_next_key(nullptr, &next);
  while (st) {
    EXPECT_TRUE(seen.insert(next).second);
    cur = next;
    st = m->get_next_key(&cur, &next);
  }
  EXPECT_EQ(st.err(), ENOENT);
  EXPECT_EQ(seen.size(), 1000u);
  uint64_t missing = 5000;  // a missing key restarts from the first key
  uint64_t first;
  ASSERT_TRUE(m->get_next_key(nullptr, &first));
  ASSERT_TRUE(m->get_next_key(&missing, &next));
  EXPECT_EQ(next, first);
}

TEST(HashMap, ProgramSide) {
  auto m = make_map(BPF_MAP_TYPE_HASH, 4, 8, 4, BPF_F_NO_PREALLOC);
  ASSERT_TRUE(m);
  RunSlot run;
  uint32_t k = 7;
  uint64_t v = 1;
  EXPECT_EQ(m->prog_lookup(&k, run.cpu()), nullptr);
  EXPECT_EQ(m->prog_update(&k, &v, BPF_NOEXIST, run.cpu()), 0);
  auto* p = static_cast<uint64_t*>(m->prog_lookup(&k, run.cpu()));
  ASSERT_NE(p, nullptr);
  *p += 1;
  // Replacing keeps the old value readable for this run (it is retired, not reused).
  v = 100;
  EXPECT_EQ(m->prog_update(&k, &v, BPF_EXIST, run.cpu()), 0);
  EXPECT_EQ(*p, 2u);
  EXPECT_EQ(*static_cast<uint64_t*>(m->prog_lookup(&k, run.cpu())), 100u);
  EXPECT_EQ(m->prog_update(&k, &v, BPF_NOEXIST, run.cpu()), -EEXIST);
  EXPECT_EQ(m->prog_update(&k, &v, 9, run.cpu()), -EINVAL);
  EXPECT_EQ(m->prog_delete(&k, run.cpu()), 0);
  EXPECT_EQ(m->prog_delete(&k, run.cpu()), -ENOENT);
  EXPECT_EQ(*p, 2u);
}

// What the per-size lookups are built from, for every size they exist for: jhash_fixed<N> gives
// jhash's values, keys_equal<N> memcmp's verdict for a difference in any byte (a difference the
// hash compare before it would hide in a map).
template <uint32_t N>
void check_key_size(const uint8_t* bytes) {
  SCOPED_TRACE("key size " + std::to_string(N));
  for (uint32_t seed : {0u, 1u, 0x9e3779b9u})
    EXPECT_EQ((jhash_fixed<N>(bytes, seed)), jhash(bytes, N, seed));
  uint8_t a[N], b[N];
  std::memcpy(a, bytes, N);
  std::memcpy(b, bytes, N);
  EXPECT_TRUE(keys_equal<N>(a, b));
  for (uint32_t i = 0; i < N; ++i) {
    b[i] ^= 0x10;
    EXPECT_FALSE(keys_equal<N>(a, b)) << "byte " << i;
    b[i] ^= 0x10;
  }
}
template <uint32_t... Is>
void check_key_sizes(const uint8_t* bytes, std::integer_sequence<uint32_t, Is...>) {
  (check_key_size<Is + 1>(bytes), ...);
}

TEST(HashMap, FixedSizeHashAndCompare) {
  uint8_t bytes[64];
  for (uint32_t i = 0; i < 64; ++i) bytes[i] = static_cast<uint8_t>(i * 37 + 11);
  check_key_sizes(bytes, std::make_integer_sequence<uint32_t, 64>{});
}

// The program-side lookup has an entry specialised per key size (hash and compare unrolled): for
// every size, on each hash type, it finds what the syscall side (the generic hash) inserted and
// tells apart keys that differ in any single byte.
TEST(HashMap, ProgramLookupEveryKeySize) {
  uint32_t seed = 12345;
  auto rnd = [&seed] {
    seed = seed * 1103515245u + 12345u;
    return static_cast<uint8_t>(seed >> 16);
  };
  for (uint32_t type : {BPF_MAP_TYPE_HASH, BPF_MAP_TYPE_LRU_HASH, BPF_MAP_TYPE_PERCPU_HASH}) {
    for (uint32_t size = 1; size <= 72; ++size) {
      SCOPED_TRACE("type " + std::to_string(type) + ", key size " + std::to_string(size));
      auto m = make_map(type, size, 8, 128);
      ASSERT_TRUE(m);
      std::vector<uint8_t> base(size);
      for (auto& b : base) b = rnd();
      // Inserted: the base key and base with byte i changed, for even i; absent: odd i.
      auto variant = [&](uint32_t i, uint8_t bit) {
        std::vector<uint8_t> k = base;
        k[i] ^= bit;
        return k;
      };
      std::vector<std::vector<uint8_t>> in{base}, out;
      for (uint32_t i = 0; i < size; ++i) (i % 2 ? out : in).push_back(variant(i, 1));
      for (uint32_t i = 0; i < size; ++i) out.push_back(variant(i, 0x80));
      std::vector<uint64_t> value(m->value_copy_size() / 8);
      for (uint64_t n = 0; n < in.size(); ++n) {
        for (uint64_t& v : value) v = n + 1;
        ASSERT_TRUE(m->update(in[n].data(), value.data()));
      }
      RunSlot run;
      for (uint64_t n = 0; n < in.size(); ++n) {
        auto* p = static_cast<uint64_t*>(m->prog_lookup(in[n].data(), run.cpu()));
        ASSERT_NE(p, nullptr) << "inserted key " << n;
        EXPECT_EQ(*p, n + 1);
      }
      for (const auto& k : out) EXPECT_EQ(m->prog_lookup(k.data(), run.cpu()), nullptr);
    }
  }
}

// A big map counts its elements per CPU (folded every 32): E2BIG still comes at exactly
// max_entries, whichever CPU slots the inserts and deletes came from.
TEST(HashMap, PerCpuCountIsExactAtMaxEntries) {
  const uint32_t n_cpus = nr_possible_cpus();
  const uint32_t max = 400 * n_cpus;  // over 2 * 32 per CPU: per-CPU counting
  auto m = make_map(BPF_MAP_TYPE_HASH, 4, 8, max, BPF_F_NO_PREALLOC);
  ASSERT_TRUE(m);
  uint64_t v = 1;
  uint32_t next = 0;
  auto fill = [&] {
    for (;;) {
      Status st = m->update(&next, &v, BPF_NOEXIST);
      if (!st) return st.err();
      ++next;
    }
  };
  EXPECT_EQ(fill(), E2BIG);
  EXPECT_EQ(next, max);
  for (int round = 0; round < 3; ++round) {
    RunSlot run;
    // Deletes spread over every CPU slot, more than a batch on some.
    const uint32_t n = 37 + 50 * uint32_t(round);
    for (uint32_t i = 0; i < n; ++i) {
      uint32_t k = next - max + i * 2;
      ASSERT_EQ(m->prog_delete(&k, i % n_cpus), 0);
    }
    const uint32_t before = next;
    EXPECT_EQ(fill(), E2BIG);
    EXPECT_EQ(next - before, n);  // exactly the room the deletes made
  }
}

TEST(HashMap, ZeroSeedIsDeterministic) {
  auto a = make_map(BPF_MAP_TYPE_HASH, 4, 4, 64, BPF_F_ZERO_SEED);
  auto b = make_map(BPF_MAP_TYPE_HASH, 4, 4, 64, BPF_F_ZERO_SEED);
  for (uint32_t k = 0; k < 50; ++k) {
    ASSERT_TRUE(a->update(&k, &k));
    ASSERT_TRUE(b->update(&k, &k));
  }
  uint32_t ka, kb;
  Status sa = a->get_next_key(nullptr, &ka), sb = b->get_next_key(nullptr, &kb);
  while (sa && sb) {
    ASSERT_EQ(ka, kb);
    uint32_t ca = ka, cb = kb;
    sa = a->get_next_key(&ca, &ka);
    sb = b->get_next_key(&cb, &kb);
  }
  EXPECT_EQ(sa.err(), sb.err());
}

TEST(HashMap, FreezeAndAccessFlags) {
  auto m = make_map(BPF_MAP_TYPE_HASH, 4, 8, 4);
  uint32_t k = 1;
  uint64_t v = 2;
  ASSERT_TRUE(m->update(&k, &v));
  ASSERT_TRUE(m->freeze());
  EXPECT_EQ(rc(m->update(&k, &v)), -EPERM);
  EXPECT_EQ(rc(m->delete_elem(&k)), -EPERM);
  EXPECT_EQ(rc(m->lookup_and_delete(&k, &v)), -EPERM);
  EXPECT_TRUE(m->lookup(&k, &v));
  auto ro = make_map(BPF_MAP_TYPE_HASH, 4, 8, 4, BPF_F_RDONLY);
  EXPECT_EQ(rc(ro->update(&k, &v)), -EPERM);
  EXPECT_EQ(rc(ro->delete_elem(&k)), -EPERM);
  EXPECT_EQ(rc(ro->lookup(&k, &v)), -ENOENT);
  EXPECT_EQ(rc(ro->get_next_key(nullptr, &k)), -ENOENT);
  auto wo = make_map(BPF_MAP_TYPE_HASH, 4, 8, 4, BPF_F_WRONLY);
  EXPECT_TRUE(wo->update(&k, &v));
  EXPECT_EQ(rc(wo->lookup(&k, &v)), -EPERM);
  EXPECT_EQ(rc(wo->lookup_and_delete(&k, &v)), -EPERM);
  EXPECT_TRUE(wo->delete_elem(&k));
}

TEST(PercpuHashMap, SlotsInAndOut) {
  auto m = make_map(BPF_MAP_TYPE_PERCPU_HASH, 4, 4, 8);
  ASSERT_TRUE(m);
  uint32_t n = nr_possible_cpus();
  std::vector<uint32_t> in(2 * n), out(2 * n);  // round_up(4, 8) = 8 bytes a CPU
  for (uint32_t c = 0; c < n; ++c) in[2 * c] = 100 + c;
  uint32_t k = 3;
  ASSERT_TRUE(m->update(&k, in.data()));
  ASSERT_TRUE(m->lookup(&k, out.data()));
  EXPECT_EQ(in, out);
  RunSlot run;
  auto* p = static_cast<uint32_t*>(m->prog_lookup(&k, run.cpu()));
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(*p, 100 + run.cpu());
  ++*p;
  // A program's update of an existing key changes its CPU's slot in place.
  uint32_t v = 7;
  EXPECT_EQ(m->prog_update(&k, &v, BPF_EXIST, run.cpu()), 0);
  EXPECT_EQ(*p, 7u);
  // A program's insert sets its CPU's slot and zeroes the others.
  uint32_t k2 = 4;
  EXPECT_EQ(m->prog_update(&k2, &v, BPF_NOEXIST, run.cpu()), 0);
  ASSERT_TRUE(m->lookup(&k2, out.data()));
  for (uint32_t c = 0; c < n; ++c) EXPECT_EQ(out[2 * c], c == run.cpu() ? 7u : 0u);
  EXPECT_EQ(rc(m->lookup_and_delete(&k2, out.data())), 0);
  EXPECT_EQ(out[2 * run.cpu()], 7u);
  EXPECT_EQ(rc(m->update(&k, in.data(), BPF_F_LOCK)), -EINVAL);
}

TEST(HashMap, BatchOps) {
  auto m = make_map(BPF_MAP_TYPE_HASH, 4, 8, 64);
  std::vector<uint32_t> keys(10);
  std::vector<uint64_t> vals(10);
  for (uint32_t i = 0; i < 10; ++i) keys[i] = i, vals[i] = i * 10;
  uint32_t count = 10;
  ASSERT_TRUE(m->update_batch(keys.data(), vals.data(), &count));
  EXPECT_EQ(count, 10u);
  std::vector<uint32_t> ok(16);
  std::vector<uint64_t> ov(16);
  uint32_t cursor = 0, total = 0;
  bool first = true;
  for (;;) {
    count = 4;
    Status st = m->lookup_batch(first ? nullptr : &cursor, &cursor, ok.data() + total,
                                ov.data() + total, &count);
    first = false;
    total += count;
    if (!st) {
      EXPECT_EQ(st.err(), ENOENT);
      break;
    }
  }
  ASSERT_EQ(total, 10u);
  for (uint32_t i = 0; i < total; ++i) EXPECT_EQ(ov[i], ok[i] * 10);
  count = 10;
  ASSERT_TRUE(m->delete_batch(keys.data(), &count));
  EXPECT_EQ(count, 10u);
  uint32_t k;
  EXPECT_EQ(rc(m->get_next_key(nullptr, &k)), -ENOENT);
}

// What the bpf() layer copies from in_batch: the hash family's u32 bucket index, else a key.
TEST(HashMap, BatchCursorSize) {
  EXPECT_EQ(make_map(BPF_MAP_TYPE_HASH, 16, 8, 8)->batch_cursor_size(), 4u);
  EXPECT_EQ(make_map(BPF_MAP_TYPE_PERCPU_HASH, 12, 8, 8)->batch_cursor_size(), 4u);
  EXPECT_EQ(make_map(BPF_MAP_TYPE_LRU_HASH, 2, 8, 8)->batch_cursor_size(), 4u);
  EXPECT_EQ(make_map(BPF_MAP_TYPE_LPM_TRIE, 8, 4, 8, BPF_F_NO_PREALLOC)->batch_cursor_size(), 8u);
  EXPECT_EQ(make_map(BPF_MAP_TYPE_ARRAY, 4, 8, 8)->batch_cursor_size(), 4u);
}

// A syscall-side update made from inside a run (as a helper might) must not wait for that run.
TEST(HashMap, SyscallSideInsideARunDoesNotWaitForItself) {
  auto m = make_map(BPF_MAP_TYPE_HASH, 4, 8, 4);
  ASSERT_TRUE(m);
  RunSlot run;
  uint32_t k = 1;
  // Each replace retires an element this run might hold; the pool's slack absorbs hundreds.
  for (uint64_t v = 0; v < 300; ++v) {
    Status st = m->update(&k, &v);
    ASSERT_TRUE(st) << v << ": " << st.message();
  }
  uint64_t out;
  ASSERT_TRUE(m->lookup(&k, &out));
  EXPECT_EQ(out, 299u);
  // Beyond the slack a run's replaces fail with E2BIG (documented limit), never deadlock.
  for (uint64_t v = 0; v < 5000; ++v) {
    Status st = m->update(&k, &v);
    ASSERT_TRUE(st || st.err() == E2BIG) << st.message();
  }
}

}  // namespace
}  // namespace bpfbox::maps::testing
