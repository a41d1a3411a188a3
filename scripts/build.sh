#!/bin/sh
# build.sh - configure and build postbeacon out of tree in build/ (or $1).
# Extra arguments after the directory go to configure.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
dir=${1:-$top/build}
[ $# -gt 0 ] && shift
[ -x "$top/configure" ] || "$top/autogen.sh" >/dev/null
mkdir -p "$dir"
cd "$dir"
[ -f Makefile ] || "$top/configure" --enable-werror "$@" >configure.out 2>&1 \
    || { tail -30 configure.out; exit 1; }
make -j"$(nproc)" >build.out 2>&1 || { grep -B2 -A8 -E "error|Error" build.out | head -80; exit 1; }
echo "build.sh: built in $dir"
