// The BPF_MAP_* commands against the kernel: the same sequence of calls through bpfbox_bpf() and
// syscall(__NR_bpf), every result (fd, 0 or errno) and every output buffer compared, for success
// and each errno a command has (EBADF, EINVAL, EFAULT, ENOENT, EEXIST, E2BIG, EPERM, EBUSY,
// ENOTSUPP).
#include <fcntl.h>

#include <cstdio>
#include <sstream>

#include "sys_test_util.hpp"

namespace bpfbox::systest {
namespace {

class Trace {
 public:
  explicit Trace(Impl impl) : impl_(impl) {}
  // Calls, records "what: result" (fds as "fd"), returns the raw result.
  long operator()(const char* what, int cmd, union bpf_attr& a) {
    long r = call(impl_, cmd, a);
    lines_.push_back(std::string(what) + ": " +
                     (r >= 0 && is_fd_cmd(cmd) ? "fd" : std::to_string(r)));
    return r;
  }
  void note(const std::string& s) { lines_.push_back(s); }
  template <class T>
  void bytes(const char* what, const T& v) {
    std::ostringstream o;
    o << what << " =";
    const auto* p = reinterpret_cast<const uint8_t*>(&v);
    for (size_t i = 0; i < sizeof v; i++) o << ' ' << int(p[i]);
    lines_.push_back(o.str());
  }
  const std::vector<std::string>& lines() const { return lines_; }
  Impl impl() const { return impl_; }

