// `bpfbox link show|list|pin|detach`: bpftool's link commands (its 6.1 text and JSON) for the links
// bpfbox has, XDP links on its virtual interfaces. LINK is `id N` or `pinned PATH`.
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>

#include "bpftool_common.hpp"
#include "command_error.hpp"
#include "commands.hpp"

namespace bpfbox::cli {

namespace {

// "ID: TYPE  prog ID  " (the type's number when libbpf has no name), then -f's pins: bpftool 7.1
// shows nothing more of an XDP link.
void show_link(int fd) {
  bpf_link_info info;
  std::memset(&info, 0, sizeof info);
  uint32_t len = sizeof info;
  if (bpf_obj_get_info_by_fd(fd, &info, &len) != 0)
    throw CommandError("can't get link info: " + errno_text(errno));
  const char* type = libbpf_bpf_link_type_str(bpf_link_type(info.type));
  if (output().json) {
    JsonWriter& w = json();
    w.start_object();
    w.uint_field("id", info.id);
    if (type)
      w.string_field("type", type);
    else
      w.uint_field("type", info.type);
    w.uint_field("prog_id", info.prog_id);
    print_pinned_json(fd, Kind::Link);
    w.end_object();
    return;
  }
  std::printf("%u: ", info.id);
  if (type)
    std::printf("%s  ", type);
  else
    std::printf("type %u  ", info.type);
  std::printf("prog %u  ", info.prog_id);
  print_pinned_plain(fd, Kind::Link);
  std::printf("\n");
}

}  // namespace

void run_link(const std::vector<std::string>& args) {
  if (args.empty()) throw CommandError("usage: link {show | list | pin | detach} ...");
  Args a(args);
  if (a.take("show") || a.take("list")) {
    // bpftool's do_show takes LINK (two words) or nothing.
    if (!a.empty() && a.size() != 2) throw CommandError("what is '" + a.peek() + "'?");
    return show_objects(a, Kind::Link, show_link);
  }
  if (a.take("pin")) {
    Fd fd = parse_fd(a, Kind::Link);
    const std::string path = a.next();
    a.expect_end();
    pin_fd(fd.get(), path);
  } else if (a.take("detach")) {
    Fd fd = parse_fd(a, Kind::Link);
    a.expect_end();
    if (bpf_link_detach(fd.get()) != 0)
      throw CommandError("failed link detach: " + errno_text(errno), bpftool_errno_status(errno));
  } else {
    throw CommandError("what is '" + args[0] + "'?");
  }
  if (output().json) json().null();
}

}  // namespace bpfbox::cli
