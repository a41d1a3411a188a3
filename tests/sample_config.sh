#!/bin/bash
# sample_config.sh - the shipped configuration (config/postbeacon.conf)
# and its templates (config/templates/) as an operator installs them: with
# only the paths of the key file, the bots file and the templates folder
# pointed at this tree, postbeacon-scorer -n accepts it (every rule,
# segment and workflow, the templates its steps send) and postbeacon
# config check accepts it (every program's part, every template of the
# folder). The workflows themselves are run in check_scorer_triggers.c.
#
# Run by `make check`. Exit 77 (skip) only when a tool cli-test.sh needs
# is missing.
set -u

top_builddir=${top_builddir:-$(pwd)}
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/.." && pwd)}
. "$top_srcdir/tests/lib/cli-test.sh"
ct_init pbsample
SCORER=$top_builddir/scorer/postbeacon-scorer

sed -e "s|dir = \"/etc/postbeacon/templates\"|dir = \"$top_srcdir/config/templates\"|" \
    -e "s|file = \"/etc/postbeacon/keys\"|file = \"$KEYS\"|" \
    -e "s|bots_file = \"/etc/postbeacon/bots.conf\"|bots_file = \"$top_srcdir/config/bots.conf\"|" \
    "$top_srcdir/config/postbeacon.conf" >"$CONF"
expect "the three paths were replaced" equals "$(grep -c "$top_srcdir\|$KEYS" "$CONF")" 3
pb keys generate
expect "keys generate for the sample: exit 0" equals "$code" 0

out=$("$SCORER" -n -c "$CONF" 2>&1); st=$?
expect "postbeacon-scorer -n accepts the sample ($out)" equals "$st" 0
expect "-n counts its workflows: welcome, birthday, cart, the event's three, MQL handoff, reactivation" \
    contains "$out" "8 workflows)"
pb config check
expect "postbeacon config check accepts the sample ($out)" equals "$code" 0
expect "config check says OK" contains "$out" "configuration OK"

# every shipped template has a text and an HTML part and greets by first name
for f in "$top_srcdir"/config/templates/*.eml; do
    case $f in */mql-handoff.eml) continue ;; esac     # to sales, not to the contact
    expect "$(basename "$f"): text and HTML, {{first_name}}" bash -c \
        'grep -q "^Content-Type: multipart/alternative" "$1" && grep -q "^Content-Type: text/plain" "$1" &&
         grep -q "^Content-Type: text/html" "$1" && grep -q "{{first_name" "$1"' _ "$f"
done
tap_finish
