// PERF_EVENT_ARRAY with user-space rings: the kernel's errno for bpf_perf_event_output, and the
// ring consumed with the protocol libbpf's perf_buffer uses on a kernel perf mmap (libbpf 1.1
// exports no reader that works without perf_event_open, so the test reads as it does: data_head
// with acquire, records walked and copied out when they wrap, data_tail stored with release).
#include <linux/perf_event.h>
#include <poll.h>
#include <sys/mman.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cstring>
#include <thread>
#include <vector>

#include "map_test_util.hpp"
#include "maps/run_domain.hpp"
#include "test_object_table.hpp"

namespace bpfbox::maps::testing {
namespace {

struct Record {
  uint32_t type;
  std::vector<uint8_t> raw;  // PERF_RECORD_SAMPLE: the raw data (padded size, as the kernel's)
  uint64_t lost = 0;         // PERF_RECORD_LOST
};

// A consumer mapped as libbpf maps a perf event: (1 + data pages) pages, read-write.
class PerfConsumer {
 public:
  explicit PerfConsumer(const PerfEventRing& r) : size_(r.mmap_size()) {
    base_ = static_cast<uint8_t*>(
        mmap(nullptr, size_, PROT_READ | PROT_WRITE, MAP_SHARED, r.memfd(), 0));
    EXPECT_NE(base_, MAP_FAILED);
  }
  ~PerfConsumer() { munmap(base_, size_); }

  // perf_buffer__process_records / perf_event_read_simple.
  std::vector<Record> read() {
    auto* up = reinterpret_cast<perf_event_mmap_page*>(base_);
    uint64_t data_size = up->data_size;
    uint8_t* data = base_ + up->data_offset;
    uint64_t head = __atomic_load_n(&up->data_head, __ATOMIC_ACQUIRE);
    uint64_t tail = up->data_tail;
    std::vector<Record> out;
    while (tail != head) {
      uint8_t* ehdr = data + (tail & (data_size - 1));
      perf_event_header h;
      std::memcpy(&h, ehdr, sizeof h);
      std::vector<uint8_t> rec(h.size);
      uint64_t off = tail & (data_size - 1);
      uint64_t first = std::min<uint64_t>(h.size, data_size - off);
      std::memcpy(rec.data(), data + off, first);
      std::memcpy(rec.data() + first, data, h.size - first);
      Record r{h.type, {}, 0};
      if (h.type == PERF_RECORD_SAMPLE) {
        uint32_t size;
        std::memcpy(&size, rec.data() + sizeof h, 4);
        r.raw.assign(rec.data() + sizeof h + 4, rec.data() + sizeof h + 4 + size);
      } else if (h.type == PERF_RECORD_LOST) {
        std::memcpy(&r.lost, rec.data() + sizeof h + 8, 8);
      }
      out.push_back(std::move(r));
      tail += h.size;
    }
    __atomic_store_n(&up->data_tail, tail, __ATOMIC_RELEASE);
    return out;
  }

