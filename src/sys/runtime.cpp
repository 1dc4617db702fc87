#include "sys/runtime.hpp"

#include <sys/stat.h>

#include <cerrno>
#include <climits>
#include <cstdlib>
#include <mutex>

#include "bpfbox/bpf.h"
#include "bpfbox/maps.hpp"
#include "sys/objects.hpp"

namespace bpfbox::sys {

namespace {

std::mutex g_mu;
std::string g_requested;  // set by bpfbox_set_runtime_dir
std::string g_dir;
bool g_resolved = false;

bool mkdir_p(const std::string& path) {
  for (size_t i = 1; i <= path.size(); i++) {
    if (i < path.size() && path[i] != '/') continue;
    std::string part = path.substr(0, i);
    if (mkdir(part.c_str(), 0700) != 0 && errno != EEXIST) return false;
  }
  struct stat st {};
  return stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

std::string default_dir() {
  if (const char* d = std::getenv("BPFBOX_RUNTIME_DIR"); d && *d) return d;
  if (const char* x = std::getenv("XDG_RUNTIME_DIR"); x && *x) return std::string(x) + "/bpfbox";
  return "/run/bpfbox";
}

}  // namespace

const std::string& runtime_dir() {
  std::lock_guard g(g_mu);
  if (!g_resolved) {
    g_resolved = true;
    std::string dir = g_requested.empty() ? default_dir() : g_requested;
    while (dir.size() > 1 && dir.back() == '/') dir.pop_back();
    if (mkdir_p(dir) && mkdir_p(dir + "/ids") && mkdir_p(dir + "/objs") && mkdir_p(dir + "/fs")) {
      // Canonical, as /proc/<pid>/fd links name the files in it (find_file.cpp).
      if (char* real = realpath(dir.c_str(), nullptr)) {
        dir = real;
        std::free(real);
      }
      g_dir = dir;
      // Maps keep their storage in objs/ (O_TMPFILE files), so pins can link them. EBUSY when
      // maps already exist in the process with other storage: they keep it.
      (void)maps::set_storage_dir(dir + "/objs");
    }
  }
  return g_dir;
}

std::string runtime_path(const char* sub) {
  const std::string& d = runtime_dir();
  return d.empty() ? std::string() : d + "/" + sub;
}

}  // namespace bpfbox::sys

extern "C" int bpfbox_set_runtime_dir(const char* path) {
  if (!path || !*path) {
    errno = EINVAL;
    return -1;
  }
  // Objects no fd names any more go first: maps can change storage only when none is alive.
  bpfbox::sys::Objects::get().sweep();
  std::lock_guard g(bpfbox::sys::g_mu);
  bpfbox::sys::g_requested = path;
  bpfbox::sys::g_resolved = false;
  return 0;
}

extern "C" const char* bpfbox_runtime_dir(void) {
  return bpfbox::sys::runtime_dir().c_str();
}
