#!/bin/bash
# milter_protocol.sh - postbeacon-milter over the milter protocol, driven
# by tests/milter-client (an MTA side of the protocol that, unlike Debian
# 12's miltertest, copes with large bodies). A private redis-server and the
# milter run in a temporary directory; nothing outside it is used.
#
# Checks: marketing mail is rewritten (links through verifiable tracking
# tokens, List-Unsubscribe(-Post) added, campaign header removed, send
# record in Redis); incoming and non-marketing mail passes byte for byte;
# skipped, DKIM-signed, oversized, malformed, excluded, link-less and
# report mail passes byte for byte but for its campaign header, which is
# removed (also when the MTA wants a reply for every step), except where a
# DKIM signature covers it or the MTA does not allow header changes; the
# parts left alone in a tracked message are named in its log line, and it
# gets one open pixel; multi-recipient campaign/skip;
# an existing List-Unsubscribe is kept; a 2 MB body comes back in chunks
# of at most 64 KB; Redis down -> mail still rewritten, record journaled
# and replayed later; -n with good and bad files; SIGUSR1 reload (good
# and bad); SIGTERM; background mode; privilege drop when run as root;
# --help and --version.
#
# Run by `make check` (top_builddir and top_srcdir in the environment).
# Exit 77 (skip) only when redis-server, redis-cli or openssl is missing.
set -u

top_builddir=${top_builddir:-$(pwd)}
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/.." && pwd)}
MILTER=$top_builddir/milter/postbeacon-milter
CLIENT=$top_builddir/tests/milter-client
TOKEN=$top_builddir/tests/token-tool
BASE=https://t.example.net

for prog in redis-server redis-cli openssl; do
    if ! command -v "$prog" >/dev/null 2>&1; then
        echo "SKIP: $prog is not installed"
        exit 77
    fi
done
for bin in "$MILTER" "$CLIENT" "$TOKEN"; do
    [ -x "$bin" ] || { echo "ERROR: $bin not built"; exit 99; }
done

T=$(mktemp -d "${TMPDIR:-/tmp}/pbmt.XXXXXX") || exit 99
REDIS_PID='' MILTER_PID=''
cleanup() {
    [ -n "$MILTER_PID" ] && kill "$MILTER_PID" 2>/dev/null && wait "$MILTER_PID" 2>/dev/null
    [ -n "$REDIS_PID" ] && kill "$REDIS_PID" 2>/dev/null && wait "$REDIS_PID" 2>/dev/null
    [ -f "$T/bg.pid" ] && kill "$(cat "$T/bg.pid")" 2>/dev/null
    [ -f "$T/priv/milter.pid" ] && kill "$(cat "$T/priv/milter.pid")" 2>/dev/null
    if [ -n "${PB_KEEP:-}" ]; then echo "kept $T"; else rm -rf "$T"; fi
}
trap cleanup EXIT

# ---- assertions ---------------------------------------------------------------
. "$top_srcdir/tests/lib/tap.sh"      # ok, not_ok, expect, equals, contains, wait_for
has() { grep -q -- "$1" "$2"; }                 # has PATTERN FILE
lacks() { ! grep -q -- "$1" "$2"; }
has_fixed() { grep -qF -- "$1" "$2"; }
same() { cmp -s "$1" "$2"; }

# ---- environment ----------------------------------------------------------------
to_crlf() { sed 's/$/\r/'; }
header_block() { sed '/^\r\{0,1\}$/q' "$1"; }   # headers + blank line
body_of() { sed '1,/^\r\{0,1\}$/d' "$1"; }

write_keys() {
    (umask 077 && printf '1 %s\ncontact %s\n' "$(openssl rand -hex 32)" \
        "$(openssl rand -hex 32)" >"$1")
    chmod 600 "$1"
}

