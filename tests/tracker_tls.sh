#!/bin/bash
# tracker_tls.sh - postbeacon-tracker with native TLS (tracker.tls_listen),
# end to end: a private redis-server (unix socket), a key file, a
# self-signed P-256 certificate made here, and the tracker in the
# foreground on free loopback ports (plain HTTP, HTTPS and admin), driven
# by curl --cacert and openssl s_client, with tokens minted by
# tests/token-tool.
#
# Checks: -n with a good certificate and key; -n refusing a world-readable
# key, a key that does not match, a missing certificate and tls_listen
# without tls_cert (each message names the file or setting); a click over
# HTTPS (302 to the signed URL, the event in the Redis stream); the pixel
# over HTTPS; two requests on one kept-alive TLS connection; ALPN
# http/1.1; plain HTTP sent to the TLS port closed without an answer while
# the tracker keeps serving; TLS 1.1 refused by the server (TLS 1.2 and
# 1.3 accepted); SIGHUP with a broken certificate keeps the old one (and
# logs why), SIGHUP with a new certificate serves it to new connections;
# plain HTTP still served; SIGTERM stops with exit 0 and no sanitizer
# report in the log.
#
# Run by `make check` (top_builddir and top_srcdir in the environment).
# Exit 77 (skip) only when redis-server, redis-cli, python3, openssl or
# curl is missing.
set -u

top_builddir=${top_builddir:-$(pwd)}
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/.." && pwd)}
. "$top_srcdir/tests/lib/tracker-test.sh"   # tt_*, rc, mint, the event stream; tap.sh
tt_init pbtls curl
tt_write_keys

# ---- environment ----------------------------------------------------------------
CERT=$T/tls.crt TLSKEY=$T/tls.key
TPORT=$(free_port)
while [ "$TPORT" = "$PORT" ]; do TPORT=$(free_port); done
while [ "$TPORT" = "$ADMIN" ]; do TPORT=$(free_port); done

# make_cert CERTFILE KEYFILE SERIAL: a self-signed certificate for 127.0.0.1.
make_cert() {
    (umask 077 && openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
        -days 1 -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 -set_serial "$3" \
        -keyout "$2" -out "$1" 2>/dev/null) || { echo "ERROR: openssl req failed"; exit 99; }
}
make_cert "$CERT" "$TLSKEY" 0x1001

write_conf() {                  # write_conf CERT KEY
    tt_write_conf "tls_listen = [ \"127.0.0.1:$TPORT\" ];" "tls_cert = \"$1\";" \
        "tls_key = \"$2\";" "timeout = 10;"
}

healthy() { curl -sf -o /dev/null "http://127.0.0.1:$ADMIN/healthz"; }
https() { curl -s --cacert "$CERT" "$@"; }
# The serial of the certificate a new TLS connection gets.
served_serial() {
    openssl s_client -connect "127.0.0.1:$TPORT" </dev/null 2>/dev/null \
        | openssl x509 -noout -serial 2>/dev/null
}
serial_is() { [ "$(served_serial)" = "serial=$1" ]; }
# Send plain HTTP to the TLS port; print what came back (hex) once the
# server closed the connection (or "timeout").
plain_to_tls() {
    python3 - "$TPORT" <<'PY'
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.settimeout(10)
s.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
got = b""
try:
    while True:
        chunk = s.recv(4096)
        if not chunk:
            break
        got += chunk
except socket.timeout:
    print("timeout")
    sys.exit(0)
except ConnectionResetError:
    pass
print("closed:" + got.hex())
PY
}

# ============================================================================
tt_start_redis

# ---- -n -----------------------------------------------------------------------------
write_conf "$CERT" "$TLSKEY"
out=$("$TRACKER" -n -c "$CONF" 2>&1); code=$?
expect "-n accepts a matching certificate and key" contains "$code:$out" "0:"
expect "-n says OK" contains "$out" "configuration OK"

chmod 644 "$TLSKEY"
out=$("$TRACKER" -n -c "$CONF" 2>&1); code=$?
expect "-n refuses a world-readable TLS key with exit 1" equals "$code" 1
expect "-n names the world-readable key file" contains "$out" "tracker.tls_key $TLSKEY: mode 0644"
chmod 600 "$TLSKEY"

make_cert "$T/other.crt" "$T/other.key" 0x99
write_conf "$CERT" "$T/other.key"
out=$("$TRACKER" -n -c "$CONF" 2>&1); code=$?
expect "-n refuses a key that does not match the certificate" equals "$code" 1
expect "-n names both files of the mismatch" contains "$out" \
    "tracker.tls_key $T/other.key does not match the certificate in tracker.tls_cert $CERT"

