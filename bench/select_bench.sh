#!/usr/bin/env bash
# bench/select_bench.sh [rounds] — the select targets of issue 16, measured
# in one run: weft's two-case select round trip against its plain channel
# round trip (target <= 1.5x) and against Go's two-case select (target
# <= 0.5x). Prints wall and CPU ns per round trip for each, per round, and
# the ratios of the medians. Needs a built BUILD_DIR (default <repo>/build)
# and `go` (golang-go) for the Go peer; GOMAXPROCS=1 as in run_micro.sh.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
build=${BUILD_DIR:-$root/build}
rounds=${1:-5}
ninja -C "$build" bench/weft_micro >/dev/null
tmp=$(mktemp -d /tmp/select-bench.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
have_go=0
if command -v go >/dev/null; then
  GOCACHE="$tmp/cache" GOPATH="$tmp/path" GO111MODULE=off GOPROXY=off GOFLAGS='' \
    go build -o "$tmp/go_micro" "$here/go/micro.go" && have_go=1
else
  echo "go not installed: no Go peer (apt-get install golang-go)" >&2
fi
for r in $(seq "$rounds"); do
  "$build/bench/weft_micro" --benchmark_filter='^BM_(channel|select)_round_trip$' --benchmark_min_time=0.5 \
    --benchmark_format=json 2>/dev/null >"$tmp/weft.$r.json"
  [ $have_go = 1 ] && GOMAXPROCS=1 "$tmp/go_micro" -min_time 0.5 -idle_fibers 1000 >"$tmp/go.$r.json"
done
python3 - "$tmp" "$rounds" "$have_go" <<'PY'
import json, statistics, sys
tmp, rounds, have_go = sys.argv[1], int(sys.argv[2]), sys.argv[3] == "1"
vals = {}
for r in range(1, rounds + 1):
    for b in json.load(open(f"{tmp}/weft.{r}.json"))["benchmarks"]:
        n = b["name"].removeprefix("BM_")
        vals.setdefault(("weft", n), []).append((b["ns_per_op"], b["cpu_ns_per_op"]))
    if have_go:
        for b in json.load(open(f"{tmp}/go.{r}.json"))["benchmarks"]:
            if b["name"] in ("channel_round_trip", "select_round_trip"):
                vals.setdefault(("go", b["name"]), []).append((b["ns_per_op"], b["cpu_ns_per_op"]))
med = {}
for (who, n), v in sorted(vals.items()):
    w = statistics.median(x[0] for x in v); c = statistics.median(x[1] for x in v)
    med[(who, n)] = (w, c)
    print(f"{who:5} {n:20} wall {w:8.1f} ns  cpu {c:8.1f} ns  (median of {len(v)})")
s, ch = med[("weft", "select_round_trip")], med[("weft", "channel_round_trip")]
print(f"weft select / weft channel: wall {s[0]/ch[0]:.2f}x  cpu {s[1]/ch[1]:.2f}x  (target <= 1.5x)")
if have_go:
    g = med[("go", "select_round_trip")]
    print(f"weft select / Go select:    wall {s[0]/g[0]:.2f}x  cpu {s[1]/g[1]:.2f}x  (target <= 0.5x)")
PY
