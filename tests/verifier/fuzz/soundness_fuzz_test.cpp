// Soundness fuzzing: every biased random program (biased_program.hpp) that bpfbox's verifier
// accepts runs in the checked interpreter through its type's TEST_RUN on random packets, random
// map contents and random bpf_get_prandom_u32() values, with exactly the packet, the context, the
// map values and the ring buffer as the memory it may touch: a fault means the verifier accepted
// an unsafe program, or that one of its range facts (Options::range_facts, checked before each
// instruction that has one: range_checks.hpp) was wrong. Each program also goes to the running
// kernel's verifier and the verdicts are counted per category (both accept; both reject with the
// same errno or another; only one accepts), the disagreements grouped by the refusing side's
// message (digits folded). A disagreement is reported, not failed: the corpus pins verdicts; the
// deliberate ones are listed in docs/verifier-differences.md.
//
// BPFBOX_FUZZ_ITERATIONS=N programs (default 150), BPFBOX_FUZZ_SEED=S the first seed (default 1),
// BPFBOX_FUZZ_INPUTS=K runs per accepted program (default 8), BPFBOX_FUZZ_VERBOSE=1 prints one
// program per disagreement cause, BPFBOX_FUZZ_REJECTS=1 counts bpfbox's refusals by message (to
// tune the generator's biases), BPFBOX_FUZZ_PRINT=1 prints every program.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "biased_program.hpp"
#include "bpfbox/maps.hpp"
#include "bpfbox/prog_type.hpp"
#include "bpfbox/verifier.hpp"
#include "isa/assembler.hpp"
#include "kernel_bpf.hpp"
#include "kernel_verifier.hpp"
#include "range_checks.hpp"

namespace bpfbox::fuzz {
namespace {

uint64_t env_u64(const char* name, uint64_t fallback) {
  const char* v = std::getenv(name);
  return v ? std::strtoull(v, nullptr, 0) : fallback;
}

const char* type_name(uint32_t t) {
  return t == BPF_PROG_TYPE_XDP         ? "xdp"
         : t == BPF_PROG_TYPE_SCHED_CLS ? "sched_cls"
                                        : "socket_filter";
}

uint64_t since(std::chrono::steady_clock::time_point t0) {
  return static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - t0)
          .count());
}

// The last log line that is not a statistics line: the verdict's message.
std::string verdict_line(const std::string& log) {
  std::istringstream in(log);
  std::string line, last;
  while (std::getline(in, line))
    if (!line.empty() && line.rfind("processed ", 0) != 0 &&
        line.rfind("verification time", 0) != 0 && line.rfind("stack depth", 0) != 0)
      last = line;
  return last;
}

// Digits folded to N, so "R1 min value is outside ... off=12" groups with off=40.
std::string fold(const std::string& s) {
  std::string out;
  for (char c : s) {
    const bool digit = c >= '0' && c <= '9';
    if (digit && !out.empty() && out.back() == 'N') continue;
    out += digit ? 'N' : c;
  }
  return out.substr(0, 100);
}

std::string tail(const std::string& log, size_t lines = 12) {
  size_t pos = log.size();
  for (size_t i = 0; i <= lines && pos != std::string::npos && pos > 0; ++i)
    pos = log.rfind('\n', pos - 1);
  return pos == std::string::npos ? log : log.substr(pos + 1);
}

// The programs' maps, on both sides.
struct FuzzMaps {
  std::vector<std::shared_ptr<maps::Map>> ours;
  std::vector<testsupport::KernelMap> kernel;
  bool kernel_ok = false;

  explicit FuzzMaps(bool with_kernel) {
    for (const FuzzMap& m : kMaps) {
      union bpf_attr attr;
      std::memset(&attr, 0, sizeof attr);
      attr.map_type = m.type;
      attr.key_size = m.key_size;
      attr.value_size = m.value_size;
      attr.max_entries = m.max_entries;
      auto made = maps::Map::create(attr);
      if (made) ours.push_back(made.value());
    }
    if (!with_kernel) return;
    kernel_ok = true;
    for (const FuzzMap& m : kMaps) {
      int err = 0;
      kernel.push_back(
          testsupport::kernel_map_create(m.type, m.key_size, m.value_size, m.max_entries, 0, &err));
      if (kernel.back().fd() < 0) kernel_ok = false;
    }
  }

