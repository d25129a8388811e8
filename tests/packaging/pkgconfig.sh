#!/usr/bin/env bash
# tests/packaging/pkgconfig.sh — a consumer built with
# `g++ -std=c++20 app.cpp $(pkg-config --cflags --libs weft)` against a staged
# install runs, both with libweft.so and statically with libweft.a.
# shellcheck source=tests/packaging/common.sh
source "$(dirname "$0")/common.sh"
stage_install

export PKG_CONFIG_PATH=$libdir/pkgconfig
export PKG_CONFIG_SYSROOT_DIR=$stage  # the .pc names /usr/local/...; the files are in the stage
pkg-config --exists weft || die "pkg-config does not find weft"
echo "weft.pc: version $(pkg-config --modversion weft)"
echo "cflags: $(pkg-config --cflags weft)"
echo "libs: $(pkg-config --libs weft)"
echo "static libs: $(pkg-config --static --libs weft)"
[[ $(pkg-config --modversion weft) == "$(sed -n 's/^Version: //p' "$PKG_CONFIG_PATH/weft.pc")" ]] || die "version mismatch"

cd "$work"
cp "$here/app.cpp" .
# shellcheck disable=SC2046  # pkg-config output is meant to be split
g++ -std=c++20 app.cpp $(pkg-config --cflags --libs weft) -Wl,-rpath,"$libdir" -o app_shared ||
  die "shared build failed"
needed app_shared libweft.so
expect_output ./app_shared

# Static: the same flags with libweft.a instead of -lweft (+ Libs.private).
# shellcheck disable=SC2046
g++ -std=c++20 app.cpp $(pkg-config --cflags weft) \
  $(pkg-config --static --libs weft | sed 's/-lweft\b/-l:libweft.a/') -o app_static ||
  die "static build failed"
not_needed app_static libweft
expect_output ./app_static
echo "pkg-config consumers OK"
