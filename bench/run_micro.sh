#!/usr/bin/env bash
# bench/run_micro.sh [--quick] [--rounds N] — builds and runs the micro
# benchmarks of weft and its peers (Boost.Fiber, Go) back to back, round after
# round, and writes bench/micro_report.md (medians, per-round ratios, targets).
#
#   BUILD_DIR   meson build dir (default: <repo>/build-bench; set up if missing)
#   ROUNDS      rounds (default 5; --quick: 1); --rounds N overrides
#   MIN_TIME    seconds per benchmark per run (default 0.5; --quick: 0.02)
#   IDLE_FIBERS fibers in idle_fibers (default 1000000; --quick: 10000)
#   REPORT      output file (default bench/micro_report.md)
# Every peer runs pinned to CPU 0 (taskset) and Go with GOMAXPROCS=1.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
quick=0
rounds=${ROUNDS:-}
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) quick=1 ;;
    --rounds) rounds=$2; shift ;;
    --rounds=*) rounds=${1#*=} ;;
    -h|--help) sed -n '2,11p' "$0"; exit 0 ;;
    *) echo "run_micro.sh: unknown argument $1" >&2; exit 2 ;;
  esac
  shift
done
if [ "$quick" = 1 ]; then
  rounds=${rounds:-1}; min_time=${MIN_TIME:-0.02}; idle=${IDLE_FIBERS:-10000}
else
  rounds=${rounds:-5}; min_time=${MIN_TIME:-0.5}; idle=${IDLE_FIBERS:-1000000}
fi
build=${BUILD_DIR:-$root/build-bench}
case "$build" in /*) ;; *) build=$PWD/$build ;; esac
report=${REPORT:-$here/micro_report.md}

# --- build ------------------------------------------------------------------
if [ ! -f "$build/build.ninja" ]; then
  echo "setting up $build"
  meson setup "$build" "$root" -Dtests=false -Dsamples=false >/dev/null
fi
echo "building weft_micro, boost_fiber_micro"
ninja -C "$build" bench/weft_micro bench/boost_fiber_micro >/dev/null
echo "building go_micro"
mkdir -p "$build/go-cache"
GOCACHE="$build/go-cache" GOPATH="$build/go-path" GO111MODULE=off GOPROXY=off GOFLAGS='' \
  go build -o "$build/bench/go_micro" "$here/go/micro.go"

pin=()
if command -v taskset >/dev/null && taskset -c 0 true 2>/dev/null; then pin=(taskset -c 0); fi

out="$build/bench/micro-results/$(date +%Y%m%d-%H%M%S)"
mkdir -p "$out"
gb_args=(--benchmark_format=json "--benchmark_min_time=$min_time" "--idle_fibers=$idle")

# --- rounds -----------------------------------------------------------------
start=$(date +%s)
for r in $(seq 1 "$rounds"); do
  echo "round $r/$rounds: weft ..."
  "${pin[@]}" "$build/bench/weft_micro" "${gb_args[@]}" >"$out/weft.$r.json" 2>"$out/weft.$r.log" ||
    echo "  weft_micro failed (exit $?); see $out/weft.$r.log" >&2
  echo "round $r/$rounds: boost.fiber ..."
  "${pin[@]}" "$build/bench/boost_fiber_micro" "${gb_args[@]}" >"$out/boost.$r.json" 2>"$out/boost.$r.log" ||
    echo "  boost_fiber_micro failed (exit $?); see $out/boost.$r.log" >&2
  echo "round $r/$rounds: go ..."
  GOMAXPROCS=1 "${pin[@]}" "$build/bench/go_micro" -min_time "$min_time" -idle_fibers "$idle" \
    >"$out/go.$r.json" 2>"$out/go.$r.log" ||
    echo "  go_micro failed (exit $?); see $out/go.$r.log" >&2
done
echo "rounds done in $(( $(date +%s) - start )) s; raw results in $out"

# --- report -----------------------------------------------------------------
rev=uncommitted
if git -C "$root" rev-parse --verify -q HEAD >/dev/null 2>&1; then
  rev=$(git -C "$root" rev-parse --short HEAD)
  if [ -n "$(git -C "$root" status --porcelain -- runtime include bench 2>/dev/null)" ]; then
    rev="$rev (plus uncommitted changes)"
  fi
fi
cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')
cmd="bench/run_micro.sh"
[ "$quick" = 1 ] && cmd="$cmd --quick"
python3 "$here/micro_report.py" --results "$out" --rounds "$rounds" --out "$report" \
  --meta "machine=$cpu, $(nproc) CPUs, $(free -g | awk '/^Mem:/{print $2}') GiB RAM" \
  --meta "kernel=$(uname -sr)" \
  --meta "compiler=$(c++ --version | head -1)" \
  --meta "go=$(go version | awk '{print $3}')" \
  --meta "boost=$(grep -m1 'define BOOST_LIB_VERSION' /usr/include/boost/version.hpp | cut -d'"' -f2)" \
  --meta "revision=$rev" \
  --meta "command=$cmd (rounds=$rounds, min_time=${min_time}s, idle_fibers=$idle, pinned: ${pin[*]:-no})"
echo "wrote $report"
