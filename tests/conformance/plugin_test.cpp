// The built plugin (bpfbox-conformance-plugin, the CLI under the name that makes it the plugin),
// driven over every case exactly as the public runner drives one: `PLUGIN [MEM] [options...]`, the
// program as hex bytes on stdin, the memory (when there is some) as one argument of hex bytes, r0
// read back in hex from stdout.
#include <gtest/gtest.h>

#include <cstdio>
#include <string>

#include "case_program.hpp"
#include "data_file.hpp"
#include "subprocess.hpp"

namespace bpfbox::conformance {
namespace {

namespace fs = std::filesystem;

// The runner's encoding: every byte as two hex digits followed by two spaces.
std::string base16(const uint8_t* data, size_t size) {
  std::string s;
  char buf[8];
  for (size_t i = 0; i < size; ++i) {
    std::snprintf(buf, sizeof buf, "%02x  ", data[i]);
    s += buf;
  }
  return s;
}

class ConformancePlugin : public ::testing::TestWithParam<fs::path> {
 protected:
  // `options` go after the memory, as the runner appends its --plugin_options.
  void run_case(const std::vector<std::string>& options);
};

void ConformancePlugin::run_case(const std::vector<std::string>& options) {
  auto file = read_data_file(GetParam());
  ASSERT_TRUE(file) << file.status().message();
  auto prog = case_program(*file);
  ASSERT_TRUE(prog) << prog.status().message();

  std::vector<std::string> argv = {testing::conformance_plugin_binary()};
  if (!file->mem.empty()) argv.push_back(base16(file->mem.data(), file->mem.size()));
  argv.insert(argv.end(), options.begin(), options.end());
  const std::string input =
      base16(reinterpret_cast<const uint8_t*>(prog->data()), prog->size() * sizeof(isa::Insn)) +
      "\n";
  const testing::ProcessResult r = testing::run_process(argv, input);
  ASSERT_EQ(r.exit_code, 0) << r.err;

  // As the runner reads it: every stdout line joined, then parsed as hex.
  std::string joined;
  for (char c : r.out)
    if (c != '\n') joined += c;
  uint64_t r0 = 0;
  ASSERT_NO_THROW(r0 = std::stoull(joined, nullptr, 16)) << r.out;
  EXPECT_EQ(r0, file->result) << "plugin printed " << r.out;
}

TEST_P(ConformancePlugin, Interp) {
  run_case({});
}

#ifdef BPFBOX_HAVE_JIT
TEST_P(ConformancePlugin, Jit) {
  run_case({"--engine", "jit"});
}
#endif

#ifdef BPFBOX_HAVE_LLVM
TEST_P(ConformancePlugin, Llvm) {
  run_case({"--engine", "llvm"});
}
#endif

INSTANTIATE_TEST_SUITE_P(Bpf, ConformancePlugin,
                         ::testing::ValuesIn(list_data_files(BPFBOX_CONFORMANCE_DIR)),
                         [](const auto& test) { return case_name(test.param); });

}  // namespace
}  // namespace bpfbox::conformance
