// The verifier case corpus (cases/*.txt): programs in the kernel's assembly syntax with what the
// kernel's verifier says about them. Format, one case per block:
//
//   == name                         a unique name: letters, digits, underscores
//   type: xdp                       socket_filter (default) | sched_cls | sched_act | xdp
//   map: array key=4 value=64 entries=1 [flags=N] [spin_lock=OFF] [inner=I]
//                                   the i-th map line is map[fd:i] in the asm; inner=I makes
//                                   the I-th (earlier) map the inner_map_fd of a map-in-map
//   unpriv                          an unprivileged load (default: privileged)
//   prog_flags: 1                   bpf_attr.prog_flags
//   license: MIT                    default GPL
//   func: main global int(ctx)      BTF func_info, one line per subprogram in order: name,
//   func: cb static int(u64, u64)   linkage, prototype (types: test_btf.hpp), [@insn_off]
//   line: 0 prog.c:3 r0 = 0;        BTF line_info: insn_off file:line[:col] source text
//   expect: accept
//   expect: reject EACCES invalid access to map value      errno name, then a log substring
//   ---
//   r0 = 0                          the program until the next "==" line
//   exit
//
// Lines starting with '#' outside a program are comments. Inside a program, ".raw CODE DST SRC OFF
// IMM" is one instruction given field by field (for encodings the assembler refuses to write).
#pragma once

#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

#include <linux/bpf.h>

#include "test_btf.hpp"

namespace bpfbox::corpus {

struct MapSpec {
  uint32_t type = 0;  // BPF_MAP_TYPE_*
  uint32_t key_size = 0, value_size = 0, max_entries = 0, flags = 0;
  int32_t spin_lock_off = -1;  // spin_lock=OFF: a struct bpf_spin_lock at OFF (the value's BTF)
  int32_t inner = -1;          // inner=I: map-in-maps, the case's I-th map as inner_map_fd
};

struct Case {
  std::string name;
  std::string file;  // cases/xxx.txt:line, for messages
  uint32_t prog_type = 0;
  std::vector<MapSpec> maps;
  bool privileged = true;
  uint32_t prog_flags = 0;
  std::string license = "GPL";
  std::vector<testsupport::FuncDecl> funcs;  // BTF func_info (none: the program has no BTF)
  std::vector<testsupport::LineDecl> lines;  // BTF line_info
  bool accept = true;
  int err = 0;          // the errno of a rejection
  std::string message;  // a substring of the log of a rejection
  std::string asm_text;
};

// Every case of every cases/*.txt under dir, in file and then text order. Throws
// std::runtime_error naming the file and line of a malformed case.
std::vector<Case> load_corpus(const std::string& dir);

// The case's program: its text through isa::assemble(), with the ".raw" lines in place.
// Throws std::runtime_error with the case's file and line on an assembly error.
std::vector<struct bpf_insn> assemble_case(const Case& c);

// GoogleTest prints a case by its name.
inline void PrintTo(const Case& c, std::ostream* os) {
  *os << c.name;
}

// "EACCES" -> EACCES; 0 for an unknown name.
int errno_by_name(const std::string& name);
const char* errno_name(int err);

}  // namespace bpfbox::corpus
