// Reading and writing the files the CLI works on, and telling a raw program from assembly.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "isa/insn.hpp"

namespace bpfbox::cli {

// The whole file; CommandError "cannot open 'F': reason" when it cannot be read.
std::vector<uint8_t> read_file(const std::string& path);
void write_file(const std::string& path, std::span<const uint8_t> bytes);

// A program file is raw instructions when it holds a NUL byte — every real program does, since
// `exit` is 95 00 00 00 00 00 00 00 — and assembly text otherwise.
bool is_raw_program(std::span<const uint8_t> bytes);

// Raw little-endian 8-byte instruction words; CommandError when the size is not a multiple of 8.
std::vector<isa::Insn> raw_program(std::span<const uint8_t> bytes, const std::string& what);

// The program in `path`, raw or assembled (either syntax, per line) as its content says.
std::vector<isa::Insn> load_program(const std::string& path);

std::span<const uint8_t> as_bytes(std::span<const isa::Insn> prog);

}  // namespace bpfbox::cli
