// The program types bpfbox has, one ops table per file, collected by the registry.
#pragma once

#include "bpfbox/prog_type.hpp"

namespace bpfbox::progs {

extern const ProgTypeOps kSocketFilterOps;  // socket_filter.cpp
extern const ProgTypeOps kSchedClsOps;      // tc.cpp
extern const ProgTypeOps kSchedActOps;      // tc.cpp
extern const ProgTypeOps kXdpOps;           // xdp.cpp

// TEST_RUN of the __sk_buff types (test_run_skb.cpp) and of XDP (test_run_xdp.cpp).
Status test_run_skb(const TestRunProgram& prog, const TestRunArgs& args, TestRunResult& result);
Status test_run_xdp(const TestRunProgram& prog, const TestRunArgs& args, TestRunResult& result);

}  // namespace bpfbox::progs
