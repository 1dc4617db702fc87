#include "hex.hpp"

#include <cctype>

namespace bpfbox::cli {
namespace {

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

std::optional<std::vector<uint8_t>> parse_hex_bytes(std::string_view text, std::string* error) {
  std::vector<uint8_t> bytes;
  size_t i = 0;
  while (i < text.size()) {
    if (std::isspace(static_cast<unsigned char>(text[i]))) {
      ++i;
      continue;
    }
    size_t end = i;
    while (end < text.size() && !std::isspace(static_cast<unsigned char>(text[end]))) ++end;
    const std::string_view token = text.substr(i, end - i);
    std::string_view digits = token;
    if (digits.size() > 2 && digits[0] == '0' && (digits[1] == 'x' || digits[1] == 'X'))
      digits.remove_prefix(2);
    bool ok = digits.size() <= 2 || digits.size() % 2 == 0;
    for (char c : digits) ok = ok && hex_digit(c) >= 0;
    if (!ok) {
      if (error) *error = "bad hex byte '" + std::string(token.substr(0, 32)) + "'";
      return std::nullopt;
    }
    if (digits.size() <= 2) {
      int v = 0;
      for (char c : digits) v = v * 16 + hex_digit(c);
      bytes.push_back(static_cast<uint8_t>(v));
    } else {
      for (size_t k = 0; k < digits.size(); k += 2)
        bytes.push_back(static_cast<uint8_t>(hex_digit(digits[k]) * 16 + hex_digit(digits[k + 1])));
    }
    i = end;
  }
  return bytes;
}

}  // namespace bpfbox::cli
