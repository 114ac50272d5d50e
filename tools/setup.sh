#!/usr/bin/env bash
# Installs the Debian 12 packages cascade needs to build, test and benchmark.
# A quiet no-op when everything is already installed.
#   bash tools/setup.sh          what the build, tests and benchmarks need
#   bash tools/setup.sh --demo   and gnuplot, which draws the demo's pictures
set -euo pipefail

packages=(
  cmake ninja-build g++ clang-14 git ca-certificates
  libboost-dev        # Boost.Lockfree queues of the pipeline; containers used by tests and tools
  libmimalloc-dev     # allocator of the tools and benchmarks (CASCADE_MIMALLOC)
  libgtest-dev        # test suite
  libbenchmark-dev    # benchmarks
)
if [[ "${1:-}" == "--demo" ]]; then
  packages+=(gnuplot-nox)  # cascade replay --plot draws with it (the CSV series need nothing)
fi

missing=()
for p in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
  [[ "$status" == "install ok installed" ]] || missing+=("$p")
done
[[ ${#missing[@]} -eq 0 ]] && exit 0

echo "setup: installing ${missing[*]}"
if [[ $(id -u) -eq 0 ]]; then
  sudo=()
elif command -v sudo >/dev/null 2>&1; then
  sudo=(sudo)
else
  echo "setup: missing packages (${missing[*]}) and neither root nor sudo available" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -qq
"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
