#!/bin/bash
# tracker_http_edge.sh - the edges of postbeacon-tracker's HTTP server, with
# raw requests from tests/lib/http_request.py against a tracker (private
# redis-server on a unix socket, free loopback ports) started with an
# open-file limit of 64, so that its connection limit is small:
#   - pipelining: several requests in one write answered in order, HEAD
#     among them; "Connection: close" in the middle ends the connection
#     and what follows it is not answered;
#   - a request (GET, and a one-click POST) sent in 7-byte pieces;
#   - HTTP/1.0 with and without keep-alive; Expect: 100-continue; a chunked
#     one-click POST body; absolute-form request target;
#   - refused requests: bad request lines (400), a request line and headers
#     over tracker.max_header_size (431), a Content-Length and a chunked
#     body over tracker.max_body_size (413); the connection is closed after
#     the answer;
#   - too many connections: past the limit a new connection gets 503 while
#     the open ones keep working, and connections are taken again later;
#   - tracker.max_connections: a reload to 3 keeps the 4 connections open
#     then (and serves them), a 4th idle one past 3 gets 503 and is closed,
#     closing one lets a new one in; 100 (more than the open-file limit of
#     64 allows) is cut to 16 with one warning, also when set at start-up;
#     postbeacon-tracker -n refuses -1 with the usual file:line message;
#   - slow clients: after a reload to tracker.timeout = 1, a half-sent
#     request and one dribbled a byte at a time are closed;
#   - all of it counted in /metrics (requests by route and code, refused
#     and timed-out connections).
#
# Run by `make check` (top_builddir and top_srcdir in the environment).
# Exit 77 (skip) only when redis-server, redis-cli, python3 or openssl is
# missing.
set -u

top_builddir=${top_builddir:-$(pwd)}
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/.." && pwd)}
. "$top_srcdir/tests/lib/tracker-test.sh"   # tt_*, rc, mint, the event stream; tap.sh
tt_init pbedge
tt_write_keys

write_conf() {                  # write_conf TIMEOUT [SETTING...]
    local timeout=$1
    shift
    tt_write_conf 'trusted_proxies = [ "127.0.0.1" ];' "max_header_size = 2048;" \
        "max_body_size = 1024;" "timeout = $timeout;" "$@"
}

tt_start_redis

write_conf 30
# An open-file limit of 64 leaves 16 public connections (the limit minus 48).
(ulimit -n 64 && exec "$TRACKER" -f -c "$CONF") >>"$LOG" 2>&1 &
TRACKER_PID=$!
wait_for 10 $HTTP "$ADMIN" GET /healthz >/dev/null 2>&1 \
    || { cat "$LOG"; echo "ERROR: tracker did not start"; exit 99; }

R=$T/response
req() { $HTTP "$PORT" "$@" >"$R" 2>"$T/req.err" || echo "000" >"$R"; }
raw() { $HTTP "$PORT" --raw >"$R" 2>"$T/req.err" || echo "000" >"$R"; }
status() { head -1 "$R"; }
hdr() {
    sed -n '2,/^$/p' "$R" | awk -v n="$1" 'BEGIN{IGNORECASE=1} {i=index($0,": ");
        if (tolower(substr($0,1,i-1))==tolower(n)) {print substr($0,i+2); exit}}'
}
body() { sed '1,/^$/d' "$R"; }
metric() {                      # the value of the /metrics sample starting with $1
    $HTTP "$ADMIN" GET /metrics | grep -v '^#' | grep -F "$1" | awk '{print $2}' | head -1
}
metric_is() { [ "$(metric "$1")" = "$2" ]; }   # metric_is NAME VALUE (for wait_for)
URL1='https://shop.example.com/one?utm_source=newsletter'
URL2='https://shop.example.com/two'
C1=$(mint click url="$URL1" sent_at=$OLD)
C2=$(mint click url="$URL2" sent_at=$OLD)
O1=$(mint open sent_at=$OLD)
U1=$(mint unsubscribe contact=a0a1a2a3a4a5a6a7 sent_at=$OLD)
U2=$(mint unsubscribe contact=d0d1d2d3d4d5d6d7 sent_at=$OLD)

# ---- pipelining --------------------------------------------------------------------
out=$($HTTP "$PORT" GET "/c/$C1,/o/$O1.gif,HEAD /c/$C2,/c/x,GET /u/$U1,GET /c/$C2 close" \
    --pipeline 2>&1)
