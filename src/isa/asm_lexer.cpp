#include "isa/asm_lexer.hpp"

#include <array>
#include <cctype>
#include <cstdio>
#include <limits>

#include "isa/insn.hpp"

namespace bpfbox::isa::asm_detail {
namespace {

bool ident_start(char c) {
  return std::isalpha(static_cast<unsigned char>(c)) || c == '_' || c == '.';  // .LBB0_1
}
bool ident_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.';
}

// Longest first, so "<<=" wins over "<" and "<=".
constexpr std::array<std::string_view, 29> kPuncts = {
    "<<=", ">>=", "==", "!=", ">=", "<=", "+=", "-=", "*=", "/=", "|=", "&=", "^=", "%=", "=",
    ">",   "<",   "&",  "(",  ")",  "[",  "]",  "*",  ",",  ":",  "#",  "+",  "-",  "%"};

uint64_t parse_number(std::string_view text) {
  const bool hex = text.size() > 2 && text[0] == '0' && (text[1] == 'x' || text[1] == 'X');
  const unsigned base = hex ? 16 : 10;
  uint64_t v = 0;
  for (char c : hex ? text.substr(2) : text) {
    unsigned digit;
    if (c >= '0' && c <= '9')
      digit = static_cast<unsigned>(c - '0');
    else if (hex && std::isxdigit(static_cast<unsigned char>(c)))
      digit = static_cast<unsigned>(std::tolower(static_cast<unsigned char>(c)) - 'a' + 10);
    else
      fail("bad number '" + std::string(text) + "'");
    if (v > (std::numeric_limits<uint64_t>::max() - digit) / base)
      fail("number '" + std::string(text) + "' does not fit in 64 bits");
    v = v * base + digit;
  }
  return v;
}

}  // namespace

void fail(std::string what) {
  throw AsmError{std::move(what)};
}

std::vector<Token> tokenize(std::string_view line) {
  std::vector<Token> out;
  size_t i = 0;
  while (i < line.size()) {
    const char c = line[i];
    if (std::isspace(static_cast<unsigned char>(c))) {
      ++i;
      continue;
    }
    Token tok;
    const size_t start = i;
    if (ident_start(c)) {
      while (i < line.size() && ident_char(line[i])) ++i;
      tok.kind = Token::Kind::Ident;
    } else if (std::isdigit(static_cast<unsigned char>(c))) {
      while (i < line.size() && std::isalnum(static_cast<unsigned char>(line[i]))) ++i;
      tok.kind = Token::Kind::Number;
      tok.value = parse_number(line.substr(start, i - start));
    } else {
      for (std::string_view p : kPuncts) {
        if (line.substr(i, p.size()) == p) {
          i += p.size();
          tok.kind = Token::Kind::Punct;
          break;
        }
      }
      if (tok.kind != Token::Kind::Punct) {
        char buf[48];
        if (std::isprint(static_cast<unsigned char>(c)))
          std::snprintf(buf, sizeof buf, "unexpected character '%c'", c);
        else
          std::snprintf(buf, sizeof buf, "unexpected byte 0x%02x", static_cast<unsigned char>(c));
        fail(buf);
      }
    }
    tok.text = line.substr(start, i - start);
    out.push_back(tok);
  }
  out.push_back(Token{});
  return out;
}

int32_t Literal::imm32() const {
  if (negative ? magnitude > 0x80000000ull : magnitude > 0xffffffffull)
    fail("immediate " + text + " does not fit in 32 bits");
  return static_cast<int32_t>(static_cast<uint32_t>(negative ? 0 - magnitude : magnitude));
}

int32_t Literal::s32() const {
  if (magnitude > (negative ? 0x80000000ull : 0x7fffffffull))
    fail("immediate " + text + " is out of the signed 32-bit range");
  return static_cast<int32_t>(static_cast<uint32_t>(negative ? 0 - magnitude : magnitude));
}

uint32_t Literal::u32() const {
  if (negative || magnitude > 0xffffffffull)
    fail("value " + text + " is out of the unsigned 32-bit range");
  return static_cast<uint32_t>(magnitude);
}

