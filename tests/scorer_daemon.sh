#!/bin/bash
# scorer_daemon.sh - postbeacon-scorer as a program, with a private
# redis-server (unix socket): the command line (--help, --version, a bad
# option), -n on good rules and on a bad rule (file, line, rule and fix),
# SIGKILL in the middle of a backlog and a restart (every event scored
# exactly once, nothing left pending), two scorer processes in one group
# sharing a backlog (both take part, together every event once; one
# pidfile each, a second scorer of the same name refused), SIGHUP
# with new rules (used from then on) and with a bad file (logged, the old
# rules kept), SIGHUP with a changed segment (every contact re-evaluated,
# progress in the log), SIGTERM (exit 0, the stop line; in the middle of a backlog:
# every entry it had read, the batches read ahead too, done).
#
# Run by `make check` (top_builddir and top_srcdir in the environment).
# Exit 77 (skip) only when redis-server or redis-cli is missing.
set -u

top_builddir=${top_builddir:-$(pwd)}
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/.." && pwd)}
. "$top_srcdir/tests/lib/tap.sh"
command -v redis-server >/dev/null && command -v redis-cli >/dev/null || {
    echo "SKIP: redis-server and redis-cli are needed"; exit 77; }

SCORER=$top_builddir/scorer/postbeacon-scorer
T=$(mktemp -d "${TMPDIR:-/tmp}/pbsc.XXXXXX")
SOCK=$T/redis.sock
CONF=$T/postbeacon.conf
PIDS=()
cleanup() {
    for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null; done
    [ -f "$T/redis.pid" ] && kill "$(cat "$T/redis.pid")" 2>/dev/null
    [ -n "${KEEP:-}" ] || rm -rf "$T"
}
trap cleanup EXIT
rc() { redis-cli -s "$SOCK" "$@"; }

redis-server --port 0 --unixsocket "$SOCK" --unixsocketperm 700 --save "" --appendonly no \
    --daemonize yes --pidfile "$T/redis.pid" --logfile "$T/redis.log" || exit 99
wait_for 5 test -S "$SOCK" || { echo "ERROR: redis did not start"; exit 99; }

write_conf() {                  # write_conf POINTS [EXTRA RULE TEXT [SCORER SETTINGS]]
    cat >"$CONF" <<END
tracking = { base_url = "https://t.example.com"; };
redis = { socket = "$SOCK"; };
scorer = {
    user = "";
    pidfile = "$T/scorer.pid";
    batch = 50;
    block_ms = 200;
    half_life_days = 0;
    ${3:-}
    rules = (
        { name = "click"; event = "click"; points = $1; }${2:-}
    );
};
END
}

# N human clicks over 100 contacts (k0..k99), one message each, now, in one pipe.
add_clicks() {
    awk -v n="$1" -v base="${2:-0}" -v ts="$(date +%s%3N)" 'BEGIN { for (i = 0; i < n; i++)
        printf "XADD pb:events * type click eid %032x ts %s msg %016x contact k%d campaign spring url https://shop.example.com/ class human\r\n", base + i, ts, base + i, i % 100 }' \
        | rc --pipe >/dev/null
}
SUM_SCORES="local s=0 for _,k in ipairs(redis.call('KEYS','pb:contact:*')) do
  if redis.call('TYPE',k).ok=='hash' then s=s+(tonumber(redis.call('HGET',k,'score')) or 0) end end
  return tostring(s)"
SUM_HISTORY="local s=0 for _,k in ipairs(redis.call('KEYS','pb:contact:*:scores')) do
  s=s+redis.call('LLEN',k) end return s"
total_score() { rc EVAL "$SUM_SCORES" 0; }
total_history() { rc EVAL "$SUM_HISTORY" 0; }
pending() { rc XPENDING pb:events scorer | head -1; }
done_in() { sed -n 's/.*stopped: \([0-9]*\) entries done.*/\1/p' "$1" | tail -1; }
all_read() {                    # the group has read every entry and none is pending
    [ "$(pending)" = 0 ] && [ "$(rc XINFO GROUPS pb:events | sed -n '/^lag$/{n;p}')" = 0 ]
}

# ---- the command line -------------------------------------------------------------
out=$("$SCORER" --help); st=$?
expect "--help exits 0" equals "$st" 0
expect "--help names --once and -i" contains "$out" "--once"
expect "--version names the program" contains "$("$SCORER" --version)" "postbeacon-scorer "
"$SCORER" -x >/dev/null 2>&1; st=$?
expect "a bad option exits 2" equals "$st" 2

write_conf 1
out=$("$SCORER" -n -c "$CONF" 2>&1); st=$?
expect "-n accepts good rules" equals "$st" 0
expect "-n counts the rules" contains "$out" "configuration OK ($CONF; 1 scoring rule)"
write_conf 1 ',
        { name = "b"; event = "open"; points = 2; repeat = "weekly"; }'
