// The bytes a load, store or atomic touches, from its opcode's BPF_SIZE field.
#pragma once

#include <cstdint>

#include <linux/bpf_common.h>

namespace bpfbox::isa {

constexpr uint32_t access_bytes(uint8_t code) {
  switch (BPF_SIZE(code)) {
    case BPF_B:
      return 1;
    case BPF_H:
      return 2;
    case BPF_W:
      return 4;
    default:
      return 8;
  }
}

}  // namespace bpfbox::isa
