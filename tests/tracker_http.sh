#!/bin/bash
# tracker_http.sh - postbeacon-tracker over HTTP, end to end: a private
# redis-server (unix socket), a key file, and the tracker in the foreground
# on free loopback ports, driven by tests/lib/http_request.py (a raw
# HTTP/1.1 client) with tokens minted by tests/token-tool.
#
# Checks, with exact status codes, Location values and headers: clicks
# (302 to the signed URL, recorded; forged, tampered, truncated, wrong-kind,
# unknown-key and rotated-key tokens -> 404 and never a Location;
# open-redirect attempts: a changed destination, //evil, \\evil,
# backslashes, CR/LF signed with a real key; header injection through the
# path); opens (always the same 43-byte GIF with no-cache headers, recorded
# only for a good open token); unsubscribe (GET page never unsubscribes,
# POST one-click -> 200 and the contact suppressed, multipart too, other
# bodies 400, bad token 404 page; /u/- the placeholder's 404 page for
# every method, nothing recorded); HEAD everywhere (same headers, no body,
# machine); methods (405 + Allow); X-Forwarded-For only from trusted
# proxies and truncated addresses; the bots file (Apple MPP, Gmail proxy);
# limits (long tokens, header and body size, keep-alive); /healthz and
# /metrics only on the admin listener, metrics text format; SIGHUP reload
# (bad file kept out, key rotation, language); SIGTERM drain (a request
# in flight is answered, idle keep-alive closed, exit 0); -n, --help,
# --version, a port already in use.
#
# Run by `make check` (top_builddir and top_srcdir in the environment).
# Exit 77 (skip) only when redis-server, redis-cli, python3 or openssl is
# missing.
set -u

top_builddir=${top_builddir:-$(pwd)}
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/.." && pwd)}
. "$top_srcdir/tests/lib/tracker-test.sh"   # tt_*, rc, mint, the event stream; tap.sh
tt_init pbtr

# ---- environment ------------------------------------------------------------------
have_ipv6() {
    python3 -c 'import socket; s=socket.socket(socket.AF_INET6); s.bind(("::1",0))' 2>/dev/null
}
LISTEN="\"127.0.0.1:$PORT\""
if have_ipv6; then LISTEN="$LISTEN, \"[::1]:$PORT\""; IPV6=1; else IPV6=''; fi
KEY1=$(openssl rand -hex 32)
KEY2=$(openssl rand -hex 32)
CONTACT_KEY=$(openssl rand -hex 32)

write_keys() {                  # write_keys "1 2" : which signing keys (last signs)
    local id
    (
        umask 077
        echo "contact $CONTACT_KEY"
        for id in $1; do
            [ "$id" = 1 ] && echo "1 $KEY1"
            [ "$id" = 2 ] && echo "2 $KEY2"
        done
    ) >"$KEYS"
    chmod 600 "$KEYS"
}

write_conf() {                  # write_conf [LANGUAGE]
    tt_write_conf 'trusted_proxies = [ "127.0.0.1" ];' "language = \"${1:-en}\";" \
        "machine_click_seconds = 5;" "max_body_size = 4096;" "timeout = 10;"
}

suppressed() { [ "$(rc SISMEMBER pb:suppressed "$1")" = 1 ]; }
start_redis() { tt_start_redis; }
start_tracker() {
    "$TRACKER" -f -c "$CONF" "$@" >>"$LOG" 2>&1 &
    TRACKER_PID=$!
    wait_for 10 $HTTP "$ADMIN" GET /healthz >/dev/null 2>&1 \
        || { cat "$LOG"; echo "ERROR: tracker did not start"; exit 99; }
}

