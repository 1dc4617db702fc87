// The file that carries a program (see prog.hpp): written once at load, read by processes that
// adopt the program (OBJ_GET, a passed fd, GET_FD_BY_ID) to answer bpf_prog_info.
#pragma once

#include <memory>

#include "bpfbox/status.hpp"
#include "sys/prog.hpp"

namespace bpfbox::sys {

// Creates the program's file (O_TMPFILE in the runtime dir's objs/, so it can be pinned by a
// hard link; a memfd when there is no runtime dir) with everything but the id, into prog.fd.
Status create_prog_file(Prog& prog);
// Writes the id once allocated.
void write_prog_file_id(const Prog& prog);
// A program from its file: everything bpf_prog_info reports; no executable yet (build_adopted).
Result<std::shared_ptr<Prog>> read_prog_file(int fd);

}  // namespace bpfbox::sys
