// Verification time: bpfbox's verify() against the running kernel's BPF_PROG_LOAD on the same
// programs, in the same run. Workloads: every corpus case both verifiers accept (verified one after
// the other), a realistic packet parser (Ethernet, VLAN, IPv4 with options, TCP/UDP, with a bounds
// check per header), a bounded loop of 300 iterations over the packet and a map value, a program
// of six subprograms passing stack and map value pointers down, and synthetic shapes (straight
// line, a compare chain, a 1000-iteration loop, 64 packet checks, 32 map lookups).
//
// The kernel's load also allocates and JIT-compiles the program, so besides its wall/CPU time the
// table shows the time its verifier reports itself (log_level BPF_LOG_STATS: "verification time N
// usec"), and the ratio against both. After the benchmarks, a table: workload, instructions,
// processed instructions on each side, times and ratios.
#include <benchmark/benchmark.h>

#include <cstdio>
#include <cstring>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "bpfbox/maps.hpp"
#include "bpfbox/verifier.hpp"
#include "corpus.hpp"
#include "isa/assembler.hpp"
#include "kernel_bpf.hpp"
#include "kernel_verifier.hpp"

namespace {

using namespace bpfbox;

constexpr uint32_t kLogStats = 4;  // BPF_LOG_STATS (the kernel's include/linux/bpf_verifier.h)

// ---------------------------------------------------------------------------------------------
// Programs. map[fd:0] is a HASH (key 4, value 64, 16 entries) in the hand-written ones.

std::string straight_line() {
  std::string s = "r0 = 0\n";
  for (int i = 0; i < 2000; ++i) s += (i % 3 ? "r0 += 3\n" : "r0 ^= 5\n");
  return s + "exit\n";
}

// 200 independent branches, each adding to r0: the kernel prunes at every join (r0 is never
// precise); bpfbox, comparing every live scalar (docs/verifier-differences.md), explores 2^200
// paths and refuses it with E2BIG, which the table shows as "refused".
std::string branchy() {
  std::string s = "r6 = *(u32 *)(r1 +0)\nr0 = 0\n";
  for (int i = 0; i < 200; ++i)
    s += "if r6 == " + std::to_string(i) + " goto +1\nr0 += " + std::to_string(i) + "\n";
  return s + "exit\n";
}

std::string loop() {
  return "r0 = 0\nr1 = 0\nl:\nr0 += r1\nr1 += 1\nif r1 < 1000 goto l\nexit\n";
}

std::string packet_checks() {
  std::string s = "r2 = *(u32 *)(r1 +0)\nr3 = *(u32 *)(r1 +4)\nr0 = 0\n";
  for (int i = 0; i < 64; ++i) {
    const int k = 4 + (i % 16) * 4;
    s += "r4 = r2\nr4 += " + std::to_string(k) + "\nif r4 > r3 goto +2\nr5 = *(u32 *)(r2 +" +
         std::to_string(k - 4) + ")\nr0 += r5\n";
  }
  return s + "r0 = 2\nexit\n";
}

std::string map_lookups() {
  std::string s = "r6 = 0\n";
  for (int i = 0; i < 32; ++i) {
    s += "r1 = " + std::to_string(i % 4) +
         "\n*(u32 *)(r10 -4) = r1\nr2 = r10\nr2 += -4\nr1 = map[fd:0]\n"
         "call bpf_map_lookup_elem\nif r0 == 0 goto +2\nr1 = *(u64 *)(r0 +0)\nr6 += r1\n";
  }
  return s + "r0 = r6\nexit\n";
}

// An XDP parser as written in C and compiled: Ethernet, up to two VLAN tags, IPv4 (variable header
// length from ihl, options skipped), IPv6, then TCP or UDP ports and flags; a per-protocol counter
// in a map. Each header is bounds-checked before it is read, through a cursor that moves by a
// variable amount (the IPv4 header length).
std::string packet_parser() {
  return R"(
r6 = r1
r2 = *(u32 *)(r6 +0)
r3 = *(u32 *)(r6 +4)
r4 = r2
r4 += 14
if r4 > r3 goto drop
r5 = *(u16 *)(r2 +12)
r7 = r4
if r5 == 0x81 goto vlan
if r5 == 0xa888 goto vlan
goto l3
vlan:
r4 = r7
r4 += 4
if r4 > r3 goto drop
r5 = *(u16 *)(r7 +2)
r7 = r4
if r5 != 0x81 goto l3
r4 = r7
r4 += 4
if r4 > r3 goto drop
r5 = *(u16 *)(r7 +2)
r7 = r4
l3:
if r5 == 0x8 goto ipv4
if r5 == 0xdd86 goto ipv6
goto pass
ipv4:
r4 = r7
r4 += 20
if r4 > r3 goto drop
r1 = *(u8 *)(r7 +0)
r1 &= 15
if r1 < 5 goto drop
r1 <<= 2
r8 = *(u8 *)(r7 +9)
r0 = *(u32 *)(r7 +12)
r0 = *(u32 *)(r7 +16)
r0 = *(u16 *)(r7 +6)
r0 &= 0xff3f
if r0 != 0 goto pass
r7 += r1
goto l4
ipv6:
r4 = r7
r4 += 40
if r4 > r3 goto drop
r8 = *(u8 *)(r7 +6)
r0 = *(u64 *)(r7 +8)
r0 = *(u64 *)(r7 +16)
r0 = *(u64 *)(r7 +24)
r0 = *(u64 *)(r7 +32)
r7 = r4
l4:
if r8 == 6 goto tcp
if r8 == 17 goto udp
if r8 == 1 goto icmp
goto count
tcp:
r4 = r7
r4 += 20
if r4 > r3 goto drop
r0 = *(u16 *)(r7 +0)
r1 = *(u16 *)(r7 +2)
r0 = *(u8 *)(r7 +13)
r0 &= 0x12
if r0 == 0x2 goto count
r0 = *(u8 *)(r7 +12)
r0 >>= 4
if r0 < 5 goto drop
goto count
udp:
r4 = r7
r4 += 8
if r4 > r3 goto drop
r0 = *(u16 *)(r7 +0)
r1 = *(u16 *)(r7 +2)
r0 = *(u16 *)(r7 +4)
if r1 != 0x3500 goto count
r4 = r7
r4 += 20
if r4 > r3 goto count
r0 = *(u16 *)(r7 +10)
goto count
icmp:
r4 = r7
r4 += 8
if r4 > r3 goto drop
r0 = *(u8 *)(r7 +0)
count:
*(u32 *)(r10 -4) = r8
r2 = r10
r2 += -4
r1 = map[fd:0]
call bpf_map_lookup_elem
if r0 == 0 goto pass
r1 = 1
lock *(u64 *)(r0 +0) += r1
pass:
r0 = 2
exit
drop:
r0 = 1
exit
)";
}