# ---- requests and answers ---------------------------------------------------------
R=$T/response
req() { $HTTP "$PORT" "$@" >"$R" 2>"$T/req.err" || echo "000" >"$R"; }
admin() { $HTTP "$ADMIN" "$@" >"$R" 2>"$T/req.err" || echo "000" >"$R"; }
status() { head -1 "$R"; }
hdr() {                         # value of header $1 (first one), or nothing
    sed -n '2,/^$/p' "$R" | awk -v n="$1" 'BEGIN{IGNORECASE=1} {i=index($0,": ");
        if (tolower(substr($0,1,i-1))==tolower(n)) {print substr($0,i+2); exit}}'
}
has_hdr() { sed -n '2,/^$/p' "$R" | grep -qi "^$1: "; }
body() { sed '1,/^$/d' "$R"; }
body_size() { body | wc -c | tr -d ' '; }
settle() { sleep 0.3; }         # let the store write what it was given

# ============================================================================
write_keys "1 2"
write_conf
start_redis

# ---- command line ------------------------------------------------------------------
out=$("$TRACKER" -n -c "$CONF" 2>&1)
expect "-n accepts a good configuration" contains "$out" "configuration OK"
printf 'tracker = { listen = "x"; };\n' >"$T/bad.conf"
out=$("$TRACKER" -n -c "$T/bad.conf" 2>&1); code=$?
expect "-n rejects a bad file with exit 1" equals "$code" 1
expect "-n names file, line and setting" contains "$out" "$T/bad.conf:1: tracker.listen: expected an array"
out=$("$TRACKER" --help); code=$?
expect "--help exits 0 and documents -n" contains "$code:$out" "0:usage: postbeacon-tracker"
out=$("$TRACKER" -V)
expect "--version names the program" contains "$out" "postbeacon-tracker "
"$TRACKER" -x >/dev/null 2>&1; code=$?
expect "an unknown option exits 2" equals "$code" 2
chmod 644 "$KEYS"
out=$("$TRACKER" -n -c "$CONF" 2>&1); code=$?
expect "a world-readable key file is refused" equals "$code" 1
chmod 600 "$KEYS"

start_tracker

# ---- clicks ----------------------------------------------------------------------------
URL='https://shop.example.com/spring?x=1&utm_source=newsletter&utm_medium=email'
TOK=$(mint click url="$URL" link=3 sent_at=$OLD msg=00000000000000c1 campaign=spring-sale)
n0=$(nevents)
req GET "/c/$TOK" -H "User-Agent: Mozilla/5.0 (X11; Linux x86_64) Firefox/120.0" \
    -H "X-Forwarded-For: 192.0.2.1, 203.0.113.77"
expect "click: 302" equals "$(status)" 302
expect "click: Location is exactly the signed URL" equals "$(hdr Location)" "$URL"
expect "click: Cache-Control no-store" equals "$(hdr Cache-Control)" "no-store"
expect "click: nosniff" equals "$(hdr X-Content-Type-Options)" nosniff
expect "click: Referrer-Policy no-referrer" equals "$(hdr Referrer-Policy)" no-referrer
expect "click: no body" equals "$(body_size)" 0
# a human click on a message without an open also writes an imputed open
expect "click: recorded in the stream" wait_for 5 events_reach $((n0 + 2))
expect "click event: type, url, link" equals "$(field type) $(field url) $(field link)" \
    "click $URL 3"
expect "click event: human, msg, campaign" equals "$(field class) $(field msg) $(field campaign)" \
    "human 00000000000000c1 spring-sale"
expect "click event: right-most untrusted X-Forwarded-For hop, truncated to /24" \
    equals "$(field ip)" "203.0.113.0"
expect "click event: user agent" equals "$(field ua)" "Mozilla/5.0 (X11; Linux x86_64) Firefox/120.0"

n0=$(nevents)
req HEAD "/c/$TOK"
expect "HEAD click: 302 with the same Location, no body" \
    equals "$(status) $(hdr Location) $(body_size)" "302 $URL 0"
expect "HEAD click: recorded as machine (head)" wait_for 5 events_reach $((n0 + 1))
expect "HEAD click: class machine, reason head" equals "$(field class) $(field reason)" "machine head"

