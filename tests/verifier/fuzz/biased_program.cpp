#include "biased_program.hpp"

#include <linux/bpf.h>

#include <random>

namespace bpfbox::fuzz {

const FuzzMap kMaps[3] = {
    {BPF_MAP_TYPE_ARRAY, 4, 48, 4},
    {BPF_MAP_TYPE_HASH, 4, 24, 8},
    {BPF_MAP_TYPE_RINGBUF, 0, 0, 4096},
};

namespace {

// Registers: r6 the context throughout, r7 a random u32 (bpf_get_prandom_u32), r9 a scalar carried
// from snippet to snippet (its range depends on the path: what pruning must get right), r8 a
// callee-saved scratch pointer; r0..r5 are scratch and every helper call clobbers r1..r5.
// The stack: fp-8 holds r7, [fp-64, fp-16) is where variable offsets land, fp-72 the map key,
// fp-80 the spill slot, [fp-160, fp-96) a buffer for helpers' memory arguments.
constexpr int kKeySlot = -72, kSpillSlot = -80, kBuf = -160, kBufSize = 64;

class Gen {
 public:
  explicit Gen(uint64_t seed) : rng_(seed) {}

  FuzzProgram program() {
    const int t = pick(0, 99);
    type_ = t < 50   ? BPF_PROG_TYPE_XDP
            : t < 75 ? BPF_PROG_TYPE_SCHED_CLS
                     : BPF_PROG_TYPE_SOCKET_FILTER;
    tracked_ops_ = chance(25);
    line("r6 = r1");
    line("call bpf_get_prandom_u32");
    line("r7 = r0");
    line("call bpf_get_prandom_u32");
    line("r9 = r0");
    if (chance(60)) line("r9 &= " + num(mask()));
    line("*(u64 *)(r10 -8) = r7");
    line("r8 = 0");
    // Most programs initialise the whole work area; some leave part of it unwritten.
    const int slots = chance(75) ? 20 : pick(0, 20);
    for (int i = 2; i <= slots; ++i) line("*(u64 *)(r10 " + num(-8 * i) + ") = " + reg_or_zero());
    line("r0 = 0");
    const int n = pick(1, 8);
    for (int i = 0; i < n; ++i) snippet();
    line(type_ == BPF_PROG_TYPE_XDP ? "r0 = 2" : "r0 = 0");
    line("exit");
    return {type_, out_ + subs_, !tracked_ops_};
  }

 private:
  std::mt19937_64 rng_;
  uint32_t type_ = 0;
  std::string out_, subs_;
  std::string* cur_ = &out_;
  int label_ = 0, depth_ = 0;
  // Division, modulo, byte swaps and shifts by a register: bpfbox tracks their results' bounds.
  bool tracked_ops_ = false;

  int pick(int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng_); }
  bool chance(int percent) { return pick(0, 99) < percent; }
  std::string label() { return "l" + std::to_string(label_++); }
  void line(const std::string& s) { *cur_ += s + "\n"; }
  void at(const std::string& l) { *cur_ += l + ":\n"; }
  static std::string num(long v) { return std::to_string(v); }
  static std::string off(int v) { return v >= 0 ? "+" + num(v) : num(v); }
  static const char* sz(int size) {
    return size == 1 ? "u8" : size == 2 ? "u16" : size == 4 ? "u32" : "u64";
  }
  int size() { return 1 << pick(0, 3); }
  int mask() { return (1 << pick(0, 8)) - 1; }
  std::string reg_or_zero() { return chance(50) ? "r7" : "r8"; }
  bool direct_packet() const { return type_ != BPF_PROG_TYPE_SOCKET_FILTER; }
  // Mostly right, sometimes wrong by a little: where a verifier's off-by-one shows.
  int within(int limit, int size) {
    if (chance(85)) return limit >= size ? pick(0, limit - size) : 0;
    return pick(0, limit + 4);
  }

  void snippet() {
    switch (pick(0, 18)) {
      case 16:
        spilled_diamond();
        break;
      case 17:
        subprog_twice();
        break;
      case 18:
        loop_accumulate();
        break;
      case 0:
        direct_packet() ? packet_const() : skb_bytes();
        break;
      case 1:
        direct_packet() ? packet_var() : ld_abs();
        break;
      case 2:
        map_value(kArrayMap);
        break;
      case 3:
        map_value(kHashMap);
        break;
      case 4:
        stack_var();
        break;
      case 5:
        spill_fill();
        break;
      case 6:
        alu_jmp32();
        break;
      case 7:
        diamond();
        break;
      case 8:
        loop();
        break;
      case 9:
        subprog_call();
        break;
      case 10:
        atomics();
        break;
      case 11:
        ringbuf();
        break;
      case 12:
        helper_mem();
        break;
      case 13:
        ctx_access();
        break;
      case 14:
        use_r9();
        break;
      default:
        stack_fixed();
        break;
    }
  }

