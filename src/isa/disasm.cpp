// The kernel log's text for each kind of operation, following kernel/bpf/disasm.c field by field.
#include "isa/disasm.hpp"

#include <cstdarg>
#include <cstdio>

#include "isa/kernel_syntax.hpp"

namespace bpfbox::isa {
namespace {

__attribute__((format(printf, 1, 2))) std::string strf(const char* fmt, ...) {
  char buf[160];
  va_list ap;
  va_start(ap, fmt);
  std::vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  return buf;
}

const char* type_name(const OpInfo& o, bool sign_extending = false) {
  const syntax::SizeWord* s = syntax::size_by_bytes(o.size);
  return (sign_extending ? s->signed_type : s->unsigned_type).data();
}

// The pseudo sources' text (see disasm.hpp); `lo`/`hi` are the two halves of imm64.
std::string lddw_value(const Decoded& d, const DisasmOptions& opts) {
  const auto lo = static_cast<uint32_t>(d.imm64);
  const auto hi = static_cast<uint32_t>(d.imm64 >> 32);
  const std::string hi_suffix = hi ? strf(" hi:%u", hi) : std::string();
  switch (d.src) {
    case BPF_PSEUDO_MAP_FD:
      return strf("map[fd:%u]", lo) + hi_suffix;
    case BPF_PSEUDO_MAP_VALUE:
      return strf("map[fd:%u][0]+%u", lo, hi);
    case BPF_PSEUDO_MAP_IDX:
      return strf("map[idx:%u]", lo) + hi_suffix;
    case BPF_PSEUDO_MAP_IDX_VALUE:
      return strf("map[idx:%u]+%u", lo, hi);
    case BPF_PSEUDO_BTF_ID:
      return strf("btf_id[%u]", lo) + (hi ? strf(" btf_fd:%u", hi) : std::string());
    case BPF_PSEUDO_FUNC:
      return strf("subprog[%+d]", static_cast<int32_t>(lo)) + hi_suffix;
    default:
      return strf("0x%llx%s", static_cast<unsigned long long>(d.imm64),
                  opts.lddw_ll_suffix ? " ll" : "");
  }
}

std::string atomic_text(const Decoded& d, const OpInfo& o) {
  const int32_t imm = o.discr_value;
  const char* type = type_name(o);
  const char* width = o.size == 8 ? "64" : "";
  const uint8_t alu = static_cast<uint8_t>(imm & ~BPF_FETCH);
  if (imm == BPF_CMPXCHG)
    return strf("r0 = atomic%s_cmpxchg((%s *)(r%d %+d), r0, r%d)", width, type, d.dst, d.off,
                d.src);
  if (imm == BPF_XCHG)
    return strf("r%d = atomic%s_xchg((%s *)(r%d %+d), r%d)", d.src, width, type, d.dst, d.off,
                d.src);
  if (imm & BPF_FETCH)
    return strf("r%d = atomic%s_fetch_%s((%s *)(r%d %+d), r%d)", d.src, width,
                syntax::text_of(syntax::kAtomicOps, alu).data(), type, d.dst, d.off, d.src);
  return strf("lock *(%s *)(r%d %+d) %s r%d", type, d.dst, d.off,
              syntax::text_of(syntax::kAluOps, alu).data(), d.src);
}

}  // namespace

std::string disassemble(const Decoded& d, const DisasmOptions& opts) {
  if (d.op >= Op::Count) return "invalid";
  const OpInfo& o = d.info();
  const char r = o.is64 ? 'r' : 'w';
  switch (o.kind) {
    case Kind::Alu: {
      const bool is_signed = o.discr == Discr::Off && o.discr_value == 1;
      const char* op =
          syntax::text_of(is_signed ? std::span<const syntax::OpWord>(syntax::kSignedAluOps)
                                    : std::span<const syntax::OpWord>(syntax::kAluOps),
                          o.op)
              .data();
      if (o.uses_src) return strf("%c%d %s %c%d", r, d.dst, op, r, d.src);
      return strf("%c%d %s %d", r, d.dst, op, d.imm);
    }
    case Kind::Mov:
      if (o.uses_src) return strf("%c%d = %c%d", r, d.dst, r, d.src);
      return strf("%c%d = %d", r, d.dst, d.imm);
    case Kind::Movsx:
      return strf("%c%d = (s%d)%c%d", r, d.dst, o.size, r, d.src);
    case Kind::Neg:
      return strf("%c%d = -%c%d", r, d.dst, r, d.dst);
    case Kind::End:
      // ALU64 is the unconditional swap; the ALU forms convert to/from one byte order.
      if (o.is64) return strf("r%d = bswap%d r%d", d.dst, o.size, d.dst);
      return strf("r%d = %s%d r%d", d.dst, BPF_SRC(o.code) == BPF_TO_BE ? "be" : "le", o.size,
                  d.dst);
    case Kind::Ja:
      return strf("goto pc%+d", d.off);
    case Kind::Gotol:
      return strf("gotol pc%+d", d.imm);
    case Kind::MayGoto:
      return strf("may_goto pc%+d", d.off);
    case Kind::Jcond: {
      const char* op = syntax::text_of(syntax::kJmpOps, o.op).data();
      if (o.uses_src) return strf("if %c%d %s %c%d goto pc%+d", r, d.dst, op, r, d.src, d.off);
      return strf("if %c%d %s 0x%x goto pc%+d", r, d.dst, op, static_cast<uint32_t>(d.imm), d.off);
    }
    case Kind::Call: {
      const std::string name =
          opts.helper_name ? opts.helper_name(d.imm) : std::string(kernel_helper_name(d.imm));
      return strf("call %s#%d", name.c_str(), d.imm);
    }
    case Kind::CallLocal:
      return strf("call pc%+d", d.imm);
    case Kind::CallKfunc:
      if (d.off) return strf("call kernel-function#%d off:%d", d.imm, d.off);
      return strf("call kernel-function#%d", d.imm);
    case Kind::Callx:
      return strf("callx r%d", d.dst);
    case Kind::Exit:
      return "exit";
    case Kind::Lddw:
      return strf("r%d = ", d.dst) + lddw_value(d, opts);
    case Kind::LdAbs:
      return strf("r0 = *(%s *)skb[%d]", type_name(o), d.imm);
    case Kind::LdInd:
      return strf("r0 = *(%s *)skb[r%d + %d]", type_name(o), d.src, d.imm);
    case Kind::Ldx:
    case Kind::Ldxs:
      return strf("r%d = *(%s *)(r%d %+d)", d.dst, type_name(o, o.kind == Kind::Ldxs), d.src,
                  d.off);
    case Kind::St:
      return strf("*(%s *)(r%d %+d) = %d", type_name(o), d.dst, d.off, d.imm);
    case Kind::Stx:
      return strf("*(%s *)(r%d %+d) = r%d", type_name(o), d.dst, d.off, d.src);
    case Kind::Nospec:
      return "nospec";
    case Kind::Atomic:
      return atomic_text(d, o);
    case Kind::LoadAcq:
      return strf("r%d = load_acquire((%s *)(r%d %+d))", d.dst, type_name(o), d.src, d.off);
    case Kind::StoreRel:
      return strf("store_release((%s *)(r%d %+d), r%d)", type_name(o), d.dst, d.off, d.src);
  }
  return "invalid";
}

std::string disassemble_program(std::span<const Insn> prog, const DisasmOptions& opts) {
  std::string out;
  for (size_t pc = 0; pc < prog.size();) {
    Decoded d;
    const bool ok = static_cast<bool>(decode(prog, pc, d));
    out += strf("%zu: (%02x) ", pc, prog[pc].code);
    out += ok ? disassemble(d, opts) : std::string("invalid");
    out += '\n';
    pc += ok ? d.slots : 1;
  }
  return out;
}

}  // namespace bpfbox::isa
