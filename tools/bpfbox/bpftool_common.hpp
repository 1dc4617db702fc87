// What bpftool's commands share, for `bpfbox prog|map|btf`: the output mode (-j, -p), the words
// after the command (bpftool takes any prefix of a keyword: "pin" for "pinned"), naming objects
// (`id N`, `pinned PATH`, `tag T`, `name N`), pinning, and fdinfo's fields. libbpf makes the bpf()
// calls; the shim in this binary serves them from bpfbox.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "json_writer.hpp"

namespace bpfbox::cli {

// -j / -p, set once by main. json() is the writer for the command's document (stdout).
struct Output {
  bool json = false;
  bool pretty = false;
  bool bpffs = false;  // -f: show the pinned paths
};
Output& output();
JsonWriter& json();
// A failed command's message: one line on stderr ("bpfbox: ..."), or under -j/-p bpftool's
// {"error":"..."} on stdout (its p_err), ending the JSON document.
void print_error(const std::string& message);

// The words after "prog"/"map"/"btf", consumed from the front.
class Args {
 public:
  explicit Args(std::vector<std::string> v, size_t from = 0) : v_(std::move(v)), i_(from) {}
  bool empty() const { return i_ >= v_.size(); }
  size_t size() const { return v_.size() - i_; }
  const std::string& peek() const;
  std::string next();  // CommandError when none is left
  // The next word is a prefix of `keyword` (bpftool's is_prefix); consumed when true.
  bool take(const char* keyword);
  uint32_t next_u32(const char* what);
  void expect_end() const;

 private:
  std::vector<std::string> v_;
  size_t i_;
};

// An fd closed with its owner.
class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  Fd(Fd&& o) noexcept : fd_(o.release()) {}
  Fd& operator=(Fd&& o) noexcept;
  ~Fd();
  int get() const { return fd_; }
  int release() {
    int f = fd_;
    fd_ = -1;
    return f;
  }

 private:
  int fd_ = -1;
};

std::string errno_text(int err);

// A /sys/fs/bpf/... path as the pin tree's own path (the runtime dir's fs/).
std::string tree_path(const std::string& path);
// BPF_OBJ_PIN at `path`, its directories made in the pin tree first.
void pin_fd(int fd, const std::string& path);

enum class Kind { Prog, Map, Link };
// `id N | pinned PATH | tag T | name N` (prog), `id N | pinned PATH | name N` (map) or `id N |
// pinned PATH` (link): every matching object's fd (name and tag may match several). CommandError
// when none does.
std::vector<Fd> parse_fds(Args& a, Kind kind);
Fd parse_fd(Args& a, Kind kind);
// `show` for progs, maps and links: the objects the arguments name, else every live one by id (in a
// JSON array under -j/-p), each printed by `show_one`.
void show_objects(Args& a, Kind kind, void (*show_one)(int fd));

// -f/--bpffs (bpftool's build_pinned_obj_table): the pins of the object behind fd, as
// /sys/fs/bpf/... paths in order. nullopt without -f, or when no object of `kind` is pinned at
// all (bpftool then prints no "pinned" key); an empty list for an unpinned object otherwise.
std::optional<std::vector<std::string>> pinned_paths(int fd, Kind kind);
// Its text lines ("\n\tpinned PATH" each) and its JSON key ("pinned": [...]).
void print_pinned_plain(int fd, Kind kind);
void print_pinned_json(int fd, Kind kind);

// Bytes as bpftool's fprint_hex prints them: "00 01 ff" (sep " ") or "0001ff" (sep ""), two
// spaces after every 8 bytes and a newline after every 16.
std::string hex(const uint8_t* data, size_t n, const char* sep);
// bpf_prog_info.load_time (CLOCK_BOOTTIME ns) as wall-clock seconds, and as bpftool prints it
// ("2026-11-30T17:02:48+0000").
int64_t boot_time_epoch(uint64_t boot_ns);
std::string boot_time_text(uint64_t boot_ns);

// A field of the object's /proc/self/fdinfo text ("memlock", "frozen"), as the shim serves it.
std::optional<std::string> fdinfo_field(int fd, const char* key);

// libbpf's names ("xdp", "hash"), or empty.
std::string prog_type_name(uint32_t type);
std::string map_type_name(uint32_t type);

}  // namespace bpfbox::cli
