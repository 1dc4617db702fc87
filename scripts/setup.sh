#!/usr/bin/env bash
# Installs what bpfbox needs (Debian 12, root or sudo), builds it in build/, and runs the examples:
# the Internet checksum of a bundled IPv4 header computed by an eBPF program, then the main job:
# an XDP filter (examples/bpf/xdp_filter.bpf.c, loaded by libbpf) over a bundled capture, and the
# maps it filled.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/common.sh

install_deps
configure_and_build build -DCMAKE_BUILD_TYPE=RelWithDebInfo

log "Running examples/checksum.bpf.s over examples/data/ipv4_header.bin"
csum=$(build/bpfbox run examples/checksum.bpf.s --mem-file examples/data/ipv4_header.bin)
echo "r0 = $csum: the header's checksum (the worked example's value is 0xb861)"
[ "$csum" = 0xb861 ] || die "expected 0xb861"
log "The main job: examples/bpf/xdp_filter.bpf.c over examples/data/traffic.pcap"
# A private runtime dir: the pins below live there (as /sys/fs/bpf/...), gone with it at the end.
BPFBOX_RUNTIME_DIR=$(mktemp -d)
export BPFBOX_RUNTIME_DIR
trap 'rm -rf "$BPFBOX_RUNTIME_DIR"' EXIT
run() { echo "\$ $*"; "$@"; }
run build/bpfbox prog load build/examples/bpf/xdp_filter.bpf.o /sys/fs/bpf/xdp_filter \
  pinmaps /sys/fs/bpf/xdp_filter_maps
verdicts=$(run build/bpfbox prog run pinned /sys/fs/bpf/xdp_filter \
  pcap examples/data/traffic.pcap out "$BPFBOX_RUNTIME_DIR/passed.pcap")
echo "$verdicts"
run build/bpfbox map dump pinned /sys/fs/bpf/xdp_filter_maps/proto_count
run build/bpfbox map dump pinned /sys/fs/bpf/xdp_filter_maps/src_count
echo "$verdicts" | grep -q "^XDP_PASS *12$" || die "expected 12 packets to pass"
log "Done. The CLI is build/bpfbox; try: build/bpfbox --help"
