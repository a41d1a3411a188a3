#!/bin/bash
# corpus_dir.sh - tests/check_corpus on a corpus folder of its own
# (PB_CORPUS_DIR): a few messages and an HTML body with its text twin,
# made in an order that is not their name order, one message in a
# subfolder. Checks that check_corpus passes on it, walks it in name order
# (into the subfolder in its place), and that one broken message (a file
# that cannot be read) fails the run, is reported by name, and does not
# stop the others from being checked.
#
# Run by `make check` (top_builddir and top_srcdir in the environment).
set -u

top_builddir=${top_builddir:-$(pwd)}
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/.." && pwd)}
CORPUS=$top_builddir/tests/check_corpus
data=$top_srcdir/tests/data/corpus
[ -x "$CORPUS" ] || { echo "ERROR: $CORPUS not built"; exit 99; }

. "$top_srcdir/tests/lib/tap.sh"      # ok, not_ok, expect, equals, contains

T=$(mktemp -d "${TMPDIR:-/tmp}/pbcorpus.XXXXXX") || exit 99
trap 'rm -rf "$T"' EXIT

# Made last-name-first, so that the order the folder lists them in is
# unlikely to be their name order.
mkdir -p "$T/dir/c-sub"
cp "$data/mime/mail-gem/plain_emails/raw_email_simple.eml" "$T/dir/f-plain.eml"
cp "$data/mime/mail-gem/mime_emails/raw_email2.eml" "$T/dir/e-multipart.eml"
cp "$data/mime/mail-gem/multipart_report_emails/report_422.eml" "$T/dir/d-report.eml"
cp "$data/mime/mail-gem/rfc2822/example01.eml" "$T/dir/c-sub/inner.eml"
cp "$data/html/postmark-templates/receipt/content.html" "$T/dir/b-letter.html"
cp "$data/html/postmark-templates/receipt/content.txt" "$T/dir/b-letter.txt"
cp "$data/mime/mail-gem/attachment_emails/attachment_only_email.eml" "$T/dir/a-attached.eml"
want_order="a-attached.eml c-sub/inner.eml d-report.eml e-multipart.eml f-plain.eml"

# run NAME: check_corpus on $T/dir, one line per message; output in $T/NAME.out.
run() {
    PB_CORPUS_DIR=$T/dir CORPUS_VERBOSE=1 CK_VERBOSITY=normal "$CORPUS" >"$T/$1.out" 2>&1
}
# The messages of the first test (as they are, not the CRLF copies), in
# the order they were checked.
checked() {
    sed -n '/^corpus messages/q; s/^[a-z]* *[-0-9]* links  \([^ ]*\)  .*/\1/p' "$T/$1.out" \
        | tr '\n' ' ' | sed 's/ $//'
}

# ---- a good folder --------------------------------------------------------------
run good
expect "check_corpus passes on a folder of its own" equals "$?" 0
expect "it checks the messages in name order, the subfolder's in its place" \
    equals "$(checked good)" "$want_order"
expect "the HTML body is wrapped and rewritten in all 8 variants" \
    equals "$(grep -c '^rewritten .* b-letter.html \[' "$T/good.out")" 8
expect "its text twin is its text part, not a message of its own" \
    bash -c '! grep -q "b-letter.txt" "$1"' _ "$T/good.out"
expect "the summary names the folder and counts its files" \
    contains "$(cat "$T/good.out")" "corpus messages ($T/dir): 5 files"

# ---- one broken message among them -------------------------------------------------
ln -s "$T/dir/missing.eml" "$T/dir/c-broken.eml"
run broken
rc=$?
expect "a broken message fails the run" [ "$rc" -ne 0 ]
expect "the broken message is reported by name" \
    grep -q "^FAIL c-broken.eml: cannot read $T/dir/c-broken.eml" "$T/broken.out"
expect "the test's failure names it too" \
    grep -q "corpus messages: 1 of [0-9]* messages failed" "$T/broken.out"
expect "the messages before and after it are still checked, in order" \
    equals "$(checked broken)" "$want_order"
expect "only the messages test failed" \
    grep -q "Checks: 3, Failures: 1, Errors: 0" "$T/broken.out"
if [ "$failed" -gt 0 ]; then
    sed 's/^/# /' "$T/broken.out" | head -n 40
fi
tap_finish
