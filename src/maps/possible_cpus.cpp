// nr_possible_cpus(): the per-CPU slot count, parsed as libbpf parses it ("0-3,8-11" -> 12).
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <thread>

#include "bpfbox/maps.hpp"

namespace bpfbox::maps {

static uint32_t parse_possible(const char* s) {
  uint32_t n = 0;
  while (*s && *s != '\n') {
    char* end;
    long a = std::strtol(s, &end, 10);
    if (end == s) return 0;
    long b = a;
    s = end;
    if (*s == '-') {
      b = std::strtol(s + 1, &end, 10);
      if (end == s + 1 || b < a) return 0;
      s = end;
    }
    n += static_cast<uint32_t>(b - a + 1);
    if (*s == ',') ++s;
  }
  return n;
}

uint32_t nr_possible_cpus() {
  static const uint32_t n = [] {
    uint32_t count = 0;
    if (FILE* f = std::fopen("/sys/devices/system/cpu/possible", "r")) {
      char buf[256] = {};
      if (std::fgets(buf, sizeof buf, f)) count = parse_possible(buf);
      std::fclose(f);
    }
    if (count == 0) count = std::max(1u, std::thread::hardware_concurrency());
    return count;
  }();
  return n;
}

}  // namespace bpfbox::maps
