#include "vm/llvm/native_code.hpp"

#include <cerrno>
#include <cstdlib>
#include <mutex>
#include <optional>
#include <string>

#include <llvm/ExecutionEngine/Orc/CompileUtils.h>
#include <llvm/ExecutionEngine/Orc/ExecutionUtils.h>
#include <llvm/ExecutionEngine/Orc/JITTargetMachineBuilder.h>
#include <llvm/ExecutionEngine/Orc/LLJIT.h>
#include <llvm/IR/LLVMContext.h>
#include <llvm/IR/Module.h>
#include <llvm/IR/Verifier.h>
#include <llvm/Passes/OptimizationLevel.h>
#include <llvm/Passes/PassBuilder.h>
#include <llvm/Support/FileSystem.h>
#include <llvm/Support/TargetSelect.h>
#include <llvm/Support/raw_ostream.h>
#include <llvm/Target/TargetMachine.h>
#include <llvm/Transforms/InstCombine/InstCombine.h>
#include <llvm/Transforms/Scalar/EarlyCSE.h>
#include <llvm/Transforms/Vectorize/SLPVectorizer.h>

#include "vm/llvm/address_bases.hpp"

namespace bpfbox::vm::llvm_tier {
namespace {

std::string message(::llvm::Error err) {
  return ::llvm::toString(std::move(err));
}

// The host's target, looked up once: LLVM's target registry and the CPU's features.
const ::llvm::orc::JITTargetMachineBuilder* host_target(std::string* error) {
  static std::once_flag once;
  static std::optional<::llvm::orc::JITTargetMachineBuilder> host;
  static std::string host_error;
  std::call_once(once, [] {
    ::llvm::InitializeNativeTarget();
    ::llvm::InitializeNativeTargetAsmPrinter();
    ::llvm::InitializeNativeTargetAsmParser();  // inline assembly (nospec's lfence)
    auto jtmb = ::llvm::orc::JITTargetMachineBuilder::detectHost();
    if (!jtmb)
      host_error = message(jtmb.takeError());
    else
      host.emplace(std::move(*jtmb));
  });
  if (!host) *error = host_error;
  return host ? &*host : nullptr;
}

// The target machine of this thread for an optimization level, made on first use. Making one is
// a large part of a small program's compile (the subtarget's tables), and LLJIT would make two
// more per program (its data layout, its compiler); a TargetMachine is not shared between threads
// (code generation mutates it), so each compiling thread (the caller's, the tier-up worker) has
// its own. Shared with the code's compiler, which may outlive the thread.
Result<std::shared_ptr<::llvm::TargetMachine>> host_machine(
    const ::llvm::orc::JITTargetMachineBuilder& host, int opt_level) {
  thread_local std::shared_ptr<::llvm::TargetMachine> machines[2];
  std::shared_ptr<::llvm::TargetMachine>& tm = machines[opt_level >= 3 ? 1 : 0];
  if (!tm) {
    ::llvm::orc::JITTargetMachineBuilder jtmb = host;
    jtmb.setCodeGenOptLevel(opt_level >= 3 ? ::llvm::CodeGenOpt::Aggressive
                                           : ::llvm::CodeGenOpt::Default);
    auto made = jtmb.createTargetMachine();
    if (!made) return Status(EINVAL, "llvm: " + message(made.takeError()));
    tm = std::move(*made);
  }
  return tm;
}

// SimpleCompiler over a shared target machine (LLVM's TMOwningSimpleCompiler takes sole ownership).
class SharedMachineCompiler : public ::llvm::orc::SimpleCompiler {
 public:
  explicit SharedMachineCompiler(std::shared_ptr<::llvm::TargetMachine> tm)
      : SimpleCompiler(*tm), tm_(std::move(tm)) {}

