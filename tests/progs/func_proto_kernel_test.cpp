// The helper lists pinned to the kernel: for every helper id, a program calling it is loaded into
// the running kernel as each type. bpfbox must offer no helper the kernel refuses for the type
// (the kernel says "program of this type cannot use helper"), must offer every helper the issue
// names, and prototypes must carry the kernel's ids and names.
#include <gtest/gtest.h>

#include <unistd.h>

#include <set>
#include <string>

#include "bpfbox/prog_type.hpp"
#include "helpers/protos.hpp"
#include "kernel_bpf.hpp"
#include "progs/ctx_insn.hpp"
#include "progs_test_util.hpp"

namespace bpfbox {
namespace {

// The kernel's verdict on `call id` for the type: true when the type may call the helper (the
// load then fails on the arguments, or succeeds).
bool kernel_allows(uint32_t prog_type, uint32_t id) {
  const bpf_insn prog[] = {progs::raw_insn(BPF_JMP | BPF_CALL, 0, 0, 0, static_cast<int32_t>(id)),
                           progs::mov64_imm(0, 0), progs::raw_insn(BPF_JMP | BPF_EXIT, 0, 0, 0, 0)};
  std::string log;
  const int fd = testprogs::kernel_load(prog_type, prog, &log);
  if (fd >= 0) {
    close(fd);
    return true;
  }
  return log.find("cannot use helper") == std::string::npos &&
         log.find("unknown func") == std::string::npos &&
         log.find("invalid func") == std::string::npos;
}

struct TypeHelpers {
  uint32_t prog_type;
  std::set<uint32_t> required;  // what issue 4 asks each type to have
};

const std::set<uint32_t> kBase = {BPF_FUNC_map_lookup_elem, BPF_FUNC_map_update_elem,
                                  BPF_FUNC_map_delete_elem, BPF_FUNC_map_push_elem,
                                  BPF_FUNC_map_pop_elem,    BPF_FUNC_map_peek_elem,
                                  BPF_FUNC_tail_call,       BPF_FUNC_ktime_get_ns,
                                  BPF_FUNC_get_prandom_u32, BPF_FUNC_get_smp_processor_id,
                                  BPF_FUNC_trace_printk,    BPF_FUNC_ringbuf_output,
                                  BPF_FUNC_ringbuf_reserve, BPF_FUNC_ringbuf_submit,
                                  BPF_FUNC_ringbuf_discard, BPF_FUNC_ringbuf_query};

std::set<uint32_t> with(std::set<uint32_t> s, std::initializer_list<uint32_t> more) {
  s.insert(more);
  return s;
}

class FuncProtoKernel : public ::testing::TestWithParam<uint32_t> {};

TEST_P(FuncProtoKernel, OffersOnlyWhatTheKernelAllowsAndWhatTheIssueNeeds) {
  const uint32_t type = GetParam();
  const ProgTypeOps* ops = prog_type_ops(type);
  ASSERT_NE(ops, nullptr);
  ProgLoadContext load;
  load.prog_type = type;
  std::set<uint32_t> required = kBase;
  if (type == BPF_PROG_TYPE_SOCKET_FILTER) required = with(kBase, {BPF_FUNC_skb_load_bytes});
  if (type == BPF_PROG_TYPE_SCHED_CLS || type == BPF_PROG_TYPE_SCHED_ACT)
    required = with(kBase, {BPF_FUNC_skb_load_bytes, BPF_FUNC_skb_store_bytes, BPF_FUNC_redirect,
                            BPF_FUNC_csum_diff, BPF_FUNC_l3_csum_replace, BPF_FUNC_l4_csum_replace,
                            BPF_FUNC_skb_pull_data, BPF_FUNC_get_hash_recalc});
  if (type == BPF_PROG_TYPE_XDP)
    required =
        with(kBase, {BPF_FUNC_xdp_adjust_head, BPF_FUNC_xdp_adjust_tail, BPF_FUNC_xdp_adjust_meta,
                     BPF_FUNC_redirect, BPF_FUNC_redirect_map, BPF_FUNC_csum_diff});
  for (uint32_t id : required) {
    const HelperProto* p = ops->get_func_proto(id, load);
    ASSERT_NE(p, nullptr) << ops->name << " lacks helper " << id;
    EXPECT_EQ(p->func_id, id);
    EXPECT_TRUE(p->fn || id == BPF_FUNC_tail_call) << p->name;
  }
  if (const auto& why = testsupport::kernel_bpf_unavailable()) GTEST_SKIP() << *why;
  int ours = 0, kernel = 0;
  std::string kernel_only;
  for (uint32_t id = 1; id < __BPF_FUNC_MAX_ID; id++) {
    const bool k = kernel_allows(type, id);
    const bool b = ops->get_func_proto(id, load) != nullptr;
    kernel += k;
    ours += b;
    EXPECT_TRUE(k || !b) << ops->name << ": bpfbox offers helper " << id
                         << " which the kernel refuses for this type";
    if (k && !b) kernel_only += " " + std::to_string(id);
  }
  std::printf("%s: bpfbox offers %d helpers, the kernel %d (not in bpfbox:%s)\n", ops->name, ours,
              kernel, kernel_only.c_str());
}

INSTANTIATE_TEST_SUITE_P(Types, FuncProtoKernel,
                         ::testing::Values(BPF_PROG_TYPE_SOCKET_FILTER, BPF_PROG_TYPE_SCHED_CLS,
                                           BPF_PROG_TYPE_SCHED_ACT, BPF_PROG_TYPE_XDP),
                         [](const auto& param) {
                           return std::string(prog_type_ops(param.param)->name);
                         });

// bpf_base_func_proto's privilege split: unprivileged loads lose the perfmon helpers.
TEST(FuncProto, UnprivilegedLoadsLoseTracePrintk) {
  for (uint32_t type : {BPF_PROG_TYPE_SOCKET_FILTER, BPF_PROG_TYPE_SCHED_CLS, BPF_PROG_TYPE_XDP}) {
    ProgLoadContext load;
    load.prog_type = type;
    EXPECT_NE(prog_type_ops(type)->get_func_proto(BPF_FUNC_trace_printk, load), nullptr);
    load.privileged = false;
    EXPECT_EQ(prog_type_ops(type)->get_func_proto(BPF_FUNC_trace_printk, load), nullptr);
    EXPECT_NE(prog_type_ops(type)->get_func_proto(BPF_FUNC_map_lookup_elem, load), nullptr);
  }
}

// The prototypes the verifier checks calls against, as the kernel's.
TEST(FuncProto, PrototypesAsTheKernels) {
  using namespace helpers;
  EXPECT_EQ(kMapLookupElemProto.ret_type, RET_PTR_TO_MAP_VALUE_OR_NULL);
  EXPECT_EQ(kMapLookupElemProto.arg_type[0], ARG_CONST_MAP_PTR);
  EXPECT_EQ(kMapLookupElemProto.arg_type[1], ARG_PTR_TO_MAP_KEY);
  EXPECT_TRUE(kMapLookupElemProto.pkt_access);
  EXPECT_TRUE(kTracePrintkProto.gpl_only);
  EXPECT_EQ(kRingbufReserveProto.ret_type, RET_PTR_TO_RINGBUF_MEM_OR_NULL);
  EXPECT_EQ(kRingbufSubmitProto.arg_type[0], uint32_t(ARG_PTR_TO_RINGBUF_MEM) | OBJ_RELEASE);
  EXPECT_EQ(kTailCallProto.map_types, map_type_bit(BPF_MAP_TYPE_PROG_ARRAY));
  EXPECT_EQ(kSkbLoadBytesProto.arg_type[2], ARG_PTR_TO_UNINIT_MEM);
  for (const HelperProto* p :
       {&kSkbStoreBytesProto, &kL3CsumReplaceProto, &kL4CsumReplaceProto, &kXdpAdjustHeadProto,
        &kXdpAdjustTailProto, &kXdpAdjustMetaProto, &kSkbPullDataProto})
    EXPECT_TRUE(p->changes_pkt_data && helper_changes_pkt_data(p->func_id)) << p->name;
  EXPECT_FALSE(helper_changes_pkt_data(BPF_FUNC_map_lookup_elem));
  EXPECT_TRUE(kXdpRedirectMapProto.map_types & map_type_bit(BPF_MAP_TYPE_DEVMAP_HASH));
}

}  // namespace
}  // namespace bpfbox
