// BPF_MAP_CREATE attribute checks, table-driven; the kernel_diff test replays the same table on
// the kernel.
#include <gtest/gtest.h>

#include "create_cases.hpp"
#include "map_test_util.hpp"

namespace bpfbox::maps::testing {
namespace {

class CreateTest : public ::testing::TestWithParam<CreateCase> {};

TEST_P(CreateTest, ErrnoAsTheKernel) {
  const CreateCase& c = GetParam();
  auto r = Map::create(c.attr());
  EXPECT_EQ(r ? 0 : -r.status().err(), c.expect) << c.name << ": " << r.status().message();
  if (!r) {
    EXPECT_FALSE(r.status().message().empty());
  }
}

INSTANTIATE_TEST_SUITE_P(Cases, CreateTest, ::testing::ValuesIn(kCreateCases),
                         [](const auto& p) { return std::string(p.param.name); });

TEST(CreateRefused, KernelObjectTypesSayWhy) {
  for (uint32_t t :
       {uint32_t(BPF_MAP_TYPE_SOCKMAP), uint32_t(BPF_MAP_TYPE_SOCKHASH),
        uint32_t(BPF_MAP_TYPE_XSKMAP), uint32_t(BPF_MAP_TYPE_CPUMAP),
        uint32_t(BPF_MAP_TYPE_CGROUP_STORAGE), uint32_t(BPF_MAP_TYPE_SK_STORAGE),
        uint32_t(BPF_MAP_TYPE_STRUCT_OPS), uint32_t(BPF_MAP_TYPE_TASK_STORAGE), 33u /* ARENA */}) {
    auto r = Map::create(map_attr(t, 4, 4, 1));
    ASSERT_FALSE(r) << t;
    EXPECT_EQ(r.status().err(), EINVAL);
    EXPECT_NE(r.status().message().find("not supported by bpfbox"), std::string::npos)
        << r.status().message();
  }
  auto r = Map::create(map_attr(40, 4, 4, 1));
  EXPECT_EQ(r.status().err(), EINVAL);
}

TEST(CreateName, KeptAndReported) {
  auto r = Map::create(map_attr(BPF_MAP_TYPE_ARRAY, 4, 8, 4, 0, 0, "counters.v1"));
  ASSERT_TRUE(r) << r.status().message();
  EXPECT_STREQ((*r)->name(), "counters.v1");
}

}  // namespace
}  // namespace bpfbox::maps::testing
