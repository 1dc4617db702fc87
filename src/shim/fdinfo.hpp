// /proc/self/fdinfo/N of a bpfbox fd, in the kernel's text: the generic lines (pos, flags,
// mnt_id, ino) then the object's (bpf_map_show_fdinfo, bpf_prog_show_fdinfo,
// bpf_btf_show_fdinfo). bpftool reads `frozen` and `memlock` there, libbpf the map's attributes
// when it reuses a pinned map.
#pragma once

#include <string>

#include "shim/object_kind.hpp"

namespace bpfbox::shim {

// The text for fd, of the given kind (not None); empty if the object cannot be read.
std::string fdinfo_text(int fd, FdKind kind);

}  // namespace bpfbox::shim