TOKFAST=$(mint click url="$URL" link=4 msg=00000000000000c2)
n0=$(nevents)
req GET "/c/$TOKFAST" -H "User-Agent: Mozilla/5.0 Firefox/120.0"
expect "click right after the send: still redirected" equals "$(status)" 302
wait_for 5 events_reach $((n0 + 1))
expect "click right after the send: machine, too-fast" equals "$(field class) $(field reason)" \
    "machine too-fast"

HONEY=$(mint click url="https://example.com/hp" link=65535 sent_at=$OLD msg=00000000000000c3)
n0=$(nevents)
req GET "/c/$HONEY"
wait_for 5 events_reach $((n0 + 1))
expect "honeypot link (index 65535): machine, honeypot" equals "$(field class) $(field reason)" \
    "machine honeypot"

# untrusted peer: its X-Forwarded-For is ignored
n0=$(nevents)
req GET "/c/$TOK" --source 127.0.0.2 -H "X-Forwarded-For: 198.51.100.9"
wait_for 5 events_reach $((n0 + 1))
expect "X-Forwarded-For from an untrusted peer is ignored" equals "$(field ip)" "127.0.0.0"

# ---- tokens that must not redirect ------------------------------------------------------
no_redirect() {                 # no_redirect DESCRIPTION PATH
    req GET "$2"
    if [ "$(status)" = 404 ] && ! has_hdr Location \
        && [ "$(hdr Content-Type)" = "text/plain; charset=utf-8" ]; then
        ok "$1: 404, no Location"
    else
        not_ok "$1: got $(status), Location \"$(hdr Location)\""
    fi
}
n_before=$(nevents)
no_redirect "forged token" "/c/$(openssl rand -base64 90 | tr -d '\n=' | tr '+/' '-_' | cut -c1-110)"
mid=$((${#TOK} / 2))
c=${TOK:$mid:1}; [ "$c" = A ] && r=B || r=A
no_redirect "tampered token (one character)" "/c/${TOK:0:$mid}$r${TOK:$((mid + 1))}"
no_redirect "truncated token" "/c/${TOK:0:$((${#TOK} - 4))}"
no_redirect "token cut to 10 characters" "/c/${TOK:0:10}"
no_redirect "token with padding" "/c/${TOK}=="
no_redirect "token with a trailing slash" "/c/${TOK}/"
no_redirect "empty token" "/c/"
no_redirect "open token on /c/ (wrong kind)" "/c/$(mint open sent_at=$OLD)"
no_redirect "unsubscribe token on /c/ (wrong kind)" "/c/$(mint unsubscribe)"
printf 'contact %s\n7 %s\n' "$CONTACT_KEY" "$(openssl rand -hex 32)" >"$T/otherkeys"
chmod 600 "$T/otherkeys"
no_redirect "token signed with an unknown key id" \
    "/c/$("$TOOL" mint "$T/otherkeys" click url="$URL" sent_at=$OLD)"
printf 'contact %s\n2 %s\n' "$CONTACT_KEY" "$(openssl rand -hex 32)" >"$T/otherkeys"
no_redirect "token signed with a different secret under id 2" \
    "/c/$("$TOOL" mint "$T/otherkeys" click url="$URL" sent_at=$OLD)"
# the destination changed inside a real token: the MAC no longer holds
CHANGED=$(python3 - "$TOK" <<'PY'
import base64, sys
t = sys.argv[1]
raw = bytearray(base64.urlsafe_b64decode(t + "=" * (-len(t) % 4)))
i = raw.find(b"shop.example.com")
raw[i:i + 16] = b"evil.example.com"
print(base64.urlsafe_b64encode(bytes(raw)).decode().rstrip("="))
PY
)
no_redirect "destination changed in a token (open redirect)" "/c/$CHANGED"
# URLs signed with a real key that still must never become a Location
for bad in '//evil.example/x' '\\evil.example\x' 'https:///evil.example/' \
    'https://\evil.example/' 'https://good.example\@evil.example/' 'javascript:alert(1)' \
    'ftp://files.example/' 'HTTPS:evil.example' '/relative/path'; do
    no_redirect "signed URL $bad" "/c/$(mint click url="$bad" sent_at=$OLD)"
done
for bad in $'https://a.example/\r\nSet-Cookie: pb=1' $'https://a.example/\nX-Injected: 1' \
    $'https://a.example/\tx'; do
    RAW=$("$TOOL" mint-raw "$KEYS" click url="$bad" sent_at=$OLD)
    req GET "/c/$RAW"
    if [ "$(status)" = 404 ] && ! has_hdr Location && ! has_hdr Set-Cookie \
        && ! has_hdr X-Injected; then
        ok "control characters signed into a URL: 404, nothing injected"
    else
        not_ok "control characters signed into a URL: $(status)"
    fi
done
settle
expect "no rejected token recorded anything" equals "$(nevents)" "$n_before"
# percent-encoded CR/LF is an ordinary URL and is passed on as written
ENC='https://a.example/%0d%0aSet-Cookie:%20pb=1'
req GET "/c/$(mint click url="$ENC" sent_at=$OLD)"
expect "percent-encoded CR/LF: 302, Location unchanged, no Set-Cookie" \
    equals "$(status) $(hdr Location) $(has_hdr Set-Cookie && echo cookie)" "302 $ENC "
# header injection through the request line
req GET "/c/$TOK%0d%0aX-Injected:%20yes"
expect "CR/LF in the path: 404, nothing injected" \
    equals "$(status) $(has_hdr X-Injected && echo injected)" "404 "
printf 'GET /c/%s HTTP/1.1\r\nHost: t\r\nX-Forwarded-For: 1.2.3.4\r\n X-Injected: folded\r\nConnection: close\r\n\r\n' \
    "$TOK" | $HTTP "$PORT" --raw >"$R" 2>/dev/null || echo 000 >"$R"
expect "folded header line: answered, nothing reflected" \
    equals "$(has_hdr X-Injected && echo injected)" ""

# ---- opens --------------------------------------------------------------------------------
GIF_HEX=47494638396101000100800000000000ffffff21f90401000000002c00000000010001000002024401003b
is_pixel() {
    [ "$(status)" = 200 ] && [ "$(hdr Content-Type)" = image/gif ] \
        && [ "$(hdr Content-Length)" = 43 ] \
        && [ "$(hdr Cache-Control)" = "no-store, no-cache, must-revalidate, private" ] \
        && [ "$(hdr Pragma)" = no-cache ] && [ "$(hdr Expires)" = 0 ] \
        && [ "$(body | od -An -tx1 | tr -d ' \n')" = "$GIF_HEX" ]
}
OTOK=$(mint open sent_at=$OLD msg=00000000000000d1)
n0=$(nevents)
req GET "/o/$OTOK.gif" -H "User-Agent: Mozilla/5.0 (Windows NT 10.0) Thunderbird/115"
expect "open: the 43-byte transparent GIF with no-cache headers" is_pixel
expect "open: recorded" wait_for 5 events_reach $((n0 + 1))
expect "open event: type open, human, not imputed" \
    equals "$(field type) $(field class) $(field imputed) $(field msg)" "open human 0 00000000000000d1"
for path in "/o/$OTOK" "/o/$OTOK.png"; do
    n0=$(nevents)
    req GET "$path"
    expect "open $path: the pixel" is_pixel
    expect "open $path: recorded" wait_for 5 events_reach $((n0 + 1))
done
n0=$(nevents)
req HEAD "/o/$OTOK.gif"
expect "HEAD open: same headers, no body" \
    equals "$(status) $(hdr Content-Length) $(hdr Content-Type) $(body_size)" "200 43 image/gif 0"
wait_for 5 events_reach $((n0 + 1))
expect "HEAD open: machine (head)" equals "$(field class) $(field reason)" "machine head"
n0=$(nevents)
req GET "/o/$OTOK.gif" -H "User-Agent: Mozilla/5.0" -H "X-Forwarded-For: 17.58.6.51"
wait_for 5 events_reach $((n0 + 1))
expect "Apple Mail Privacy Protection open: machine, apple-mpp" \
    equals "$(field class) $(field reason)" "machine apple-mpp"
n0=$(nevents)
req GET "/o/$OTOK.gif" -H "User-Agent: Mozilla/5.0 (Windows NT 5.1; rv:11.0) Gecko Firefox/11.0 (via ggpht.com GoogleImageProxy)"
wait_for 5 events_reach $((n0 + 1))
expect "Gmail image proxy open: machine, google-proxy" \
    equals "$(field class) $(field reason)" "machine google-proxy"
n0=$(nevents)
for path in "/o/x.gif" "/o/" "/o/${OTOK:0:20}.gif" "/o/$TOK.gif" "/o/$(mint unsubscribe).png"; do
    req GET "$path"
    expect "bad open token $path: still the pixel" is_pixel
done
settle
expect "bad open tokens recorded nothing" equals "$(nevents)" "$n0"

# ---- unsubscribe ------------------------------------------------------------------------------
CONTACT=b0b1b2b3b4b5b6b7
UTOK=$(mint unsubscribe contact=$CONTACT campaign='<b>"spring"&sale</b>' sent_at=$OLD msg=00000000000000e1)
n0=$(nevents)
req GET "/u/$UTOK"
expect "unsubscribe GET: 200 page" equals "$(status)" 200
expect "unsubscribe GET: text/html; charset=utf-8" equals "$(hdr Content-Type)" "text/html; charset=utf-8"
expect "unsubscribe GET: nosniff, no-referrer, no-store" \
    equals "$(hdr X-Content-Type-Options) $(hdr Referrer-Policy) $(hdr Cache-Control)" \
    "nosniff no-referrer no-store"
csp=$(hdr Content-Security-Policy)
expect "unsubscribe GET: strict Content-Security-Policy" \
    contains "$csp" "default-src 'none'; style-src 'sha256-"
expect "unsubscribe GET: CSP without unsafe-inline" lacks "$csp" "unsafe"
page=$(body)
expect "unsubscribe page: <html lang=\"en\">" contains "$page" '<html lang="en">'
expect "unsubscribe page: a POST form with the one-click field and a button" \
    contains "$page" '<form method="post">
<input type="hidden" name="List-Unsubscribe" value="One-Click">
<button type="submit">Unsubscribe</button>'
expect "unsubscribe page: the campaign is HTML-escaped" \
    contains "$page" '&lt;b&gt;&quot;spring&quot;&amp;sale&lt;/b&gt;'
req HEAD "/u/$UTOK"
expect "unsubscribe HEAD: 200, no body" equals "$(status) $(body_size)" "200 0"
settle
expect "GET and HEAD never unsubscribe (no event)" equals "$(nevents)" "$n0"
expect "GET and HEAD never unsubscribe (not suppressed)" \
    equals "$(rc SISMEMBER pb:suppressed $CONTACT)" 0
req POST "/u/$UTOK" -H "Content-Type: application/x-www-form-urlencoded" -d "x=1"
expect "unsubscribe POST without List-Unsubscribe=One-Click: 400" equals "$(status)" 400
settle
expect "... and nothing recorded" equals "$(nevents)" "$n0"
req POST "/u/$UTOK" -H "Content-Type: application/x-www-form-urlencoded" \
    -d "List-Unsubscribe=One-Click"
expect "RFC 8058 one-click POST: 200" equals "$(status)" 200
expect "RFC 8058 one-click POST: confirmation page" contains "$(body)" "<h1>You are unsubscribed</h1>"
expect "one-click POST: unsubscribe event" wait_for 5 events_reach $((n0 + 1))
expect "unsubscribe event: type, contact" equals "$(field type) $(field contact)" \
    "unsubscribe $CONTACT"
expect "one-click POST: contact on the suppression list" \
    equals "$(rc SISMEMBER pb:suppressed $CONTACT)" 1
UTOK2=$(mint unsubscribe contact=c0c1c2c3c4c5c6c7 sent_at=$OLD)
BOUNDARY=pbtestboundary
MP=$(printf -- '--%s\r\nContent-Disposition: form-data; name="List-Unsubscribe"\r\n\r\nOne-Click\r\n--%s--\r\n' \
    "$BOUNDARY" "$BOUNDARY")
req POST "/u/$UTOK2" -H "Content-Type: multipart/form-data; boundary=$BOUNDARY" -d "$MP"
expect "one-click POST as multipart/form-data: 200" equals "$(status)" 200
expect "multipart POST: contact suppressed" wait_for 5 suppressed c0c1c2c3c4c5c6c7
req POST "/u/${UTOK:0:30}" -d "List-Unsubscribe=One-Click"
expect "unsubscribe with a bad token: 404 page" \
    equals "$(status) $(hdr Content-Type)" "404 text/html; charset=utf-8"
expect "bad-token page says so" contains "$(body)" "<h1>This link is not valid</h1>"
req GET "/u/$OTOK"
expect "open token on /u/: 404" equals "$(status)" 404
# /u/-: a rendered template's {{unsubscribe_url}} placeholder that did not
# pass through the milter: a page that says so, never a redirect, whatever
# the method, and nothing recorded
n_before=$(nevents)
req GET "/u/-"
expect "the unsubscribe placeholder: 404 page, no Location" \
    equals "$(status) $(hdr Content-Type) $(has_hdr Location && echo redirect)" \
    "404 text/html; charset=utf-8 "
expect "... that says the link was not completed" contains "$(body)" \
    "<h1>This link was not completed</h1>"
req HEAD "/u/-"
expect "... HEAD: 404, no body" equals "$(status) $(body_size)" "404 0"
req POST "/u/-" -H "Content-Type: application/x-www-form-urlencoded" -d "List-Unsubscribe=One-Click"
expect "... POST (one-click): the same page" \
    equals "$(status) $(body | grep -c '<h1>This link was not completed</h1>')" "404 1"
settle
expect "... and nothing recorded" equals "$(nevents)" "$n_before"

# ---- methods, paths, limits -----------------------------------------------------------------
req POST "/c/$TOK" -d "x"
expect "POST /c/: 405, Allow GET, HEAD" equals "$(status) $(hdr Allow)" "405 GET, HEAD"
req PUT "/u/$UTOK" -d "x"
expect "PUT /u/: 405, Allow GET, HEAD, POST" equals "$(status) $(hdr Allow)" "405 GET, HEAD, POST"
req DELETE "/o/$OTOK"
expect "DELETE /o/: 405" equals "$(status)" 405
req GET "/"
expect "unknown path: 404" equals "$(status)" 404
req GET "/metrics"
expect "/metrics is not on the public listener" equals "$(status)" 404
req GET "/healthz"
expect "/healthz is not on the public listener" equals "$(status)" 404
LONGURL="https://shop.example.com/$(head -c 6000 /dev/zero | tr '\0' a)"
LONG=$(mint click url="$LONGURL" sent_at=$OLD)
req GET "/c/$LONG"
expect "a ${#LONG}-character token (6 KB URL) redirects" \
    equals "$(status) $(hdr Location | wc -c)" "302 $((${#LONGURL} + 1))"
req GET "/c/$TOK" -H "X-Big: $(head -c 20000 /dev/zero | tr '\0' b)"
expect "headers over max_header_size: 431" equals "$(status)" 431
req POST "/u/$UTOK" -d "List-Unsubscribe=One-Click&pad=$(head -c 5000 /dev/zero | tr '\0' p)"
expect "body over max_body_size: 413" equals "$(status)" 413
out=$($HTTP "$PORT" GET "/c/$TOK" --keepalive 3 2>&1 | tr '\n' ' ')
expect "keep-alive: three answers on one connection" equals "$out" "302 302 302 "
if [ -n "$IPV6" ]; then
    n0=$(nevents)
    req GET "/c/$TOK" --host ::1
    expect "IPv6 listener: 302" equals "$(status) $(hdr Location)" "302 $URL"
    wait_for 5 events_reach $((n0 + 1))
    expect "IPv6 client truncated to /48" equals "$(field ip)" "::"
fi

# ---- admin: /healthz and /metrics ----------------------------------------------------------------
admin GET /healthz
expect "/healthz: 200 ok, Redis up" equals "$(status) $(body | head -2 | tr '\n' ' ')" "200 ok redis: up "
admin GET /metrics
expect "/metrics: 200, Prometheus text" \
    equals "$(status) $(hdr Content-Type)" "200 text/plain; version=0.0.4; charset=utf-8"
body >"$T/metrics"
bad_lines=$(grep -v '^# \(HELP\|TYPE\) postbeacon_tracker_[a-z_]* ' "$T/metrics" \
    | grep -Ev '^postbeacon_tracker_[a-z_]+(\{[a-z_]+="[^"]*"(,[a-z_]+="[^"]*")*\})? [0-9]+$')
expect "/metrics: every line is a comment or a sample" equals "$bad_lines" ""
untyped=$(grep -v '^#' "$T/metrics" | sed 's/[{ ].*//' | sort -u | while read -r m; do
    grep -q "^# TYPE $m \(counter\|gauge\)$" "$T/metrics" || echo "$m"; done)
expect "/metrics: every metric has a TYPE" equals "$untyped" ""
m() { grep -v '^#' "$T/metrics" | grep -F "$1" | awk '{print $2}'; }
expect "/metrics: click 302s counted" test "$(m 'requests_total{route="click",code="302"}')" -ge 8
expect "/metrics: rejected tokens counted by reason" \
    test "$(m 'invalid_tokens_total{route="click",reason="bad_mac"}')" -ge 2
expect "/metrics: verified tokens with unsafe URLs counted" \
    test "$(m 'invalid_tokens_total{route="click",reason="unsafe_url"}')" -ge 9
expect "/metrics: machine events by reason" test "$(m 'machine_events_total{reason="head"}')" -ge 2
expect "/metrics: Redis up" equals "$(m 'postbeacon_tracker_redis_up ')" 1
expect "/metrics: events written" test "$(m 'postbeacon_tracker_events_written_total ')" -ge 10
admin GET /c/$TOK
expect "admin listener serves no clicks" equals "$(status)" 404

# ---- SIGHUP --------------------------------------------------------------------------------------
TOK1=$(mint click url="$URL" key=1 sent_at=$OLD)
req GET "/c/$TOK1"
expect "token signed with the old key 1: 302" equals "$(status)" 302
cp "$CONF" "$T/good.conf"
printf 'tracker = { language = "xx"; };\n' >>"$CONF"
kill -HUP "$TRACKER_PID"
expect "bad reload is logged" wait_for 5 grep -q "reload failed, keeping configuration generation 1: $CONF:" "$LOG"
req GET "/c/$TOK1"
expect "after a bad reload the old configuration still serves" equals "$(status)" 302
cp "$T/good.conf" "$CONF"
write_keys "2"                  # key 1 removed (rotation finished)
write_conf de
kill -HUP "$TRACKER_PID"
expect "good reload is logged" wait_for 5 grep -q "configuration reloaded from $CONF (generation 2" "$LOG"
req GET "/c/$TOK1"
expect "rotated key: token of the removed key 1 -> 404" equals "$(status) $(hdr Location)" "404 "
req GET "/c/$TOK"
expect "token of the remaining key 2 still redirects" equals "$(status)" 302
req GET "/u/$UTOK"
expect "reload switched the page language" contains "$(body)" '<html lang="de">'
admin GET /metrics
expect "reloads counted: 1 ok, 1 failed" \
    equals "$(body | grep '^postbeacon_tracker_reloads_total' | awk '{print $2}' | tr '\n' ' ')" "1 1 "

# ---- a second tracker on the same ports ----------------------------------------------------------
sed "s|$T/tracker.pid|$T/second.pid|; s|$T/tracker.journal|$T/second.journal|" "$CONF" >"$T/second.conf"
out=$("$TRACKER" -f -c "$T/second.conf" 2>&1); code=$?
expect "a port in use: exit 1" equals "$code" 1
expect "a port in use: cannot listen on 127.0.0.1:$PORT" contains "$out" "cannot listen on 127.0.0.1:$PORT"

# ---- SIGTERM drains ------------------------------------------------------------------------------
DTOK=$(mint click url="https://example.com/drain" sent_at=$OLD msg=00000000000000f1)
n0=$(nevents)
$HTTP "$PORT" --idle 8 --ready "$T/idle.ready" GET "/c/$TOK" >"$T/idle.out" 2>&1 &
IDLE_PID=$!
$HTTP "$PORT" GET "/c/$DTOK" --split 0.6 --ready "$T/split.ready" >"$T/split.out" 2>&1 &
SPLIT_PID=$!
# the idle connection waits after its answer; half of the other request is in
wait_for 10 test -e "$T/idle.ready" -a -e "$T/split.ready"
sleep 0.1
t0=$(date +%s%N)
kill -TERM "$TRACKER_PID"
wait "$TRACKER_PID"
code=$?
t1=$(date +%s%N)
TRACKER_PID=''
wait "$SPLIT_PID"
wait "$IDLE_PID"
expect "SIGTERM: exit status 0" equals "$code" 0
expect "SIGTERM: the request in flight was answered in full" \
    equals "$(head -1 "$T/split.out") $(sed -n 's/^Location: //p' "$T/split.out")" \
    "302 https://example.com/drain"
expect "SIGTERM: the idle keep-alive connection was closed" \
    equals "$(tr '\n' ' ' <"$T/idle.out")" "302 closed "
expect "SIGTERM: stopped within 3 s" test $(((t1 - t0) / 1000000)) -lt 3000
expect "SIGTERM: the drained click reached Redis" events_reach $((n0 + 1))
expect "SIGTERM: the drained click is the newest event" equals "$(field url)" "https://example.com/drain"
expect "SIGTERM: pidfile removed" test ! -e "$T/tracker.pid"
expect "SIGTERM: port closed" sh -c "! $HTTP $PORT GET / >/dev/null 2>&1"
expect "SIGTERM: log says stopped" grep -q "info: stopped" "$LOG"

# ---- background mode --------------------------------------------------------------------------
"$TRACKER" -c "$CONF" >"$T/bg.out" 2>&1
code=$?
expect "background mode: the starting process exits 0 once the daemon is up" equals "$code" 0
BG=$(cat "$T/tracker.pid" 2>/dev/null)
expect "background mode: pidfile names a running process" kill -0 "${BG:-0}"
admin GET /healthz
expect "background mode: serving" equals "$(status)" 200
kill -TERM "${BG:-0}" 2>/dev/null
expect "background mode: SIGTERM stops it" wait_for 5 sh -c "! kill -0 ${BG:-0} 2>/dev/null"
write_keys ""                   # no signing key at all
"$TRACKER" -c "$CONF" >"$T/bg.out" 2>&1
code=$?
expect "background mode: a start-up failure is the starting process's exit status" \
    equals "$code" 1
expect "background mode: the failure is on stderr" contains "$(cat "$T/bg.out")" "$KEYS"

if [ "$failed" -gt 0 ]; then
    echo "--- tracker log ---"
    tail -40 "$LOG"
fi
tap_finish
