#include "isa/access_size.hpp"
#include "isa/decoder.hpp"

#include <array>
#include <cstdio>
#include <string>

namespace bpfbox::isa {
namespace {

Kind kind_of(uint8_t code, int32_t dval, Discr discr) {
  const uint8_t cls = BPF_CLASS(code);
  const uint8_t op = BPF_OP(code);
  switch (cls) {
    case BPF_ALU:
    case BPF_ALU64:
      if (op == BPF_NEG) return Kind::Neg;
      if (op == BPF_END) return Kind::End;
      if (op == BPF_MOV) return (discr == Discr::Off && dval != 0) ? Kind::Movsx : Kind::Mov;
      return Kind::Alu;
    case BPF_JMP:
    case BPF_JMP32:
      if (op == BPF_JA) return cls == BPF_JMP ? Kind::Ja : Kind::Gotol;
      if (op == BPF_CALL) {
        if (BPF_SRC(code) == BPF_X) return Kind::Callx;
        return dval == BPF_PSEUDO_CALL         ? Kind::CallLocal
               : dval == BPF_PSEUDO_KFUNC_CALL ? Kind::CallKfunc
                                               : Kind::Call;
      }
      if (op == BPF_EXIT) return Kind::Exit;
      if (op == BPF_JCOND) return Kind::MayGoto;
      return Kind::Jcond;
    case BPF_LD:
      if (BPF_MODE(code) == BPF_IMM) return Kind::Lddw;
      return BPF_MODE(code) == BPF_ABS ? Kind::LdAbs : Kind::LdInd;
    case BPF_LDX:
      return BPF_MODE(code) == BPF_MEMSX ? Kind::Ldxs : Kind::Ldx;
    case BPF_ST:
      return BPF_MODE(code) == BPF_NOSPEC ? Kind::Nospec : Kind::St;
    default:  // BPF_STX
      if (BPF_MODE(code) == BPF_MEM) return Kind::Stx;
      if (dval == BPF_LOAD_ACQ) return Kind::LoadAcq;
      if (dval == BPF_STORE_REL) return Kind::StoreRel;
      return Kind::Atomic;
  }
}

constexpr OpInfo make_info(const char* name, uint8_t code, Discr discr, int32_t dval, uint8_t zero,
                           const char* mnemonic) {
  return OpInfo{name, mnemonic, code, discr, dval, zero, Kind::Alu, 0, false, false, 0};
}

struct Tables {
  std::array<OpInfo, kOpCount> info{};
  // Every operation sharing an opcode byte, at most a handful.
  std::array<std::array<Op, 12>, 256> by_code{};
  std::array<uint8_t, 256> n_by_code{};

