#!/usr/bin/env bash
# tests/packaging/subproject.sh — a meson project with weft under
# subprojects/ (a symlink to this source tree; no network) builds a consumer
# through dependency('weft') that runs.
# shellcheck source=tests/packaging/common.sh
source "$(dirname "$0")/common.sh"

mkdir -p "$work/src/subprojects"
cp "$here/subproject/meson.build" "$here/app.cpp" "$work/src/"
ln -s "$source_root" "$work/src/subprojects/weft"
meson setup "$work/build" "$work/src" >"$work/setup.log" 2>&1 || { cat "$work/setup.log"; die "meson setup failed"; }
meson compile -C "$work/build" >"$work/compile.log" 2>&1 || { cat "$work/compile.log"; die "meson compile failed"; }
expect_output "$work/build/app"
echo "meson subproject consumer OK"
