#!/bin/bash
# cli_contacts.sh - postbeacon contacts show|unsubscribe|resubscribe|
# erase|export-data and postbeacon event against a private redis-server:
# an unknown contact is exit 1 with a clear message, a usage error exit 2;
# show decays the score with lib/score.c and lists the history with its
# reasons and the contact's events; unsubscribe writes the suppression
# list and unsubscribed_at as the tracker does; event writes one stream
# entry through the custom-event checks; export-data holds every place;
# erase leaves no key, member, field or stream entry naming the contact's
# address or id (the whole keyspace scanned and every value read), keeps
# the other contact, and a re-import of the erased address is suppressed.
#
# Run by `make check`. Exit 77 (skip) only when redis-server, redis-cli,
# python3 or openssl is missing.
set -u

top_builddir=${top_builddir:-$(pwd)}
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/.." && pwd)}
. "$top_srcdir/tests/lib/cli-test.sh"
ct_setup pbcontacts
printf 'email,first_name,city,tags\nann@example.com,Ann,Köln,vip\nbob@example.com,Bob,Bonn,\n' >"$T/c.csv"
"$PB" -c "$CONF" contacts import "$T/c.csv" >/dev/null || exit 99
ANN=$(contact_of ann@example.com) BOB=$(contact_of bob@example.com)
now_ms=$(($(date +%s) * 1000))
line_of() { printf '%s\n' "$out" | grep -E "^$1 " | tr -s ' '; }
json() { printf '%s' "$out" | python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }

# ---- unknown contact, usage errors ---------------------------------------------------
for sub in show unsubscribe resubscribe erase export-data; do
    pb contacts $sub --yes nobody@example.com
    expect "$sub of an unknown contact: exit 1" equals "$code" 1
    expect "$sub of an unknown contact: says so" contains "$out" "no contact nobody@example.com"
    pb contacts $sub
    expect "$sub without an address: exit 2" equals "$code" 2
    pb contacts $sub --frobnicate ann@example.com
    expect "$sub with an unknown option: exit 2" equals "$code" 2
done
pb contacts show not-an-address
expect "show of something that is not an address: exit 1" equals "$code" 1
pb contacts
expect "contacts without a subcommand: exit 2" equals "$code" 2
pb
expect "no command: exit 2" equals "$code" 2
pb contacts show --help
expect "show --help: exit 0" equals "$code" 0

# ---- show: decayed score, history, events ------------------------------------------------
# 80 points 30 days ago with a half-life of 30 days: 40 now
rc HSET "pb:contact:$ANN" score 80 score_at $((now_ms - 30 * 86400000)) \
    seg:mql 1796119200000 fit 15 grade B2 >/dev/null
rc RPUSH "pb:contact:$ANN:scores" "$((now_ms - 30 * 86400000)) pricing-click 15 80 9f1c0000000000000000000000000001" \
    "$((now_ms - 31 * 86400000)) open-human 65 65 9f1c0000000000000000000000000000" >/dev/null
rc XADD pb:events '*' type click eid e1 ts "$now_ms" msg 00000000000000aa contact "$ANN" \
    campaign spring url https://shop.example.com/pricing class human reason '' >/dev/null
rc XADD pb:events '*' type click eid e2 ts "$now_ms" msg 00000000000000bb contact "$BOB" \
    campaign spring url https://shop.example.com/bob class human reason '' >/dev/null
pb contacts show ANN@example.com
expect "show: exit 0" equals "$code" 0
expect "show: the decayed score" equals "$(line_of score_now)" "score_now 40.00"
expect "show: the city" contains "$out" "Köln"
expect "show: the history's reason" contains "$out" "pricing-click  15"
expect "show: the contact's click" contains "$out" "https://shop.example.com/pricing"
expect "show: not another contact's" lacks "$out" "https://shop.example.com/bob"
expect "show: the segment with its entry time" contains "$out" "mql      2026-12-01 10:00:00Z"
expect "show: the grade" equals "$(line_of grade)" "grade B2"
pb contacts show --json ann@example.com
expect "show --json: the score" equals "$(json '[r["value"] for r in d["contact"] if r["field"]=="score_now"][0]')" "40.00"
expect "show --json: two history entries, newest first" equals "$(json '[h["rule"] for h in d["score_history"]]')" "['pricing-click', 'open-human']"
expect "show --json: the events" equals "$(json 'len(d["events"])')" 2
expect "show --json: the segments" equals "$(json '[(g["segment"], g["since"]) for g in d["segments"]]')" "[('mql', '2026-12-01 10:00:00Z')]"

