#!/bin/bash
# e2e_followup.sh - a follow-up workflow end to end, through a real private
# Postfix with postbeacon-milter, postbeacon-tracker and postbeacon-scorer
# running as daemons (foreground, real time, nothing mocked):
#   1. a newsletter goes out through Postfix, tracked by the milter;
#   2. two of its links are clicked through the tracker as a reader would:
#      GET from a browser's User-Agent (config/bots.conf lists curl's own),
#      at least tracker.machine_click_seconds after the send (earlier it
#      is a link scanner's "too fast" click): human clicks, 10 points each
#      by the scorer's only rule (human events only), so the contact
#      enters segment mql (20 points);
#   3. entering mql starts workflow mql-invite, whose one step (delay 0)
#      sends config/templates/event-invitation.en.eml over SMTP to the
#      private Postfix's smtpd (submit.smtp): its From is not in
#      milter.senders, so only its campaign header mql-invite:webinar
#      makes it marketing mail. It arrives at the sink once, to the
#      contact, with click links to the tracker whose tokens verify and
#      carry that campaign, the header removed; the step is `sent` in the
#      contact hash and in <p>wf:log;
#   4. a click on its link: 302 to the template's link plus UTM naming
#      the campaign, counted under it (clicks_human 1, a human click in
#      the stream), and the contact's score has all three clicks;
#   5. its body's Unsubscribe links (text and HTML part): the renderer
#      wrote the placeholder <tracking>/u/- for {{unsubscribe_url}}, the
#      milter put the message's own List-Unsubscribe URL in its place
#      (not the template's fallback, not a click link). A GET of it shows
#      the tracker's page with its button and unsubscribes nobody; the
#      page's POST unsubscribes the contact (<p>suppressed). The
#      placeholder itself, as mail sent around the milter would carry it,
#      gets the tracker's "not completed" page (404), whatever the method.
# Run by `make check` (top_builddir, top_srcdir set); needs root, postfix,
# smtp-sink, redis-server and curl: skipped (77) without them.
set -u

top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/.." && pwd)}
top_builddir=${top_builddir:-$(pwd)}
lib=$top_srcdir/tests/lib
data=$top_srcdir/tests/data/e2e
tool=$top_builddir/tests/token-tool
scorer=$top_builddir/scorer/postbeacon-scorer

# shellcheck source=lib/private-postfix.sh
. "$lib/private-postfix.sh"
# shellcheck source=lib/postbeacon-env.sh
. "$lib/postbeacon-env.sh"

pb_skip_unless_postfix
command -v curl >/dev/null 2>&1 || { echo "SKIP: curl is not installed"; exit 77; }
. "$lib/tap.sh"
for bin in "$tool" "$scorer" "$top_builddir/tracker/postbeacon-tracker"; do
    [ -x "$bin" ] || { echo "ERROR: $bin not built"; exit 99; }
done
finish() {
    if [ "$failed" -gt 0 ]; then
        pb_show_logs 30
        echo "# ---- pb:wf:log"
        wf_log | sed 's/^/#   /'
    fi
    tap_finish
}
# require DESCRIPTION COMMAND...: expect, and stop here when it fails (what
# follows needs it).
require() {
    local before=$failed
    expect "$@"
    [ "$failed" = "$before" ] || finish
}

wf=mql-invite step=webinar
campaign=$wf:$step
fast=1                          # tracker.machine_click_seconds: kept on, short
rcpt=reader@example.org

