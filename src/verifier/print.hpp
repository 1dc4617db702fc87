// The verifier log's state lines, in the kernel 6.18 format (kernel/bpf/log.c):
//   "0: R1=ctx() R10=fp0"                       (a whole frame, print_all)
//   "1: (b7) r0 = 0                        ; R0=0"  (what one instruction touched)
#pragma once

#include <string>

#include "verifier/env.hpp"
#include "verifier/state.hpp"

namespace bpfbox::verifier {

// tnum_strn(): a constant as a number ("0", "0x10000"), else "(0x0; 0xff)", as messages print
// var_off.
std::string tnum_str(Tnum t);

// One register as the log prints it after "R1=": "ctx()", "fp-8", "P5",
// "map_value(map=m,ks=4,vs=8,off=4)", "scalar(id=2,smin=smin32=0,umax=255,var_off=(0x0; 0xff))".
std::string reg_state_str(const RegState& reg, uint32_t cur_frameno);

// print_verifier_state(): the registers and stack slots of frame `frameno` — all of them
// (print_all) or only those the last instruction scratched — then a newline; clears the marks.
void print_verifier_state(Env& env, const VerifierState& st, uint32_t frameno, bool print_all);

// print_insn_state(): appends "; <state>" to the instruction line just printed (aligned as the
// kernel aligns it), or starts a new "<insn_idx>:" line when something was logged in between.
void print_insn_state(Env& env, const VerifierState& st, uint32_t frameno);

// The instruction at env.insn_idx as the log shows it: "12: (bf) r2 = r10".
void print_insn(Env& env, uint32_t insn_idx);

}  // namespace bpfbox::verifier
