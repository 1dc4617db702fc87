// One benchmark program (programs.cpp) loaded for one engine, run once to check its result, and
// timed: bpfbox's interpreter, JIT and LLVM tier and the kernel through libbpf and bpf()
// (route.hpp picks where the calls go), and the native twin through native_rt.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "bpfbox/status.hpp"

namespace bpfbox::progbench {

enum class Engine : uint8_t { Interp, Jit, Llvm, Kernel, Native };
inline constexpr Engine kEngines[] = {Engine::Interp, Engine::Jit, Engine::Llvm, Engine::Kernel,
                                      Engine::Native};
const char* engine_name(Engine e);

// Fills a program's maps; the same calls reach the BPF maps (bpf_map_update_elem) and the native
// ones. Per-CPU values are given once and stored for every CPU.
class MapFiller {
 public:
  virtual ~MapFiller() = default;
  virtual void update(const char* map, const void* key, const void* value) = 0;
  template <class K, class V>
  void put(const char* map, const K& key, const V& value) {
    update(map, &key, &value);
  }
};

struct ProgSpec {
  const char* unit;  // src/<unit>.bpf.c
  const char* func;  // its BENCH_XDP entry point
  const char* what;  // one line for the table
  std::vector<uint8_t> (*packet)();
  void (*setup)(MapFiller&) = nullptr;
  // An engine with a reported bug on this program ("llvm"): the agreement test leaves that pair
  // out (with a note), the runner still reports the mismatch. Remove it with the fix.
  const char* known_mismatch = nullptr;
};

struct RunOut {
  uint32_t retval = 0;
  std::vector<uint8_t> data;  // the packet after the run (data to data_end)
  bool operator==(const RunOut&) const = default;
};

// Why the kernel cannot be an engine here (bpf() refused...), or empty.
const std::string& kernel_unavailable();

class Loaded {
 public:
  // A fresh load: new maps, filled by spec.setup. The BPF engines load
  // BENCH_PROGS_OBJ_DIR/<unit>.bpf.o with libbpf.
  static Result<std::unique_ptr<Loaded>> load(const ProgSpec& spec, Engine engine);
  virtual ~Loaded() = default;

  // One run on `pkt`: BPF_PROG_TEST_RUN with repeat 1, or one native call.
  virtual Result<RunOut> run_once(const std::vector<uint8_t>& pkt) = 0;
  // BPF_PROG_TEST_RUN's `duration` (ns per run, the engine's own measure) of the fastest of
  // `batches` calls of ~2 ms each. The native twin has none (ENOTSUP).
  virtual Result<double> test_run_ns(const std::vector<uint8_t>& pkt, int batches) = 0;
  // The engine called directly in a loop, ns per run, the fastest of `batches` batches of
  // ~2 ms (bpfbox engines and native; ENOTSUP for the kernel).
  virtual Result<double> call_ns(const std::vector<uint8_t>& pkt, int batches) = 0;
  // Instructions after the verifier's rewrite (0 for native).
  virtual uint32_t xlated_insns() const = 0;
  // The best of `reps` vm::compile() of the xlated program by `engine` (JIT or LLVM), in µs;
  // ENOTSUP but for bpfbox engines.
  virtual Result<double> compile_us(Engine engine, int reps) const;
};

// "retval 2 and the same 74 bytes" or where two runs differ, for messages.
std::string describe_difference(const RunOut& want, const RunOut& got);

}  // namespace bpfbox::progbench
