// Reading and writing pcap captures (libpcap), apart from the bpf code: <pcap/pcap.h> defines
// classic BPF's struct bpf_insn, which <linux/bpf.h> defines too.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

namespace bpfbox::cli {

struct PcapPacket {
  int64_t ts_sec = 0;
  int64_t ts_usec = 0;
  uint32_t caplen = 0;  // bytes captured, at data
  uint32_t len = 0;     // bytes on the wire
  const uint8_t* data = nullptr;
};

class PcapReader {
 public:
  explicit PcapReader(const std::string& path);  // CommandError when unreadable
  ~PcapReader();
  // The next packet (valid until the next call); false at the end. CommandError on a bad file.
  bool next(PcapPacket& p);
  int linktype() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

class PcapWriter {
 public:
  PcapWriter(const std::string& path, int linktype);  // CommandError when unwritable
  ~PcapWriter();
  void write(const PcapPacket& p);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace bpfbox::cli
