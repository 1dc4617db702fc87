// The helper sets every program type starts from: the kernel's bpf_base_func_proto
// (kernel/bpf/helpers.c) with its privilege split, and bpf_sk_base_func_proto (net/core/filter.c)
// that networking types fall back to. Only helpers bpfbox implements are returned.
#pragma once

#include "bpfbox/prog_type.hpp"

namespace bpfbox::progs {

const HelperProto* base_func_proto(uint32_t func_id, const ProgLoadContext& ctx);
const HelperProto* sk_base_func_proto(uint32_t func_id, const ProgLoadContext& ctx);

}  // namespace bpfbox::progs
