// The Spectre rewrite against the kernel's: the same programs loaded by an unprivileged child
// (nobody, no capabilities: bypass_spec_v1/v4 false, sanitize_dead_code, no bpf_capable), which
// passes the program fd back; the kernel's xlated program (BPF_OBJ_GET_INFO_BY_FD, as root) is
// compared with bpfbox's unprivileged one, instruction by instruction. Skipped while
// kernel.unprivileged_bpf_disabled refuses unprivileged bpf() (as on CI here); a CAP_BPF-only
// loader is no substitute: it spills scalars and removes dead code as bpf_capable does.
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cstring>
#include <iterator>
#include <string>
#include <vector>

#include "bpfbox/verifier.hpp"
#include "isa/assembler.hpp"
#include "isa/disasm.hpp"
#include "kernel_bpf.hpp"
#include "kernel_verifier.hpp"

namespace bpfbox {
namespace {

int sys_bpf(int cmd, union bpf_attr* attr) {
  return static_cast<int>(syscall(__NR_bpf, cmd, attr, sizeof *attr));
}

// In the child: nobody's uid (setuid from root drops every capability), an ARRAY map of its own
// for the map lddw (so the map has no bypass_spec_v1 either), the load, and the program fd sent
// back over `sock`; the errno of a failure instead.
[[noreturn]] void load_unprivileged(std::vector<struct bpf_insn> insns, uint32_t max_entries,
                                    int sock) {
  int32_t err = 0;
  int prog_fd = -1;
  if (setgid(65534) != 0 || setuid(65534) != 0) {
    err = 1000 + errno;
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
    attr.prog_type = BPF_PROG_TYPE_SOCKET_FILTER;
    attr.insns = reinterpret_cast<uint64_t>(insns.data());
    attr.insn_cnt = static_cast<uint32_t>(insns.size());
    attr.license = reinterpret_cast<uint64_t>("GPL");
    prog_fd = sys_bpf(BPF_PROG_LOAD, &attr);
    if (prog_fd < 0) err = errno;
  }
  char cbuf[CMSG_SPACE(sizeof(int))] = {};
  struct iovec iov = {&err, sizeof err};
  struct msghdr msg {};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  if (prog_fd >= 0) {
    msg.msg_control = cbuf;
    msg.msg_controllen = sizeof cbuf;
    struct cmsghdr* c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int));
    std::memcpy(CMSG_DATA(c), &prog_fd, sizeof(int));
  }
  _exit(sendmsg(sock, &msg, 0) < 0 ? 1 : 0);
}

// The kernel's xlated program for `insns` loaded unprivileged; empty with the reason in *why.
std::vector<struct bpf_insn> kernel_xlated(const std::vector<struct bpf_insn>& insns,
                                           uint32_t max_entries, std::string* why) {
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_DGRAM, 0, sv) != 0)
    return *why = "socketpair", std::vector<struct bpf_insn>{};
  const pid_t pid = fork();
  if (pid == 0) {
    close(sv[0]);
    load_unprivileged(insns, max_entries, sv[1]);
  }
  close(sv[1]);
  int32_t err = -1;
  char cbuf[CMSG_SPACE(sizeof(int))] = {};
  struct iovec iov = {&err, sizeof err};
  struct msghdr msg {};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = cbuf;
  msg.msg_controllen = sizeof cbuf;
  int prog_fd = -1;
  if (recvmsg(sv[0], &msg, 0) == sizeof err && err == 0) {
    struct cmsghdr* c = CMSG_FIRSTHDR(&msg);
    if (c && c->cmsg_type == SCM_RIGHTS) std::memcpy(&prog_fd, CMSG_DATA(c), sizeof(int));
  }
  close(sv[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  std::vector<struct bpf_insn> xlated;
  if (prog_fd < 0) {
    *why = "kernel load: errno " + std::to_string(err);
    return xlated;
  }
  xlated.resize(4096);
  struct bpf_prog_info info;
  std::memset(&info, 0, sizeof info);
  info.xlated_prog_len = static_cast<uint32_t>(xlated.size() * sizeof(struct bpf_insn));
  info.xlated_prog_insns = reinterpret_cast<uint64_t>(xlated.data());
  union bpf_attr attr;
  std::memset(&attr, 0, sizeof attr);
  attr.info.bpf_fd = static_cast<uint32_t>(prog_fd);
  attr.info.info_len = sizeof info;
  attr.info.info = reinterpret_cast<uint64_t>(&info);
  if (sys_bpf(BPF_OBJ_GET_INFO_BY_FD, &attr) != 0) {
    *why = "BPF_OBJ_GET_INFO_BY_FD: errno " + std::to_string(errno);
    xlated.clear();
  } else {
    xlated.resize(info.xlated_prog_len / sizeof(struct bpf_insn));
  }
  close(prog_fd);
  return xlated;
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
  if (auto why = testsupport::kernel_unprivileged_unavailable()) GTEST_SKIP() << *why;
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
      {"known negative offset in a register",
       lookup + "if r0 == 0 goto +4\nr0 += 7\nr1 = -3\nr0 += r1\nr0 = *(u8 *)(r0 +0)\nexit\n"},
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
