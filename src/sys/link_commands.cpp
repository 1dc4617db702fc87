// BPF_LINK_CREATE, BPF_LINK_UPDATE, BPF_LINK_DETACH: the kernel's link_create/link_update/
// link_detach with bpf_xdp_link_attach's rules, for XDP links on bpfbox's virtual interfaces
// (netdev.hpp). Every other attach point is EINVAL with a message: bpfbox has no cgroups, tc
// hooks, tracepoints or sockets to attach to.
#include <fcntl.h>
#include <linux/if_link.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "sys/commands.hpp"
#include "sys/find_file.hpp"
#include "sys/link.hpp"
#include "sys/netdev.hpp"
#include "sys/objects.hpp"
#include "sys/runtime.hpp"

namespace bpfbox::sys {

namespace {

constexpr uint32_t kLinkVersion = 1;

bool write_all_at(int fd, const void* p, size_t n, off_t off) {
  return pwrite(fd, p, n, off) == ssize_t(n);
}

// Whether a link id names a live link (in this process, or a file open somewhere or pinned).
bool link_alive(uint32_t id) {
  if (!id) return false;
  if (Objects::get().by_id(Kind::Link, id)) return true;
  auto fd = open_by_id(Kind::Link, id, O_RDONLY);
  if (!fd) return false;
  close(*fd);
  return true;
}

Result<std::shared_ptr<Object>> link_of(int fd) {
  return Objects::get().by_fd(fd, Kind::Link);
}

}  // namespace

Link::~Link() {
  if (fd >= 0) close(fd);
}

Result<LinkFileHeader> Link::header() const {
  LinkFileHeader h{};
  if (pread(fd, &h, sizeof h, 0) != ssize_t(sizeof h) || std::memcmp(h.magic, kLinkMagic, 8) != 0)
    return Status(EINVAL, "not a bpfbox link file");
  return h;
}

Status Link::write_header(const LinkFileHeader& h) const {
  if (!write_all_at(fd, &h, sizeof h, 0)) return Status(EIO, "cannot write the link's file");
  return Status::ok();
}

Result<std::shared_ptr<Link>> read_link_file(int fd) {
  auto l = std::make_shared<Link>();
  l->fd = fd;
  auto h = l->header();
  if (!h || h->version != kLinkVersion) {
    l->fd = -1;
    return Status(EINVAL, "not a bpfbox link file");
  }
  return l;
}

Status link_fdinfo(const Link& l, uint32_t id, std::string& out) {
  auto h = l.header();
  if (!h) return h.status();
  char tag[2 * BPF_TAG_SIZE + 1];
  for (int i = 0; i < BPF_TAG_SIZE; i++) std::snprintf(tag + 2 * i, 3, "%02x", h->prog_tag[i]);
  char buf[256];
  std::snprintf(buf, sizeof buf,
                "link_type:\txdp\nlink_id:\t%u\nprog_tag:\t%s\nprog_id:\t%u\n"
                "ifindex:\t%u\n",
                id, tag, h->prog_id, h->ifindex);
  out += buf;
  return Status::ok();
}

CmdResult link_create(Call& c) {
  const auto& l = c.attr.a.link_create;
  auto pobj = Objects::get().by_fd(int(l.prog_fd), Kind::Prog);
  if (!pobj) return pobj.status();
  std::shared_ptr<Prog> prog = (*pobj)->prog;
  if (l.attach_type != BPF_XDP || prog->type != BPF_PROG_TYPE_XDP)
    return Status(EINVAL, "bpfbox attaches links only for XDP programs at BPF_XDP (attach_type " +
                              std::to_string(l.attach_type) + ", program type " +
                              std::to_string(prog->type) +
                              "): it has no cgroups, tc hooks, tracepoints or sockets");
  // bpf_xdp_link_attach / dev_xdp_attach.
  if (l.flags & ~uint32_t(XDP_FLAGS_MODES))
    return Status(EINVAL, "Invalid XDP flags for BPF link attachment");
  const uint32_t modes = l.flags & XDP_FLAGS_MODES;
  if (modes & (modes - 1)) return Status(EINVAL, "Only one XDP mode flag can be set");
  if (!netdev_exists(l.target_ifindex))
    return Status(EINVAL, "no interface with ifindex " + std::to_string(l.target_ifindex) +
                              " (bpfbox_netdev_add() makes one)");
  if (modes & (XDP_FLAGS_DRV_MODE | XDP_FLAGS_HW_MODE))
    return Status(EOPNOTSUPP,
                  "bpfbox's virtual interfaces have only generic XDP (no native or offload mode)");
  Objects::get().sweep();  // a link whose fds are all closed is gone, and so is its attachment
  if (link_alive(netdev_xdp_link(l.target_ifindex)))
    return Status(EBUSY,
                  "an XDP link is already attached to ifindex " + std::to_string(l.target_ifindex));

  auto link = std::make_shared<Link>();
  const std::string objs = runtime_path("objs");
  if (!objs.empty()) link->fd = open(objs.c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
  if (link->fd < 0) return Status(EPERM, "links need the runtime dir (objs/)");
  link->prog = prog;
  LinkFileHeader h{};
  std::memcpy(h.magic, kLinkMagic, 8);
  h.version = kLinkVersion;
  h.type = BPF_LINK_TYPE_XDP;
  h.prog_id = (*pobj)->id;
  h.attach_type = l.attach_type;
  h.ifindex = l.target_ifindex;
  h.flags = l.flags;
  std::memcpy(h.prog_tag, prog->tag, BPF_TAG_SIZE);
  if (Status st = link->write_header(h); !st) return st;
  auto obj = std::make_shared<Object>();
  obj->kind = Kind::Link;
  obj->link = link;
  auto fd = Objects::get().install(obj, O_RDONLY);  // the kernel's link fds are O_RDONLY
  if (!fd) return fd.status();
  h.id = obj->id;
  (void)link->write_header(h);
  hold_link_program(obj->id, *prog);
  netdev_set_xdp_link(l.target_ifindex, obj->id);
  return long(*fd);
}

CmdResult link_update(Call& c) {
  const auto& u = c.attr.a.link_update;
  if (u.flags & ~uint32_t(BPF_F_REPLACE)) return Status(EINVAL, "link_update.flags");
  if (!(u.flags & BPF_F_REPLACE) && u.old_prog_fd)
    return Status(EINVAL, "old_prog_fd needs BPF_F_REPLACE");
  auto lobj = link_of(int(u.link_fd));
  if (!lobj) return lobj.status();
  auto nobj = Objects::get().by_fd(int(u.new_prog_fd), Kind::Prog);
  if (!nobj) return nobj.status();
  std::shared_ptr<Object> oobj;
  if (u.flags & BPF_F_REPLACE) {
    auto o = Objects::get().by_fd(int(u.old_prog_fd), Kind::Prog);
    if (!o) return o.status();
    oobj = *o;
  }
  Link& link = *(*lobj)->link;
  auto h = link.header();
  if (!h) return h.status();
  if (!h->ifindex) return Status(ENOLINK, "the link is detached");
  if (oobj && oobj->id != h->prog_id) return Status(EPERM, "old_prog_fd is not the link's program");
  const Prog& np = *(*nobj)->prog;
  const uint32_t old_eat = link.prog ? link.prog->expected_attach_type : np.expected_attach_type;
  if (np.type != BPF_PROG_TYPE_XDP || np.expected_attach_type != old_eat)
    return Status(EINVAL, "the new program's type or expected attach type is not the link's");
  link.prog = (*nobj)->prog;
  h->prog_id = (*nobj)->id;
  std::memcpy(h->prog_tag, np.tag, BPF_TAG_SIZE);
  if (Status st = link.write_header(*h); !st) return st;
  hold_link_program((*lobj)->id, np);
  return 0L;
}

CmdResult link_detach(Call& c) {
  auto lobj = link_of(int(c.attr.a.link_detach.link_fd));
  if (!lobj) return lobj.status();
  Link& link = *(*lobj)->link;
  auto h = link.header();
  if (!h) return h.status();
  if (h->ifindex) {
    netdev_set_xdp_link(h->ifindex, 0, (*lobj)->id);
    h->ifindex = 0;
    if (Status st = link.write_header(*h); !st) return st;
  }
  return 0L;
}

}  // namespace bpfbox::sys