write_conf "$T/missing.crt" "$TLSKEY"
out=$("$TRACKER" -n -c "$CONF" 2>&1); code=$?
expect "-n refuses a missing certificate, naming it" contains "$code:$out" \
    "1:postbeacon-tracker: $CONF: tracker.tls_cert $T/missing.crt: No such file or directory"

write_conf "" ""
out=$("$TRACKER" -n -c "$CONF" 2>&1); code=$?
expect "-n refuses tls_listen without tls_cert and tls_key" contains "$code:$out" \
    "1:postbeacon-tracker: $CONF: tracker.tls_listen needs tracker.tls_cert and tracker.tls_key"

# ---- serving --------------------------------------------------------------------------
write_conf "$CERT" "$TLSKEY"
"$TRACKER" -f -c "$CONF" >>"$LOG" 2>&1 &
TRACKER_PID=$!
wait_for 10 healthy || { cat "$LOG"; echo "ERROR: tracker did not start"; exit 99; }

URL='https://shop.example.com/spring?x=1&utm_source=newsletter'
TOK=$(mint click url="$URL" link=2 sent_at=$OLD msg=00000000000000d1 campaign=tls)
n0=$(nevents)
out=$(https -D "$T/h1" -o "$T/b1" -w '%{http_code}' -A "Mozilla/5.0 Firefox/120.0" \
    "https://127.0.0.1:$TPORT/c/$TOK"); code=$?
expect "https click: 302" equals "$code:$out" "0:302"
expect "https click: Location is exactly the signed URL" \
    equals "$(sed -n 's/^Location: //Ip' "$T/h1" | tr -d '\r')" "$URL"
expect "https click: recorded in the stream" wait_for 5 events_reach $((n0 + 1))
stream=$(rc XRANGE pb:events - + | tr '\n' '|')
expect "https click event: type click" contains "$stream" "|type|click|"
expect "https click event: the signed URL" contains "$stream" "|url|$URL|"
expect "https click event: the link" contains "$stream" "|link|2|"

OTOK=$(mint open sent_at=$OLD msg=00000000000000d2 campaign=tls)
out=$(https -o "$T/pixel.gif" -w '%{http_code} %{content_type} %{size_download}' \
    -A "Mozilla/5.0 Thunderbird/115" "https://127.0.0.1:$TPORT/o/$OTOK.gif")
expect "https pixel: 200, a 43-byte GIF" equals "$out" "200 image/gif 43"
expect "https pixel: GIF data" equals "$(head -c 6 "$T/pixel.gif")" "GIF89a"

out=$(https -o /dev/null -o /dev/null -w '%{http_code} %{num_connects}\n' \
    "https://127.0.0.1:$TPORT/c/$TOK" "https://127.0.0.1:$TPORT/o/$OTOK.gif" | tr '\n' ' ')
expect "keep-alive: two requests answered on one TLS connection" equals "$out" "302 1 200 0 "

# Two pipelined requests in one TLS write; the second asks to close.
out=$(printf 'GET /o/%s.gif HTTP/1.1\r\nHost: t\r\n\r\nGET /c/%s HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n' \
      "$OTOK" "$TOK" | openssl s_client -quiet -connect "127.0.0.1:$TPORT" 2>/dev/null \
      | grep -ao 'HTTP/1\.1 [0-9]*' | tr '\n' ' ')
expect "pipelining: both answered in order, then closed" \
    equals "$out" "HTTP/1.1 200 HTTP/1.1 302 "

# 300 pipelined requests (many TLS records, more output than is sent at
# once): every one answered.
out=$( { for ((i = 1; i < 300; i++)); do
             printf 'GET /o/%s.gif HTTP/1.1\r\nHost: t\r\n\r\n' "$OTOK"
         done
         printf 'GET /o/%s.gif HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n' "$OTOK"
       } | openssl s_client -quiet -connect "127.0.0.1:$TPORT" 2>/dev/null \
      | grep -ao 'HTTP/1\.1 200' | wc -l)
expect "pipelining: 300 requests, 300 answers" equals "$out" 300

# Short pipelined requests filling exactly four full TLS records (64 KiB):
# the server reads a record in pieces, so after its reads for one event
# OpenSSL still holds decrypted bytes of the last record, which no socket
# event announces. Every request must be answered.
out=$(python3 - "$TPORT" "$CERT" <<'PY'
import socket, ssl, sys
one = b"GET /x HTTP/1.1\r\nHost: t\r\n\r\n"
last = b"GET /x HTTP/1.1\r\nHost: t\r\nConnection: close\r\nX-Pad: "
n = (65536 - len(last) - 4 - 4096) // len(one)
pad = 65536 - n * len(one) - len(last) - 4
payload = one * n + last + b"p" * pad + b"\r\n\r\n"
assert len(payload) == 65536
ctx = ssl.create_default_context(cafile=sys.argv[2])
s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", int(sys.argv[1]))),
                    server_hostname="127.0.0.1")
