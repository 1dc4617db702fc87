// BPF_PROG_LOAD, BPF_PROG_TEST_RUN and BPF_OBJ_GET_INFO_BY_FD against the kernel: the same
// programs loaded in both; errno of the load checks, the tag (SHA-1 of the program with map fds
// zeroed), bpf_prog_info's fields, test-run results and their errno.
#include <sys/wait.h>

#include <cstddef>
#include <cstdio>
#include <string>

#include "sys_test_util.hpp"

namespace bpfbox::systest {
namespace {

bpf_prog_info prog_info(Impl impl, int fd, std::vector<uint32_t>* map_ids = nullptr) {
  bpf_prog_info info;
  std::memset(&info, 0, sizeof info);
  std::vector<uint32_t> ids(4);
  info.nr_map_ids = 4;
  info.map_ids = reinterpret_cast<uint64_t>(ids.data());
  EXPECT_EQ(get_info(impl, fd, &info, sizeof info), 0) << bpfbox_bpf_last_error();
  if (map_ids)
    *map_ids = std::vector<uint32_t>(ids.begin(), ids.begin() + std::min(4u, info.nr_map_ids));
  return info;
}

uint32_t map_id(Impl impl, int fd) {
  bpf_map_info info;
  std::memset(&info, 0, sizeof info);
  EXPECT_EQ(get_info(impl, fd, &info, sizeof info), 0);
  return info.id;
}

TEST(SysProgCommands, LoadTagAndInfoMatchKernel) {
  SKIP_WITHOUT_KERNEL();
  RuntimeDir rt;
  std::string tags[2];
  for (Impl impl : {Impl::Kernel, Impl::Bpfbox}) {
    SCOPED_TRACE(impl == Impl::Kernel ? "kernel" : "bpfbox");
    union bpf_attr c = map_attr(BPF_MAP_TYPE_ARRAY, 4, 8, 2);
    const int map = int(call(impl, BPF_MAP_CREATE, c));
    ASSERT_GE(map, 0);
    auto insns = lookup_prog(map, XDP_PASS);
    union bpf_attr a = load_attr(BPF_PROG_TYPE_XDP, insns, "sys_xdp");
    const int fd = int(call(impl, BPF_PROG_LOAD, a));
    ASSERT_GE(fd, 0) << bpfbox_bpf_last_error();
    std::vector<uint32_t> ids;
    bpf_prog_info info = prog_info(impl, fd, &ids);
    EXPECT_EQ(info.type, uint32_t(BPF_PROG_TYPE_XDP));
    EXPECT_STREQ(info.name, "sys_xdp");
    EXPECT_GT(info.id, 0u);
    EXPECT_EQ(info.gpl_compatible, 1u);
    EXPECT_GT(info.load_time, 0u);
    EXPECT_GT(info.verified_insns, 0u);
    EXPECT_GT(info.xlated_prog_len, 0u);
    ASSERT_EQ(info.nr_map_ids, 1u);
    EXPECT_EQ(ids[0], map_id(impl, map));
    char hex[17];
    for (int i = 0; i < 8; i++) std::snprintf(hex + 2 * i, 3, "%02x", info.tag[i]);
    tags[impl == Impl::Kernel ? 0 : 1] = hex;
    close(fd);
    close(map);
  }
  EXPECT_EQ(tags[0], tags[1]);
  EXPECT_EQ(tags[0].size(), 16u);
}

TEST(SysProgCommands, LoadErrnoMatchesKernel) {
  SKIP_WITHOUT_KERNEL();
  RuntimeDir rt;
  for (Impl impl : {Impl::Kernel, Impl::Bpfbox}) {
    SCOPED_TRACE(impl == Impl::Kernel ? "kernel" : "bpfbox");
    auto ok = ret_prog(1);
    union bpf_attr a = load_attr(BPF_PROG_TYPE_SOCKET_FILTER, ok);
    a.insn_cnt = 0;
    EXPECT_EQ(call(impl, BPF_PROG_LOAD, a), -E2BIG);
    a = load_attr(BPF_PROG_TYPE_SOCKET_FILTER, ok, "", nullptr);
    EXPECT_EQ(call(impl, BPF_PROG_LOAD, a), -EFAULT);
    a = load_attr(BPF_PROG_TYPE_SOCKET_FILTER, ok, "bad-name");
    EXPECT_EQ(call(impl, BPF_PROG_LOAD, a), -EINVAL);
    a = load_attr(BPF_PROG_TYPE_SOCKET_FILTER, ok);
    a.prog_flags = 1u << 30;
    EXPECT_EQ(call(impl, BPF_PROG_LOAD, a), -EINVAL);
    char log[4096];
    a = load_attr(BPF_PROG_TYPE_SOCKET_FILTER, ok);
    a.log_buf = reinterpret_cast<uint64_t>(log);
    a.log_level = 1;
    EXPECT_EQ(call(impl, BPF_PROG_LOAD, a), -EINVAL);  // log_buf without log_size
    // Refused by the verifier: r0 is never set. EACCES and a log saying so.
    std::vector<bpf_insn> bad = {I(BPF_JMP | BPF_EXIT, 0, 0, 0, 0)};
    a = load_attr(BPF_PROG_TYPE_SOCKET_FILTER, bad);
    a.log_buf = reinterpret_cast<uint64_t>(log);
    a.log_size = sizeof log;
    a.log_level = 1;
    log[0] = 0;
    EXPECT_EQ(call(impl, BPF_PROG_LOAD, a), -EACCES);
    EXPECT_NE(std::string(log).find("R0 !read_ok"), std::string::npos) << log;
    uint32_t true_size = 0;
    std::memcpy(&true_size, reinterpret_cast<uint8_t*>(&a) + 140, 4);
    EXPECT_EQ(true_size, std::strlen(log) + 1);
    // A GPL-only helper from a non-GPL program.
    std::vector<bpf_insn> printk = {
        I(BPF_ALU64 | BPF_MOV | BPF_X, 1, 10, 0, 0),
        I(BPF_ALU64 | BPF_ADD | BPF_K, 1, 0, 0, -8),
        I(BPF_ST | BPF_MEM | BPF_DW, 10, 0, -8, 0x0a6968),
        I(BPF_ALU64 | BPF_MOV | BPF_K, 2, 0, 0, 8),
        I(BPF_JMP | BPF_CALL, 0, 0, 0, BPF_FUNC_trace_printk),
        I(BPF_ALU64 | BPF_MOV | BPF_K, 0, 0, 0, 0),
        I(BPF_JMP | BPF_EXIT, 0, 0, 0, 0),
    };
    a = load_attr(BPF_PROG_TYPE_SOCKET_FILTER, printk, "", "Proprietary");
    EXPECT_EQ(call(impl, BPF_PROG_LOAD, a), -EINVAL);
    a = load_attr(BPF_PROG_TYPE_SOCKET_FILTER, printk, "", "Dual MIT/GPL");
    long fd = call(impl, BPF_PROG_LOAD, a);
    EXPECT_GE(fd, 0);
    if (fd >= 0) close(int(fd));
    // A map fd that is not a map.
    auto lk = lookup_prog(0, 0);
    a = load_attr(BPF_PROG_TYPE_SOCKET_FILTER, lk);
    EXPECT_EQ(call(impl, BPF_PROG_LOAD, a), -EINVAL);
    lk = lookup_prog(999, 0);
    a = load_attr(BPF_PROG_TYPE_SOCKET_FILTER, lk);
    EXPECT_EQ(call(impl, BPF_PROG_LOAD, a), -EBADF);
  }
}

TEST(SysProgCommands, TestRunMatchesKernel) {
  SKIP_WITHOUT_KERNEL();
  RuntimeDir rt;
  std::vector<uint8_t> pkt(64, 0xab);
  for (Impl impl : {Impl::Kernel, Impl::Bpfbox}) {
    SCOPED_TRACE(impl == Impl::Kernel ? "kernel" : "bpfbox");
    auto insns = ret_prog(XDP_TX);
    union bpf_attr l = load_attr(BPF_PROG_TYPE_XDP, insns);
    const int fd = int(call(impl, BPF_PROG_LOAD, l));
    ASSERT_GE(fd, 0) << bpfbox_bpf_last_error();
    std::vector<uint8_t> out(128, 0);
    union bpf_attr a;
    std::memset(&a, 0, sizeof a);
    a.test.prog_fd = uint32_t(fd);
    a.test.data_in = reinterpret_cast<uint64_t>(pkt.data());
    a.test.data_size_in = uint32_t(pkt.size());
    a.test.data_out = reinterpret_cast<uint64_t>(out.data());
    a.test.data_size_out = uint32_t(out.size());
    a.test.repeat = 100;
    EXPECT_EQ(call(impl, BPF_PROG_TEST_RUN, a), 0) << bpfbox_bpf_last_error();
    EXPECT_EQ(a.test.retval, uint32_t(XDP_TX));
    EXPECT_EQ(a.test.data_size_out, 64u);
    EXPECT_EQ(std::vector<uint8_t>(out.begin(), out.begin() + 64), pkt);
    // A data_out too small: ENOSPC, with the true size and the retval reported.
    a.test.data_size_out = 10;
    a.test.retval = 0;
    EXPECT_EQ(call(impl, BPF_PROG_TEST_RUN, a), -ENOSPC);
    EXPECT_EQ(a.test.data_size_out, 64u);
    EXPECT_EQ(a.test.retval, uint32_t(XDP_TX));
    // ctx pointers without sizes.
    a.test.data_size_out = uint32_t(out.size());
    a.test.ctx_in = reinterpret_cast<uint64_t>(out.data());
    EXPECT_EQ(call(impl, BPF_PROG_TEST_RUN, a), -EINVAL);
    a.test.ctx_in = 0;
    a.test.ctx_size_out = 8;
    EXPECT_EQ(call(impl, BPF_PROG_TEST_RUN, a), -EINVAL);
    a.test.ctx_size_out = 0;
    // Not a program.
    union bpf_attr c = map_attr(BPF_MAP_TYPE_ARRAY, 4, 4, 1);
    const int map = int(call(impl, BPF_MAP_CREATE, c));
    a.test.prog_fd = uint32_t(map);
    EXPECT_EQ(call(impl, BPF_PROG_TEST_RUN, a), -EINVAL);
    close(map);
    a.test.prog_fd = uint32_t(map);
    EXPECT_EQ(call(impl, BPF_PROG_TEST_RUN, a), -EBADF);
    close(fd);
    // A socket filter needs at least an Ethernet header.
    auto sf = ret_prog(0);
    l = load_attr(BPF_PROG_TYPE_SOCKET_FILTER, sf);
    const int sfd = int(call(impl, BPF_PROG_LOAD, l));
    ASSERT_GE(sfd, 0);
    std::memset(&a, 0, sizeof a);
    a.test.prog_fd = uint32_t(sfd);
    a.test.data_in = reinterpret_cast<uint64_t>(pkt.data());
    a.test.data_size_in = 10;
    EXPECT_EQ(call(impl, BPF_PROG_TEST_RUN, a), -EINVAL);
    close(sfd);
  }
}

TEST(SysProgCommands, TailCallsThroughAProgArrayMatchKernel) {
  SKIP_WITHOUT_KERNEL();
  RuntimeDir rt;
  std::vector<uint8_t> pkt(64, 0);
  for (Impl impl : {Impl::Kernel, Impl::Bpfbox}) {
    SCOPED_TRACE(impl == Impl::Kernel ? "kernel" : "bpfbox");
    auto target_insns = ret_prog(XDP_TX);
    union bpf_attr l = load_attr(BPF_PROG_TYPE_XDP, target_insns);
    const int target = int(call(impl, BPF_PROG_LOAD, l));
    ASSERT_GE(target, 0) << bpfbox_bpf_last_error();
    union bpf_attr c = map_attr(BPF_MAP_TYPE_PROG_ARRAY, 4, 4, 2);
    const int array = int(call(impl, BPF_MAP_CREATE, c));
    ASSERT_GE(array, 0) << bpfbox_bpf_last_error();
    std::vector<bpf_insn> caller = {
        I(BPF_LD | BPF_IMM | BPF_DW, 2, BPF_PSEUDO_MAP_FD, 0, array),
        I(0, 0, 0, 0, 0),
        I(BPF_ALU64 | BPF_MOV | BPF_K, 3, 0, 0, 0),
        I(BPF_JMP | BPF_CALL, 0, 0, 0, BPF_FUNC_tail_call),
        I(BPF_ALU64 | BPF_MOV | BPF_K, 0, 0, 0, XDP_DROP),
        I(BPF_JMP | BPF_EXIT, 0, 0, 0, 0),
    };
    l = load_attr(BPF_PROG_TYPE_XDP, caller);
    const int fd = int(call(impl, BPF_PROG_LOAD, l));
    ASSERT_GE(fd, 0) << bpfbox_bpf_last_error();
    auto run = [&]() -> uint32_t {
      union bpf_attr a;
      std::memset(&a, 0, sizeof a);
      a.test.prog_fd = uint32_t(fd);
      a.test.data_in = reinterpret_cast<uint64_t>(pkt.data());
      a.test.data_size_in = uint32_t(pkt.size());
      EXPECT_EQ(call(impl, BPF_PROG_TEST_RUN, a), 0) << bpfbox_bpf_last_error();
      return a.test.retval;
    };
    EXPECT_EQ(run(), uint32_t(XDP_DROP));  // empty slot: falls through
    uint32_t key = 0, value = uint32_t(target);
    union bpf_attr u = elem_attr(array, &key, &value);
    ASSERT_EQ(call(impl, BPF_MAP_UPDATE_ELEM, u), 0) << bpfbox_bpf_last_error();
    close(target);  // the array holds the program
    EXPECT_EQ(run(), uint32_t(XDP_TX));
    // A syscall-side lookup gives the program's id; a map fd is not a program.
    uint32_t got = 0;
    union bpf_attr lk = elem_attr(array, &key, &got);
    EXPECT_EQ(call(impl, BPF_MAP_LOOKUP_ELEM, lk), 0);
    EXPECT_GT(got, 0u);
    value = uint32_t(array);
    EXPECT_EQ(call(impl, BPF_MAP_UPDATE_ELEM, u), -EINVAL);
    union bpf_attr d = elem_attr(array, &key, nullptr);
    EXPECT_EQ(call(impl, BPF_MAP_DELETE_ELEM, d), 0);
    EXPECT_EQ(run(), uint32_t(XDP_DROP));
    close(fd);
    close(array);
  }
}

constexpr int kMaxTailCalls = 33;  // MAX_TAIL_CALL_CNT

// pkt[0] += 1; tail call slot `first` (a constant, or pkt[1]), then slot 0 (itself, or pkt[2]).
std::vector<bpf_insn> counting_tail_caller(int array, bool from_packet) {
  std::vector<bpf_insn> p = {
      I(BPF_ALU64 | BPF_MOV | BPF_X, 6, 1, 0, 0),
      I(BPF_LDX | BPF_MEM | BPF_W, 7, 6, offsetof(xdp_md, data), 0),
      I(BPF_LDX | BPF_MEM | BPF_W, 8, 6, offsetof(xdp_md, data_end), 0),
      I(BPF_ALU64 | BPF_MOV | BPF_X, 4, 7, 0, 0),
      I(BPF_ALU64 | BPF_ADD | BPF_K, 4, 0, 0, 3),
      I(BPF_JMP | BPF_JGT | BPF_X, 4, 8, 3, 0),
      I(BPF_LDX | BPF_MEM | BPF_B, 5, 7, 0, 0),
      I(BPF_ALU64 | BPF_ADD | BPF_K, 5, 0, 0, 1),
      I(BPF_STX | BPF_MEM | BPF_B, 7, 5, 0, 0),
  };
  for (int k : {1, 2}) {
    p.push_back(I(BPF_ALU64 | BPF_MOV | BPF_X, 1, 6, 0, 0));
    put_ld_map_fd(p, 2, array);
    if (from_packet) {  // the packet's bytes 1 and 2 (checked above: 3 bytes)
      p.push_back(I(BPF_LDX | BPF_MEM | BPF_W, 3, 6, offsetof(xdp_md, data), 0));
      p.push_back(I(BPF_LDX | BPF_MEM | BPF_W, 4, 6, offsetof(xdp_md, data_end), 0));
      p.push_back(I(BPF_ALU64 | BPF_MOV | BPF_X, 5, 3, 0, 0));
      p.push_back(I(BPF_ALU64 | BPF_ADD | BPF_K, 5, 0, 0, 3));
      p.push_back(I(BPF_JMP | BPF_JGT | BPF_X, 5, 4, 2, 0));
      p.push_back(I(BPF_LDX | BPF_MEM | BPF_B, 3, 3, int16_t(k), 0));
      p.push_back(I(BPF_JMP | BPF_JA, 0, 0, 1, 0));
      p.push_back(I(BPF_ALU64 | BPF_MOV | BPF_K, 3, 0, 0, 0));
    } else {
      p.push_back(I(BPF_ALU64 | BPF_MOV | BPF_K, 3, 0, 0, 0));  // patched below
    }
    p.push_back(I(BPF_JMP | BPF_CALL, 0, 0, 0, BPF_FUNC_tail_call));
  }
  p.push_back(I(BPF_ALU64 | BPF_MOV | BPF_K, 0, 0, 0, XDP_PASS));
  p.push_back(I(BPF_JMP | BPF_EXIT, 0, 0, 0, 0));
  return p;
}

TEST(SysProgCommands, TailCallLimitCountsOnlyTailCallsThatSucceed) {
  // The kernel (6.18) counts towards its limit of 33 only the tail calls that succeed: a program
  // that tries slot `first` (empty, or past the array) and then itself runs 34 times. Constant
  // indexes (the JITs' direct tail calls) and indexes read from the packet.
  SKIP_WITHOUT_KERNEL();
  RuntimeDir rt;
  for (bool from_packet : {false, true}) {
    for (uint8_t first : {uint8_t(1), uint8_t(2)}) {
      SCOPED_TRACE(std::string(from_packet ? "index from the packet" : "constant index") +
                   ", first index " + std::to_string(first));
      for_each_impl([&](Impl impl) {
        union bpf_attr c = map_attr(BPF_MAP_TYPE_PROG_ARRAY, 4, 4, 2);
        const int array = int(call(impl, BPF_MAP_CREATE, c));
        ASSERT_GE(array, 0) << bpfbox_bpf_last_error();
        std::vector<bpf_insn> insns = counting_tail_caller(array, from_packet);
        if (!from_packet) insns[12].imm = first;  // the first tail call's `r3 = imm`
        union bpf_attr l = load_attr(BPF_PROG_TYPE_XDP, insns);
        const int fd = int(call(impl, BPF_PROG_LOAD, l));
        ASSERT_GE(fd, 0) << bpfbox_bpf_last_error();
        uint32_t key = 0, value = uint32_t(fd);
        union bpf_attr u = elem_attr(array, &key, &value);
        ASSERT_EQ(call(impl, BPF_MAP_UPDATE_ELEM, u), 0) << bpfbox_bpf_last_error();
        std::vector<uint8_t> pkt(64, 0), out(64, 0xff);
        pkt[1] = first;
        union bpf_attr a;
        std::memset(&a, 0, sizeof a);
        a.test.prog_fd = uint32_t(fd);
        a.test.data_in = uptr(pkt.data());
        a.test.data_size_in = uint32_t(pkt.size());
        a.test.data_out = uptr(out.data());
        a.test.data_size_out = uint32_t(out.size());
        ASSERT_EQ(call(impl, BPF_PROG_TEST_RUN, a), 0) << bpfbox_bpf_last_error();
        EXPECT_EQ(a.test.retval, uint32_t(XDP_PASS));
        EXPECT_EQ(out[0], 1 + kMaxTailCalls);
        union bpf_attr d = elem_attr(array, &key, nullptr);
        EXPECT_EQ(call(impl, BPF_MAP_DELETE_ELEM, d), 0);
        close(fd);
        close(array);
      });
    }
  }
}

TEST(SysProgCommands, RunStatsCountWhileEnabled) {
  RuntimeDir rt;
  auto insns = ret_prog(XDP_PASS);
  union bpf_attr l = load_attr(BPF_PROG_TYPE_XDP, insns);
  const int fd = int(call(Impl::Bpfbox, BPF_PROG_LOAD, l));
  ASSERT_GE(fd, 0) << bpfbox_bpf_last_error();
  std::vector<uint8_t> pkt(64, 0);
  union bpf_attr a;
  std::memset(&a, 0, sizeof a);
  a.test.prog_fd = uint32_t(fd);
  a.test.data_in = reinterpret_cast<uint64_t>(pkt.data());
  a.test.data_size_in = 64;
  a.test.repeat = 5;
  ASSERT_EQ(call(Impl::Bpfbox, BPF_PROG_TEST_RUN, a), 0);
  EXPECT_EQ(prog_info(Impl::Bpfbox, fd).run_cnt, 0u);
  union bpf_attr s;
  std::memset(&s, 0, sizeof s);
  s.enable_stats.type = BPF_STATS_RUN_TIME;
  const int stats = int(call(Impl::Bpfbox, BPF_ENABLE_STATS, s));
  ASSERT_GE(stats, 0);
  ASSERT_EQ(call(Impl::Bpfbox, BPF_PROG_TEST_RUN, a), 0);
  EXPECT_EQ(prog_info(Impl::Bpfbox, fd).run_cnt, 5u);
  close(stats);
  ASSERT_EQ(call(Impl::Bpfbox, BPF_PROG_TEST_RUN, a), 0);
  EXPECT_EQ(prog_info(Impl::Bpfbox, fd).run_cnt, 5u);
  close(fd);
}

// The caller's privilege is the bpfbox runtime's, not the host uid's: a user who is not root loads
// XDP programs (what bpfbox is for in CI); BPFBOX_UNPRIVILEGED=1 gives the kernel's rules for a
// caller without CAP_BPF: socket filters load, XDP is EPERM. Before, any non-root uid was
// unprivileged and `bpfbox prog load` of an XDP object failed with EPERM.
TEST(SysProgCommands, PrivilegeIsTheRuntimesNotTheHostUid) {
  const pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    if (geteuid() == 0 && (setgid(65534) != 0 || setuid(65534) != 0)) _exit(10);
    char tmpl[] = "/tmp/bpfbox-priv-test-XXXXXX";
    if (mkdtemp(tmpl) == nullptr) _exit(11);
    bpfbox_set_runtime_dir(tmpl);
    auto insns = ret_prog(XDP_PASS);
    union bpf_attr xdp = load_attr(BPF_PROG_TYPE_XDP, insns);
    const long fd = call(Impl::Bpfbox, BPF_PROG_LOAD, xdp);
    if (fd < 0) _exit(12);
    close(int(fd));
    setenv("BPFBOX_UNPRIVILEGED", "1", 1);
    union bpf_attr xdp2 = load_attr(BPF_PROG_TYPE_XDP, insns);
    if (call(Impl::Bpfbox, BPF_PROG_LOAD, xdp2) != -EPERM) _exit(13);
    union bpf_attr sf = load_attr(BPF_PROG_TYPE_SOCKET_FILTER, insns);
    if (call(Impl::Bpfbox, BPF_PROG_LOAD, sf) < 0) _exit(14);
    std::string cmd = std::string("rm -rf '") + tmpl + "'";
    if (std::system(cmd.c_str()) != 0) _exit(15);
    _exit(0);
  }
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0)
      << "10 setuid, 11 mkdtemp, 12 XDP refused to a non-root uid, 13 XDP not EPERM when "
         "unprivileged, 14 socket filter refused when unprivileged, 15 cleanup";
}

}  // namespace
}  // namespace bpfbox::systest
