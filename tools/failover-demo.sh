#!/usr/bin/env bash
# Failover on one machine, two processes (docs/scaling.md, "Failover demo"):
#   primary   `cascade serve`: the threaded pipeline over a generated order stream, paced,
#             journaling each batch (flush) before processing it, publishing its output;
#   follower  `cascade follow`: tails the journal and runs its own engine over it.
# The primary is killed with SIGKILL mid-stream. The follower, once the journal stops
# growing, must have produced exactly the bytes the primary published (same digest over
# them) and then the output of every event the primary journaled but never published.
# Finally a third run recovers from the journal alone and must match the follower.
#
# usage: tools/failover-demo.sh [CASCADE_BINARY] [EVENTS] [RATE]
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
cli=${1:-build/release/tools/cascade}
events=${2:-40000}
rate=${3:-40000}
[[ -x "$cli" ]] || { echo "failover-demo: $cli not built" >&2; exit 2; }
work=$(mktemp -d "${TMPDIR:-/tmp}/cascade-failover.XXXXXX")
trap 'rm -rf "$work"' EXIT

# A deterministic stream: one instrument, 20 funded accounts, limit orders around 65000 (a
# third of them cross), cancels of recent orders.
{
  grep -m1 '^instrument ' tools/samples/sample.txt
  awk -v n="$events" 'BEGIN {
    seq = 2  # timestamps are built as text: awk integers may be 32-bit
    for (a = 1; a <= 20; a++) printf "deposit seq=%d ts=1700000001%09d account=%d amount=1000000 transfer_id=%d\n", seq, seq++, a, a
    x = 12345
    for (k = 1; k <= n; k++) {
      x = (x * 1103515245 + 12345) % 2147483648; r = int(x / 65536) % 1000  # high bits: the low bits of an LCG cycle
      if (r < 850 || k < 10) {
        side = (r % 2) ? "buy" : "sell"; off = (r % 41) - 14
        price = side == "buy" ? 65000 - off * 0.1 : 65000 + off * 0.1
        printf "new_order seq=%d ts=1700000001%09d order_id=%d account=%d instrument=1 side=%s type=limit tif=gtc price=%.1f qty=0.0%d\n",
               seq, seq++, k, 1 + r % 20, side, price, 1 + r % 9
      } else {
        printf "cancel seq=%d ts=1700000001%09d order_id=%d account=%d instrument=1\n", seq, seq++, k - 1 - r % 5, 1 + r % 20
      }
    }
  }'
} >"$work/input.txt"
"$cli" encode "$work/input.txt" -o "$work/input.evt"
"$cli" replay "$work/input.evt" | awk '/^events in/ { i = $3 } /^  fill / { f = $2 } /^output digest/ { d = $3 }
  END { printf "input: %s events; uninterrupted single-threaded run: %s fills, digest %s\n", i, f, d }'

"$cli" serve "$work/input.evt" --journal "$work/journal" -o "$work/primary.evt" --rate "$rate" --batch 16 \
  >"$work/primary.txt" 2>&1 &
primary=$!
for _ in $(seq 500); do [[ -e "$work/journal" ]] && break; sleep 0.01; done  # a loaded machine starts it late
"$cli" follow "$work/journal" -o "$work/follower.evt" --idle-ms 700 --primary-output "$work/primary.evt" \
  >"$work/follower.txt" 2>&1 &
follower=$!
sleep "$(awk -v n="$events" -v r="$rate" 'BEGIN { printf "%.2f", n / r / 3 }')"  # a third of the way
for _ in $(seq 500); do  # and kill it only once it has journaled something
  [[ $(stat -c %s "$work/journal" 2>/dev/null || echo 0) -gt 4096 ]] && break
  sleep 0.01
done
kill -KILL "$primary"
wait "$primary" 2>/dev/null && { echo "failover-demo: the primary finished before it was killed" >&2; exit 1; }
echo "primary killed (SIGKILL) a third of the way through $events events"
status=0
wait "$follower" || status=$?
sed 's/^/  follower: /' "$work/follower.txt"
[[ $status -eq 0 ]] || { echo "failover-demo: follower failed" >&2; exit 1; }

"$cli" follow "$work/journal" --idle-ms 0 >"$work/recovered.txt"
sed 's/^/  recovered: /' "$work/recovered.txt"
f=$(grep '^output digest' "$work/follower.txt")
r=$(grep '^output digest' "$work/recovered.txt")
[[ "$f" == "$r" ]] || { echo "failover-demo: recovery from the journal differs from the follower" >&2; exit 1; }
echo "failover-demo: ok"
