// `bpfbox prog load|loadall|run` and the dispatch of every `prog` command: bpftool's grammar and
// output, with libbpf as the loader. libbpf opens the ELF object, relocates it and makes its bpf()
// calls, which the shim linked into this binary (src/shim) hands to bpfbox_bpf(): nothing reaches
// the kernel.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include <cerrno>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <iterator>
#include <memory>
#include <string>
#include <vector>

#include "bpfbox/bpf.h"
#include "command_error.hpp"
#include "commands.hpp"
#include "prog_commands.hpp"

namespace bpfbox::cli {

namespace {

constexpr uint32_t kDefaultOutSize = 32 * 1024;  // bpftool's default data/ctx_size_out

// libbpf's warnings (the verifier log of a refused load among them) go to stderr; its info and
// debug lines too when BPFBOX_LIBBPF_DEBUG is set (bpftool's -d).
int print_warnings(enum libbpf_print_level level, const char* fmt, va_list ap) {
  static const bool debug = std::getenv("BPFBOX_LIBBPF_DEBUG") != nullptr;
  if (level != LIBBPF_WARN && !debug) return 0;
  return std::vfprintf(stderr, fmt, ap);
}

struct ObjectCloser {
  void operator()(bpf_object* o) const { bpf_object__close(o); }
};
using ObjectPtr = std::unique_ptr<bpf_object, ObjectCloser>;

ObjectPtr open_and_load(const std::string& path, const std::string& type) {
  libbpf_set_print(print_warnings);
  ObjectPtr obj(bpf_object__open_file(path.c_str(), nullptr));
  if (!obj) throw CommandError("failed to open object file " + path + ": " + errno_text(errno));
  if (!type.empty()) {
    bpf_prog_type pt{};
    bpf_attach_type at{};
    if (libbpf_prog_type_by_name(type.c_str(), &pt, &at) != 0)
      throw CommandError("unknown program type '" + type + "'");
    bpf_program* p = nullptr;
    bpf_object__for_each_program(p, obj.get()) {
      bpf_program__set_type(p, pt);
      bpf_program__set_expected_attach_type(p, at);
    }
  }
  if (int err = bpf_object__load(obj.get()); err != 0) {
    std::string why = bpfbox_bpf_last_error();
    throw CommandError("failed to load object file " + path + ": " + errno_text(err) +
                       (why.empty() ? "" : " (" + why + ")"));
  }
  return obj;
}

std::vector<uint8_t> read_input(const std::string& path) {
  std::vector<uint8_t> out;
  if (path == "-") {
    out.assign(std::istreambuf_iterator<char>(std::cin), {});
    return out;
  }
  std::ifstream f(path, std::ios::binary);
  if (!f) throw CommandError("failed to open " + path + ": " + errno_text(errno));
  out.assign(std::istreambuf_iterator<char>(f), {});
  return out;
}

void write_output(const std::string& path, const uint8_t* data, size_t n) {
  FILE* f = path == "-" ? stdout : std::fopen(path.c_str(), "wb");
  if (!f) throw CommandError("failed to open " + path + ": " + errno_text(errno));
  const size_t w = std::fwrite(data, 1, n, f);
  if (f != stdout) std::fclose(f);
  if (w != n) throw CommandError("failed to write " + path);
}

bool is_elf(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  char m[4] = {};
  return f.read(m, 4) && std::memcmp(m,
                                     "\x7f"
                                     "ELF",
                                     4) == 0;
}

// Keyword arguments, bpftool style: "KEY VALUE" pairs after the positional ones.
struct Keywords {
  std::vector<std::pair<std::string, std::string>> kv;
  const std::string* get(const std::string& k) const {
    for (const auto& [key, v] : kv)
      if (key == k) return &v;
    return nullptr;
  }
};

Keywords parse_keywords(const std::vector<std::string>& a, size_t from,
                        const std::vector<std::string>& allowed) {
  Keywords out;
  for (size_t i = from; i < a.size(); i += 2) {
    bool ok = false;
    for (const auto& k : allowed) ok |= a[i] == k;
    if (!ok) {
      std::string list;
      for (const auto& k : allowed) list += (list.empty() ? "'" : ", '") + k + "'";
      throw CommandError("expected no more arguments, " + list + ", got: '" + a[i] + "'?");
    }
    if (i + 1 >= a.size()) throw CommandError(a[i] + " requires an argument");
    out.kv.emplace_back(a[i], a[i + 1]);
  }
  return out;
}

void prog_load(const std::vector<std::string>& a, bool all) {
  if (a.size() < 3)
    throw CommandError(std::string("usage: prog ") + (all ? "loadall" : "load") +
                       " OBJ PATH [type TYPE] [pinmaps DIR]");
  const Keywords kw = parse_keywords(a, 3, {"type", "pinmaps"});
  const std::string* type = kw.get("type");
  ObjectPtr obj = open_and_load(a[1], type ? *type : "");
  // libbpf pins as bpftool has it do (names, '.' made '_'); the shim shows it the pin tree at
  // /sys/fs/bpf (statfs, mkdir, unlink).
  if (all) {
    if (int err = bpf_object__pin_programs(obj.get(), a[2].c_str()); err != 0)
      throw CommandError("failed to pin all programs: " + errno_text(err));
  } else {
    bpf_program* p = bpf_object__next_program(obj.get(), nullptr);
    if (!p) throw CommandError("object file doesn't contain any bpf program");
    pin_fd(bpf_program__fd(p), a[2]);
  }
  if (const std::string* dir = kw.get("pinmaps"))
    if (int err = bpf_object__pin_maps(obj.get(), dir->c_str()); err != 0)
      throw CommandError("failed to pin all maps: " + errno_text(err));
}

void prog_run(const std::vector<std::string>& a) {
  if (a.size() < 2)
    throw CommandError("usage: prog run {OBJ.o | PINNED | pinned PATH | id ID} ...");
  ObjectPtr obj;
  int fd = -1;
  size_t next = 2;
  if (a[1] == "pinned" || a[1] == "id") {
    if (a.size() < 3) throw CommandError(a[1] + " requires an argument");
    fd = a[1] == "id" ? bpf_prog_get_fd_by_id(uint32_t(std::strtoul(a[2].c_str(), nullptr, 0)))
                      : bpf_obj_get(a[2].c_str());
    if (fd < 0) throw CommandError("can't get the program: " + errno_text(errno));
    next = 3;
  } else if (is_elf(a[1])) {
    obj = open_and_load(a[1], "");
  } else {
    fd = bpf_obj_get(a[1].c_str());
    if (fd < 0) throw CommandError("can't open " + a[1] + ": " + errno_text(errno));
  }
  const Keywords kw =
      parse_keywords(a, next,
                     {"section", "name", "data_in", "data_out", "data_size_out", "ctx_in",
                      "ctx_out", "ctx_size_out", "repeat", "pcap", "out"});
  if (obj) {
    const std::string* sec = kw.get("section");
    const std::string* name = kw.get("name");
    bpf_program* p = nullptr;
    bpf_object__for_each_program(p, obj.get()) {
      if ((!sec || *sec == bpf_program__section_name(p)) &&
          (!name || *name == bpf_program__name(p)))
        break;
    }
    if (!p) throw CommandError("no program matches in " + a[1]);
    fd = bpf_program__fd(p);
  } else if (kw.get("section") || kw.get("name")) {
    throw CommandError("section and name select a program of an object file");
  }
  if (const std::string* pcap = kw.get("pcap")) {
    for (const char* k :
         {"data_in", "data_out", "data_size_out", "ctx_in", "ctx_out", "ctx_size_out", "repeat"})
      if (kw.get(k))
        throw CommandError(std::string("pcap runs every packet: ") + k + " does not apply");
    const std::string* out = kw.get("out");
    run_pcap(fd, *pcap, out ? *out : "");
    if (!obj) close(fd);
    return;
  }
  if (kw.get("out")) throw CommandError("out is the output of a pcap run");
  const std::string* data_in = kw.get("data_in");
  const std::string* ctx_in = kw.get("ctx_in");
  const std::string* data_out = kw.get("data_out");
  const std::string* ctx_out = kw.get("ctx_out");
  auto size_of = [&](const char* k) {
    const std::string* v = kw.get(k);
    return v ? uint32_t(std::strtoul(v->c_str(), nullptr, 0)) : kDefaultOutSize;
  };
  std::vector<uint8_t> din, cin_, dout, cout_;
  if (data_in) din = read_input(*data_in);
  if (ctx_in) cin_ = read_input(*ctx_in);
  if (data_out) dout.resize(size_of("data_size_out"));
  if (ctx_out) cout_.resize(size_of("ctx_size_out"));
  const std::string* repeat = kw.get("repeat");

  LIBBPF_OPTS(bpf_test_run_opts, t);
  t.data_in = din.empty() ? nullptr : din.data();
  t.data_size_in = uint32_t(din.size());
  t.data_out = dout.empty() ? nullptr : dout.data();
  t.data_size_out = uint32_t(dout.size());
  t.ctx_in = cin_.empty() ? nullptr : cin_.data();
  t.ctx_size_in = uint32_t(cin_.size());
  t.ctx_out = cout_.empty() ? nullptr : cout_.data();
  t.ctx_size_out = uint32_t(cout_.size());
  t.repeat = repeat ? int(std::strtol(repeat->c_str(), nullptr, 0)) : 1;
  if (bpf_prog_test_run_opts(fd, &t) != 0) {
    const int err = errno;
    std::string why = bpfbox_bpf_last_error();
    throw CommandError(
        "failed to run program: " + errno_text(err) + (why.empty() ? "" : " (" + why + ")"),
        bpftool_errno_status(err));
  }
  if (data_out) write_output(*data_out, dout.data(), t.data_size_out);
  if (ctx_out) write_output(*ctx_out, cout_.data(), t.ctx_size_out);
  if (output().json) {
    json().start_object();
    json().uint_field("retval", t.retval);
    json().uint_field("duration", t.duration);
    json().end_object();
  } else {
    std::printf("Return value: %u, duration%s: %uns\n", t.retval, t.repeat > 1 ? " (average)" : "",
                t.duration);
  }
  if (!obj) close(fd);
}

}  // namespace

void run_prog(const std::vector<std::string>& args, const std::string& engine) {
  if (!engine.empty()) setenv("BPFBOX_ENGINE", engine.c_str(), 1);
  if (args.empty())
    throw CommandError("usage: prog {show | list | dump | pin | load | loadall | run} ...");
  // bpftool's order: the first command the word is a prefix of ("l" is list).
  for (const char* cmd : {"show", "list", "dump", "pin", "load", "loadall", "run"}) {
    Args probe(args);
    if (!probe.take(cmd)) continue;
    const std::string c = cmd;
    if (c == "load" || c == "loadall" || c == "run") {
      std::vector<std::string> v = args;
      v[0] = c;
      if (c == "run") return prog_run(v);
      return prog_load(v, c == "loadall");
    }
    return (void)run_prog_show_command(c, probe);
  }
  throw CommandError("unknown prog command '" + args[0] +
                     "' (show, list, dump, pin, load, loadall, run)");
}

}  // namespace bpfbox::cli
