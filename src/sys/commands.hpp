// The bpf() commands bpfbox serves, one function each, grouped by file (map_commands.cpp,
// prog_commands.cpp, info.cpp, id_commands.cpp, pin.cpp, btf_commands.cpp); bpf.cpp dispatches
// through one table that also names each command's last attr field for CHECK_ATTR.
#pragma once

#include <cstdint>
#include <string>

#include "bpfbox/status.hpp"
#include "sys/attr.hpp"

namespace bpfbox::sys {

struct Call {
  Attr attr;              // the caller's attr, zero-extended
  void* uattr = nullptr;  // where results go back
  unsigned int size = 0;
  template <class T>
  void put(size_t off, const T& v) {
    write_back(uattr, size, off, &v, sizeof v);
  }
};

template <class T>
inline T* uptr(uint64_t v) {
  return reinterpret_cast<T*>(static_cast<uintptr_t>(v));
}

using CmdResult = Result<long>;

CmdResult map_create(Call& c);
CmdResult map_lookup_elem(Call& c);
CmdResult map_update_elem(Call& c);
CmdResult map_delete_elem(Call& c);
CmdResult map_get_next_key(Call& c);
CmdResult map_lookup_and_delete_elem(Call& c);
CmdResult map_freeze(Call& c);
CmdResult map_lookup_batch(Call& c);
CmdResult map_lookup_and_delete_batch(Call& c);
CmdResult map_update_batch(Call& c);
CmdResult map_delete_batch(Call& c);

CmdResult prog_load(Call& c);
CmdResult prog_test_run(Call& c);
CmdResult prog_bind_map(Call& c);
CmdResult enable_stats(Call& c);

CmdResult obj_get_info_by_fd(Call& c);

CmdResult prog_get_next_id(Call& c);
CmdResult map_get_next_id(Call& c);
CmdResult btf_get_next_id(Call& c);
CmdResult link_get_next_id(Call& c);
CmdResult prog_get_fd_by_id(Call& c);
CmdResult map_get_fd_by_id(Call& c);
CmdResult btf_get_fd_by_id(Call& c);
CmdResult link_get_fd_by_id(Call& c);

CmdResult obj_pin(Call& c);
CmdResult obj_get(Call& c);

CmdResult btf_load(Call& c);

CmdResult link_create(Call& c);
CmdResult link_update(Call& c);
CmdResult link_detach(Call& c);

// The kernel's /proc/<pid>/fdinfo/<fd> text for a bpf object's fd (bpfbox_fdinfo).
Result<std::string> fdinfo_text(int fd);

// Whether BPF_ENABLE_STATS(BPF_STATS_RUN_TIME) is on (an fd of it open in this process).
bool run_stats_enabled();

}  // namespace bpfbox::sys
