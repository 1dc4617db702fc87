// The batch commands with bad user pointers: keys, values, in_batch and out_batch on a page the
// process cannot touch (PROT_NONE) are EFAULT, never a crash, with the kernel's partial count
// (update and delete: the elements before the fault stay done; lookups: count 0, and what
// lookup_and_delete took out stays deleted). Each scenario runs against bpfbox and, where bpf()
// is allowed, against the kernel with the same expectations.
#include <sys/mman.h>

#include <set>

#include "sys_test_util.hpp"

namespace bpfbox::systest {
namespace {

// `n` readable and writable bytes that end where a PROT_NONE page begins.
class GuardedBuffer {
 public:
  explicit GuardedBuffer(size_t n) {
    const size_t page = 4096, pages = (n + page - 1) / page;
    len_ = (pages + 1) * page;
    base_ = static_cast<uint8_t*>(
        mmap(nullptr, len_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
    EXPECT_NE(base_, MAP_FAILED);
    EXPECT_EQ(mprotect(base_ + pages * page, page, PROT_NONE), 0);
    data_ = base_ + pages * page - n;
  }
  ~GuardedBuffer() { munmap(base_, len_); }
  template <class T>
  T* as() const {
    return reinterpret_cast<T*>(data_);
  }
  uint64_t bad() const { return reinterpret_cast<uint64_t>(base_ + len_ - 4096); }

 private:
  uint8_t* base_ = nullptr;
  uint8_t* data_ = nullptr;
  size_t len_ = 0;
};

// Which of keys 0..n-1 the map holds (a bit each).
uint64_t present(Impl impl, int fd, uint32_t n) {
  uint64_t bits = 0;
  for (uint32_t k = 0; k < n; k++) {
    uint64_t v = 0;
    union bpf_attr a = elem_attr(fd, &k, &v);
    if (call(impl, BPF_MAP_LOOKUP_ELEM, a) == 0) bits |= uint64_t(1) << k;
  }
  return bits;
}

void faults(Impl impl, uint32_t type) {
  SCOPED_TRACE(impl == Impl::Kernel ? "kernel" : "bpfbox");
  SCOPED_TRACE(type == BPF_MAP_TYPE_HASH ? "hash" : "array");
  const bool hash = type == BPF_MAP_TYPE_HASH;
  union bpf_attr c = map_attr(type, 4, 8, 16);
  const int fd = int(call(impl, BPF_MAP_CREATE, c));
  ASSERT_GE(fd, 0);
  GuardedBuffer keys(4 * 4), values(3 * 8);
  for (uint32_t i = 0; i < 4; i++) keys.as<uint32_t>()[i] = i;
  uint64_t vals[8] = {10, 11, 12, 13, 14, 15, 16, 17};
  // Update: keys 0..3 readable, the 5th on the bad page: four done, count 4.
  union bpf_attr a = batch_attr(fd, uptr(keys.as<void>()), uptr(vals), 6);
  EXPECT_EQ(call(impl, BPF_MAP_UPDATE_BATCH, a), -EFAULT);
  EXPECT_EQ(a.batch.count, 4u);
  EXPECT_EQ(present(impl, fd, 6) & 0xf, 0xfu);
  // Values: the 4th value is on the bad page.
  uint32_t more[4] = {4, 5, 6, 7};
  a = batch_attr(fd, uptr(more), uptr(values.as<void>()), 4);
  EXPECT_EQ(call(impl, BPF_MAP_UPDATE_BATCH, a), -EFAULT);
  EXPECT_EQ(a.batch.count, 3u);
  if (hash) {
    EXPECT_EQ(present(impl, fd, 8), 0x7fu);
  }
  a = batch_attr(fd, keys.bad(), uptr(vals), 2);
  EXPECT_EQ(call(impl, BPF_MAP_UPDATE_BATCH, a), -EFAULT);
  EXPECT_EQ(a.batch.count, 0u);
  // Count 0 reads nothing.
  a = batch_attr(fd, keys.bad(), keys.bad(), 0);
  EXPECT_EQ(call(impl, BPF_MAP_UPDATE_BATCH, a), 0);
  // Lookups: keys, values, in_batch or out_batch unwritable or unreadable: count 0.
  uint32_t okeys[16] = {}, cursor = 0;
  uint64_t ovals[16] = {};
  for (int which = 0; which < 4; which++) {
    SCOPED_TRACE(which);
    a = batch_attr(fd, which == 0 ? keys.bad() : uptr(okeys), which == 1 ? keys.bad() : uptr(ovals),
                   4);
    a.batch.in_batch = which == 2 ? keys.bad() : 0;
    a.batch.out_batch = which == 3 ? keys.bad() : uptr(&cursor);
    EXPECT_EQ(call(impl, BPF_MAP_LOOKUP_BATCH, a), -EFAULT);
    // generic_map_lookup_batch writes the count before out_batch, htab after.
    EXPECT_EQ(a.batch.count, which == 3 && !hash ? 4u : 0u);
  }
  if (hash) {
    // Delete: keys 0..3 readable, then the bad page.
    a = batch_attr(fd, uptr(keys.as<void>()), 0, 6);
    EXPECT_EQ(call(impl, BPF_MAP_DELETE_BATCH, a), -EFAULT);
    EXPECT_EQ(a.batch.count, 4u);
    EXPECT_EQ(present(impl, fd, 8), 0x70u);
    // Lookup and delete of one element into a bad keys buffer: gone, count 0.
    a = batch_attr(fd, uptr(&more[1]), 0, 2);
    EXPECT_EQ(call(impl, BPF_MAP_DELETE_BATCH, a), 0);
    EXPECT_EQ(present(impl, fd, 8), 0x10u);
    a = batch_attr(fd, keys.bad(), uptr(ovals), 4);
    a.batch.out_batch = uptr(&cursor);
    EXPECT_EQ(call(impl, BPF_MAP_LOOKUP_AND_DELETE_BATCH, a), -EFAULT);
    EXPECT_EQ(a.batch.count, 0u);
    EXPECT_EQ(present(impl, fd, 8), 0u);
  } else {
    // Arrays have no delete batch: ENOTSUPP before any pointer is read, count untouched.
    a = batch_attr(fd, keys.bad(), 0, 6);
    EXPECT_EQ(call(impl, BPF_MAP_DELETE_BATCH, a), -524);
    EXPECT_EQ(a.batch.count, 6u);
  }
  close(fd);
}

TEST(SysMapBatch, BadPointersAreEfaultWithTheKernelsCount) {
  RuntimeDir rt;
  for (uint32_t type : {BPF_MAP_TYPE_HASH, BPF_MAP_TYPE_ARRAY}) {
    faults(Impl::Bpfbox, type);
    if (kernel_available()) faults(Impl::Kernel, type);
  }
}

// Counts past a bounce chunk (256 KiB of keys and values): an update that faults in the middle
// of its second chunk stops at the exact element, and lookups over several chunks give every
// element once, with the hash's bucket cursor carried from chunk to chunk.
void large(Impl impl) {
  SCOPED_TRACE(impl == Impl::Kernel ? "kernel" : "bpfbox");
  constexpr uint32_t kEntries = 70000, kReadable = 50000;
  union bpf_attr c = map_attr(BPF_MAP_TYPE_HASH, 4, 4, kEntries);
  const int fd = int(call(impl, BPF_MAP_CREATE, c));
  ASSERT_GE(fd, 0);
  GuardedBuffer keys(kReadable * 4);
  std::vector<uint32_t> vals(kEntries);
  for (uint32_t i = 0; i < kReadable; i++) keys.as<uint32_t>()[i] = i, vals[i] = i * 7;
  union bpf_attr a = batch_attr(fd, uptr(keys.as<void>()), uptr(vals.data()), kEntries);
  EXPECT_EQ(call(impl, BPF_MAP_UPDATE_BATCH, a), -EFAULT);
  EXPECT_EQ(a.batch.count, kReadable);
  std::vector<uint32_t> okeys(kEntries), ovals(kEntries);
  uint32_t cursor = 0;
  a = batch_attr(fd, uptr(okeys.data()), uptr(ovals.data()), kEntries);
  a.batch.out_batch = uptr(&cursor);
  EXPECT_EQ(call(impl, BPF_MAP_LOOKUP_BATCH, a), -ENOENT);
  ASSERT_EQ(a.batch.count, kReadable);
  std::set<uint32_t> seen;
  for (uint32_t i = 0; i < kReadable; i++) {
    seen.insert(okeys[i]);
    EXPECT_EQ(ovals[i], okeys[i] * 7) << okeys[i];
  }
  EXPECT_EQ(seen.size(), size_t(kReadable));
  EXPECT_EQ(*seen.rbegin(), kReadable - 1);
  close(fd);
}

TEST(SysMapBatch, CountsPastABounceChunk) {
  RuntimeDir rt;
  large(Impl::Bpfbox);
  if (kernel_available()) large(Impl::Kernel);
}

}  // namespace
}  // namespace bpfbox::systest