# ---- set up: Redis, milter, Postfix + sink, tracker, scorer ----------------------
pb_env_init "$top_builddir"
pb_tracker_ports
pb_keys_write
pb_conf_write '"example.com"'
pb_tracker_conf_write "$PB_TRACKER_PORT" "$PB_ADMIN_PORT" "machine_click_seconds = $fast;"
pb_milter_postfix_start
pb_submit_conf_write
pb_scorer_conf_write \
    'rules = ( { name = "click"; event = "click"; points = 10; } );' \
    'segments = ( { name = "mql"; behaviour_at_least = 20; } );' \
    "workflows = ( { name = \"$wf\"; trigger = { segment = \"mql\"; on = \"enter\"; };
        steps = ( { name = \"$step\"; send = \"event-invitation.en.eml\"; } ); } );"
out=$("$scorer" -n -c "$PB_CONF" 2>&1)
expect "postbeacon-scorer -n accepts the configuration ($out)" contains "$out" "1 workflow"
pb_tracker_start
pb_scorer_start -i e2e
echo "# smtpd 127.0.0.1:$PF_PORT -> smtp-sink 127.0.0.1:$PF_SINK_PORT, tracker $PB_BASE_URL," \
     "scorer submits to smtpd"
contact=$("$tool" contact "$PB_KEYS" "$rcpt")

rc() { pb_redis --raw "$@"; }
# links DUMP: e2e_check.py links (link url campaign contact msg_id sent_at
# link_index, tab-separated) into $PB_DIR/links; its exit status.
links() {
    python3 "$lib/e2e_check.py" links "$1" --keys "$PB_KEYS" --tool "$tool" \
        --base "$PB_BASE_URL" >"$PB_DIR/links" 2>&1
}
col() { cut -f "$1" "$PB_DIR/links" | sort -u | tr '\n' ' ' | sed 's/ $//'; }
# human_time SENT_AT: wait until a click is no longer "too fast" for a
# message sent at SENT_AT (unix seconds, as its tokens carry it).
past() { [ "$(date +%s)" -ge "$1" ]; }
human_time() { wait_for 10 past "$(($1 + fast))"; }
# click URL WANT: a browser's GET answers 302 to exactly WANT.
click() { equals "$(pb_click "$1")" "302 $2"; }
# entries KEY FIELDS FILTER...: the FIELDS (name,name,...) of each entry of
# stream KEY that has every FILTER (name=value), one line each.
entries() {
    pb_redis --json XRANGE "$1" - + | python3 -c 'import json, sys
names, want = sys.argv[1].split(","), dict(a.split("=", 1) for a in sys.argv[2:])
for _, f in json.load(sys.stdin):
    e = dict(zip(f[0::2], f[1::2]))
    if all(e.get(k) == v for k, v in want.items()):
        print(" ".join(e.get(n, "") for n in names))' "${@:2}"
}
stream() { entries pb:events type,class,contact,url "type=$1" "campaign=$2"; }
wf_log() { entries pb:wf:log workflow,step,status,reason "contact=$contact"; }
header_of() {                   # header_of DUMP NAME: its value(s) as delivered
    python3 "$lib/e2e_check.py" strip "$1" | sed '/^$/q' | sed -n "s/^$2: //Ip"
}

# ---- 1. the newsletter --------------------------------------------------------------
python3 "$lib/newsletter.py" --to "$rcpt" --from marketing@example.com --campaign spring-sale \
    --message-id "<followup-e2e-1@example.com>" --text "$data/welcome.txt" \
    "$data/welcome.html" >"$PB_DIR/newsletter.eml"
pf_send marketing@example.com "$rcpt" "$PB_DIR/newsletter.eml" >/dev/null \
    || { not_ok "smtpd accepted the newsletter"; finish; }
pf_wait_delivered 1 30 || { not_ok "the newsletter was delivered"; finish; }
news=$(pf_dump_for "$rcpt")
links "$news"
require "the newsletter arrived with click links whose tokens verify" test $? = 0
expect "... for contact $contact, campaign spring-sale" equals "$(col 3) $(col 4)" \
    "spring-sale $contact"
news_msg=$(col 5)
news_sent=$(col 6)
mapfile -t news_links < <(head -n 2 "$PB_DIR/links")
require "it has two links to click" test "${#news_links[@]}" = 2

# ---- 2. two human clicks: the contact enters mql ------------------------------------------
human_time "$news_sent"
for l in "${news_links[@]}"; do
    IFS=$'\t' read -r url want _ _ _ _ index <<<"$l"
    expect "click on the newsletter's link $index: 302 to $want" click "$url" "$want"
done
two_clicks() { [ "$(stream click spring-sale | wc -l)" = 2 ]; }
expect "the tracker recorded both clicks" wait_for 10 two_clicks
require "... as human ones (a browser's GET, not too fast)" \
    equals "$(stream click spring-sale | cut -d' ' -f1-3 | sort -u)" "click human $contact"
in_mql() { [ -n "$(rc ZSCORE pb:segment:mql "$contact")" ]; }
require "the scorer puts contact $contact into segment mql" wait_for 30 in_mql
expect "... with 10 points for each click" equals "$(rc HGET "pb:contact:$contact" score)" 20

# ---- 3. the follow-up -----------------------------------------------------------------------
sent() { [ "$(rc HGET "pb:contact:$contact" "wfs:$wf|$step")" = sent ]; }
require "the workflow's step is sent (wfs:$wf|$step)" wait_for 30 sent
require "the sink received the follow-up" pf_wait_delivered 2 30
mapfile -t dumps < <(pf_dumps_for "$rcpt")
expect "the sink has two messages for $rcpt: the newsletter and the follow-up" \
    equals "${#dumps[@]} ${dumps[0]:-}" "2 $news"
follow=${dumps[1]:-/nonexistent}
expect "the follow-up's To is the contact" equals "$(header_of "$follow" To)" "$rcpt"
expect "... its Subject the template's" equals "$(header_of "$follow" Subject)" \
    "Invitation: hands-on webinar on 14 January"
expect "... its campaign header is removed" equals "$(header_of "$follow" X-Campaign)" ""
expect "... List-Unsubscribe was added, to the tracker" \
    contains "$(header_of "$follow" List-Unsubscribe)" "<$PB_BASE_URL/u/"
python3 "$lib/e2e_check.py" unsub "$follow" --base "$PB_BASE_URL" >"$PB_DIR/unsub"
unsub=$(sed -n 's/^header\t//p' "$PB_DIR/unsub")
expect "... and its body's Unsubscribe links, text and HTML, are that URL (not the template's fallback)" \
    equals "$(grep -v '^header' "$PB_DIR/unsub" | sort | tr '\t\n' '  ')" "html $unsub text $unsub "
links "$follow"
require "its links point to the tracker, with tokens that verify" test $? = 0
expect "... for the contact, campaign $campaign, a message of its own" \
    equals "$(col 3) $(col 4) $(test "$(col 5)" != "$news_msg" && echo new)" "$campaign $contact new"
follow_msg=$(col 5)
expect "the milter's send record names the campaign" \
    equals "$(rc HGET "pb:msg:$follow_msg" campaign)" "$campaign"
IFS=$'\t' read -r url want _ _ _ follow_sent index < <(head -n 1 "$PB_DIR/links")
# utm_content names the link's position in the message (1-based: the text
# part's links come first)
expect "the link leads to the template's link with UTM naming the campaign" equals "$want" \
    "https://www.example.com/webinar/register?utm_source=newsletter&utm_medium=email&utm_campaign=mql-invite%3Awebinar&utm_content=link-$((index + 1))"
expect "<p>wf:log: the step queued by entering mql, then sent to the contact" equals \
    "$(wf_log | cut -d' ' -f1-3 | tr '\n' ' ')$(wf_log | sed -n 's/.* sent //p')" \
    "$wf $step queued $wf $step sent to $rcpt (try 1)"

# ---- 4. a click on the follow-up -------------------------------------------------------------
human_time "$follow_sent"
expect "click on the follow-up's link: 302 to it" click "$url" "$want"
clicked() { [ "$(rc HGET "pb:campaign:$campaign" clicks_human)" = 1 ]; }
expect "campaign $campaign counts the human click (clicks_human 1)" wait_for 10 clicked
expect "... and the send (sent 1)" equals "$(rc HGET "pb:campaign:$campaign" sent)" 1
expect "the stream has the click for campaign $campaign" \
    equals "$(stream click "$campaign")" "click human $contact $want"
scored() { [ "$(rc HGET "pb:contact:$contact" score)" = 30 ]; }
expect "the scorer counts it too: score 30" wait_for 10 scored

# ---- 5. the body's Unsubscribe link ----------------------------------------------------------
B=$PB_DIR/page.html
fetch() {                       # fetch URL [curl options]: $CODE, the page in $B
    local url=$1
    shift
    CODE=$(curl -s -o "$B" -A "$PB_BROWSER_UA" -w '%{http_code}' "$@" "$url") || CODE=000
}
post_form() {                   # what the page's form (method post, no action) sends
    fetch "$1" -X POST -H 'Content-Type: application/x-www-form-urlencoded' \
        --data-raw 'List-Unsubscribe=One-Click'
}
fetch "$PB_BASE_URL/u/-"
expect "the bare placeholder: 404 and the page that says the link was not completed" \
    equals "$CODE $(grep -c '<h1>This link was not completed</h1>' "$B")" "404 1"
post_form "$PB_BASE_URL/u/-"
expect "... for a POST too, and nobody is unsubscribed" \
    equals "$CODE $(grep -c '<h1>This link was not completed</h1>' "$B") $(rc SCARD pb:suppressed)" \
    "404 1 0"
fetch "$unsub"
expect "GET of the body's Unsubscribe link: 200, the tracker's page" \
    equals "$CODE $(grep -c '<h1>Unsubscribe</h1>' "$B")" "200 1"
expect "... with the button that posts the one-click form" contains "$(cat "$B")" \
    '<input type="hidden" name="List-Unsubscribe" value="One-Click">'
sleep 0.3
expect "... and the GET unsubscribed nobody" equals "$(rc SISMEMBER pb:suppressed "$contact")" 0
post_form "$unsub"
expect "the page's button (POST): 200, the confirmation" \
    equals "$CODE $(grep -c '<h1>You are unsubscribed</h1>' "$B")" "200 1"
suppressed() { [ "$(rc SISMEMBER pb:suppressed "$contact")" = 1 ]; }
expect "contact $contact is in pb:suppressed" wait_for 10 suppressed
expect "... the stream has its unsubscribe for campaign $campaign" \
    equals "$(stream unsubscribe "$campaign" | cut -d' ' -f1,3)" "unsubscribe $contact"

# ---- exactly once, and clean stops ------------------------------------------------------------
expect "nothing else is due or in flight" equals \
    "$(rc ZCARD pb:wf:due) $(rc HLEN pb:wf:inflight) $(rc ZCARD pb:wf:uncertain)" "0 0 0"
kill -TERM "$PB_SCORER_PID"
wait "$PB_SCORER_PID"
code=$?
PB_SCORER_PID=
expect "the scorer exits 0 on SIGTERM" equals "$code" 0
expect "... its stop line counts one follow-up sent" \
    grep -q "follow-ups: 1 sent, 0 skipped, 0 retried, 0 failed, 0 uncertain" "$PB_DIR/scorer.log"
expect "one follow-up only: the sink has two messages in all" equals "$(pf_sink_count)" 2
expect "no daemon logged anything fatal" bash -c \
    '! grep -Ei "fatal|crit|panic|AddressSanitizer|runtime error" "$@"' _ \
    "$PB_DIR/milter.log" "$PB_DIR/tracker.log" "$PB_DIR/scorer.log"
finish
