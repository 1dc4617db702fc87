// `bpfbox btf show|list [id N]` and `btf dump {id N | map MAP [key|value|kv|all] | prog PROG |
// file F} [format raw|c]`: bpftool's text and JSON; `format c` is libbpf's btf_dump.
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include <cerrno>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "bpftool_common.hpp"
#include "command_error.hpp"
#include "commands.hpp"

namespace bpfbox::cli {

namespace {

struct BtfFree {
  void operator()(struct btf* b) const { btf__free(b); }
};
using BtfPtr = std::unique_ptr<struct btf, BtfFree>;

const char* kind_str(uint32_t k) {
  static const char* const names[] = {"UNKNOWN", "INT",      "PTR",      "ARRAY",      "STRUCT",
                                      "UNION",   "ENUM",     "FWD",      "TYPEDEF",    "VOLATILE",
                                      "CONST",   "RESTRICT", "FUNC",     "FUNC_PROTO", "VAR",
                                      "DATASEC", "FLOAT",    "DECL_TAG", "TYPE_TAG",   "ENUM64"};
  return k < sizeof names / sizeof *names ? names[k] : "UNKNOWN";
}

const char* linkage_str(uint32_t l) {
  switch (l) {
    case BTF_VAR_STATIC:
      return "static";
    case BTF_VAR_GLOBAL_ALLOCATED:
      return "global";
    case BTF_VAR_GLOBAL_EXTERN:
      return "extern";
    default:
      return "(unknown)";
  }
}

const char* int_enc_str(uint32_t e) {
  switch (e) {
    case 0:
      return "(none)";
    case BTF_INT_SIGNED:
      return "SIGNED";
    case BTF_INT_CHAR:
      return "CHAR";
    case BTF_INT_BOOL:
      return "BOOL";
    default:
      return "UNKN";
  }
}

std::string name_of(const struct btf* b, uint32_t off) {
  if (!off) return "(anon)";
  const char* s = btf__name_by_offset(b, off);
  return s ? s : "(invalid)";
}

// One type in bpftool's raw format ("[3] ARRAY '(anon)' type_id=2 index_type_id=4 nr_elems=2").
void dump_type(const struct btf* b, uint32_t id) {
  const btf_type* t = btf__type_by_id(b, id);
  if (!t) return;
  const bool js = output().json;
  JsonWriter& w = json();
  const uint32_t kind = btf_kind(t);
  const std::string name = name_of(b, t->name_off);
  if (js) {
    w.start_object();
    w.uint_field("id", id);
    w.string_field("kind", kind_str(kind));
    w.string_field("name", name);
  } else {
    std::printf("[%u] %s '%s'", id, kind_str(kind), name.c_str());
  }
  // "key=value" pairs: plain text " k=v" or JSON fields.
  auto num = [&](const char* k, uint64_t v) {
    if (js)
      w.uint_field(k, v);
    else
      std::printf(" %s=%llu", k, (unsigned long long)v);
  };
  auto str = [&](const char* k, const std::string& v) {
    if (js)
      w.string_field(k, v);
    else
      std::printf(" %s=%s", k, v.c_str());
  };
  auto list_begin = [&](const char* k) {
    if (js) w.name(k), w.start_array();
  };
  auto list_end = [&] {
    if (js) w.end_array();
  };
  switch (kind) {
    case BTF_KIND_INT: {
      const uint32_t v = *reinterpret_cast<const uint32_t*>(t + 1);
      num("size", t->size);
      num("bits_offset", BTF_INT_OFFSET(v));
      num("nr_bits", BTF_INT_BITS(v));
      str("encoding", int_enc_str(BTF_INT_ENCODING(v)));
      break;
    }
    case BTF_KIND_PTR:
    case BTF_KIND_CONST:
    case BTF_KIND_VOLATILE:
    case BTF_KIND_RESTRICT:
    case BTF_KIND_TYPEDEF:
    case BTF_KIND_TYPE_TAG:
      num("type_id", t->type);
      break;
    case BTF_KIND_ARRAY: {
      const struct btf_array* a = btf_array(t);
      num("type_id", a->type);
      num("index_type_id", a->index_type);
      num("nr_elems", a->nelems);
      break;
    }
    case BTF_KIND_STRUCT:
    case BTF_KIND_UNION: {
      num("size", t->size);
      num("vlen", btf_vlen(t));
      list_begin("members");
      const btf_member* m = btf_members(t);
      for (uint16_t i = 0; i < btf_vlen(t); i++) {
        const uint32_t off = btf_member_bit_offset(t, i);
        const uint32_t sz = btf_member_bitfield_size(t, i);
        const std::string mn = name_of(b, m[i].name_off);
        if (js) {
          w.start_object();
          w.string_field("name", mn);
          w.uint_field("type_id", m[i].type);
          w.uint_field("bits_offset", off);
          if (sz) w.uint_field("bitfield_size", sz);
          w.end_object();
        } else {
          std::printf("\n\t'%s' type_id=%u bits_offset=%u", mn.c_str(), m[i].type, off);
          if (sz) std::printf(" bitfield_size=%u", sz);
        }
      }
      list_end();
      break;
    }
    case BTF_KIND_ENUM:
    case BTF_KIND_ENUM64: {
      const bool is_signed = btf_kflag(t);
      str("encoding", is_signed ? "SIGNED" : "UNSIGNED");
      num("size", t->size);
      num("vlen", btf_vlen(t));
      list_begin("values");
      for (uint16_t i = 0; i < btf_vlen(t); i++) {
        std::string vn;
        int64_t sv;
        uint64_t uv;
        if (kind == BTF_KIND_ENUM) {
          vn = name_of(b, btf_enum(t)[i].name_off);
          sv = btf_enum(t)[i].val;
          uv = uint32_t(btf_enum(t)[i].val);
        } else {
          vn = name_of(b, btf_enum64(t)[i].name_off);
          uv = btf_enum64_value(&btf_enum64(t)[i]);
          sv = int64_t(uv);
        }
        if (js) {
          w.start_object();
          w.string_field("name", vn);
          if (is_signed)
            w.int_field("val", sv);
          else
            w.uint_field("val", uv);
          w.end_object();
        } else if (is_signed) {
          std::printf("\n\t'%s' val=%lld", vn.c_str(), (long long)sv);
        } else {
          std::printf("\n\t'%s' val=%llu", vn.c_str(), (unsigned long long)uv);
        }
      }
      list_end();
      break;
    }
    case BTF_KIND_FWD:
      str("fwd_kind", btf_kflag(t) ? "union" : "struct");
      break;
    case BTF_KIND_FUNC:
      num("type_id", t->type);
      str("linkage", btf_vlen(t) == BTF_FUNC_STATIC   ? "static"
                     : btf_vlen(t) == BTF_FUNC_GLOBAL ? "global"
                     : btf_vlen(t) == BTF_FUNC_EXTERN ? "extern"
                                                      : "(unknown)");
      break;
    case BTF_KIND_FUNC_PROTO: {
      num("ret_type_id", t->type);
      num("vlen", btf_vlen(t));
      list_begin("params");
      const btf_param* p = btf_params(t);
      for (uint16_t i = 0; i < btf_vlen(t); i++) {
        const std::string pn = name_of(b, p[i].name_off);
        if (js) {
          w.start_object();
          w.string_field("name", pn);
          w.uint_field("type_id", p[i].type);
          w.end_object();
        } else {
          std::printf("\n\t'%s' type_id=%u", pn.c_str(), p[i].type);
        }
      }
      list_end();
      break;
    }
    case BTF_KIND_VAR:
      if (js) {
        w.uint_field("type_id", t->type);
        w.string_field("linkage", linkage_str(btf_var(t)->linkage));
      } else {
        std::printf(" type_id=%u, linkage=%s", t->type, linkage_str(btf_var(t)->linkage));
      }
      break;
    case BTF_KIND_DATASEC: {
      num("size", t->size);
      num("vlen", btf_vlen(t));
      list_begin("vars");
      const btf_var_secinfo* v = btf_var_secinfos(t);
      for (uint16_t i = 0; i < btf_vlen(t); i++) {
        if (js) {
          w.start_object();
          w.uint_field("type_id", v[i].type);
          w.uint_field("offset", v[i].offset);
          w.uint_field("size", v[i].size);
          w.end_object();
        } else {
          std::printf("\n\ttype_id=%u offset=%u size=%u", v[i].type, v[i].offset, v[i].size);
          if (const btf_type* vt = btf__type_by_id(b, v[i].type))
            std::printf(" (%s '%s')", kind_str(btf_kind(vt)), name_of(b, vt->name_off).c_str());
        }
      }
      list_end();
      break;
    }
    case BTF_KIND_FLOAT:
      num("size", t->size);
      break;
    case BTF_KIND_DECL_TAG:
      num("type_id", t->type);
      if (js)
        w.int_field("component_idx", btf_decl_tag(t)->component_idx);
      else
        std::printf(" component_idx=%d", btf_decl_tag(t)->component_idx);
      break;
    default:
      break;
  }
  if (js)
    w.end_object();
  else
    std::printf("\n");
}

void c_printf(void*, const char* fmt, va_list args) {
  std::vprintf(fmt, args);
}

BtfPtr btf_by_id(uint32_t id) {
  BtfPtr b(btf__load_from_kernel_by_id(id));
  if (libbpf_get_error(b.get())) {
    const int e = int(libbpf_get_error(b.get()));
    b.release();
    throw CommandError("get btf by id (" + std::to_string(id) + "): " + errno_text(e));
  }
  return b;
}

void btf_dump(Args& a) {
  if (a.size() < 2)
    throw CommandError("'btf dump' needs a source: id N, map MAP, prog PROG or file F");
  BtfPtr btf;
  std::vector<uint32_t> roots;
  uint32_t btf_id = 0;
  if (a.take("map")) {
    Fd fd = parse_fd(a, Kind::Map);
    bpf_map_info i{};
    uint32_t len = sizeof i;
    if (bpf_obj_get_info_by_fd(fd.get(), &i, &len) != 0)
      throw CommandError("can't get map info: " + errno_text(errno));
    btf_id = i.btf_id;
    if (a.take("key")) {
      roots = {i.btf_key_type_id};
    } else if (a.take("value")) {
      roots = {i.btf_value_type_id};
    } else if (a.take("all")) {
    } else {
      a.take("kv");
      roots = {i.btf_key_type_id, i.btf_value_type_id};
    }
  } else if (a.take("prog")) {
    Fd fd = parse_fd(a, Kind::Prog);
    bpf_prog_info i{};
    uint32_t len = sizeof i;
    if (bpf_obj_get_info_by_fd(fd.get(), &i, &len) != 0)
      throw CommandError("can't get prog info: " + errno_text(errno));
    btf_id = i.btf_id;
  } else if (a.take("id")) {
    btf_id = a.next_u32("ID");
  } else if (a.take("file")) {
    const std::string f = a.next();
    btf.reset(btf__parse(f.c_str(), nullptr));
    if (libbpf_get_error(btf.get())) {
      const int e = int(libbpf_get_error(btf.get()));
      btf.release();
      throw CommandError("failed to load BTF from " + f + ": " + errno_text(e));
    }
  } else {
    throw CommandError("unrecognized BTF source specifier: '" + a.peek() + "'");
  }
  bool c = false;
  while (!a.empty()) {
    if (!a.take("format")) throw CommandError("unrecognized option: '" + a.peek() + "'");
    if (a.empty()) throw CommandError("expecting value for 'format' option");
    const std::string f = a.next();
    if (f == "c")
      c = true;
    else if (f == "raw")
      c = false;
    else
      throw CommandError("unrecognized format specifier: '" + f + "', possible values: raw, c");
  }
  if (!btf) {
    if (!btf_id) throw CommandError("can't find btf with ID (0)");
    btf = btf_by_id(btf_id);
  }
  std::vector<uint32_t> ids = roots;
  if (ids.empty())
    for (uint32_t i = 1; i < btf__type_cnt(btf.get()); i++) ids.push_back(i);
  if (c) {
    if (output().json) throw CommandError("JSON output for C-syntax dump is not supported");
    struct btf_dump* d = btf_dump__new(btf.get(), c_printf, nullptr, nullptr);
    if (libbpf_get_error(d)) throw CommandError("can't start libbpf's btf_dump");
    std::printf(
        "#ifndef __VMLINUX_H__\n#define __VMLINUX_H__\n\n#ifndef BPF_NO_PRESERVE_ACCESS_INDEX\n"
        "#pragma clang attribute push (__attribute__((preserve_access_index)), apply_to = "
        "record)\n#endif\n\n");
    int err = 0;
    for (uint32_t id : ids)
      if ((err = btf_dump__dump_type(d, id)) != 0) break;
    btf_dump__free(d);
    std::printf(
        "#ifndef BPF_NO_PRESERVE_ACCESS_INDEX\n#pragma clang attribute pop\n#endif\n\n"
        "#endif /* __VMLINUX_H__ */\n");
    if (err) throw CommandError("btf_dump: " + errno_text(err));
    return;
  }
  if (output().json) {
    json().start_object();
    json().name("types");
    json().start_array();
  }
  for (uint32_t id : ids) dump_type(btf.get(), id);
  if (output().json) {
    json().end_array();
    json().end_object();
  }
}

// btf id -> the ids of the objects using it, listed in the order bpftool lists them: bpftool keeps
// them in libbpf's hashmap (the key's bits shuffled by a multiplication, each entry put at the head
// of its bucket's chain, the table doubled and rehashed bucket by bucket when 3/4 full), so the
// order of `prog_ids`/`map_ids` is that table's.
class IdTable {
 public:
  void add(uint32_t key, uint32_t value) {
    if (buckets_.empty() || (size_ + 1) * 4 / 3 > buckets_.size()) grow();
    auto& chain = buckets_[bucket(key, bits_)];
    chain.insert(chain.begin(), {key, value});
    size_++;
  }
  std::vector<uint32_t> get(uint32_t key) const {
    std::vector<uint32_t> out;
    if (buckets_.empty()) return out;
    for (const auto& [k, v] : buckets_[bucket(key, bits_)])
      if (k == key) out.push_back(v);
    return out;
  }

