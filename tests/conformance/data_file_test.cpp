// The .data parser: sections, comments, numbers, and every file of the suite parses.
#include <gtest/gtest.h>

#include "data_file.hpp"

namespace bpfbox::conformance {
namespace {

TEST(DataFile, ParsesSectionsAndComments) {
  auto f = parse_data_file(
      "# Copyright\n"
      "-- asm\n"
      "mov %r0, 1 # one\n"
      "\n"
      "exit\n"
      "-- mem\n"
      "00 01\n"
      "ff\n"
      "-- no register offset\n"
      "call instruction\n"
      "-- result\n"
      "0x10\n");
  ASSERT_TRUE(f) << f.status().message();
  EXPECT_EQ(f->asm_text, "mov %r0, 1\nexit\n");
  EXPECT_EQ(f->mem, (std::vector<uint8_t>{0x00, 0x01, 0xff}));
  EXPECT_EQ(f->result, 0x10u);
  EXPECT_FALSE(f->raw.has_value());
}

TEST(DataFile, RawWordsAndDecimalResult) {
  auto f = parse_data_file("-- raw\n0x0000000000000095 183\n-- result\n-1\n");
  ASSERT_TRUE(f) << f.status().message();
  ASSERT_TRUE(f->raw.has_value());
  EXPECT_EQ(*f->raw, (std::vector<uint64_t>{0x95, 183}));
  EXPECT_EQ(f->result, ~uint64_t{0});
}

TEST(DataFile, RefusesWhatItCannotRead) {
  EXPECT_EQ(parse_data_file("-- asm\nexit\n").status().message(), "no '-- result' section");
  EXPECT_EQ(parse_data_file("-- asm\nexit\n-- wat\n").status().message(),
            "line 3: unknown section '-- wat'");
  EXPECT_EQ(parse_data_file("-- mem\n0g\n-- result\n1\n").status().message(),
            "line 2: bad memory byte '0g'");
  EXPECT_EQ(parse_data_file("-- asm\nexit\n-- result\nzz\n").status().message(),
            "line 4: bad result 'zz'");
}

TEST(DataFile, CaseNamesAreIdentifiers) {
  EXPECT_EQ(case_name("/x/alu-arith.data"), "alu_arith");
  EXPECT_EQ(case_name("lock_add32.data"), "lock_add32");
}

TEST(DataFile, EveryFileOfTheSuiteParses) {
  const auto files = list_data_files(BPFBOX_CONFORMANCE_DIR);
  ASSERT_GE(files.size(), 313u) << "the conformance suite is missing from "
                                << BPFBOX_CONFORMANCE_DIR;
  size_t with_mem = 0, with_raw = 0;
  for (const auto& path : files) {
    auto f = read_data_file(path);
    ASSERT_TRUE(f) << f.status().message();
    with_mem += !f->mem.empty();
    with_raw += f->raw.has_value();
  }
  EXPECT_EQ(with_mem, 40u);
  EXPECT_EQ(with_raw, 1u);
}

}  // namespace
}  // namespace bpfbox::conformance
