#!/bin/bash
# e2e_check.sh - the checks of tests/lib/e2e_check.py (used by
# tests/e2e_postfix.sh and scripts/demo.sh) on the real-world shapes of
# mail in tests/data/mail: a single HTML or text part, text without a
# charset, lines that start with "--" but are not a boundary, links in an
# attached message and an attached file. Each message goes through
# postbeacon-milter (tests/milter-client as the MTA; no Redis: the milter
# journals its records) and comes back in an smtp-sink dump, as in the
# end-to-end test. Checks that e2e_check.py passes the milter's real
# output, with the number of links each part has, and that it fails when
# the output is wrong: not rewritten, a tracked link put back, a link in
# the attached message or in the preamble changed; and that its links
# command lists each click link with what its token carries, "-" for one
# that does not verify.
#
# Run by `make check` (top_builddir and top_srcdir in the environment).
# Exit 77 (skip) when openssl or python3 is missing.
set -u

top_builddir=${top_builddir:-$(pwd)}
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/.." && pwd)}
MILTER=$top_builddir/milter/postbeacon-milter
CLIENT=$top_builddir/tests/milter-client
TOKEN=$top_builddir/tests/token-tool
CHECK=$top_srcdir/tests/lib/e2e_check.py
data=$top_srcdir/tests/data/mail
BASE=https://t.example.net

for prog in openssl python3; do
    command -v "$prog" >/dev/null 2>&1 || { echo "SKIP: $prog is not installed"; exit 77; }
done
for bin in "$MILTER" "$CLIENT" "$TOKEN"; do
    [ -x "$bin" ] || { echo "ERROR: $bin not built"; exit 99; }
done

. "$top_srcdir/tests/lib/tap.sh"      # ok, not_ok, expect, equals, contains, wait_for

T=$(mktemp -d "${TMPDIR:-/tmp}/pbcheck.XXXXXX") || exit 99
MILTER_PID=''
cleanup() {
    [ -n "$MILTER_PID" ] && kill "$MILTER_PID" 2>/dev/null && wait "$MILTER_PID" 2>/dev/null
    if [ -n "${PB_KEEP:-}" ]; then echo "kept $T"; else rm -rf "$T"; fi
}
trap cleanup EXIT

# ---- the milter, without Redis ---------------------------------------------------
(umask 077 && printf '1 %s\ncontact %s\n' "$(openssl rand -hex 32)" \
    "$(openssl rand -hex 32)" >"$T/keys")
cat >"$T/pb.conf" <<EOF
tracking = { base_url = "$BASE"; };
keys = { file = "$T/keys"; };
redis = { socket = "$T/no-redis.sock"; journal = "$T/milter.journal"; timeout_ms = 200; };
utm = { domains = [ "example.com" ]; };
milter = {
    socket = "unix:$T/milter.sock";
    user = "";
    pidfile = "$T/milter.pid";
    daemon_names = [ "ORIGINATING" ];
    campaign_header = "X-Campaign";
};
EOF
"$MILTER" -f -c "$T/pb.conf" 2>>"$T/milter.log" &
MILTER_PID=$!
wait_for 10 test -S "$T/milter.sock" || { cat "$T/milter.log"; echo "ERROR: no milter"; exit 99; }

# through NAME: tests/data/mail/NAME.eml through the milter, into an
# smtp-sink dump $T/NAME.dump (smtp-sink's lines and Postfix's Received
# header first, an empty line at the end, as e2e_check.py strips them).
through() {
    "$CLIENT" -s "unix:$T/milter.sock" -i "$data/$1.eml" -o "$T/$1.out" -d ORIGINATING \
        -f news@example.com -r reader@example.org >"$T/$1.actions" 2>&1 || return 1
    dump "$T/$1.out" >"$T/$1.dump"
}
dump() {
    printf 'X-Client-Addr: 127.0.0.1\nX-Rcpt-Args: <reader@example.org>\n'
    printf 'Received: from test ([127.0.0.1])\n\tby smtp-sink (smtp-sink) with ESMTP id 1;\n'
    printf '\tMon, 23 Mar 2026 10:00:01 +0000 (UTC)\n'
    printf 'Received: from client.example.org (unknown [127.0.0.1])\n'
    printf '\tby test.localdomain (Postfix) with ESMTP id 2\n\tfor <reader@example.org>;'
    printf ' Mon, 23 Mar 2026 10:00:01 +0000 (UTC)\n'
    cat "$1"
    printf '\n'
}
# e2e NAME DUMP [ARGS]: e2e_check.py newsletter on the original and DUMP;
# its output in $T/check.out, its exit status returned.
e2e() {
    local name=$1 dump=$2
    shift 2
    python3 "$CHECK" newsletter "$data/$name.eml" "$dump" --keys "$T/keys" --tool "$TOKEN" \
        --base "$BASE" --campaign spring-sale --rcpt reader@example.org \
        --utm-domain example.com "$@" >"$T/check.out" 2>&1
}
show_check() { sed 's/^/#   /' "$T/check.out"; }
# passes NAME LINE...: e2e_check.py passes the milter's output of NAME,
# printing each LINE among its "ok" lines.
passes() {
    local name=$1 line good=1
    shift
    e2e "$name" "$T/$name.dump" || good=0
    grep -q '^not ok\|Traceback' "$T/check.out" && good=0
    for line in "$@"; do
        grep -qxF "ok - $line" "$T/check.out" || { echo "#   no line \"ok - $line\""; good=0; }
    done
    [ "$good" = 1 ] || show_check
    [ "$good" = 1 ]
}
# fails NAME DUMP WHAT: e2e_check.py exits 1 on DUMP with "not ok - WHAT..."
fails() {
    e2e "$1" "$2"
    local rc=$?
    [ "$rc" = 1 ] && grep -q "^not ok - $3" "$T/check.out" && ! grep -q Traceback "$T/check.out" \
        && return 0
    echo "#   exit status $rc"
    show_check
    return 1
}
# edit NAME FROM TO: a copy of NAME's dump with the first FROM made TO.
edit() {
    python3 -c 'import sys; d = open(sys.argv[1], "rb").read(); f = sys.argv[2].encode()
assert f in d, f; sys.stdout.buffer.write(d.replace(f, sys.argv[3].encode(), 1))' \
        "$T/$1.dump" "$2" "$3" >"$T/$1.edited"
}

