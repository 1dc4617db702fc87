// Object ids, unique across the processes sharing the runtime dir (the kernel's idr per kind):
// a counter file per kind, incremented under flock, and a registry of symlinks both ways,
// ids/<kind>/<id> -> "<dev>:<ino>" of the object's file and ids/inodes/<dev>:<ino> ->
// "<kind>:<id>", so any process can name the object behind a file and find the file of an id. An
// entry is stale when its object's file is gone (no fd in any process, no pin): whoever finds it so
// removes it.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <utility>
#include <vector>

namespace bpfbox::sys {

enum class Kind : uint8_t { Prog, Map, Btf, Link };
constexpr int kNumKinds = 4;
const char* kind_name(Kind k);  // "prog", "map", "btf", "link"

using InodeKey = std::pair<dev_t, ino_t>;

// A fresh id for an object whose file is `key`, registered. Cyclic from 1 to INT_MAX.
uint32_t alloc_id(Kind kind, InodeKey key);
// The id registered for the file `key` (0 when none or of another kind).
uint32_t id_of_inode(Kind kind, InodeKey key);
// The file registered for an id.
std::optional<InodeKey> inode_of_id(Kind kind, uint32_t id);
// Every registered id of a kind, ascending (live or stale).
std::vector<uint32_t> registered_ids(Kind kind);
// Removes a stale entry.
void forget_id(Kind kind, uint32_t id);

}  // namespace bpfbox::sys
