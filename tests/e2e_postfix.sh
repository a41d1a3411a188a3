#!/bin/bash
# e2e_postfix.sh - end-to-end test through a real, private Postfix:
# mail enters through smtpd (as an ORIGINATING service), passes
# postbeacon-milter and is captured by smtp-sink -d. Checks that
#   (a) a newsletter with a campaign header arrives with its links, pixel
#       and List-Unsubscribe headers rewritten, tokens that verify and
#       decode to the original targets (+ UTM), and its other bytes intact;
#   (b) mail that is not marketing mail arrives byte for byte as sent;
#   (c) Redis holds the send record, the contact mapping and a `sent` event;
#   (d) with the milter stopped, mail still flows, unchanged;
#   (e) with Redis down, mail still flows without delay and is rewritten,
#       and its record reaches Redis once Redis is back (journal replay).
# Run by `make check` (top_builddir, top_srcdir set); needs root, postfix,
# smtp-sink and redis-server: skipped (77) without them.
set -u

top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/.." && pwd)}
top_builddir=${top_builddir:-$(pwd)}
lib=$top_srcdir/tests/lib
data=$top_srcdir/tests/data/e2e
tool=$top_builddir/tests/token-tool

# shellcheck source=lib/private-postfix.sh
. "$lib/private-postfix.sh"
# shellcheck source=lib/postbeacon-env.sh
. "$lib/postbeacon-env.sh"

pb_skip_unless_postfix

. "$top_srcdir/tests/lib/tap.sh"      # ok, not_ok, expect, equals, contains, wait_for
# run_check ARGS: run e2e_check.py, count its ok / not ok lines; output
# also in $PB_DIR/check.out for note().
run_check() {
    local st
    python3 "$lib/e2e_check.py" "$@" >"$PB_DIR/check.out" 2>&1
    st=$?
    cat "$PB_DIR/check.out"
    passed=$((passed + $(grep -c '^ok ' "$PB_DIR/check.out")))
    failed=$((failed + $(grep -c '^not ok ' "$PB_DIR/check.out")))
    grep -q Traceback "$PB_DIR/check.out" && not_ok "e2e_check.py $1 ran"
    return $st
}
# note NAME: a "# NAME=value" line of the last run_check.
note() { sed -n "s/^# $1=//p" "$PB_DIR/check.out"; }
# send_and_wait FROM TO FILE: through smtpd, then until the sink has it.
delivered=0
send_and_wait() {
    pf_send "$1" "$2" "$3" >/dev/null || { not_ok "smtpd accepted mail for $2"; return 1; }
    delivered=$((delivered + 1))
    pf_wait_delivered "$delivered" 30 || { not_ok "mail for $2 delivered"; return 1; }
    [ -n "$(pf_dump_for "$2")" ] || { not_ok "mail for $2 captured by smtp-sink"; return 1; }
}
# redis_wait SECS CMD...: until the command prints something non-empty.
redis_wait() {
    local limit=$(($1 * 10)) i out
    shift
    for ((i = 0; i < limit; i++)); do
        out=$(pb_redis --raw "$@" 2>/dev/null)
        [ -n "$out" ] && { echo "$out"; return 0; }
        sleep 0.1
    done
    return 1
}

redis_has() { redis_wait "$@" >/dev/null; }
# nonempty_within SECS FILE
nonempty_within() {
    local i
    for ((i = 0; i < $1 * 10; i++)); do
        [ -s "$2" ] && return 0
        sleep 0.1
    done
    return 1
}

[ -x "$tool" ] || { echo "missing $tool (make check builds it)"; not_ok "token-tool built"; tap_finish; }

# ---- set up: Redis, keys, config, milter, Postfix, sink ------------------------
pb_env_init "$top_builddir"
pb_keys_write
pb_conf_write '"example.com"'
expect "postbeacon-milter -n accepts the test configuration" \
    "$(pb_milter_bin)" -n -c "$PB_CONF"
pb_milter_postfix_start
echo "# postfix smtpd 127.0.0.1:$PF_PORT -> smtp-sink 127.0.0.1:$PF_SINK_PORT, milter $PB_MILTER_ADDR"

newsletter() {   # newsletter FILE TO [newsletter.py options]
    local file=$1 to=$2
    shift 2
    python3 "$lib/newsletter.py" --to "$to" --text "$data/welcome.txt" "$@" \
        "$data/welcome.html" >"$file"
}
base=$PB_BASE_URL
check_args=(--keys "$PB_KEYS" --tool "$tool" --base "$base")

# ---- (a) newsletter with a campaign header ---------------------------------------
rcpt_a=reader@example.org
newsletter "$PB_DIR/a.eml" "$rcpt_a" --from marketing@example.com --campaign spring-sale \
    --message-id "<spring-1@example.com>"
