// The process's view of bpf objects: real fds on files that carry the objects (a map's arena, a
// program's file), found by (st_dev, st_ino), so dup(), fork() and SCM_RIGHTS need nothing from
// bpfbox. An object of this process stays alive while an fd of the process names its file, a
// holder (a map holding it through the ObjectTable, a program holding a map) keeps it, or it is
// pinned; sweep() drops the rest, so an object dies with its last fd, pin or holder as in the
// kernel. A file another process made (passed fd, OBJ_GET, GET_FD_BY_ID) is adopted on first
// use: its header tells the kind, the registry its id.
#pragma once

#include <fcntl.h>
#include <sys/types.h>

#include <map>
#include <memory>
#include <mutex>
#include <vector>

#include "bpfbox/maps.hpp"
#include "sys/ids.hpp"
#include "sys/map_btf.hpp"
#include "sys/prog.hpp"

namespace bpfbox::sys {

struct Btf;
struct Link;

struct Object {
  Kind kind = Kind::Map;
  uint32_t id = 0;
  InodeKey key{};
  std::shared_ptr<maps::Map> map;     // held while an fd or holder names the map
  std::weak_ptr<maps::Map> map_weak;  // a program may hold the map after its fds are gone
  std::shared_ptr<Prog> prog;
  std::shared_ptr<Btf> btf;
  std::weak_ptr<Btf> btf_weak;
  std::shared_ptr<Link> link;  // a program or map may hold the BTF after its fds are gone
  MapBtf map_btf;              // a map's BTF ids (and, in the creating process, the BTF it holds)
  int holders = 0;             // references maps hold through the ObjectTable
  // The process's own fd on the object's file (-1 when the object is gone from the process).
  int file_fd() const;
};

class Objects final : public maps::ObjectTable {
 public:
  static Objects& get();  // the process's table (never destroyed: maps may outlive main)

  // The object behind fd: EBADF when fd is not open, `wrong_kind` when it is another file.
  Result<std::shared_ptr<Object>> by_fd(int fd, Kind kind, int wrong_kind = EINVAL);
  // The object with this id in this process, if it is alive here.
  std::shared_ptr<Object> by_id(Kind kind, uint32_t id);
  // Registers a new object (its file fd already set in it), allocates its id, and returns a new
  // fd on its file opened with `open_flags` (O_RDWR, O_RDONLY, O_WRONLY).
  Result<int> install(std::shared_ptr<Object> obj, int open_flags);
  // A new fd (O_CLOEXEC, as the kernel's) on the object's file.
  Result<int> new_fd(const Object& obj, int open_flags);
  // Drops what no fd of the process and no holder keeps (pins keep the file, not the process's
  // copy). Called before walks over ids; cheap enough (one fstat per open fd).
  void sweep();
  // The kernel's bpf_map_put_uref for a program array: emptied (prog_array_map_clear) when no user
  // reference, fd or pin, is left, so tail calls through it fall through. O(1) while a user fd is
  // open anywhere (user_refs.hpp): TEST_RUN asks it for each array its program holds.
  void release_prog_array(maps::Map& m);
  // The id of a map object of this process (0 when unknown).
  uint32_t id_of_map(const maps::Map* m);
  // Objects alive in this process (tests).
  size_t live_count(Kind kind);

  // maps::ObjectTable: prog arrays and map-in-maps hold objects through these.
  Result<maps::ObjectRef> ref_prog_fd(int fd) override;
  Result<maps::ObjectRef> ref_map_fd(int fd) override;
  Result<maps::ObjectRef> ref_perf_event_fd(int fd) override;
  // The object another process stored in a prog array or map-in-map slot, by its id: adopted
  // here (a program verified and compiled again) and held for the map.
  Result<maps::ObjectRef> ref_id(maps::ObjectKind kind, uint32_t id) override;
  void unref(const maps::ObjectRef& ref) override;

 private:
  Objects() = default;
  Result<std::shared_ptr<Object>> adopt(int fd, InodeKey key, Kind kind, int wrong_kind);
  void hold_adopted(Object& obj);

  std::mutex mu_;
  std::map<InodeKey, std::shared_ptr<Object>> by_inode_;
};

// The access mode the fd was opened with gives the kernel's FMODE_CAN_READ / FMODE_CAN_WRITE.
bool fd_can_read(int fd);
bool fd_can_write(int fd);

}  // namespace bpfbox::sys
