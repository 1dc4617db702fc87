#include "vm/llvm/translator.hpp"

#include <cerrno>
#include <cstddef>
#include <cstdio>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <llvm/IR/BasicBlock.h>
#include <llvm/IR/Constants.h>
#include <llvm/IR/DerivedTypes.h>
#include <llvm/IR/Function.h>
#include <llvm/IR/GlobalVariable.h>
#include <llvm/IR/IRBuilder.h>
#include <llvm/IR/InlineAsm.h>
#include <llvm/IR/Intrinsics.h>
#include <llvm/IR/LLVMContext.h>
#include <llvm/IR/MDBuilder.h>
#include <llvm/IR/Module.h>

#include "bpfbox/maps.hpp"
#include "isa/reg_effects.hpp"
#include "isa/uapi.hpp"
#include "vm/executable_form.hpp"
#include "vm/llvm/program_shape.hpp"
#include "vm/llvm/runtime.hpp"

namespace bpfbox::vm::llvm_tier {
namespace {

using isa::Kind;
using isa::Op;
using ::llvm::AllocaInst;
using ::llvm::BasicBlock;
using ::llvm::Function;
using ::llvm::FunctionType;
using ::llvm::Type;
using ::llvm::Value;

constexpr uint32_t kFrames = isa::kMaxCallFrames;
constexpr uint64_t kFrameSize = isa::kStackSize;
constexpr uint64_t kStackBytes = kFrames * kFrameSize;

// Where generated code reads and writes the caller's RunContext.
constexpr uint64_t kFaultKindOffset = offsetof(RunContext, fault) + offsetof(Fault, kind);

template <class F>
uint64_t address_of(F* fn) {
  return reinterpret_cast<uint64_t>(fn);
}

class Translator {
 public:
  Translator(::llvm::LLVMContext& ctx, std::span<const isa::Decoded> prog,
             const HelperTable& helpers, const ExecOptions& opts)
      : ctx_(ctx),
        module_(std::make_unique<::llvm::Module>("bpf", ctx)),
        b_(ctx),
        prog_(prog),
        helpers_(helpers),
        checked_(opts.checked),
        budget_(opts.insn_budget),
        // Facts are about verified programs (unchecked mode) and must describe this program.
        facts_(!opts.checked && opts.facts.size() == prog.size() ? opts.facts
                                                                 : std::span<const InsnFacts>{}) {
    i1_ = b_.getInt1Ty();
    i8_ = b_.getInt8Ty();
    i32_ = b_.getInt32Ty();
    i64_ = b_.getInt64Ty();
    ptr_ = b_.getInt8PtrTy();
    ret_ty_ = ::llvm::StructType::get(ctx, {i64_, i1_});
    // (rc, frame = this function's r10, depth, r1..r5) -> {r0, aborted}
    fn_ty_ = FunctionType::get(ret_ty_, {ptr_, ptr_, i32_, i64_, i64_, i64_, i64_, i64_}, false);
    helper_ty_ = FunctionType::get(i64_, {i64_, i64_, i64_, i64_, i64_, ptr_}, false);
    // What RunContext::call_function needs of the helper call under way: (frame, depth, pc).
    callsite_ty_ = ::llvm::StructType::get(ctx, {ptr_, i32_, i32_});
    unlikely_ = ::llvm::MDBuilder(ctx).createBranchWeights(1, 1 << 20);
  }

  Result<std::unique_ptr<::llvm::Module>> run() {
    shape_ = analyze(prog_);
    make_region_scopes();
    for (const isa::Decoded& d : prog_)
      if (d.info().kind == Kind::Lddw && d.src == BPF_PSEUDO_FUNC) callbacks_ = true;
    for (uint32_t entry : shape_.functions) {
      Function* f = Function::Create(fn_ty_, Function::InternalLinkage,
                                     "bpf_fn_" + std::to_string(entry), *module_);
      f->addFnAttr(::llvm::Attribute::NoUnwind);
      // Programs may touch address 0 (unchecked mode): it is memory like any other, not UB.
      f->addFnAttr(::llvm::Attribute::NullPointerIsValid);
      fn_of_pc_[entry] = f;
    }
    // The executable writes its own address here once built: tail calls name their caller.
    self_ = new ::llvm::GlobalVariable(
        *module_, ptr_, false, ::llvm::GlobalValue::ExternalLinkage,
        ::llvm::ConstantPointerNull::get(::llvm::cast<::llvm::PointerType>(ptr_)), kSelfSymbol);
    for (size_t i = 0; i < shape_.functions.size(); ++i)
      emit_function(shape_.functions[i], shape_.reach[i]);
    if (callbacks_) emit_call_function();
    emit_entry();
    return std::move(module_);
  }

 private:
  // --- small builders -----------------------------------------------------------------------

  ::llvm::ConstantInt* c64(uint64_t v) { return b_.getInt64(v); }
  ::llvm::ConstantInt* c32(uint32_t v) { return b_.getInt32(v); }
  Type* int_ty(unsigned bytes) { return b_.getIntNTy(bytes * 8); }

  Value* rc_field(uint64_t offset, Type* t) {
    return b_.CreateBitCast(b_.CreateConstGEP1_64(i8_, rc_, offset), t->getPointerTo());
  }
  Value* constant_fn(uint64_t addr, FunctionType* t) {
    return b_.CreateIntToPtr(c64(addr), t->getPointerTo());
  }

  BasicBlock* new_block(const char* name) { return BasicBlock::Create(ctx_, name, fn_); }

  // Branches to `bad` (cold) when `cond`, else continues in a new block.
  void branch_unless(Value* cond, BasicBlock* bad) {
    BasicBlock* ok = new_block("ok");
    b_.CreateCondBr(cond, bad, ok, unlikely_);
    b_.SetInsertPoint(ok);
  }

  // Records a fault and ends the run.
  void fault_here(FaultKind kind, int err, uint32_t pc, Value* addr) {
    auto* ty = FunctionType::get(b_.getVoidTy(), {ptr_, i32_, i32_, i32_, i64_}, false);
    b_.CreateCall(
        ty, constant_fn(address_of(&rt::fault), ty),
        {rc_, c32(static_cast<uint32_t>(kind)), c32(static_cast<uint32_t>(err)), c32(pc), addr});
    b_.CreateBr(abort_);
  }

  Value* reg(uint8_t r) {
    if (r == isa::kMaxReg) return b_.CreatePtrToInt(frame_, i64_);
    return b_.CreateLoad(i64_, regs_[r]);
  }
  void set_reg(uint8_t r, Value* v) { b_.CreateStore(v, regs_[r]); }

  Value* frame_bottom() { return b_.CreateSub(b_.CreatePtrToInt(frame_, i64_), c64(kFrameSize)); }
  // Checked mode: the live stack is [bottom of this frame, top) = (depth + 1) x 512 bytes.
  Value* live_span() {
    return b_.CreateMul(b_.CreateZExt(b_.CreateAdd(depth_, c32(1)), i64_), c64(kFrameSize));
  }
  void publish_live_stack() {
    b_.CreateStore(frame_bottom(), rc_field(offsetof(RunContext, stack_base), i64_));
    b_.CreateStore(live_span(), rc_field(offsetof(RunContext, stack_size), i64_));
  }

