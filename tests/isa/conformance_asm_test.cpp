// Every asm section of every bpf_conformance .data file assembles (read in place); where a file
// also has a "-- raw" section, the assembled program is exactly those words.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "isa/assembler.hpp"
#include "isa/decoder.hpp"

namespace bpfbox::isa {
namespace {

namespace fs = std::filesystem;

std::vector<fs::path> data_files() {
  std::vector<fs::path> files;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(BPFBOX_CONFORMANCE_DIR, ec))
    if (e.path().extension() == ".data") files.push_back(e.path());
  std::sort(files.begin(), files.end());
  return files;
}

// The file's sections by name ("asm", "raw", ...), each the text between its "--" line and the
// next.
std::map<std::string, std::string> sections(const fs::path& file) {
  std::ifstream in(file);
  std::map<std::string, std::string> out;
  std::string line, current;
  while (std::getline(in, line)) {
    if (line.starts_with("--")) {
      current = line.substr(line.find_first_not_of("- "));
      out[current];
      continue;
    }
    if (!current.empty()) out[current] += line + "\n";
  }
  return out;
}

std::vector<Insn> raw_words(const std::string& text) {
  std::vector<Insn> out;
  std::istringstream in(text);
  std::string tok;
  while (in >> tok) {
    if (tok.starts_with("#")) {
      std::getline(in, tok);
      continue;
    }
    const uint64_t word = std::stoull(tok, nullptr, 16);
    Insn insn;
    std::memcpy(&insn, &word, sizeof insn);  // little-endian fields, opcode in the low byte
    out.push_back(insn);
  }
  return out;
}

class ConformanceAsm : public testing::TestWithParam<fs::path> {};

TEST_P(ConformanceAsm, Assembles) {
  const auto s = sections(GetParam());
  ASSERT_TRUE(s.contains("asm"));
  auto r = assemble(s.at("asm"));
  ASSERT_TRUE(r) << r.status().message();
  // The same text under the forced conformance syntax gives the same program.
  auto forced = assemble(s.at("asm"), Syntax::Conformance);
  ASSERT_TRUE(forced) << forced.status().message();
  ASSERT_EQ(forced->size(), r->size());
  EXPECT_EQ(std::memcmp(forced->data(), r->data(), r->size() * sizeof(Insn)), 0);
  // Every program of the suite is well formed for the engines.
  auto decoded = decode_program(*r);
  EXPECT_TRUE(decoded) << decoded.status().message();
  if (s.contains("raw")) {
    const std::vector<Insn> want = raw_words(s.at("raw"));
    ASSERT_EQ(r->size(), want.size());
    EXPECT_EQ(std::memcmp(r->data(), want.data(), want.size() * sizeof(Insn)), 0);
  }
}

std::string test_name(const testing::TestParamInfo<fs::path>& p) {
  std::string name = p.param.stem().string();
  for (char& c : name)
    if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
  return name;
}

INSTANTIATE_TEST_SUITE_P(Suite, ConformanceAsm, testing::ValuesIn(data_files()), test_name);
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(ConformanceAsm);

TEST(ConformanceAsmFiles, TheSuiteIsThere) {
  EXPECT_GE(data_files().size(), 313u) << "no .data files in " << BPFBOX_CONFORMANCE_DIR;
}

}  // namespace
}  // namespace bpfbox::isa
