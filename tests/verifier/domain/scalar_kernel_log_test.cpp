// The kernel as the oracle of the domain's precision and log format: random straight-line
// programs of ALU operations and comparisons on unknown scalars are loaded into the running
// kernel with log_level 2, the same operations are applied to Scalars, and the kernel's
// "R6=scalar(...)" text after each instruction must equal the model's. Only operations the
// kernel tracks are drawn (bpfbox is deliberately more precise for division, modulo, byte swaps
// and shifts by unknown amounts; docs/verifier.md). Skipped when bpf() is refused.
#include <gtest/gtest.h>
#include <linux/bpf.h>

#include <cctype>
#include <cstdlib>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "domain_gen.hpp"
#include "kernel_bpf.hpp"
#include "verifier/scalar.hpp"

namespace bpfbox::verifier::test {
namespace {

bpf_insn insn(uint8_t code, uint8_t dst, uint8_t src, int16_t off, int32_t imm) {
  bpf_insn i{};
  i.code = code;
  i.dst_reg = dst & 0xf;
  i.src_reg = src & 0xf;
  i.off = off;
  i.imm = imm;
  return i;
}

// How the verifier log prints a scalar register.
std::string log_text(const Scalar& s) {
  return s.is_const() ? s.to_string() : "scalar(" + s.to_string() + ")";
}

// Drops "id=N", "id=N+K" (and the comma after it): ids are the verifier core's, not the domain's.
std::string drop_ids(std::string v) {
  for (size_t at; (at = v.find("id=")) != std::string::npos;) {
    size_t end = at + 3;
    while (end < v.size() &&
           (std::isdigit(static_cast<unsigned char>(v[end])) || v[end] == '+' || v[end] == '-'))
      ++end;
    if (end < v.size() && v[end] == ',') ++end;
    v.erase(at, end - at);
  }
  return v;
}

// The register states of one log line: "R6=scalar(...) R7=5" (precision marks dropped too).
// No std::regex: GCC 12 warns inside it under the sanitizers, and the build has -Werror.
std::map<int, std::string> parse_regs(const std::string& text) {
  std::map<int, std::string> regs;
  size_t pos = 0;
  while ((pos = text.find('R', pos)) != std::string::npos) {
    const bool token_start = pos == 0 || text[pos - 1] == ' ';
    size_t p = pos + 1;
    while (p < text.size() && std::isdigit(static_cast<unsigned char>(text[p]))) ++p;
    const std::string number = text.substr(pos + 1, p - pos - 1);
    while (p < text.size() && (text[p] == '_' || text[p] == 'r' || text[p] == 'w')) ++p;
    if (!token_start || number.empty() || p >= text.size() || text[p] != '=') {
      pos = p;
      continue;
    }
    size_t end = ++p;
    int depth = 0;
    while (end < text.size() && (depth > 0 || text[end] != ' ')) {
      depth += text[end] == '(' ? 1 : text[end] == ')' ? -1 : 0;
      ++end;
    }
    std::string v = text.substr(p, end - p);
    if (!v.empty() && v[0] == 'P') v.erase(0, 1);
    regs[std::stoi(number)] = drop_ids(v);
    pos = end;
  }
  return regs;
}

// Log lines by what they describe: "5" for the state after instruction 5 on the path being
// explored ("5: (bf) r6 = r0 ; R6=..."), "from 6 to 8" for the state a pushed branch resumes
// with. The first one wins: the main path of these programs is explored first.
std::map<std::string, std::map<int, std::string>> parse_log(const std::string& log) {
  std::map<std::string, std::map<int, std::string>> out;
  size_t start = 0;
  while (start < log.size()) {
    size_t nl = log.find('\n', start);
    if (nl == std::string::npos) nl = log.size();
    const std::string line = log.substr(start, nl - start);
    start = nl + 1;
    if (line.rfind("from ", 0) == 0) {
      const size_t colon = line.find(": ");
      if (colon != std::string::npos)
        out.emplace(line.substr(0, colon), parse_regs(line.substr(colon + 2)));
      continue;
    }
    size_t d = 0;
    while (d < line.size() && std::isdigit(static_cast<unsigned char>(line[d]))) ++d;
    if (d == 0 || line.compare(d, 3, ": (") != 0) continue;
    const size_t semi = line.find("; ");
    if (semi == std::string::npos) continue;
    out.emplace(line.substr(0, d), parse_regs(line.substr(semi + 2)));
  }
  return out;
}

// One random program and the model of its registers r6..r9 along the main path.
class ProgramModel {
 public:
  explicit ProgramModel(DomainGen& g) : g_(g) {
    for (uint8_t r = 6; r <= 9; ++r) {
      emit(insn(BPF_JMP | BPF_CALL, 0, 0, 0, BPF_FUNC_get_prandom_u32));
      emit(insn(BPF_ALU64 | BPF_MOV | BPF_X, r, 0, 0, 0));
      regs_[r] = Scalar::unknown();
    }
  }

