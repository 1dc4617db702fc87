#include "bpfbox/vm.hpp"

namespace bpfbox::vm {

void HelperTable::set(uint32_t id, std::string name, HelperFn fn, HelperInline inline_as) {
  if (id >= helpers_.size()) helpers_.resize(id + 1);
  helpers_[id] = Helper{fn, std::move(name), inline_as};
}

}  // namespace bpfbox::vm
