// bpfbox_bpf(): the attr rules, then one table entry per command: its function and the end of
// its last attr field (the kernel's CMD_LAST_FIELD for CHECK_ATTR). Commands bpfbox does not
// serve are EINVAL with a message; nothing goes to the kernel.
#include "bpfbox/bpf.h"

#include <cerrno>
#include <cstddef>
#include <string>

#include "sys/commands.hpp"
#include "sys/runtime.hpp"
#include "sys/user_mem.hpp"
#include "sys/user_refs.hpp"

namespace bpfbox::sys {

namespace {

#define END(field) (offsetof(union bpf_attr, field) + sizeof(((union bpf_attr*)nullptr)->field))

struct CmdOps {
  const char* name = nullptr;
  CmdResult (*fn)(Call&) = nullptr;
  size_t last_end = 0;
};

constexpr int kMaxCmd = 64;

const CmdOps* ops_table() {
  static CmdOps t[kMaxCmd];
  static bool init = [] {
    auto set = [](int cmd, const char* name, CmdResult (*fn)(Call&), size_t end) {
      t[cmd] = {name, fn, end};
    };
    set(BPF_MAP_CREATE, "BPF_MAP_CREATE", map_create, END(map_extra));
    set(BPF_MAP_LOOKUP_ELEM, "BPF_MAP_LOOKUP_ELEM", map_lookup_elem, END(flags));
    set(BPF_MAP_UPDATE_ELEM, "BPF_MAP_UPDATE_ELEM", map_update_elem, END(flags));
    set(BPF_MAP_DELETE_ELEM, "BPF_MAP_DELETE_ELEM", map_delete_elem, END(key));
    set(BPF_MAP_GET_NEXT_KEY, "BPF_MAP_GET_NEXT_KEY", map_get_next_key, END(next_key));
    set(BPF_MAP_LOOKUP_AND_DELETE_ELEM, "BPF_MAP_LOOKUP_AND_DELETE_ELEM",
        map_lookup_and_delete_elem, END(flags));
    set(BPF_MAP_FREEZE, "BPF_MAP_FREEZE", map_freeze, END(map_fd));
    set(BPF_MAP_LOOKUP_BATCH, "BPF_MAP_LOOKUP_BATCH", map_lookup_batch, END(batch.flags));
    set(BPF_MAP_LOOKUP_AND_DELETE_BATCH, "BPF_MAP_LOOKUP_AND_DELETE_BATCH",
        map_lookup_and_delete_batch, END(batch.flags));
    set(BPF_MAP_UPDATE_BATCH, "BPF_MAP_UPDATE_BATCH", map_update_batch, END(batch.flags));
    set(BPF_MAP_DELETE_BATCH, "BPF_MAP_DELETE_BATCH", map_delete_batch, END(batch.flags));
    set(BPF_PROG_LOAD, "BPF_PROG_LOAD", prog_load, kOffLogTrueSize + 4);
    set(BPF_OBJ_PIN, "BPF_OBJ_PIN", obj_pin, END(file_flags));
    set(BPF_OBJ_GET, "BPF_OBJ_GET", obj_get, END(file_flags));
    set(BPF_PROG_TEST_RUN, "BPF_PROG_TEST_RUN", prog_test_run, END(test.batch_size));
    set(BPF_PROG_GET_NEXT_ID, "BPF_PROG_GET_NEXT_ID", prog_get_next_id, END(next_id));
    set(BPF_MAP_GET_NEXT_ID, "BPF_MAP_GET_NEXT_ID", map_get_next_id, END(next_id));
    set(BPF_BTF_GET_NEXT_ID, "BPF_BTF_GET_NEXT_ID", btf_get_next_id, END(next_id));
    set(BPF_LINK_GET_NEXT_ID, "BPF_LINK_GET_NEXT_ID", link_get_next_id, END(next_id));
    set(BPF_PROG_GET_FD_BY_ID, "BPF_PROG_GET_FD_BY_ID", prog_get_fd_by_id, END(prog_id));
    set(BPF_MAP_GET_FD_BY_ID, "BPF_MAP_GET_FD_BY_ID", map_get_fd_by_id, END(open_flags));
    set(BPF_BTF_GET_FD_BY_ID, "BPF_BTF_GET_FD_BY_ID", btf_get_fd_by_id, END(btf_id));
    set(BPF_LINK_GET_FD_BY_ID, "BPF_LINK_GET_FD_BY_ID", link_get_fd_by_id, END(link_id));
    set(BPF_OBJ_GET_INFO_BY_FD, "BPF_OBJ_GET_INFO_BY_FD", obj_get_info_by_fd, END(info.info));
    set(BPF_BTF_LOAD, "BPF_BTF_LOAD", btf_load, kOffBtfLogTrueSize + 4);
    set(BPF_ENABLE_STATS, "BPF_ENABLE_STATS", enable_stats, END(enable_stats.type));
    set(BPF_LINK_CREATE, "BPF_LINK_CREATE", link_create, END(link_create.flags));
    set(BPF_LINK_UPDATE, "BPF_LINK_UPDATE", link_update, END(link_update.old_prog_fd));
    set(BPF_LINK_DETACH, "BPF_LINK_DETACH", link_detach, END(link_detach.link_fd));
    set(BPF_PROG_BIND_MAP, "BPF_PROG_BIND_MAP", prog_bind_map, END(prog_bind_map.flags));
    return true;
  }();
  (void)init;
  return t;
}

#undef END

thread_local std::string t_last_error;

int fail(int err, std::string msg) {
  t_last_error = std::move(msg);
  errno = err;
  return -1;
}

}  // namespace

}  // namespace bpfbox::sys

extern "C" int bpfbox_bpf(int cmd, union bpf_attr* attr, unsigned int size) {
  using namespace bpfbox::sys;
  t_last_error.clear();
  // The caller's frames start above this one's return address.
  struct CallerStack {
    explicit CallerStack(uint64_t low) { set_caller_stack(low); }
    ~CallerStack() { set_caller_stack(0); }
  } caller_stack(reinterpret_cast<uintptr_t>(__builtin_frame_address(0)) + 2 * sizeof(void*));
  runtime_dir();  // before any object is made: maps then keep their storage in it
  Call c;
  c.uattr = attr;
  c.size = size;
  if (bpfbox::Status st = copy_attr_in(attr, size, c.attr); !st)
    return fail(st.err(), st.message());
  const CmdOps* ops = cmd >= 0 && cmd < kMaxCmd ? &ops_table()[cmd] : nullptr;
  if (!ops || !ops->fn)
    return fail(EINVAL, "bpf command " + std::to_string(cmd) + " is not served by bpfbox");
  if (!unused_zero(c.attr, ops->last_end))
    return fail(EINVAL, std::string(ops->name) + ": attr fields past the command's are not zero");
  CmdResult r = ops->fn(c);
  if (!r) return fail(r.status().err(), std::string(ops->name) + ": " + r.status().message());
  // A map fd the caller gets is a user reference (the kernel's usercnt); OBJ_GET may be a map's.
  if (cmd == BPF_MAP_CREATE || cmd == BPF_MAP_GET_FD_BY_ID || cmd == BPF_OBJ_GET)
    hold_user_ref(int(*r));
  return int(*r);
}

extern "C" const char* bpfbox_bpf_last_error(void) {
  return bpfbox::sys::t_last_error.c_str();
}
