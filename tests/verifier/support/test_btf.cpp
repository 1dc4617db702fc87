#include "test_btf.hpp"

#include <algorithm>
#include <cstring>
#include <map>
#include <memory>
#include <sstream>
#include <stdexcept>

#include <bpf/btf.h>

namespace bpfbox::testsupport {

namespace {

std::string trim(const std::string& s) {
  const size_t b = s.find_first_not_of(" \t");
  if (b == std::string::npos) return "";
  const size_t e = s.find_last_not_of(" \t");
  return s.substr(b, e - b + 1);
}

struct BtfDeleter {
  void operator()(struct btf* b) const { btf__free(b); }
};

class Builder {
 public:
  explicit Builder(uint32_t prog_type) : btf_(btf__new_empty()), prog_type_(prog_type) {
    if (!btf_) throw std::runtime_error("btf__new_empty failed");
  }
  struct btf* btf() {
    return btf_.get();
  }

  int check(int id, const std::string& what) {
    if (id < 0) throw std::runtime_error("libbpf: cannot add " + what);
    return id;
  }

  // The type id of a type name (0 is void).
  int type(const std::string& name0) {
    const std::string name = trim(name0);
    if (auto it = ids_.find(name); it != ids_.end()) return it->second;
    int id = 0;
    if (name == "void") {
      id = 0;
    } else if (name == "int") {
      id = check(btf__add_int(btf(), "int", 4, BTF_INT_SIGNED), name);
    } else if (name == "u32") {
      id = check(btf__add_int(btf(), "unsigned int", 4, 0), name);
    } else if (name == "u64") {
      id = check(btf__add_int(btf(), "unsigned long long", 8, 0), name);
    } else if (name == "long") {
      id = check(btf__add_int(btf(), "long", 8, BTF_INT_SIGNED), name);
    } else if (name == "char") {
      id = check(btf__add_int(btf(), "char", 1, BTF_INT_CHAR), name);
    } else if (name == "__sk_buff" || name == "xdp_md") {
      id = check(btf__add_struct(btf(), name.c_str(), name == "xdp_md" ? 24 : 192), name);
    } else if (name == "ctx") {
      id = type(prog_type_ == BPF_PROG_TYPE_XDP ? "xdp_md*" : "__sk_buff*");
    } else if (name == "skb*") {
      id = type("__sk_buff*");
    } else if (!name.empty() && name.back() == '*') {
      id = check(btf__add_ptr(btf(), type(name.substr(0, name.size() - 1))), name);
    } else if (!name.empty() && name.back() == ']') {
      const size_t lb = name.find('[');
      if (lb == std::string::npos) throw std::runtime_error("bad array type " + name);
      const uint32_t n = static_cast<uint32_t>(std::stoul(name.substr(lb + 1)));
      id = check(btf__add_array(btf(), type("u32"), type(name.substr(0, lb)), n), name);
    } else {
      throw std::runtime_error("unknown BTF test type '" + name + "'");
    }
    ids_[name] = id;
    return id;
  }

