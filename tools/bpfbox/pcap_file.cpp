#include "pcap_file.hpp"

#include <pcap/pcap.h>

#include "command_error.hpp"

namespace bpfbox::cli {

struct PcapReader::Impl {
  pcap_t* p = nullptr;
  std::string path;
};

PcapReader::PcapReader(const std::string& path) : impl_(std::make_unique<Impl>()) {
  char err[PCAP_ERRBUF_SIZE] = "";
  impl_->path = path;
  impl_->p = pcap_open_offline(path.c_str(), err);
  if (!impl_->p) throw CommandError("can't read " + path + ": " + err);
}

PcapReader::~PcapReader() {
  if (impl_->p) pcap_close(impl_->p);
}

bool PcapReader::next(PcapPacket& out) {
  pcap_pkthdr* h = nullptr;
  const u_char* d = nullptr;
  const int rc = pcap_next_ex(impl_->p, &h, &d);
  if (rc == 1) {
    out.ts_sec = h->ts.tv_sec;
    out.ts_usec = h->ts.tv_usec;
    out.caplen = h->caplen;
    out.len = h->len;
    out.data = d;
    return true;
  }
  if (rc == PCAP_ERROR_BREAK) return false;
  throw CommandError("reading " + impl_->path + ": " + pcap_geterr(impl_->p));
}

int PcapReader::linktype() const {
  return pcap_datalink(impl_->p);
}

struct PcapWriter::Impl {
  pcap_t* dead = nullptr;
  pcap_dumper_t* dump = nullptr;
};

PcapWriter::PcapWriter(const std::string& path, int linktype) : impl_(std::make_unique<Impl>()) {
  impl_->dead = pcap_open_dead(linktype, 65535);
  if (!impl_->dead) throw CommandError("can't write " + path);
  impl_->dump = pcap_dump_open(impl_->dead, path.c_str());
  if (!impl_->dump) {
    const std::string why = pcap_geterr(impl_->dead);
    pcap_close(impl_->dead);
    impl_->dead = nullptr;
    throw CommandError("can't write " + path + ": " + why);
  }
}

PcapWriter::~PcapWriter() {
  if (impl_->dump) pcap_dump_close(impl_->dump);
  if (impl_->dead) pcap_close(impl_->dead);
}

void PcapWriter::write(const PcapPacket& p) {
  pcap_pkthdr h{};
  h.ts.tv_sec = p.ts_sec;
  h.ts.tv_usec = p.ts_usec;
  h.caplen = p.caplen;
  h.len = p.len;
  pcap_dump(reinterpret_cast<u_char*>(impl_->dump), &h, p.data);
}

}  // namespace bpfbox::cli
