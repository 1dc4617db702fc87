#include "vm/llvm/tiered.hpp"

#include <atomic>
#include <cerrno>
#include <mutex>
#include <thread>
#include <vector>

#include "vm/llvm/llvm_tier.hpp"

namespace bpfbox::vm::llvm_tier {
namespace {

// The entry of another executable: run() would reset the per-run counters, which a tail call
// into this wrapper must keep running.
struct EntryOf : Executable {
  static Entry of(const Executable& e) { return e.*(&EntryOf::entry_); }
};

class TieredExecutable final : public Executable {
 public:
  TieredExecutable(std::unique_ptr<Executable> baseline, std::span<const struct bpf_insn> prog,
                   const HelperTable& helpers, const ExecOptions& opts, const TierUp& tier_up)
      : baseline_(std::move(baseline)),
        prog_(prog.begin(), prog.end()),
        helpers_(helpers),
        facts_(opts.facts.begin(), opts.facts.end()),
        opts_(with_facts(opts, facts_)),
        tier_up_(tier_up),
        current_(baseline_.get()) {
    entry_ = &enter;
    set_run_mode(helpers, opts);
  }

  ~TieredExecutable() override { wait(); }

  const char* engine_name() const override {
    return current_.load(std::memory_order_acquire)->engine_name();
  }

  TierState state(bool wait_first) const {
    if (wait_first) wait();
    TierState s;
    s.optimized = current_.load(std::memory_order_acquire) != baseline_.get();
    s.gave_up = gave_up_.load(std::memory_order_acquire);
    s.baseline_runs = runs_.load(std::memory_order_relaxed);
    return s;
  }

 private:
  // The hot path: one acquire load of the current code and, while on the baseline, a relaxed
  // count (a plain load and store: no locked instruction; an approximate count is enough).
  static uint64_t enter(const Executable* self, RunContext* rc, uint64_t r1, uint64_t r2) {
    const auto* t = static_cast<const TieredExecutable*>(self);
    const Executable* cur = t->current_.load(std::memory_order_acquire);
    if (cur == t->baseline_.get() && !t->started_.load(std::memory_order_relaxed)) {
      const uint64_t n = t->runs_.load(std::memory_order_relaxed) + 1;
      t->runs_.store(n, std::memory_order_relaxed);
      if (n >= t->tier_up_.after_runs) t->start();
    }
    return EntryOf::of(*cur)(cur, rc, r1, r2);
  }

  void start() const {
    std::lock_guard lock(mu_);
    if (started_.exchange(true)) return;
    worker_ = std::thread([this] {
      auto exe = llvm_tier::compile(prog_, helpers_, opts_, Options{tier_up_.opt_level});
      if (!exe) {
        gave_up_.store(true, std::memory_order_release);
        return;
      }
      optimized_ = std::move(*exe);
      // Runs already inside the baseline finish there; new runs take the optimized code.
      current_.store(optimized_.get(), std::memory_order_release);
    });
  }

  void wait() const {
    std::lock_guard lock(mu_);
    if (worker_.joinable()) worker_.join();
  }

  // The options with the verifier's facts pointing at this wrapper's copy: the background
  // compile runs after the caller's vectors may be gone.
  static ExecOptions with_facts(ExecOptions o, std::span<const InsnFacts> facts) {
    o.facts = facts;
    return o;
  }

  std::unique_ptr<Executable> baseline_;
  const std::vector<struct bpf_insn> prog_;
  const HelperTable helpers_;
  const std::vector<InsnFacts> facts_;
  const ExecOptions opts_;
  const TierUp tier_up_;

  mutable std::atomic<const Executable*> current_;
  mutable std::atomic<uint64_t> runs_{0};
  mutable std::atomic<bool> started_{false};
  mutable std::atomic<bool> gave_up_{false};
  mutable std::unique_ptr<Executable> optimized_;  // written once, by the worker
  mutable std::mutex mu_;                          // guards worker_
  mutable std::thread worker_;
};

}  // namespace

Result<std::unique_ptr<Executable>> compile_tiered(std::span<const struct bpf_insn> prog,
                                                   const HelperTable& helpers,
                                                   const ExecOptions& opts, const TierUp& tier_up) {
  auto baseline = vm::compile(EngineKind::Jit, prog, helpers, opts);
  if (!baseline && baseline.status().err() == EOPNOTSUPP)  // no JIT on this host or build
    baseline = vm::compile(EngineKind::Interp, prog, helpers, opts);
  if (!baseline) return baseline.status();
  return std::unique_ptr<Executable>(
      new TieredExecutable(std::move(*baseline), prog, helpers, opts, tier_up));
}

TierState tier_state(const Executable& exe, bool wait) {
  if (const auto* t = dynamic_cast<const TieredExecutable*>(&exe)) return t->state(wait);
  return {};
}

}  // namespace bpfbox::vm::llvm_tier
