// A pass of the LLVM tier's pipeline: memory addresses as a common base plus a constant offset.
//
// eBPF registers are integers, so the translator addresses memory with `inttoptr(reg + off)`.
// Alias analysis does not look through inttoptr: two accesses at data+104 and data+360 may alias
// as far as it knows, which keeps GVN, dead-store elimination and the SLP vectorizer from
// touching them (a 64-byte copy stays 64 byte loads and stores). Rewriting each
// `inttoptr(x + C)` as `getelementptr i8, inttoptr(x), C` gives the same address (a GEP without
// `inbounds` wraps as the addition does) with a base alias analysis can compare.
#pragma once

#include <llvm/IR/PassManager.h>

namespace bpfbox::vm::llvm_tier {

struct AddressBasesPass : ::llvm::PassInfoMixin<AddressBasesPass> {
  ::llvm::PreservedAnalyses run(::llvm::Function& f, ::llvm::FunctionAnalysisManager& fam);
};

}  // namespace bpfbox::vm::llvm_tier
