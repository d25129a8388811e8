#!/usr/bin/env bash
# tools/test.sh — the whole check in one command: installs missing Debian
# packages, builds weft in build/ (reused between runs), runs every meson test
# and ends with the line "N passed, N failed, N skipped". Exits non-zero if the
# build or any test failed, or if no test ran. Works without a tty (CI=true).
# Extra arguments go to `meson test` (e.g. --suite core).
# Env: WEFT_BUILD_DIR (default build/), WEFT_MESON_OPTIONS (setup options),
#      WEFT_TIMEOUT_MULTIPLIER (default 1),
#      WEFT_CONFORMANCE=1: after the release run, also run the conformance
#        suite (CPython's stdlib tests plain and under weft-run, both thread
#        modes; tests/conformance/, a few minutes) and print its table,
#      WEFT_URING=1: after the release run, also run the suites that have
#        no _uring variants of their tests (threads, processes, samples,
#        boost, and conformance with WEFT_CONFORMANCE=1) once more with
#        WEFT_BACKEND=uring, where liburing was found (core, hooks and
#        faults rerun on uring in the release run itself),
#      WEFT_SANITIZE: after the release run, also build and test with
#        sanitizers: "address" (ASan+UBSan, the whole suite, in build-asan/),
#        "thread" (TSan, the tests that use threads, in build-tsan/), or both
#        ("address,thread"); see tools/sanitize.sh.
set -uo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${WEFT_BUILD_DIR:-$root/build}
export WEFT_BUILD_DIR=$build
start=$(date +%s)

bash "$root/tools/deps.sh" || { echo "deps failed"; echo "0 passed, 1 failed"; exit 1; }
if ! bash "$root/tools/build.sh"; then
  echo "build failed"
  echo "0 passed, 1 failed"
  exit 1
fi

log=$build/meson-logs/testlog.json
rm -f "$log"
meson test -C "$build" --print-errorlogs \
  --timeout-multiplier "${WEFT_TIMEOUT_MULTIPLIER:-1}" "$@"
rc=$?

logs=("$log")
if [[ ${WEFT_CONFORMANCE:-0} == 1 ]]; then
  conf_start=$(date +%s)
  rm -f "$build/meson-logs/conformance.json"
  # Not part of the default test setup (tests/meson.build): asked by suite.
  meson test -C "$build" --print-errorlogs --suite conformance --logbase conformance \
    --timeout-multiplier "${WEFT_TIMEOUT_MULTIPLIER:-1}" || rc=1
  if [[ -s $build/meson-logs/conformance.json ]]; then
    logs+=("$build/meson-logs/conformance.json")
    /usr/bin/python3 "$root/tests/conformance/conformance.py" --summary "$build/tests/conformance/logs" || true
  else
    echo "test.sh: the conformance suite ran no test (no /usr/bin/python3 test package?)"
    rc=1
  fi
  echo "test.sh: conformance suite took $(($(date +%s) - conf_start)) s"
fi
# (grep -c, not -q: -q would end the pipe early and pipefail fail the test)
if [[ ${WEFT_URING:-0} == 1 ]] && (($(meson test -C "$build" --list 2>/dev/null | grep -c "^weft:uring ") > 0)); then
  uring_start=$(date +%s)
  rm -f "$build/meson-logs/uringall.json"
  WEFT_BACKEND=uring meson test -C "$build" --print-errorlogs --logbase uringall \
    --suite threads --suite processes --suite samples --suite boost \
    --timeout-multiplier "${WEFT_TIMEOUT_MULTIPLIER:-1}" || rc=1
  [[ -s $build/meson-logs/uringall.json ]] && logs+=("$build/meson-logs/uringall.json")
  if [[ ${WEFT_CONFORMANCE:-0} == 1 ]]; then
    rm -f "$build/meson-logs/conformance_uring.json"
    WEFT_BACKEND=uring meson test -C "$build" --print-errorlogs --suite conformance --logbase conformance_uring \
      --timeout-multiplier "${WEFT_TIMEOUT_MULTIPLIER:-1}" || rc=1
    [[ -s $build/meson-logs/conformance_uring.json ]] && logs+=("$build/meson-logs/conformance_uring.json")
  fi
  echo "test.sh: the uring reruns took $(($(date +%s) - uring_start)) s"
fi
for mode in ${WEFT_SANITIZE:+${WEFT_SANITIZE//,/ }}; do
  san_start=$(date +%s)
  if ! bash "$root/tools/sanitize.sh" "$mode"; then
    echo "test.sh: sanitizer run '$mode' failed"
    rc=1
  fi
  case "$mode" in address) dir=build-asan ;; thread) dir=build-tsan ;; *) dir=build-$mode ;; esac
  if [[ -s $root/$dir/meson-logs/testlog.json ]]; then
    logs+=("$root/$dir/meson-logs/testlog.json")
  else
    echo "test.sh: no test ran in $dir"
  fi
  echo "test.sh: sanitizer run '$mode' took $(($(date +%s) - san_start)) s"
done

echo "test.sh: $(($(date +%s) - start)) s in total"
if [[ ! -s $log ]]; then
  echo "no test ran (meson test exited $rc)"
  echo "0 passed, 1 failed"
  exit 1
fi
python3 "$root/tools/summarize_testlog.py" "${logs[@]}"
sum=$?
if ((rc != 0 && sum == 0)); then
  echo "meson test exited $rc"
  exit "$rc"
fi
exit "$sum"
