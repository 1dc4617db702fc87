// The interpreter's run loop: threaded dispatch with GCC computed goto over the pre-decoded slots,
// one handler per operation (generated with macros where operations are uniform). Checked mode and
// the instruction budget are template parameters, so the unchecked loop pays nothing for them.
#include <cerrno>
#include <cstring>
#include <type_traits>

#include "isa/uapi.hpp"
#include "vm/interp/program.hpp"

namespace bpfbox::vm::interp {
namespace {

constexpr uint32_t kFrames = isa::kMaxCallFrames;
constexpr uint64_t kFrameSize = isa::kStackSize;
constexpr uint64_t kStackBytes = kFrames * kFrameSize;

// What a bpf-to-bpf call saves: where to return, the callee-saved registers, the may_goto counter.
struct Frame {
  const Slot* ret;
  uint64_t saved[4];  // r6..r9
  uint64_t loops;
};

template <class T>
inline T load(uint64_t addr) {
  T v;
  std::memcpy(&v, reinterpret_cast<const void*>(addr), sizeof v);
  return v;
}

template <class T>
inline void store(uint64_t addr, T v) {
  std::memcpy(reinterpret_cast<void*>(addr), &v, sizeof v);
}

// Signed division as the kernel defines it: by zero gives 0 (modulo leaves dst), and the one
// overflowing case, MIN / -1, gives MIN (modulo 0) instead of trapping the host.
template <class U>
inline U sdiv(U a, U b) {
  using S = std::make_signed_t<U>;
  if (b == 0) return 0;
  if (b == static_cast<U>(-1)) return static_cast<U>(U{0} - a);
  return static_cast<U>(static_cast<S>(a) / static_cast<S>(b));
}
template <class U>
inline U smod(U a, U b) {
  using S = std::make_signed_t<U>;
  if (b == 0) return a;
  if (b == static_cast<U>(-1)) return 0;
  return static_cast<U>(static_cast<S>(a) % static_cast<S>(b));
}

// Network byte order reads for LD_ABS/LD_IND.
inline uint64_t load_be(const uint8_t* p, uint8_t size) {
  switch (size) {
    case 1:
      return p[0];
    case 2:
      return __builtin_bswap16(load<uint16_t>(reinterpret_cast<uint64_t>(p)));
    default:
      return __builtin_bswap32(load<uint32_t>(reinterpret_cast<uint64_t>(p)));
  }
}

[[gnu::cold, gnu::noinline]] void memory_fault(RunContext* rc, uint32_t pc, uint64_t addr,
                                               uint32_t size, uint8_t access) {
  // A store (or atomic) to memory that may be read is a write to read-only memory.
  const bool read_only = (access & kWrite) && rc->check(addr, size, kRead);
  rc->fault = Fault{read_only ? FaultKind::ReadOnly : FaultKind::OutOfBounds,
                    read_only ? EACCES : EFAULT,
                    pc,
                    addr,
                    size,
                    access};
}

[[gnu::cold, gnu::noinline]] void fault(RunContext* rc, FaultKind kind, int err, uint32_t pc,
                                        uint64_t addr) {
  rc->fault = Fault{kind, err, pc, addr, 0, 0};
}

}  // namespace

// What a helper's call back into the running program (RunContext::call_function) needs.
struct Live {
  const Program* self;
  uint64_t stack_top;
  uint32_t depth;  // the frame that called the helper
  uint32_t pc;     // the helper call
};

// Runs from `start` with r1..r5 = args in frame `base_depth` of the stack below `stack_top`, until
// that frame exits. The whole program runs as frame 0; helper callbacks run one frame deeper than
// their caller, on the same stack and budget.
template <bool Checked, bool Budget>
uint64_t exec(const Program* self, RunContext* rc, const Slot* start, const uint64_t args[5],
              uint64_t stack_top, uint32_t base_depth) {
  const Slot* code = self->code();  // both change at a tail call

  Frame frames[kFrames];
  uint64_t reg[isa::kRegAx + 1];  // r0..r10 and AX: the decoder lets no other register through
  uint32_t depth = base_depth;
  // Checked mode: the stack a run may touch is the frames in use, [live_lo, stack_top).
  uint64_t live_lo = stack_top - (depth + 1) * kFrameSize;
  uint64_t loops = BPFBOX_MAX_LOOPS;  // may_goto's counter for the current frame
  uint64_t left = 0;                  // instructions the budget still allows
  const Slot* ip = start;
  const Slot* callee = nullptr;
  Live live{self, stack_top, depth, 0};
  rc->engine_state = &live;

  if constexpr (Budget) left = self->budget() - rc->insns_executed;
  if constexpr (Checked) {
    // Unverified code could read stack it never wrote: each frame starts zeroed, not with the
    // host's leftovers.
    std::memset(reinterpret_cast<void*>(live_lo), 0, kFrameSize);
    rc->stack_base = live_lo;
    rc->stack_size = stack_top - live_lo;
  }
  reg[0] = 0;
  reg[1] = args[0];
  reg[2] = args[1];
  reg[3] = args[2];
  reg[4] = args[3];
  reg[5] = args[4];
  reg[6] = reg[7] = reg[8] = reg[9] = reg[isa::kRegAx] = 0;
  reg[10] = stack_top - depth * kFrameSize;

  static const void* const labels[] = {
#define BPFBOX_OP(name, ...) &&op_##name,
#include "isa/ops.def"
#undef BPFBOX_OP
      &&op_TailCall,  // kTailCallOp
  };
  static_assert(sizeof labels / sizeof labels[0] == isa::kOpCount + 1);

#define PC() static_cast<uint32_t>(ip - code)
#define DISPATCH()                              \
  do {                                          \
    if constexpr (Budget) {                     \
      if (left == 0) goto budget_exhausted;     \
      --left;                                   \
    }                                           \
    goto* labels[static_cast<uint8_t>(ip->op)]; \
  } while (0)
#define NEXT()  \
  do {          \
    ++ip;       \
    DISPATCH(); \
  } while (0)
#define JUMP()                                                                       \
  do {                                                                               \
    ip = reinterpret_cast<const Slot*>(reinterpret_cast<const char*>(ip) + ip->off); \
    DISPATCH();                                                                      \
  } while (0)
// Checked mode: the stack inline, every other region through the run context.
#define CHECK(addr, size, access)                                                            \
  do {                                                                                       \
    if constexpr (Checked) {                                                                 \
      if ((addr)-live_lo > stack_top - live_lo - (size) && !rc->check(addr, size, access)) { \
        memory_fault(rc, PC(), addr, size, access);                                          \
        goto faulted;                                                                        \
      }                                                                                      \
    }                                                                                        \
  } while (0)

  DISPATCH();

  // ALU: a is dst, b the immediate (sign-extended to 64 bits) or the source register.
#define ALU64(Name, EXPR)                                               \
  op_##Name##K : {                                                      \
    [[maybe_unused]] const uint64_t a = reg[ip->dst];                   \
    [[maybe_unused]] const uint64_t b = static_cast<uint64_t>(ip->imm); \
    reg[ip->dst] = (EXPR);                                              \
    NEXT();                                                             \
  }                                                                     \
  op_##Name##X : {                                                      \
    [[maybe_unused]] const uint64_t a = reg[ip->dst];                   \
    [[maybe_unused]] const uint64_t b = reg[ip->src];                   \
    reg[ip->dst] = (EXPR);                                              \
    NEXT();                                                             \
  }
