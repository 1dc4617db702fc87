// The pin tree seen at /sys/fs/bpf: paths under /sys/fs/bpf name the same place in the runtime
// dir's tree ("<runtime>/fs"), as BPF_OBJ_PIN and BPF_OBJ_GET take them.
#pragma once

#include <string>

namespace bpfbox::shim {

// The tree path for a /sys/fs/bpf path; with `tree_too`, also a path inside the tree itself
// (given as it is); empty for any other path, and for every path while bpfbox itself is calling.
std::string pin_tree_path(const char* path, bool tree_too);

// Whether the open fd is a file or directory inside the tree.
bool fd_in_pin_tree(int fd);

}  // namespace bpfbox::shim
