// bpf(2)'s attr rules against the kernel: zero-extension of a short attr, E2BIG for non-zero
// bytes past the known struct or a size over a page, EINVAL for non-zero fields a command does
// not use (CHECK_ATTR), EINVAL for commands bpfbox does not serve.
#include <cstddef>
#include <vector>

#include "sys_test_util.hpp"

namespace bpfbox::systest {
namespace {

// Runs MAP_CREATE with `bytes` (size bytes) and returns "fd" or the errno, closing the fd.
long create_with(Impl impl, std::vector<uint8_t> bytes) {
  long r = impl == Impl::Kernel
               ? syscall(__NR_bpf, BPF_MAP_CREATE, bytes.data(), unsigned(bytes.size()))
               : bpfbox_bpf(BPF_MAP_CREATE, reinterpret_cast<union bpf_attr*>(bytes.data()),
                            unsigned(bytes.size()));
  if (r < 0) return -errno;
  close(int(r));
  return 0;
}

std::vector<uint8_t> array_attr(size_t size) {
  std::vector<uint8_t> b(size, 0);
  union bpf_attr a = map_attr(BPF_MAP_TYPE_ARRAY, 4, 8, 4);
  std::memcpy(b.data(), &a, std::min(size, sizeof a));
  return b;
}

TEST(SysAttr, SizeRulesMatchKernel) {
  SKIP_WITHOUT_KERNEL();
  RuntimeDir rt;
  struct Case {
    const char* what;
    std::vector<uint8_t> bytes;
    long expect;
  };
  std::vector<Case> cases;
  cases.push_back({"whole union", array_attr(sizeof(union bpf_attr)), 0});
  cases.push_back(
      {"short attr, zero-extended", array_attr(offsetof(union bpf_attr, map_flags)), 0});
  cases.push_back({"a page, zero tail", array_attr(4096), 0});
  cases.push_back({"over a page", array_attr(4097), -E2BIG});
  auto tail = array_attr(4096);
  tail[4000] = 1;
  cases.push_back({"non-zero byte past the struct", tail, -E2BIG});
  auto unused = array_attr(sizeof(union bpf_attr));
  unused[140] = 1;  // past MAP_CREATE's last field in every kernel
  cases.push_back({"non-zero byte past MAP_CREATE's fields", unused, -EINVAL});
  for (const Case& c : cases) {
    SCOPED_TRACE(c.what);
    EXPECT_EQ(create_with(Impl::Kernel, c.bytes), c.expect);
    EXPECT_EQ(create_with(Impl::Bpfbox, c.bytes), c.expect) << bpfbox_bpf_last_error();
  }
}

TEST(SysAttr, CheckAttrPerCommandMatchesKernel) {
  SKIP_WITHOUT_KERNEL();
  RuntimeDir rt;
  for (Impl impl : {Impl::Kernel, Impl::Bpfbox}) {
    SCOPED_TRACE(impl == Impl::Kernel ? "kernel" : "bpfbox");
    union bpf_attr c = map_attr(BPF_MAP_TYPE_HASH, 4, 8, 4);
    long fd = call(impl, BPF_MAP_CREATE, c);
    ASSERT_GE(fd, 0);
    uint32_t key = 1;
    uint64_t value = 7;
    // A field past `flags` (the LOOKUP/UPDATE last field) set: EINVAL before anything else.
    union bpf_attr a = elem_attr(int(fd), &key, &value);
    a.batch.count = 1;  // overlaps nothing LOOKUP uses: offset 32
    EXPECT_EQ(call(impl, BPF_MAP_UPDATE_ELEM, a), -EINVAL);
    a = elem_attr(int(fd), &key, &value);
    EXPECT_EQ(call(impl, BPF_MAP_UPDATE_ELEM, a), 0);
    EXPECT_EQ(call(impl, BPF_MAP_FREEZE, a), -EINVAL);  // FREEZE uses map_fd only
    union bpf_attr f;
    std::memset(&f, 0, sizeof f);
    f.map_fd = uint32_t(fd);
    f.key = 1;
    EXPECT_EQ(call(impl, BPF_MAP_FREEZE, f), -EINVAL);
    // GET_NEXT_ID: start_id and next_id only.
    union bpf_attr n;
    std::memset(&n, 0, sizeof n);
    n.open_flags = 1;
    EXPECT_EQ(call(impl, BPF_MAP_GET_NEXT_ID, n), -EINVAL);
    // GET_INFO_BY_FD: a byte past info.info.
    union bpf_attr i;
    std::memset(&i, 0, sizeof i);
    i.info.bpf_fd = uint32_t(fd);
    reinterpret_cast<uint8_t*>(&i)[20] = 1;
    EXPECT_EQ(call(impl, BPF_OBJ_GET_INFO_BY_FD, i), -EINVAL);
    // Unknown command.
    union bpf_attr z;
    std::memset(&z, 0, sizeof z);
    EXPECT_EQ(call(impl, 999, z), -EINVAL);
    close(int(fd));
  }
}

TEST(SysAttr, UnservedCommandsAreEinvalWithAMessage) {
  RuntimeDir rt;
  union bpf_attr a;
  std::memset(&a, 0, sizeof a);
  EXPECT_EQ(call(Impl::Bpfbox, BPF_PROG_ATTACH, a), -EINVAL);
  EXPECT_NE(std::string(bpfbox_bpf_last_error()).find("not served"), std::string::npos);
  EXPECT_EQ(call(Impl::Bpfbox, BPF_MAP_CREATE, a, 4097), -E2BIG);
  EXPECT_EQ(bpfbox_bpf(BPF_MAP_CREATE, nullptr, 8), -1);
  EXPECT_EQ(errno, EFAULT);
}

}  // namespace
}  // namespace bpfbox::systest
