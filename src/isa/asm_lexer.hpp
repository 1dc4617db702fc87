// The assembler's tokens and the cursor both syntaxes parse with. Internal to src/isa.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace bpfbox::isa::asm_detail {

// Thrown by the parsers with what is wrong; assemble() adds "line N: " and returns EINVAL.
struct AsmError {
  std::string what;
};
[[noreturn]] void fail(std::string what);

struct Token {
  enum class Kind : uint8_t { Ident, Number, Punct, End };
  Kind kind = Kind::End;
  std::string_view text;
  uint64_t value = 0;  // Number
};

// Splits one line (comments already removed): identifiers, numbers (decimal or 0x hex, unsigned;
// signs are tokens), and punctuation ("<<=", "==", "[", "%", ...). Ends with an End token.
std::vector<Token> tokenize(std::string_view line);

// A signed literal as written: sign and magnitude, converted to a field with a range check.
struct Literal {
  bool negative = false;
  uint64_t magnitude = 0;
  bool hex = false;
  std::string text;

  int32_t imm32() const;   // -2^31 .. 2^32-1, stored as its low 32 bits
  int32_t s32() const;     // -2^31 .. 2^31-1
  uint32_t u32() const;    // 0 .. 2^32-1
  int16_t off16() const;   // -2^15 .. 2^15-1
  uint64_t imm64() const;  // -2^63 .. 2^64-1, as its two's complement bits
};

class Cursor {
 public:
  explicit Cursor(const std::vector<Token>& tokens) : t_(tokens) {}

  const Token& peek(size_t ahead = 0) const;
  const Token& next();
  bool at_end() const { return peek().kind == Token::Kind::End; }
  bool at_punct(std::string_view p, size_t ahead = 0) const;
  bool at_ident(std::string_view id, size_t ahead = 0) const;
  bool accept_punct(std::string_view p);
  bool accept_ident(std::string_view id);
  void expect_punct(std::string_view p);
  void expect_ident(std::string_view id);
  std::string_view ident();  // any identifier
  void expect_end();

  // A register: "r3", "w3" or "%r3". `is32` tells a "w" register.
  uint8_t reg(bool* is32 = nullptr);
  bool at_reg(size_t ahead = 0) const;
  // An optionally signed number.
  Literal literal();
  bool at_literal() const;

  // What the next token looks like, for messages: "'foo'" or "the end of the line".
  std::string describe_next() const;

 private:
  const std::vector<Token>& t_;
  size_t i_ = 0;
};

}  // namespace bpfbox::isa::asm_detail
