#include "vm/jit/dump.hpp"

#include <cerrno>
#include <cinttypes>
#include <cstdio>

#include "isa/decoder.hpp"
#include "isa/disasm.hpp"
#include "vm/jit/jit.hpp"

#ifdef BPFBOX_HAVE_CAPSTONE
#include <capstone/capstone.h>
#endif

namespace bpfbox::vm::jit {

#ifdef BPFBOX_HAVE_CAPSTONE
namespace {

// Native instructions of [begin, end) of the code, one line each.
void disassemble_range(csh cs, const NativeLayout& info, size_t begin, size_t end,
                       const DumpOptions& opts, std::string& out) {
  const uint8_t* code = info.code + begin;
  size_t size = end - begin;
  uint64_t addr = begin;  // offsets from the start of the program, as bpftool prints them
  cs_insn* insn = cs_malloc(cs);
  char line[256];
  while (size > 0) {
    const uint64_t at = addr;
    if (!cs_disasm_iter(cs, &code, &size, &addr, insn)) {
      // Not an instruction (cannot happen in emitted code): show the byte and go on.
      std::snprintf(line, sizeof line, "%4" PRIx64 ":\t(bad) %02x\n", at, *code);
      out += line;
      ++code, --size, ++addr;
      continue;
    }
    std::snprintf(line, sizeof line, "%4" PRIx64 ":\t", at);
    out += line;
    if (opts.opcodes) {
      for (uint16_t i = 0; i < insn->size; ++i) {
        std::snprintf(line, sizeof line, "%02x ", insn->bytes[i]);
        out += line;
      }
      out += "\t";
    }
    std::snprintf(line, sizeof line, "%-6s %s\n", insn->mnemonic, insn->op_str);
    out += line;
  }
  cs_free(insn, 1);
}

}  // namespace
#endif

Result<std::string> dump_jited(const Executable& exe, std::span<const struct bpf_insn> prog,
                               const DumpOptions& opts) {
  const NativeLayout info = exe.native_layout();
  if (!info.code) return Status(EINVAL, "not compiled by the JIT: no native code to dump");
  if (info.insn_offsets.size() != prog.size() + 1)
    return Status(EINVAL, "the program is not the one this executable was compiled from");
#ifndef BPFBOX_HAVE_CAPSTONE
  (void)opts;
  return Status(EOPNOTSUPP, "bpfbox was built without capstone (install libcapstone-dev)");
#else
  csh cs;
  if (cs_open(CS_ARCH_X86, CS_MODE_64, &cs) != CS_ERR_OK)
    return Status(ENOMEM, "capstone: cannot open an x86-64 disassembler");
  cs_option(cs, CS_OPT_SYNTAX, CS_OPT_SYNTAX_ATT);
  std::string out;
  const std::span<const uint32_t> at = info.insn_offsets;
  if (at[0] > 0) {
    out += "; prologue\n";
    disassemble_range(cs, info, 0, at[0], opts, out);
  }
  for (size_t pc = 0; pc < prog.size();) {
    isa::Decoded d;
    const size_t next = isa::decode(prog, pc, d) ? pc + (d.slots ? d.slots : 1) : pc + 1;
    char head[32];
    std::snprintf(head, sizeof head, "; %zu: (%02x) ", pc, prog[pc].code);
    out += head;
    out += d.slots ? isa::disassemble(d) : "invalid";
    out += "\n";
    disassemble_range(cs, info, at[pc], at[next], opts, out);
    pc = next;
  }
  if (at[prog.size()] < info.size) {
    out += "; out of line: fault stubs, thunks\n";
    disassemble_range(cs, info, at[prog.size()], info.size, opts, out);
  }
  cs_close(&cs);
  return out;
#endif
}

}  // namespace bpfbox::vm::jit
