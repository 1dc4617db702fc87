#include "progs/test_run.hpp"

#include <algorithm>
#include <cstring>
#include <ctime>
#include <optional>

#include "bpfbox/maps.hpp"

namespace bpfbox::progs {
namespace {

uint64_t now_ns() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return uint64_t(ts.tv_sec) * 1'000'000'000u + uint64_t(ts.tv_nsec);
}

}  // namespace

Status ctx_init(const TestRunArgs& args, void* ctx, uint32_t ctx_max, bool* present) {
  *present = !args.ctx_in.empty() || args.ctx_size_out > 0;
  std::memset(ctx, 0, ctx_max);
  if (args.ctx_in.empty()) return Status::ok();
  if (args.ctx_in.size() > kPageSize) return Status(E2BIG, "ctx_size_in is larger than a page");
  if (args.ctx_in.size() > ctx_max &&
      std::any_of(args.ctx_in.begin() + ctx_max, args.ctx_in.end(), [](uint8_t b) { return b; }))
    return Status(E2BIG, "ctx_in has non-zero bytes beyond the context structure");
  std::memcpy(ctx, args.ctx_in.data(), std::min<size_t>(ctx_max, args.ctx_in.size()));
  return Status::ok();
}

Status finish_data(const TestRunArgs& args, const uint8_t* data, uint32_t size,
                   TestRunResult& result) {
  uint32_t copy = size;
  bool short_buffer = false;
  if (args.data_size_out && copy > args.data_size_out) {
    copy = args.data_size_out;
    short_buffer = true;
  }
  result.data_out.assign(data, data + copy);
  result.data_size_out = size;
  if (short_buffer)
    return Status(ENOSPC, "data_out holds " + std::to_string(args.data_size_out) +
                              " bytes, the packet has " + std::to_string(size));
  return Status::ok();
}

Status finish_ctx(const TestRunArgs& args, const void* ctx, uint32_t size, bool present,
                  TestRunResult& result) {
  if (!present || args.ctx_size_out == 0) return Status::ok();
  const uint32_t copy = std::min(size, args.ctx_size_out);
  const auto* p = static_cast<const uint8_t*>(ctx);
  result.ctx_out.assign(p, p + copy);
  result.ctx_size_out = size;
  if (copy < size)
    return Status(ENOSPC, "ctx_out holds " + std::to_string(args.ctx_size_out) +
                              " bytes, the context has " + std::to_string(size));
  return Status::ok();
}

Status run_repeat(const TestRunProgram& prog, const RunInput& in, uint32_t repeat,
                  TestRunResult& result) {
  if (!prog.exe) return Status(EINVAL, "no program to run");
  if (repeat == 0) repeat = 1;
  std::optional<maps::RunSlot> slot;  // the run's CPU: per-CPU maps index by it
  slot.emplace();
  vm::RunContext rc;
  rc.user = in.user;
  rc.cpu = slot->cpu();
  rc.pkt_data = in.ld_abs_data;
  rc.pkt_len = in.ld_abs_len;
  rc.add_region(in.ctx, in.ctx_size, vm::kReadWrite, "ctx");
  if (!in.buffer.empty())
    rc.add_region(in.buffer.data(), in.buffer.size(), vm::kReadWrite, "packet");
  for (const vm::MemRegion& r : in.regions)
    if (!rc.add_region(reinterpret_cast<const void*>(r.base), r.size, r.access, r.name))
      return Status(E2BIG, "more checked regions than a run context holds");
  const uint64_t r1 = reinterpret_cast<uint64_t>(in.ctx);
  uint64_t r0 = 0;
  // As bpf_test_timer, which leaves its RCU section (and may migrate) between runs when the
  // scheduler asks: the slot is left and taken again once a slice has passed, so a long repeat
  // does not hold back the reclamation of what others delete. The clock is read every `stride`
  // runs (doubled while that is far under a slice, so short programs pay almost nothing); the
  // time between slots is not counted in the duration.
  uint64_t spent = 0, start = now_ns(), last = start;
  uint64_t stride = 1, next_check = 1;
  for (uint32_t i = 0; i < repeat; i++) {
    rc.tail_call_cnt = 0;
    r0 = prog.exe->run(rc, r1);
    if (rc.fault.kind != vm::FaultKind::None)
      return Status(rc.fault.err ? rc.fault.err : EFAULT, vm::describe(rc.fault, &rc));
    if (i + 1 == next_check && i + 1 < repeat) {
      const uint64_t t = now_ns();
      if (t - last < kRunSliceNs / 16 && stride < (1u << 16)) stride *= 2;
      last = t;
      if (t - start >= kRunSliceNs) {
        spent += t - start;
        slot.reset();
        slot.emplace();
        rc.cpu = slot->cpu();
        start = last = now_ns();
      }
      next_check = i + 1 + stride;
    }
  }
  spent += now_ns() - start;
  const uint64_t per_run = spent / repeat;
  result.retval = static_cast<uint32_t>(r0);
  result.duration = per_run > UINT32_MAX ? UINT32_MAX : static_cast<uint32_t>(per_run);
  return Status::ok();
}

}  // namespace bpfbox::progs
