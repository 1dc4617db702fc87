// Which registers each instruction reads and writes: the JIT's liveness and register use, the
// engines' shared input check (no write to r10), and later the verifier all ask the same question.
#include "isa/reg_effects.hpp"

namespace bpfbox::isa {

void reg_effects(const Decoded& d, const OpInfo& o, uint16_t& reads, uint16_t& writes) {
  const uint16_t dst = static_cast<uint16_t>(1u << d.dst);
  const uint16_t src = static_cast<uint16_t>(1u << d.src);
  reads = writes = 0;
  switch (o.kind) {
    case Kind::Alu:
      reads = static_cast<uint16_t>(dst | (o.uses_src ? src : 0));
      writes = dst;
      break;
    case Kind::Neg:
    case Kind::End:
      reads = writes = dst;
      break;
    case Kind::Mov:
      reads = o.uses_src ? src : 0;
      writes = dst;
      break;
    case Kind::Movsx:
      reads = src;
      writes = dst;
      break;
    case Kind::Jcond:
      reads = static_cast<uint16_t>(dst | (o.uses_src ? src : 0));
      break;
    case Kind::Call:
    case Kind::CallKfunc:
      reads = 0x3e;   // r1..r5
      writes = 0x3f;  // r0, and r1..r5 are clobbered
      break;
    case Kind::CallLocal:
      reads = 0x3e;
      writes = 0x3f;
      break;
    case Kind::Callx:
      reads = static_cast<uint16_t>(dst | 0x3e);
      writes = 0x3f;
      break;
    case Kind::Exit:
      reads = 1;
      break;
    case Kind::Lddw:
      writes = dst;
      break;
    case Kind::LdAbs:
      writes = 1;
      break;
    case Kind::LdInd:
      reads = src;
      writes = 1;
      break;
    case Kind::Ldx:
    case Kind::Ldxs:
    case Kind::LoadAcq:
      reads = src;
      writes = dst;
      break;
    case Kind::St:
      reads = dst;
      break;
    case Kind::Stx:
    case Kind::StoreRel:
      reads = static_cast<uint16_t>(dst | src);
      break;
    case Kind::Atomic: {
      reads = static_cast<uint16_t>(dst | src);
      const int32_t a = d.imm;
      if (a == BPF_CMPXCHG) {
        reads |= 1;
        writes = 1;
      } else if (a & BPF_FETCH) {
        writes = src;
      }
      break;
    }
    case Kind::Ja:
    case Kind::Gotol:
    case Kind::MayGoto:
    case Kind::Nospec:
      break;
  }
}

void reg_effects(const Decoded& d, uint16_t& reads, uint16_t& writes) {
  reg_effects(d, d.info(), reads, writes);
}

}  // namespace bpfbox::isa