# write_conf FILE [EXTRA MILTER SETTINGS]
write_conf() {
    cat >"$1" <<EOF
tracking = { base_url = "$BASE"; };
keys = { file = "$T/keys"; };
redis = { socket = "$T/redis.sock"; journal = "$T/milter.journal"; timeout_ms = 200; };
utm = { domains = [ "example.com" ]; };
milter = {
    socket = "unix:$T/milter.sock";
    user = "";
    pidfile = "$T/milter.pid";
    daemon_names = [ "ORIGINATING" ];
    senders = [ "@news.example.com" ];
    unsubscribe_mailto = "unsubscribe@example.com";
    max_message_size = "3M";
${2:-}
};
EOF
}

redis() { redis-cli -s "$T/redis.sock" "$@"; }
redis_up() { [ "$(redis ping 2>/dev/null)" = PONG ]; }
msg_campaign_is() { [ "$(redis hget "pb:msg:$1" campaign 2>/dev/null)" = "$2" ]; }
start_redis() {
    redis-server --port 0 --unixsocket "$T/redis.sock" --unixsocketperm 700 --dir "$T" \
        --save "" --appendonly no --logfile "$T/redis.log" >/dev/null 2>&1 &
    REDIS_PID=$!
    wait_for 10 redis_up || { echo "ERROR: redis-server did not start"; exit 99; }
}
stop_redis() {
    kill "$REDIS_PID" && wait "$REDIS_PID" 2>/dev/null
    REDIS_PID=
}

start_milter() {
    "$MILTER" -f -c "$T/pb.conf" 2>>"$T/milter.log" &
    MILTER_PID=$!
    wait_for 10 test -S "$T/milter.sock" || { cat "$T/milter.log"; echo "ERROR: no milter"; exit 99; }
}

# send NAME [CLIENT ARGS]: $T/NAME.eml through the milter -> NAME.out, NAME.actions
send() {
    local name=$1
    shift
    "$CLIENT" -s "unix:$T/milter.sock" -i "$T/$name.eml" -o "$T/$name.out" "$@" \
        >"$T/$name.actions" 2>"$T/$name.err"
}
log_has() { has_fixed "$1" "$T/milter.log"; }
# reloaded_since N: more than N reloads logged (counted anew on every try)
reloaded_since() { [ "$(grep -c "configuration reloaded" "$T/milter.log")" -gt "$1" ]; }
tokens() { grep -o "$BASE/$1/[A-Za-z0-9_-]*" "$2" | sed "s#.*/$1/##"; }
token_field() { "$TOKEN" verify "$T/keys" "$1" | sed -n "s/^$2=//p"; }
contact_of() { "$TOKEN" contact "$T/keys" "$1"; }

# ---- test messages: make_messages ----------------------------------------------------
. "$top_srcdir/tests/lib/milter_messages.sh"

# ---- the tests -------------------------------------------------------------------------
test_command_line() {
    local out
    out=$("$MILTER" --version)
    expect "--version exits 0 and names the program" equals "${out%% *}" postbeacon-milter
    "$MILTER" --help >"$T/help.out"
    expect "--help exits 0 and shows the usage" has "^usage: postbeacon-milter" "$T/help.out"
    "$MILTER" -x >/dev/null 2>&1
    expect "an unknown option exits 2" equals "$?" 2
}

