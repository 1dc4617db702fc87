#include "btf_dumper.hpp"

#include <bpf/btf.h>

#include <cctype>
#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <cstring>

namespace bpfbox::cli {

namespace {

struct Dumper {
  const struct btf* btf;
  JsonWriter& w;
  bool plain;

  const char* name(uint32_t off) const { return btf__name_by_offset(btf, off); }

  // An unsigned 128-bit number in hex, quoted in JSON mode.
  void hex128(uint64_t hi, uint64_t lo) const {
    char buf[48];
    const char* q = plain ? "" : "\"";
    if (hi == 0)
      std::snprintf(buf, sizeof buf, "%s0x%" PRIx64 "%s", q, lo, q);
    else
      std::snprintf(buf, sizeof buf, "%s0x%" PRIx64 "%016" PRIx64 "%s", q, hi, lo, q);
    w.raw(buf);
  }

  // nr_bits starting bit_off bits into data (little-endian), as a hex number.
  void bitfield(uint32_t nr_bits, uint32_t bit_off, const uint8_t* data) const {
    unsigned __int128 v = 0;
    const uint32_t bytes = (bit_off + nr_bits + 7) / 8;
    for (uint32_t i = 0; i < bytes && i < 16; i++) v |= (unsigned __int128)data[i] << (8 * i);
    v >>= bit_off;
    if (nr_bits < 128) v &= ((unsigned __int128)1 << nr_bits) - 1;
    hex128(uint64_t(v >> 64), uint64_t(v));
  }

  int int_(const btf_type* t, uint32_t bit_off, const uint8_t* data) const {
    const uint32_t info = *reinterpret_cast<const uint32_t*>(t + 1);
    const uint32_t bits = BTF_INT_BITS(info);
    const uint32_t off = BTF_INT_OFFSET(info);
    if (bit_off || off || bits % 8) {
      const uint32_t total = bit_off + off;
      bitfield(bits, total % 8, data + total / 8);
      return 0;
    }
    if (bits == 128) {
      uint64_t lo, hi;
      std::memcpy(&lo, data, 8);
      std::memcpy(&hi, data + 8, 8);
      hex128(hi, lo);
      return 0;
    }
    char buf[32];
    auto load = [&](auto v) {
      std::memcpy(&v, data, sizeof v);
      return v;
    };
    switch (BTF_INT_ENCODING(info)) {
      case 0:
        if (bits == 64) return w.uint(load(uint64_t{})), 0;
        if (bits == 32) return w.uint(load(uint32_t{})), 0;
        if (bits == 16) return w.uint(load(uint16_t{})), 0;
        if (bits == 8) return w.uint(load(uint8_t{})), 0;
        break;
      case BTF_INT_SIGNED:
        if (bits == 64) return w.int_(load(int64_t{})), 0;
        if (bits == 32) return w.int_(load(int32_t{})), 0;
        if (bits == 16) return w.int_(load(int16_t{})), 0;
        if (bits == 8) return w.int_(load(int8_t{})), 0;
        break;
      case BTF_INT_CHAR: {
        const char c = char(data[0]);
        if (std::isprint(static_cast<unsigned char>(c)))
          std::snprintf(buf, sizeof buf, "\"%c\"", c);
        else if (plain)
          std::snprintf(buf, sizeof buf, "0x%hhx", static_cast<unsigned char>(c));
        else
          std::snprintf(buf, sizeof buf, "\"\\u00%02hhx\"", static_cast<unsigned char>(c));
        w.raw(buf);
        return 0;
      }
      case BTF_INT_BOOL:
        w.boolean(data[0] != 0);
        return 0;
      default:
        return -EINVAL;
    }
    bitfield(bits, 0, data);
    return 0;
  }

  bool is_string(const struct btf_array* arr, const uint8_t* s) const {
    if (!arr->nelems) return false;
    const btf_type* e = btf__type_by_id(btf, arr->type);
    while (e && (btf_is_mod(e))) e = btf__type_by_id(btf, e->type);
    if (!e || !btf_is_int(e) || e->size != 1) return false;
    if (btf_int_encoding(e) != BTF_INT_CHAR && std::strcmp("char", name(e->name_off)) != 0)
      return false;
    for (uint32_t i = 0; i < arr->nelems; i++) {
      if (!s[i]) return true;
      if (s[i] <= 0x1f || s[i] >= 0x7f) return false;
    }
    return false;
  }

