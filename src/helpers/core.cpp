#include "helpers/core.hpp"

namespace bpfbox::helpers {

void register_core(vm::HelperTable& table) {
  register_time(table);
  register_random(table);
  register_cpu(table);
  register_trace_printk(table);
}

}  // namespace bpfbox::helpers
