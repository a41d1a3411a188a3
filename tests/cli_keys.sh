#!/bin/bash
# cli_keys.sh - postbeacon keys generate|list|rotate|retire and config
# check, against files in a temporary directory (no Redis needed):
# the key file's mode (0600, or the mode it had) and contents after each
# change, no temporary file left behind, secrets never printed without
# --show-secrets, the signing key not retirable, file:line in errors, and
# the exit codes (0 ok, 1 error, 2 usage).
#
# Run by `make check`. Exit 77 (skip) only when openssl or python3 is missing.
set -u

top_builddir=${top_builddir:-$(pwd)}
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/.." && pwd)}
. "$top_srcdir/tests/lib/cli-test.sh"
ct_init pbkeys
ct_write_conf

mode() { stat -c %a "$1"; }
hex64='[0-9a-f]\{64\}'

# ---- generate ----------------------------------------------------------------
pb keys generate
expect "generate: exit 0" equals "$code" 0
expect "generate: mode 0600" equals "$(mode "$KEYS")" 600
expect "generate: one contact line" equals "$(grep -c "^contact $hex64\$" "$KEYS")" 1
expect "generate: key 1" equals "$(grep -c "^1 $hex64\$" "$KEYS")" 1
expect "generate: nothing else but comments" equals "$(grep -vc '^#' "$KEYS")" 2
secret1=$(sed -n 's/^1 //p' "$KEYS") contact=$(sed -n 's/^contact //p' "$KEYS")
expect "generate: no secret printed" lacks "$out" "$secret1"
before=$(md5sum <"$KEYS")
pb keys generate
expect "generate again: exit 1" equals "$code" 1
expect "generate again: says it exists" contains "$out" "exists already"
expect "generate again: the file is unchanged" equals "$(md5sum <"$KEYS")" "$before"

# ---- list ----------------------------------------------------------------------
pb keys list
expect "list: exit 0" equals "$code" 0
expect "list: key 1 signs" contains "$out" "signs, verifies"
expect "list: no secret" lacks "$out" "$secret1"
expect "list: no contact key" lacks "$out" "$contact"
pb keys list --show-secrets
expect "list --show-secrets: prints key 1's secret" contains "$out" "$secret1"
pb keys list --json
expect "list --json: valid JSON with the contact line's number" equals \
    "$(printf '%s' "$out" | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d[0]["id"], d[0]["line"], "secret" in d[0])')" \
    "contact $(grep -n '^contact' "$KEYS" | cut -d: -f1) False"
pb keys list --csv
expect "list --csv: a header line" contains "$out" "id,line,role,bits,fingerprint"

# ---- rotate -------------------------------------------------------------------------
old=$(cat "$KEYS")
pb keys rotate
expect "rotate: exit 0" equals "$code" 0
expect "rotate: names key 2" contains "$out" "added key 2"
expect "rotate: the old lines stay, in order" equals "$(head -n "$(printf '%s\n' "$old" | wc -l)" "$KEYS")" "$old"
expect "rotate: key 2 is the last line" equals "$(tail -1 "$KEYS" | grep -c "^2 $hex64\$")" 1
expect "rotate: mode 0600" equals "$(mode "$KEYS")" 600
expect "rotate: no temporary file left" equals "$(ls "$T" | grep -c tmp)" 0
pb keys list
expect "rotate: key 2 signs now" contains "$(printf '%s\n' "$out" | grep '^2 ')" "signs"
chmod 640 "$KEYS"
pb keys rotate --events
expect "rotate --events: exit 0" equals "$code" 0
expect "rotate --events: an events line" equals "$(grep -c "^events $hex64\$" "$KEYS")" 1
expect "rotate: keeps the file's mode 0640" equals "$(mode "$KEYS")" 640
chmod 600 "$KEYS"

