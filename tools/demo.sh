#!/usr/bin/env bash
# The demo: build the `cascade` tool, generate a crash day (100,000 traders on five
# instruments: a calm hour, a 13% drop with a wick, a partial rebound), replay it through the
# engine and print the report: the crash figures, the burst window, per-event latency
# percentiles; the pictures go to build/demo-plots/ (with gnuplot; the CSV series always).
#
#   bash tools/demo.sh            from the repository root
#   DEMO_ACCOUNTS=1000000 bash tools/demo.sh   the full-size day (about a minute more)
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash tools/setup.sh --demo

build=build/release
cmake -S . -B "$build" -G Ninja -Wno-dev -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$build" --parallel 2 --target cascade
cli="$build/tools/cascade"
accounts="${DEMO_ACCOUNTS:-100000}"

echo
echo "\$ cascade gen crash --accounts $accounts -o build/crash.cev"
"$cli" gen crash --accounts "$accounts" -o build/crash.cev
echo
# --prefault: the engine's memory committed up front, as a venue runs it (no page faults in
# the timed events); --host-noise 1: what the machine itself takes from the replay's thread.
echo "\$ cascade replay build/crash.cev --prefault --host-noise 1 --plot build/demo-plots"
"$cli" replay build/crash.cev --prefault --host-noise 1 --plot build/demo-plots
