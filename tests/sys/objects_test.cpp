// Objects are real fds: an object lives while an fd (dup'ed, inherited, passed over a socket), a
// holder (a program holding its maps) or a pin names it, and dies with the last; ids are unique
// across processes, GET_FD_BY_ID opens another process's object; a pin outlives its process and
// another process's OBJ_GET sees the same live map.
#include <bpf/btf.h>
#include <fcntl.h>
#include <linux/if_link.h>
#include <linux/perf_event.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <csignal>

#include "bpf_output_event.hpp"
#include "sys/find_file.hpp"
#include "sys/perf_events.hpp"
#include "sys_test_util.hpp"

namespace bpfbox::systest {
namespace {

long bb(int cmd, union bpf_attr& a) {
  return call(Impl::Bpfbox, cmd, a);
}

int new_array(uint32_t entries = 4) {
  union bpf_attr c = map_attr(BPF_MAP_TYPE_ARRAY, 4, 8, entries);
  return int(bb(BPF_MAP_CREATE, c));
}

uint32_t id_of(int fd) {
  bpf_map_info info;
  std::memset(&info, 0, sizeof info);
  return get_info(Impl::Bpfbox, fd, &info, sizeof info) == 0 ? info.id : 0;
}

long fd_by_id(uint32_t id) {
  union bpf_attr a;
  std::memset(&a, 0, sizeof a);
  a.map_id = id;
  return bb(BPF_MAP_GET_FD_BY_ID, a);
}

long update(int fd, uint32_t key, uint64_t value) {
  union bpf_attr a = elem_attr(fd, &key, &value);
  return bb(BPF_MAP_UPDATE_ELEM, a);
}

uint64_t lookup(int fd, uint32_t key) {
  uint64_t v = ~0ull;
  union bpf_attr a = elem_attr(fd, &key, &v);
  return bb(BPF_MAP_LOOKUP_ELEM, a) == 0 ? v : ~0ull;
}

bool id_listed(uint32_t id) {
  union bpf_attr a;
  std::memset(&a, 0, sizeof a);
  while (bb(BPF_MAP_GET_NEXT_ID, a) == 0) {
    if (a.next_id == id) return true;
    a.start_id = a.next_id;
  }
  return false;
}

TEST(SysObjects, AMapLivesUntilItsLastFd) {
  RuntimeDir rt;
  const int fd = new_array();
  ASSERT_GE(fd, 0) << bpfbox_bpf_last_error();
  const uint32_t id = id_of(fd);
  ASSERT_GT(id, 0u);
  ASSERT_EQ(update(fd, 1, 42), 0);
  const int dup_fd = dup(fd);
  close(fd);
  EXPECT_EQ(lookup(dup_fd, 1), 42u);  // a dup names the same map
  EXPECT_TRUE(id_listed(id));
  const long by_id = fd_by_id(id);
  ASSERT_GE(by_id, 0);
  EXPECT_EQ(lookup(int(by_id), 1), 42u);
  close(dup_fd);
  close(int(by_id));
  EXPECT_FALSE(id_listed(id));
  EXPECT_EQ(fd_by_id(id), -ENOENT);
  // Ids are not reused at once and grow.
  const int again = new_array();
  EXPECT_GT(id_of(again), id);
  close(again);
}

TEST(SysObjects, AProgramHoldsItsMaps) {
  RuntimeDir rt;
  const int map = new_array();
  ASSERT_GE(map, 0);
  ASSERT_EQ(update(map, 0, 7), 0);
  const uint32_t id = id_of(map);
  const int pfd = int(load_prog(Impl::Bpfbox, BPF_PROG_TYPE_XDP, lookup_prog(map, 2)));
  ASSERT_GE(pfd, 0) << bpfbox_bpf_last_error();
  close(map);
  // The program holds the map: its id still opens it, with its contents.
  const long again = fd_by_id(id);
  ASSERT_GE(again, 0) << bpfbox_bpf_last_error();
  EXPECT_EQ(lookup(int(again), 0), 7u);
  close(int(again));
  EXPECT_TRUE(id_listed(id));
  close(pfd);
  EXPECT_FALSE(id_listed(id));
}

// A program deleted from a program array goes with its last fd, as the kernel frees it after a
// grace period, also when the program holds that array itself. Before, the deleted reference
// waited in the array for its next update: the program and the array kept each other for good.
TEST(SysObjects, AProgramDeletedFromItsOwnArrayIsFreed) {
  RuntimeDir rt;
  union bpf_attr c = map_attr(BPF_MAP_TYPE_PROG_ARRAY, 4, 4, 2);
  const int pa = int(bb(BPF_MAP_CREATE, c));
  ASSERT_GE(pa, 0) << bpfbox_bpf_last_error();
  const uint32_t map_id = id_of(pa);
  // tail_call(ctx, pa, 0); return 1
  const int prog = int(
      load_prog(Impl::Bpfbox, BPF_PROG_TYPE_SOCKET_FILTER,
                {I(BPF_LD | BPF_IMM | BPF_DW, 2, BPF_PSEUDO_MAP_FD, 0, pa), I(0, 0, 0, 0, 0),
                 I(BPF_ALU64 | BPF_MOV | BPF_K, 3, 0, 0, 0),
                 I(BPF_JMP | BPF_CALL, 0, 0, 0, BPF_FUNC_tail_call),
                 I(BPF_ALU64 | BPF_MOV | BPF_K, 0, 0, 0, 1), I(BPF_JMP | BPF_EXIT, 0, 0, 0, 0)}));
  ASSERT_GE(prog, 0) << bpfbox_bpf_last_error();
  bpf_prog_info pi{};
  ASSERT_EQ(get_info(Impl::Bpfbox, prog, &pi, sizeof pi), 0);
  uint32_t key = 0, value = uint32_t(prog);
  union bpf_attr u = elem_attr(pa, &key, &value);
  ASSERT_EQ(bb(BPF_MAP_UPDATE_ELEM, u), 0) << bpfbox_bpf_last_error();
  union bpf_attr d = elem_attr(pa, &key, nullptr);
  ASSERT_EQ(bb(BPF_MAP_DELETE_ELEM, d), 0) << bpfbox_bpf_last_error();
  close(prog);
  union bpf_attr a;
  std::memset(&a, 0, sizeof a);
  a.prog_id = pi.id;
  EXPECT_EQ(bb(BPF_PROG_GET_FD_BY_ID, a), -ENOENT);
  close(pa);
  EXPECT_FALSE(id_listed(map_id));
}

// Runs `child` in a forked process; returns its exit status (0: passed).
template <class F>
int in_child(F child) {
  pid_t pid = fork();
  if (pid == 0) {
    int rc = 1;
    try {
      rc = child();
    } catch (...) {
    }
    _exit(rc);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

// SCM_RIGHTS over a unix socket, one byte with the fd: sends `fd` (0 when sent), or with fd -1
// receives one (the new fd, -1 on failure).
int pass_fd(int sock, int fd) {
  char b = 'x';
  char ctl[CMSG_SPACE(sizeof(int))] = {};
  iovec io{&b, 1};
  msghdr m{};
  m.msg_iov = &io;
  m.msg_iovlen = 1;
  m.msg_control = ctl;
  m.msg_controllen = sizeof ctl;
  if (fd < 0) {
    if (recvmsg(sock, &m, 0) != 1 || !CMSG_FIRSTHDR(&m)) return -1;
    int got = -1;
    std::memcpy(&got, CMSG_DATA(CMSG_FIRSTHDR(&m)), sizeof got);
    return got;
  }
  cmsghdr* cm = CMSG_FIRSTHDR(&m);
  cm->cmsg_level = SOL_SOCKET;
  cm->cmsg_type = SCM_RIGHTS;
  cm->cmsg_len = CMSG_LEN(sizeof(int));
  std::memcpy(CMSG_DATA(cm), &fd, sizeof fd);
  return sendmsg(sock, &m, 0) == 1 ? 0 : -1;
}

TEST(SysObjects, FdsCrossForkAndUnixSockets) {
  RuntimeDir rt;
  const int fd = new_array();
  ASSERT_EQ(update(fd, 2, 5), 0);
  // Inherited: the child sees and changes the same map.
  EXPECT_EQ(in_child([&] { return lookup(fd, 2) == 5 && update(fd, 2, 6) == 0 ? 0 : 1; }), 0);
  EXPECT_EQ(lookup(fd, 2), 6u);
  // Passed over a socket to a process that never had it.
  int sv[2];
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
  pid_t pid = fork();
  if (pid == 0) {
    close(sv[0]);
    const int got = pass_fd(sv[1], -1);
    if (got < 0) _exit(2);
    _exit(lookup(got, 2) == 6 && update(got, 3, 9) == 0 ? 0 : 1);
  }
  close(sv[1]);
  ASSERT_EQ(pass_fd(sv[0], fd), 0);
  int status = 0;
  waitpid(pid, &status, 0);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  EXPECT_EQ(lookup(fd, 3), 9u);
  close(sv[0]);
  close(fd);
}

TEST(SysObjects, IdsAreSharedAcrossProcesses) {
  RuntimeDir rt;
  int up[2], down[2];
  ASSERT_EQ(pipe(up), 0);
  ASSERT_EQ(pipe(down), 0);
  pid_t pid = fork();
  if (pid == 0) {
    const int fd = new_array();
    uint32_t id = id_of(fd);
    if (write(up[1], &id, 4) != 4) _exit(2);
    char go;
    if (read(down[0], &go, 1) != 1) _exit(2);  // the parent updated the map meanwhile
    _exit(lookup(fd, 1) == 1234 ? 0 : 1);
  }
  close(up[1]);  // a child that dies early gives EOF, not a hang
  close(down[0]);
  uint32_t child_id = 0;
  ASSERT_EQ(read(up[0], &child_id, 4), 4);
  const int mine = new_array();
  EXPECT_NE(id_of(mine), child_id);  // one id space for both processes
  EXPECT_TRUE(id_listed(child_id));
  const long fd = fd_by_id(child_id);
  ASSERT_GE(fd, 0) << bpfbox_bpf_last_error();
  EXPECT_EQ(update(int(fd), 1, 1234), 0);
  ASSERT_EQ(write(down[1], "g", 1), 1);
  int status = 0;
  waitpid(pid, &status, 0);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  close(int(fd));
  EXPECT_FALSE(id_listed(child_id));  // the child and this fd were the last
  close(mine);
}

long pin(int fd, const char* path) {
  union bpf_attr a;
  std::memset(&a, 0, sizeof a);
  a.bpf_fd = uint32_t(fd);
  a.pathname = reinterpret_cast<uint64_t>(path);
  return bb(BPF_OBJ_PIN, a);
}

long get(const char* path, uint32_t flags = 0) {
  union bpf_attr a;
  std::memset(&a, 0, sizeof a);
  a.pathname = reinterpret_cast<uint64_t>(path);
  a.file_flags = flags;
  return bb(BPF_OBJ_GET, a);
}

TEST(SysObjects, APinnedMapOutlivesItsProcess) {
  RuntimeDir rt;
  int up[2];
  ASSERT_EQ(pipe(up), 0);
  pid_t pid = fork();
  if (pid == 0) {
    const int fd = new_array();
    const long u = update(fd, 1, 77);
    const long p = pin(fd, "/sys/fs/bpf/counts");
    char r = u == 0 && p == 0 ? 'y' : p == -EPERM ? 's' : 'n';
    if (r != 'y') std::fprintf(stderr, "child: %s\n", bpfbox_bpf_last_error());
    if (write(up[1], &r, 1) != 1) _exit(2);
    pause();  // killed by the parent
    _exit(0);
  }
  close(up[1]);
  char r = 0;
  ASSERT_EQ(read(up[0], &r, 1), 1);
  kill(pid, SIGKILL);
  waitpid(pid, nullptr, 0);
  if (r == 's') GTEST_SKIP() << "map storage is a memfd here: maps cannot be pinned";
  ASSERT_EQ(r, 'y');
  const long fd = get("/sys/fs/bpf/counts");
  ASSERT_GE(fd, 0) << bpfbox_bpf_last_error();
  EXPECT_EQ(lookup(int(fd), 1), 77u);
  EXPECT_EQ(update(int(fd), 1, 78), 0);
  // Another process opens the pin and sees the update live.
  EXPECT_EQ(in_child([] {
              const long f = get("/sys/fs/bpf/counts");
              return f >= 0 && lookup(int(f), 1) == 78 ? 0 : 1;
            }),
            0);
  EXPECT_EQ(pin(int(fd), "/sys/fs/bpf/counts"), -EEXIST);
  EXPECT_EQ(pin(int(fd), "/tmp/not-bpffs"), -EPERM);
  EXPECT_EQ(pin(int(fd), "/sys/fs/bpf/no/such/dir"), -ENOENT);
  EXPECT_EQ(get("/sys/fs/bpf/missing"), -ENOENT);
  // A read-only fd from the pin.
  const long ro = get("/sys/fs/bpf/counts", BPF_F_RDONLY);
  ASSERT_GE(ro, 0);
  EXPECT_EQ(update(int(ro), 1, 1), -EPERM);
  EXPECT_EQ(lookup(int(ro), 1), 78u);
  close(int(ro));
  const uint32_t id = id_of(int(fd));
  close(int(fd));
  EXPECT_TRUE(id_listed(id));  // the pin keeps it
  ASSERT_EQ(unlink((rt.path() + "/fs/counts").c_str()), 0);
  EXPECT_FALSE(id_listed(id));
}

// OBJ_GET's file_flags against the pin's mode (path_permission): the owner's bits decide unless
// the caller has the host's DAC override (root, as with the kernel's bpffs: a 0400 pin opens
// read-write), which BPFBOX_UNPRIVILEGED=1 takes away. The fd's mode then limits the commands.
TEST(SysObjects, ObjGetChecksThePinsMode) {
  RuntimeDir rt;
  const int fd = new_array();
  ASSERT_EQ(update(fd, 1, 5), 0);
  const long p = pin(fd, "/sys/fs/bpf/m");
  if (p == -EPERM) GTEST_SKIP() << "map storage is a memfd here: maps cannot be pinned";
  ASSERT_EQ(p, 0) << bpfbox_bpf_last_error();
  close(fd);
  const std::string file = rt.path() + "/fs/m";
  ASSERT_EQ(chmod(file.c_str(), 0400), 0);
  const long rw = get("/sys/fs/bpf/m");
  if (geteuid() == 0) {
    EXPECT_GE(rw, 0) << bpfbox_bpf_last_error();
    close(int(rw));
  } else {
    EXPECT_EQ(rw, -EACCES);
  }
  ASSERT_EQ(setenv("BPFBOX_UNPRIVILEGED", "1", 1), 0);
  EXPECT_EQ(get("/sys/fs/bpf/m"), -EACCES);
  EXPECT_EQ(get("/sys/fs/bpf/m", BPF_F_WRONLY), -EACCES);
  const long ro = get("/sys/fs/bpf/m", BPF_F_RDONLY);
  EXPECT_GE(ro, 0) << bpfbox_bpf_last_error();
  EXPECT_EQ(lookup(int(ro), 1), 5u);
  EXPECT_EQ(update(int(ro), 1, 6), -EPERM);
  ASSERT_EQ(chmod(file.c_str(), 0200), 0);
  EXPECT_EQ(get("/sys/fs/bpf/m", BPF_F_RDONLY), -EACCES);
  const long wo = get("/sys/fs/bpf/m", BPF_F_WRONLY);
  EXPECT_GE(wo, 0) << bpfbox_bpf_last_error();
  EXPECT_EQ(update(int(wo), 1, 7), 0);
  EXPECT_EQ(lookup(int(wo), 1), ~0ull);  // EPERM: a write-only fd
  ASSERT_EQ(chmod(file.c_str(), 0600), 0);
  EXPECT_EQ(lookup(int(ro), 1), 7u);
  ASSERT_EQ(unsetenv("BPFBOX_UNPRIVILEGED"), 0);
  close(int(ro));
  close(int(wo));
}

TEST(SysObjects, APinnedProgramRunsInAnotherProcess) {
  RuntimeDir rt;
  const int map = new_array();
  ASSERT_EQ(update(map, 0, 5), 0);
  // r0 = map[0] (as u32), 0 when absent.
  std::vector<bpf_insn> prog;
  put_map_lookup(prog, map);
  prog.push_back(I(BPF_JMP | BPF_JEQ | BPF_K, 0, 0, 1, 0));
  prog.push_back(I(BPF_LDX | BPF_MEM | BPF_W, 0, 0, 0, 0));
  prog.push_back(I(BPF_JMP | BPF_EXIT, 0, 0, 0, 0));
  const int fd = int(load_prog(Impl::Bpfbox, BPF_PROG_TYPE_SOCKET_FILTER, prog, "pinned"));
  ASSERT_GE(fd, 0) << bpfbox_bpf_last_error();
  ASSERT_EQ(pin(fd, "/sys/fs/bpf/prog"), 0) << bpfbox_bpf_last_error();
  bpf_prog_info mine;
  std::memset(&mine, 0, sizeof mine);
  ASSERT_EQ(get_info(Impl::Bpfbox, fd, &mine, sizeof mine), 0);
  close(fd);
  close(map);  // the program holds it
  EXPECT_EQ(in_child([&] {
              const long f = get("/sys/fs/bpf/prog");
              if (f < 0) return 1;
              bpf_prog_info info;
              std::memset(&info, 0, sizeof info);
              if (get_info(Impl::Bpfbox, int(f), &info, sizeof info) != 0) return 2;
              if (info.id != mine.id || std::memcmp(info.tag, mine.tag, 8) != 0 ||
                  std::strcmp(info.name, "pinned") != 0 || info.nr_map_ids != 1)
                return 3;
              // Verified and compiled again here, over the same map.
              const long ret = test_run(Impl::Bpfbox, f);
              if (ret < 0) {
                std::fprintf(stderr, "child: %s\n", bpfbox_bpf_last_error());
                return 4;
              }
              return ret == 5 ? 0 : 5;
            }),
            0);
}

// A map and a link another process adopts (GET_FD_BY_ID) hold what they held in their maker, as
// the kernel's objects do: after the maker exits, the map's BTF and the link's program (the one
// the maker's last LINK_UPDATE set) are alive (by id), and the program runs.
TEST(SysObjects, AdoptedMapsAndLinksHoldTheirBtfAndProgram) {
  RuntimeDir rt;
  const int ifindex = bpfbox_netdev_add("veth0");
  ASSERT_GT(ifindex, 0);
  int up[2], down[2];
  ASSERT_EQ(pipe(up), 0);
  ASSERT_EQ(pipe(down), 0);
  pid_t pid = fork();
  if (pid == 0) {
    struct btf* b = btf__new_empty();
    const int u32 = btf__add_int(b, "unsigned int", 4, 0);
    const int u64 = btf__add_int(b, "long long unsigned int", 8, 0);
    uint32_t size = 0;
    const void* raw = btf__raw_data(b, &size);
    union bpf_attr a;
    std::memset(&a, 0, sizeof a);
    a.btf = reinterpret_cast<uint64_t>(raw);
    a.btf_size = size;
    const long btf_fd = bb(BPF_BTF_LOAD, a);
    union bpf_attr c = map_attr(BPF_MAP_TYPE_HASH, 4, 8, 4);
    c.btf_fd = uint32_t(btf_fd);
    c.btf_key_type_id = uint32_t(u32);
    c.btf_value_type_id = uint32_t(u64);
    const long map = bb(BPF_MAP_CREATE, c);
    auto returns = [](int32_t verdict) {
      return load_prog(
          Impl::Bpfbox, BPF_PROG_TYPE_XDP,
          {I(BPF_ALU64 | BPF_MOV | BPF_K, 0, 0, 0, verdict), I(BPF_JMP | BPF_EXIT, 0, 0, 0, 0)});
    };
    const long prog = returns(XDP_PASS);
    std::memset(&a, 0, sizeof a);
    a.link_create.prog_fd = uint32_t(prog);
    a.link_create.target_ifindex = uint32_t(ifindex);
    a.link_create.attach_type = BPF_XDP;
    const long link = bb(BPF_LINK_CREATE, a);
    bpf_map_info mi{};
    bpf_link_info li{};
    uint32_t ids[3] = {};
    if (btf_fd >= 0 && map >= 0 && prog >= 0 && link >= 0 &&
        get_info(Impl::Bpfbox, int(map), &mi, sizeof mi) == 0 &&
        get_info(Impl::Bpfbox, int(link), &li, sizeof li) == 0)
      ids[0] = mi.id, ids[1] = li.id, ids[2] = mi.btf_id;
    else
      std::fprintf(stderr, "child: %s\n", bpfbox_bpf_last_error());
    btf__free(b);
    char go = 0;
    if (write(up[1], ids, sizeof ids) != ssize_t(sizeof ids) || read(down[0], &go, 1) != 1)
      _exit(2);
    // The link's program replaced by another (XDP_DROP) just before the maker exits.
    const long drop = returns(XDP_DROP);
    std::memset(&a, 0, sizeof a);
    a.link_update.link_fd = uint32_t(link);
    a.link_update.new_prog_fd = uint32_t(drop);
    _exit(drop >= 0 && bb(BPF_LINK_UPDATE, a) == 0 ? 0 : 3);
  }
  close(up[1]);
  close(down[0]);
  uint32_t ids[3] = {};
  ASSERT_EQ(read(up[0], ids, sizeof ids), ssize_t(sizeof ids));
  ASSERT_NE(ids[2], 0u);
  union bpf_attr a;
  std::memset(&a, 0, sizeof a);
  a.map_id = ids[0];
  const long map = bb(BPF_MAP_GET_FD_BY_ID, a);
  std::memset(&a, 0, sizeof a);
  a.link_id = ids[1];
  const long link = bb(BPF_LINK_GET_FD_BY_ID, a);
  ASSERT_EQ(write(down[1], "g", 1), 1);
  int status = 0;
  waitpid(pid, &status, 0);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  ASSERT_GE(map, 0);
  ASSERT_GE(link, 0);
  // The maker is gone: its map's BTF and its link's program live on.
  bpf_map_info mi{};
  ASSERT_EQ(get_info(Impl::Bpfbox, int(map), &mi, sizeof mi), 0);
  EXPECT_EQ(mi.btf_id, ids[2]);
  std::memset(&a, 0, sizeof a);
  a.btf_id = ids[2];
  const long btf = bb(BPF_BTF_GET_FD_BY_ID, a);
  EXPECT_GE(btf, 0) << bpfbox_bpf_last_error();
  bpf_link_info li{};
  ASSERT_EQ(get_info(Impl::Bpfbox, int(link), &li, sizeof li), 0);
  std::memset(&a, 0, sizeof a);
  a.prog_id = li.prog_id;
  const long prog = bb(BPF_PROG_GET_FD_BY_ID, a);
  ASSERT_GE(prog, 0) << bpfbox_bpf_last_error();
  uint8_t pkt[64] = {};
  std::memset(&a, 0, sizeof a);
  a.test.prog_fd = uint32_t(prog);
  a.test.data_in = reinterpret_cast<uint64_t>(pkt);
  a.test.data_size_in = sizeof pkt;
  EXPECT_EQ(bb(BPF_PROG_TEST_RUN, a), 0) << bpfbox_bpf_last_error();
  EXPECT_EQ(a.test.retval, uint32_t(XDP_DROP));  // the program the maker's LINK_UPDATE put there
  for (long fd : {map, link, btf, prog}) close(int(fd));
}

// A program another process adopts runs its tail calls: the prog array's slots name programs by
// id, resolved in the adopter at attach and, for a slot the maker changes later, when a tail call
// reaches it (before: nothing resolved them through bpf(), so the tail call fell through).
TEST(SysObjects, AnAdoptedProgramsTailCallsReachTheMakersPrograms) {
  RuntimeDir rt;
  int up[2], down[2];
  ASSERT_EQ(pipe(up), 0);
  ASSERT_EQ(pipe(down), 0);
  auto load = [](std::vector<bpf_insn> insns) {
    return load_prog(Impl::Bpfbox, BPF_PROG_TYPE_SOCKET_FILTER, std::move(insns));
  };
  auto returns = [&](int32_t v) {
    return load({I(BPF_ALU64 | BPF_MOV | BPF_K, 0, 0, 0, v), I(BPF_JMP | BPF_EXIT, 0, 0, 0, 0)});
  };
  pid_t pid = fork();
  if (pid == 0) {
    close(up[0]);  // the parent's ends: a parent that fails early gives the child EOF, not a hang
    close(down[1]);
    union bpf_attr c = map_attr(BPF_MAP_TYPE_PROG_ARRAY, 4, 4, 2);
    const long pa = bb(BPF_MAP_CREATE, c);
    const long target = returns(42);
    // tail_call(ctx, pa, 0); return 1
    const long caller =
        load({I(BPF_LD | BPF_IMM | BPF_DW, 2, BPF_PSEUDO_MAP_FD, 0, int32_t(pa)), I(0, 0, 0, 0, 0),
              I(BPF_ALU64 | BPF_MOV | BPF_K, 3, 0, 0, 0),
              I(BPF_JMP | BPF_CALL, 0, 0, 0, BPF_FUNC_tail_call),
              I(BPF_ALU64 | BPF_MOV | BPF_K, 0, 0, 0, 1), I(BPF_JMP | BPF_EXIT, 0, 0, 0, 0)});
    uint32_t key = 1, value = uint32_t(caller);  // a slot naming its own caller
    union bpf_attr u = elem_attr(int(pa), &key, &value);
    const long self = bb(BPF_MAP_UPDATE_ELEM, u);
    key = 0, value = uint32_t(target);
    u = elem_attr(int(pa), &key, &value);
    bpf_prog_info pi{};
    uint32_t id = 0;
    if (pa >= 0 && target >= 0 && caller >= 0 && self == 0 && bb(BPF_MAP_UPDATE_ELEM, u) == 0 &&
        get_info(Impl::Bpfbox, int(caller), &pi, sizeof pi) == 0)
      id = pi.id;
    else
      std::fprintf(stderr, "child: %s\n", bpfbox_bpf_last_error());
    char go = 0;
    if (write(up[1], &id, sizeof id) != ssize_t(sizeof id) || read(down[0], &go, 1) != 1) _exit(2);
    value = uint32_t(returns(7));  // the slot changed after the adopter attached the array
    u = elem_attr(int(pa), &key, &value);
    if (bb(BPF_MAP_UPDATE_ELEM, u) != 0 || write(up[1], &id, sizeof id) != ssize_t(sizeof id) ||
        read(down[0], &go, 1) != 1)
      _exit(3);
    _exit(0);  // keeps the array's fd (a user reference) until the adopter has run
  }
  close(up[1]);
  close(down[0]);
  uint32_t id = 0;
  ASSERT_EQ(read(up[0], &id, sizeof id), ssize_t(sizeof id));
  ASSERT_NE(id, 0u);
  union bpf_attr a;
  std::memset(&a, 0, sizeof a);
  a.prog_id = id;
  const long caller = bb(BPF_PROG_GET_FD_BY_ID, a);
  ASSERT_GE(caller, 0) << bpfbox_bpf_last_error();
  EXPECT_EQ(test_run(Impl::Bpfbox, caller), 42) << bpfbox_bpf_last_error();
  ASSERT_EQ(write(down[1], "g", 1), 1);
  ASSERT_EQ(read(up[0], &id, sizeof id), ssize_t(sizeof id));
  EXPECT_EQ(test_run(Impl::Bpfbox, caller), 7) << bpfbox_bpf_last_error();
  ASSERT_EQ(write(down[1], "g", 1), 1);
  int status = 0;
  waitpid(pid, &status, 0);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  close(int(caller));
}

// A program array is emptied when its last user reference (an fd or a pin, in any process) goes,
// as the kernel's map->usercnt: a program holding the map does not count, so its tail call then
// falls through. The kernel clears from a work queue: its run is polled.
struct TailCall {
  Impl impl;
  long array = -1, target = -1, caller = -1;
  explicit TailCall(Impl i) : impl(i) {
    union bpf_attr c = map_attr(BPF_MAP_TYPE_PROG_ARRAY, 4, 4, 4);
    array = call(impl, BPF_MAP_CREATE, c);
    target = load({I(BPF_ALU64 | BPF_MOV | BPF_K, 0, 0, 0, 7), I(BPF_JMP | BPF_EXIT, 0, 0, 0, 0)});
    caller = load({I(BPF_LD | BPF_DW | BPF_IMM, 2, BPF_PSEUDO_MAP_FD, 0, int32_t(array)),
                   I(0, 0, 0, 0, 0), I(BPF_ALU64 | BPF_MOV | BPF_K, 3, 0, 0, 0),
                   I(BPF_JMP | BPF_CALL, 0, 0, 0, BPF_FUNC_tail_call),
                   I(BPF_ALU64 | BPF_MOV | BPF_K, 0, 0, 0, 1), I(BPF_JMP | BPF_EXIT, 0, 0, 0, 0)});
    uint32_t slot = 0, prog = uint32_t(target);
    union bpf_attr a = elem_attr(int(array), &slot, &prog);
    EXPECT_EQ(call(impl, BPF_MAP_UPDATE_ELEM, a), 0);
    close(int(target));
  }
  ~TailCall() { close(int(caller)); }
  long load(std::vector<bpf_insn> insns) {
    return load_prog(impl, BPF_PROG_TYPE_SOCKET_FILTER, std::move(insns));
  }
  // The caller's return value: 7 from the tail call's target, 1 when it falls through.
  uint32_t run() {
    const long r = test_run(impl, caller);
    EXPECT_GE(r, 0) << bpfbox_bpf_last_error();
    return uint32_t(r);
  }
  uint32_t run_until(uint32_t want) {
    uint32_t r = run();
    for (int i = 0; i < 200 && r != want && impl == Impl::Kernel; i++) {
      usleep(10000);
      r = run();
    }
    return r;
  }
};

TEST(SysObjects, AProgramArrayIsClearedWithItsLastUserReference) {
  RuntimeDir rt;
  for (Impl impl : {Impl::Bpfbox, Impl::Kernel}) {
    if (impl == Impl::Kernel && !kernel_available()) continue;
    SCOPED_TRACE(impl == Impl::Kernel ? "kernel" : "bpfbox");
    TailCall t(impl);
    ASSERT_GE(t.caller, 0) << bpfbox_bpf_last_error();
    // While a user fd is open, a run asks one lock, not every process's fd table.
    const uint64_t walks = sys::fd_walks();
    for (int i = 0; i < 3; i++) EXPECT_EQ(t.run(), 7u);
    EXPECT_EQ(sys::fd_walks(), walks);
    close(int(t.array));  // the program still holds the map, but no user does
    EXPECT_EQ(t.run_until(1), 1u);
  }
  // A pin is a user reference; so is another process's fd.
  TailCall t(Impl::Bpfbox);
  ASSERT_GE(t.caller, 0);
  const long p = pin(int(t.array), "/sys/fs/bpf/jumps");
  if (p == -EPERM) GTEST_SKIP() << "map storage is a memfd here: maps cannot be pinned";
  ASSERT_EQ(p, 0);
  const uint32_t id = id_of(int(t.array));
  close(int(t.array));
  EXPECT_EQ(t.run(), 7u);
  int up[2], down[2];
  ASSERT_EQ(pipe(up), 0);
  ASSERT_EQ(pipe(down), 0);
  pid_t pid = fork();
  if (pid == 0) {
    const long fd = fd_by_id(id);
    // The fd's own flags are the user's business (O_NONBLOCK once marked bpfbox's internal fds).
    char r = fd >= 0 && fcntl(int(fd), F_SETFL, O_NONBLOCK) == 0 ? 'y' : 'n', go = 0;
    if (write(up[1], &r, 1) != 1 || read(down[0], &go, 1) != 1) _exit(2);
    _exit(0);
  }
  char r = 0;
  ASSERT_EQ(read(up[0], &r, 1), 1);
  ASSERT_EQ(r, 'y');
  ASSERT_EQ(unlink((rt.path() + "/fs/jumps").c_str()), 0);
  EXPECT_EQ(t.run(), 7u);  // the child's fd
  ASSERT_EQ(write(down[1], "g", 1), 1);
  waitpid(pid, nullptr, 0);
  EXPECT_EQ(t.run(), 1u);
}

// r0 = bpf_perf_event_output(ctx, arr, 0, fp - 8, 8): an XDP program, its fd or -errno.
long perf_output_prog(Impl impl, long arr) {
  return load_prog(
      impl, BPF_PROG_TYPE_XDP,
      {I(BPF_ST | BPF_MEM | BPF_DW, 10, 0, -8, 7),
       I(BPF_LD | BPF_DW | BPF_IMM, 2, BPF_PSEUDO_MAP_FD, 0, int(arr)), I(0, 0, 0, 0, 0),
       I(BPF_ALU64 | BPF_MOV | BPF_K, 3, 0, 0, 0), I(BPF_ALU64 | BPF_MOV | BPF_X, 4, 10, 0, 0),
       I(BPF_ALU64 | BPF_ADD | BPF_K, 4, 0, 0, -8), I(BPF_ALU64 | BPF_MOV | BPF_K, 5, 0, 0, 8),
       I(BPF_JMP | BPF_CALL, 0, 0, 0, BPF_FUNC_perf_event_output),
       I(BPF_JMP | BPF_EXIT, 0, 0, 0, 0)});
}

// bpf_perf_event_output into a BPF output event is -EOPNOTSUPP while the event is disabled
// (opened with `disabled`, or after PERF_EVENT_IOC_DISABLE), as the kernel's event->oncpu check,
// -ENOSPC while it is enabled but nobody mapped it (no ring buffer yet), and 0 once mapped; the
// same sequence from the kernel, with its own events.
TEST(SysObjects, PerfEventOutputNeedsAnEnabledEvent) {
  RuntimeDir rt;
  const perf_event_attr attr = testsupport::bpf_output_event_attr(/*disabled=*/true);
  auto& events = sys::PerfEvents::get();
  constexpr uint64_t kMmapLen = 2 * 4096;
  void* kernel_ring = MAP_FAILED;
  // An event of this task (any CPU it runs on).
  auto open_event = [&](Impl impl) -> int {
    if (impl == Impl::Kernel)
      return int(syscall(__NR_perf_event_open, &attr, 0, -1, -1, PERF_FLAG_FD_CLOEXEC));
    auto fd = events.open(attr, 0, -1, -1, PERF_FLAG_FD_CLOEXEC);
    return fd ? *fd : -1;
  };
  // Its ring mapped by a consumer: 0 or -1.
  auto map_event = [&](Impl impl, int fd) -> long {
    if (impl == Impl::Kernel) {
      kernel_ring = mmap(nullptr, kMmapLen, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
      return kernel_ring == MAP_FAILED ? -1 : 0;
    }
    return events.mmap_fd(fd, kMmapLen, 0) ? 0 : -1;
  };
  auto ioctl_event = [&](Impl impl, int fd, unsigned long request) {
    if (impl == Impl::Kernel) return long(ioctl(fd, request, 0));
    auto r = events.ioctl(fd, request, 0);
    return r ? long(*r) : -1L;
  };
  auto results = [&](Impl impl) {
    std::vector<long> out;
    const int ev = open_event(impl);
    if (ev < 0) return out;
    union bpf_attr a = map_attr(BPF_MAP_TYPE_PERF_EVENT_ARRAY, 4, 4, 1);
    const long arr = call(impl, BPF_MAP_CREATE, a);
    const uint32_t key = 0;
    union bpf_attr u = elem_attr(int(arr), &key, const_cast<int*>(&ev));
    if (arr < 0 || call(impl, BPF_MAP_UPDATE_ELEM, u) != 0) return out;
    const long prog = perf_output_prog(impl, arr);
    if (prog < 0) return out;
    out.push_back(test_run(impl, prog));  // opened disabled
    out.push_back(ioctl_event(impl, ev, PERF_EVENT_IOC_ENABLE));
    out.push_back(test_run(impl, prog));  // not mapped
    out.push_back(map_event(impl, ev));
    out.push_back(test_run(impl, prog));
    out.push_back(ioctl_event(impl, ev, PERF_EVENT_IOC_DISABLE));
    out.push_back(test_run(impl, prog));
    close(int(prog));
    close(int(arr));
    close(ev);
    return out;
  };
  const long eopnotsupp = long(uint32_t(-EOPNOTSUPP));
  const long enospc = long(uint32_t(-ENOSPC));
  const std::vector<long> want{eopnotsupp, 0, enospc, 0, 0, 0, eopnotsupp};
  EXPECT_EQ(results(Impl::Bpfbox), want) << bpfbox_bpf_last_error();
  if (!kernel_available()) GTEST_SKIP() << "bpf() is refused here: no kernel to compare to";
  EXPECT_EQ(results(Impl::Kernel), want);
  if (kernel_ring != MAP_FAILED) munmap(kernel_ring, kMmapLen);
}

// perf_mmap's sizes: the user page alone or with 2^n data pages (3 is EINVAL), set by the first
// mapping, also of an event a PERF_EVENT_ARRAY took before it was mapped (bpfbox made its ring
// then, of one data page); a later mapping of another size is EINVAL. The samples land in the
// ring of the mapped size.
TEST(SysObjects, PerfEventMmapSizesAsTheKernels) {
  RuntimeDir rt;
  const perf_event_attr attr = testsupport::bpf_output_event_attr();
  auto& events = sys::PerfEvents::get();
  constexpr uint64_t kPage = 4096;
  for_each_impl([&](Impl impl) {
    auto open_event = [&]() -> int {
      if (impl == Impl::Kernel)
        return int(syscall(__NR_perf_event_open, &attr, 0, -1, -1, PERF_FLAG_FD_CLOEXEC));
      auto fd = events.open(attr, 0, -1, -1, PERF_FLAG_FD_CLOEXEC);
      return fd ? *fd : -1;
    };
    // mmap of the event (through the ring's memfd for bpfbox, as the shim maps it); errno set.
    auto map_event = [&](int fd, uint64_t len) -> void* {
      int target = fd;
      if (impl == Impl::Bpfbox) {
        auto ring = events.mmap_fd(fd, len, 0);
        if (!ring) {
          errno = ring.status().err();
          return MAP_FAILED;
        }
        target = *ring;
      }
      return mmap(nullptr, len, PROT_READ | PROT_WRITE, MAP_SHARED, target, 0);
    };
    const int lone = open_event(), odd = open_event(), ev = open_event();
    ASSERT_GE(lone, 0);
    void* user_page = map_event(lone, kPage);
    EXPECT_NE(user_page, MAP_FAILED);
    errno = 0;
    EXPECT_EQ(map_event(odd, 4 * kPage), MAP_FAILED);
    EXPECT_EQ(errno, EINVAL);

    union bpf_attr a = map_attr(BPF_MAP_TYPE_PERF_EVENT_ARRAY, 4, 4, 1);
    const long arr = call(impl, BPF_MAP_CREATE, a);
    const uint32_t key = 0;
    union bpf_attr u = elem_attr(int(arr), &key, const_cast<int*>(&ev));
    ASSERT_EQ(call(impl, BPF_MAP_UPDATE_ELEM, u), 0) << bpfbox_bpf_last_error();
    const long prog = perf_output_prog(impl, arr);
    ASSERT_GE(prog, 0) << bpfbox_bpf_last_error();
    void* ring = map_event(ev, 5 * kPage);
    ASSERT_NE(ring, MAP_FAILED) << std::strerror(errno);
    for (int i = 0; i < 3; i++) EXPECT_EQ(test_run(impl, prog), 0) << bpfbox_bpf_last_error();
    const auto* up = static_cast<const perf_event_mmap_page*>(ring);
    EXPECT_EQ(up->data_size, 4 * kPage);
    EXPECT_EQ(up->data_head, 3 * 24u);  // header, u32 size, 8 bytes padded to 12
    errno = 0;
    EXPECT_EQ(map_event(ev, 3 * kPage), MAP_FAILED);
    EXPECT_EQ(errno, EINVAL);
    munmap(ring, 5 * kPage);
    if (user_page != MAP_FAILED) munmap(user_page, kPage);
    close(int(prog));
    close(int(arr));
    for (int fd : {lone, odd, ev}) close(fd);
  });
}

}  // namespace
}  // namespace bpfbox::systest