  // Appends one random step; false once the path it continues on is dead.
  bool step() {
    switch (g_.below(8)) {
      case 0:
      case 1:
      case 2:
        return alu(true);
      case 3:
      case 4:
        return alu(false);
      case 5:
        return neg();
      default:
        return jump();
    }
  }

  std::vector<bpf_insn> finish() {
    // The main path ends alone; the other sides of the comparisons share an exit after it (a
    // state pruned at a shared exit would not be printed).
    emit(insn(BPF_ALU64 | BPF_MOV | BPF_K, 0, 0, 0, 0));
    emit(insn(BPF_JMP | BPF_EXIT, 0, 0, 0, 0));
    const auto exit_pc = static_cast<int>(insns_.size());
    if (!to_exit_.empty()) {
      emit(insn(BPF_ALU64 | BPF_MOV | BPF_K, 0, 0, 0, 0));
      emit(insn(BPF_JMP | BPF_EXIT, 0, 0, 0, 0));
    }
    for (size_t pc : to_exit_) insns_[pc].off = static_cast<int16_t>(exit_pc - int(pc) - 1);
    return insns_;
  }

  // The expected register texts by log key.
  const std::map<std::string, std::map<int, std::string>>& expected() const { return expected_; }
  const std::vector<std::string>& listing() const { return listing_; }

 private:
  uint8_t reg() { return uint8_t(6 + g_.below(4)); }

  void emit(bpf_insn i) { insns_.push_back(i); }
  void expect(const std::string& key, uint8_t r) { expected_[key][r] = log_text(regs_[r]); }
  void note(const std::string& what) {
    listing_.push_back(std::to_string(insns_.size() - 1) + ": " + what);
  }

