#!/bin/bash
# tracker_faults.sh - no click that postbeacon-tracker answered with 302 is
# lost or counted twice when things go wrong under a steady load
# (tests/lib/click_load.py: keep-alive clients, one User-Agent per
# request, every 302 written down), against a real tracker and a private
# redis-server on a unix socket:
#   - Redis out of memory (maxmemory just above what it holds,
#     noeviction) for some seconds, then memory freed bit by bit, so that
#     for a while some batches fit and others are refused: /healthz says
#     "refusing writes (OOM" meanwhile, and afterwards every answered
#     click is in the stream exactly once;
#   - the tracker killed with SIGKILL while Redis is healthy, and again
#     while Redis is stopped for 0.3 s (inside redis.timeout_ms), each
#     time started again on the same journal: every click answered by
#     either run is in the stream exactly once;
#   - Redis stopped (SIGSTOP) for longer than redis.timeout_ms, so the
#     tracker gives up on batches that Redis then runs: afterwards
#     events_written_total in /metrics equals the clicks Redis stored.
# Bounded: about 40 s, loopback and unix sockets only.
#
# Run by `make check` (top_builddir and top_srcdir in the environment).
# Exit 77 (skip) only when redis-server, redis-cli, python3 or openssl is
# missing.
set -u

top_builddir=${top_builddir:-$(pwd)}
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/.." && pwd)}
. "$top_srcdir/tests/lib/tracker-test.sh"   # tt_*, rc, mint, the event stream; tap.sh
tt_init pbfault
tt_write_keys
tt_write_conf
tt_start_redis
LOAD="python3 $top_srcdir/tests/lib/click_load.py"

healthz() { $HTTP "$ADMIN" GET /healthz 2>/dev/null; }
metric() { $HTTP "$ADMIN" GET /metrics 2>/dev/null | sed -n "s/^$1 //p"; }
start_tracker() {
    "$TRACKER" -f -c "$CONF" >>"$LOG" 2>&1 &
    TRACKER_PID=$!
    wait_for 10 healthz >/dev/null || { tail -20 "$LOG"; echo "ERROR: tracker did not start"; exit 99; }
}
# Nothing waiting in memory or in the journal.
settled() { [ "$(metric postbeacon_tracker_journal_backlog)" = 0 ] \
    && [ "$(metric postbeacon_tracker_queue_events)" = 0 ]; }
refusing_oom() { case $(healthz) in *"refusing writes (OOM"*) return 0 ;; esac; return 1; }
# compare NAME FILES: every click answered (User-Agents in FILES) stored once.
compare() {
    local out status
    rc -2 --json XRANGE pb:events - + >"$T/stream.json"
    out=$($LOAD compare "$2" "$T/stream.json")
    status=$?
    echo "$out" | sed 's/^/# /'
    expect "$1: every answered click stored exactly once" [ "$status" = 0 ]
}
stored_clicks() { python3 -c 'import json,sys
print(sum(1 for _, f in json.load(open(sys.argv[1])) or [] if dict(zip(f[0::2], f[1::2])).get("type") == "click"))' "$T/stream.json"; }
fresh() { rc FLUSHALL >/dev/null; rc CONFIG SET maxmemory 0 >/dev/null; }

TOK=$(mint click url="https://example.com/pricing" link=1 sent_at=$OLD msg=00000000000000f1 campaign=faults)
PATHC=/c/$TOK

# ---- Redis out of memory under 200 clicks/s ------------------------------
start_tracker
rc CONFIG SET maxmemory-policy noeviction >/dev/null
used=$(rc INFO memory | sed -n 's/^used_memory:\([0-9]*\).*/\1/p')
rc CONFIG SET maxmemory $((used + 200000)) >/dev/null
$LOAD load "$PORT" "$PATHC" 200 9 4 "$T/oom.ua" >"$T/oom.load" &
load_pid=$!
expect "Redis out of memory: /healthz says refusing writes (OOM)" wait_for 7 refusing_oom
sleep 1.5
expect "while refusing, clicks are still answered" [ "$(wc -l <"$T/oom.ua")" -gt 0 ]
# Memory freed bit by bit (as keys expire): for a while some batches fit
# and others are refused, the case where a refused batch was skipped.
limit=$((used + 200000))
for step in $(seq 1 60); do
    rc CONFIG SET maxmemory $((limit + step * 15000)) >/dev/null
    sleep 0.03
done
rc CONFIG SET maxmemory 0 >/dev/null
wait "$load_pid"
echo "# load: $(cat "$T/oom.load")"
expect "after the OOM: nothing left waiting" wait_for 20 settled
compare "out of memory" "$T/oom.ua"
expect "after the OOM: /healthz says up again" contains "$(healthz)" "redis: up"
expect "after the OOM: none dropped" equals "$(metric postbeacon_tracker_events_dropped_total)" 0
expect "after the OOM: events_written_total equals the clicks stored" \
    equals "$(metric postbeacon_tracker_events_written_total)" "$(stored_clicks)"

# ---- SIGKILL under load: Redis healthy, then Redis stopped for 0.3 s ---
kill -9 "$TRACKER_PID"; wait "$TRACKER_PID" 2>/dev/null; TRACKER_PID=''
fresh
start_tracker
$LOAD load "$PORT" "$PATHC" 300 8 4 "$T/kill.ua" >"$T/kill.load" &
load_pid=$!
sleep 2
kill -9 "$TRACKER_PID"; wait "$TRACKER_PID" 2>/dev/null
start_tracker
sleep 2
kill -STOP "$REDIS_PID"
sleep 0.2
kill -9 "$TRACKER_PID"; wait "$TRACKER_PID" 2>/dev/null
sleep 0.1
kill -CONT "$REDIS_PID"
start_tracker
wait "$load_pid"
echo "# load: $(cat "$T/kill.load")"
expect "after two kills: nothing left waiting" wait_for 20 settled
compare "SIGKILL twice (Redis healthy, Redis stopped)" "$T/kill.ua"

# ---- Redis stopped longer than timeout_ms: the count is exact -----------
kill -TERM "$TRACKER_PID"; wait "$TRACKER_PID" 2>/dev/null; TRACKER_PID=''
fresh
start_tracker
$LOAD load "$PORT" "$PATHC" 300 5 4 "$T/pause.ua" >"$T/pause.load" &
load_pid=$!
sleep 1.5
kill -STOP "$REDIS_PID"
sleep 1.2
kill -CONT "$REDIS_PID"
wait "$load_pid"
echo "# load: $(cat "$T/pause.load")"
expect "after the pause: nothing left waiting" wait_for 20 settled
compare "Redis stopped 1.2 s" "$T/pause.ua"
expect "after the pause: events_written_total equals the clicks stored" \
    equals "$(metric postbeacon_tracker_events_written_total)" "$(stored_clicks)"
grep -q "gave up\|no reply within" "$LOG" && ok "the pause was long enough to be given up on" \
    || not_ok "the pause was long enough to be given up on"

tap_finish
