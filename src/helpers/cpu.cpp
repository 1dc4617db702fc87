// bpf_get_smp_processor_id and bpf_get_numa_node_id: the run's per-CPU slot (RunContext::cpu, the
// slot per-CPU maps index by) and a single NUMA node.
#include "helpers/core.hpp"
#include "helpers/protos.hpp"

namespace bpfbox::helpers {
namespace {

uint64_t get_smp_processor_id(uint64_t, uint64_t, uint64_t, uint64_t, uint64_t,
                              vm::RunContext* rc) {
  return rc ? rc->cpu : 0;
}

// bpfbox models one memory node: per-node data structures have only node 0.
uint64_t get_numa_node_id(uint64_t, uint64_t, uint64_t, uint64_t, uint64_t, vm::RunContext*) {
  return 0;
}

}  // namespace

// The JIT loads rc->cpu in place of the call, as the kernel's x86-64 JIT does since 6.10.
const HelperProto kGetSmpProcessorIdProto{.func_id = BPF_FUNC_get_smp_processor_id,
                                          .name = "bpf_get_smp_processor_id",
                                          .fn = get_smp_processor_id,
                                          .inline_as = vm::HelperInline::RunCpu};
const HelperProto kGetNumaNodeIdProto{
    .func_id = BPF_FUNC_get_numa_node_id, .name = "bpf_get_numa_node_id", .fn = get_numa_node_id};

void register_cpu(vm::HelperTable& table) {
  table.set(BPF_FUNC_get_smp_processor_id, "bpf_get_smp_processor_id", get_smp_processor_id,
            vm::HelperInline::RunCpu);
  table.set(BPF_FUNC_get_numa_node_id, "bpf_get_numa_node_id", get_numa_node_id);
}

}  // namespace bpfbox::helpers
