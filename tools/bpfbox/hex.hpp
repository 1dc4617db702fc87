// Hex byte strings as the CLI and the conformance runner write them: "b7 00 0a", "b7000a".
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace bpfbox::cli {

// Bytes in the order written. Tokens are separated by whitespace; each is one or two hex digits
// (one byte) or an even number of them (several bytes), optionally after "0x". nullopt with
// `error` set ("bad hex byte 'zz'") when the text is not that.
std::optional<std::vector<uint8_t>> parse_hex_bytes(std::string_view text, std::string* error);

}  // namespace bpfbox::cli