expect "pipelining: six requests in one write answered in order, then closed" equals "$out" \
"302 $URL1
200 image/gif
302 $URL2
404 text/plain; charset=utf-8
200 text/html; charset=utf-8
302 $URL2
closed"
out=$($HTTP "$PORT" GET "/c/$C1,GET /c/$C2 close,/c/$C1,/c/$C1" --pipeline 2>&1)
expect "pipelining: nothing after Connection: close is answered" equals "$out" \
"302 $URL1
302 $URL2
closed"

# ---- requests in pieces, HTTP/1.0, Expect, chunked, absolute form ---------------------
req GET "/c/$C1" -H "User-Agent: Mozilla/5.0 (X11; Linux x86_64) Firefox/120.0" --chunks 7
expect "a GET in 7-byte pieces: 302 to the signed URL" equals "$(status) $(hdr Location)" "302 $URL1"
req POST "/u/$U1" -H "Content-Type: application/x-www-form-urlencoded" \
    -d "List-Unsubscribe=One-Click" --chunks 7
expect "a one-click POST in 7-byte pieces: 200" equals "$(status)" 200
expect "... and the contact is suppressed" wait_for 5 \
    test "$(rc SISMEMBER pb:suppressed a0a1a2a3a4a5a6a7)" = 1
# a request larger than the read buffer kept inside each connection (1 KB)
UA="EdgeTest/1.0 ($(head -c 150 /dev/zero | tr '\0' u))"
U3=$(mint unsubscribe contact=e0e1e2e3e4e5e6e7 sent_at=$OLD)
req POST "/u/$U3" -H "Content-Type: application/x-www-form-urlencoded" -H "User-Agent: $UA" \
    -d "pad=$(head -c 900 /dev/zero | tr '\0' p)&List-Unsubscribe=One-Click" --chunks 7
expect "a 1.2 KB one-click POST in 7-byte pieces: 200" equals "$(status)" 200
last_ua() { rc XREVRANGE pb:events + - COUNT 1 | tail -n +2 | paste -d= - - | sed -n 's/^ua=//p'; }
expect "... its event carries the User-Agent read before the buffer grew" \
    wait_for 5 test "$(last_ua)" = "$UA"
printf 'GET /c/%s HTTP/1.0\r\n\r\n' "$C1" | raw
expect "HTTP/1.0: 302, Connection: close" equals "$(status) $(hdr Connection)" "302 close"
printf 'GET /c/%s HTTP/1.0\r\nConnection: keep-alive\r\n\r\n' "$C1" | raw
expect "HTTP/1.0 keep-alive: 302, Connection: keep-alive" \
    equals "$(status) $(hdr Connection)" "302 keep-alive"
out=$($HTTP "$PORT" POST "/u/$U2" -H "Content-Type: application/x-www-form-urlencoded" \
    -d "List-Unsubscribe=One-Click" --expect100 2>&1 | head -2 | tr '\n' ' ')
expect "Expect: 100-continue: 100 first, then 200" equals "$out" "interim 100 200 "
printf 'POST /u/%s HTTP/1.1\r\nHost: t\r\nContent-Type: application/x-www-form-urlencoded\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n5\r\nList-\r\n15\r\nUnsubscribe=One-Click\r\n0\r\n\r\n' \
    "$U2" | raw
expect "a chunked one-click POST body: 200, confirmation" \
    equals "$(status) $(body | grep -c '<h1>You are unsubscribed</h1>')" "200 1"
printf 'GET http://t.example.net/c/%s HTTP/1.1\r\nHost: t.example.net\r\nConnection: close\r\n\r\n' "$C2" | raw
expect "absolute-form request target: 302" equals "$(status) $(hdr Location)" "302 $URL2"

# ---- refused requests ------------------------------------------------------------------
for bad in 'GARBAGE\r\n\r\n' 'GET /c/x HTTP/1.1 extra\r\nHost: t\r\n\r\n' \
    'GET /c/x HTTP/1.1\r\nHost: t\r\nBad Header\r\n\r\n' '\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03'; do
    printf "$bad" | raw
    expect "bad request $(printf '%q' "$bad"): 400 and closed" \
        equals "$(status) $(hdr Connection)" "400 close"
done
req GET "/c/$(head -c 3000 /dev/zero | tr '\0' a)"
expect "request line over max_header_size: 431 and closed" \
    equals "$(status) $(hdr Connection)" "431 close"
