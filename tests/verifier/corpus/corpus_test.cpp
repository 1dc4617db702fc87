// The corpus runner: every case is loaded into the running kernel (its expectation must be true of
// the kernel) and verified by bpfbox (which must agree, unless the case is listed in pending.txt
// with the reason; a pending case that starts agreeing fails too, so the list only shrinks).
//
// BPFBOX_CORPUS_PENDING_OUT=FILE writes the cases bpfbox disagrees on, with its verdict, to FILE
// (the Summary test), to refresh pending.txt after a part of the verifier lands.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>

#include "bpfbox/maps.hpp"
#include "bpfbox/verifier.hpp"
#include "corpus.hpp"
#include "isa/assembler.hpp"
#include "kernel_bpf.hpp"
#include "kernel_verifier.hpp"
#include "test_object_table.hpp"

namespace bpfbox::corpus {
namespace {

const std::string kCorpusDir = std::string(BPFBOX_SOURCE_DIR) + "/tests/verifier/corpus";

const std::vector<Case>& all_cases() {
  static const std::vector<Case> cases = load_corpus(kCorpusDir + "/cases");
  return cases;
}

// pending.txt: "name reason..." per line.
const std::map<std::string, std::string>& pending() {
  static const std::map<std::string, std::string> list = [] {
    std::map<std::string, std::string> m;
    std::ifstream f(kCorpusDir + "/pending.txt");
    std::string line;
    while (std::getline(f, line)) {
      if (line.empty() || line[0] == '#') continue;
      std::istringstream in(line);
      std::string name, reason;
      in >> name;
      std::getline(in, reason);
      m[name] = reason;
    }
    return m;
  }();
  return list;
}

struct Outcome {
  int err = 0;
  std::string log;
  uint32_t verified_insns = 0;  // "processed N insns" when accepted
};

std::string verdict_text(int err) {
  return err == 0 ? "accept" : std::string("reject ") + errno_name(err);
}

// The last log line that is not the statistics line: the verdict's message.
std::string verdict_line(const std::string& log) {
  std::istringstream in(log);
  std::string line, last;
  while (std::getline(in, line))
    if (!line.empty() && line.rfind("processed ", 0) != 0 &&
        line.rfind("verification time", 0) != 0 && line.rfind("stack depth", 0) != 0)
      last = line;
  return last;
}

// Does an outcome meet the case's expectation? Empty when it does, else why not.
std::string mismatch(const Case& c, const Outcome& o) {
  if (c.accept) return o.err == 0 ? "" : "expected accept, got " + verdict_text(o.err);
  if (o.err != c.err)
    return "expected reject " + std::string(errno_name(c.err)) + ", got " + verdict_text(o.err);
  if (o.log.find(c.message) == std::string::npos) return "log lacks '" + c.message + "'";
  return "";
}

std::string last_lines(const std::string& log, size_t n = 6) {
  size_t pos = log.size();
  for (size_t i = 0; i <= n && pos != std::string::npos && pos > 0; ++i)
    pos = log.rfind('\n', pos - 1);
  return pos == std::string::npos ? log : log.substr(pos + 1);
}

bool is_map_lddw(const struct bpf_insn& in) {
  return in.code == (BPF_LD | BPF_IMM | BPF_DW) &&
         (in.src_reg == BPF_PSEUDO_MAP_FD || in.src_reg == BPF_PSEUDO_MAP_VALUE);
}

// The case's BTF (func:/line: lines), built once per run for both sides.
testsupport::ProgBtfBlob case_btf(const Case& c, const std::vector<struct bpf_insn>& insns) {
  if (c.funcs.empty() && c.lines.empty()) return {};
  return testsupport::build_prog_btf(c.funcs, c.lines, c.prog_type, insns);
}

Outcome run_bpfbox(const Case& c, const std::vector<struct bpf_insn>& insns,
                   uint32_t log_level = 1) {
  maps::testing::TestObjectTable table;  // resolves inner_map_fd; outlives the maps
  std::vector<std::shared_ptr<maps::Map>> maps;
  std::vector<int> table_fds;
  for (const MapSpec& m : c.maps) {
    union bpf_attr attr;
    std::memset(&attr, 0, sizeof attr);
    attr.map_type = m.type;
    attr.key_size = m.key_size;
    attr.value_size = m.value_size;
    attr.max_entries = m.max_entries;
    attr.map_flags = m.flags;
    if (m.inner >= 0) attr.inner_map_fd = static_cast<uint32_t>(table_fds[m.inner]);
    maps::CreateOptions co;
    co.spin_lock_off = m.spin_lock_off;
    co.objects = &table;
    auto made = maps::Map::create(attr, co);
    if (!made) return {made.status().err(), "map create: " + made.status().message()};
    maps.push_back(made.value());
    table_fds.push_back(table.add_map(made.value()));
  }
  verifier::Options opts;
  opts.load.prog_type = c.prog_type;
  opts.load.prog_flags = c.prog_flags;
  opts.load.privileged = c.privileged;
  opts.load.gpl_compatible = c.license == "GPL" || c.license == "Dual BSD/GPL";
  opts.log_level = log_level;
  opts.log_size = 1 << 24;
  const testsupport::ProgBtfBlob btf = case_btf(c, insns);
  opts.btf = btf.btf;
  opts.func_info = btf.func_info.data();
  opts.func_info_cnt = static_cast<uint32_t>(btf.func_info.size());
  opts.func_info_rec_size = opts.func_info_cnt ? sizeof(struct bpf_func_info) : 0;
  opts.line_info = btf.line_info.data();
  opts.line_info_cnt = static_cast<uint32_t>(btf.line_info.size());
  opts.line_info_rec_size = opts.line_info_cnt ? sizeof(struct bpf_line_info) : 0;
  // map[fd:N] names the N-th map of the case.
  opts.map_by_fd = [&](int fd) -> Result<std::shared_ptr<maps::Map>> {
    if (fd >= 0 && static_cast<size_t>(fd) < maps.size()) return maps[fd];
    return Status(EBADF, "not a map");
  };
  verifier::VerifyResult r = verifier::verify(insns, opts);
  std::string log = r.log;
  if (r.status.err() == ENOSPC) {
    // The log (its end: rotating) still holds the message; the verdict comes from a load
    // without a log, as the kernel half does.
    opts.log_level = 0;
    opts.log_size = 0;
    r = verifier::verify(insns, opts);
  }
  Outcome o{r.status.err(), log, r.program ? r.program->verified_insns : 0};
  // The message of refusals that leave no log line (E2BIG, EPERM before the verifier).
  if (r.diagnostic) o.log += "\n" + r.diagnostic->message;
  return o;
}

struct KernelOutcome {
  bool ran = false;
  std::string skipped;  // why not
  Outcome outcome;
};

KernelOutcome run_kernel(const Case& c, std::vector<struct bpf_insn> insns,
                         uint32_t log_level = 1) {
  KernelOutcome k;
  if (testsupport::kernel_bpf_unavailable()) {
    k.skipped = *testsupport::kernel_bpf_unavailable();
    return k;
  }
  if (!c.privileged) {
    if (auto why = testsupport::kernel_unprivileged_unavailable()) {
      k.skipped = *why;
      return k;
    }
  }
  std::vector<testsupport::KernelMap> maps;
  for (const MapSpec& m : c.maps) {
    int err = 0;
    maps.push_back(m.spin_lock_off >= 0
                       ? testsupport::kernel_map_create_with_spin_lock(
                             m.type, m.key_size, m.value_size, m.max_entries, m.flags,
                             static_cast<uint32_t>(m.spin_lock_off), &err)
                       : testsupport::kernel_map_create(
                             m.type, m.key_size, m.value_size, m.max_entries, m.flags, &err,
                             m.inner >= 0 ? static_cast<uint32_t>(maps[m.inner].fd()) : 0));
    if (err) {
      k.ran = true;
      k.outcome = {err, "map create failed"};
      return k;
    }
  }
  for (auto& in : insns)
    if (is_map_lddw(in) && in.imm >= 0 && static_cast<size_t>(in.imm) < maps.size())
      in.imm = maps[in.imm].fd();
  testsupport::KernelLoad load;
  load.prog_type = c.prog_type;
  load.prog_flags = c.prog_flags;
  load.insns = insns;
  load.license = c.license.c_str();
  load.log_level = log_level;
  load.log_size = 1 << 24;
  const testsupport::ProgBtfBlob btf = case_btf(c, insns);
  load.btf = btf.btf;
  load.func_info = btf.func_info;
  load.line_info = btf.line_info;
  const testsupport::KernelVerdict v = c.privileged ? testsupport::kernel_verify(load)
                                                    : testsupport::kernel_verify_unprivileged(load);
  k.ran = true;
  k.outcome = {v.err, v.log, v.verified_insns};
  return k;
}

// Results of this process's runs, for the summary.
struct Tally {
  int cases = 0, kernel_checked = 0, kernel_skipped = 0, agree = 0, pending = 0;
  std::vector<std::string> disagreeing;  // "name  bpfbox says ..."
};
Tally& tally() {
  static Tally t;
  return t;
}

class Corpus : public testing::TestWithParam<Case> {};

TEST_P(Corpus, KernelAndBpfbox) {
  const Case& c = GetParam();
  const std::vector<struct bpf_insn> insns = assemble_case(c);
  Tally& t = tally();
  ++t.cases;

  const KernelOutcome k = run_kernel(c, insns);
  // BPFBOX_CORPUS_DUMP=NAME prints both verifiers' level-2 logs of that case.
  if (const char* dump = std::getenv("BPFBOX_CORPUS_DUMP"); dump && c.name == dump) {
    std::printf("=== kernel\n%s\n=== bpfbox\n%s\n", run_kernel(c, insns, 2).outcome.log.c_str(),
                run_bpfbox(c, insns, 2).log.c_str());
  }
  if (k.ran) {
    ++t.kernel_checked;
    const std::string why = mismatch(c, k.outcome);
    EXPECT_EQ(why, "") << c.file << " " << c.name << ": the expectation is not true of the kernel\n"
                       << last_lines(k.outcome.log);
  } else {
    ++t.kernel_skipped;
  }

  const Outcome b = run_bpfbox(c, insns);
  const std::string why = mismatch(c, b);
  const auto p = pending().find(c.name);
  if (p != pending().end()) {
    ++t.pending;
    EXPECT_NE(why, "") << c.file << " " << c.name
                       << ": bpfbox now agrees; remove it from pending.txt (" << p->second << ")";
  } else {
    EXPECT_EQ(why, "") << c.file << " " << c.name << ": bpfbox disagrees\n" << last_lines(b.log);
  }
  if (why.empty()) {
    ++t.agree;
  } else {
    t.disagreeing.push_back(c.name + " " + why + " (bpfbox: " + verdict_line(b.log) + ")");
  }
  if (!k.ran) GTEST_SKIP() << "kernel half skipped: " << k.skipped;
}

std::string case_name(const testing::TestParamInfo<Case>& info) {
  return info.param.name;
}

INSTANTIATE_TEST_SUITE_P(Cases, Corpus, testing::ValuesIn(all_cases()), case_name);

TEST(CorpusList, NamesAreUniqueAndPendingNamesExist) {
  std::map<std::string, int> seen;
  for (const Case& c : all_cases()) EXPECT_EQ(seen[c.name]++, 0) << "duplicate case " << c.name;
  for (const auto& [name, reason] : pending())
    EXPECT_EQ(seen.count(name), 1u) << "pending.txt names no case: " << name;
  EXPECT_GE(all_cases().size(), 100u);
}

// Runs every case (in this process) and reports the counts; writes the disagreements when asked.
TEST(CorpusList, Summary) {
  Tally& t = tally();
  if (t.cases == 0) {
    for (const Case& c : all_cases()) {
      const std::vector<struct bpf_insn> insns = assemble_case(c);
      ++t.cases;
      if (mismatch(c, run_bpfbox(c, insns)).empty()) {
        ++t.agree;
      } else {
        const Outcome b = run_bpfbox(c, insns);
        t.disagreeing.push_back(c.name + " " + mismatch(c, b) + " (bpfbox: " + verdict_line(b.log) +
                                ")");
      }
    }
  }
  std::printf("corpus: %d cases, bpfbox agrees on %d, %zu disagree (pending.txt lists %zu)\n",
              t.cases, t.agree, t.disagreeing.size(), pending().size());
  if (const char* out = std::getenv("BPFBOX_CORPUS_PENDING_OUT")) {
    std::ofstream f(out);
    for (const std::string& d : t.disagreeing) f << d << "\n";
  }
  // The disagreements are exactly the pending cases.
  std::vector<std::string> unexpected, fixed;
  std::map<std::string, bool> disagree;
  for (const std::string& d : t.disagreeing) disagree[d.substr(0, d.find(' '))] = true;
  for (const auto& [name, yes] : disagree)
    if (!pending().count(name)) unexpected.push_back(name);
  for (const auto& [name, reason] : pending())
    if (!disagree.count(name)) fixed.push_back(name);
  EXPECT_TRUE(unexpected.empty()) << unexpected.size() << " cases disagree but are not pending, "
                                  << "e.g. " << (unexpected.empty() ? "" : unexpected[0]);
  EXPECT_TRUE(fixed.empty()) << fixed.size() << " pending cases now agree, e.g. "
                             << (fixed.empty() ? "" : fixed[0]);
}

// "processed N insns" (verified_insns) of bpfbox against the kernel's on every case both accept:
// what users feel as verification time and "too complex". The ratio distribution is printed;
// bpfbox may explore more than the kernel (it prunes less in places) but never more than
// kMaxRatio times as much, and never more than kSlack instructions more on tiny programs.
TEST(CorpusList, ProcessedInsnsAgainstKernel) {
  if (auto why = testsupport::kernel_bpf_unavailable()) GTEST_SKIP() << *why;
  constexpr double kMaxRatio = 1.5;
  constexpr uint32_t kSlack = 8;
  struct Row {
    std::string name;
    uint32_t bpfbox, kernel;
    double ratio;
  };
  std::vector<Row> rows;
  for (const Case& c : all_cases()) {
    if (!c.accept || !c.privileged) continue;
    const std::vector<struct bpf_insn> insns = assemble_case(c);
    const KernelOutcome k = run_kernel(c, insns);
    if (!k.ran || k.outcome.err || !k.outcome.verified_insns) continue;
    const Outcome b = run_bpfbox(c, insns);
    if (b.err) continue;
    rows.push_back({c.name, b.verified_insns, k.outcome.verified_insns,
                    double(b.verified_insns) / double(k.outcome.verified_insns)});
  }
  ASSERT_GE(rows.size(), 50u);
  std::sort(rows.begin(), rows.end(), [](const Row& a, const Row& b) { return a.ratio < b.ratio; });
  uint64_t sum_b = 0, sum_k = 0;
  int above = 0, below = 0;
  for (const Row& r : rows) {
    sum_b += r.bpfbox;
    sum_k += r.kernel;
    above += r.bpfbox > r.kernel;
    below += r.bpfbox < r.kernel;
  }
  auto at = [&](double q) { return rows[static_cast<size_t>(q * double(rows.size() - 1))].ratio; };
  std::printf(
      "processed insns, bpfbox/kernel over %zu cases both accept: min %.2f p10 %.2f median %.2f "
      "p90 %.2f max %.2f; equal %zu, bpfbox more %d, fewer %d; total %llu vs %llu\n",
      rows.size(), rows.front().ratio, at(0.1), at(0.5), at(0.9), rows.back().ratio,
      rows.size() - above - below, above, below, static_cast<unsigned long long>(sum_b),
      static_cast<unsigned long long>(sum_k));
  for (size_t i = rows.size() > 5 ? rows.size() - 5 : 0; i < rows.size(); ++i)
    std::printf("  %-40s bpfbox %u kernel %u (%.2fx)\n", rows[i].name.c_str(), rows[i].bpfbox,
                rows[i].kernel, rows[i].ratio);
  for (const Row& r : rows)
    EXPECT_TRUE(r.ratio <= kMaxRatio || r.bpfbox <= r.kernel + kSlack)
        << r.name << ": bpfbox processed " << r.bpfbox << " insns, the kernel " << r.kernel;
}

}  // namespace
}  // namespace bpfbox::corpus
