// JSON written as bpftool writes it (its json_writer): values separated by ',', a name starts a new
// line when pretty, arrays of plain values stay on one line, four spaces per level, a newline
// after the whole document. Output in bpftool's exact layout is why this is not nlohmann-json:
// `-p` output, and the "formatted" BTF values bpftool prints even without -j, must match
// bpftool's text byte for byte.
#pragma once

#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>

namespace bpfbox::cli {

class JsonWriter {
 public:
  JsonWriter(FILE* out, bool pretty) : out_(out), pretty_(pretty) {}
  // The document's end: a newline (bpftool's jsonw_destroy).
  void finish();

  void start_object() { begin('{'); }
  void end_object() { end('}'); }
  void start_array() { begin('['); }
  void end_array() { end(']'); }
  void name(std::string_view n);
  void string(std::string_view s);
  // A value printed as it is (a number, or a pre-quoted string).
  void raw(std::string_view text);
  void uint(uint64_t v) { raw(std::to_string(v)); }
  void int_(int64_t v) { raw(std::to_string(v)); }
  void boolean(bool v) { raw(v ? "true" : "false"); }
  void null() { raw("null"); }

  void string_field(std::string_view n, std::string_view s) { name(n), string(s); }
  void uint_field(std::string_view n, uint64_t v) { name(n), uint(v); }
  void int_field(std::string_view n, int64_t v) { name(n), int_(v); }
  void bool_field(std::string_view n, bool v) { name(n), boolean(v); }
  void null_field(std::string_view n) { name(n), null(); }

  // An array of "0xNN" strings, one per byte (bpftool's print_hex_data_json).
  void hex_bytes(const uint8_t* data, size_t n);

 private:
  void separator();
  void newline();
  void begin(char c);
  void end(char c);
  void quoted(std::string_view s);

  FILE* out_;
  bool pretty_;
  unsigned depth_ = 0;
  char sep_ = '\0';
};

}  // namespace bpfbox::cli
