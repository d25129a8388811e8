#!/usr/bin/env bash
# tools/demo.sh — installs missing Debian packages, builds weft in build/ and
# runs samples/demo, which shows in a few seconds what weft does. Extra
# arguments go to the demo (--check makes it verify its own results).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
export WEFT_BUILD_DIR=${WEFT_BUILD_DIR:-$root/build}

bash "$root/tools/deps.sh"
echo "demo: building samples/demo in $WEFT_BUILD_DIR ..."
log=$(mktemp)
if ! bash "$root/tools/build.sh" samples/demo >"$log" 2>&1; then
  cat "$log"
  rm -f "$log"
  echo "demo: build failed" >&2
  exit 1
fi
rm -f "$log"
exec "$WEFT_BUILD_DIR/samples/demo" "$@"
