#include "sys/objects.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <set>
#include <string>

#include "sys/btf.hpp"
#include "sys/find_file.hpp"
#include "sys/link.hpp"
#include "sys/perf_events.hpp"
#include "sys/prog_build.hpp"
#include "sys/prog_file.hpp"
#include "sys/user_refs.hpp"

namespace bpfbox::sys {

namespace {

constexpr char kMapMagic[8] = {'B', 'F', 'B', 'O', 'X', 'M', 'A', 'P'};  // maps' MapHeader

std::string proc_fd(int fd) {
  return "/proc/self/fd/" + std::to_string(fd);
}

}  // namespace

Prog::~Prog() {
  if (fd >= 0) close(fd);
}

int Object::file_fd() const {
  if (map) return map->memfd();
  if (auto m = map_weak.lock()) return m->memfd();
  if (prog) return prog->fd;
  if (btf) return btf->fd;
  if (auto b = btf_weak.lock()) return b->fd;
  if (link) return link->fd;
  return -1;
}

bool fd_can_read(int fd) {
  int fl = fcntl(fd, F_GETFL);
  return fl >= 0 && (fl & O_ACCMODE) != O_WRONLY;
}
bool fd_can_write(int fd) {
  int fl = fcntl(fd, F_GETFL);
  return fl >= 0 && (fl & O_ACCMODE) != O_RDONLY;
}

Objects& Objects::get() {
  static Objects* table = new Objects();
  return *table;
}

Result<std::shared_ptr<Object>> Objects::by_fd(int fd, Kind kind, int wrong_kind) {
  struct stat st {};
  if (fd < 0 || fstat(fd, &st) != 0)
    return Status(EBADF, "fd " + std::to_string(fd) + " is not open");
  InodeKey key{st.st_dev, st.st_ino};
  {
    std::lock_guard g(mu_);
    auto it = by_inode_.find(key);
    if (it != by_inode_.end()) {
      std::shared_ptr<Object> obj = it->second;
      if (obj->kind != kind)
        return Status(wrong_kind, "fd " + std::to_string(fd) + " is a bpf " + kind_name(obj->kind) +
                                      ", not a " + kind_name(kind));
      if (kind == Kind::Map && !obj->map) obj->map = obj->map_weak.lock();
      if (kind == Kind::Btf && !obj->btf) obj->btf = obj->btf_weak.lock();
      if (obj->file_fd() >= 0) return obj;
      by_inode_.erase(it);  // the process's copy is gone; adopt the file again
    }
  }
  return adopt(fd, key, kind, wrong_kind);
}

Result<std::shared_ptr<Object>> Objects::adopt(int fd, InodeKey key, Kind kind, int wrong_kind) {
  const std::string not_kind =
      "fd " + std::to_string(fd) + " is not a bpf " + std::string(kind_name(kind));
  struct stat st {};
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) return Status(wrong_kind, not_kind);
  // A new open file description: the caller's fd may be write-only, and maps need read-write.
  int rfd = open(proc_fd(fd).c_str(), O_RDWR | O_CLOEXEC);
  if (rfd < 0) rfd = open(proc_fd(fd).c_str(), O_RDONLY | O_CLOEXEC);
  if (rfd < 0) return Status(wrong_kind, not_kind);
  char magic[8] = {};
  if (pread(rfd, magic, sizeof magic, 0) != ssize_t(sizeof magic)) {
    close(rfd);
    return Status(wrong_kind, not_kind);
  }
  auto obj = std::make_shared<Object>();
  obj->key = key;
  if (std::memcmp(magic, kMapMagic, 8) == 0 && kind == Kind::Map) {
    auto m = maps::Map::attach(rfd, this);
    close(rfd);
    if (!m) return Status(wrong_kind, not_kind + ": " + m.status().message());
    obj->kind = Kind::Map;
    obj->map = *m;
    obj->map_weak = obj->map;
  } else if (std::memcmp(magic, kProgMagic, 8) == 0 && kind == Kind::Prog) {
    auto p = read_prog_file(rfd);
    if (!p) {
      close(rfd);
      return Status(wrong_kind, not_kind + ": " + p.status().message());
    }
    obj->kind = Kind::Prog;
    obj->prog = *p;
  } else if (std::memcmp(magic, kBtfMagic, 8) == 0 && kind == Kind::Btf) {
    auto b = read_btf_file(rfd);
    if (!b) {
      close(rfd);
      return Status(wrong_kind, not_kind + ": " + b.status().message());
    }
    obj->kind = Kind::Btf;
    obj->btf = *b;
    obj->btf_weak = obj->btf;
  } else if (std::memcmp(magic, kLinkMagic, 8) == 0 && kind == Kind::Link) {
    auto l = read_link_file(rfd);
    if (!l) {
      close(rfd);
      return Status(wrong_kind, not_kind + ": " + l.status().message());
    }
    obj->kind = Kind::Link;
    obj->link = *l;
  } else {
    close(rfd);
    return Status(wrong_kind, not_kind);
  }
  obj->id = id_of_inode(kind, key);
  if (obj->prog) obj->prog->id = obj->id;
  hold_adopted(*obj);
  std::lock_guard g(mu_);
  auto [it, inserted] = by_inode_.emplace(key, obj);
  if (!inserted) {  // another thread adopted it meanwhile
    if (it->second->kind == Kind::Map && !it->second->map)
      it->second->map = it->second->map_weak.lock();
    if (it->second->file_fd() >= 0) return it->second;
    it->second = obj;
  }
  return obj;
}

