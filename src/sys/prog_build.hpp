// Building a program's executable: for PROG_LOAD, and again in a process that adopted the program
// from another one (its file holds the instructions with map ids; the maps are opened by id and
// the program is verified and compiled here, as the loading process did).
#pragma once

#include "bpfbox/status.hpp"
#include "sys/prog.hpp"

namespace bpfbox::sys {

// Gives an adopted program its executable (once; later calls return at once).
Status build_adopted(Prog& prog);

}  // namespace bpfbox::sys
