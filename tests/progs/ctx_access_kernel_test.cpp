// The context tables pinned to the kernel: for every offset, size and kind of access (load,
// sign-extending load, store from a register, store of an immediate) of each type's context, a
// one-access program is loaded into the running kernel, and its verdict must be is_valid_access's.
#include <gtest/gtest.h>

#include <sstream>
#include <unistd.h>

#include "bpfbox/prog_type.hpp"
#include "kernel_bpf.hpp"
#include "progs/ctx_insn.hpp"
#include "progs_test_util.hpp"

namespace bpfbox {
namespace {

using progs::raw_insn;

struct Access {
  const char* name;
  AccessType type;
  bool ldsx;
  uint8_t cls;  // BPF_LDX, BPF_STX, BPF_ST
};
constexpr Access kAccesses[] = {
    {"load", AccessType::Read, false, BPF_LDX},
    {"ldsx", AccessType::Read, true, BPF_LDX},
    {"store", AccessType::Write, false, BPF_STX},
    {"store_imm", AccessType::Write, false, BPF_ST},
};

uint8_t size_code(uint32_t bytes) {
  return bytes == 1 ? BPF_B : bytes == 2 ? BPF_H : bytes == 4 ? BPF_W : BPF_DW;
}

// r2 = 0; <access through r1 at off>; r0 = 0; exit
std::vector<bpf_insn> access_prog(const Access& a, int16_t off, uint32_t bytes) {
  std::vector<bpf_insn> p;
  p.push_back(progs::mov64_imm(2, 0));
  if (a.cls == BPF_LDX)
    p.push_back(raw_insn(uint8_t(BPF_LDX | size_code(bytes) | (a.ldsx ? BPF_MEMSX : BPF_MEM)), 2, 1,
                         off, 0));
  else if (a.cls == BPF_STX)
    p.push_back(raw_insn(uint8_t(BPF_STX | size_code(bytes) | BPF_MEM), 1, 2, off, 0));
  else
    p.push_back(raw_insn(uint8_t(BPF_ST | size_code(bytes) | BPF_MEM), 1, 0, off, 7));
  p.push_back(progs::mov64_imm(0, 0));
  p.push_back(raw_insn(BPF_JMP | BPF_EXIT, 0, 0, 0, 0));
  return p;
}

class CtxAccessKernel : public ::testing::TestWithParam<uint32_t> {};

TEST_P(CtxAccessKernel, EveryOffsetSizeAndAccessAgreesWithTheKernel) {
  if (const auto& why = testsupport::kernel_bpf_unavailable()) GTEST_SKIP() << *why;
  const ProgTypeOps* ops = prog_type_ops(GetParam());
  ASSERT_NE(ops, nullptr);
  ProgLoadContext load;
  load.prog_type = ops->prog_type;
  std::ostringstream mismatches;
  int checked = 0, accepted = 0, disagreements = 0;
  for (int32_t off = -8; off < static_cast<int32_t>(ops->ctx_size) + 8; off++) {
    for (uint32_t bytes : {1u, 2u, 4u, 8u}) {
      for (const Access& a : kAccesses) {
        if (a.ldsx && bytes == 8) continue;  // no 64-bit sign-extending load
        CtxAccessInfo info;
        info.is_ldsx = a.ldsx;
        const bool ours = ops->is_valid_access(off, bytes, a.type, load, &info);
        const auto prog = access_prog(a, static_cast<int16_t>(off), bytes);
        std::string log;
        const int fd = testprogs::kernel_load(ops->prog_type, prog, &log);
        if (fd >= 0) close(fd);
        const bool kernel = fd >= 0;
        checked++;
        accepted += kernel;
        if (ours != kernel) {
          disagreements++;
          mismatches << "  " << a.name << " off=" << off << " size=" << bytes << ": kernel "
                     << (kernel ? "accepts" : "refuses") << ", bpfbox "
                     << (ours ? "accepts" : "refuses");
          if (!kernel) {
            const auto cut = log.rfind('\n', log.size() >= 2 ? log.size() - 2 : 0);
            mismatches << " (" << log.substr(cut == std::string::npos ? 0 : cut + 1) << ")";
          }
          mismatches << "\n";
        }
      }
    }
  }
  EXPECT_EQ(disagreements, 0) << ops->name << ": " << disagreements << " of " << checked
                              << " accesses differ\n"
                              << mismatches.str();
  EXPECT_GT(accepted, 0);
  std::printf("%s: %d accesses checked, %d accepted by the kernel\n", ops->name, checked, accepted);
}

INSTANTIATE_TEST_SUITE_P(Types, CtxAccessKernel,
                         ::testing::Values(BPF_PROG_TYPE_SOCKET_FILTER, BPF_PROG_TYPE_SCHED_CLS,
                                           BPF_PROG_TYPE_SCHED_ACT, BPF_PROG_TYPE_XDP),
                         [](const auto& param) {
                           return std::string(prog_type_ops(param.param)->name);
                         });

// The XDP egress_ifindex field exists only for device-map programs.
TEST(CtxAccessKernel, XdpEgressIfindexOnlyForDevmapPrograms) {
  const ProgTypeOps* ops = prog_type_ops(BPF_PROG_TYPE_XDP);
  ProgLoadContext load;
  load.prog_type = BPF_PROG_TYPE_XDP;
  CtxAccessInfo info;
  const int32_t off = offsetof(struct xdp_md, egress_ifindex);
  EXPECT_FALSE(ops->is_valid_access(off, 4, AccessType::Read, load, &info));
  load.expected_attach_type = BPF_XDP_DEVMAP;
  EXPECT_TRUE(ops->is_valid_access(off, 4, AccessType::Read, load, &info));
  if (const auto& why = testsupport::kernel_bpf_unavailable()) GTEST_SKIP() << *why;
  const auto prog = access_prog(kAccesses[0], static_cast<int16_t>(off), 4);
  const int fd = testprogs::kernel_load(BPF_PROG_TYPE_XDP, prog, nullptr, BPF_XDP_DEVMAP);
  EXPECT_GE(fd, 0);
  if (fd >= 0) close(fd);
}

// What the packet fields yield: the reg types the verifier gives the loaded register.
TEST(CtxAccessInfoTest, PacketPointersPerType) {
  ProgLoadContext load;
  auto reg = [&](uint32_t type, int32_t off) {
    load.prog_type = type;
    CtxAccessInfo info;
    EXPECT_TRUE(prog_type_ops(type)->is_valid_access(off, 4, AccessType::Read, load, &info));
    return info.reg_type;
  };
  EXPECT_EQ(reg(BPF_PROG_TYPE_SCHED_CLS, offsetof(__sk_buff, data)), PTR_TO_PACKET);
  EXPECT_EQ(reg(BPF_PROG_TYPE_SCHED_CLS, offsetof(__sk_buff, data_end)), PTR_TO_PACKET_END);
  EXPECT_EQ(reg(BPF_PROG_TYPE_SCHED_ACT, offsetof(__sk_buff, data_meta)), PTR_TO_PACKET_META);
  EXPECT_EQ(reg(BPF_PROG_TYPE_XDP, offsetof(xdp_md, data)), PTR_TO_PACKET);
  EXPECT_EQ(reg(BPF_PROG_TYPE_XDP, offsetof(xdp_md, data_meta)), PTR_TO_PACKET_META);
  EXPECT_EQ(reg(BPF_PROG_TYPE_XDP, offsetof(xdp_md, data_end)), PTR_TO_PACKET_END);
  EXPECT_EQ(reg(BPF_PROG_TYPE_SOCKET_FILTER, offsetof(__sk_buff, len)), SCALAR_VALUE);
  // Narrow loads record the field's size for the verifier's shift and mask.
  load.prog_type = BPF_PROG_TYPE_SOCKET_FILTER;
  CtxAccessInfo info;
  EXPECT_TRUE(
      prog_type_ops(BPF_PROG_TYPE_SOCKET_FILTER)
          ->is_valid_access(offsetof(__sk_buff, protocol) + 2, 2, AccessType::Read, load, &info));
  EXPECT_EQ(info.ctx_field_size, 4u);
}

}  // namespace
}  // namespace bpfbox
