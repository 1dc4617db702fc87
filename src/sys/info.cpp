// BPF_OBJ_GET_INFO_BY_FD: bpf_prog_info, bpf_map_info, bpf_btf_info as the kernel fills them.
// The caller's info_len may be shorter (the rest is not written) or longer (bytes past the
// struct must be zero: E2BIG); arrays (map ids, xlated insns) are copied up to the caller's
// count or length while the struct reports the full size; info_len goes back as the size used.
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "sys/btf.hpp"
#include "sys/commands.hpp"
#include "sys/objects.hpp"

namespace bpfbox::sys {

namespace {

// bpf_check_uarg_tail_zero + the copy-in of the caller's struct.
template <class Info>
Status info_in(const Call& c, Info& info, uint32_t* len) {
  const auto& i = c.attr.a.info;
  if (i.info_len > 4096) return Status(E2BIG, "info_len is larger than a page");
  if (i.info_len && !i.info) return Status(EFAULT, "info is a null pointer");
  const auto* u = uptr<const uint8_t>(i.info);
  for (uint32_t k = sizeof(Info); k < i.info_len; k++)
    if (u[k]) return Status(E2BIG, "info has non-zero bytes past the struct bpfbox knows");
  *len = std::min<uint32_t>(i.info_len, sizeof(Info));
  std::memset(&info, 0, sizeof info);
  std::memcpy(&info, u, *len);
  return Status::ok();
}

template <class Info>
CmdResult info_out(Call& c, const Info& info, uint32_t len) {
  std::memcpy(uptr<void>(c.attr.a.info.info), &info, len);
  c.put(offsetof(union bpf_attr, info.info_len), len);
  return 0L;
}

CmdResult prog_info(Call& c, const Object& o) {
  bpf_prog_info info;
  uint32_t len = 0;
  if (Status st = info_in(c, info, &len); !st) return st;
  const Prog& p = *o.prog;
  info.type = p.type;
  info.id = o.id;
  std::memcpy(info.tag, p.tag, sizeof info.tag);
  std::memcpy(info.name, p.name, sizeof info.name);
  info.load_time = p.load_time;
  info.created_by_uid = p.created_by_uid;
  info.gpl_compatible = p.gpl_compatible;
  info.verified_insns = p.verified_insns;
  info.run_cnt = p.run_cnt.load();
  info.run_time_ns = p.run_time_ns.load();
  std::vector<uint32_t> ids = p.map_ids;
  ids.insert(ids.end(), p.bound_map_ids.begin(), p.bound_map_ids.end());
  const uint32_t want_maps = info.nr_map_ids;
  info.nr_map_ids = uint32_t(ids.size());
  if (want_maps && !ids.empty()) {
    if (!info.map_ids) return Status(EFAULT, "map_ids is a null pointer");
    std::memcpy(uptr<void>(info.map_ids), ids.data(), std::min<size_t>(want_maps, ids.size()) * 4);
  }
  const uint32_t want_xlated = info.xlated_prog_len;
  info.xlated_prog_len = uint32_t(p.xlated.size() * sizeof(bpf_insn));
  if (want_xlated && info.xlated_prog_len) {
    if (!info.xlated_prog_insns) return Status(EFAULT, "xlated_prog_insns is a null pointer");
    std::memcpy(uptr<void>(info.xlated_prog_insns), p.xlated.data(),
                std::min(want_xlated, info.xlated_prog_len));
  }
  // bpfbox's machine code is not handed out (the kernel's jited image with its addresses).
  info.jited_prog_len = 0;
  info.nr_jited_ksyms = 0;
  info.nr_jited_func_lens = 0;
  info.nr_func_info = 0;
  info.nr_line_info = 0;
  info.nr_jited_line_info = 0;
  info.nr_prog_tags = 0;
  return info_out(c, info, len);
}

CmdResult map_info(Call& c, const Object& o) {
  bpf_map_info info;
  uint32_t len = 0;
  if (Status st = info_in(c, info, &len); !st) return st;
  std::shared_ptr<maps::Map> m = o.map ? o.map : o.map_weak.lock();
  if (!m) return Status(EBADF, "the map is gone");
  info.type = m->type();
  info.id = o.id;
  info.key_size = m->key_size();
  info.value_size = m->value_size();
  info.max_entries = m->max_entries();
  // The fd's access flags are the fd's, not the map's (bpf_map_flags_retain_permanent).
  info.map_flags = m->map_flags() & ~uint32_t(BPF_F_RDONLY | BPF_F_WRONLY);
  std::memcpy(info.name, m->name(), sizeof info.name);
  info.map_extra = m->map_extra();
  return info_out(c, info, len);
}

CmdResult btf_info(Call& c, const Object& o) {
  bpf_btf_info info;
  uint32_t len = 0;
  if (Status st = info_in(c, info, &len); !st) return st;
  const Btf& b = *o.btf;
  const uint32_t want = info.btf_size;
  info.btf_size = uint32_t(b.data.size());
  if (want && info.btf)
    std::memcpy(uptr<void>(info.btf), b.data.data(), std::min<size_t>(want, b.data.size()));
  info.id = o.id;
  info.name_len = 0;
  info.kernel_btf = 0;
  return info_out(c, info, len);
}

}  // namespace

CmdResult obj_get_info_by_fd(Call& c) {
  const int fd = int(c.attr.a.info.bpf_fd);
  struct stat st {};
  if (fstat(fd, &st) != 0) return Status(EBADFD, "bpf_fd is not open");  // 6.18's errno here
  if (auto p = Objects::get().by_fd(fd, Kind::Prog); p) return prog_info(c, **p);
  if (auto m = Objects::get().by_fd(fd, Kind::Map); m) return map_info(c, **m);
  if (auto b = Objects::get().by_fd(fd, Kind::Btf); b) return btf_info(c, **b);
  return Status(EINVAL, "bpf_fd is not a bpf object");
}

}  // namespace bpfbox::sys
