#include "shim/map_mappings.hpp"

#include <sys/mman.h>

#include <cstdint>
#include <mutex>
#include <utility>
#include <vector>

#include "shim/real.hpp"

namespace bpfbox::shim {
namespace {

struct Mapping {
  uintptr_t start;
  uintptr_t end;
  std::shared_ptr<maps::Map> map;
};

struct Table {
  std::mutex mu;
  std::vector<Mapping> list;
};

Table& table() {
  static Table* t = new Table();  // never destroyed: munmap may come during exit
  return *t;
}

}  // namespace

void note_writable_mapping(void* addr, size_t len, std::shared_ptr<maps::Map> map) {
  const auto start = reinterpret_cast<uintptr_t>(addr);
  std::lock_guard g(table().mu);
  table().list.push_back({start, start + len, std::move(map)});
}

void forget_mappings(void* addr, size_t len) {
  const auto start = reinterpret_cast<uintptr_t>(addr);
  const uintptr_t end = start + len;
  std::vector<std::shared_ptr<maps::Map>> released;
  {
    std::lock_guard g(table().mu);
    auto& list = table().list;
    for (auto it = list.begin(); it != list.end();) {
      if (it->end <= start || it->start >= end) {
        ++it;
      } else if (start <= it->start && it->end <= end) {
        released.push_back(std::move(it->map));
        it = list.erase(it);
      } else {
        if (start <= it->start)
          it->start = end;  // cut at its start
        else if (it->end <= end)
          it->end = start;  // cut at its end
        ++it;               // else a hole: stays counted
      }
    }
  }
  InBpfbox in;
  for (auto& m : released) m->release_writable_mapping();
}

}  // namespace bpfbox::shim

extern "C" __attribute__((visibility("default"))) int munmap(void* addr, size_t len) {
  using namespace bpfbox::shim;
  using Fn = int (*)(void*, size_t);
  static Fn fn = real<Fn>("munmap");
  const int r = fn(addr, len);
  if (r == 0 && !inside_bpfbox()) forget_mappings(addr, len);
  return r;
}
