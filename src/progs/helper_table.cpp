#include "progs/helper_table.hpp"

#include "bpfbox/maps.hpp"

namespace bpfbox::progs {

vm::HelperTable helper_table(const ProgTypeOps& ops, const ProgLoadContext& ctx) {
  vm::HelperTable table;
  for (uint32_t id = 1; id < __BPF_FUNC_MAX_ID; id++) {
    const HelperProto* proto = ops.get_func_proto(id, ctx);
    // bpf_tail_call has no function: the engines run it through the table's tail-call lookup.
    if (proto && proto->fn) table.set(id, proto->name, proto->fn, proto->inline_as);
  }
  if (ops.get_func_proto(BPF_FUNC_tail_call, ctx))
    table.set_tail_call_lookup(maps::prog_array_lookup, maps::prog_array_slot);
  return table;
}

}  // namespace bpfbox::progs
