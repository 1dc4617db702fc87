// The sk_buff helpers of socket filters and tc programs (net/core/filter.c) over the Skb context:
// bytes in and out of the packet, pulling data in (bpfbox skbs are always linear, so a pull only
// checks the length), and the flow hash.
#include <cerrno>
#include <climits>
#include <cstring>
#include <random>

#include "helpers/csum.hpp"
#include "helpers/protos.hpp"
#include "progs/skb.hpp"

namespace bpfbox::helpers {
namespace {

progs::Skb* skb_of(uint64_t r) {
  return reinterpret_cast<progs::Skb*>(r);
}
uint64_t err(int e) {
  return static_cast<uint64_t>(-static_cast<int64_t>(e));
}

// skb_clear_hash().
void clear_hash(progs::Skb* skb) {
  skb->hash = 0;
  skb->sw_hash = 0;
  skb->l4_hash = 0;
}

uint64_t skb_load_bytes(uint64_t ctx, uint64_t offset, uint64_t to, uint64_t len, uint64_t,
                        vm::RunContext*) {
  const progs::Skb* skb = skb_of(ctx);
  auto* dst = reinterpret_cast<uint8_t*>(to);
  const uint32_t off = static_cast<uint32_t>(offset), n = static_cast<uint32_t>(len);
  if (off <= INT_MAX && uint64_t(off) + n <= skb->len) {  // skb_header_pointer()
    std::memcpy(dst, skb->data + off, n);
    return 0;
  }
  std::memset(dst, 0, n);
  return err(EFAULT);
}

uint64_t skb_load_bytes_relative(uint64_t ctx, uint64_t offset, uint64_t to, uint64_t len,
                                 uint64_t start_header, vm::RunContext*) {
  const progs::Skb* skb = skb_of(ctx);
  auto* dst = reinterpret_cast<uint8_t*>(to);
  const uint32_t off = static_cast<uint32_t>(offset), n = static_cast<uint32_t>(len);
  const uint8_t* start = nullptr;
  if (off <= 0xffff) {
    switch (static_cast<uint32_t>(start_header)) {
      case BPF_HDR_START_MAC:
        start = skb->data + skb->network_offset - skb->mac_len;
        break;
      case BPF_HDR_START_NET:
        start = skb->data + skb->network_offset;
        break;
    }
  }
  if (start && start + off + n <= skb->data_end) {
    std::memcpy(dst, start + off, n);
    return 0;
  }
  std::memset(dst, 0, n);
  return err(EFAULT);
}

uint64_t skb_store_bytes(uint64_t ctx, uint64_t offset, uint64_t from, uint64_t len, uint64_t flags,
                         vm::RunContext*) {
  progs::Skb* skb = skb_of(ctx);
  const auto* src = reinterpret_cast<const uint8_t*>(from);
  const uint32_t off = static_cast<uint32_t>(offset), n = static_cast<uint32_t>(len);
  if (flags & ~uint64_t(BPF_F_RECOMPUTE_CSUM | BPF_F_INVALIDATE_HASH)) return err(EINVAL);
  if (off > INT_MAX) return err(EFAULT);
  if (uint64_t(off) + n > skb->len) return err(EFAULT);  // bpf_try_make_writable()
  uint8_t* ptr = skb->data + off;
  // __skb_postpull_rcsum / __skb_postpush_rcsum: only a CHECKSUM_COMPLETE sum covers the data.
  const bool rcsum = (flags & BPF_F_RECOMPUTE_CSUM) && skb->ip_summed == progs::kChecksumComplete;
  if (rcsum) skb->csum = csum_sub(skb->csum, csum_partial(ptr, n, 0));
  std::memmove(ptr, src, n);
  if (rcsum) skb->csum = csum_add(skb->csum, csum_partial(ptr, n, 0));
  if (flags & BPF_F_INVALIDATE_HASH) clear_hash(skb);
  return 0;
}

// The whole packet is linear, so pulling succeeds for any length within it (-ENOMEM beyond, as
// skb_ensure_writable's failed pskb_may_pull).
uint64_t skb_pull_data(uint64_t ctx, uint64_t len, uint64_t, uint64_t, uint64_t, vm::RunContext*) {
  const progs::Skb* skb = skb_of(ctx);
  const uint32_t n = static_cast<uint32_t>(len);
  return n <= skb->len ? 0 : err(ENOMEM);
}

// A software flow hash over the addresses, protocol and ports, keyed per process as the kernel
// keys its own per boot (hashrnd): stable within a run, not the kernel's value. 0 becomes 1.
uint32_t flow_hash(const progs::Skb* skb, bool* l4) {
  static const uint32_t key = std::random_device{}();
  uint32_t h = key;
  auto mix = [&h](const uint8_t* p, uint32_t n) {
    for (uint32_t i = 0; i < n; i++) h = (h ^ p[i]) * 16777619u;
  };
  const uint8_t* net = skb->data + skb->network_offset;
  const uint8_t* end = skb->data_end;
  *l4 = false;
  uint8_t proto = 0;
  const uint8_t* l4hdr = nullptr;
  if (skb->protocol == 0x0008 && net + 20 <= end) {  // htons(ETH_P_IP)
    mix(net + 12, 8);
    proto = net[9];
    l4hdr = net + (net[0] & 0xf) * 4;
  } else if (skb->protocol == 0xdd86 && net + 40 <= end) {  // htons(ETH_P_IPV6)
    mix(net + 8, 32);
    proto = net[6];
    l4hdr = net + 40;
  } else {
    return 0;
  }
  mix(&proto, 1);
  if ((proto == 6 || proto == 17) && l4hdr + 4 <= end) {
    mix(l4hdr, 4);
    *l4 = true;
  }
  return h ? h : 1;
}

uint64_t get_hash_recalc(uint64_t ctx, uint64_t, uint64_t, uint64_t, uint64_t, vm::RunContext*) {
  progs::Skb* skb = skb_of(ctx);
  if (!skb->l4_hash && !skb->sw_hash) {  // skb_get_hash()
    bool l4 = false;
    skb->hash = flow_hash(skb, &l4);
    skb->sw_hash = skb->hash != 0;
    skb->l4_hash = l4;
  }
  return skb->hash;
}

uint64_t set_hash_invalid(uint64_t ctx, uint64_t, uint64_t, uint64_t, uint64_t, vm::RunContext*) {
  clear_hash(skb_of(ctx));
  return 0;
}

uint64_t set_hash(uint64_t ctx, uint64_t hash, uint64_t, uint64_t, uint64_t, vm::RunContext*) {
  progs::Skb* skb = skb_of(ctx);
  skb->hash = static_cast<uint32_t>(hash);  // __skb_set_sw_hash(skb, hash, true)
  skb->sw_hash = 1;
  skb->l4_hash = 1;
  return 0;
}

}  // namespace

const HelperProto kSkbLoadBytesProto{
    .func_id = BPF_FUNC_skb_load_bytes,
    .name = "bpf_skb_load_bytes",
    .fn = skb_load_bytes,
    .ret_type = RET_INTEGER,
    .arg_type = {ARG_PTR_TO_CTX, ARG_ANYTHING, ARG_PTR_TO_UNINIT_MEM, ARG_CONST_SIZE}};
const HelperProto kSkbLoadBytesRelativeProto{
    .func_id = BPF_FUNC_skb_load_bytes_relative,
    .name = "bpf_skb_load_bytes_relative",
    .fn = skb_load_bytes_relative,
    .ret_type = RET_INTEGER,
    .arg_type = {ARG_PTR_TO_CTX, ARG_ANYTHING, ARG_PTR_TO_UNINIT_MEM, ARG_CONST_SIZE,
                 ARG_ANYTHING}};
const HelperProto kSkbStoreBytesProto{
    .func_id = BPF_FUNC_skb_store_bytes,
    .name = "bpf_skb_store_bytes",
    .fn = skb_store_bytes,
    .changes_pkt_data = true,
    .ret_type = RET_INTEGER,
    .arg_type = {ARG_PTR_TO_CTX, ARG_ANYTHING, uint32_t(ARG_PTR_TO_MEM) | MEM_RDONLY,
                 ARG_CONST_SIZE, ARG_ANYTHING}};
const HelperProto kSkbPullDataProto{.func_id = BPF_FUNC_skb_pull_data,
                                    .name = "bpf_skb_pull_data",
                                    .fn = skb_pull_data,
                                    .changes_pkt_data = true,
                                    .ret_type = RET_INTEGER,
                                    .arg_type = {ARG_PTR_TO_CTX, ARG_ANYTHING}};
const HelperProto kGetHashRecalcProto{.func_id = BPF_FUNC_get_hash_recalc,
                                      .name = "bpf_get_hash_recalc",
                                      .fn = get_hash_recalc,
                                      .ret_type = RET_INTEGER,
                                      .arg_type = {ARG_PTR_TO_CTX}};
const HelperProto kSetHashInvalidProto{.func_id = BPF_FUNC_set_hash_invalid,
                                       .name = "bpf_set_hash_invalid",
                                       .fn = set_hash_invalid,
                                       .ret_type = RET_VOID,
                                       .arg_type = {ARG_PTR_TO_CTX}};
const HelperProto kSetHashProto{.func_id = BPF_FUNC_set_hash,
                                .name = "bpf_set_hash",
                                .fn = set_hash,
                                .ret_type = RET_INTEGER,
                                .arg_type = {ARG_PTR_TO_CTX, ARG_ANYTHING}};

}  // namespace bpfbox::helpers