// 300 iterations: a checksum over the first bytes of the packet (bounds-checked each time) and a
// histogram in a map value indexed by the byte.
std::string bounded_loop() {
  return R"(
r6 = r1
r1 = 0
*(u32 *)(r10 -4) = r1
r2 = r10
r2 += -4
r1 = map[fd:0]
call bpf_map_lookup_elem
if r0 == 0 goto out
r8 = r0
r7 = 0
r9 = 0
head:
r2 = *(u32 *)(r6 +0)
r3 = *(u32 *)(r6 +4)
r2 += r7
r4 = r2
r4 += 1
if r4 > r3 goto out
r1 = *(u8 *)(r2 +0)
r9 += r1
r1 &= 63
r2 = r8
r2 += r1
r1 = *(u8 *)(r2 +0)
r1 += 1
*(u8 *)(r2 +0) = r1
r7 += 1
if r7 < 300 goto head
out:
r0 = 2
exit
)";
}

// Six subprograms: a key built on the caller's stack by one, a lookup in another, a value updated
// through a pointer passed two frames down, packet fields read by a fourth, a checksum fold.
std::string subprograms() {
  return R"(
r6 = r1
r1 = r10
r1 += -16
call make_key
r1 = r10
r1 += -16
call lookup
if r0 == 0 goto out
r7 = r0
r1 = r6
call read_len
r2 = r0
r1 = r7
call bump
r1 = r7
call fold
r1 = r10
r1 += -32
r2 = r0
call scratch
out:
r0 = 2
exit
make_key:
r2 = 3
*(u32 *)(r1 +0) = r2
r2 = 0
*(u32 *)(r1 +4) = r2
*(u64 *)(r1 +8) = r2
r0 = 0
exit
lookup:
r2 = r1
r1 = map[fd:0]
call bpf_map_lookup_elem
exit
read_len:
r2 = *(u32 *)(r1 +0)
r3 = *(u32 *)(r1 +4)
r0 = 0
r4 = r2
r4 += 14
if r4 > r3 goto +2
r0 = *(u16 *)(r2 +12)
r0 &= 31
exit
bump:
r2 &= 31
r1 += r2
call bump2
r0 = 0
exit
bump2:
r2 = *(u64 *)(r1 +0)
r2 += 1
*(u64 *)(r1 +0) = r2
r0 = 0
exit
fold:
r0 = 0
r2 = 0
fold_head:
r3 = r1
r3 += r2
r4 = *(u8 *)(r3 +0)
r0 += r4
r2 += 1
if r2 < 32 goto fold_head
r1 = r0
r1 >>= 16
r0 &= 0xffff
r0 += r1
exit
scratch:
r2 &= 15
r3 = r1
r3 += r2
*(u8 *)(r3 +0) = r2
*(u64 *)(r1 +16) = r2
r0 = *(u8 *)(r3 +0)
exit
)";
}