 private:
  std::unique_ptr<struct btf, BtfDeleter> btf_;
  uint32_t prog_type_;
  std::map<std::string, int> ids_;
};

}  // namespace

std::vector<uint32_t> subprog_starts(std::span<const struct bpf_insn> insns) {
  std::vector<uint32_t> starts{0};
  for (size_t i = 0; i < insns.size(); ++i) {
    const struct bpf_insn& in = insns[i];
    const bool call = in.code == (BPF_JMP | BPF_CALL) && in.src_reg == BPF_PSEUDO_CALL;
    const bool func = in.code == (BPF_LD | BPF_IMM | BPF_DW) && in.src_reg == BPF_PSEUDO_FUNC;
    if (call || func) {
      const int64_t t = static_cast<int64_t>(i) + in.imm + 1;
      if (t >= 0 && t < static_cast<int64_t>(insns.size()))
        starts.push_back(static_cast<uint32_t>(t));
    }
  }
  std::sort(starts.begin(), starts.end());
  starts.erase(std::unique(starts.begin(), starts.end()), starts.end());
  return starts;
}

ProgBtfBlob build_prog_btf(const std::vector<FuncDecl>& funcs, const std::vector<LineDecl>& lines,
                           uint32_t prog_type, std::span<const struct bpf_insn> insns) {
  Builder b(prog_type);
  ProgBtfBlob out;
  const std::vector<uint32_t> starts = subprog_starts(insns);
  for (size_t i = 0; i < funcs.size(); ++i) {
    const FuncDecl& f = funcs[i];
    std::vector<std::pair<std::string, int>> params;  // tag, type id
    for (const std::string& a : f.args) {
      const size_t colon = a.find(':');
      const std::string tag = colon == std::string::npos ? "" : trim(a.substr(0, colon));
      const std::string t = colon == std::string::npos ? a : a.substr(colon + 1);
      params.emplace_back(tag, b.type(t));
    }
    const int ret = b.type(f.ret);
    const int proto = b.check(btf__add_func_proto(b.btf(), ret), "func_proto");
    for (size_t p = 0; p < params.size(); ++p) {
      const std::string pname = "a" + std::to_string(p);
      b.check(btf__add_func_param(b.btf(), pname.c_str(), params[p].second), "param");
    }
    const int fn = b.check(
        btf__add_func(b.btf(), f.name.c_str(), f.global ? BTF_FUNC_GLOBAL : BTF_FUNC_STATIC, proto),
        "func " + f.name);
    for (size_t p = 0; p < params.size(); ++p) {
      if (params[p].first.empty()) continue;
      const std::string tag = "arg:" + params[p].first;
      b.check(btf__add_decl_tag(b.btf(), tag.c_str(), fn, static_cast<int>(p)), tag);
    }
    struct bpf_func_info fi;
    fi.insn_off = f.insn_off >= 0     ? static_cast<uint32_t>(f.insn_off)
                  : i < starts.size() ? starts[i]
                                      : static_cast<uint32_t>(insns.size());
    fi.type_id = static_cast<uint32_t>(fn);
    out.func_info.push_back(fi);
  }
  for (const LineDecl& l : lines) {
    struct bpf_line_info li;
    li.insn_off = l.insn_off;
    li.file_name_off = static_cast<uint32_t>(b.check(btf__add_str(b.btf(), l.file.c_str()), "str"));
    li.line_off = static_cast<uint32_t>(b.check(btf__add_str(b.btf(), l.text.c_str()), "str"));
    li.line_col = (l.line << 10) | (l.col & 0x3ff);
    out.line_info.push_back(li);
  }
  uint32_t size = 0;
  const void* raw = btf__raw_data(b.btf(), &size);
  if (!raw) throw std::runtime_error("btf__raw_data failed");
  const auto* p = static_cast<const uint8_t*>(raw);
  out.btf.assign(p, p + size);
  return out;
}

FuncDecl parse_func_decl(const std::string& text) {
  // name linkage ret(args) [@off]
  FuncDecl f;
  std::istringstream in(text);
  std::string linkage;
  in >> f.name >> linkage;
  if (linkage != "static" && linkage != "global")
    throw std::runtime_error("func: linkage must be static or global: " + text);
  f.global = linkage == "global";
  std::string rest;
  std::getline(in, rest);
  const size_t lp = rest.find('('), rp = rest.rfind(')');
  if (lp == std::string::npos || rp == std::string::npos || rp < lp)
    throw std::runtime_error("func: expected ret(args): " + text);
  f.ret = trim(rest.substr(0, lp));
  const std::string args = rest.substr(lp + 1, rp - lp - 1);
  std::istringstream as(args);
  std::string a;
  while (std::getline(as, a, ','))
    if (!trim(a).empty()) f.args.push_back(trim(a));
  const std::string tail = trim(rest.substr(rp + 1));
  if (!tail.empty()) {
    if (tail[0] != '@') throw std::runtime_error("func: unexpected '" + tail + "'");
    f.insn_off = std::stoll(tail.substr(1));
  }
  return f;
}

LineDecl parse_line_decl(const std::string& text) {
  LineDecl l;
  std::istringstream in(text);
  std::string where;
  in >> l.insn_off >> where;
  const size_t c1 = where.find(':');
  if (c1 == std::string::npos) throw std::runtime_error("line: expected file:line: " + text);
  l.file = where.substr(0, c1);
  const size_t c2 = where.find(':', c1 + 1);
  l.line = static_cast<uint32_t>(std::stoul(where.substr(c1 + 1)));
  if (c2 != std::string::npos) l.col = static_cast<uint32_t>(std::stoul(where.substr(c2 + 1)));
  std::getline(in, l.text);
  l.text = trim(l.text);
  return l;
}

}  // namespace bpfbox::testsupport
