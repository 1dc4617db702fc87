// What the program-type tests share: assembling programs, the verifier's context rewrite (until
// the verifier lands, tests produce the xlated form with the type's own convert_ctx_access, which
// also tests it), compiling with the type's helpers, and BPF_PROG_TEST_RUN in the kernel with every
// attr field TEST_RUN takes.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include <linux/bpf.h>

#include "bpfbox/prog_type.hpp"
#include "bpfbox/vm.hpp"
#include "isa/uapi.hpp"  // BPF_MEMSX and other UAPI newer than the system headers

namespace bpfbox::testprogs {

// Kernel-syntax assembly; aborts the test binary on a syntax error (a bug in the test).
std::vector<struct bpf_insn> assemble(const std::string& text);

// The verifier's convert_ctx_accesses for programs that keep the context in registers copied from
// r1 (a forward scan; calls clobber r1-r5): each context access checked with is_valid_access
// (EACCES when refused), narrow loads widened and shifted/masked as the kernel's verifier does,
// jumps re-targeted around the expansions.
Result<std::vector<struct bpf_insn>> rewrite_ctx(const ProgTypeOps& ops,
                                                 std::span<const struct bpf_insn> prog,
                                                 const ProgLoadContext& load);

// Rewrites and compiles for the engine with every helper the type allows (privileged).
Result<std::unique_ptr<vm::Executable>> build(uint32_t prog_type, const std::string& text,
                                              vm::EngineKind engine = vm::EngineKind::Interp,
                                              uint32_t expected_attach_type = 0);

// BPF_PROG_TEST_RUN in the kernel with args as bpfbox takes them: data_out always given (of
// data_size_out bytes, or a page when 0), ctx_out given when ctx_size_out > 0.
struct KernelRun {
  int err = 0;  // errno, 0 on success
  TestRunResult result;
};
KernelRun kernel_test_run(int prog_fd, const TestRunArgs& args);

// Loads into the kernel (GPL); the fd, or -errno. `log` receives the verifier log on failure.
int kernel_load(uint32_t prog_type, std::span<const struct bpf_insn> prog,
                std::string* log = nullptr, uint32_t expected_attach_type = 0);

}  // namespace bpfbox::testprogs
