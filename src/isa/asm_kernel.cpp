// The kernel log's syntax, as disassemble() prints it (see disasm.hpp), plus what LLVM adds:
// "w" registers for narrow loads and stores, "ll" on 64-bit constants, "(r1 + 4)" spacing.
#include <string>

#include "isa/asm_parse.hpp"
#include "isa/kernel_syntax.hpp"

namespace bpfbox::isa::asm_detail {
namespace {

Insn make(uint8_t code, uint8_t dst = 0, uint8_t src = 0, int16_t off = 0, int32_t imm = 0) {
  Insn insn{};
  insn.code = code;
  insn.dst_reg = dst;
  insn.src_reg = src;
  insn.off = off;
  insn.imm = imm;
  return insn;
}

struct Type {
  const syntax::SizeWord* size;
  bool is_signed;
};

// "(u32 *)"
Type parse_type(Cursor& c) {
  c.expect_punct("(");
  const std::string_view name = c.ident();
  c.expect_punct("*");
  c.expect_punct(")");
  for (const syntax::SizeWord& s : syntax::kSizes) {
    if (name == s.unsigned_type) return {&s, false};
    if (name == s.signed_type) return {&s, true};
  }
  fail("unknown type '" + std::string(name) + "' (expected u8, u16, u32, u64, s8, s16 or s32)");
}

Type parse_unsigned_type(Cursor& c) {
  const Type t = parse_type(c);
  if (t.is_signed) fail("a sign-extending type is only allowed in a load");
  return t;
}

// "(r1 +4)", "(r10 -8)", "(r1)"
void parse_base(Cursor& c, uint8_t& reg, int16_t& off) {
  c.expect_punct("(");
  reg = c.reg();
  off = 0;
  if (c.at_punct("+") || c.at_punct("-")) off = c.literal().off16();
  c.expect_punct(")");
}

void same_width(bool a, bool b) {
  if (a != b) fail("mixing r and w registers in one instruction");
}

// A comparison: "==", "s>", "s<=", ...
uint8_t parse_jmp_op(Cursor& c) {
  std::string text;
  if (c.at_ident("s") && c.peek(1).kind == Token::Kind::Punct) text = std::string(c.next().text);
  if (c.peek().kind != Token::Kind::Punct) fail("expected a comparison, got " + c.describe_next());
  text += c.next().text;
  for (const syntax::OpWord& w : syntax::kJmpOps)
    if (w.text == text) return w.op;
  fail("unknown comparison '" + text + "'");
}

Parsed parse_if(Cursor& c) {
  Parsed p;
  bool w = false;
  const uint8_t dst = c.reg(&w);
  const uint8_t op = parse_jmp_op(c);
  const uint8_t cls = w ? BPF_JMP32 : BPF_JMP;
  if (c.at_reg()) {
    bool w2 = false;
    const uint8_t src = c.reg(&w2);
    same_width(w, w2);
    p.insn = make(cls | op | BPF_X, dst, src);
  } else {
    p.insn = make(cls | op | BPF_K, dst, 0, 0, c.literal().imm32());
  }
  c.expect_ident("goto");
  parse_target(c, p, Parsed::Field::Off);
  return p;
}

// "*(u32 *)(r10 -4) = r0" and "*(u64 *)(r10 -8) = 42"
Parsed parse_store(Cursor& c) {
  c.expect_punct("*");
  const Type t = parse_unsigned_type(c);
  uint8_t dst = 0;
  int16_t off = 0;
  parse_base(c, dst, off);
  c.expect_punct("=");
  Parsed p;
  if (c.at_reg())
    p.insn = make(BPF_STX | BPF_MEM | t.size->size, dst, c.reg(), off);
  else
    p.insn = make(BPF_ST | BPF_MEM | t.size->size, dst, 0, off, c.literal().imm32());
  return p;
}

// "lock *(u64 *)(r0 +0) += r1"
Parsed parse_lock(Cursor& c) {
  c.expect_punct("*");
  const Type t = parse_unsigned_type(c);
  uint8_t dst = 0;
  int16_t off = 0;
  parse_base(c, dst, off);
  const Token& op_tok = c.next();
  int32_t op = -1;
  for (const syntax::OpWord& w : syntax::kAtomicOps)
    if (syntax::text_of(syntax::kAluOps, w.op) == op_tok.text) op = w.op;
  if (op < 0)
    fail("expected an atomic operator (+=, &=, |=, ^=), got '" + std::string(op_tok.text) + "'");
  Parsed p;
  p.insn = make(BPF_STX | BPF_ATOMIC | t.size->size, dst, c.reg(), off, op);
  return p;
}

// "store_release((u32 *)(r1 +0), r2)"
Parsed parse_store_release(Cursor& c) {
  c.expect_punct("(");
  const Type t = parse_unsigned_type(c);
  uint8_t dst = 0;
  int16_t off = 0;
  parse_base(c, dst, off);
  c.expect_punct(",");
  Parsed p;
  p.insn = make(BPF_STX | BPF_ATOMIC | t.size->size, dst, c.reg(), off, BPF_STORE_REL);
  c.expect_punct(")");
  return p;
}

// "r1 = atomic64_fetch_add((u64 *)(r0 +0), r1)", "atomic_xchg", "r0 = atomic_cmpxchg(..., r0, r2)"
Parsed parse_atomic_call(Cursor& c, uint8_t result, std::string_view name) {
  std::string_view rest = name.substr(6);  // after "atomic"
  const bool named64 = rest.starts_with("64");
  if (named64) rest.remove_prefix(2);
  int32_t imm = -1;
  if (rest == "_xchg") imm = BPF_XCHG;
  if (rest == "_cmpxchg") imm = BPF_CMPXCHG;
  for (const syntax::OpWord& w : syntax::kAtomicOps)
    if (rest.starts_with("_fetch_") && rest.substr(7) == w.text) imm = w.op | BPF_FETCH;
  if (imm < 0) fail("unknown atomic operation '" + std::string(name) + "'");
  c.expect_punct("(");
  const Type t = parse_unsigned_type(c);
  if ((t.size->bytes == 8) != named64)
    fail(std::string(name) + " does not go with " + std::string(t.size->unsigned_type) +
         " (atomic64_ is for u64, atomic_ for u32)");
  uint8_t dst = 0;
  int16_t off = 0;
  parse_base(c, dst, off);
  c.expect_punct(",");
  if (imm == BPF_CMPXCHG) {
    if (c.reg() != 0 || result != 0) fail("cmpxchg compares with r0 and returns into r0");
    c.expect_punct(",");
  }
  const uint8_t src = c.reg();
  c.expect_punct(")");
  if (imm != BPF_CMPXCHG && result != src)
    fail("the old value goes to the source register: write r" + std::to_string(src) + " = " +
         std::string(name) + "(..., r" + std::to_string(src) + ")");
  Parsed p;
  p.insn = make(BPF_STX | BPF_ATOMIC | t.size->size, dst, src, off, imm);
  return p;
}

// "r0 = *(u16 *)skb[12]", "r0 = *(u8 *)skb[r3 + 14]"
Parsed parse_skb_load(Cursor& c, uint8_t dst, const Type& t) {
  if (t.is_signed) fail("packet loads have no sign-extending form");
  if (t.size->bytes == 8) fail("packet loads are 1, 2 or 4 bytes");
  if (dst != 0) fail("packet loads always load into r0");
  c.expect_punct("[");
  Parsed p;
  if (c.at_reg()) {
    const uint8_t src = c.reg();
    c.accept_punct("+");
    const int32_t imm = c.at_literal() ? c.literal().imm32() : 0;
    p.insn = make(BPF_LD | BPF_IND | t.size->size, 0, src, 0, imm);
  } else {
    p.insn = make(BPF_LD | BPF_ABS | t.size->size, 0, 0, 0, c.literal().imm32());
  }
  c.expect_punct("]");
  return p;
}

void set_wide(Parsed& p, uint8_t dst, uint8_t pseudo, uint32_t lo, uint32_t hi) {
  p.insn = make(BPF_LD | BPF_IMM | BPF_DW, dst, pseudo, 0, static_cast<int32_t>(lo));
  p.wide = true;
  p.hi = hi;
}

uint32_t parse_named_u32(Cursor& c, std::string_view name) {
  c.expect_ident(name);
  c.expect_punct(":");
  return c.literal().u32();
}

// "map[fd:5]", "map[fd:5][0]+16", "map[idx:3]", "map[idx:3]+16", "btf_id[7]", "subprog[+4]"
Parsed parse_pseudo_load(Cursor& c, uint8_t dst) {
  Parsed p;
  const std::string_view kind = c.ident();
  c.expect_punct("[");
  if (kind == "map") {
    const bool by_fd = c.at_ident("fd");
    if (!by_fd && !c.at_ident("idx")) fail("expected map[fd:N] or map[idx:N]");
    const uint32_t lo = parse_named_u32(c, by_fd ? "fd" : "idx");
    c.expect_punct("]");
    bool value = false;
    uint32_t hi = 0;
    if (c.accept_punct("[")) {
      if (c.literal().magnitude != 0) fail("a map value is addressed as [0]+offset");
      c.expect_punct("]");
      c.expect_punct("+");
      value = true;
    } else {
      value = c.accept_punct("+");
    }
    if (value)
      hi = c.literal().u32();
    else if (c.at_ident("hi"))
      hi = parse_named_u32(c, "hi");
    const uint8_t pseudo = by_fd ? (value ? BPF_PSEUDO_MAP_VALUE : BPF_PSEUDO_MAP_FD)
                                 : (value ? BPF_PSEUDO_MAP_IDX_VALUE : BPF_PSEUDO_MAP_IDX);
    set_wide(p, dst, pseudo, lo, hi);
  } else if (kind == "btf_id") {
    const uint32_t lo = c.literal().u32();
    c.expect_punct("]");
    set_wide(p, dst, BPF_PSEUDO_BTF_ID, lo,
             c.at_ident("btf_fd") ? parse_named_u32(c, "btf_fd") : 0);
  } else {  // subprog
    set_wide(p, dst, BPF_PSEUDO_FUNC, 0, 0);
    parse_target(c, p, Parsed::Field::Imm);
    c.expect_punct("]");
    if (c.at_ident("hi")) p.hi = parse_named_u32(c, "hi");
  }
  return p;
}

bool is_pseudo_load(const Cursor& c) {
  return (c.at_ident("map") || c.at_ident("btf_id") || c.at_ident("subprog")) && c.at_punct("[", 1);
}

// "r1 = le16 r1", "r1 = bswap64 r1"
bool at_byte_swap(const Cursor& c) {
  const Token& t = c.peek();
  if (t.kind != Token::Kind::Ident) return false;
  const std::string_view s = t.text;
  return s == "le16" || s == "le32" || s == "le64" || s == "be16" || s == "be32" || s == "be64" ||
         s == "bswap16" || s == "bswap32" || s == "bswap64";
}

// "rD = <something>"
Parsed parse_assign(Cursor& c, uint8_t dst, bool w) {
  const uint8_t alu = w ? BPF_ALU : BPF_ALU64;
  Parsed p;
  if (c.at_punct("-") && c.at_reg(1)) {  // r0 = -r0
    c.next();
    bool w2 = false;
    if (c.reg(&w2) != dst) fail("negation works in place: write r0 = -r0");
    same_width(w, w2);
    p.insn = make(alu | BPF_NEG | BPF_K, dst);
    return p;
  }
  if (c.accept_punct("(")) {  // r0 = (s8)r1
    const std::string_view type = c.ident();
    c.expect_punct(")");
    int16_t bits = 0;
    if (type == "s8") bits = 8;
    if (type == "s16") bits = 16;
    if (type == "s32") bits = 32;
    if (!bits) fail("unknown sign-extension '(" + std::string(type) + ")' (s8, s16 or s32)");
    bool w2 = false;
    const uint8_t src = c.reg(&w2);
    same_width(w, w2);
    p.insn = make(alu | BPF_MOV | BPF_X, dst, src, bits);
    return p;
  }
  if (at_byte_swap(c)) {
    const std::string_view s = c.next().text;
    const bool bswap = s.starts_with("bswap");
    const int32_t bits = std::stoi(std::string(s.substr(bswap ? 5 : 2)));
    if (c.reg() != dst) fail("byte swaps work in place: write r1 = " + std::string(s) + " r1");
    const uint8_t code = bswap ? (BPF_ALU64 | BPF_END | BPF_TO_LE)
                               : (BPF_ALU | BPF_END | (s[0] == 'b' ? BPF_TO_BE : BPF_TO_LE));
    p.insn = make(code, dst, 0, 0, bits);
    return p;
  }
  if (c.accept_punct("*")) {  // loads
    const Type t = parse_type(c);
    if (c.accept_ident("skb")) return parse_skb_load(c, dst, t);
    uint8_t src = 0;
    int16_t off = 0;
    parse_base(c, src, off);
    if (t.is_signed && t.size->bytes == 8) fail("there is no sign-extending 64-bit load");
    p.insn = make(BPF_LDX | (t.is_signed ? BPF_MEMSX : BPF_MEM) | t.size->size, dst, src, off);
    return p;
  }
  if (c.peek().kind == Token::Kind::Ident && c.peek().text.starts_with("atomic"))
    return parse_atomic_call(c, dst, c.next().text);
  if (c.accept_ident("load_acquire")) {
    c.expect_punct("(");
    const Type t = parse_unsigned_type(c);
    uint8_t src = 0;
    int16_t off = 0;
    parse_base(c, src, off);
    c.expect_punct(")");
    p.insn = make(BPF_STX | BPF_ATOMIC | t.size->size, dst, src, off, BPF_LOAD_ACQ);
    return p;
  }
  if (is_pseudo_load(c)) {
    if (w) fail("64-bit loads need an r register");
    return parse_pseudo_load(c, dst);
  }
  if (c.at_reg()) {  // r0 = r1
    bool w2 = false;
    const uint8_t src = c.reg(&w2);
    same_width(w, w2);
    p.insn = make(alu | BPF_MOV | BPF_X, dst, src);
    return p;
  }
  if (!c.at_literal()) fail("unexpected " + c.describe_next() + " after '='");
  // Constants: decimal is a mov (the kernel prints mov immediates in decimal); hex or a trailing
  // "ll" is a 64-bit load (the kernel prints those in hex), so both read back as printed.
  const Literal lit = c.literal();
  const bool ll = c.accept_ident("ll");
  if (ll || (lit.hex && !w)) {
    if (w) fail("64-bit loads need an r register");
    const uint64_t v = lit.imm64();
    set_wide(p, dst, 0, static_cast<uint32_t>(v), static_cast<uint32_t>(v >> 32));
    return p;
  }
  if (!w && lit.magnitude > (lit.negative ? 0x80000000ull : 0x7fffffffull))
    fail("immediate " + lit.text + " does not fit a sign-extended 32-bit mov; write r" +
         std::to_string(dst) + " = " + lit.text + " ll for a 64-bit constant");
  p.insn = make(alu | BPF_MOV | BPF_K, dst, 0, 0, lit.imm32());
  return p;
}

// "r1 += r2", "w1 s/= 3", "r1 s>>= 4"
Parsed parse_alu(Cursor& c, uint8_t dst, bool w) {
  std::string text;
  if (c.at_ident("s")) text = std::string(c.next().text);
  text += c.next().text;
  uint8_t op = 0xff;
  int16_t off = 0;
  for (const syntax::OpWord& x : syntax::kAluOps)
    if (x.text == text) op = x.op;
  for (const syntax::OpWord& x : syntax::kSignedAluOps)
    if (x.text == text) op = x.op, off = 1;
  if (op == 0xff) fail("unknown operator '" + text + "'");
  const uint8_t cls = w ? BPF_ALU : BPF_ALU64;
  Parsed p;
  if (c.at_reg()) {
    bool w2 = false;
    const uint8_t src = c.reg(&w2);
    same_width(w, w2);
    p.insn = make(cls | op | BPF_X, dst, src, off);
  } else {
    p.insn = make(cls | op | BPF_K, dst, 0, off, c.literal().imm32());
  }
  return p;
}

bool at_alu_operator(const Cursor& c) {
  const size_t k = c.at_ident("s") ? 1 : 0;
  const Token& t = c.peek(k);
  return t.kind == Token::Kind::Punct && t.text.size() >= 2 && t.text.back() == '=' &&
         t.text != "==" && t.text != "!=" && t.text != ">=" && t.text != "<=";
}

Parsed parse_statement(Cursor& c) {
  Parsed p;
  if (c.accept_ident("exit")) {
    p.insn = make(BPF_JMP | BPF_EXIT);
    return p;
  }
  if (c.accept_ident("nospec")) {  // the verifier's speculation barrier, as xlated dumps show it
    p.insn = make(BPF_ST | BPF_NOSPEC);
    return p;
  }
  if (c.at_ident("call")) return parse_call(c);
  if (c.accept_ident("callx")) {
    p.insn = make(BPF_JMP | BPF_CALL | BPF_X, c.reg());
    return p;
  }
  if (c.accept_ident("goto")) {
    p.insn = make(BPF_JMP | BPF_JA);
    parse_target(c, p, Parsed::Field::Off);
    return p;
  }
  if (c.accept_ident("gotol")) {
    p.insn = make(BPF_JMP32 | BPF_JA);
    parse_target(c, p, Parsed::Field::Imm);
    return p;
  }
  if (c.accept_ident("may_goto")) {
    p.insn = make(BPF_JMP | BPF_JCOND, 0, BPF_MAY_GOTO);
    parse_target(c, p, Parsed::Field::Off);
    return p;
  }
  if (c.accept_ident("if")) return parse_if(c);
  if (c.accept_ident("lock")) return parse_lock(c);
  if (c.accept_ident("store_release")) return parse_store_release(c);
  if (c.at_punct("*")) return parse_store(c);
  if (c.at_reg()) {
    bool w = false;
    const uint8_t dst = c.reg(&w);
    if (c.accept_punct("=")) return parse_assign(c, dst, w);
    if (at_alu_operator(c)) return parse_alu(c, dst, w);
    fail("expected '=' or an operator after the register, got " + c.describe_next());
  }
  fail("unknown instruction " + c.describe_next());
}

}  // namespace

Parsed parse_kernel_line(Cursor& c) {
  Parsed p = parse_statement(c);
  c.expect_end();
  require_valid(p.insn, "");
  return p;
}

}  // namespace bpfbox::isa::asm_detail