test_check_mode() {
    local rc
    "$MILTER" -n -c "$T/pb.conf" >"$T/n-good.out" 2>&1
    expect "-n with a good file exits 0" equals "$?" 0
    expect "-n says configuration OK (FILE)" has_fixed \
        "postbeacon-milter: configuration OK ($T/pb.conf)" "$T/n-good.out"
    printf 'tracking = { base_url = "%s"; };\nmilter = {\n    sokcet = "unix:/x";\n};\n' \
        "$BASE" >"$T/bad.conf"
    "$MILTER" -n -c "$T/bad.conf" >"$T/n-bad.out" 2>&1
    rc=$?
    expect "-n with a bad file exits 1" equals "$rc" 1
    expect "-n names the file and line of the mistake" has_fixed "$T/bad.conf:3:" "$T/n-bad.out"
    cp "$T/keys" "$T/keys-open"
    chmod 644 "$T/keys-open"
    sed "s#$T/keys\"#$T/keys-open\"#" "$T/pb.conf" >"$T/open.conf"
    "$MILTER" -n -c "$T/open.conf" >"$T/n-open.out" 2>&1
    expect "-n refuses a world-readable key file" equals "$?" 1
    expect "... and names it" has_fixed "$T/keys-open" "$T/n-open.out"
    "$MILTER" -f -c "$T/bad.conf" 2>"$T/start-bad.out"
    expect "start-up with a bad file exits 1" equals "$?" 1
    expect "... with one line naming file and line" \
        equals "$(grep -c "$T/bad.conf:3:" "$T/start-bad.out")" 1
}

test_campaign() {
    local contact tok url
    send campaign -d ORIGINATING -q QCAMP -r bob@example.org
    expect "campaign: eom accepted" has "^eom: accept" "$T/campaign.actions"
    expect "campaign: List-Unsubscribe added (https + mailto)" has_fixed \
        "addheader List-Unsubscribe: <$BASE/u/" "$T/campaign.actions"
    expect "campaign: List-Unsubscribe has the mailto" has_fixed \
        ", <mailto:unsubscribe@example.com?subject=unsubscribe>" "$T/campaign.actions"
    expect "campaign: List-Unsubscribe-Post added" has_fixed \
        "addheader List-Unsubscribe-Post: List-Unsubscribe=One-Click" "$T/campaign.actions"
    expect "campaign: campaign header removed" has "^delheader X-Campaign 1$" "$T/campaign.actions"
    expect "campaign: no X-Campaign in the sent message" lacks "^X-Campaign:" "$T/campaign.out"
    expect "campaign: other headers byte-identical" equals \
        "$(header_block "$T/campaign.out" | grep -v '^List-Unsubscribe')" \
        "$(header_block "$T/campaign.eml" | grep -v '^X-Campaign:')"
    expect "campaign: 3 links tracked (2 HTML, 1 text)" equals \
        "$(tokens c "$T/campaign.out" | wc -l)" 3
    expect "campaign: original link gone" lacks 'href="https://www.example.com/shop' "$T/campaign.out"
    expect "campaign: mailto, #fragment, unsubscribe link left alone" \
        has 'href="mailto:help@example.com".*href="#top"' "$T/campaign.out"
    expect "campaign: unsubscribe link untouched" has_fixed \
        'href="https://www.example.com/unsubscribe?u=1"' "$T/campaign.out"
    contact=$(contact_of bob@example.org)
    tok=$(tokens c "$T/campaign.out" | head -1)
    url=$(token_field "$tok" url)
    expect "campaign: click token verifies to the original URL + UTM" equals \
        "${url%%&*}" "https://www.example.com/shop?x=1"
    expect "campaign: click URL carries utm_campaign" has_fixed "utm_campaign=spring-sale" \
        <(echo "$url")
    expect "campaign: click token carries the recipient's contact id" equals \
        "$(token_field "$tok" contact)" "$contact"
    tok=$(tokens u "$T/campaign.actions" | head -1)
    expect "campaign: unsubscribe token verifies, same contact" equals \
        "$(token_field "$tok" kind) $(token_field "$tok" contact)" "unsubscribe $contact"
    expect "campaign: open pixel added" has "$BASE/o/" "$T/campaign.out"
    expect "campaign: one log line says tracked" has_fixed \
        "QCAMP: tracked campaign=spring-sale contact=$contact links=3" "$T/milter.log"
    CAMPAIGN_MSG=$(sed -n 's/.*QCAMP: tracked .* msg=\([0-9a-f]*\).*/\1/p' "$T/milter.log")
    expect "campaign: send record in Redis" wait_for 5 msg_campaign_is "$CAMPAIGN_MSG" spring-sale
}

