#!/usr/bin/env bash
# The test command: Release build + tests, ASan/UBSan build + tests, clang++-14 build + tests,
# a short libFuzzer run, the packaging checks, then the profile-guided build's digest check.
# Exits non-zero if any stage fails; every stage runs regardless, so one report shows
# everything that is broken.
#
#   bash tools/run-tests.sh            from the repository root
#
# Build trees: build/release, build/asan, build/clang, build/fuzz, build/pgo (reused between runs).
set -uo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
root=$(pwd)
jobs=2  # the reference machine (and CI) has 2 cores

bash tools/setup.sh || { echo "run-tests: setup failed"; exit 1; }

start=$SECONDS
failed_stages=()
stage_report=()
passed=0 failed=0 skipped=0

log_dir="$root/build/logs"
mkdir -p "$log_dir"

# stage NAME CMD...: runs CMD, records its time and whether it failed.
stage() {
  local name=$1
  shift
  local t0=$SECONDS
  echo
  echo "=== $name"
  if "$@"; then
    stage_report+=("$name: ok ($((SECONDS - t0)) s)")
    return 0
  fi
  stage_report+=("$name: FAILED ($((SECONDS - t0)) s)")
  failed_stages+=("$name")
  return 1
}

configure() {  # configure DIR CMAKE_ARGS...
  local dir=$1
  shift
  cmake -S "$root" -B "$root/$dir" -G Ninja -Wno-dev "$@" >"$log_dir/$(basename "$dir")-configure.log" 2>&1 ||
    { cat "$log_dir/$(basename "$dir")-configure.log"; return 1; }
}