  int array(const btf_type* t, const uint8_t* data) const {
    const struct btf_array* arr = btf_array(t);
    if (is_string(arr, data)) {
      w.string(reinterpret_cast<const char*>(data));
      return 0;
    }
    const int64_t esz = btf__resolve_size(btf, arr->type);
    if (esz < 0) return int(esz);
    w.start_array();
    int ret = 0;
    for (uint32_t i = 0; i < arr->nelems && !ret; i++) ret = type(arr->type, 0, data + i * esz);
    w.end_array();
    return ret;
  }

  int struct_(const btf_type* t, const uint8_t* data) const {
    const bool kflag = btf_kflag(t);
    const btf_member* m = btf_members(t);
    w.start_object();
    int ret = 0;
    for (uint16_t i = 0; i < btf_vlen(t) && !ret; i++) {
      uint32_t bit_off = m[i].offset, bf_size = 0;
      if (kflag) {
        bf_size = BTF_MEMBER_BITFIELD_SIZE(bit_off);
        bit_off = BTF_MEMBER_BIT_OFFSET(bit_off);
      }
      w.name(name(m[i].name_off));
      if (bf_size)
        bitfield(bf_size, bit_off % 8, data + bit_off / 8);
      else
        ret = type(m[i].type, bit_off % 8, data + bit_off / 8);
    }
    w.end_object();
    return ret;
  }

  int enum_(const btf_type* t, const uint8_t* data) const {
    int64_t v = 0;
    switch (t->size) {
      case 8:
        v = *reinterpret_cast<const int64_t*>(data);
        break;
      case 4:
        v = *reinterpret_cast<const int32_t*>(data);
        break;
      case 2:
        v = *reinterpret_cast<const int16_t*>(data);
        break;
      case 1:
        v = *reinterpret_cast<const int8_t*>(data);
        break;
      default:
        return -EINVAL;
    }
    const struct btf_enum* e = btf_enum(t);
    for (uint16_t i = 0; i < btf_vlen(t); i++)
      if (v == e[i].val) return w.string(name(e[i].name_off)), 0;
    w.int_(v);
    return 0;
  }

  int enum64(const btf_type* t, const uint8_t* data) const {
    uint64_t v;
    std::memcpy(&v, data, 8);
    const struct btf_enum64* e = btf_enum64(t);
    for (uint16_t i = 0; i < btf_vlen(t); i++)
      if (v == btf_enum64_value(&e[i])) return w.string(name(e[i].name_off)), 0;
    w.int_(int64_t(v));
    return 0;
  }

  int var(const btf_type* t, uint32_t bit_off, const uint8_t* data) const {
    w.start_object();
    w.name(name(t->name_off));
    const int ret = type(t->type, bit_off, data);
    w.end_object();
    return ret;
  }

  int datasec(const btf_type* t, const uint8_t* data) const {
    const btf_var_secinfo* v = btf_var_secinfos(t);
    w.start_object();
    w.name(name(t->name_off));
    w.start_array();
    int ret = 0;
    for (uint16_t i = 0; i < btf_vlen(t) && !ret; i++) ret = type(v[i].type, 0, data + v[i].offset);
    w.end_array();
    w.end_object();
    return ret;
  }

