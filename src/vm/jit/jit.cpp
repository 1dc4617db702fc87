#include "vm/jit/jit.hpp"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <vector>

#include "isa/decoder.hpp"
#include "vm/executable_form.hpp"
#include "vm/jit/code_memory.hpp"
#include "vm/jit/x86_64/analysis.hpp"

namespace bpfbox::vm::jit {
namespace {

class JitProgram final : public Executable {
 public:
  const char* engine_name() const override { return "jit"; }

  CodeMemory memory;
  std::vector<uint8_t> slots;     // per pc: 1, or 2 for an lddw (budget faults name the pc)
  std::vector<HelperFn> helpers;  // by id, for callx
  std::vector<uint32_t> insn_offsets;
  std::vector<NativeFunc> funcs;
  int passes = 0;

  NativeLayout native_layout() const override {
    return NativeLayout{memory.code(), memory.size(), insn_offsets, funcs};
  }

  void set_entry(const HelperTable& table, const ExecOptions& opts) {
    entry_ = reinterpret_cast<Entry>(const_cast<uint8_t*>(memory.code()));
    set_run_mode(table, opts);
  }
};

// Copies the image to `w` (to run at `base`) and relocates it; false when a direct call cannot
// reach its target from there.
bool place(const x86_64::Image& image, uint8_t* w, uint64_t base) {
  std::memcpy(w, image.code.data(), image.code.size());
  for (size_t at : image.relocs) {
    uint64_t v;
    std::memcpy(&v, w + at, 8);
    v += base;
    std::memcpy(w + at, &v, 8);
  }
  for (const x86_64::AbsCall& c : image.abs_calls) {
    const int64_t disp = static_cast<int64_t>(c.target - (base + c.at + 4));
    if (disp != static_cast<int32_t>(disp)) return false;
    const int32_t rel = static_cast<int32_t>(disp);
    std::memcpy(w + c.at, &rel, 4);
  }
  return true;
}

}  // namespace

x86_64::Tuning host_tuning() {
  x86_64::Tuning t;
  __builtin_cpu_init();
  t.bmi2 = __builtin_cpu_supports("bmi2");
  return t;
}

Result<std::unique_ptr<Executable>> compile(std::span<const struct bpf_insn> prog,
                                            const HelperTable& helpers, const ExecOptions& opts) {
  static const x86_64::Tuning host = host_tuning();
  return compile(prog, helpers, opts, host);
}

Result<std::unique_ptr<Executable>> compile(std::span<const struct bpf_insn> prog,
                                            const HelperTable& helpers, const ExecOptions& opts,
                                            const x86_64::Tuning& tuning) {
  auto decoded = isa::decode_program(prog);
  if (!decoded) return decoded.status();
  const std::vector<isa::Decoded>& d = decoded.value();
  if (Status st = check_executable_form(d, helpers); !st) return st;
  auto facts = x86_64::analyze(d, opts.checked, opts.insn_budget > 0);
  if (!facts) return facts.status();

  auto exe = std::make_unique<JitProgram>();
  if (opts.insn_budget) {
    exe->slots.resize(d.size());
    for (size_t pc = 0; pc < d.size(); ++pc) exe->slots[pc] = d[pc].slots ? d[pc].slots : 1;
  }
  if (facts->callx) {
    exe->helpers.resize(helpers.size());
    for (size_t id = 0; id < helpers.size(); ++id)
      if (const Helper* h = helpers.get(static_cast<uint32_t>(id))) exe->helpers[id] = h->fn;
  }
  x86_64::ImageTables tables{exe.get(), exe->slots.data(), exe->helpers.data(), exe->helpers.size(),
                             CodeMemory::near()};

  // The image is scratch: one per thread, reused so compiling allocates (and trims) nothing big.
  thread_local x86_64::Image image;
  for (;;) {
    if (Status st = x86_64::translate(d, facts.value(), helpers, opts, tuning, tables, image); !st)
      return st;
    // Write and relocate.
    if (Status st = exe->memory.reserve(image.code.size()); !st) return st;
    if (place(image, exe->memory.writable(), reinterpret_cast<uint64_t>(exe->memory.code()))) break;
    // The pages landed out of reach of a direct call (the address space changed under us):
    // translate again with calls through a register.
    exe->memory.release();
    tables.near = 0;
  }
  // Seal: the pages are never writable and executable at once.
  if (Status st = exe->memory.seal(); !st) return st;
  exe->passes = image.passes;
  exe->insn_offsets = image.insn_offsets;
  // jited_ksyms / jited_func_lens: each function runs to the next one's code; the main program
  // includes the prologue, the last one ends with the body (the out-of-line code is no function's).
  const uint64_t code = reinterpret_cast<uint64_t>(exe->memory.code());
  exe->funcs.reserve(facts->functions.size() + 1);
  exe->funcs.push_back({0, code, 0});
  for (uint32_t fpc : facts->functions)
    exe->funcs.push_back({fpc, code + image.insn_offsets[fpc], 0});
  for (size_t i = 0; i < exe->funcs.size(); ++i) {
    const uint64_t end =
        i + 1 < exe->funcs.size() ? exe->funcs[i + 1].addr : code + image.insn_offsets[d.size()];
    exe->funcs[i].len = static_cast<uint32_t>(end - exe->funcs[i].addr);
  }
  exe->set_entry(helpers, opts);
  return std::unique_ptr<Executable>(std::move(exe));
}

int layout_passes(const Executable& exe) {
  const auto* p = dynamic_cast<const JitProgram*>(&exe);
  return p ? p->passes : 0;
}

}  // namespace bpfbox::vm::jit