// ALU32 operates on the low halves and zero-extends the result.
#define ALU32(Name, EXPR)                                                    \
  op_##Name##K : {                                                           \
    [[maybe_unused]] const uint32_t a = static_cast<uint32_t>(reg[ip->dst]); \
    [[maybe_unused]] const uint32_t b = static_cast<uint32_t>(ip->imm);      \
    reg[ip->dst] = static_cast<uint32_t>(EXPR);                              \
    NEXT();                                                                  \
  }                                                                          \
  op_##Name##X : {                                                           \
    [[maybe_unused]] const uint32_t a = static_cast<uint32_t>(reg[ip->dst]); \
    [[maybe_unused]] const uint32_t b = static_cast<uint32_t>(reg[ip->src]); \
    reg[ip->dst] = static_cast<uint32_t>(EXPR);                              \
    NEXT();                                                                  \
  }

  ALU64(Add64, a + b)
  ALU64(Sub64, a - b)
  ALU64(Mul64, a * b)
  ALU64(Div64, b ? a / b : 0)
  ALU64(Sdiv64, sdiv<uint64_t>(a, b))
  ALU64(Mod64, b ? a % b : a)
  ALU64(Smod64, smod<uint64_t>(a, b))
  ALU64(Or64, a | b)
  ALU64(And64, a & b)
  ALU64(Xor64, a ^ b)
  ALU64(Lsh64, a << (b & 63))
  ALU64(Rsh64, a >> (b & 63))
  ALU64(Arsh64, static_cast<uint64_t>(static_cast<int64_t>(a) >> (b & 63)))
  ALU64(Mov64, b)
  ALU32(Add32, a + b)
  ALU32(Sub32, a - b)
  ALU32(Mul32, a * b)
  ALU32(Div32, b ? a / b : 0u)
  ALU32(Sdiv32, sdiv<uint32_t>(a, b))
  ALU32(Mod32, b ? a % b : a)
  ALU32(Smod32, smod<uint32_t>(a, b))
  ALU32(Or32, a | b)
  ALU32(And32, a & b)
  ALU32(Xor32, a ^ b)
  ALU32(Lsh32, a << (b & 31))
  ALU32(Rsh32, a >> (b & 31))
  ALU32(Arsh32, static_cast<uint32_t>(static_cast<int32_t>(a) >> (b & 31)))
  ALU32(Mov32, b)
