#include "vm/jit/x86_64/analysis.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdio>

namespace bpfbox::vm::jit::x86_64 {

using isa::Kind;

namespace {

bool ends_flow(Kind k) {
  return k == Kind::Ja || k == Kind::Gotol || k == Kind::Exit;
}

// Where control goes from an instruction without entering calls.
struct Flow {
  int32_t jump = -1;  // a jump's target
  uint8_t next = 0;   // slots to the next instruction when control can fall through, else 0
};

// The pc an instruction refers to (jump, local call, BPF_PSEUDO_FUNC load), or -1.
int64_t target_of(const isa::Decoded& d, Kind k, size_t pc) {
  switch (k) {
    case Kind::Ja:
    case Kind::Jcond:
    case Kind::MayGoto:
      return static_cast<int64_t>(pc) + 1 + d.off;
    case Kind::Gotol:
    case Kind::CallLocal:
      return static_cast<int64_t>(pc) + 1 + d.imm;
    case Kind::Lddw:
      return d.src == BPF_PSEUDO_FUNC ? static_cast<int64_t>(pc) + 1 + d.imm : -1;
    default:
      return -1;
  }
}

// Marks every instruction reachable from `start` without entering calls with `bit`.
void mark_frame(const std::vector<Flow>& flow, uint32_t start, uint8_t bit,
                std::vector<uint8_t>& frame, std::vector<uint32_t>& work) {
  work.clear();
  work.push_back(start);
  while (!work.empty()) {
    const uint32_t pc = work.back();
    work.pop_back();
    if (pc >= flow.size() || (frame[pc] & bit)) continue;
    frame[pc] |= bit;
    if (flow[pc].jump >= 0) work.push_back(static_cast<uint32_t>(flow[pc].jump));
    if (flow[pc].next) work.push_back(pc + flow[pc].next);
  }
}

constexpr uint16_t kCalleeSavedRegs = 0x3c0;  // r6..r9
constexpr uint8_t kMaxFrames = 8;             // the interpreter's limit (CallDepth)
constexpr uint8_t kUnbounded = kMaxFrames + 1;

// call_depth_ok and callee_writes: per function entry, what it reaches without entering calls
// (its call sites, the registers it writes), then the depth each entry can run at and what each
// may write through its callees, both to a fixed point over the call graph.
void call_graph_facts(std::span<const isa::Decoded> prog, const std::vector<Flow>& flow,
                      ProgramFacts& f) {
  const size_t n = prog.size();
  f.call_depth_ok.assign(n, 0);
  f.callee_writes.assign(n, kCalleeSavedRegs);
  std::vector<uint32_t> entries{0};
  entries.insert(entries.end(), f.functions.begin(), f.functions.end());
  // One walk per function: not worth it (nor the compile time) for huge programs with many.
  if (entries.size() * n > (size_t{1} << 22)) return;
  std::vector<int32_t> index(n, -1);  // function entry pc -> its place in entries
  for (size_t i = 0; i < entries.size(); ++i) index[entries[i]] = static_cast<int32_t>(i);

  struct Site {
    uint32_t pc;
    int32_t callee;  // index in entries; -1: callx (any function)
  };
  std::vector<std::vector<Site>> sites(entries.size());
  std::vector<uint16_t> writes(entries.size(), 0);
  std::vector<uint32_t> seen(n, 0), work;
  for (size_t e = 0; e < entries.size(); ++e) {
    const auto stamp = static_cast<uint32_t>(e + 1);
    work.assign(1, entries[e]);
    while (!work.empty()) {
      const uint32_t pc = work.back();
      work.pop_back();
      if (pc >= n || seen[pc] == stamp) continue;
      seen[pc] = stamp;
      const isa::Decoded& d = prog[pc];
      if (d.slots == 0) continue;
      const isa::OpInfo& o = d.info();
      if (o.kind == Kind::CallLocal) {
        sites[e].push_back({pc, index[static_cast<size_t>(static_cast<int64_t>(pc) + 1 + d.imm)]});
      } else if (o.kind == Kind::Callx) {
        sites[e].push_back({pc, -1});
        writes[e] |= kCalleeSavedRegs;
      } else if (o.kind != Kind::Call) {
        uint16_t r, w;
        reg_effects(d, o, r, w);
        writes[e] |= w & kCalleeSavedRegs;
      }
      if (flow[pc].jump >= 0) work.push_back(static_cast<uint32_t>(flow[pc].jump));
      if (flow[pc].next) work.push_back(pc + flow[pc].next);
    }
  }

  // Depth in frames an entry can start at: 1 for the main program, one more than its callers',
  // unbounded for a callback a helper may start anywhere (the trampoline checks its own depth).
  std::vector<uint8_t> depth(entries.size(), 0);
  depth[0] = 1;
  if (f.pseudo_func && (f.helper_calls || f.callx))
    for (size_t pc = 0; pc < n; ++pc)
      if (prog[pc].slots && prog[pc].info().kind == Kind::Lddw && prog[pc].src == BPF_PSEUDO_FUNC)
        depth[static_cast<size_t>(index[pc + 1 + static_cast<size_t>(prog[pc].imm)])] = kUnbounded;
  for (bool changed = true; changed;) {  // capped at kUnbounded, so recursion ends too
    changed = false;
    auto raise = [&](size_t to, uint8_t from) {
      const uint8_t v = std::min<uint8_t>(kUnbounded, from + 1);
      if (v > depth[to]) {
        depth[to] = v;
        changed = true;
      }
    };
    for (size_t e = 0; e < entries.size(); ++e) {
      if (!depth[e]) continue;
      for (const Site& s : sites[e]) {
        if (s.callee >= 0) {
          raise(static_cast<size_t>(s.callee), depth[e]);
        } else {
          for (size_t g = f.main_is_callee ? 0 : 1; g < entries.size(); ++g) raise(g, depth[e]);
        }
      }
    }
  }
  // A call site is safe when every entry reaching it runs below the last frame. An entry never
  // reached (depth 0) runs nowhere; counting it unbounded keeps this obviously safe.
  std::vector<uint8_t> site_depth(n, 0);
  for (size_t e = 0; e < entries.size(); ++e)
    for (const Site& s : sites[e])
      site_depth[s.pc] = std::max(site_depth[s.pc], depth[e] ? depth[e] : kUnbounded);
  for (size_t pc = 0; pc < n; ++pc)
    f.call_depth_ok[pc] = site_depth[pc] && site_depth[pc] < kMaxFrames;

  for (bool changed = true; changed;) {
    changed = false;
    for (size_t e = 0; e < entries.size(); ++e)
      for (const Site& s : sites[e]) {
        const uint16_t w = s.callee >= 0 ? writes[static_cast<size_t>(s.callee)] : kCalleeSavedRegs;
        if ((writes[e] | w) != writes[e]) {
          writes[e] |= w;
          changed = true;
        }
      }
  }
  for (size_t e = 0; e < entries.size(); ++e) f.callee_writes[entries[e]] = writes[e];
}

// const_tail_calls: constants tracked through movs and plain lddw within each basic block.
void const_tail_calls(std::span<const isa::Decoded> prog, ProgramFacts& f) {
  uint64_t value[isa::kRegAx + 1] = {};
  uint32_t known = 0;  // bit i: ri holds value[i]
  for (size_t pc = 0; pc < prog.size(); pc += prog[pc].slots ? prog[pc].slots : 1) {
    const isa::Decoded& d = prog[pc];
    if (d.slots == 0) continue;
    if (f.is_target[pc]) known = 0;  // another path joins: nothing is known
    const isa::OpInfo& o = d.info();
    if (o.kind == Kind::Call && d.src == 0 && d.imm == BPF_FUNC_tail_call && (known & 0xc) == 0xc)
      f.const_tail_calls.push_back(
          {static_cast<uint32_t>(pc), value[2], static_cast<uint32_t>(value[3])});
    uint16_t r, w;
    reg_effects(d, o, r, w);
    known &= ~static_cast<uint32_t>(w);
    uint64_t v;
    switch (d.op) {
      case isa::Op::Mov64K:
        v = static_cast<uint64_t>(static_cast<int64_t>(d.imm));
        break;
      case isa::Op::Mov32K:
        v = static_cast<uint32_t>(d.imm);
        break;
      case isa::Op::Mov64X:
        if (!(known & (1u << d.src))) continue;
        v = value[d.src];
        break;
      case isa::Op::Lddw:
        if (d.src != 0) continue;
        v = d.imm64;
        break;
      default:
        continue;
    }
    value[d.dst] = v;
    known |= 1u << d.dst;
  }
}

}  // namespace

Result<ProgramFacts> analyze(std::span<const isa::Decoded> prog, bool checked, bool budget) {
  ProgramFacts f;
  const size_t n = prog.size();
  f.frame.assign(n, 0);
  f.is_function.assign(n, 0);
  f.is_function[0] = 1;
  f.is_target.assign(n, 0);
  f.is_target[0] = 1;
  f.loop_head.assign(n, 0);
  std::vector<uint8_t> block_start(n, 0);
  block_start[0] = 1;
  std::vector<Flow> flow(n);

  for (size_t pc = 0; pc < n; ++pc) {
    const isa::Decoded& d = prog[pc];
    if (d.slots == 0) continue;
    const isa::OpInfo& o = d.info();
    const Kind k = o.kind;
    uint16_t r, w;
    reg_effects(d, o, r, w);
    // Calls clobber r1..r5 but do not make them "used" by themselves.
    const bool call = k == Kind::Call || k == Kind::CallLocal || k == Kind::Callx;
    f.regs_used |= static_cast<uint16_t>(r | (call ? (w & 1) : w));
    if (call && k == Kind::Callx) f.regs_used |= static_cast<uint16_t>(1u << d.dst);
    if (!call)
      f.regs_written |= w;
    else
      f.regs_written |= 1;
    switch (k) {
      case Kind::Call:
        f.helper_calls = true;
        if (d.imm != BPF_FUNC_tail_call) f.calls_not_12 = true;
        break;
      case Kind::CallLocal:
        f.local_calls = true;
        break;
      case Kind::Callx:
        f.callx = true;
        break;
      case Kind::MayGoto:
        f.may_goto = true;
        break;
      case Kind::LdAbs:
      case Kind::LdInd:
        f.ld_pkt = true;
        break;
      case Kind::Lddw:
        if (d.src == BPF_PSEUDO_FUNC) f.local_calls = f.pseudo_func = true;
        break;
      default:
        break;
    }
    const int64_t t = target_of(d, k, pc);
    if (t >= 0 && k != Kind::CallLocal && k != Kind::Lddw) flow[pc].jump = static_cast<int32_t>(t);
    if (!ends_flow(k)) flow[pc].next = d.slots;
    if (t >= 0) {
      if (k == Kind::CallLocal || k == Kind::Lddw) {
        f.is_function[t] = 1;
        if (t == 0) f.main_is_callee = true;
      }
      block_start[t] = 1;
      f.is_target[t] = 1;
      if (t <= static_cast<int64_t>(pc) && flow[pc].jump == t) f.loop_head[t] = 1;
    }
    const bool control = k == Kind::Ja || k == Kind::Gotol || k == Kind::Jcond ||
                         k == Kind::MayGoto || k == Kind::Exit || call;
    bool effect = k == Kind::St || k == Kind::Stx || k == Kind::Atomic || k == Kind::StoreRel ||
                  k == Kind::LdAbs || k == Kind::LdInd;
    if (checked && (k == Kind::Ldx || k == Kind::Ldxs || k == Kind::LoadAcq)) effect = true;
    if ((control || effect) && pc + d.slots < n) block_start[pc + d.slots] = 1;
  }
  f.uses_stack = (f.regs_used >> 10) & 1;

  // Registers live at the program's entry: the prologue zeroes only those (the interpreter starts
  // every register at zero). Backward dataflow to a fixed point over the main program's flow; a
  // bpf-to-bpf call or callx may read any register in its callee, and `exit` reads r0.
  {
    std::vector<uint16_t> live(n + 1, 0);
    for (bool changed = true; changed;) {
      changed = false;
      for (size_t pc = n; pc-- > 0;) {
        const isa::Decoded& d = prog[pc];
        if (d.slots == 0) continue;
        uint16_t out = 0;
        if (flow[pc].next) out |= live[std::min(pc + flow[pc].next, n)];
        if (flow[pc].jump >= 0) out |= live[static_cast<size_t>(flow[pc].jump)];
        const isa::OpInfo& o = d.info();
        uint16_t r, w;
        reg_effects(d, o, r, w);
        if (o.kind == Kind::CallLocal || o.kind == Kind::Callx) r |= 0x3ff;
        const uint16_t in = static_cast<uint16_t>(r | (out & ~w));
        if (in != live[pc]) {
          live[pc] = in;
          changed = true;
        }
      }
    }
    f.read_before_written = static_cast<uint16_t>(live[0] & 0x7ff);
  }

  std::vector<uint32_t> work;
  mark_frame(flow, 0, kInMain, f.frame, work);
  if (f.main_is_callee) mark_frame(flow, 0, kInCallee, f.frame, work);
  for (size_t pc = 1; pc < n; ++pc) {
    if (!f.is_function[pc]) continue;
    f.functions.push_back(static_cast<uint32_t>(pc));
    mark_frame(flow, static_cast<uint32_t>(pc), kInCallee, f.frame, work);
    block_start[pc] = 1;
  }
  for (size_t pc = 0; pc < n; ++pc)
    if (prog[pc].slots && f.frame[pc] == 0) f.frame[pc] = kInMain;  // unreachable: any will do
  if (f.local_calls) call_graph_facts(prog, flow, f);
  if (f.helper_calls) const_tail_calls(prog, f);

  if (budget) {
    f.segment_len.assign(n, 0);
    size_t start = 0;
    for (size_t pc = 0; pc < n; pc += prog[pc].slots) {
      if (block_start[pc]) start = pc;
      ++f.segment_len[start];
    }
  }
  return f;
}

}  // namespace bpfbox::vm::jit::x86_64
