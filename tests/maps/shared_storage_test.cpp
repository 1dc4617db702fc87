// Maps live in a memfd: another process attaches and sees, and changes, the same contents.
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <cstdlib>
#include <string>

#include <gtest/gtest.h>

#include "map_test_util.hpp"
#include "maps/map_ops.hpp"
#include "maps/run_domain.hpp"

namespace bpfbox::maps::testing {
namespace {

void child_updates(int memfd) {
  auto m = Map::attach(memfd);
  if (!m) _exit(10);
  for (uint32_t k = 0; k < 100; ++k) {
    uint64_t v = k * 3;
    if (!(*m)->update(&k, &v)) _exit(11);
  }
  uint32_t k = 1000;
  uint64_t v;
  if ((*m)->lookup(&k, &v).err() != 0 || v != 77) _exit(12);
  _exit(0);
}

void run_child(const std::shared_ptr<Map>& m) {
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) child_updates(m->memfd());
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status));
  ASSERT_EQ(WEXITSTATUS(status), 0);
}

TEST(SharedStorage, HashSeenAcrossProcesses) {
  auto m = make_map(BPF_MAP_TYPE_HASH, 4, 8, 2048);
  uint32_t k = 1000;
  uint64_t v = 77;
  ASSERT_TRUE(m->update(&k, &v));
  run_child(m);
  for (k = 0; k < 100; ++k) {
    ASSERT_TRUE(m->lookup(&k, &v)) << k;
    EXPECT_EQ(v, k * 3);
  }
}

TEST(SharedStorage, ArraySeenAcrossProcesses) {
  auto m = make_map(BPF_MAP_TYPE_ARRAY, 4, 8, 2048);
  uint32_t k = 1000;
  uint64_t v = 77;
  ASSERT_TRUE(m->update(&k, &v));
  run_child(m);
  k = 99;
  ASSERT_TRUE(m->lookup(&k, &v));
  EXPECT_EQ(v, 99u * 3);
}

TEST(SharedStorage, AttachRejectsOtherFds) {
  int fd = memfd_create("not-a-map", 0);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(ftruncate(fd, 4096), 0);
  auto m = Map::attach(fd);
  EXPECT_EQ(m.status().err(), EINVAL);
  close(fd);
}

// A temporary directory, removed with what is left in it.
struct TempDir {
  std::string path;
  explicit TempDir(const char* base) {
    std::string t = std::string(base) + "/bpfbox-maps-XXXXXX";
    if (mkdtemp(t.data())) path = t;
  }
  ~TempDir() {
    if (path.empty()) return;
    std::string cmd = "rm -rf '" + path + "'";
    if (std::system(cmd.c_str()) != 0) {
    }
  }
};

// Restores memfd storage when a test ends, whatever it asserted.
struct StorageDirGuard {
  ~StorageDirGuard() { (void)set_storage_dir(""); }
};

