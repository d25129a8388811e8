#!/usr/bin/env bash
# bench/run_all.sh [--quick] [--rounds N] [--only echo,http,dns,instr]
#
# The I/O benchmark suite in one command: builds what it needs (a meson build
# dir and the Go peers), runs every server back to back within each round
# (server pinned to CPU 0, load to CPU 1), then writes bench/report.md and
# PNG plots in bench/plots/ through bench/io_report.py.
#
#   echo   64 B and 4 KiB ping-pong at 1, 100, 1,000, 10,000 connections,
#          driven by bench/loadgen: the epoll limit, weft (API and hooked
#          modes of echo_weft_api, samples/echo_server when built), Go, gevent
#   http   wrk against samples/http_server (when built), Go net/http, http_limit
#   dns    1,000 names from a local dnsmasq: weft fibers, sequential glibc, gevent ares
#   instr  user-space instructions (callgrind) and syscalls (strace -c) per
#          echo round trip at 100 connections, weft vs the limit
#
#   BUILD_DIR  meson build dir (default <repo>/build-bench; set up if missing)
#   ROUNDS     rounds (default 5, --quick 1); SECONDS_PER_RUN (default 3, --quick 0.5)
#   REPORT     report file (default bench/report.md; plots go to plots/ beside it)
# Go, gevent, wrk, gnuplot, valgrind and strace are installed with apt-get
# when missing (a message says so). Raw results stay in
# $BUILD_DIR/io-results/<timestamp>/results.jsonl.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
quick=0
rounds=${ROUNDS:-}
only=echo,http,dns,instr
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) quick=1 ;;
    --rounds) rounds=$2; shift ;;
    --only) only=$2; shift ;;
    *) echo "usage: $0 [--quick] [--rounds N] [--only echo,http,dns,instr]" >&2; exit 2 ;;
  esac
  shift
done
if ((quick)); then
  rounds=${rounds:-1}; secs=${SECONDS_PER_RUN:-0.5}; warm=0.2
  sizes=(64); conns_list=(1 100); http_conns=(100); dns_names=100; instr_rt=(2000 6000)
else
  rounds=${rounds:-5}; secs=${SECONDS_PER_RUN:-3}; warm=1
  sizes=(64 4096); conns_list=(1 100 1000 10000); http_conns=(100 1000); dns_names=1000; instr_rt=(10000 40000)
fi
[[ $rounds =~ ^[1-9][0-9]*$ ]] || { echo "run_all: --rounds must be a positive number" >&2; exit 2; }
build=${BUILD_DIR:-$root/build-bench}
report=${REPORT:-$here/report.md}
out="$build/io-results/$(date -u +%Y%m%dT%H%M%SZ)"
mkdir -p "$out"
results="$out/results.jsonl"
: >"$results"
py=/usr/bin/python3  # Debian's python, where python3-gevent lives
want() { [[ ",$only," == *",$1,"* ]]; }

