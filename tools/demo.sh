#!/usr/bin/env bash
# The demo: build the `cascade` tool, encode a small scenario, replay it through the engine
# (printing the replay report), then show the resulting order book.
#
#   bash tools/demo.sh            from the repository root
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash tools/setup.sh

build=build/release
cmake -S . -B "$build" -G Ninja -Wno-dev -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$build" --parallel 2 --target cascade
cli="$build/tools/cascade"

sample=tools/samples/sample.txt
if [[ ! -f "$sample" ]]; then
  echo "demo: $sample is missing" >&2
  exit 1
fi

echo
echo "\$ cascade encode $sample -o build/sample.cev"
"$cli" encode "$sample" -o build/sample.cev
echo
echo "\$ cascade replay build/sample.cev -o build/sample.out.cev"
"$cli" replay build/sample.cev -o build/sample.out.cev
echo
echo "\$ cascade book build/sample.cev"
"$cli" book build/sample.cev
