// The bpf_conformance suite's syntax: "mov %r0, 1", "jeq %r1, 0, +1", "ldxw %r0, [%r1+4]",
// "lock fetch add32 [%r10-4], %r1". Mnemonics come from the ops.def table's mnemonic column.
#include <map>
#include <string>
#include <vector>

#include "isa/asm_parse.hpp"
#include "isa/decoder.hpp"

namespace bpfbox::isa::asm_detail {
namespace {

// Older names the suite still uses.
constexpr std::pair<std::string_view, std::string_view> kAliases[] = {
    {"swap16", "bswap16"}, {"swap32", "bswap32"}, {"swap64", "bswap64"}};

const std::map<std::string, std::vector<Op>, std::less<>>& mnemonics() {
  static const auto* table = [] {
    auto* m = new std::map<std::string, std::vector<Op>, std::less<>>;
    for (int i = 0; i < kOpCount; ++i)
      (*m)[info(static_cast<Op>(i)).mnemonic].push_back(static_cast<Op>(i));
    return m;
  }();
  return *table;
}

std::string_view canonical(std::string_view word) {
  for (const auto& [alias, name] : kAliases)
    if (word == alias) return name;
  return word;
}

const std::vector<Op>* lookup(std::string_view word) {
  const auto& m = mnemonics();
  const auto it = m.find(canonical(word));
  return it == m.end() ? nullptr : &it->second;
}

uint8_t reg(Cursor& c) {
  bool w = false;
  const uint8_t r = c.reg(&w);
  if (w) fail("the conformance syntax has no w registers; use %r");
  return r;
}

// "[%r1+0x2]", "[%r10-8]", "[%r1]"
void parse_mem(Cursor& c, uint8_t& base, int16_t& off) {
  c.expect_punct("[");
  base = reg(c);
  off = 0;
  if (c.at_punct("+") || c.at_punct("-")) off = c.literal().off16();
  c.expect_punct("]");
}

Op pick(const std::vector<Op>& ops, bool uses_src) {
  for (Op op : ops)
    if (info(op).uses_src == uses_src) return op;
  return ops.front();
}

Parsed parse_lock(Cursor& c) {
  const bool fetch = c.accept_ident("fetch");
  std::string word(c.ident());
  const bool is32 = word.ends_with("32");
  if (is32) word.resize(word.size() - 2);
  const std::string key = "lock " + std::string(fetch ? "fetch " : "") + word;
  const std::vector<Op>* ops = lookup(key);
  const Op* found = nullptr;
  if (ops)
    for (const Op& op : *ops)
      if (info(op).is64 == !is32) found = &op;
  if (!found) fail("unknown atomic operation '" + key + (is32 ? "32" : "") + "'");
  uint8_t dst = 0;
  int16_t off = 0;
  parse_mem(c, dst, off);
  c.expect_punct(",");
  Parsed p;
  p.insn = encode(*found, dst, reg(c), off, 0);
  return p;
}

Parsed parse_statement(Cursor& c) {
  if (c.at_ident("call")) return parse_call(c);
  const std::string_view word = c.ident();
  if (word == "lock") return parse_lock(c);
  const std::vector<Op>* ops = lookup(word);
  if (!ops) fail("unknown mnemonic '" + std::string(word) + "'");
  const OpInfo& first = info(ops->front());
  Parsed p;
  uint8_t dst = 0, src = 0;
  int16_t off = 0;
  int32_t imm = 0;
  Op op = ops->front();
  switch (first.kind) {
    case Kind::Alu:
    case Kind::Mov:
      dst = reg(c);
      c.expect_punct(",");
      if (c.at_reg()) {
        src = reg(c);
        op = pick(*ops, true);
      } else {
        imm = c.literal().imm32();
        op = pick(*ops, false);
      }
      break;
    case Kind::Movsx:
      dst = reg(c);
      c.expect_punct(",");
      src = reg(c);
      break;
    case Kind::Neg:
    case Kind::End:
    case Kind::Callx:
      dst = reg(c);
      break;
    case Kind::Exit:
    case Kind::Nospec:
      break;
    case Kind::Ja:
    case Kind::MayGoto:
      p.insn = encode(op, 0, 0, 0, 0);
      parse_target(c, p, Parsed::Field::Off);
      return p;
    case Kind::Gotol:
      p.insn = encode(op, 0, 0, 0, 0);
      parse_target(c, p, Parsed::Field::Imm);
      return p;
    case Kind::Jcond: {
      dst = reg(c);
      c.expect_punct(",");
      if (c.at_reg()) {
        src = reg(c);
        op = pick(*ops, true);
      } else {
        imm = c.literal().imm32();
        op = pick(*ops, false);
      }
      c.expect_punct(",");
      p.insn = encode(op, dst, src, 0, imm);
      parse_target(c, p, Parsed::Field::Off);
      return p;
    }
    case Kind::Lddw: {
      dst = reg(c);
      c.expect_punct(",");
      const uint64_t v = c.literal().imm64();
      p.insn = encode(op, dst, 0, 0, static_cast<int32_t>(static_cast<uint32_t>(v)));
      p.wide = true;
      p.hi = static_cast<uint32_t>(v >> 32);
      return p;
    }
    case Kind::LdAbs:
      imm = c.literal().imm32();
      break;
    case Kind::LdInd:
      src = reg(c);
      c.expect_punct(",");
      imm = c.literal().imm32();
      break;
    case Kind::Ldx:
    case Kind::Ldxs:
      dst = reg(c);
      c.expect_punct(",");
      parse_mem(c, src, off);
      break;
    case Kind::St:
      parse_mem(c, dst, off);
      c.expect_punct(",");
      imm = c.literal().imm32();
      break;
    case Kind::Stx:
      parse_mem(c, dst, off);
      c.expect_punct(",");
      src = reg(c);
      break;
    default:
      fail("'" + std::string(word) + "' has no conformance syntax; write it in the kernel syntax");
  }
  p.insn = encode(op, dst, src, off, imm);
  return p;
}

}  // namespace

bool is_conformance_mnemonic(std::string_view word) {
  if (word == "lock") return true;
  const std::vector<Op>* ops = lookup(word);
  if (!ops) return false;
  const Kind k = info(ops->front()).kind;
  return k != Kind::LoadAcq && k != Kind::StoreRel;  // kernel syntax only
}

Parsed parse_conformance_line(Cursor& c) {
  Parsed p = parse_statement(c);
  p.conformance = true;
  c.expect_end();
  require_valid(p.insn, "");
  return p;
}

}  // namespace bpfbox::isa::asm_detail
