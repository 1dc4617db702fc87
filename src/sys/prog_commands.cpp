// BPF_PROG_LOAD (bpf_prog_load's checks, then the verifier, then an engine), BPF_PROG_TEST_RUN
// (the type's test_run with bpf_prog_test_run's pointer rules and the results written back as
// bpf_test_finish does), BPF_PROG_BIND_MAP and BPF_ENABLE_STATS.
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <mutex>
#include <string>
#include <vector>

#include "bpfbox/prog_type.hpp"
#include "bpfbox/verifier.hpp"
#include "isa/uapi.hpp"
#include "sys/commands.hpp"
#include "sys/objects.hpp"
#include "sys/find_file.hpp"
#include "sys/prog_build.hpp"
#include "sys/prog_file.hpp"
#include "sys/tag.hpp"

namespace bpfbox::sys {

namespace {

// license_is_gpl_compatible()
bool gpl_compatible(const char* l) {
  static const char* const kGpl[] = {"GPL",          "GPL v2",       "GPL and additional rights",
                                     "Dual BSD/GPL", "Dual MIT/GPL", "Dual MPL/GPL"};
  for (const char* g : kGpl)
    if (std::strcmp(l, g) == 0) return true;
  return false;
}

// bpf_obj_name_cpy(): [A-Za-z0-9_.], NUL-terminated within BPF_OBJ_NAME_LEN.
Status name_copy(char* dst, const char* src) {
  std::memset(dst, 0, BPF_OBJ_NAME_LEN);
  for (size_t i = 0; i < BPF_OBJ_NAME_LEN; i++) {
    if (!src[i]) return Status::ok();
    if (!std::isalnum(static_cast<unsigned char>(src[i])) && src[i] != '_' && src[i] != '.')
      return Status(EINVAL, "prog_name may only hold letters, digits, '_' and '.'");
    dst[i] = src[i];
  }
  return Status(EINVAL, "prog_name is not NUL-terminated within BPF_OBJ_NAME_LEN");
}

uint64_t boottime_ns() {
  timespec ts{};
  clock_gettime(CLOCK_BOOTTIME, &ts);
  return uint64_t(ts.tv_sec) * 1000000000ull + uint64_t(ts.tv_nsec);
}

// The xlated program as bpf_prog_info shows it (bpf_insn_prepare_dump): map addresses back to
// BPF_PSEUDO_MAP_FD / BPF_PSEUDO_MAP_VALUE with the map's id (and the value offset).
std::vector<bpf_insn> dump_xlated(const verifier::Program& p) {
  std::vector<bpf_insn> out = p.xlated;
  for (size_t i = 0; i + 1 < out.size(); i++) {
    bpf_insn& lo = out[i];
    if (lo.code != (BPF_LD | BPF_IMM | BPF_DW)) continue;
    const uint64_t addr = uint64_t(uint32_t(lo.imm)) | uint64_t(uint32_t(out[i + 1].imm)) << 32;
    for (const auto& m : p.maps) {
      const uint32_t id = Objects::get().id_of_map(m.get());
      if (addr == reinterpret_cast<uint64_t>(m.get())) {
        lo.src_reg = BPF_PSEUDO_MAP_FD;
        lo.imm = int32_t(id);
        out[i + 1].imm = 0;
        break;
      }
      if (const maps::InlineArray* ia = m->inline_array()) {
        const uint64_t base = reinterpret_cast<uint64_t>(ia->base);
        if (addr >= base && addr < base + uint64_t(ia->elem_size) * ia->max_entries) {
          lo.src_reg = BPF_PSEUDO_MAP_VALUE;
          lo.imm = int32_t(id);
          out[i + 1].imm = int32_t(addr - base);
          break;
        }
      }
    }
    i++;
  }
  return out;
}

verifier::VerifyResult verify_prog(const Prog& p, std::span<const bpf_insn> insns,
                                   uint32_t log_level, uint32_t log_size,
                                   std::span<const int32_t> fd_array) {
  verifier::Options opts;
  opts.load.prog_type = p.type;
  opts.load.expected_attach_type = p.expected_attach_type;
  opts.load.prog_flags = p.prog_flags;
  opts.load.privileged = geteuid() == 0;
  opts.load.gpl_compatible = p.gpl_compatible;
  opts.log_level = log_level;
  opts.log_size = log_size;
  opts.map_by_fd = [](int fd) -> Result<std::shared_ptr<maps::Map>> {
    auto obj = Objects::get().by_fd(fd, Kind::Map);
    if (!obj) return obj.status();
    return (*obj)->map;
  };
  opts.fd_array = fd_array;
  return verifier::verify(insns, opts);
}

// Compiles a verified program into p, with what bpf_prog_info reports of it.
Status finish_build(Prog& p, verifier::Program program) {
  p.program = std::move(program);
  p.verified_insns = p.program.verified_insns;
  // bpf_tail_call is the engines' own instruction, resolved through the PROG_ARRAY at run time.
  if (!p.program.helpers.tail_call_lookup())
    p.program.helpers.set_tail_call_lookup(maps::prog_array_lookup);
  auto exe = vm::compile(vm::EngineKind::Default, p.program.xlated, p.program.helpers);
  if (!exe) return exe.status();
  p.exe = std::move(*exe);
  p.map_ids.clear();
  for (const auto& m : p.program.maps) p.map_ids.push_back(Objects::get().id_of_map(m.get()));
  p.xlated = dump_xlated(p.program);
  return Status::ok();
}

bool is_map_ld(const bpf_insn& i) {
  return i.code == (BPF_LD | BPF_IMM | BPF_DW) &&
         (i.src_reg == BPF_PSEUDO_MAP_FD || i.src_reg == BPF_PSEUDO_MAP_VALUE ||
          i.src_reg == BPF_PSEUDO_MAP_IDX || i.src_reg == BPF_PSEUDO_MAP_IDX_VALUE);
}

// The program with each map lddw naming its map by id (fd_array indices resolved).
std::vector<bpf_insn> by_map_id(std::span<const bpf_insn> insns,
                                std::span<const int32_t> fd_array) {
  std::vector<bpf_insn> out(insns.begin(), insns.end());
  for (size_t i = 0; i + 1 < out.size(); i++) {
    bpf_insn& ld = out[i];
    if (!is_map_ld(ld)) continue;
    int fd = ld.imm;
    if (ld.src_reg == BPF_PSEUDO_MAP_IDX || ld.src_reg == BPF_PSEUDO_MAP_IDX_VALUE) {
      fd = size_t(ld.imm) < fd_array.size() ? fd_array[size_t(ld.imm)] : -1;
      ld.src_reg = ld.src_reg == BPF_PSEUDO_MAP_IDX ? BPF_PSEUDO_MAP_FD : BPF_PSEUDO_MAP_VALUE;
    }
    auto obj = Objects::get().by_fd(fd, Kind::Map);
    ld.imm = obj ? int32_t((*obj)->id) : 0;
    i++;
  }
  return out;
}

std::mutex g_stats_mu;
std::vector<std::pair<int, InodeKey>> g_stats_fds;  // BPF_ENABLE_STATS fds handed out

}  // namespace

bool run_stats_enabled() {
  std::lock_guard g(g_stats_mu);
  for (auto it = g_stats_fds.begin(); it != g_stats_fds.end();) {
    struct stat st {};
    if (fstat(it->first, &st) == 0 && InodeKey{st.st_dev, st.st_ino} == it->second) return true;
    it = g_stats_fds.erase(it);
  }
  return false;
}

CmdResult enable_stats(Call& c) {
  if (c.attr.a.enable_stats.type != BPF_STATS_RUN_TIME)
    return Status(EINVAL, "enable_stats.type must be BPF_STATS_RUN_TIME");
  int fd = memfd_create("bpfbox-stats", MFD_CLOEXEC);
  if (fd < 0) return Status(errno, "cannot create the stats fd");
  struct stat st {};
  fstat(fd, &st);
  std::lock_guard g(g_stats_mu);
  g_stats_fds.push_back({fd, {st.st_dev, st.st_ino}});
  return long(fd);
}

CmdResult prog_load(Call& c) {
  const union bpf_attr& a = c.attr.a;
  const bool privileged = geteuid() == 0;
  if (a.insn_cnt == 0 || a.insn_cnt > (privileged ? verifier::kMaxProgInsnsPrivileged
                                                  : verifier::kMaxProgInsnsUnprivileged))
    return Status(E2BIG, "insn_cnt is 0 or above the limit");
  if (!a.insns) return Status(EFAULT, "insns is a null pointer");
  if (!a.license) return Status(EFAULT, "license is a null pointer");
  char license[128] = {};
  std::strncpy(license, uptr<const char>(a.license), sizeof license - 1);
  const ProgTypeOps* ops = prog_type_ops(a.prog_type);
  if (!ops) return Status(EINVAL, "bpfbox has no program type " + std::to_string(a.prog_type));
  auto prog = std::make_shared<Prog>();
  if (Status st = name_copy(prog->name, a.prog_name); !st) return st;
  if (!!a.log_buf != !!a.log_size) return Status(EINVAL, "log_buf and log_size go together");
  if ((a.func_info_cnt || a.line_info_cnt) && !a.prog_btf_fd)
    return Status(EINVAL, "func_info and line_info need prog_btf_fd");
  std::shared_ptr<Object> prog_btf;
  if (a.func_info_cnt || a.line_info_cnt) {
    auto b = Objects::get().by_fd(int(a.prog_btf_fd), Kind::Btf);
    if (!b) return b.status();
    prog_btf = *b;
    if (a.func_info_cnt &&
        (a.func_info_rec_size < 8 || a.func_info_rec_size > 4096 || a.func_info_rec_size % 4))
      return Status(EINVAL, "invalid func_info_rec_size");
    if (a.line_info_cnt &&
        (a.line_info_rec_size < 16 || a.line_info_rec_size > 4096 || a.line_info_rec_size % 4))
      return Status(EINVAL, "invalid line_info_rec_size");
  }

  prog->type = a.prog_type;
  prog->expected_attach_type = a.expected_attach_type;
  prog->prog_flags = a.prog_flags;
  prog->gpl_compatible = gpl_compatible(license);
  prog->load_time = boottime_ns();
  prog->created_by_uid = geteuid();
  const auto* insns = uptr<const bpf_insn>(a.insns);
  prog->insns.assign(insns, insns + a.insn_cnt);
  prog_tag(prog->insns, prog->tag);

  // fd_array: as many entries as the program's BPF_PSEUDO_MAP_IDX loads index.
  std::span<const int32_t> fd_array;
  if (a.fd_array) {
    uint32_t n = 0;
    for (uint32_t i = 0; i < a.insn_cnt; i++)
      if (insns[i].code == (BPF_LD | BPF_IMM | BPF_DW) &&
          (insns[i].src_reg == BPF_PSEUDO_MAP_IDX ||
           insns[i].src_reg == BPF_PSEUDO_MAP_IDX_VALUE) &&
          insns[i].imm >= 0)
        n = std::max(n, uint32_t(insns[i].imm) + 1);
    fd_array = {uptr<const int32_t>(a.fd_array), n};
  }
  verifier::VerifyResult r = verify_prog(*prog, prog->insns, a.log_level, a.log_size, fd_array);
  // The log goes back as the kernel's bpf_vlog_finalize leaves it, success or not.
  if (a.log_buf && a.log_size) {
    const size_t n = std::min<size_t>(r.log.size(), a.log_size - 1);
    std::memcpy(uptr<char>(a.log_buf), r.log.data(), n);
    uptr<char>(a.log_buf)[n] = 0;
  }
  c.put(kOffLogTrueSize, r.log_true_size);
  if (!r.status) return r.status;
  if (Status st = finish_build(*prog, std::move(*r.program)); !st) return st;
  prog->insns_by_id = by_map_id(prog->insns, fd_array);
  if (Status st = create_prog_file(*prog); !st) return st;
  auto obj = std::make_shared<Object>();
  obj->kind = Kind::Prog;
  obj->prog = prog;
  auto fd = Objects::get().install(obj, O_RDWR);
  if (!fd) return fd.status();
  write_prog_file_id(*prog);
  return long(*fd);
}

CmdResult prog_test_run(Call& c) {
  const auto& t = c.attr.a.test;
  if ((t.ctx_size_in && !t.ctx_in) || (!t.ctx_size_in && t.ctx_in))
    return Status(EINVAL, "ctx_in and ctx_size_in go together");
  if ((t.ctx_size_out && !t.ctx_out) || (!t.ctx_size_out && t.ctx_out))
    return Status(EINVAL, "ctx_out and ctx_size_out go together");
  auto obj = Objects::get().by_fd(int(t.prog_fd), Kind::Prog);
  if (!obj) return obj.status();
  std::shared_ptr<Prog> prog = (*obj)->prog;
  const ProgTypeOps* ops = prog ? prog_type_ops(prog->type) : nullptr;
  if (!ops || !ops->test_run)
    return Status(maps::kENOTSUPP, "the program type has no BPF_PROG_TEST_RUN");
  if (!prog->exe) {  // adopted from another process: verified and compiled here on first run
    if (Status st = build_adopted(*prog); !st) return st;
  }
  if (t.data_size_in && !t.data_in) return Status(EFAULT, "data_in is a null pointer");
  TestRunArgs args;
  args.data_in = {uptr<const uint8_t>(t.data_in), t.data_size_in};
  if (t.ctx_in) args.ctx_in = {uptr<const uint8_t>(t.ctx_in), t.ctx_size_in};
  args.data_size_out = t.data_size_out;
  args.ctx_size_out = t.ctx_size_out;
  args.repeat = t.repeat;
  args.flags = t.flags;
  args.cpu = t.cpu;
  args.batch_size = t.batch_size;
  TestRunProgram p;
  p.exe = prog->exe.get();
  p.prog_type = prog->type;
  p.expected_attach_type = prog->expected_attach_type;
  TestRunResult res;
  Status st = ops->test_run(p, args, res);
  if (!st && st.err() != ENOSPC) return st;
  if (run_stats_enabled()) {
    const uint64_t runs = t.repeat ? t.repeat : 1;
    prog->run_cnt += runs;
    prog->run_time_ns += uint64_t(res.duration) * runs;
  }
  if (t.data_out && !res.data_out.empty())
    std::memcpy(uptr<void>(t.data_out), res.data_out.data(), res.data_out.size());
  c.put(offsetof(union bpf_attr, test.data_size_out), res.data_size_out);
  c.put(offsetof(union bpf_attr, test.retval), res.retval);
  c.put(offsetof(union bpf_attr, test.duration), res.duration);
  if (t.ctx_out && !res.ctx_out.empty()) {
    std::memcpy(uptr<void>(t.ctx_out), res.ctx_out.data(), res.ctx_out.size());
    c.put(offsetof(union bpf_attr, test.ctx_size_out), res.ctx_size_out);
  }
  if (!st) return st;
  return 0L;
}

CmdResult prog_bind_map(Call& c) {
  const auto& b = c.attr.a.prog_bind_map;
  if (b.flags) return Status(EINVAL, "prog_bind_map.flags must be 0");
  auto pobj = Objects::get().by_fd(int(b.prog_fd), Kind::Prog);
  if (!pobj) return pobj.status();
  auto mobj = Objects::get().by_fd(int(b.map_fd), Kind::Map);
  if (!mobj) return mobj.status();
  Prog& p = *(*pobj)->prog;
  const uint32_t id = (*mobj)->id;
  for (uint32_t used : p.map_ids)
    if (used == id) return 0L;  // already used: nothing to do, as the kernel
  for (uint32_t used : p.bound_map_ids)
    if (used == id) return 0L;
  p.bound_maps.push_back((*mobj)->map);
  p.bound_map_ids.push_back(id);
  return 0L;
}

Status build_adopted(Prog& p) {
  std::lock_guard g(p.build_mu);
  if (p.exe) return Status::ok();
  // Open each map by id for the verifier, as the loading process had fds for them.
  std::vector<bpf_insn> insns = p.insns_by_id;
  std::vector<int> fds;
  Status st;
  for (size_t i = 0; i + 1 < insns.size(); i++) {
    if (!is_map_ld(insns[i])) continue;
    auto fd = open_by_id(Kind::Map, uint32_t(insns[i].imm), O_RDWR);
    if (!fd) {
      st = Status(fd.status().err(), "a map of the program is gone: " + fd.status().message());
      break;
    }
    fds.push_back(*fd);
    insns[i].imm = *fd;
    i++;
  }
  if (st) {
    verifier::VerifyResult r = verify_prog(p, insns, 0, 0, {});
    st = r.status ? finish_build(p, std::move(*r.program)) : r.status;
  }
  for (int fd : fds) close(fd);
  return st;
}

}  // namespace bpfbox::sys
