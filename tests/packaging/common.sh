# tests/packaging/common.sh — sourced by the packaging test scripts.
# shellcheck shell=bash disable=SC2034  # sets variables for the scripts that source it
# Arguments of every script: BUILD_ROOT SOURCE_ROOT PREFIX LIBDIR INCLUDEDIR
# (the top build dir, the weft source dir and meson's install dirs).
# Sets: work (a temp dir removed at exit), here (this folder).
set -euo pipefail

build_root=$1 source_root=$2 prefix=$3 libdir_opt=$4 includedir_opt=$5
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/weft-packaging.XXXXXX")
trap 'rm -rf "$work"' EXIT

# die MSG: fails the test with MSG.
die() {
  echo "FAIL: $*" >&2
  exit 1
}

# under_stage DIR: where meson's install dir DIR lands inside $stage.
under_stage() {
  case $1 in
    /*) echo "$stage$1" ;;
    *) echo "$stage$prefix/$1" ;;
  esac
}

# stage_install: `meson install` of the top build dir into $work/stage
# (DESTDIR); sets stage, libdir and includedir (absolute, inside the stage).
stage_install() {
  stage=$work/stage
  meson install -C "$build_root" --no-rebuild --quiet --destdir "$stage" >"$work/install.log" 2>&1 ||
    { cat "$work/install.log" >&2; die "meson install failed"; }
  libdir=$(under_stage "$libdir_opt")
  includedir=$(under_stage "$includedir_opt")
}

# expect_output CMD...: runs CMD and checks it prints the consumer's line.
expect_output() {
  local out
  out=$("$@") || die "$* exited $?: $out"
  echo "$*: $out"
  [[ $out == "weft consumer: sum=5050" ]] || die "$* printed '$out'"
}

# not_needed BIN LIB: fails if BIN has a DT_NEEDED entry for LIB.
not_needed() {
  if grep -q "(NEEDED).*\[$2" <<<"$(readelf -d "$1")"; then die "$1 needs $2 (should be static)"; fi
}

# needed BIN LIB: fails unless BIN has a DT_NEEDED entry for LIB.
needed() {
  grep -q "(NEEDED).*\[$2" <<<"$(readelf -d "$1")" || die "$1 does not need $2"
}