  int type(uint32_t id, uint32_t bit_off, const uint8_t* data) const {
    const btf_type* t = btf__type_by_id(btf, id);
    if (!t) return -EINVAL;
    switch (btf_kind(t)) {
      case BTF_KIND_INT:
        return int_(t, bit_off, data);
      case BTF_KIND_STRUCT:
      case BTF_KIND_UNION:
        return struct_(t, data);
      case BTF_KIND_ARRAY:
        return array(t, data);
      case BTF_KIND_ENUM:
        return enum_(t, data);
      case BTF_KIND_ENUM64:
        return enum64(t, data);
      case BTF_KIND_PTR: {
        unsigned long v;
        std::memcpy(&v, data, sizeof v);
        char buf[32];
        if (plain)
          std::snprintf(buf, sizeof buf, "%p", reinterpret_cast<void*>(v));
        else
          std::snprintf(buf, sizeof buf, "%lu", v);
        w.raw(buf);
        return 0;
      }
      case BTF_KIND_UNKN:
        w.raw("(unknown)");
        return 0;
      case BTF_KIND_FWD:
        w.raw("(fwd-kind-invalid)");
        return -EINVAL;
      case BTF_KIND_TYPEDEF:
      case BTF_KIND_VOLATILE:
      case BTF_KIND_CONST:
      case BTF_KIND_RESTRICT: {
        const int r = btf__resolve_type(btf, id);
        return r < 0 ? r : type(uint32_t(r), bit_off, data);
      }
      case BTF_KIND_VAR:
        return var(t, bit_off, data);
      case BTF_KIND_DATASEC:
        return datasec(t, data);
      default:
        w.raw("(unsupported-kind");
        return -EINVAL;
    }
  }
};

bool append_type(const struct btf* btf, uint32_t id, std::string& s);

bool append_func(const struct btf* btf, const btf_type* proto, const btf_type* func,
                 std::string& s) {
  if (!append_type(btf, proto->type, s)) return false;
  if (func) s += btf__name_by_offset(btf, func->name_off);
  s += '(';
  const btf_param* p = btf_params(proto);
  for (uint16_t i = 0; i < btf_vlen(proto); i++) {
    if (i) s += ", ";
    if (!p[i].type) {
      s += "...";
      continue;
    }
    if (!append_type(btf, p[i].type, s)) return false;
    if (p[i].name_off)
      s += btf__name_by_offset(btf, p[i].name_off);
    else if (!s.empty() && s.back() == ' ')
      s.pop_back();
  }
  s += ')';
  return true;
}

// The type as bpftool spells it in signatures ("struct xdp_md * ", "__u32 ").
bool append_type(const struct btf* btf, uint32_t id, std::string& s) {
  if (!id) return s += "void ", true;
  const btf_type* t = btf__type_by_id(btf, id);
  if (!t) return false;
  const char* n = btf__name_by_offset(btf, t->name_off);
  switch (btf_kind(t)) {
    case BTF_KIND_INT:
    case BTF_KIND_TYPEDEF:
    case BTF_KIND_FLOAT:
      s += std::string(n) + " ";
      return true;
    case BTF_KIND_STRUCT:
      s += "struct " + std::string(n) + " ";
      return true;
    case BTF_KIND_UNION:
      s += "union " + std::string(n) + " ";
      return true;
    case BTF_KIND_ENUM:
    case BTF_KIND_ENUM64:
      s += "enum " + std::string(n) + " ";
      return true;
    case BTF_KIND_ARRAY:
      if (!append_type(btf, btf_array(t)->type, s)) return false;
      s += "[" + std::to_string(btf_array(t)->nelems) + "]";
      return true;
    case BTF_KIND_PTR:
      if (!append_type(btf, t->type, s)) return false;
      s += "* ";
      return true;
    case BTF_KIND_FWD:
      s += std::string(btf_kflag(t) ? "union " : "struct ") + n + " ";
      return true;
    case BTF_KIND_VOLATILE:
      s += "volatile ";
      return append_type(btf, t->type, s);
    case BTF_KIND_CONST:
      s += "const ";
      return append_type(btf, t->type, s);
    case BTF_KIND_RESTRICT:
      s += "restrict ";
      return append_type(btf, t->type, s);
    case BTF_KIND_FUNC_PROTO:
      return append_func(btf, t, nullptr, s);
    case BTF_KIND_FUNC: {
      const btf_type* proto = btf__type_by_id(btf, t->type);
      return proto && append_func(btf, proto, t, s);
    }
    case BTF_KIND_VAR:
      if (btf_var(t)->linkage == BTF_VAR_STATIC) s += "static ";
      if (!append_type(btf, t->type, s)) return false;
      s += " " + std::string(n);
      return true;
    case BTF_KIND_DATASEC:
      s += "section (\"" + std::string(n) + "\") ";
      return true;
    default:
      return false;
  }
}

}  // namespace

int btf_dump_value(const struct btf* btf, JsonWriter& w, uint32_t type_id, const void* data,
                   bool plain_text) {
  const Dumper d{btf, w, plain_text};
  return d.type(type_id, 0, static_cast<const uint8_t*>(data));
}

std::string btf_type_signature(const struct btf* btf, uint32_t type_id) {
  std::string s;
  if (!btf || !append_type(btf, type_id, s)) return "";
  return s;
}

}  // namespace bpfbox::cli
