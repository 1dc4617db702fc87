// The Spectre rewrite against the kernel's: the same programs loaded by a child that keeps only
// CAP_BPF (no CAP_PERFMON, no CAP_SYS_ADMIN: the kernel then applies bypass_spec_v1/v4 = false and
// sanitize_dead_code, as for an unprivileged loader, without needing
// kernel.unprivileged_bpf_disabled=0), and the kernel's xlated program (BPF_OBJ_GET_INFO_BY_FD)
// compared with bpfbox's unprivileged one, instruction by instruction. Skipped without bpf().
#include <linux/capability.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

#include "bpfbox/verifier.hpp"
#include "isa/assembler.hpp"
#include "isa/disasm.hpp"
#include "kernel_bpf.hpp"

namespace bpfbox {
namespace {

int sys_bpf(int cmd, union bpf_attr* attr) {
  return static_cast<int>(syscall(__NR_bpf, cmd, attr, sizeof *attr));
}

// In the child: only CAP_BPF left (uid 0 kept, so no setuid drops it).
bool keep_only_cap_bpf() {
  struct __user_cap_header_struct hdr {};
  hdr.version = _LINUX_CAPABILITY_VERSION_3;
  struct __user_cap_data_struct data[2]{};
  constexpr int kCapBpf = 39;
  data[kCapBpf / 32].effective = data[kCapBpf / 32].permitted = 1u << (kCapBpf % 32);
  return syscall(SYS_capset, &hdr, data) == 0;
}

// The kernel's xlated program for `insns` loaded with CAP_BPF only; map lddw (imm = map index)
// get an array map created in the child (so the map, too, has no bypass_spec_v1). Empty with the
// reason in *why when the kernel refused or could not be asked.
std::vector<struct bpf_insn> kernel_xlated(std::vector<struct bpf_insn> insns, uint32_t max_entries,
                                           std::string* why) {
  int pipefd[2];
  if (pipe(pipefd) != 0) return *why = "pipe", std::vector<struct bpf_insn>{};
  const pid_t pid = fork();
  if (pid == 0) {
    close(pipefd[0]);
    int32_t result[2] = {0, 0};  // errno, xlated length in instructions
    std::vector<struct bpf_insn> xlated;
    if (!keep_only_cap_bpf()) {
      result[0] = 1000 + errno;
    } else {
      union bpf_attr attr;
      std::memset(&attr, 0, sizeof attr);
      attr.map_type = BPF_MAP_TYPE_ARRAY;
      attr.key_size = 4;
      attr.value_size = 8;
      attr.max_entries = max_entries;
      const int map_fd = sys_bpf(BPF_MAP_CREATE, &attr);
      for (size_t i = 0; i + 1 < insns.size(); ++i)
        if (insns[i].code == (BPF_LD | BPF_IMM | BPF_DW) && insns[i].src_reg == BPF_PSEUDO_MAP_FD)
          insns[i].imm = map_fd, ++i;
      std::memset(&attr, 0, sizeof attr);
      static char log[1 << 16];
      attr.prog_type = BPF_PROG_TYPE_SOCKET_FILTER;
      attr.insns = reinterpret_cast<uint64_t>(insns.data());
      attr.insn_cnt = static_cast<uint32_t>(insns.size());
      attr.license = reinterpret_cast<uint64_t>("GPL");
      attr.log_buf = reinterpret_cast<uint64_t>(log);
      attr.log_size = sizeof log;
      attr.log_level = 1;
      const int prog_fd = sys_bpf(BPF_PROG_LOAD, &attr);
      if (prog_fd < 0) {
        result[0] = errno;
      } else {
        struct bpf_prog_info info;
        std::memset(&info, 0, sizeof info);
        xlated.resize(4096);
        info.xlated_prog_len = static_cast<uint32_t>(xlated.size() * sizeof(struct bpf_insn));
        info.xlated_prog_insns = reinterpret_cast<uint64_t>(xlated.data());
        std::memset(&attr, 0, sizeof attr);
        attr.info.bpf_fd = static_cast<uint32_t>(prog_fd);
        attr.info.info_len = sizeof info;
        attr.info.info = reinterpret_cast<uint64_t>(&info);
        if (sys_bpf(BPF_OBJ_GET_INFO_BY_FD, &attr) != 0)
          result[0] = 2000 + errno;
        else
          result[1] = static_cast<int32_t>(info.xlated_prog_len / sizeof(struct bpf_insn));
      }
    }
    if (write(pipefd[1], result, sizeof result) < 0) _exit(1);
    if (result[1] > 0 && write(pipefd[1], xlated.data(), result[1] * sizeof(struct bpf_insn)) < 0)
      _exit(1);
    _exit(0);
  }
  close(pipefd[1]);
  int32_t result[2] = {-1, 0};
  std::vector<struct bpf_insn> out;
  if (read(pipefd[0], result, sizeof result) == sizeof result && result[1] > 0) {
    out.resize(static_cast<size_t>(result[1]));
    size_t got = 0;
    const size_t want = out.size() * sizeof(struct bpf_insn);
    while (got < want) {
      const ssize_t r = read(pipefd[0], reinterpret_cast<char*>(out.data()) + got, want - got);
      if (r <= 0) break;
      got += static_cast<size_t>(r);
    }
    if (got != want) out.clear();
  }
  close(pipefd[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  if (out.empty()) *why = "kernel: errno " + std::to_string(result[0]);
  return out;
}

// A listing to compare: map loads and helper immediates are addresses or ids that differ, and
// the inlined ARRAY lookup starts differently (the kernel adds the value offset to the map
// pointer in r1, bpfbox loads the base), so map lddw and that one instruction are left out.
std::vector<std::string> comparable(const std::vector<struct bpf_insn>& x) {
  std::vector<std::string> out;
  for (size_t pc = 0; pc < x.size(); ++pc) {
    isa::Decoded d;
    if (!isa::decode(x, pc, d)) {
      out.push_back("invalid");
      continue;
    }
    if (d.slots == 2) {
      ++pc;
      continue;
    }
    if (d.op == isa::Op::Add64K && d.dst == 1 && pc + 1 < x.size() &&
        x[pc + 1].code == (BPF_LDX | BPF_MEM | BPF_W) && x[pc + 1].src_reg == 2)
      continue;
    out.push_back(isa::disassemble(d));
  }
  return out;
}

std::string join(const std::vector<std::string>& v) {
  std::string s;
  for (const auto& l : v) s += l + "\n";
  return s;
}

TEST(SpectreKernel, XlatedProgramsMatchTheKernel) {
  if (const auto& why = testsupport::kernel_bpf_unavailable()) GTEST_SKIP() << *why;
  const std::string lookup =
      "r1 = 0\n*(u32 *)(r10 -4) = r1\nr2 = r10\nr2 += -4\nr1 = map[fd:0]\n"
      "call bpf_map_lookup_elem\n";
  struct Case {
    const char* name;
    std::string prog;
  };
  const Case cases[] = {
      {"dead branch fault", "r0 = 0\nif r0 == 0 goto +1\nr0 = *(u64 *)(r0 +0)\nexit\n"},
      {"never-taken target fault",
       "r0 = 0\nif r0 != 0 goto +2\nr0 = 0\nexit\nr0 = *(u64 *)(r0 +0)\nexit\n"},
      {"speculative pointer compare",
       "r0 = 0\nif r0 == 0 goto +2\nif r1 == r10 goto +0\nr0 = 1\nexit\n"},
      {"spectre v4 stores",
       "r2 = 0\n*(u64 *)(r10 -8) = r2\n*(u64 *)(r10 -8) = r2\n*(u64 *)(r10 -16) = r1\n"
       "*(u32 *)(r10 -24) = 1\nr0 = 0\nexit\n"},
      {"masked add", lookup + "if r0 == 0 goto +4\nr1 = *(u8 *)(r0 +0)\nr1 &= 7\nr0 += r1\n"
                              "r0 = *(u8 *)(r0 +0)\nexit\n"},
      {"masked scalar plus pointer", lookup + "if r0 == 0 goto +4\nr1 = *(u8 *)(r0 +0)\n"
                                              "r1 &= 7\nr1 += r0\nr0 = *(u8 *)(r1 +0)\nexit\n"},
      {"masked add of a negative offset",
       lookup + "if r0 == 0 goto +7\nr0 += 7\nr1 = *(u8 *)(r0 +0)\nr1 &= 3\nr1 += 1\n"
                "r1 = -r1\nr0 += r1\nr0 = *(u8 *)(r0 +0)\nexit\n"},
      {"known offset in a register",
       lookup + "if r0 == 0 goto +4\nr0 += 7\nr1 = 3\nr0 -= r1\nr0 = *(u8 *)(r0 +0)\nexit\n"},
      {"stack pointer by a known register",
       "r1 = -8\nr2 = r10\nr2 += r1\nr3 = 0\n*(u64 *)(r2 +0) = r3\nr0 = *(u64 *)(r10 -8)\n"
       "exit\n"},
      {"inlined array lookup", lookup + "if r0 == 0 goto +1\nr0 = *(u64 *)(r0 +0)\nexit\n"},
  };
  union bpf_attr attr;
  std::memset(&attr, 0, sizeof attr);
  attr.map_type = BPF_MAP_TYPE_ARRAY;
  attr.key_size = 4;
  attr.value_size = 8;
  attr.max_entries = 5;
  auto map = maps::Map::create(attr);
  ASSERT_TRUE(map.is_ok()) << map.status().message();
  int compared = 0;
  for (const Case& c : cases) {
    auto insns = isa::assemble(c.prog, isa::Syntax::Kernel);
    ASSERT_TRUE(insns.is_ok()) << c.name << ": " << insns.status().message();
    verifier::Options opts;
    opts.load.prog_type = BPF_PROG_TYPE_SOCKET_FILTER;
    opts.load.privileged = false;
    opts.load.gpl_compatible = true;
    opts.map_by_fd = [&](int) -> Result<std::shared_ptr<maps::Map>> { return map.value(); };
    const verifier::VerifyResult r = verifier::verify(insns.value(), opts);
    ASSERT_TRUE(r.program) << c.name << ": " << r.status.message();
    std::string why;
    const std::vector<struct bpf_insn> k = kernel_xlated(insns.value(), 5, &why);
    if (k.empty()) {
      ADD_FAILURE() << c.name << ": " << why;
      continue;
    }
    EXPECT_EQ(join(comparable(r.program->xlated)), join(comparable(k))) << c.name;
    ++compared;
  }
  EXPECT_EQ(compared, static_cast<int>(std::size(cases)));
}

}  // namespace
}  // namespace bpfbox
