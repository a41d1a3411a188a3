#!/bin/bash
# cli_send.sh - postbeacon send against a private redis-server, the
# segments filled by postbeacon-scorer --once, submission through
# tests/lib/capture-submit.sh (every message kept in a folder): every
# member gets exactly one message with its own name and the campaign
# header, suppressed members and one without an address none; a re-run
# sends nothing; --dry-run sends nothing, counts and shows a sample;
# killed with SIGKILL while a (slow) submission is running and run again:
# nobody twice, nobody missed, the one in flight recorded as uncertain
# and listed, not resent; SIGTERM stops after the message in hand; --status and --cancel; the send rate
# (submit.rate and --rate) holds: N messages take at least
# (N - burst) / rate seconds; a progress bar on a terminal only; unknown
# segment or template and a bad template exit 1 (file:line), usage errors 2.
#
# Run by `make check`. Exit 77 (skip) only when redis-server, redis-cli,
# python3 or openssl is missing.
set -u

top_builddir=${top_builddir:-$(pwd)}
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/.." && pwd)}
. "$top_srcdir/tests/lib/cli-test.sh"
. "$top_srcdir/tests/lib/send-test.sh"
st_setup pbsend
st_people 30
U03=$(contact_of u03@example.com) U07=$(contact_of u07@example.com)
"$PB" -c "$CONF" contacts unsubscribe u03@example.com >/dev/null || exit 99
"$PB" -c "$CONF" contacts unsubscribe u07@example.com >/dev/null || exit 99
rc ZADD pb:segment:news 1 00000000000000ff >/dev/null      # a member without an address
expected=$(for i in $(seq -w 1 30); do [ "$i" = 03 ] || [ "$i" = 07 ] || echo "u$i@example.com"; done | sort)
at_least() { [ "$1" -ge "$2" ] || { echo "#   $1 is below $2"; return 1; }; }
below() { [ "$1" -lt "$2" ] || { echo "#   $1 is not below $2"; return 1; }; }

# ---- --dry-run: counts and a sample, nothing sent or written ------------------------------------
pb send news --segment news --campaign spring --dry-run
expect "dry run: exit 0" equals "$code" 0
row() { printf '%s\n' "$out" | grep -E "^$1 " | tr -s ' ' | cut -d' ' -f1-$2; }
expect "dry run: the members" equals "$(row members 2)" "members 31"
expect "dry run: suppressed and without an address" equals "$(row suppressed 2)" "suppressed 3"
expect "dry run: to send" equals "$(row 'to send' 3)" "to send 28"
expect "dry run: a rendered sample with the contact's name" contains "$out" "Hello Name"
expect "dry run: the sample has the campaign header" contains "$out" "X-Campaign: spring"
expect "dry run: nothing submitted" equals "$(ls "$MAIL" | grep -c eml)" 0
expect "dry run: no job made" equals "$(rc EXISTS pb:send:spring)" 0
pb send news --segment news --campaign spring --dry-run --json
expect "dry run --json: the counts" equals "$(printf '%s' "$out" | python3 -c '
import json, sys; d = json.load(sys.stdin); print({r["what"]: r["contacts"] for r in d["counts"]}["to send"], "X-Campaign: spring" in d["sample"]["message"])')" "28 True"

# ---- the send: one message per member, personalised ----------------------------------------------
pb send news --segment news --campaign spring
expect "send: exit 0" equals "$code" 0
expect "send: says what it did" contains "$out" "campaign spring (done): 28 sent, 3 suppressed, 0 failed, 0 uncertain of 31 members"
expect "send: every member once, the suppressed none" equals "$(addresses "$MAIL")" "$expected"
expect "send: each with its own name, in subject and text, and the campaign header" equals \
    "$(mails "$MAIL" | awk -F'|' '{ n = substr($1, 2, 2); if ($2 != "spring" || $3 != "News for Name" n || $4 != "Hello Name" n " from City" n ".") bad++ } END { print bad + 0 }')" 0
expect "send: the envelope sender is the From address" equals "$(sed -n 2p "$MAIL/1.args")" "news@example.com"
expect "send: the record" equals "$(for f in state members sent suppressed failed uncertain; do field spring $f; done | tr '\n' ' ')" \
    "done 31 28 3 0 0 "
