// bpf links (BPF_LINK_CREATE and friends) for the attach points bpfbox has: XDP on the virtual
// interfaces of its ifindex table (netdev.hpp). A link is a file like the other objects (magic
// "BFBOXLNK"), whose header holds what every process must see: type, id, the program's id, the
// interface (0 once detached). The process that made or adopted it holds the program.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include <linux/bpf.h>

#include "bpfbox/status.hpp"

namespace bpfbox::sys {

struct Prog;

constexpr char kLinkMagic[8] = {'B', 'F', 'B', 'O', 'X', 'L', 'N', 'K'};

struct LinkFileHeader {
  char magic[8];
  uint32_t version;
  uint32_t type;  // enum bpf_link_type
  uint32_t id;
  uint32_t prog_id;
  uint32_t attach_type;
  uint32_t ifindex;  // 0 once detached (as the kernel's xdp link after LINK_DETACH)
  uint32_t flags;    // link_create.flags
  uint8_t prog_tag[BPF_TAG_SIZE];
};

struct Link {
  int fd = -1;                 // the process's own fd on the link's file
  std::shared_ptr<Prog> prog;  // held while the link lives in this process
  ~Link();
  // The header as the file has it now (another process may have updated or detached it).
  Result<LinkFileHeader> header() const;
  Status write_header(const LinkFileHeader& h) const;
};

// A link from its file (another process's, a pin).
Result<std::shared_ptr<Link>> read_link_file(int fd);
// Links the program's file (and what the program holds) under the link's holds directory
// (ids/holds/link-<id>/, pin.cpp), replacing the previous program's, so the program lives as long
// as the link does in any process, as the kernel's link->prog, also after LINK_UPDATE.
void hold_link_program(uint32_t link_id, const Prog& p);
// The fdinfo lines after fs/proc/fd.c's (bpf_link_show_fdinfo and the xdp link's ifindex).
Status link_fdinfo(const Link& l, uint32_t id, std::string& out);

}  // namespace bpfbox::sys
