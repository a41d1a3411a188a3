#!/bin/bash
# send-bench.sh - postbeacon send of one campaign to a segment of N
# generated contacts (default 2,000) into a private redis-server, the MTA
# being /bin/cat (reads the message, exits 0: what is left is postbeacon's
# own cost per message: claim, render, fork and exec, settle), submit.rate
# unlimited: messages per second of the send, ROUNDS times (default 3,
# each a new campaign), with the median, and the time of a re-run that
# finds every member sent. Run from a build tree: bench/send-bench.sh [N]
# (top_builddir, top_srcdir as for tests).
set -eu

N=${1:-2000} ROUNDS=${ROUNDS:-3}
top_builddir=${top_builddir:-$(pwd)}
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/.." && pwd)}
. "$top_srcdir/tests/lib/cli-test.sh"
. "$top_srcdir/tests/lib/send-test.sh"
st_setup pbsendbench
st_people "$N"
sed -i 's|^submit = .*|submit = { command = "/bin/cat"; };|' "$CONF"
secs() { local t0; t0=$(date +%s.%N); "$@" >/dev/null; python3 -c "print($(date +%s.%N) - $t0)"; }
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR + 1) / 2)]}'; }
rates=()
for ((i = 0; i < ROUNDS; i++)); do
    s=$(secs "$PB" -c "$CONF" send news --segment news --campaign "bench$i")
    rates+=("$(python3 -c "print(round($N / $s))")")
done
again=$(secs "$PB" -c "$CONF" send news --segment news --campaign bench0)
echo "members: $N, rounds: $ROUNDS"
echo "sent: ${rates[*]} messages/s, median $(printf '%s\n' "${rates[@]}" | median)"
echo "re-run, every member sent before: $(python3 -c "print(round($again * 1000))") ms"