expect "send: each member's mark" equals "$(rc HGET pb:send:spring:to "$U03" | cut -d' ' -f1-2)/$(rc HLEN pb:send:spring:to)" "suppressed -/31"
expect "send: not left in the scorer's queue" equals "$(rc ZCARD pb:sends)" 0
pb send news --segment news --campaign spring
expect "send again: exit 0, nothing more to send" equals "$code/$(printf '%s' "$out" | grep -c 'nothing more to send')" "0/1"
expect "send again: no message" equals "$(ls "$MAIL" | grep -c eml)" 28
pb send --resume spring
expect "--resume of a finished send: nothing sent" equals "$code/$(ls "$MAIL" | grep -c eml)" "0/28"
pb send other --segment news --campaign spring
expect "another template under the same campaign: exit 1" equals "$code" 1
expect "another template under the same campaign: says so" contains "$out" "campaign spring exists: it sends news to segment news"

# ---- --status and --cancel --------------------------------------------------------------------------
pb send --status spring
expect "--status: the record's fields" contains "$out" "sent         28"
expect "--status: times readable" contains "$(printf '%s\n' "$out" | grep finished_at)" "Z)"
pb send --status spring --json
expect "--status --json" equals "$(printf '%s' "$out" | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["state"], d["sent"], d["uncertain_contacts"])')" "done 28 []"
pb send --status nosuch
expect "--status of no such campaign: exit 1" equals "$code/$(printf '%s' "$out" | grep -c 'no campaign send "nosuch"')" "1/1"
pb send --cancel spring
expect "--cancel of a finished send: exit 1, says so" equals "$code/$(printf '%s' "$out" | grep -c 'is done')" "1/1"

# ---- killed mid-send, then resumed: nobody twice, the one in flight uncertain ---------------------------
SLOW=$T/slow.conf K=$T/killed
# slow_send DIR PAUSE CAMPAIGN N: the news campaign in the background ($pid, output in
# $T/CAMPAIGN.out), each submission into DIR PAUSE s long, until N messages are there
slow_send() {
    st_conf "$SLOW" "$1" "$2"
    "$PB" -c "$SLOW" send news --segment news --campaign "$3" >"$T/$3.out" 2>&1 &
    pid=$!
    wait_for 30 test -e "$1/$4.eml"
}
slow_send "$K" 1 killed 3
{ kill -9 "$pid"; wait "$pid"; } 2>/dev/null   # reaped: a zombie would look alive to the next run
inflight=$(field killed inflight)
first=$(rc HGET pb:contact:"$inflight" email)
expect "killed: a member was in flight" equals "$(rc HGET pb:send:killed:to "$inflight" | cut -d' ' -f1)" "claimed"
st_conf "$SLOW" "$K" 0
CONF_MAIN=$CONF CONF=$SLOW
pb send news --segment news --campaign killed
CONF=$CONF_MAIN
expect "resumed: exit 0" equals "$code" 0
expect "resumed: the uncertain member is listed with its address" contains "$out" "$inflight  $first"
expect "resumed: said to be uncertain, not resent" contains "$out" "recorded as uncertain, not resent"
expect "resumed: counted" contains "$out" "27 sent, 3 suppressed, 0 failed, 1 uncertain of 31 members"
expect "resumed: everyone else exactly once in the folder" equals "$(addresses "$K" | grep -vx "$first")" \
    "$(printf '%s\n' "$expected" | grep -vx "$first")"
expect "resumed: the uncertain one at most once (submitted before the kill, or not)" below \
    "$(addresses "$K" | grep -cx "$first")" 2
expect "resumed: its mark says uncertain" equals "$(rc HGET pb:send:killed:to "$inflight" | cut -d' ' -f1)" "uncertain"
expect "resumed: nothing left in flight" equals "$(rc HEXISTS pb:send:killed inflight)" 0
pb send --status killed
expect "--status lists the uncertain member" contains "$(printf '%s\n' "$out" | tail -1)" "$inflight  $first"

# ---- SIGTERM: stops after the message in hand, nothing uncertain ------------------------------------------
TM=$T/term
slow_send "$TM" 0.3 termed 2
kill -TERM "$pid"
wait "$pid"
expect "SIGTERM: exit 1, says how to go on" equals "$?/$(grep -c 'interrupted after the message in hand; run postbeacon send --resume termed' "$T/termed.out")" "1/1"
expect "SIGTERM: the message in hand settled, nothing in flight" equals \
    "$(rc HEXISTS pb:send:termed inflight)/$(field termed sent)/$(ls "$TM" | grep -c eml)" "0/$(ls "$TM" | grep -c eml)/$(field termed sent)"