// ---------------------------------------------------------------------------------------------
// Workloads: one or more programs, each with its maps.

struct Prog {
  std::string name;
  uint32_t prog_type = BPF_PROG_TYPE_XDP;
  std::vector<struct bpf_insn> insns;
  std::vector<corpus::MapSpec> maps;
  uint32_t prog_flags = 0;
};

struct Workload {
  std::string name;
  std::vector<Prog> progs;
  uint64_t insns = 0;
};

Prog hand_written(const char* name, const std::string& text) {
  Prog p;
  p.name = name;
  auto r = isa::assemble(text);
  if (!r) {
    std::fprintf(stderr, "%s does not assemble: %s\n", name, r.status().message().c_str());
    std::exit(1);
  }
  p.insns = r.value();
  p.maps.push_back({BPF_MAP_TYPE_HASH, 4, 64, 16, 0});
  return p;
}

std::shared_ptr<maps::Map> make_map(const corpus::MapSpec& m) {
  union bpf_attr attr;
  std::memset(&attr, 0, sizeof attr);
  attr.map_type = m.type;
  attr.key_size = m.key_size;
  attr.value_size = m.value_size;
  attr.max_entries = m.max_entries;
  attr.map_flags = m.flags;
  auto made = maps::Map::create(attr);
  return made ? made.value() : nullptr;
}

// bpfbox's side of one program, ready to verify again and again.
struct OurProg {
  const Prog* prog;
  std::vector<std::shared_ptr<maps::Map>> maps;
  verifier::Options opts;
};

OurProg prepare_ours(const Prog& p) {
  OurProg o{&p, {}, {}};
  for (const auto& m : p.maps) o.maps.push_back(make_map(m));
  o.opts.load.prog_type = p.prog_type;
  o.opts.load.prog_flags = p.prog_flags;
  return o;
}

verifier::VerifyResult verify_ours(OurProg& o) {
  o.opts.map_by_fd = [&o](int fd) -> Result<std::shared_ptr<maps::Map>> {
    if (fd >= 0 && static_cast<size_t>(fd) < o.maps.size() && o.maps[fd]) return o.maps[fd];
    return Status(EBADF, "not a map");
  };
  return verifier::verify(o.prog->insns, o.opts);
}

// The kernel's side: the program with its map fds in place.
struct KernelProg {
  std::vector<testsupport::KernelMap> maps;
  std::vector<struct bpf_insn> insns;
  testsupport::KernelLoad load;
};

std::unique_ptr<KernelProg> prepare_kernel(const Prog& p) {
  auto k = std::make_unique<KernelProg>();
  for (const auto& m : p.maps) {
    int err = 0;
    k->maps.push_back(testsupport::kernel_map_create(m.type, m.key_size, m.value_size,
                                                     m.max_entries, m.flags, &err));
    if (err) return nullptr;
  }
  k->insns = p.insns;
  for (auto& in : k->insns)
    if (in.code == (BPF_LD | BPF_IMM | BPF_DW) &&
        (in.src_reg == BPF_PSEUDO_MAP_FD || in.src_reg == BPF_PSEUDO_MAP_VALUE) && in.imm >= 0 &&
        static_cast<size_t>(in.imm) < k->maps.size())
      in.imm = k->maps[in.imm].fd();
  k->load.prog_type = p.prog_type;
  k->load.prog_flags = p.prog_flags;
  k->load.insns = k->insns;
  k->load.log_level = 0;
  k->load.log_size = 0;
  return k;
}