// What the adopted object holds in the process that made it, it holds here too (the kernel's
// references live with the object, not with a process): a map its BTF, a link its program. Each
// is opened by id while it is still alive somewhere and kept through its shared_ptr, whose file
// fd keeps it alive for every process after its maker exits.
void Objects::hold_adopted(Object& obj) {
  auto adopt_by_id = [this](Kind k, uint32_t id) -> std::shared_ptr<Object> {
    if (!id) return nullptr;
    if (auto o = by_id(k, id)) return o;
    auto fd = open_by_id(k, id, k == Kind::Btf ? O_RDONLY : O_RDWR);
    if (!fd) return nullptr;
    auto o = by_fd(*fd, k);
    close(*fd);
    return o ? *o : nullptr;
  };
  if (obj.kind == Kind::Map && obj.id) {
    MapBtf mb = load_map_btf(obj.id);
    if (auto b = adopt_by_id(Kind::Btf, mb.btf_id)) {
      mb.btf = b->btf ? b->btf : b->btf_weak.lock();
      obj.map_btf = mb;
    }
  } else if (obj.kind == Kind::Link && obj.link && !obj.link->prog) {
    auto h = obj.link->header();
    if (!h) return;
    if (auto p = adopt_by_id(Kind::Prog, h->prog_id)) obj.link->prog = p->prog;
  }
}

std::shared_ptr<Object> Objects::by_id(Kind kind, uint32_t id) {
  std::lock_guard g(mu_);
  for (auto& [key, obj] : by_inode_)
    if (obj->kind == kind && obj->id == id && obj->file_fd() >= 0) return obj;
  return nullptr;
}

Result<int> Objects::new_fd(const Object& obj, int open_flags) {
  int ffd = obj.file_fd();
  if (ffd < 0) return Status(ENOENT, "the object is gone");
  int fd = open(proc_fd(ffd).c_str(), (open_flags & O_ACCMODE) | O_CLOEXEC);
  if (fd < 0)
    return Status(errno, std::string("cannot open the object's file: ") + strerror(errno));
  return fd;
}

Result<int> Objects::install(std::shared_ptr<Object> obj, int open_flags) {
  struct stat st {};
  if (fstat(obj->file_fd(), &st) != 0) return Status(errno, "object file");
  obj->key = {st.st_dev, st.st_ino};
  obj->id = alloc_id(obj->kind, obj->key);
  if (obj->prog) obj->prog->id = obj->id;
  if (obj->map) {
    obj->map_weak = obj->map;
  }
  if (obj->btf) obj->btf_weak = obj->btf;
  auto fd = new_fd(*obj, open_flags);
  if (!fd) return fd;
  std::lock_guard g(mu_);
  by_inode_[obj->key] = std::move(obj);
  return fd;
}

void Objects::sweep() {
  count_fd_walk();
  // The inodes the process's fds name, the objects' own fds excepted.
  std::set<int> internal;
  {
    std::lock_guard g(mu_);
    for (auto& [key, obj] : by_inode_) internal.insert(obj->file_fd());
  }
  std::set<InodeKey> named;
  if (DIR* d = opendir("/proc/self/fd")) {
    const int self = dirfd(d);
    while (dirent* e = readdir(d)) {
      if (e->d_name[0] < '0' || e->d_name[0] > '9') continue;
      int fd = std::atoi(e->d_name);
      if (fd == self || internal.count(fd)) continue;
      struct stat st {};
      if (fstat(fd, &st) == 0) named.insert({st.st_dev, st.st_ino});
    }
    closedir(d);
  }
  std::vector<std::shared_ptr<void>> graveyard;         // destroyed outside the lock (unref locks)
  std::vector<std::shared_ptr<maps::Map>> prog_arrays;  // no fd of ours
  {
    std::lock_guard g(mu_);
    for (auto it = by_inode_.begin(); it != by_inode_.end();) {
      Object& o = *it->second;
      if (o.kind == Kind::Map && !named.count(it->first)) {
        auto m = o.map ? o.map : o.map_weak.lock();
        if (m && m->type() == BPF_MAP_TYPE_PROG_ARRAY) prog_arrays.push_back(m);
      }
      if (!named.count(it->first) && o.holders == 0) {
        if (o.map) graveyard.push_back(std::move(o.map));
        if (o.prog) graveyard.push_back(std::move(o.prog));
        if (o.btf) graveyard.push_back(std::move(o.btf));
        if (o.link) graveyard.push_back(std::move(o.link));
        o.map.reset();
        o.prog.reset();
        o.btf.reset();
        o.link.reset();
      }
      // A map a program still holds stays findable by its id.
      if (!o.map && !o.prog && !o.btf && !o.link && o.map_weak.expired() && o.btf_weak.expired())
        it = by_inode_.erase(it);
      else
        ++it;
    }
  }
  graveyard.clear();
  for (auto& m : prog_arrays) release_prog_array(*m);
}