st_conf "$SLOW" "$TM" 0
CONF=$SLOW pb send --resume termed
CONF=$CONF_MAIN
expect "SIGTERM, resumed: everyone once, none uncertain" equals "$code/$(addresses "$TM")/$(field termed uncertain)" "0/$expected/0"

# ---- --cancel stops a send ---------------------------------------------------------------------------------
C=$T/cancel
slow_send "$C" 0.3 halted 2
pb send --cancel halted
expect "--cancel: exit 0" equals "$code" 0
wait "$pid"
expect "--cancel: the running send stops (exit 1), saying why" equals "$?/$(grep -c 'is cancelled now' "$T/halted.out")" "1/1"
sent=$(ls "$C" | grep -c eml)
expect "--cancel: it stopped after the message in hand" below "$sent" 6
expect "--cancel: recorded" equals "$(field halted state)" "cancelled"
pb send news --segment news --campaign halted
expect "a cancelled send is not run again" equals "$code/$(ls "$C" | grep -c eml)" "1/$sent"

# ---- the rate: submit.rate over all senders, --rate for one send -----------------------------------------------
RATE=$T/rate.conf
st_conf "$RATE" "$T/rate" 0 4
start=$(date +%s%N)
CONF=$RATE pb send news --segment vip --campaign rated
CONF=$CONF_MAIN
took=$((($(date +%s%N) - start) / 1000000))
expect "submit.rate 4: exit 0" equals "$code/$(ls "$T/rate" | grep -c eml)" "0/8"
expect "submit.rate 4: 8 messages took at least (8 - 4) / 4 s" at_least "$took" 1000
start=$(date +%s%N)
pb send news --segment vip --campaign slower --rate 2
took=$((($(date +%s%N) - start) / 1000000)) slower_out=$out
expect "--rate 2: 8 messages took at least (8 - 2) / 2 s" at_least "$took" 3000
expect "--rate: kept with the send" equals "$(field slower rate)" 2

# ---- a progress bar on a terminal, none otherwise ---------------------------------------------------------------
rc DEL pb:send:slower pb:send:slower:to >/dev/null
if command -v script >/dev/null; then      # util-linux: a pseudo-terminal
    script -qec "$PB -c $CONF send news --segment vip --campaign slower" /dev/null >"$T/tty.out" 2>&1
    expect "on a terminal: a progress bar" contains "$(cat "$T/tty.out")" "] 100%"
fi
expect "not on a terminal: none" equals "$(printf '%s' "$slower_out" | grep -c '%')" 0

# ---- errors -------------------------------------------------------------------------------------------------------------
pb send news --segment nosuch --campaign x1
expect "an unknown segment: exit 1, names the configured ones" equals "$code/$(printf '%s' "$out" | grep -c 'no segment "nosuch".*configured: news, vip, empty')" "1/1"
pb send nosuch --segment news --campaign x1
expect "an unknown template: exit 1, names the file" equals "$code/$(printf '%s' "$out" | grep -c 'templates/nosuch.eml: cannot read')" "1/1"
printf 'From: Shop <news@example.com>\nSubject: Hi\nContent-Type: text/plain; charset=utf-8\n\nHello {{frist_name}}\n' >"$T/templates/bad.eml"
pb send bad --segment news --campaign x1
expect "a bad template: exit 1 with file:line" contains "$out" "$T/templates/bad.eml:5:"
expect "errors: no job made" equals "$(rc EXISTS pb:send:x1)" 0
pb send news --segment news --campaign Bad.Name
expect "a bad campaign name: exit 1" equals "$code" 1
pb send news --segment news
expect "no --campaign: exit 2" equals "$code" 2
pb send --segment news --campaign x1
expect "no template: exit 2" equals "$code" 2
pb send news --segment news --campaign x1 --ab subject=one
expect "one --ab: exit 2" equals "$code" 2
pb send news --segment news --campaign x1 --at 2001-01-01T00:00
expect "--at in the past: exit 2" equals "$code" 2
pb send news --segment news --campaign x1 --at tomorrow
expect "--at not a time: exit 2" equals "$code" 2
pb send news --segment news --campaign x1 --rate 0
expect "--rate 0: exit 2" equals "$code" 2
pb send --resume nosuch
expect "--resume of no such campaign: exit 1" equals "$code" 1
pb send --help
expect "--help: exit 0" equals "$code" 0
tap_finish