  Tables() {
    const OpInfo rows[] = {
#define BPFBOX_OP(name, code, discr, dval, zero, mn) make_info(#name, code, discr, dval, zero, mn),
#include "isa/ops.def"
#undef BPFBOX_OP
    };
    for (int i = 0; i < kOpCount; ++i) {
      OpInfo o = rows[i];
      const uint8_t cls = BPF_CLASS(o.code);
      o.kind = kind_of(o.code, o.discr_value, o.discr);
      const bool alu_or_jmp =
          cls == BPF_ALU || cls == BPF_ALU64 || cls == BPF_JMP || cls == BPF_JMP32;
      o.op = alu_or_jmp ? BPF_OP(o.code) : BPF_MODE(o.code);
      o.uses_src = alu_or_jmp ? BPF_SRC(o.code) == BPF_X : cls == BPF_STX || cls == BPF_LDX;
      if (o.kind == Kind::LdInd) o.uses_src = true;
      switch (o.kind) {
        case Kind::End:
          o.size = static_cast<uint8_t>(o.discr_value);
          o.is64 = cls == BPF_ALU64;
          break;
        case Kind::Movsx:
          o.size = static_cast<uint8_t>(o.discr_value);
          o.is64 = cls == BPF_ALU64;
          break;
        case Kind::Lddw:
          o.size = 8;
          o.is64 = true;
          break;
        case Kind::LdAbs:
        case Kind::LdInd:
        case Kind::Ldx:
        case Kind::Ldxs:
        case Kind::St:
        case Kind::Stx:
        case Kind::Atomic:
        case Kind::LoadAcq:
        case Kind::StoreRel:
          o.size = static_cast<uint8_t>(access_bytes(o.code));
          o.is64 = o.size == 8;
          break;
        default:
          o.is64 = cls == BPF_ALU64 || cls == BPF_JMP;
          break;
      }
      info[i] = o;
      by_code[o.code][n_by_code[o.code]++] = static_cast<Op>(i);
    }
  }
};

const Tables& tables() {
  static const Tables t;
  return t;
}

const char* class_name(uint8_t code) {
  static const char* const names[] = {"BPF_LD",  "BPF_LDX", "BPF_ST",    "BPF_STX",
                                      "BPF_ALU", "BPF_JMP", "BPF_JMP32", "BPF_ALU64"};
  return names[BPF_CLASS(code)];
}

Status fail(size_t pc, const Insn& insn, const char* what) {
  char buf[160];
  std::snprintf(buf, sizeof buf, "%s (insn %zu, opcode %02x)", what, pc, insn.code);
  return Status(EINVAL, buf);
}

}  // namespace

const OpInfo& info(Op op) {
  return tables().info[static_cast<size_t>(op)];
}

std::optional<Op> identify(const Insn& insn) {
  const Tables& t = tables();
  const uint8_t n = t.n_by_code[insn.code];
  for (uint8_t i = 0; i < n; ++i) {
    const Op op = t.by_code[insn.code][i];
    const OpInfo& o = t.info[static_cast<size_t>(op)];
    switch (o.discr) {
      case Discr::None:
        return op;
      case Discr::Off:
        if (insn.off == o.discr_value) return op;
        break;
      case Discr::Imm:
        if (insn.imm == o.discr_value) return op;
        break;
      case Discr::Src:
        if (insn.src_reg == o.discr_value) return op;
        break;
    }
  }
  return std::nullopt;
}

std::optional<int64_t> Decoded::target(size_t pc) const {
  const int64_t next = static_cast<int64_t>(pc) + 1;
  switch (info().kind) {
    case Kind::Ja:
    case Kind::Jcond:
    case Kind::MayGoto:
      return next + off;
    case Kind::Gotol:
    case Kind::CallLocal:
      return next + imm;
    case Kind::Lddw:
      if (src == BPF_PSEUDO_FUNC) return next + imm;
      return std::nullopt;
    default:
      return std::nullopt;
  }
}

Status decode(std::span<const Insn> prog, size_t pc, Decoded& out) {
  const Insn& insn = prog[pc];
  const std::optional<Op> op = identify(insn);
  if (!op) {
    char buf[96];
    std::snprintf(buf, sizeof buf, "unknown opcode %02x (insn %zu)", insn.code, pc);
    return Status(EINVAL, buf);
  }
  const OpInfo& o = info(*op);
  // AX (r11) is only the rewrite's, in ALU instructions.
  const bool alu = o.kind == Kind::Alu || o.kind == Kind::Mov || o.kind == Kind::Neg;
  const auto bad = [&](uint8_t r) { return r > kMaxReg && !(alu && r == kRegAx); };
  if (bad(insn.dst_reg) || bad(insn.src_reg)) {
    if (o.kind != Kind::Lddw && o.kind != Kind::Call && o.kind != Kind::CallLocal &&
        o.kind != Kind::CallKfunc)
      return fail(pc, insn,
                  bad(insn.dst_reg) ? "invalid destination register" : "invalid source register");
  }
  const uint8_t z = o.zero_mask;
  if (((z & Zero::Dst) && insn.dst_reg) || ((z & Zero::Src) && insn.src_reg) ||
      ((z & Zero::Off) && insn.off) || ((z & Zero::Imm) && insn.imm)) {
    std::string what = std::string(class_name(insn.code)) + " uses reserved fields";
    if (o.kind == Kind::Exit) what = "BPF_EXIT uses reserved fields";
    if (o.kind == Kind::Call) what = "BPF_CALL uses reserved fields";
    if (o.kind == Kind::Ja || o.kind == Kind::Gotol) what = "BPF_JA uses reserved fields";
    return fail(pc, insn, what.c_str());
  }
  out = Decoded{*op, insn.dst_reg, insn.src_reg, insn.off, insn.imm, 0, 1};
  if (o.kind == Kind::Lddw) {
    if (insn.dst_reg > kMaxReg) return fail(pc, insn, "invalid destination register");
    if (pc + 1 >= prog.size()) return fail(pc, insn, "invalid bpf_ld_imm64 insn");
    const Insn& hi = prog[pc + 1];
    if (hi.code != 0 || hi.dst_reg != 0 || hi.src_reg != 0 || hi.off != 0)
      return fail(pc, insn, "invalid bpf_ld_imm64 insn");
    if (insn.src_reg > BPF_PSEUDO_MAP_IDX_VALUE)
      return fail(pc, insn, "unrecognized bpf_ld_imm64 insn");
    out.imm64 = (static_cast<uint64_t>(static_cast<uint32_t>(hi.imm)) << 32) |
                static_cast<uint32_t>(insn.imm);
    out.slots = 2;
  }
  if (o.kind == Kind::LdAbs && insn.src_reg)
    return fail(pc, insn, "BPF_LD_[ABS|IND] uses reserved fields");
  return Status::ok();
}

Result<std::vector<Decoded>> decode_program(std::span<const Insn> prog) {
  if (prog.empty()) return Status(EINVAL, "empty program");
  if (prog.size() > kMaxInsns) return Status(E2BIG, "program too large");
  std::vector<Decoded> out(prog.size());
  for (size_t pc = 0; pc < prog.size();) {
    if (Status st = decode(prog, pc, out[pc]); !st) return st;
    if (out[pc].slots == 2) {
      out[pc + 1] = out[pc];
      out[pc + 1].slots = 0;
      pc += 2;
    } else {
      pc += 1;
    }
  }
  for (size_t pc = 0; pc < prog.size(); ++pc) {
    const Decoded& d = out[pc];
    if (d.slots == 0) continue;
    const std::optional<int64_t> t = d.target(pc);
    if (!t) continue;
    char buf[128];
    const bool is_call = d.info().kind == Kind::CallLocal || d.info().kind == Kind::Lddw;
    if (*t < 0 || *t >= static_cast<int64_t>(prog.size())) {
      if (is_call)
        std::snprintf(buf, sizeof buf, "call to invalid destination (insn %zu to %lld)", pc,
                      static_cast<long long>(*t));
      else
        std::snprintf(buf, sizeof buf, "jump out of range from insn %zu to %lld", pc,
                      static_cast<long long>(*t));
      return Status(EINVAL, buf);
    }
    if (out[*t].slots == 0) {
      std::snprintf(buf, sizeof buf, "jump into the middle of ldimm64 insn %lld (from insn %zu)",
                    static_cast<long long>(*t - 1), pc);
      return Status(EINVAL, buf);
    }
  }
  const Decoded& last = out.back().slots == 0 ? out[out.size() - 2] : out.back();
  const Kind lk = last.info().kind;
  if (out.back().slots == 0 || (lk != Kind::Exit && lk != Kind::Ja && lk != Kind::Gotol))
    return Status(EINVAL, "last insn is not an exit or jmp");
  return out;
}

Insn encode(Op op, uint8_t dst, uint8_t src, int16_t off, int32_t imm) {
  const OpInfo& o = info(op);
  switch (o.discr) {
    case Discr::Off:
      off = static_cast<int16_t>(o.discr_value);
      break;
    case Discr::Imm:
      imm = o.discr_value;
      break;
    case Discr::Src:
      src = static_cast<uint8_t>(o.discr_value);
      break;
    case Discr::None:
      break;
  }
  Insn insn{};
  insn.code = o.code;
  insn.dst_reg = dst & 0xf;
  insn.src_reg = src & 0xf;
  insn.off = off;
  insn.imm = imm;
  return insn;
}

void encode_lddw(uint8_t dst, uint8_t pseudo_src, uint64_t imm64, Insn out[2]) {
  out[0] = encode(Op::Lddw, dst, pseudo_src, 0, static_cast<int32_t>(static_cast<uint32_t>(imm64)));
  out[1] = Insn{};
  out[1].imm = static_cast<int32_t>(static_cast<uint32_t>(imm64 >> 32));
}

}  // namespace bpfbox::isa