req GET "/c/$C1" -H "X-Big: $(head -c 3000 /dev/zero | tr '\0' b)"
expect "headers over max_header_size: 431" equals "$(status)" 431
req GET "/c/$C1" -H "X-Forwarded-For: 192.0.2.1" -H "X-Big: $(head -c 3000 /dev/zero | tr '\0' b)"
expect "headers over max_header_size after a trusted X-Forwarded-For: 431" equals "$(status)" 431
req POST "/u/$U1" -d "List-Unsubscribe=One-Click&pad=$(head -c 2000 /dev/zero | tr '\0' p)"
expect "Content-Length over max_body_size: 413 and closed" \
    equals "$(status) $(hdr Connection)" "413 close"
{
    printf 'POST /u/%s HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n' "$U1"
    for _ in 1 2 3 4 5 6; do printf '100\r\n%s\r\n' "$(head -c 256 /dev/zero | tr '\0' c)"; done
    printf '0\r\n\r\n'
} | raw
expect "chunked body over max_body_size: 413" equals "$(status)" 413
req GET "/c/$C1"
expect "after all that the server still answers" equals "$(status)" 302

# ---- too many connections -----------------------------------------------------------------
max=$(metric postbeacon_tracker_connections_max)
# every earlier connection closed: only the one asking /metrics is open
wait_for 5 metric_is postbeacon_tracker_connections_open 1
expect "connection limit from the open-file limit: 64 - 48 = 16" equals "$max" 16
out=$($HTTP "$PORT" GET "/c/$C1" --hold "${max:-16}" 2>&1 | tr '\n' ' ')
expect "past the limit: 503 for the new connection, the open ones still served" \
    equals "$out" "503 302 "
click_served() { $HTTP "$PORT" GET "/c/$C1" 2>/dev/null | head -1 | grep -qx 302; }
expect "connections are taken again once others closed" wait_for 5 click_served
expect "/metrics: refused connections counted" \
    test "$(metric postbeacon_tracker_connections_refused_total)" -ge 1

# ---- tracker.max_connections -------------------------------------------------------------------
reloads() { grep -c "configuration reloaded" "$1"; }
reloaded_after() { [ "$(reloads "$1")" -gt "$2" ]; }   # reloaded_after LOG COUNT
reload() {                      # reload TIMEOUT [SETTING...]: new configuration, SIGHUP, wait
    local before
    before=$(reloads "$LOG")
    write_conf "$@"
    kill -HUP "$TRACKER_PID"
    wait_for 5 reloaded_after "$LOG" "$before"
}
# Connections of our own, each on a file descriptor bash picks and keeps in
# the variable named: opened without a byte sent (idle), closed, read until
# the tracker closes it (the answer in $R without CRs; 124 when it stays
# open for 5 s), a click with Connection: close on it.
tcp_open() { eval "exec {$1}<>/dev/tcp/127.0.0.1/$PORT"; }
tcp_close() { eval "exec {$1}<&-"; }
tcp_read() {
    local rc
    timeout 5 cat <&"${!1}" >"$R.raw"
    rc=$?
    tr -d '\r' <"$R.raw" >"$R"
    return $rc
}
tcp_click() {
    printf 'GET /c/%s HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n' "$C1" >&"${!1}"
    tcp_read "$1"
}
raw_status() { head -1 "$R"; }
over_limit_warnings() { grep -c "tracker.max_connections = $2 is more than the open-file" "$1"; }

for c in c1 c2 c3 c4; do tcp_open $c; done
expect "4 idle connections open (and the /metrics one)" \
    wait_for 5 metric_is postbeacon_tracker_connections_open 5
expect "reload to max_connections = 3" reload 30 "max_connections = 3;"
expect "/metrics: the configured limit" equals "$(metric postbeacon_tracker_connections_max)" 3
tcp_click c1
expect "lowered by a reload: the 4 connections open then stay open and are served" \
    equals "$(raw_status) $(hdr Location)" "HTTP/1.1 302 Found $URL1"
tcp_close c1
expect "... and closed: 3 idle connections open (and the /metrics one)" \
    wait_for 5 metric_is postbeacon_tracker_connections_open 4
refused=$(metric postbeacon_tracker_connections_refused_total)
tcp_open c5
tcp_read c5
closed=$?
tcp_close c5
expect "3 idle connections open: a 4th gets 503 and is closed" \
    equals "$(raw_status) $(hdr Connection) $closed" "HTTP/1.1 503 Service Unavailable close 0"
expect "/metrics: that refusal counted" \
    equals "$(metric postbeacon_tracker_connections_refused_total)" "$((refused + 1))"
