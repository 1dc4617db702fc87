// bpf_trace_printk: the kernel's format rules, -EINVAL for what it refuses, output to the sink.
#include <gtest/gtest.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <vector>

#include "bpfbox/vm.hpp"
#include "helpers/core.hpp"
#include "helpers/trace_printk.hpp"
#include "isa/decoder.hpp"

namespace bpfbox::helpers {
namespace {

uint64_t addr(const void* p) {
  return reinterpret_cast<uint64_t>(p);
}

// Formats fmt (its size includes the NUL, as programs pass sizeof(fmt)) in unchecked mode.
std::string format(const char* fmt, uint64_t a1 = 0, uint64_t a2 = 0, uint64_t a3 = 0,
                   int64_t* ret = nullptr) {
  const uint64_t args[3] = {a1, a2, a3};
  std::string out;
  const int64_t n = format_trace_printk(addr(fmt), std::strlen(fmt) + 1, args, nullptr, out);
  if (ret) *ret = n;
  if (n < 0) return "error " + std::to_string(n);
  EXPECT_EQ(static_cast<size_t>(n), out.size());
  return out;
}

TEST(TracePrintk, FormatsIntegersAtTheirSizes) {
  EXPECT_EQ(format("a=%d b=%i c=%u\n", 0xffffffffu, 7, 0xffffffffu), "a=-1 b=7 c=4294967295\n");
  EXPECT_EQ(format("%x %ld %lu", 0x1234abcdu, ~0ull, ~0ull), "1234abcd -1 18446744073709551615");
  EXPECT_EQ(format("%lx %lld %llu", 0x1122334455667788ull, -5ll, 5), "1122334455667788 -5 5");
  EXPECT_EQ(format("%llx %X", 0xabcull, 0xabc), "abc ABC");
  EXPECT_EQ(format("%d", 0x1'0000'0002ull), "2");  // %d takes the low 32 bits
}

TEST(TracePrintk, FlagsAndWidth) {
  EXPECT_EQ(format("[%5d][%-4u][%08x]", 42, 7, 0xbeef), "[   42][7   ][0000beef]");
  EXPECT_EQ(format("[%+d][% d][%-3c]", 3, 4, 'z'), "[+3][ 4][z  ]");
}

TEST(TracePrintk, CharsStringsPointersAndPercent) {
  const char name[] = "bpfbox";
  EXPECT_EQ(format("%c%c %s 100%%", 'o', 'k', addr(name)), "ok bpfbox 100%");
  EXPECT_EQ(format("%p", 0x1234), "0000000000001234");
  EXPECT_EQ(format("%px.", 0xffff888000000000ull), "ffff888000000000.");
  EXPECT_EQ(format("[%s]", 0), "[]");  // an unreadable string prints empty, as the kernel's
}

TEST(TracePrintk, IpAddresses) {
  const uint8_t v4[4] = {192, 168, 1, 10};
  uint8_t v6[16] = {0x20, 0x01, 0x0d, 0xb8};
  v6[15] = 1;
  EXPECT_EQ(format("%pI4 %pi4", addr(v4), addr(v4)), "192.168.1.10 192.168.001.010");
  EXPECT_EQ(format("%pI6", addr(v6)), "2001:0db8:0000:0000:0000:0000:0000:0001");
  EXPECT_EQ(format("%pi6", addr(v6)), "20010db8000000000000000000000001");
}

TEST(TracePrintk, RefusesWhatTheKernelRefuses) {
  for (const char* bad :
       {"%d %d %d %d", "%q", "%hd", "%f", "%5.2d", "%sfoo", "%pZ", "%lllx", "%", "tab\x01", "%n"}) {
    int64_t ret = 0;
    format(bad, 1, 2, 3, &ret);
    EXPECT_EQ(ret, -EINVAL) << bad;
  }
}

TEST(TracePrintk, FormatMustBeTerminatedWithinItsSize) {
  const char fmt[4] = {'a', 'b', 'c', 'd'};
  const uint64_t args[3] = {};
  std::string out;
  EXPECT_EQ(format_trace_printk(addr(fmt), sizeof fmt, args, nullptr, out), -EINVAL);
  EXPECT_EQ(format_trace_printk(addr(fmt), 0, args, nullptr, out), -EINVAL);
}

TEST(TracePrintk, LongMessagesAreCutButTheFullLengthIsReturned) {
  const std::string big(2000, 'x');
  const uint64_t args[3] = {};
  std::string out;
  EXPECT_EQ(format_trace_printk(addr(big.c_str()), big.size() + 1, args, nullptr, out), 2000);
  EXPECT_EQ(out, std::string(1023, 'x'));
}

TEST(TracePrintk, CheckedModeReadsOnlyTheRunsRegions) {
  static const char fmt[] = "v=%s";
  static const char str[] = "inside";
  const uint64_t args[3] = {addr(str), 0, 0};
  vm::RunContext rc;
  rc.checked = 1;
  rc.add_region(fmt, sizeof fmt, vm::kRead, "fmt");
  std::string out;
  // The string lies outside every region: it prints empty.
  EXPECT_EQ(format_trace_printk(addr(fmt), sizeof fmt, args, &rc, out), 2);
  EXPECT_EQ(out, "v=");
  rc.add_region(str, sizeof str, vm::kRead, "str");
  EXPECT_EQ(format_trace_printk(addr(fmt), sizeof fmt, args, &rc, out), 8);
  EXPECT_EQ(out, "v=inside");
  // A format outside every region is a fault, reported as -EFAULT.
  static const char other[] = "x";
  EXPECT_EQ(format_trace_printk(addr(other), sizeof other, args, &rc, out), -EFAULT);
}

TEST(TracePrintk, UncheckedRunTrustsPointersLikeALoad) {
  // An unchecked run has a stack and may have regions, but pointers are not checked against
  // them: a format in memory the embedder never registered (a map value, say) still prints.
  static const char fmt[] = "n=%d";
  static char stack[64];
  const uint64_t args[3] = {7, 0, 0};
  vm::RunContext rc;
  rc.stack_base = addr(stack);
  rc.stack_size = sizeof stack;
  rc.add_region(stack, 8, vm::kRead, "other");
  std::string out;
  EXPECT_EQ(format_trace_printk(addr(fmt), sizeof fmt, args, &rc, out), 3);
  EXPECT_EQ(out, "n=7");
}

TEST(TracePrintk, EnginesTellHelpersWhetherTheRunIsChecked) {
  // The format lives in memory the run was not given: a checked run refuses it, an unchecked
  // run prints it, on both engines.
  static const char fmt[] = "ok\n";
  vm::HelperTable t;
  register_core(t);
  std::vector<std::string> lines;
  set_trace_printk_sink([&](std::string_view m) { lines.emplace_back(m); });
  isa::Insn prog[4];
  isa::encode_lddw(1, 0, addr(fmt), prog);
  prog[2] = isa::encode(isa::Op::Mov64K, 2, 0, 0, sizeof fmt);
  prog[3] = isa::encode(isa::Op::Call, 0, 0, 0, BPF_FUNC_trace_printk);
  std::vector<isa::Insn> p(prog, prog + 4);
  p.push_back(isa::encode(isa::Op::Exit, 0, 0, 0, 0));
  std::vector<vm::EngineKind> engines{vm::EngineKind::Interp};
#ifdef BPFBOX_HAVE_JIT
  engines.push_back(vm::EngineKind::Jit);
#endif
  for (vm::EngineKind e : engines) {
    for (bool checked : {false, true}) {
      auto exe = vm::compile(e, p, t, vm::ExecOptions{.checked = checked});
      ASSERT_TRUE(exe) << exe.status().message();
      vm::RunContext rc;
      const uint64_t r0 = (*exe)->run(rc, 0);
      EXPECT_EQ(r0, checked ? static_cast<uint64_t>(-EFAULT) : 3u)
          << (*exe)->engine_name() << (checked ? " checked" : " unchecked");
    }
  }
  set_trace_printk_sink(nullptr);
  EXPECT_EQ(lines, (std::vector<std::string>{"ok\n", "ok\n"}));
}

TEST(TracePrintk, HelperSendsTheMessageToTheSink) {
  vm::HelperTable t;
  register_core(t);
  std::vector<std::string> lines;
  set_trace_printk_sink([&](std::string_view m) { lines.emplace_back(m); });
  static const char fmt[] = "hello %d\n";
  const vm::Helper* h = t.get(BPF_FUNC_trace_printk);
  ASSERT_NE(h, nullptr);
  EXPECT_EQ(h->fn(addr(fmt), sizeof fmt, 42, 0, 0, nullptr), 9u);
  static const char bad[] = "%z";
  EXPECT_EQ(h->fn(addr(bad), sizeof bad, 0, 0, 0, nullptr), static_cast<uint64_t>(-EINVAL));
  set_trace_printk_sink(nullptr);
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0], "hello 42\n");
}

}  // namespace
}  // namespace bpfbox::helpers
