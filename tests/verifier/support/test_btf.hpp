// BTF for verifier tests, built with libbpf's writer (btf__add_*): one FUNC with its FUNC_PROTO per
// subprogram, `arg:` decl tags, and line info strings, with the func_info / line_info records a
// loader passes to BPF_PROG_LOAD. The same blob goes to bpfbox (Options::btf) and to the kernel
// (BPF_BTF_LOAD, prog_btf_fd).
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include <linux/bpf.h>

namespace bpfbox::testsupport {

// One function. Types are a small vocabulary: int, u32, u64, long, void (return only), ctx (a
// pointer to the program type's context struct: __sk_buff or xdp_md), T* and T[N]* for T among
// int u32 u64 long char void, and `skb*` / `xdp_md*` explicitly. An argument may carry decl tags:
// "nonnull:int*", "nullable:u64*", "ctx:void*" ("arg:nonnull" ... on that argument).
struct FuncDecl {
  std::string name;
  bool global = false;
  std::string ret = "int";
  std::vector<std::string> args;
  int64_t insn_off = -1;  // -1: the start of the i-th subprogram
};

struct LineDecl {
  uint32_t insn_off = 0;
  std::string file;
  uint32_t line = 0;
  uint32_t col = 0;
  std::string text;
};

struct ProgBtfBlob {
  std::vector<uint8_t> btf;
  std::vector<struct bpf_func_info> func_info;
  std::vector<struct bpf_line_info> line_info;
};

// The starts of the program's subprograms (0 and every bpf-to-bpf call or BPF_PSEUDO_FUNC
// target), sorted.
std::vector<uint32_t> subprog_starts(std::span<const struct bpf_insn> insns);

// Builds the BTF; throws std::runtime_error on an unknown type name or a libbpf failure.
ProgBtfBlob build_prog_btf(const std::vector<FuncDecl>& funcs, const std::vector<LineDecl>& lines,
                           uint32_t prog_type, std::span<const struct bpf_insn> insns);

// "name linkage ret(args)" (the corpus's `func:` line) into a FuncDecl: "cb static int(u64, u64)",
// "f global int(ctx, nonnull:int*) @12". Throws std::runtime_error when malformed.
FuncDecl parse_func_decl(const std::string& text);
// "insn_off file:line[:col] source text" (the corpus's `line:` line).
LineDecl parse_line_decl(const std::string& text);

}  // namespace bpfbox::testsupport
