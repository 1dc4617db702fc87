#include "progs/helper_table.hpp"

namespace bpfbox::progs {

vm::HelperTable helper_table(const ProgTypeOps& ops, const ProgLoadContext& ctx) {
  vm::HelperTable table;
  for (uint32_t id = 1; id < __BPF_FUNC_MAX_ID; id++) {
    const HelperProto* proto = ops.get_func_proto(id, ctx);
    // bpf_tail_call has no function: the engines run it through the table's tail-call lookup.
    if (proto && proto->fn) table.set(id, proto->name, proto->fn);
  }
  return table;
}

}  // namespace bpfbox::progs
