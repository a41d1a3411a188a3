#!/bin/bash
# cli_queue.sh - postbeacon queue list|cancel|resolve against a private
# redis-server and the real scorer (postbeacon-scorer --once) making the
# queue: contacts imported with --welcome and a cart_abandoned event give
# queued steps, listed soonest first with due times in the operator's
# time zone (TZ) and in UTC, as text, JSON and CSV, filtered by workflow
# and contact, limited; cancel takes them out for good (skipped,
# "cancelled by operator" in the log; a cancelled step made due is not
# sent, an uncancelled one is); a scorer killed while submitting (a
# submit command that kills it) leaves uncertain steps, listed with why;
# resolve --not-sent puts one back and the next run sends it, --sent
# records it and queues the next step without sending; unknown contacts,
# workflows, steps and states are exit 1, usage errors exit 2.
#
# Run by `make check`. Exit 77 (skip) only when redis-server, redis-cli,
# python3 or openssl is missing.
set -u

top_builddir=${top_builddir:-$(pwd)}
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/.." && pwd)}
. "$top_srcdir/tests/lib/cli-test.sh"
SCORER=$top_builddir/scorer/postbeacon-scorer
export TZ=Europe/Berlin
CT_SCORER='user = ""; consumer = "t1"; workflows = (
  { name = "welcome"; trigger = { signup = true; }; steps = (
      { name = "hello"; send = "welcome-1.en.eml"; delay_days = 1; },
      { name = "delivery"; send = "welcome-2.en.eml"; delay_days = 7; } ); },
  { name = "cart"; trigger = { event = "cart_abandoned"; }; steps = (
      { name = "reminder"; send = "cart-abandoned.en.eml"; delay_hours = 3; } ); },
  { name = "rescue"; trigger = { event = "rescue"; }; steps = (
      { name = "first"; send = "welcome-1.en.eml"; },
      { name = "second"; send = "welcome-2.en.eml"; delay_days = 2; } ); }
);'
ct_init pbqueue
# submit_with COMMAND: the configuration with that submission command
submit_with() {
    CT_CONF_EXTRA="templates = { dir = \"$top_srcdir/config/templates\"; };
submit = { from = \"Shop <news@example.com>\"; command = \"$1\"; };" ct_write_conf
}
CAPTURE="/bin/sh $top_srcdir/tests/lib/capture-submit.sh $T/out 0 0 \${recipient}"
mkdir "$T/out"
submit_with "$CAPTURE"
ct_start_redis
"$PB" -c "$CONF" keys generate >/dev/null || exit 99
# (in a shell of its own, which says "Killed" into the log, not here)
scorer() { sh -c '"$0" -c "$1" --once; exit $?' "$SCORER" "$CONF" >>"$T/scorer.log" 2>&1; }
messages() { ls "$T/out" | grep -c '\.eml$'; }
py() { printf '%s' "$out" | python3 -c "import csv,io,json,sys; s=sys.stdin.read(); $1"; }
state() { rc HGET "pb:contact:$1" "wfs:$2"; }

printf 'email,first_name\nann@example.com,Ann\nbob@example.com,Bob\ncarl@example.com,Carl\n' >"$T/c.csv"
"$PB" -c "$CONF" contacts import --welcome "$T/c.csv" >/dev/null || exit 99
"$PB" -c "$CONF" event ann@example.com cart_abandoned >/dev/null || exit 99
scorer || exit 99
ANN=$(contact_of ann@example.com) BOB=$(contact_of bob@example.com) CARL=$(contact_of carl@example.com)
rc HSET "pb:contact:$CARL" "wft:welcome|hello" 2 >/dev/null     # two temporary failures so far

# ---- list ---------------------------------------------------------------------------------
pb queue list
expect "list: exit 0" equals "$code" 0
expect "list: the header" equals "$(printf '%s\n' "$out" | head -1 | tr -s ' ')" \
    "due due_utc workflow step state tries contact email"
expect "list: soonest first (the cart reminder in 3 h, then the welcomes in a day)" equals \
    "$(printf '%s\n' "$out" | sed -n '2,5p' | awk '{print $(NF-5) "|" $(NF-4) "|" $NF}' | head -1)" \
    "cart|reminder|ann@example.com"
expect "list: the count" equals "$(printf '%s\n' "$out" | tail -1)" "4 follow-up steps queued"
due=$(rc ZSCORE pb:wf:due "$ANN|cart|reminder")
pb queue list --json
expect "list --json: 4 steps, due in order" equals \
    "$(py 'r=json.loads(s); print(len(r), [x["due_utc"] for x in r] == sorted(x["due_utc"] for x in r))')" "4 True"
expect "list --json: due in TZ (Europe/Berlin) and in UTC, as the queue holds it" equals \
    "$(py 'r=json.loads(s)[0]; print(r["due"], "/", r["due_utc"], r["workflow"], r["step"], r["state"], r["tries"], r["contact"], r["email"])')" \
    "$(python3 -c "
from datetime import datetime, timezone
from zoneinfo import ZoneInfo
t = datetime.fromtimestamp($due / 1000, timezone.utc)
print(t.astimezone(ZoneInfo('Europe/Berlin')).strftime('%Y-%m-%d %H:%M:%S %Z'), '/', t.strftime('%Y-%m-%dT%H:%M:%SZ'), 'cart reminder queued 0 $ANN ann@example.com')")"
expect "list --json: the tries so far" equals \
    "$(py 'print([x["tries"] for x in json.loads(s) if x["email"] == "carl@example.com"])')" "['2']"
pb queue list --csv
expect "list --csv: parses, one row a step" equals \
    "$(py 'r=list(csv.DictReader(io.StringIO(s))); print(len(r), sorted(set(x["workflow"] + "|" + x["step"] for x in r)))')" \
    "4 ['cart|reminder', 'welcome|hello']"
pb queue list --workflow welcome --json
expect "list --workflow: only its steps" equals "$(py 'print(sorted(x["email"] for x in json.loads(s)))')" \
    "['ann@example.com', 'bob@example.com', 'carl@example.com']"
pb queue list --contact ann@example.com --json
expect "list --contact: only the contact's, soonest first" equals \
    "$(py 'print([x["workflow"] + "|" + x["step"] for x in json.loads(s)])')" "['cart|reminder', 'welcome|hello']"
pb queue list --contact ann@example.com --workflow welcome --csv
expect "list --contact --workflow: both filters" equals "$(py 'print(len(list(csv.DictReader(io.StringIO(s)))))')" 1
pb queue list --limit 2
expect "list --limit 2: says how many of how many" equals "$(printf '%s\n' "$out" | tail -1)" "2 of 4 follow-up steps queued"
expect "list --limit 2: two rows" equals "$(printf '%s\n' "$out" | wc -l)" 4
pb queue list --uncertain
expect "list --uncertain, none yet" equals "$code/$(printf '%s\n' "$out" | tail -1)" "0/0 follow-up steps uncertain"
pb contacts show --json ann@example.com
expect "contacts show: the contact's follow-ups, queued, with when they are due" equals \
    "$(py 'print(sorted((x["workflow"], x["step"], x["state"], x["due"]) for x in json.loads(s)["followups"]))')" \
    "[('cart', 'reminder', 'queued', '$(python3 -c "
from datetime import datetime, timezone
print(datetime.fromtimestamp($due / 1000, timezone.utc).strftime('%Y-%m-%d %H:%M:%SZ'))")'), ('welcome', 'hello', 'queued', '$(python3 -c "
from datetime import datetime, timezone
print(datetime.fromtimestamp($(rc ZSCORE pb:wf:due "$ANN|welcome|hello") / 1000, timezone.utc).strftime('%Y-%m-%d %H:%M:%SZ'))")')]"
expect "... and not among the attributes" equals "$(py 'print(sorted(x["field"] for x in json.loads(s)["contact"] if x["field"].startswith("wf")))')" \
    "['wf:cart', 'wf:welcome']"

# ---- cancel -------------------------------------------------------------------------------
pb queue cancel ann@example.com cart
expect "cancel a workflow's step: exit 0, names it" equals "$code/$(printf '%s' "$out" | grep -c 'cancelled cart|reminder')" "0/1"
expect "cancel: out of the queue" equals "$(rc ZSCORE pb:wf:due "$ANN|cart|reminder")" ""
expect "cancel: state skipped, never queued again" equals "$(state "$ANN" 'cart|reminder')" skipped
expect "cancel: in the log, with the reason" equals \
    "$(rc XREVRANGE pb:wf:log + - COUNT 1 | tr '\n' ' ' | grep -o 'step reminder status skipped reason cancelled by operator')" \
    "step reminder status skipped reason cancelled by operator"
pb queue cancel ann@example.com cart
expect "cancel again: exit 1, nothing queued" equals "$code/$(printf '%s' "$out" | grep -c 'no queued follow-up step of workflow cart')" "1/1"
pb queue cancel ann@example.com welcome delivery
expect "cancel a step not queued: exit 1, its state" equals "$code/$(printf '%s' "$out" | grep -c 'welcome|delivery of ann@example.com is not queued (state: none)')" "1/1"
pb queue cancel ann@example.com welcome nosuch
expect "cancel an unknown step: exit 1, the workflow's steps" equals "$code/$(printf '%s' "$out" | grep -c 'has no step "nosuch" (its steps: hello, delivery)')" "1/1"
pb queue cancel ann@example.com nosuch
expect "cancel an unknown workflow: exit 1, the configured ones" equals "$code/$(printf '%s' "$out" | grep -c 'configured: welcome, cart, rescue')" "1/1"
pb queue cancel nobody@example.com
expect "cancel an unknown contact: exit 1" equals "$code/$(printf '%s' "$out" | grep -c 'no contact nobody@example.com')" "1/1"
pb queue cancel bob@example.com
expect "cancel all of a contact's: exit 0" equals "$code/$(state "$BOB" 'welcome|hello')" "0/skipped"
# carl's step made due now and cancelled: not sent; ann's made due now: sent
now_ms=$(($(date +%s) * 1000))
rc ZADD pb:wf:due "$now_ms" "$CARL|welcome|hello" "$now_ms" "$ANN|welcome|hello" >/dev/null
pb queue cancel carl@example.com welcome hello
expect "cancel one step: exit 0" equals "$code" 0
scorer
expect "a cancelled step is never sent, the others are" equals \
    "$(messages)/$(grep -l 'ann@example.com' "$T/out"/*.eml | wc -l)/$(state "$CARL" 'welcome|hello')/$(state "$ANN" 'welcome|hello')" \
    "1/1/skipped/sent"
pb queue list --json
expect "list after cancel: only ann's next step" equals "$(py 'print([x["workflow"] + "|" + x["step"] + " " + x["email"] for x in json.loads(s)])')" \
    "['welcome|delivery ann@example.com']"

# ---- uncertain: the scorer killed while submitting ---------------------------------------
printf '#!/bin/sh\nkill -9 $PPID\nsleep 1\n' >"$T/killer.sh"
submit_with "/bin/sh $T/killer.sh"
"$PB" -c "$CONF" event dan@example.com rescue >/dev/null || exit 99
scorer
expect "the submit command kills the scorer" equals "$?" 137
"$PB" -c "$CONF" event eve@example.com rescue >/dev/null || exit 99
scorer
submit_with "$CAPTURE"
scorer
DAN=$(contact_of dan@example.com) EVE=$(contact_of eve@example.com)
expect "killed while submitting: uncertain, not resent" equals \
    "$(messages)/$(state "$DAN" 'rescue|first')/$(state "$EVE" 'rescue|first')" "1/uncertain/uncertain"
pb queue list --uncertain
expect "list --uncertain: exit 0, two" equals "$code/$(printf '%s\n' "$out" | tail -1)" "0/2 follow-up steps uncertain"
pb queue list --uncertain --json
expect "list --uncertain --json: oldest first, with why" equals \
    "$(py 'r=json.loads(s); print([x["email"] for x in r], all("in flight at t1 " in x["reason"] and "not resent" in x["reason"] for x in r))')" \
    "['dan@example.com', 'eve@example.com'] True"
expect "list --uncertain --json: found in both zones" equals \
    "$(py 'r=json.loads(s)[0]; print(r["found_utc"].endswith("Z"), r["found"][-4:] in (" CET", "CEST"), r["workflow"], r["step"], r["contact"])')" \
    "True True rescue first $DAN"
pb queue list --uncertain --contact eve@example.com --csv
expect "list --uncertain --contact" equals "$(py 'print([x["email"] for x in csv.DictReader(io.StringIO(s))])')" "['eve@example.com']"

# ---- resolve ------------------------------------------------------------------------------
pb queue resolve dan@example.com rescue first
expect "resolve without --sent or --not-sent: exit 2" equals "$code" 2
pb queue resolve --sent --not-sent dan@example.com rescue first
expect "resolve with both: exit 2" equals "$code" 2
pb queue resolve --sent dan@example.com rescue
expect "resolve without a step: exit 2" equals "$code" 2
pb queue resolve --sent ann@example.com welcome hello
expect "resolve a step that is not uncertain: exit 1, its state" equals "$code/$(printf '%s' "$out" | grep -c "is not uncertain (state: sent)")" "1/1"
pb queue resolve --sent dan@example.com rescue nosuch
expect "resolve an unknown step: exit 1" equals "$code" 1
pb queue resolve --not-sent dan@example.com rescue first
expect "resolve --not-sent: exit 0" equals "$code/$(printf '%s' "$out" | grep -c 'back in the queue, due now')" "0/1"
expect "resolve --not-sent: queued again, off the uncertain list" equals \
    "$(state "$DAN" 'rescue|first')/$(rc ZSCORE pb:wf:uncertain "$DAN|rescue|first")/$([ -n "$(rc ZSCORE pb:wf:due "$DAN|rescue|first")" ] && echo due)" "queued//due"
scorer
expect "resolve --not-sent: the next run sends it, once" equals \
    "$(messages)/$(grep -l 'X-Campaign: rescue:first' "$T/out"/*.eml | xargs grep -l 'dan@example.com' | wc -l)/$(state "$DAN" 'rescue|first')" "2/1/sent"
pb queue resolve --sent eve@example.com rescue first
expect "resolve --sent: exit 0, the next step named" equals "$code/$(printf '%s' "$out" | grep -c 'recorded as sent; the next step, second, is due')" "0/1"
second=$(rc ZSCORE pb:wf:due "$EVE|rescue|second")
expect "resolve --sent: sent, nothing submitted, the next step queued in 2 days" equals \
    "$(state "$EVE" 'rescue|first')/$(messages)/$(state "$EVE" 'rescue|second')/$(( (second - $(date +%s) * 1000 + 1800000) / 3600000 ))" "sent/2/queued/48"
expect "resolve --sent: logged" contains "$(rc XRANGE pb:wf:log - + | tr '\n' ' ')" "resolved by operator: sent"
pb queue resolve --sent eve@example.com rescue first
expect "resolve twice: exit 1" equals "$code" 1
pb queue list --uncertain
expect "resolved: the uncertain list is empty" equals "$(printf '%s\n' "$out" | tail -1)" "0 follow-up steps uncertain"

# ---- usage ----------------------------------------------------------------------------------
pb queue list extra
expect "list with an argument: exit 2" equals "$code" 2
pb queue list --limit 0
expect "list --limit 0: exit 2" equals "$code" 2
pb queue cancel
expect "cancel without an address: exit 2" equals "$code" 2
pb queue frob
expect "an unknown subcommand: exit 2" equals "$code" 2
pb queue list --help
expect "list --help: exit 0" equals "$code/$(printf '%s' "$out" | grep -c 'soonest first')" "0/1"
tap_finish
