// The kernel's helper names by id, generated from <linux/bpf.h>'s __BPF_FUNC_MAPPER so the table
// follows the installed UAPI instead of a hand-typed list.
#include <array>
#include <string_view>

#include "isa/disasm.hpp"

namespace bpfbox::isa {
namespace {

// The mapper's entries are "FN(name)," up to 6.1 and "FN(name, id, ...)" without commas since 6.2
// (which also brought ___BPF_FUNC_MAPPER); ids are dense either way.
#ifdef ___BPF_FUNC_MAPPER
#define BPFBOX_HELPER_NAME(x, ...) "bpf_" #x,
#else
#define BPFBOX_HELPER_NAME(x, ...) "bpf_" #x
#endif
constexpr const char* kMapperNames[] = {__BPF_FUNC_MAPPER(BPFBOX_HELPER_NAME)};
#undef BPFBOX_HELPER_NAME
static_assert(std::size(kMapperNames) == __BPF_FUNC_MAX_ID);

// Helpers added after the installed header (6.2: cgroup storage); the kernel froze the list there.
constexpr const char* kNewerNames[] = {"bpf_cgrp_storage_get", "bpf_cgrp_storage_delete"};
constexpr int32_t kFirstNewer = 210;
constexpr int32_t kNameCount = kFirstNewer + static_cast<int32_t>(std::size(kNewerNames));
static_assert(__BPF_FUNC_MAX_ID <= kNameCount);

const char* name_at(int32_t id) {
  if (id < __BPF_FUNC_MAX_ID) return kMapperNames[id];
  return kNewerNames[id - kFirstNewer];
}

}  // namespace

const char* kernel_helper_name(int32_t id) {
  if (id < 0 || id >= kNameCount) return "unknown";
  return name_at(id);
}

std::optional<int32_t> kernel_helper_id(std::string_view name) {
  for (int32_t id = 0; id < kNameCount; ++id)
    if (name == name_at(id)) return id;
  return std::nullopt;
}

int32_t kernel_helper_count() {
  return kNameCount;
}

}  // namespace bpfbox::isa
