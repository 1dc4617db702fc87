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
#include "sys/privilege.hpp"
#include "sys/prog_file.hpp"
#include "sys/tag.hpp"
#include "sys/btf.hpp"
#include "sys/user_mem.hpp"

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
// BPF_PSEUDO_MAP_FD / BPF_PSEUDO_MAP_VALUE with the map's id (and the value offset); bpf-to-bpf
// calls as the kernel's jit_subprogs leaves them, the relative offset in off and the callee's
// subprogram index in imm (bpftool names the callee from jited_ksyms[imm]).
std::vector<bpf_insn> dump_xlated(const verifier::Program& p) {
  std::vector<bpf_insn> out = p.xlated;
  for (size_t i = 0; i < out.size(); i++) {
    bpf_insn& call = out[i];
    if (call.code != (BPF_JMP | BPF_CALL) || call.src_reg != BPF_PSEUDO_CALL) continue;
    const int64_t target = int64_t(i) + call.imm + 1;
    for (size_t s = 0; s < p.subprogs.size(); s++)
      if (p.subprogs[s].start == target && call.imm >= INT16_MIN && call.imm <= INT16_MAX) {
        call.off = int16_t(call.imm);
        call.imm = int32_t(s);
      }
  }
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

// PROG_LOAD's BTF inputs for the verifier: the blob and the records as the caller gave them.
struct BtfInput {
  std::span<const uint8_t> btf;
  const void* func_info = nullptr;
  uint32_t func_info_rec_size = 0, func_info_cnt = 0;
  const void* line_info = nullptr;
  uint32_t line_info_rec_size = 0, line_info_cnt = 0;
};

verifier::VerifyResult verify_prog(const Prog& p, std::span<const bpf_insn> insns,
                                   uint32_t log_level, uint32_t log_size,
                                   std::span<const int32_t> fd_array, const BtfInput& b) {
  verifier::Options opts;
  opts.btf = b.btf;
  opts.func_info = b.func_info;
  opts.func_info_rec_size = b.func_info_rec_size;
  opts.func_info_cnt = b.func_info_cnt;
  opts.line_info = b.line_info;
  opts.line_info_rec_size = b.line_info_rec_size;
  opts.line_info_cnt = b.line_info_cnt;
  opts.load.prog_type = p.type;
  opts.load.expected_attach_type = p.expected_attach_type;
  opts.load.prog_flags = p.prog_flags;
  opts.load.privileged = caller_privileged();
  opts.load.gpl_compatible = p.gpl_compatible;
  opts.log_level = log_level;
  opts.log_size = log_size;
  opts.map_by_fd = [](int fd) -> Result<std::shared_ptr<maps::Map>> {
    auto obj = Objects::get().by_fd(fd, Kind::Map);
    if (!obj) return obj.status();
    return (*obj)->map;
  };
  opts.fd_array = fd_array;
  // The LLVM tier (directly or after tier-up) uses the verifier's range facts; other engines
  // load with the kernel's walk alone.
  Result<vm::EngineKind> engine = vm::default_engine();
  opts.range_facts =
      engine && (*engine == vm::EngineKind::Llvm || *engine == vm::EngineKind::Tiered);
  return verifier::verify(insns, opts);
}

// Compiles a verified program into p, with what bpf_prog_info reports of it.
Status finish_build(Prog& p, verifier::Program program) {
  p.program = std::move(program);
  p.verified_insns = p.program.verified_insns;
  // bpf_tail_call is the engines' own instruction, resolved through the PROG_ARRAY at run time.
  if (!p.program.helpers.tail_call_lookup())
    p.program.helpers.set_tail_call_lookup(maps::prog_array_lookup, maps::prog_array_slot);
  auto exe = vm::compile(vm::EngineKind::Default, p.program.xlated, p.program.helpers,
                         {.facts = p.program.facts});
  if (!exe) return exe.status();
  p.exe = std::move(*exe);
  p.map_ids.clear();
  for (const auto& m : p.program.maps) p.map_ids.push_back(Objects::get().id_of_map(m.get()));
  p.xlated = dump_xlated(p.program);
  // func_info / line_info as the kernel keeps them after adjust_btf_func / bpf_adj_linfo: each
  // surviving function's record at its subprogram's first xlated instruction (a function dead
  // code removal took whole goes with its record, as adjust_subprog_starts_after_remove drops
  // it), each line at the first xlated instruction that came from (or after) its original one.
  const std::vector<uint32_t>& orig = p.program.orig_index;
  p.func_info.clear();
  for (const verifier::Subprog& sub : p.program.subprogs) {
    // The function whose original instructions hold the subprogram's first: the last record
    // starting at or before it (records are in increasing order, as the verifier checked).
    const uint32_t first = sub.start < orig.size() ? orig[sub.start] : sub.start;
    const bpf_func_info* rec = nullptr;
    for (const bpf_func_info& f : p.func_info_loaded)
      if (f.insn_off <= first) rec = &f;
    if (!rec) continue;
    p.func_info.push_back(*rec);
    p.func_info.back().insn_off = sub.start;
  }
  p.line_info = p.line_info_loaded;
  size_t j = 0;
  for (bpf_line_info& l : p.line_info) {
    while (j < orig.size() && orig[j] < l.insn_off) j++;
    if (j < orig.size()) l.insn_off = uint32_t(j);
  }
  return Status::ok();
}

// The caller's func_info / line_info records (cnt records of rec_size bytes). A rec_size the
// verifier refuses is not read (it answers with the kernel's message); at most one record more
// than the program has instructions is read (more can only be refused).
constexpr uint32_t kMaxRecSize = 252;  // MAX_FUNCINFO_REC_SIZE
Result<std::vector<uint8_t>> records_in(uint64_t uptr_v, uint32_t* cnt, uint32_t rec_size,
                                        uint32_t min_size, uint32_t insn_cnt) {
  if (!*cnt || !uptr_v || rec_size < min_size || rec_size > kMaxRecSize || rec_size % 4)
    return std::vector<uint8_t>();
  *cnt = std::min(*cnt, insn_cnt + 1);
  return bytes_from_user(uptr_v, size_t(*cnt) * rec_size);
}

template <class Rec>
std::vector<Rec> records_of(const std::vector<uint8_t>& bytes, uint32_t cnt, uint32_t rec_size) {
  std::vector<Rec> out(bytes.empty() ? 0 : cnt);
  for (uint32_t i = 0; i < out.size(); i++)
    std::memcpy(&out[i], bytes.data() + size_t(i) * rec_size,
                std::min<size_t>(rec_size, sizeof(Rec)));
  return out;
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

// bpf_check_tail_call: a program using a PROG_ARRAY binds it to its type (or must match the type
// bound), as once it is built in the kernel (bpf_prog_select_runtime), so without a log line.
Status bind_prog_arrays(const Prog& p) {
  for (const auto& m : p.program.maps)
    if (Status st = m->prog_array_compatible(p.type, prog_jited(p)); !st) return st;
  return Status::ok();
}

std::mutex g_stats_mu;
std::vector<std::pair<int, InodeKey>> g_stats_fds;  // BPF_ENABLE_STATS fds handed out

}  // namespace

bool prog_jited(const Prog& p) {
  if (p.exe) return std::strcmp(p.exe->engine_name(), "interp") != 0;
  auto e = vm::default_engine();
  return e && *e != vm::EngineKind::Interp;
}

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
  const bool privileged = caller_privileged();
  if (a.insn_cnt == 0 || a.insn_cnt > (privileged ? verifier::kMaxProgInsnsPrivileged
                                                  : verifier::kMaxProgInsnsUnprivileged))
    return Status(E2BIG, "insn_cnt is 0 or above the limit");
  auto license = string_from_user(a.license, 127);
  if (!license) return Status(EFAULT, "license: " + license.status().message());
  const ProgTypeOps* ops = prog_type_ops(a.prog_type);
  if (!ops) return Status(EINVAL, "bpfbox has no program type " + std::to_string(a.prog_type));
  auto prog = std::make_shared<Prog>();
  if (Status st = name_copy(prog->name, a.prog_name); !st) return st;
  if (!!a.log_buf != !!a.log_size) return Status(EINVAL, "log_buf and log_size go together");
  // The program's BTF (check_btf_info_early): taken only with func_info or line_info; the
  // records' checks are the verifier's (check_btf_func, check_btf_line).
  BtfInput bi;
  std::vector<uint8_t> func_bytes, line_bytes;
  static const uint8_t kUnread = 0;  // stands for records not read: the verifier refuses first
  if (a.func_info_cnt || a.line_info_cnt) {
    auto b = Objects::get().by_fd(int(a.prog_btf_fd), Kind::Btf);
    if (!b) return b.status();
    prog->btf = (*b)->btf;
    prog->btf_id = (*b)->id;
    prog->btf_data = prog->btf->data;
    bi.btf = prog->btf_data;
    bi.func_info_cnt = a.func_info_cnt;
    bi.func_info_rec_size = a.func_info_rec_size;
    auto f = records_in(a.func_info, &bi.func_info_cnt, a.func_info_rec_size, 8, a.insn_cnt);
    if (!f) return f.status();
    func_bytes = std::move(*f);
    bi.func_info = !a.func_info ? nullptr : func_bytes.empty() ? &kUnread : func_bytes.data();
    bi.line_info_cnt = a.line_info_cnt;
    bi.line_info_rec_size = a.line_info_rec_size;
    auto l = records_in(a.line_info, &bi.line_info_cnt, a.line_info_rec_size, sizeof(bpf_line_info),
                        a.insn_cnt);
    if (!l) return l.status();
    line_bytes = std::move(*l);
    bi.line_info = !a.line_info ? nullptr : line_bytes.empty() ? &kUnread : line_bytes.data();
    prog->func_info_loaded =
        records_of<bpf_func_info>(func_bytes, bi.func_info_cnt, a.func_info_rec_size);
    prog->line_info_loaded =
        records_of<bpf_line_info>(line_bytes, bi.line_info_cnt, a.line_info_rec_size);
  }

  prog->type = a.prog_type;
  prog->expected_attach_type = a.expected_attach_type;
  prog->prog_flags = a.prog_flags;
  prog->gpl_compatible = gpl_compatible(license->c_str());
  prog->load_time = boottime_ns();
  prog->created_by_uid = geteuid();
  prog->insns.resize(a.insn_cnt);
  if (Status st = copy_from_user(prog->insns.data(), a.insns, a.insn_cnt * sizeof(bpf_insn)); !st)
    return Status(EFAULT, "insns: " + st.message());
  const bpf_insn* insns = prog->insns.data();
  prog_tag(prog->insns, prog->tag);

  // fd_array: as many entries as the program's BPF_PSEUDO_MAP_IDX loads index.
  std::vector<int32_t> fd_array;
  if (a.fd_array) {
    uint32_t n = 0;
    for (uint32_t i = 0; i < a.insn_cnt; i++)
      if (insns[i].code == (BPF_LD | BPF_IMM | BPF_DW) &&
          (insns[i].src_reg == BPF_PSEUDO_MAP_IDX ||
           insns[i].src_reg == BPF_PSEUDO_MAP_IDX_VALUE) &&
          insns[i].imm >= 0)
        n = std::max(n, uint32_t(insns[i].imm) + 1);
    fd_array.resize(n);
    if (Status st = copy_from_user(fd_array.data(), a.fd_array, n * 4); !st)
      return Status(EFAULT, "fd_array: " + st.message());
  }
  verifier::VerifyResult r = verify_prog(*prog, prog->insns, a.log_level, a.log_size, fd_array, bi);
  // The log goes back as the kernel's bpf_vlog_finalize leaves it, success or not.
  if (a.log_buf && a.log_size) {
    const size_t n = std::min<size_t>(r.log.size(), a.log_size - 1);
    std::string out = r.log.substr(0, n);
    out.push_back('\0');
    if (Status st = copy_to_user(a.log_buf, out.data(), out.size()); !st)
      return Status(EFAULT, "log_buf: " + st.message());
  }
  c.put(kOffLogTrueSize, r.log_true_size);
  if (!r.status) return r.status;
  if (Status st = finish_build(*prog, std::move(*r.program)); !st) return st;
  if (Status st = bind_prog_arrays(*prog); !st) return st;
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
  // A program array whose last user reference went is emptied before a tail call can see it (the
  // kernel empties it at the last close; bpfbox has no close() hook without the shim).
  for (const auto& m : prog->program.maps)
    if (m->type() == BPF_MAP_TYPE_PROG_ARRAY) Objects::get().release_prog_array(*m);
  if (t.data_size_in && !t.data_in) return Status(EFAULT, "data_in is a null pointer");
  // The inputs are copied in (bad pointers are EFAULT); sizes past what any packet or context can
  // be are left to the type's checks, which refuse them before reading.
  constexpr uint32_t kMaxCopy = 64u << 20;
  TestRunArgs args;
  std::vector<uint8_t> data_in, ctx_in;
  if (t.data_size_in <= kMaxCopy) {
    auto d = bytes_from_user(t.data_in, t.data_size_in);
    if (!d) return Status(EFAULT, "data_in: " + d.status().message());
    data_in = std::move(*d);
    args.data_in = data_in;
  } else {
    args.data_in = {uptr<const uint8_t>(t.data_in), t.data_size_in};
  }
  if (t.ctx_in) {
    if (t.ctx_size_in > kMaxCopy) return Status(E2BIG, "ctx_size_in is too large");
    auto d = bytes_from_user(t.ctx_in, t.ctx_size_in);
    if (!d) return Status(EFAULT, "ctx_in: " + d.status().message());
    ctx_in = std::move(*d);
    args.ctx_in = ctx_in;
  }
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
  if (t.data_out && !res.data_out.empty()) {
    if (Status cs = copy_to_user(t.data_out, res.data_out.data(), res.data_out.size()); !cs)
      return Status(EFAULT, "data_out: " + cs.message());
  }
  c.put(offsetof(union bpf_attr, test.data_size_out), res.data_size_out);
  c.put(offsetof(union bpf_attr, test.retval), res.retval);
  c.put(offsetof(union bpf_attr, test.duration), res.duration);
  if (t.ctx_out && !res.ctx_out.empty()) {
    if (Status cs = copy_to_user(t.ctx_out, res.ctx_out.data(), res.ctx_out.size()); !cs)
      return Status(EFAULT, "ctx_out: " + cs.message());
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
  // Building adopts the program's maps, and a prog array's slot may name this very program (a
  // tail call to itself): that slot is left empty here rather than waiting on our own build.
  static thread_local std::vector<const Prog*> building;
  if (std::find(building.begin(), building.end(), &p) != building.end())
    return Status(EDEADLK, "the program is being built on this thread");
  std::lock_guard g(p.build_mu);
  if (p.exe) return Status::ok();
  building.push_back(&p);
  struct Done {
    ~Done() { building.pop_back(); }
  } done;
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
    BtfInput bi;
    bi.btf = p.btf_data;
    bi.func_info = p.func_info_loaded.data();
    bi.func_info_rec_size = sizeof(bpf_func_info);
    bi.func_info_cnt = uint32_t(p.func_info_loaded.size());
    bi.line_info = p.line_info_loaded.data();
    bi.line_info_rec_size = sizeof(bpf_line_info);
    bi.line_info_cnt = uint32_t(p.line_info_loaded.size());
    verifier::VerifyResult r = verify_prog(p, insns, 0, 0, {}, bi);
    st = r.status ? finish_build(p, std::move(*r.program)) : r.status;
  }
  for (int fd : fds) close(fd);
  return st;
}

}  // namespace bpfbox::sys
