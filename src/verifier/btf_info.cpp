// The program's BTF: func_info and line_info checked as the kernel's check_btf_func_early /
// check_btf_func / check_btf_line (same order, messages — some of them without a newline, as the
// kernel writes them — and errno), callbacks' BTF rules, and btf_prepare_func_args. The BTF itself
// is parsed with libbpf: bpfbox does not write its own BTF parser.
#include "verifier/btf_info.hpp"

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstring>

#include <bpf/btf.h>

#include "bpfbox/helper_proto.hpp"
#include "verifier/diagnostic.hpp"
#include "verifier/env.hpp"

namespace bpfbox::verifier {

namespace {

constexpr uint32_t kMinFuncInfoSize = 8;  // MIN_BPF_FUNCINFO_SIZE
constexpr uint32_t kMaxFuncInfoRecSize = 252;
constexpr uint32_t kMinLineInfoSize = sizeof(struct bpf_line_info);  // offsetofend(line_col)

Status fail(Env& env, int err, const char* what) {
  explain(env, Rule::BtfInfo);
  if (env.diag.message.empty() && env.refusal.rule == Rule::BtfInfo) env.diag.message = what;
  return Status(err, what);
}

// bpf_check_uarg_tail_zero(): the bytes of a record past what this kernel knows must be zero.
bool tail_zero(const uint8_t* rec, uint32_t known, uint32_t rec_size) {
  for (uint32_t i = known; i < rec_size; ++i)
    if (rec[i]) return false;
  return true;
}

// check_abnormal_return(): without BTF, subprograms cannot use LD_ABS or tail calls (their
// abnormal exits need to know the function returns an int).
Status check_abnormal_return(Env& env) {
  for (size_t i = 1; i < env.subprogs.size(); ++i) {
    if (env.subprogs[i].has_ld_abs) {
      env.verbose("LD_ABS is not allowed in subprogs without BTF\n");
      return fail(env, EINVAL, "LD_ABS is not allowed in subprogs without BTF");
    }
    if (env.subprogs[i].has_tail_call) {
      env.verbose("tail_call is not allowed in subprogs without BTF\n");
      return fail(env, EINVAL, "tail_call is not allowed in subprogs without BTF");
    }
  }
  return Status::ok();
}

const struct btf_type* type_by_id(const struct btf* btf, uint32_t id) {
  if (id >= btf__type_cnt(btf)) return nullptr;
  return btf__type_by_id(btf, id);
}

const struct btf_type* skip_modifiers(const struct btf* btf, uint32_t id, uint32_t* res_id) {
  const struct btf_type* t = type_by_id(btf, id);
  while (t && btf_is_mod(t)) {
    id = t->type;
    t = type_by_id(btf, id);
  }
  if (res_id) *res_id = id;
  return t;
}

// btf_type_is_small_int() || btf_is_any_enum(): what LD_ABS/tail-call functions must return.
bool is_scalar_return(const struct btf_type* t) {
  return t && ((btf_is_int(t) && t->size <= 8) || btf_is_any_enum(t));
}

// The program type's context struct (the kernel's bpf_ctx_convert names).
const char* ctx_type_name(uint32_t prog_type) {
  switch (prog_type) {
    case BPF_PROG_TYPE_SOCKET_FILTER:
    case BPF_PROG_TYPE_SCHED_CLS:
    case BPF_PROG_TYPE_SCHED_ACT:
    case BPF_PROG_TYPE_CGROUP_SKB:
    case BPF_PROG_TYPE_LWT_IN:
    case BPF_PROG_TYPE_LWT_OUT:
    case BPF_PROG_TYPE_LWT_XMIT:
    case BPF_PROG_TYPE_SK_SKB:
      return "__sk_buff";
    case BPF_PROG_TYPE_XDP:
      return "xdp_md";
    default:
      return nullptr;
  }
}

// btf_is_prog_ctx_type(): a pointer to the program type's context struct (through typedefs).
bool is_prog_ctx_type(const Env& env, const struct btf* btf, const struct btf_type* ptr) {
  const struct btf_type* t = skip_modifiers(btf, ptr->type, nullptr);
  if (!t || !btf_is_struct(t)) return false;
  const char* name = btf__name_by_offset(btf, t->name_off);
  const char* want = ctx_type_name(env.opts.load.prog_type);
  return name && want && std::strcmp(name, want) == 0;
}

const char* kind_str(const struct btf_type* t) {
  static const char* const names[] = {"UNKN",    "INT",      "PTR",      "ARRAY",      "STRUCT",
                                      "UNION",   "ENUM",     "FWD",      "TYPEDEF",    "VOLATILE",
                                      "CONST",   "RESTRICT", "FUNC",     "FUNC_PROTO", "VAR",
                                      "DATASEC", "FLOAT",    "DECL_TAG", "TYPE_TAG",   "ENUM64"};
  const uint32_t k = t ? btf_kind(t) : 0;
  return k < sizeof names / sizeof names[0] ? names[k] : "UNKN";
}

}  // namespace

ProgBtf::~ProgBtf() {
  btf__free(btf);
}

Status check_btf_info_early(Env& env) {
  const Options& o = env.opts;
  if (!o.func_info_cnt && !o.line_info_cnt) return Status::ok();  // checked after check_subprogs
  if (o.btf.empty()) {
    // The kernel's btf_get_by_fd() of a prog_btf_fd that is no BTF object.
    env.verbose("func_info or line_info without BTF\n");
    return fail(env, EINVAL, "func_info or line_info without BTF");
  }
  auto pb = std::make_unique<ProgBtf>();
  pb->btf = btf__new(o.btf.data(), static_cast<uint32_t>(o.btf.size()));
  if (!pb->btf) {
    env.verbose("invalid BTF\n");
    return fail(env, EINVAL, "the program's BTF does not parse");
  }
  env.btf = std::move(pb);
  ProgBtf& b = *env.btf;

  // check_btf_func_early().
  const uint32_t nfuncs = o.func_info_cnt;
  if (!nfuncs) return Status::ok();
  const uint32_t rec_size = o.func_info_rec_size;
  if (rec_size < kMinFuncInfoSize || rec_size > kMaxFuncInfoRecSize || rec_size % 4) {
    env.verbose("invalid func info rec size %u\n", rec_size);
    return fail(env, EINVAL, "invalid func info rec size");
  }
  if (!o.func_info) return fail(env, EFAULT, "func_info is NULL");
  const auto* rec = static_cast<const uint8_t*>(o.func_info);
  const uint32_t known = sizeof(struct bpf_func_info);
  uint32_t prev_offset = 0;
  b.func_info.resize(nfuncs);
  for (uint32_t i = 0; i < nfuncs; ++i, rec += rec_size) {
    if (!tail_zero(rec, known, rec_size)) {
      env.verbose("nonzero tailing record in func info");
      return fail(env, E2BIG, "nonzero tailing record in func info");
    }
    struct bpf_func_info& k = b.func_info[i];
    std::memset(&k, 0, sizeof k);
    std::memcpy(&k, rec, std::min(known, rec_size));
    if (i == 0) {
      if (k.insn_off) {
        env.verbose("nonzero insn_off %u for the first func info record", k.insn_off);
        return fail(env, EINVAL, "nonzero insn_off for the first func info record");
      }
    } else if (k.insn_off <= prev_offset) {
      env.verbose("same or smaller insn offset (%u) than previous func info record (%u)",
                  k.insn_off, prev_offset);
      return fail(env, EINVAL, "same or smaller insn offset than previous func info record");
    }
    const struct btf_type* t = type_by_id(b.btf, k.type_id);
    if (!t || !btf_is_func(t)) {
      env.verbose("invalid type id %d in func info", k.type_id);
      return fail(env, EINVAL, "invalid type id in func info");
    }
    const struct btf_type* proto = type_by_id(b.btf, t->type);
    if (!proto || !btf_is_func_proto(proto)) return fail(env, EINVAL, "func without prototype");
    prev_offset = k.insn_off;
  }
  return Status::ok();
}

Status check_btf_info(Env& env) {
  const Options& o = env.opts;
  if (!o.func_info_cnt && !o.line_info_cnt) return check_abnormal_return(env);
  ProgBtf& b = *env.btf;

  // check_btf_func().
  const uint32_t nfuncs = o.func_info_cnt;
  if (!nfuncs) {
    if (Status st = check_abnormal_return(env); !st) return st;
  } else {
    if (nfuncs != env.subprogs.size()) {
      env.verbose("number of funcs in func_info doesn't match number of subprogs\n");
      return fail(env, EINVAL, "number of funcs in func_info doesn't match number of subprogs");
    }
    b.funcs.assign(nfuncs, FuncBtf{});
    for (uint32_t i = 0; i < nfuncs; ++i) {
      if (env.subprogs[i].start != b.func_info[i].insn_off) {
        env.verbose("func_info BTF section doesn't match subprog layout in BPF program\n");
        return fail(env, EINVAL,
                    "func_info BTF section doesn't match subprog layout in BPF program");
      }
      const struct btf_type* t = type_by_id(b.btf, b.func_info[i].type_id);
      b.funcs[i].linkage = btf_vlen(t);
      env.subprogs[i].is_global = b.funcs[i].linkage == BTF_FUNC_GLOBAL;
      const struct btf_type* proto = type_by_id(b.btf, t->type);
      const bool scalar_return = is_scalar_return(skip_modifiers(b.btf, proto->type, nullptr));
      if (i && !scalar_return && env.subprogs[i].has_ld_abs) {
        env.verbose("LD_ABS is only allowed in functions that return 'int'.\n");
        return fail(env, EINVAL, "LD_ABS is only allowed in functions that return 'int'.");
      }
      if (i && !scalar_return && env.subprogs[i].has_tail_call) {
        env.verbose("tail_call is only allowed in functions that return 'int'.\n");
        return fail(env, EINVAL, "tail_call is only allowed in functions that return 'int'.");
      }
      const char* name = btf__name_by_offset(b.btf, t->name_off);
      b.funcs[i].name = name ? name : "";
    }
  }

  // check_btf_line().
  const uint32_t nr = o.line_info_cnt;
  if (!nr) return Status::ok();
  if (nr > INT_MAX / sizeof(struct bpf_line_info)) return fail(env, EINVAL, "too many line infos");
  const uint32_t rec_size = o.line_info_rec_size;
  if (rec_size < kMinLineInfoSize || rec_size > kMaxFuncInfoRecSize || rec_size % 4)
    return fail(env, EINVAL, "invalid line info rec size");
  if (!o.line_info) return fail(env, EFAULT, "line_info is NULL");
  const auto* rec = static_cast<const uint8_t*>(o.line_info);
  const uint32_t known = sizeof(struct bpf_line_info);
  const uint32_t len = static_cast<uint32_t>(env.insns.size());
  const uint32_t nsub = static_cast<uint32_t>(env.subprogs.size());
  std::vector<struct bpf_line_info> linfo(nr);
  uint32_t prev_offset = 0, s = 0;
  for (uint32_t i = 0; i < nr; ++i, rec += rec_size) {
    if (!tail_zero(rec, known, rec_size)) {
      env.verbose("nonzero tailing record in line_info");
      return fail(env, E2BIG, "nonzero tailing record in line_info");
    }
    std::memcpy(&linfo[i], rec, known);
    const struct bpf_line_info& l = linfo[i];
    if ((i && l.insn_off <= prev_offset) || l.insn_off >= len) {
      env.verbose("Invalid line_info[%u].insn_off:%u (prev_offset:%u prog->len:%u)\n", i,
                  l.insn_off, prev_offset, len);
      return fail(env, EINVAL, "Invalid line_info insn_off");
    }
    if (!env.insns[l.insn_off].code) {
      env.verbose("Invalid insn code at line_info[%u].insn_off\n", i);
      return fail(env, EINVAL, "Invalid insn code at line_info insn_off");
    }
    if (!btf__str_by_offset(b.btf, l.line_off) || !btf__str_by_offset(b.btf, l.file_name_off)) {
      env.verbose("Invalid line_info[%u].line_off or .file_name_off\n", i);
      return fail(env, EINVAL, "Invalid line_info line_off or file_name_off");
    }
    if (s != nsub) {
      if (l.insn_off == env.subprogs[s].start) {
        ++s;
      } else if (env.subprogs[s].start < l.insn_off) {
        env.verbose("missing bpf_line_info for func#%u\n", s);
        return fail(env, EINVAL, "missing bpf_line_info for a function");
      }
    }
    prev_offset = l.insn_off;
  }
  if (s != nsub) {
    env.verbose("missing bpf_line_info for %u funcs starting from func#%u\n", nsub - s, s);
    return fail(env, EINVAL, "missing bpf_line_info for functions");
  }
  b.line_info = std::move(linfo);
  return Status::ok();
}

bool has_func_info(const Env& env) {
  return env.btf && !env.btf->funcs.empty();
}

bool subprog_is_global(const Env& env, uint32_t subprog) {
  return has_func_info(env) && subprog < env.btf->funcs.size() &&
         env.btf->funcs[subprog].linkage == BTF_FUNC_GLOBAL;
}

const char* subprog_name(const Env& env, uint32_t subprog) {
  if (!has_func_info(env) || subprog >= env.btf->funcs.size()) return "";
  return env.btf->funcs[subprog].name.c_str();
}

FuncBtf* subprog_btf(Env& env, uint32_t subprog) {
  if (!has_func_info(env) || subprog >= env.btf->funcs.size()) return nullptr;
  return &env.btf->funcs[subprog];
}

Status check_pseudo_func_btf(Env& env, uint32_t subprog) {
  if (!has_func_info(env)) {
    env.verbose("missing btf func_info\n");
    explain(env, Rule::BtfInfo)
        .hint("load the program with its BTF and func_info: callbacks need them");
    return Status(EINVAL, "missing btf func_info");
  }
  if (subprog >= env.btf->funcs.size() || env.btf->funcs[subprog].linkage != BTF_FUNC_STATIC) {
    env.verbose("callback function not static\n");
    explain(env, Rule::BtfInfo).hint("declare the callback `static`");
    return Status(EINVAL, "callback function not static");
  }
  return Status::ok();
}

Status prepare_func_args(Env& env, uint32_t subprog) {
  FuncBtf* f = subprog_btf(env, subprog);
  if (f && f->args_cached) return f->args_status;
  const bool is_global = subprog_is_global(env, subprog);
  auto done = [&](Status st) {
    if (f) {
      f->args_cached = true;
      f->args_status = st;
    }
    return st;
  };
  // The callers decide whether a refusal fails the load (a global function's own verification
  // or a call to it) or only marks the BTF unreliable (the main program).
  auto refuse = [&](int err, const char* msg) { return done(Status(err, msg)); };
  if (!f || !is_global) {
    if (!is_global) return Status(EINVAL, "not a global function");
    env.verbose("Verifier bug\n");
    return Status(EFAULT, "verifier bug");
  }
  const struct btf* btf = env.btf->btf;
  const uint32_t fn_id = env.btf->func_info[subprog].type_id;
  const struct btf_type* fn_t = type_by_id(btf, fn_id);
  const char* tname = f->name.c_str();
  if (f->unreliable) {
    env.verbose("Verifier bug in function %s()\n", tname);
    return refuse(EFAULT, "verifier bug");
  }
  const struct btf_type* proto = type_by_id(btf, fn_t->type);
  const struct btf_param* params = btf_params(proto);
  const uint32_t nargs = btf_vlen(proto);
  if (nargs > 5) {
    env.verbose("Global function %s() with %u > %d args. Buggy compiler.\n", tname, nargs, 5);
    return refuse(EINVAL, "global function with more than 5 args");
  }
  const struct btf_type* ret = skip_modifiers(btf, proto->type, nullptr);
  if (!ret || (!btf_is_int(ret) && !btf_is_any_enum(ret))) {
    env.verbose("Global function %s() doesn't return scalar. Only those are supported.\n", tname);
    return refuse(EINVAL, "global function doesn't return scalar");
  }
  constexpr uint32_t kTagCtx = 1, kTagNonnull = 2, kTagNullable = 4, kTagOther = 8;
  const uint32_t ntypes = btf__type_cnt(btf);
  for (uint32_t i = 0; i < nargs; ++i) {
    // 'arg:<tag>' decl tags of this argument.
    uint32_t tags = 0;
    for (uint32_t id = 1; id < ntypes; ++id) {
      const struct btf_type* tt = btf__type_by_id(btf, id);
      if (!btf_is_decl_tag(tt) || tt->type != fn_id ||
          btf_decl_tag(tt)->component_idx != static_cast<int32_t>(i))
        continue;
      const char* tag = btf__name_by_offset(btf, tt->name_off);
      if (!tag || std::strncmp(tag, "arg:", 4) != 0) continue;
      tag += 4;
      if (std::strcmp(tag, "ctx") == 0) {
        tags |= kTagCtx;
      } else if (std::strcmp(tag, "nonnull") == 0) {
        tags |= kTagNonnull;
      } else if (std::strcmp(tag, "nullable") == 0) {
        tags |= kTagNullable;
      } else if (std::strcmp(tag, "trusted") == 0 || std::strcmp(tag, "untrusted") == 0 ||
                 std::strcmp(tag, "arena") == 0) {
        tags |= kTagOther;  // kernel objects and arenas: bpfbox has neither
      } else {
        env.verbose("arg#%u has unsupported set of tags\n", i);
        return refuse(EOPNOTSUPP, "unsupported arg tag");
      }
    }
    const struct btf_type* t = skip_modifiers(btf, params[i].type, nullptr);
    if (t && btf_is_ptr(t)) {
      if ((tags & kTagCtx) || is_prog_ctx_type(env, btf, t)) {
        if (tags & ~kTagCtx) {
          env.verbose("arg#%u has invalid combination of tags\n", i);
          return refuse(EINVAL, "invalid combination of arg tags");
        }
        f->args[i].arg_type = ARG_PTR_TO_CTX;
        continue;
      }
      if (tags & kTagOther) {
        env.verbose("arg#%u has unsupported set of tags\n", i);
        return refuse(EOPNOTSUPP, "unsupported arg tag");
      }
      // A generic pointer to memory the size of the pointed-to type.
      if (tags & ~kTagNonnull) {
        env.verbose("arg#%u has invalid combination of tags\n", i);
        return refuse(EINVAL, "invalid combination of arg tags");
      }
      uint32_t ref_id = 0;
      const struct btf_type* ref = skip_modifiers(btf, t->type, &ref_id);
      const int64_t size = ref && ref_id ? btf__resolve_size(btf, ref_id) : -EINVAL;
      if (size < 0) {
        const char* rname = ref ? btf__name_by_offset(btf, ref->name_off) : "";
        env.verbose("arg#%u reference type('%s %s') size cannot be determined: %lld\n", i,
                    ref_id ? kind_str(ref) : "UNKN", rname ? rname : "",
                    static_cast<long long>(size));
        return refuse(EINVAL, "arg reference type size cannot be determined");
      }
      f->args[i].arg_type = ARG_PTR_TO_MEM | ((tags & kTagNonnull) ? 0u : PTR_MAYBE_NULL);
      f->args[i].mem_size = static_cast<uint32_t>(size);
      continue;
    }
    if (tags) {
      env.verbose("arg#%u has pointer tag, but is not a pointer type\n", i);
      return refuse(EINVAL, "pointer tag on a non-pointer");
    }
    if (t && (btf_is_int(t) || btf_is_any_enum(t))) {
      f->args[i].arg_type = ARG_ANYTHING;
      continue;
    }
    env.verbose("Arg#%u type %s in %s() is not supported yet.\n", i, kind_str(t), tname);
    return refuse(EINVAL, "global function argument type not supported");
  }
  f->arg_cnt = nargs;
  return done(Status::ok());
}

const struct bpf_line_info* find_linfo(const Env& env, uint32_t insn) {
  if (!env.btf || env.btf->line_info.empty() || insn >= env.insns.size()) return nullptr;
  const std::vector<struct bpf_line_info>& l = env.btf->line_info;
  // The last record at or before insn (l[0].insn_off is 0).
  auto it = std::upper_bound(l.begin(), l.end(), insn,
                             [](uint32_t v, const bpf_line_info& r) { return v < r.insn_off; });
  return it == l.begin() ? nullptr : &*(it - 1);
}

const char* btf_string(const Env& env, uint32_t off) {
  if (!env.btf) return "";
  const char* s = btf__str_by_offset(env.btf->btf, off);
  return s ? s : "";
}

bool source_line_of(const Env& env, uint32_t insn, std::string* source, std::string* file,
                    uint32_t* line) {
  const struct bpf_line_info* l = find_linfo(env, insn);
  if (!l) return false;
  const char* s = btf_string(env, l->line_off);
  while (*s == ' ' || *s == '\t') ++s;
  *source = s;
  *file = btf_string(env, l->file_name_off);
  *line = BPF_LINE_INFO_LINE_NUM(l->line_col);
  return true;
}

void verbose_linfo(Env& env, uint32_t insn, const char* prefix) {
  if (!env.log.level1() && !env.log.level2()) return;
  const struct bpf_line_info* l = find_linfo(env, insn);
  ProgBtf* b = env.btf.get();
  if (!l || l == b->prev_linfo) return;
  const struct bpf_line_info* prev = b->prev_linfo;
  b->prev_linfo = l;
  // Records differing only by column show the same source line: print it once.
  if (prev && prev->file_name_off == l->file_name_off &&
      BPF_LINE_INFO_LINE_NUM(prev->line_col) == BPF_LINE_INFO_LINE_NUM(l->line_col))
    return;
  const char* s = btf_string(env, l->line_off);
  while (*s == ' ' || *s == '\t') ++s;
  const char* file = btf_string(env, l->file_name_off);
  if (const char* slash = std::strrchr(file, '/')) file = slash + 1;
  env.verbose("%s%s", prefix, s);
  env.verbose(" @ %s:%u\n", file, BPF_LINE_INFO_LINE_NUM(l->line_col));
}

void reset_linfo(Env& env) {
  if (env.btf) env.btf->prev_linfo = nullptr;
}

}  // namespace bpfbox::verifier
