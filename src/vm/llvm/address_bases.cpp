#include "vm/llvm/address_bases.hpp"

#include <map>
#include <vector>

#include <llvm/IR/Constants.h>
#include <llvm/IR/IRBuilder.h>
#include <llvm/IR/Instructions.h>

namespace bpfbox::vm::llvm_tier {

::llvm::PreservedAnalyses AddressBasesPass::run(::llvm::Function& f,
                                                ::llvm::FunctionAnalysisManager&) {
  std::vector<::llvm::IntToPtrInst*> found;
  for (::llvm::BasicBlock& bb : f)
    for (::llvm::Instruction& i : bb)
      if (auto* cast = ::llvm::dyn_cast<::llvm::IntToPtrInst>(&i)) {
        auto* add = ::llvm::dyn_cast<::llvm::BinaryOperator>(cast->getOperand(0));
        if (add && add->getOpcode() == ::llvm::Instruction::Add &&
            ::llvm::isa<::llvm::ConstantInt>(add->getOperand(1)))
          found.push_back(cast);
      }
  // One base pointer per integer: alias analysis compares underlying objects, and two casts of
  // the same integer are two objects to it until CSE merges them (after the vectorizers).
  std::map<::llvm::Value*, ::llvm::Value*> bases;
  auto base_of = [&](::llvm::Value* x) {
    ::llvm::Value*& base = bases[x];
    if (base) return base;
    ::llvm::Instruction* at = nullptr;
    if (auto* def = ::llvm::dyn_cast<::llvm::Instruction>(x))
      at = ::llvm::isa<::llvm::PHINode>(def) ? &*def->getParent()->getFirstInsertionPt()
                                             : def->getNextNode();
    else
      at = &*f.getEntryBlock().getFirstInsertionPt();
    ::llvm::IRBuilder<> b(at);
    base = b.CreateIntToPtr(x, b.getInt8PtrTy());
    return base;
  };
  for (::llvm::IntToPtrInst* cast : found) {
    auto* add = ::llvm::cast<::llvm::BinaryOperator>(cast->getOperand(0));
    ::llvm::Value* base = base_of(add->getOperand(0));
    ::llvm::IRBuilder<> b(cast);
    ::llvm::Value* at = b.CreateGEP(b.getInt8Ty(), base, add->getOperand(1));
    cast->replaceAllUsesWith(b.CreateBitCast(at, cast->getType()));
    cast->eraseFromParent();
  }
  // A loaded value only stored elsewhere (a copy) needs no freeze: the translator freezes loads
  // so that a read of never-written stack is one value to the program's computations, and a copy
  // computes nothing. Without it the copy is a plain load and store, which the SLP vectorizer
  // turns into wide moves (it does not vectorize freeze).
  std::vector<::llvm::FreezeInst*> copies;
  for (::llvm::BasicBlock& bb : f)
    for (::llvm::Instruction& i : bb)
      if (auto* fr = ::llvm::dyn_cast<::llvm::FreezeInst>(&i))
        if (::llvm::isa<::llvm::LoadInst>(fr->getOperand(0)) && fr->hasOneUse())
          if (auto* st = ::llvm::dyn_cast<::llvm::StoreInst>(fr->user_back());
              st && st->getValueOperand() == fr)
            copies.push_back(fr);
  for (::llvm::FreezeInst* fr : copies) {
    fr->replaceAllUsesWith(fr->getOperand(0));
    fr->eraseFromParent();
  }
  return found.empty() && copies.empty() ? ::llvm::PreservedAnalyses::all()
                                         : ::llvm::PreservedAnalyses::none();
}

}  // namespace bpfbox::vm::llvm_tier