s.settimeout(60)
s.sendall(payload)
got = b""
try:
    while True:
        chunk = s.recv(65536)
        if not chunk:
            break
        got += chunk
except (ssl.SSLError, ConnectionResetError, socket.timeout):
    pass
print(n + 1, got.count(b"HTTP/1.1 404 "))
PY
)
set -- $out
expect "pipelining: $1 requests in four full TLS records, all answered" equals "${2:-}" "$1"

out=$(openssl s_client -connect "127.0.0.1:$TPORT" -alpn http/1.1 </dev/null 2>/dev/null)
expect "ALPN: http/1.1 selected" contains "$out" "ALPN protocol: http/1.1"

tls_failures() {
    curl -s "http://127.0.0.1:$ADMIN/metrics" | awk '$1 == "postbeacon_tracker_tls_failures_total" { print $2 }'
}
failures_before=$(tls_failures)
out=$(plain_to_tls)
expect "plain HTTP on the TLS port: closed, no HTTP answer" contains "$out" "closed:"
expect "plain HTTP on the TLS port: nothing HTTP came back" lacks "$out" "485454502f" # "HTTP/"
expect "the tracker is still running" kill -0 "$TRACKER_PID"
out=$(https -o /dev/null -w '%{http_code}' "https://127.0.0.1:$TPORT/o/$OTOK.gif")
expect "still serving HTTPS afterwards" equals "$out" 200

out=$(openssl s_client -connect "127.0.0.1:$TPORT" -tls1_1 -cipher 'DEFAULT:@SECLEVEL=0' \
    </dev/null 2>&1); code=$?
expect "TLS 1.1 refused by the server" contains "$code:$out" "alert protocol version"
out=$(curl -s --cacert "$CERT" --tlsv1 --tls-max 1.1 -o /dev/null -w '%{http_code}' \
    "https://127.0.0.1:$TPORT/o/$OTOK.gif"); code=$?
expect "curl --tls-max 1.1: no answer" equals "$code:$out" "35:000"
failures_after=$(tls_failures)
expect "the plain HTTP and TLS 1.1 attempts counted in tls_failures_total ($failures_before -> $failures_after)" \
    test "${failures_after:-0}" -ge $((${failures_before:-0} + 3))
out=$(curl -s --cacert "$CERT" --tlsv1.2 --tls-max 1.2 -o /dev/null -w '%{http_code}' \
    "https://127.0.0.1:$TPORT/o/$OTOK.gif")
expect "TLS 1.2 accepted" equals "$out" 200
out=$(curl -s --cacert "$CERT" --tlsv1.3 -o /dev/null -w '%{http_code}' \
    "https://127.0.0.1:$TPORT/o/$OTOK.gif")
expect "TLS 1.3 accepted" equals "$out" 200

out=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT/o/$OTOK.gif")
expect "plain HTTP listener still serves" equals "$out" 200

# ---- SIGHUP ------------------------------------------------------------------------------
expect "the first certificate is served" serial_is 1001
cp "$CERT" "$T/tls.crt.1"
echo "not a certificate" >"$CERT"
kill -HUP "$TRACKER_PID"
expect "SIGHUP with a broken certificate: logged, naming the file" \
    wait_for 5 grep -q "reload failed.*tracker.tls_cert $CERT" "$LOG"
expect "SIGHUP with a broken certificate: the old one still served" serial_is 1001
out=$(curl -s --cacert "$T/tls.crt.1" -o /dev/null -w '%{http_code}' \
    "https://127.0.0.1:$TPORT/o/$OTOK.gif")
expect "SIGHUP with a broken certificate: still serving" equals "$out" 200

make_cert "$CERT" "$TLSKEY" 0x2002
kill -HUP "$TRACKER_PID"
expect "SIGHUP with a new certificate: new connections get it" wait_for 5 serial_is 2002
out=$(https -o /dev/null -w '%{http_code}' "https://127.0.0.1:$TPORT/o/$OTOK.gif")
expect "SIGHUP with a new certificate: served over HTTPS" equals "$out" 200

# ---- stop ---------------------------------------------------------------------------------
kill -TERM "$TRACKER_PID"
wait "$TRACKER_PID"; code=$?
TRACKER_PID=''
expect "SIGTERM: exit 0" equals "$code" 0
expect "no sanitizer report" lacks "$(cat "$LOG")" "Sanitizer"
expect "no undefined behaviour report" lacks "$(cat "$LOG")" "runtime error"

if [ "$failed" -gt 0 ]; then
    echo "--- tracker log ---"
    tail -40 "$LOG"
fi
tap_finish