  // The address of a memory operand as a pointer to `t`, checked first in checked mode.
  Value* operand(uint8_t base, int16_t off, Type* t, uint32_t size, uint8_t access, uint32_t pc) {
    if (base == isa::kMaxReg && !checked_) {
      // Stack accesses address the frame pointer directly, so LLVM sees which alloca they touch.
      return b_.CreateBitCast(b_.CreateConstGEP1_64(i8_, frame_, off), t->getPointerTo());
    }
    if (const InsnFacts* f = facts_at(pc);
        f && f->region == AccessRegion::Stack && f->stack_const) {
      // A register the verifier proved holds r10 + constant (of this frame or a caller's, which
      // sits 512 bytes above per level): the same address as a GEP from the frame, so a stack
      // pointer that only feeds loads and stores no longer makes the stack escape.
      const int64_t rel =
          int64_t{f->stack_frame_up} * static_cast<int64_t>(kFrameSize) + f->stack_off + off;
      return b_.CreateBitCast(b_.CreateConstGEP1_64(i8_, frame_, rel), t->getPointerTo());
    }
    Value* addr = b_.CreateAdd(reg(base), c64(static_cast<uint64_t>(static_cast<int64_t>(off))));
    if (checked_) {
      // The live stack inline (as the interpreter: addr - lo <= span - size), else the regions.
      Value* rel = b_.CreateSub(addr, frame_bottom());
      Value* in_stack = b_.CreateICmpULE(rel, b_.CreateSub(live_span(), c64(size)));
      BasicBlock* slow = new_block("check_regions");
      BasicBlock* ok = new_block("access");
      b_.CreateCondBr(in_stack, ok, slow);
      b_.SetInsertPoint(slow);
      auto* ty = FunctionType::get(i1_, {ptr_, i64_, i32_, i32_, i32_}, false);
      Value* allowed = b_.CreateCall(ty, constant_fn(address_of(&rt::check_access), ty),
                                     {rc_, addr, c32(size), c32(access), c32(pc)});
      b_.CreateCondBr(allowed, ok, abort_);
      b_.SetInsertPoint(ok);
    }
    return b_.CreateIntToPtr(addr, t->getPointerTo());
  }

  // --- what the verifier proved (ExecOptions::facts) -------------------------------------------

  const InsnFacts* facts_at(uint32_t pc) const {
    if (facts_.empty() || facts_[pc].region == AccessRegion::Unknown) return nullptr;
    return &facts_[pc];
  }

  // One alias scope per region the verifier named (the stack, the context, the packet, each map's
  // values, values of a map not known), each access tagged with its region's scope and the others'
  // as noalias: regions are disjoint memory, so a store to a map value no longer forces a reload
  // of packet bytes, and map A's values never alias map B's. LLVM's scoped-noalias AA reads them.
  struct RegionTags {
    ::llvm::MDNode* scope = nullptr;
    ::llvm::MDNode* noalias = nullptr;
  };

  void make_region_scopes() {
    if (facts_.empty()) return;
    ::llvm::MDBuilder mdb(ctx_);
    ::llvm::MDNode* domain = mdb.createAnonymousAliasScopeDomain("bpf.regions");
    std::map<const void*, ::llvm::MDNode*> map_scopes;
    for (const InsnFacts& f : facts_)
      if (f.region == AccessRegion::MapValue && f.map && !map_scopes.count(f.map))
        map_scopes[f.map] =
            mdb.createAnonymousAliasScope(domain, "map " + std::to_string(map_scopes.size()));
    ::llvm::MDNode* fixed[4] = {};
    const char* names[4] = {"stack", "ctx", "packet", "map value"};
    for (int i = 0; i < 4; ++i) fixed[i] = mdb.createAnonymousAliasScope(domain, names[i]);
    // Stack, ctx and packet exclude everything else; a known map excludes the other known maps
    // but not "some map's value", which excludes only the first three.
    auto tags = [&](::llvm::MDNode* own, bool all_maps, const void* map) {
      std::vector<::llvm::Metadata*> others;
      for (int i = 0; i < 3; ++i)
        if (fixed[i] != own) others.push_back(fixed[i]);
      if (all_maps) {
        others.push_back(fixed[3]);
        for (const auto& [m, sc] : map_scopes) others.push_back(sc);
      } else if (map) {
        for (const auto& [m, sc] : map_scopes)
          if (m != map) others.push_back(sc);
      }
      return RegionTags{::llvm::MDNode::get(ctx_, {own}), ::llvm::MDNode::get(ctx_, others)};
    };
    region_tags_[0] = tags(fixed[0], true, nullptr);
    region_tags_[1] = tags(fixed[1], true, nullptr);
    region_tags_[2] = tags(fixed[2], true, nullptr);
    region_tags_[3] = tags(fixed[3], false, nullptr);
    for (const auto& [m, sc] : map_scopes) map_tags_[m] = tags(sc, false, m);
  }

  // The access at pc carries its region's scopes, when the verifier named one.
  template <class I>
  I* tag(I* access, uint32_t pc) {
    const InsnFacts* f = facts_at(pc);
    if (!f) return access;
    const RegionTags* t = nullptr;
    switch (f->region) {
      case AccessRegion::Stack:
        t = &region_tags_[0];
        break;
      case AccessRegion::Ctx:
        t = &region_tags_[1];
        break;
      case AccessRegion::Packet:
        t = &region_tags_[2];
        break;
      case AccessRegion::MapValue:
        t = f->map ? &map_tags_.at(f->map) : &region_tags_[3];
        break;
      case AccessRegion::Unknown:
        return access;
    }
    access->setMetadata(::llvm::LLVMContext::MD_alias_scope, t->scope);
    access->setMetadata(::llvm::LLVMContext::MD_noalias, t->noalias);
    return access;
  }

  // What the verifier's range facts (verifier::Options::range_facts) prove about an ALU
  // instruction's register operands. Ranges are of the operands as the instruction reads them
  // (the 32-bit subregister for ALU32, sign-extended in smin/smax).
  struct OperandFacts {
    bool nonzero_divisor = false;     // src != 0
    bool no_signed_overflow = false;  // not (dst == MIN and src == -1)
    bool shift_in_range = false;      // src < the width
  };

  OperandFacts operand_facts(uint32_t pc, const isa::OpInfo& o) const {
    OperandFacts p;
    if (facts_.empty() || !o.uses_src || !facts_[pc].has_src) return p;
    const InsnFacts& f = facts_[pc];
    const unsigned bits = o.is64 ? 64 : 32;
    const int64_t min = o.is64 ? INT64_MIN : INT32_MIN;
    p.nonzero_divisor = f.src.umin >= 1 || f.src.smin >= 1 || f.src.smax <= -1;
    const uint64_t all_ones = o.is64 ? UINT64_MAX : UINT32_MAX;
    p.no_signed_overflow = f.src.smin >= 0 || f.src.smax < -1 || f.src.umax < all_ones ||
                           (f.has_dst && f.dst.smin > min);
    p.shift_in_range = f.src.umax < bits;
    return p;
  }

