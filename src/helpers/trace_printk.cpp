// bpf_trace_printk with the kernel's format checks (kernel/bpf/helpers.c, bpf_bprintf_prepare):
// a bad format is refused with -EINVAL before anything prints, as programs written for the kernel
// expect.
#include "helpers/trace_printk.hpp"

#include "helpers/protos.hpp"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <mutex>

#include "helpers/core.hpp"

namespace bpfbox::helpers {
namespace {

constexpr int kMaxArgs = 3;              // MAX_TRACE_PRINTK_VARARGS
constexpr size_t kMaxOutput = 1024;      // MAX_BPRINTF_BUF: the message is cut to 1023 bytes
constexpr size_t kMaxStringBytes = 512;  // MAX_BPRINTF_BUF_LEN: room for all %s arguments
constexpr uint64_t kNullPage = 4096;     // never readable, so NULL prints as empty, not a crash

// Reads the program's memory as the kernel's *_nofault copies do: a failed read is reported, not
// taken. Checked runs consult the run's regions; unchecked runs trust the pointer like a load.
class MemoryReader {
 public:
  explicit MemoryReader(const vm::RunContext* rc) : rc_(rc), checked_(rc && rc->checked) {}

  bool readable(uint64_t addr, uint64_t size) const {
    if (addr < kNullPage || addr + size < addr) return false;
    return !checked_ || rc_->check(addr, size, vm::kRead);
  }
  const char* ptr(uint64_t addr) const { return reinterpret_cast<const char*>(addr); }

