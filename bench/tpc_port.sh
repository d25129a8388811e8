#!/bin/sh
# bench/tpc_port.sh — the thread-per-connection echo server
# (samples/tpc_port.c) at N connections of 64-byte ping-pong, on OS
# threads and under weft-run (threads as fibers): round trips per second,
# the server's CPU time (user + system) per round trip, its OS threads and
# memory (RSS + 16 KiB of kernel stack per OS thread) once every connection
# has its thread. On a shared machine trips/s follows the CPU share the
# server gets (the kernel shares CPU per thread, so 5,000 runnable threads
# outbid one carrier); cpu_us/trip does not.
#
#   bench/tpc_port.sh [build-dir] [conns] [seconds] [workers...]
#
# Defaults: build, 5000 connections, 5 s, workers 1 and 2. The load
# generator is tests/threads/loadgen (epoll, one thread). PIN=1 pins the
# server to CPU 1 and the load generator to CPU 0 (the same one-core budget
# for both servers; use workers 1 then).
set -eu
build=${1:-build}
conns=${2:-5000}
secs=${3:-5}
shift $(( $# < 3 ? $# : 3 ))
workers=${*:-1 2}
tpc=$build/tests/threads/tpc_port
loadgen=$build/tests/threads/loadgen
run=$build/hooks/preload/weft-run
for f in "$tpc" "$loadgen" "$run"; do
  [ -x "$f" ] || { echo "bench/tpc_port.sh: $f missing; build first (meson compile -C $build)" >&2; exit 1; }
done
server_cpu= load_cpu=
if [ "${PIN:-0}" = 1 ]; then server_cpu="taskset -c 1" load_cpu="taskset -c 0"; fi
err=$(mktemp)
trap 'rm -f "$err"' EXIT

# one <label> <command...>: runs the server, drives it, prints a table row.
one() {
  label=$1
  shift
  : >"$err"  # not the previous server's port
  $server_cpu "$@" "$tpc" --port 0 2>"$err" &
  pid=$!
  port=
  for _ in $(seq 100); do
    port=$(sed -n 's/.*listening on .*:\([0-9]*\)$/\1/p' "$err")
    [ -n "$port" ] && break
    sleep 0.05
  done
  out=$($load_cpu "$loadgen" --port "$port" --conns "$conns" --size 64 --seconds "$secs" --watch-pid "$pid" 2>&1) ||
    echo "bench/tpc_port.sh: $label: loadgen reported errors: $(echo "$out" | grep -v '^server_\|^round' | tr '\n' ' ')" >&2
  kill "$pid"
  wait "$pid" 2>/dev/null || true
  threads=$(echo "$out" | sed -n 's/.*server_threads=\([0-9]*\).*/\1/p')
  rss=$(echo "$out" | sed -n 's/.*server_rss_kb=\([0-9]*\).*/\1/p')
  rate=$(echo "$out" | sed -n 's/.*round_trips_per_s=\([0-9]*\).*/\1/p')
  cpu=$(echo "$out" | sed -n 's/.*server_cpu_us_per_trip=\([0-9.]*\).*/\1/p')
  mem=$((rss + 16 * threads))
  printf '%-18s %10s %12s %8s %10s %12s\n' "$label" "$rate" "$cpu" "$threads" "$rss" "$mem"
}

printf '%-18s %10s %12s %8s %10s %12s\n' "server" "trips/s" "cpu_us/trip" "threads" "rss_KiB" "rss+kstk_KiB"
one "os-threads" env
for w in $workers; do
  one "fibers-workers=$w" "$run" --workers "$w" --
done
