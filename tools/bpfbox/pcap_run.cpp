// `bpfbox prog run PROG pcap IN.pcap [out OUT.pcap]`: a packet program over a capture. Each packet
// goes through BPF_PROG_TEST_RUN as the kernel runs it (XDP on an xdp_buff, tc and socket filters
// on an skb); the verdicts are counted by name, and the packets that go on (XDP_PASS, tc's
// TC_ACT_OK/UNSPEC, a socket filter's accepted bytes) are written as the program left them
// (bpf_xdp_adjust_head/tail, a filter's truncation).
#include <bpf/bpf.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "bpfbox/bpf.h"
#include "bpftool_common.hpp"
#include "command_error.hpp"
#include "pcap_file.hpp"
#include "prog_commands.hpp"

namespace bpfbox::cli {

namespace {

constexpr uint32_t kMaxOut = 64 * 1024;  // room for a packet grown by adjust_head/tail

const char* xdp_name(int32_t v) {
  static const char* const names[] = {"XDP_ABORTED", "XDP_DROP", "XDP_PASS", "XDP_TX",
                                      "XDP_REDIRECT"};
  return v >= 0 && v < 5 ? names[v] : nullptr;
}

const char* tc_name(int32_t v) {
  static const char* const names[] = {"TC_ACT_OK",     "TC_ACT_RECLASSIFY", "TC_ACT_SHOT",
                                      "TC_ACT_PIPE",   "TC_ACT_STOLEN",     "TC_ACT_QUEUED",
                                      "TC_ACT_REPEAT", "TC_ACT_REDIRECT",   "TC_ACT_TRAP"};
  if (v == -1) return "TC_ACT_UNSPEC";
  return v >= 0 && v < 9 ? names[v] : nullptr;
}

enum class Family { Xdp, Tc, SocketFilter };

}  // namespace

void run_pcap(int prog_fd, const std::string& in, const std::string& out) {
  bpf_prog_info info{};
  uint32_t len = sizeof info;
  if (bpf_obj_get_info_by_fd(prog_fd, &info, &len) != 0)
    throw CommandError("can't get prog info: " + errno_text(errno));
  Family fam;
  switch (info.type) {
    case BPF_PROG_TYPE_XDP:
      fam = Family::Xdp;
      break;
    case BPF_PROG_TYPE_SCHED_CLS:
    case BPF_PROG_TYPE_SCHED_ACT:
      fam = Family::Tc;
      break;
    case BPF_PROG_TYPE_SOCKET_FILTER:
      fam = Family::SocketFilter;
      break;
    default:
      throw CommandError(
          "pcap runs packet programs (xdp, sched_cls, sched_act, socket_filter), not " +
          prog_type_name(info.type));
  }

  PcapReader cap(in);
  std::unique_ptr<PcapWriter> dump;
  if (!out.empty()) dump = std::make_unique<PcapWriter>(out, cap.linktype());

  std::map<int64_t, uint64_t> verdicts;  // by return value, printed in order
  uint64_t packets = 0, bytes = 0, written = 0, accepted_bytes = 0, failed = 0;
  std::vector<uint8_t> data_out(kMaxOut);
  PcapPacket pkt;
  while (cap.next(pkt)) {
    packets++;
    bytes += pkt.caplen;
    LIBBPF_OPTS(bpf_test_run_opts, t);
    t.data_in = pkt.data;
    t.data_size_in = pkt.caplen;
    t.data_out = data_out.data();
    t.data_size_out = kMaxOut;
    t.repeat = 1;
    if (bpf_prog_test_run_opts(prog_fd, &t) != 0) {
      // A packet the program type cannot take (shorter than an Ethernet header, say): counted,
      // and the first one explained.
      if (failed++ == 0)
        std::fprintf(stderr, "bpfbox: packet %llu: BPF_PROG_TEST_RUN: %s (%s)\n",
                     (unsigned long long)packets, errno_text(errno).c_str(),
                     bpfbox_bpf_last_error());
      continue;
    }
    const int32_t ret = int32_t(t.retval);
    verdicts[fam == Family::SocketFilter ? (ret ? 1 : 0) : ret]++;
    uint32_t keep = 0;  // bytes of the packet that go on, 0 when it does not
    if (fam == Family::Xdp && ret == XDP_PASS) keep = t.data_size_out;
    if (fam == Family::Tc && (ret == 0 || ret == -1)) keep = t.data_size_out;
    if (fam == Family::SocketFilter && ret) {
      keep = std::min<uint32_t>(t.retval, t.data_size_out);
      accepted_bytes += keep;
    }
    if (keep && dump) {
      PcapPacket o = pkt;
      o.caplen = keep;
      o.len = keep + (pkt.len > pkt.caplen ? pkt.len - pkt.caplen : 0);
      o.data = data_out.data();
      dump->write(o);
      written++;
    }
  }
  dump.reset();

  auto name = [&](int64_t v) -> std::string {
    const char* n = fam == Family::Xdp  ? xdp_name(int32_t(v))
                    : fam == Family::Tc ? tc_name(int32_t(v))
                                        : (v ? "accepted" : "dropped");
    return n ? n : "retval " + std::to_string(v);
  };
  if (output().json) {
    JsonWriter& w = json();
    w.start_object();
    w.uint_field("packets", packets);
    w.uint_field("bytes", bytes);
    w.name("verdicts");
    w.start_object();
    for (const auto& [v, n] : verdicts) w.uint_field(name(v), n);
    w.end_object();
    if (fam == Family::SocketFilter) w.uint_field("accepted_bytes", accepted_bytes);
    if (failed) w.uint_field("failed", failed);
    if (!out.empty()) w.uint_field("written", written);
    w.end_object();
    return;
  }
  std::printf("packets %llu  bytes %llu\n", (unsigned long long)packets, (unsigned long long)bytes);
  for (const auto& [v, n] : verdicts)
    std::printf("%-16s %llu\n", name(v).c_str(), (unsigned long long)n);
  if (fam == Family::SocketFilter)
    std::printf("%-16s %llu\n", "accepted bytes", (unsigned long long)accepted_bytes);
  if (failed) std::printf("%-16s %llu\n", "failed", (unsigned long long)failed);
  if (!out.empty())
    std::printf("written %llu packet%s to %s\n", (unsigned long long)written,
                written == 1 ? "" : "s", out.c_str());
}

}  // namespace bpfbox::cli
