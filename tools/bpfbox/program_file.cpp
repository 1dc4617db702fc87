#include "program_file.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <iterator>
#include <string_view>

#include "command_error.hpp"
#include "isa/assembler.hpp"

namespace bpfbox::cli {

std::vector<uint8_t> read_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) throw CommandError("cannot open '" + path + "': " + std::strerror(errno));
  std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  if (f.bad()) throw CommandError("cannot read '" + path + "': " + std::strerror(errno));
  return bytes;
}

void write_file(const std::string& path, std::span<const uint8_t> bytes) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  if (!f) throw CommandError("cannot create '" + path + "': " + std::strerror(errno));
  f.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  f.close();
  if (!f) throw CommandError("cannot write '" + path + "': " + std::strerror(errno));
}

bool is_raw_program(std::span<const uint8_t> bytes) {
  return std::find(bytes.begin(), bytes.end(), 0) != bytes.end();
}

std::vector<isa::Insn> raw_program(std::span<const uint8_t> bytes, const std::string& what) {
  if (bytes.empty()) throw CommandError(what + ": empty program");
  if (bytes.size() % sizeof(isa::Insn) != 0)
    throw CommandError(what + ": " + std::to_string(bytes.size()) +
                       " bytes is not a whole number of 8-byte instructions");
  std::vector<isa::Insn> prog(bytes.size() / sizeof(isa::Insn));
  std::memcpy(prog.data(), bytes.data(), bytes.size());
  return prog;
}

std::vector<isa::Insn> load_program(const std::string& path) {
  const std::vector<uint8_t> bytes = read_file(path);
  if (is_raw_program(bytes)) return raw_program(bytes, path);
  const std::string_view text(reinterpret_cast<const char*>(bytes.data()), bytes.size());
  auto prog = isa::assemble(text, isa::Syntax::Auto);
  if (!prog) throw CommandError(path + ": " + prog.status().message());
  if (prog->empty()) throw CommandError(path + ": empty program");
  return std::move(prog).value();
}

std::span<const uint8_t> as_bytes(std::span<const isa::Insn> prog) {
  return {reinterpret_cast<const uint8_t*>(prog.data()), prog.size_bytes()};
}

}  // namespace bpfbox::cli