# --- tools -------------------------------------------------------------------
need=()
command -v go >/dev/null || need+=(golang-go)
"$py" -c 'import gevent' 2>/dev/null || need+=(python3-gevent)
command -v wrk >/dev/null || need+=(wrk)
command -v gnuplot >/dev/null || need+=(gnuplot-nox)
command -v valgrind >/dev/null || need+=(valgrind)
command -v strace >/dev/null || need+=(strace)
[ -x /usr/sbin/dnsmasq ] || need+=(dnsmasq-base)
if ((${#need[@]})); then
  echo "run_all: installing missing tools with apt-get: ${need[*]}"
  sudo=(); ((EUID == 0)) || sudo=(sudo)
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${need[@]}" ||
    { "${sudo[@]}" apt-get update -q && "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive \
        apt-get install -y -q --no-install-recommends "${need[@]}"; }
fi

# --- build -------------------------------------------------------------------
if [ ! -f "$build/build.ninja" ]; then
  echo "run_all: meson setup $build"
  meson setup "$build" "$root" -Dtests=false >/dev/null
fi
targets=(bench/echo_limit bench/http_limit bench/loadgen bench/echo_weft_api bench/dns_bench)
for s in echo_server http_server; do  # the samples, once they exist
  ninja -C "$build" -t targets all 2>/dev/null | grep -q "^samples/$s:" && targets+=("samples/$s")
done
echo "run_all: building ${targets[*]}"
ninja -C "$build" -j 2 "${targets[@]}" >/dev/null
echo "run_all: building the Go peers"
for p in echo http; do
  GOCACHE="$build/go-cache" GOPATH="$build/go-path" GO111MODULE=off GOPROXY=off GOFLAGS='' \
    go build -o "$build/bench/go_$p" "$here/go/$p/main.go"
done
B="$build/bench"
wrk_secs=$("$py" -c "print(max(1, round($secs)))")  # wrk takes whole seconds

pin0=(); pin1=()
if taskset -c 1 true 2>/dev/null; then pin0=(taskset -c 0); pin1=(taskset -c 1); fi

# The servers: name and command (the port is appended as "--port N").
echo_servers=(limit weft_api weft_hooked)
declare -A cmd=(
  [limit]="$B/echo_limit" [weft_api]="$B/echo_weft_api --workers 1"
  [weft_hooked]="$B/echo_weft_api --workers 1 --mode hooked"
  [go]="env GOMAXPROCS=1 $B/go_echo" [gevent]="$py $here/gevent/echo.py"
  [http_limit]="$B/http_limit" [http_go]="env GOMAXPROCS=1 $B/go_http"
)
if [ -x "$build/samples/echo_server" ]; then
  echo_servers+=(weft_sample); cmd[weft_sample]="$build/samples/echo_server --workers 1"
fi
echo_servers+=(go gevent)
http_servers=(http_limit)
if [ -x "$build/samples/http_server" ]; then
  http_servers+=(http_weft); cmd[http_weft]="$build/samples/http_server --workers 1"
else
  echo "run_all: samples/http_server is not built yet: HTTP runs without weft"
fi
http_servers+=(http_go)

# --- helpers -----------------------------------------------------------------
free_port() { "$py" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

srv_pid=""
# start_server NAME PORT [PREFIX...]: starts it (behind PREFIX, e.g. taskset), waits
# until it prints its "listening" line or its port accepts a connection.
start_server() {
  local name=$1 port=$2; shift 2
  # shellcheck disable=SC2086
  "$@" ${cmd[$name]} --port "$port" >"$out/server.log" 2>&1 &
  srv_pid=$!
  for _ in $(seq 300); do
    grep -q listening "$out/server.log" 2>/dev/null && return 0
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && return 0
    kill -0 "$srv_pid" 2>/dev/null || break
    sleep 0.05
  done
  echo "run_all: server $name did not start:" >&2; cat "$out/server.log" >&2; return 1
}
# stop_server: SIGTERM, then waits (the C++ servers exit 0 on SIGTERM).
stop_server() {
  [ -n "$srv_pid" ] || return 0
  pkill -TERM -P "$srv_pid" 2>/dev/null || true
  kill -TERM "$srv_pid" 2>/dev/null || true
  wait "$srv_pid" 2>/dev/null || true
  srv_pid=""
}
dns_pid=""
cleanup() { stop_server; [ -z "$dns_pid" ] || kill "$dns_pid" 2>/dev/null || true; }
trap cleanup EXIT
trap 'exit 130' INT TERM

# record KEY=VALUE... JSON: appends one result line (extra fields + the tool's JSON).
record() {
  local json=${!#} extra=""
  for kv in "${@:1:$#-1}"; do extra+="\"${kv%%=*}\":\"${kv#*=}\","; done
  echo "{${extra}${json#\{}" >>"$results"
}

# --- the plan, for progress -----------------------------------------------------
total=0
want echo && total=$((total + rounds * ${#sizes[@]} * ${#conns_list[@]} * ${#echo_servers[@]}))
want http && total=$((total + rounds * ${#http_conns[@]} * ${#http_servers[@]}))
want dns && total=$((total + rounds * 3))
want instr && total=$((total + 6))
step=0
t_start=$(date +%s)
progress() {
  step=$((step + 1))
  local el=$(($(date +%s) - t_start)) left=""
  ((step > 1)) && left=", about $((el * (total - step + 1) / (step - 1)))s left"
  echo "[$step/$total${left}] $*"
}

# --- echo --------------------------------------------------------------------
run_echo() {  # round size conns server
  local port; port=$(free_port)
  start_server "$4" "$port" "${pin0[@]}" || { record round="$1" bench=echo server="$4" \
    "{\"size\":$2,\"conns\":$3,\"failed\":1}"; return; }
  local r
  r=$("${pin1[@]}" "$B/loadgen" --port "$port" --conns "$3" --size "$2" --seconds "$secs" --warmup "$warm") || r='{"failed":1}'
  stop_server
  record round="$1" bench=echo server="$4" "$r"
}

# --- http --------------------------------------------------------------------
run_http() {  # round conns server
  local port; port=$(free_port)
  start_server "$3" "$port" "${pin0[@]}" || return 0
  local w rps p50 p99 errs
  w=$("${pin1[@]}" wrk -t1 -c"$2" -d"${wrk_secs}s" --latency "http://127.0.0.1:$port/" 2>&1) || true
  stop_server
  rps=$(awk '/^Requests\/sec:/ {print $2}' <<<"$w")
  p50=$(awk '$1=="50%" {print $2}' <<<"$w")
  p99=$(awk '$1=="99%" {print $2}' <<<"$w")
  errs=$(awk '/Non-2xx|Socket errors/ {for (i=1;i<=NF;i++) if ($i ~ /^[0-9]+,?$/) s+=$i} END {print s+0}' <<<"$w")
  record round="$1" bench=http server="$3" p50="$p50" p99="$p99" \
    "{\"conns\":$2,\"rt_per_s\":${rps:-0},\"errors\":$errs}"
}

# --- dns ---------------------------------------------------------------------
start_dnsmasq() {
  local port
  for _ in 1 2 3 4 5; do
    port=$(free_port)
    /usr/sbin/dnsmasq --no-daemon --no-resolv --no-hosts --conf-file=/dev/null --user=root --pid-file= \
      --bind-interfaces --listen-address=127.0.0.1 --port="$port" --address=/bench.test/10.9.0.1 \
      --local=/test/ --log-facility=/dev/null >"$out/dnsmasq.log" 2>&1 &
    dns_pid=$!
    sleep 0.3
    if kill -0 "$dns_pid" 2>/dev/null; then dns_port=$port; return 0; fi
  done
  echo "run_all: dnsmasq did not start" >&2; cat "$out/dnsmasq.log" >&2; return 1
}
run_dns() {  # round way
  local r
  case "$2" in
    fibers | sequential) r=$("${pin0[@]}" "$B/dns_bench" --port "$dns_port" --names "$dns_names" --mode "$2") ;;
    gevent) r=$("${pin0[@]}" "$py" "$here/gevent/dns.py" --port "$dns_port" --names "$dns_names") ;;
  esac || true
  record round="$1" bench=dns way="$2" "${r:-{\"failed\":1\}}"
}

# --- instructions and syscalls per round trip ----------------------------------
# One measurement: the server under a tool, loadgen makes exactly N round trips
# at 100 connections, then the server exits on SIGTERM. Two sizes of N give
# the per-round-trip figure without start-up costs: (X(N2) - X(N1)) / (N2 - N1).
run_instr() {  # tool server
  local tool=$1 name=$2 vals=() v
  for n in "${instr_rt[@]}"; do
    for _try in 1 2; do  # a run whose server failed to start under the tool is run again
      v=$(instr_once "$tool" "$name" "$n")
      [ -n "$v" ] && break
    done
    vals+=("$v")
  done
  record bench=instr tool="$tool" server="$name" \
    "{\"n1\":${instr_rt[0]},\"n2\":${instr_rt[1]},\"v1\":${vals[0]:-0},\"v2\":${vals[1]:-0}}"
}
# instr_once TOOL SERVER N: prints the tool's total (instructions or syscalls) for N round trips.
instr_once() {
  local tool=$1 name=$2 n=$3
  local port; port=$(free_port)
  rm -f "$out/cg.out" "$out/strace.out"
  if [ "$tool" = callgrind ]; then
    start_server "$name" "$port" "${pin0[@]}" valgrind --tool=callgrind --callgrind-out-file="$out/cg.out" || return 0
  else
    start_server "$name" "$port" "${pin0[@]}" strace -f -c -o "$out/strace.out" || return 0
  fi
  "${pin1[@]}" "$B/loadgen" --port "$port" --conns 100 --warmup 0 --seconds 120 --round-trips "$n" >/dev/null
  stop_server
  if [ "$tool" = callgrind ]; then
    cp "$out/cg.out" "$out/cg-$name-$n.out" 2>/dev/null && awk '/^(summary|totals):/ {print $2; exit}' "$out/cg.out"
  else
    cp "$out/strace.out" "$out/strace-$name-$n.out" 2>/dev/null && awk '$NF=="total" {print $(NF-2); exit}' "$out/strace.out"
  fi
}

# --- run ---------------------------------------------------------------------
for ((r = 1; r <= rounds; r++)); do
  if want echo; then
    for size in "${sizes[@]}"; do
      for c in "${conns_list[@]}"; do
        for s in "${echo_servers[@]}"; do
          progress "round $r/$rounds echo ${size} B, $c connections: $s"
          run_echo "$r" "$size" "$c" "$s"
        done
      done
    done
  fi
  if want http; then
    for c in "${http_conns[@]}"; do
      for s in "${http_servers[@]}"; do
        progress "round $r/$rounds http, $c connections: $s"
        run_http "$r" "$c" "$s"
      done
    done
  fi
  if want dns; then
    [ -n "$dns_pid" ] || start_dnsmasq
    for way in fibers sequential gevent; do
      progress "round $r/$rounds dns, $dns_names names: $way"
      run_dns "$r" "$way"
    done
  fi
done
if want instr; then
  for tool in callgrind strace; do
    for s in limit weft_api weft_hooked; do
      progress "per round trip, 100 connections, 2 runs: $tool, $s"
      run_instr "$tool" "$s"
    done
  done
fi

cleanup
dns_pid=""
echo "run_all: writing $report"
"$py" "$here/io_report.py" "$results" --out "$report" --plots "$(dirname "$report")/plots" \
  --meta "machine=$(lscpu | awk -F: '/Model name/ {gsub(/^ +/,"",$2); print $2; exit}'), $(nproc) CPUs" \
  --meta "kernel=$(uname -r)" \
  --meta "compiler=$(c++ --version | head -1)" \
  --meta "go=$(go version | awk '{print $3}')" \
  --meta "gevent=$("$py" -c 'import gevent; print(gevent.__version__)')" \
  --meta "revision=$(git -C "$root" rev-parse --short HEAD)$(git -C "$root" diff --quiet || echo '+dirty')" \
  --meta "date=$(date -u '+%Y-%m-%d %H:%M UTC')" \
  --meta "load=$(cut -d' ' -f1-3 /proc/loadavg)" \
  --meta "command=bench/run_all.sh$( ((quick)) && echo ' --quick') (rounds=$rounds, ${secs}s per run)" \
  --meta "raw=$results"
echo "run_all: done ($(($(date +%s) - t_start))s)"