# ---- retire -----------------------------------------------------------------------------
pb keys retire 2
expect "retire the signing key: exit 1" equals "$code" 1
expect "retire the signing key: names file and line" contains "$out" "$KEYS:$(grep -n '^2 ' "$KEYS" | cut -d: -f1): key 2 signs"
pb keys retire 1
expect "retire 1: exit 0" equals "$code" 0
expect "retire 1: its line is gone" equals "$(grep -c '^1 ' "$KEYS")" 0
expect "retire 1: key 2, contact and events stay" equals "$(grep -vc '^#' "$KEYS")" 3
expect "retire 1: the contact key is unchanged" equals "$(sed -n 's/^contact //p' "$KEYS")" "$contact"
expect "retire 1: mode 0600" equals "$(mode "$KEYS")" 600
pb keys retire 7
expect "retire an unknown id: exit 1" equals "$code" 1
pb keys retire x
expect "retire x: usage error, exit 2" equals "$code" 2
pb keys retire
expect "retire without an id: exit 2" equals "$code" 2
pb keys rotate --json
expect "rotate --json: exit 2 (no table)" equals "$code" 2
pb keys frobnicate
expect "unknown subcommand: exit 2" equals "$code" 2
pb keys list --help
expect "list --help: exit 0 with the usage" equals "$code:${out:0:30}" "0:usage: postbeacon keys list [-"

# ---- webhook secrets -----------------------------------------------------------------------
pb keys rotate --webhook crm
expect "rotate --webhook crm: exit 0, added" equals "$code/$(printf '%s' "$out" | grep -c 'added the webhook secret crm')" "0/1"
expect "rotate --webhook crm: a webhook line" equals "$(grep -c "^webhook crm $hex64\$" "$KEYS")" 1
hook1=$(sed -n 's/^webhook crm //p' "$KEYS") hookline=$(grep -n '^webhook crm' "$KEYS" | cut -d: -f1)
pb keys list
expect "list: the webhook secret, by name and role" contains "$(printf '%s\n' "$out" | grep '^webhook:crm ')" "signs webhooks"
expect "list: not its secret" lacks "$out" "$hook1"
pb keys rotate --webhook crm
expect "rotate --webhook crm again: replaced" equals "$code/$(printf '%s' "$out" | grep -c 'replaced the webhook secret crm')" "0/1"
expect "rotate --webhook crm again: still one line, in its place, a new secret" equals \
    "$(grep -c '^webhook crm' "$KEYS")/$(grep -n '^webhook crm' "$KEYS" | cut -d: -f1)/$([ "$(sed -n 's/^webhook crm //p' "$KEYS")" != "$hook1" ] && echo new)" "1/$hookline/new"
pb keys rotate --webhook erp
expect "rotate --webhook erp: a second name" equals "$(grep -c '^webhook ' "$KEYS")" 2
pb keys rotate --webhook 'Bad Name'
expect "rotate --webhook with a bad name: exit 2" equals "$code" 2
pb keys rotate --events --webhook crm
expect "rotate --events --webhook: exit 2" equals "$code" 2
pb keys retire --webhook erp
expect "retire --webhook erp: exit 0, its line gone" equals "$code/$(grep -c '^webhook erp' "$KEYS")" "0/0"
pb keys retire --webhook erp
expect "retire --webhook of an unknown name: exit 1" equals "$code" 1
printf 'webhook crm %s\n' "$hook1" >>"$KEYS"
pb keys list
expect "a second webhook crm line: exit 1, file and line" contains "$out" "$KEYS:$(wc -l <"$KEYS"): a second webhook crm (the first is on line $hookline)"
sed -i '$d' "$KEYS"

