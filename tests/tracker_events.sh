#!/bin/bash
# tracker_events.sh - custom events through the tracker's POST /e, end to
# end: a private redis-server, a key file with an "events" secret, the
# tracker with tracker.events_listen on a loopback port, requests sent
# with curl and signed with openssl exactly as docs/custom-events.md tells
# a shop developer to.
#
# Checks: a good event is answered 202 and lands once in pb:events with
# the right fields (type, eid, ts, contact id, p:<name> properties) and no
# address anywhere in the stream; the address reaches pb:contacts:by-email
# and the contact's hash; a signup writes its attributes (tags merged,
# created_at) and the stream only names them; refused with 401: no
# signature, a wrong one, a replayed request, a timestamp outside the
# window; 400 with the field named: bad JSON, no email, a bad address, a
# reserved type, a bad time, an unknown field, a bad batch (nothing of it
# written); 413 over tracker.events_max_body; 405 for GET; /e only where
# configured; the same event id retried with a new signature counted once;
# a batch; an event accepted while Redis is down survives a SIGKILL of the
# tracker and is written once after the restart; -n refuses
# events_listen without an events secret; the metrics.
#
# Run by `make check`. Exit 77 (skip) only when redis-server, redis-cli,
# python3, openssl or curl is missing.
set -u

top_builddir=${top_builddir:-$(pwd)}
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/.." && pwd)}
. "$top_srcdir/tests/lib/tracker-test.sh"
tt_init pbev curl

EVPORT=$(free_port)
while [ "$EVPORT" = "$PORT" ] || [ "$EVPORT" = "$ADMIN" ]; do EVPORT=$(free_port); done
SECRET=$(openssl rand -hex 32)
CONTACT_KEY=$(openssl rand -hex 32)
write_keys() {                  # write_keys [with-events]
    (
        umask 077
        echo "contact $CONTACT_KEY"
        echo "1 $(openssl rand -hex 32)"
        [ -n "${1:-}" ] && echo "events $SECRET"
    ) >"$KEYS"
    chmod 600 "$KEYS"
}
tt_write_conf "events_listen = [ \"127.0.0.1:$EVPORT\" ];" "events_max_body = 2048;" \
    "events_window = 300;"

start_tracker() {
    "$TRACKER" -f -c "$CONF" >>"$LOG" 2>&1 &
    TRACKER_PID=$!
    wait_for 10 $HTTP "$ADMIN" GET /healthz >/dev/null 2>&1 \
        || { cat "$LOG"; echo "ERROR: tracker did not start"; exit 99; }
}

# ---- signing and sending, as docs/custom-events.md shows ------------------------
sign() {                        # sign TIMESTAMP BODY: the hex signature
    printf '%s.%s' "$1" "$2" | openssl dgst -sha256 -mac HMAC -macopt "hexkey:$SECRET" \
        | sed 's/^.*= //'
}
R=$T/answer
post() {                        # post BODY [TIMESTAMP [SIGNATURE]]: status in $code, body in $R
    local ts=${2:-$(date +%s)} sig
    sig=${3:-$(sign "$ts" "$1")}
    code=$(curl -s -o "$R" -w '%{http_code}' -X POST "http://127.0.0.1:$EVPORT/e" \
        -H 'Content-Type: application/json' -H "X-Postbeacon-Timestamp: $ts" \
        -H "X-Postbeacon-Signature: $sig" --data-binary "$1")
}
answer() { cat "$R"; }
json() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$R" "$1"; }
contact_of() { printf '%s' "$1" | openssl dgst -sha256 -mac HMAC -macopt "hexkey:$CONTACT_KEY" \
    | sed 's/^.*= //' | cut -c1-16; }
m() { curl -s "http://127.0.0.1:$ADMIN/metrics" | sed -n "s/^postbeacon_tracker_$1 //p"; }
settle() { sleep 0.3; }

# ============================================================================
write_keys
tt_start_redis
out=$("$TRACKER" -n -c "$CONF" 2>&1); code=$?
expect "-n: events_listen without an events secret is refused" equals "$code" 1
expect "-n: ... naming the key file and the fix" contains "$out" "has no \"events\" line"
write_keys with-events
out=$("$TRACKER" -n -c "$CONF" 2>&1)
expect "-n: accepted with an events secret" contains "$out" "configuration OK"
start_tracker

