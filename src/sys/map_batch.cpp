// BPF_MAP_{LOOKUP,LOOKUP_AND_DELETE,UPDATE,DELETE}_BATCH. The caller's keys, values and cursors
// reach the map only through bounce buffers that user_mem fills and empties, a chunk at a time
// (at most kChunkBytes of keys and values, so a huge count allocates no more), so a bad pointer
// is EFAULT as copy_{from,to}_user makes it, never a crash. What the kernel (6.18, checked by
// tests/sys/map_batch_test.cpp) leaves behind on a fault is kept:
// - count 0 returns 0 and writes nothing (after the map's own checks); else the count is set to
//   0 before anything is read;
// - update and delete go element by element: a fault at element i is EFAULT with count = i, and
//   the first i elements stay updated or deleted;
// - lookups copy out what they took (a hash bucket, or an element) before taking more: a fault
//   is EFAULT with the count left at 0, and what lookup_and_delete took out stays deleted. The
//   hash family writes out_batch then the count, the others the count then out_batch (only when
//   something was copied), as htab's and generic_map_lookup_batch.
#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstring>
#include <memory>
#include <vector>

#include "sys/commands.hpp"
#include "sys/objects.hpp"
#include "sys/user_mem.hpp"

namespace bpfbox::sys {

namespace {

constexpr size_t kChunkBytes = size_t(256) << 10;
constexpr size_t kCountOff = offsetof(union bpf_attr, batch.count);

// Whether the map's batch is htab's (a u32 bucket cursor, out_batch written before the count)
// rather than generic_map_lookup_batch's (a key cursor, out_batch after the count);
// Map::batch_cursor_size() gives the cursor's bytes.
bool bucket_cursor(uint32_t type) {
  return type == BPF_MAP_TYPE_HASH || type == BPF_MAP_TYPE_PERCPU_HASH ||
         type == BPF_MAP_TYPE_LRU_HASH || type == BPF_MAP_TYPE_LRU_PERCPU_HASH ||
         type == BPF_MAP_TYPE_HASH_OF_MAPS;
}

uint32_t chunk_elems(size_t elem_bytes) {
  return uint32_t(std::max<size_t>(1, kChunkBytes / std::max<size_t>(1, elem_bytes)));
}

Status fault(const char* what, const Status& st) {
  return Status(EFAULT, std::string(what) + ": " + st.message());
}

enum BatchKind { kLookup, kLookupAndDelete, kUpdate, kDelete };

CmdResult lookup_batch(Call& c, maps::Map& map, bool and_delete) {
  const auto& b = c.attr.a.batch;
  const uint32_t max = b.count;
  // The map's checks (ENOTSUPP, elem_flags, flags) come before any copy: a call for nothing.
  uint32_t none = 0;
  if (Status st = map.lookup_batch(nullptr, nullptr, nullptr, nullptr, &none, b.elem_flags,
                                   and_delete, b.flags);
      !st)
    return st;
  if (max == 0) return 0L;
  c.put(kCountOff, uint32_t(0));
  const bool bucket = bucket_cursor(map.type());
  const uint32_t csize = map.batch_cursor_size();
  std::vector<uint8_t> cursor(csize), next(csize);
  bool have_cursor = false;
  if (b.in_batch) {
    if (Status st = copy_from_user(cursor.data(), b.in_batch, csize); !st)
      return fault("in_batch", st);
    have_cursor = true;
  }
  const size_t ks = map.key_size(), vs = map.value_copy_size();
  uint32_t chunk = chunk_elems(ks + vs);
  std::vector<uint8_t> keys, values;
  uint32_t total = 0;
  bool cursor_out = false;  // the map gave a cursor to hand back
  Status st;
  for (;;) {
    const uint32_t left = max - total;
    const uint32_t want = std::min(left, chunk);
    keys.resize(size_t(want) * ks);
    values.resize(size_t(want) * vs);
    // A bucket index is never ~0: still all ones after the call means the map wrote no cursor
    // (htab returns ENOENT for a cursor past its last bucket before writing one).
    std::fill(next.begin(), next.end(), 0xff);
    uint32_t n = want;
    st = map.lookup_batch(have_cursor ? cursor.data() : nullptr, next.data(), keys.data(),
                          values.data(), &n, b.elem_flags, and_delete, b.flags);
    if (n > 0) {
      if (Status o = copy_to_user(b.keys + uint64_t(total) * ks, keys.data(), size_t(n) * ks); !o)
        return fault("keys", o);
      if (Status o = copy_to_user(b.values + uint64_t(total) * vs, values.data(), size_t(n) * vs);
          !o)
        return fault("values", o);
      total += n;
    }
    if (bucket ? std::any_of(next.begin(), next.end(), [](uint8_t x) { return x != 0xff; })
               : n > 0) {
      cursor.swap(next);
      have_cursor = cursor_out = true;
    }
    if (!st) {
      // The next bucket holds more than a chunk: retry it with a larger one, while what is left
      // of count could hold it.
      if (st.err() == ENOSPC && want < left) {
        chunk = uint32_t(std::min<uint64_t>(left, uint64_t(chunk) * 2));
        continue;
      }
      if (st.err() == ENOSPC && total > 0) st = Status::ok();  // a full batch, not an error
      break;
    }
    if (total == max) break;
    if (n < want && want == left) break;  // the next bucket does not fit in what is left
  }
  if (bucket) {
    if (cursor_out) {
      if (Status o = copy_to_user(b.out_batch, cursor.data(), csize); !o)
        return fault("out_batch", o);
    }
    c.put(kCountOff, total);
  } else {
    c.put(kCountOff, total);
    if (cursor_out) {
      if (Status o = copy_to_user(b.out_batch, cursor.data(), csize); !o)
        return fault("out_batch", o);
    }
  }
  if (!st) return st;
  return 0L;
}

// UPDATE_BATCH (keys and values) and DELETE_BATCH (keys): a chunk is read at once; when that
// faults, element by element, so the elements before the first unreadable one are still done.
CmdResult write_batch(Call& c, maps::Map& map, bool del) {
  const auto& b = c.attr.a.batch;
  const uint32_t max = b.count;
  uint32_t none = 0;
  Status chk = del ? map.delete_batch(nullptr, &none, b.elem_flags)
                   : map.update_batch(nullptr, nullptr, &none, b.elem_flags);
  if (!chk) return chk;
  if (max == 0) return 0L;
  c.put(kCountOff, uint32_t(0));
  const size_t ks = map.key_size(), vs = del ? 0 : map.value_copy_size();
  const uint32_t chunk = chunk_elems(ks + vs);
  std::vector<uint8_t> keys, values;
  auto read = [&](uint32_t at, uint32_t i, uint32_t n) {
    if (Status st = copy_from_user(keys.data() + size_t(i) * ks, b.keys + uint64_t(at + i) * ks,
                                   size_t(n) * ks);
        !st)
      return st;
    if (vs == 0) return Status::ok();
    return copy_from_user(values.data() + size_t(i) * vs, b.values + uint64_t(at + i) * vs,
                          size_t(n) * vs);
  };
  uint32_t total = 0;
  Status st;
  while (total < max) {
    const uint32_t want = std::min(max - total, chunk);
    keys.resize(size_t(want) * ks);
    values.resize(size_t(want) * vs);
    uint32_t readable = want;
    Status rs = read(total, 0, want);
    if (!rs) {
      readable = 0;
      while (readable < want && read(total, readable, 1)) ++readable;
    }
    uint32_t n = readable;
    st = del ? map.delete_batch(keys.data(), &n, b.elem_flags)
             : map.update_batch(keys.data(), values.data(), &n, b.elem_flags);
    total += n;
    if (!st) break;
    if (readable < want) {
      st = fault(vs ? "keys or values" : "keys", rs);
      break;
    }
  }
  c.put(kCountOff, total);
  if (!st) return st;
  return 0L;
}

CmdResult do_batch(Call& c, BatchKind kind) {
  const auto& b = c.attr.a.batch;
  auto obj = Objects::get().by_fd(int(b.map_fd), Kind::Map);
  if (!obj) return obj.status();
  std::shared_ptr<maps::Map> m = (*obj)->map;  // held for the call
  if (!m) return Status(EBADF, "the map is gone");
  const bool reads = kind == kLookup || kind == kLookupAndDelete;
  const bool writes = kind != kLookup;
  if ((reads && !fd_can_read(int(b.map_fd))) ||
      (writes && !(fd_can_write(int(b.map_fd)) && !m->frozen())))
    return Status(EPERM, "the map fd's access mode does not allow this batch");
  switch (kind) {
    case kLookup:
      return lookup_batch(c, *m, false);
    case kLookupAndDelete:
      return lookup_batch(c, *m, true);
    case kUpdate:
      return write_batch(c, *m, false);
    case kDelete:
      return write_batch(c, *m, true);
  }
  return Status(EINVAL, "unknown batch command");
}

}  // namespace

CmdResult map_lookup_batch(Call& c) {
  return do_batch(c, kLookup);
}
CmdResult map_lookup_and_delete_batch(Call& c) {
  return do_batch(c, kLookupAndDelete);
}
CmdResult map_update_batch(Call& c) {
  return do_batch(c, kUpdate);
}
CmdResult map_delete_batch(Call& c) {
  return do_batch(c, kDelete);
}

}  // namespace bpfbox::sys
