#include "data_file.hpp"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <fstream>
#include <sstream>

namespace bpfbox::conformance {
namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

Status error(size_t line, const std::string& what) {
  return Status(EINVAL, "line " + std::to_string(line) + ": " + what);
}

// "0x..." is hex, anything else decimal; a leading '-' gives the two's complement.
std::optional<uint64_t> parse_number(std::string_view s) {
  bool negative = false;
  if (!s.empty() && s.front() == '-') negative = true, s.remove_prefix(1);
  int base = 10;
  if (s.size() > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) base = 16, s.remove_prefix(2);
  uint64_t v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v, base);
  if (s.empty() || ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
  return negative ? ~v + 1 : v;
}

enum class Section { None, Asm, Raw, Mem, Result, Ignored };

}  // namespace

Result<DataFile> parse_data_file(std::string_view text) {
  DataFile out;
  Section section = Section::None;
  std::optional<uint64_t> result;
  std::vector<uint64_t> raw;
  bool has_raw = false;
  size_t lineno = 0;
  std::istringstream in{std::string(text)};
  std::string full;
  while (std::getline(in, full)) {
    ++lineno;
    std::string_view line = full;
    if (const size_t hash = line.find('#'); hash != std::string_view::npos)
      line = line.substr(0, hash);
    line = trim(line);
    if (const size_t dashes = line.find("--"); dashes != std::string_view::npos) {
      const std::string_view name = trim(line.substr(dashes + 2));
      if (name == "asm") {
        section = Section::Asm;
      } else if (name == "raw") {
        section = Section::Raw;
        has_raw = true;
      } else if (name == "mem") {
        section = Section::Mem;
      } else if (name == "result") {
        section = Section::Result;
      } else if (name == "c" || name == "no register offset") {
        section = Section::Ignored;
      } else {
        return error(lineno, "unknown section '-- " + std::string(name) + "'");
      }
      continue;
    }
    if (line.empty()) continue;
    std::istringstream tokens{std::string(line)};
    std::string tok;
    switch (section) {
      case Section::None:
        return error(lineno, "text before the first section");
      case Section::Ignored:
        break;
      case Section::Asm:
        out.asm_text.append(line).push_back('\n');
        break;
      case Section::Raw:
        while (tokens >> tok) {
          const auto v = parse_number(tok);
          if (!v) return error(lineno, "bad instruction word '" + tok + "'");
          raw.push_back(*v);
        }
        break;
      case Section::Mem:
        while (tokens >> tok) {
          uint8_t byte = 0;
          auto [end, ec] = std::from_chars(tok.data(), tok.data() + tok.size(), byte, 16);
          if (tok.size() > 2 || ec != std::errc() || end != tok.data() + tok.size())
            return error(lineno, "bad memory byte '" + tok + "'");
          out.mem.push_back(byte);
        }
        break;
      case Section::Result:
        if (result) return error(lineno, "more than one result");
        result = parse_number(line);
        if (!result) return error(lineno, "bad result '" + std::string(line) + "'");
        break;
    }
  }
  if (!result) return Status(EINVAL, "no '-- result' section");
  if (out.asm_text.empty() && !has_raw) return Status(EINVAL, "no '-- asm' or '-- raw' section");
  out.result = *result;
  if (has_raw) out.raw = std::move(raw);
  return out;
}

Result<DataFile> read_data_file(const std::filesystem::path& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) return Status(ENOENT, path.string() + ": cannot open");
  std::ostringstream text;
  text << f.rdbuf();
  auto parsed = parse_data_file(text.str());
  if (!parsed)
    return Status(parsed.status().err(), path.string() + ": " + parsed.status().message());
  return parsed;
}

std::vector<std::filesystem::path> list_data_files(const std::filesystem::path& dir) {
  std::vector<std::filesystem::path> files;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec))
    if (entry.path().extension() == ".data") files.push_back(entry.path());
  std::sort(files.begin(), files.end());
  return files;
}

std::string case_name(const std::filesystem::path& path) {
  std::string name = path.stem().string();
  for (char& c : name)
    if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
  return name;
}

}  // namespace bpfbox::conformance
