// Finding an object's file from its inode, in any process: an open fd of a process sharing the
// runtime dir (/proc/<pid>/fd/<n>, filtered by the names bpfbox's files have: "/memfd:bpfbox-..."
// or the runtime dir's objs/), else a pin in the pin tree. This is what keeps an id alive: an
// object no process has open and nothing pins is gone, as in the kernel.
#pragma once

#include <cstdint>
#include <set>
#include <string>

#include "bpfbox/status.hpp"
#include "sys/ids.hpp"

namespace bpfbox::sys {

// A path open() reopens the file by, or "" when the object is gone everywhere.
std::string find_object_file(InodeKey key);

// Every bpfbox object file open in some process or pinned (one pass over /proc/*/fd and the pin
// tree, and the maps live pinned programs hold), for walks over many ids.
std::set<InodeKey> live_inodes();

// The kernel's map->usercnt > 0: an fd bpf() gave a user, in some process, is still open on the
// map's file (user_refs.hpp; asked through `own_fd`, the map's own fd), or a pin in the pin tree
// links it. Programs holding the map, and pinned programs' holds, do not count.
bool map_has_users(int own_fd, InodeKey key);

// How many times this process walked fd tables (its own in Objects::sweep, every process's here):
// tests check that hot commands walk none.
uint64_t fd_walks();
void count_fd_walk();

// A new fd (O_CLOEXEC, `flags`' access mode) on the live object with this id, in this process
// or another; ENOENT when there is none (the stale entry is removed).
Result<int> open_by_id(Kind kind, uint32_t id, int flags);

}  // namespace bpfbox::sys