 private:
  static bool is_fd_cmd(int cmd) {
    return cmd == BPF_MAP_CREATE || cmd == BPF_MAP_GET_FD_BY_ID || cmd == BPF_OBJ_GET ||
           cmd == BPF_PROG_LOAD;
  }
  Impl impl_;
  std::vector<std::string> lines_;
};

void expect_same(const Trace& k, const Trace& b) {
  ASSERT_EQ(k.lines().size(), b.lines().size());
  for (size_t i = 0; i < k.lines().size(); i++)
    EXPECT_EQ(k.lines()[i], b.lines()[i]) << "step " << i;
}

void hash_scenario(Trace& t) {
  union bpf_attr c = map_attr(BPF_MAP_TYPE_HASH, 4, 8, 2);
  std::strcpy(c.map_name, "sys_hash");
  const int fd = int(t("create", BPF_MAP_CREATE, c));
  ASSERT_GE(fd, 0);
  uint32_t k1 = 1, k2 = 2, k3 = 3, next = 0;
  uint64_t v = 0, out = 0;
  union bpf_attr a = elem_attr(fd, &k1, &out);
  t("lookup missing", BPF_MAP_LOOKUP_ELEM, a);
  a = elem_attr(fd, &k1, &out, 4);
  t("lookup bad flags", BPF_MAP_LOOKUP_ELEM, a);
  a = elem_attr(fd, nullptr, &out);
  t("lookup null key", BPF_MAP_LOOKUP_ELEM, a);
  v = 11;
  a = elem_attr(fd, &k1, &v, BPF_EXIST);
  t("update EXIST absent", BPF_MAP_UPDATE_ELEM, a);
  a = elem_attr(fd, &k1, &v, BPF_NOEXIST);
  t("update NOEXIST", BPF_MAP_UPDATE_ELEM, a);
  t("update NOEXIST again", BPF_MAP_UPDATE_ELEM, a);
  a = elem_attr(fd, &k1, &v, 99);
  t("update bad flags", BPF_MAP_UPDATE_ELEM, a);
  a = elem_attr(fd, &k1, &v, BPF_F_LOCK);
  t("update F_LOCK without spin lock", BPF_MAP_UPDATE_ELEM, a);
  a = elem_attr(fd, &k1, nullptr);
  t("update null value", BPF_MAP_UPDATE_ELEM, a);
  v = 22;
  a = elem_attr(fd, &k2, &v);
  t("update k2", BPF_MAP_UPDATE_ELEM, a);
  a = elem_attr(fd, &k3, &v);
  t("update k3 (full)", BPF_MAP_UPDATE_ELEM, a);
  a = elem_attr(fd, &k1, &out);
  t("lookup k1", BPF_MAP_LOOKUP_ELEM, a);
  t.bytes("k1 value", out);
  // get_next_key walks both keys and ends with ENOENT (order is the map's: compare the set).
  union bpf_attr n = elem_attr(fd, nullptr, nullptr);
  n.next_key = reinterpret_cast<uint64_t>(&next);
  uint32_t seen = 0;
  t("next from null", BPF_MAP_GET_NEXT_KEY, n);
  seen |= 1u << next;
  uint32_t cur = next;
  n.key = reinterpret_cast<uint64_t>(&cur);
  t("next 2nd", BPF_MAP_GET_NEXT_KEY, n);
  seen |= 1u << next;
  cur = next;
  t("next past the end", BPF_MAP_GET_NEXT_KEY, n);
  t.bytes("keys seen", seen);
  a = elem_attr(fd, &k3, nullptr);
  t("delete missing", BPF_MAP_DELETE_ELEM, a);
  a = elem_attr(fd, &k2, &out);
  t("lookup_and_delete k2", BPF_MAP_LOOKUP_AND_DELETE_ELEM, a);
  t.bytes("k2 value", out);
  t("lookup_and_delete k2 again", BPF_MAP_LOOKUP_AND_DELETE_ELEM, a);
  a = elem_attr(fd, &k2, &out, 8);
  t("lookup_and_delete bad flags", BPF_MAP_LOOKUP_AND_DELETE_ELEM, a);
  // Batches: update two, look them up, delete them.
  uint32_t keys[2] = {5, 6};
  uint64_t vals[2] = {55, 66};
  union bpf_attr b;
  std::memset(&b, 0, sizeof b);
  b.batch.map_fd = uint32_t(fd);
  b.batch.keys = reinterpret_cast<uint64_t>(keys);
  b.batch.values = reinterpret_cast<uint64_t>(vals);
  b.batch.count = 2;
  t("update_batch over max_entries", BPF_MAP_UPDATE_BATCH, b);
  t.bytes("count", b.batch.count);
  a = elem_attr(fd, &k1, nullptr);
  t("delete k1", BPF_MAP_DELETE_ELEM, a);
  b.batch.count = 2;
  t("update_batch", BPF_MAP_UPDATE_BATCH, b);
  t.bytes("count", b.batch.count);
  uint32_t okeys[4] = {}, out_batch = 0;
  uint64_t ovals[4] = {};
  union bpf_attr l = batch_attr(fd, uptr(okeys), uptr(ovals), 4, uptr(&out_batch));
  t("lookup_batch to the end", BPF_MAP_LOOKUP_BATCH, l);
  t.bytes("count", l.batch.count);
  t.bytes("sum of values", ovals[0] + ovals[1] + ovals[2] + ovals[3]);
  b.batch.count = 2;
  b.batch.values = 0;
  t("delete_batch", BPF_MAP_DELETE_BATCH, b);
  t.bytes("count", b.batch.count);
  l.batch.count = 4;
  t("lookup_batch empty", BPF_MAP_LOOKUP_BATCH, l);
  t.bytes("count", l.batch.count);
  // Freeze: writes refused, a second freeze too.
  union bpf_attr f;
  std::memset(&f, 0, sizeof f);
  f.map_fd = uint32_t(fd);
  t("freeze", BPF_MAP_FREEZE, f);
  t("freeze again", BPF_MAP_FREEZE, f);
  a = elem_attr(fd, &k1, &v);
  t("update frozen", BPF_MAP_UPDATE_ELEM, a);
  a = elem_attr(fd, &k1, &out);
  t("lookup frozen", BPF_MAP_LOOKUP_ELEM, a);
  close(fd);
  // Not an fd, not a map.
  a = elem_attr(fd, &k1, &out);
  t("lookup closed fd", BPF_MAP_LOOKUP_ELEM, a);
  int pipefd[2];
  ASSERT_EQ(pipe(pipefd), 0);
  a = elem_attr(pipefd[0], &k1, &out);
  t("lookup on a pipe", BPF_MAP_LOOKUP_ELEM, a);
  t("freeze a pipe", BPF_MAP_FREEZE, (f.map_fd = uint32_t(pipefd[0]), f));
  close(pipefd[0]);
  close(pipefd[1]);
}

TEST(SysMapCommands, HashMatchesKernel) {
  SKIP_WITHOUT_KERNEL();
  RuntimeDir rt;
  Trace k(Impl::Kernel), b(Impl::Bpfbox);
  hash_scenario(k);
  hash_scenario(b);
  expect_same(k, b);
}

void array_scenario(Trace& t) {
  union bpf_attr c = map_attr(BPF_MAP_TYPE_ARRAY, 4, 4, 3);
  const int fd = int(t("create array", BPF_MAP_CREATE, c));
  ASSERT_GE(fd, 0);
  uint32_t k = 1, out = 0, v = 9, next = 0;
  union bpf_attr a = elem_attr(fd, &k, &v, BPF_NOEXIST);
  t("update NOEXIST on array", BPF_MAP_UPDATE_ELEM, a);
  a = elem_attr(fd, &k, &v);
  t("update", BPF_MAP_UPDATE_ELEM, a);
  k = 3;
  t("update out of range", BPF_MAP_UPDATE_ELEM, a);
  k = 1;
  a = elem_attr(fd, &k, nullptr);
  t("delete on array", BPF_MAP_DELETE_ELEM, a);
  a = elem_attr(fd, &k, &out);
  t("lookup_and_delete on array", BPF_MAP_LOOKUP_AND_DELETE_ELEM, a);
  union bpf_attr n = elem_attr(fd, &k, nullptr);
  n.next_key = reinterpret_cast<uint64_t>(&next);
  t("next after 1", BPF_MAP_GET_NEXT_KEY, n);
  t.bytes("next", next);
  k = 2;
  t("next after last", BPF_MAP_GET_NEXT_KEY, n);
  k = 7;
  t("next after out of range", BPF_MAP_GET_NEXT_KEY, n);
  t.bytes("next", next);
  uint32_t okeys[3] = {}, ovals[3] = {}, out_batch = 0;
  union bpf_attr l = batch_attr(fd, uptr(okeys), uptr(ovals), 2, uptr(&out_batch));
  t("lookup_batch 2", BPF_MAP_LOOKUP_BATCH, l);
  t.bytes("keys", okeys);
  t.bytes("values", ovals);
  t.bytes("out_batch", out_batch);
  t("lookup_and_delete_batch on array", BPF_MAP_LOOKUP_AND_DELETE_BATCH, l);
  close(fd);
  // Access modes: a read-only map refuses writes, a write-only one reads.
  c = map_attr(BPF_MAP_TYPE_ARRAY, 4, 4, 3, BPF_F_RDONLY);
  const int ro = int(t("create rdonly", BPF_MAP_CREATE, c));
  k = 0;
  a = elem_attr(ro, &k, &v);
  t("update rdonly", BPF_MAP_UPDATE_ELEM, a);
  t("lookup rdonly", BPF_MAP_LOOKUP_ELEM, a);
  union bpf_attr f;
  std::memset(&f, 0, sizeof f);
  f.map_fd = uint32_t(ro);
  t("freeze rdonly", BPF_MAP_FREEZE, f);
  close(ro);
  c = map_attr(BPF_MAP_TYPE_ARRAY, 4, 4, 3, BPF_F_WRONLY);
  const int wo = int(t("create wronly", BPF_MAP_CREATE, c));
  a = elem_attr(wo, &k, &v);
  t("update wronly", BPF_MAP_UPDATE_ELEM, a);
  t("lookup wronly", BPF_MAP_LOOKUP_ELEM, a);
  n = elem_attr(wo, nullptr, nullptr);
  n.next_key = reinterpret_cast<uint64_t>(&next);
  t("next wronly", BPF_MAP_GET_NEXT_KEY, n);
  close(wo);
  // Creation errors.
  c = map_attr(BPF_MAP_TYPE_ARRAY, 4, 4, 3, BPF_F_RDONLY | BPF_F_WRONLY);
  t("create rdonly|wronly", BPF_MAP_CREATE, c);
  c = map_attr(BPF_MAP_TYPE_HASH, 0, 4, 3);
  t("create hash key 0", BPF_MAP_CREATE, c);
  c = map_attr(1000, 4, 4, 3);
  t("create unknown type", BPF_MAP_CREATE, c);
  c = map_attr(BPF_MAP_TYPE_ARRAY, 4, 4, 3);
  std::strcpy(c.map_name, "bad-name");
  t("create bad name", BPF_MAP_CREATE, c);
  c = map_attr(BPF_MAP_TYPE_ARRAY, 4, 4, 3);
  c.btf_key_type_id = 1;
  t("create btf key without value", BPF_MAP_CREATE, c);
  // Queue: lookup is peek, lookup_and_delete is pop.
  c = map_attr(BPF_MAP_TYPE_QUEUE, 0, 4, 2);
  const int q = int(t("create queue", BPF_MAP_CREATE, c));
  a = elem_attr(q, nullptr, &out);
  t("peek empty", BPF_MAP_LOOKUP_ELEM, a);
  a = elem_attr(q, nullptr, &v);
  t("push", BPF_MAP_UPDATE_ELEM, a);
  a = elem_attr(q, nullptr, &out, BPF_F_LOCK);
  t("pop with flags", BPF_MAP_LOOKUP_AND_DELETE_ELEM, a);
  a = elem_attr(q, nullptr, &out);
  t("pop", BPF_MAP_LOOKUP_AND_DELETE_ELEM, a);
  t.bytes("popped", out);
  close(q);
}

TEST(SysMapCommands, ArrayQueueAndAccessModesMatchKernel) {
  SKIP_WITHOUT_KERNEL();
  RuntimeDir rt;
  Trace k(Impl::Kernel), b(Impl::Bpfbox);
  array_scenario(k);
  array_scenario(b);
  expect_same(k, b);
}

void ids_and_info_scenario(Trace& t) {
  union bpf_attr c = map_attr(BPF_MAP_TYPE_LRU_HASH, 8, 16, 32, BPF_F_NO_COMMON_LRU);
  std::strcpy(c.map_name, "info.map");
  const int fd = int(t("create", BPF_MAP_CREATE, c));
  ASSERT_GE(fd, 0);
  bpf_map_info info;
  std::memset(&info, 0, sizeof info);
  union bpf_attr i;
  std::memset(&i, 0, sizeof i);
  i.info.bpf_fd = uint32_t(fd);
  i.info.info_len = sizeof info;
  i.info.info = reinterpret_cast<uint64_t>(&info);
  t("info", BPF_OBJ_GET_INFO_BY_FD, i);
  const uint32_t id = info.id;
  info.id = 0;
  t.bytes("info without id", info);
  t.bytes("info_len", i.info.info_len);
  // A shorter info_len: only that much is written, and reported.
  std::memset(&info, 0, sizeof info);
  i.info.info_len = 8;
  t("short info", BPF_OBJ_GET_INFO_BY_FD, i);
  t.bytes("info_len", i.info.info_len);
  t.bytes("key_size untouched", info.key_size);
  // A longer one with a non-zero byte past the struct.
  std::vector<uint8_t> big(1024, 0);  // past bpf_map_info in any kernel
  big[1000] = 1;
  i.info.info_len = uint32_t(big.size());
  i.info.info = reinterpret_cast<uint64_t>(big.data());
  t("info tail not zero", BPF_OBJ_GET_INFO_BY_FD, i);
  i.info.bpf_fd = 9999;
  t("info of a closed fd", BPF_OBJ_GET_INFO_BY_FD, i);
  // Ids: the map's id opens it (read-only as asked); bad flags and unknown ids.
  union bpf_attr g;
  std::memset(&g, 0, sizeof g);
  g.map_id = id;
  g.open_flags = BPF_F_RDONLY;
  const long ro = t("fd by id, rdonly", BPF_MAP_GET_FD_BY_ID, g);
  uint64_t key = 1;
  uint8_t value[16] = {};
  union bpf_attr u = elem_attr(int(ro), &key, value);
  t("update through rdonly fd", BPF_MAP_UPDATE_ELEM, u);
  if (ro >= 0) close(int(ro));
  g.open_flags = BPF_F_RDONLY | BPF_F_WRONLY;
  t("fd by id, both flags", BPF_MAP_GET_FD_BY_ID, g);
  g.open_flags = 1u << 20;
  t("fd by id, unknown flag", BPF_MAP_GET_FD_BY_ID, g);
  g.open_flags = 0;
  g.map_id = 0x7ffffff0;
  t("fd by unknown id", BPF_MAP_GET_FD_BY_ID, g);
  union bpf_attr n;
  std::memset(&n, 0, sizeof n);
  n.start_id = 0x7ffffff0;
  t("next id past the last", BPF_MAP_GET_NEXT_ID, n);
  std::memset(&n, 0, sizeof n);
  n.prog_id = 0x7ffffff0;
  t("prog fd by unknown id", BPF_PROG_GET_FD_BY_ID, n);
  close(fd);
}

TEST(SysMapCommands, InfoAndIdsMatchKernel) {
  SKIP_WITHOUT_KERNEL();
  RuntimeDir rt;
  Trace k(Impl::Kernel), b(Impl::Bpfbox);
  ids_and_info_scenario(k);
  ids_and_info_scenario(b);
  expect_same(k, b);
}

}  // namespace
}  // namespace bpfbox::systest