// "verification time 123 usec" from a BPF_LOG_STATS log; -1 when absent.
double verification_usec(const std::string& log) {
  const size_t at = log.find("verification time ");
  if (at == std::string::npos) return -1;
  return std::strtod(log.c_str() + at + std::strlen("verification time "), nullptr);
}

std::vector<Workload>& workloads() {
  static std::vector<Workload> w;
  return w;
}

// Every privileged corpus case expected to be accepted that both verifiers accept.
Workload corpus_workload() {
  Workload w{"CorpusAccepted", {}, 0};
  std::vector<corpus::Case> cases;
  try {
    cases = corpus::load_corpus(std::string(BPFBOX_SOURCE_DIR) + "/tests/verifier/corpus/cases");
  } catch (const std::exception& e) {
    std::fprintf(stderr, "corpus: %s\n", e.what());
    return w;
  }
  const bool kernel = !testsupport::kernel_bpf_unavailable();
  for (const corpus::Case& c : cases) {
    if (!c.accept || !c.privileged || c.license != "GPL") continue;
    Prog p;
    p.name = c.name;
    p.prog_type = c.prog_type;
    p.maps = c.maps;
    p.prog_flags = c.prog_flags;
    try {
      p.insns = corpus::assemble_case(c);
    } catch (const std::exception&) {
      continue;
    }
    OurProg o = prepare_ours(p);
    if (!verify_ours(o).status.is_ok()) continue;
    if (kernel) {
      auto k = prepare_kernel(p);
      if (!k || testsupport::kernel_verify(k->load).err) continue;
    }
    w.insns += p.insns.size();
    w.progs.push_back(std::move(p));
  }
  return w;
}

void BM_Bpfbox(benchmark::State& state, const Workload* w) {
  std::vector<OurProg> progs;
  for (const Prog& p : w->progs) progs.push_back(prepare_ours(p));
  uint64_t processed = 0;
  for (auto _ : state) {
    processed = 0;
    for (OurProg& o : progs) {
      const verifier::VerifyResult r = verify_ours(o);
      if (!r.status.is_ok()) {
        state.SkipWithError((o.prog->name + ": bpfbox refuses it: " + r.status.message()).c_str());
        return;
      }
      processed += r.program->verified_insns;
    }
  }
  state.counters["progs"] = static_cast<double>(progs.size());
  state.counters["insns"] = static_cast<double>(w->insns);
  state.counters["processed"] = static_cast<double>(processed);
}

void BM_Kernel(benchmark::State& state, const Workload* w) {
  if (const auto& why = testsupport::kernel_bpf_unavailable()) {
    state.SkipWithError(why->c_str());
    return;
  }
  std::vector<std::unique_ptr<KernelProg>> progs;
  for (const Prog& p : w->progs) {
    progs.push_back(prepare_kernel(p));
    if (!progs.back()) {
      state.SkipWithError((p.name + ": kernel map creation failed").c_str());
      return;
    }
  }
  uint64_t processed = 0;
  for (auto _ : state) {
    processed = 0;
    for (auto& k : progs) {
      const testsupport::KernelVerdict v = testsupport::kernel_verify(k->load);
      if (v.err) {
        state.SkipWithError("the kernel refuses a program");
        return;
      }
      processed += v.verified_insns;
    }
  }
  // The verifier's own time (the stats log costs a little, so not timed above): wall time inside
  // the kernel, so the least of 10 loads, the one least disturbed by other work on the machine.
  double usec = 0;
  for (auto& k : progs) {
    testsupport::KernelLoad stats = k->load;
    stats.log_level = kLogStats;
    stats.log_size = 4096;
    double least = -1;
    for (int i = 0; i < 10; ++i) {
      const double t = verification_usec(testsupport::kernel_verify(stats).log);
      if (t >= 0 && (least < 0 || t < least)) least = t;
    }
    usec += std::max(0.0, least);
  }
  state.counters["progs"] = static_cast<double>(progs.size());
  state.counters["insns"] = static_cast<double>(w->insns);
  state.counters["processed"] = static_cast<double>(processed);
  state.counters["verifier_us"] = usec;
}

// Collects the runs for the table printed at the end.
class TableReporter : public benchmark::ConsoleReporter {
 public:
  struct Row {
    double cpu_ns = -1, real_ns = -1, processed = 0, verifier_us = -1;
    bool error = false;
  };
  std::map<std::string, std::map<std::string, Row>> rows;  // workload -> side -> row