  // r2 = data, r3 = data_end.
  void load_packet() {
    if (type_ == BPF_PROG_TYPE_XDP) {
      line("r2 = *(u32 *)(r6 +0)");
      line("r3 = *(u32 *)(r6 +4)");
    } else {
      line("r2 = *(u32 *)(r6 +76)");
      line("r3 = *(u32 *)(r6 +80)");
    }
  }

  // Branches to `skip` unless [ptr, ptr + 0) .. end is within the packet: ptr compared with r3 in
  // one of the eight forms (either operand first, each comparison and its complement), or, rarely,
  // the wrong way round.
  void packet_check(const std::string& end_reg, const std::string& skip) {
    const std::string ok = label();
    switch (pick(0, 8)) {
      case 0:
        line("if " + end_reg + " > r3 goto " + skip);
        break;
      case 1:
        line("if r3 < " + end_reg + " goto " + skip);
        break;
      case 2:
        line("if " + end_reg + " >= r3 goto " + skip);
        break;
      case 3:
        line("if r3 <= " + end_reg + " goto " + skip);
        break;
      case 4:
        line("if " + end_reg + " <= r3 goto " + ok);
        line("goto " + skip);
        at(ok);
        break;
      case 5:
        line("if r3 >= " + end_reg + " goto " + ok);
        line("goto " + skip);
        at(ok);
        break;
      case 6:
        line("if " + end_reg + " < r3 goto " + ok);
        line("goto " + skip);
        at(ok);
        break;
      case 7:
        line("if r3 > " + end_reg + " goto " + ok);
        line("goto " + skip);
        at(ok);
        break;
      default:  // the wrong side
        line("if " + end_reg + " <= r3 goto " + skip);
        break;
    }
  }

  void access(const std::string& ptr, int o, int size, bool write, const char* src = "r7") {
    if (write)
      line("*(" + std::string(sz(size)) + " *)(" + ptr + " " + off(o) + ") = " + src);
    else
      line("r0 = *(" + std::string(sz(size)) + " *)(" + ptr + " " + off(o) + ")");
  }

  void packet_const() {
    const int k = pick(0, 64), size = this->size();
    const std::string skip = label();
    load_packet();
    line("r4 = r2");
    line("r4 += " + num(k));
    packet_check("r4", skip);
    if (chance(70))
      access("r2", within(k, size), size, chance(40));
    else  // through the compared pointer, backwards
      access("r4", -size - (chance(85) ? pick(0, k >= size ? k - size : 0) : pick(-4, k)), size,
             chance(40));
    at(skip);
  }

  // A bounded scalar into `dst` from r7 or r9, by a mask or a comparison (64- or 32-bit, signed
  // or unsigned); jumps to `skip` when out of range. The bound is about `limit`.
  void bounded(const std::string& dst, int limit, const std::string& skip) {
    const std::string src = chance(50) ? "r7" : "r9";
    const std::string w = "w" + dst.substr(1);
    switch (pick(0, 9)) {
      case 0:
      case 1: {
        int m = 1;
        while (m * 2 <= limit + 1) m *= 2;
        if (chance(10)) m *= 2;
        line(dst + " = " + src);
        line(dst + " &= " + num(m - 1));
        break;
      }
      case 2:
        line(dst + " = " + src);
        line("if " + dst + " > " + num(limit + (chance(85) ? 0 : 1)) + " goto " + skip);
        break;
      case 3:
        line(w + " = w" + src.substr(1));
        line("if " + w + " > " + num(limit + (chance(85) ? 0 : 1)) + " goto " + skip);
        break;
      case 4:  // a 32-bit bound on a register whose upper half may not be zero
        line(dst + " = " + src);
        line("if " + w + " > " + num(limit) + " goto " + skip);
        break;
      case 5:
        line(dst + " = " + src);
        line("if " + dst + " s> " + num(limit) + " goto " + skip);
        if (chance(85)) line("if " + dst + " s< 0 goto " + skip);
        break;
      case 6:
        line(w + " = w" + src.substr(1));
        line("if " + w + " s> " + num(limit) + " goto " + skip);
        if (chance(85)) line("if " + w + " s< 0 goto " + skip);
        break;
      case 7: {  // bits above the bound tested with jset
        int m = 1;
        while (m * 2 <= limit + 1) m *= 2;
        line(dst + " = " + src);
        line("if " + dst + " & " + num(chance(90) ? -m : -2 * m) + " goto " + skip);
        break;
      }
      case 8:
        line(dst + " = " + src);
        line(dst + " &= " + num(chance(90) ? 0xff : 0xffff));
        line("if " + dst + " >= " + num(limit + (chance(85) ? 1 : 2)) + " goto " + skip);
        break;
      default:  // no bound at all
        line(dst + " = " + src);
        break;
    }
  }