  // --- functions ----------------------------------------------------------------------------

  void emit_function(uint32_t entry, const std::vector<uint32_t>& reach) {
    fn_ = fn_of_pc_[entry];
    auto args = fn_->arg_begin();
    rc_ = &*args++;
    frame_ = &*args++;
    depth_ = &*args++;

    BasicBlock* start = new_block("entry");
    b_.SetInsertPoint(start);
    for (int r = 0; r <= isa::kRegAx; ++r) regs_[r] = b_.CreateAlloca(i64_);
    loops_ = b_.CreateAlloca(i64_);
    if (callbacks_) callsite_ = b_.CreateAlloca(callsite_ty_);
    // A function starts as a program does: r1..r5 are its arguments, every other register 0.
    set_reg(0, c64(0));
    for (int r = 1; r <= 5; ++r) set_reg(static_cast<uint8_t>(r), &*args++);
    for (int r = 6; r <= 9; ++r) set_reg(static_cast<uint8_t>(r), c64(0));
    b_.CreateStore(c64(BPFBOX_MAX_LOOPS), loops_);
    if (checked_) {
      // Unverified code never reads the host's leftovers: each frame starts zeroed.
      b_.CreateMemSet(b_.CreateConstGEP1_64(i8_, frame_, -static_cast<int64_t>(kFrameSize)),
                      b_.getInt8(0), kFrameSize, ::llvm::MaybeAlign(16));
      publish_live_stack();
    }

    abort_ = new_block("abort");
    {
      ::llvm::IRBuilder<> ab(abort_);
      ab.CreateRet(::llvm::ConstantStruct::get(ret_ty_, {c64(0), b_.getTrue()}));
    }
    blocks_.assign(prog_.size(), nullptr);
    for (uint32_t pc : reach)
      if (shape_.starts_block[pc]) blocks_[pc] = new_block(("pc" + std::to_string(pc)).c_str());
    b_.CreateBr(blocks_[entry]);

    for (uint32_t pc : reach) {
      if (blocks_[pc]) {
        if (!b_.GetInsertBlock()->getTerminator()) b_.CreateBr(blocks_[pc]);
        b_.SetInsertPoint(blocks_[pc]);
        known_mask_ = known_fn_mask_ = 0;  // another path may enter here
      }
      emit(pc);
      track_constants(prog_[pc], pc);
    }
  }

  // The program's entry, with Executable::Entry's signature: sets up the run as the interpreter
  // does (fault cleared, stack described, budget count reset) and calls the function at pc 0.
  void emit_entry() {
    auto* ty = FunctionType::get(i64_, {ptr_, ptr_, i64_, i64_}, false);
    Function* f = Function::Create(ty, Function::ExternalLinkage, kEntrySymbol, *module_);
    f->addFnAttr(::llvm::Attribute::NoUnwind);
    fn_ = f;
    auto args = f->arg_begin();
    ++args;  // self
    rc_ = &*args++;
    Value* r1 = &*args++;
    Value* r2 = &*args++;
    b_.SetInsertPoint(new_block("entry"));
    AllocaInst* stack = b_.CreateAlloca(::llvm::ArrayType::get(i8_, kStackBytes));
    stack->setAlignment(::llvm::Align(16));
    Value* base = b_.CreateConstGEP2_64(stack->getAllocatedType(), stack, 0, 0);
    Value* top = b_.CreateConstGEP1_64(i8_, base, kStackBytes);
    b_.CreateMemSet(rc_field(offsetof(RunContext, fault), i8_), b_.getInt8(0), sizeof(Fault),
                    ::llvm::MaybeAlign(8));
    b_.CreateStore(c32(checked_ ? 1 : 0), rc_field(offsetof(RunContext, checked), i32_));
    // insns_executed and the tail-call count are reset by Executable::run, not here: a tail call
    // enters through this entry with them running.
    if (!checked_) {  // checked runs describe only the live frames, from each function's entry
      b_.CreateStore(b_.CreatePtrToInt(base, i64_),
                     rc_field(offsetof(RunContext, stack_base), i64_));
      b_.CreateStore(c64(kStackBytes), rc_field(offsetof(RunContext, stack_size), i64_));
    }
    // A helper may run another program on the same context: the outer run gets its hook back.
    Value* outer_hook = nullptr;
    Value* outer_state = nullptr;
    if (callbacks_) {
      outer_hook = b_.CreateLoad(ptr_, rc_field(offsetof(RunContext, call_function), ptr_));
      outer_state = b_.CreateLoad(ptr_, rc_field(offsetof(RunContext, engine_state), ptr_));
      b_.CreateStore(b_.CreateBitCast(call_function_, ptr_),
                     rc_field(offsetof(RunContext, call_function), ptr_));
    }
    Value* res =
        b_.CreateCall(fn_ty_, fn_of_pc_[0], {rc_, top, c32(0), r1, r2, c64(0), c64(0), c64(0)});
    if (callbacks_) {
      b_.CreateStore(outer_hook, rc_field(offsetof(RunContext, call_function), ptr_));
      b_.CreateStore(outer_state, rc_field(offsetof(RunContext, engine_state), ptr_));
    }
    b_.CreateRet(b_.CreateExtractValue(res, 0));
  }

