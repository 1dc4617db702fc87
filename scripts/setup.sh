#!/usr/bin/env bash
# Installs what bpfbox needs (Debian 12, root or sudo), builds it in build/, and runs the example:
# the Internet checksum of a bundled IPv4 header, computed by an eBPF program.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/common.sh

install_deps
configure_and_build build -DCMAKE_BUILD_TYPE=RelWithDebInfo

log "Running examples/checksum.bpf.s over examples/data/ipv4_header.bin"
csum=$(build/bpfbox run examples/checksum.bpf.s --mem-file examples/data/ipv4_header.bin)
echo "r0 = $csum: the header's checksum (the worked example's value is 0xb861)"
[ "$csum" = 0xb861 ] || die "expected 0xb861"
log "Done. The CLI is build/bpfbox; try: build/bpfbox --help"