out=$("$SCORER" -n -c "$CONF" 2>&1); st=$?
expect "-n refuses a bad rule (exit 1)" equals "$st" 1
expect "-n names file, line, rule and fix" contains "$out" \
    "$CONF:12: scorer.rules[1] (\"b\"): repeat: \"weekly\" is not one of every-time,"
write_conf 1 "" 'segments = ( { name = "mql"; behaviour_at_least = 5; }, { name = "x"; all = [ "sql" ]; } );'
out=$("$SCORER" -n -c "$CONF" 2>&1); st=$?
expect "-n refuses a bad segment (exit 1)" equals "$st" 1
expect "-n names its file, line and fix" contains "$out" \
    "$CONF:9: scorer.segments[1] (\"x\"): all: \"sql\" is not a segment defined before this one"

# ---- workflows: a welcome mail through --once (the shipped sample: sample_config.sh)
mkdir -p "$T/out"
write_conf 1 "" 'workflows = ( { name = "welcome"; trigger = { signup = true; };
      steps = ( { name = "hello"; send = "welcome-1.en.eml"; } ); } );'
printf 'submit = { command = "/bin/sh %s %s 0 0"; };\ntemplates = { dir = "%s"; };\n' \
    "$top_srcdir/tests/lib/capture-submit.sh" "$T/out" "$top_srcdir/config/templates" >>"$CONF"
out=$("$SCORER" -n -c "$CONF" 2>&1); st=$?
expect "-n accepts a workflow" equals "$st" 0
rc XADD pb:events '*' type signup eid "$(printf '%032x' 7777)" ts "$(date +%s%3N)" \
    contact w1 email wf@example.org first_name Wanda >/dev/null
"$SCORER" -f --once -c "$CONF" >"$T/wf.log" 2>&1; st=$?
expect "--once with a workflow exits 0" equals "$st" 0
expect "--once sent the welcome mail" contains "$(cat "$T/out/1.eml" 2>/dev/null)" \
    "Subject: Welcome to Example Shop, Wanda!"
expect "--once logs the follow-ups" contains "$(cat "$T/wf.log")" "follow-ups: 1 sent"
"$SCORER" -f --once -c "$CONF" >/dev/null 2>&1
expect "a second --once sends nothing more" equals "$(ls "$T/out" | grep -c 'eml$')" 1
rc FLUSHALL >/dev/null

# ---- --time-scale: a step two hours after the signup comes due in seconds -------------
"$SCORER" --time-scale 0 -n -c "$CONF" >/dev/null 2>&1; st=$?
expect "--time-scale 0 is refused (exit 2)" equals "$st" 2
rm -rf "$T/out"; mkdir -p "$T/out"
sed -i 's|send = "welcome-1.en.eml"; }|send = "welcome-1.en.eml"; delay_hours = 2; }|' "$CONF"
"$SCORER" -f --time-scale 3600 -c "$CONF" -i ts >"$T/ts.log" 2>&1 &
TS=$!
PIDS+=($TS)
rc XADD pb:events '*' type signup eid "$(printf '%032x' 7778)" ts "$(date +%s%3N)" \
    contact w2 email ts@example.org first_name Tim >/dev/null
expect "--time-scale 3600: the 2 h step is sent within seconds" wait_for 30 \
    test -s "$T/out/1.eml"
expect "... to the contact" contains "$(cat "$T/out/1.eml" 2>/dev/null)" "Welcome to Example Shop, Tim!"
expect "... and the log says the clock is fast" contains "$(cat "$T/ts.log")" \
    "the clock runs 3600 times as fast as real time"
kill -TERM $TS; wait $TS 2>/dev/null
rc FLUSHALL >/dev/null

# ---- SIGKILL in the middle of a backlog, then a restart -----------------------------
write_conf 1
add_clicks 20000
"$SCORER" -f -c "$CONF" -i s1 >"$T/s1.log" 2>&1 &
S1=$!
PIDS+=($S1)
wait_for 10 sh -c "[ \"\$(redis-cli -s '$SOCK' LLEN pb:contact:k0:scores)\" -ge 3 ]"
{ kill -9 "$S1"; wait "$S1"; } 2>/dev/null     # (bash's "Killed" not in the log)
h=$(total_history)
expect "the scorer was killed with work left ($h of 20000 done)" test "$h" -lt 20000
"$SCORER" --once -c "$CONF" -i s1 >"$T/s1b.log" 2>&1; st=$?
expect "the restart (--once) exits 0" equals "$st" 0
expect "after SIGKILL and restart every click scored once" equals "$(total_score)" 20000
expect "... and logged once" equals "$(total_history)" 20000
expect "... and nothing is pending" equals "$(pending)" 0

# ---- two scorers in one group -------------------------------------------------------------
rc FLUSHALL >/dev/null
add_clicks 30000
"$SCORER" -f -c "$CONF" -i a >"$T/a.log" 2>&1 &
A=$!
"$SCORER" -f -c "$CONF" -i b >"$T/b.log" 2>&1 &
B=$!
PIDS+=($A $B)
expect "each scorer has its own pidfile (-i a: scorer-a.pid)" wait_for 5 sh -c \
    "[ \"\$(cat '$T/scorer-a.pid' 2>/dev/null)\" = $A ] && [ \"\$(cat '$T/scorer-b.pid' 2>/dev/null)\" = $B ]"