for name in single-html single-text alternative-dashes attached-message; do
    expect "$name goes through the milter" through "$name"
done

# ---- the milter's output passes, link by link -------------------------------------------
expect "a single text/html part without a charset passes" passes single-html \
    "the parts to rewrite (html) are there" "html: 2 links rewritten through $BASE/c/" \
    "html: pixel right after <body>" "html: left alone: https://www.example.com/unsubscribe?u=1" \
    "MIME structure, part headers and the 0 parts not rewritten unchanged"
expect "a single text/plain part with lines that start with -- passes" passes single-text \
    "the parts to rewrite (text) are there" "text: 3 links rewritten through $BASE/c/"
expect "text without a charset and lines like the boundary pass" passes alternative-dashes \
    "the parts to rewrite (text html) are there" "text: 2 links rewritten through $BASE/c/" \
    "html: 2 links rewritten through $BASE/c/" "html: open token verifies"
expect "links in an attached message and an attached file are not counted as to rewrite" \
    passes attached-message "the parts to rewrite (text html) are there" \
    "text: 1 links rewritten through $BASE/c/" "html: 1 links rewritten through $BASE/c/" \
    "MIME structure, part headers and the 3 parts not rewritten unchanged"
for name in single-html alternative-dashes attached-message; do
    python3 "$CHECK" show "$data/$name.eml" "$T/$name.dump" --keys "$T/keys" --tool "$TOKEN" \
        --base "$BASE" >"$T/show.out" 2>&1
    expect "show describes $name" \
        grep -q '^text/html part: [1-9] links now go through' "$T/show.out"
    python3 "$CHECK" tracked "$T/$name.dump" --keys "$T/keys" --tool "$TOKEN" --base "$BASE" \
        >"$T/tracked.out" 2>&1
    expect "tracked finds its click links" \
        grep -qx "ok - delivered message carries click links that verify" "$T/tracked.out"
done

# ---- and wrong output fails --------------------------------------------------------------
dump "$data/single-html.eml" >"$T/unchanged.dump"
expect "a message that was not rewritten fails" fails single-html "$T/unchanged.dump" \
    "List-Unsubscribe: <$BASE/u/<token>>"
expect "... also its links" grep -q "^not ok - html: 2 links rewritten" "$T/check.out"
tracked_url=$(grep -o "$BASE/c/[A-Za-z0-9_-]*" "$T/single-text.dump" | head -n 1)
edit single-text "$tracked_url" https://www.example.com/spring
expect "a tracked link put back fails" fails single-text "$T/single-text.edited" \
    "text: 3 links rewritten"
edit attached-message https://www.example.com/inside/html "$BASE/c/inside"
expect "a link changed in the attached message fails" fails attached-message \
    "$T/attached-message.edited" "MIME structure, part headers and the 3 parts not rewritten"
edit attached-message https://www.example.com/attached-file https://www.example.com/other
expect "a link changed in the attached file fails" fails attached-message \
    "$T/attached-message.edited" "MIME structure"
edit alternative-dashes https://www.example.com/preamble https://www.example.com/other
expect "a link changed in the preamble fails" fails alternative-dashes \
    "$T/alternative-dashes.edited" "MIME structure"
# ---- links: each click link with what its token carries -------------------------------
links() { python3 "$CHECK" links "$1" --keys "$T/keys" --tool "$TOKEN" --base "$BASE" >"$T/links.out" 2>&1; }
contact=$("$TOKEN" contact "$T/keys" reader@example.org)
links "$T/single-html.dump"; st=$?
expect "links lists both click links of single-html: target (UTM for example.com), campaign, contact" \
    equals "$st $(cut -f2,3,4 "$T/links.out" | tr '\t\n' '  ')" \
    "0 https://www.example.com/spring?id=1&ref=mail&utm_source=newsletter&utm_medium=email&utm_campaign=spring-sale&utm_content=link-1 spring-sale $contact https://partner.example.org/offer spring-sale $contact "
expect "... each line starts with the link as it is in the message" \
    equals "$(cut -f1 "$T/links.out" | grep -oF -f - "$T/single-html.dump" | sort -u | wc -l)" 2
tracked_url=$(head -n 1 "$T/links.out" | cut -f1)
edit single-html "$tracked_url" "$BASE/c/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
links "$T/single-html.edited"; st=$?
expect "a link whose token does not verify: \"-\" fields, exit status 1" \
    equals "$st $(head -n 1 "$T/links.out" | cut -f2-)" "1 -	-	-	-	-	-"
tap_finish
