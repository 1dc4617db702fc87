// What both syntaxes share: calls, jump targets, and the final check against the ISA table.
#include <cstdio>
#include <string>

#include "isa/asm_parse.hpp"
#include "isa/decoder.hpp"
#include "isa/disasm.hpp"

namespace bpfbox::isa::asm_detail {
namespace {

Insn call_insn(uint8_t src, int32_t imm, int16_t off = 0) {
  Insn insn{};
  insn.code = BPF_JMP | BPF_CALL;
  insn.src_reg = src;
  insn.imm = imm;
  insn.off = off;
  return insn;
}

// Looks ahead for "NAME#ID": a name of any tokens (the disassembler may be given any helper
// names, and the kernel's kfunc text is "kernel-function") followed by '#'.
bool at_named_call(const Cursor& c, size_t& hash_at) {
  for (size_t k = 0; c.peek(k).kind != Token::Kind::End; ++k) {
    if (c.at_punct("#", k)) {
      hash_at = k;
      return k > 0;
    }
  }
  return false;
}

}  // namespace

void parse_target(Cursor& c, Parsed& p, Parsed::Field field) {
  if (c.at_ident("pc") && (c.at_punct("+", 1) || c.at_punct("-", 1))) c.next();
  if (!c.at_literal()) {
    if (c.peek().kind != Token::Kind::Ident)
      fail("expected a jump target (pc+N, +N, -N or a label), got " + c.describe_next());
    p.label = std::string(c.next().text);
    p.field = field;
    return;
  }
  const Literal lit = c.literal();
  if (field == Parsed::Field::Imm) {
    p.insn.imm = lit.s32();
    return;
  }
  if (lit.magnitude > (lit.negative ? 0x8000ull : 0x7fffull))
    fail("jump offset " + lit.text +
         " is out of the 16-bit range; use gotol (ja32) for long jumps");
  p.insn.off = lit.off16();
}

Parsed parse_call(Cursor& c) {
  c.expect_ident("call");
  Parsed p;
  if (c.at_reg()) {  // "call %r2": the conformance suite's callx
    p.insn.code = BPF_JMP | BPF_CALL | BPF_X;
    p.insn.dst_reg = c.reg();
    c.expect_end();
    return p;
  }
  if (c.accept_ident("local")) {
    p.insn = call_insn(BPF_PSEUDO_CALL, 0);
    parse_target(c, p, Parsed::Field::Imm);
    return p;
  }
  if (c.accept_ident("helper")) {
    p.insn = call_insn(0, c.literal().imm32());
    return p;
  }
  if (c.accept_ident("runtime")) {  // bpf_conformance's name for a kfunc call
    p.insn = call_insn(BPF_PSEUDO_KFUNC_CALL, c.literal().imm32());
    return p;
  }
  if (c.at_ident("pc") && (c.at_punct("+", 1) || c.at_punct("-", 1))) {
    p.insn = call_insn(BPF_PSEUDO_CALL, 0);
    parse_target(c, p, Parsed::Field::Imm);
    return p;
  }
  if (c.at_literal()) {
    p.insn = call_insn(0, c.literal().imm32());
    return p;
  }
  size_t hash_at = 0;
  if (at_named_call(c, hash_at)) {
    std::string name;
    for (size_t k = 0; k < hash_at; ++k) name += c.next().text;
    c.expect_punct("#");
    const int32_t id = c.literal().imm32();
    if (name == "kernel-function") {
      int16_t off = 0;
      if (c.accept_ident("off")) {
        c.expect_punct(":");
        off = c.literal().off16();
      }
      p.insn = call_insn(BPF_PSEUDO_KFUNC_CALL, id, off);
      return p;
    }
    if (const auto known = kernel_helper_id(name); known && *known != id)
      fail("helper " + name + " is #" + std::to_string(*known) + ", not #" + std::to_string(id));
    p.insn = call_insn(0, id);
    return p;
  }
  const std::string_view name = c.ident();
  if (const auto known = kernel_helper_id(name)) {
    p.insn = call_insn(0, *known);
    return p;
  }
  p.insn = call_insn(BPF_PSEUDO_CALL, 0);  // a label: bpf-to-bpf call
  p.label = std::string(name);
  p.field = Parsed::Field::Imm;
  return p;
}

void require_valid(const Insn& insn, std::string_view what) {
  if (identify(insn)) return;
  char buf[96];
  std::snprintf(buf, sizeof buf, "no such instruction in the eBPF ISA (opcode 0x%02x)", insn.code);
  fail(what.empty() ? std::string(buf) : std::string(what));
}

}  // namespace bpfbox::isa::asm_detail