# ---- unsubscribe / resubscribe ------------------------------------------------------------
pb contacts unsubscribe ann@example.com
expect "unsubscribe: exit 0" equals "$code" 0
expect "unsubscribe: on the suppression list" equals "$(rc SISMEMBER pb:suppressed "$ANN")" 1
expect "unsubscribe: unsubscribed_at in seconds" equals "$(rc HGET "pb:contact:$ANN" unsubscribed_at | wc -c)" 11
last=$(rc XREVRANGE pb:events + - COUNT 1 | tail -n +2 | paste -d= - - | tr '\n' ' ')
expect "unsubscribe: announced to the scorer (a profile entry naming unsubscribed_at)" contains "$last" \
    "type=profile"
expect "unsubscribe: the entry names the contact and the field" contains "$last" \
    "contact=$ANN campaign= source=cli attrs=unsubscribed_at"
pb contacts show ann@example.com
expect "show: suppressed" equals "$(line_of suppressed)" "suppressed yes"
pb contacts resubscribe ann@example.com
expect "resubscribe: off the list" equals "$(rc SISMEMBER pb:suppressed "$ANN")" 0
expect "resubscribe: unsubscribed_at gone" equals "$(rc HEXISTS "pb:contact:$ANN" unsubscribed_at)" 0
last=$(rc XREVRANGE pb:events + - COUNT 1 | tail -n +2 | paste -d= - - | tr '\n' ' ')
expect "resubscribe: announced to the scorer" contains "$last" "contact=$ANN campaign= source=cli attrs=unsubscribed_at"
pb contacts unsubscribe ann@example.com

# ---- event -----------------------------------------------------------------------------
n=$(rc XLEN pb:events)
pb event ann@example.com purchase total=49.9 currency=EUR
expect "event: exit 0" equals "$code" 0
expect "event: one entry" equals "$(rc XLEN pb:events)" $((n + 1))
last=$(rc XREVRANGE pb:events + - COUNT 1 | tail -n +2 | paste -d= - - | tr '\n' ' ')
expect "event: its fields" contains "$last" "type=purchase"
expect "event: contact, source cli, properties" contains "$last" \
    "contact=$ANN campaign= source=cli p:total=49.9 p:currency=EUR"
eid=$(printf '%s' "$out" | awk '{print $3}')
expect "event: the printed id is the entry's" contains "$last" "eid=$eid"
expect "event: written once" equals "$(rc XRANGE pb:events - + | grep -c "^$eid\$")" 1
pb event carl@example.com signup
expect "event for a new address: it becomes a contact" equals "$(rc HGET pb:contacts:by-email carl@example.com)" "$(contact_of carl@example.com)"
pb event ann@example.com open
expect "event of a tracker type: exit 1" equals "$code" 1
expect "event of a tracker type: says why" contains "$out" "tracker's own event types"
pb event not-an-address purchase
expect "event with a bad address: exit 1" equals "$code" 1
pb event ann@example.com purchase novalue
expect "event with a property without =: exit 1" equals "$code" 1
pb event ann@example.com
expect "event without a type: exit 2" equals "$code" 2
expect "refused events wrote nothing" equals "$(rc XLEN pb:events)" $((n + 2))

# ---- places that name Ann, as the milter, tracker and scorer leave them -----------------------
rc HSET pb:msg:00000000000000aa campaign spring contact "$ANN" sent_at 1 subject Hi >/dev/null
rc SADD pb:uniq:click-human:spring "$ANN" "$BOB" >/dev/null
rc SADD pb:uniq:link-human:spring "0:$ANN" "0:$BOB" >/dev/null
rc HSET "pb:contact:$ANN:rules" pricing-click 1 >/dev/null
rc ZADD pb:segment:mql 1 "$ANN" 2 "$BOB" >/dev/null
rc SET "pb:queue:step:$ANN" due >/dev/null
rc HSET pb:campaign:spring clicks_human 2 >/dev/null

pb contacts export-data ann@example.com
expect "export-data: exit 0" equals "$code" 0
expect "export-data: the contact hash" equals "$(json 'd["keys"]["pb:contact:'$ANN'"]["city"]')" "Köln"
expect "export-data: the score history" equals "$(json 'len(d["keys"]["pb:contact:'$ANN':scores"])')" 2
expect "export-data: the rule state and a later per-contact key" equals \
    "$(json 'sorted(k for k in d["keys"])')" \
    "['pb:contact:$ANN', 'pb:contact:$ANN:rules', 'pb:contact:$ANN:scores', 'pb:queue:step:$ANN']"