# test_stripped NAME WHY-IN-LOG CLIENT-ARGS...: passes untouched but for
# its campaign header, which is removed (the one change), and says so.
test_stripped() {
    local name=$1 why=$2
    shift 2
    expect "$name: milter dialogue completed" send "$name" "$@"
    expect "$name: passes byte for byte but for X-Campaign" same "$T/$name.out" \
        <(grep -v '^X-Campaign:' "$T/$name.eml")
    expect "$name: the one change is removing X-Campaign" equals \
        "$(grep -E '^(addheader|insheader|delheader|chgheader|replbody|unnegotiated)' \
           "$T/$name.actions")" "delheader X-Campaign 1"
    expect "$name: log says why and that X-Campaign went ($why)" \
        log_has "$why; X-Campaign removed"
}

test_untouched() {             # test_untouched NAME WHY-IN-LOG CLIENT-ARGS...
    local name=$1 why=$2
    shift 2
    expect "$name: milter dialogue completed" send "$name" "$@"
    expect "$name: passes byte for byte" same "$T/$name.out" "$T/$name.eml"
    expect "$name: no header or body changes" \
        lacks "^\(addheader\|delheader\|chgheader\|replbody\)" "$T/$name.actions"
    expect "$name: log says why ($why)" log_has "$why"
}

test_passing() {
    cp "$T/campaign.eml" "$T/incoming.eml"
    test_untouched incoming "QIN: passed: not outgoing mail" -d smtpd -q QIN -r bob@example.org
    expect "incoming: let go at end of headers, body never sent" equals \
        "$(grep -c '^body:' "$T/incoming.actions")/$(grep -c '^eoh: accept' "$T/incoming.actions")" 0/1
    cp "$T/plain.eml" "$T/notmkt.eml"
    test_untouched notmkt "QNM: passed: not marketing mail" -d smtpd -a alice -q QNM \
        -f '<alice@example.com>' -r bob@example.org
    test_stripped skip "QSKIP: passed: X-Postbeacon-Skip header present" -d ORIGINATING \
        -q QSKIP -r bob@example.org
    test_stripped dkim "QDKIM: passed: already DKIM-signed: rewriting would break the signature" \
        -d ORIGINATING -q QDKIM -r bob@example.org
    test_untouched dkimcamp "QDKC: passed: already DKIM-signed: rewriting would break the "\
"signature; X-Campaign kept: a DKIM signature covers it (its h= tag names it)" \
        -d ORIGINATING -q QDKC -r bob@example.org
    test_stripped malformed "QBAD: passed: malformed MIME: truncated message: "\
"multipart/alternative has no end boundary (--b1--)" -d ORIGINATING -q QBAD -r bob@example.org
    test_stripped huge "QHUGE: passed: message over 3145728 bytes" -d ORIGINATING -q QHUGE \
        -r bob@example.org
    cp "$T/huge.eml" "$T/hugereply.eml"
    test_stripped hugereply "QHRP: passed: message over 3145728 bytes" -N -d ORIGINATING \
        -q QHRP -r bob@example.org
    expect "hugereply: a reply was due for every body chunk" test \
        "$(grep -c '^body: continue' "$T/hugereply.actions")" -gt 1
    cp "$T/campaign.eml" "$T/excluded.eml"
    test_stripped excluded "QEX: passed: recipient bob@corp.example.net is in "\
"exclude_recipient_domains" \
        -d ORIGINATING -q QEX -r bob@corp.example.net
    test_stripped nolinks "QNOL: passed: nothing to rewrite: no trackable links" \
        -d ORIGINATING -q QNOL -r bob@example.org
    test_stripped report "QREP: passed: a delivery or feedback report (multipart/report)" \
        -d ORIGINATING -q QREP -r bob@example.org
    # an MTA that allows header changes only: the campaign header still goes
    cp "$T/campaign.eml" "$T/chgonly.eml"
    test_stripped chgonly "QCHG: passed: the MTA does not allow header and body changes" \
        -A 0x110 -d ORIGINATING -q QCHG -r bob@example.org
    # ... and one that allows none: it stays, and the log says why
    cp "$T/campaign.eml" "$T/nochg.eml"
    test_untouched nochg "QNOC: passed: the MTA does not allow header and body changes; "\
"X-Campaign kept: the MTA does not allow header changes" -A 0x103 -d ORIGINATING -q QNOC \
        -r bob@example.org
}