void Objects::release_prog_array(maps::Map& m) {
  const int own = m.memfd();
  if (has_user_fds(own)) return;
  struct stat st {};
  if (fstat(own, &st) != 0 || map_has_users(own, {st.st_dev, st.st_ino})) return;
  for (uint32_t i = 0; i < m.max_entries(); i++) (void)m.delete_elem(&i);
}

uint32_t Objects::id_of_map(const maps::Map* m) {
  std::lock_guard g(mu_);
  for (auto& [key, obj] : by_inode_)
    if (obj->kind == Kind::Map && obj->map_weak.lock().get() == m) return obj->id;
  return 0;
}

size_t Objects::live_count(Kind kind) {
  std::lock_guard g(mu_);
  size_t n = 0;
  for (auto& [key, obj] : by_inode_) n += obj->kind == kind && obj->file_fd() >= 0;
  return n;
}

Result<maps::ObjectRef> Objects::ref_prog_fd(int fd) {
  auto obj = by_fd(fd, Kind::Prog);
  if (!obj) return obj.status();
  if ((*obj)->prog && !(*obj)->prog->exe) {
    if (Status st = build_adopted(*(*obj)->prog); !st) return st;
  }
  std::lock_guard g(mu_);
  Object& o = **obj;
  if (!o.prog || !o.prog->exe) return Status(EINVAL, "the program cannot run here");
  ++o.holders;
  maps::ObjectRef r;
  r.kind = maps::ObjectKind::Prog;
  r.id = o.id;
  r.prog_type = o.prog->type;
  r.exec = o.prog->exe.get();
  return r;
}

Result<maps::ObjectRef> Objects::ref_map_fd(int fd) {
  auto obj = by_fd(fd, Kind::Map);
  if (!obj) return obj.status();
  std::lock_guard g(mu_);
  Object& o = **obj;
  ++o.holders;
  maps::ObjectRef r;
  r.kind = maps::ObjectKind::Map;
  r.id = o.id;
  r.map = o.map.get();
  return r;
}

Result<maps::ObjectRef> Objects::ref_id(maps::ObjectKind kind, uint32_t id) {
  if (kind == maps::ObjectKind::PerfEvent)
    return Status(ENOENT, "perf events are not shared across processes");
  const Kind k = kind == maps::ObjectKind::Prog ? Kind::Prog : Kind::Map;
  // A cycle (a prog array holding its own caller) goes through the program's build, which
  // build_adopted breaks: that slot stays empty to this process.
  auto fd = open_by_id(k, id, k == Kind::Prog ? O_RDONLY : O_RDWR);
  if (!fd) return fd.status();
  Result<maps::ObjectRef> r = k == Kind::Prog ? ref_prog_fd(*fd) : ref_map_fd(*fd);
  close(*fd);  // the map's reference (holders) keeps the object
  return r;
}

// The BPF output events perf_event_open made through bpfbox (the shim): perf_events.hpp.
Result<maps::ObjectRef> Objects::ref_perf_event_fd(int fd) {
  struct stat st {};
  if (fd < 0 || fstat(fd, &st) != 0) return Status(EBADF, "fd is not open");
  return PerfEvents::get().ref(fd);
}

void Objects::unref(const maps::ObjectRef& ref) {
  if (ref.kind == maps::ObjectKind::PerfEvent) return PerfEvents::get().unref(ref);
  const Kind kind = ref.kind == maps::ObjectKind::Prog ? Kind::Prog : Kind::Map;
  std::lock_guard g(mu_);
  for (auto& [key, obj] : by_inode_)
    if (obj->kind == kind && obj->id == ref.id && obj->holders > 0) {
      --obj->holders;
      return;
    }
}

}  // namespace bpfbox::sys