# ---- a good event ----------------------------------------------------------------
ANN=ann@example.com
ANN_ID=$(contact_of "$ANN")
n0=$(nevents)
post '{"email":" Ann@Example.com ","type":"purchase","time":"2026-12-01T10:00:00Z","properties":{"total":49.9,"currency":"EUR","items":3,"gift":false,"note":null}}'
expect "good event: 202" equals "$code" 202
expect "good event: accepted 1" equals "$(json accepted)" 1
expect "good event: in the stream once" wait_for 5 events_reach $((n0 + 1))
settle
expect "good event: exactly one entry" equals "$(nevents)" $((n0 + 1))
expect "good event: type, contact id, ts" equals "$(field type) $(field contact) $(field ts)" \
    "purchase $ANN_ID 1796119200000"
expect "good event: properties as p:<name>" \
    equals "$(field p:total) $(field p:currency) $(field p:items) $(field p:gift)" "49.9 EUR 3 false"
expect "good event: exactly the four properties (a null one is left out)" \
    equals "$(last_event | grep '^p:' | cut -d= -f1 | tr '\n' ' ')" "p:total p:currency p:items p:gift "
expect "good event: an eid of 32 hex digits" equals "$(field eid | grep -cE '^[0-9a-f]{32}$')" 1
expect "good event: the eid answered is the stream's" \
    equals "$(field eid)" "$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["ids"][0])' "$R")"
expect "good event: source http, msg and campaign empty" \
    equals "$(field source)/$(field msg)/$(field campaign)" "http//"
expect "good event: no address in the stream" equals "$(rc XRANGE pb:events - + | grep -c @)" 0
expect "good event: the address maps to the contact" \
    equals "$(rc HGET pb:contacts:by-email "$ANN")" "$ANN_ID"
expect "good event: the contact hash has the address" \
    equals "$(rc HGET "pb:contact:$ANN_ID" email)" "$ANN"

# ---- a signup ----------------------------------------------------------------------
BOB=bob@example.org
BOB_ID=$(contact_of "$BOB")
rc HSET "pb:contact:$BOB_ID" tags vip >/dev/null
post '{"email":"bob@example.org","type":"signup","properties":{"form":"footer"},"contact":{"first_name":"Bob","last_name":"Bauer","birthday":"--04-23","city":"Köln","country":"DE","language":"de","timezone":"Europe/Berlin","tags":["newsletter","vip"],"custom":{"plan":"pro","seats":5}}}'
expect "signup: 202" equals "$code" 202
expect "signup: in the stream" wait_for 5 events_reach $((n0 + 2))
expect "signup: the stream names the attributes given, not their values" \
    equals "$(field type) $(field attrs)" \
    "signup first_name,last_name,birthday,city,country,language,timezone,tags,attr:plan,attr:seats"
expect "signup: no name or address in the stream" \
    equals "$(rc XRANGE pb:events - + | grep -c -e Bob -e Bauer -e @)" 0
expect "signup: contact mapping" equals "$(rc HGET pb:contacts:by-email "$BOB")" "$BOB_ID"
expect "signup: attributes in the contact hash" \
    equals "$(rc HMGET "pb:contact:$BOB_ID" email first_name birthday city timezone attr:plan attr:seats | tr '\n' ' ')" \
    "$BOB Bob --04-23 Köln Europe/Berlin pro 5 "
expect "signup: tags merged with the contact's own" equals "$(rc HGET "pb:contact:$BOB_ID" tags)" \
    "vip,newsletter"
expect "signup: created_at set" test -n "$(rc HGET "pb:contact:$BOB_ID" created_at)"

