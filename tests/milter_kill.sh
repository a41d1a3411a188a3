#!/bin/bash
# milter_kill.sh - postbeacon-milter SIGKILLed while tracked mail flows
# through a private Postfix: no send record of mail that went out tracked
# is lost, none is written twice. A milter crash must not cost the
# record of a message it already rewrote (the record is in the journal
# before the milter answers the end of the message; a restarted milter
# replays it), and must not cost mail (milter_default_action = accept).
#
# Each round sends COUNT tracked newsletters (one SMTP session each,
# SESSIONS at a time, RATE a second), SIGKILLs the milter when a third of
# them are answered, restarts it after a moment (mail flows untracked
# meanwhile),
# waits until Postfix has delivered everything and the journal is
# replayed, then counts (tests/lib/milter_kill.py): every message Postfix
# delivered with the milter's changes has exactly one `sent` record in
# Redis, and every message answered 250 was delivered, is still queued,
# or is one Postfix itself put in its corrupt/ directory: when the milter
# dies after its first body replacement packet and before its final
# answer, Postfix 3.7 (milter_default_action = accept) answers 250 and
# then cannot read its own queue file. That is counted and shown ("#
# Postfix ..." lines), not failed: it is Postfix's doing, and rare (the
# window runs from the milter's first body packet to its answer).
# Even rounds stop Redis (SIGSTOP) a moment before the kill and resume it
# after, so records are surely waiting for Redis at the moment of the crash.
#
#   ROUNDS (default 2), COUNT (default 300), SESSIONS (default 8),
#   RATE (messages a second, default 150)
#   ROUNDS=50 tests/milter_kill.sh     the long loop (bench/README.md)
#
# One "# round ..." line per round with the counts, a "# total ..." line.
# Run by `make check` (top_builddir, top_srcdir set); needs root, postfix,
# smtp-sink and redis-server: skipped (77) without them.
set -u

top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/.." && pwd)}
top_builddir=${top_builddir:-$(pwd)}
lib=$top_srcdir/tests/lib
rounds=${ROUNDS:-2}
count=${COUNT:-300}
sessions=${SESSIONS:-8}
rate=${RATE:-150}

# shellcheck source=lib/private-postfix.sh
. "$lib/private-postfix.sh"
# shellcheck source=lib/postbeacon-env.sh
. "$lib/postbeacon-env.sh"

pb_skip_unless_postfix
. "$lib/tap.sh"

pb_env_init "$top_builddir"
pb_keys_write
pb_conf_write '"example.com"'
pb_milter_postfix_start
echo "# postfix smtpd 127.0.0.1:$PF_PORT, milter $PB_MILTER_ADDR, $rounds round(s) of $count messages"

message=$PB_DIR/newsletter.eml
python3 "$lib/newsletter.py" --campaign kill-test --from news@example.com \
    --to reader@example.org --text "$top_srcdir/tests/data/e2e/welcome.txt" \
    "$top_srcdir/tests/data/e2e/welcome.html" >"$message"

lines() { [ -f "$1" ] && wc -l <"$1" || echo 0; }
queue_empty() {
    [ -z "$(find "$PF_QUEUE"/maildrop "$PF_QUEUE"/incoming "$PF_QUEUE"/active \
        "$PF_QUEUE"/deferred "$PF_QUEUE"/hold -type f 2>/dev/null | head -n 1)" ]
}
journal_empty() { [ ! -s "$PB_JOURNAL" ]; }
# The sink has settled: as many complete dumps as before 0.3 s ago.
sink_settled() {
    local before
    before=$(ls -l "$PF_SINK_DIR" | md5sum)
    sleep 0.3
    [ "$before" = "$(ls -l "$PF_SINK_DIR" | md5sum)" ]
}
# none_of_some N OF: N is 0 and OF is not.
none_of_some() { [ "$1" = 0 ] && [ "$2" -gt 0 ]; }
tracked_since() { tail -n +"$(($1 + 1))" "$PB_DIR/milter.log" | grep -c ': tracked '; }

# corrupt_story QUEUEID: Postfix's log lines on a message it put in corrupt/.
corrupt_story() {
    local pid
    pid=$(grep -F "$1: message-id=" "$PF_LOG" | sed -n 's/.*cleanup\[\([0-9]*\)\].*/\1/p' | head -n 1)
    echo "# Postfix answered 250 for $1, then moved it to corrupt/:"
    grep -E "cleanup\[${pid:-x}\]: warning: milter|$1: .*(status=|bad record)|corrupt.*$1" "$PF_LOG" \
        | sed 's/^.*postfix-pbtest\//#   /'
}

