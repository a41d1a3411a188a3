#!/bin/bash
# e2e_tracker.sh - the whole path of a newsletter, end to end: a private
# Postfix with postbeacon-milter (tracking.base_url pointing at a private
# postbeacon-tracker on a free loopback port) delivers a newsletter to
# smtp-sink; the links of the delivered message (every click link, the
# open pixel, the List-Unsubscribe URL) are fetched from the running
# tracker with curl, as a reader's mail program and browser would. Checks:
#   - every click link: 302, Cache-Control no-store, Location exactly the
#     original destination of the link in the message as sent, plus the
#     UTM parameters the configuration asks for (none outside the list);
#   - the pixel: 200, the 43-byte image/gif;
#   - the List-Unsubscribe URL: GET shows the page and does not
#     unsubscribe; an RFC 8058 POST (the List-Unsubscribe-Post body)
#     answers 200 and puts the contact on pb:suppressed;
#   - the Redis stream holds, for this message id and contact: the milter's
#     sent event, then an imputed open (first human click, no open yet),
#     every click (human: machine_click_seconds = 0 here) with its link
#     index and URL, the real open, the unsubscribe; nothing else;
#   - the campaign and per-link counters match; the message and contact
#     hashes get the unsubscribe time.
# Run by `make check` (top_builddir, top_srcdir set). Exit 77 (skip) when
# postfix, smtp-sink, redis-server, redis-cli, curl, python3 or openssl is
# missing, or when not root (a private Postfix instance needs root, as in
# tests/e2e_postfix.sh).
set -u

top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/.." && pwd)}
top_builddir=${top_builddir:-$(pwd)}
lib=$top_srcdir/tests/lib
data=$top_srcdir/tests/data/e2e
tool=$top_builddir/tests/token-tool
tracker=$top_builddir/tracker/postbeacon-tracker

for prog in curl python3 openssl; do
    command -v "$prog" >/dev/null 2>&1 || { echo "SKIP: $prog is not installed"; exit 77; }
done
# shellcheck source=lib/private-postfix.sh
. "$lib/private-postfix.sh"
# shellcheck source=lib/postbeacon-env.sh
. "$lib/postbeacon-env.sh"
pb_skip_unless_postfix
for bin in "$tracker" "$tool" "$top_builddir/milter/postbeacon-milter"; do
    [ -x "$bin" ] || { echo "ERROR: $bin not built"; exit 99; }
done

. "$top_srcdir/tests/lib/tap.sh"      # ok, not_ok, expect, equals, contains, wait_for
finish() {
    [ "$failed" -gt 0 ] && [ -n "$PB_DIR" ] && pb_show_logs
    tap_finish
}

# ---- HTTP through curl: status in $CODE, headers in $H, body in $B -------------------
H='' B='' CODE=''
fetch() {                       # fetch URL [curl options]
    local url=$1
    shift
    CODE=$(curl -s -o "$B" -D "$H" -A "$PB_BROWSER_UA" -w '%{http_code}' "$@" "$url") || CODE=000
}
hdr() {                         # the value of response header $1 (first one)
    awk -v n="$1" 'BEGIN { IGNORECASE = 1 } NR > 1 { sub(/\r$/, "")
        i = index($0, ": "); if (i && tolower(substr($0, 1, i - 1)) == tolower(n)) {
            print substr($0, i + 2); exit } }' "$H"
}
rc() { pb_redis --raw "$@"; }
hget() { rc HGET "$1" "$2"; }

# ---- set up: Redis, keys, config, milter, tracker, Postfix, sink ------------------
pb_env_init "$top_builddir"
H=$PB_DIR/headers B=$PB_DIR/body
pb_tracker_ports                      # the milter's links point at this tracker
pb_keys_write
pb_conf_write '"example.com"'
# The test clicks within a second of the send: not a scanner here.
pb_tracker_conf_write "$PB_TRACKER_PORT" "$PB_ADMIN_PORT" 'language = "en";' "machine_click_seconds = 0;"
expect "postbeacon-milter -n accepts the test configuration" \
    "$(pb_milter_bin)" -n -c "$PB_CONF"
expect "postbeacon-tracker -n accepts the test configuration" "$tracker" -n -c "$PB_CONF"
pb_milter_postfix_start
pb_tracker_start
echo "# smtpd 127.0.0.1:$PF_PORT -> smtp-sink 127.0.0.1:$PF_SINK_PORT, milter $PB_MILTER_ADDR," \
     "tracker $PB_BASE_URL (admin $PB_ADMIN_PORT)"

