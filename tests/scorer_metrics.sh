#!/bin/bash
# scorer_metrics.sh - postbeacon-scorer's admin listener as an operator
# uses it, with a private redis-server (unix socket) and the scorer on a
# free loopback port: a bad scorer.admin_listen refused by -n and by
# postbeacon config check (file, line, fix); events of several types
# written to the stream (an entry claimed from a dead consumer, one
# trimmed while pending), then exact counts in /metrics (events by type
# and class, custom types named by the rules and "other", segment entries
# by segment, a follow-up queued, sent through a capture command and one
# failed, a wake-up, reloads, contacts re-evaluated), the Redis gauges
# (group pending and lag 0, segment sizes, queues), the text format
# (HELP and TYPE on every metric, an escaped label value), /healthz 200,
# 404 and 405, a second scorer on the same port refused; Redis stopped:
# /healthz 503, postbeacon_scorer_redis_up 0 with the counters, no hang.
#
# Run by `make check` (top_builddir and top_srcdir in the environment).
# Exit 77 (skip) only when redis-server, redis-cli or curl is missing.
set -u

top_builddir=${top_builddir:-$(pwd)}
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/.." && pwd)}
. "$top_srcdir/tests/lib/tap.sh"
. "$top_srcdir/tests/lib/redis-test.sh"
for p in redis-server redis-cli curl python3; do
    command -v $p >/dev/null || { echo "SKIP: $p is needed"; exit 77; }
done

SCORER=$top_builddir/scorer/postbeacon-scorer
CLI=$top_builddir/cli/postbeacon
T=$(mktemp -d "${TMPDIR:-/tmp}/pbsm.XXXXXX")
SOCK=$T/redis.sock
CONF=$T/postbeacon.conf
PORT=$(free_port)
URL=http://127.0.0.1:$PORT
SP='' REDIS_PID=''
cleanup() {
    [ -n "$SP" ] && kill -9 "$SP" 2>/dev/null
    [ -n "$REDIS_PID" ] && kill "$REDIS_PID" 2>/dev/null && wait "$REDIS_PID" 2>/dev/null
    rm -rf "$T"
}
trap cleanup EXIT
start_private_redis
mkdir -p "$T/out"

write_conf() {                  # write_conf ADMIN_LISTEN [MQL THRESHOLD]
    cat >"$CONF" <<END
tracking = { base_url = "https://t.example.com"; };
redis = { socket = "$SOCK"; };
submit = { command = "/bin/sh $top_srcdir/tests/lib/capture-submit.sh $T/out 0 0"; };
templates = { dir = "$top_srcdir/config/templates"; };
scorer = {
    user = "";
    pidfile = "$T/scorer.pid";
    admin_listen = [ $1 ];
    block_ms = 200;
    half_life_days = 0;
    claim_idle_ms = 1000;
    claim_interval_ms = 100;
    rules = (
        { name = "click"; event = "click"; points = 1; },
        { name = "buy"; event = "purchase"; points = 5; }
    );
    segments = ( { name = "mql"; behaviour_at_least = ${2:-2}; },
                 { name = "buyers"; behaviour_at_least = 5; } );
    workflows = ( { name = "hello"; trigger = { segment = "mql"; on = "enter"; };
                    steps = ( { name = "first"; send = "welcome-1.en.eml"; } ); } );
};
END
}
ts() { date +%s%3N; }
ev() {                          # ev TYPE CONTACT [FIELD VALUE...]: one entry now
    local type=$1 contact=$2
    shift 2
    rc XADD pb:events '*' type "$type" ts "$(ts)" contact "$contact" "$@" >/dev/null
}
metrics() { curl -s --max-time 5 "$URL/metrics" >"$T/metrics"; }
m() { grep -v '^#' "$T/metrics" | grep -F "postbeacon_scorer_$1 " | awk '{print $2}'; }
status() { curl -s --max-time 5 -o /dev/null -w '%{http_code}' "$@"; }
metric_is() { metrics && [ "$(m "$1")" = "$2" ]; }    # metric_is NAME VALUE (no prefix)
all_read() {                    # the group has read every entry and none is pending
    [ "$(rc XPENDING pb:events scorer | head -1)" = 0 ] \
        && [ "$(rc XINFO GROUPS pb:events | sed -n '/^lag$/{n;p}')" = 0 ]
}

# ---- a bad address: -n and postbeacon config check ------------------------------------
write_conf '"127.0.0.1"'
line=$(grep -n 'admin_listen' "$CONF" | cut -d: -f1)
out=$("$SCORER" -n -c "$CONF" 2>&1); st=$?
expect "-n refuses a bad scorer.admin_listen (exit 1)" equals "$st" 1
expect "-n names file, line, setting and fix" contains "$out" \
    "$CONF:$line: scorer.admin_listen[0]: \"127.0.0.1\" is not an address and port (write \"127.0.0.1:8080\""