expect "export-data: the memberships" equals \
    "$(json 'sorted((m["key"], m["member"]) for m in d["memberships"])')" \
    "[('pb:segment:mql', '$ANN'), ('pb:suppressed', '$ANN'), ('pb:uniq:click-human:spring', '$ANN'), ('pb:uniq:link-human:spring', '0:$ANN')]"
expect "export-data: the mapping and the send record" equals \
    "$(json 'sorted((f["key"], f["field"]) for f in d["fields"])')" \
    "[('pb:contacts:by-email', 'ann@example.com'), ('pb:msg:00000000000000aa', 'contact')]"
expect "export-data: every stream entry of the contact" equals "$(json 'len(d["events"])')" \
    "$(rc XRANGE pb:events - + | grep -c "^$ANN\$")"

# ---- erase ----------------------------------------------------------------------------------
pb contacts erase ann@example.com
expect "erase without a terminal and without --yes: exit 2" equals "$code" 2
expect "erase without --yes: says to add it" contains "$out" "--yes"
expect "erase without --yes: nothing erased" equals "$(rc HGET pb:contacts:by-email ann@example.com)" "$ANN"
if command -v script >/dev/null 2>&1; then
    # on a terminal (script(1) gives it one) erase asks; "n" keeps everything
    printf 'n\n' | script -qec "$PB -c $CONF contacts erase bob@example.com" /dev/null >"$T/tty.out" 2>&1
    expect "erase on a terminal: asks" contains "$(cat "$T/tty.out")" "Erase everything about bob@example.com"
    expect "erase on a terminal, answered n: nothing erased" equals \
        "$(rc HGET pb:contacts:by-email bob@example.com)" "$BOB"
fi
pb contacts erase --yes ann@example.com
expect "erase --yes: exit 0" equals "$code" 0
# every key's content, whatever its type
dump_all() {
    local k
    for k in $(rc --scan); do
        echo "key $k"
        case $(rc TYPE "$k") in
        hash) rc HGETALL "$k" ;; set) rc SMEMBERS "$k" ;; zset) rc ZRANGE "$k" 0 -1 ;;
        list) rc LRANGE "$k" 0 -1 ;; stream) rc XRANGE "$k" - + ;; string) rc GET "$k" ;;
        esac
    done
}
everything=$(dump_all)
expect "erase: no key or value names the id" lacks "$everything" "$ANN"
expect "erase: no key or value names the address" lacks "$everything" "ann@example.com"
expect "erase: the stream has no entry of the contact" lacks "$(rc XRANGE pb:events - +)" "$ANN"
expect "erase: the other contact stays" equals "$(rc HGET pb:contacts:by-email bob@example.com)" "$BOB"
expect "erase: the other contact's memberships stay" equals \
    "$(rc SISMEMBER pb:uniq:click-human:spring "$BOB")$(rc ZSCORE pb:segment:mql "$BOB")" 12
expect "erase: the other contact's events stay" contains "$(rc XRANGE pb:events - +)" "https://shop.example.com/bob"
expect "erase: the anonymous counters stay" equals "$(rc HGET pb:campaign:spring clicks_human)" 2
expect "erase: the send record stays without its contact" equals "$(rc HGET pb:msg:00000000000000aa subject)" "Hi"
expect "erase: one erased mark" equals "$(rc SCARD pb:erased)" 1
pb contacts show ann@example.com
expect "erase: the contact is unknown now" equals "$code" 1

# ---- a re-import of the erased address stays suppressed ------------------------------------------
printf 'email,first_name\nann@example.com,Ann\n' >"$T/again.csv"
pb contacts import "$T/again.csv"
expect "re-import: exit 0" equals "$code" 0
expect "re-import: the summary says it stays suppressed" contains "$out" "1 erased before and kept suppressed"
expect "re-import: suppressed" equals "$(rc SISMEMBER pb:suppressed "$ANN")" 1
expect "re-import: unsubscribed_at" test -n "$(rc HGET "pb:contact:$ANN" unsubscribed_at)"
pb contacts import "$T/again.csv"
expect "re-import again: unchanged and still suppressed" equals \
    "$(printf '%s' "$out" | grep -c '1 unchanged')$(rc SISMEMBER pb:suppressed "$ANN")" 11
pb contacts show ann@example.com
expect "re-import: show says suppressed" equals "$(line_of suppressed)" "suppressed yes"
tap_finish
