// A loaded program as the bpf() layer keeps it: what bpf_prog_info reports and what runs. Its
// file (`fd`) carries it for other processes and for pinning: a header (magic "BFBOXPRG", type,
// id, name, tag, counts) then the instructions with map references as map ids (what another
// process verifies again to run it), the xlated instructions and the ids of the maps it holds.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

#include <linux/bpf.h>

#include "bpfbox/maps.hpp"
#include "bpfbox/verifier.hpp"
#include "bpfbox/vm.hpp"

namespace bpfbox::sys {

constexpr char kProgMagic[8] = {'B', 'F', 'B', 'O', 'X', 'P', 'R', 'G'};

struct Btf;

struct ProgFileHeader {
  char magic[8];
  uint32_t version;
  uint32_t prog_type;
  uint32_t expected_attach_type;
  uint32_t prog_flags;
  uint32_t id;
  uint32_t insn_cnt;    // instructions as loaded, following the header
  uint32_t xlated_cnt;  // then the xlated instructions (map addresses replaced by ids)
  uint32_t nr_map_ids;  // then the map ids
  uint32_t verified_insns;
  uint32_t gpl_compatible;
  uint64_t load_time;  // CLOCK_BOOTTIME ns, as bpf_prog_info.load_time
  uint8_t tag[BPF_TAG_SIZE];
  char name[BPF_OBJ_NAME_LEN];
  // Version 2: the program's BTF, then the func_info / line_info records after the map ids (as
  // loaded, then as bpf_prog_info reports them), then the BTF blob.
  uint32_t btf_id;
  uint32_t nr_func_info;
  uint32_t nr_line_info;
  uint32_t btf_size;
};

struct Prog {
  uint32_t type = 0;
  uint32_t expected_attach_type = 0;
  uint32_t prog_flags = 0;
  uint32_t id = 0;
  char name[BPF_OBJ_NAME_LEN] = {};
  uint8_t tag[BPF_TAG_SIZE] = {};
  bool gpl_compatible = false;
  uint64_t load_time = 0;
  uint32_t verified_insns = 0;
  uint32_t created_by_uid = 0;
  std::vector<struct bpf_insn> insns;  // as loaded
  // The instructions with each map lddw naming its map by id (BPF_PSEUDO_MAP_FD/_VALUE with the
  // id in imm): what the file keeps, and what a process that adopts the program verifies.
  std::vector<struct bpf_insn> insns_by_id;
  std::vector<struct bpf_insn> xlated;  // for bpf_prog_info: map addresses replaced by map ids
  std::vector<uint32_t> map_ids;        // maps the program holds, in first-use order
  // PROG_LOAD's BTF (prog->aux->btf, func_info, linfo): the BTF object is held as the kernel's
  // program holds it; the records as loaded (verified again by an adopting process) and as
  // bpf_prog_info gives them (insn_off in the xlated program, the kernel's record sizes).
  std::shared_ptr<Btf> btf;
  uint32_t btf_id = 0;
  std::vector<uint8_t> btf_data;  // the blob, for an adopting process's verifier
  std::vector<bpf_func_info> func_info_loaded, func_info;
  std::vector<bpf_line_info> line_info_loaded, line_info;
  verifier::Program program;            // holds its maps
  std::unique_ptr<vm::Executable> exe;  // null for a program adopted from another process
  std::vector<std::shared_ptr<maps::Map>> bound_maps;  // BPF_PROG_BIND_MAP
  std::vector<uint32_t> bound_map_ids;
  // bpf_prog_info.run_cnt / run_time_ns, counted while BPF_ENABLE_STATS is on.
  std::atomic<uint64_t> run_cnt{0};
  std::atomic<uint64_t> run_time_ns{0};
  int fd = -1;          // the process's own fd on the program's file
  std::mutex build_mu;  // adopting processes build `exe` once

  ~Prog();
};

// prog->jited: the engine compiles to machine code (a program adopted from another process and
// not built yet: what the default engine would do).
bool prog_jited(const Prog& p);

}  // namespace bpfbox::sys