out=$("$SCORER" -f -c "$CONF" -i a 2>&1); st=$?
expect "a second scorer named a is refused (exit 1)" equals "$st" 1
expect "... saying which one runs" contains "$out" "already running as pid $A (pidfile $T/scorer-a.pid)"
expect "two scorers finish the backlog" wait_for 60 all_read
kill -TERM $A $B
wait $A; sta=$?
wait $B; stb=$?
expect "both stop with exit 0 on SIGTERM" equals "$sta$stb" 00
expect "... and remove their pidfiles" test ! -e "$T/scorer-a.pid" -a ! -e "$T/scorer-b.pid"
da=$(done_in "$T/a.log"); db=$(done_in "$T/b.log")
expect "both took part (a: $da, b: $db)" test "${da:-0}" -gt 0 -a "${db:-0}" -gt 0
expect "together they did every entry once" equals "$((da + db))" 30000
expect "every click scored once" equals "$(total_score)" 30000

# ---- SIGHUP: new rules, then a bad file -----------------------------------------------
rc FLUSHALL >/dev/null
"$SCORER" -f -c "$CONF" -i h >"$T/h.log" 2>&1 &
H=$!
PIDS+=($H)
add_clicks 100
expect "the scorer scores with 1 point" wait_for 10 sh -c \
    "[ \"\$(redis-cli -s '$SOCK' EVAL \"$SUM_SCORES\" 0)\" = 100 ]"
write_conf 2
kill -HUP $H
wait_for 5 grep -q "configuration reloaded" "$T/h.log"
add_clicks 100 100
expect "after SIGHUP new rules apply (2 points)" wait_for 10 sh -c \
    "[ \"\$(redis-cli -s '$SOCK' EVAL \"$SUM_SCORES\" 0)\" = 300 ]"
write_conf 2 ',
        { name = "c"; event = "click"; pionts = 5; }'
kill -HUP $H
expect "a bad file on SIGHUP is logged with its line" wait_for 5 grep -q \
    "reload failed, keeping the rules loaded before: $CONF:12: scorer.rules\[1\] (\"c\"): unknown setting pionts" "$T/h.log"
add_clicks 100 200
expect "... and the old rules stay in use" wait_for 10 sh -c \
    "[ \"\$(redis-cli -s '$SOCK' EVAL \"$SUM_SCORES\" 0)\" = 500 ]"
kill -TERM $H
wait $H; st=$?
expect "SIGTERM: exit 0" equals "$st" 0
expect "SIGTERM: the stop line counts the entries" equals "$(done_in "$T/h.log")" 300

# ---- SIGHUP with a changed segment: every contact re-evaluated, in the background --------
rc FLUSHALL >/dev/null
write_conf 1 "" 'segments = ( { name = "mql"; behaviour_at_least = 5; } );'
"$SCORER" -f -c "$CONF" -i g >"$T/g.log" 2>&1 &
G=$!
PIDS+=($G)
add_clicks 300                  # 3 points for each of k0..k99
expect "the scorer scores the clicks" wait_for 10 sh -c \
    "[ \"\$(redis-cli -s '$SOCK' EVAL \"$SUM_SCORES\" 0)\" = 300 ]"
expect "... below mql's threshold of 5: mql is empty" equals "$(rc ZCARD pb:segment:mql)" 0
write_conf 1 "" 'segments = ( { name = "mql"; behaviour_at_least = 3; } );'
kill -HUP $G
expect "SIGHUP with mql at 3 re-evaluates all 100 contacts (log)" wait_for 10 grep -q \
    "re-evaluation of segments done: 100 contacts, 100 segment changes" "$T/g.log"
expect "... and puts them in mql" equals "$(rc ZCARD pb:segment:mql)" 100
expect "... each entry logged with its cause" equals \
    "$(rc XRANGE pb:segment-log - + | grep -c '^reload$')" 100
kill -TERM $G
wait $G; st=$?
expect "... and stops with exit 0" equals "$st" 0

# ---- SIGTERM in the middle of a backlog ------------------------------------------------
rc FLUSHALL >/dev/null
write_conf 1
add_clicks 20000
"$SCORER" -f -c "$CONF" -i t >"$T/t.log" 2>&1 &
TP=$!
PIDS+=($TP)
wait_for 10 sh -c "[ \"\$(redis-cli -s '$SOCK' LLEN pb:contact:k0:scores)\" -ge 3 ]"
kill -TERM $TP
wait $TP; st=$?
d=$(done_in "$T/t.log")
expect "SIGTERM in a backlog: exit 0, work left ($d of 20000 done)" test "$st" = 0 -a "${d:-0}" -lt 20000
expect "... every entry it read is done, none left pending" equals "$(pending)" 0
expect "... and scored once" equals "$(total_history)" "$d"
tap_finish