# ---- signatures --------------------------------------------------------------------
BODY='{"email":"eve@example.com","type":"purchase"}'
n1=$(nevents)
code=$(curl -s -o "$R" -w '%{http_code}' -X POST "http://127.0.0.1:$EVPORT/e" --data-binary "$BODY")
expect "unsigned: 401" equals "$code" 401
expect "unsigned: says what is missing" contains "$(answer)" "missing X-Postbeacon-Timestamp"
post "$BODY" "$(date +%s)" "$(printf '%064d' 0)"
expect "wrong signature: 401" equals "$code" 401
expect "wrong signature: JSON error" contains "$(answer)" '"error":"unauthorized"'
post "$BODY" "$(date +%s)" "$(sign "$(date +%s)" '{"email":"eve@example.com","type":"other"}')"
expect "signature of another body: 401" equals "$code" 401
OLDTS=$(($(date +%s) - 301))
post "$BODY" "$OLDTS"
expect "timestamp older than the window: 401" equals "$code" 401
expect "timestamp older than the window: says so" contains "$(answer)" "outside the replay window"
post "$BODY" $(($(date +%s) + 400))
expect "timestamp ahead of the window: 401" equals "$code" 401
TS=$(date +%s)
SIG=$(sign "$TS" "$BODY")
post "$BODY" "$TS" "$SIG"
expect "signed request: 202" equals "$code" 202
post "$BODY" "$TS" "$SIG"
expect "the same signed request again: 401" equals "$code" 401
expect "the same signed request again: replayed" contains "$(answer)" "accepted before"
post "$BODY" "$TS" "$(echo "$SIG" | tr a-f A-F)"
expect "the same signature in upper case: 401 too" equals "$code" 401
wait_for 5 events_reach $((n1 + 1)); settle
expect "refused requests wrote nothing; the accepted one once" equals "$(nevents)" $((n1 + 1))

# ---- bad bodies: 400 naming the field ----------------------------------------------
bad() {                         # bad DESCRIPTION BODY FIELD [MESSAGE PART]
    post "$2"
    expect "$1: 400" equals "$code" 400
    expect "$1: names $3" equals "$(json field)" "$3"
    [ -n "${4:-}" ] && expect "$1: says why" contains "$(json message)" "$4"
}
n1=$(nevents)
bad "bad JSON" '{"email":"a@example.com","type":' body "not JSON"
bad "not an object" '[1,2]' body "JSON object"
bad "missing email" '{"type":"purchase"}' email missing
bad "email not a string" '{"email":5,"type":"purchase"}' email "string"
bad "not an address" '{"email":"ann.example.com","type":"purchase"}' email "not an address"
bad "missing type" '{"email":"a@example.com"}' type missing
bad "a reserved type" '{"email":"a@example.com","type":"click"}' type "own event types"
bad "an upper-case type" '{"email":"a@example.com","type":"Purchase"}' type "lowercase"
bad "a bad time" '{"email":"a@example.com","type":"purchase","time":"yesterday"}' time "RFC 3339"
bad "a time in the future" "{\"email\":\"a@example.com\",\"type\":\"purchase\",\"time\":$(($(date +%s) + 3600))}" time "future"
bad "an unknown field" '{"email":"a@example.com","type":"purchase","propeties":{}}' propeties "unknown field"
bad "a bad property name" '{"email":"a@example.com","type":"purchase","properties":{"a b":1}}' "properties.a b" "name"
bad "contact on a purchase" '{"email":"a@example.com","type":"purchase","contact":{"city":"X"}}' contact "signup"
bad "a bad birthday" '{"email":"a@example.com","type":"signup","contact":{"birthday":"1990-02-30"}}' contact.birthday "YYYY-MM-DD"
bad "a batch with one bad event" '{"events":[{"email":"c@example.com","type":"purchase"},{"type":"purchase"}]}' "events[1].email" missing
settle
expect "refused bodies wrote nothing (not even a batch's good event)" equals "$(nevents)" "$n1"
expect "refused bodies mapped no address" equals "$(rc HEXISTS pb:contacts:by-email c@example.com)" 0

# ---- size, method, where /e is served ------------------------------------------------
BIG=$(python3 -c 'print("{\"email\":\"a@example.com\",\"type\":\"purchase\",\"properties\":{\"x\":\"" + "y"*3000 + "\"}}")')
post "$BIG"
expect "over events_max_body: 413" equals "$code" 413
expect "over events_max_body: JSON error" contains "$(answer)" '"error":"too_large"'
code=$(curl -s -o "$R" -w '%{http_code}' "http://127.0.0.1:$EVPORT/e")
expect "GET /e: 405" equals "$code" 405
code=$(curl -s -o "$R" -w '%{http_code}' "http://127.0.0.1:$EVPORT/c/x")
expect "the events listener serves /e only: 404 for /c/" equals "$code" 404
code=$(curl -s -o "$R" -w '%{http_code}' -X POST "http://127.0.0.1:$PORT/e" --data-binary x)
expect "the public listener does not serve /e (events_on_public off): 404" equals "$code" 404