#undef ALU64
#undef ALU32

#define UNARY(Name, EXPR)                             \
  op_##Name : {                                       \
    [[maybe_unused]] const uint64_t a = reg[ip->dst]; \
    [[maybe_unused]] const uint64_t s = reg[ip->src]; \
    reg[ip->dst] = (EXPR);                            \
    NEXT();                                           \
  }
  UNARY(Neg64, uint64_t{0} - a)
  UNARY(Neg32, static_cast<uint32_t>(0u - static_cast<uint32_t>(a)))
  UNARY(Movsx64_8, static_cast<uint64_t>(static_cast<int64_t>(static_cast<int8_t>(s))))
  UNARY(Movsx64_16, static_cast<uint64_t>(static_cast<int64_t>(static_cast<int16_t>(s))))
  UNARY(Movsx64_32, static_cast<uint64_t>(static_cast<int64_t>(static_cast<int32_t>(s))))
  UNARY(Movsx32_8, static_cast<uint32_t>(static_cast<int32_t>(static_cast<int8_t>(s))))
  UNARY(Movsx32_16, static_cast<uint32_t>(static_cast<int32_t>(static_cast<int16_t>(s))))
  // Byte order: the host is little-endian, so le truncates and be swaps (and truncates).
  UNARY(Le16, static_cast<uint16_t>(a))
  UNARY(Le32, static_cast<uint32_t>(a))
  UNARY(Le64, a)
  UNARY(Be16, __builtin_bswap16(static_cast<uint16_t>(a)))
  UNARY(Be32, __builtin_bswap32(static_cast<uint32_t>(a)))
  UNARY(Be64, __builtin_bswap64(a))
  UNARY(Bswap16, __builtin_bswap16(static_cast<uint16_t>(a)))
  UNARY(Bswap32, __builtin_bswap32(static_cast<uint32_t>(a)))
  UNARY(Bswap64, __builtin_bswap64(a))
#undef UNARY

  // Jumps: the slot's off is the byte distance to the target.
op_Ja:
op_Gotol:
  JUMP();

#define JCC(Name, T, EXPR)                    \
  op_##Name##K : {                            \
    const T a = static_cast<T>(reg[ip->dst]); \
    const T b = static_cast<T>(ip->imm);      \
    if (EXPR) JUMP();                         \
    NEXT();                                   \
  }                                           \
  op_##Name##X : {                            \
    const T a = static_cast<T>(reg[ip->dst]); \
    const T b = static_cast<T>(reg[ip->src]); \
    if (EXPR) JUMP();                         \
    NEXT();                                   \
  }
