#!/bin/bash
# cli_send_ab.sh - the scheduled and the A/B campaign sends of postbeacon
# send, against a private redis-server, with postbeacon-scorer --once as
# the daemon that runs due jobs and capture-submit.sh as the MTA: --at
# puts the job into <p>sends and nothing is sent before its time, the
# scorer sends it then (also a time with its own zone, and --cancel of a
# scheduled job); an A/B test sends the test share split between the
# variants (each mail with its variant's subject or template and the
# campaign <campaign>:<v>, each contact's variant as pb_split_bucket
# says, --dry-run agreeing), waits for the winner, which the scorer
# decides from the variants' unique human clicks (the tracker's counters)
# relative to their test mails, records the decision with its figures and
# sends the rest of the segment the winner under <campaign>; a tie is
# decided by the other measure (send --resume after the time). Nobody
# gets two mails of a campaign. The scorer as a daemon sends a long
# campaign in chunks and scores an event in the middle of it.
#
# Run by `make check`. Exit 77 (skip) only when redis-server, redis-cli,
# python3 or openssl is missing.
set -u

top_builddir=${top_builddir:-$(pwd)}
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/.." && pwd)}
. "$top_srcdir/tests/lib/cli-test.sh"
. "$top_srcdir/tests/lib/send-test.sh"
st_setup pbsendab
st_people 30
nmails() { mails "$MAIL" "$1" | grep -c .; }
# sleep until unix ms $1 has passed
below() { [ "$1" -lt "$2" ] || { echo "#   $1 is not below $2"; return 1; }; }
until_ms() { while [ "$(date +%s%3N)" -le "$1" ]; do sleep 0.1; done; }
everyone=$(for i in $(seq -w 1 30); do echo "u$i@example.com"; done | sort)
vips=$(for i in $(seq -w 1 10); do echo "u$i@example.com"; done | sort)

# ---- --at: scheduled, sent by the scorer when due ---------------------------------------------
at=$(date -d '+4 seconds' '+%Y-%m-%dT%H:%M:%S')
pb send news --segment vip --campaign later --at "$at"
expect "--at: exit 0, scheduled" equals "$code/$(printf '%s' "$out" | grep -c 'scheduled for')" "0/1"
due=$(field later due_at)
expect "--at: the local time read" equals "$due" "$(($(date -d "$at" +%s) * 1000))"
expect "--at: in the scorer's queue at its time" equals "$(rc ZSCORE pb:sends later)" "$due"
expect "--at: scheduled" equals "$(field later state)" "scheduled"
pb send news --segment vip --campaign later --at "$at"
expect "--at again: exit 0, made before" equals "$code/$(printf '%s' "$out" | grep -c 'made before')" "0/1"
pb send --resume later
expect "--resume before its time: exit 1, says when" equals "$code/$(printf '%s' "$out" | grep -c 'is scheduled for')" "1/1"
scorer
expect "the scorer before the time: nothing sent" equals "$(nmails later)/$(field later state)" "0/scheduled"
until_ms "$due"
scorer
expect "the scorer when due: exit 0" equals "$?" 0
expect "the scorer when due: every vip member once" equals "$(addresses "$MAIL" later)" "$vips"
expect "the scorer when due: done, out of the queue" equals "$(field later state)/$(field later sent)/$(rc ZCARD pb:sends)" "done/10/0"
expect "the scorer logs it" contains "$sout" "campaign later: done: 10 sent"
scorer
expect "the scorer again: nothing more" equals "$(nmails later)" 10
pb send news --segment vip --campaign zoned --at 2030-06-01T10:00:00+02:00
expect "--at with a zone" equals "$(field zoned due_at)" "$(($(date -d 2030-06-01T08:00:00Z +%s) * 1000))"
pb send --cancel zoned
expect "--cancel of a scheduled send: out of the queue" equals "$code/$(field zoned state)/$(rc ZSCORE pb:sends zoned)" "0/cancelled/"

# ---- an A/B test: the test share ----------------------------------------------------------------
AB=(--ab "subject=Spring A for {{first_name}}" --ab "template=other" --test-share 50% --winner-after 3s)
pb send news --segment news --campaign spring "${AB[@]}" --dry-run
dry=$out
pb send news --segment news --campaign spring "${AB[@]}"
expect "A/B: exit 0, the test share sent" equals "$code/$(printf '%s' "$out" | grep -c 'test share sent')" "0/1"
na=$(nmails spring:a) nb=$(nmails spring:b)
expect "A/B: both variants sent" equals "$((na > 0 && nb > 0))" 1
expect "A/B: the test mails are about half the segment" equals "$((na + nb >= 9 && na + nb <= 21))" 1
expect "A/B: as many as recorded" equals "$(field spring variant:a:sent)/$(field spring variant:b:sent)/$(field spring sent)" "$na/$nb/$((na + nb))"
expect "A/B: the dry run said so" equals "$(printf '%s\n' "$dry" | grep -E '^variant (a|b) ' | tr -s ' ' | cut -d' ' -f1-3 | tr '\n' ' ')" \
    "variant a $na variant b $nb "
