#include "vm/llvm/llvm_executable.hpp"

#include <cerrno>

#include <llvm/IR/BasicBlock.h>
#include <llvm/IR/Function.h>
#include <llvm/IR/LLVMContext.h>
#include <llvm/IR/Module.h>

#include "isa/decoder.hpp"
#include "vm/executable_form.hpp"
#include "vm/llvm/native_code.hpp"
#include "vm/llvm/translator.hpp"

namespace bpfbox::vm::llvm_tier {
namespace {

// The executable: its entry is the generated bpfbox_llvm_entry itself, so run() is one indirect
// call into optimized code.
class LlvmExecutable final : public Executable {
 public:
  LlvmExecutable(std::unique_ptr<NativeCode> code, const HelperTable& helpers,
                 const ExecOptions& opts)
      : code_(std::move(code)) {
    entry_ = reinterpret_cast<Entry>(code_->address());
    *reinterpret_cast<const Executable**>(code_->self_slot()) = this;
    set_run_mode(helpers, opts);
  }
  const char* engine_name() const override { return "llvm"; }

 private:
  std::unique_ptr<NativeCode> code_;
};

}  // namespace

Result<std::unique_ptr<Executable>> build(std::span<const struct bpf_insn> prog,
                                          const HelperTable& helpers, const ExecOptions& opts,
                                          const Options& llvm_opts) {
  auto decoded = isa::decode_program(prog);
  if (!decoded) return decoded.status();
  if (Status st = check_executable_form(*decoded, helpers); !st) return st;
  if (opts.blind_constants)
    return Status(EINVAL,
                  "the llvm engine does not blind constants (use the jit engine for untrusted "
                  "programs)");

  // The context outlives every module made in it: the ThreadSafeContext is shared by the module
  // handed on, and the translator frees its module (on error) before this returns.
  ::llvm::orc::ThreadSafeContext ctx(std::make_unique<::llvm::LLVMContext>());
  auto module = translate(*ctx.getContext(), *decoded, helpers, opts);
  if (!module) return module.status();
  ::llvm::orc::ThreadSafeModule owned(std::move(*module), ctx);
  if (llvm_opts.break_ir_for_test)  // a block without a terminator: the verifier refuses it
    ::llvm::BasicBlock::Create(*ctx.getContext(), "broken",
                               owned.getModuleUnlocked()->getFunction(kEntrySymbol));
  auto code = NativeCode::build(std::move(owned), llvm_opts.opt_level, kEntrySymbol, kSelfSymbol);
  if (!code) return code.status();
  return std::unique_ptr<Executable>(new LlvmExecutable(std::move(*code), helpers, opts));
}

}  // namespace bpfbox::vm::llvm_tier