if send_and_wait marketing@example.com "$rcpt_a" "$PB_DIR/a.eml"; then
    run_check newsletter "$PB_DIR/a.eml" "$(pf_dump_for "$rcpt_a")" "${check_args[@]}" \
        --campaign spring-sale --rcpt "$rcpt_a" --utm-domain example.com
    msg_a=$(note msg_id)
    contact_a=$(note contact)
fi

# ---- (b) mail that is not marketing mail ------------------------------------------
rcpt_b=colleague@example.org
newsletter "$PB_DIR/b.eml" "$rcpt_b" --from alice@example.com --subject "Minutes of Monday" \
    --message-id "<minutes-1@example.com>"
send_and_wait alice@example.com "$rcpt_b" "$PB_DIR/b.eml" \
    && run_check identical "$PB_DIR/b.eml" "$(pf_dump_for "$rcpt_b")"

# ---- (c) Redis: send record, contact mapping, `sent` event -------------------------
if [ -n "${msg_a:-}" ]; then
    events=$(redis_wait 10 XRANGE pb:events - +)
    expect "Redis stream pb:events has a sent entry for message $msg_a" \
        grep -qx "$msg_a" <<<"$events"
    expect "the stream entry is of type sent, campaign spring-sale" \
        python3 -c 'import sys; f=sys.stdin.read().split("\n"); \
            sys.exit(0 if "sent" in f and "spring-sale" in f else 1)' <<<"$events"
    expect "send record pb:msg:$msg_a names campaign spring-sale" \
        [ "$(pb_redis --raw HGET "pb:msg:$msg_a" campaign)" = spring-sale ]
    expect "send record names the contact" \
        [ "$(pb_redis --raw HGET "pb:msg:$msg_a" contact)" = "$contact_a" ]
    links=$(pb_redis --raw HGET "pb:msg:$msg_a" links)
    expect "send record counts the tracked links ($links)" [ "${links:-0}" -gt 0 ]
    expect "send record keeps the Message-ID" \
        [ "$(pb_redis --raw HGET "pb:msg:$msg_a" message_id)" = "<spring-1@example.com>" ]
    expect "contact mapping pb:contacts:by-email $rcpt_a -> $contact_a" \
        [ "$(pb_redis --raw HGET pb:contacts:by-email "$rcpt_a")" = "$contact_a" ]
    expect "the address appears only in the contact records, not in the message record" \
        bash -c '! redis-cli -s "$1" --raw HGETALL "pb:msg:$2" | grep -qi "$3"' _ \
        "$PB_REDIS_SOCK" "$msg_a" "$rcpt_a"
else
    not_ok "message id of the newsletter known (needed for the Redis checks)"
fi

# ---- (d) milter stopped: mail still flows, unchanged ------------------------------
pb_milter_stop
rcpt_d=reader-d@example.org
newsletter "$PB_DIR/d.eml" "$rcpt_d" --from marketing@example.com --campaign spring-sale \
    --message-id "<spring-d@example.com>"
send_and_wait marketing@example.com "$rcpt_d" "$PB_DIR/d.eml" \
    && run_check identical "$PB_DIR/d.eml" "$(pf_dump_for "$rcpt_d")"
expect "Postfix logged the unreachable milter and accepted anyway" \
    grep -qi "milter.*$PB_MILTER_SOCK" "$PF_LOG"

# ---- (e) Redis down: mail flows, is rewritten, record arrives later ---------------------
pb_milter_start
pb_redis_stop
rcpt_e=reader-e@example.org
newsletter "$PB_DIR/e.eml" "$rcpt_e" --from marketing@example.com --campaign spring-sale \
    --message-id "<spring-e@example.com>"
t0=$(date +%s%N)
if send_and_wait marketing@example.com "$rcpt_e" "$PB_DIR/e.eml"; then
    ms=$((($(date +%s%N) - t0) / 1000000))
    expect "with Redis down the message is delivered within 5 s (took $ms ms)" [ "$ms" -lt 5000 ]
    run_check tracked "$(pf_dump_for "$rcpt_e")" "${check_args[@]}"
    msg_e=$(note msg_id)
    expect "while Redis is down, the record waits in the journal file" nonempty_within 5 "$PB_JOURNAL"
    pb_redis_start
    expect "after Redis restarts, the journaled send record arrives (pb:msg:$msg_e)" \
        redis_has 30 HGET "pb:msg:${msg_e:-none}" campaign
    expect "and its sent event is in the stream" \
        bash -c 'redis-cli -s "$1" --raw XRANGE pb:events - + | grep -qx "$2"' _ \
        "$PB_REDIS_SOCK" "${msg_e:-none}"
fi

expect "the milter is still running" kill -0 "$PB_MILTER_PID"
expect "the milter logged nothing fatal" \
    bash -c '! grep -Ei "fatal|crit|panic|AddressSanitizer|runtime error" "$1"' _ "$PB_DIR/milter.log"
[ "$failed" -gt 0 ] && pb_show_logs 30
tap_finish