# Parts left alone in a tracked message are named in its log line; the
# message gets one open pixel, in its first HTML part.
test_left_alone() {
    local first
    send leftalone -d ORIGINATING -q QLEFT -r bob@example.org
    expect "left alone: both HTML parts tracked" equals "$(tokens c "$T/leftalone.out" | wc -l)" 2
    expect "left alone: one open pixel in the message" equals \
        "$(grep -o "$BASE/o/" "$T/leftalone.out" | wc -l)" 1
    first=$(awk '/^--m1/ { n++ } n == 1' "$T/leftalone.out")
    expect "left alone: ... in the first HTML part" has_fixed "$BASE/o/" <(echo "$first")
    expect "left alone: attached and signed parts unchanged" equals \
        "$(sed -n '/^Content-Type: message\/rfc822/,$p' "$T/leftalone.out" | md5sum)" \
        "$(sed -n '/^Content-Type: message\/rfc822/,$p' "$T/leftalone.eml" | md5sum)"
    expect "left alone: the log line names them" log_has "QLEFT: tracked campaign=spring-sale "\
"contact=$(contact_of bob@example.org) links=2 msg="
    expect "left alone: ... after recipients" has "QLEFT: tracked .* recipients=1; left alone: "\
"part 3 message/rfc822 (attached message), part 4 multipart/signed (signed)$" "$T/milter.log"
}

test_selection() {
    send plain -d smtpd -a alice -f '<promo@news.example.com>' -q QSND -r bob@example.org
    expect "listed sender domain, authenticated: tracked with the default campaign" \
        log_has "QSND: tracked campaign=newsletter"
    expect "... and rewritten" equals "$(tokens c "$T/plain.out" | wc -l)" 3
    cp "$T/campaign.eml" "$T/multi.eml"
    send multi -d ORIGINATING -q QMULTI -r a@example.org -r b@example.org
    expect "two recipients: tracked per campaign" log_has \
        "QMULTI: tracked campaign=spring-sale contact=none links=3"
    expect "two recipients: no List-Unsubscribe (no contact)" lacks "^addheader" "$T/multi.actions"
    expect "two recipients: tokens carry no contact" equals \
        "$(token_field "$(tokens c "$T/multi.out" | head -1)" contact)" ""
    send listunsub -d ORIGINATING -q QLU -r bob@example.org
    expect "existing List-Unsubscribe: message still tracked" log_has "QLU: tracked"
    expect "existing List-Unsubscribe: kept, not duplicated" equals \
        "$(grep -c '^List-Unsubscribe' "$T/listunsub.out")" 1
    expect "existing List-Unsubscribe: the sender's own value" has_fixed \
        "List-Unsubscribe: <mailto:leave@example.com>" "$T/listunsub.out"
    cp "$T/campaign.eml" "$T/noleadspc.eml"
    send noleadspc -n -d ORIGINATING -q QNLS -r bob@example.org
    expect "without HDR_LEADSPC: tracked, headers rebuilt" equals \
        "$(header_block "$T/noleadspc.out" | grep -v '^List-Unsubscribe')" \
        "$(header_block "$T/campaign.eml" | grep -v '^X-Campaign:')"
    expect "without HDR_LEADSPC: List-Unsubscribe has one space" has \
        "^List-Unsubscribe: <https" "$T/noleadspc.out"
}