# ---- config check ------------------------------------------------------------------------
pb config check
expect "config check: exit 0" equals "$code" 0
expect "config check: says OK" contains "$out" "configuration OK"
expect "config check: counts the webhook secret" contains "$out" "1 webhook secret;"
# a webhook step naming a secret the key file lacks: config check and the scorer's -n say so
hook_wf() {
    CT_SCORER="workflows = ( { name = \"crm-sync\"; trigger = { signup = true; }; steps = ( { name = \"push\";
  webhook = \"https://crm.example.com/hooks/postbeacon\"; secret = \"$1\"; } ); } );" ct_write_conf
}
hook_wf erp
pb config check
expect "config check, a webhook secret missing: exit 1" equals "$code" 1
expect "config check, a webhook secret missing: file, line, step and the fix" contains "$out" \
    "$CONF:6: scorer.workflows[0] (\"crm-sync\").steps[0] (\"push\"): secret: no \"webhook erp\" line in $KEYS (add one: postbeacon keys rotate --webhook erp"
out=$("$top_builddir/scorer/postbeacon-scorer" -n -c "$CONF" 2>&1); code=$?
expect "postbeacon-scorer -n, a webhook secret missing: exit 1, the same message" equals \
    "$code/$(printf '%s' "$out" | grep -c "$CONF:6: .*secret: no \"webhook erp\" line")" "1/1"
hook_wf crm
pb config check
expect "config check, the webhook's secret there: exit 0" equals "$code" 0
out=$("$top_builddir/scorer/postbeacon-scorer" -n -c "$CONF" 2>&1); code=$?
expect "postbeacon-scorer -n, the webhook's secret there: exit 0" equals "$code" 0
ct_write_conf
echo "1 zz" >>"$KEYS"
pb config check
expect "config check, a bad key line: exit 1" equals "$code" 1
expect "config check, a bad key line: file and line" contains "$out" "$KEYS:$(wc -l <"$KEYS"):"
sed -i '$d' "$KEYS"
sed -i "s|bots_file = \"[^\"]*\"|bots_file = \"$T/none\"|" "$CONF"
sed -i "s|^scorer = .*|scorer = { half_life_days = 30; rules = ( { name = \"Bad Name\"; event = \"click\"; points = 5; } ); };|" "$CONF"
pb config check
expect "config check, two problems: exit 1" equals "$code" 1
expect "config check: the missing bots file is named" contains "$out" "$T/none"
expect "config check: the bad scoring rule is named too, with file and line" contains "$out" "$CONF:5: scorer.rules"
ct_write_conf
sed -i "s|^tracker = { user = \"\";|tracker = { user = \"\"; trusted_proxies = [ \"300.1.1.1/8\" ];|" "$CONF"
pb config check
expect "config check, a bad setting: exit 1, file and line" equals "$code:$(printf '%s' "$out" | grep -c "$CONF:4: tracker.trusted_proxies")" "1:1"
ct_write_conf
# the templates: every one in templates.dir must load, each problem named by file and line
mkdir "$T/tpl"
cp "$top_srcdir/config/templates/welcome-1.en.eml" "$T/tpl/"
printf 'templates = { dir = "%s"; };\nsubmit = { from = "Shop <news@example.com>"; };\n' "$T/tpl" >>"$CONF"
pb config check
expect "config check, good templates: exit 0" equals "$code" 0
printf 'Subject: Hi {{frist_name}}\n\nHello\n' >"$T/tpl/typo.eml"
pb config check
expect "config check, a template with an unknown placeholder: exit 1" equals "$code" 1
expect "config check: the template's file and line" contains "$out" "$T/tpl/typo.eml:1:"
ct_write_conf
# no Redis in this test: a command that needs it says so, once, and exits 1
printf 'email\nx@example.com\n' >"$T/one.csv"
pb contacts import "$T/one.csv"
expect "Redis unreachable: exit 1" equals "$code" 1
expect "Redis unreachable: one clear line naming the socket" equals \
    "$(printf '%s\n' "$out" | grep -c "cannot reach Redis at unix:$SOCK")/$(printf '%s\n' "$out" | wc -l)" "1/1"
"$PB" -c "$CONF" config check --bogus >/dev/null 2>&1
expect "config check --bogus: exit 2" equals "$?" 2
"$PB" -c "$T/missing.conf" config check >/dev/null 2>&1
expect "config check of a missing file: exit 1" equals "$?" 1
tap_finish
