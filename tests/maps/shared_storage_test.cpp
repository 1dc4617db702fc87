// Maps live in a memfd: another process attaches and sees, and changes, the same contents.
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "map_test_util.hpp"

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

}  // namespace
}  // namespace bpfbox::maps::testing