out=$("$CLI" config check -c "$CONF" 2>&1); st=$?
expect "postbeacon config check refuses it too (exit 1)" equals "$st" 1
expect "... with file, line and fix" contains "$out" "$CONF:$line: scorer.admin_listen[0]:"
write_conf "\"127.0.0.1:$PORT\""
out=$("$SCORER" -n -c "$CONF" 2>&1); st=$?
expect "-n accepts a good one" equals "$st" 0

# ---- before the start: one entry of a dead consumer, one trimmed while pending ---------
rc XGROUP CREATE pb:events scorer 0 MKSTREAM >/dev/null
ev click c9 class human
trimmed_id=$(rc XADD pb:events '*' type click ts "$(ts)" contact c9 class human)
rc XREADGROUP GROUP scorer ghost COUNT 2 STREAMS pb:events '>' >/dev/null
rc XDEL pb:events "$trimmed_id" >/dev/null
rc HSET pb:contact:c1 email anna@example.org first_name Anna >/dev/null

"$SCORER" -f -c "$CONF" -i 'm"1' >"$T/scorer.log" 2>&1 &
SP=$!
expect "the scorer serves /healthz: 200" wait_for 10 sh -c "[ \"\$(curl -s -o /dev/null -w '%{http_code}' $URL/healthz)\" = 200 ]"
expect "/healthz says ok, Redis up" contains "$(curl -s "$URL/healthz")" "ok
redis: up"

# ---- events of several types ---------------------------------------------------------------
ev sent c1 msg 0000000000000001 campaign spring
ev click c1 class human
ev click c1 class human         # c1: 2 points, enters mql: the workflow sends to Anna
ev click c2 class machine       # machine: no points
ev open c1 class human
ev unsubscribe c3 class human
ev purchase c4                  # 5 points: mql and buyers; no address: the follow-up fails
ev page_view c1                 # a custom type no rule names: "other"
ev profile c1 city Berlin
ev signup c5 email c5@example.org
expect "the scorer takes over the dead consumer's entry" wait_for 15 metric_is claimed_total 1
expect "... and sends and fails the follow-ups" wait_for 10 metric_is 'followups_total{status="failed"}' 1
expect "every entry read and acknowledged (redis-cli)" wait_for 10 all_read
sleep 1.1                       # the gauges are read at most once a second
metrics
expect "events: click human (2 + the claimed one)" equals "$(m 'events_total{type="click",class="human"}')" 3
expect "events: click machine" equals "$(m 'events_total{type="click",class="machine"}')" 1
expect "events: sent" equals "$(m 'events_total{type="sent"}')" 1
expect "events: open human" equals "$(m 'events_total{type="open",class="human"}')" 1
expect "events: open machine" equals "$(m 'events_total{type="open",class="machine"}')" 0
expect "events: unsubscribe human" equals "$(m 'events_total{type="unsubscribe",class="human"}')" 1
expect "events: purchase (named by a rule)" equals "$(m 'events_total{type="purchase"}')" 1
expect "events: page_view counts as other" equals "$(m 'events_total{type="other"}')" 1
expect "... and has no label of its own" test -z "$(m 'events_total{type="page_view"}')"
expect "events: profile" equals "$(m 'events_total{type="profile"}')" 1
expect "events: signup" equals "$(m 'events_total{type="signup"}')" 1
expect "scored: c1's clicks, c9's and c4's purchase" equals "$(m events_scored_total)" 4
expect "trimmed while pending" equals "$(m trimmed_total)" 1
expect "no duplicates" equals "$(m duplicates_total)" 0
expect "batches counted" test "$(m batches_total)" -ge 1
expect "mql entries: c1 and c4" equals "$(m 'segment_changes_total{segment="mql",op="enter"}')" 2
expect "buyers entries: c4" equals "$(m 'segment_changes_total{segment="buyers",op="enter"}')" 1
expect "no exits" equals "$(m 'segment_changes_total{segment="mql",op="leave"}')" 0
expect "follow-ups queued: c1 and c4" equals "$(m 'followups_total{status="queued"}')" 2
expect "follow-ups sent: c1" equals "$(m 'followups_total{status="sent"}')" 1
expect "... the capture command got it" contains "$(cat "$T/out/1.eml" 2>/dev/null)" \
    "Subject: Welcome to Example Shop, Anna!"
expect "group pending 0 after processing" equals "$(m group_pending)" 0
expect "group lag 0 after processing" equals "$(m group_lag)" 0
expect "segment size: mql" equals "$(m 'segment_members{segment="mql"}')" 2
expect "segment size: buyers" equals "$(m 'segment_members{segment="buyers"}')" 1
expect "due queue empty" equals "$(m followups_due)" 0
expect "nothing uncertain" equals "$(m followups_uncertain)" 0
expect "no campaign mails yet" equals "$(m 'campaign_mails_total{outcome="sent"}')" 0

# ---- a campaign scheduled with postbeacon send --at: the scorer sends it and counts it -------
out=$("$CLI" -c "$CONF" send welcome-1.en.eml --segment mql --campaign metrics-test \
    --at "$(date -u -d '+1 second' +%Y-%m-%dT%H:%M:%SZ)" 2>&1); st=$?
