// BPF_LINK_*: XDP links on bpfbox's virtual interfaces. The refusals are compared with the
// kernel's (on an ifindex that does not exist, so nothing attaches to the host); the attach
// sequence follows what the kernel answers on lo (checked by hand on 6.18: EBUSY for a second
// link, EINVAL for a program of another type, EPERM for a wrong BPF_F_REPLACE, 0 for a second
// detach, ENOLINK for an update after detach, fdinfo flags 02000000).
#include <fcntl.h>
#include <linux/if_link.h>

#include <string>

#include "sys_test_util.hpp"

namespace bpfbox::systest {
namespace {

long load(Impl impl, uint32_t type, int32_t ret = 2) {
  return load_prog(impl, type, ret_prog(ret));
}

long link_create(Impl impl, long prog, uint32_t ifindex, uint32_t attach = BPF_XDP,
                 uint32_t flags = 0) {
  union bpf_attr a;
  std::memset(&a, 0, sizeof a);
  a.link_create.prog_fd = uint32_t(prog);
  a.link_create.target_ifindex = ifindex;
  a.link_create.attach_type = attach;
  a.link_create.flags = flags;
  return call(impl, BPF_LINK_CREATE, a);
}

long link_update(long link, long prog, uint32_t flags = 0, long old = 0) {
  union bpf_attr a;
  std::memset(&a, 0, sizeof a);
  a.link_update.link_fd = uint32_t(link);
  a.link_update.new_prog_fd = uint32_t(prog);
  a.link_update.flags = flags;
  a.link_update.old_prog_fd = uint32_t(old);
  return call(Impl::Bpfbox, BPF_LINK_UPDATE, a);
}

long link_detach(long fd) {
  union bpf_attr a;
  std::memset(&a, 0, sizeof a);
  a.link_detach.link_fd = uint32_t(fd);
  return call(Impl::Bpfbox, BPF_LINK_DETACH, a);
}

template <class Info>
Info info_of(long fd) {
  Info info;
  std::memset(&info, 0, sizeof info);
  EXPECT_EQ(get_info(Impl::Bpfbox, int(fd), &info, sizeof info), 0) << bpfbox_bpf_last_error();
  return info;
}

TEST(SysLinks, RefusalsMatchKernel) {
  RuntimeDir rt;
  for (Impl impl : {Impl::Bpfbox, Impl::Kernel}) {
    if (impl == Impl::Kernel && !kernel_available()) continue;
    SCOPED_TRACE(impl == Impl::Kernel ? "kernel" : "bpfbox");
    const long xdp = load(impl, BPF_PROG_TYPE_XDP);
    const long tc = load(impl, BPF_PROG_TYPE_SCHED_CLS);
    ASSERT_GE(xdp, 0);
    ASSERT_GE(tc, 0);
    const uint32_t nowhere = 999999;
    EXPECT_EQ(link_create(impl, 1000, nowhere), -EBADF);
    EXPECT_EQ(link_create(impl, tc, nowhere), -EINVAL);
    EXPECT_EQ(link_create(impl, xdp, nowhere, BPF_CGROUP_INET_INGRESS), -EINVAL);
    EXPECT_EQ(link_create(impl, xdp, nowhere, 0), -EINVAL);
    EXPECT_EQ(link_create(impl, xdp, nowhere, BPF_XDP, 0x100), -EINVAL);
    EXPECT_EQ(link_create(impl, xdp, nowhere), -EINVAL);
    EXPECT_EQ(link_create(impl, xdp, 0), -EINVAL);
    // The unused-field rule: open_flags is past LINK_GET_FD_BY_ID's last field.
    union bpf_attr g;
    std::memset(&g, 0, sizeof g);
    g.link_id = 1;
    g.open_flags = BPF_F_RDONLY;
    EXPECT_EQ(call(impl, BPF_LINK_GET_FD_BY_ID, g), -EINVAL);
    union bpf_attr d;
    std::memset(&d, 0, sizeof d);
    d.link_detach.link_fd = uint32_t(xdp);
    EXPECT_EQ(call(impl, BPF_LINK_DETACH, d), -EINVAL);  // a program fd is not a link
    close(int(xdp));
    close(int(tc));
  }
}

TEST(SysLinks, XdpLinkOnAVirtualInterface) {
  RuntimeDir rt;
  const int ifindex = bpfbox_netdev_add("veth0");
  ASSERT_GT(ifindex, 1) << strerror(errno);
  EXPECT_EQ(bpfbox_netdev_add("veth0"), ifindex);
  EXPECT_EQ(bpfbox_netdev_add("lo"), 1);
  EXPECT_EQ(bpfbox_netdev_add("a/b"), -1);
  const long p1 = load(Impl::Bpfbox, BPF_PROG_TYPE_XDP, 2);
  const long p2 = load(Impl::Bpfbox, BPF_PROG_TYPE_XDP, 1);
  const long tc = load(Impl::Bpfbox, BPF_PROG_TYPE_SCHED_CLS);
  ASSERT_GE(p1, 0);
  ASSERT_GE(p2, 0);
  const uint32_t p1_id = info_of<bpf_prog_info>(p1).id;
  const uint32_t p2_id = info_of<bpf_prog_info>(p2).id;

  EXPECT_EQ(link_create(Impl::Bpfbox, p1, uint32_t(ifindex), BPF_XDP, XDP_FLAGS_DRV_MODE),
            -EOPNOTSUPP);
  EXPECT_EQ(link_create(Impl::Bpfbox, p1, uint32_t(ifindex), BPF_XDP,
                        XDP_FLAGS_SKB_MODE | XDP_FLAGS_DRV_MODE),
            -EINVAL);
  const long link = link_create(Impl::Bpfbox, p1, uint32_t(ifindex));
  ASSERT_GE(link, 0) << bpfbox_bpf_last_error();
  EXPECT_EQ(link_create(Impl::Bpfbox, p2, uint32_t(ifindex)), -EBUSY);
  auto li = info_of<bpf_link_info>(link);
  EXPECT_EQ(li.type, uint32_t(BPF_LINK_TYPE_XDP));
  EXPECT_EQ(li.prog_id, p1_id);
  EXPECT_EQ(li.xdp.ifindex, uint32_t(ifindex));
  char text[512];
  ASSERT_GT(bpfbox_fdinfo(int(link), text, sizeof text), 0);
  const std::string fdinfo = text;
  EXPECT_NE(fdinfo.find("flags:\t02000000\n"), std::string::npos) << fdinfo;
  EXPECT_NE(fdinfo.find("link_type:\txdp\nlink_id:\t" + std::to_string(li.id) + "\n"),
            std::string::npos)
      << fdinfo;
  EXPECT_NE(fdinfo.find("prog_id:\t" + std::to_string(p1_id) + "\nifindex:\t" +
                        std::to_string(ifindex) + "\n"),
            std::string::npos)
      << fdinfo;

  // Ids: listed, and opened again by id.
  union bpf_attr n;
  std::memset(&n, 0, sizeof n);
  ASSERT_EQ(call(Impl::Bpfbox, BPF_LINK_GET_NEXT_ID, n), 0);
  EXPECT_EQ(n.next_id, li.id);
  union bpf_attr g;
  std::memset(&g, 0, sizeof g);
  g.link_id = li.id;
  const long again = call(Impl::Bpfbox, BPF_LINK_GET_FD_BY_ID, g);
  ASSERT_GE(again, 0) << bpfbox_bpf_last_error();
  EXPECT_EQ(info_of<bpf_link_info>(again).id, li.id);
  close(int(again));

  // Update: the kernel's checks, then the new program.
  EXPECT_EQ(link_update(link, tc), -EINVAL);
  EXPECT_EQ(link_update(link, p2, BPF_F_REPLACE, p2), -EPERM);
  EXPECT_EQ(link_update(link, p2, 0, p1), -EINVAL);
  EXPECT_EQ(link_update(link, p2, 1u << 5), -EINVAL);
  ASSERT_EQ(link_update(link, p2, BPF_F_REPLACE, p1), 0) << bpfbox_bpf_last_error();
  EXPECT_EQ(info_of<bpf_link_info>(link).prog_id, p2_id);

  // Pinned, and back through OBJ_GET.
  union bpf_attr pin;
  std::memset(&pin, 0, sizeof pin);
  pin.bpf_fd = uint32_t(link);
  pin.pathname = reinterpret_cast<uint64_t>("/sys/fs/bpf/xdp_link");
  ASSERT_EQ(call(Impl::Bpfbox, BPF_OBJ_PIN, pin), 0) << bpfbox_bpf_last_error();
  pin.bpf_fd = 0;
  const long got = call(Impl::Bpfbox, BPF_OBJ_GET, pin);
  ASSERT_GE(got, 0) << bpfbox_bpf_last_error();
  EXPECT_EQ(info_of<bpf_link_info>(got).id, li.id);
  close(int(got));

  // Detach: twice 0, the interface freed, an update now ENOLINK.
  EXPECT_EQ(link_detach(link), 0);
  EXPECT_EQ(link_detach(link), 0);
  EXPECT_EQ(info_of<bpf_link_info>(link).xdp.ifindex, 0u);
  EXPECT_EQ(link_update(link, p1), -ENOLINK);
  const long second = link_create(Impl::Bpfbox, p1, uint32_t(ifindex));
  ASSERT_GE(second, 0) << bpfbox_bpf_last_error();
  // A link whose last fd closes (and that is not pinned) frees its interface.
  close(int(second));
  const long third = link_create(Impl::Bpfbox, p2, uint32_t(ifindex));
  EXPECT_GE(third, 0) << bpfbox_bpf_last_error();
  close(int(third));
  close(int(link));
  close(int(p1));
  close(int(p2));
  close(int(tc));
}

}  // namespace
}  // namespace bpfbox::systest