#define JCC_WIDTHS(Name, U, S, EXPR) \
  JCC(Name##64, U##64_t, EXPR)       \
  JCC(Name##32, U##32_t, EXPR)
  JCC_WIDTHS(Jeq, uint, int, a == b)
  JCC_WIDTHS(Jne, uint, int, a != b)
  JCC_WIDTHS(Jgt, uint, int, a > b)
  JCC_WIDTHS(Jge, uint, int, a >= b)
  JCC_WIDTHS(Jlt, uint, int, a < b)
  JCC_WIDTHS(Jle, uint, int, a <= b)
  JCC_WIDTHS(Jset, uint, int, (a & b) != 0)
  JCC_WIDTHS(Jsgt, int, int, a > b)
  JCC_WIDTHS(Jsge, int, int, a >= b)
  JCC_WIDTHS(Jslt, int, int, a < b)
  JCC_WIDTHS(Jsle, int, int, a <= b)
#undef JCC_WIDTHS
#undef JCC

op_MayGoto:
  // As the kernel's rewrite: jump once the counter is spent, else count down.
  if (loops == 0) JUMP();
  --loops;
  NEXT();

op_Nospec:  // a speculation barrier: nothing for an interpreter to do
  NEXT();

op_Lddw:
  reg[ip->dst] = ip->imm64;
  ip += 2;
  DISPATCH();

  // Memory. Loads zero-extend through an unsigned T and sign-extend through a signed one.
#define LDX(Name, T)                                                           \
  op_##Name : {                                                                \
    const uint64_t addr = reg[ip->src] + static_cast<uint64_t>(ip->off);       \
    CHECK(addr, sizeof(T), kRead);                                             \
    reg[ip->dst] = static_cast<uint64_t>(static_cast<int64_t>(load<T>(addr))); \
    NEXT();                                                                    \
  }
#define STORE(Name, T, VALUE)                                            \
  op_##Name : {                                                          \
    const uint64_t addr = reg[ip->dst] + static_cast<uint64_t>(ip->off); \
    CHECK(addr, sizeof(T), kWrite);                                      \
    store<T>(addr, static_cast<T>(VALUE));                               \
    NEXT();                                                              \
  }
  LDX(LdxB, uint8_t)
  LDX(LdxH, uint16_t)
  LDX(LdxW, uint32_t)
  LDX(LdxDW, uint64_t)
  LDX(LdxsB, int8_t)
  LDX(LdxsH, int16_t)
  LDX(LdxsW, int32_t)
  STORE(StB, uint8_t, ip->imm)
  STORE(StH, uint16_t, ip->imm)
  STORE(StW, uint32_t, ip->imm)
  STORE(StDW, uint64_t, ip->imm)
  STORE(StxB, uint8_t, reg[ip->src])
  STORE(StxH, uint16_t, reg[ip->src])
  STORE(StxW, uint32_t, reg[ip->src])
  STORE(StxDW, uint64_t, reg[ip->src])
#undef LDX
#undef STORE

  // Atomics on host atomics, sequentially consistent as the kernel's; 32-bit results zero-extend.
#define ATOMIC_PTR(T)                                                  \
  const uint64_t addr = reg[ip->dst] + static_cast<uint64_t>(ip->off); \
  CHECK(addr, sizeof(T), kReadWrite);                                  \
  T* const p = reinterpret_cast<T*>(addr);                             \
  const T v = static_cast<T>(reg[ip->src])
#define ATOMIC_RMW(W, T, Name, builtin)             \
  op_Atomic##W##Name : {                            \
    ATOMIC_PTR(T);                                  \
    builtin(p, v, __ATOMIC_SEQ_CST);                \
    NEXT();                                         \
  }                                                 \
  op_Atomic##W##Fetch##Name : {                     \
    ATOMIC_PTR(T);                                  \
    reg[ip->src] = builtin(p, v, __ATOMIC_SEQ_CST); \
    NEXT();                                         \
  }