expect "send --at schedules a campaign to mql (exit 0)" equals "$st" 0
expect "the scorer sends it: one mail to c1 (Anna)" wait_for 15 metric_is \
    'campaign_mails_total{outcome="sent"}' 1
expect "... and counts c4 (no address) as suppressed" equals \
    "$(m 'campaign_mails_total{outcome="suppressed"}')" 1
expect "... none failed, retried or uncertain" equals "$(m 'campaign_mails_total{outcome="failed"}') \
$(m 'campaign_mails_total{outcome="retry"}') $(m 'campaign_mails_total{outcome="uncertain"}')" "0 0 0"
expect "Redis up, scorer connected" equals "$(m redis_up)$(m connected)" 11
expect "the consumer name is escaped in its label" contains "$(cat "$T/metrics")" 'postbeacon_scorer_info{consumer="m\"1",group="scorer",version="'

# ---- the text format ----------------------------------------------------------------------
bad_lines=$(grep -v '^# \(HELP\|TYPE\) postbeacon_scorer_[a-z_]* ' "$T/metrics" \
    | grep -v '^postbeacon_scorer_[a-z_]*\({[a-z]*="\([^"\\]\|\\.\)*"\(,[a-z]*="\([^"\\]\|\\.\)*"\)*}\)\? -\?[0-9][0-9]*$')
expect "every line is a HELP, a TYPE or a sample" equals "$bad_lines" ""
untyped=$(grep -v '^#' "$T/metrics" | sed 's/[{ ].*//' | sort -u | while read -r n; do
    grep -q "^# TYPE $n \(counter\|gauge\)$" "$T/metrics" && grep -q "^# HELP $n " "$T/metrics" \
        || echo "$n"; done)
expect "every metric has HELP and TYPE" equals "$untyped" ""
expect "Content-Type is the text format 0.0.4" contains \
    "$(curl -s -D - -o /dev/null "$URL/metrics")" "Content-Type: text/plain; version=0.0.4"
expect "HEAD /metrics: 200" equals "$(status -I "$URL/metrics")" 200
expect "another path: 404" equals "$(status "$URL/nope")" 404
expect "POST /metrics: 405" equals "$(status -X POST "$URL/metrics")" 405
expect "... with Allow: GET, HEAD" contains "$(curl -s -D - -o /dev/null -X DELETE "$URL/healthz")" \
    "Allow: GET, HEAD"

# ---- a wake-up, reloads, the re-evaluation ------------------------------------------------
rc ZADD pb:wake 1 c1 >/dev/null
expect "a due wake-up is counted" wait_for 5 metric_is wakeups_total 1
kill -HUP $SP
expect "a reload is counted ok" wait_for 5 metric_is 'reloads_total{result="ok"}' 1
echo "scorer = { bad" >>"$CONF"
kill -HUP $SP
expect "a bad file is counted failed" wait_for 5 metric_is 'reloads_total{result="failed"}' 1
write_conf "\"127.0.0.1:$(free_port)\"" 1          # mql from 1 point; a new address
kill -HUP $SP
expect "SIGHUP with a changed segment re-evaluates every contact" wait_for 10 grep -q \
    "re-evaluation of segments done" "$T/scorer.log"
contacts=$(rc --scan --pattern 'pb:contact:*' | grep -cv ':\(scores\|rules\)$')
metrics
expect "contacts re-evaluated: all $contacts" equals "$(m reevaluated_total)" "$contacts"
expect "... and c9 entered mql by the reload" equals "$(m 'segment_changes_total{segment="mql",op="enter"}')" 3
expect "a changed admin_listen takes effect at the restart (log)" contains "$(cat "$T/scorer.log")" \
    "scorer.admin_listen changed: takes effect after a restart"
expect "... the old address still serves" equals "$(status "$URL/healthz")" 200

# ---- a second scorer on the same address --------------------------------------------------
write_conf "\"127.0.0.1:$PORT\""
out=$("$SCORER" -f -c "$CONF" -i other 2>&1); st=$?
expect "a second scorer on the same admin address exits 1" equals "$st" 1
expect "... naming the address and the setting" contains "$out" \
    "cannot listen on 127.0.0.1:$PORT (scorer.admin_listen): Address already in use"

# ---- Redis stopped --------------------------------------------------------------------------
rc SHUTDOWN NOSAVE >/dev/null 2>&1
down() {
    [ "$(status "$URL/healthz")" = 503 ] && curl -s --max-time 5 "$URL/healthz" >"$T/health" \
        && grep -q "^redis: down" "$T/health"
}
expect "Redis stopped: /healthz 503, saying Redis is down" wait_for 10 down
expect "... and that the scorer reconnects" contains "$(cat "$T/health")" "scorer: reconnecting"
expect "/metrics still answers (no hang)" metrics
expect "... with redis_up 0" wait_for 5 metric_is redis_up 0
expect "... connected 0" equals "$(m connected)" 0
expect "... and the counters" equals "$(m 'events_total{type="signup"}')" 1
expect "... but no group gauges" test -z "$(m group_pending)"
kill -TERM $SP
wait $SP; st=$?
SP=''
expect "SIGTERM with Redis away: exit 0" equals "$st" 0
tap_finish
