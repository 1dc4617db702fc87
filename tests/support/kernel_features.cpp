#include "kernel_features.hpp"

#include <initializer_list>
#include <vector>

#include "isa/decoder.hpp"
#include "kernel_bpf.hpp"

namespace bpfbox::testsupport {
namespace {

using isa::encode;
using isa::Op;

// True when the kernel loads an XDP program made of `insns` + "r0 = 2; exit".
bool loads(std::initializer_list<struct bpf_insn> insns) {
  std::vector<struct bpf_insn> prog(insns);
  prog.push_back(encode(Op::Mov64K, 0, 0, 0, 2));
  prog.push_back(encode(Op::Exit, 0, 0, 0, 0));
  return kernel_load(BPF_PROG_TYPE_XDP, prog).is_ok();
}

KernelFeatures probe() {
  KernelFeatures f;
  f.v4 = loads({
      encode(Op::Mov64K, 1, 0, 0, 7),
      encode(Op::Sdiv64K, 1, 0, 0, -1),
      encode(Op::Smod32X, 1, 1, 0, 0),
      encode(Op::Movsx64_8, 2, 1, 8, 0),
      encode(Op::Bswap64, 2, 0, 0, 64),
      encode(Op::StDW, 10, 0, -8, 0),
      encode(Op::LdxsB, 3, 10, -8, 0),
      encode(Op::Gotol, 0, 0, 0, 0),
  });
  f.acquire_release = loads({
      encode(Op::StDW, 10, 0, -8, 0),
      encode(Op::LoadAcqW, 1, 10, -8, BPF_LOAD_ACQ),
      encode(Op::StoreRelB, 10, 1, -1, BPF_STORE_REL),
  });
  return f;
}

}  // namespace

const KernelFeatures& kernel_features() {
  static const KernelFeatures f = probe();
  return f;
}

GeneratorOptions supported_by_kernel(GeneratorOptions opts) {
  const KernelFeatures& f = kernel_features();
  opts.v4 = opts.v4 && f.v4;
  opts.acquire_release = opts.acquire_release && f.acquire_release;
  return opts;
}

}  // namespace bpfbox::testsupport