declare -A total=()
keys=(accepted refused delivered tracked untracked headers_only truncated queued corrupt
      vanished expected stored lost duplicated extra)

# round N: one send, one kill, one restart; the counts go to total[].
round() {
    local r=$1 sent=$PB_DIR/sent.$1 sender frozen='' log_at k v
    local -A c=()
    python3 "$lib/milter_kill.py" send --port "$PF_PORT" --count "$count" \
        --sessions "$sessions" --rate "$rate" --tag "r$r" --out "$sent" "$message" &
    sender=$!
    wait_for 60 eval '[ "$(lines "$sent")" -ge $((count / 3)) ]' \
        || not_ok "round $r: a third of the messages answered within 60 s"
    if ((r % 2 == 0)); then
        kill -STOP "$PB_REDIS_PID" && frozen=1
        sleep 0.2
    fi
    kill -9 "$PB_MILTER_PID"
    wait "$PB_MILTER_PID" 2>/dev/null
    [ -n "$frozen" ] && kill -CONT "$PB_REDIS_PID"
    sleep 0.3                           # mail flows untracked meanwhile
    log_at=$(wc -l <"$PB_DIR/milter.log")
    pb_milter_start
    wait "$sender"
    expect "round $r: all $count messages answered" equals "$(lines "$sent")" "$count"
    wait_for 60 queue_empty || echo "# round $r: the queue is not empty after 60 s"
    wait_for 30 sink_settled
    wait_for 30 journal_empty || echo "# round $r: the journal is not replayed after 30 s"
    sleep 0.3                           # the last batch's reply
    while IFS='=' read -r k v; do c[$k]=$v; done < <(python3 "$lib/milter_kill.py" count \
        --sent "$sent" --sink "$PF_SINK_DIR" --queue "$PF_QUEUE" --redis "$PB_REDIS_SOCK" \
        --base "$PB_BASE_URL")
    echo "# round $r ($([ -n "$frozen" ] && echo "Redis stopped at the kill" || echo "plain kill")):" \
        "accepted ${c[accepted]:-?} (refused ${c[refused]:-?}), delivered ${c[delivered]:-?}" \
        "(tracked ${c[tracked]:-?}, headers only ${c[headers_only]:-?}, untracked ${c[untracked]:-?}," \
        "cut short ${c[truncated]:-?}), queued ${c[queued]:-?}, corrupt ${c[corrupt]:-?}," \
        "vanished ${c[vanished]:-?};" \
        "records expected ${c[expected]:-?}, stored ${c[stored]:-?}, lost ${c[lost]:-?}," \
        "duplicated ${c[duplicated]:-?}, for untracked mail ${c[extra]:-?}"
    for k in "${keys[@]}"; do total[$k]=$((${total[$k]:-0} + ${c[$k]:-0})); done
    expect "round $r: the restarted milter tracks mail again" [ "$(tracked_since "$log_at")" -gt 0 ]
    expect "round $r: no send record of mail delivered tracked is lost (lost ${c[lost]:-?} of ${c[expected]:-?}${c[lost_ids]:+: ${c[lost_ids]}})" \
        none_of_some "${c[lost]:-1}" "${c[expected]:-0}"
    expect "round $r: no send record is written twice" [ "${c[duplicated]:-1}" = 0 ]
    expect "round $r: every message answered 250 was delivered, is queued or in Postfix's corrupt/${c[vanished_ids]:+ (vanished: ${c[vanished_ids]})}" \
        [ "${c[vanished]:-1}" = 0 ]
    for k in ${c[corrupt_ids]:-}; do corrupt_story "$k"; done
    rm -f "$PF_SINK_DIR"/msg.*           # the next round counts its own
}

for ((r = 1; r <= rounds; r++)); do round "$r"; done
line="# total over $rounds round(s):"
for k in "${keys[@]}"; do line+=" $k=${total[$k]}"; done
echo "$line"
expect "the milter logged nothing fatal" \
    bash -c '! grep -Ei "fatal|crit|panic|AddressSanitizer|runtime error" "$1"' _ "$PB_DIR/milter.log"
if [ "$failed" -gt 0 ]; then
    echo "# ---- milter log"; tail -n 30 "$PB_DIR/milter.log"
    echo "# ---- postfix log"; grep -i milter "$PF_LOG" | tail -n 20
fi
tap_finish