# Cross-check with an independent MTA side: Debian's miltertest (small body
# only: its body-replacement buffer overflows above ~1 KB).
test_miltertest() {
    if ! command -v miltertest >/dev/null 2>&1; then
        echo "# miltertest not installed: cross-check not run"
        return
    fi
    cat >"$T/check.lua" <<EOF
local conn = mt.connect("unix:$T/milter.sock")
if conn == nil then error("cannot connect") end
mt.macro(conn, SMFIC_CONNECT, "{daemon_name}", "ORIGINATING")
if mt.conninfo(conn, "client.example", "127.0.0.1") ~= nil then error("conninfo") end
mt.macro(conn, SMFIC_MAIL, "i", "QMT")
if mt.mailfrom(conn, "<news@example.com>") ~= nil then error("mailfrom") end
if mt.rcptto(conn, "<bob@example.org>") ~= nil then error("rcptto") end
mt.header(conn, "From", " news@example.com")
mt.header(conn, "Subject", " miltertest")
mt.header(conn, "X-Campaign", " mt-check")
mt.header(conn, "Content-Type", " text/plain; charset=us-ascii")
if mt.eoh(conn) ~= nil or mt.getreply(conn) ~= SMFIR_CONTINUE then error("eoh") end
if mt.bodystring(conn, "Shop: https://www.example.com/a\r\n") ~= nil then error("body") end
if mt.eom(conn) ~= nil or mt.getreply(conn) ~= SMFIR_ACCEPT then error("eom") end
if not mt.eom_check(conn, MT_HDRADD, "List-Unsubscribe") then error("List-Unsubscribe") end
if not mt.eom_check(conn, MT_HDRADD, "List-Unsubscribe-Post", " List-Unsubscribe=One-Click") then
    error("List-Unsubscribe-Post")
end
if not mt.eom_check(conn, MT_HDRDELETE, "X-Campaign") then error("X-Campaign kept") end
if not mt.eom_check(conn, MT_BODYCHANGE) then error("body not replaced") end
mt.disconnect(conn)
EOF
    expect "miltertest: headers added and removed, body replaced" \
        miltertest -s "$T/check.lua"
    expect "miltertest: log says tracked" log_has "QMT: tracked campaign=mt-check"
}

