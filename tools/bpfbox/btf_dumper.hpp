// Map keys and values printed from their BTF types as bpftool prints them ("formatted" in -j
// output, the whole dump without -j when the map has BTF): structs as objects, arrays as arrays,
// char arrays holding a string as strings, enums by name, DATASECs as {"name": [vars]}. And the C
// signature of a function type, for the headers of `prog dump xlated`.
#pragma once

#include <cstdint>
#include <string>

#include "json_writer.hpp"

struct btf;

namespace bpfbox::cli {

// Writes the value of type `type_id` at `data`. plain_text: the text form (pointers as %p, chars
// and 128-bit numbers unquoted), else strict JSON. EINVAL (negative) for a type it cannot print.
int btf_dump_value(const struct btf* btf, JsonWriter& w, uint32_t type_id, const void* data,
                   bool plain_text);

// "int xdp_count(struct xdp_md * ctx)" for a FUNC (or FUNC_PROTO) type; empty when unknown.
std::string btf_type_signature(const struct btf* btf, uint32_t type_id);

}  // namespace bpfbox::cli