  // RunContext::call_function (C ABI: rc, fn, r1..r5 -> r0) for programs with callbacks: calls
  // fn one frame below the helper's caller, as a bpf-to-bpf call, then gives the caller its
  // call-site record and stack view back. BadCall / CallDepth faults name the helper call's pc.
  void emit_call_function() {
    auto* ty = FunctionType::get(i64_, {ptr_, i64_, i64_, i64_, i64_, i64_, i64_}, false);
    Function* f =
        Function::Create(ty, Function::InternalLinkage, "bpfbox_llvm_call_function", *module_);
    f->addFnAttr(::llvm::Attribute::NoUnwind);
    call_function_ = f;
    fn_ = f;
    auto args = f->arg_begin();
    rc_ = &*args++;
    Value* fn = &*args++;
    Value* r[5];
    for (Value*& v : r) v = &*args++;
    b_.SetInsertPoint(new_block("entry"));
    Value* site_bytes = b_.CreateLoad(ptr_, rc_field(offsetof(RunContext, engine_state), ptr_));
    Value* site = b_.CreateBitCast(site_bytes, callsite_ty_->getPointerTo());
    Value* frame = b_.CreateLoad(ptr_, b_.CreateStructGEP(callsite_ty_, site, 0));
    Value* depth = b_.CreateLoad(i32_, b_.CreateStructGEP(callsite_ty_, site, 1));
    Value* pc = b_.CreateLoad(i32_, b_.CreateStructGEP(callsite_ty_, site, 2));
    Value* base = b_.CreateLoad(i64_, rc_field(offsetof(RunContext, stack_base), i64_));
    Value* size = b_.CreateLoad(i64_, rc_field(offsetof(RunContext, stack_size), i64_));
    auto* fault_ty = FunctionType::get(b_.getVoidTy(), {ptr_, i32_, i32_, i32_, i64_}, false);
    auto fault = [&](FaultKind kind, int err, Value* addr) {
      b_.CreateCall(
          fault_ty, constant_fn(address_of(&rt::fault), fault_ty),
          {rc_, c32(static_cast<uint32_t>(kind)), c32(static_cast<uint32_t>(err)), pc, addr});
      b_.CreateRet(c64(0));
    };
    Value* callee_frame = b_.CreateConstGEP1_64(i8_, frame, -static_cast<int64_t>(kFrameSize));
    for (const auto& [entry, target] : fn_of_pc_) {
      BasicBlock* hit = new_block("call_fn");
      BasicBlock* next = new_block("call_next");
      b_.CreateCondBr(b_.CreateICmpEQ(fn, b_.CreatePtrToInt(target, i64_)), hit, next);
      b_.SetInsertPoint(hit);
      BasicBlock* deep = new_block("call_too_deep");
      BasicBlock* go = new_block("call");
      b_.CreateCondBr(b_.CreateICmpUGE(depth, c32(kFrames - 1)), deep, go, unlikely_);
      b_.SetInsertPoint(deep);
      fault(FaultKind::CallDepth, E2BIG, c64(entry));
      b_.SetInsertPoint(go);
      Value* res = b_.CreateCall(
          fn_ty_, target,
          {rc_, callee_frame, b_.CreateAdd(depth, c32(1)), r[0], r[1], r[2], r[3], r[4]});
      b_.CreateStore(site_bytes, rc_field(offsetof(RunContext, engine_state), ptr_));
      b_.CreateStore(base, rc_field(offsetof(RunContext, stack_base), i64_));
      b_.CreateStore(size, rc_field(offsetof(RunContext, stack_size), i64_));
      b_.CreateRet(b_.CreateExtractValue(res, 0));
      b_.SetInsertPoint(next);
    }
    fault(FaultKind::BadCall, EINVAL, fn);
  }

  // --- instructions -------------------------------------------------------------------------

  void charge_budget(uint32_t pc) {
    // Each executed instruction counts in rc->insns_executed, which helpers' callbacks share;
    // the instruction that would exceed the budget does not run.
    Value* counter = rc_field(offsetof(RunContext, insns_executed), i64_);
    Value* n = b_.CreateLoad(i64_, counter);
    BasicBlock* out = new_block("budget_exhausted");
    branch_unless(b_.CreateICmpUGE(n, c64(budget_)), out);
    b_.CreateStore(b_.CreateAdd(n, c64(1)), counter);
    BasicBlock* cont = b_.GetInsertBlock();
    b_.SetInsertPoint(out);
    fault_here(FaultKind::Budget, E2BIG, pc, c64(0));
    b_.SetInsertPoint(cont);
  }

  void emit(uint32_t pc) {
    const isa::Decoded& d = prog_[pc];
    const isa::OpInfo& o = d.info();
    if (budget_) charge_budget(pc);
    switch (o.kind) {
      case Kind::Alu:
        return emit_alu(pc, d, o);
      case Kind::Mov:
        return set_reg(d.dst, o.is64 ? source(d, o) : zext32(trunc32(source(d, o))));
      case Kind::Neg:
        return set_reg(
            d.dst, o.is64 ? b_.CreateNeg(reg(d.dst)) : zext32(b_.CreateNeg(trunc32(reg(d.dst)))));
      case Kind::Movsx: {
        Value* v = b_.CreateTrunc(reg(d.src), b_.getIntNTy(o.size));
        return set_reg(d.dst, o.is64 ? b_.CreateSExt(v, i64_) : zext32(b_.CreateSExt(v, i32_)));
      }
      case Kind::End:
        return emit_endian(d, o);
      case Kind::Ja:
      case Kind::Gotol:
        b_.CreateBr(blocks_[*d.target(pc)]);
        return;
      case Kind::Jcond:
        b_.CreateCondBr(condition(d, o), blocks_[*d.target(pc)], blocks_[pc + 1]);
        return;
      case Kind::MayGoto: {
        // As the kernel's rewrite: jump once the counter is spent, else count down.
        Value* n = b_.CreateLoad(i64_, loops_);
        BasicBlock* count = new_block("may_goto_count");
        b_.CreateCondBr(b_.CreateICmpEQ(n, c64(0)), blocks_[*d.target(pc)], count);
        b_.SetInsertPoint(count);
        b_.CreateStore(b_.CreateSub(n, c64(1)), loops_);
        b_.CreateBr(blocks_[pc + 1]);
        return;
      }
      case Kind::Exit:
        b_.CreateRet(b_.CreateInsertValue(
            ::llvm::ConstantStruct::get(ret_ty_, {c64(0), b_.getFalse()}), reg(0), 0));
        return;
      case Kind::Lddw:
        if (d.src == BPF_PSEUDO_FUNC)
          return set_reg(d.dst, b_.CreatePtrToInt(fn_of_pc_.at(*d.target(pc)), i64_));
        return set_reg(d.dst, c64(d.imm64));
      case Kind::Call: {
        if (is_tail_call(d, helpers_)) return emit_tail_call();
        const Helper* h = helpers_.get(static_cast<uint32_t>(d.imm));
        if (const maps::Map* map = constant_map_lookup(*h)) return emit_map_lookup(*map);
        if (h->inline_as == HelperInline::RunCpu)  // as the JIT: cannot fault nor call back
          return set_reg(0, zext32(b_.CreateLoad(i32_, rc_field(offsetof(RunContext, cpu), i32_))));
        if (const auto cb = constant_loop_callback(*h)) return emit_inline_loop(pc, *cb);
        return emit_helper_call(h->fn, pc);
      }
      case Kind::CallLocal:
        return emit_local_call(pc, static_cast<uint32_t>(*d.target(pc)));
      case Kind::Callx:
        return emit_callx(pc, d);
      case Kind::CallKfunc:  // refused by check_executable_form
        fault_here(FaultKind::Unsupported, EOPNOTSUPP, pc, c64(static_cast<uint64_t>(d.imm)));
        b_.SetInsertPoint(new_block("dead"));
        return;
      case Kind::LdAbs:
      case Kind::LdInd:
        return emit_packet_load(d, o);
      case Kind::Ldx:
      case Kind::Ldxs: {
        Type* t = int_ty(o.size);
        Value* p = operand(d.src, d.off, t, o.size, kRead, pc);
        // Frozen: a read of stack never written is some value, not LLVM's undef.
        Value* v = b_.CreateFreeze(tag(b_.CreateAlignedLoad(t, p, ::llvm::Align(1)), pc));
        return set_reg(d.dst,
                       o.kind == Kind::Ldxs ? b_.CreateSExt(v, i64_) : b_.CreateZExt(v, i64_));
      }
      case Kind::Nospec:
        return emit_nospec();
      case Kind::St:
      case Kind::Stx: {
        Type* t = int_ty(o.size);
        Value* v =
            o.kind == Kind::St
                ? static_cast<Value*>(c64(static_cast<uint64_t>(static_cast<int64_t>(d.imm))))
                : reg(d.src);
        Value* p = operand(d.dst, d.off, t, o.size, kWrite, pc);
        tag(b_.CreateAlignedStore(b_.CreateTrunc(v, t), p, ::llvm::Align(1)), pc);
        return;
      }
      case Kind::Atomic:
        return emit_atomic(pc, d, o);
      case Kind::LoadAcq: {
        Type* t = int_ty(o.size);
        Value* p = operand(d.src, d.off, t, o.size, kRead, pc);
        auto* l = tag(b_.CreateAlignedLoad(t, p, ::llvm::Align(o.size)), pc);
        l->setAtomic(::llvm::AtomicOrdering::Acquire);
        return set_reg(d.dst, b_.CreateZExt(l, i64_));
      }
      case Kind::StoreRel: {
        Type* t = int_ty(o.size);
        Value* v = b_.CreateTrunc(reg(d.src), t);
        Value* p = operand(d.dst, d.off, t, o.size, kWrite, pc);
        auto* s = tag(b_.CreateAlignedStore(v, p, ::llvm::Align(o.size)), pc);
        s->setAtomic(::llvm::AtomicOrdering::Release);
        return;
      }
    }
  }

