#!/bin/bash
# demo.sh - the whole postbeacon loop on one machine, with nothing outside
# it: ~50 sample contacts are imported (a German-spreadsheet CSV), a
# newsletter goes to the "newsletter" segment with `postbeacon send` as an
# A/B subject test on 40 % of it, through a private Postfix whose milter
# tracks every link; simulated readers open and click the delivered mail
# through the tracker (people, Apple's privacy proxy, a link scanner);
# the shop posts a cart_abandoned and a purchase event (POST /e, signed);
# the scorer, on a clock 1800 times as fast as real time, scores,
# segments, picks the A/B winner after "4 hours", sends the rest of the
# segment the winner, hands the MQLs to sales, sends them an offer and
# the abandoned cart a reminder, all through Postfix and tracked; a
# reader clicks the offer. Then the campaign report, the segments, the
# MQLs and the follow-ups, and the HTML report's path.
#
#   scripts/demo.sh            # as root; a fresh Debian 12: installs what is missing, builds
#   scripts/demo.sh --short    # CI: no install or build (top_builddir), checks at the end
#   PF_KEEP=1 scripts/demo.sh  # keep the temporary directories to look around
#
# What apt and the build print goes to a log file (named on the terminal,
# kept); the terminal shows the demo's own story. Everything runs in
# temporary directories on loopback: its own Redis (unix socket), Postfix
# instance (own main.cf, queue, log, free ports) and an smtp-sink that
# stands in for the recipients' servers. The system Postfix and Redis are
# not touched; everything is stopped at the end, so it can run again.
set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
build=${top_builddir:-$top/build}
lib=$top/tests/lib
demo=$top/scripts/demo
short=
[ "${1:-}" = --short ] && short=1
SCALE=1800                      # the scorer's clock: 1 s real = 30 min

if [ -t 1 ]; then
    say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
else
    say() { printf '\n== %s\n' "$*"; }
fi
indent() { sed 's/^/    /'; }
fail() { echo "demo.sh: $*" >&2; pb_show_logs 30 >&2; exit 1; }

[ "$(id -u)" = 0 ] || { echo "demo.sh: run as root (it starts a private Postfix)" >&2; exit 1; }

log=$(mktemp -d "${TMPDIR:-/tmp}/postbeacon-demo.XXXXXX")/install.log
# step WHAT COMMAND...: COMMAND's output into $log; when it fails, the end of the log.
step() {
    local what=$1
    shift
    echo "$what (log: $log)" | indent
    echo "== $what: $*" >>"$log"
    "$@" >>"$log" 2>&1 && return 0
    echo "demo.sh: $what failed; the end of $log:" >&2
    tail -n 30 "$log" >&2
    exit 1
}
if [ -z "$short" ]; then
    say "Installing missing Debian packages and building (once)"
    step "installing packages" "$top/scripts/install-deps.sh"
    [ -x "$build/milter/postbeacon-milter" ] || step "building in $build" "$top/scripts/build.sh" "$build"
    step "building the programs" make -C "$build" -s milter/postbeacon-milter \
        tracker/postbeacon-tracker scorer/postbeacon-scorer cli/postbeacon
fi

. "$lib/private-postfix.sh"
. "$lib/postbeacon-env.sh"
pb() { "$build/cli/postbeacon" -c "$PB_CONF" "$@"; }

say "Starting a private Redis, Postfix with postbeacon-milter, the tracker and the scorer"
pb_env_init "$build"
pb_tracker_ports                 # the milter's links point at the private tracker
EVENTS_PORT=$(pf_free_port)
pb_keys_write
EVENTS_SECRET=$(openssl rand -hex 32)
echo "events $EVENTS_SECRET" >>"$PB_KEYS"
pb_conf_write '"shop.example.com"'
pb_tracker_conf_write "$PB_TRACKER_PORT" "$PB_ADMIN_PORT" "machine_click_seconds = 1;" \
    'trusted_proxies = [ "127.0.0.1" ];' "events_listen = [ \"127.0.0.1:$EVENTS_PORT\" ];"