 private:
  const vm::RunContext* rc_;
  bool checked_;
};

bool ends_argument(char c) {
  return c == 0 || std::isspace(static_cast<unsigned char>(c)) ||
         std::ispunct(static_cast<unsigned char>(c));
}

// Formats one argument with its own printf spec; the message is cut to kMaxOutput afterwards.
template <class... Args>
void append_printf(std::string& out, const std::string& spec, Args... args) {
  const int n = std::snprintf(nullptr, 0, spec.c_str(), args...);
  if (n <= 0) return;
  const size_t len = std::min(static_cast<size_t>(n), kMaxOutput);
  std::string buf(len + 1, '\0');
  std::snprintf(buf.data(), buf.size(), spec.c_str(), args...);
  out.append(buf.data(), len);
}

std::string format_ip(const MemoryReader& mem, uint64_t addr, char kind, char version) {
  const size_t len = version == '4' ? 4 : 16;
  uint8_t ip[16] = {};
  if (mem.readable(addr, len)) std::memcpy(ip, mem.ptr(addr), len);
  char buf[64];
  if (version == '4') {
    std::snprintf(buf, sizeof buf, kind == 'I' ? "%u.%u.%u.%u" : "%03u.%03u.%03u.%03u", ip[0],
                  ip[1], ip[2], ip[3]);
    return buf;
  }
  std::string s;
  for (size_t i = 0; i < 16; i += 2) {
    if (kind == 'I' && i > 0) s += ':';
    std::snprintf(buf, sizeof buf, "%02x%02x", ip[i], ip[i + 1]);
    s += buf;
  }
  return s;
}

std::string read_string(const MemoryReader& mem, uint64_t addr, size_t& budget) {
  std::string s;
  while (budget > 1 && mem.readable(addr + s.size(), 1)) {
    const char c = *mem.ptr(addr + s.size());
    if (c == 0) break;
    s += c;
    --budget;
  }
  return s;
}

std::mutex sink_mutex;
TracePrintkSink& sink() {
  static TracePrintkSink s;
  return s;
}

void emit(std::string_view message) {
  std::lock_guard lock(sink_mutex);
  if (sink()) {
    sink()(message);
    return;
  }
  std::fwrite(message.data(), 1, message.size(), stderr);
  if (message.empty() || message.back() != '\n') std::fputc('\n', stderr);
  std::fflush(stderr);
}

uint64_t trace_printk(uint64_t fmt, uint64_t fmt_size, uint64_t a1, uint64_t a2, uint64_t a3,
                      vm::RunContext* rc) {
  const uint64_t args[kMaxArgs] = {a1, a2, a3};
  std::string message;
  const int64_t n = format_trace_printk(fmt, fmt_size, args, rc, message);
  if (n >= 0) emit(message);
  return static_cast<uint64_t>(n);
}

}  // namespace

// gpl_only as the kernel's: the output goes through GPL tracing code there.
const HelperProto kTracePrintkProto{
    .func_id = BPF_FUNC_trace_printk,
    .name = "bpf_trace_printk",
    .fn = trace_printk,
    .gpl_only = true,
    .ret_type = RET_INTEGER,
    .arg_type = {uint32_t(ARG_PTR_TO_MEM) | MEM_RDONLY, ARG_CONST_SIZE}};

int64_t format_trace_printk(uint64_t fmt, uint64_t fmt_size, const uint64_t args[3],
                            const vm::RunContext* rc, std::string& out) {
  out.clear();
  const MemoryReader mem(rc);
  if (fmt_size == 0) return -EINVAL;
  if (!mem.readable(fmt, fmt_size)) return -EFAULT;
  std::string_view f(mem.ptr(fmt), fmt_size);
  const size_t nul = f.find('\0');
  if (nul == std::string_view::npos) return -EINVAL;  // not terminated within fmt_size
  f = f.substr(0, nul);
  auto at = [&](size_t i) { return i < f.size() ? f[i] : '\0'; };

  std::string text;
  size_t string_budget = kMaxStringBytes;
  int num_spec = 0;
  for (size_t i = 0; i < f.size(); ++i) {
    const auto c = static_cast<unsigned char>(f[i]);
    if ((!std::isprint(c) && !std::isspace(c)) || !isascii(c)) return -EINVAL;
    if (c != '%') {
      text += f[i];
      continue;
    }
    if (at(i + 1) == '%') {
      text += '%';
      ++i;
      continue;
    }
    if (num_spec >= kMaxArgs) return -EINVAL;
    const uint64_t arg = args[num_spec];

    // Optional "[0 +-][width]", passed on to the printf of this one argument.
    std::string spec = "%";
    ++i;
    while (at(i) == '0' || at(i) == '+' || at(i) == '-' || at(i) == ' ') spec += f[i++];
    if (at(i) >= '1' && at(i) <= '9')
      while (at(i) >= '0' && at(i) <= '9') spec += f[i++];

    if (at(i) == 'p') {
      const char next = at(i + 1);
      if (ends_argument(next) || next == 'K' || next == 'x' || next == 's' || next == 'S' ||
          next == 'B') {
        // Pointers print as %px does: the raw value, 16 hex digits (bpfbox has no hashing).
        if (!ends_argument(next)) ++i;
        char hex[24];
        std::snprintf(hex, sizeof hex, "%016" PRIx64, arg);
        append_printf(text, spec + "s", hex);
      } else if ((next == 'k' || next == 'u') && at(i + 2) == 's') {
        i += 2;
        if (!ends_argument(at(i + 1))) return -EINVAL;
        append_printf(text, spec + "s", read_string(mem, arg, string_budget).c_str());
      } else if ((next == 'i' || next == 'I') && (at(i + 2) == '4' || at(i + 2) == '6')) {
        append_printf(text, spec + "s", format_ip(mem, arg, next, at(i + 2)).c_str());
        i += 2;
      } else {
        return -EINVAL;
      }
    } else if (at(i) == 's') {
      if (!ends_argument(at(i + 1))) return -EINVAL;
      append_printf(text, spec + "s", read_string(mem, arg, string_budget).c_str());
    } else if (at(i) == 'c') {
      append_printf(text, spec + "c", static_cast<int>(static_cast<unsigned char>(arg)));
    } else {
      int longs = 0;
      while (longs < 2 && at(i) == 'l') ++longs, ++i;
      const char conv = at(i);
      if (conv != 'i' && conv != 'd' && conv != 'u' && conv != 'x' && conv != 'X') return -EINVAL;
      const bool is_signed = conv == 'i' || conv == 'd';
      if (longs == 0) {
        spec += is_signed ? 'd' : conv;
        if (is_signed)
          append_printf(text, spec, static_cast<int32_t>(arg));
        else
          append_printf(text, spec, static_cast<uint32_t>(arg));
      } else {  // long and long long are both 64 bits on every target bpfbox runs on
        spec += "ll";
        spec += is_signed ? 'd' : conv;
        if (is_signed)
          append_printf(text, spec, static_cast<long long>(arg));
        else
          append_printf(text, spec, static_cast<unsigned long long>(arg));
      }
    }
    ++num_spec;
  }

  out = text.substr(0, kMaxOutput - 1);
  return static_cast<int64_t>(text.size());
}

void set_trace_printk_sink(TracePrintkSink s) {
  std::lock_guard lock(sink_mutex);
  sink() = std::move(s);
}

void register_trace_printk(vm::HelperTable& table) {
  table.set(BPF_FUNC_trace_printk, "bpf_trace_printk", trace_printk);
}

}  // namespace bpfbox::helpers
