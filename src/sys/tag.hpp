// The program tag (bpf_prog_info.tag, fdinfo's prog_tag): the first 8 bytes of a digest of the
// instructions as loaded, with the fd/value immediates of map lddw zeroed (bpf_prog_calc_tag), so
// a program's tag does not depend on which fds its maps had. The digest is SHA-256, as the
// kernel's since 6.18 (older kernels used SHA-1; the differential test pins the running kernel's).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include <linux/bpf.h>

namespace bpfbox::sys {

void sha256(const void* data, size_t len, uint8_t digest[32]);
void prog_tag(std::span<const struct bpf_insn> insns, uint8_t tag[BPF_TAG_SIZE]);

}  // namespace bpfbox::sys