 private:
  static size_t bucket(uint64_t key, int bits) {
    return bits == 0 ? 0 : size_t((key * 11400714819323198485ull) >> (64 - bits));
  }
  void grow() {
    const int bits = std::max(bits_ + 1, 2);
    std::vector<std::vector<std::pair<uint32_t, uint32_t>>> next(size_t(1) << bits);
    for (const auto& chain : buckets_)
      for (const auto& e : chain) {
        auto& to = next[bucket(e.first, bits)];
        to.insert(to.begin(), e);
      }
    buckets_ = std::move(next);
    bits_ = bits;
  }

  int bits_ = 0;
  size_t size_ = 0;
  std::vector<std::vector<std::pair<uint32_t, uint32_t>>> buckets_;
};

struct Users {
  IdTable progs, maps;
};

Users btf_users() {
  Users u;
  uint32_t id = 0;
  while (bpf_prog_get_next_id(id, &id) == 0) {
    Fd fd(bpf_prog_get_fd_by_id(id));
    bpf_prog_info i{};
    uint32_t len = sizeof i;
    if (fd.get() >= 0 && bpf_obj_get_info_by_fd(fd.get(), &i, &len) == 0 && i.btf_id)
      u.progs.add(i.btf_id, id);
  }
  id = 0;
  while (bpf_map_get_next_id(id, &id) == 0) {
    Fd fd(bpf_map_get_fd_by_id(id));
    bpf_map_info i{};
    uint32_t len = sizeof i;
    if (fd.get() >= 0 && bpf_obj_get_info_by_fd(fd.get(), &i, &len) == 0 && i.btf_id)
      u.maps.add(i.btf_id, id);
  }
  return u;
}

void show_one(int fd, const Users& u) {
  bpf_btf_info i{};
  char name[256] = "";
  i.name = uint64_t(uintptr_t(name));
  i.name_len = sizeof name;
  uint32_t len = sizeof i;
  if (bpf_obj_get_info_by_fd(fd, &i, &len) != 0)
    throw CommandError("can't get BTF object info: " + errno_text(errno));
  const std::vector<uint32_t> progs = u.progs.get(i.id), maps = u.maps.get(i.id);
  if (output().json) {
    JsonWriter& w = json();
    w.start_object();
    w.uint_field("id", i.id);
    w.uint_field("size", i.btf_size);
    w.name("prog_ids");
    w.start_array();
    for (uint32_t p : progs) w.uint(p);
    w.end_array();
    w.name("map_ids");
    w.start_array();
    for (uint32_t m : maps) w.uint(m);
    w.end_array();
    w.bool_field("kernel", i.kernel_btf);
    if (name[0]) w.string_field("name", name);
    w.end_object();
    return;
  }
  std::printf("%u: ", i.id);
  if (i.kernel_btf)
    std::printf("name [%s]  ", name);
  else if (name[0])
    std::printf("name %s  ", name);
  else
    std::printf("name <anon>  ");
  std::printf("size %uB", i.btf_size);
  for (size_t k = 0; k < progs.size(); k++) std::printf("%s%u", k ? "," : "  prog_ids ", progs[k]);
  for (size_t k = 0; k < maps.size(); k++) std::printf("%s%u", k ? "," : "  map_ids ", maps[k]);
  std::printf("\n");
}

void btf_show(Args& a) {
  const Users u = btf_users();
  if (!a.empty()) {
    if (!a.take("id")) throw CommandError("expected 'id', got: '" + a.peek() + "'?");
    const uint32_t id = a.next_u32("ID");
    a.expect_end();
    Fd fd(bpf_btf_get_fd_by_id(id));
    if (fd.get() < 0)
      throw CommandError("can't get BTF object by id (" + std::to_string(id) +
                         "): " + errno_text(errno));
    return show_one(fd.get(), u);
  }
  if (output().json) json().start_array();
  uint32_t id = 0;
  while (bpf_btf_get_next_id(id, &id) == 0) {
    Fd fd(bpf_btf_get_fd_by_id(id));
    if (fd.get() < 0) continue;
    show_one(fd.get(), u);
  }
  if (output().json) json().end_array();
}

}  // namespace

void run_btf(const std::vector<std::string>& args) {
  if (args.empty()) throw CommandError("usage: btf {show | list | dump} ...");
  Args a(args);
  if (a.take("show") || a.take("list")) return btf_show(a);
  if (a.take("dump")) return btf_dump(a);
  throw CommandError("unknown btf command '" + args[0] + "' (show, list, dump)");
}

}  // namespace bpfbox::cli