# ---- the same event retried: counted once ---------------------------------------------
n1=$(nevents)
RETRY='{"email":"dan@example.com","type":"purchase","id":"order-1234","properties":{"total":"10"}}'
post "$RETRY" "$(date +%s)"
expect "event with an id: 202" equals "$code" 202
ID1=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["ids"][0])' "$R")
sleep 1.1                       # a new timestamp: a new signature
post "$RETRY" "$(date +%s)"
expect "the same id re-signed: 202" equals "$code" 202
ID2=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["ids"][0])' "$R")
expect "the same id gives the same event id" equals "$ID2:${#ID2}" "$ID1:32"
dup_counted() { [ "$(m custom_events_duplicate_total)" = 1 ]; }
expect "the retry is counted as a duplicate" wait_for 5 dup_counted
settle
expect "the same id: one stream entry" equals "$(nevents)" $((n1 + 1))

# ---- a batch ---------------------------------------------------------------------------
n1=$(nevents)
post '{"events":[{"email":"e1@example.com","type":"webinar_registered","properties":{"webinar":"w1"}},{"email":"e2@example.com","type":"cart_abandoned","properties":{"cart":"c9"}}]}'
expect "batch: 202, 2 accepted" equals "$code $(json accepted)" "202 2"
expect "batch: two entries" wait_for 5 events_reach $((n1 + 2))
expect "batch: in order" equals "$(rc XREVRANGE pb:events + - COUNT 2 | grep -A1 -x type | grep -v -e type -e -- | tr '\n' ' ')" \
    "cart_abandoned webinar_registered "

# ---- metrics ---------------------------------------------------------------------------
expect "metrics: accepted" test "$(m custom_events_accepted_total)" -ge 7
expect "metrics: replayed" equals "$(m 'custom_requests_refused_total{reason="replayed"}')" 2
expect "metrics: expired" equals "$(m 'custom_requests_refused_total{reason="expired"}')" 2
expect "metrics: invalid" equals "$(m 'custom_requests_refused_total{reason="invalid"}')" 15
expect "metrics: too_large" equals "$(m 'custom_requests_refused_total{reason="too_large"}')" 1
expect "metrics: requests by route" test "$(m 'requests_total{route="event",code="202"}')" -ge 6

# ---- Redis down, then the tracker killed: the event survives, written once -------------
kill "$REDIS_PID"; wait "$REDIS_PID" 2>/dev/null; REDIS_PID=''
post '{"email":"fay@example.com","type":"purchase","id":"crash-1"}'
expect "Redis down: still 202 (journaled)" equals "$code" 202
sleep 0.3
kill -9 "$TRACKER_PID"; wait "$TRACKER_PID" 2>/dev/null; TRACKER_PID=''
redis-server --port 0 --unixsocket "$SOCK" --unixsocketperm 700 --dir "$T" --save "" \
    --appendonly no --daemonize no --logfile "$T/redis.log" >/dev/null 2>&1 &
REDIS_PID=$!
wait_for 10 redis_up || { echo "ERROR: redis did not restart"; exit 99; }
start_tracker
FAY_ID=$(contact_of fay@example.com)
has_fay() { [ "$(rc XRANGE pb:events - + | grep -c -x "$FAY_ID")" -ge 1 ]; }
expect "after SIGKILL and restart: the journaled event reaches Redis" wait_for 10 has_fay
sleep 1.5                       # a second tick: any replay again would show
expect "after SIGKILL and restart: written once" equals "$(rc XRANGE pb:events - + | grep -c -x "$FAY_ID")" 1
expect "after SIGKILL and restart: the address mapped" equals "$(rc HGET pb:contacts:by-email fay@example.com)" "$FAY_ID"

tap_finish