  // The verifier's speculation barrier (unprivileged programs, Spectre v4 and v1 on dead paths):
  // an lfence, as the JIT. LLVM IR has no target-neutral barrier, so it is inline assembly with
  // side effects and a memory clobber: nothing LLVM moves across it, and it is never dropped.
  void emit_nospec() {
    auto* ty = FunctionType::get(b_.getVoidTy(), false);
    b_.CreateCall(ty, ::llvm::InlineAsm::get(ty, "lfence", "~{memory}", /*hasSideEffects=*/true));
  }

  Value* trunc32(Value* v) { return b_.CreateTrunc(v, i32_); }
  Value* zext32(Value* v) { return b_.CreateZExt(v, i64_); }

  // The second operand: the source register or the immediate sign-extended to 64 bits.
  Value* source(const isa::Decoded& d, const isa::OpInfo& o) {
    return o.uses_src ? reg(d.src) : c64(static_cast<uint64_t>(static_cast<int64_t>(d.imm)));
  }

  void emit_alu(uint32_t pc, const isa::Decoded& d, const isa::OpInfo& o) {
    Value* a = reg(d.dst);
    Value* b = source(d, o);
    if (!o.is64) {
      a = trunc32(a);
      b = trunc32(b);
    }
    Type* t = a->getType();
    const unsigned bits = o.is64 ? 64 : 32;
    auto k = [&](uint64_t v) { return ::llvm::ConstantInt::get(t, v); };
    Value* r = nullptr;
    const OperandFacts proven = operand_facts(pc, o);
    // Division as the kernel defines it: by 0 gives 0 (modulo leaves dst); signed MIN / -1
    // gives MIN (modulo 0). The divisor is made safe so the host never traps, unless the
    // verifier proved the case cannot happen (then the plain instruction, which LLVM may treat
    // as undefined for it, is exact).
    Value* zero = nullptr;
    Value* minus1 = nullptr;
    Value* safe = nullptr;
    const bool is_signed = d.op == Op::Sdiv64K || d.op == Op::Sdiv64X || d.op == Op::Sdiv32K ||
                           d.op == Op::Sdiv32X || d.op == Op::Smod64K || d.op == Op::Smod64X ||
                           d.op == Op::Smod32K || d.op == Op::Smod32X;
    const bool divides = o.op == BPF_DIV || o.op == BPF_MOD;
    if (divides) {
      zero = proven.nonzero_divisor ? b_.getFalse() : b_.CreateICmpEQ(b, k(0));
      minus1 = is_signed && !proven.no_signed_overflow
                   ? b_.CreateICmpEQ(b, ::llvm::ConstantInt::getAllOnesValue(t))
                   : b_.getFalse();
      safe = zero == b_.getFalse() && minus1 == b_.getFalse()
                 ? b
                 : b_.CreateSelect(b_.CreateOr(zero, minus1), k(1), b);
    }
    // Shift counts are masked as the interpreter masks them, unless proven below the width.
    auto count = [&](Value* c) { return proven.shift_in_range ? c : b_.CreateAnd(c, k(bits - 1)); };
    switch (o.op) {
      case BPF_ADD:
        r = b_.CreateAdd(a, b);
        break;
      case BPF_SUB:
        r = b_.CreateSub(a, b);
        break;
      case BPF_MUL:
        r = b_.CreateMul(a, b);
        break;
      case BPF_DIV:
        if (is_signed)
          r = b_.CreateSelect(minus1, b_.CreateNeg(a),
                              b_.CreateSelect(zero, k(0), b_.CreateSDiv(a, safe)));
        else
          r = b_.CreateSelect(zero, k(0), b_.CreateUDiv(a, safe));
        break;
      case BPF_MOD:
        if (is_signed)
          r = b_.CreateSelect(minus1, k(0), b_.CreateSelect(zero, a, b_.CreateSRem(a, safe)));
        else
          r = b_.CreateSelect(zero, a, b_.CreateURem(a, safe));
        break;
      case BPF_OR:
        r = b_.CreateOr(a, b);
        break;
      case BPF_AND:
        r = b_.CreateAnd(a, b);
        break;
      case BPF_XOR:
        r = b_.CreateXor(a, b);
        break;
      case BPF_LSH:
        r = b_.CreateShl(a, count(b));
        break;
      case BPF_RSH:
        r = b_.CreateLShr(a, count(b));
        break;
      case BPF_ARSH:
        r = b_.CreateAShr(a, count(b));
        break;
      default:
        r = b;  // unreachable: the decoder's Alu kinds are the ones above
        break;
    }
    set_reg(d.dst, o.is64 ? r : zext32(r));
  }

  void emit_endian(const isa::Decoded& d, const isa::OpInfo& o) {
    // The host is little-endian: le truncates, be and bswap swap (and truncate).
    Type* t = b_.getIntNTy(o.size);
    Value* v = b_.CreateTrunc(reg(d.dst), t);
    const bool swap = d.op != Op::Le16 && d.op != Op::Le32 && d.op != Op::Le64;
    if (swap) v = b_.CreateUnaryIntrinsic(::llvm::Intrinsic::bswap, v);
    set_reg(d.dst, b_.CreateZExt(v, i64_));
  }

