// Lowers a decoded program into interpreter slots: immediates sign-extended, jump targets made
// absolute, helpers resolved to function pointers, BPF_PSEUDO_FUNC loads turned into slot
// addresses.
#include <cerrno>
#include <cstdio>

#include "isa/decoder.hpp"
#include "vm/executable_form.hpp"
#include "vm/interp/interp.hpp"
#include "vm/interp/program.hpp"

namespace bpfbox::vm::interp {
Program::Program(std::vector<Slot> code, std::vector<uint8_t> is_function,
                 std::vector<HelperFn> helpers, const HelperTable& table, const ExecOptions& opts)
    : code_(std::move(code)),
      is_function_(std::move(is_function)),
      helpers_(std::move(helpers)),
      budget_(opts.insn_budget) {
  set_run_mode(table, opts);
  const bool budget = opts.insn_budget > 0;
  if (opts.checked)
    entry_ = budget ? &interp::run<true, true> : &interp::run<true, false>;
  else
    entry_ = budget ? &interp::run<false, true> : &interp::run<false, false>;
}

Result<std::unique_ptr<Executable>> compile(std::span<const struct bpf_insn> prog,
                                            const HelperTable& helpers, const ExecOptions& opts) {
  auto decoded = isa::decode_program(prog);
  if (!decoded) return decoded.status();
  const std::vector<isa::Decoded>& d = decoded.value();
  if (Status st = check_executable_form(d, helpers); !st) return st;
  const size_t n = d.size();

  std::vector<Slot> code(n);
  std::vector<uint8_t> is_function(n, 0);
  is_function[0] = 1;
  for (size_t pc = 0; pc < n; ++pc) {
    const isa::Decoded& in = d[pc];
    Slot& s = code[pc];
    s.op = in.op;
    s.dst = in.dst;
    s.src = in.src;
    s.pad = 0;
    s.off = in.off;
    s.imm = in.imm;
    if (in.slots == 0) continue;  // the second half of an lddw is never executed

    const std::optional<int64_t> target = in.target(pc);
    switch (in.info().kind) {
      case isa::Kind::Ja:
      case isa::Kind::Gotol:
      case isa::Kind::Jcond:
      case isa::Kind::MayGoto:
        // A byte delta: taking the jump is then a single add to the instruction pointer.
        s.off = static_cast<int32_t>((*target - static_cast<int64_t>(pc)) *
                                     static_cast<int64_t>(sizeof(Slot)));
        break;
      case isa::Kind::CallLocal:
        s.off = static_cast<int32_t>(*target);
        is_function[*target] = 1;
        break;
      case isa::Kind::Call:
        if (is_tail_call(in, helpers))
          s.op = kTailCallOp;
        else
          s.fn = helpers.get(static_cast<uint32_t>(in.imm))->fn;
        break;
      case isa::Kind::Lddw:
        if (in.src == BPF_PSEUDO_FUNC) {
          s.imm64 = reinterpret_cast<uint64_t>(&code[*target]);
          is_function[*target] = 1;
        } else {
          s.imm64 = in.imm64;
        }
        break;
      default:
        break;
    }
  }

  std::vector<HelperFn> fns(helpers.size(), nullptr);
  for (size_t id = 0; id < helpers.size(); ++id)
    if (const Helper* h = helpers.get(static_cast<uint32_t>(id))) fns[id] = h->fn;

  return std::unique_ptr<Executable>(
      new Program(std::move(code), std::move(is_function), std::move(fns), helpers, opts));
}

}  // namespace bpfbox::vm::interp