pf_init "$PB_MILTER_ADDR"         # the private Postfix's configuration and ports
pb_submit_conf_write 'from = "Example Shop <news@example.com>";'
# the demo's templates: the shipped ones and the newsletter and offer
mkdir -p "$PB_DIR/templates"
cp "$top"/config/templates/*.eml "$demo"/*.eml "$PB_DIR/templates/"
sed -i "s|^templates = .*|templates = { dir = \"$PB_DIR/templates\"; };|" "$PB_CONF"
sed "s|@DIR@|$PB_DIR|g" "$demo/postbeacon-demo.conf" >>"$PB_CONF"
pb config check | indent || fail "the generated configuration does not pass config check"
pb_redis_start
pb_milter_start
pf_sink_start dump
pf_start
pb_tracker_start
pb_scorer_start --time-scale "$SCALE"
cat <<EOF | indent
Redis              unix socket $PB_REDIS_SOCK
Postfix            smtpd 127.0.0.1:$PF_PORT -> postbeacon-milter -> smtp-sink 127.0.0.1:$PF_SINK_PORT
postbeacon-tracker $PB_BASE_URL (the tracking domain), POST /e on 127.0.0.1:$EVENTS_PORT
postbeacon-scorer  its clock $SCALE times as fast as real time (--time-scale)
configuration      $PB_CONF
EOF

say "Importing the sample contacts (scripts/demo/contacts.csv: ';', BOM, CRLF as a German spreadsheet saves it)"
pb contacts import "$demo/contacts.csv" | indent
wait_until() {                  # wait_until SECS COMMAND...: until COMMAND succeeds, or 1
    local n=$(($1 * 10))
    shift
    while ((n-- > 0)); do
        "$@" && return 0
        sleep 0.1
    done
    return 1
}
segment_has() { [ "$(pb_redis ZCARD "pb:segment:$1")" -ge "$2" ]; }
wait_until 20 segment_has newsletter 10 || fail "the scorer did not put the contacts into segment newsletter"
pb segments | indent

say "Sending the newsletter to segment newsletter: an A/B subject test on 40 %, the winner by clicks after 4 h"
BETTER="Winter sale: 30 % off sofas and lamps"
pb send winter-sale.eml --segment newsletter --campaign winter-sale \
    --ab "subject=$BETTER" --ab "subject=Our winter sale starts today" \
    --test-share 40% --winner-after 4h --winner-by clicks | indent
test_sent=$(pb_redis HGET pb:send:winter-sale sent)
pf_wait_delivered "$test_sent" 60 || fail "the test mails did not arrive"
echo "$test_sent test mails delivered through Postfix; one of them as it arrived:" | indent
first=$(pf_sink_messages | head -n 1)
python3 "$lib/e2e_check.py" strip "$first" | sed -n '/^Subject:/p;/^List-Unsubscribe:/p' | cut -c1-150 | indent
grep -o "$PB_BASE_URL/[co]/[A-Za-z0-9_-]*" "$first" | head -n 3 | sed 's/\(.\{90\}\).*/\1.../' | indent

say "The recipients read their mail (people, Apple's privacy proxy, a link scanner)"
sleep 1.1                       # a click within a second of the send is a scanner's
python3 "$demo/readers.py" "$PF_SINK_DIR" "$PB_DIR/read" "$PB_BASE_URL" --better "$BETTER" \
    | tee "$PB_DIR/readers.out" | indent

say "The shop posts events: two abandoned carts, one of them bought within the hour (POST /e)"
post_event() {                  # post_event JSON: signed as docs/custom-events.md says
    python3 - "$EVENTS_PORT" "$EVENTS_SECRET" "$1" <<'PY'
import hashlib, hmac, http.client, sys, time
port, secret, body = int(sys.argv[1]), bytes.fromhex(sys.argv[2]), sys.argv[3].encode()
ts = str(int(time.time()))
sig = hmac.new(secret, ts.encode() + b"." + body, hashlib.sha256).hexdigest()
c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
c.request("POST", "/e", body, {"Content-Type": "application/json",
          "X-Postbeacon-Timestamp": ts, "X-Postbeacon-Signature": sig})
r = c.getresponse()
print(r.status, r.read().decode().strip())
PY
}
buyer=$(sed -n 3p "$demo/contacts.csv" | cut -d';' -f1)
waiter=$(sed -n 5p "$demo/contacts.csv" | cut -d';' -f1)
for who in "$buyer" "$waiter"; do
    echo "cart_abandoned $who: $(post_event "{\"email\": \"$who\", \"type\": \"cart_abandoned\", \"id\": \"cart-$who\", \"properties\": {\"items\": 2}}")" | indent
done
echo "purchase       $buyer: $(post_event "{\"email\": \"$buyer\", \"type\": \"purchase\", \"id\": \"order-1001\", \"properties\": {\"total\": 899.0, \"currency\": \"EUR\"}}")" | indent
echo "signup         new.reader@example.org: $(post_event '{"email": "new.reader@example.org", "type": "signup", "contact": {"first_name": "Nora", "language": "en", "tags": ["newsletter"]}}')" | indent

