// Frames: bpf-to-bpf calls and callbacks (bpf_loop, bpf_for_each_map_elem) push a frame for the
// callee; its exit pops it (func_call.cpp). The pass entry points are in passes.hpp; these are
// what check_helper_call needs besides.
#pragma once

#include <cstdint>

#include "bpfbox/status.hpp"
#include "verifier/env.hpp"

namespace bpfbox::verifier {

// How a callback's frame starts (set_loop_callback_state, set_map_elem_callback_state).
enum class CallbackKind : uint8_t { Loop, MapElem };

// push_callback_call(): schedules a visit of the callback subprogram as a branch of its own, the
// callee frame set up as the helper will call it; the current path continues after the helper.
Status push_callback_call(Env& env, uint32_t insn_idx, int subprog, CallbackKind kind);

}  // namespace bpfbox::verifier
