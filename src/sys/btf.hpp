// BTF objects (BPF_BTF_LOAD): the blob as loaded, in a file that carries it ("BFBOXBTF", the
// size, the blob), parsed with libbpf's btf__new to check it and to answer what maps and
// programs ask of their types.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "bpfbox/status.hpp"

struct btf;

namespace bpfbox::sys {

constexpr char kBtfMagic[8] = {'B', 'F', 'B', 'O', 'X', 'B', 'T', 'F'};

struct Btf {
  std::vector<uint8_t> data;
  struct btf* parsed = nullptr;  // libbpf's
  uint32_t id = 0;
  int fd = -1;  // the process's own fd on the BTF's file
  ~Btf();
};

// Checks and parses a blob; EINVAL with libbpf's reason when it is not valid BTF.
Result<std::shared_ptr<Btf>> make_btf(std::vector<uint8_t> data);
// A BTF file another process wrote.
Result<std::shared_ptr<Btf>> read_btf_file(int fd);
// The offset of a struct bpf_spin_lock member in type `type_id` (a struct), or -1; EINVAL for a
// type id that does not exist, with *size set to the type's size.
Result<int32_t> btf_spin_lock_off(const Btf& btf, uint32_t type_id, uint32_t* size);

}  // namespace bpfbox::sys
