// bpf_csum_diff, bpf_l3_csum_replace, bpf_l4_csum_replace, bpf_csum_update, bpf_csum_level: the
// kernel's incremental checksum helpers (net/core/filter.c) over the Skb context. Values are
// taken as the program passes them, in network byte order as they sit in the packet, so the
// arithmetic is byte-order neutral as in the kernel.
#include "helpers/csum.hpp"

#include <cerrno>
#include <cstring>

#include "bpfbox/maps.hpp"
#include "helpers/protos.hpp"
#include "progs/skb.hpp"

namespace bpfbox::helpers {

// The sum of the 32-bit words (and the 0..3 trailing bytes as one word in memory order) as an
// exact 64-bit integer, folded with the end-around carry: any order of adding gives the same bits.
// Four 16-byte vectors (SSE2, x86-64's baseline) each add their words' low and high halves into
// two 64-bit lanes, so 64 bytes cost ~16 independent vector ops instead of 16 dependent adds; the
// kernel's x86 csum_partial gets its speed from an adc chain over 64 bytes, which compilers do not
// emit from C. The lanes cannot overflow below 2^34 bytes (a helper is given at most 2^32).
uint32_t csum_partial(const void* buf, uint64_t len, uint32_t seed) {
  using u64x2 = uint64_t __attribute__((vector_size(16)));
  const auto* p = static_cast<const uint8_t*>(buf);
  uint64_t sum = seed;
  uint64_t i = 0;
  if (len >= 64) {
    const u64x2 lo32 = {0xffffffffu, 0xffffffffu};
    u64x2 a0{}, a1{}, a2{}, a3{};
    for (; i + 64 <= len; i += 64) {
      u64x2 v0, v1, v2, v3;
      std::memcpy(&v0, p + i, 16);
      std::memcpy(&v1, p + i + 16, 16);
      std::memcpy(&v2, p + i + 32, 16);
      std::memcpy(&v3, p + i + 48, 16);
      a0 += (v0 & lo32) + (v0 >> 32);
      a1 += (v1 & lo32) + (v1 >> 32);
      a2 += (v2 & lo32) + (v2 >> 32);
      a3 += (v3 & lo32) + (v3 >> 32);
    }
    const u64x2 a = (a0 + a1) + (a2 + a3);
    sum += a[0] + a[1];
  }
  for (; i + 8 <= len; i += 8) {
    uint64_t w;
    std::memcpy(&w, p + i, 8);
    sum += (w & 0xffffffffu) + (w >> 32);
  }
  if (i + 4 <= len) {
    uint32_t w;
    std::memcpy(&w, p + i, 4);
    sum += w;
    i += 4;
  }
  // The last 0..3 bytes as a word in memory order (constant-size copies: no memcpy call).
  uint8_t tail[4] = {0, 0, 0, 0};
  switch (len - i) {
    case 3:
      tail[2] = p[i + 2];
      [[fallthrough]];
    case 2:
      tail[1] = p[i + 1];
      [[fallthrough]];
    case 1:
      tail[0] = p[i];
      break;
    default:
      break;
  }
  uint32_t t;
  std::memcpy(&t, tail, 4);
  sum += t;
  // Fold 64 -> 32 bits with the end-around carry (add32_with_carry).
  sum = (sum & 0xffffffff) + (sum >> 32);
  sum = (sum & 0xffffffff) + (sum >> 32);
  return static_cast<uint32_t>(sum);
}

namespace {

constexpr uint64_t kHdrFieldMask = BPF_F_HDR_FIELD_MASK;

progs::Skb* skb_of(uint64_t r) {
  return reinterpret_cast<progs::Skb*>(r);
}
uint64_t err(int e) {
  return static_cast<uint64_t>(-static_cast<int64_t>(e));
}

// bpf_try_make_writable: the bytes up to write_len must be in the packet.
bool writable(const progs::Skb* skb, uint64_t write_len) {
  return write_len <= skb->len;
}

uint16_t load16(const uint8_t* p) {
  uint16_t v;
  std::memcpy(&v, p, 2);
  return v;
}
void store16(uint8_t* p, uint16_t v) {
  std::memcpy(p, &v, 2);
}

uint64_t csum_diff(uint64_t from, uint64_t from_size, uint64_t to, uint64_t to_size, uint64_t seed,
                   vm::RunContext*) {
  const auto* f = reinterpret_cast<const void*>(from);
  const auto* t = reinterpret_cast<const void*>(to);
  const uint32_t fs = static_cast<uint32_t>(from_size), ts = static_cast<uint32_t>(to_size);
  uint32_t ret = static_cast<uint32_t>(seed);
  if (fs && ts)
    ret = csum_sub(csum_partial(t, ts, ret), csum_partial(f, fs, 0));
  else if (ts)
    ret = csum_partial(t, ts, ret);
  else if (fs)
    ret = ~csum_partial(f, fs, ~ret);
  return csum_from32to16(ret);
}

uint64_t l3_csum_replace(uint64_t ctx, uint64_t offset, uint64_t from, uint64_t to, uint64_t flags,
                         vm::RunContext*) {
  progs::Skb* skb = skb_of(ctx);
  const uint32_t off = static_cast<uint32_t>(offset);
  if (flags & ~kHdrFieldMask) return err(EINVAL);
  if (off > 0xffff || (off & 1)) return err(EFAULT);
  if (!writable(skb, uint64_t(off) + 2)) return err(EFAULT);
  uint8_t* ptr = skb->data + off;
  switch (flags & kHdrFieldMask) {
    case 0: {  // csum_replace_by_diff
      if (from != 0) return err(EINVAL);
      store16(ptr, csum_fold(csum_add(static_cast<uint32_t>(to), ~uint32_t(load16(ptr)))));
      break;
    }
    case 2:  // csum_replace2
      store16(ptr, static_cast<uint16_t>(~csum16_add(
                       csum16_sub(static_cast<uint16_t>(~load16(ptr)), static_cast<uint16_t>(from)),
                       static_cast<uint16_t>(to))));
      break;
    case 4: {  // csum_replace4
      uint32_t tmp = csum_sub(~uint32_t(load16(ptr)), static_cast<uint32_t>(from));
      store16(ptr, csum_fold(csum_add(tmp, static_cast<uint32_t>(to))));
      break;
    }
    default:
      return err(EINVAL);
  }
  return 0;
}

// inet_proto_csum_replace4 for an skb that is not CHECKSUM_PARTIAL (TEST_RUN's never is; the
// partial case only adjusts the pseudo-header sum).
void proto_csum_replace4(progs::Skb* skb, uint8_t* ptr, uint32_t from, uint32_t to, bool pseudo) {
  const uint32_t diff[2] = {~from, to};
  if (skb->ip_summed != progs::kChecksumPartial) {
    store16(ptr, csum_fold(csum_partial(diff, sizeof diff, ~uint32_t(load16(ptr)))));
    if (skb->ip_summed == progs::kChecksumComplete && pseudo)
      skb->csum = ~csum_partial(diff, sizeof diff, ~skb->csum);
  } else if (pseudo) {
    store16(ptr, static_cast<uint16_t>(~csum_fold(csum_partial(diff, sizeof diff, load16(ptr)))));
  }
}

uint64_t l4_csum_replace(uint64_t ctx, uint64_t offset, uint64_t from, uint64_t to, uint64_t flags,
                         vm::RunContext*) {
  progs::Skb* skb = skb_of(ctx);
  const bool is_pseudo = flags & BPF_F_PSEUDO_HDR;
  const bool is_mmzero = flags & BPF_F_MARK_MANGLED_0;
  const bool do_mforce = flags & BPF_F_MARK_ENFORCE;
  const bool is_ipv6 = flags & BPF_F_IPV6;
  const uint32_t off = static_cast<uint32_t>(offset);
  if (flags & ~uint64_t(BPF_F_MARK_MANGLED_0 | BPF_F_MARK_ENFORCE | BPF_F_PSEUDO_HDR |
                        kHdrFieldMask | BPF_F_IPV6))
    return err(EINVAL);
  if (off > 0xffff || (off & 1)) return err(EFAULT);
  if (!writable(skb, uint64_t(off) + 2)) return err(EFAULT);
  uint8_t* ptr = skb->data + off;
  if (is_mmzero && !do_mforce && !load16(ptr)) return 0;
  switch (flags & kHdrFieldMask) {
    case 0: {  // inet_proto_csum_replace_by_diff
      if (from != 0) return err(EINVAL);
      const uint32_t diff = static_cast<uint32_t>(to);
      if (skb->ip_summed != progs::kChecksumPartial) {
        store16(ptr, csum_fold(csum_add(diff, ~uint32_t(load16(ptr)))));
        if (skb->ip_summed == progs::kChecksumComplete && is_pseudo && !is_ipv6)
          skb->csum = ~csum_sub(diff, skb->csum);
      } else if (is_pseudo) {
        store16(ptr, static_cast<uint16_t>(~csum_fold(csum_add(diff, load16(ptr)))));
      }
      break;
    }
    case 2:  // inet_proto_csum_replace2: the 16-bit values widened to 32
      proto_csum_replace4(skb, ptr, static_cast<uint16_t>(from), static_cast<uint16_t>(to),
                          is_pseudo);
      break;
    case 4:
      proto_csum_replace4(skb, ptr, static_cast<uint32_t>(from), static_cast<uint32_t>(to),
                          is_pseudo);
      break;
    default:
      return err(EINVAL);
  }
  if (is_mmzero && !load16(ptr)) store16(ptr, 0xffff);  // CSUM_MANGLED_0
  return 0;
}

uint64_t csum_update(uint64_t ctx, uint64_t csum, uint64_t, uint64_t, uint64_t, vm::RunContext*) {
  progs::Skb* skb = skb_of(ctx);
  if (skb->ip_summed == progs::kChecksumComplete)
    return skb->csum = csum_add(skb->csum, static_cast<uint32_t>(csum));
  return err(maps::kENOTSUPP);
}

// bpfbox skbs keep no checksum level: CHECKSUM_UNNECESSARY never occurs, so a query is -EACCES
// and the increments act on the (absent) state as the kernel's do on CHECKSUM_NONE.
uint64_t csum_level(uint64_t ctx, uint64_t level, uint64_t, uint64_t, uint64_t, vm::RunContext*) {
  progs::Skb* skb = skb_of(ctx);
  switch (level) {
    case BPF_CSUM_LEVEL_INC:
    case BPF_CSUM_LEVEL_DEC:
    case BPF_CSUM_LEVEL_RESET:
      return 0;
    case BPF_CSUM_LEVEL_QUERY:
      return skb->ip_summed == progs::kChecksumUnnecessary ? 0 : err(EACCES);
    default:
      return err(EINVAL);
  }
}

}  // namespace

const HelperProto kCsumDiffProto{
    .func_id = BPF_FUNC_csum_diff,
    .name = "bpf_csum_diff",
    .fn = csum_diff,
    .pkt_access = true,
    .ret_type = RET_INTEGER,
    .arg_type = {uint32_t(ARG_PTR_TO_MEM) | PTR_MAYBE_NULL | MEM_RDONLY, ARG_CONST_SIZE_OR_ZERO,
                 uint32_t(ARG_PTR_TO_MEM) | PTR_MAYBE_NULL | MEM_RDONLY, ARG_CONST_SIZE_OR_ZERO,
                 ARG_ANYTHING}};
const HelperProto kL3CsumReplaceProto{
    .func_id = BPF_FUNC_l3_csum_replace,
    .name = "bpf_l3_csum_replace",
    .fn = l3_csum_replace,
    .changes_pkt_data = true,
    .ret_type = RET_INTEGER,
    .arg_type = {ARG_PTR_TO_CTX, ARG_ANYTHING, ARG_ANYTHING, ARG_ANYTHING, ARG_ANYTHING}};
const HelperProto kL4CsumReplaceProto{
    .func_id = BPF_FUNC_l4_csum_replace,
    .name = "bpf_l4_csum_replace",
    .fn = l4_csum_replace,
    .changes_pkt_data = true,
    .ret_type = RET_INTEGER,
    .arg_type = {ARG_PTR_TO_CTX, ARG_ANYTHING, ARG_ANYTHING, ARG_ANYTHING, ARG_ANYTHING}};
const HelperProto kCsumUpdateProto{.func_id = BPF_FUNC_csum_update,
                                   .name = "bpf_csum_update",
                                   .fn = csum_update,
                                   .ret_type = RET_INTEGER,
                                   .arg_type = {ARG_PTR_TO_CTX, ARG_ANYTHING}};
const HelperProto kCsumLevelProto{.func_id = BPF_FUNC_csum_level,
                                  .name = "bpf_csum_level",
                                  .fn = csum_level,
                                  .ret_type = RET_INTEGER,
                                  .arg_type = {ARG_PTR_TO_CTX, ARG_ANYTHING}};

}  // namespace bpfbox::helpers