 private:
  uint8_t* base_;
  uint64_t size_;
};

bool readable(int fd) {
  struct pollfd p = {fd, POLLIN, 0};
  return poll(&p, 1, 0) == 1 && (p.revents & POLLIN);
}

TEST(PerfEventArray, SlotsAndOutputErrno) {
  TestObjectTable t;
  auto any = PerfEventRing::create(1, -1, 42);
  auto cpu1 = PerfEventRing::create(1, 1);
  ASSERT_TRUE(any && cpu1);
  int fd_any = t.add_perf(any->get());
  int fd_cpu1 = t.add_perf(cpu1->get());
  int a_map = t.add_map(make_map(BPF_MAP_TYPE_ARRAY, 4, 4, 1));
  CreateOptions o;
  o.objects = &t;
  auto m = Map::create(map_attr(BPF_MAP_TYPE_PERF_EVENT_ARRAY, 4, 4, 4), o);
  ASSERT_TRUE(m);
  Map* pm = m->get();
  uint32_t k = 0, out;
  int32_t v = a_map;
  EXPECT_EQ(rc(pm->lookup(&k, &out)), -kENOTSUPP);
  EXPECT_EQ(rc(pm->update(&k, &v)), -EBADF);  // perf_event_get: not a perf event file
  v = fd_any;
  ASSERT_TRUE(pm->update(&k, &v));
  EXPECT_EQ(rc(pm->lookup(&k, &out)), -kENOTSUPP);
  k = 1;
  v = fd_cpu1;
  ASSERT_TRUE(pm->update(&k, &v));
  k = 4;
  EXPECT_EQ(rc(pm->update(&k, &v)), -E2BIG);

  const char msg[] = "hello";
  EXPECT_EQ(perf_event_output(pm, 0, msg, 5, 3), 0);
  EXPECT_EQ(perf_event_output(pm, BPF_F_CURRENT_CPU, msg, 5, 1), 0);
  EXPECT_EQ(perf_event_output(pm, 1, msg, 5, 0), -EOPNOTSUPP);  // the event is bound to CPU 1
  EXPECT_EQ(perf_event_output(pm, 2, msg, 5, 0), -ENOENT);
  EXPECT_EQ(perf_event_output(pm, 4, msg, 5, 0), -E2BIG);
  EXPECT_EQ(perf_event_output(pm, BPF_F_CURRENT_CPU, msg, 5, 7), -E2BIG);
  EXPECT_EQ(perf_event_output(pm, uint64_t(1) << 32, msg, 5, 0), -EINVAL);
  (*cpu1)->set_enabled(false);  // a disabled event is on no CPU
  EXPECT_EQ(perf_event_output(pm, 1, msg, 5, 1), -EOPNOTSUPP);
  (*cpu1)->set_enabled(true);

  PerfConsumer c(**any);
  auto recs = c.read();
  ASSERT_EQ(recs.size(), 1u);
  EXPECT_EQ(recs[0].type, uint32_t(PERF_RECORD_SAMPLE));
  ASSERT_EQ(recs[0].raw.size(), 12u);  // 4 + 5 rounded up to 8, minus the u32 size
  EXPECT_EQ(std::memcmp(recs[0].raw.data(), msg, 5), 0);
  EXPECT_EQ(recs[0].raw[5], 0);  // zero padding
  PerfConsumer c1(**cpu1);
  EXPECT_EQ(c1.read().size(), 1u);

  k = 2;
  EXPECT_EQ(rc(pm->delete_elem(&k)), -ENOENT);
  k = 0;
  ASSERT_TRUE(pm->delete_elem(&k));
  EXPECT_EQ(perf_event_output(pm, 0, msg, 5, 0), -ENOENT);
  m->reset();
  RunDomain::process().synchronize(RunDomain::process().retire());
  EXPECT_EQ(t.total_refs(), 0);
}

TEST(PerfEventRing, WrapsLosesAndWakes) {
  auto r = PerfEventRing::create(1, -1, 7);
  ASSERT_TRUE(r);
  PerfEventRing& ring = **r;
  EXPECT_EQ(rc(PerfEventRing::create(3).status()), -EINVAL);
  PerfConsumer c(ring);
  EXPECT_FALSE(readable(ring.wakeup_fd()));
  // 4096-byte ring, 8 + 4 + 100 (-> 112) byte records: 36 fit, the rest are lost.
  uint8_t data[100];
  int written = 0, lost = 0;
  for (int i = 0; i < 40; ++i) {
    std::memset(data, i, sizeof data);
    long res = ring.output(data, sizeof data);
    if (res == 0) ++written;
    if (res == -ENOSPC) ++lost;
  }
  EXPECT_EQ(written, 36);
  EXPECT_EQ(lost, 4);
  EXPECT_EQ(ring.lost(), 4u);
  EXPECT_TRUE(readable(ring.wakeup_fd()));
  uint64_t n;
  ASSERT_EQ(read(ring.wakeup_fd(), &n, 8), 8);
  EXPECT_EQ(n, 36u);
  auto recs = c.read();
  ASSERT_EQ(recs.size(), 36u);
  for (int i = 0; i < 36; ++i) EXPECT_EQ(recs[i].raw[0], i);
  // The next sample is preceded by a PERF_RECORD_LOST; records now wrap around the ring's end.
  int next = 100;
  for (int round = 0; round < 5; ++round) {
    for (int i = 0; i < 20; ++i, ++next) {
      std::memset(data, next & 0xff, sizeof data);
      ASSERT_EQ(ring.output(data, sizeof data), 0);
    }
    recs = c.read();
    size_t first = 0;
    if (round == 0) {
      ASSERT_EQ(recs[0].type, uint32_t(PERF_RECORD_LOST));
      EXPECT_EQ(recs[0].lost, 4u);
      first = 1;
    }
    ASSERT_EQ(recs.size(), first + 20);
    for (size_t i = first; i < recs.size(); ++i) {
      EXPECT_EQ(recs[i].type, uint32_t(PERF_RECORD_SAMPLE));
      EXPECT_EQ(recs[i].raw[99], (next - 20 + int(i - first)) & 0xff);
    }
  }
  EXPECT_EQ(ring.lost(), 0u);
  std::vector<uint8_t> big(70000);
  EXPECT_EQ(ring.output(big.data(), big.size()), -E2BIG);
}

// Producers on several threads, one consumer: every sample arrives once, intact, in order per
// producer, or is counted lost.
TEST(PerfEventRing, ConcurrentProducers) {
  auto r = PerfEventRing::create(2);
  ASSERT_TRUE(r);
  PerfEventRing& ring = **r;
  PerfConsumer c(ring);
  constexpr int kThreads = 2, kPer = 20000;
  std::atomic<int> done{0};
  std::vector<std::thread> ts;
  std::atomic<uint64_t> ok{0};
  for (int t = 0; t < kThreads; ++t) {
    ts.emplace_back([&, t] {
      for (uint32_t i = 0; i < kPer; ++i) {
        uint32_t rec[4] = {uint32_t(t), i, ~i, 0xabcdef};
        if (ring.output(rec, sizeof rec) == 0) ok.fetch_add(1);
      }
      done.fetch_add(1);
    });
  }
  uint64_t got = 0, lost = 0;
  uint32_t last[kThreads] = {};
  bool first[kThreads] = {true, true};
  for (;;) {
    bool finished = done.load() == kThreads;
    for (const Record& rec : c.read()) {
      if (rec.type == PERF_RECORD_LOST) {
        lost += rec.lost;
        continue;
      }
      ASSERT_EQ(rec.raw.size(), 20u);
      uint32_t v[4];
      std::memcpy(v, rec.raw.data(), 16);
      ASSERT_LT(v[0], uint32_t(kThreads));
      ASSERT_EQ(v[2], ~v[1]);
      ASSERT_EQ(v[3], 0xabcdefu);
      if (!first[v[0]]) {
        ASSERT_GT(v[1], last[v[0]]);
      }
      first[v[0]] = false;
      last[v[0]] = v[1];
      ++got;
    }
    if (finished) break;
  }
  for (auto& th : ts) th.join();
  for (const Record& rec : c.read()) {
    if (rec.type == PERF_RECORD_SAMPLE) ++got;
    if (rec.type == PERF_RECORD_LOST) lost += rec.lost;
  }
  EXPECT_EQ(got, ok.load());
  EXPECT_EQ(got + lost + ring.lost(), uint64_t(kThreads) * kPer);
}

}  // namespace
}  // namespace bpfbox::maps::testing