  bool alu(bool imm_form) {
    static constexpr uint8_t kOps[] = {BPF_ADD, BPF_SUB, BPF_MUL, BPF_AND,  BPF_OR,
                                       BPF_XOR, BPF_LSH, BPF_RSH, BPF_ARSH, BPF_MOV};
    const uint8_t op = kOps[g_.below(sizeof kOps)];
    const bool alu64 = g_.coin();
    const unsigned width = alu64 ? 64 : 32;
    const bool shift = op == BPF_LSH || op == BPF_RSH || op == BPF_ARSH;
    const uint8_t dst = reg(), src = reg();
    int16_t off = 0;
    Scalar src_value;
    int32_t imm = 0;
    if (imm_form) {
      imm = shift ? int32_t(g_.below(width)) : int32_t(g_.interesting());
      src_value = Scalar::constant(uint64_t(int64_t(imm)));
    } else {
      // The kernel tracks a shift by a register only when it is a constant below the width.
      if (shift && !(regs_[src].is_const() && regs_[src].const_value() < width)) return true;
      if (op == BPF_MOV && g_.coin()) {
        const int16_t sizes64[] = {8, 16, 32}, sizes32[] = {8, 16};
        off = alu64 ? sizes64[g_.below(3)] : sizes32[g_.below(2)];
      }
      src_value = regs_[src];
    }
    // The kernel forks the state on "-x & y" with x in {0, 1} (dst in [-1, 0]): a verifier core
    // decision, not a transfer function, so those steps are left out.
    const bool minus_one_or_zero = alu64 ? regs_[dst].smin == -1 && regs_[dst].smax == 0
                                         : regs_[dst].s32_min == -1 && regs_[dst].s32_max == 0;
    if ((op == BPF_AND || op == BPF_OR) && minus_one_or_zero) return true;
    const uint8_t cls = alu64 ? BPF_ALU64 : BPF_ALU;
    emit(insn(uint8_t(cls | op | (imm_form ? BPF_K : BPF_X)), dst, imm_form ? 0 : src, off, imm));
    note(std::string(alu64 ? "alu64" : "alu32") + " op " + std::to_string(op >> 4) + " r" +
         std::to_string(dst) +
         (imm_form ? " imm " + std::to_string(imm) : " r" + std::to_string(src)) + " off " +
         std::to_string(off));
    scalar_alu(regs_[dst], src_value, op, alu64, off);
    if (op == BPF_MOV && !imm_form) {
      // A copy shares the scalar's id in the kernel, and linked registers are the verifier
      // core's business, not the domain's: r *= 1 breaks the link (add or sub would keep it).
      emit(insn(BPF_ALU64 | BPF_MUL | BPF_K, dst, 0, 0, 1));
      scalar_alu(regs_[dst], Scalar::constant(1), BPF_MUL, true);
      note("r" + std::to_string(dst) + " *= 1");
    }
    expect(std::to_string(insns_.size() - 1), dst);
    return true;
  }

  bool neg() {
    const bool alu64 = g_.coin();
    const uint8_t dst = reg();
    emit(insn(uint8_t((alu64 ? BPF_ALU64 : BPF_ALU) | BPF_NEG), dst, 0, 0, 0));
    note(std::string("neg") + (alu64 ? "64" : "32") + " r" + std::to_string(dst));
    scalar_neg(regs_[dst], alu64);
    expect(std::to_string(insns_.size() - 1), dst);
    return true;
  }

