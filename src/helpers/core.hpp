// The default helper set: helpers that mean something without maps or a program type (time,
// random numbers, the CPU, bpf_trace_printk). Every engine and the CLI start from these.
#pragma once

#include "bpfbox/vm.hpp"

namespace bpfbox::helpers {

// Registers bpf_ktime_get_ns (#5), bpf_trace_printk (#6), bpf_get_prandom_u32 (#7),
// bpf_get_smp_processor_id (#8), bpf_get_numa_node_id (#42), bpf_ktime_get_boot_ns (#125) and
// bpf_ktime_get_coarse_ns (#160) under the kernel's ids and names.
void register_core(vm::HelperTable& table);

// One register function per group, each in its own file; register_core calls them all.
void register_time(vm::HelperTable& table);
void register_random(vm::HelperTable& table);
void register_cpu(vm::HelperTable& table);
void register_trace_printk(vm::HelperTable& table);

}  // namespace bpfbox::helpers