  void packet_var() {
    const int k = pick(1, 16), size = this->size();
    const std::string skip = label();
    load_packet();
    bounded("r5", pick(0, 96), skip);
    if (chance(80)) {
      line("r8 = r2");
      line("r8 += r5");
    } else {
      line("r8 = r5");
      line("r8 += r2");
    }
    line("r4 = r8");
    line("r4 += " + num(k));
    packet_check("r4", skip);
    access("r8", within(k, size), size, chance(30));
    at(skip);
  }

  // r0 = lookup(map[fd:m], key); branches to `skip` on null (mostly).
  void lookup(int m, const std::string& skip) {
    switch (pick(0, 5)) {
      case 0:
      case 1:
        line("r1 = " + num(pick(0, kMaps[m].max_entries)));
        break;
      case 2:
        line("r1 = r9");
        line("r1 &= 3");
        break;
      case 3:
        line("w1 = w7");
        break;
      default:
        line("r1 = " + num(pick(0, 3)));
        break;
    }
    line("*(u32 *)(r10 " + num(kKeySlot) + ") = r1");
    line("r2 = r10");
    line("r2 += " + num(kKeySlot));
    line("r1 = map[fd:" + num(m) + "]");
    line("call bpf_map_lookup_elem");
    const int form = pick(0, 99);
    if (form < 80) {
      line("if r0 == 0 goto " + skip);
    } else if (form < 88) {
      const std::string ok = label();
      line("if r0 != 0 goto " + ok);
      line("goto " + skip);
      at(ok);
    } else if (form < 95) {  // checked through a copy: the same id
      line("r1 = r0");
      line("if r1 == 0 goto " + skip);
    } else if (form < 98) {
      // no check
    } else {
      line("if r0 != 0 goto " + skip);  // the wrong way
    }
  }

  // An access through a map value pointer in `p` (whose value has `v` bytes).
  void value_access(const std::string& p, int v, const std::string& skip) {
    const int size = this->size();
    const bool write = chance(40);
    switch (pick(0, 5)) {
      case 0:
        access(p, within(v, size), size, write);
        break;
      case 1:
      case 2:
        bounded("r1", pick(0, v), skip);
        line(p + " += r1");
        access(p, within(v - std::min(v, pick(0, v)), size), size, write);
        break;
      case 3: {  // an index read from the value itself (random at run time)
        const int isz = 1 << pick(0, 2);
        line("r1 = *(" + std::string(sz(isz)) + " *)(" + p + " +0)");
        if (chance(85)) line("r1 &= " + num(chance(80) ? 31 : 63));
        line("r2 = " + p);
        line("r2 += r1");
        access("r2", within(v - 32, size) % 16, size, write);
        break;
      }
      case 4: {  // subtracting back down
        const int k = pick(0, v);
        line(p + " += " + num(k));
        access(p, -(chance(85) ? pick(0, k) : pick(0, k + 8)), 1, write);
        break;
      }
      default:  // a negative index
        line("r1 = r7");
        line("r1 &= 7");
        line(p + " -= r1");
        access(p, chance(20) ? 0 : 8, 1, write);
        break;
    }
  }

  void map_value(int m) {
    const std::string skip = label();
    lookup(m, skip);
    value_access("r0", static_cast<int>(kMaps[m].value_size), skip);
    at(skip);
  }

  // Variable-offset stack accesses in [fp-64, fp-16), sometimes beyond.
  void stack_var() {
    const int size = this->size(), base = -8 * pick(2, 8);
    const std::string skip = label();
    bounded("r1", -base - size, skip);
    if (size > 1 && chance(90)) line("r1 &= " + num(-size));  // the stack wants aligned accesses
    line("r2 = r10");
    if (chance(50)) {
      line("r2 += " + num(base));
      line("r2 += r1");
    } else {
      line("r2 += r1");
      line("r2 += " + num(base));
    }
    access("r2", chance(90) ? 0 : pick(-8, 8), size, chance(50));
    at(skip);
  }

  // Aligned slots near both ends of the frame, sometimes past them.
  void stack_fixed() {
    const int size = this->size();
    int o = -size * pick(1, 512 / size);
    if (chance(10)) o = chance(50) ? -512 - size : 0;
    access("r10", o, size, true);
    access("r10", o, size, false);
  }

