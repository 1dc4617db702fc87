# shellcheck shell=bash
# Shared by setup.sh and test.sh (sourced, not run): the Debian 12 packages bpfbox needs, and how
# to configure and build it.

# Every package the build, the tests and the tools use, by its Debian 12 name.
BPFBOX_PACKAGES=(
  cmake ninja-build g++ clang pkg-config
  libgtest-dev libbenchmark-dev libcli11-dev
  libbpf-dev libelf-dev zlib1g-dev libpcap-dev libcapstone-dev libasmjit-dev
  nlohmann-json3-dev libfmt-dev llvm-dev
  bpftool clang-format
)

log() { printf '\n==> %s\n' "$*"; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

package_installed() {
  [ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null)" = "install ok installed" ]
}

# Installs what is missing with apt-get (as root, or through sudo); does nothing when all is there.
install_deps() {
  if ! command -v dpkg-query >/dev/null || ! command -v apt-get >/dev/null; then
    die "this script installs packages with apt-get (Debian 12); install these yourself: ${BPFBOX_PACKAGES[*]}"
  fi
  local missing=() pkg
  for pkg in "${BPFBOX_PACKAGES[@]}"; do
    package_installed "$pkg" || missing+=("$pkg")
  done
  if [ ${#missing[@]} -eq 0 ]; then
    log "All ${#BPFBOX_PACKAGES[@]} packages are installed"
    return
  fi
  local sudo=()
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || die "installing ${missing[*]} needs root or sudo"
    sudo=(sudo)
  fi
  log "Installing ${missing[*]}"
  "${sudo[@]}" apt-get update
  local unknown=()
  for pkg in "${missing[@]}"; do
    # A name apt knows has a candidate version; grep reads a variable, so no SIGPIPE under pipefail.
    local policy
    policy=$(apt-cache policy "$pkg" 2>/dev/null)
    grep -q 'Candidate: [^(]' <<<"$policy" || unknown+=("$pkg")
  done
  [ ${#unknown[@]} -eq 0 ] || die "apt knows no package named: ${unknown[*]} (is this Debian 12?)"
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive \
    apt-get install -y --no-install-recommends "${missing[@]}"
}

# configure_and_build DIR [cmake args...]. The conformance suite is read in place, from
# ../shared/conformance beside the repository unless BPFBOX_CONFORMANCE_DIR names another place.
configure_and_build() {
  local dir=$1
  shift
  local args=(-DBPFBOX_WERROR=ON "$@")
  if [ -n "${BPFBOX_CONFORMANCE_DIR:-}" ]; then
    args+=("-DBPFBOX_CONFORMANCE_DIR=$BPFBOX_CONFORMANCE_DIR")
  elif [ ! -d ../shared/conformance ]; then
    echo "warning: no ../shared/conformance beside the repository; set BPFBOX_CONFORMANCE_DIR" >&2
  fi
  log "Configuring $dir (${args[*]})"
  cmake -S . -B "$dir" -G Ninja "${args[@]}"
  log "Building $dir"
  cmake --build "$dir" -j "${JOBS:-$(nproc)}"
}
