// RINGBUF: the kernel's layout, consumed the way libbpf's ring_buffer__poll consumes it.
#include <poll.h>
#include <sys/mman.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <thread>
#include <vector>

#include "map_test_util.hpp"

namespace bpfbox::maps::testing {
namespace {

// A consumer mapped as libbpf maps a kernel ring buffer: the consumer page read-write, the
// producer page and the data read-only, the data twice in a row.
struct Consumer {
  uint8_t* cons_page = nullptr;
  uint8_t* prod = nullptr;  // producer page, then data, data
  uint64_t size = 0;
  size_t prod_len = 0;

  explicit Consumer(const Map& m) {
    auto r = m.mmap_region();
    EXPECT_TRUE(r);
    size = m.max_entries();
    cons_page = static_cast<uint8_t*>(mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_SHARED,
                                           r->memfd, static_cast<off_t>(r->offset)));
    prod_len = 4096 + 2 * size;
    prod = static_cast<uint8_t*>(
        mmap(nullptr, prod_len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
    off_t data_off = static_cast<off_t>(r->offset + 4096);
    mmap(prod, 4096 + size, PROT_READ, MAP_SHARED | MAP_FIXED, r->memfd, data_off);
    mmap(prod + 4096 + size, size, PROT_READ, MAP_SHARED | MAP_FIXED, r->memfd, data_off + 4096);
  }
  ~Consumer() {
    munmap(cons_page, 4096);
    munmap(prod, prod_len);
  }

  // libbpf's ringbuf_process_ring.
  template <class Fn>
  int poll(Fn fn) {
    auto* consumer_pos = reinterpret_cast<uint64_t*>(cons_page);
    auto* producer_pos = reinterpret_cast<uint64_t*>(prod);
    uint8_t* data = prod + 4096;
    int n = 0;
    uint64_t cons_pos = __atomic_load_n(consumer_pos, __ATOMIC_ACQUIRE);
    bool got_new_data;
    do {
      got_new_data = false;
      uint64_t prod_pos = __atomic_load_n(producer_pos, __ATOMIC_ACQUIRE);
      while (cons_pos < prod_pos) {
        auto* len_ptr = reinterpret_cast<uint32_t*>(data + (cons_pos & (size - 1)));
        uint32_t len = __atomic_load_n(len_ptr, __ATOMIC_ACQUIRE);
        if (len & BPF_RINGBUF_BUSY_BIT) return n;
        got_new_data = true;
        cons_pos += (((len & ~uint32_t(BPF_RINGBUF_DISCARD_BIT)) + BPF_RINGBUF_HDR_SZ) + 7) & ~7u;
        if (!(len & BPF_RINGBUF_DISCARD_BIT)) {
          fn(reinterpret_cast<uint8_t*>(len_ptr) + BPF_RINGBUF_HDR_SZ, len);
          ++n;
        }
        __atomic_store_n(consumer_pos, cons_pos, __ATOMIC_RELEASE);
      }
    } while (got_new_data);
    return n;
  }
};

TEST(Ringbuf, CreateChecks) {
  EXPECT_TRUE(Map::create(map_attr(BPF_MAP_TYPE_RINGBUF, 0, 0, 4096)));
  EXPECT_EQ(Map::create(map_attr(BPF_MAP_TYPE_RINGBUF, 0, 0, 4097)).status().err(), EINVAL);
  EXPECT_EQ(Map::create(map_attr(BPF_MAP_TYPE_RINGBUF, 0, 0, 2048)).status().err(), EINVAL);
  EXPECT_EQ(Map::create(map_attr(BPF_MAP_TYPE_RINGBUF, 4, 0, 4096)).status().err(), EINVAL);
  EXPECT_EQ(Map::create(map_attr(BPF_MAP_TYPE_RINGBUF, 0, 8, 4096)).status().err(), EINVAL);
  auto m = make_map(BPF_MAP_TYPE_RINGBUF, 0, 0, 4096);
  uint32_t k = 0;
  uint64_t v = 0;
  EXPECT_EQ(rc(m->lookup(&k, &v)), -kENOTSUPP);
  EXPECT_EQ(rc(m->update(&k, &v)), -kENOTSUPP);
  EXPECT_EQ(rc(m->delete_elem(&k)), -kENOTSUPP);
  EXPECT_EQ(rc(m->get_next_key(&k, &v)), -kENOTSUPP);
}

TEST(Ringbuf, ReserveSubmitDiscardAndFull) {
  auto m = make_map(BPF_MAP_TYPE_RINGBUF, 0, 0, 4096);
  ASSERT_TRUE(m);
  Consumer c(*m);
  EXPECT_EQ(ringbuf::query(m.get(), BPF_RB_RING_SIZE), 4096u);
  auto* a = static_cast<uint32_t*>(ringbuf::reserve(m.get(), 4, 0));
  ASSERT_NE(a, nullptr);
  *a = 111;
  auto* b = static_cast<uint32_t*>(ringbuf::reserve(m.get(), 4, 0));
  *b = 222;
  ringbuf::submit(b, 0);
  std::vector<uint32_t> seen;
  auto collect = [&](const uint8_t* p, uint32_t) {
    seen.push_back(*reinterpret_cast<const uint32_t*>(p));
  };
  EXPECT_EQ(c.poll(collect), 0);  // a is still busy and blocks b
  ringbuf::discard(a, 0);
  EXPECT_EQ(c.poll(collect), 1);
  EXPECT_EQ(seen, std::vector<uint32_t>{222});
  EXPECT_EQ(ringbuf::query(m.get(), BPF_RB_AVAIL_DATA), 0u);
  // Fill: a 4096-byte ring holds less than 4096 bytes of records.
  std::vector<uint8_t> big(2000, 7);
  EXPECT_EQ(ringbuf::output(m.get(), big.data(), big.size(), 0), 0);
  EXPECT_EQ(ringbuf::output(m.get(), big.data(), big.size(), 0), 0);
  EXPECT_EQ(ringbuf::output(m.get(), big.data(), big.size(), 0), -EAGAIN);
  EXPECT_EQ(ringbuf::reserve(m.get(), 8, 1), nullptr);  // flags must be 0
  EXPECT_EQ(c.poll([](const uint8_t*, uint32_t len) { EXPECT_EQ(len, 2000u); }), 2);
  // A record that wraps around the end of the data is contiguous for both sides.
  EXPECT_EQ(ringbuf::output(m.get(), big.data(), big.size(), 0), 0);
  EXPECT_EQ(c.poll([&](const uint8_t* p, uint32_t len) {
    EXPECT_EQ(std::memcmp(p, big.data(), len), 0);
  }),
            1);
}

bool readable(int fd) {
  struct pollfd p = {fd, POLLIN, 0};
  return poll(&p, 1, 0) == 1 && (p.revents & POLLIN);
}
// Reads the eventfd as a woken consumer would; returns whether it was readable.
bool take_wakeup(const Map& m) {
  int fd = ringbuf::wakeup_fd(&m);
  bool r = readable(fd);
  uint64_t n;
  if (r) {
    EXPECT_EQ(read(fd, &n, sizeof n), 8);
  }
  return r;
}

// The consumer is woken when it has caught up with the submitted record (the ring was empty to
// it), never with BPF_RB_NO_WAKEUP, always with BPF_RB_FORCE_WAKEUP: bpf_ringbuf_commit.
TEST(Ringbuf, WakeupFdFollowsTheKernelRule) {
  auto m = make_map(BPF_MAP_TYPE_RINGBUF, 0, 0, 4096);
  ASSERT_TRUE(m);
  Consumer c(*m);
  ASSERT_GE(ringbuf::wakeup_fd(m.get()), 0);
  EXPECT_FALSE(readable(ringbuf::wakeup_fd(m.get())));
  uint64_t v = 1;
  ASSERT_EQ(ringbuf::output(m.get(), &v, 8, 0), 0);
  EXPECT_TRUE(take_wakeup(*m));  // empty before: wake
  ASSERT_EQ(ringbuf::output(m.get(), &v, 8, 0), 0);
  EXPECT_FALSE(take_wakeup(*m));  // the consumer has not caught up: it is not sleeping
  ASSERT_EQ(ringbuf::output(m.get(), &v, 8, BPF_RB_FORCE_WAKEUP), 0);
  EXPECT_TRUE(take_wakeup(*m));
  EXPECT_EQ(c.poll([](const uint8_t*, uint32_t) {}), 3);
  ASSERT_EQ(ringbuf::output(m.get(), &v, 8, BPF_RB_NO_WAKEUP), 0);
  EXPECT_FALSE(take_wakeup(*m));
  EXPECT_EQ(c.poll([](const uint8_t*, uint32_t) {}), 1);
  // reserve/submit: the record's position, not the reserve time, decides; discard also wakes.
  void* a = ringbuf::reserve(m.get(), 8, 0);
  void* b = ringbuf::reserve(m.get(), 8, 0);
  ASSERT_TRUE(a && b);
  ringbuf::submit(b, 0);
  EXPECT_FALSE(take_wakeup(*m));  // the consumer waits at a, not b
  ringbuf::discard(a, 0);
  EXPECT_TRUE(take_wakeup(*m));
  EXPECT_EQ(ringbuf::wakeup_fd(make_map(BPF_MAP_TYPE_ARRAY, 4, 4, 1).get()), -1);
}

// A writable mapping (here the consumer page) blocks freeze; a frozen map cannot be mapped
// writable: the kernel's map->writecnt and bpf_map_mmap rules.
TEST(Ringbuf, FreezeAndWritableMappings) {
  auto m = make_map(BPF_MAP_TYPE_RINGBUF, 0, 0, 4096);
  ASSERT_TRUE(m);
  ASSERT_TRUE(m->acquire_writable_mapping());
  ASSERT_TRUE(m->acquire_writable_mapping());
  EXPECT_EQ(rc(m->freeze()), -EBUSY);
  m->release_writable_mapping();
  EXPECT_EQ(rc(m->freeze()), -EBUSY);
  m->release_writable_mapping();
  ASSERT_TRUE(m->freeze());
  EXPECT_TRUE(m->frozen());
  EXPECT_EQ(rc(m->acquire_writable_mapping()), -EPERM);
  EXPECT_EQ(rc(m->freeze()), -EPERM);
  auto ro = make_map(BPF_MAP_TYPE_ARRAY, 4, 8, 4, BPF_F_MMAPABLE | BPF_F_RDONLY_PROG);
  ASSERT_TRUE(ro);
  EXPECT_EQ(rc(ro->acquire_writable_mapping()), -EACCES);
  // Counted in the arena: another process's Map over the same memfd sees the mapping.
  auto arr = make_map(BPF_MAP_TYPE_ARRAY, 4, 8, 4, BPF_F_MMAPABLE);
  ASSERT_TRUE(arr);
  auto other = Map::attach(arr->memfd());
  ASSERT_TRUE(other);
  ASSERT_TRUE((*other)->acquire_writable_mapping());
  EXPECT_EQ(rc(arr->freeze()), -EBUSY);
  (*other)->release_writable_mapping();
  EXPECT_TRUE(arr->freeze());
  EXPECT_TRUE((*other)->frozen());
}

TEST(Ringbuf, ProducersAndConsumerConcurrently) {
  auto m = make_map(BPF_MAP_TYPE_RINGBUF, 0, 0, 16384);
  ASSERT_TRUE(m);
  Consumer c(*m);
  constexpr uint32_t kPerProducer = 100000;
  std::atomic<uint32_t> done{0};
  std::vector<std::thread> producers;
  for (uint32_t t = 0; t < 2; ++t) {
    producers.emplace_back([&, t] {
      for (uint32_t i = 0; i < kPerProducer;) {
        RunSlot run;
        uint64_t rec[3] = {t, i, uint64_t(t) * 1000003 + i};
        if (ringbuf::output(m.get(), rec, 16 + 8 * (i % 2), 0) == 0) ++i;
      }
      ++done;
    });
  }
  uint32_t next[2] = {0, 0};
  uint64_t total = 0;
  auto check = [&](const uint8_t* p, uint32_t len) {
    uint64_t rec[3] = {};
    std::memcpy(rec, p, len);
    ASSERT_LT(rec[0], 2u);
    ASSERT_EQ(rec[1], next[rec[0]]);  // in order, none lost, per producer
    ASSERT_EQ(len, 16 + 8 * (rec[1] % 2));
    if (len == 24) {
      ASSERT_EQ(rec[2], rec[0] * 1000003 + rec[1]);
    }
    ++next[rec[0]];
    ++total;
  };
  while (done.load() < 2 || total < 2 * kPerProducer) {
    if (c.poll(check) == 0) std::this_thread::yield();
    if (::testing::Test::HasFatalFailure()) break;
  }
  for (auto& t : producers) t.join();
  EXPECT_EQ(total, 2u * kPerProducer);
}

}  // namespace
}  // namespace bpfbox::maps::testing