  // Spills and fills of pointers and bounded scalars, whole and partial.
  void spill_fill() {
    const std::string skip = label();
    const std::string slot = "(r10 " + num(kSpillSlot) + ")";
    switch (pick(0, 5)) {
      case 0:  // the context
        line("*(u64 *)" + slot + " = r6");
        if (chance(10)) line("*(u8 *)(r10 " + num(kSpillSlot + pick(0, 7)) + ") = r7");
        line("r1 = *(u64 *)" + slot);
        line("r0 = *(u32 *)(r1 " + off(type_ == BPF_PROG_TYPE_XDP ? 12 : 0) + ")");
        break;
      case 1:  // a stack pointer
        line("r1 = r10");
        line("r1 += " + num(-8 * pick(2, 8)));
        line("*(u64 *)" + slot + " = r1");
        line("r2 = *(u64 *)" + slot);
        access("r2", chance(90) ? 0 : pick(1, 16), 8, chance(50));
        break;
      case 2: {  // a bounded scalar keeps its bounds through a spill
        const int spill = chance(70) ? 8 : 4;
        bounded("r1", pick(0, 40), skip);
        line("*(" + std::string(sz(spill)) + " *)" + slot + " = r1");
        line("r1 = r7");
        line("r1 = *(" + std::string(sz(spill)) + " *)" + slot);
        line("r2 = r10");
        line("r2 += -64");
        line("r2 += r1");
        access("r2", 0, 1, chance(50));
        break;
      }
      case 3:  // a map value pointer, filled back and used after a helper call
        lookup(kArrayMap, skip);
        line("*(u64 *)" + slot + " = r0");
        line("call bpf_ktime_get_ns");
        line("r1 = *(u64 *)" + slot);
        access("r1", within(48, 8), 8, chance(50));
        break;
      case 4:  // a partial fill of a spilled pointer is a scalar (or refused)
        line("*(u64 *)" + slot + " = r6");
        line("r1 = *(u32 *)(r10 " + num(kSpillSlot + 4 * pick(0, 1)) + ")");
        if (chance(30))
          line("r0 = *(u32 *)(r1 +0)");
        else
          line("r9 ^= r1");
        break;
      default:  // a pointer stored at a variable offset, filled from a fixed one
        line("r1 = r9");
        line("r1 &= 8");
        line("r2 = r10");
        line("r2 += -64");
        line("r2 += r1");
        line("*(u64 *)(r2 +0) = r6");
        line("r1 = *(u64 *)(r10 -64)");
        if (chance(50))
          line("r0 = *(u32 *)(r1 +0)");
        else
          line("r9 += r1");
        break;
    }
    at(skip);
  }

  // 32-bit arithmetic and refinements on the carried scalar, which later snippets use as an
  // offset.
  void alu_jmp32() {
    static const char* ops[] = {
        "+=", "-=", "*=", "&=", "|=", "^=", "<<=", ">>=", "s>>=", "/=", "%="};
    const std::string op = ops[pick(0, tracked_ops_ ? 10 : 8)];
    const bool shift = op.find("<<") != std::string::npos || op.find(">>") != std::string::npos;
    const bool wide = chance(40);
    const std::string r = wide ? "r9" : "w9";
    if (chance(25) && (!shift || tracked_ops_)) {
      line(r + " " + op + " " + (wide ? "r7" : "w7"));
    } else {
      const int imm = shift ? pick(0, wide ? 63 : 31) : pick(-100, 1000);
      line(r + " " + op + " " + num(imm == 0 && op.find('/') != std::string::npos ? 1 : imm));
    }
    switch (pick(0, 6)) {
      case 0:
        line("r9 = (s" + num(8 << pick(0, 2)) + ")r9");
        break;
      case 1:
        line("w9 = (s" + num(8 << pick(0, 1)) + ")w9");
        break;
      case 2:
        if (tracked_ops_) line("r9 = be" + num(16 << pick(0, 2)) + " r9");
        break;
      case 3:
        line("w9 = -w9");
        break;
      default:
        break;
    }
    // A clamp: the 32-bit half bounded on one path, a constant on the other.
    const std::string ok = label();
    static const char* cmps[] = {"<=", "<", "s<=", "s<"};
    const std::string c = cmps[pick(0, 3)];
    line("if w9 " + c + " " + num(pick(0, 60)) + " goto " + ok);
    line(chance(70) ? "w9 = " + num(pick(0, 40)) : "r9 = " + num(pick(0, 40)));
    at(ok);
    if (c[0] == 's' && chance(70)) {
      const std::string ok2 = label();
      line("if w9 s>= 0 goto " + ok2);
      line("w9 = 0");
      at(ok2);
    }
    if (chance(50)) line("w9 = w9");  // zero-extends: the 64-bit bounds follow
  }

