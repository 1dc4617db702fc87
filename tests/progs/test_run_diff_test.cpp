// BPF_PROG_TEST_RUN against the kernel's: each case is a program in the kernel's (UAPI) form, run
// by the kernel and by bpfbox (rewritten onto the internal context with the type's
// convert_ctx_access, on the interpreter and the JIT, checked) with the same data_in, ctx_in and
// output sizes. retval, errno, data_out (after direct writes, skb_store_bytes, the checksum
// helpers, xdp_adjust_head/tail/meta), its size, ctx_out and its size must all agree.
#include <gtest/gtest.h>

#include <unistd.h>

#include <cstring>
#include <string>
#include <vector>

#include "bpfbox/prog_type.hpp"
#include "kernel_bpf.hpp"
#include "packets.hpp"
#include "progs_test_util.hpp"

namespace bpfbox {
namespace {

using testprogs::ipv4_tcp_frame;

struct Case {
  std::string name;
  uint32_t type;
  std::string prog;
  std::vector<uint8_t> data_in = ipv4_tcp_frame();
  std::vector<uint8_t> ctx_in;
  uint32_t data_size_out = 0, ctx_size_out = 0, repeat = 1, flags = 0;
};

std::string str(const std::vector<uint8_t>& v) {
  std::string s;
  char b[4];
  for (uint8_t x : v) {
    std::snprintf(b, sizeof b, "%02x", x);
    s += b;
  }
  return s;
}

template <class T>
std::vector<uint8_t> bytes_of(const T& v) {
  const auto* p = reinterpret_cast<const uint8_t*>(&v);
  return std::vector<uint8_t>(p, p + sizeof v);
}

// Runs one case both ways; returns false when the kernel cannot load the program (test bug).
void check(const Case& c) {
  SCOPED_TRACE(c.name + "\n" + c.prog);
  const auto insns = testprogs::assemble(c.prog);
  std::string log;
  const int fd = testprogs::kernel_load(c.type, insns, &log);
  ASSERT_GE(fd, 0) << "the kernel refuses the case's program:\n" << log;
  TestRunArgs args;
  args.data_in = c.data_in;
  args.ctx_in = c.ctx_in;
  args.data_size_out = c.data_size_out;
  args.ctx_size_out = c.ctx_size_out;
  args.repeat = c.repeat;
  args.flags = c.flags;
  const testprogs::KernelRun k = testprogs::kernel_test_run(fd, args);
  close(fd);
  for (vm::EngineKind engine : {vm::EngineKind::Interp, vm::EngineKind::Jit}) {
    SCOPED_TRACE(engine == vm::EngineKind::Interp ? "interpreter" : "jit");
    auto exe = testprogs::build(c.type, c.prog, engine);
    ASSERT_TRUE(exe) << exe.status().message();
    TestRunProgram prog{.exe = exe->get(), .prog_type = c.type};
    TestRunResult ours;
    const Status st = prog_type_ops(c.type)->test_run(prog, args, ours);
    ASSERT_EQ(st.err(), k.err) << "bpfbox: " << st.message();
    if (k.err && k.err != ENOSPC) continue;
    EXPECT_EQ(ours.retval, k.result.retval);
    EXPECT_EQ(ours.data_size_out, k.result.data_size_out);
    EXPECT_EQ(str(ours.data_out), str(k.result.data_out));
    EXPECT_EQ(ours.ctx_size_out, k.result.ctx_size_out);
    EXPECT_EQ(str(ours.ctx_out), str(k.result.ctx_out));
  }
}

class TestRunDiff : public ::testing::Test {
 protected:
  void SetUp() override {
    if (const auto& why = testsupport::kernel_bpf_unavailable()) GTEST_SKIP() << *why;
  }
};

std::string n(int64_t v) {
  return std::to_string(v);
}

// A ctx_in with every field TEST_RUN takes set.
struct __sk_buff full_skb_ctx() {
  struct __sk_buff s;
  std::memset(&s, 0, sizeof s);
  s.mark = 0x11223344;
  s.priority = 0x55667788;
  s.ingress_ifindex = 7;
  for (int i = 0; i < 5; i++) s.cb[i] = 0x01010101u * (i + 1) + 0x80;
  s.tstamp = 0x0102030405060708ull;
  s.wire_len = 100;
  s.gso_segs = 3;
  s.gso_size = 1400;
  s.hwtstamp = 0x1112131415161718ull;
  return s;
}

// Every readable __sk_buff field at every size and sub-offset the type allows, through
// `r0 = *(uN *)(r1 + off)` (and the upper half of 8-byte fields).
void read_every_skb_field(uint32_t type) {
  const ProgTypeOps* ops = prog_type_ops(type);
  ProgLoadContext load;
  load.prog_type = type;
  const auto ctx = bytes_of(full_skb_ctx());
  int cases = 0;
  for (int32_t off = 0; off < int32_t(sizeof(struct __sk_buff)); off++) {
    for (uint32_t size : {1u, 2u, 4u, 8u}) {
      CtxAccessInfo info;
      if (!ops->is_valid_access(off, size, AccessType::Read, load, &info)) continue;
      if (info.reg_type != SCALAR_VALUE) continue;  // pointers: their own cases below
      const char* sz = size == 1 ? "u8" : size == 2 ? "u16" : size == 4 ? "u32" : "u64";
      std::string prog = "r0 = *(" + std::string(sz) + " *)(r1 + " + n(off) + ")\n";
      if (size == 8) prog += "r0 >>= 8\n";  // the upper bytes too
      prog += "exit\n";
      for (const auto& frame : {ipv4_tcp_frame(), testprogs::with_dst(ipv4_tcp_frame(), 0xff, 0xff),
                                testprogs::with_dst(ipv4_tcp_frame(), 0x02, 0x01),
                                testprogs::with_dst(ipv4_tcp_frame(), 0x01, 0x00),
                                testprogs::with_ethertype(ipv4_tcp_frame(), 0x0040)}) {
        check({.name = "read off " + n(off) + " size " + n(size),
               .type = type,
               .prog = prog,
               .data_in = frame,
               .ctx_in = ctx});
        cases++;
      }
    }
  }
  EXPECT_GT(cases, 100);
}

TEST_F(TestRunDiff, SocketFilterReadsEveryField) {
  read_every_skb_field(BPF_PROG_TYPE_SOCKET_FILTER);
}
TEST_F(TestRunDiff, SchedClsReadsEveryField) {
  read_every_skb_field(BPF_PROG_TYPE_SCHED_CLS);
}

TEST_F(TestRunDiff, SocketFilterPacketAccess) {
  const uint32_t t = BPF_PROG_TYPE_SOCKET_FILTER;
  // LD_ABS reads from the network header.
  check({.name = "ld_abs", .type = t, .prog = "r6 = r1\nr0 = *(u8 *)skb[9]\nexit\n"});
  check({.name = "ld_abs h", .type = t, .prog = "r6 = r1\nr0 = *(u16 *)skb[2]\nexit\n"});
  check({.name = "ld_abs w", .type = t, .prog = "r6 = r1\nr0 = *(u32 *)skb[12]\nexit\n"});
  const std::string load_bytes =
      "r6 = r1\nr3 = r10\nr3 += -8\nr4 = 8\n"
      "r2 = OFF\ncall bpf_skb_load_bytes\nr1 = *(u32 *)(r10 - 8)\nr0 += r1\nexit\n";
  for (int off : {0, 12, 40, 41, 1000}) {
    std::string p = load_bytes;
    p.replace(p.find("OFF"), 3, n(off));
    check({.name = "skb_load_bytes at " + n(off), .type = t, .prog = p});
  }
  // cb writes come back in ctx_out; the Ethernet header comes back zeroed in data_out.
  check({.name = "cb write",
         .type = t,
         .prog = "r2 = 77\n*(u32 *)(r1 + 48) = r2\n*(u16 *)(r1 + 58) = r2\n"
                 "*(u8 *)(r1 + 67) = r2\nr0 = 1\nexit\n",
         .ctx_in = bytes_of(full_skb_ctx()),
         .ctx_size_out = sizeof(struct __sk_buff)});
}

TEST_F(TestRunDiff, SkbErrnoAndSizes) {
  for (uint32_t t : {uint32_t(BPF_PROG_TYPE_SOCKET_FILTER), uint32_t(BPF_PROG_TYPE_SCHED_CLS)}) {
    const std::string ret1 = "r0 = 1\nexit\n";
    check({.name = "13-byte packet",
           .type = t,
           .prog = ret1,
           .data_in = std::vector<uint8_t>(13, 0)});
    check({.name = "14-byte packet",
           .type = t,
           .prog = ret1,
           .data_in = std::vector<uint8_t>(14, 1)});
    check({.name = "3712-byte packet",
           .type = t,
           .prog = ret1,
           .data_in = std::vector<uint8_t>(3712, 2)});
    check({.name = "3713-byte packet",
           .type = t,
           .prog = ret1,
           .data_in = std::vector<uint8_t>(3713, 2)});
    check({.name = "flags", .type = t, .prog = ret1, .flags = 1});
    check({.name = "short data_out", .type = t, .prog = ret1, .data_size_out = 10});
    check({.name = "short ctx_out",
           .type = t,
           .prog = ret1,
           .ctx_in = bytes_of(full_skb_ctx()),
           .ctx_size_out = 20});
    check({.name = "ctx_out only",
           .type = t,
           .prog = ret1,
           .ctx_size_out = sizeof(struct __sk_buff)});
    check({.name = "repeat", .type = t, .prog = ret1, .repeat = 50});
    auto bad = full_skb_ctx();
    bad.len = 1;
    check({.name = "ctx_in len", .type = t, .prog = ret1, .ctx_in = bytes_of(bad)});
    bad = full_skb_ctx();
    bad.tc_index = 1;
    check({.name = "ctx_in tc_index", .type = t, .prog = ret1, .ctx_in = bytes_of(bad)});
    bad = full_skb_ctx();
    bad.ifindex = 99999;
    check({.name = "ctx_in unknown ifindex", .type = t, .prog = ret1, .ctx_in = bytes_of(bad)});
    bad = full_skb_ctx();
    bad.wire_len = 10;
    check({.name = "ctx_in short wire_len", .type = t, .prog = ret1, .ctx_in = bytes_of(bad)});
    bad = full_skb_ctx();
    bad.gso_segs = 70000;
    check({.name = "ctx_in gso_segs", .type = t, .prog = ret1, .ctx_in = bytes_of(bad)});
    auto longer = bytes_of(full_skb_ctx());
    longer.resize(longer.size() + 8, 0);
    check({.name = "ctx_in longer, zero tail",
           .type = t,
           .prog = ret1,
           .ctx_in = longer,
           .ctx_size_out = sizeof(struct __sk_buff)});
    longer.back() = 1;
    check({.name = "ctx_in longer, non-zero tail", .type = t, .prog = ret1, .ctx_in = longer});
    auto shorter = bytes_of(full_skb_ctx());
    shorter.resize(16);
    check({.name = "ctx_in shorter",
           .type = t,
           .prog = ret1,
           .ctx_in = shorter,
           .ctx_size_out = sizeof(struct __sk_buff)});
  }
}

TEST_F(TestRunDiff, SchedClsDirectPacketAccessAndWrites) {
  const uint32_t t = BPF_PROG_TYPE_SCHED_CLS;
  check({.name = "data_end - data",
         .type = t,
         .prog = "r2 = *(u32 *)(r1 + 76)\nr3 = *(u32 *)(r1 + 80)\nr0 = r3\nr0 -= r2\nexit\n"});
  check({.name = "data_meta == data",
         .type = t,
         .prog = "r2 = *(u32 *)(r1 + 76)\nr3 = *(u32 *)(r1 + 140)\nr0 = r2\nr0 -= r3\nexit\n"});
  check({.name = "direct write",
         .type = t,
         .prog = "r2 = *(u32 *)(r1 + 76)\nr3 = *(u32 *)(r1 + 80)\nr4 = r2\nr4 += 34\n"
                 "if r4 > r3 goto out\nr5 = 168496141\n*(u32 *)(r2 + 30) = r5\n"
                 "r0 = *(u8 *)(r2 + 23)\nexit\nout:\nr0 = 0\nexit\n"});
  // Writable fields: written, read back, and copied out where TEST_RUN copies them.
  struct Field {
    int off;
    const char* size;
  };
  for (Field f : {Field{8, "u32"}, Field{44, "u32"}, Field{32, "u32"}, Field{72, "u32"},
                  Field{48, "u32"}, Field{64, "u32"}, Field{152, "u64"}, Field{12, "u32"}}) {
    for (int64_t v : {5, 0xffff, 0x12345678}) {
      check({.name = "write off " + n(f.off) + " = " + n(v),
             .type = t,
             .prog = "r2 = " + n(v) + "\n*(" + f.size + " *)(r1 + " + n(f.off) + ") = r2\n" +
                     "r0 = *(" + f.size + " *)(r1 + " + n(f.off) + ")\nexit\n",
             .ctx_in = bytes_of(full_skb_ctx()),
             .ctx_size_out = sizeof(struct __sk_buff)});
      check({.name = "store imm off " + n(f.off) + " = " + n(v),
             .type = t,
             .prog = "*(" + std::string(f.size) + " *)(r1 + " + n(f.off) + ") = " + n(v) + "\n" +
                     "r0 = *(" + f.size + " *)(r1 + " + n(f.off) + ")\nexit\n",
             .ctx_in = bytes_of(full_skb_ctx()),
             .ctx_size_out = sizeof(struct __sk_buff)});
    }
  }
}

TEST_F(TestRunDiff, SkbStoreBytesAndPull) {
  const uint32_t t = BPF_PROG_TYPE_SCHED_CLS;
  for (int off : {0, 26, 58, 59, 62})
    for (int flags : {0, 1, 2, 3, 4}) {
      check({.name = "skb_store_bytes off " + n(off) + " flags " + n(flags),
             .type = t,
             .prog = "*(u32 *)(r10 - 4) = 16909060\nr2 = " + n(off) +
                     "\nr3 = r10\nr3 += -4\nr4 = 4\nr5 = " + n(flags) +
                     "\ncall bpf_skb_store_bytes\nexit\n"});
    }
  for (int len : {0, 1, 62, 63, 100000})
    check({.name = "skb_pull_data " + n(len),
           .type = t,
           .prog = "r2 = " + n(len) + "\ncall bpf_skb_pull_data\nexit\n"});
}

TEST_F(TestRunDiff, CsumHelpers) {
  const uint32_t t = BPF_PROG_TYPE_SCHED_CLS;
  // Rewrite the source address, then fix the IP (l3) and TCP (l4, pseudo header) checksums.
  const std::string rewrite_src =
      "r6 = r1\n"
      "r1 = r6\nr2 = 26\nr3 = r10\nr3 += -8\nr4 = 4\ncall bpf_skb_load_bytes\n"
      "r8 = *(u32 *)(r10 - 8)\n"
      "*(u32 *)(r10 - 4) = 33663168\n"  // 192.168.1.2 as the bytes c0 a8 01 02
      "r1 = r6\nr2 = 26\nr3 = r10\nr3 += -4\nr4 = 4\nr5 = 0\ncall bpf_skb_store_bytes\n"
      "r9 = *(u32 *)(r10 - 4)\n";
  for (int l3flags : {0, 2, 4, 8}) {
    std::string p = rewrite_src + "r1 = r6\nr2 = 24\nr3 = r8\nr4 = r9\nr5 = " + n(l3flags) +
                    "\ncall bpf_l3_csum_replace\nr7 = r0\n"
                    "r1 = r6\nr2 = 50\nr3 = r8\nr4 = r9\nr5 = " +
                    n(l3flags | BPF_F_PSEUDO_HDR) + "\ncall bpf_l4_csum_replace\nr0 += r7\nexit\n";
    if (l3flags == 0) {  // by difference: from 0, to = csum_diff(old, new)
      p = rewrite_src +
          "*(u32 *)(r10 - 8) = r8\nr1 = r10\nr1 += -8\nr2 = 4\nr3 = r10\nr3 += -4\nr4 = 4\n"
          "r5 = 0\ncall bpf_csum_diff\nr7 = r0\n"
          "r1 = r6\nr2 = 24\nr3 = 0\nr4 = r7\nr5 = 0\ncall bpf_l3_csum_replace\nr8 = r0\n"
          "r1 = r6\nr2 = 50\nr3 = 0\nr4 = r7\nr5 = 16\ncall bpf_l4_csum_replace\nr0 += r8\nexit\n";
    }
    check({.name = "l3/l4 csum replace flags " + n(l3flags), .type = t, .prog = p});
  }
  // Offsets and flags the helpers refuse, and the mangled-zero rules.
  for (const char* args :
       {"r2 = 25\nr3 = 0\nr4 = 0\nr5 = 2\n", "r2 = 70000\nr3 = 0\nr4 = 0\nr5 = 2\n",
        "r2 = 62\nr3 = 0\nr4 = 0\nr5 = 2\n", "r2 = 24\nr3 = 1\nr4 = 0\nr5 = 0\n",
        "r2 = 24\nr3 = 0\nr4 = 0\nr5 = 3\n"}) {
    check({.name = std::string("l3 refused: ") + args,
           .type = t,
           .prog = std::string(args) + "call bpf_l3_csum_replace\nexit\n"});
    check({.name = std::string("l4 refused: ") + args,
           .type = t,
           .prog = std::string(args) + "call bpf_l4_csum_replace\nexit\n"});
  }
  for (int flags : {0x12, 0x32, 0x14, 0x34, 0x214, 0x104})
    check({.name = "l4 flags " + n(flags),
           .type = t,
           .prog = "r2 = 50\nr3 = 4660\nr4 = 22136\nr5 = " + n(flags) +
                   "\ncall bpf_l4_csum_replace\nexit\n"});
  // bpf_csum_diff on its own: from only, to only, both, neither; seeds.
  for (const char* sizes : {"r2 = 8\nr4 = 8\n", "r2 = 0\nr4 = 8\n", "r2 = 8\nr4 = 0\n",
                            "r2 = 0\nr4 = 0\n", "r2 = 4\nr4 = 8\n", "r2 = 3\nr4 = 5\n"})
    for (int64_t seed : {0ll, 1ll, 0xffffll, 0x12345678ll, -1ll})
      for (uint32_t type : {uint32_t(BPF_PROG_TYPE_SCHED_CLS), uint32_t(BPF_PROG_TYPE_XDP)})
        check({.name = std::string("csum_diff ") + sizes + " seed " + n(seed),
               .type = type,
               .prog = "r1 = 0x1122334455667788 ll\n*(u64 *)(r10 - 16) = r1\n"
                       "r1 = 0xfedcba9876543210 ll\n*(u64 *)(r10 - 8) = r1\n"
                       "r1 = r10\nr1 += -16\nr3 = r10\nr3 += -8\n" +
                       std::string(sizes) + "r5 = " + n(seed) + " ll\ncall bpf_csum_diff\nexit\n"});
}

TEST_F(TestRunDiff, Redirect) {
  for (int flags : {0, 1, 2})
    check({.name = "tc redirect flags " + n(flags),
           .type = BPF_PROG_TYPE_SCHED_CLS,
           .prog = "r1 = 1\nr2 = " + n(flags) + "\ncall bpf_redirect\nexit\n"});
  for (int flags : {0, 1})
    check({.name = "xdp redirect flags " + n(flags),
           .type = BPF_PROG_TYPE_XDP,
           .prog = "r1 = 1\nr2 = " + n(flags) + "\ncall bpf_redirect\nexit\n"});
}

TEST_F(TestRunDiff, XdpContextAndErrno) {
  const uint32_t t = BPF_PROG_TYPE_XDP;
  check({.name = "data_end - data",
         .type = t,
         .prog = "r2 = *(u32 *)(r1 + 0)\nr3 = *(u32 *)(r1 + 4)\nr0 = r3\nr0 -= r2\nexit\n"});
  check({.name = "data - data_meta",
         .type = t,
         .prog = "r2 = *(u32 *)(r1 + 0)\nr3 = *(u32 *)(r1 + 8)\nr0 = r2\nr0 -= r3\nexit\n"});
  check({.name = "ingress_ifindex", .type = t, .prog = "r0 = *(u32 *)(r1 + 12)\nexit\n"});
  check({.name = "rx_queue_index", .type = t, .prog = "r0 = *(u32 *)(r1 + 16)\nexit\n"});
  const std::string ret2 = "r0 = 2\nexit\n";
  check({.name = "13 bytes", .type = t, .prog = ret2, .data_in = std::vector<uint8_t>(13, 0)});
  check({.name = "short data_out", .type = t, .prog = ret2, .data_size_out = 20});
  check({.name = "flags", .type = t, .prog = ret2, .flags = 1});
  struct xdp_md md {};
  auto md_case = [&](const std::string& name, xdp_md m, uint32_t ctx_out = sizeof(xdp_md)) {
    check({.name = name,
           .type = t,
           .prog = "r2 = *(u32 *)(r1 + 0)\nr3 = *(u32 *)(r1 + 8)\nr0 = r2\nr0 -= r3\n"
                   "r4 = *(u32 *)(r1 + 12)\nr4 <<= 8\nr0 += r4\nexit\n",
           .ctx_in = bytes_of(m),
           .ctx_size_out = ctx_out});
  };
  md = {};
  md.data = 8, md.data_end = 62;
  md_case("ctx_in 8 bytes of metadata", md);
  md.data = 3;
  md_case("ctx_in unaligned metadata", md);
  md = {};
  md.data_end = 62;
  md.data_meta = 1;
  md_case("ctx_in data_meta", md);
  md = {};
  md.data_end = 70;
  md_case("ctx_in data_end beyond data_in", md);
  md = {};
  md.data_end = 62;
  md.rx_queue_index = 1;
  md_case("ctx_in queue without device", md);
  md.ingress_ifindex = 1;
  md_case("ctx_in loopback queue 1", md);
  md.rx_queue_index = 0;
  md_case("ctx_in loopback queue 0", md);
  md.ingress_ifindex = 99999;
  md_case("ctx_in unknown device", md);
  md = {};
  md.data_end = 62;
  md.egress_ifindex = 1;
  md_case("ctx_in egress_ifindex", md);
  md = {};
  md.data_end = 62;
  md_case("ctx_out short", md, 8);
}

TEST_F(TestRunDiff, XdpAdjustHeadTailMeta) {
  const uint32_t t = BPF_PROG_TYPE_XDP;
  for (int off : {-14, -216, -217, 0, 14, 48, 49, -1000})
    check({.name = "adjust_head " + n(off),
           .type = t,
           .prog = "r2 = " + n(off) + "\ncall bpf_xdp_adjust_head\nexit\n"});
  for (int off : {10, -10, -48, -49, 3458, 3459, 100000})
    check({.name = "adjust_tail " + n(off),
           .type = t,
           .prog = "r2 = " + n(off) + "\ncall bpf_xdp_adjust_tail\nexit\n"});
  struct xdp_md linear {};
  linear.data_end = 62;  // the whole packet linear (a zero data_end would make it a fragment)
  for (int off : {-8, -3, -252, -256, -216, 4, 0})
    check({.name = "adjust_meta " + n(off),
           .type = t,
           .prog = "r6 = r1\nr2 = " + n(off) +
                   "\ncall bpf_xdp_adjust_meta\nif r0 != 0 goto out\n"
                   "r2 = *(u32 *)(r6 + 8)\nr3 = *(u32 *)(r6 + 0)\nr4 = r2\nr4 += 4\n"
                   "if r4 > r3 goto out\nr5 = 287454020\n*(u32 *)(r2 + 0) = r5\nout:\nexit\n",
           .ctx_in = bytes_of(linear),
           .ctx_size_out = sizeof(xdp_md)});
  // Head and meta together: the metadata moves with the head.
  struct xdp_md md {};
  md.data = 8, md.data_end = 62;
  check({.name = "adjust_head with metadata",
         .type = t,
         .prog = "r2 = -20\ncall bpf_xdp_adjust_head\nexit\n",
         .ctx_in = bytes_of(md),
         .ctx_size_out = sizeof md});
  // Repeats run on what the previous run left.
  check({.name = "adjust_head repeated",
         .type = t,
         .prog = "r2 = -4\ncall bpf_xdp_adjust_head\nexit\n",
         .repeat = 10});
  check({.name = "load/store bytes",
         .type = t,
         .prog = "r6 = r1\nr2 = 26\nr3 = r10\nr3 += -8\nr4 = 8\ncall bpf_xdp_load_bytes\n"
                 "r1 = r6\nr2 = 2\nr3 = r10\nr3 += -8\nr4 = 8\ncall bpf_xdp_store_bytes\n"
                 "r7 = r0\nr1 = r6\nr2 = 60\nr3 = r10\nr3 += -8\nr4 = 8\n"
                 "call bpf_xdp_load_bytes\nr0 <<= 8\nr0 += r7\nr1 = r6\ncall bpf_xdp_get_buff_len\n"
                 "exit\n"});
}

// A deliberate difference: a ctx whose data_end leaves part of data_in out of the linear part makes
// the kernel build a multi-buffer frame; bpfbox refuses it with EOPNOTSUPP (docs/progs.md).
TEST_F(TestRunDiff, XdpFragmentsAreRefused) {
  const auto insns = testprogs::assemble("r0 = 2\nexit\n");
  const int fd = testprogs::kernel_load(BPF_PROG_TYPE_XDP, insns);
  ASSERT_GE(fd, 0);
  const auto frame = ipv4_tcp_frame();
  TestRunArgs args;
  args.data_in = frame;
  args.ctx_size_out = sizeof(xdp_md);  // a zero ctx: data_end 0, everything in fragments
  const auto k = testprogs::kernel_test_run(fd, args);
  close(fd);
  EXPECT_EQ(k.err, 0);
  EXPECT_EQ(k.result.data_size_out, frame.size());
  auto exe = testprogs::build(BPF_PROG_TYPE_XDP, "r0 = 2\nexit\n");
  ASSERT_TRUE(exe);
  TestRunResult ours;
  TestRunProgram prog{.exe = exe->get(), .prog_type = BPF_PROG_TYPE_XDP};
  EXPECT_EQ(prog_type_ops(BPF_PROG_TYPE_XDP)->test_run(prog, args, ours).err(), EOPNOTSUPP);
}

}  // namespace
}  // namespace bpfbox
