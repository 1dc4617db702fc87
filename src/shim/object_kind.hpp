// Which bpf object an fd is, for the answers the kernel gives about bpf fds (readlink of
// /proc/self/fd/N, /proc/self/fdinfo/N, close). A bpfbox fd is a regular file whose first eight
// bytes name the object's kind (src/sys: "BFBOXMAP", "BFBOXPRG", "BFBOXBTF"), so the question
// costs an fstat and, for regular files only, one pread.
#pragma once

namespace bpfbox::shim {

enum class FdKind { None, Map, Prog, Btf, Link, PerfEvent };

FdKind fd_kind(int fd);
// The kind a bpfbox object file's first eight bytes name (a pin in the runtime dir's tree).
FdKind kind_of_magic(const char (&magic)[8]);

// What readlink("/proc/self/fd/N") gives for the kernel's file of this kind ("anon_inode:bpf-map",
// "anon_inode:bpf-prog", "anon_inode:bpf-link", "anon_inode:btf", "anon_inode:[perf_event]"), null
// for None.
const char* anon_inode_name(FdKind kind);

}  // namespace bpfbox::shim
