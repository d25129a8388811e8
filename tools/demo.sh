#!/usr/bin/env bash
# tools/demo.sh — the README's first command: shows in well under a minute
# what weft does, from nothing.
#
# It installs missing Debian packages (tools/deps.sh), builds the samples it
# needs into build/, then
#   1. runs samples/demo (10,000 sleeping fibers, a channel pipeline, an echo);
#   2. runs the porting stories side by side, each first as the plain blocking
#      program (one thing after another) and then on weft fibers, unchanged:
#        redis_fanout  hiredis' blocking API against a redis-server it starts,
#        fetch_many    libcurl's blocking easy API against samples/http_server
#                      --delay-ms (which it starts too);
#   3. prints a table: what ran, how long, how many OS threads, the speed-up.
# Everything it starts listens on 127.0.0.1 ports picked at run time and is
# stopped on exit, Ctrl-C or failure. `demo.sh --check` exits 1 if any
# result was wrong (the demo's own checks, redis values, HTTP bodies).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
export WEFT_BUILD_DIR=${WEFT_BUILD_DIR:-$root/build}
bin=$WEFT_BUILD_DIR/samples
check=0
[[ ${1:-} == --check ]] && check=1

# --- what we start, and how it is stopped ---
work=$(mktemp -d)
pids=()
cleanup() {
  local p
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do
    # give each a moment to stop cleanly, then make sure
    for _ in 1 2 3 4 5 6 7 8 9 10; do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$p" 2>/dev/null || true
    wait "$p" 2>/dev/null || true
  done
  rm -rf "$work"
}
trap cleanup EXIT
trap 'echo; echo "demo: interrupted"; exit 130' INT TERM

bash "$root/tools/deps.sh"
echo "demo: building the samples in $WEFT_BUILD_DIR ..."
if ! bash "$root/tools/build.sh" samples/demo samples/http_server samples/redis_fanout samples/fetch_many \
  >"$work/build.log" 2>&1; then
  cat "$work/build.log"
  echo "demo: build failed" >&2
  exit 1
fi

# wait_line FILE TEXT: waits (10 s at most) until FILE has a line containing TEXT.
wait_line() {
  for _ in $(seq 100); do
    grep -q -- "$2" "$1" 2>/dev/null && return 0
    sleep 0.1
  done
  echo "demo: gave up waiting for '$2' in $1:" >&2
  cat "$1" >&2
  return 1
}

# free_port: a loopback TCP port nobody listens on right now.
free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# field LINE KEY: the value of KEY=... in a "result: k=v ..." line.
field() { sed -n "s/.*[[:space:]]$2=\([^[:space:]]*\).*/\1/p" <<<"$1"; }

failed=0

# --- 1. the fiber basics ---
echo
demo_args=()
((check)) && demo_args=(--check)
"$bin/demo" "${demo_args[@]}" || failed=1

# --- 2. the servers the stories talk to ---
redis_port=$(free_port)
redis-server --port "$redis_port" --bind 127.0.0.1 --save '' --appendonly no --daemonize no \
  >"$work/redis.log" 2>&1 &
pids+=($!)
delay_ms=100
"$bin/http_server" --port 0 --delay-ms "$delay_ms" >"$work/http.log" 2>&1 &
pids+=($!)
wait_line "$work/redis.log" "Ready to accept connections"
wait_line "$work/http.log" "listening on"
http_port=$(sed -n 's/.*listening on 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$work/http.log")

# --- 3. the porting stories ---
echo
echo "Porting stories: unchanged blocking client libraries, first one call after"
echo "another, then from fibers (redis-server :$redis_port, http_server --delay-ms $delay_ms :$http_port)"
echo
jobs=1000
if redis_out=$("$bin/redis_fanout" --port "$redis_port" --jobs "$jobs" --pool 50 2>&1); then :; else failed=1; fi
sed 's/^/  /' <<<"$redis_out" | grep -v '^  result:'
fetches=20
if curl_out=$("$bin/fetch_many" --url "http://127.0.0.1:$http_port/" --fibers "$fetches" --sequential 2>&1); then :; else
  failed=1
fi
sed 's/^/  /' <<<"$curl_out" | grep -v '^  result:'

r=$(grep '^result:' <<<"$redis_out" || true)
c=$(grep '^result:' <<<"$curl_out" || true)
echo
printf '  %-44s %12s %12s %11s %9s\n' "what ran" "sequential" "on fibers" "OS threads" "speed-up"
printf '  %-44s %12s %12s %11s %9s\n' "--------" "----------" "---------" "----------" "--------"
printf '  %-44s %9s ms %9s ms %11s %8sx\n' "hiredis: $jobs SET+GET, pool of 50 connections" \
  "$(field "$r" seq_ms)" "$(field "$r" conc_ms)" "$(field "$r" threads)" "$(field "$r" speedup)"
printf '  %-44s %9s ms %9s ms %11s %8sx\n' "libcurl: $fetches GETs of a ${delay_ms} ms answer" \
  "$(field "$c" seq_ms)" "$(field "$c" conc_ms)" "$(field "$c" threads)" "$(field "$c" speedup)"
echo
echo "  Same library calls in both columns; the hooks in libweft park the fiber"
echo "  instead of the thread. Source: samples/redis_fanout.cpp, samples/fetch_many.cpp."
echo "  (A loopback redis answers in tens of microseconds, mostly CPU on these two"
echo "  cores, so there is little waiting to overlap; across a network it is the"
echo "  waiting that fibers hide, as the libcurl row shows.)"

if ((failed)); then
  echo "demo: something went wrong (see above)" >&2
  exit 1
fi
((check)) && echo "check: all stories OK"
exit 0
