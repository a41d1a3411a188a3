#!/bin/bash
# import-bench.sh - postbeacon contacts import on N generated rows (default
# 100,000) into a private redis-server: rows per second of the first import
# (every row new: a signup entry each) and of the second (every row
# unchanged: reads only), ROUNDS times each (default 3), with the median.
# The target (issue 9) is 20,000 rows/s on 100k rows. Run from a build
# tree: bench/import-bench.sh [N] (top_builddir, top_srcdir as for tests).
set -eu

N=${1:-100000} ROUNDS=${ROUNDS:-3}
top_builddir=${top_builddir:-$(pwd)}
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/.." && pwd)}
. "$top_srcdir/tests/lib/cli-test.sh"
ct_setup pbimportbench
python3 - "$T/rows.csv" "$N" <<'PY'
import sys
n = int(sys.argv[2])
with open(sys.argv[1], "w") as f:
    f.write("email,first_name,last_name,birthday,city,country,language,timezone,tags,plan\n")
    for i in range(n):
        f.write(f"user{i}@example.org,User,No {i},1980-{i % 12 + 1:02d}-{i % 28 + 1:02d},"
                f"City {i % 97},DE,de,Europe/Berlin,\"t{i % 7},news\",p{i % 3}\n")
PY
rate() {                        # rate: rows/s of one import of the file
    local t0 t1
    t0=$(date +%s.%N)
    "$PB" -c "$CONF" contacts import "$T/rows.csv" >/dev/null
    t1=$(date +%s.%N)
    python3 -c "print(round($N / ($t1 - $t0)))"
}
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR + 1) / 2)]}'; }
new=() same=()
for ((i = 0; i < ROUNDS; i++)); do
    rc FLUSHALL >/dev/null
    new+=("$(rate)")
    same+=("$(rate)")
done
echo "rows: $N, rounds: $ROUNDS"
echo "new contacts:       ${new[*]} rows/s, median $(printf '%s\n' "${new[@]}" | median)"
echo "unchanged contacts: ${same[*]} rows/s, median $(printf '%s\n' "${same[@]}" | median)"
echo "redis used_memory after the last import: $(rc INFO memory | sed -n 's/^used_memory_human://p' | tr -d '\r')"