# ---- send the newsletter --------------------------------------------------------------
rcpt=reader@example.org
campaign=spring-sale
contact=$("$tool" contact "$PB_KEYS" "$rcpt")
python3 "$lib/newsletter.py" --to "$rcpt" --from marketing@example.com --campaign "$campaign" \
    --message-id "<tracker-e2e-1@example.com>" --text "$data/welcome.txt" \
    "$data/welcome.html" >"$PB_DIR/sent.eml"
pf_send marketing@example.com "$rcpt" "$PB_DIR/sent.eml" >/dev/null \
    || { not_ok "smtpd accepted the newsletter"; finish; }
pf_wait_delivered 1 30 || { not_ok "the newsletter was delivered"; finish; }
dump=$(pf_sink_messages | head -n 1)
expect "smtp-sink captured the newsletter" test -s "$dump"

# The milter's sent event names the message id that every link must carry.
sent_msg() {
    rc XRANGE pb:events - + | awk -v c="$contact" '
        /^[0-9]+-[0-9]+$/ { if (type == "sent" && ct == c) print msg; type = msg = ct = ""; next }
        prev == "type" { type = $0 } prev == "msg" { msg = $0 } prev == "contact" { ct = $0 }
        { prev = $0 } END { if (type == "sent" && ct == c) print msg }' | head -n 1
}
expect "the milter recorded a sent event for contact $contact" wait_for 10 test -n "$(sent_msg)"
msg=$(sent_msg)
echo "# message id $msg, contact $contact"

# ---- the links of the delivered message ----------------------------------------------------
# One line per link, tab-separated:
#   click  PART  TRACKED-URL  LINK-INDEX  EXPECTED-LOCATION
#   pixel  URL
#   unsub  URL  LIST-UNSUBSCRIBE-POST-VALUE
# EXPECTED-LOCATION is the link of the message as sent (same part, same
# position among the trackable links) with the configured UTM parameters
# appended to its query (before any fragment): source, medium, campaign,
# content link-<index + 1>; only for hosts in utm.domains.
python3 - "$lib" "$PB_DIR/sent.eml" "$dump" "$PB_BASE_URL" "$campaign" "$tool" "$PB_KEYS" \
    example.com >"$PB_DIR/links" 2>"$PB_DIR/links.err" <<'EOF'
import re, subprocess, sys
sys.path.insert(0, sys.argv[1])
from e2e_check import (strip_dump, lf, parse, header, parts, html_hrefs, text_urls,
                       trackable, host_in, root_path)
sent, dump, base, campaign, tool, keys = sys.argv[2:8]
utm_domains = sys.argv[8:]
orig = lf(open(sent, "rb").read())
new = strip_dump(open(dump, "rb").read())


def with_utm(url, index):
    if not host_in(url, utm_domains):
        return url
    rest, hashmark, frag = root_path(url).partition("#")   # an empty path gets its "/"
    params = "utm_source=newsletter&utm_medium=email&utm_campaign=%s&utm_content=link-%d" % (
        campaign, index + 1)
    sep = "" if rest.endswith(("?", "&")) else ("&" if "?" in rest else "?")
    return rest + sep + params + hashmark + frag


def link_index(url):
    token = url.rsplit("/", 1)[1]
    out = subprocess.run([tool, "verify", keys, token], capture_output=True, text=True).stdout
    fields = dict(l.split("=", 1) for l in out.splitlines() if "=" in l)
    return int(fields.get("link_index", "-1"))


op, np_ = parts(orig), parts(new)
for ctype, found in (("text/html", html_hrefs), ("text/plain", text_urls)):
    originals = [u for u in found(op[ctype]) if trackable(u, base)]
    tracked = [u for u in found(np_.get(ctype, "")) if u.startswith(base + "/c/")]
    if len(originals) != len(tracked):
        print("count\t%s\t%d\t%d" % (ctype, len(originals), len(tracked)))
    for o, t in zip(originals, tracked):
        i = link_index(t)
        print("click\t%s\t%s\t%d\t%s" % (ctype, t, i, with_utm(o, i)))
pixel = re.search(r'<img\b[^>]*src="(' + re.escape(base) + r'/o/[A-Za-z0-9_-]+\.gif)"',
                  np_.get("text/html", ""))
if pixel:
    print("pixel\t%s" % pixel.group(1))
msg = parse(new)
lu = re.search(r"<(" + re.escape(base) + r"/u/[A-Za-z0-9_-]+)>",
               header(msg, "List-Unsubscribe") or "")
if lu:
    print("unsub\t%s\t%s" % (lu.group(1), header(msg, "List-Unsubscribe-Post") or ""))
EOF
if [ -s "$PB_DIR/links.err" ]; then cat "$PB_DIR/links.err"; not_ok "links extracted"; finish; fi
grep '^count' "$PB_DIR/links" | while IFS=$'\t' read -r _ part o t; do
    echo "#   $part: $o trackable links sent, $t tracked links delivered"
