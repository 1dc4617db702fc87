// `bpfbox prog show|list|dump xlated|dump jited|pin`: bpftool's text and JSON for programs, from
// BPF_OBJ_GET_INFO_BY_FD (xlated instructions with their BTF func_info and line_info when the
// program has them, the JIT's image disassembled with capstone).
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>

#ifdef BPFBOX_HAVE_CAPSTONE
#include <capstone/capstone.h>
#endif

#include <array>
#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "btf_dumper.hpp"
#include "bpftool_common.hpp"
#include "command_error.hpp"
#include "isa/decoder.hpp"
#include "isa/disasm.hpp"
#include "prog_commands.hpp"

namespace bpfbox::cli {

namespace {

// bpf_prog_info with the arrays a dump needs, fetched in a second call once their sizes are known.
struct ProgInfo {
  bpf_prog_info info{};
  std::vector<uint32_t> map_ids;
  std::vector<bpf_insn> xlated;
  std::vector<uint8_t> jited;
  std::vector<uint8_t> func_info;
  std::vector<uint8_t> line_info;
  std::vector<uint64_t> jited_ksyms;
  std::vector<std::array<uint8_t, BPF_TAG_SIZE>> prog_tags;
};

ProgInfo get_info(int fd, bool arrays) {
  ProgInfo p;
  uint32_t len = sizeof p.info;
  if (bpf_obj_get_info_by_fd(fd, &p.info, &len) != 0)
    throw CommandError("can't get prog info: " + errno_text(errno));
  const bpf_prog_info first = p.info;
  bpf_prog_info& i = p.info;
  std::memset(&i, 0, sizeof i);
  p.map_ids.resize(first.nr_map_ids);
  i.nr_map_ids = first.nr_map_ids;
  i.map_ids = uint64_t(uintptr_t(p.map_ids.data()));
  if (arrays) {
    p.xlated.resize(first.xlated_prog_len / sizeof(bpf_insn));
    i.xlated_prog_len = uint32_t(p.xlated.size() * sizeof(bpf_insn));
    i.xlated_prog_insns = uint64_t(uintptr_t(p.xlated.data()));
    p.jited.resize(first.jited_prog_len);
    i.jited_prog_len = first.jited_prog_len;
    i.jited_prog_insns = uint64_t(uintptr_t(p.jited.data()));
    p.func_info.resize(size_t(first.nr_func_info) * first.func_info_rec_size);
    i.nr_func_info = first.nr_func_info;
    i.func_info_rec_size = first.func_info_rec_size;
    i.func_info = uint64_t(uintptr_t(p.func_info.data()));
    p.line_info.resize(size_t(first.nr_line_info) * first.line_info_rec_size);
    i.nr_line_info = first.nr_line_info;
    i.line_info_rec_size = first.line_info_rec_size;
    i.line_info = uint64_t(uintptr_t(p.line_info.data()));
    p.jited_ksyms.resize(first.nr_jited_ksyms);
    i.nr_jited_ksyms = first.nr_jited_ksyms;
    i.jited_ksyms = uint64_t(uintptr_t(p.jited_ksyms.data()));
    p.prog_tags.resize(first.nr_prog_tags);
    i.nr_prog_tags = first.nr_prog_tags;
    i.prog_tags = uint64_t(uintptr_t(p.prog_tags.data()));
  }
  len = sizeof i;
  if (bpf_obj_get_info_by_fd(fd, &i, &len) != 0)
    throw CommandError("can't get prog info: " + errno_text(errno));
  p.map_ids.resize(std::min<size_t>(p.map_ids.size(), i.nr_map_ids));
  return p;
}

void show_plain(int fd, const ProgInfo& p) {
  const bpf_prog_info& i = p.info;
  std::printf("%u: ", i.id);
  const std::string type = prog_type_name(i.type);
  if (!type.empty())
    std::printf("%s  ", type.c_str());
  else
    std::printf("type %u  ", i.type);
  if (i.name[0]) std::printf("name %s  ", i.name);
  std::printf("tag %s", hex(i.tag, BPF_TAG_SIZE, "").c_str());
  std::printf("%s", i.gpl_compatible ? "  gpl" : "");
  if (i.run_time_ns)
    std::printf(" run_time_ns %llu run_cnt %llu", (unsigned long long)i.run_time_ns,
                (unsigned long long)i.run_cnt);
  if (i.recursion_misses)
    std::printf(" recursion_misses %llu", (unsigned long long)i.recursion_misses);
  std::printf("\n");
  if (i.load_time)
    std::printf("\tloaded_at %s  uid %u\n", boot_time_text(i.load_time).c_str(), i.created_by_uid);
  std::printf("\txlated %uB", i.xlated_prog_len);
  if (i.jited_prog_len)
    std::printf("  jited %uB", i.jited_prog_len);
  else
    std::printf("  not jited");
  if (auto memlock = fdinfo_field(fd, "memlock")) std::printf("  memlock %sB", memlock->c_str());
  if (!p.map_ids.empty()) {
    std::printf("  map_ids ");
    for (size_t k = 0; k < p.map_ids.size(); k++) std::printf("%s%u", k ? "," : "", p.map_ids[k]);
  }
  print_pinned_plain(fd, Kind::Prog);
  if (i.btf_id) std::printf("\n\tbtf_id %u", i.btf_id);
  std::printf("\n");
}

void show_json(int fd, const ProgInfo& p) {
  const bpf_prog_info& i = p.info;
  JsonWriter& w = json();
  w.start_object();
  w.uint_field("id", i.id);
  const std::string type = prog_type_name(i.type);
  if (!type.empty())
    w.string_field("type", type);
  else
    w.uint_field("type", i.type);
  if (i.name[0]) w.string_field("name", i.name);
  w.string_field("tag", hex(i.tag, BPF_TAG_SIZE, ""));
  w.bool_field("gpl_compatible", i.gpl_compatible);
  if (i.run_time_ns) {
    w.uint_field("run_time_ns", i.run_time_ns);
    w.uint_field("run_cnt", i.run_cnt);
  }
  if (i.recursion_misses) w.uint_field("recursion_misses", i.recursion_misses);
  if (i.load_time) {
    w.int_field("loaded_at", boot_time_epoch(i.load_time));
    w.uint_field("uid", i.created_by_uid);
  }
  w.uint_field("bytes_xlated", i.xlated_prog_len);
  w.bool_field("jited", i.jited_prog_len != 0);
  if (i.jited_prog_len) w.uint_field("bytes_jited", i.jited_prog_len);
  if (auto memlock = fdinfo_field(fd, "memlock"))
    w.int_field("bytes_memlock", std::strtoll(memlock->c_str(), nullptr, 10));
  if (!p.map_ids.empty()) {
    w.name("map_ids");
    w.start_array();
    for (uint32_t id : p.map_ids) w.uint(id);
    w.end_array();
  }
  if (i.btf_id) w.uint_field("btf_id", i.btf_id);
  print_pinned_json(fd, Kind::Prog);
  w.end_object();
}

void show_one(int fd) {
  const ProgInfo p = get_info(fd, false);
  if (output().json)
    show_json(fd, p);
  else
    show_plain(fd, p);
}

void prog_show(Args& a) {
  show_objects(a, Kind::Prog, show_one);
}

bool is_pseudo_call(const bpf_insn& in) {
  return in.code == (BPF_JMP | BPF_CALL) && in.src_reg == BPF_PSEUDO_CALL;
}

// The name bpftool finds in kallsyms for subprogram `idx` of a JITed program, as the kernel's
// bpf_get_prog_name() makes it: "bpf_prog_<its tag>_<its BTF name>", "F" without func_info.
std::string subprog_symbol(const ProgInfo& p, const struct btf* btf, uint32_t idx) {
  std::string name = "F";
  if (btf && idx < p.info.nr_func_info) {
    bpf_func_info fi;
    std::memcpy(&fi, p.func_info.data() + size_t(idx) * p.info.func_info_rec_size, sizeof fi);
    if (const struct btf_type* t = btf__type_by_id(btf, fi.type_id))
      if (const char* n = btf__name_by_offset(btf, t->name_off)) name = n;
  }
  const std::string tag =
      idx < p.prog_tags.size() ? hex(p.prog_tags[idx].data(), BPF_TAG_SIZE, "") : "";
  return "bpf_prog_" + tag + "_" + name;
}

// One xlated instruction as the kernel's disassembler prints it for bpftool: the verifier log's
// text, with a map load naming the map by id ("map[id:5]", "map[id:5][0]+16") and a bpf-to-bpf
// call (its offset in off, the callee's index in imm, as the kernel dumps it) naming the callee's
// symbol when the program is JITed ("call pc+16#bpf_prog_<tag>_<name>"), bpftool's
// print_call_pcrel.
std::string insn_text(const ProgInfo& p, const struct btf* btf, const std::vector<isa::Decoded>& d,
                      size_t pc) {
  const isa::Decoded& x = d[pc];
  char buf[96];
  if (is_pseudo_call(p.xlated[pc])) {
    const bpf_insn& in = p.xlated[pc];
    std::snprintf(buf, sizeof buf, "call pc%+d", in.off);
    if (p.jited_ksyms.empty()) return buf;
    return buf + ("#" + subprog_symbol(p, btf, uint32_t(in.imm)));
  }
  if (x.op == isa::Op::Lddw && (x.src == BPF_PSEUDO_MAP_FD || x.src == BPF_PSEUDO_MAP_VALUE)) {
    const uint32_t id = uint32_t(x.imm64);
    const uint32_t off = uint32_t(x.imm64 >> 32);
    if (x.src == BPF_PSEUDO_MAP_FD)
      std::snprintf(buf, sizeof buf, "r%u = map[id:%u]", x.dst, id);
    else
      std::snprintf(buf, sizeof buf, "r%u = map[id:%u][0]+%u", x.dst, id, off);
    return buf;
  }
  return isa::disassemble(x);
}

struct BtfFree {
  void operator()(struct btf* b) const { btf__free(b); }
};
struct LinfoFree {
  void operator()(bpf_prog_linfo* l) const { bpf_prog_linfo__free(l); }
};

void dump_xlated(int fd, bool opcodes, bool linum) {
  const ProgInfo p = get_info(fd, true);
  if (p.xlated.empty()) throw CommandError("no instructions returned");
  // The decoder takes a call's offset in imm, as loaded.
  std::vector<bpf_insn> loaded_form = p.xlated;
  for (bpf_insn& in : loaded_form)
    if (is_pseudo_call(in)) in.imm = std::exchange(in.off, 0);
  auto decoded = isa::decode_program(loaded_form);
  if (!decoded)
    throw CommandError("can't decode the xlated program: " + decoded.status().message());
  const std::vector<isa::Decoded>& d = *decoded;

  std::unique_ptr<struct btf, BtfFree> btf;
  std::unique_ptr<bpf_prog_linfo, LinfoFree> linfo;
  if (p.info.btf_id) {
    btf.reset(btf__load_from_kernel_by_id(p.info.btf_id));
    if (libbpf_get_error(btf.get())) btf.release();
  }
  if (btf && p.info.nr_line_info) {
    linfo.reset(bpf_prog_linfo__new(&p.info));
    if (libbpf_get_error(linfo.get())) linfo.release();
  }
  const uint8_t* rec = p.func_info.empty() ? nullptr : p.func_info.data();
  const uint8_t* rec_end = rec + p.func_info.size();
  uint32_t nr_skip = 0;
  const bool js = output().json;
  JsonWriter& w = json();
  if (js) w.start_array();
  for (size_t pc = 0; pc < p.xlated.size(); pc++) {
    if (d[pc].slots == 0) continue;
    if (js) w.start_object();
    if (btf && rec && rec < rec_end) {
      bpf_func_info fi;
      std::memcpy(&fi, rec, sizeof fi);
      if (fi.insn_off == pc) {
        const std::string sig = btf_type_signature(btf.get(), fi.type_id);
        if (!sig.empty()) {
          if (js)
            w.string_field("proto", sig);
          else
            std::printf("%s:\n", sig.c_str());
        }
        rec += p.info.func_info_rec_size;
      }
    }
    if (linfo) {
      if (const bpf_line_info* l = bpf_prog_linfo__lfind(linfo.get(), uint32_t(pc), nr_skip)) {
        const char* line = btf__name_by_offset(btf.get(), l->line_off);
        const char* file = btf__name_by_offset(btf.get(), l->file_name_off);
        if (line) {
          while (*line == ' ' || *line == '\t' || *line == '\n') line++;
          if (js) {
            w.string_field("src", line);
            if (linum) {
              if (file) w.string_field("file", file);
              if (BPF_LINE_INFO_LINE_NUM(l->line_col))
                w.int_field("line_num", BPF_LINE_INFO_LINE_NUM(l->line_col));
              if (BPF_LINE_INFO_LINE_COL(l->line_col))
                w.int_field("line_col", BPF_LINE_INFO_LINE_COL(l->line_col));
            }
          } else if (linum) {
            std::printf("; %s [file:%s line_num:%u line_col:%u]\n", line, file ? file : "",
                        BPF_LINE_INFO_LINE_NUM(l->line_col), BPF_LINE_INFO_LINE_COL(l->line_col));
          } else {
            std::printf("; %s\n", line);
          }
        }
        nr_skip++;
      }
    }
    const bpf_insn& in = p.xlated[pc];
    const bool dbl = d[pc].slots == 2 && pc + 1 < p.xlated.size();
    char code[8];
    std::snprintf(code, sizeof code, "(%02x) ", in.code);
    const std::string text = code + insn_text(p, btf.get(), d, pc);
    if (js) {
      w.string_field("disasm", text);
      if (opcodes) {
        char b[16];
        w.name("opcodes");
        w.start_object();
        std::snprintf(b, sizeof b, "\"0x%02hhx\"", in.code);
        w.name("code"), w.raw(b);
        std::snprintf(b, sizeof b, "\"0x%hhx\"", uint8_t(in.src_reg));
        w.name("src_reg"), w.raw(b);
        std::snprintf(b, sizeof b, "\"0x%hhx\"", uint8_t(in.dst_reg));
        w.name("dst_reg"), w.raw(b);
        w.name("off");
        w.hex_bytes(reinterpret_cast<const uint8_t*>(&in) + 2, 2);
        w.name("imm");
        w.hex_bytes(reinterpret_cast<const uint8_t*>(&in) + 4, dbl ? 12 : 4);
        w.end_object();
      }
      w.end_object();
    } else {
      std::printf("%4zu: %s\n", pc, text.c_str());
      if (opcodes) {
        const auto* b = reinterpret_cast<const uint8_t*>(&in);
        std::printf("       %s", hex(b, 8, " ").c_str());
        if (dbl) std::printf(" %s", hex(b + 8, 8, " ").c_str());
        std::printf("\n");
      }
    }
  }
  if (js) w.end_array();
}

void dump_jited(int fd, bool opcodes) {
  const ProgInfo p = get_info(fd, true);
  if (p.jited.empty()) throw CommandError("no instructions returned");
#ifdef BPFBOX_HAVE_CAPSTONE
  csh cs;
  if (cs_open(CS_ARCH_X86, CS_MODE_64, &cs) != CS_ERR_OK)
    throw CommandError("can't initialize capstone");
  cs_option(cs, CS_OPT_SYNTAX, CS_OPT_SYNTAX_ATT);
  cs_insn* insn = cs_malloc(cs);
  const uint8_t* code = p.jited.data();
  size_t size = p.jited.size();
  uint64_t addr = 0;
  const bool js = output().json;
  JsonWriter& w = json();
  if (js) w.start_array();
  char line[256];
  while (size > 0) {
    const uint64_t at = addr;
    std::string op;
    std::vector<uint8_t> bytes;
    if (cs_disasm_iter(cs, &code, &size, &addr, insn)) {
      std::snprintf(line, sizeof line, "%-6s %s", insn->mnemonic, insn->op_str);
      op = line;
      bytes.assign(insn->bytes, insn->bytes + insn->size);
    } else {
      op = "(bad)";
      bytes.push_back(*code);
      ++code, --size, ++addr;
    }
    while (!op.empty() && op.back() == ' ') op.pop_back();
    if (js) {
      w.start_object();
      w.string_field(
          "pc", "0x" + [&] {
            char b[24];
            std::snprintf(b, sizeof b, "%" PRIx64, at);
            return std::string(b);
          }());
      w.string_field("operation", op);
      if (opcodes) {
        w.name("opcodes");
        w.hex_bytes(bytes.data(), bytes.size());
      }
      w.end_object();
    } else {
      std::printf("%4" PRIx64 ":\t%s\n", at, op.c_str());
      if (opcodes) std::printf("\t%s\n", hex(bytes.data(), bytes.size(), " ").c_str());
    }
  }
  if (js) w.end_array();
  cs_free(insn, 1);
  cs_close(&cs);
#else
  (void)opcodes;
  throw CommandError("bpfbox was built without capstone (libcapstone-dev): no disassembler");
#endif
}

void prog_dump(Args& a) {
  if (a.empty()) throw CommandError("expected 'xlated' or 'jited'");
  const std::string what = a.next();
  const bool jited = what == "jited";
  if (!jited && what != "xlated") throw CommandError("expected 'xlated' or 'jited', got: " + what);
  Fd fd = parse_fd(a, Kind::Prog);
  bool opcodes = false, linum = false;
  while (!a.empty()) {
    if (a.take("opcodes"))
      opcodes = true;
    else if (a.take("linum"))
      linum = true;
    else if (a.take("visual"))
      throw CommandError("'visual' (the CFG as DOT) is not supported by bpfbox");
    else if (a.take("file"))
      throw CommandError("'file' is not supported by bpfbox");
    else
      a.expect_end();
  }
  if (jited)
    dump_jited(fd.get(), opcodes);
  else
    dump_xlated(fd.get(), opcodes, linum);
}

void prog_pin(Args& a) {
  Fd fd = parse_fd(a, Kind::Prog);
  const std::string path = a.next();
  a.expect_end();
  pin_fd(fd.get(), path);
  if (output().json) json().null();
}

}  // namespace

bool run_prog_show_command(const std::string& cmd, Args& a) {
  if (cmd == "show" || cmd == "list") return prog_show(a), true;
  if (cmd == "dump") return prog_dump(a), true;
  if (cmd == "pin") return prog_pin(a), true;
  return false;
}

}  // namespace bpfbox::cli
