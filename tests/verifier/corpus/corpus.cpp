#include "corpus.hpp"

#include "isa/assembler.hpp"

#include <linux/bpf.h>

#include <algorithm>
#include <cerrno>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <sstream>
#include <stdexcept>

namespace bpfbox::corpus {

namespace {

struct NamedErrno {
  const char* name;
  int err;
};
const NamedErrno kErrnos[] = {{"EINVAL", EINVAL}, {"EACCES", EACCES},         {"E2BIG", E2BIG},
                              {"EPERM", EPERM},   {"EBADF", EBADF},           {"ENOSPC", ENOSPC},
                              {"EFAULT", EFAULT}, {"EPROTO", EPROTO},         {"ENOTSUP", ENOTSUP},
                              {"ENOTSUPP", 524},  {"EOPNOTSUPP", EOPNOTSUPP}, {"ENOENT", ENOENT}};

uint32_t prog_type_by_name(const std::string& s) {
  if (s == "socket_filter") return BPF_PROG_TYPE_SOCKET_FILTER;
  if (s == "sched_cls") return BPF_PROG_TYPE_SCHED_CLS;
  if (s == "sched_act") return BPF_PROG_TYPE_SCHED_ACT;
  if (s == "xdp") return BPF_PROG_TYPE_XDP;
  return 0;
}

uint32_t map_type_by_name(const std::string& s) {
  if (s == "array") return BPF_MAP_TYPE_ARRAY;
  if (s == "hash") return BPF_MAP_TYPE_HASH;
  if (s == "percpu_array") return BPF_MAP_TYPE_PERCPU_ARRAY;
  if (s == "percpu_hash") return BPF_MAP_TYPE_PERCPU_HASH;
  if (s == "lru_hash") return BPF_MAP_TYPE_LRU_HASH;
  if (s == "prog_array") return BPF_MAP_TYPE_PROG_ARRAY;
  if (s == "ringbuf") return BPF_MAP_TYPE_RINGBUF;
  if (s == "queue") return BPF_MAP_TYPE_QUEUE;
  if (s == "stack") return BPF_MAP_TYPE_STACK;
  if (s == "perf_event_array") return BPF_MAP_TYPE_PERF_EVENT_ARRAY;
  if (s == "devmap") return BPF_MAP_TYPE_DEVMAP;
  if (s == "array_of_maps") return BPF_MAP_TYPE_ARRAY_OF_MAPS;
  if (s == "hash_of_maps") return BPF_MAP_TYPE_HASH_OF_MAPS;
  return 0;
}

std::string trim(const std::string& s) {
  const size_t b = s.find_first_not_of(" \t\r");
  if (b == std::string::npos) return "";
  const size_t e = s.find_last_not_of(" \t\r");
  return s.substr(b, e - b + 1);
}

[[noreturn]] void fail(const std::string& where, const std::string& what) {
  throw std::runtime_error(where + ": " + what);
}

MapSpec parse_map(const std::string& spec, const std::string& where) {
  std::istringstream in(spec);
  std::string type;
  in >> type;
  MapSpec m;
  m.type = map_type_by_name(type);
  if (!m.type) fail(where, "unknown map type '" + type + "'");
  std::string kv;
  while (in >> kv) {
    const size_t eq = kv.find('=');
    if (eq == std::string::npos) fail(where, "expected key=value, got '" + kv + "'");
    const std::string k = kv.substr(0, eq);
    const uint32_t v = static_cast<uint32_t>(std::stoul(kv.substr(eq + 1), nullptr, 0));
    if (k == "key")
      m.key_size = v;
    else if (k == "value")
      m.value_size = v;
    else if (k == "entries")
      m.max_entries = v;
    else if (k == "flags")
      m.flags = v;
    else if (k == "spin_lock")
      m.spin_lock_off = static_cast<int32_t>(v);
    else if (k == "inner")
      m.inner = static_cast<int32_t>(v);
    else
      fail(where, "unknown map attribute '" + k + "'");
  }
  return m;
}

void parse_file(const std::filesystem::path& path, std::vector<Case>& out) {
  std::ifstream f(path);
  std::string line;
  int lineno = 0;
  Case* c = nullptr;
  bool in_asm = false;
  const std::string fname = path.filename().string();
  while (std::getline(f, line)) {
    ++lineno;
    const std::string where = fname + ":" + std::to_string(lineno);
    const std::string t = trim(line);
    if (t.rfind("==", 0) == 0) {
      out.push_back(Case{});
      c = &out.back();
      c->name = trim(t.substr(2));
      c->file = where;
      c->prog_type = BPF_PROG_TYPE_SOCKET_FILTER;
      in_asm = false;
      if (c->name.empty() || !std::all_of(c->name.begin(), c->name.end(), [](char ch) {
            return std::isalnum(static_cast<unsigned char>(ch)) || ch == '_';
          }))
        fail(where, "bad case name '" + c->name + "'");
      continue;
    }
    if (in_asm) {
      c->asm_text += line + "\n";
      continue;
    }
    if (t.empty() || t[0] == '#') continue;
    if (!c) fail(where, "text before the first case");
    if (t == "---") {
      in_asm = true;
      continue;
    }
    if (t == "unpriv") {
      c->privileged = false;
      continue;
    }
    const size_t colon = t.find(':');
    if (colon == std::string::npos) fail(where, "expected 'key: value', got '" + t + "'");
    const std::string key = t.substr(0, colon), value = trim(t.substr(colon + 1));
    if (key == "type") {
      c->prog_type = prog_type_by_name(value);
      if (!c->prog_type) fail(where, "unknown program type '" + value + "'");
    } else if (key == "map") {
      c->maps.push_back(parse_map(value, where));
      if (c->maps.back().inner >= static_cast<int32_t>(c->maps.size()) - 1)
        fail(where, "inner= must name an earlier map line");
    } else if (key == "prog_flags") {
      c->prog_flags = static_cast<uint32_t>(std::stoul(value, nullptr, 0));
    } else if (key == "license") {
      c->license = value;
    } else if (key == "func") {
      try {
        c->funcs.push_back(testsupport::parse_func_decl(value));
      } catch (const std::exception& e) {
        fail(where, e.what());
      }
    } else if (key == "line") {
      try {
        c->lines.push_back(testsupport::parse_line_decl(value));
      } catch (const std::exception& e) {
        fail(where, e.what());
      }
    } else if (key == "expect") {
      std::istringstream in(value);
      std::string verdict, err;
      in >> verdict;
      if (verdict == "accept") {
        c->accept = true;
      } else if (verdict == "reject") {
        c->accept = false;
        in >> err;
        c->err = errno_by_name(err);
        if (!c->err) fail(where, "unknown errno '" + err + "'");
        std::getline(in, c->message);
        c->message = trim(c->message);
      } else {
        fail(where, "expect accept or reject, got '" + verdict + "'");
      }
    } else {
      fail(where, "unknown key '" + key + "'");
    }
  }
}

}  // namespace

int errno_by_name(const std::string& name) {
  for (const NamedErrno& e : kErrnos)
    if (name == e.name) return e.err;
  return 0;
}

const char* errno_name(int err) {
  if (err == 0) return "0";
  for (const NamedErrno& e : kErrnos)
    if (err == e.err) return e.name;
  return "E?";
}

std::vector<struct bpf_insn> assemble_case(const Case& c) {
  // Each ".raw" line becomes a placeholder the assembler takes (w9 = a marker), replaced after.
  constexpr int32_t kMarker = 0x5eed0000;
  std::istringstream in(c.asm_text);
  std::string line, text;
  std::vector<struct bpf_insn> raws;
  while (std::getline(in, line)) {
    const std::string t = trim(line);
    if (t.rfind(".raw", 0) != 0) {
      text += line + "\n";
      continue;
    }
    std::istringstream f(t.substr(4));
    long code = 0, dst = 0, src = 0, off = 0, imm = 0;
    f >> std::setbase(0) >> code >> dst >> src >> off >> imm;
    if (!f) throw std::runtime_error(c.file + ": bad .raw line '" + t + "'");
    struct bpf_insn r {};
    r.code = static_cast<uint8_t>(code);
    r.dst_reg = static_cast<uint8_t>(dst) & 0xf;
    r.src_reg = static_cast<uint8_t>(src) & 0xf;
    r.off = static_cast<int16_t>(off);
    r.imm = static_cast<int32_t>(imm);
    text += "w9 = " + std::to_string(kMarker + static_cast<int32_t>(raws.size())) + "\n";
    raws.push_back(r);
  }
  auto r = isa::assemble(text);
  if (!r) throw std::runtime_error(c.file + " (" + c.name + "): " + r.status().message());
  std::vector<struct bpf_insn> insns = std::move(r.value());
  for (auto& in2 : insns) {
    if (in2.code == (BPF_ALU | BPF_MOV | BPF_K) && in2.dst_reg == 9 && in2.imm >= kMarker &&
        in2.imm < kMarker + static_cast<int32_t>(raws.size()))
      in2 = raws[in2.imm - kMarker];
  }
  return insns;
}

std::vector<Case> load_corpus(const std::string& dir) {
  std::vector<std::filesystem::path> files;
  for (const auto& e : std::filesystem::directory_iterator(dir))
    if (e.path().extension() == ".txt") files.push_back(e.path());
  std::sort(files.begin(), files.end());
  std::vector<Case> out;
  for (const auto& p : files) parse_file(p, out);
  return out;
}

}  // namespace bpfbox::corpus
