// Reads devices from sysfs (/sys/class/net/NAME/{address,broadcast,queues}), which shows the
// caller's network namespace as the kernel's dev_get_by_index does.
#include "progs/netdev.hpp"

#include <net/if.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

namespace bpfbox::progs {
namespace {

bool read_mac(const std::string& path, uint8_t out[6]) {
  std::ifstream f(path);
  std::string s;
  if (!(f >> s)) return false;
  unsigned v[6];
  if (std::sscanf(s.c_str(), "%x:%x:%x:%x:%x:%x", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5]) != 6)
    return false;
  for (int i = 0; i < 6; i++) out[i] = static_cast<uint8_t>(v[i]);
  return true;
}

}  // namespace

std::optional<NetDev> netdev_by_index(uint32_t ifindex) {
  char name[IF_NAMESIZE];
  if (ifindex == 0 || !if_indextoname(ifindex, name)) return std::nullopt;
  NetDev dev;
  dev.ifindex = ifindex;
  const std::string base = std::string("/sys/class/net/") + name;
  read_mac(base + "/address", dev.addr);
  read_mac(base + "/broadcast", dev.broadcast);
  uint32_t rx = 0;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(base + "/queues", ec))
    if (e.path().filename().string().rfind("rx-", 0) == 0) rx++;
  dev.num_rx_queues = rx ? rx : 1;
  return dev;
}

const NetDev& loopback_netdev() {
  static const NetDev lo = [] {
    NetDev d;
    d.ifindex = 1;
    return d;
  }();
  return lo;
}

}  // namespace bpfbox::progs
