// struct __sk_buff as SOCKET_FILTER and SCHED_CLS/SCHED_ACT programs see it: the access rules the
// kernel's types share (bpf_skb_is_valid_access) and the rewrite of each field onto the Skb
// context (bpf_convert_ctx_access). Each type's file adds its own rules on top.
#pragma once

#include "bpfbox/prog_type.hpp"

namespace bpfbox::progs {

bool skb_is_valid_access(int32_t off, uint32_t size, AccessType type, CtxAccessInfo* info);

uint32_t skb_convert_ctx_access(AccessType type, const struct bpf_insn& si, struct bpf_insn* out,
                                uint32_t* target_size);

}  // namespace bpfbox::progs
