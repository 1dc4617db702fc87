// The perf_event_attr of a BPF output event as libbpf's perf_buffer opens it (one raw sample per
// bpf_perf_event_output, a wakeup per sample), for tests that open one through the kernel, the
// shim or sys::PerfEvents.
#pragma once

#include <linux/perf_event.h>

namespace bpfbox::testsupport {

inline perf_event_attr bpf_output_event_attr(bool disabled = false) {
  perf_event_attr attr{};
  attr.size = sizeof attr;
  attr.type = PERF_TYPE_SOFTWARE;
  attr.config = PERF_COUNT_SW_BPF_OUTPUT;
  attr.sample_type = PERF_SAMPLE_RAW;
  attr.sample_period = 1;
  attr.wakeup_events = 1;
  attr.disabled = disabled;
  return attr;
}

}  // namespace bpfbox::testsupport
