// The kernel's map->usercnt without a close() hook: every fd bpf() hands its caller (MAP_CREATE,
// *_GET_FD_BY_ID, OBJ_GET) holds an open-file-description lock (F_OFD_SETLK) on a range past any
// data of the object's file. The kernel drops such a lock when the last fd sharing that open file
// description is closed, in whichever process (dup, fork and SCM_RIGHTS share it), so one
// F_OFD_GETLK from the object's own fd, which holds none, says whether any user fd is left: O(1),
// where a scan of every process's fds was not. A pin (a hard link in the pin tree) is the other
// user reference (map_has_users, find_file.hpp).
#pragma once

namespace bpfbox::sys {

// Takes the user reference lock on an fd bpf() returns (readable fds share one byte; a write-only
// fd, which cannot take a read lock, write-locks a byte of its own).
void hold_user_ref(int fd);

// Whether an fd other than the open file description of `own_fd` holds a user reference.
bool has_user_fds(int own_fd);

}  // namespace bpfbox::sys
