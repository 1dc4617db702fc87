// The bpf_conformance suite's .data files: the program (assembly or raw words), the input memory
// and the expected r0, as the public runner reads them.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "bpfbox/status.hpp"

namespace bpfbox::conformance {

struct DataFile {
  std::string asm_text;                      // "-- asm", comments removed
  std::optional<std::vector<uint64_t>> raw;  // "-- raw": one word per slot, low byte = opcode
  std::vector<uint8_t> mem;                  // "-- mem"
  uint64_t result = 0;                       // "-- result"
};

// Parses a .data file: `#` starts a comment, a line holding `--` starts a section (asm, raw, mem,
// result, and c / no register offset which are for reading only). EINVAL with "line N: ..." for
// an unknown section, a bad number or a missing result.
Result<DataFile> parse_data_file(std::string_view text);
Result<DataFile> read_data_file(const std::filesystem::path& path);

// Every .data file in a directory, sorted by name (empty when the directory does not exist).
std::vector<std::filesystem::path> list_data_files(const std::filesystem::path& dir);

// A test name gtest accepts, from a file stem: "alu-arith" -> "alu_arith".
std::string case_name(const std::filesystem::path& path);

}  // namespace bpfbox::conformance