  Value* condition(const isa::Decoded& d, const isa::OpInfo& o) {
    Value* a = reg(d.dst);
    Value* b = source(d, o);
    if (!o.is64) {
      a = trunc32(a);
      b = trunc32(b);
    }
    switch (o.op) {
      case BPF_JEQ:
        return b_.CreateICmpEQ(a, b);
      case BPF_JNE:
        return b_.CreateICmpNE(a, b);
      case BPF_JGT:
        return b_.CreateICmpUGT(a, b);
      case BPF_JGE:
        return b_.CreateICmpUGE(a, b);
      case BPF_JLT:
        return b_.CreateICmpULT(a, b);
      case BPF_JLE:
        return b_.CreateICmpULE(a, b);
      case BPF_JSET:
        return b_.CreateICmpNE(b_.CreateAnd(a, b), ::llvm::ConstantInt::get(a->getType(), 0));
      case BPF_JSGT:
        return b_.CreateICmpSGT(a, b);
      case BPF_JSGE:
        return b_.CreateICmpSGE(a, b);
      case BPF_JSLT:
        return b_.CreateICmpSLT(a, b);
      default:  // BPF_JSLE
        return b_.CreateICmpSLE(a, b);
    }
  }

  void emit_atomic(uint32_t pc, const isa::Decoded& d, const isa::OpInfo& o) {
    Type* t = int_ty(o.size);
    Value* v = b_.CreateTrunc(reg(d.src), t);
    Value* p = operand(d.dst, d.off, t, o.size, kReadWrite, pc);
    const auto seq = ::llvm::AtomicOrdering::SequentiallyConsistent;
    const ::llvm::MaybeAlign align(o.size);
    const int op = d.imm;
    if (op == BPF_CMPXCHG) {
      Value* expected = b_.CreateTrunc(reg(0), t);
      Value* pair = tag(b_.CreateAtomicCmpXchg(p, expected, v, align, seq, seq), pc);
      // r0 gets the old value whether or not it matched (zero-extended for 32 bits).
      set_reg(0, b_.CreateZExt(b_.CreateExtractValue(pair, 0), i64_));
      return;
    }
    ::llvm::AtomicRMWInst::BinOp rmw = ::llvm::AtomicRMWInst::Xchg;
    switch (op & ~BPF_FETCH) {
      case BPF_ADD:
        rmw = ::llvm::AtomicRMWInst::Add;
        break;
      case BPF_OR:
        rmw = ::llvm::AtomicRMWInst::Or;
        break;
      case BPF_AND:
        rmw = ::llvm::AtomicRMWInst::And;
        break;
      case BPF_XOR:
        rmw = ::llvm::AtomicRMWInst::Xor;
        break;
      default:  // BPF_XCHG (always fetches)
        break;
    }
    Value* old = tag(b_.CreateAtomicRMW(rmw, p, v, align, seq), pc);
    if (op & BPF_FETCH) set_reg(d.src, b_.CreateZExt(old, i64_));
  }

  void emit_packet_load(const isa::Decoded& d, const isa::OpInfo& o) {
    // Offset imm (LD_ABS) or the low 32 bits of src + imm read as an int (LD_IND); a negative
    // offset or one past the packet ends the whole run with r0 = 0, as the interpreter's.
    Value* off = c64(static_cast<uint64_t>(static_cast<int64_t>(d.imm)));
    if (o.kind == Kind::LdInd) off = b_.CreateSExt(trunc32(b_.CreateAdd(reg(d.src), off)), i64_);
    Value* data = b_.CreateLoad(ptr_, rc_field(offsetof(RunContext, pkt_data), ptr_));
    Value* len =
        b_.CreateZExt(b_.CreateLoad(i32_, rc_field(offsetof(RunContext, pkt_len), i32_)), i64_);
    Value* outside = b_.CreateOr(b_.CreateOr(b_.CreateICmpSLT(off, c64(0)),
                                             b_.CreateICmpUGT(b_.CreateAdd(off, c64(o.size)), len)),
                                 b_.CreateIsNull(data));
    branch_unless(outside, abort_);
    Type* t = int_ty(o.size);
    Value* p = b_.CreateBitCast(b_.CreateGEP(i8_, data, off), t->getPointerTo());
    Value* v = b_.CreateAlignedLoad(t, p, ::llvm::Align(1));
    if (o.size > 1) v = b_.CreateUnaryIntrinsic(::llvm::Intrinsic::bswap, v);
    set_reg(0, b_.CreateZExt(v, i64_));
  }

  // After anything that may have recorded a fault (a helper), the run stops if one was.
  void stop_if_faulted() {
    Value* kind = b_.CreateLoad(i8_, rc_field(kFaultKindOffset, i8_));
    branch_unless(b_.CreateICmpNE(kind, b_.getInt8(0)), abort_);
  }

  void emit_helper_call(HelperFn fn, uint32_t pc) {
    if (callbacks_) {
      // A helper may call back into the program (bpf_loop): tell call_function where it stands.
      b_.CreateStore(frame_, b_.CreateStructGEP(callsite_ty_, callsite_, 0));
      b_.CreateStore(depth_, b_.CreateStructGEP(callsite_ty_, callsite_, 1));
      b_.CreateStore(c32(pc), b_.CreateStructGEP(callsite_ty_, callsite_, 2));
      b_.CreateStore(b_.CreateBitCast(callsite_, ptr_),
                     rc_field(offsetof(RunContext, engine_state), ptr_));
    }
    Value* r0 = b_.CreateCall(helper_ty_, constant_fn(address_of(fn), helper_ty_),
                              {reg(1), reg(2), reg(3), reg(4), reg(5), rc_});
    set_reg(0, r0);
    stop_if_faulted();
  }

  // Which registers hold an lddw constant since the start of the block: the map of a helper call
  // (clang loads it right before the call).
  void track_constants(const isa::Decoded& d, uint32_t pc) {
    uint16_t reads = 0, writes = 0;
    isa::reg_effects(d, reads, writes);
    known_mask_ &= static_cast<uint16_t>(~writes);
    known_fn_mask_ &= static_cast<uint16_t>(~writes);
    if (d.info().kind == Kind::Lddw && d.src == 0) {
      known_[d.dst] = d.imm64;
      known_mask_ |= static_cast<uint16_t>(1u << d.dst);
    }
    if (d.info().kind == Kind::Lddw && d.src == BPF_PSEUDO_FUNC) {
      known_fn_[d.dst] = static_cast<uint32_t>(*d.target(pc));
      known_fn_mask_ |= static_cast<uint16_t>(1u << d.dst);
    }
  }

  // bpf_loop with the callback known at the call (r2 from a BPF_PSEUDO_FUNC lddw): inlined as the
  // kernel's verifier does (inline_bpf_loop), a loop calling the callback's function directly
  // instead of the helper calling back through RunContext::call_function, which compares the
  // value with every function of the program. Unchecked mode (verified programs) only.
  std::optional<uint32_t> constant_loop_callback(const Helper& h) const {
    if (checked_ || h.name != "bpf_loop" || !(known_fn_mask_ & (1u << 2))) return std::nullopt;
    return known_fn_[2];
  }

