// The program's BTF as the verifier uses it (the kernel's prog->aux->btf, func_info, linfo and
// func_info_aux): parsed with libbpf, checked as bpf_check_btf_info_early / bpf_check_btf_info,
// and read for callbacks (func_info must exist, callbacks must be static), global functions (their
// prototype gives their arguments: btf_prepare_func_args) and the log's source lines (find_linfo).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <linux/bpf.h>

#include "bpfbox/status.hpp"

struct btf;  // libbpf's

namespace bpfbox::verifier {

struct Env;

// One argument of a global function, from its prototype (struct bpf_subprog_arg_info): ARG_ANYTHING
// for integers and enums, ARG_PTR_TO_CTX, or ARG_PTR_TO_MEM (| PTR_MAYBE_NULL unless tagged
// arg:nonnull) of mem_size bytes.
struct SubprogArg {
  uint32_t arg_type = 0;
  uint32_t mem_size = 0;
};

// What func_info says about one subprogram (struct bpf_func_info_aux plus the name and args).
struct FuncBtf {
  uint32_t linkage = 0;  // BTF_FUNC_STATIC / BTF_FUNC_GLOBAL / BTF_FUNC_EXTERN
  std::string name;
  bool unreliable = false;  // the BTF does not describe how the verifier sees the function
  bool called = false;      // global: reached from a verified path, so verified after main
  bool verified = false;
  bool args_cached = false;
  Status args_status;  // btf_prepare_func_args's result, cached with the args
  uint32_t arg_cnt = 0;
  SubprogArg args[5];
};

struct ProgBtf {
  ProgBtf() = default;
  ProgBtf(const ProgBtf&) = delete;
  ProgBtf& operator=(const ProgBtf&) = delete;
  ~ProgBtf();
  struct btf* btf = nullptr;
  std::vector<struct bpf_func_info> func_info;       // one per subprogram when given
  std::vector<FuncBtf> funcs;                        // idem, after check_btf_info
  std::vector<struct bpf_line_info> line_info;       // sorted by insn_off, starting at 0
  const struct bpf_line_info* prev_linfo = nullptr;  // the last one the log showed
};

// bpf_check_btf_info_early(): before the subprograms are known. Without func_info and line_info,
// subprograms may not use LD_ABS or tail calls (check_abnormal_return); otherwise the BTF is parsed
// and the func_info records are read and checked (record size, increasing offsets, FUNC types).
Status check_btf_info_early(Env& env);
// bpf_check_btf_info(): func_info matches the subprograms (their linkage and names are taken), the
// line_info records are checked and kept.
Status check_btf_info(Env& env);

// check_ld_imm() of a BPF_PSEUDO_FUNC: the program must have func_info ("missing btf func_info")
// and the callback must be static.
Status check_pseudo_func_btf(Env& env, uint32_t subprog);

bool has_func_info(const Env& env);
bool subprog_is_global(const Env& env, uint32_t subprog);
// The subprogram's name from func_info ("" without).
const char* subprog_name(const Env& env, uint32_t subprog);
FuncBtf* subprog_btf(Env& env, uint32_t subprog);

// btf_prepare_func_args(): the arguments of subprogram `subprog` from its prototype (cached);
// refusals are logged only for global functions, as the kernel's.
Status prepare_func_args(Env& env, uint32_t subprog);

// The line info record covering instruction insn (find_linfo), or nullptr.
const struct bpf_line_info* find_linfo(const Env& env, uint32_t insn);
// A string of the program's BTF ("" when the offset is not a string).
const char* btf_string(const Env& env, uint32_t off);
// The source line of insn from line info (leading blanks trimmed), its file as given and its line
// number; false when the program has no line info covering insn.
bool source_line_of(const Env& env, uint32_t insn, std::string* source, std::string* file,
                    uint32_t* line);
// verbose_linfo(): before an instruction's line in the log, "<prefix><source line> @ file:line"
// when its line info differs (by file or line number) from the last one printed.
void verbose_linfo(Env& env, uint32_t insn, const char* prefix);
// do_check() starts with no line printed.
void reset_linfo(Env& env);

}  // namespace bpfbox::verifier