test_large_body() {
    local chunks max
    send big -d ORIGINATING -q QBIG -r bob@example.org
    read -r chunks max < <(sed -n 's/^replbody chunks=\([0-9]*\) bytes=[0-9]* max=\([0-9]*\)/\1 \2/p' \
        "$T/big.actions")
    expect "2 MB body: replaced" test -n "${chunks:-}"
    expect "2 MB body: chunks of at most 64 KB" test "${max:-999999}" -le 65536
    expect "2 MB body: in many chunks ($chunks)" test "${chunks:-0}" -ge 32
    expect "2 MB body: every link tracked" equals "$(tokens c "$T/big.out" | wc -l)" 23000
    expect "2 MB body: log says links=23000" log_has "QBIG: tracked campaign=big contact=$(contact_of bob@example.org) links=23000"
    expect "2 MB body: last link still points at the last item" equals \
        "$(token_field "$(tokens c "$T/big.out" | tail -1)" url | cut -d'?' -f1)" \
        "https://www.example.com/item/23000"
    expect "2 MB body: text around the links unchanged" equals \
        "$(body_of "$T/big.out" | sed 's#<img [^>]*>##; s#href="[^"]*"#href=""#g' | md5sum)" \
        "$(body_of "$T/big.eml" | sed 's#href="[^"]*"#href=""#g' | md5sum)"
}

test_redis_down() {
    local msg
    stop_redis
    send campaign -d ORIGINATING -q QDOWN -r bob@example.org
    expect "Redis down: message still rewritten" has "^replbody" "$T/campaign.actions"
    expect "Redis down: log says tracked" log_has "QDOWN: tracked"
    msg=$(sed -n 's/.*QDOWN: tracked .* msg=\([0-9a-f]*\).*/\1/p' "$T/milter.log")
    expect "Redis down: record journaled" wait_for 5 test -s "$T/milter.journal"
    expect "Redis down: journal holds the message id" wait_for 5 grep -q "$msg" "$T/milter.journal"
    start_redis
    expect "Redis back: journal replayed into Redis" wait_for 15 msg_campaign_is "$msg" spring-sale
}

test_reload() {
    write_conf "$T/pb.conf" '    multi_recipient = "skip"; default_campaign = "autumn";'
    kill -USR1 "$MILTER_PID"
    expect "SIGUSR1: configuration reloaded" wait_for 5 log_has "configuration reloaded"
    cp "$T/campaign.eml" "$T/multi2.eml"
    test_stripped multi2 "QM2: passed: 2 recipients and multi_recipient = skip" \
        -d ORIGINATING -q QM2 -r a@example.org -r b@example.org
    send plain -d smtpd -a alice -f '<promo@news.example.com>' -q QAUT -r bob@example.org
    expect "reloaded default_campaign used" log_has "QAUT: tracked campaign=autumn"
    echo "milter = { multi_recipient = \"sometimes\"; };" >>"$T/pb.conf"
    kill -USR1 "$MILTER_PID"
    expect "SIGUSR1 with a bad file: error logged with file:line" wait_for 5 \
        log_has "reload failed, keeping configuration generation 2: $T/pb.conf:"
    cp "$T/campaign.eml" "$T/multi3.eml"
    test_stripped multi3 "QM3: passed: 2 recipients and multi_recipient = skip" \
        -d ORIGINATING -q QM3 -r a@example.org -r b@example.org
    expect "... the milter still runs" kill -0 "$MILTER_PID"
}

# milter.honeypot_link: off (the default) no hidden link; on, exactly one,
# whose token verifies with link index 65535.
test_honeypot() {
    local reloads tok
    expect "honeypot: none by default" lacks 'aria-hidden="true" tabindex="-1"' "$T/campaign.out"
    cp "$T/pb.conf" "$T/pb.conf.saved"
    write_conf "$T/pb.conf" '    honeypot_link = true;'
    reloads=$(grep -c "configuration reloaded" "$T/milter.log")
    kill -USR1 "$MILTER_PID"
    expect "honeypot: configuration reloaded" wait_for 5 reloaded_since "$reloads"
    cp "$T/campaign.eml" "$T/honey.eml"
    send honey -d ORIGINATING -q QHONEY -r bob@example.org
    expect "honeypot: one hidden link" equals \
        "$(grep -o 'style="display:none !important" aria-hidden="true" tabindex="-1"></a>' \
           "$T/honey.out" | wc -l)" 1
    tok=$(grep -o "<a href=\"$BASE/c/[A-Za-z0-9_-]*\" style=\"display:none" "$T/honey.out" |
          sed "s#.*/c/##; s#\".*##")
    expect "honeypot: its token has link index 65535" equals "$(token_field "$tok" link_index)" 65535
    expect "honeypot: real links still tracked" equals "$(tokens c "$T/honey.out" | wc -l)" 4
    mv "$T/pb.conf.saved" "$T/pb.conf"
}

test_sigterm() {
    local rc
    kill -TERM "$MILTER_PID"
    wait "$MILTER_PID"
    rc=$?
    MILTER_PID=
    expect "SIGTERM: exit status 0" equals "$rc" 0
    expect "SIGTERM: pidfile removed" test ! -e "$T/milter.pid"
    expect "SIGTERM: socket removed" test ! -e "$T/milter.sock"
    expect "SIGTERM: log says stopping" log_has "stopping"
}

test_background() {
    local pid
    sed -e "s#$T/milter.pid#$T/bg.pid#" "$T/pb.conf" | grep -v sometimes >"$T/bg.conf"
    "$MILTER" -c "$T/bg.conf" -p "unix:$T/bg.sock"
    expect "background: the starting process exits 0 once ready" equals "$?" 0
    expect "background: listens on the -p socket" test -S "$T/bg.sock"
    expect "background: ... not on milter.socket" test ! -e "$T/milter.sock"
    pid=$(cat "$T/bg.pid" 2>/dev/null)
    expect "background: pidfile names a live process" kill -0 "${pid:-0}"
    "$MILTER" -c "$T/bg.conf" -p "unix:$T/bg2.sock" 2>"$T/bg-twice.out"
    expect "background: a second instance is refused" has "already running as pid $pid" \
        "$T/bg-twice.out"
    sed -e "s#$T/bg.pid#$T/bg3.pid#" "$T/bg.conf" >"$T/bg3.conf"
    "$MILTER" -f -c "$T/bg3.conf" -p "unix:$T/bg.sock" 2>"$T/bg-socket.out"
    expect "socket in use: refused with exit 1" equals "$?" 1
    expect "socket in use: says so" has_fixed "another milter is already listening on $T/bg.sock" \
        "$T/bg-socket.out"
    expect "socket in use: the running milter keeps its socket" test -S "$T/bg.sock"
    kill -TERM "$pid"
    expect "background: SIGTERM stops it" wait_for 10 test ! -e "/proc/$pid"
    expect "background: pidfile removed" test ! -e "$T/bg.pid"
}

test_privileges() {
    local uid pid
    if [ "$(id -u)" != 0 ] || ! uid=$(id -u nobody 2>/dev/null); then
        echo "# not root or no user nobody: privilege drop not tested"
        return
    fi
    mkdir "$T/priv" && chown nobody "$T/priv" && chmod 755 "$T"
    sed -e "s#unix:$T/milter.sock#unix:$T/priv/milter.sock#" \
        -e "s#$T/milter.pid#$T/priv/milter.pid#" -e "s#$T/milter.journal#$T/priv/journal#" \
        -e 's#user = "";#user = "nobody"; socket_mode = "0660";#' "$T/pb.conf" \
        | grep -v sometimes >"$T/priv.conf"
    "$MILTER" -c "$T/priv.conf" 2>"$T/priv.out"
    expect "root: started with user nobody" equals "$?" 0
    pid=$(cat "$T/priv/milter.pid" 2>/dev/null)
    expect "root: runs as nobody" equals "$(awk '/^Uid:/ { print $2 $3 $4 $5 }' \
        "/proc/${pid:-0}/status" 2>/dev/null)" "$uid$uid$uid$uid"
    expect "root: socket owned by nobody, mode 660" equals \
        "$(stat -c '%U %a' "$T/priv/milter.sock" 2>/dev/null)" "nobody 660"
    "$CLIENT" -s "unix:$T/priv/milter.sock" -i "$T/campaign.eml" -o "$T/priv.out" \
        -d ORIGINATING -q QPRIV -r bob@example.org >"$T/priv.actions" 2>&1
    expect "root: mail rewritten after dropping privileges" has "^replbody" "$T/priv.actions"
    kill -TERM "${pid:-0}"
    expect "root: stops on SIGTERM and removes its pidfile" wait_for 10 \
        test ! -e "$T/priv/milter.pid"
}

# ---- run --------------------------------------------------------------------------------
write_keys "$T/keys"
write_conf "$T/pb.conf" '    exclude_recipient_domains = [ "example.net" ];'
make_messages
test_command_line
test_check_mode
start_redis
start_milter
test_campaign
test_passing
test_left_alone
test_selection
test_miltertest
test_large_body
test_redis_down
test_reload
test_honeypot
test_sigterm
test_background
test_privileges

if [ "$failed" -gt 0 ]; then
    echo "---- milter log"
    tail -n 40 "$T/milter.log"
fi
tap_finish
