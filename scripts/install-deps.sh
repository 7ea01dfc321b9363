#!/usr/bin/env bash
# Installs, with apt-get, the system packages Kiln needs that are missing.
# Idempotent: runs `apt-get update` only when something must be installed.
set -euo pipefail

packages=(
  # BPF and native addon toolchain
  clang llvm libbpf-dev bpftool libelf-dev libdw-dev zlib1g-dev make g++ pkg-config
  # server: gzip decompression of uploads
  libdeflate-dev
  # symbolizer ground truth (addr2line, llvm-symbolizer) and tests: libc's debug file by build-id
  binutils elfutils libc6-dbg
  # browser tests
  chromium
  # `go tool pprof` reads our exports; Go workloads
  golang-go
  # `perf record` baseline for benchmarks
  linux-perf
  # span tests
  postgresql redis-server mariadb-server
  # load for span benchmarks
  wrk
  # retransmit tests: network namespaces joined by a veth pair, random drops on the receiver
  iproute2 iptables
  # chart tests: helm comes zipped inside an npm package (scripts/install-helm.sh)
  unzip
)

if [ "$(id -u)" -ne 0 ]; then
  echo "install-deps: must run as root (apt-get install)" >&2
  exit 1
fi

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} system packages present"
  exit 0
fi

echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "install-deps: done"