  // The carried scalar differs between the two sides of a branch.
  void diamond() {
    const std::string a = label(), b = label();
    static const char* cmps[] = {"==", "!=", ">", ">=", "<", "<=", "s>", "s<", "&"};
    const std::string c = cmps[pick(0, 8)];
    const std::string lhs = chance(30) ? "w7" : "r7";
    line("if " + lhs + " " + c + " " + num(pick(0, 0xffff)) + " goto " + a);
    diamond_side();
    line("goto " + b);
    at(a);
    diamond_side();
    at(b);
  }
  void diamond_side() {
    switch (pick(0, 5)) {
      case 0:
        line("r9 = " + num(pick(0, 64)));
        break;
      case 1:
        line("r9 &= " + num(mask()));
        break;
      case 2:
        line("r9 = r7");
        line("r9 >>= " + num(pick(24, 63)));
        break;
      case 3:
        line("w9 = w7");
        line(tracked_ops_ ? "w9 %= " + num(pick(1, 64)) : "w9 &= " + num(mask()));
        break;
      case 4:
        line("r9 = r7");
        break;
      default:
        break;  // unchanged
    }
  }

  // A scalar spilled to the stack with a range that depends on the path, filled after the join
  // and used as an offset: pruning at the join must compare the spilled values.
  void spilled_diamond() {
    const std::string a = label(), b = label(), skip = label();
    const int size = chance(80) ? 8 : 4;
    const std::string slot = "*(" + std::string(sz(size)) + " *)(r10 " + num(kSpillSlot) + ")";
    const int small = pick(0, 40);
    line("if " + std::string(chance(50) ? "r7" : "w7") + " > " + num(pick(0, 0xffff)) + " goto " +
         a);
    line("r1 = r9");
    line("r1 &= " + num(chance(80) ? 15 : 63));
    line(slot + " = r1");
    line("goto " + b);
    at(a);
    switch (pick(0, 3)) {
      case 0:
        line("r1 = " + num(small));
        break;
      case 1:
        line("r1 = r7");  // unbounded: the fill must not be trusted
        break;
      case 2:
        line("r1 = r7");
        line("r1 &= " + num(chance(70) ? 31 : 255));
        break;
      default:
        line("r1 = r6");  // a pointer on this side
        break;
    }
    line(slot + " = r1");
    at(b);
    line("r1 = " + slot);
    if (chance(30)) {
      line("if r1 > " + num(chance(85) ? 47 : 63) + " goto " + skip);
    }
    if (chance(50)) {
      line("r2 = r10");
      line("r2 += -64");
      line("r2 += r1");
      access("r2", 0, 1, chance(50));
    } else {
      lookup(kArrayMap, skip);
      line("r0 += r1");
      access("r0", 0, 1, chance(50));
    }
    at(skip);
  }

  // One subprogram called from two sites with differently bounded arguments; it returns its
  // argument, which each caller uses as an offset: the callee's states at the second visit must
  // not be pruned against the first when the return value's precision depends on the argument.
  void subprog_twice() {
    if (depth_ > 0) return;
    const std::string g = "f" + std::to_string(label_++);
    const std::string skip = label();
    const int first_mask = chance(80) ? 15 : 63, second = pick(0, 3);
    line("r1 = r9");
    line("r1 &= " + num(first_mask));
    line("call " + g);
    line("r2 = r10");
    line("r2 += -64");
    line("r2 += r0");
    access("r2", 0, 1, chance(50));
    switch (second) {
      case 0:
        line("r1 = r7");
        break;
      case 1:
        line("r1 = r7");
        line("r1 &= " + num(chance(70) ? 31 : 127));
        break;
      case 2:
        line("r1 = " + num(pick(0, 70)));
        break;
      default:
        line("r1 = r9");
        break;
    }
    line("call " + g);
    if (chance(40)) line("if r0 > " + num(chance(85) ? 63 : 64) + " goto " + skip);
    line("r2 = r10");
    line("r2 += -64");
    line("r2 += r0");
    access("r2", 0, 1, chance(50));
    at(skip);

    std::string body;
    std::string* saved = cur_;
    cur_ = &body;
    at(g);
    switch (pick(0, 2)) {
      case 0:
        line("r0 = r1");
        break;
      case 1: {  // through the callee's own stack
        line("*(u64 *)(r10 -8) = r1");
        line("r0 = *(u64 *)(r10 -8)");
        break;
      }
      default: {  // a branch in the callee on the argument
        const std::string l = label();
        line("r0 = r1");
        line("if r1 < " + num(pick(1, 64)) + " goto " + l);
        line("r0 = " + num(pick(0, 63)));
        at(l);
        break;
      }
    }
    line("exit");
    subs_ += body;
    cur_ = saved;
  }