  // New random contents: every array value; a random subset of the hash's keys. The ring is
  // emptied (as a consumer would) so reservations succeed.
  void randomize(std::mt19937_64& rng) {
    std::vector<uint8_t> value(64);
    for (uint32_t i = 0; i < kMaps[kArrayMap].max_entries; ++i) {
      for (auto& b : value) b = static_cast<uint8_t>(rng());
      (void)ours[kArrayMap]->update(&i, value.data());
    }
    for (uint32_t k = 0; k < kMaps[kHashMap].max_entries; ++k) {
      for (auto& b : value) b = static_cast<uint8_t>(rng());
      if (rng() % 4)
        (void)ours[kHashMap]->update(&k, value.data());
      else
        (void)ours[kHashMap]->delete_elem(&k);
    }
    auto* ring = ours[kRingbufMap]->arena_base();
    auto* consumer = reinterpret_cast<std::atomic<uint64_t>*>(ring + 4096);
    auto* producer = reinterpret_cast<std::atomic<uint64_t>*>(ring + 2 * 4096);
    consumer->store(producer->load());
  }

  // The memory a run may touch besides its stack, context and packet: each array and hash value
  // as it is now, and the ring's data (mapped twice in a row, as the producers see it).
  std::vector<vm::MemRegion> regions() {
    std::vector<vm::MemRegion> r;
    for (int m : {kArrayMap, kHashMap})
      for (uint32_t k = 0; k < kMaps[m].max_entries; ++k)
        if (void* v = ours[m]->prog_lookup(&k, 0))
          r.push_back({reinterpret_cast<uint64_t>(v), kMaps[m].value_size, vm::kReadWrite,
                       m == kArrayMap ? "array value" : "hash value"});
    // Where the producers' view of the data starts: from a record reserved at a known position.
    maps::Map* ring = ours[kRingbufMap].get();
    auto* consumer = reinterpret_cast<std::atomic<uint64_t>*>(ring->arena_base() + 4096);
    auto* producer = reinterpret_cast<std::atomic<uint64_t>*>(ring->arena_base() + 2 * 4096);
    const uint64_t pos = producer->load();
    if (void* sample = maps::ringbuf::reserve(ring, 8, 0)) {
      maps::ringbuf::discard(sample, 0);
      consumer->store(producer->load());
      const uint64_t data = reinterpret_cast<uint64_t>(sample) - BPF_RINGBUF_HDR_SZ -
                            (pos & (kMaps[kRingbufMap].max_entries - 1));
      r.push_back({data, 2ull * kMaps[kRingbufMap].max_entries, vm::kReadWrite, "ringbuf"});
    }
    return r;
  }
};

struct Agreement {
  uint64_t checked = 0, both_accept = 0, both_reject_same = 0, both_reject_other = 0,
           bpfbox_only = 0, kernel_only = 0;
  struct Cause {
    uint64_t count = 0;
    uint64_t first_seed = 0;
    std::string program;
  };
  std::map<std::string, Cause> causes;
};