build() {  # build DIR [TARGETS...]
  local dir=$1
  shift
  local targets=()
  [[ $# -gt 0 ]] && targets=(--target "$@")
  cmake --build "$root/$dir" --parallel "$jobs" "${targets[@]}"
}

# run_ctest NAME DIR: runs the suite, adds its counts to the totals.
run_ctest() {
  local name=$1 dir=$2
  local log="$log_dir/$name-ctest.log"
  ctest --test-dir "$root/$dir" --output-on-failure --parallel "$jobs" --no-tests=error 2>&1 | tee "$log"
  local rc=${PIPESTATUS[0]}
  # "100% tests passed, 0 tests failed out of 312"
  local line total nfail nskip
  line=$(grep -E 'tests passed, [0-9]+ tests? failed out of [0-9]+' "$log" | tail -n 1)
  if [[ -n "$line" ]]; then
    total=$(sed -E 's/.*out of ([0-9]+).*/\1/' <<<"$line")
    nfail=$(sed -E 's/.*passed, ([0-9]+) tests? failed.*/\1/' <<<"$line")
    nskip=$(grep -cE '\(Skipped\)$' "$log" || true)
    passed=$((passed + total - nfail - nskip))
    failed=$((failed + nfail))
    skipped=$((skipped + nskip))
  fi
  return "$rc"
}

# 1. Release: the configuration users build; also compiles the benchmarks.
release_build() { configure build/release -DCMAKE_BUILD_TYPE=Release && build build/release; }
stage "release build" release_build && stage "release tests" run_ctest release build/release

# 2. AddressSanitizer + UndefinedBehaviorSanitizer over the same tests, as a Debug build (-O0 -g,
#    assertions on). Measured on 2 cores: Debug builds in ~30 s and runs the suite in ~50 s,
#    RelWithDebInfo takes ~120 s to build for a ~20 s run, so Debug is the cheaper whole.
#    Benchmarks are not built.
asan_build() {
  configure build/asan -DCMAKE_BUILD_TYPE=Debug -DCASCADE_SANITIZE=ON -DCASCADE_BUILD_BENCH=OFF &&
    build build/asan
}
stage "asan build" asan_build && stage "asan tests" run_ctest asan build/asan

# 3. clang++-14: every target (library, tools, tests, benchmarks) so clang's warnings are
#    enforced everywhere, at -O0 without debug information, the cheapest compile (~15 s for the
#    whole tree on 2 cores). The tests run again too: unoptimized and uninstrumented they take
#    ~15 s, little for a second compiler's view of the same behaviour.
if command -v clang++-14 >/dev/null 2>&1; then
  clang_build() {
    configure build/clang -DCMAKE_CXX_COMPILER=clang++-14 -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_FLAGS_DEBUG=-O0 &&
      build build/clang
  }
  stage "clang-14 build" clang_build && stage "clang-14 tests" run_ctest clang build/clang
else
  stage_report+=("clang-14 build: FAILED (clang++-14 not found)")
  failed_stages+=("clang-14 build")
fi

# 4. Fuzzing: the libFuzzer targets (tests/fuzz) built with clang++-14, coverage, ASan and
#    UBSan, each run for a short while from its corpus (tests/fuzz/corpus). A crash, a
#    sanitizer report or a broken invariant fails the stage; the input that did it is written
#    to build/fuzz/ (docs/robustness.md: reproducing and longer runs). Only the fuzz targets
#    are built (~40 s on 2 cores); the runs take 12 s each.
if command -v clang++-14 >/dev/null 2>&1; then
  fuzz_build() {
    configure build/fuzz -DCMAKE_CXX_COMPILER=clang++-14 -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCASCADE_FUZZ=ON \
      -DCASCADE_BUILD_TESTS=OFF -DCASCADE_BUILD_TOOLS=OFF -DCASCADE_BUILD_BENCH=OFF -DCASCADE_INSTALL=OFF &&
      build build/fuzz
  }
  fuzz_run() {
    local target corpus work rc=0
    for target in decoder engine; do
      corpus="$root/tests/fuzz/corpus/$target"
      work="$root/build/fuzz/corpus-$target"  # what the run adds stays out of the source tree
      mkdir -p "$work"
      echo "fuzz: ${target}_fuzz for 12 s"
      (cd "$root/build/fuzz" && "./tests/fuzz/${target}_fuzz" -max_total_time=12 -max_len=4096 -print_final_stats=1 \
        "$work" "$corpus" >"$log_dir/fuzz-$target.log" 2>&1) ||
        { rc=1; tail -n 40 "$log_dir/fuzz-$target.log"; }
      grep -E '^(stat::number_of_executed_units|Done)' "$log_dir/fuzz-$target.log" || true
    done
    return "$rc"
  }
  stage "fuzz build" fuzz_build && stage "fuzz run" fuzz_run
else
  stage_report+=("fuzz build: FAILED (clang++-14 not found)")
  failed_stages+=("fuzz build")
fi

# 5. cascade::core from an embedding host: add_subdirectory, FetchContent, find_package.
stage "packaging" bash tools/check-packaging.sh

# 6. The profile-guided build (tools/pgo.sh, only its cascade tool: ~3 min on 2 cores) replays
#    a crash day to the release build's digest.
pgo_check() {
  bash tools/pgo.sh build/pgo cascade >"$log_dir/pgo.log" 2>&1 || { tail -n 40 "$log_dir/pgo.log"; return 1; }
  local day="$root/build/pgo/check.cev" a b
  "$root/build/release/tools/cascade" gen crash --accounts 2000 --minutes 20 --calm-minutes 2 --drop-minutes 6 \
    -o "$day" >/dev/null || return 1
  a=$("$root/build/release/tools/cascade" replay "$day" | grep '^output digest') || return 1
  b=$("$root/build/pgo/tools/cascade" replay "$day" | grep '^output digest') || return 1
  echo "release: $a"
  echo "pgo:     $b"
  [[ "$a" == "$b" ]]
}
stage "pgo build and digest" pgo_check

echo
echo "=== summary ($((SECONDS - start)) s)"
for line in "${stage_report[@]}"; do echo "  $line"; done
status=0
if [[ ${#failed_stages[@]} -gt 0 ]]; then
  echo "run-tests: FAILED: ${failed_stages[*]} ($((SECONDS - start)) s)"
  status=1
else
  echo "run-tests: all stages passed ($((SECONDS - start)) s)"
fi
# Totals of the three ctest runs (release, asan, clang), last so it closes the output.
echo "tests: $passed passed, $failed failed, $skipped skipped"
exit "$status"
