// Sizes of the kernel's packet buffers that programs can observe (x86-64 values, checked against
// the running kernel's BTF and by the TEST_RUN differential tests).
#pragma once

#include <cstdint>

namespace bpfbox::progs {

constexpr uint32_t kPageSize = 4096;          // PAGE_SIZE: TEST_RUN's buffers are one page
constexpr uint32_t kEthHlen = 14;             // ETH_HLEN
constexpr uint32_t kSkbSharedInfoSize = 320;  // SKB_DATA_ALIGN(sizeof(struct skb_shared_info))

}  // namespace bpfbox::progs
