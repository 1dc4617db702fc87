// BPF_OBJ_GET_INFO_BY_FD: bpf_prog_info, bpf_map_info, bpf_btf_info as the kernel fills them.
// The caller's info_len may be shorter (the rest is not written) or longer (bytes past the
// struct must be zero: E2BIG); arrays (map ids, xlated and jited code, func and line info) are
// copied up to the caller's count or length while the struct reports the full size; info_len
// goes back as the size used. Every user pointer goes through user_mem: a bad one is EFAULT.
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <vector>

#include "sys/btf.hpp"
#include "sys/map_btf.hpp"
#include "sys/commands.hpp"
#include "sys/link.hpp"
#include "sys/objects.hpp"
#include "sys/prog_build.hpp"
#include "sys/tag.hpp"
#include "sys/user_mem.hpp"
#ifdef BPFBOX_HAVE_JIT
#include "vm/jit/jit.hpp"
#endif

namespace bpfbox::sys {

namespace {

// bpf_check_uarg_tail_zero + the copy-in of the caller's struct.
template <class Info>
Status info_in(const Call& c, Info& info, uint32_t* len) {
  const auto& i = c.attr.a.info;
  if (i.info_len > 4096) return Status(E2BIG, "info_len is larger than a page");
  std::memset(&info, 0, sizeof info);
  if (i.info_len > sizeof(Info)) {
    auto tail = bytes_from_user(i.info + sizeof(Info), i.info_len - sizeof(Info));
    if (!tail) return Status(EFAULT, "info: " + tail.status().message());
    for (uint8_t b : *tail)
      if (b) return Status(E2BIG, "info has non-zero bytes past the struct bpfbox knows");
  }
  *len = std::min<uint32_t>(i.info_len, sizeof(Info));
  if (Status st = copy_from_user(&info, i.info, *len); !st)
    return Status(EFAULT, "info: " + st.message());
  return Status::ok();
}

template <class Info>
CmdResult info_out(Call& c, const Info& info, uint32_t len) {
  if (Status st = copy_to_user(c.attr.a.info.info, &info, len); !st)
    return Status(EFAULT, "info: " + st.message());
  c.put(offsetof(union bpf_attr, info.info_len), len);
  return 0L;
}

// The kernel's array rule: *count becomes the full count; min(asked, full) records go out.
template <class T>
Status array_out(uint64_t uptr_v, uint32_t* count, const std::vector<T>& v, const char* what) {
  const uint32_t asked = *count;
  *count = uint32_t(v.size());
  if (!asked || v.empty()) return Status::ok();
  if (Status st = copy_to_user(uptr_v, v.data(), std::min<size_t>(asked, v.size()) * sizeof(T));
      !st)
    return Status(EFAULT, std::string(what) + ": " + st.message());
  return Status::ok();
}

// set_info_rec_size(): the caller's record sizes are the kernel's, or zero with no count.
Status check_rec_sizes(bpf_prog_info& info) {
  if ((info.nr_func_info || info.func_info_rec_size) &&
      info.func_info_rec_size != sizeof(bpf_func_info))
    return Status(EINVAL, "func_info_rec_size is not sizeof(struct bpf_func_info)");
  if ((info.nr_line_info || info.line_info_rec_size) &&
      info.line_info_rec_size != sizeof(bpf_line_info))
    return Status(EINVAL, "line_info_rec_size is not sizeof(struct bpf_line_info)");
  if ((info.nr_jited_line_info || info.jited_line_info_rec_size) &&
      info.jited_line_info_rec_size != sizeof(uint64_t))
    return Status(EINVAL, "jited_line_info_rec_size is not sizeof(__u64)");
  info.func_info_rec_size = sizeof(bpf_func_info);
  info.line_info_rec_size = sizeof(bpf_line_info);
  info.jited_line_info_rec_size = sizeof(uint64_t);
  return Status::ok();
}

// The machine code of a JIT-compiled program: the image, each function's address and length, and
// each line's address (what the kernel's jited fields give).
struct Jited {
  std::vector<uint8_t> image;
  std::vector<uint64_t> ksyms;
  std::vector<uint32_t> func_lens;
  std::vector<uint64_t> line_addrs;
};

Jited jited_of(const Prog& p) {
  Jited j;
#ifdef BPFBOX_HAVE_JIT
  if (!p.exe) return j;
  const vm::NativeLayout n = p.exe->native_layout();
  if (!n.code || !n.size) return j;
  j.image.assign(n.code, n.code + n.size);
  const auto addr = [&](uint32_t pc) -> uint32_t {
    return pc < n.insn_offsets.size() ? n.insn_offsets[pc] : uint32_t(n.size);
  };
  const auto& subs = p.program.subprogs;
  // The main function starts at the image's entry (its prologue included), the others at their
  // first instruction; the last one ends with the image, so the lengths add up to it.
  for (size_t i = 0; i < std::max<size_t>(subs.size(), 1); i++) {
    const uint32_t start = i == 0 ? 0 : addr(subs[i].start);
    const uint32_t end = i + 1 < subs.size() ? addr(subs[i + 1].start) : uint32_t(n.size);
    j.ksyms.push_back(reinterpret_cast<uint64_t>(n.code) + start);
    j.func_lens.push_back(end - start);
  }
  // A line at a function's first instruction is at the function's address, as the kernel's
  // bpf_prog_fill_jited_linfo.
  for (const bpf_line_info& l : p.line_info) {
    uint64_t a = reinterpret_cast<uint64_t>(n.code) + addr(l.insn_off);
    for (size_t i = 0; i < subs.size(); i++)
      if (subs[i].start == l.insn_off) a = j.ksyms[i];
    j.line_addrs.push_back(a);
  }
#else
  (void)p;
#endif
  return j;
}

CmdResult prog_info(Call& c, const Object& o) {
  bpf_prog_info info;
  uint32_t len = 0;
  if (Status st = info_in(c, info, &len); !st) return st;
  Prog& p = *o.prog;
  // A program adopted from another process is compiled here first, so its code can be shown.
  if (!p.exe) (void)build_adopted(p);
  info.type = p.type;
  info.id = o.id;
  std::memcpy(info.tag, p.tag, sizeof info.tag);
  std::memcpy(info.name, p.name, sizeof info.name);
  info.load_time = p.load_time;
  info.created_by_uid = p.created_by_uid;
  info.gpl_compatible = p.gpl_compatible;
  std::vector<uint32_t> ids = p.map_ids;
  ids.insert(ids.end(), p.bound_map_ids.begin(), p.bound_map_ids.end());
  if (Status st = array_out(info.map_ids, &info.nr_map_ids, ids, "map_ids"); !st) return st;
  if (Status st = check_rec_sizes(info); !st) return st;
  info.run_cnt = p.run_cnt.load();
  info.run_time_ns = p.run_time_ns.load();
  info.recursion_misses = 0;  // a run never nests in bpfbox's own runs
  info.verified_insns = p.verified_insns;

  {
    const uint32_t asked = info.xlated_prog_len;
    info.xlated_prog_len = uint32_t(p.xlated.size() * sizeof(bpf_insn));
    if (asked && info.xlated_prog_len) {
      if (Status st = copy_to_user(info.xlated_prog_insns, p.xlated.data(),
                                   std::min(asked, info.xlated_prog_len));
          !st)
        return Status(EFAULT, "xlated_prog_insns: " + st.message());
    }
  }
  const Jited j = jited_of(p);
  {
    const uint32_t asked = info.jited_prog_len;
    info.jited_prog_len = uint32_t(j.image.size());
    if (asked && info.jited_prog_len) {
      if (Status st = copy_to_user(info.jited_prog_insns, j.image.data(),
                                   std::min(asked, info.jited_prog_len));
          !st)
        return Status(EFAULT, "jited_prog_insns: " + st.message());
    }
  }
  if (Status st = array_out(info.jited_ksyms, &info.nr_jited_ksyms, j.ksyms, "jited_ksyms"); !st)
    return st;
  if (Status st =
          array_out(info.jited_func_lens, &info.nr_jited_func_lens, j.func_lens, "jited_func_lens");
      !st)
    return st;
  info.btf_id = p.btf_id;
  if (Status st = array_out(info.func_info, &info.nr_func_info, p.func_info, "func_info"); !st)
    return st;
  if (Status st = array_out(info.line_info, &info.nr_line_info, p.line_info, "line_info"); !st)
    return st;
  if (Status st = array_out(info.jited_line_info, &info.nr_jited_line_info, j.line_addrs,
                            "jited_line_info");
      !st)
    return st;
  // One tag per function (the kernel tags each subprogram's instructions when it has several,
  // in jit_subprogs, where a bpf-to-bpf call holds the callee's index in off and 1 in imm).
  std::vector<std::array<uint8_t, BPF_TAG_SIZE>> tags;
  const auto& subs = p.program.subprogs;
  if (subs.size() <= 1) {
    tags.emplace_back();
    std::memcpy(tags.back().data(), p.tag, BPF_TAG_SIZE);
  } else {
    for (size_t i = 0; i < subs.size(); i++) {
      const size_t end = i + 1 < subs.size() ? subs[i + 1].start : p.xlated.size();
      std::vector<bpf_insn> func(p.xlated.begin() + subs[i].start, p.xlated.begin() + end);
      for (bpf_insn& in : func)
        if (in.code == (BPF_JMP | BPF_CALL) && in.src_reg == BPF_PSEUDO_CALL) {
          in.off = int16_t(in.imm);  // dump_xlated put the callee's index in imm
          in.imm = 1;
        }
      tags.emplace_back();
      prog_tag(func, tags.back().data());
    }
  }
  if (Status st = array_out(info.prog_tags, &info.nr_prog_tags, tags, "prog_tags"); !st) return st;
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
  const MapBtf mb = o.map_btf.btf_id ? o.map_btf : load_map_btf(o.id);
  info.btf_id = mb.btf_id;
  info.btf_key_type_id = mb.key_type_id;
  info.btf_value_type_id = mb.value_type_id;
  info.btf_vmlinux_value_type_id = 0;
  return info_out(c, info, len);
}

CmdResult btf_info(Call& c, const Object& o) {
  bpf_btf_info info;
  uint32_t len = 0;
  if (Status st = info_in(c, info, &len); !st) return st;
  const Btf& b = *o.btf;
  const uint32_t want = info.btf_size;
  info.btf_size = uint32_t(b.data.size());
  if (want && info.btf_size) {
    if (Status st = copy_to_user(info.btf, b.data.data(), std::min<size_t>(want, b.data.size()));
        !st)
      return Status(EFAULT, "btf: " + st.message());
  }
  info.id = o.id;
  // A program's BTF has no name (only the kernel's and modules' do): name_len 0, nothing written.
  info.name_len = 0;
  info.kernel_btf = 0;
  return info_out(c, info, len);
}

CmdResult link_info(Call& c, const Object& o) {
  bpf_link_info info;
  uint32_t len = 0;
  if (Status st = info_in(c, info, &len); !st) return st;
  auto h = o.link->header();
  if (!h) return h.status();
  info.type = h->type;
  info.id = o.id;
  info.prog_id = h->prog_id;
  info.xdp.ifindex = h->ifindex;
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
  if (auto l = Objects::get().by_fd(fd, Kind::Link); l) return link_info(c, **l);
  return Status(EINVAL, "bpf_fd is not a bpf object");
}

}  // namespace bpfbox::sys
