// BPF_BTF_LOAD: the blob checked by libbpf's parser, kept in a file that carries it.
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "sys/btf.hpp"
#include "sys/commands.hpp"
#include "sys/objects.hpp"
#include "sys/runtime.hpp"

namespace bpfbox::sys {

CmdResult btf_load(Call& c) {
  const union bpf_attr& a = c.attr.a;
  if (!a.btf) return Status(EFAULT, "btf is a null pointer");
  if (a.btf_size == 0 || a.btf_size > (16u << 20))
    return Status(E2BIG, "btf_size is 0 or too large");
  if (!!a.btf_log_buf != !!a.btf_log_size)
    return Status(EINVAL, "btf_log_buf and btf_log_size go together");
  if (a.btf_log_level & ~3u) return Status(EINVAL, "unknown btf_log_level");
  const auto* p = uptr<const uint8_t>(a.btf);
  auto b = make_btf(std::vector<uint8_t>(p, p + a.btf_size));
  if (!b) {
    if (a.btf_log_buf && a.btf_log_size) {
      const std::string& msg = b.status().message();
      const size_t n = std::min<size_t>(msg.size(), a.btf_log_size - 1);
      std::memcpy(uptr<char>(a.btf_log_buf), msg.data(), n);
      uptr<char>(a.btf_log_buf)[n] = 0;
    }
    return b.status();
  }
  int fd = -1;
  std::string objs = runtime_path("objs");
  if (!objs.empty()) fd = open(objs.c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
  if (fd < 0) fd = memfd_create("bpfbox-btf", MFD_CLOEXEC);
  if (fd < 0) return Status(errno, "cannot create the BTF's file");
  const uint64_t size = a.btf_size;
  if (pwrite(fd, kBtfMagic, 8, 0) != 8 || pwrite(fd, &size, 8, 8) != 8 ||
      pwrite(fd, p, size, 16) != ssize_t(size)) {
    close(fd);
    return Status(EIO, "cannot write the BTF's file");
  }
  (*b)->fd = fd;
  auto obj = std::make_shared<Object>();
  obj->kind = Kind::Btf;
  obj->btf = *b;
  auto ufd = Objects::get().install(obj, O_RDONLY);
  if (!ufd) return ufd.status();
  return long(*ufd);
}

}  // namespace bpfbox::sys