TEST(VerifierSoundnessFuzz, AcceptedProgramsNeverFaultInTheCheckedInterpreter) {
  const uint64_t iterations = env_u64("BPFBOX_FUZZ_ITERATIONS", 150);
  const uint64_t first_seed = env_u64("BPFBOX_FUZZ_SEED", 1);
  const uint64_t inputs = env_u64("BPFBOX_FUZZ_INPUTS", 8);
  const bool verbose = env_u64("BPFBOX_FUZZ_VERBOSE", 0) != 0;
  const bool show_rejects = env_u64("BPFBOX_FUZZ_REJECTS", 0) != 0;
  const bool print = env_u64("BPFBOX_FUZZ_PRINT", 0) != 0;
  std::map<std::string, Agreement::Cause> rejects;
  FuzzMaps maps(!testsupport::kernel_bpf_unavailable());
  ASSERT_EQ(maps.ours.size(), 3u);
  std::map<uint32_t, std::pair<uint64_t, uint64_t>> per_type;  // programs, accepted
  uint64_t accepted = 0, runs = 0, range_checks = 0;
  std::vector<std::string> violations;
  Agreement agree;
  std::mt19937_64 rng(first_seed);
  uint64_t ours_ns = 0, kernel_ns = 0;  // wall time in verify() and in BPF_PROG_LOAD

  for (uint64_t seed = first_seed; seed < first_seed + iterations; ++seed) {
    const FuzzProgram fp = biased_program(seed);
    if (print)
      std::printf("seed %llu (%s):\n%s\n", static_cast<unsigned long long>(seed),
                  type_name(fp.prog_type), fp.text.c_str());
    auto prog = isa::assemble(fp.text);
    ASSERT_TRUE(prog.is_ok()) << prog.status().message() << "\n" << fp.text;
    verifier::Options opts;
    opts.load.prog_type = fp.prog_type;
    opts.map_by_fd = [&](int fd) -> Result<std::shared_ptr<maps::Map>> {
      if (fd >= 0 && fd < 3) return maps.ours[fd];
      return Status(EBADF, "not a map");
    };
    auto t0 = std::chrono::steady_clock::now();
    const verifier::VerifyResult r = verifier::verify(prog.value(), opts);
    ours_ns += since(t0);
    if (print) {
      verifier::Options stats = opts;
      stats.log_level = 4;  // BPF_LOG_STATS
      stats.log_size = 1 << 16;
      std::printf("bpfbox: %s", verifier::verify(prog.value(), stats).log.c_str());
    }
    auto& tc = per_type[fp.prog_type];
    ++tc.first;
    if (r.status.is_ok()) ++tc.second;

    if (maps.kernel_ok) {
      std::vector<struct bpf_insn> insns = prog.value();
      for (auto& in : insns)
        if (in.code == (BPF_LD | BPF_IMM | BPF_DW) && in.src_reg == BPF_PSEUDO_MAP_FD)
          in.imm = maps.kernel[in.imm].fd();
      testsupport::KernelLoad load;
      load.prog_type = fp.prog_type;
      load.insns = insns;
      load.log_level = 0;
      load.log_size = 0;
      t0 = std::chrono::steady_clock::now();
      const int kerr = testsupport::kernel_verify(load).err;
      kernel_ns += since(t0);
      if (print) {
        testsupport::KernelLoad stats = load;
        stats.log_level = 4;
        stats.log_size = 1 << 16;
        std::printf("kernel: %s", testsupport::kernel_verify(stats).log.c_str());
      }
      const int err = r.status.err();
      ++agree.checked;
      std::string cause;
      if (kerr == 0 && err == 0) {
        ++agree.both_accept;
      } else if (kerr == err) {
        ++agree.both_reject_same;
      } else {
        load.log_level = 1;
        load.log_size = 1 << 20;
        const std::string kfull = testsupport::kernel_verify(load).log;
        verifier::Options logged = opts;
        logged.log_level = 1;
        logged.log_size = 1 << 20;
        const std::string bfull = verifier::verify(prog.value(), logged).log;
        const std::string klog = verdict_line(kfull), blog = verdict_line(bfull);
        if (kerr && err) {
          ++agree.both_reject_other;
          cause = "errno " + std::to_string(err) + " vs kernel " + std::to_string(kerr) + ": " +
                  fold(blog) + " | kernel: " + fold(klog);
        } else if (err == 0) {
          ++agree.bpfbox_only;
          cause = "bpfbox-only accept; kernel: " + fold(klog);
        } else {
          ++agree.kernel_only;
          cause = "kernel-only accept; bpfbox: " + fold(blog);
        }
        // Programs with ops whose results bpfbox bounds and the kernel does not.
        if (!fp.kernel_exact) cause = "[tracked div/mod/bswap/shift] " + cause;
        auto& c = agree.causes[cause];
        if (c.count++ == 0) {
          c.first_seed = seed;
          c.program = std::string(type_name(fp.prog_type)) + "\n" + fp.text + "--- bpfbox log:\n" +
                      tail(bfull) + "--- kernel log:\n" + tail(kfull);
        }
      }
    }

    if (!r.status.is_ok()) {
      if (show_rejects) {
        verifier::Options logged = opts;
        logged.log_level = 1;
        logged.log_size = 1 << 20;
        auto& c = rejects[fold(verdict_line(verifier::verify(prog.value(), logged).log))];
        if (c.count++ == 0) {
          c.first_seed = seed;
          c.program = fp.text;
        }
      }
      continue;
    }
    ++accepted;
    // The range facts the LLVM tier would get, checked on every run (range_checks.hpp).
    verifier::Options with_ranges = opts;
    with_ranges.range_facts = true;
    const verifier::VerifyResult rf = verifier::verify(prog.value(), with_ranges);
    ASSERT_TRUE(rf.status.is_ok()) << rf.status.message() << "\n" << fp.text;
    const RangeChecked checked = with_range_checks(rf.program->xlated, rf.program->facts);
    range_checks += checked.checks;
    vm::ExecOptions exec;
    exec.checked = true;
    exec.insn_budget = 1 << 22;
    auto exe = vm::compile(vm::EngineKind::Interp, checked.insns, rf.program->helpers, exec);
    ASSERT_TRUE(exe.is_ok()) << exe.status().message() << "\n" << fp.text;
    const ProgTypeOps* ops = prog_type_ops(fp.prog_type);
    ASSERT_NE(ops, nullptr);
    for (uint64_t input = 0; input < inputs; ++input) {
      std::vector<uint8_t> packet(std::uniform_int_distribution<int>(14, 160)(rng));
      for (auto& b : packet) b = static_cast<uint8_t>(rng());
      maps.randomize(rng);
      const std::vector<vm::MemRegion> regions = maps.regions();
      TestRunArgs args;
      args.data_in = packet;
      args.checked_regions = regions;
      args.checked_exact_packet = true;
      TestRunResult result;
      const Status st = ops->test_run({exe.value().get(), fp.prog_type, 0}, args, result);
      ++runs;
      if (!st.is_ok()) {
        violations.push_back("seed " + std::to_string(seed) + " (" + type_name(fp.prog_type) +
                             "), " + std::to_string(packet.size()) +
                             "-byte packet: " + st.message() + "\n" + fp.text);
        break;
      }
    }
  }

  std::printf(
      "fuzz: %llu programs (seeds %llu..), bpfbox accepted %llu, %llu checked runs, "
      "%llu range-fact bounds checked, soundness violations %zu\n",
      static_cast<unsigned long long>(iterations), static_cast<unsigned long long>(first_seed),
      static_cast<unsigned long long>(accepted), static_cast<unsigned long long>(runs),
      static_cast<unsigned long long>(range_checks), violations.size());
  for (const auto& [t, c] : per_type)
    std::printf("  %s: %llu programs, %llu accepted\n", type_name(t),
                static_cast<unsigned long long>(c.first),
                static_cast<unsigned long long>(c.second));
  std::printf("  verification wall time: bpfbox %.1f ms, kernel BPF_PROG_LOAD %.1f ms\n",
              ours_ns / 1e6, kernel_ns / 1e6);
  if (agree.checked) {
    std::printf(
        "kernel: %llu checked; both accept %llu, both reject (same errno) %llu, both "
        "reject (other errno) %llu, bpfbox-only accept %llu, kernel-only accept %llu\n",
        static_cast<unsigned long long>(agree.checked),
        static_cast<unsigned long long>(agree.both_accept),
        static_cast<unsigned long long>(agree.both_reject_same),
        static_cast<unsigned long long>(agree.both_reject_other),
        static_cast<unsigned long long>(agree.bpfbox_only),
        static_cast<unsigned long long>(agree.kernel_only));
    for (const auto& [cause, c] : agree.causes) {
      std::printf("  %5llu  %s  (seed %llu)\n", static_cast<unsigned long long>(c.count),
                  cause.c_str(), static_cast<unsigned long long>(c.first_seed));
      if (verbose) std::printf("%s\n", c.program.c_str());
    }
  } else {
    std::printf("kernel: not checked (%s)\n", testsupport::kernel_bpf_unavailable()
                                                  ? testsupport::kernel_bpf_unavailable()->c_str()
                                                  : "map creation failed");
  }
  for (const auto& [why, c] : rejects) {
    std::printf("  rejected %5llu  %s  (seed %llu)\n", static_cast<unsigned long long>(c.count),
                why.c_str(), static_cast<unsigned long long>(c.first_seed));
    if (verbose) std::printf("%s\n", c.program.c_str());
  }
  for (size_t i = 0; i < violations.size() && i < 3; ++i)
    std::printf("violation: %s\n", violations[i].c_str());
  EXPECT_TRUE(violations.empty()) << violations.size() << " violations, first:\n"
                                  << (violations.empty() ? "" : violations.front());
  EXPECT_GT(accepted, 0u);
}

}  // namespace
}  // namespace bpfbox::fuzz
