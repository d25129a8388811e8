#!/usr/bin/env bash
# bench/file_fio.sh [MiB] — issue 14's file figures: bench/file_bench (hooked
# preads from 1,000 fibers on epoll+pool, uring, forced offload) beside fio
# (io_uring engine, iodepth 64, one job) on the same file, hot and cold.
# Needs Debian's fio. Default file: 1024 MiB in /tmp. Env: BUILD (build dir).
set -euo pipefail
mib=${1:-1024}
build=${BUILD:-$(cd "$(dirname "$0")/.." && pwd)/build}
file=/tmp/weft-file-bench-$$
trap 'rm -f "$file"' EXIT
dd if=/dev/urandom of="$file" bs=1M count="$mib" status=none
sync "$file"
fio_run() {  # $1: hot|cold
  local extra=(--invalidate=0)                       # hot: the file stays cached
  [[ $1 == cold ]] && extra=(--invalidate=1)          # cold: dropped at start, buffered reads like weft's
  fio --name="$1" --filename="$file" --rw=randread --bs=4k --ioengine=io_uring --iodepth=64 --numjobs=1 \
      --size="${mib}M" --runtime=5 --time_based --group_reporting --output-format=terse --terse-version=3 \
      "${extra[@]}" | awk -F';' -v m="$1" '{ c = $88 + $89; printf "%s_fio_io_uring_qd64_reads_per_s: %d\n%s_fio_reads_per_cpu_s: %.0f\n", m, $8, m, $8 * 100 / c }'
}
cat "$file" >/dev/null
fio_run hot
taskset -c 1 "$build/bench/file_bench" hot "$file"
fio_run cold
taskset -c 1 "$build/bench/file_bench" cold "$file"