  // A counter that grows on some iterations only, used as an offset after the loop: the loop's
  // states differ in its range, and pruning at the back edge must keep them apart.
  void loop_accumulate() {
    const std::string head = label(), no_inc = label(), skip = label();
    const int n = pick(2, 16);  // every path has its own count: up to 2^n states otherwise
    line("r1 = 0");
    line("r2 = 0");
    at(head);
    line("r3 = r7");
    line("r3 += r1");  // the test changes from one iteration to the next
    line("r3 &= " + num(1 << pick(0, 4)));
    line("if r3 == 0 goto " + no_inc);
    line("r2 += " + num(pick(1, 2)));
    at(no_inc);
    line("r1 += 1");
    line("if r1 < " + num(n) + " goto " + head);
    if (chance(20)) line("if r2 > " + num(pick(20, 63)) + " goto " + skip);
    line("r4 = r10");
    line("r4 += -64");
    line("r4 += r2");
    access("r4", 0, 1, chance(50));
    at(skip);
  }

  // The carried scalar as an offset, unchecked: safe only if every path left it small.
  void use_r9() {
    const std::string skip = label();
    switch (pick(0, 2)) {
      case 0:
        lookup(kArrayMap, skip);
        line("r0 += r9");
        access("r0", 0, 1, chance(50));
        break;
      case 1:
        line("r2 = r10");
        line("r2 += -64");
        line("r2 += r9");
        access("r2", 0, 1, chance(50));
        break;
      default:
        if (!direct_packet()) return use_r9();
        load_packet();
        line("r2 += r9");
        line("r4 = r2");
        line("r4 += " + num(pick(1, 8)));
        packet_check("r4", skip);
        access("r2", 0, 1, chance(50));
        break;
    }
    at(skip);
  }

  void loop() {
    const std::string head = label(), out = label();
    const int step = pick(1, 4);
    switch (pick(0, 3)) {
      case 0: {  // over a map value
        const int n = chance(85) ? pick(1, 48) : pick(40, 56);
        lookup(kArrayMap, out);
        line("r8 = r0");
        line("r1 = 0");
        at(head);
        line("r2 = r8");
        line("r2 += r1");
        line("r0 = *(u8 *)(r2 +0)");
        line("r1 += " + num(step));
        line("if r1 < " + num(n) + " goto " + head);
        break;
      }
      case 1: {  // over the packet, checked each time
        if (!direct_packet()) return loop();
        load_packet();
        line("r1 = 0");
        at(head);
        line("r4 = r2");
        line("r4 += r1");
        line("r5 = r4");
        line("r5 += " + num(pick(1, 4)));
        packet_check("r5", out);
        line("r0 = *(u8 *)(r4 +0)");
        line("r1 += " + num(step));
        line("if r1 < " + num(pick(1, 300)) + " goto " + head);
        break;
      }
      case 2: {  // over the stack
        const int n = chance(85) ? pick(1, 48) : pick(48, 72);
        line("r1 = 0");
        at(head);
        line("r2 = r10");
        line("r2 += -64");
        line("r2 += r1");
        line("*(u8 *)(r2 +0) = r1");
        line("r1 += " + num(step));
        line("if r1 < " + num(n) + " goto " + head);
        break;
      }
      default: {  // a counter with a data-dependent bound (32-bit)
        line("w1 = 0");
        line("w3 = w7");
        line("w3 &= " + num(chance(90) ? 31 : 1023));
        at(head);
        line("w0 += w1");
        line("w1 += " + num(step));
        line("if w1 < w3 goto " + head);
        break;
      }
    }
    at(out);
  }

