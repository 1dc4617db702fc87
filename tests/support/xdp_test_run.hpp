// Compiles a verified program on one engine and runs it once through XDP's TEST_RUN on 64 zero
// bytes: the return value, as tests comparing engines with each other and with the kernel need.
#pragma once

#include <cstdint>
#include <vector>

#include "bpfbox/prog_type.hpp"
#include "bpfbox/status.hpp"
#include "bpfbox/verifier.hpp"
#include "bpfbox/vm.hpp"

namespace bpfbox::testsupport {

inline Result<uint32_t> xdp_test_run_once(const verifier::Program& prog, vm::EngineKind engine) {
  auto exe = vm::compile(engine, prog.xlated, prog.helpers, {.facts = prog.facts});
  if (!exe) return exe.status();
  TestRunProgram p{exe.value().get(), BPF_PROG_TYPE_XDP, 0};
  // data_in is a span: the packet must outlive the run.
  const std::vector<uint8_t> packet(64, 0);
  TestRunArgs args;
  args.data_in = packet;
  TestRunResult result;
  if (Status st = prog_type_ops(BPF_PROG_TYPE_XDP)->test_run(p, args, result); !st) return st;
  return result.retval;
}

}  // namespace bpfbox::testsupport
