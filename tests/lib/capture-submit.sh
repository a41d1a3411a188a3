#!/bin/sh
# capture-submit.sh - a stand-in for sendmail in the submission tests
# (tests/check_submit.c): keeps each message it is given in a folder, so
# a test can read what would have been submitted, and exits as told.
#
#   capture-submit.sh DIR STATUS SLEEP [ARGS...]
#
# Writes its pid to DIR/pid, its ARGS one a line to DIR/N.args and its
# standard input to DIR/N.eml (N counts up from 1), prints a line on
# stderr, sleeps SLEEP seconds (a hanging command), then exits STATUS.
# STATUS "kill" kills itself with SIGTERM instead; "noread" exits 0
# without reading its input.
set -u
dir=$1 status=$2 pause=$3
shift 3
echo $$ >"$dir/pid"
if [ "$status" = noread ]; then
    exit 0
fi
n=1
while [ -e "$dir/$n.eml" ]; do n=$((n + 1)); done
for a in "$@"; do printf '%s\n' "$a"; done >"$dir/$n.args"
cat >"$dir/$n.eml.tmp" && mv "$dir/$n.eml.tmp" "$dir/$n.eml"
echo "capture-submit: message $n, exit $status" >&2
[ "$pause" = 0 ] || sleep "$pause"
[ "$status" = kill ] && kill -TERM $$
exit "$status"
