// The registry of program types: prog_type_ops() and register_prog_type() (bpfbox/prog_type.hpp).
// Built-in types are listed here; an embedder's registration replaces or adds one.
#include <atomic>

#include "progs/types.hpp"

namespace bpfbox {
namespace {

constexpr uint32_t kMaxProgTypes = 64;  // above every BPF_PROG_TYPE_* the UAPI defines

struct Table {
  std::atomic<const ProgTypeOps*> ops[kMaxProgTypes] = {};
  Table() {
    for (const ProgTypeOps* o :
         {&progs::kSocketFilterOps, &progs::kSchedClsOps, &progs::kSchedActOps, &progs::kXdpOps})
      ops[o->prog_type].store(o, std::memory_order_relaxed);
  }
};

Table& table() {
  static Table t;
  return t;
}

}  // namespace

const ProgTypeOps* prog_type_ops(uint32_t prog_type) {
  return prog_type < kMaxProgTypes ? table().ops[prog_type].load(std::memory_order_acquire)
                                   : nullptr;
}

void register_prog_type(const ProgTypeOps* ops) {
  if (ops && ops->prog_type < kMaxProgTypes)
    table().ops[ops->prog_type].store(ops, std::memory_order_release);
}

}  // namespace bpfbox