// Pinning: a map created in a storage directory is an unnamed file; linking it to a name keeps it
// after every fd and mapping is gone, and any process that opens the name attaches to the same
// contents. On tmpfs (/dev/shm, where a bpffs-like tree would live) and on the root file system.
TEST(SharedStorage, StorageDirMapsCanBeLinkedAndReattached) {
  for (const char* base : {"/dev/shm", "/tmp"}) {
    TempDir dir(base);
    ASSERT_FALSE(dir.path.empty()) << base;
    StorageDirGuard guard;
    ASSERT_TRUE(set_storage_dir(dir.path)) << base;
    std::string name = dir.path + "/pinned_hash";
    {
      auto m = make_map(BPF_MAP_TYPE_HASH, 4, 8, 256);
      ASSERT_TRUE(m);
      for (uint32_t k = 0; k < 200; ++k) {
        uint64_t v = k * 7 + 1;
        ASSERT_TRUE(m->update(&k, &v));
      }
      Status st = link_storage(*m, name);
      ASSERT_TRUE(st) << st.message();
      EXPECT_EQ(link_storage(*m, name).err(), EEXIST);
    }  // the map, its fd and its mapping are gone; the name holds the file
    pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {  // another process: open the name, attach, read and write
      int fd = open(name.c_str(), O_RDWR | O_CLOEXEC);
      if (fd < 0) _exit(10);
      auto m = Map::attach(fd);
      close(fd);
      if (!m) _exit(11);
      for (uint32_t k = 0; k < 200; ++k) {
        uint64_t v = 0;
        if (!(*m)->lookup(&k, &v) || v != k * 7 + 1) _exit(12);
      }
      uint32_t k = 500;
      uint64_t v = 5;
      if (!(*m)->update(&k, &v)) _exit(13);
      _exit(0);
    }
    int status = 0;
    ASSERT_EQ(waitpid(pid, &status, 0), pid);
    ASSERT_TRUE(WIFEXITED(status));
    ASSERT_EQ(WEXITSTATUS(status), 0) << base;
    int fd = open(name.c_str(), O_RDWR | O_CLOEXEC);
    ASSERT_GE(fd, 0);
    auto m = Map::attach(fd);
    close(fd);
    ASSERT_TRUE(m);
    uint32_t k = 500;
    uint64_t v = 0;
    ASSERT_TRUE((*m)->lookup(&k, &v));
    EXPECT_EQ(v, 5u);
    EXPECT_EQ((*m)->max_entries(), 256u);
  }
}

TEST(SharedStorage, MemfdStorageCannotBeLinked) {
  TempDir dir("/tmp");
  auto m = make_map(BPF_MAP_TYPE_ARRAY, 4, 8, 4);
  ASSERT_TRUE(m);
  Status st = link_storage(*m, dir.path + "/x");
  EXPECT_FALSE(st);
  EXPECT_NE(st.message().find("memfd"), std::string::npos) << st.message();
  EXPECT_EQ(set_storage_dir(dir.path + "/missing").err(), ENOENT);
}

// A one-byte message channel between a test and its child.
struct Pipe {
  int fd[2] = {-1, -1};
  Pipe() {
    if (pipe(fd) != 0) fd[0] = fd[1] = -1;
  }
  ~Pipe() {
    for (int f : fd)
      if (f >= 0) close(f);
  }
  void send(char c) const {
    if (write(fd[1], &c, 1) != 1) _exit(90);
  }
  char recv() const {
    char c = 0;
    if (read(fd[0], &c, 1) != 1) return 0;
    return c;
  }
};

// A process forked before the map existed: it attaches the pinned map by its name, which makes
// it join the storage directory's run domain (it opens the domain file itself), starts a run and
// holds a pointer to key 1's value. 'r' when it holds it; then, on 'c', reports whether the
// value is still 111.
[[noreturn]] void hold_value_in_run(const std::string& name, const Pipe& in, const Pipe& out) {
  if (in.recv() != 'm') _exit(11);
  int fd = open(name.c_str(), O_RDWR | O_CLOEXEC);
  if (fd < 0) _exit(12);
  auto m = Map::attach(fd);
  close(fd);
  if (!m) _exit(13);
  RunSlot run;
  uint32_t k = 1;
  auto* p = static_cast<volatile uint64_t*>((*m)->prog_lookup(&k, run.cpu()));
  if (!p || *p != 111) _exit(14);
  out.send('r');
  while (in.recv() == 'c') out.send(*p == 111 ? 'y' : 'n');
  _exit(0);
}

// Deletes and re-inserts key 1 `n` times with other values: each round retires an element.
void churn(Map& m, uint32_t n) {
  for (uint32_t i = 0; i < n; ++i) {
    uint32_t k = 1;
    uint64_t v = 1000 + i;
    ASSERT_TRUE(m.delete_elem(&k)) << i;
    ASSERT_TRUE(m.update(&k, &v, BPF_NOEXIST)) << i;
  }
}

