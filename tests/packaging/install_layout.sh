#!/usr/bin/env bash
# tests/packaging/install_layout.sh — `meson install` puts headers, both
# libraries, weft.pc and the CMake package where consumers look for them.
# shellcheck source=tests/packaging/common.sh
source "$(dirname "$0")/common.sh"
stage_install

for f in "$includedir/weft/weft.hpp" "$includedir/weft/detail/wait.hpp" \
         "$libdir/libweft.a" "$libdir/libweft.so" "$libdir/pkgconfig/weft.pc" \
         "$libdir/cmake/weft/weftConfig.cmake" "$libdir/cmake/weft/weftConfigVersion.cmake"; do
  [[ -e $f ]] || die "not installed: ${f#"$stage"}"
  echo "installed: ${f#"$stage"}"
done
# Every public header is installed, and nothing from runtime/ is.
(cd "$source_root/include" && find weft -name '*.hpp') | while read -r h; do
  [[ -f $includedir/$h ]] || die "header not installed: $h"
done
[[ -z $(find "$stage" -path '*runtime*') ]] || die "runtime/ internals installed"
# The shared library is versioned and exports the API but not internals.
grep -q '(SONAME).*\[libweft\.so\.[0-9]' <<<"$(readelf -d "$libdir/libweft.so")" || die "libweft.so has no versioned SONAME"
syms=$(nm -D -C --defined-only "$libdir/libweft.so")
grep -q 'weft::detail::run_scope::run_scope' <<<"$syms" || die "weft::detail::run_scope not exported"
if grep -q 'weft::detail::scheduler' <<<"$syms"; then die "runtime internals exported"; fi
echo "install layout OK"
