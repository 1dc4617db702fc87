#!/usr/bin/env bash
# Installs what bpfbox needs, then builds and runs every test twice: a release build with warnings
# as errors (build-test/), and an AddressSanitizer + UndefinedBehaviorSanitizer build (build-asan/);
# then the maps stress test under ThreadSanitizer (build-tsan/, that test alone).
# Benchmarks are not built. JOBS=N sets the build parallelism (default: every core).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/common.sh

install_deps
start=$SECONDS
jobs=${JOBS:-$(nproc)}

configure_and_build build-test -DCMAKE_BUILD_TYPE=RelWithDebInfo -DBPFBOX_BUILD_BENCH=OFF
log "Testing build-test"
ctest --test-dir build-test --output-on-failure -j "$jobs"
echo "release build and tests: $((SECONDS - start)) s"

configure_and_build build-asan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DBPFBOX_BUILD_BENCH=OFF \
  -DBPFBOX_SANITIZE=address,undefined
log "Testing build-asan"
ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1} \
UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1} \
  ctest --test-dir build-asan --output-on-failure -j "$jobs"

# ThreadSanitizer: only the maps stress test, built on the maps objects alone (bpfbox_maps) so the
# job stays within a few minutes on two cores.
log "Building build-tsan (maps stress test, -DBPFBOX_SANITIZE=thread)"
tsan_start=$SECONDS
cmake -S . -B build-tsan -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DBPFBOX_WERROR=ON \
  -DBPFBOX_BUILD_BENCH=OFF -DBPFBOX_SANITIZE=thread >/dev/null
cmake --build build-tsan -j "$jobs" --target maps_stress_test
log "Testing build-tsan"
TSAN_OPTIONS=${TSAN_OPTIONS:-halt_on_error=1:second_deadlock_stack=1} \
  build-tsan/tests/maps/maps_stress_test
echo "tsan build and maps stress test: $((SECONDS - tsan_start)) s"
log "All tests passed in $((SECONDS - start)) s"
