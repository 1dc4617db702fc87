// What the bpf() tests share: a private runtime dir per test process, a bpf() that is either
// bpfbox's or the kernel's (for differential tests), and a trace of results to compare them.
#pragma once

#include <gtest/gtest.h>
#include <linux/bpf.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "bpf_attr.hpp"
#include "bpfbox/bpf.h"
#include "progs/ctx_insn.hpp"

namespace bpfbox::systest {

// A fresh runtime dir for this test process, removed at the end.
class RuntimeDir {
 public:
  RuntimeDir() {
    char tmpl[] = "/tmp/bpfbox-sys-test-XXXXXX";
    path_ = mkdtemp(tmpl);
    bpfbox_set_runtime_dir(path_.c_str());
  }
  ~RuntimeDir() {
    std::string cmd = "rm -rf '" + path_ + "'";
    if (std::system(cmd.c_str()) != 0) std::fprintf(stderr, "could not remove %s\n", path_.c_str());
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

enum class Impl { Bpfbox, Kernel };

// bpf() through one implementation: the result, or -errno.
inline long call(Impl impl, int cmd, union bpf_attr& attr, unsigned size = sizeof(union bpf_attr)) {
  long r =
      impl == Impl::Kernel ? syscall(__NR_bpf, cmd, &attr, size) : bpfbox_bpf(cmd, &attr, size);
  return r < 0 ? -errno : r;
}

// Whether the kernel answers bpf() here (root, not disabled).
inline bool kernel_available() {
  static const bool ok = [] {
    union bpf_attr a = testsupport::map_create_attr(BPF_MAP_TYPE_ARRAY, 4, 4, 1);
    long fd = syscall(__NR_bpf, BPF_MAP_CREATE, &a, sizeof a);
    if (fd < 0) return false;
    close(int(fd));
    return true;
  }();
  return ok;
}

#define SKIP_WITHOUT_KERNEL()                                           \
  do {                                                                  \
    if (!::bpfbox::systest::kernel_available())                         \
      GTEST_SKIP() << "bpf() is refused here: no kernel to compare to"; \
  } while (0)

using testsupport::batch_attr;
using testsupport::elem_attr;
using testsupport::uptr;

inline union bpf_attr map_attr(uint32_t type, uint32_t key, uint32_t value, uint32_t entries,
                               uint32_t flags = 0) {
  return testsupport::map_create_attr(type, key, value, entries, flags);
}

// Runs f(impl) for bpfbox, then for the kernel when bpf() is available, each under a trace
// naming it (an ASSERT in f ends that implementation's turn).
template <class F>
void for_each_impl(F f) {
  for (Impl impl : {Impl::Bpfbox, Impl::Kernel}) {
    if (impl == Impl::Kernel && !kernel_available()) continue;
    SCOPED_TRACE(impl == Impl::Kernel ? "kernel" : "bpfbox");
    f(impl);
  }
}

// An instruction, for programs written out in tests.
inline bpf_insn I(uint8_t code, uint8_t dst, uint8_t src, int16_t off, int32_t imm) {
  return progs::raw_insn(code, dst, src, off, imm);
}

// r0 = ret; exit.
inline std::vector<bpf_insn> ret_prog(int32_t ret) {
  return {I(BPF_ALU64 | BPF_MOV | BPF_K, 0, 0, 0, ret), I(BPF_JMP | BPF_EXIT, 0, 0, 0, 0)};
}

// The two instructions of `dst = map fd` (BPF_PSEUDO_MAP_FD).
inline void put_ld_map_fd(std::vector<bpf_insn>& p, uint8_t dst, int fd) {
  p.push_back(I(BPF_LD | BPF_IMM | BPF_DW, dst, BPF_PSEUDO_MAP_FD, 0, fd));
  p.push_back(I(0, 0, 0, 0, 0));
}

// r0 = bpf_map_lookup_elem(map_fd, &(u32){0}), appended to p (r1 and r2 clobbered).
inline void put_map_lookup(std::vector<bpf_insn>& p, int map_fd) {
  p.push_back(I(BPF_ST | BPF_MEM | BPF_W, 10, 0, -4, 0));
  p.push_back(I(BPF_ALU64 | BPF_MOV | BPF_X, 2, 10, 0, 0));
  p.push_back(I(BPF_ALU64 | BPF_ADD | BPF_K, 2, 0, 0, -4));
  put_ld_map_fd(p, 1, map_fd);
  p.push_back(I(BPF_JMP | BPF_CALL, 0, 0, 0, BPF_FUNC_map_lookup_elem));
}

// r0 = ret after a lookup in `map_fd` (key 0): a program that holds the map.
inline std::vector<bpf_insn> lookup_prog(int map_fd, int32_t ret) {
  std::vector<bpf_insn> p;
  put_map_lookup(p, map_fd);
  for (const bpf_insn& i : ret_prog(ret)) p.push_back(i);
  return p;
}

// PROG_LOAD's attr for `insns`, which must outlive it (as must a license other than "GPL").
inline union bpf_attr load_attr(uint32_t type, const std::vector<bpf_insn>& insns,
                                const char* name = "", const char* license = "GPL") {
  return testsupport::prog_load_attr(type, insns, name, license);
}

// A program of `type` from `insns` (GPL), through impl's bpf(): its fd, or -errno.
inline long load_prog(Impl impl, uint32_t type, const std::vector<bpf_insn>& insns,
                      const char* name = "") {
  union bpf_attr a = load_attr(type, insns, name);
  return call(impl, BPF_PROG_LOAD, a);
}

// One TEST_RUN of a packet program on 64 zero bytes: its return value, or -1 when the run fails.
inline long test_run(Impl impl, long prog_fd) {
  uint8_t pkt[64] = {};
  union bpf_attr a = testsupport::test_run_attr(int(prog_fd), pkt, sizeof pkt);
  return call(impl, BPF_PROG_TEST_RUN, a) == 0 ? long(a.test.retval) : -1;
}

// BPF_OBJ_GET_INFO_BY_FD of `len` bytes into `info`: 0 or -errno.
inline long get_info(Impl impl, int fd, void* info, uint32_t len) {
  union bpf_attr a = testsupport::info_attr(fd, info, len);
  return call(impl, BPF_OBJ_GET_INFO_BY_FD, a);
}

}  // namespace bpfbox::systest
