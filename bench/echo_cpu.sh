#!/usr/bin/env bash
# bench/echo_cpu.sh [--rounds R] [--seconds S] [--conns "100 1000"] [name=command ...]
#
# Server CPU time and syscalls per echo round trip, from software counters
# (this machine has no hardware ones): each server runs pinned to CPU 0 under
#   perf stat -x, -e task-clock,raw_syscalls:sys_enter -- <command> --port N
# so perf counts that process and its threads only, never the load generator,
# which runs pinned to CPU 1 (bench/loadgen, 64-byte ping-pong, one message in
# flight per connection). The server is stopped with SIGTERM, sent to the
# server itself (perf's child), so it exits normally and perf prints.
#
# Warm-up: loadgen can leave its warm-up out of its own count, but not out of
# the server's counters, so every main run (--warmup 0 --seconds S) has a
# start-up run beside it (same server and connection count, --round-trips 1:
# start, accept every connection, one message each, stop). Per round trip is
#   (main - start-up) / (main round trips - start-up round trips)
# so process start, accepting, the first touch of stacks and shutdown cancel.
#
# Counting raw_syscalls:sys_enter sends each of the server's syscalls through
# the tracing path (about +150 ns a syscall on this VM, the same for every
# server), which shrinks CPU ratios a little. CPU per round trip also depends
# on how many events one epoll wait returns, so on a loaded host the rounds
# swing: judge the median of per-round ratios over many rounds.
#
# For R rounds, for each connection count, the servers run back to back in
# the order given. The table gives per server and connection count the median
# (min-max) of CPU ns and syscalls per round trip, round trips/s, and the
# median of the per-round ratios to the first server (the reference).
#
#   servers    name=command, the port is appended as "--port N"; default
#              limit=$BUILD_DIR/bench/echo_limit
#              weft=$BUILD_DIR/samples/echo_server --workers 1
#   BUILD_DIR  where loadgen (and the default servers) live (default <repo>/build)
#   ROUNDS (5), SECONDS_PER_RUN (4), CONNS ("100 1000"), SIZE (64) also as env.
# Raw lines (one per run) go to $OUT (default $BUILD_DIR/echo-cpu/<time>/runs.tsv).
# linux-perf is installed with apt-get when perf is missing or cannot count.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
build=${BUILD_DIR:-$root/build}
rounds=${ROUNDS:-5}
secs=${SECONDS_PER_RUN:-4}
conns_list=${CONNS:-100 1000}
size=${SIZE:-64}
while [ $# -gt 0 ]; do
  case "$1" in
    --rounds) rounds=$2; shift 2 ;;
    --seconds) secs=$2; shift 2 ;;
    --conns) conns_list=$2; shift 2 ;;
    *=*) break ;;
    *) echo "usage: $0 [--rounds R] [--seconds S] [--conns \"100 1000\"] [name=command ...]" >&2; exit 2 ;;
  esac