done
expect "every trackable link of both parts arrived as a tracker link" \
    test -z "$(grep '^count' "$PB_DIR/links")"
nclicks=$(grep -c '^click' "$PB_DIR/links")
expect "the delivered message has click links ($nclicks)" test "$nclicks" -ge 2
pixel=$(awk -F'\t' '$1 == "pixel" { print $2 }' "$PB_DIR/links")
expect "the delivered message has the open pixel" test -n "$pixel"
IFS=$'\t' read -r _ unsub unsub_post < <(grep '^unsub' "$PB_DIR/links")
expect "the delivered message has a List-Unsubscribe URL" test -n "${unsub:-}"
expect "List-Unsubscribe-Post: List-Unsubscribe=One-Click" \
    equals "${unsub_post:-}" "List-Unsubscribe=One-Click"

# ---- clicks -------------------------------------------------------------------------------------
bad_clicks=0 n=0 with_utm=0
declare -A clicks_of=()
while IFS=$'\t' read -r _ part url index want; do
    n=$((n + 1))
    fetch "$url"
    got=$(hdr Location)
    if [ "$CODE" = 302 ] && [ "$got" = "$want" ] && [ "$(hdr Cache-Control)" = no-store ]; then
        clicks_of[$index]=$((${clicks_of[$index]:-0} + 1))
        case $want in *utm_source=*) with_utm=$((with_utm + 1)) ;; esac
    else
        bad_clicks=$((bad_clicks + 1))
        echo "#   $part link $n: $CODE Location \"$got\", expected 302 \"$want\""
    fi
    if [ "$n" = 1 ]; then
        first_click_url=$want
        first_link=$index
    fi
done < <(grep '^click' "$PB_DIR/links")
expect "all $nclicks click links: 302, no-store, Location = the original link + UTM" \
    equals "$bad_clicks" 0
expect "links to utm.domains got UTM parameters ($with_utm of $nclicks), others none" \
    test "$with_utm" -gt 0 -a "$with_utm" -lt "$nclicks"

# ---- the pixel -----------------------------------------------------------------------------------
fetch "$pixel"
expect "pixel: 200 image/gif, 43 bytes" \
    equals "$CODE $(hdr Content-Type) $(wc -c <"$B" | tr -d ' ')" "200 image/gif 43"
expect "pixel: a GIF89a" equals "$(head -c 6 "$B")" GIF89a

# ---- unsubscribe ----------------------------------------------------------------------------------
fetch "$unsub"
expect "GET List-Unsubscribe URL: 200 text/html page" \
    equals "$CODE $(hdr Content-Type)" "200 text/html; charset=utf-8"
expect "the page offers the one-click form" contains "$(cat "$B")" \
    '<input type="hidden" name="List-Unsubscribe" value="One-Click">'
sleep 0.3
expect "GET did not unsubscribe" equals "$(rc SISMEMBER pb:suppressed "$contact")" 0
# What a mailbox provider sends (RFC 8058): POST with the header's value as body.
fetch "$unsub" -X POST -H 'Content-Type: application/x-www-form-urlencoded' \
    --data-raw "$unsub_post"
expect "POST List-Unsubscribe URL (RFC 8058): 200" equals "$CODE" 200
expect "the confirmation page" contains "$(cat "$B")" "<h1>You are unsubscribed</h1>"
suppressed() { [ "$(rc SISMEMBER pb:suppressed "$contact")" = 1 ]; }
expect "contact $contact is on pb:suppressed" wait_for 5 suppressed

# ---- the event stream ------------------------------------------------------------------------------
# Expected, in order, for this message: sent, open (imputed, before the first
# click), click x N, open (the pixel, not imputed), unsubscribe.
want_events=$((1 + 1 + nclicks + 1 + 1))
events_for_msg() { rc XRANGE pb:events - + | grep -cx "$msg"; }
expect "the stream reached $want_events entries for message $msg" \
    wait_for 10 test "$(events_for_msg)" -ge "$want_events"
pb_redis --json XRANGE pb:events - + >"$PB_DIR/events.json"
python3 - "$PB_DIR/events.json" "$msg" "$contact" "$campaign" "$first_click_url" \
    "$first_link" "$nclicks" "$(hget "pb:msg:$msg" sent_at)" >"$PB_DIR/events.out" 2>&1 <<'EOF'
import json, sys
path, msg, contact, campaign, first_url, first_link, nclicks, sent_at = sys.argv[1:]
entries = [dict(zip(e[1][0::2], e[1][1::2])) for e in json.load(open(path))]
mine = [e for e in entries if e.get("msg") == msg]
others = [e for e in entries if e.get("msg") != msg]


def check(cond, what, detail=""):
    print(("ok - " if cond else "not ok - ") + what + ("" if cond else ": " + detail))


