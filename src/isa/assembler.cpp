// The assembler's driver: lines, comments, labels, the syntax of each line, and label fixups.
#include "isa/assembler.hpp"

#include <cctype>
#include <string>
#include <unordered_map>

#include "isa/asm_parse.hpp"
#include "isa/decoder.hpp"

namespace bpfbox::isa {
namespace {

using asm_detail::AsmError;
using asm_detail::Cursor;
using asm_detail::Parsed;
using asm_detail::Token;

// '#' starts a comment only at the start of a line or after a space: "call foo#1" keeps it.
std::string_view strip_comment(std::string_view line) {
  for (size_t i = 0; i < line.size(); ++i) {
    const char ch = line[i];
    if (ch == ';' || (ch == '/' && i + 1 < line.size() && line[i + 1] == '/') ||
        (ch == '#' && (i == 0 || std::isspace(static_cast<unsigned char>(line[i - 1])))))
      return line.substr(0, i);
  }
  return line;
}

// "12: (b7) r0 = 1": the pc and opcode the verifier log and disassemble_program print. The
// opcode is hex without 0x ("(7d)"), so it goes before tokenizing.
std::string_view strip_log_prefix(std::string_view line) {
  auto skip_space = [&](size_t i) {
    while (i < line.size() && std::isspace(static_cast<unsigned char>(line[i]))) ++i;
    return i;
  };
  size_t i = skip_space(0);
  const size_t digits = i;
  while (i < line.size() && std::isdigit(static_cast<unsigned char>(line[i]))) ++i;
  if (i > digits && i < line.size() && line[i] == ':')
    i = skip_space(i + 1);
  else
    i = digits;
  if (i + 3 < line.size() && line[i] == '(' &&
      std::isxdigit(static_cast<unsigned char>(line[i + 1])) &&
      std::isxdigit(static_cast<unsigned char>(line[i + 2])) && line[i + 3] == ')')
    i += 4;
  return line.substr(i);
}

bool is_conformance_line(const std::vector<Token>& tokens, const Cursor& c) {
  for (size_t i = 0; i + 1 < tokens.size(); ++i)
    if (tokens[i].kind == Token::Kind::Punct && tokens[i].text == "%" &&
        tokens[i + 1].kind == Token::Kind::Ident)
      return true;
  const Token& first = c.peek();
  if (first.kind != Token::Kind::Ident) return false;
  const std::string_view w = first.text;
  // Shared words go to the kernel parser, which reads their conformance forms too.
  if (w == "exit" || w == "call" || w == "callx" || w == "may_goto") return false;
  if (w == "lock") return !c.at_punct("*", 1);
  return asm_detail::is_conformance_mnemonic(w);
}

struct Line {
  Parsed parsed;
  size_t pc;
  size_t line_no;
};

struct Label {
  size_t pc;
  size_t line_no;
};

Status error_at(size_t line_no, const std::string& what) {
  return Status(EINVAL, "line " + std::to_string(line_no) + ": " + what);
}

}  // namespace

Result<std::vector<Insn>> assemble(std::string_view text, Syntax syntax) {
  std::vector<Line> lines;
  std::unordered_map<std::string, Label> labels;
  std::optional<size_t> first_exit;
  size_t pc = 0;
  size_t line_no = 0;
  while (!text.empty() || line_no == 0) {
    const size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    ++line_no;
    try {
      const std::vector<Token> tokens = asm_detail::tokenize(strip_log_prefix(strip_comment(line)));
      Cursor c(tokens);
      while (c.peek().kind == Token::Kind::Ident && c.at_punct(":", 1)) {
        const std::string name(c.next().text);
        c.next();
        const auto [it, fresh] = labels.emplace(name, Label{pc, line_no});
        if (!fresh)
          asm_detail::fail("duplicate label '" + name + "' (first defined on line " +
                           std::to_string(it->second.line_no) + ")");
      }
      if (c.at_end()) continue;
      const bool conformance = syntax == Syntax::Conformance ||
                               (syntax == Syntax::Auto && is_conformance_line(tokens, c));
      Parsed p =
          conformance ? asm_detail::parse_conformance_line(c) : asm_detail::parse_kernel_line(c);
      if (p.insn.code == (BPF_JMP | BPF_EXIT) && !first_exit) first_exit = pc;
      lines.push_back(Line{std::move(p), pc, line_no});
      pc += lines.back().parsed.wide ? 2 : 1;
      if (pc > kMaxInsns)
        return Status(E2BIG, "line " + std::to_string(line_no) + ": program exceeds " +
                                 std::to_string(kMaxInsns) + " instructions");
    } catch (const AsmError& e) {
      return error_at(line_no, e.what);
    }
    if (nl == std::string_view::npos) break;
  }

  std::vector<Insn> out;
  out.reserve(pc);
  for (Line& l : lines) {
    Parsed& p = l.parsed;
    if (p.field != Parsed::Field::None) {
      size_t target = 0;
      if (const auto it = labels.find(p.label); it != labels.end())
        target = it->second.pc;
      else if (p.label == "exit" && first_exit)  // the suite's assembler: "exit" is the first exit
        target = *first_exit;
      else
        return error_at(l.line_no, "undefined label '" + p.label + "'");
      const int64_t rel = static_cast<int64_t>(target) - static_cast<int64_t>(l.pc) - 1;
      if (p.field == Parsed::Field::Off) {
        if (rel < INT16_MIN || rel > INT16_MAX)
          return error_at(l.line_no, "jump to '" + p.label + "' is " + std::to_string(rel) +
                                         " instructions away, beyond a 16-bit offset; use " +
                                         (p.conformance ? "ja32" : "gotol"));
        p.insn.off = static_cast<int16_t>(rel);
      } else {
        p.insn.imm = static_cast<int32_t>(rel);
      }
    }
    if (p.wide) {
      Insn pair[2];
      encode_lddw(p.insn.dst_reg, p.insn.src_reg,
                  (static_cast<uint64_t>(p.hi) << 32) | static_cast<uint32_t>(p.insn.imm), pair);
      out.push_back(pair[0]);
      out.push_back(pair[1]);
    } else {
      out.push_back(p.insn);
    }
  }
  return out;
}

}  // namespace bpfbox::isa