#define ATOMICS(W, T)                                                                        \
  ATOMIC_RMW(W, T, Add, __atomic_fetch_add)                                                  \
  ATOMIC_RMW(W, T, Or, __atomic_fetch_or)                                                    \
  ATOMIC_RMW(W, T, And, __atomic_fetch_and)                                                  \
  ATOMIC_RMW(W, T, Xor, __atomic_fetch_xor)                                                  \
  op_Atomic##W##Xchg : {                                                                     \
    ATOMIC_PTR(T);                                                                           \
    reg[ip->src] = __atomic_exchange_n(p, v, __ATOMIC_SEQ_CST);                              \
    NEXT();                                                                                  \
  }                                                                                          \
  op_Atomic##W##Cmpxchg : {                                                                  \
    ATOMIC_PTR(T);                                                                           \
    T expected = static_cast<T>(reg[0]);                                                     \
    __atomic_compare_exchange_n(p, &expected, v, false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST); \
    reg[0] = expected; /* the old value, whether or not it matched */                        \
    NEXT();                                                                                  \
  }
  ATOMICS(32, uint32_t)
  ATOMICS(64, uint64_t)
#undef ATOMICS
#undef ATOMIC_RMW
#undef ATOMIC_PTR

#define LOAD_ACQ(Name, T)                                                               \
  op_##Name : {                                                                         \
    const uint64_t addr = reg[ip->src] + static_cast<uint64_t>(ip->off);                \
    CHECK(addr, sizeof(T), kRead);                                                      \
    reg[ip->dst] = __atomic_load_n(reinterpret_cast<const T*>(addr), __ATOMIC_ACQUIRE); \
    NEXT();                                                                             \
  }
#define STORE_REL(Name, T)                                                                        \
  op_##Name : {                                                                                   \
    const uint64_t addr = reg[ip->dst] + static_cast<uint64_t>(ip->off);                          \
    CHECK(addr, sizeof(T), kWrite);                                                               \
    __atomic_store_n(reinterpret_cast<T*>(addr), static_cast<T>(reg[ip->src]), __ATOMIC_RELEASE); \
    NEXT();                                                                                       \
  }
  LOAD_ACQ(LoadAcqB, uint8_t)
  LOAD_ACQ(LoadAcqH, uint16_t)
  LOAD_ACQ(LoadAcqW, uint32_t)
  LOAD_ACQ(LoadAcqDW, uint64_t)
  STORE_REL(StoreRelB, uint8_t)
  STORE_REL(StoreRelH, uint16_t)
  STORE_REL(StoreRelW, uint32_t)
  STORE_REL(StoreRelDW, uint64_t)
#undef LOAD_ACQ
#undef STORE_REL

  // Legacy packet loads: r0 = the bytes at the offset in network order. Outside the packet (or a
  // negative offset) the program ends with r0 = 0, as the kernel's. LD_IND's offset is the low 32
  // bits of src + imm, as the kernel passes it to its load helper as an int.
#define LD_PKT(Name, SIZE, OFFSET)                                                   \
  op_##Name : {                                                                      \
    const int64_t o = (OFFSET);                                                      \
    if (o < 0 || static_cast<uint64_t>(o) + (SIZE) > rc->pkt_len || !rc->pkt_data) { \
      reg[0] = 0;                                                                    \
      goto done;                                                                     \
    }                                                                                \
    reg[0] = load_be(rc->pkt_data + o, SIZE);                                        \
    NEXT();                                                                          \
  }
  LD_PKT(LdAbsB, 1, ip->imm)
  LD_PKT(LdAbsH, 2, ip->imm)
  LD_PKT(LdAbsW, 4, ip->imm)
  LD_PKT(LdIndB, 1, static_cast<int32_t>(static_cast<uint32_t>(reg[ip->src] + ip->imm)))
  LD_PKT(LdIndH, 2, static_cast<int32_t>(static_cast<uint32_t>(reg[ip->src] + ip->imm)))
  LD_PKT(LdIndW, 4, static_cast<int32_t>(static_cast<uint32_t>(reg[ip->src] + ip->imm)))
