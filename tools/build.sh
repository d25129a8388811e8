#!/usr/bin/env bash
# tools/build.sh [target...] — configures (or reuses) the meson build dir and
# compiles the given targets (everything when none). Used by test.sh and
# demo.sh after deps.sh. The build dir is $WEFT_BUILD_DIR, default build/ in
# the repo; extra `meson setup` options may be given in $WEFT_MESON_OPTIONS.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${WEFT_BUILD_DIR:-$root/build}
read -r -a extra <<<"${WEFT_MESON_OPTIONS:-}"

# A build dir meson made is reused (reconfigured, so option and meson.build
# changes apply); one that meson cannot reconfigure (another meson version,
# a half-made dir) is wiped and set up anew.
if [[ -f $build/meson-private/coredata.dat ]]; then
  log=$(mktemp)
  if meson setup --reconfigure "${extra[@]}" "$build" "$root" >"$log" 2>&1; then
    rm -f "$log"
  else
    tail -n 5 "$log"
    rm -f "$log"
    echo "build: $build cannot be reconfigured; wiping it"
    rm -rf "$build"
  fi
elif [[ -e $build ]]; then
  echo "build: $build is not a meson build dir; wiping it"
  rm -rf "$build"
fi
if [[ ! -f $build/meson-private/coredata.dat ]]; then
  meson setup "${extra[@]}" "$build" "$root"
fi

meson compile -C "$build" "$@"
