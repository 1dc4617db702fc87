// Which parts of the ISA the running kernel's verifier and JIT take, so generated programs use
// exactly those (an older kernel narrows the test instead of failing it).
#pragma once

#include "random_program.hpp"

namespace bpfbox::testsupport {

struct KernelFeatures {
  bool v4 = false;               // sdiv/smod, movsx, ldxs, bswap, gotol (6.6)
  bool acquire_release = false;  // load-acquire/store-release (6.15)
};

// Probed once (kernel_bpf_unavailable() must be nullopt).
const KernelFeatures& kernel_features();

// `opts` narrowed to what the running kernel supports.
GeneratorOptions supported_by_kernel(GeneratorOptions opts);

}  // namespace bpfbox::testsupport