tcp_close c2
expect "one of the 3 closed: a new connection is served" wait_for 5 click_served
tcp_close c3
tcp_close c4
expect "reload to max_connections = 100" reload 30 "max_connections = 100;"
expect "more than the open-file limit of 64 allows: cut to 16" \
    equals "$(metric postbeacon_tracker_connections_max)" 16
expect "... with a warning naming both numbers and the fix" \
    grep -q "tracker.max_connections = 100 is more than the open-file limit allows: 64 files leave 16 public connections .*raise LimitNOFILE= in the systemd unit (or ulimit -n) to at least 148" "$LOG"
reload 30 "max_connections = 100;"
expect "the same value reloaded: no second warning" equals "$(over_limit_warnings "$LOG" 100)" 1

# ---- slow clients ----------------------------------------------------------------------------
expect "reload to timeout = 1" reload 1
expect "max_connections removed: the limit from the open-file limit again" \
    equals "$(metric postbeacon_tracker_connections_max)" 16
out=$($HTTP "$PORT" GET "/c/$C1" --stall 10 2>&1)
expect "half a request, then silence: closed (timeout)" equals "$out" closed
out=$($HTTP "$PORT" GET "/c/$C1" -H "X-Pad: $(head -c 200 /dev/zero | tr '\0' p)" --dribble 15 2>&1)
expect "a request dribbled one byte at a time: closed (timeout)" equals "$out" closed
out=$($HTTP "$PORT" --idle 10 GET "/c/$C1" 2>&1 | tr '\n' ' ')
expect "an idle keep-alive connection: closed after the timeout" equals "$out" "302 closed "
expect "/metrics: timed-out connections counted" \
    test "$(metric postbeacon_tracker_connections_timed_out_total)" -ge 2

# ---- counted in /metrics ---------------------------------------------------------------------
$HTTP "$ADMIN" GET /metrics >"$R"
body >"$T/metrics"
m() { grep -v '^#' "$T/metrics" | grep -F "$1" | awk '{print $2}'; }
n400=$(grep '^postbeacon_tracker_requests_total{.*code="400"}' "$T/metrics" | awk '{n += $2} END {print n + 0}')
expect "/metrics: 400s counted" test "$n400" -ge 4
expect "/metrics: 431s counted" test "$(m 'requests_total{route="click",code="431"}')" -ge 1
expect "/metrics: 413s counted on the unsubscribe route" \
    test "$(m 'requests_total{route="unsubscribe",code="413"}')" -ge 2
expect "/metrics: open connections gauge" test "$(m 'postbeacon_tracker_connections_open ')" -ge 1

kill -TERM "$TRACKER_PID"
wait "$TRACKER_PID"
code=$?
TRACKER_PID=''
expect "SIGTERM: exit 0" equals "$code" 0

# ---- tracker.max_connections: -n and start-up ------------------------------------------------
write_conf 30 "max_connections = -1;"
out=$("$TRACKER" -n -c "$CONF" 2>&1)
code=$?
expect "-n refuses max_connections = -1: exit 1, the file:line message" equals "$code $out" \
    "1 postbeacon-tracker: $CONF:15: tracker.max_connections: -1 is out of range (use 0..1000000: public connections at once, e.g. 10000 (0 = as many as the open-file limit allows))"
write_conf 30 "max_connections = 100;"
expect "-n accepts max_connections = 100" "$TRACKER" -n -c "$CONF"
LOG=$T/tracker-start.log
(ulimit -n 64 && exec "$TRACKER" -f -c "$CONF") >>"$LOG" 2>&1 &
TRACKER_PID=$!
wait_for 10 $HTTP "$ADMIN" GET /healthz >/dev/null 2>&1 \
    || { cat "$LOG"; echo "ERROR: tracker did not start"; exit 99; }
expect "started with max_connections = 100 and 64 files: 16" \
    equals "$(metric postbeacon_tracker_connections_max)" 16
expect "... one warning at start" equals "$(over_limit_warnings "$LOG" 100)" 1
expect "reloaded unchanged" reload 30 "max_connections = 100;"
expect "... still one warning" equals "$(over_limit_warnings "$LOG" 100)" 1
kill -TERM "$TRACKER_PID"
wait "$TRACKER_PID"
code=$?
TRACKER_PID=''
expect "SIGTERM: exit 0" equals "$code" 0

if [ "$failed" -gt 0 ]; then
    echo "--- tracker log ---"
    tail -30 "$LOG"
fi
tap_finish
