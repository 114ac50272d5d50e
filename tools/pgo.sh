#!/usr/bin/env bash
# Builds the cascade tool and the benchmarks with profile-guided optimization (GCC), in
# build/pgo by default (docs/performance.md, "Profile-guided optimization"):
#   1. an instrumented build (-DCASCADE_PGO=generate) of the tool and book_bench;
#   2. a training run: small crash and squeeze days that are not the ones the figures are
#      measured on (seed 7, 10,000 traders), generated and replayed, and the book benchmarks'
#      workloads on a small book;
#   3. the optimized build (-DCASCADE_PGO=use) of every target but the tests, or of TARGETS.
#
#   bash tools/pgo.sh [BUILD_DIR [TARGETS...]]      from the repository root
#
# The profiles belong to the sources they were made from: after any change to the library,
# run the script again (a stale profile fails the build with a coverage-mismatch error).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
root=$(pwd)
dir=${1:-build/pgo}
shift || true
targets=()
[[ $# -gt 0 ]] && targets=(--target "$@")
jobs=2

bash tools/setup.sh

configure() {
  cmake -S "$root" -B "$dir" -G Ninja -Wno-dev -DCMAKE_BUILD_TYPE=Release -DCASCADE_BUILD_TESTS=OFF \
    -DCASCADE_PGO="$1" >/dev/null
}

echo "pgo: instrumented build in $dir"
configure generate
find "$dir" -name '*.gcda' -delete
cmake --build "$dir" --parallel "$jobs" --target cascade book_bench

echo "pgo: training"
train=$(mktemp -d)
trap 'rm -rf "$train"' EXIT
day="--accounts 10000 --minutes 20 --calm-minutes 2 --drop-minutes 5 --seed 7"
for kind in crash squeeze; do
  # shellcheck disable=SC2086
  "$dir/tools/cascade" gen "$kind" $day -o "$train/$kind.cev" >/dev/null
  "$dir/tools/cascade" replay "$train/$kind.cev" >/dev/null
done
(cd "$dir/bench" && CASCADE_BENCH_ORDERS=100000 CASCADE_BENCH_EVENTS=200000 \
  ./book_bench --benchmark_filter='timed:0' --benchmark_min_time=0.01 >/dev/null 2>&1)

echo "pgo: optimized build in $dir"
configure use
cmake --build "$dir" --parallel "$jobs" "${targets[@]}"
echo "pgo: done in $dir"
