#!/usr/bin/env bash
# Builds the host project in tests/packaging/ against cascade::core three ways and runs it:
#   (a) add_subdirectory of this source tree,
#   (b) FetchContent from a file:// git repository holding the current work tree,
#   (c) find_package(cascade) after `cmake --install` into a temporary prefix,
# then the example host of tools/examples/host against that same install.
# Each runs in its own temporary directory, removed afterwards. No network is used.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
root=$(pwd)
consumer="$root/tests/packaging"
work=$(mktemp -d "${TMPDIR:-/tmp}/cascade-packaging.XXXXXX")
trap 'rm -rf "$work"' EXIT

log="$work/log"
quiet() {  # runs a command, shows its output only if it fails
  if ! "$@" >"$log" 2>&1; then
    cat "$log"
    echo "check-packaging: failed: $*" >&2
    return 1
  fi
}

# The host must get the library alone: no tests, tools or benchmarks, so no GoogleTest,
# Google Benchmark or mimalloc is looked for.
check_cache() {  # check_cache BUILD_DIR
  local cache="$1/CMakeCache.txt"
  local bad
  bad=$(grep -E '^(GTest_DIR|benchmark_DIR|mimalloc_DIR)|^CASCADE_BUILD_(TESTS|TOOLS|BENCH):BOOL=ON' "$cache" || true)
  if [[ -n "$bad" ]]; then
    echo "check-packaging: the host build pulled in cascade's development dependencies:" >&2
    echo "$bad" >&2
    return 1
  fi
}

build_consumer() {  # build_consumer NAME CMAKE_ARGS...
  local name=$1
  shift
  local dir="$work/$name"
  quiet cmake -S "$consumer" -B "$dir" -G Ninja -Wno-dev "$@"
  check_cache "$dir"
  quiet cmake --build "$dir" --parallel 2
  local output
  output=$("$dir/consumer") || { echo "$output"; echo "check-packaging: $name: consumer failed" >&2; return 1; }
  grep -q '^fill ' <<<"$output" || { echo "$output"; echo "check-packaging: $name: no fill" >&2; return 1; }
  echo "  $name: ok ($(grep -c '^fill ' <<<"$output") fill(s))"
}

echo "check-packaging: cascade::core from a host project"

# (a) add_subdirectory
build_consumer subdirectory -DCASCADE_CONSUMER_MODE=subdirectory -DCASCADE_SOURCE="$root"

# (b) FetchContent: a throwaway git repository of the work tree as it is now (tracked and
# untracked files, minus ignored ones), so uncommitted changes are what gets tested.
repo="$work/repo"
mkdir -p "$repo"
git -C "$root" ls-files -z --cached --others --exclude-standard |
  while IFS= read -r -d '' f; do [[ -e "$root/$f" ]] && printf '%s\0' "$f"; done |
  (cd "$root" && xargs -0 cp --parents -t "$repo")
quiet git -C "$repo" init -q
quiet git -C "$repo" -c user.name=cascade -c user.email=cascade@localhost add -A
quiet git -C "$repo" -c user.name=cascade -c user.email=cascade@localhost commit -q -m snapshot
tag=$(git -C "$repo" rev-parse HEAD)
build_consumer fetchcontent -DCASCADE_CONSUMER_MODE=fetchcontent -DCASCADE_GIT_URL="file://$repo" \
  -DCASCADE_GIT_TAG="$tag" -DFETCHCONTENT_QUIET=ON

# (c) install, then find_package
quiet cmake -S "$root" -B "$work/install-build" -G Ninja -Wno-dev -DCMAKE_BUILD_TYPE=Release \
  -DCASCADE_BUILD_TESTS=OFF -DCASCADE_BUILD_TOOLS=OFF -DCASCADE_BUILD_BENCH=OFF
quiet cmake --build "$work/install-build" --parallel 2
quiet cmake --install "$work/install-build" --prefix "$work/prefix"
build_consumer package -DCASCADE_CONSUMER_MODE=package -DCMAKE_PREFIX_PATH="$work/prefix"

# The example host (tools/examples/host): Driver and Pipeline (threads, journal) from the same
# installed tree; both runs must print the same fills.
host="$work/example-host"
quiet cmake -S "$root/tools/examples/host" -B "$host" -G Ninja -Wno-dev -DCMAKE_PREFIX_PATH="$work/prefix"
check_cache "$host"
quiet cmake --build "$host" --parallel 2
output=$("$host/example_host" "$work/example.journal") || { echo "$output"; echo "check-packaging: example host failed" >&2; exit 1; }
echo "  example host: ok ($(grep -c '^pipeline fill ' <<<"$output") fill(s) through the pipeline)"

echo "check-packaging: all three ways work"
