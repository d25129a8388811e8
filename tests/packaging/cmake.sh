#!/usr/bin/env bash
# tests/packaging/cmake.sh — a CMake project using find_package(weft 0.1)
# against a staged install builds weft::weft and weft::weft_static consumers
# that run. The stage is not the configured prefix, so this also checks that
# weftConfig.cmake finds the prefix relative to its own directory.
# shellcheck source=tests/packaging/common.sh
source "$(dirname "$0")/common.sh"
stage_install

cp -r "$here/cmake" "$work/src"
cp "$here/app.cpp" "$work/src/"
cmake -S "$work/src" -B "$work/build" -G Ninja -DCMAKE_PREFIX_PATH="$stage$prefix" \
  -DCMAKE_BUILD_TYPE=Release >"$work/cmake.log" 2>&1 || { cat "$work/cmake.log"; die "cmake configure failed"; }
grep 'weft_consumer' "$work/cmake.log"
grep -q "weft_DIR=$libdir/cmake/weft" "$work/cmake.log" || die "found a weft other than the staged one"
cmake --build "$work/build" >"$work/build.log" 2>&1 || { cat "$work/build.log"; die "cmake build failed"; }

needed "$work/build/app" libweft.so
expect_output "$work/build/app"
not_needed "$work/build/app_static" libweft
expect_output "$work/build/app_static"

# A version the package does not satisfy is refused.
if cmake -S "$work/src" -B "$work/build2" -G Ninja -DCMAKE_PREFIX_PATH="$stage$prefix" \
  -DWEFT_WANT_VERSION=99.0 >"$work/cmake2.log" 2>&1; then
  die "find_package(weft 99.0) succeeded"
fi
echo "CMake consumers OK"
