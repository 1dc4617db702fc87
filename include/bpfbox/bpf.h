/* The bpf(2) system call, served by bpfbox in user space: the same commands, union bpf_attr, size
 * rules and errno as the kernel's (see docs/ARCHITECTURE.md, "sys"). Objects are real file
 * descriptors: close(), dup(), fork() and SCM_RIGHTS behave as with the kernel's, and pinned
 * objects live in a directory tree that outlives the process (the runtime dir). Nothing is
 * forwarded to the kernel. A C header, so the future LD_PRELOAD shim and C programs can use it. */
#ifndef BPFBOX_BPF_H
#define BPFBOX_BPF_H

#include <linux/bpf.h>
#include <stddef.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

/* bpf(cmd, attr, size): the result as the system call's (an fd, 0, or a count), or -1 with errno
 * set. A size smaller than union bpf_attr is zero-extended; bytes past what bpfbox knows must be
 * zero (E2BIG); fields the command does not use must be zero (EINVAL). */
int bpfbox_bpf(int cmd, union bpf_attr* attr, unsigned int size);

/* Why the last failing bpfbox_bpf() call of this thread failed, in words (the kernel only has
 * errno and, for loads, the verifier log). Empty after a success. */
const char* bpfbox_bpf_last_error(void);

/* The runtime directory shared by every process using bpfbox: ids, and the pin tree under
 * "<dir>/fs" (what /sys/fs/bpf is for the kernel). Default: $BPFBOX_RUNTIME_DIR, else
 * $XDG_RUNTIME_DIR/bpfbox, else /run/bpfbox. Set it before the first bpfbox_bpf() call; 0 or -1
 * with errno. */
int bpfbox_set_runtime_dir(const char* path);

/* mmap() of a map fd, as the kernel's bpf_map_mmap: the map's storage (BPF_F_MMAPABLE arrays, ring
 * buffers), MAP_SHARED only, EPERM for a writable mapping of a frozen map. MAP_FAILED with errno.
 * bpfbox_is_map_fd() tells whether fd is a bpfbox map (what the shim asks before forwarding). */
int bpfbox_is_map_fd(int fd);
void* bpfbox_map_mmap(void* addr, size_t len, int prot, int flags, int fd, off_t off);
const char* bpfbox_runtime_dir(void);

/* The text the kernel shows in /proc/self/fdinfo/<fd> for a bpf object's fd (for the LD_PRELOAD
 * shim): "pos", "flags", "mnt_id", "ino", then bpf_map_show_fdinfo's / bpf_prog_show_fdinfo's /
 * bpf_link_show_fdinfo's lines. Writes at most len bytes, NUL included, and returns the length of
 * the whole text (as snprintf); -1 with errno EBADF (fd not open) or EINVAL (not a bpfbox
 * object). */
int bpfbox_fdinfo(int fd, char* buf, size_t len);

/* bpfbox has no network stack: XDP links (BPF_LINK_CREATE, attach_type BPF_XDP) attach to the
 * virtual interfaces of a table in the runtime dir, ifindex 1 being "lo". This adds an interface
 * (or finds it by name) and returns its ifindex; -1 with errno (EINVAL for a bad name). */
int bpfbox_netdev_add(const char* name);

#ifdef __cplusplus
}
#endif

#endif /* BPFBOX_BPF_H */
