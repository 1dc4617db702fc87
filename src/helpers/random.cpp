// bpf_get_prandom_u32: a fast non-cryptographic generator, one state per thread as the kernel keeps
// one per CPU, seeded from the system's entropy so runs differ.
#include <random>

#include "helpers/core.hpp"
#include "helpers/protos.hpp"

namespace bpfbox::helpers {
namespace {

// xorshift64*: tiny state, good enough statistics for sampling decisions, never zero.
struct Prandom {
  uint64_t state;
  Prandom() {
    std::random_device rd;
    state = (static_cast<uint64_t>(rd()) << 32 | rd()) | 1;
  }
  uint32_t next() {
    state ^= state >> 12;
    state ^= state << 25;
    state ^= state >> 27;
    return static_cast<uint32_t>((state * 0x2545F4914F6CDD1DULL) >> 32);
  }
};

uint64_t get_prandom_u32(uint64_t, uint64_t, uint64_t, uint64_t, uint64_t, vm::RunContext*) {
  thread_local Prandom rng;
  return rng.next();
}

}  // namespace

const HelperProto kGetPrandomU32Proto{
    .func_id = BPF_FUNC_get_prandom_u32, .name = "bpf_get_prandom_u32", .fn = get_prandom_u32};

void register_random(vm::HelperTable& table) {
  table.set(BPF_FUNC_get_prandom_u32, "bpf_get_prandom_u32", get_prandom_u32);
}

}  // namespace bpfbox::helpers
