// BPF_OBJ_PIN and BPF_OBJ_GET. The pin tree is "<runtime dir>/fs"; a path under /sys/fs/bpf names
// the same place in it (so programs written for the kernel's bpffs work), a path inside the tree
// is taken as it is, anything else is not bpffs: EPERM. A pin is a hard link of the object's
// file: it keeps the object alive after every process closed it, and unlink() unpins.
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstring>
#include <string>

#include "sys/btf.hpp"
#include "sys/commands.hpp"
#include "sys/link.hpp"
#include "sys/objects.hpp"
#include "sys/privilege.hpp"
#include "sys/runtime.hpp"
#include "sys/user_mem.hpp"

namespace bpfbox::sys {

namespace {

constexpr char kBpffs[] = "/sys/fs/bpf";

Result<std::string> tree_path(uint64_t upath) {
  // strncpy_from_user of at most PATH_MAX bytes (getname): EFAULT, or ENAMETOOLONG without a NUL.
  auto up = string_from_user(upath, PATH_MAX);
  if (!up) return Status(EFAULT, "pathname: " + up.status().message());
  if (up->size() >= PATH_MAX) return Status(ENAMETOOLONG, "pathname is longer than PATH_MAX");
  const std::string& p = *up;
  const std::string fs = runtime_path("fs");
  if (fs.empty()) return Status(EPERM, "there is no runtime dir for the pin tree");
  const size_t n = sizeof kBpffs - 1;
  if (p.compare(0, n, kBpffs) == 0 && (p.size() == n || p[n] == '/')) return fs + p.substr(n);
  if (p.compare(0, fs.size(), fs) == 0 && (p.size() == fs.size() || p[fs.size()] == '/')) return p;
  return Status(EPERM, "'" + p + "' is not in the pin tree (" + fs + ", or " + kBpffs + ")");
}

// The object behind fd, whatever its kind (bpf_fd_probe_obj).
Result<std::shared_ptr<Object>> any_object(int fd) {
  struct stat st {};
  if (fstat(fd, &st) != 0) return Status(EBADF, "bpf_fd is not open");
  for (Kind k : {Kind::Map, Kind::Prog, Kind::Btf, Kind::Link})
    if (auto o = Objects::get().by_fd(fd, k); o) return *o;
  return Status(EINVAL, "bpf_fd is not a bpf object");
}

// A pinned program holds its maps and BTF, a pinned map its BTF, beyond the processes that have
// them: their files are linked under ids/holds/<prog|map>-<id>/ (removed when the holder's id is
// found dead). Objects whose storage is a memfd cannot be linked: they live while a process
// holds them.
void hold(Kind holder, uint32_t holder_id, int file_fd, const std::string& name) {
  const std::string holds = runtime_path("ids");
  if (holds.empty() || file_fd < 0) return;
  const std::string dir = holds + "/holds/" + kind_name(holder) + "-" + std::to_string(holder_id);
  mkdir((holds + "/holds").c_str(), 0700);
  mkdir(dir.c_str(), 0700);
  const std::string src = "/proc/self/fd/" + std::to_string(file_fd);
  const std::string dst = dir + "/" + name;
  linkat(AT_FDCWD, src.c_str(), AT_FDCWD, dst.c_str(), AT_SYMLINK_FOLLOW);
}

void hold_map_btf(Kind holder, uint32_t holder_id, uint32_t map_id) {
  auto m = Objects::get().by_id(Kind::Map, map_id);
  if (m && m->map_btf.btf)
    hold(holder, holder_id, m->map_btf.btf->fd, "btf-" + std::to_string(m->map_btf.btf_id));
}

// What a program holds, under the holder's directory (the program's own, or a link's).
void hold_prog_objects(Kind holder, uint32_t holder_id, const Prog& p) {
  for (size_t i = 0; i < p.program.maps.size() && i < p.map_ids.size(); i++) {
    hold(holder, holder_id, p.program.maps[i]->memfd(), "map-" + std::to_string(p.map_ids[i]));
    hold_map_btf(holder, holder_id, p.map_ids[i]);
  }
  for (size_t i = 0; i < p.bound_maps.size(); i++) {
    hold(holder, holder_id, p.bound_maps[i]->memfd(), "map-" + std::to_string(p.bound_map_ids[i]));
    hold_map_btf(holder, holder_id, p.bound_map_ids[i]);
  }
  if (p.btf) hold(holder, holder_id, p.btf->fd, "btf-" + std::to_string(p.btf_id));
}

void hold_objects(const Object& o) {
  if (o.prog) {
    hold_prog_objects(Kind::Prog, o.id, *o.prog);
  } else if (o.link && o.link->prog) {  // a pinned link holds its program and what it holds
    const Prog& p = *o.link->prog;
    hold(Kind::Link, o.id, p.fd, "prog-" + std::to_string(p.id));
    hold_prog_objects(Kind::Link, o.id, p);
  } else if (o.kind == Kind::Map && o.map_btf.btf) {
    hold(Kind::Map, o.id, o.map_btf.btf->fd, "btf-" + std::to_string(o.map_btf.btf_id));
  }
}

// path_permission(ACC_MODE(flags)) as generic_permission: the owner's bits when the caller owns
// the pin, else the group's when it is in the pin's group, else the others'; the DAC capabilities
// override (privilege.hpp). A pin is a hard link of its object's file, so its mode is the object's
// (shared by all the object's pins): chmod of one pin is chmod of them all, unlike bpffs.
Status pin_permission(const struct stat& st, int mode) {
  const bool r = mode != O_WRONLY, w = mode != O_RDONLY;
  if (caller_dac_override(w)) return Status::ok();
  unsigned bits = st.st_mode & 07;
  if (st.st_uid == geteuid()) {
    bits = (st.st_mode >> 6) & 07;
  } else {
    bool in_group = st.st_gid == getegid();
    if (!in_group) {
      gid_t groups[256];
      const int n = getgroups(256, groups);
      for (int i = 0; i < n && !in_group; i++) in_group = groups[i] == st.st_gid;
    }
    if (in_group) bits = (st.st_mode >> 3) & 07;
  }
  if ((r && !(bits & 04)) || (w && !(bits & 02)))
    return Status(EACCES, std::string("the pin's mode does not allow opening it for ") +
                              (r && w ? "reading and writing"
                               : r    ? "reading"
                                      : "writing"));
  return Status::ok();
}

}  // namespace

void hold_link_program(uint32_t link_id, const Prog& p) {
  const std::string ids = runtime_path("ids");
  if (ids.empty()) return;
  const std::string dir = ids + "/holds/link-" + std::to_string(link_id);
  if (DIR* d = opendir(dir.c_str())) {  // what the link's previous program held
    while (dirent* e = readdir(d))
      if (e->d_name[0] != '.') unlinkat(dirfd(d), e->d_name, 0);
    closedir(d);
  }
  hold(Kind::Link, link_id, p.fd, "prog-" + std::to_string(p.id));
  hold_prog_objects(Kind::Link, link_id, p);
}

CmdResult obj_pin(Call& c) {
  const union bpf_attr& a = c.attr.a;
  if (a.file_flags) return Status(EINVAL, "OBJ_PIN takes no file_flags");
  auto obj = any_object(int(a.bpf_fd));
  if (!obj) return obj.status();
  if ((*obj)->kind == Kind::Btf) return Status(EPERM, "BTF objects cannot be pinned");
  auto path = tree_path(a.pathname);
  if (!path) return path.status();
  const std::string src = "/proc/self/fd/" + std::to_string((*obj)->file_fd());
  if (linkat(AT_FDCWD, src.c_str(), AT_FDCWD, path->c_str(), AT_SYMLINK_FOLLOW) != 0) {
    const int err = errno;
    if (err == EEXIST || err == ENOENT || err == ENOTDIR || err == EACCES)
      return Status(err, "cannot pin at " + *path + ": " + strerror(err));
    // A memfd cannot be linked: the object's storage is not in the runtime dir.
    return Status(EPERM, "cannot pin at " + *path + ": the object's storage cannot be linked (" +
                             strerror(err) + ")");
  }
  hold_objects(**obj);
  return 0L;
}

CmdResult obj_get(Call& c) {
  const union bpf_attr& a = c.attr.a;
  if (a.bpf_fd || (a.file_flags & ~uint32_t(BPF_F_RDONLY | BPF_F_WRONLY)))
    return Status(EINVAL, "OBJ_GET takes no bpf_fd and only BPF_F_RDONLY/BPF_F_WRONLY");
  if ((a.file_flags & BPF_F_RDONLY) && (a.file_flags & BPF_F_WRONLY))
    return Status(EINVAL, "BPF_F_RDONLY and BPF_F_WRONLY are mutually exclusive");
  auto path = tree_path(a.pathname);
  if (!path) return path.status();
  const int mode = (a.file_flags & BPF_F_RDONLY)   ? O_RDONLY
                   : (a.file_flags & BPF_F_WRONLY) ? O_WRONLY
                                                   : O_RDWR;
  const int pfd = open(path->c_str(), O_PATH | O_CLOEXEC | O_NOFOLLOW);
  if (pfd < 0) return Status(errno, "cannot open " + *path + ": " + strerror(errno));
  struct stat st {};
  if (fstat(pfd, &st) != 0 || !S_ISREG(st.st_mode)) {
    close(pfd);
    return Status(EACCES, *path + " is not a pinned bpf object");
  }
  if (Status perm = pin_permission(st, mode); !perm) {
    close(pfd);
    return Status(EACCES, *path + ": " + perm.message());
  }
  const int fd = open(("/proc/self/fd/" + std::to_string(pfd)).c_str(), mode | O_CLOEXEC);
  const int err = errno;
  close(pfd);
  if (fd < 0) return Status(err, "cannot open " + *path + ": " + strerror(err));
  // Check it is one of ours now, as the kernel's bpf_inode_type().
  for (Kind k : {Kind::Map, Kind::Prog, Kind::Link})
    if (Objects::get().by_fd(fd, k)) return long(fd);
  close(fd);
  return Status(EACCES, *path + " is not a pinned bpf object");
}

}  // namespace bpfbox::sys
