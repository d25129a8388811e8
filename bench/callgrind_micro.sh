#!/usr/bin/env bash
# bench/callgrind_micro.sh [benchmark ...] — instructions per operation of
# weft_micro benchmarks under valgrind --tool=callgrind (default: raw_switch
# yield channel_round_trip), plus the top functions of each timed loop.
#
# The benchmarks zero callgrind's counters when their timed loop starts and
# dump them, labelled "<name> ops=<n>", when it ends (bench/micro_common.hpp),
# so a dump holds exactly the timed loop. The last (largest) dump per name is
# used. Needs a built BUILD_DIR (default <repo>/build-bench; run_micro.sh
# builds it). Output: text on stdout, files in $BUILD_DIR/bench/callgrind/.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
build=${BUILD_DIR:-$root/build-bench}
names=("$@")
[ ${#names[@]} -gt 0 ] || names=(raw_switch yield channel_round_trip)
ninja -C "$build" bench/weft_micro >/dev/null
out="$build/bench/callgrind"
rm -rf "$out"; mkdir -p "$out"
for n in "${names[@]}"; do
  valgrind --tool=callgrind --callgrind-out-file="$out/$n.%p" --dump-instr=no \
    "$build/bench/weft_micro" "--benchmark_filter=^BM_${n}\$" --benchmark_min_time=0.05 \
    >"$out/$n.log" 2>&1
  # Pick the dump of the largest run: files carry "desc: Trigger: Client Request: <label>".
  best="" bestops=0
  for f in "$out/$n".*; do
    case "$f" in *.log) continue ;; esac
    ops=$(sed -n "s/^desc: Trigger: Client Request: $n ops=\([0-9]*\).*/\1/p" "$f" | head -1)
    [ -n "$ops" ] || continue
    if [ "$ops" -gt "$bestops" ]; then best=$f bestops=$ops; fi
  done
  if [ -z "$best" ]; then echo "$n: no dump (see $out/$n.log)"; continue; fi
  ir=$(sed -n 's/^summary: *\([0-9]*\).*/\1/p' "$best" | head -1)
  [ -n "$ir" ] || ir=$(sed -n 's/^totals: *\([0-9]*\).*/\1/p' "$best" | head -1)
  awk -v n="$n" -v ir="$ir" -v ops="$bestops" \
    'BEGIN { printf "%s: %.1f instructions per op (%d Ir over %d ops)\n", n, ir / ops, ir, ops }'
  # Self cost per function. Fiber switches confuse callgrind's call tracking:
  # functions that never "return" (fiber entry, the benchmark, main) show the
  # whole total, and recursion copies get a 'N suffix. Drop the former, merge
  # the latter.
  callgrind_annotate --inclusive=no --threshold=100 "$best" 2>/dev/null |
    python3 -c '
import re, sys
total, ops = int(sys.argv[1]), int(sys.argv[2])
cost = {}
for line in sys.stdin:
    m = re.match(r"\s*([0-9,]+) \(\s*[0-9.]+%\)\s+(.*)$", line)
    if not m or "PROGRAM TOTALS" in line:
        continue
    v = int(m.group(1).replace(",", ""))
    if v >= total * 0.999:
        continue
    name = re.sub(r" \[.*\]$", "", m.group(2))
    name = re.sub(r"'"'"'\d+$", "", name).split(":", 1)[-1]
    cost[name] = cost.get(name, 0) + v
for name, v in sorted(cost.items(), key=lambda kv: -kv[1])[:12]:
    if v / ops < 0.05: break
    print(f"    {v / ops:8.1f} Ir/op  {100.0 * v / total:5.1f}%  {name}")
' "$ir" "$bestops"
done
