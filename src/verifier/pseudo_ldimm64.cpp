// resolve_pseudo_ldimm64(): the lddw instructions whose source names a map (by fd or by index
// into fd_array, the map itself or an address inside its value) are resolved into env.used_maps
// and InsnAux::map_ptr/map_off; BPF_PSEUDO_FUNC loads are marked for the core; anything else is
// refused. The kernel runs its first opcode sanity check here too ("unknown opcode"), and the
// check of BPF_LDX's reserved fields.
#include <array>
#include <cerrno>

#include "isa/insn.hpp"
#include "verifier/calls_common.hpp"
#include "verifier/passes.hpp"

namespace bpfbox::verifier {

namespace {

constexpr uint32_t kMaxUsedMaps = 64;      // MAX_USED_MAPS
constexpr uint32_t kMaxVarOff = 1u << 29;  // BPF_MAX_VAR_OFF

// Every opcode byte some operation uses (the kernel's bpf_opcode_in_insntable()).
bool opcode_known(uint8_t code) {
  static const std::array<bool, 256> table = [] {
    std::array<bool, 256> t{};
    for (int op = 0; op < isa::kOpCount; ++op) t[isa::info(static_cast<isa::Op>(op)).code] = true;
    return t;
  }();
  return table[code];
}

Status refuse(Env& env, uint32_t pc, Rule rule, int err, const char* msg) {
  env.verbose("%s\n", msg);
  explain(env, rule).at(pc);
  return Status(err, msg);
}

// add_used_map(): the map behind fd, once per program.
Result<const maps::Map*> use_map(Env& env, uint32_t pc, int fd) {
  std::shared_ptr<maps::Map> map;
  int err = EBADF;  // the kernel's: EBADF for a closed fd, EINVAL for an fd of another kind
  if (env.opts.map_by_fd) {
    Result<std::shared_ptr<maps::Map>> r = env.opts.map_by_fd(fd);
    if (r.is_ok())
      map = std::move(r.value());
    else if (r.status().err())
      err = r.status().err();
  }
  if (!map) {
    env.verbose("fd %d is not pointing to valid bpf_map\n", fd);
    explain(env, Rule::BadLdImm64).at(pc).hint("the lddw's imm must be the fd of a map");
    return Status(err, "fd is not pointing to a valid bpf_map");
  }
  for (const auto& m : env.used_maps)
    if (m == map) return m.get();
  if (env.used_maps.size() >= kMaxUsedMaps) {
    env.verbose("The total number of maps per program has reached the limit of %u\n", kMaxUsedMaps);
    explain(env, Rule::ProgramSize).at(pc);
    return Status(E2BIG, "too many maps");
  }
  // check_map_prog_compatibility(): spin locks are not for socket filters.
  if (map->spin_lock_off() >= 0 && env.opts.load.prog_type == BPF_PROG_TYPE_SOCKET_FILTER) {
    env.verbose("socket filter progs cannot use bpf_spin_lock yet\n");
    explain(env, Rule::SpinLock).at(pc);
    return Status(EINVAL, "socket filter progs cannot use bpf_spin_lock yet");
  }
  env.used_maps.push_back(map);
  return map.get();
}

}  // namespace

Status resolve_pseudo_ldimm64(Env& env) {
  std::vector<struct bpf_insn>& insns = env.insns;
  const uint32_t n = static_cast<uint32_t>(insns.size());
  for (uint32_t i = 0; i < n; ++i) {
    struct bpf_insn& in = insns[i];
    if (BPF_CLASS(in.code) == BPF_LDX &&
        ((BPF_MODE(in.code) != BPF_MEM && BPF_MODE(in.code) != BPF_MEMSX) || in.imm != 0))
      return refuse(env, i, Rule::BadInsn, EINVAL, "BPF_LDX uses reserved fields");
    if (in.code != (BPF_LD | BPF_IMM | BPF_DW)) {
      if (!opcode_known(in.code)) {
        env.verbose("unknown opcode %02x\n", in.code);
        explain(env, Rule::BadInsn).at(i);
        return Status(EINVAL, "unknown opcode");
      }
      continue;
    }
    if (i == n - 1 || insns[i + 1].code != 0 || insns[i + 1].dst_reg != 0 ||
        insns[i + 1].src_reg != 0 || insns[i + 1].off != 0)
      return refuse(env, i, Rule::BadLdImm64, EINVAL, "invalid bpf_ld_imm64 insn");
    InsnAux& aux = env.aux[i];
    const uint8_t src = in.src_reg;
    if (src == 0) {
      ++i;
      continue;
    }
    if (src == BPF_PSEUDO_FUNC) {
      aux.ptr_type = PTR_TO_FUNC;
      // The subprogram it names (check_subprogs made the target one): the core's subprogno.
      const int sub = calls::find_subprog(env, static_cast<uint32_t>(int64_t(i) + in.imm + 1));
      aux.call_imm = sub < 0 ? 0u : static_cast<uint32_t>(sub);
      ++i;
      continue;
    }
    if (src == BPF_PSEUDO_BTF_ID) {
      // Kernel variables (ksym) need the kernel's BTF, which bpfbox does not have.
      env.verbose(
          "kernel is missing BTF, make sure CONFIG_DEBUG_INFO_BTF=y is specified in "
          "Kconfig.\n");
      explain(env, Rule::BadLdImm64).at(i);
      return Status(EINVAL, "BPF_PSEUDO_BTF_ID needs kernel BTF");
    }
    const bool value = src == BPF_PSEUDO_MAP_VALUE || src == BPF_PSEUDO_MAP_IDX_VALUE;
    const bool map_ref = src == BPF_PSEUDO_MAP_FD || src == BPF_PSEUDO_MAP_IDX;
    if (!value && !(map_ref && insns[i + 1].imm == 0))
      return refuse(env, i, Rule::BadLdImm64, EINVAL, "unrecognized bpf_ld_imm64 insn");
    int fd = in.imm;
    if (src == BPF_PSEUDO_MAP_IDX || src == BPF_PSEUDO_MAP_IDX_VALUE) {
      if (env.opts.fd_array.empty())
        return refuse(env, i, Rule::BadLdImm64, EPROTO, "fd_idx without fd_array is invalid");
      const uint32_t idx = static_cast<uint32_t>(in.imm);
      if (idx >= env.opts.fd_array.size()) {
        explain(env, Rule::BadLdImm64).at(i);
        return Status(EFAULT, "fd_array index out of range");
      }
      fd = env.opts.fd_array[idx];
    }
    Result<const maps::Map*> map = use_map(env, i, fd);
    if (!map) return map.status();
    aux.map_ptr = map.value();
    if (value) {
      const uint32_t off = static_cast<uint32_t>(insns[i + 1].imm);
      if (off >= kMaxVarOff) {
        env.verbose("direct value offset of %u is not allowed\n", off);
        explain(env, Rule::BadLdImm64).at(i);
        return Status(EINVAL, "direct value offset not allowed");
      }
      // map_direct_value_addr(): only single-element arrays have one value to point into.
      if (aux.map_ptr->type() != BPF_MAP_TYPE_ARRAY)
        return refuse(env, i, Rule::BadLdImm64, EINVAL,
                      "no direct value access support for this map type");
      if (aux.map_ptr->max_entries() != 1 || off >= aux.map_ptr->value_size()) {
        env.verbose("invalid access to map value pointer, value_size=%u off=%u\n",
                    aux.map_ptr->value_size(), off);
        explain(env, Rule::BadLdImm64).at(i).access(off, 1, aux.map_ptr->value_size());
        return Status(aux.map_ptr->max_entries() != 1 ? maps::kENOTSUPP : EINVAL,
                      "invalid access to map value pointer");
      }
      aux.map_off = off;
    }
    ++i;
  }
  return Status::ok();
}

}  // namespace bpfbox::verifier
