#include "shim/real.hpp"

namespace bpfbox::shim {

thread_local int t_depth = 0;

}  // namespace bpfbox::shim