int16_t Literal::off16() const {
  if (magnitude > (negative ? 0x8000ull : 0x7fffull))
    fail("offset " + text + " is out of the signed 16-bit range");
  return static_cast<int16_t>(static_cast<uint16_t>(negative ? 0 - magnitude : magnitude));
}

uint64_t Literal::imm64() const {
  if (negative && magnitude > 0x8000000000000000ull)
    fail("immediate " + text + " does not fit in 64 bits");
  return negative ? 0 - magnitude : magnitude;
}

const Token& Cursor::peek(size_t ahead) const {
  const size_t j = i_ + ahead;
  return j < t_.size() ? t_[j] : t_.back();
}

const Token& Cursor::next() {
  const Token& t = peek();
  if (i_ + 1 < t_.size()) ++i_;
  return t;
}

bool Cursor::at_punct(std::string_view p, size_t ahead) const {
  const Token& t = peek(ahead);
  return t.kind == Token::Kind::Punct && t.text == p;
}

bool Cursor::at_ident(std::string_view id, size_t ahead) const {
  const Token& t = peek(ahead);
  return t.kind == Token::Kind::Ident && t.text == id;
}

bool Cursor::accept_punct(std::string_view p) {
  if (!at_punct(p)) return false;
  next();
  return true;
}

bool Cursor::accept_ident(std::string_view id) {
  if (!at_ident(id)) return false;
  next();
  return true;
}

void Cursor::expect_punct(std::string_view p) {
  if (!accept_punct(p)) fail("expected '" + std::string(p) + "', got " + describe_next());
}

void Cursor::expect_ident(std::string_view id) {
  if (!accept_ident(id)) fail("expected '" + std::string(id) + "', got " + describe_next());
}

std::string_view Cursor::ident() {
  if (peek().kind != Token::Kind::Ident) fail("expected a name, got " + describe_next());
  return next().text;
}

void Cursor::expect_end() {
  if (!at_end()) fail("unexpected " + describe_next() + " after the instruction");
}

bool Cursor::at_reg(size_t ahead) const {
  const size_t k = at_punct("%", ahead) ? ahead + 1 : ahead;
  const Token& t = peek(k);
  return t.kind == Token::Kind::Ident && t.text.size() >= 2 &&
         (t.text[0] == 'r' || t.text[0] == 'w') &&
         std::isdigit(static_cast<unsigned char>(t.text[1]));
}

uint8_t Cursor::reg(bool* is32) {
  const bool percent = accept_punct("%");
  const Token& t = peek();
  if (!at_reg()) fail("expected a register, got " + describe_next());
  next();
  const std::string_view digits = t.text.substr(1);
  unsigned n = 0;
  for (char c : digits) {
    if (!std::isdigit(static_cast<unsigned char>(c)) || n > 100)
      n = 1000;
    else
      n = n * 10 + static_cast<unsigned>(c - '0');
  }
  if (n > static_cast<unsigned>(kMaxReg) || (digits.size() > 1 && digits[0] == '0') ||
      (percent && t.text[0] == 'w'))
    fail("bad register '" + std::string(percent ? "%" : "") + std::string(t.text) + "'");
  if (is32) *is32 = t.text[0] == 'w';
  return static_cast<uint8_t>(n);
}

bool Cursor::at_literal() const {
  const size_t k = (at_punct("-") || at_punct("+")) ? 1 : 0;
  return peek(k).kind == Token::Kind::Number;
}

Literal Cursor::literal() {
  Literal lit;
  if (accept_punct("-"))
    lit.negative = true;
  else
    accept_punct("+");
  if (peek().kind != Token::Kind::Number) fail("expected a number, got " + describe_next());
  const Token& t = next();
  lit.magnitude = t.value;
  lit.hex = t.text.size() > 1 && (t.text[1] == 'x' || t.text[1] == 'X');
  lit.text = (lit.negative ? "-" : "") + std::string(t.text);
  return lit;
}

std::string Cursor::describe_next() const {
  if (at_end()) return "the end of the line";
  return "'" + std::string(peek().text) + "'";
}

}  // namespace bpfbox::isa::asm_detail
