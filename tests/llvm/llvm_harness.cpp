#include "llvm_harness.hpp"

#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "isa/disasm.hpp"
#include "vm/llvm/llvm_tier.hpp"

namespace bpfbox::vm::llvm_tier::test {

std::vector<Mode> llvm_modes(uint64_t budget) {
  return {
      {"unchecked", {false, 0}, 2},    {"checked", {true, 0}, 2},
      {"budget", {false, budget}, 2},  {"checked+budget", {true, budget}, 2},
      {"unchecked-O3", {false, 0}, 3},
  };
}

Run run(EngineKind engine, const Mode& mode, const std::vector<isa::Insn>& prog,
        const std::vector<uint8_t>& mem, const uint8_t* pkt, uint32_t pkt_len) {
  auto exe = engine == EngineKind::Llvm
                 ? llvm_tier::compile(prog, test_helpers(), mode.opts, Options{mode.opt_level})
                 : vm::compile(engine, prog, test_helpers(), mode.opts);
  return jit::test::run_compiled(std::move(exe), mode.opts.insn_budget != 0, mem, pkt, pkt_len);
}

std::string compare_with_interp(const std::vector<isa::Insn>& prog, const std::vector<uint8_t>& mem,
                                const uint8_t* pkt, uint32_t pkt_len, uint64_t budget,
                                bool checked_only) {
  for (const Mode& m : llvm_modes(budget)) {
    if (checked_only && !m.opts.checked) continue;
    const Run want = run(EngineKind::Interp, m, prog, mem, pkt, pkt_len);
    const Run got = run(EngineKind::Llvm, m, prog, mem, pkt, pkt_len);
    const std::string d = jit::test::differ(want, got, "llvm");
    if (!d.empty()) return "[" + m.name + "]\n" + d + "program:\n" + isa::disassemble_program(prog);
  }
  return "";
}

std::string compile_dumping_ir(std::span<const struct bpf_insn> prog, const HelperTable& helpers,
                               const ExecOptions& opts, std::unique_ptr<Executable>* out) {
  char path[] = "/tmp/bpfbox_llvm_ir_XXXXXX";
  const int fd = mkstemp(path);
  if (fd < 0) return "mkstemp failed";
  close(fd);
  setenv("BPFBOX_LLVM_DUMP", path, 1);
  auto exe = llvm_tier::compile(prog, helpers, opts);
  unsetenv("BPFBOX_LLVM_DUMP");
  std::ostringstream ir;
  ir << std::ifstream(path).rdbuf();
  unlink(path);
  if (!exe) return "compile failed: " + exe.status().message();
  *out = std::move(*exe);
  return ir.str();
}

size_t count(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

}  // namespace bpfbox::vm::llvm_tier::test