expect "A/B: variant a has its subject" equals "$(mails "$MAIL" spring | awk -F'|' '$2 == "spring:a" && $3 !~ /^Spring A for Name[0-9][0-9]$/' | wc -l)" 0
expect "A/B: variant b has its template" equals "$(mails "$MAIL" spring | awk -F'|' '$2 == "spring:b" && ($3 !~ /^Other news, Name/ || $4 !~ /^Other text for Name/)' | wc -l)" 0
marks_agree=$(mails "$MAIL" spring | while IFS='|' read -r to camp _; do
    echo "$camp $(rc HGET pb:send:spring:to "$(contact_of "$to")" | cut -d' ' -f1-2)"; done \
    | awk '{ if ($1 != "spring:" $3 || $2 != "sent") bad++ } END { print bad + 0 }')
expect "A/B: each test mail's variant is its contact's mark" equals "$marks_agree" 0
expect "A/B: waiting for the winner, in the scorer's queue" equals "$(field spring state)/$(rc ZSCORE pb:sends spring)" "waiting/$(field spring winner_at)"
pb send --resume spring
expect "--resume before the winner is due: exit 0, nothing sent" equals "$code/$(nmails spring)" "0/$((na + nb))"
expect "--resume before the winner: says when" contains "$out" "the winner is decided at"

# ---- the winner: b has more unique human clicks per test mail -------------------------------------
rc HSET pb:campaign:spring:a unique_clicks_human 1 unique_opens_human 5 >/dev/null
rc HSET pb:campaign:spring:b unique_clicks_human 3 unique_opens_human 1 >/dev/null
scorer
expect "the scorer before winner_at: nothing more" equals "$(nmails spring)" "$((na + nb))"
until_ms "$(field spring winner_at)"
scorer
expect "the winner: decided and recorded" equals "$(field spring winner)/$(field spring state)" "b/done"
expect "the winner: the figures behind it" equals "$(field spring decision)" \
    "a: 1 unique human clicks of $na sent ($(python3 -c "print('%.1f' % (100 / $na))")%); b: 3 of $nb ($(python3 -c "print('%.1f' % (300 / $nb))")%); b wins"
expect "the winner: decided_at" equals "$(($(field spring decided_at) >= $(field spring winner_at)))" 1
expect "the remainder: the winner's template, campaign spring" equals \
    "$(mails "$MAIL" spring | awk -F'|' '$2 == "spring" && $3 !~ /^Other news, Name/' | wc -l)/$(nmails spring | tail -1)" "0/30"
expect "the remainder: everyone else" equals "$(mails "$MAIL" spring | awk -F'|' '$2 == "spring"' | wc -l)" "$((30 - na - nb))"
expect "A/B: every member exactly one mail of the campaign" equals "$(addresses "$MAIL" spring)" "$everyone"
expect "A/B: the test counts stay the test's" equals "$(field spring variant:a:sent)/$(field spring variant:b:sent)/$(field spring sent)" "$na/$nb/30"
expect "A/B: the scorer logged the decision" contains "$sout" "b wins"
pb send --status spring
expect "--status shows the decision" contains "$out" "decision"

# ---- a tie on clicks: decided by opens; the winner through send --resume -------------------------
pb send news --segment vip --campaign tie --ab "subject=One" --ab "subject=Two" --test-share 100% --winner-after 1s --winner-by clicks
expect "tie: the whole segment in the test" equals "$code/$(($(nmails tie:a) + $(nmails tie:b)))" "0/10"
rc HSET pb:campaign:tie:b unique_opens_human 2 >/dev/null
until_ms "$(field tie winner_at)"
pb send --resume tie
expect "tie: --resume after the time decides" equals "$code/$(field tie winner)/$(field tie state)" "0/b/done"
expect "tie: the decision says how" contains "$(field tie decision)" "a and b tie, so by unique human opens: a 0 (0.0%), b 2"
expect "tie: no remainder, nobody twice" equals "$(addresses "$MAIL" tie)" "$vips"

# ---- the daemon: a long send goes out in chunks, events are scored in between -----------------------
SLOW=$T/slow.conf D=$T/daemon
st_conf "$SLOW" "$D" 0.3
"$SCORER" -c "$SLOW" -f >"$T/daemon.log" 2>&1 &
dpid=$!
wait_for 10 grep -q started "$T/daemon.log"
"$PB" -c "$SLOW" send news --segment news --campaign daemon --at "$(date -d '+2 seconds' '+%Y-%m-%dT%H:%M:%S')" >/dev/null
wait_for 30 test -e "$D/2.eml"
U01=$(contact_of u01@example.com)
rc XADD pb:events '*' type click eid "$(openssl rand -hex 16)" ts "$(date +%s%3N)" msg 0123456789abcdef \
    contact "$U01" campaign x url https://shop.example.com/ class human >/dev/null
scored() { [ "$(rc HGET "pb:contact:$U01" score)" = 5 ]; }
sent_out() { [ "$(field daemon state)" = done ]; }
wait_for 10 scored
expect "daemon: the event scored while the campaign is being sent" below "$(field daemon sent)" 30
wait_for 60 sent_out
expect "daemon: the campaign sent, everyone once" equals "$(addresses "$D" daemon)" "$everyone"
kill -TERM "$dpid"
wait "$dpid"
expect "daemon: a clean stop" equals "$?" 0
expect "daemon: logged the send" contains "$(cat "$T/daemon.log")" "campaign daemon: done: 30 sent"
tap_finish
