#include "bpftool_common.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>

#include "bpfbox/bpf.h"
#include "command_error.hpp"
#include "commands.hpp"
#include "shim/fdinfo.hpp"
#include "shim/object_kind.hpp"

namespace bpfbox::cli {

namespace fs = std::filesystem;

Output& output() {
  static Output o;
  return o;
}

JsonWriter& json() {
  static JsonWriter w(stdout, output().pretty);
  return w;
}

void print_error(const std::string& message) {
  if (!output().json) {
    std::fprintf(stderr, "bpfbox: %s\n", message.c_str());
    return;
  }
  JsonWriter& w = json();
  w.start_object();
  w.string_field("error", message);
  w.end_object();
  w.finish();
}

const std::string& Args::peek() const {
  if (empty()) throw CommandError("expected more arguments");
  return v_[i_];
}

std::string Args::next() {
  const std::string& s = peek();
  i_++;
  return s;
}

bool Args::take(const char* keyword) {
  if (empty() || v_[i_].empty()) return false;
  if (std::strncmp(v_[i_].c_str(), keyword, v_[i_].size()) != 0 ||
      v_[i_].size() > std::strlen(keyword))
    return false;
  i_++;
  return true;
}

uint32_t Args::next_u32(const char* what) {
  const std::string s = next();
  char* end = nullptr;
  errno = 0;
  const unsigned long v = std::strtoul(s.c_str(), &end, 0);
  if (s.empty() || *end || errno || v > UINT32_MAX)
    throw CommandError(std::string("can't parse ") + what + " as u32: " + s);
  return uint32_t(v);
}

void Args::expect_end() const {
  if (!empty()) throw CommandError("too many arguments, unexpected: '" + v_[i_] + "'");
}

Fd& Fd::operator=(Fd&& o) noexcept {
  if (this != &o) {
    if (fd_ >= 0) close(fd_);
    fd_ = o.release();
  }
  return *this;
}

Fd::~Fd() {
  if (fd_ >= 0) close(fd_);
}

std::vector<std::string> take_output_options(std::vector<std::string> args) {
  std::vector<std::string> out;
  for (auto& a : args) {
    if (a == "-j" || a == "--json") {
      output().json = true;
    } else if (a == "-p" || a == "--pretty") {
      output().json = output().pretty = true;
    } else if (a == "-f" || a == "--bpffs") {
      output().bpffs = true;
    } else {
      out.push_back(std::move(a));
    }
  }
  return out;
}

void finish_output() {
  if (output().json) json().finish();
}

std::string errno_text(int err) {
  return std::strerror(err < 0 ? -err : err);
}

std::string tree_path(const std::string& p) {
  static constexpr char kBpffs[] = "/sys/fs/bpf";
  const size_t n = sizeof kBpffs - 1;
  if (p.compare(0, n, kBpffs) == 0 && (p.size() == n || p[n] == '/'))
    return std::string(bpfbox_runtime_dir()) + "/fs" + p.substr(n);
  return p;
}

void pin_fd(int fd, const std::string& path) {
  const std::string t = tree_path(path);
  const size_t slash = t.find_last_of('/');
  if (slash != std::string::npos && slash > 0)
    for (size_t i = 1; i <= slash; i++)
      if (i == slash || t[i] == '/') mkdir(t.substr(0, i).c_str(), 0700);
  if (bpf_obj_pin(fd, path.c_str()) != 0) {
    const int e = errno;
    const std::string why = bpfbox_bpf_last_error();
    throw CommandError("can't pin the object (" + path + "): " + errno_text(e) +
                       (why.empty() ? "" : " (" + why + ")"));
  }
}

namespace {

bool info_of(int fd, Kind kind, bpf_prog_info& p, bpf_map_info& m) {
  uint32_t len = kind == Kind::Prog ? sizeof p : sizeof m;
  std::memset(&p, 0, sizeof p);
  std::memset(&m, 0, sizeof m);
  return bpf_obj_get_info_by_fd(fd, kind == Kind::Prog ? static_cast<void*>(&p) : &m, &len) == 0;
}

const char* kind_word(Kind k) {
  return k == Kind::Prog ? "prog" : k == Kind::Map ? "map" : "link";
}

shim::FdKind fd_kind_of(Kind k) {
  return k == Kind::Prog  ? shim::FdKind::Prog
         : k == Kind::Map ? shim::FdKind::Map
                          : shim::FdKind::Link;
}

int get_next_id(Kind kind, uint32_t id, uint32_t* next) {
  if (kind == Kind::Prog) return bpf_prog_get_next_id(id, next);
  if (kind == Kind::Map) return bpf_map_get_next_id(id, next);
  return bpf_link_get_next_id(id, next);
}

int get_fd_by_id(Kind kind, uint32_t id) {
  if (kind == Kind::Prog) return bpf_prog_get_fd_by_id(id);
  if (kind == Kind::Map) return bpf_map_get_fd_by_id(id);
  return bpf_link_get_fd_by_id(id);
}

// Every live object whose info matches.
template <class Match>
std::vector<Fd> scan(Kind kind, Match match) {
  std::vector<Fd> out;
  uint32_t id = 0;
  for (;;) {
    const int err = get_next_id(kind, id, &id);
    if (err) break;
    Fd fd(get_fd_by_id(kind, id));
    if (fd.get() < 0) continue;  // gone meanwhile
    bpf_prog_info p;
    bpf_map_info m;
    if (info_of(fd.get(), kind, p, m) && match(p, m)) out.push_back(std::move(fd));
  }
  return out;
}

}  // namespace

std::vector<Fd> parse_fds(Args& a, Kind kind) {
  const char* k = kind_word(kind);
  if (a.empty()) throw CommandError(std::string("expected ") + k + " specifier");
  std::vector<Fd> out;
  if (a.take("id")) {
    const uint32_t id = a.next_u32("id");
    Fd fd(get_fd_by_id(kind, id));
    if (fd.get() < 0 && kind == Kind::Link)  // bpftool's link_parse_fd returns libbpf's -errno
      throw CommandError(
          "failed to get link with ID " + std::to_string(id) + ": " + errno_text(errno),
          bpftool_errno_status(errno));
    if (fd.get() < 0)
      throw CommandError((kind == Kind::Prog ? "get by id (" : "get map by id (") +
                         std::to_string(id) + "): " + errno_text(errno));
    out.push_back(std::move(fd));
  } else if (a.take("pinned")) {
    const std::string path = a.next();
    Fd fd(bpf_obj_get(path.c_str()));
    if (fd.get() < 0) throw CommandError("bpf obj get (" + path + "): " + errno_text(errno));
    const shim::FdKind fk = shim::fd_kind(fd.get());
    if (fk != fd_kind_of(kind)) {
      static const char* const names[] = {"unknown", "map", "prog", "btf", "link"};
      throw CommandError(std::string("incorrect object type: ") + names[int(fk)]);
    }
    out.push_back(std::move(fd));
  } else if (kind == Kind::Prog && a.take("tag")) {
    const std::string tag = a.next();
    uint8_t want[BPF_TAG_SIZE];
    if (tag.size() != 2 * BPF_TAG_SIZE ||
        std::sscanf(tag.c_str(), "%2hhx%2hhx%2hhx%2hhx%2hhx%2hhx%2hhx%2hhx", &want[0], &want[1],
                    &want[2], &want[3], &want[4], &want[5], &want[6], &want[7]) != BPF_TAG_SIZE)
      throw CommandError("can't parse tag");
    out = scan(kind, [&](const bpf_prog_info& p, const bpf_map_info&) {
      return std::memcmp(p.tag, want, BPF_TAG_SIZE) == 0;
    });
    if (out.empty()) throw CommandError("can't find any " + std::string(k) + " with tag " + tag);
  } else if (a.take("name")) {
    const std::string name = a.next();
    if (name.size() > BPF_OBJ_NAME_LEN - 1) throw CommandError(std::string("can't parse name"));
    out = scan(kind, [&](const bpf_prog_info& p, const bpf_map_info& m) {
      return name == (kind == Kind::Prog ? p.name : m.name);
    });
    if (out.empty()) throw CommandError("can't find any " + std::string(k) + " with name " + name);
  } else if (kind == Kind::Link) {
    throw CommandError("expected 'id' or 'pinned', got: '" + a.peek() + "'?");
  } else {
    throw CommandError(std::string("expected 'id', ") + (kind == Kind::Prog ? "'tag', " : "") +
                       "'name' or 'pinned', got: '" + a.peek() + "'?");
  }
  return out;
}

void show_objects(Args& a, Kind kind, void (*show_one)(int fd)) {
  if (!a.empty()) {
    std::vector<Fd> fds = parse_fds(a, kind);
    a.expect_end();
    const bool many = output().json && fds.size() > 1;
    if (many) json().start_array();
    for (const Fd& fd : fds) show_one(fd.get());
    if (many) json().end_array();
    return;
  }
  if (output().json) json().start_array();
  uint32_t id = 0;
  while (get_next_id(kind, id, &id) == 0) {
    Fd fd(get_fd_by_id(kind, id));
    if (fd.get() < 0) {
      if (errno == ENOENT) continue;  // gone between the two calls
      throw CommandError(std::string("can't get ") + kind_word(kind) + " by id (" +
                         std::to_string(id) + "): " + errno_text(errno));
    }
    show_one(fd.get());
  }
  if (output().json) json().end_array();
}

namespace {

struct Pin {
  dev_t dev;
  ino_t ino;
  std::string path;  // /sys/fs/bpf/...
};

// Every pin of `kind` in the pin tree, by path, read once per command. A pin is a hard link of
// the object's file, so it names the object by inode, and the file's magic says its kind: no
// bpf() call per pin (bpftool's OBJ_GET of each would adopt every pinned object here).
const std::vector<Pin>& pins_of(Kind kind) {
  static std::vector<Pin> pins[3];
  static bool read[3];
  const int k = int(kind);
  if (read[k]) return pins[k];
  read[k] = true;
  const fs::path root = tree_path("/sys/fs/bpf");
  std::error_code ec;
  for (fs::recursive_directory_iterator it(root, fs::directory_options::skip_permission_denied, ec),
       end;
       !ec && it != end; it.increment(ec)) {
    struct stat st {};
    if (lstat(it->path().c_str(), &st) != 0 || !S_ISREG(st.st_mode)) continue;
    char magic[8] = {};
    std::ifstream f(it->path(), std::ios::binary);
    if (!f.read(magic, sizeof magic)) continue;
    const shim::FdKind fk = shim::kind_of_magic(magic);
    if (fk != fd_kind_of(kind)) continue;
    pins[k].push_back(
        {st.st_dev, st.st_ino, "/sys/fs/bpf/" + it->path().lexically_relative(root).string()});
  }
  std::sort(pins[k].begin(), pins[k].end(),
            [](const Pin& a, const Pin& b) { return a.path < b.path; });
  return pins[k];
}

}  // namespace

std::optional<std::vector<std::string>> pinned_paths(int fd, Kind kind) {
  if (!output().bpffs) return std::nullopt;
  const std::vector<Pin>& pins = pins_of(kind);
  if (pins.empty()) return std::nullopt;
  std::vector<std::string> out;
  struct stat st {};
  if (fstat(fd, &st) == 0)
    for (const Pin& p : pins)
      if (p.dev == st.st_dev && p.ino == st.st_ino) out.push_back(p.path);
  return out;
}

void print_pinned_plain(int fd, Kind kind) {
  if (auto paths = pinned_paths(fd, kind))
    for (const std::string& p : *paths) std::printf("\n\tpinned %s", p.c_str());
}

void print_pinned_json(int fd, Kind kind) {
  auto paths = pinned_paths(fd, kind);
  if (!paths) return;
  JsonWriter& w = json();
  w.name("pinned");
  w.start_array();
  for (const std::string& p : *paths) w.string(p);
  w.end_array();
}

Fd parse_fd(Args& a, Kind kind) {
  std::vector<Fd> fds = parse_fds(a, kind);
  if (fds.size() > 1)
    throw CommandError(std::string("several ") + kind_word(kind) + "s match this handle");
  return std::move(fds[0]);
}

std::string hex(const uint8_t* data, size_t n, const char* sep) {
  std::string s;
  char b[4];
  for (size_t i = 0; i < n; i++) {
    if (i && i % 16 == 0)
      s += '\n';
    else if (i && i % 8 == 0)
      s += "  ";
    else if (i)
      s += sep;
    std::snprintf(b, sizeof b, "%02hhx", data[i]);
    s += b;
  }
  return s;
}

int64_t boot_time_epoch(uint64_t boot_ns) {
  timespec real{}, boot{};
  clock_gettime(CLOCK_REALTIME, &real);
  clock_gettime(CLOCK_BOOTTIME, &boot);
  return real.tv_sec - boot.tv_sec + int64_t(boot_ns / 1000000000ull);
}

std::string boot_time_text(uint64_t boot_ns) {
  const time_t t = time_t(boot_time_epoch(boot_ns));
  tm local{};
  char buf[64] = "";
  if (localtime_r(&t, &local)) std::strftime(buf, sizeof buf, "%FT%T%z", &local);
  return buf;
}

std::optional<std::string> fdinfo_field(int fd, const char* key) {
  const shim::FdKind fk = shim::fd_kind(fd);
  if (fk == shim::FdKind::None) return std::nullopt;
  const std::string text = shim::fdinfo_text(fd, fk);
  const std::string k = std::string(key) + ":";
  for (size_t pos = 0; pos < text.size();) {
    const size_t eol = text.find('\n', pos);
    const std::string line =
        text.substr(pos, eol == std::string::npos ? std::string::npos : eol - pos);
    if (line.compare(0, k.size(), k) == 0) {
      size_t v = k.size();
      while (v < line.size() && (line[v] == ' ' || line[v] == '\t')) v++;
      return line.substr(v);
    }
    if (eol == std::string::npos) break;
    pos = eol + 1;
  }
  return std::nullopt;
}

std::string prog_type_name(uint32_t type) {
  const char* s = libbpf_bpf_prog_type_str(bpf_prog_type(type));
  return s ? s : "";
}

std::string map_type_name(uint32_t type) {
  const char* s = libbpf_bpf_map_type_str(bpf_map_type(type));
  return s ? s : "";
}

}  // namespace bpfbox::cli