  // A bpf-to-bpf call passing down a stack, map value or packet pointer; the callee indexes it and
  // returns a bounded scalar the caller uses as an offset.
  void subprog_call() {
    if (depth_ > 1) return;
    const std::string f = "f" + std::to_string(label_++);
    const std::string skip = label();
    const int kind = pick(0, 2);
    int v = 0;  // bytes the callee may use through r1
    if (kind == 0) {
      v = 8 * pick(1, 8);
      line("r1 = r10");
      line("r1 += " + num(-16 - v + 8));
      line("r2 = r9");
    } else if (kind == 1) {
      lookup(kArrayMap, skip);
      v = 48;
      line("r1 = r0");
      line("r2 = r9");
    } else {
      if (!direct_packet()) {
        v = 8;
        line("r1 = r10");
        line("r1 += -24");
        line("r2 = r7");
      } else {
        load_packet();
        line("r1 = r2");
        line("r2 = r3");
      }
    }
    line("call " + f);
    if (chance(60)) {
      line("r1 = r10");
      line("r1 += -64");
      line("r1 += r0");
      access("r1", 0, 1, true);
    }
    at(skip);

    // The callee, after the main program.
    std::string* saved = cur_;
    std::string body;
    cur_ = &body;
    ++depth_;
    at(f);
    const std::string out = label();
    if (kind == 2 && direct_packet()) {
      line("r3 = r2");  // data_end
      line("r2 = r1");
      line("r4 = r2");
      line("r4 += " + num(pick(1, 16)));
      packet_check("r4", out);
      access("r2", 0, 1, false);
    } else {
      line("r2 &= " + num(chance(85) ? std::max(0, v - 8) & ~7 : v));
      line("r1 += r2");
      access("r1", 0, chance(70) ? 8 : 1, chance(50), "r2");  // the callee has no r7
    }
    if (chance(30)) {  // its own stack, passed one frame further down
      line("r1 = r10");
      line("r1 += -8");
      line("*(u64 *)(r1 +0) = r2");
      if (depth_ < 2 && chance(50)) {
        const std::string g = "f" + std::to_string(label_++);
        line("r2 = 0");
        line("call " + g);
        std::string nested;
        cur_ = &nested;
        at(g);
        line("r2 &= 0");
        line("r1 += r2");
        access("r1", chance(90) ? 0 : 8, 8, chance(50), "r2");
        line("r0 = 0");
        line("exit");
        subs_ += nested;
        cur_ = &body;
      }
    }
    at(out);
    line("call bpf_get_prandom_u32");  // the callee has no r6..r9 of its own
    line("r0 &= " + num(chance(85) ? 63 - 7 : 127));
    line("exit");
    --depth_;
    subs_ += body;
    cur_ = saved;
  }

  void atomics() {
    const std::string skip = label();
    std::string p;
    int limit = 0;
    if (chance(50)) {
      p = "r10";
      limit = 0;
    } else {
      lookup(chance(70) ? kArrayMap : kHashMap, skip);
      line("r8 = r0");
      p = "r8";
      limit = 16;
    }
    const int size = chance(60) ? 8 : 4;
    int o = p == "r10" ? -8 * pick(1, 8) : size * pick(0, limit / size);
    if (chance(10)) o += pick(1, 4);                         // misaligned
    if (p == "r10" && chance(5)) o = -8 * pick(19, 21) - 8;  // maybe never written
    const std::string ty = sz(size), w = size == 8 ? "64" : "";
    line("r1 = r7");
    static const char* fetch_ops[] = {"add", "and", "or", "xor"};
    switch (pick(0, 4)) {
      case 0:
        line("lock *(" + ty + " *)(" + p + " " + off(o) + ") += r1");
        break;
      case 1:
        line("lock *(" + ty + " *)(" + p + " " + off(o) + ") |= r1");
        break;
      case 2:
        line("r1 = atomic" + w + "_fetch_" + fetch_ops[pick(0, 3)] + "((" + ty + " *)(" + p + " " +
             off(o) + "), r1)");
        line("r9 ^= r1");
        break;
      case 3:
        line("r1 = atomic" + w + "_xchg((" + ty + " *)(" + p + " " + off(o) + "), r1)");
        break;
      default:
        line("r0 = r9");
        line("r0 = atomic" + w + "_cmpxchg((" + ty + " *)(" + p + " " + off(o) + "), r0, r1)");
        break;
    }
    at(skip);
  }

  void ringbuf() {
    const std::string skip = label();
    const int n = 8 * pick(1, 8);
    line("r1 = map[fd:" + num(kRingbufMap) + "]");
    line("r2 = " + num(n));
    line("r3 = 0");
    line("call bpf_ringbuf_reserve");
    if (chance(95)) line("if r0 == 0 goto " + skip);
    line("r8 = r0");
    if (chance(50)) {
      access("r0", within(n, 8), 8, true);
    } else {
      bounded("r1", n - 1, skip);  // a leaking exit, unless it is never taken
      line("r0 += r1");
      access("r0", 0, 1, true);
    }
    line("r1 = r8");
    line("r2 = 0");
    line(chance(70) ? "call bpf_ringbuf_submit" : "call bpf_ringbuf_discard");
    at(skip);
  }

