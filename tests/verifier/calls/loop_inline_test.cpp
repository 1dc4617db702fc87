// bpf_loop inlined as the kernel's inline_bpf_loop(): the xlated program holds the same counted
// loop (compared with the kernel's own xlated program, addresses and call offsets aside), the
// stack gains the 3 slots, and the loop still answers -E2BIG past BPF_MAX_LOOPS on every engine.
#include <sys/syscall.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

#include "bpfbox/prog_type.hpp"
#include "bpfbox/verifier.hpp"
#include "bpfbox/vm.hpp"
#include "isa/assembler.hpp"
#include "kernel_bpf.hpp"
#include "kernel_verifier.hpp"
#include "test_btf.hpp"

namespace bpfbox::calls_test {
namespace {

// bpf_loop(N, cb, fp-8, 0); returns bpf_loop's result. The callback adds its index to fp-8.
std::string loop_text(const char* count) {
  return std::string("r1 = 0\n*(u64 *)(r10 -8) = r1\nr1 = ") + count +
         "\nr2 = subprog[cb]\nr3 = r10\nr3 += -8\nr4 = 0\ncall bpf_loop\nexit\n"
         "cb:\nr3 = *(u64 *)(r2 +0)\nr3 += r1\n*(u64 *)(r2 +0) = r3\nr0 = 0\nexit\n";
}

const std::vector<testsupport::FuncDecl> kFuncs = {{"main", true, "int", {"ctx"}},
                                                   {"cb", false, "int", {"u32", "void*"}}};

struct Loaded {
  std::vector<struct bpf_insn> insns;
  testsupport::ProgBtfBlob btf;
  verifier::VerifyResult r;
};

Loaded load(const std::string& text) {
  Loaded l;
  auto a = isa::assemble(text);
  EXPECT_TRUE(a.is_ok()) << a.status().message();
  if (!a.is_ok()) return l;
  l.insns = a.value();
  l.btf = testsupport::build_prog_btf(kFuncs, {}, BPF_PROG_TYPE_XDP, l.insns);
  verifier::Options opts;
  opts.load.prog_type = BPF_PROG_TYPE_XDP;
  opts.log_level = 1;
  opts.log_size = 1 << 20;
  opts.btf = l.btf.btf;
  opts.func_info = l.btf.func_info.data();
  opts.func_info_cnt = static_cast<uint32_t>(l.btf.func_info.size());
  opts.func_info_rec_size = sizeof(struct bpf_func_info);
  l.r = verifier::verify(l.insns, opts);
  return l;
}

// The instruction's fields but what the kernel's JIT rewrites in its xlated dump (a call's
// offset, moved to off) and addresses (lddw immediates, both halves).
std::string shape(const struct bpf_insn& in) {
  const bool rel_call = in.code == (BPF_JMP | BPF_CALL) && in.src_reg == BPF_PSEUDO_CALL;
  const bool lddw = in.code == (BPF_LD | BPF_IMM | BPF_DW) || in.code == 0;
  char buf[64];
  std::snprintf(buf, sizeof buf, "%02x %u %u %d %d", in.code, in.dst_reg, in.src_reg,
                rel_call ? 0 : in.off, rel_call || lddw ? 0 : in.imm);
  return buf;
}

std::vector<std::string> shapes(const std::vector<struct bpf_insn>& insns) {
  std::vector<std::string> out;
  for (const auto& in : insns) out.push_back(shape(in));
  return out;
}

// The kernel's xlated program of a loaded fd.
std::vector<struct bpf_insn> kernel_xlated(int fd) {
  std::vector<struct bpf_insn> x(4096);
  struct bpf_prog_info info;
  std::memset(&info, 0, sizeof info);
  info.xlated_prog_len = static_cast<uint32_t>(x.size() * sizeof(struct bpf_insn));
  info.xlated_prog_insns = reinterpret_cast<uint64_t>(x.data());
  union bpf_attr attr;
  std::memset(&attr, 0, sizeof attr);
  attr.info.bpf_fd = static_cast<uint32_t>(fd);
  attr.info.info_len = sizeof info;
  attr.info.info = reinterpret_cast<uint64_t>(&info);
  if (syscall(__NR_bpf, BPF_OBJ_GET_INFO_BY_FD, &attr, sizeof attr) != 0) return {};
  x.resize(info.xlated_prog_len / sizeof(struct bpf_insn));
  return x;
}

// The same program and BTF loaded into the kernel (the fd kept).
testsupport::KernelVerdict kernel_load(const Loaded& l) {
  testsupport::KernelLoad kl;
  kl.prog_type = BPF_PROG_TYPE_XDP;
  kl.insns = l.insns;
  kl.btf = l.btf.btf;
  kl.func_info = l.btf.func_info;
  kl.keep_fd = true;
  return testsupport::kernel_verify(kl);
}

uint32_t run(const verifier::Program& prog, vm::EngineKind engine) {
  auto exe = vm::compile(engine, prog.xlated, prog.helpers);
  EXPECT_TRUE(exe.is_ok()) << exe.status().message();
  if (!exe.is_ok()) return ~0u;
  TestRunProgram p{exe.value().get(), BPF_PROG_TYPE_XDP, 0};
  const std::vector<uint8_t> packet(64, 0);
  TestRunArgs args;
  args.data_in = packet;
  TestRunResult result;
  EXPECT_TRUE(prog_type_ops(BPF_PROG_TYPE_XDP)->test_run(p, args, result).is_ok());
  return result.retval;
}

TEST(LoopInline, XlatedIsTheKernelsCountedLoop) {
  Loaded l = load(loop_text("5"));
  ASSERT_TRUE(l.r.status.is_ok()) << l.r.log;
  const verifier::Program& p = *l.r.program;
  // No helper call left: the loop calls the callback (bpf-to-bpf) itself.
  for (const auto& in : p.xlated)
    EXPECT_FALSE(in.code == (BPF_JMP | BPF_CALL) && in.src_reg == 0) << shape(in);
  // 8 bytes of its own, then r6-r8 saved below them.
  ASSERT_EQ(p.subprogs.size(), 2u);
  EXPECT_EQ(p.subprogs[0].stack_depth, 32u);
  for (vm::EngineKind e : {vm::EngineKind::Interp, vm::EngineKind::Jit})
    EXPECT_EQ(run(p, e), 5u) << "engine " << int(e);

  if (auto why = testsupport::kernel_bpf_unavailable()) GTEST_SKIP() << *why;
  const testsupport::KernelVerdict v = kernel_load(l);
  ASSERT_EQ(v.err, 0) << v.log;
  testsupport::KernelProgram kprog(v.fd);
  const auto kx = kernel_xlated(kprog.fd());
  ASSERT_FALSE(kx.empty());
  EXPECT_EQ(shapes(p.xlated), shapes(kx));
}

// Past BPF_MAX_LOOPS (1 << 23) the inlined loop answers -E2BIG (a 32-bit -7, as the kernel's
// inline) without calling the callback; at most 3 iterations run otherwise.
TEST(LoopInline, TooManyLoopsIsE2big) {
  Loaded l = load(loop_text("0x800001"));
  ASSERT_TRUE(l.r.status.is_ok()) << l.r.log;
  for (vm::EngineKind e : {vm::EngineKind::Interp, vm::EngineKind::Jit})
    EXPECT_EQ(run(*l.r.program, e), static_cast<uint32_t>(-E2BIG)) << "engine " << int(e);
}

// A count of 0: as the kernel, the callback is never explored and the loop is inlined anyway;
// the kernel then removes the callback and leaves the loop's call dangling (never run), bpfbox
// keeps it as `r0 = 0; exit`. Otherwise the xlated program is the kernel's, and returns 0.
TEST(LoopInline, ZeroCountInlinesAndStubsTheCallback) {
  Loaded l = load(loop_text("0"));
  ASSERT_TRUE(l.r.status.is_ok()) << l.r.log;
  const verifier::Program& p = *l.r.program;
  ASSERT_EQ(p.subprogs.size(), 2u);
  const std::vector<std::string> stub = {"b7 0 0 0 0", "95 0 0 0 0"};
  const std::vector<std::string> xs = shapes(p.xlated);
  ASSERT_GE(xs.size(), 2u);
  EXPECT_EQ(std::vector<std::string>(xs.end() - 2, xs.end()), stub);
  EXPECT_EQ(p.subprogs[1].start, xs.size() - 2);
  for (vm::EngineKind e : {vm::EngineKind::Interp, vm::EngineKind::Jit})
    EXPECT_EQ(run(p, e), 0u) << "engine " << int(e);

  if (auto why = testsupport::kernel_bpf_unavailable()) GTEST_SKIP() << *why;
  const testsupport::KernelVerdict v = kernel_load(l);
  ASSERT_EQ(v.err, 0) << v.log;
  testsupport::KernelProgram kprog(v.fd);
  EXPECT_EQ(std::vector<std::string>(xs.begin(), xs.end() - 2), shapes(kernel_xlated(kprog.fd())));
  auto kr = testsupport::kernel_test_run(kprog, std::vector<uint8_t>(64, 0));
  ASSERT_TRUE(kr.is_ok()) << kr.status().message();
  EXPECT_EQ(kr.value().retval, 0u);
}

// Two paths passing different callbacks: the helper call stays (as the kernel's fit_for_inline).
TEST(LoopInline, DifferentCallbacksKeepTheHelper) {
  const std::string text =
      "call bpf_get_prandom_u32\nr1 = 3\nr2 = subprog[cb]\nif r0 == 0 goto +2\n"
      "r2 = subprog[cb2]\nr1 = 3\nr3 = 0\nr4 = 0\ncall bpf_loop\nexit\n"
      "cb:\nr0 = 0\nexit\ncb2:\nr0 = 1\nexit\n";
  auto a = isa::assemble(text);
  ASSERT_TRUE(a.is_ok()) << a.status().message();
  const auto btf = testsupport::build_prog_btf({{"main", true, "int", {"ctx"}},
                                                {"cb", false, "int", {"u32", "void*"}},
                                                {"cb2", false, "int", {"u32", "void*"}}},
                                               {}, BPF_PROG_TYPE_XDP, a.value());
  verifier::Options opts;
  opts.load.prog_type = BPF_PROG_TYPE_XDP;
  opts.btf = btf.btf;
  opts.func_info = btf.func_info.data();
  opts.func_info_cnt = static_cast<uint32_t>(btf.func_info.size());
  opts.func_info_rec_size = sizeof(struct bpf_func_info);
  const verifier::VerifyResult r = verifier::verify(a.value(), opts);
  ASSERT_TRUE(r.status.is_ok()) << r.log;
  int helper_calls = 0;
  for (const auto& in : r.program->xlated)
    helper_calls += in.code == (BPF_JMP | BPF_CALL) && in.src_reg == 0;
  EXPECT_EQ(helper_calls, 2);  // get_prandom_u32 and bpf_loop
  EXPECT_EQ(r.program->subprogs[0].stack_depth, 0u);
}

}  // namespace
}  // namespace bpfbox::calls_test