struct CrossProcess {
  TempDir dir{"/dev/shm"};
  StorageDirGuard guard;
  std::string name = dir.path + "/pinned";
  Pipe to_child, to_parent;
  pid_t child = -1;

  // Forks the run-holding process, then creates and pins the map (capacity: 64 + slack).
  std::shared_ptr<Map> start() {
    child = fork();
    if (child == 0) hold_value_in_run(name, to_child, to_parent);
    if (child < 0 || !set_storage_dir(dir.path)) return nullptr;
    auto m = make_map(BPF_MAP_TYPE_HASH, 4, 8, 64);
    uint32_t k = 1;
    uint64_t v = 111;
    if (!m || !m->update(&k, &v) || !link_storage(*m, name)) return nullptr;
    to_child.send('m');
    if (to_parent.recv() != 'r') return nullptr;
    return m;
  }
  int wait_child() {
    int status = 0;
    if (waitpid(child, &status, 0) != child) return -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }
};

// A run in one process keeps the element it looked up while another process deletes and
// re-inserts its key; once the run ends, the deleting process reuses the elements.
TEST(SharedStorage, RunInOneProcessHoldsBackReuseInAnother) {
  CrossProcess cp;
  auto m = cp.start();
  ASSERT_TRUE(m);
  churn(*m, 300);  // fewer than the pool's slack: no wait for the run
  cp.to_child.send('c');
  EXPECT_EQ(cp.to_parent.recv(), 'y') << "the run's value was reused under it";
  cp.to_child.send('x');  // the run ends
  EXPECT_EQ(cp.wait_child(), 0);
  churn(*m, 2000);  // more than the pool holds: retired elements must come back
  uint32_t k = 1;
  uint64_t v = 0;
  ASSERT_TRUE(m->lookup(&k, &v));
  EXPECT_EQ(v, 1000u + 1999);
}

// A process killed in the middle of a run does not hold back reclamation for ever: its slot is
// taken back (dead owner: the pid is gone, a zombie, or reused by another process).
TEST(SharedStorage, KilledRunDoesNotBlockReclamation) {
  CrossProcess cp;
  auto m = cp.start();
  ASSERT_TRUE(m);
  ASSERT_EQ(kill(cp.child, SIGKILL), 0);
  alarm(60);        // a hang fails the test instead of the CI job
  churn(*m, 1000);  // the child is a zombie now: its slot must be reaped
  EXPECT_EQ(cp.wait_child(), 128 + SIGKILL);
  churn(*m, 1000);
  alarm(0);
  EXPECT_EQ(RunDomain::process().reusable_below(), UINT64_MAX) << "a slot is still announced";
}

// A process killed while it holds a bucket lock (SIGKILL between lock and unlock) blocks nobody
// for ever: the next updater finds the holder dead (a zombie here: not yet waited for) and takes
// the lock over. Before the lock word held the holder's pid, the update spun for ever.
TEST(SharedStorage, LockOfAKilledProcessIsTakenOver) {
  auto m = make_map(BPF_MAP_TYPE_HASH, 4, 8, 16);
  ASSERT_TRUE(m);
  uint32_t k = 1;
  uint64_t v = 1;
  int p[2];
  ASSERT_EQ(pipe(p), 0);
  pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    hash_bucket_lock(*m, &k).lock();  // and never unlocks
    char c = 'l';
    if (write(p[1], &c, 1) != 1) _exit(1);
    pause();
    _exit(0);
  }
  char c = 0;
  ASSERT_EQ(read(p[0], &c, 1), 1);
  close(p[0]);
  close(p[1]);
  ASSERT_EQ(kill(child, SIGKILL), 0);
  alarm(60);  // a hang fails the test instead of the CI job
  auto start = std::chrono::steady_clock::now();
  EXPECT_TRUE(m->update(&k, &v));
  double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  alarm(0);
  EXPECT_LT(s, 5.0) << "the takeover should come after about a thousand yields";
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  EXPECT_TRUE(m->lookup(&k, &v));
}

}  // namespace
}  // namespace bpfbox::maps::testing