types = [e["type"] + ("(imputed)" if e.get("imputed") == "1" else "") for e in mine]
want = ["sent", "open(imputed)"] + ["click"] * int(nclicks) + ["open", "unsubscribe"]
check(types == want, "stream: sent, imputed open, %s clicks, open, unsubscribe, in order"
      % nclicks, " ".join(types))
check(not others, "stream: no entry for another message", str(others[:2]))
check(all(e.get("contact") == contact and e.get("campaign") == campaign for e in mine),
      "stream: every entry names contact %s and campaign %s" % (contact, campaign),
      str([(e.get("contact"), e.get("campaign")) for e in mine]))
tracked = mine[1:]
check(all(e.get("class") == "human" and e.get("reason") == "" for e in tracked),
      "stream: tracker events are human, no reason",
      str([(e["type"], e.get("class"), e.get("reason")) for e in tracked]))
check(all(e.get("ip") == "127.0.0.0" and "Firefox/128.0" in e.get("ua", "") for e in tracked),
      "stream: client address truncated to /24, the browser's User-Agent",
      str([(e.get("ip"), e.get("ua")) for e in tracked][:2]))
check(sent_at and all(e.get("sent_at") == sent_at for e in tracked),
      "stream: tracker events carry the send time of the send record (%s)" % sent_at,
      str([e.get("sent_at") for e in tracked][:3]))
clicks = [e for e in mine if e["type"] == "click"]
check(clicks and clicks[0].get("url") == first_url and clicks[0].get("link") == first_link,
      "stream: the first click has the link index and URL it redirected to",
      str(clicks[:1]))
check(len({e["eid"] for e in mine}) == len(mine), "stream: every event id is distinct")
imputed = mine[1]
check(imputed.get("ts") == (clicks[0].get("ts") if clicks else None),
      "stream: the imputed open has the first click's time")
EOF
cat "$PB_DIR/events.out"
passed=$((passed + $(grep -c '^ok ' "$PB_DIR/events.out")))
failed=$((failed + $(grep -c '^not ok ' "$PB_DIR/events.out")))
grep -q Traceback "$PB_DIR/events.out" && not_ok "the stream check ran"

# ---- counters ------------------------------------------------------------------------------------------
C=pb:campaign:$campaign
counters=$(for f in sent opens_human unique_opens_human imputed_opens clicks_human \
    unique_clicks_human unsubscribes opens_machine clicks_machine; do
    printf '%s=%s ' "$f" "$(hget "$C" "$f")"; done)
expect "campaign counters" equals "$counters" \
    "sent=1 opens_human=2 unique_opens_human=1 imputed_opens=1 clicks_human=$nclicks unique_clicks_human=1 unsubscribes=1 opens_machine= clicks_machine= "
expect "campaign unique sets agree with their counters" equals \
    "$(rc SCARD "pb:uniq:open-human:$campaign") $(rc SCARD "pb:uniq:click-human:$campaign") $(rc SCARD "pb:uniq:unsubscribe:$campaign")" \
    "1 1 1"
bad_links=''
for index in "${!clicks_of[@]}"; do
    got="$(hget "pb:campaign-links:$campaign" "$index:clicks_human") $(hget "pb:campaign-links:$campaign" "$index:unique_clicks_human")"
    [ "$got" = "${clicks_of[$index]} 1" ] || bad_links="$bad_links $index:($got)"
done
expect "per-link counters: clicks_human and unique_clicks_human of every link clicked" \
    equals "$bad_links" ""
expect "per-link URL of the first link" \
    equals "$(hget "pb:campaign-links:$campaign" "$first_link:url")" "$first_click_url"
M=pb:msg:$msg
expect "message: the send record, with the unsubscribe time and no per-event fields" \
    equals "$(hget "$M" campaign) $(test -n "$(hget "$M" unsubscribed_at)" && echo unsub)$(hget "$M" opens_human)$(hget "$M" clicks_human)" \
    "$campaign unsub"
expect "contact: unsubscribed_at set, address kept from the milter" \
    test -n "$(hget "pb:contact:$contact" unsubscribed_at)" -a \
    "$(hget "pb:contact:$contact" email)" = "$rcpt"

# ---- the tracker stops cleanly -----------------------------------------------------------------
expect "the tracker journaled nothing (Redis was up)" test ! -s "$PB_DIR/tracker.journal"
kill -TERM "$PB_TRACKER_PID"
wait "$PB_TRACKER_PID"
code=$?
PB_TRACKER_PID=''
expect "the tracker exits 0 on SIGTERM" equals "$code" 0
expect "the tracker logged nothing fatal" \
    bash -c '! grep -Ei "fatal|crit|panic|AddressSanitizer|runtime error" "$1"' _ "$PB_DIR/tracker.log"
finish
