// BPF_*_GET_NEXT_ID and BPF_*_GET_FD_BY_ID over the shared id registry (ids.hpp): an id is live
// while its object's file is open somewhere or pinned; stale entries found on the way are removed.
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <optional>
#include <set>

#include "sys/commands.hpp"
#include "sys/find_file.hpp"
#include "sys/objects.hpp"

namespace bpfbox::sys {

namespace {

CmdResult next_id(Call& c, Kind kind) {
  Objects::get().sweep();
  const uint32_t start = c.attr.a.start_id;
  std::optional<std::set<InodeKey>> live;  // one scan of every process, when first needed
  for (uint32_t id : registered_ids(kind)) {
    if (id <= start) continue;
    bool alive = Objects::get().by_id(kind, id) != nullptr;
    if (!alive) {
      if (auto key = inode_of_id(kind, id)) {
        if (!live) live = live_inodes();
        alive = live->count(*key) > 0;
      }
    }
    if (!alive) {
      forget_id(kind, id);
      continue;
    }
    c.put(offsetof(union bpf_attr, next_id), id);
    return 0L;
  }
  return Status(ENOENT,
                std::string("no ") + kind_name(kind) + " id after " + std::to_string(start));
}

CmdResult fd_by_id(Kind kind, uint32_t id, int flags) {
  Objects::get().sweep();
  auto fd = open_by_id(kind, id, flags);
  if (!fd) return fd.status();
  // Adopted now, not at first use: the object then holds what it holds (a map its BTF, a link its
  // program) before the process that made it can exit.
  (void)Objects::get().by_fd(*fd, kind);
  return long(*fd);
}

}  // namespace

CmdResult prog_get_next_id(Call& c) {
  return next_id(c, Kind::Prog);
}
CmdResult map_get_next_id(Call& c) {
  return next_id(c, Kind::Map);
}
CmdResult btf_get_next_id(Call& c) {
  return next_id(c, Kind::Btf);
}
CmdResult link_get_next_id(Call& c) {
  return next_id(c, Kind::Link);
}

CmdResult prog_get_fd_by_id(Call& c) {
  return fd_by_id(Kind::Prog, c.attr.a.prog_id, O_RDWR);
}

CmdResult map_get_fd_by_id(Call& c) {
  const uint32_t f = c.attr.a.open_flags;
  if (f & ~uint32_t(BPF_F_RDONLY | BPF_F_WRONLY)) return Status(EINVAL, "unknown open_flags");
  if ((f & BPF_F_RDONLY) && (f & BPF_F_WRONLY))
    return Status(EINVAL, "BPF_F_RDONLY and BPF_F_WRONLY are mutually exclusive");
  const int mode = (f & BPF_F_RDONLY) ? O_RDONLY : (f & BPF_F_WRONLY) ? O_WRONLY : O_RDWR;
  return fd_by_id(Kind::Map, c.attr.a.map_id, mode);
}

CmdResult btf_get_fd_by_id(Call& c) {
  return fd_by_id(Kind::Btf, c.attr.a.btf_id, O_RDONLY);
}

CmdResult link_get_fd_by_id(Call& c) {
  return fd_by_id(Kind::Link, c.attr.a.link_id, O_RDONLY);  // link fds are O_RDONLY
}

}  // namespace bpfbox::sys
