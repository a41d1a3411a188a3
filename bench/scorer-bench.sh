#!/bin/bash
# scorer-bench.sh - postbeacon-scorer throughput against a private Redis on
# this machine: N synthetic events (a newsletter mix over 100k contacts and
# 20 campaigns) are loaded into the stream, then scored by one scorer and,
# from the same events, by two scorers in one group (--once, so each run
# ends when the backlog is done). Beside it, the same Redis' XADD rate
# (redis-benchmark, pipelined, entries of the same size): the ceiling of
# anything that reads and writes the stream on this box.
#
#   bench/scorer-bench.sh [EVENTS]      # default 500000; top_builddir=... if not build/
#   RUNS="1 2 1 2" SCORER=path/to/postbeacon-scorer bench/scorer-bench.sh   # runs, other binary
#   SEGMENTS=1 bench/scorer-bench.sh    # with 5 fit rules, a grade, 8 segments, 5 workflows
#
# Reports events/s per run (wall time), the scorer's and Redis' CPU time per
# event, and Redis memory per scored contact. See bench/README.md.
set -eu

N=${1:-500000}
top_srcdir=$(cd "$(dirname "$0")/.." && pwd)
. "$top_srcdir/bench/scorer-lib.sh"    # SCORER, T, rc, sl_*
sl_redis
sl_conf "$T/postbeacon.conf" "${BATCH:-256}"
sl_events "$N" 100000 "$T/events.resp"

load() {
    rc FLUSHALL >/dev/null
    local t0=$(date +%s.%N)
    rc --pipe <"$T/events.resp" >/dev/null
    echo "$(date +%s.%N) $t0" | awk -v n="$N" '{ printf "loaded %d events with redis-cli --pipe: %.0f events/s\n", n, n / ($1 - $2) }'
}

run() {                         # run SCORERS
    local k=$1 pids=() cpu=0 t0 t1 r0 r1 mem0 mem1
    load
    mem0=$(used_memory)
    r0=$(redis_cpu)
    t0=$(date +%s.%N)
    for i in $(seq "$k"); do
        "$SCORER" --once -c "$T/postbeacon.conf" -i "s$i" 2>"$T/s$i.log" &
        pids+=($!)
    done
    # CPU of each scorer just before it exits: poll its /proc entry
    for p in "${pids[@]}"; do
        local last=0
        while [ -e "/proc/$p/stat" ]; do last=$(scorer_cpu "$p" 2>/dev/null || echo "$last"); sleep 0.05; done
        wait "$p"
        cpu=$(echo "$cpu $last" | awk '{ print $1 + $2 }')
    done
    t1=$(date +%s.%N)
    r1=$(redis_cpu)
    mem1=$(used_memory)
    local contacts=$(rc EVAL "local n,c=0,'0' repeat local r=redis.call('SCAN',c,'MATCH','pb:contact:*','COUNT',1000) c=r[1]
        for _,k in ipairs(r[2]) do if not string.find(k,':scores') and not string.find(k,':rules') then n=n+1 end end
        until c=='0' return n" 0)
    local pending=$(rc XPENDING pb:events scorer | head -1)
    echo "$t0 $t1 $r0 $r1 $cpu $mem0 $mem1 $contacts $pending" | awk -v n="$N" -v k="$k" '{
        wall = $2 - $1;
        printf "%d scorer(s): %.0f events/s (%.2f s), scorer CPU %.2f us/event, Redis CPU %.2f us/event, ",
            k, n / wall, wall, $5 * 1e6 / n, ($4 - $3) * 1e6 / n;
        printf "%d contacts scored, Redis memory +%.0f bytes per contact, %d left pending\n",
            $8, ($7 - $6) / $8, $9 }'
    grep -h "done:" "$T"/s*.log | sed 's/^/    /'
    [ -n "${SEGMENTS:-}" ] && echo "    segment members: $(for g in mql sql interest-sofas dormant active suppressed a-leads; do printf '%s %s, ' $g "$(rc ZCARD pb:segment:$g)"; done)wake-ups queued $(rc ZCARD pb:wake), log $(rc XLEN pb:segment-log), follow-ups queued $(rc ZCARD pb:wf:due), follow-up log $(rc XLEN pb:wf:log)"
    return 0
}

echo "== XADD ceiling (redis-benchmark, 16 clients, pipeline 32, entries like the mix)"
redis-benchmark -s "$SOCK" -q -n 500000 -c 16 -P 32 XADD pb:bench '*' type click \
    eid 0123456789abcdef0123456789abcdef ts 1800000000000 msg 0123456789abcdef \
    contact 0123456789abcdef campaign news-1 link 2 url https://shop.example.com/sofas \
    ua Mozilla/5.0 ip 192.0.2.0 class human reason - | tr '\r' '\n' | grep -v '^$' | tail -1
rc DEL pb:bench >/dev/null
echo "== $N events, 100k contacts, 20 campaigns, 10 rules${SEGMENTS:+, 5 fit rules, grade, 8 segments}, batch ${BATCH:-256}"
for k in ${RUNS:-1 2}; do run "$k"; done