#undef LD_PKT

  // Calls. A helper may call back into the program (which uses the stack below this frame and
  // counts against the budget) and may end the run by setting rc->fault.
#define BEFORE_HELPER()                                               \
  do {                                                                \
    live.depth = depth;                                               \
    live.pc = PC();                                                   \
    if constexpr (Budget) rc->insns_executed = self->budget() - left; \
  } while (0)
#define AFTER_HELPER()                                                \
  do {                                                                \
    if constexpr (Budget) left = self->budget() - rc->insns_executed; \
    if (rc->fault.kind != FaultKind::None) [[unlikely]]               \
      goto faulted;                                                   \
  } while (0)
op_Call:
  BEFORE_HELPER();
  reg[0] = ip->fn(reg[1], reg[2], reg[3], reg[4], reg[5], rc);
  AFTER_HELPER();
  NEXT();

op_CallLocal:
  callee = code + ip->off;
  goto enter;

op_Callx : {
  // The register holds a BPF_PSEUDO_FUNC value (a function's slot address) or a helper id.
  const uint64_t v = reg[ip->dst];
  if (const int64_t target = self->function_at(v); target >= 0) {
    callee = code + target;
    goto enter;
  }
  if (const HelperFn fn = self->helper(v)) {
    BEFORE_HELPER();
    reg[0] = fn(reg[1], reg[2], reg[3], reg[4], reg[5], rc);
    AFTER_HELPER();
    NEXT();
  }
  fault(rc, FaultKind::BadCall, EINVAL, PC(), v);
  goto faulted;
}

op_TailCall : {
  // The program never comes back here: it continues in the target, from the main frame, with the
  // run's ctx as r1. A callback cannot leave its helper that way.
  if (base_depth != 0) [[unlikely]] {
    fault(rc, FaultKind::Unsupported, EOPNOTSUPP, PC(), BPF_FUNC_tail_call);
    goto faulted;
  }
  const TailCallTarget t = resolve_tail_call(rc, self, reg[2], reg[3]);
  if (!t.target) {  // falls through, r0 = 0 (as the JIT: the resolver's null)
    reg[0] = 0;
    NEXT();
  }
  if (!self->same_loop(t.entry)) {
    // Another engine: enter it as run() would, with the counters running.
    if constexpr (Budget) rc->insns_executed = self->budget() - left;
    return t.entry(t.target, rc, rc->tail_call_ctx, 0);
  }
  self = static_cast<const Program*>(t.target);
  code = self->code();
  live.self = self;
  depth = 0;
  loops = BPFBOX_MAX_LOOPS;
  reg[0] = 0;
  reg[1] = rc->tail_call_ctx;
  reg[2] = reg[3] = reg[4] = reg[5] = reg[6] = reg[7] = reg[8] = reg[9] = 0;
  reg[10] = stack_top;
  if constexpr (Checked) {
    live_lo = stack_top - kFrameSize;
    std::memset(reinterpret_cast<void*>(live_lo), 0, kFrameSize);
    rc->stack_base = live_lo;
    rc->stack_size = kFrameSize;
  }
  ip = code;
  DISPATCH();
}

op_CallKfunc:  // refused at compile time; kept so the table is total
  fault(rc, FaultKind::Unsupported, EOPNOTSUPP, PC(), static_cast<uint64_t>(ip->imm));
  goto faulted;

enter : {
  // A new frame: its own 512 bytes of stack below the caller's, r6-r9 saved for the return.
  if (depth + 1 >= kFrames) [[unlikely]] {
    fault(rc, FaultKind::CallDepth, E2BIG, PC(), static_cast<uint64_t>(callee - code));
    goto faulted;
  }
  Frame& f = frames[depth++];
  f.ret = ip + 1;
  f.saved[0] = reg[6];
  f.saved[1] = reg[7];
  f.saved[2] = reg[8];
  f.saved[3] = reg[9];
  f.loops = loops;
  loops = BPFBOX_MAX_LOOPS;
  reg[10] = stack_top - depth * kFrameSize;
  if constexpr (Checked) {
    live_lo -= kFrameSize;
    std::memset(reinterpret_cast<void*>(live_lo), 0, kFrameSize);
    rc->stack_base = live_lo;
    rc->stack_size = stack_top - live_lo;
  }
  ip = callee;
  DISPATCH();
}

