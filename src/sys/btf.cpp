#include "sys/btf.hpp"

#include <bpf/btf.h>
#include <linux/btf.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace bpfbox::sys {

Btf::~Btf() {
  if (parsed) btf__free(parsed);
  if (fd >= 0) close(fd);
}

Result<std::shared_ptr<Btf>> make_btf(std::vector<uint8_t> data) {
  auto b = std::make_shared<Btf>();
  b->data = std::move(data);
  errno = 0;
  b->parsed = btf__new(b->data.data(), uint32_t(b->data.size()));
  if (!b->parsed) {
    int err = errno ? errno : EINVAL;
    b->parsed = nullptr;
    return Status(EINVAL, std::string("invalid BTF: ") + strerror(err));
  }
  return b;
}

Result<std::shared_ptr<Btf>> read_btf_file(int fd) {
  char magic[8];
  uint64_t size = 0;
  if (pread(fd, magic, 8, 0) != 8 || std::memcmp(magic, kBtfMagic, 8) != 0 ||
      pread(fd, &size, 8, 8) != 8 || size > (1u << 30))
    return Status(EINVAL, "not a bpfbox BTF file");
  std::vector<uint8_t> data(size);
  if (pread(fd, data.data(), size, 16) != ssize_t(size))
    return Status(EINVAL, "truncated BTF file");
  auto b = make_btf(std::move(data));
  if (b) (*b)->fd = fd;
  return b;
}

Result<int32_t> btf_spin_lock_off(const Btf& btf, uint32_t type_id, uint32_t* size) {
  const btf_type* t = btf__type_by_id(btf.parsed, type_id);
  long long sz = t ? btf__resolve_size(btf.parsed, type_id) : -1;
  if (!t || sz < 0) return Status(EINVAL, "BTF type id " + std::to_string(type_id) + " is invalid");
  *size = uint32_t(sz);
  if (!btf_is_struct(t)) return int32_t(-1);
  const btf_member* m = btf_members(t);
  for (uint16_t i = 0; i < btf_vlen(t); i++) {
    const btf_type* mt = btf__type_by_id(btf.parsed, m[i].type);
    while (mt && (btf_kind(mt) == BTF_KIND_TYPEDEF || btf_kind(mt) == BTF_KIND_CONST ||
                  btf_kind(mt) == BTF_KIND_VOLATILE))
      mt = btf__type_by_id(btf.parsed, mt->type);
    if (mt && btf_is_struct(mt) &&
        std::strcmp(btf__name_by_offset(btf.parsed, mt->name_off), "bpf_spin_lock") == 0)
      return int32_t(btf_member_bit_offset(t, i) / 8);
  }
  return int32_t(-1);
}

}  // namespace bpfbox::sys
