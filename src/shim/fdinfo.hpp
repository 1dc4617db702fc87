// /proc/self/fdinfo/N of a bpfbox fd, in the kernel's text (bpfbox_fdinfo from src/sys: the
// generic pos/flags/mnt_id/ino lines, then bpf_map_show_fdinfo's or bpf_prog_show_fdinfo's).
// bpftool reads `frozen` and `memlock` there, libbpf a map's attributes when it reuses one.
#pragma once

#include <string>

#include "shim/object_kind.hpp"

namespace bpfbox::shim {

// The text for fd, of the given kind (not None); empty if the object cannot be read.
std::string fdinfo_text(int fd, FdKind kind);

}  // namespace bpfbox::shim
