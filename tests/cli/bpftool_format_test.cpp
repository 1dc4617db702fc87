// The CLI's bpftool formats on their own: JSON in bpftool's writer's layout, values printed from
// BTF, C signatures of BTF functions. The expected texts are what Debian's bpftool printed for the
// same objects loaded into the kernel (`bpftool map dump`, `prog dump xlated`).
#include <bpf/btf.h>
#include <gtest/gtest.h>

#include <cstdio>
#include <cstring>
#include <string>

#include "btf_dumper.hpp"
#include "json_writer.hpp"

namespace bpfbox::cli {
namespace {

std::string object(const std::string& name) {
  return std::string(BPFBOX_BPF_OBJECTS_DIR) + "/" + name + ".bpf.o";
}

// What a writer printed, through a memory stream.
class Captured {
 public:
  Captured() : f_(open_memstream(&buf_, &len_)) {}
  ~Captured() {
    if (f_) std::fclose(f_);
    std::free(buf_);
  }
  FILE* file() { return f_; }
  std::string text() {
    std::fflush(f_);
    return std::string(buf_, len_);
  }

 private:
  char* buf_ = nullptr;
  size_t len_ = 0;
  FILE* f_;
};

struct Btf {
  struct btf* b;
  explicit Btf(const std::string& path) : b(btf__parse_elf(path.c_str(), nullptr)) {}
  ~Btf() { btf__free(b); }
  uint32_t id(const char* name, uint32_t kind) const {
    const int id = btf__find_by_name_kind(b, name, kind);
    EXPECT_GT(id, 0) << name;
    return uint32_t(id);
  }
};

TEST(BpftoolFormat, JsonWriterLayoutPrettyAndCompact) {
  for (bool pretty : {true, false}) {
    Captured c;
    JsonWriter w(c.file(), pretty);
    w.start_object();
    w.uint_field("id", 7);
    w.string_field("name", "a\"b\\c\n");
    w.name("map_ids");
    w.start_array();
    w.uint(1);
    w.uint(2);
    w.end_array();
    w.name("empty");
    w.start_array();
    w.end_array();
    w.null_field("key");
    w.name("bytes");
    const uint8_t b[] = {0, 0xab};
    w.hex_bytes(b, 2);
    w.end_object();
    w.finish();
    if (pretty)
      EXPECT_EQ(
          c.text(),
          "{\n    \"id\": 7,\n    \"name\": \"a\\\"b\\\\c\\n\",\n    \"map_ids\": [1,2\n    ],\n"
          "    \"empty\": [],\n    \"key\": null,\n    \"bytes\": [\"0x00\",\"0xab\"\n    ]\n}\n");
    else
      EXPECT_EQ(c.text(),
                "{\"id\":7,\"name\":\"a\\\"b\\\\c\\n\",\"map_ids\":[1,2],\"empty\":[],\"key\":null,"
                "\"bytes\":[\"0x00\",\"0xab\"]}\n");
  }
}

// bpftool's `map dump` of xdp_filter's src_count after the main job's capture, for one element:
// the plain (pretty) form and the -j "formatted" form.
TEST(BpftoolFormat, StructKeyAndValueFromBtfAsBpftoolPrintsThem) {
  Btf btf(object("xdp_filter"));
  ASSERT_NE(btf.b, nullptr);
  const uint32_t key_t = btf.id("src_key", BTF_KIND_STRUCT);
  const uint32_t value_t = btf.id("src_stats", BTF_KIND_STRUCT);
  const uint8_t key[4] = {192, 168, 1, 7};
  const uint64_t value[2] = {4, 312};
  {
    Captured c;
    JsonWriter w(c.file(), true);
    w.start_array();
    w.start_object();
    w.name("key");
    ASSERT_EQ(btf_dump_value(btf.b, w, key_t, key, true), 0);
    w.name("value");
    ASSERT_EQ(btf_dump_value(btf.b, w, value_t, value, true), 0);
    w.end_object();
    w.end_array();
    w.finish();
    EXPECT_EQ(c.text(),
              "[{\n"
              "        \"key\": {\n"
              "            \"addr\": [192,168,1,7\n"
              "            ]\n"
              "        },\n"
              "        \"value\": {\n"
              "            \"packets\": 4,\n"
              "            \"bytes\": 312\n"
              "        }\n"
              "    }\n"
              "]\n");
  }
  Captured c;
  JsonWriter w(c.file(), false);
  w.start_object();
  w.name("key");
  ASSERT_EQ(btf_dump_value(btf.b, w, key_t, key, false), 0);
  w.name("value");
  ASSERT_EQ(btf_dump_value(btf.b, w, value_t, value, false), 0);
  w.end_object();
  EXPECT_EQ(c.text(), "{\"key\":{\"addr\":[192,168,1,7]},\"value\":{\"packets\":4,\"bytes\":312}}");
}

// A global-data map's value is its DATASEC: {"name": [{var: value}, ...]}; a char array holding a
// string prints as a string.
TEST(BpftoolFormat, DatasecAndStringValues) {
  Btf btf(object("xdp_count"));
  ASSERT_NE(btf.b, nullptr);
  const uint64_t packets = 0;
  {
    Captured c;
    JsonWriter w(c.file(), true);
    w.start_array();
    w.start_object();
    w.name("value");
    ASSERT_EQ(btf_dump_value(btf.b, w, btf.id(".bss", BTF_KIND_DATASEC), &packets, true), 0);
    w.end_object();
    w.end_array();
    w.finish();
    EXPECT_EQ(
        c.text(),
        "[{\n        \"value\": {\n            \".bss\": [{\n                    \"packets\": 0\n"
        "                }\n            ]\n        }\n    }\n]\n");
  }
  Captured c;
  JsonWriter w(c.file(), false);
  const char license[4] = {'G', 'P', 'L', 0};
  ASSERT_EQ(btf_dump_value(btf.b, w, btf.id("license", BTF_KIND_DATASEC), license, false), 0);
  EXPECT_EQ(c.text(), "{\"license\":[{\"LICENSE\":\"GPL\"}]}");
}

// The function headers of `prog dump xlated`, as bpftool printed them for xdp_count.
TEST(BpftoolFormat, FunctionSignatures) {
  Btf btf(object("xdp_count"));
  ASSERT_NE(btf.b, nullptr);
  EXPECT_EQ(btf_type_signature(btf.b, btf.id("xdp_count", BTF_KIND_FUNC)),
            "int xdp_count(struct xdp_md * ctx)");
  EXPECT_EQ(btf_type_signature(btf.b, btf.id("verdict", BTF_KIND_FUNC)),
            "__u32 verdict(__u32 len)");
}

}  // namespace
}  // namespace bpfbox::cli
