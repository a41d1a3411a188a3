#!/bin/bash
# demo_short.sh - the README's first command, scripts/demo.sh, in its short
# mode (no package installation, the programs of this build): the whole
# loop runs (import, an A/B campaign send through Postfix and the milter,
# readers through the tracker, shop events, the scorer on a fast clock,
# follow-ups through Postfix, the reports) and what it prints is checked:
# the campaign report with non-zero human opens and clicks, an A/B
# result, a segment entry, and a follow-up delivered and clicked.
#
# Run by `make check` (top_builddir and top_srcdir in the environment);
# needs root and Postfix like the other end-to-end tests (exit 77 without).
set -u

top_builddir=${top_builddir:-$(pwd)}
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/.." && pwd)}
. "$top_srcdir/tests/lib/tap.sh"
. "$top_srcdir/tests/lib/private-postfix.sh"
[ "$(id -u)" = 0 ] || { echo "SKIP: the demo needs root (a private Postfix)"; exit 77; }
pf_have_postfix || { echo "SKIP: postfix and smtp-sink are needed"; exit 77; }
command -v redis-server >/dev/null || { echo "SKIP: redis-server is needed"; exit 77; }

out=$(mktemp "${TMPDIR:-/tmp}/pbdemo.XXXXXX")
trap 'rm -f "$out"' EXIT
top_builddir=$top_builddir bash "$top_srcdir/scripts/demo.sh" --short >"$out" 2>&1
st=$?
expect "the demo exits 0" equals "$st" 0
# a figure of the report: "NAME  TOTAL  UNIQUE" -> the unique count
figure() { sed -n "s/^ *$1  *[0-9]*  *\([0-9]*\)\$/\1/p" "$out" | head -n 1; }
expect "the report has unique human opens" test "$(figure 'Opens, human')" -gt 0
expect "... and unique human clicks" test "$(figure 'Clicks, human')" -gt 0
expect "... and machine opens apart (Apple's proxy)" test "$(figure 'Opens, machine')" -gt 0
expect "... an A/B result with its figures" grep -qE '^ *Decision: a: [0-9]+ unique human clicks of [0-9]+ sent .*(a|b) wins' "$out"
expect "... the winner" grep -qE '^ *Winner: (a|b) \(by clicks\)' "$out"
expect "segment mql has members" grep -qE '^ *[0-9]+ members?$' "$out"
expect "a follow-up went to a lead through Postfix" grep -qE 'mql-handoff offer sent to .*@' "$out"
expect "... and its click was counted" grep -qE 'mql-handoff:offer: [1-9][0-9]* delivered, [1-9][0-9]* human clicks' "$out"
expect "the demo's own checks all passed" test "$(grep -c '^ *ok - ' "$out")" -ge 10 -a \
    "$(grep -c '^ *not ok - ' "$out")" -eq 0
[ "$st" = 0 ] || tail -n 40 "$out" | sed 's/^/# /'
tap_finish