done
[[ $rounds =~ ^[1-9][0-9]*$ ]] || { echo "echo_cpu: --rounds must be a positive number" >&2; exit 2; }
names=()
declare -A cmd=()
if [ $# -eq 0 ]; then
  set -- "limit=$build/bench/echo_limit" "weft=$build/samples/echo_server --workers 1"
fi
for s in "$@"; do
  [[ $s == *=* ]] || { echo "echo_cpu: a server is name=command, got: $s" >&2; exit 2; }
  names+=("${s%%=*}"); cmd[${s%%=*}]=${s#*=}
done
loadgen=${LOADGEN:-$build/bench/loadgen}
[ -x "$loadgen" ] || { echo "echo_cpu: $loadgen missing (meson compile -C $build bench/loadgen)" >&2; exit 1; }

# --- perf --------------------------------------------------------------------
if ! perf stat -x, -e task-clock,raw_syscalls:sys_enter -o /dev/null true 2>/dev/null; then
  echo "echo_cpu: installing linux-perf with apt-get"
  sudo=(); ((EUID == 0)) || sudo=(sudo)
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends linux-perf ||
    { "${sudo[@]}" apt-get update -q && "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive \
        apt-get install -y -q --no-install-recommends linux-perf; }
  perf stat -x, -e task-clock,raw_syscalls:sys_enter -o /dev/null true ||
    { echo "echo_cpu: perf cannot count task-clock,raw_syscalls:sys_enter here" >&2; exit 1; }
fi

out=${OUT:-$build/echo-cpu/$(date -u +%Y%m%dT%H%M%SZ)}
mkdir -p "$out"
runs="$out/runs.tsv"
printf 'round\tconns\tserver\tkind\ttask_ns\tsyscalls\tround_trips\trt_per_s\n' >"$runs"
pin0=(); pin1=()
if taskset -c 1 true 2>/dev/null; then pin0=(taskset -c 0); pin1=(taskset -c 1); fi
py=/usr/bin/python3

free_port() { "$py" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

perf_pid=""
# stop_server: SIGTERM to the server (perf's child) once a second until it
# exits, SIGKILL after 10 s (perf prints either way), then waits for perf.
stop_server() {
  [ -n "$perf_pid" ] || return 0
  local child="" i
  for ((i = 0; i < 100; i++)); do
    kill -0 "$perf_pid" 2>/dev/null || break
    [ -n "$child" ] || child=$(pgrep -P "$perf_pid" || true)  # perf forks it at once
    if ((i % 10 == 0)); then
      ((i == 0)) || echo "echo_cpu: server $child still running ${i}00 ms after SIGTERM; sending it again" >&2
      [ -z "$child" ] || kill -TERM "$child" 2>/dev/null || true
    fi
    sleep 0.1
  done
  if kill -0 "$perf_pid" 2>/dev/null; then
    echo "echo_cpu: server $child did not exit on SIGTERM; killing it" >&2
    kill -KILL "${child:-$perf_pid}" 2>/dev/null || true
  fi
  wait "$perf_pid" 2>/dev/null || true
  perf_pid=""
}
trap stop_server EXIT
trap 'exit 130' INT TERM

# one ROUND CONNS SERVER KIND: one server process under perf; KIND main runs
# loadgen for S seconds, KIND start makes one round trip per connection.
# Appends a line to runs.tsv (task_ns empty when the run failed).
one() {
  local round=$1 conns=$2 name=$3 kind=$4 port lg r
  port=$(free_port)
  rm -f "$out/perf.txt" "$out/server.log"  # no stale "listening" line from the last run
  # shellcheck disable=SC2086
  "${pin0[@]}" perf stat -x, -o "$out/perf.txt" -e task-clock,raw_syscalls:sys_enter -- \
    ${cmd[$name]} --port "$port" >"$out/server.log" 2>&1 &
  perf_pid=$!
  for _ in $(seq 200); do
    grep -q listening "$out/server.log" 2>/dev/null && break
    kill -0 "$perf_pid" 2>/dev/null || break
    sleep 0.05
  done
  if ! grep -q listening "$out/server.log"; then
    stop_server; echo "echo_cpu: $name did not start:" >&2; cat "$out/server.log" "$out/perf.txt" >&2 2>/dev/null || true
    printf '%s\t%s\t%s\t%s\t\t\t\t\n' "$round" "$conns" "$name" "$kind" >>"$runs"; return
  fi
  if [ "$kind" = main ]; then lg=(--seconds "$secs"); else lg=(--round-trips 1 --seconds 30); fi
  r=$("${pin1[@]}" "$loadgen" --port "$port" --conns "$conns" --size "$size" --warmup 0 "${lg[@]}") || r=""
  stop_server
  "$py" - "$out/perf.txt" "$r" "$round" "$conns" "$name" "$kind" >>"$runs" <<'EOF'
import json, sys
perf, lg, *key = sys.argv[1:]
v = {}
try:
    for line in open(perf):
        f = line.strip().split(",")
        if len(f) > 2 and not line.startswith("#"):
            v[f[2]] = f[0]
    j = json.loads(lg)
    ok = j["errors"] == 0 and j["mismatches"] == 0 and j["round_trips"] > 0
    ns = float(v["task-clock"]) * 1e6          # perf prints task-clock in msec
    sc = int(v["raw_syscalls:sys_enter"])
    row = [f"{ns:.0f}", str(sc), str(j["round_trips"]), str(j["rt_per_s"])] if ok else ["", "", "", ""]
except (OSError, ValueError, KeyError):
    row = ["", "", "", ""]
print("\t".join(key + row))
EOF
  [ -n "$(tail -1 "$runs" | cut -f5)" ] || echo "echo_cpu: run failed: $name $conns $kind: $r" >&2
}

# --- run ---------------------------------------------------------------------
echo "echo_cpu: $rounds rounds, ${secs}s per run, $size B, connections: $conns_list; servers: ${names[*]}"
echo "echo_cpu: load average at start $(cut -d' ' -f1-3 /proc/loadavg)"
for ((r = 1; r <= rounds; r++)); do
  for c in $conns_list; do
    for s in "${names[@]}"; do
      echo "round $r/$rounds, $c connections: $s"
      one "$r" "$c" "$s" start
      one "$r" "$c" "$s" main
    done
  done
done
echo "echo_cpu: load average at end $(cut -d' ' -f1-3 /proc/loadavg); runs in $runs"

# --- table -------------------------------------------------------------------
"$py" - "$runs" "${names[@]}" <<'EOF'
import csv, statistics as st, sys
runs, names = sys.argv[1], sys.argv[2:]
rows = list(csv.DictReader(open(runs), delimiter="\t"))
get = {(r["round"], r["conns"], r["server"], r["kind"]): r for r in rows}
per = {}  # (conns, server) -> {round: (cpu ns/rt, syscalls/rt, rt/s)}
for (rnd, c, s, kind), m in get.items():
    b = get.get((rnd, c, s, "start"))
    if kind != "main" or not m["task_ns"] or not b or not b["task_ns"]:
        continue
    n = int(m["round_trips"]) - int(b["round_trips"])
    per.setdefault((c, s), {})[rnd] = (
        (float(m["task_ns"]) - float(b["task_ns"])) / n,
        (int(m["syscalls"]) - int(b["syscalls"])) / n, float(m["rt_per_s"]))
def fig(xs, fmt):
    return f"{fmt.format(st.median(xs))} ({fmt.format(min(xs))}–{fmt.format(max(xs))})" if xs else "–"
ref = names[0]
print(f"\n| server | conns | rounds | CPU ns/RT | syscalls/RT | RT/s | CPU / {ref} | syscalls / {ref} |")
print("|---|---|---|---|---|---|---|---|")
for c in sorted({c for c, _ in per}, key=int):
    for s in names:
        d = per.get((c, s), {})
        base = per.get((c, ref), {})
        rc = [d[k][0] / base[k][0] for k in d if k in base]
        rs = [d[k][1] / base[k][1] for k in d if k in base]
        print(f"| {s} | {c} | {len(d)} | {fig([v[0] for v in d.values()], '{:.0f}')} | "
              f"{fig([v[1] for v in d.values()], '{:.3f}')} | {fig([v[2] for v in d.values()], '{:.0f}')} | "
              f"{fig(rc, '{:.3f}')} | {fig(rs, '{:.3f}')} |")
EOF
