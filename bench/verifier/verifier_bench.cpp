// Verification time: bpfbox's verify() against the running kernel's BPF_PROG_LOAD (which is
// mostly its verifier) on the same programs, in the same run. Programs: straight-line code, a
// branchy classifier, a bounded loop, packet parsing with bounds checks, and map lookups.
#include <benchmark/benchmark.h>

#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "bpfbox/maps.hpp"
#include "bpfbox/verifier.hpp"
#include "isa/assembler.hpp"
#include "kernel_bpf.hpp"
#include "kernel_verifier.hpp"

namespace {

using namespace bpfbox;

std::string straight_line() {
  std::string s = "r0 = 0\n";
  for (int i = 0; i < 2000; ++i) s += (i % 3 ? "r0 += 3\n" : "r0 ^= 5\n");
  return s + "exit\n";
}

std::string branchy() {
  std::string s = "r6 = *(u32 *)(r1 +0)\nr0 = 0\n";
  for (int i = 0; i < 200; ++i)
    s += "if r6 == " + std::to_string(i) + " goto +1\nr0 += " + std::to_string(i) + "\n";
  return s + "exit\n";
}

std::string loop() {
  return "r0 = 0\nr1 = 0\nl:\nr0 += r1\nr1 += 1\nif r1 < 1000 goto l\nexit\n";
}

std::string packet_parse() {
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

struct Workload {
  const char* name;
  std::string (*text)();
  bool uses_map;
};
const Workload kWorkloads[] = {{"StraightLine2000", straight_line, false},
                               {"Branchy200", branchy, false},
                               {"Loop1000", loop, false},
                               {"PacketParse64", packet_parse, false},
                               {"MapLookups32", map_lookups, true}};

std::vector<struct bpf_insn> assemble(const Workload& w) {
  auto r = isa::assemble(w.text());
  if (!r) return {};
  return r.value();
}

std::shared_ptr<maps::Map> bench_map() {
  union bpf_attr attr;
  std::memset(&attr, 0, sizeof attr);
  attr.map_type = BPF_MAP_TYPE_HASH;
  attr.key_size = 4;
  attr.value_size = 8;
  attr.max_entries = 16;
  auto m = maps::Map::create(attr);
  return m ? m.value() : nullptr;
}

void BM_Bpfbox(benchmark::State& state, const Workload* w) {
  const auto insns = assemble(*w);
  auto map = bench_map();
  verifier::Options opts;
  opts.load.prog_type = BPF_PROG_TYPE_XDP;
  opts.map_by_fd = [&](int) -> Result<std::shared_ptr<maps::Map>> { return map; };
  uint32_t processed = 0;
  for (auto _ : state) {
    const verifier::VerifyResult r = verifier::verify(insns, opts);
    if (!r.status.is_ok()) {
      state.SkipWithError(("bpfbox refuses it: " + r.status.message()).c_str());
      return;
    }
    processed = r.program->verified_insns;
  }
  state.counters["insns"] = static_cast<double>(insns.size());
  state.counters["processed"] = processed;
}

void BM_Kernel(benchmark::State& state, const Workload* w) {
  if (const auto& why = testsupport::kernel_bpf_unavailable()) {
    state.SkipWithError(why->c_str());
    return;
  }
  auto insns = assemble(*w);
  int err = 0;
  testsupport::KernelMap map = testsupport::kernel_map_create(BPF_MAP_TYPE_HASH, 4, 8, 16, 0, &err);
  for (auto& in : insns)
    if (in.code == (BPF_LD | BPF_IMM | BPF_DW) && in.src_reg == BPF_PSEUDO_MAP_FD)
      in.imm = map.fd();
  testsupport::KernelLoad load;
  load.prog_type = BPF_PROG_TYPE_XDP;
  load.insns = insns;
  load.log_level = 0;
  load.log_size = 0;
  uint32_t processed = 0;
  for (auto _ : state) {
    const testsupport::KernelVerdict v = testsupport::kernel_verify(load);
    if (v.err) {
      state.SkipWithError(("the kernel refuses it: errno " + std::to_string(v.err)).c_str());
      return;
    }
    processed = v.verified_insns;
  }
  state.counters["insns"] = static_cast<double>(insns.size());
  state.counters["processed"] = processed;
}

const bool kRegistered = [] {
  for (const Workload& w : kWorkloads) {
    benchmark::RegisterBenchmark((std::string("BM_Verify/") + w.name + "/bpfbox").c_str(),
                                 BM_Bpfbox, &w);
    benchmark::RegisterBenchmark((std::string("BM_Verify/") + w.name + "/kernel").c_str(),
                                 BM_Kernel, &w);
  }
  return true;
}();

}  // namespace

BENCHMARK_MAIN();
