#include "vm/llvm/module_loader.hpp"

#include <dlfcn.h>
#include <limits.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <atomic>
#include <cstring>
#include <mutex>
#include <vector>

#include "vm/llvm/module_abi.hpp"

namespace bpfbox::vm::llvm_tier {
namespace {

std::string dir_of(const std::string& path) {
  const size_t slash = path.rfind('/');
  return slash == std::string::npos ? std::string() : path.substr(0, slash + 1);
}

// Where to look, in the order of module_loader.hpp; an explicit BPFBOX_LLVM_MODULE alone.
std::vector<std::string> candidates() {
  if (const char* env = std::getenv("BPFBOX_LLVM_MODULE"); env && *env) return {env};
  std::vector<std::string> out;
  auto add = [&](std::string path) {
    for (const std::string& p : out)
      if (p == path) return;
    out.push_back(std::move(path));
  };
  Dl_info info{};
  if (dladdr(reinterpret_cast<void*>(&candidates), &info) && info.dli_fname &&
      std::strchr(info.dli_fname, '/'))
    add(dir_of(info.dli_fname) + kModuleFile);
  char exe[PATH_MAX];
  if (const ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1); n > 0)
    add(dir_of(std::string(exe, static_cast<size_t>(n))) + kModuleFile);
#ifdef BPFBOX_LLVM_MODULE_BUILD_PATH
  add(BPFBOX_LLVM_MODULE_BUILD_PATH);
#endif
  add(kModuleFile);  // no slash: the dynamic linker's search
  return out;
}

struct Loaded {
  Result<const ModuleApi*> api = Status(EOPNOTSUPP, "llvm engine: module not loaded yet");
  std::string path;
};

Loaded& loaded() {
  static Loaded l;
  return l;
}
std::once_flag load_once;
std::atomic<bool> load_done{false};  // set once the first load finished

Loaded load() {
#ifndef BPFBOX_HAVE_LLVM
  return {Status(EOPNOTSUPP,
                 "llvm engine not built (configure with -DBPFBOX_WITH_LLVM=ON; needs llvm-dev 14)"),
          ""};
#else
  const std::vector<std::string> paths = candidates();
  const bool explicit_path = std::getenv("BPFBOX_LLVM_MODULE") && paths.size() == 1;
  std::string tried;
  for (const std::string& path : paths) {
    // A missing file is only worth a word when it was asked for by name.
    if (path.find('/') != std::string::npos && access(path.c_str(), F_OK) != 0 && !explicit_path)
      continue;
    auto api = load_module_at(path);
    if (api) return {api, path};
    tried += "; " + api.status().message();
  }
  return {Status(EOPNOTSUPP, "llvm engine: module " + std::string(kModuleFile) +
                                 " not found or not loadable" + tried +
                                 " (set BPFBOX_LLVM_MODULE to its path)"),
          ""};
#endif
}

}  // namespace

Result<const ModuleApi*> load_module_at(const std::string& path) {
  // RTLD_LOCAL: the module's symbols (its copy of libLLVM's users) stay out of the process's
  // global namespace; RTLD_NOW: a broken module fails here, not in the middle of a compile.
  void* handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!handle) {
    const char* why = dlerror();
    return Status(EOPNOTSUPP, why ? why : path + ": cannot load");
  }
  auto entry = reinterpret_cast<ModuleEntryFn>(dlsym(handle, kModuleEntry));
  if (!entry) return Status(EOPNOTSUPP, path + ": no " + kModuleEntry + " (not a bpfbox module)");
  const ModuleApi* api = entry();
  if (!api || api->abi_version != kModuleAbiVersion || api->layout != module_layout() ||
      std::strcmp(api->project_version, BPFBOX_VERSION) != 0 || !api->compile)
    return Status(EOPNOTSUPP, path + ": built for another version of bpfbox (module " +
                                  (api ? api->project_version : "?") + ", library " +
                                  BPFBOX_VERSION + ")");
  return api;
}

Result<const ModuleApi*> module() {
  std::call_once(load_once, [] {
    loaded() = load();
    load_done.store(true, std::memory_order_release);
  });
  return loaded().api;
}

bool module_loaded() {
  // A load in progress on another thread is "not yet".
  return load_done.load(std::memory_order_acquire) && loaded().api.is_ok();
}

std::string module_path() {
  return module_loaded() ? loaded().path : std::string();
}

}  // namespace bpfbox::vm::llvm_tier