  bool jump() {
    static constexpr uint8_t kOps[] = {BPF_JEQ,  BPF_JNE,  BPF_JGT,  BPF_JGE,  BPF_JLT, BPF_JLE,
                                       BPF_JSGT, BPF_JSGE, BPF_JSLT, BPF_JSLE, BPF_JSET};
    const uint8_t op = kOps[g_.below(sizeof kOps)];
    const bool is32 = g_.coin(), imm_form = g_.coin();
    const uint8_t a = reg();
    uint8_t b = reg();
    if (!imm_form && b == a) b = uint8_t(6 + (a - 6 + 1) % 4);
    // Compare against a value near a bound of a, so the comparison cuts into its range.
    const Scalar& av = regs_[a];
    const uint64_t near[] = {av.umin,           av.umax,          uint64_t(av.smin),
                             uint64_t(av.smax), av.var_off.value, g_.interesting()};
    const int32_t imm = int32_t(near[g_.below(6)] + g_.below(5) - 2);
    Scalar bv = imm_form ? Scalar::constant(uint64_t(int64_t(imm))) : regs_[b];
    Scalar av2 = regs_[a];
    // On the fall-through of "if a OP b goto exit" the comparison is false; with "goto +1;
    // goto exit" the path continues where it is true.
    const bool continue_taken = g_.coin();
    const int decided = scalar_branch_taken(av2, bv, op, is32);
    if (!scalar_refine(av2, bv, op, is32, continue_taken)) return false;
    const uint8_t cls = is32 ? BPF_JMP32 : BPF_JMP;
    const auto jump_pc = insns_.size();
    if (continue_taken) {
      emit(insn(uint8_t(cls | op | (imm_form ? BPF_K : BPF_X)), a, imm_form ? 0 : b, 1,
                imm_form ? imm : 0));
      note("if r" + std::to_string(a) + " op " + std::to_string(op >> 4) + (is32 ? "(32)" : "") +
           (imm_form ? " imm " + std::to_string(imm) : " r" + std::to_string(b)) +
           " goto +1 (taken)");
      emit(insn(BPF_JMP | BPF_JA, 0, 0, 0, 0));
      to_exit_.push_back(insns_.size() - 1);
    } else {
      emit(insn(uint8_t(cls | op | (imm_form ? BPF_K : BPF_X)), a, imm_form ? 0 : b, 0,
                imm_form ? imm : 0));
      note("if r" + std::to_string(a) + " op " + std::to_string(op >> 4) + (is32 ? "(32)" : "") +
           (imm_form ? " imm " + std::to_string(imm) : " r" + std::to_string(b)) +
           " goto exit (fall through)");
      to_exit_.push_back(jump_pc);
    }
    regs_[a] = av2;
    if (!imm_form) regs_[b] = bv;
    // A decided comparison teaches nothing and pushes no other branch.
    if (decided < 0) {
      const std::string key =
          continue_taken ? "from " + std::to_string(jump_pc) + " to " + std::to_string(jump_pc + 2)
                         : std::to_string(jump_pc);
      expect(key, a);
      if (!imm_form) expect(key, b);
    }
    return true;
  }

  DomainGen& g_;
  std::vector<bpf_insn> insns_;
  std::vector<size_t> to_exit_;
  Scalar regs_[10];
  std::map<std::string, std::map<int, std::string>> expected_;
  std::vector<std::string> listing_;
};

TEST(ScalarKernelLog, RandomProgramsPrintTheKernelsBounds) {
  if (const auto& why = testsupport::kernel_bpf_unavailable()) GTEST_SKIP() << *why;
  // BPFBOX_DOMAIN_PROGRAMS=N and BPFBOX_DOMAIN_SEED=S for a longer or different run.
  const char* n = std::getenv("BPFBOX_DOMAIN_PROGRAMS");
  const char* seed = std::getenv("BPFBOX_DOMAIN_SEED");
  DomainGen g(seed ? std::strtoull(seed, nullptr, 0) : 2026);
  const int kPrograms = n ? std::atoi(n) : 400;
  int compared = 0, failures = 0;
  for (int p = 0; p < kPrograms && failures < 5; ++p) {
    ProgramModel model(g);
    const int steps = 2 + int(g.below(8));
    for (int s = 0; s < steps && model.step(); ++s) {
    }
    const auto prog = model.finish();
    const auto klog = testsupport::kernel_verifier_log(BPF_PROG_TYPE_SOCKET_FILTER, prog, 2);
    ASSERT_EQ(klog.err, 0) << klog.log;
    const auto seen = parse_log(klog.log);
    for (const auto& [key, regs] : model.expected()) {
      const auto line = seen.find(key);
      for (const auto& [r, text] : regs) {
        const bool found = line != seen.end() && line->second.count(r);
        if (found && line->second.at(r) == text) {
          ++compared;
          continue;
        }
        std::string listing;
        for (const auto& l : model.listing()) listing += "  " + l + "\n";
        ADD_FAILURE() << "at " << key << " R" << r << ":\n  bpfbox: " << text
                      << "\n  kernel: " << (found ? line->second.at(r) : "(not printed)")
                      << "\nsteps:\n"
                      << listing << "log:\n"
                      << klog.log;
        ++failures;
        break;
      }
    }
  }
  EXPECT_GT(compared, kPrograms);
}

}  // namespace
}  // namespace bpfbox::verifier::test