  // The helper's semantics (helpers/callbacks.cpp): flags must be 0 (-EINVAL), at most
  // BPF_MAX_LOOPS iterations of the low 32 bits of r1 (-E2BIG); cb(i, ctx) one frame deeper
  // (CallDepth at this pc past eight frames); stops after a call that returned non-zero; a
  // fault in the callback ends the run; returns the number of calls.
  void emit_inline_loop(uint32_t pc, uint32_t entry) {
    Function* callee = fn_of_pc_.at(entry);
    Value* out = entry_alloca(i64_);
    Value* index = entry_alloca(i64_);
    Value* nr = zext32(trunc32(reg(1)));
    Value* ctx = reg(3);
    BasicBlock* done = new_block("loop_done");
    BasicBlock* check_nr = new_block("loop_nr");
    BasicBlock* head = new_block("loop_head");
    BasicBlock* body = new_block("loop_body");
    BasicBlock* too_deep = new_block("loop_too_deep");
    BasicBlock* go = new_block("loop_call");
    BasicBlock* stopped = new_block("loop_stopped");
    BasicBlock* next = new_block("loop_next");
    BasicBlock* end = new_block("loop_end");
    b_.CreateStore(c64(static_cast<uint64_t>(-EINVAL)), out);
    b_.CreateCondBr(b_.CreateICmpNE(reg(4), c64(0)), done, check_nr);
    b_.SetInsertPoint(check_nr);
    b_.CreateStore(c64(static_cast<uint64_t>(-E2BIG)), out);
    b_.CreateStore(c64(0), index);
    b_.CreateCondBr(b_.CreateICmpUGT(nr, c64(BPFBOX_MAX_LOOPS)), done, head);
    b_.SetInsertPoint(head);
    Value* i = b_.CreateLoad(i64_, index);
    b_.CreateCondBr(b_.CreateICmpULT(i, nr), body, end);
    b_.SetInsertPoint(end);
    b_.CreateStore(i, out);
    b_.CreateBr(done);
    b_.SetInsertPoint(body);
    b_.CreateCondBr(b_.CreateICmpUGE(depth_, c32(kFrames - 1)), too_deep, go, unlikely_);
    b_.SetInsertPoint(too_deep);
    fault_here(FaultKind::CallDepth, E2BIG, pc, c64(entry));
    b_.SetInsertPoint(go);
    Value* callee_frame = b_.CreateConstGEP1_64(i8_, frame_, -static_cast<int64_t>(kFrameSize));
    Value* res = b_.CreateCall(
        fn_ty_, callee,
        {rc_, callee_frame, b_.CreateAdd(depth_, c32(1)), i, ctx, c64(0), c64(0), c64(0)});
    // A fault ends the run; a callback that stopped otherwise (a failed packet load, a tail call)
    // returned its r0 to the loop, as through call_function.
    stop_if_faulted();
    Value* i1 = b_.CreateAdd(i, c64(1));
    b_.CreateCondBr(b_.CreateICmpNE(b_.CreateExtractValue(res, 0), c64(0)), stopped, next);
    b_.SetInsertPoint(stopped);
    b_.CreateStore(i1, out);
    b_.CreateBr(done);
    b_.SetInsertPoint(next);
    b_.CreateStore(i1, index);
    b_.CreateBr(head);
    b_.SetInsertPoint(done);
    set_reg(0, b_.CreateLoad(i64_, out));
  }

  // bpf_map_lookup_elem on a map known at the call (the verifier's constant in r1): the map
  // family's lookup is called directly, as the helper would call it, with no helper in between
  // and no fault check after (a lookup records none). Verified programs only (unchecked mode):
  // the constant is then a live maps::Map the program holds.
  const maps::Map* constant_map_lookup(const Helper& h) const {
    if (checked_ || h.name != "bpf_map_lookup_elem" || !(known_mask_ & (1u << 1))) return nullptr;
    const auto* map = reinterpret_cast<const maps::Map*>(known_[1]);
    return map && map->prog().lookup ? map : nullptr;
  }

  void emit_map_lookup(const maps::Map& map) {
    Value* key = b_.CreateIntToPtr(reg(2), ptr_);
    Value* cpu = b_.CreateLoad(i32_, rc_field(offsetof(RunContext, cpu), i32_));
    if (map.type() == BPF_MAP_TYPE_PERCPU_ARRAY && map.inline_array())
      return emit_percpu_array_lookup(*map.inline_array(), key, cpu);
    auto* ty = FunctionType::get(ptr_, {ptr_, ptr_, i32_}, false);
    ::llvm::CallInst* value =
        b_.CreateCall(ty, constant_fn(address_of(map.prog().lookup), ty),
                      {b_.CreateIntToPtr(c64(reinterpret_cast<uint64_t>(&map)), ptr_), key, cpu});
    // A value of value_size bytes, or null: once the program's null check passed, LLVM may load
    // from it speculatively (hoist a load out of a loop or a branch). Maps whose lookup returns
    // something else (an inner map, a socket) get no such attribute.
    if (returns_value(map))
      value->addRetAttr(
          ::llvm::Attribute::getWithDereferenceableOrNullBytes(ctx_, map.value_size()));
    set_reg(0, b_.CreatePtrToInt(value, i64_));
  }

  static bool returns_value(const maps::Map& map) {
    switch (map.type()) {
      case BPF_MAP_TYPE_HASH:
      case BPF_MAP_TYPE_LRU_HASH:
      case BPF_MAP_TYPE_PERCPU_HASH:
      case BPF_MAP_TYPE_LRU_PERCPU_HASH:
      case BPF_MAP_TYPE_ARRAY:
      case BPF_MAP_TYPE_PERCPU_ARRAY:
      case BPF_MAP_TYPE_LPM_TRIE:
        return map.value_size() > 0;
      default:
        return false;
    }
  }

  // PERCPU_ARRAY, as the kernel's percpu_array_map_gen_lookup: r0 = &elem[index] + this run's
  // CPU slot when index < max_entries, else NULL (maps/array_map.cpp's prog_lookup). No call,
  // and the key's stack slot does not escape.
  void emit_percpu_array_lookup(const maps::InlineArray& a, Value* key, Value* cpu) {
    Value* index = zext32(b_.CreateFreeze(b_.CreateAlignedLoad(i32_, key, ::llvm::Align(1))));
    BasicBlock* hit = new_block("percpu_hit");
    BasicBlock* done = new_block("percpu_done");
    BasicBlock* from = b_.GetInsertBlock();
    b_.CreateCondBr(b_.CreateICmpULT(index, c64(a.max_entries)), hit, done);
    b_.SetInsertPoint(hit);
    Value* offset = b_.CreateAdd(b_.CreateMul(index, c64(a.elem_size)),
                                 b_.CreateMul(zext32(cpu), c64(a.cpu_stride)));
    Value* elem = b_.CreateAdd(c64(reinterpret_cast<uint64_t>(a.base)), offset);
    b_.CreateBr(done);
    b_.SetInsertPoint(done);
    ::llvm::PHINode* r0 = b_.CreatePHI(i64_, 2);
    r0->addIncoming(c64(0), from);
    r0->addIncoming(elem, hit);
    set_reg(0, r0);
  }