op_Exit : {
  if (depth == base_depth) goto done;
  const Frame& f = frames[--depth];
  reg[6] = f.saved[0];
  reg[7] = f.saved[1];
  reg[8] = f.saved[2];
  reg[9] = f.saved[3];
  loops = f.loops;
  reg[10] = stack_top - depth * kFrameSize;
  if constexpr (Checked) {
    live_lo += kFrameSize;  // the callee's frame is gone
    rc->stack_base = live_lo;
    rc->stack_size = stack_top - live_lo;
  }
  ip = f.ret;
  DISPATCH();
}

budget_exhausted:
  __attribute__((unused));
  fault(rc, FaultKind::Budget, E2BIG, PC(), 0);
  goto faulted;

faulted:
  if constexpr (Budget) rc->insns_executed = self->budget() - left;
  return 0;

done:
  if constexpr (Budget) rc->insns_executed = self->budget() - left;
  return reg[0];

#undef BEFORE_HELPER
#undef AFTER_HELPER
#undef CHECK
#undef JUMP
#undef NEXT
#undef DISPATCH
#undef PC
}

// RunContext::call_function for this mode: runs the function one frame deeper than the helper's
// caller, then gives the caller its stack view back.
template <bool Checked, bool Budget>
uint64_t call_function(RunContext* rc, uint64_t fn, uint64_t r1, uint64_t r2, uint64_t r3,
                       uint64_t r4, uint64_t r5) {
  Live* const live = static_cast<Live*>(rc->engine_state);
  const int64_t target = live->self->function_at(fn);
  if (target < 0) {
    fault(rc, FaultKind::BadCall, EINVAL, live->pc, fn);
    return 0;
  }
  if (live->depth + 1 >= kFrames) {
    fault(rc, FaultKind::CallDepth, E2BIG, live->pc, static_cast<uint64_t>(target));
    return 0;
  }
  const uint64_t base = rc->stack_base, size = rc->stack_size;
  const uint64_t args[5] = {r1, r2, r3, r4, r5};
  const uint64_t r0 = exec<Checked, Budget>(live->self, rc, live->self->code() + target, args,
                                            live->stack_top, live->depth + 1);
  rc->engine_state = live;
  rc->stack_base = base;
  rc->stack_size = size;
  return r0;
}

template <bool Checked, bool Budget>
uint64_t run(const Executable* self_base, RunContext* rc, uint64_t r1, uint64_t r2) {
  const Program* const self = static_cast<const Program*>(self_base);
  alignas(16) uint8_t stack[kStackBytes];
  const uint64_t stack_top = reinterpret_cast<uint64_t>(stack) + kStackBytes;
  rc->fault = Fault{};
  rc->checked = Checked;
  if constexpr (!Checked) {
    rc->stack_base = reinterpret_cast<uint64_t>(stack);
    rc->stack_size = kStackBytes;
  }
  // A helper may run another program on the same context: give the outer run its hook back.
  const auto outer_hook = rc->call_function;
  void* const outer_state = rc->engine_state;
  rc->call_function = &call_function<Checked, Budget>;
  const uint64_t args[5] = {r1, r2, 0, 0, 0};
  const uint64_t r0 = exec<Checked, Budget>(self, rc, self->code(), args, stack_top, 0);
  rc->call_function = outer_hook;
  rc->engine_state = outer_state;
  return r0;
}

template uint64_t run<false, false>(const Executable*, RunContext*, uint64_t, uint64_t);
template uint64_t run<false, true>(const Executable*, RunContext*, uint64_t, uint64_t);
template uint64_t run<true, false>(const Executable*, RunContext*, uint64_t, uint64_t);
template uint64_t run<true, true>(const Executable*, RunContext*, uint64_t, uint64_t);

}  // namespace bpfbox::vm::interp
