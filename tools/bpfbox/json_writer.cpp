#include "json_writer.hpp"

namespace bpfbox::cli {

void JsonWriter::finish() {
  std::fputc('\n', out_);
  std::fflush(out_);
}

void JsonWriter::separator() {
  if (sep_ != '\0') std::fputc(sep_, out_);
  sep_ = ',';
}

void JsonWriter::newline() {
  if (!pretty_) return;
  std::fputc('\n', out_);
  for (unsigned i = 0; i < depth_; i++) std::fputs("    ", out_);
}

void JsonWriter::begin(char c) {
  separator();
  std::fputc(c, out_);
  depth_++;
  sep_ = '\0';
}

// A container that holds something closes on its own line; an empty one right after its opener.
void JsonWriter::end(char c) {
  if (depth_ > 0) depth_--;
  if (sep_ != '\0') newline();
  std::fputc(c, out_);
  sep_ = ',';
}

void JsonWriter::name(std::string_view n) {
  separator();
  newline();
  sep_ = '\0';
  quoted(n);
  std::fputc(':', out_);
  if (pretty_) std::fputc(' ', out_);
}

void JsonWriter::string(std::string_view s) {
  separator();
  quoted(s);
}

void JsonWriter::raw(std::string_view text) {
  separator();
  std::fwrite(text.data(), 1, text.size(), out_);
}

void JsonWriter::hex_bytes(const uint8_t* data, size_t n) {
  start_array();
  char buf[8];
  for (size_t i = 0; i < n; i++) {
    std::snprintf(buf, sizeof buf, "\"0x%02hhx\"", data[i]);
    raw(buf);
  }
  end_array();
}

// The escapes bpftool's writer makes; everything else goes out as it is.
void JsonWriter::quoted(std::string_view s) {
  std::fputc('"', out_);
  for (char c : s) {
    switch (c) {
      case '\t':
        std::fputs("\\t", out_);
        break;
      case '\n':
        std::fputs("\\n", out_);
        break;
      case '\r':
        std::fputs("\\r", out_);
        break;
      case '\f':
        std::fputs("\\f", out_);
        break;
      case '\b':
        std::fputs("\\b", out_);
        break;
      case '\\':
        std::fputs("\\\\", out_);
        break;
      case '"':
        std::fputs("\\\"", out_);
        break;
      default:
        std::fputc(c, out_);
    }
  }
  std::fputc('"', out_);
}

}  // namespace bpfbox::cli