  // A bpf-to-bpf call: a new frame 512 bytes below, at most eight in all (E2BIG at the call, as
  // the interpreter). r1..r5 keep the caller's values afterwards (the kernel's verifier refuses
  // reading them); r6..r9 are the caller's own allocas, so they survive by construction.
  void emit_local_call(uint32_t pc, uint32_t target) {
    BasicBlock* too_deep = new_block("call_too_deep");
    branch_unless(b_.CreateICmpUGE(depth_, c32(kFrames - 1)), too_deep);
    BasicBlock* cont = b_.GetInsertBlock();
    b_.SetInsertPoint(too_deep);
    fault_here(FaultKind::CallDepth, E2BIG, pc, c64(target));
    b_.SetInsertPoint(cont);

    Value* callee_frame = b_.CreateConstGEP1_64(i8_, frame_, -static_cast<int64_t>(kFrameSize));
    Value* res = b_.CreateCall(
        fn_ty_, fn_of_pc_.at(target),
        {rc_, callee_frame, b_.CreateAdd(depth_, c32(1)), reg(1), reg(2), reg(3), reg(4), reg(5)});
    // A callee that stopped the run (fault, failed packet load, tail call) returns its result
    // up through every frame.
    BasicBlock* unwind = new_block("unwind");
    branch_unless(b_.CreateExtractValue(res, 1), unwind);
    BasicBlock* cont2 = b_.GetInsertBlock();
    b_.SetInsertPoint(unwind);
    b_.CreateRet(res);
    b_.SetInsertPoint(cont2);
    set_reg(0, b_.CreateExtractValue(res, 0));
    if (checked_) publish_live_stack();  // the callee's frame is gone
  }

  // bpf_tail_call (r2 = map, r3 = index): when the lookup finds a compatible target, the run
  // continues there with the run's ctx and never comes back: its r0 is the run's, returned up
  // through every frame. Otherwise r0 = 0 and the program falls through, as the interpreter.
  void emit_tail_call() {
    auto* ty = FunctionType::get(i1_, {ptr_, ptr_, i64_, i64_, i64_->getPointerTo()}, false);
    Value* out = entry_alloca(i64_);
    Value* self = b_.CreateLoad(ptr_, self_);
    Value* taken = b_.CreateCall(ty, constant_fn(address_of(&rt::tail_call), ty),
                                 {rc_, self, reg(2), reg(3), out});
    BasicBlock* gone = new_block("tail_called");
    BasicBlock* stay = new_block("tail_call_fell_through");
    b_.CreateCondBr(taken, gone, stay);
    b_.SetInsertPoint(gone);
    b_.CreateRet(b_.CreateInsertValue(::llvm::ConstantStruct::get(ret_ty_, {c64(0), b_.getTrue()}),
                                      b_.CreateLoad(i64_, out), 0));
    b_.SetInsertPoint(stay);
    set_reg(0, c64(0));
  }

  // An alloca in the function's entry block (where mem2reg looks for them).
  Value* entry_alloca(Type* t) {
    ::llvm::IRBuilder<> eb(&fn_->getEntryBlock(), fn_->getEntryBlock().begin());
    return eb.CreateAlloca(t);
  }

  // callx: a BPF_PSEUDO_FUNC value (a function's address) calls that function; a small integer
  // the helper with that id; anything else is BadCall (EINVAL), as the interpreter.
  void emit_callx(uint32_t pc, const isa::Decoded& d) {
    Value* v = reg(d.dst);
    BasicBlock* done = new_block("callx_done");
    for (const auto& [entry, f] : fn_of_pc_) {
      BasicBlock* hit = new_block("callx_fn");
      BasicBlock* next = new_block("callx_next");
      b_.CreateCondBr(b_.CreateICmpEQ(v, b_.CreatePtrToInt(f, i64_)), hit, next);
      b_.SetInsertPoint(hit);
      emit_local_call(pc, entry);
      b_.CreateBr(done);
      b_.SetInsertPoint(next);
    }
    BasicBlock* bad = new_block("callx_bad");
    auto* sw = b_.CreateSwitch(v, bad);
    for (size_t id = 0; id < helpers_.size(); ++id) {
      const Helper* h = helpers_.get(static_cast<uint32_t>(id));
      if (!h) continue;
      BasicBlock* hit = new_block("callx_helper");
      sw->addCase(c64(id), hit);
      b_.SetInsertPoint(hit);
      emit_helper_call(h->fn, pc);
      b_.CreateBr(done);
    }
    b_.SetInsertPoint(bad);
    fault_here(FaultKind::BadCall, EINVAL, pc, v);
    b_.SetInsertPoint(done);
  }

  ::llvm::LLVMContext& ctx_;
  std::unique_ptr<::llvm::Module> module_;
  ::llvm::IRBuilder<> b_;
  std::span<const isa::Decoded> prog_;
  const HelperTable& helpers_;
  const bool checked_;
  const uint64_t budget_;
  const std::span<const InsnFacts> facts_;  // empty when not usable (checked mode, other program)
  RegionTags region_tags_[4];               // stack, ctx, packet, a map not known
  std::map<const void*, RegionTags> map_tags_;
  ProgramShape shape_;
  std::map<uint32_t, Function*> fn_of_pc_;

  Type* i1_;
  Type* i8_;
  Type* i32_;
  Type* i64_;
  Type* ptr_;
  ::llvm::StructType* ret_ty_;
  FunctionType* fn_ty_;
  FunctionType* helper_ty_;
  ::llvm::MDNode* unlikely_;
  ::llvm::GlobalVariable* self_ = nullptr;
  ::llvm::StructType* callsite_ty_;
  bool callbacks_ = false;  // a BPF_PSEUDO_FUNC value exists: helpers may call back
  Function* call_function_ = nullptr;

  // The function being emitted.
  Function* fn_ = nullptr;
  Value* rc_ = nullptr;
  Value* frame_ = nullptr;
  Value* depth_ = nullptr;
  AllocaInst* regs_[isa::kRegAx + 1] = {};  // r10 is the frame, never stored
  AllocaInst* loops_ = nullptr;
  AllocaInst* callsite_ = nullptr;  // with callbacks_: the record call_function reads
  BasicBlock* abort_ = nullptr;
  std::vector<BasicBlock*> blocks_;
  uint16_t known_mask_ = 0;  // bit r: r holds known_[r] (track_constants)
  uint64_t known_[isa::kMaxReg + 1] = {};
  uint16_t known_fn_mask_ = 0;  // bit r: r holds the address of the function at pc known_fn_[r]
  uint32_t known_fn_[isa::kMaxReg + 1] = {};
};

}  // namespace

Result<std::unique_ptr<::llvm::Module>> translate(::llvm::LLVMContext& ctx,
                                                  std::span<const isa::Decoded> prog,
                                                  const HelperTable& helpers,
                                                  const ExecOptions& opts) {
  return Translator(ctx, prog, helpers, opts).run();
}

}  // namespace bpfbox::vm::llvm_tier