  void ReportRuns(const std::vector<Run>& runs) override {
    ConsoleReporter::ReportRuns(runs);
    for (const Run& run : runs) {
      if (run.run_type != Run::RT_Iteration) continue;
      const std::string name = run.benchmark_name();  // BM_Verify/<workload>/<side>
      const size_t a = name.find('/'), b = name.rfind('/');
      if (a == std::string::npos || b == a) continue;
      Row& row = rows[name.substr(a + 1, b - a - 1)][name.substr(b + 1)];
      row.error = run.error_occurred;
      if (row.error) continue;
      const double to_ns = 1e9 / benchmark::GetTimeUnitMultiplier(run.time_unit);
      row.cpu_ns = run.GetAdjustedCPUTime() * to_ns;
      row.real_ns = run.GetAdjustedRealTime() * to_ns;
      if (auto it = run.counters.find("processed"); it != run.counters.end())
        row.processed = it->second;
      if (auto it = run.counters.find("verifier_us"); it != run.counters.end())
        row.verifier_us = it->second;
    }
  }
};

std::string fmt_us(double ns) {
  char buf[32];
  if (ns < 0) return "-";
  std::snprintf(buf, sizeof buf, "%.1f", ns / 1000);
  return buf;
}

void print_table(const TableReporter& rep) {
  std::printf(
      "\nverification time per workload (CPU time per verification of all its programs, us)\n");
  std::printf("%-18s %6s %7s %10s %10s %9s %10s %11s %11s\n", "workload", "progs", "insns",
              "processed", "bpfbox", "kernel", "kernel-vf", "bpfbox/ker", "bpfbox/kvf");
  for (const Workload& w : workloads()) {
    auto it = rep.rows.find(w.name);
    if (it == rep.rows.end()) continue;
    const auto& sides = it->second;
    const TableReporter::Row none;
    const auto& ours = sides.count("bpfbox") ? sides.at("bpfbox") : none;
    const auto& ker = sides.count("kernel") ? sides.at("kernel") : none;
    char ratio[32] = "-", ratio_vf[32] = "-", processed[32];
    if (ours.cpu_ns > 0 && ker.cpu_ns > 0)
      std::snprintf(ratio, sizeof ratio, "%.2f", ours.cpu_ns / ker.cpu_ns);
    if (ours.cpu_ns > 0 && ker.verifier_us > 0)
      std::snprintf(ratio_vf, sizeof ratio_vf, "%.2f", ours.cpu_ns / (ker.verifier_us * 1000));
    std::snprintf(processed, sizeof processed, "%.0f/%.0f", ours.processed, ker.processed);
    std::printf("%-18s %6zu %7llu %10s %10s %9s %10s %11s %11s\n", w.name.c_str(), w.progs.size(),
                static_cast<unsigned long long>(w.insns), processed,
                ours.error ? "refused" : fmt_us(ours.cpu_ns).c_str(),
                ker.error ? "refused" : fmt_us(ker.cpu_ns).c_str(),
                ker.verifier_us < 0 ? "-" : fmt_us(ker.verifier_us * 1000).c_str(), ratio,
                ratio_vf);
  }
  std::printf(
      "kernel: BPF_PROG_LOAD's CPU time (verifier, allocation, JIT); kernel-vf: what its verifier "
      "reports (BPF_LOG_STATS); processed: bpfbox/kernel processed instructions\n");
}

}  // namespace

int main(int argc, char** argv) {
  auto& w = workloads();
  w.push_back(corpus_workload());
  const std::pair<const char*, std::string (*)()> hand[] = {
      {"PacketParser", packet_parser},   {"BoundedLoop300", bounded_loop},
      {"Subprograms6", subprograms},     {"StraightLine2000", straight_line},
      {"Branchy200", branchy},           {"Loop1000", loop},
      {"PacketChecks64", packet_checks}, {"MapLookups32", map_lookups}};
  for (const auto& [name, text] : hand) {
    Workload one{name, {hand_written(name, text())}, 0};
    one.insns = one.progs[0].insns.size();
    w.push_back(std::move(one));
  }
  for (const Workload& wl : w) {
    benchmark::RegisterBenchmark(("BM_Verify/" + wl.name + "/bpfbox").c_str(), BM_Bpfbox, &wl);
    benchmark::RegisterBenchmark(("BM_Verify/" + wl.name + "/kernel").c_str(), BM_Kernel, &wl);
  }
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  TableReporter reporter;
  benchmark::RunSpecifiedBenchmarks(&reporter);
  print_table(reporter);
  benchmark::Shutdown();
  return 0;
}