  // Helpers that take memory and a size.
  void helper_mem() {
    const std::string skip = label();
    auto size_arg = [&](const std::string& reg, int limit, bool zero_ok) {
      if (chance(60)) {
        line(reg + " = " + num(chance(90) ? pick(zero_ok ? 0 : 1, limit) : limit + pick(1, 8)));
      } else {
        bounded(reg, limit, skip);
        if (!zero_ok && chance(80)) line("if " + reg + " == 0 goto " + skip);
      }
    };
    switch (pick(0, 3)) {
      case 0:  // ringbuf_output from the stack buffer
        line("r2 = r10");
        line("r2 += " + num(kBuf));
        size_arg("r3", kBufSize, true);
        line("r1 = map[fd:" + num(kRingbufMap) + "]");
        line("r4 = 0");
        line("call bpf_ringbuf_output");
        break;
      case 1:  // map_update_elem of the array from the stack buffer
        line("r1 = " + num(pick(0, 4)));
        line("*(u32 *)(r10 " + num(kKeySlot) + ") = r1");
        line("r1 = map[fd:" + num(kArrayMap) + "]");
        line("r2 = r10");
        line("r2 += " + num(kKeySlot));
        line("r3 = r10");
        line("r3 += " + num(chance(90) ? kBuf : kBuf + 24));
        line("r4 = 0");
        line("call bpf_map_update_elem");
        break;
      case 2:
        if (type_ == BPF_PROG_TYPE_SOCKET_FILTER) return skb_bytes();
        // csum_diff over the stack buffer (a size not a multiple of 4 is the helper's -EINVAL)
        line("r1 = r10");
        line("r1 += " + num(kBuf));
        size_arg("r2", kBufSize, true);
        line("r2 &= -4");
        line("r3 = 0");
        line("r4 = 0");
        line("r5 = 0");
        line("call bpf_csum_diff");
        break;
      default:  // probe the stack buffer through a variable pointer with a bounded size
        if (type_ == BPF_PROG_TYPE_XDP) return skb_bytes_xdp();
        return skb_bytes();
    }
    at(skip);
  }

  // bpf_skb_load_bytes (and, for tc, skb_store_bytes) with the stack buffer.
  void skb_bytes() {
    if (type_ == BPF_PROG_TYPE_XDP) return skb_bytes_xdp();
    const std::string skip = label();
    const bool store = type_ == BPF_PROG_TYPE_SCHED_CLS && chance(30);
    line("r1 = r6");
    line("r2 = " + num(pick(0, 20)));
    line("r3 = r10");
    line("r3 += " + num(kBuf + (chance(90) ? 0 : pick(1, 16))));
    if (chance(60)) {
      line("r4 = " + num(chance(90) ? pick(1, kBufSize) : kBufSize + 8));
    } else {
      bounded("r4", kBufSize, skip);
      if (chance(80)) line("if r4 == 0 goto " + skip);
    }
    if (store) line("r5 = 0");
    line(store ? "call bpf_skb_store_bytes" : "call bpf_skb_load_bytes");
    at(skip);
  }
  // XDP's counterpart: bpf_xdp_load_bytes is not in bpfbox's list; use a packet-to-stack copy.
  void skb_bytes_xdp() {
    const std::string skip = label();
    load_packet();
    line("r4 = r2");
    line("r4 += 8");
    packet_check("r4", skip);
    line("r1 = *(u64 *)(r2 +0)");
    line("*(u64 *)(r10 " + num(kBuf) + ") = r1");
    at(skip);
  }

  void ld_abs() {
    const int size = 1 << pick(0, 2);
    if (chance(50)) {
      line("r0 = *(" + std::string(sz(size)) + " *)skb[" + num(pick(0, 80)) + "]");
    } else {
      line("r1 = r9");
      line("r1 &= " + num(mask()));
      line("r0 = *(" + std::string(sz(size)) + " *)skb[r1 + " + num(pick(0, 40)) + "]");
    }
    line("r9 ^= r0");
  }

  void ctx_access() {
    int o = 0, size = 4;
    if (type_ == BPF_PROG_TYPE_XDP) {
      o = 4 * pick(0, 6);
      if (chance(10)) size = 1 << pick(0, 3);
    } else {
      o = 4 * pick(0, 46);
      if (chance(20)) size = 1 << pick(0, 3);
    }
    if (chance(5)) o += pick(1, 3);
    if (type_ != BPF_PROG_TYPE_XDP && chance(30)) {
      // Writes: cb[] for every skb type, mark/priority/tc_index for tc.
      static const int writable[] = {48, 52, 56, 60, 64, 8, 32, 44};
      o = writable[pick(0, 7)];
      line("*(u32 *)(r6 " + off(o) + ") = r7");
      return;
    }
    line("r0 = *(" + std::string(sz(size)) + " *)(r6 " + off(o) + ")");
    if (o != 0 && o != 4 && o != 76 && o != 80 && o != 140 && chance(50)) line("r9 ^= r0");
  }
};

}  // namespace

FuzzProgram biased_program(uint64_t seed) {
  return Gen(seed).program();
}

}  // namespace bpfbox::fuzz
