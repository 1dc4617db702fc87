// The benchmark kernels: each one eBPF program (kernel-syntax assembly) and its native C++ twin.
// The eBPF body finds its buffer between r6 (start) and r7 (end), as an XDP program finds its
// packet, so the same body runs in bpfbox's interpreter and, via BPF_PROG_TEST_RUN, in the kernel.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace bpfbox::bench {

struct VmKernel {
  const char* name;  // "ArithLoop": benchmarks are BM_<name>/<engine>
  uint32_t walk;     // bytes of the buffer the body reads; the result is stored right after
  std::string body;  // r6 = data, r7 = data_end (callee-saved across calls); result in r0
  uint64_t (*native)(const uint8_t* data);  // the same computation in C++
  bool same_result;  // engines must agree on the result (false when a helper's value differs)
};

const std::vector<VmKernel>& vm_kernels();

// The buffer every engine gets: `walk` deterministic bytes, then 8 for the result.
std::vector<uint8_t> make_buffer(const VmKernel& k);

enum class Wrapping { Buffer, KernelXdp };
// prologue (r6/r7 from r1) + length check + body + store of r0 after the walk area + exit.
std::string program_text(const VmKernel& k, Wrapping w);

// The helper bpfbox registers for the helper-call kernel (id 7, as bpf_get_prandom_u32).
uint64_t trivial_helper_value();

}  // namespace bpfbox::bench
