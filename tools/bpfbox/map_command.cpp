// `bpfbox map show|list|dump|lookup|update|delete|getnext|pin|create|freeze`, and for queues and
// stacks `peek` (lookup), `push`/`enqueue` (update) and `pop`/`dequeue`: bpftool's grammar, text
// and JSON. Values print from the map's BTF when it has one (bpftool's formatted output,
// even without -j), else as hex bytes.
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "bpfbox/bpf.h"
#include "btf_dumper.hpp"
#include "bpftool_common.hpp"
#include "command_error.hpp"
#include "commands.hpp"

namespace bpfbox::cli {

namespace {

bool per_cpu(uint32_t t) {
  return t == BPF_MAP_TYPE_PERCPU_HASH || t == BPF_MAP_TYPE_PERCPU_ARRAY ||
         t == BPF_MAP_TYPE_LRU_PERCPU_HASH || t == BPF_MAP_TYPE_PERCPU_CGROUP_STORAGE;
}

bool of_fds(uint32_t t) {
  return t == BPF_MAP_TYPE_PROG_ARRAY || t == BPF_MAP_TYPE_ARRAY_OF_MAPS ||
         t == BPF_MAP_TYPE_HASH_OF_MAPS;
}

uint32_t possible_cpus() {
  static const int n = libbpf_num_possible_cpus();
  return n > 0 ? uint32_t(n) : 1;
}

size_t value_bytes(const bpf_map_info& i) {
  return per_cpu(i.type) ? size_t((i.value_size + 7) / 8 * 8) * possible_cpus() : i.value_size;
}

bpf_map_info map_info(int fd) {
  bpf_map_info i{};
  uint32_t len = sizeof i;
  if (bpf_obj_get_info_by_fd(fd, &i, &len) != 0)
    throw CommandError("can't get map info: " + errno_text(errno));
  return i;
}

struct BtfFree {
  void operator()(struct btf* b) const { btf__free(b); }
};
using BtfPtr = std::unique_ptr<struct btf, BtfFree>;

// The map's BTF when its value has a type (bpftool's get_map_kv_btf).
BtfPtr map_btf(const bpf_map_info& i) {
  if (!i.btf_value_type_id || !i.btf_id) return nullptr;
  BtfPtr b(btf__load_from_kernel_by_id(i.btf_id));
  if (libbpf_get_error(b.get())) {
    b.release();
    throw CommandError("failed to get btf");
  }
  return b;
}

// {"key": ..., "value": ...} from BTF (bpftool's do_dump_btf).
void dump_btf_entry(const struct btf* btf, JsonWriter& w, const bpf_map_info& i, const uint8_t* key,
                    const uint8_t* value, bool plain) {
  w.start_object();
  if (i.btf_key_type_id) {
    w.name("key");
    if (btf_dump_value(btf, w, i.btf_key_type_id, key, plain) != 0) return w.end_object();
  }
  if (!per_cpu(i.type)) {
    w.name("value");
    btf_dump_value(btf, w, i.btf_value_type_id, value, plain);
  } else {
    w.name("values");
    w.start_array();
    const size_t step = (i.value_size + 7) / 8 * 8;
    for (uint32_t c = 0; c < possible_cpus(); c++) {
      w.start_object();
      w.int_field("cpu", c);
      w.name("value");
      const int r = btf_dump_value(btf, w, i.btf_value_type_id, value + c * step, plain);
      w.end_object();
      if (r) break;
    }
    w.end_array();
  }
  w.end_object();
}

void entry_json(const bpf_map_info& i, const uint8_t* key, const uint8_t* value,
                const struct btf* btf) {
  JsonWriter& w = json();
  w.start_object();
  w.name("key");
  w.hex_bytes(key, i.key_size);
  if (!per_cpu(i.type)) {
    w.name("value");
    w.hex_bytes(value, i.value_size);
  } else {
    w.name("values");
    w.start_array();
    const size_t step = (i.value_size + 7) / 8 * 8;
    for (uint32_t c = 0; c < possible_cpus(); c++) {
      w.start_object();
      w.int_field("cpu", c);
      w.name("value");
      w.hex_bytes(value + c * step, i.value_size);
      w.end_object();
    }
    w.end_array();
  }
  if (btf) {
    w.name("formatted");
    dump_btf_entry(btf, w, i, key, value, false);
  }
  w.end_object();
}

void entry_plain(const bpf_map_info& i, const uint8_t* key, const uint8_t* value) {
  if (!per_cpu(i.type)) {
    const bool break_names = i.key_size > 16 || i.value_size > 16;
    const bool single_line = i.key_size + i.value_size <= 24 && !break_names;
    if (i.key_size) {
      std::printf("key:%c%s", break_names ? '\n' : ' ', hex(key, i.key_size, " ").c_str());
      std::printf(single_line ? "  " : "\n");
    }
    if (i.value_size)
      std::printf("value:%c%s", break_names ? '\n' : ' ', hex(value, i.value_size, " ").c_str());
    std::printf("\n");
    return;
  }
  if (i.key_size) std::printf("key:\n%s\n", hex(key, i.key_size, " ").c_str());
  const size_t step = (i.value_size + 7) / 8 * 8;
  for (uint32_t c = 0; c < possible_cpus() && i.value_size; c++)
    std::printf("value (CPU %02u):%c%s\n", c, i.value_size > 16 ? '\n' : ' ',
                hex(value + c * step, i.value_size, " ").c_str());
}

// A failed lookup during a dump (bpftool's print_entry_error): nothing for an empty slot of a
// prog array or map-in-map.
void entry_error(const bpf_map_info& i, const uint8_t* key, int err) {
  if (of_fds(i.type) && err == ENOENT) return;
  if (output().json) {
    JsonWriter& w = json();
    w.start_object();
    w.name("key");
    w.hex_bytes(key, i.key_size);
    w.name("value");
    w.start_object();
    w.string_field("error", errno_text(err));
    w.end_object();
    w.end_object();
    return;
  }
  const std::string msg = err == ENOENT ? "<no entry>" : errno_text(err);
  const bool break_names = i.key_size > 16 || msg.size() > 16;
  const bool single_line = i.key_size + msg.size() <= 24 && !break_names;
  std::printf("key:%c%s", break_names ? '\n' : ' ', hex(key, i.key_size, " ").c_str());
  std::printf(single_line ? "  " : "\n");
  std::printf("value:%c%s\n", break_names ? '\n' : ' ', msg.c_str());
}

void header_plain(const bpf_map_info& i) {
  std::printf("%u: ", i.id);
  const std::string t = map_type_name(i.type);
  if (!t.empty())
    std::printf("%s  ", t.c_str());
  else
    std::printf("type %u  ", i.type);
  if (i.name[0]) std::printf("name %s  ", i.name);
  std::printf("flags 0x%x\n", i.map_flags);
}

void header_json(const bpf_map_info& i, JsonWriter& w) {
  w.uint_field("id", i.id);
  const std::string t = map_type_name(i.type);
  if (!t.empty())
    w.string_field("type", t);
  else
    w.uint_field("type", i.type);
  if (i.name[0]) w.string_field("name", i.name);
  w.name("flags");
  w.int_(int32_t(i.map_flags));
}

void show_one(int fd) {
  const bpf_map_info i = map_info(fd);
  const auto memlock = fdinfo_field(fd, "memlock");
  const auto frozen_s = fdinfo_field(fd, "frozen");
  const int frozen = frozen_s ? std::atoi(frozen_s->c_str()) : 0;
  if (output().json) {
    JsonWriter& w = json();
    w.start_object();
    header_json(i, w);
    w.uint_field("bytes_key", i.key_size);
    w.uint_field("bytes_value", i.value_size);
    w.uint_field("max_entries", i.max_entries);
    if (memlock) w.int_field("bytes_memlock", std::atoll(memlock->c_str()));
    if (i.type == BPF_MAP_TYPE_PROG_ARRAY) {
      if (auto owner = fdinfo_field(fd, "owner_prog_type")) {
        const std::string n = prog_type_name(uint32_t(std::atoi(owner->c_str())));
        if (!n.empty())
          w.string_field("owner_prog_type", n);
        else
          w.uint_field("owner_prog_type", uint32_t(std::atoi(owner->c_str())));
      }
      if (auto jited = fdinfo_field(fd, "owner_jited"))
        w.bool_field("owner_jited", std::atoi(jited->c_str()) != 0);
    }
    w.int_field("frozen", frozen);
    if (i.btf_id) w.int_field("btf_id", i.btf_id);
    print_pinned_json(fd, Kind::Map);
    w.end_object();
    return;
  }
  header_plain(i);
  std::printf("\tkey %uB  value %uB  max_entries %u", i.key_size, i.value_size, i.max_entries);
  if (memlock) std::printf("  memlock %sB", memlock->c_str());
  if (i.type == BPF_MAP_TYPE_PROG_ARRAY) {
    const auto owner = fdinfo_field(fd, "owner_prog_type");
    const auto jited = fdinfo_field(fd, "owner_jited");
    if (owner || jited) std::printf("\n\t");
    if (owner) {
      const uint32_t pt = uint32_t(std::atoi(owner->c_str()));
      const std::string n = prog_type_name(pt);
      if (!n.empty())
        std::printf("owner_prog_type %s  ", n.c_str());
      else
        std::printf("owner_prog_type %u  ", pt);
    }
    if (jited) std::printf("owner%s jited", std::atoi(jited->c_str()) ? "" : " not");
  }
  print_pinned_plain(fd, Kind::Map);
  if (i.btf_id || frozen) std::printf("\n\t");
  if (i.btf_id) std::printf("btf_id %u", i.btf_id);
  if (frozen) std::printf("%sfrozen", i.btf_id ? "  " : "");
  std::printf("\n");
}

void map_show(Args& a) {
  show_objects(a, Kind::Map, show_one);
}

// One map's elements; w is null for hex text.
void dump_one(int fd, const bpf_map_info& i, JsonWriter* w, bool header) {
  std::vector<uint8_t> key(i.key_size), prev(i.key_size), value(value_bytes(i));
  BtfPtr btf;
  if (w) {
    btf = map_btf(i);
    if (header) {
      w->start_object();
      header_json(i, *w);
      w->name("elements");
    }
    w->start_array();
  } else if (header) {
    header_plain(i);
  }
  unsigned n = 0;
  bool first = true;
  while (bpf_map_get_next_key(fd, first ? nullptr : prev.data(), key.data()) == 0) {
    first = false;
    if (bpf_map_lookup_elem(fd, key.data(), value.data()) != 0) {
      entry_error(i, key.data(), errno);
    } else {
      n++;
      if (output().json)
        entry_json(i, key.data(), value.data(), btf.get());
      else if (w)
        dump_btf_entry(btf.get(), *w, i, key.data(), value.data(), true);
      else
        entry_plain(i, key.data(), value.data());
    }
    prev = key;
  }
  if (w) {
    w->end_array();
    if (header) w->end_object();
  } else {
    std::printf("Found %u element%s\n", n, n != 1 ? "s" : "");
  }
}

void map_dump(Args& a) {
  std::vector<Fd> fds = parse_fds(a, Kind::Map);
  a.expect_end();
  std::vector<bpf_map_info> infos;
  bool all_btf = true;
  for (const Fd& fd : fds) {
    infos.push_back(map_info(fd.get()));
    all_btf &= infos.back().btf_id != 0;
  }
  // Without -j, maps with BTF print through their own pretty writer (bpftool's btf_wtr).
  std::unique_ptr<JsonWriter> btf_writer;
  JsonWriter* w = nullptr;
  if (output().json) {
    w = &json();
  } else if (all_btf) {
    btf_writer = std::make_unique<JsonWriter>(stdout, true);
    w = btf_writer.get();
  }
  const bool many = fds.size() > 1;
  if (w && many) w->start_array();
  for (size_t k = 0; k < fds.size(); k++) {
    dump_one(fds[k].get(), infos[k], w, many);
    if (!w && k + 1 != fds.size()) std::printf("\n");
  }
  if (w && many) w->end_array();
  if (btf_writer) btf_writer->finish();
}

// bpftool's parse_bytes: `[hex] B B B ...`, exactly n of them.
void parse_bytes(std::vector<std::string>& words, size_t& at, const char* what, uint8_t* out,
                 size_t n) {
  int base = 0;
  if (at < words.size() && !words[at].empty() &&
      std::strncmp(words[at].c_str(), "hex", words[at].size()) == 0 && words[at].size() <= 3) {
    base = 16;
    at++;
  }
  size_t i = 0;
  for (; i < n && at < words.size(); i++, at++) {
    char* end = nullptr;
    out[i] = uint8_t(std::strtoul(words[at].c_str(), &end, base));
    if (*end || words[at].empty()) throw CommandError("error parsing byte: " + words[at]);
  }
  if (i != n)
    throw CommandError(std::string(what) + " expected " + std::to_string(n) + " bytes got " +
                       std::to_string(i));
}

// The rest of the words: key, value and update flags (bpftool's parse_elem).
struct Elem {
  std::vector<uint8_t> key, value;
  bool has_key = false, has_value = false;
  uint64_t flags = BPF_ANY;
  Fd value_fd;
};

bool is_prefix(const std::string& w, const char* kw) {
  return !w.empty() && w.size() <= std::strlen(kw) && std::strncmp(w.c_str(), kw, w.size()) == 0;
}

Elem parse_elem(std::vector<std::string> words, const bpf_map_info& i, bool want_key,
                bool want_value) {
  Elem e;
  e.key.resize(i.key_size);
  e.value.resize(value_bytes(i));
  bool flags_set = false;
  size_t at = 0;
  while (at < words.size()) {
    const std::string w = words[at];
    if (is_prefix(w, "key")) {
      if (!want_key || !i.key_size || e.has_key)
        throw CommandError(e.has_key ? "duplicate key" : "unnecessary key");
      at++;
      parse_bytes(words, at, "key", e.key.data(), i.key_size);
      e.has_key = true;
    } else if (is_prefix(w, "value")) {
      if (!want_value || e.has_value)
        throw CommandError(e.has_value ? "duplicate value" : "unnecessary value");
      at++;
      if (of_fds(i.type)) {
        if (i.value_size != 4) throw CommandError("value smaller than 4B for map of fds?");
        std::vector<std::string> rest(words.begin() + long(at), words.end());
        Args fa(rest);
        const Kind k = i.type == BPF_MAP_TYPE_PROG_ARRAY ? Kind::Prog : Kind::Map;
        e.value_fd = parse_fd(fa, k);
        at += rest.size() - fa.size();
        const int fd = e.value_fd.get();
        std::memcpy(e.value.data(), &fd, 4);
      } else {
        parse_bytes(words, at, "value", e.value.data(), i.value_size);
        if (per_cpu(i.type)) {
          const size_t step = (i.value_size + 7) / 8 * 8;
          for (uint32_t c = 1; c < possible_cpus(); c++)
            std::memcpy(e.value.data() + c * step, e.value.data(), i.value_size);
        }
      }
      e.has_value = true;
    } else if (is_prefix(w, "any") || is_prefix(w, "noexist") || is_prefix(w, "exist")) {
      if (!want_value || flags_set) throw CommandError("flags specified multiple times: " + w);
      e.flags = is_prefix(w, "any") ? BPF_ANY : is_prefix(w, "noexist") ? BPF_NOEXIST : BPF_EXIST;
      flags_set = true;
      at++;
    } else {
      throw CommandError("expected key or value, got: " + w);
    }
  }
  if (want_key && !e.has_key && i.key_size) throw CommandError("did not find key");
  if (want_value && !e.has_value && i.value_size) throw CommandError("did not find value");
  return e;
}

std::vector<std::string> rest_of(Args& a) {
  std::vector<std::string> out;
  while (!a.empty()) out.push_back(a.next());
  return out;
}

void print_value(const bpf_map_info& i, const uint8_t* key, const uint8_t* value) {
  BtfPtr btf = map_btf(i);
  if (output().json) return entry_json(i, key, value, btf.get());
  if (btf) {
    JsonWriter w(stdout, true);
    dump_btf_entry(btf.get(), w, i, key, value, true);
    w.finish();
    return;
  }
  entry_plain(i, key, value);
}

void map_lookup(Args& a) {
  Fd fd = parse_fd(a, Kind::Map);
  const bpf_map_info i = map_info(fd.get());
  Elem e = parse_elem(rest_of(a), i, true, false);
  std::vector<uint8_t> value(value_bytes(i));
  if (bpf_map_lookup_elem(fd.get(), i.key_size ? e.key.data() : nullptr, value.data()) != 0) {
    if (errno != ENOENT)
      throw CommandError("lookup failed: " + errno_text(errno), bpftool_errno_status(errno));
    if (output().json) {
      json().null();
    } else {
      std::printf("key:\n%s\n\nNot found\n", hex(e.key.data(), i.key_size, " ").c_str());
    }
    // bpftool: "Not found" on stdout, the lookup's -ENOENT as the status, nothing more
    throw CommandError("", bpftool_errno_status(ENOENT));
  }
  print_value(i, e.key.data(), value.data());
}

// bpftool's do_pop_dequeue: lookup-and-delete; an empty queue or stack prints "Error: empty map"
// on stdout (null with -j) and fails.
void map_pop(Args& a) {
  Fd fd = parse_fd(a, Kind::Map);
  const bpf_map_info i = map_info(fd.get());
  a.expect_end();
  std::vector<uint8_t> key(i.key_size), value(value_bytes(i));
  if (bpf_map_lookup_and_delete_elem(fd.get(), i.key_size ? key.data() : nullptr, value.data()) !=
      0) {
    if (errno != ENOENT)
      throw CommandError("pop failed: " + errno_text(errno), bpftool_errno_status(errno));
    if (output().json)
      json().null();
    else
      std::printf("Error: empty map\n");
    throw CommandError("", bpftool_errno_status(ENOENT));
  }
  print_value(i, key.data(), value.data());
}

void map_update(Args& a) {
  Fd fd = parse_fd(a, Kind::Map);
  const bpf_map_info i = map_info(fd.get());
  Elem e = parse_elem(rest_of(a), i, true, true);
  if (bpf_map_update_elem(fd.get(), i.key_size ? e.key.data() : nullptr, e.value.data(), e.flags) !=
      0)
    throw CommandError("update failed: " + errno_text(errno), bpftool_errno_status(errno));
  if (output().json) json().null();
}

void map_delete(Args& a) {
  Fd fd = parse_fd(a, Kind::Map);
  const bpf_map_info i = map_info(fd.get());
  Elem e = parse_elem(rest_of(a), i, true, false);
  if (bpf_map_delete_elem(fd.get(), e.key.data()) != 0)
    throw CommandError("delete failed: " + errno_text(errno), bpftool_errno_status(errno));
  if (output().json) json().null();
}

void map_getnext(Args& a) {
  Fd fd = parse_fd(a, Kind::Map);
  const bpf_map_info i = map_info(fd.get());
  const std::vector<std::string> words = rest_of(a);
  Elem e;
  if (!words.empty()) e = parse_elem(words, i, true, false);
  std::vector<uint8_t> next(i.key_size);
  if (bpf_map_get_next_key(fd.get(), e.has_key ? e.key.data() : nullptr, next.data()) != 0)
    throw CommandError("can't get next key: " + errno_text(errno), bpftool_errno_status(errno));
  if (output().json) {
    JsonWriter& w = json();
    w.start_object();
    if (e.has_key) {
      w.name("key");
      w.hex_bytes(e.key.data(), i.key_size);
    } else {
      w.null_field("key");
    }
    w.name("next_key");
    w.hex_bytes(next.data(), i.key_size);
    w.end_object();
    return;
  }
  if (e.has_key)
    std::printf("key:\n%s\n", hex(e.key.data(), i.key_size, " ").c_str());
  else
    std::printf("key: None\n");
  std::printf("next key:\n%s\n", hex(next.data(), i.key_size, " ").c_str());
}

void map_pin(Args& a) {
  Fd fd = parse_fd(a, Kind::Map);
  const std::string path = a.next();
  a.expect_end();
  pin_fd(fd.get(), path);
  if (output().json) json().null();
}

void map_freeze(Args& a) {
  Fd fd = parse_fd(a, Kind::Map);
  a.expect_end();
  if (bpf_map_freeze(fd.get()) != 0)
    throw CommandError("failed to freeze map: " + errno_text(errno), bpftool_errno_status(errno));
  if (output().json) json().null();
}

int map_type_from_name(const std::string& n) {
  for (int t = 0;; t++) {
    const char* s = libbpf_bpf_map_type_str(bpf_map_type(t));
    if (!s) return -1;
    if (n == s) return t;
  }
}

void map_create(Args& a) {
  if (a.size() < 7)
    throw CommandError("'map create' needs at least 7 arguments, " + std::to_string(a.size()) +
                       " found");
  const std::string path = a.next();
  int type = 0;
  uint32_t key = 0, value = 0, entries = 0;
  std::string name;
  bool named = false;
  LIBBPF_OPTS(bpf_map_create_opts, opts);
  Fd inner;
  while (!a.empty()) {
    if (a.size() < 2) throw CommandError("'" + a.peek() + "' needs an argument");
    if (a.take("type")) {
      if (type) throw CommandError("map type already specified");
      const std::string t = a.next();
      type = map_type_from_name(t);
      if (type < 0) throw CommandError("unrecognized map type: " + t);
    } else if (a.take("name")) {
      name = a.next();
      named = true;
    } else if (a.take("key")) {
      key = a.next_u32("key size");
    } else if (a.take("value")) {
      value = a.next_u32("value size");
    } else if (a.take("entries")) {
      entries = a.next_u32("max entries");
    } else if (a.take("flags")) {
      opts.map_flags = a.next_u32("flags");
    } else if (a.take("inner_map")) {
      inner = parse_fd(a, Kind::Map);
      opts.inner_map_fd = uint32_t(inner.get());
    } else if (a.take("dev")) {
      throw CommandError("bpfbox has no network devices to offload to (dev)");
    } else {
      throw CommandError("unknown arg " + a.peek());
    }
  }
  if (!named) throw CommandError("map name not specified");
  Fd fd(bpf_map_create(bpf_map_type(type), name.c_str(), key, value, entries, &opts));
  if (fd.get() < 0) {
    const int e = errno;
    const std::string why = bpfbox_bpf_last_error();
    throw CommandError("map create failed: " + errno_text(e) +
                       (why.empty() ? "" : " (" + why + ")"));
  }
  pin_fd(fd.get(), path);
  if (output().json) json().null();
}

}  // namespace

void run_map(const std::vector<std::string>& args) {
  if (args.empty())
    throw CommandError(
        "usage: map {show | list | dump | lookup | update | delete | getnext | pin | create | "
        "freeze | peek | push | enqueue | pop | dequeue} ...");
  using Fn = void (*)(Args&);
  static const std::pair<const char*, Fn> kCommands[] = {
      {"show", map_show},      {"list", map_show},     {"dump", map_dump},
      {"update", map_update},  {"lookup", map_lookup}, {"getnext", map_getnext},
      {"delete", map_delete},  {"pin", map_pin},       {"create", map_create},
      {"freeze", map_freeze},  {"peek", map_lookup},   {"push", map_update},
      {"enqueue", map_update}, {"pop", map_pop},       {"dequeue", map_pop}};
  for (const auto& [name, fn] : kCommands) {
    Args a(args);
    if (a.take(name)) return fn(a);
  }
  throw CommandError(
      "unknown map command '" + args[0] +
      "' (show, list, dump, update, lookup, getnext, delete, pin, create, freeze, peek, "
      "push, enqueue, pop, dequeue)");
}

}  // namespace bpfbox::cli