 private:
  std::shared_ptr<::llvm::TargetMachine> tm_;
};

void optimize(::llvm::Module& m, ::llvm::TargetMachine* tm, int opt_level) {
  ::llvm::LoopAnalysisManager lam;
  ::llvm::FunctionAnalysisManager fam;
  ::llvm::CGSCCAnalysisManager cgam;
  ::llvm::ModuleAnalysisManager mam;
  ::llvm::PassBuilder pb(tm);
  pb.registerModuleAnalyses(mam);
  pb.registerCGSCCAnalyses(cgam);
  pb.registerFunctionAnalyses(fam);
  pb.registerLoopAnalyses(lam);
  pb.crossRegisterProxies(lam, fam, cgam, mam);
  // After each InstCombine (registers are SSA values by then, constant offsets folded), before
  // GVN, DSE and MemCpyOpt, and again before the vectorizers: they need the alias information
  // it exposes.
  const auto add_pass = [](::llvm::FunctionPassManager& fpm, ::llvm::OptimizationLevel) {
    fpm.addPass(AddressBasesPass());
  };
  pb.registerPeepholeEPCallback(add_pass);
  // The pipeline's SLP vectorizer runs before the last CSE has merged the bases; a second round
  // at the end vectorizes the copies (byte-wise memcpy as clang emits it for BPF) it left.
  pb.registerOptimizerLastEPCallback([](::llvm::ModulePassManager& mpm, ::llvm::OptimizationLevel) {
    ::llvm::FunctionPassManager fpm;
    fpm.addPass(AddressBasesPass());
    fpm.addPass(::llvm::EarlyCSEPass());
    fpm.addPass(::llvm::SLPVectorizerPass());
    fpm.addPass(::llvm::InstCombinePass());
    mpm.addPass(::llvm::createModuleToFunctionPassAdaptor(std::move(fpm)));
  });
  ::llvm::ModulePassManager mpm = pb.buildPerModuleDefaultPipeline(
      opt_level >= 3 ? ::llvm::OptimizationLevel::O3 : ::llvm::OptimizationLevel::O2);
  mpm.run(m, mam);
}

// BPFBOX_LLVM_DUMP=<file>: the optimized IR of every program compiled, appended (`llc` turns it
// into the assembly LLJIT produces), to see what the tier makes of a program.
void dump(const ::llvm::Module& m) {
  const char* path = std::getenv("BPFBOX_LLVM_DUMP");
  if (!path || !*path) return;
  std::error_code ec;
  ::llvm::raw_fd_ostream out(path, ec, ::llvm::sys::fs::OF_Append);
  if (!ec) m.print(out, nullptr);
}

}  // namespace

NativeCode::~NativeCode() = default;

Result<std::unique_ptr<NativeCode>> NativeCode::build(::llvm::orc::ThreadSafeModule module,
                                                      int opt_level, const char* symbol,
                                                      const char* self_symbol) {
  std::string error;
  const ::llvm::orc::JITTargetMachineBuilder* host = host_target(&error);
  if (!host) return Status(EOPNOTSUPP, "llvm: no native target: " + error);
  auto tm = host_machine(*host, opt_level);
  if (!tm) return tm.status();
  // The module is this thread's until LLJIT takes it: no lock needed to prepare it.
  ::llvm::Module& m = *module.getModuleUnlocked();
  // A malformed module is a translator bug: report it rather than let LLVM crash on it.
  std::string broken;
  ::llvm::raw_string_ostream out(broken);
  if (::llvm::verifyModule(m, &out))
    return Status(EINVAL, "llvm: internal error, invalid IR: " + out.str());

  const ::llvm::DataLayout layout = (*tm)->createDataLayout();
  m.setDataLayout(layout);
  m.setTargetTriple((*tm)->getTargetTriple().str());
  optimize(m, tm->get(), opt_level);
  dump(m);

  // No platform: generated code has no static initializers to run, and the generic platform
  // would compile a support module of its own for every program. The data layout and compiler
  // come from this thread's target machine (LLJIT would otherwise make two of its own).
  auto jit =
      ::llvm::orc::LLJITBuilder()
          .setJITTargetMachineBuilder(*host)
          .setDataLayout(layout)
          .setCompileFunctionCreator(
              [machine = *tm](::llvm::orc::JITTargetMachineBuilder)
                  -> ::llvm::Expected<std::unique_ptr<::llvm::orc::IRCompileLayer::IRCompiler>> {
                return std::make_unique<SharedMachineCompiler>(machine);
              })
          .setPlatformSetUp([](::llvm::orc::LLJIT&) { return ::llvm::Error::success(); })
          .create();
  if (!jit) return Status(EINVAL, "llvm: " + message(jit.takeError()));
  // memset/memcpy the code generator may call.
  auto process = ::llvm::orc::DynamicLibrarySearchGenerator::GetForCurrentProcess(
      (*jit)->getDataLayout().getGlobalPrefix());
  if (!process) return Status(EINVAL, "llvm: " + message(process.takeError()));
  (*jit)->getMainJITDylib().addGenerator(std::move(*process));

  if (auto err = (*jit)->addIRModule(std::move(module)))
    return Status(EINVAL, "llvm: " + message(std::move(err)));
  auto sym = (*jit)->lookup(symbol);
  if (!sym) return Status(EINVAL, "llvm: " + message(sym.takeError()));
  auto self = (*jit)->lookup(self_symbol);
  if (!self) return Status(EINVAL, "llvm: " + message(self.takeError()));

  std::unique_ptr<NativeCode> code(new NativeCode);
  code->address_ = sym->getAddress();
  code->self_slot_ = self->getAddress();
  code->jit_ = std::move(*jit);
  return code;
}

}  // namespace bpfbox::vm::llvm_tier
