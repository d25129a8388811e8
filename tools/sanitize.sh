#!/usr/bin/env bash
# tools/sanitize.sh address|thread [meson test args...] — builds weft and its
# tests with sanitizers and runs them:
#   address: ASan + UBSan (-Db_sanitize=address,undefined) in build-asan/,
#            the whole suite but packaging; any UBSan report fails the test.
#            (Preload-mode tests are not built with sanitizers; see
#            tests/hooks/meson.build.)
#   thread:  TSan (-Db_sanitize=thread) in build-tsan/, the tests that use
#            more than one thread.
# The fiber switches are annotated for both (runtime/sanitizer.hpp).
# Benchmarks and samples are not built. Called by tools/test.sh when
# WEFT_SANITIZE is set; exits non-zero if the build or a test failed.
set -uo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
mode=${1:?usage: sanitize.sh address|thread}
shift
case "$mode" in
  address)
    build=$root/build-asan
    opts="-Db_sanitize=address,undefined -Dbenchmarks=false -Dsamples=false"
    # packaging: install-layout checks that build consumer projects; they
    # test no runtime code and take minutes.
    tests=(--no-suite packaging)
    ;;
  thread)
    build=$root/build-tsan
    opts="-Db_sanitize=thread -Dbenchmarks=false -Dsamples=false"
    # Tests whose fibers or wake-ups cross threads.
    # Not test_boost_bridges: its cross-carrier cases get TSan reports
    # inside Boost.Fiber's own code (buffered_channel against a worker's
    # run_), which TSan cannot judge: libboost_fiber.so is not instrumented
    # (its remote-ready spinlock's happens-before is invisible) and Boost's
    # context switches are not annotated, so Boost fibers are attributed to
    # their host weft fiber (docs/design.md, "Boost.Fiber interop").
    tests=(test_cross_thread test_offload test_hooks_file test_workers test_steal test_monitor test_fork
           test_faults_io test_faults_waits
           test_future test_fiber_local test_shared_recursive_mutex
           test_spawn_after test_wait_any test_select test_process test_signal
           test_boost_nohost test_uring test_workers_uring
           test_deadlock test_loop)
    ;;
  *) echo "sanitize.sh: unknown mode $mode (address|thread)" >&2; exit 2 ;;
esac

# Suppressions: none. Options: UBSan stops at the first report (otherwise it
# only prints); LeakSanitizer stays on.
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0
export TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1

# thread: build only the library and those tests (about half the build).
targets=()
rebuild=()
if [[ $mode == thread ]]; then
  # A test named <exe>_uring runs <exe> on the io_uring backend.
  for t in "${tests[@]}"; do
    [[ $t == test_uring || $t != *_uring ]] && targets+=("$t") || targets+=("${t%_uring}")
  done
  rebuild=(--no-rebuild)
fi
WEFT_BUILD_DIR=$build WEFT_MESON_OPTIONS=$opts bash "$root/tools/build.sh" "${targets[@]}" || exit 1
rm -f "$build/meson-logs/testlog.json"
meson test -C "$build" "${rebuild[@]}" --print-errorlogs --timeout-multiplier "${WEFT_TIMEOUT_MULTIPLIER:-3}" \
  "${tests[@]}" "$@"