say "The scorer's clock runs on: the A/B winner after 4 h ($((4 * 3600 / SCALE)) s here), the rest of the segment gets it"
send_done() { [ "$(pb_redis HGET pb:send:winter-sale state)" = done ]; }
wait_until 60 send_done || fail "the send did not finish: $(pb_redis HGETALL pb:send:winter-sale | paste -sd' ')"
echo "decision: $(pb_redis HGET pb:send:winter-sale decision)" | indent
pf_wait_delivered "$(($(pb_redis HGET pb:send:winter-sale sent)))" 60 || fail "the rest did not arrive"
sleep 1.1
python3 "$demo/readers.py" "$PF_SINK_DIR" "$PB_DIR/read" "$PB_BASE_URL" --better "$BETTER" \
    | tee -a "$PB_DIR/readers.out" | indent

say "Follow-ups: the MQLs' offer and sales notice, the cart reminder after 3 h ($((3 * 3600 / SCALE)) s here)"
# the reminder is the waiter's second mail; sales hears of the first MQL
followups_arrived() { [ -n "$(pf_dumps_for "$waiter" | tail -n +2)" ] && [ -n "$(pf_dumps_for sales@example.com)" ]; }
wait_until 30 followups_arrived || true     # the checks below say what did not come
sleep 2
# the leads are engaged readers: they open their offer and ask for a quote
python3 "$demo/readers.py" "$PF_SINK_DIR" "$PB_DIR/read" "$PB_BASE_URL" --people 100 \
    | tee -a "$PB_DIR/readers.out" | indent
sleep 1

say "postbeacon report winter-sale"
pb report winter-sale | tee "$PB_DIR/report.txt" | indent
say "postbeacon segments"
pb segments | tee "$PB_DIR/segments.txt" | indent
say "postbeacon segment mql (the leads)"
pb segment mql | tee "$PB_DIR/mql.txt" | indent
say "The follow-ups that went out (pb:wf:log), and how they did"
pb_redis --raw XRANGE pb:wf:log - + | awk '
    /^[0-9]+-[0-9]+$/ { if (line) print line; line = ""; key = ""; next }
    key == "" { key = $0; next }
    { if (key == "workflow" || key == "step" || key == "status" || key == "reason") line = line " " $0; key = "" }
    END { if (line) print line }' | grep ' sent ' | cut -c1-120 | tee "$PB_DIR/followups.txt" | indent
for c in mql-handoff:offer cart:reminder; do
    echo "$c: $(pb_redis HGET "pb:campaign:$c" sent) delivered, $(pb_redis HGET "pb:campaign:$c" clicks_human) human clicks" \
        | sed 's/: *delivered/: 0 delivered/; s/, *human/, 0 human/' | indent
done | tee -a "$PB_DIR/followups.txt"
html=$(dirname "$log")/report.html
overview=$(dirname "$log")/overview.html
pb report --html "$html" winter-sale >/dev/null
pb report --all --html "$overview" >/dev/null

echo "The HTML reports (self-contained, they open offline and print): $html (winter-sale)," \
    "$overview (every campaign)" | indent

say "Checking the loop"
failed=0
check() {                       # check WHAT COMMAND...
    if "${@:2}"; then echo "ok - $1" | indent; else echo "not ok - $1" | indent; failed=$((failed + 1)); fi
}
nonzero() { [ -n "$1" ] && [ "$1" != 0 ]; }
# a counter of the newsletter: its base campaign and both variants together
newsletter_sum() {
    local c n=0
    for c in winter-sale winter-sale:a winter-sale:b; do
        n=$((n + $(pb_redis HGET "pb:campaign:$c" "$1" | sed 's/^$/0/')))
    done
    echo "$n"
}
check "human opens of the newsletter" nonzero "$(newsletter_sum unique_opens_human)"
check "human clicks of the newsletter" nonzero "$(newsletter_sum unique_clicks_human)"
check "machine opens (Apple's proxy) labelled apart from human ones" nonzero "$(newsletter_sum opens_machine)"
check "an A/B winner with its figures" nonzero "$(pb_redis HGET pb:send:winter-sale winner)"
check "contacts entered mql" nonzero "$(pb_redis ZCARD pb:segment:mql)"
check "a follow-up delivered through Postfix and tracked" nonzero "$(pb_redis HGET pb:campaign:mql-handoff:offer sent)"
check "a click on a follow-up counted" nonzero "$(pb_redis HGET pb:campaign:mql-handoff:offer clicks_human)"
check "the cart reminder went to the contact who did not buy" test -n "$(pf_dumps_for "$waiter" | xargs -r grep -l 'your cart')"
check "... and not to the one who bought" test -z "$(pf_dumps_for "$buyer" | xargs -r grep -l 'your cart')"
check "the HTML report was written" test -s "$html"
say "Stopping Redis, Postfix, the milter, the tracker and the scorer"
if [ "$failed" -eq 0 ]; then
    echo "demo finished: the whole loop ran (install/build log: $log)."
else
    echo "demo finished with $failed failed check(s); see above." >&2
    exit 1
fi
