// The kernel's bpf_skb_is_valid_access and bpf_convert_ctx_access (net/core/filter.c), over
// bpfbox's Skb. Fields of the socket a packet belongs to (family .. local_port, sk) are refused by
// every type bpfbox has, or read as NULL (sk): bpfbox skbs have no socket.
#include "progs/skb_access.hpp"

#include "progs/ctx_insn.hpp"
#include "progs/skb.hpp"

namespace bpfbox::progs {

#define SKB(member) BPFBOX_CTX_FIELD(struct __sk_buff, member)

bool skb_is_valid_access(int32_t off, uint32_t size, AccessType type, CtxAccessInfo* info) {
  constexpr uint32_t size_default = 4;
  if (off < 0 || off >= static_cast<int32_t>(sizeof(struct __sk_buff))) return false;
  if (off % size != 0) return false;
  const int32_t cb_end = offsetof(struct __sk_buff, cb) + sizeof(((__sk_buff*)nullptr)->cb);
  const int32_t tstamp_type_end = offsetof(struct __sk_buff, tstamp_type) + 1;
  if (in_field(off, SKB(cb))) {
    return off + static_cast<int32_t>(size) <= cb_end;  // any size within cb[]
  }
  if (in_field(off, SKB(data)) || in_field(off, SKB(data_meta)) || in_field(off, SKB(data_end)))
    return !info->is_ldsx && size == size_default;
  if (in_field(off, SKB(remote_ip6)) || in_field(off, SKB(local_ip6)) ||
      in_field(off, SKB(remote_ip4)) || in_field(off, SKB(local_ip4)))
    return size == size_default;
  if (in_field(off, SKB(flow_keys))) return false;
  if (in_field(off, SKB(hwtstamp))) return type == AccessType::Read && size == 8;
  if (in_field(off, SKB(tstamp))) return size == 8;
  if (in_field(off, SKB(sk))) {
    if (type == AccessType::Write || size != 8) return false;
    info->reg_type = uint32_t(PTR_TO_SOCK_COMMON) | PTR_MAYBE_NULL;
    return true;
  }
  if (off == static_cast<int32_t>(offsetof(struct __sk_buff, tstamp_type))) return false;
  // The padding between tstamp_type and hwtstamp.
  if (off >= tstamp_type_end && off < static_cast<int32_t>(offsetof(struct __sk_buff, hwtstamp)))
    return false;
  if (type == AccessType::Write) return size == size_default;  // only full-width writes
  info->ctx_field_size = size_default;
  return narrow_access_ok(size, size_default);
}

uint32_t skb_convert_ctx_access(AccessType type, const struct bpf_insn& si, struct bpf_insn* out,
                                uint32_t* target_size) {
  bpf_insn* insn = out;
  const uint8_t dst = si.dst_reg, src = si.src_reg;
  const bool write = type == AccessType::Write;
  // A field read or written whole, of `size` bytes at `skb_off` in the Skb.
  auto field = [&](uint8_t size_code, size_t skb_off, uint32_t bytes) {
    *target_size = bytes;
    *insn++ = write ? emit_store(size_code, si, skb_off) : ldx_mem(size_code, dst, src, skb_off);
  };
  const int32_t off = si.off;
  if (in_field(off, SKB(cb))) {
    // Any width at any offset inside cb[], onto the same bytes of Skb::cb.
    const size_t skb_off = offsetof(Skb, cb) + (off - offsetof(struct __sk_buff, cb));
    const uint8_t size_code = BPF_SIZE(si.code);
    *insn++ = write ? emit_store(size_code, si, skb_off) : ldx_mem(size_code, dst, src, skb_off);
    return static_cast<uint32_t>(insn - out);
  }
  switch (off) {
    case offsetof(struct __sk_buff, len):
      field(BPF_W, offsetof(Skb, len), 4);
      break;
    case offsetof(struct __sk_buff, pkt_type):
      field(BPF_B, offsetof(Skb, pkt_type), 1);
      *insn++ = alu32_imm(BPF_AND, dst, kPktTypeMax);
      break;
    case offsetof(struct __sk_buff, mark):
      field(BPF_W, offsetof(Skb, mark), 4);
      break;
    case offsetof(struct __sk_buff, queue_mapping):
      if (write) {
        *target_size = 2;
        // Writing NO_QUEUE_MAPPING is ignored: a no-op for the constant, a skip for a register.
        if (BPF_CLASS(si.code) == BPF_ST && si.imm >= kNoQueueMapping) {
          *insn++ = jmp_a(0);
          break;
        }
        if (BPF_CLASS(si.code) == BPF_STX) *insn++ = jmp_imm(BPF_JGE, src, kNoQueueMapping, 1);
        *insn++ = emit_store(BPF_H, si, offsetof(Skb, queue_mapping));
      } else {
        field(BPF_H, offsetof(Skb, queue_mapping), 2);
      }
      break;
    case offsetof(struct __sk_buff, protocol):
      field(BPF_H, offsetof(Skb, protocol), 2);
      break;
    case offsetof(struct __sk_buff, vlan_present):
      // vlan_proto and vlan_tci together are the kernel's vlan_all: present when not zero.
      static_assert(offsetof(Skb, vlan_tci) == offsetof(Skb, vlan_proto) + 2 &&
                    offsetof(Skb, vlan_proto) % 4 == 0);
      field(BPF_W, offsetof(Skb, vlan_proto), 4);
      *insn++ = jmp_imm(BPF_JEQ, dst, 0, 1);
      *insn++ = alu32_imm(BPF_MOV, dst, 1);
      break;
    case offsetof(struct __sk_buff, vlan_tci):
      field(BPF_H, offsetof(Skb, vlan_tci), 2);
      break;
    case offsetof(struct __sk_buff, vlan_proto):
      field(BPF_H, offsetof(Skb, vlan_proto), 2);
      break;
    case offsetof(struct __sk_buff, priority):
      field(BPF_W, offsetof(Skb, priority), 4);
      break;
    case offsetof(struct __sk_buff, ingress_ifindex):
      field(BPF_W, offsetof(Skb, ingress_ifindex), 4);
      break;
    case offsetof(struct __sk_buff, ifindex):
      field(BPF_W, offsetof(Skb, ifindex), 4);
      break;
    case offsetof(struct __sk_buff, tc_index):
      field(BPF_H, offsetof(Skb, tc_index), 2);
      break;
    case offsetof(struct __sk_buff, hash):
      field(BPF_W, offsetof(Skb, hash), 4);
      break;
    case offsetof(struct __sk_buff, tc_classid):
      field(BPF_H, offsetof(Skb, tc_classid), 2);
      break;
    case offsetof(struct __sk_buff, data):
      field(BPF_DW, offsetof(Skb, data), 8);
      break;
    case offsetof(struct __sk_buff, data_meta):
      field(BPF_DW, offsetof(Skb, data_meta), 8);
      break;
    case offsetof(struct __sk_buff, data_end):
      field(BPF_DW, offsetof(Skb, data_end), 8);
      break;
    case offsetof(struct __sk_buff, napi_id):
      field(BPF_W, offsetof(Skb, napi_id), 4);
      break;
    case offsetof(struct __sk_buff, tstamp):
      field(BPF_DW, offsetof(Skb, tstamp), 8);
      break;
    case offsetof(struct __sk_buff, tstamp_type):
      field(BPF_B, offsetof(Skb, tstamp_type), 1);
      *insn++ = alu32_imm(BPF_AND, dst, 3);  // SKB_TSTAMP_TYPE_MASK
      break;
    case offsetof(struct __sk_buff, wire_len):
      field(BPF_W, offsetof(Skb, wire_len), 4);
      break;
    case offsetof(struct __sk_buff, gso_segs):
      field(BPF_H, offsetof(Skb, gso_segs), 2);
      break;
    case offsetof(struct __sk_buff, gso_size):
      field(BPF_H, offsetof(Skb, gso_size), 2);
      break;
    case offsetof(struct __sk_buff, hwtstamp):
      field(BPF_DW, offsetof(Skb, hwtstamp), 8);
      break;
    case offsetof(struct __sk_buff, sk):
      // No socket behind a bpfbox skb: the pointer the program may test for NULL is NULL.
      *target_size = 8;
      *insn++ = mov64_imm(dst, 0);
      break;
    default:
      return 0;  // not a field bpfbox's skb types allow
  }
  return static_cast<uint32_t>(insn - out);
}

#undef SKB

}  // namespace bpfbox::progs
