#include "sys/prog_file.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstring>
#include <string>

#include "sys/runtime.hpp"

namespace bpfbox::sys {

namespace {

constexpr uint32_t kVersion = 2;

bool write_all(int fd, const void* p, size_t n, off_t off) {
  const auto* b = static_cast<const uint8_t*>(p);
  while (n) {
    ssize_t w = pwrite(fd, b, n, off);
    if (w <= 0) return false;
    b += w;
    n -= size_t(w);
    off += w;
  }
  return true;
}

bool read_all(int fd, void* p, size_t n, off_t off) {
  auto* b = static_cast<uint8_t*>(p);
  while (n) {
    ssize_t r = pread(fd, b, n, off);
    if (r <= 0) return false;
    b += r;
    n -= size_t(r);
    off += r;
  }
  return true;
}

}  // namespace

Status create_prog_file(Prog& prog) {
  int fd = -1;
  std::string objs = runtime_path("objs");
  if (!objs.empty()) fd = open(objs.c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
  if (fd < 0) fd = memfd_create((std::string("bpfbox-prog:") + prog.name).c_str(), MFD_CLOEXEC);
  if (fd < 0)
    return Status(errno, std::string("cannot create the program's file: ") + strerror(errno));
  ProgFileHeader h{};
  std::memcpy(h.magic, kProgMagic, sizeof h.magic);
  h.version = kVersion;
  h.prog_type = prog.type;
  h.expected_attach_type = prog.expected_attach_type;
  h.prog_flags = prog.prog_flags;
  h.id = prog.id;
  h.insn_cnt = uint32_t(prog.insns_by_id.size());
  h.xlated_cnt = uint32_t(prog.xlated.size());
  h.nr_map_ids = uint32_t(prog.map_ids.size());
  h.verified_insns = prog.verified_insns;
  h.gpl_compatible = prog.gpl_compatible;
  h.load_time = prog.load_time;
  h.btf_id = prog.btf_id;
  h.nr_func_info = uint32_t(prog.func_info.size());
  h.nr_line_info = uint32_t(prog.line_info.size());
  h.btf_size = uint32_t(prog.btf_data.size());
  std::memcpy(h.tag, prog.tag, sizeof h.tag);
  std::memcpy(h.name, prog.name, sizeof h.name);
  off_t off = sizeof h;
  bool ok = write_all(fd, &h, sizeof h, 0);
  ok =
      ok && write_all(fd, prog.insns_by_id.data(), prog.insns_by_id.size() * sizeof(bpf_insn), off);
  off += off_t(prog.insns_by_id.size() * sizeof(bpf_insn));
  ok = ok && write_all(fd, prog.xlated.data(), prog.xlated.size() * sizeof(bpf_insn), off);
  off += off_t(prog.xlated.size() * sizeof(bpf_insn));
  ok = ok && write_all(fd, prog.map_ids.data(), prog.map_ids.size() * 4, off);
  off += off_t(prog.map_ids.size() * 4);
  auto put = [&](const auto& v) {
    const size_t n = v.size() * sizeof(v[0]);
    ok = ok && write_all(fd, v.data(), n, off);
    off += off_t(n);
  };
  put(prog.func_info_loaded);
  put(prog.func_info);
  put(prog.line_info_loaded);
  put(prog.line_info);
  put(prog.btf_data);
  if (!ok) {
    int err = errno ? errno : EIO;
    close(fd);
    return Status(err, "cannot write the program's file");
  }
  prog.fd = fd;
  return Status::ok();
}

void write_prog_file_id(const Prog& prog) {
  write_all(prog.fd, &prog.id, sizeof prog.id, offsetof(ProgFileHeader, id));
}

Result<std::shared_ptr<Prog>> read_prog_file(int fd) {
  ProgFileHeader h{};
  if (!read_all(fd, &h, sizeof h, 0) || std::memcmp(h.magic, kProgMagic, 8) != 0 ||
      h.version != kVersion)
    return Status(EINVAL, "not a bpfbox program file");
  auto p = std::make_shared<Prog>();
  p->type = h.prog_type;
  p->expected_attach_type = h.expected_attach_type;
  p->prog_flags = h.prog_flags;
  p->id = h.id;
  p->verified_insns = h.verified_insns;
  p->gpl_compatible = h.gpl_compatible;
  p->load_time = h.load_time;
  std::memcpy(p->tag, h.tag, sizeof p->tag);
  std::memcpy(p->name, h.name, sizeof p->name);
  p->insns_by_id.resize(h.insn_cnt);
  p->xlated.resize(h.xlated_cnt);
  p->map_ids.resize(h.nr_map_ids);
  off_t off = sizeof h;
  bool ok = read_all(fd, p->insns_by_id.data(), p->insns_by_id.size() * sizeof(bpf_insn), off);
  off += off_t(p->insns_by_id.size() * sizeof(bpf_insn));
  ok = ok && read_all(fd, p->xlated.data(), p->xlated.size() * sizeof(bpf_insn), off);
  off += off_t(p->xlated.size() * sizeof(bpf_insn));
  ok = ok && read_all(fd, p->map_ids.data(), p->map_ids.size() * 4, off);
  off += off_t(p->map_ids.size() * 4);
  p->btf_id = h.btf_id;
  p->func_info_loaded.resize(h.nr_func_info);
  p->func_info.resize(h.nr_func_info);
  p->line_info_loaded.resize(h.nr_line_info);
  p->line_info.resize(h.nr_line_info);
  p->btf_data.resize(h.btf_size);
  auto get = [&](auto& v) {
    const size_t n = v.size() * sizeof(v[0]);
    ok = ok && read_all(fd, v.data(), n, off);
    off += off_t(n);
  };
  get(p->func_info_loaded);
  get(p->func_info);
  get(p->line_info_loaded);
  get(p->line_info);
  get(p->btf_data);
  if (!ok) return Status(EINVAL, "truncated bpfbox program file");
  p->fd = fd;
  return p;
}

}  // namespace bpfbox::sys
