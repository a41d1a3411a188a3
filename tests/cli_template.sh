#!/bin/bash
# cli_template.sh - postbeacon template render against a private
# redis-server: a shipped template (config/templates/) rendered for a
# contact with umlauts in the name is a message with the contact's address
# in To (the name RFC 2047-encoded), the placeholders filled (also in the
# Subject), the campaign header named by milter.campaign_header with
# --campaign's value (default preview); the score decayed to now and the
# grade; --set values; --subject (a variant's subject); a template by path;
# {{unsubscribe_url}} is the milter's placeholder <tracking>/u/-, with a
# note saying so (--set gives another); a bad template is exit 1 with
# its file:line; an unknown contact or template exit 1; usage errors 2.
#
# Run by `make check`. Exit 77 (skip) only when redis-server, redis-cli,
# python3 or openssl is missing.
set -u

top_builddir=${top_builddir:-$(pwd)}
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/.." && pwd)}
. "$top_srcdir/tests/lib/cli-test.sh"
CT_CONF_EXTRA="templates = { dir = \"$top_srcdir/config/templates\"; };
submit = { from = \"Shop <news@example.com>\"; };"
ct_setup pbtemplate
printf 'email,first_name,last_name,city\njuergen@example.com,Jürgen,Müller,Köln\n' >"$T/c.csv"
"$PB" -c "$CONF" contacts import "$T/c.csv" >/dev/null || exit 99
ID=$(contact_of juergen@example.com)
now_ms=$(($(date +%s) * 1000))
# the message's header NAME decoded, or its text part with -text
mail() {
    printf '%s' "$out" | python3 -c "
import email, email.policy, sys
m = email.message_from_string(sys.stdin.read(), policy=email.policy.default)
if sys.argv[1] == '-text':
    print(m.get_body(('plain',)).get_content(), end='')
else:
    print(m[sys.argv[1]])" "$1"
}

# ---- a shipped template by name, in the default campaign -------------------------------
pb template render welcome-1.de juergen@example.com
expect "render: exit 0" equals "$code" 0
expect "render: To is the contact, with its name" equals "$(mail To)" "Jürgen Müller <juergen@example.com>"
expect "render: the name is RFC 2047 in the header" contains "$out" "<juergen@example.com>"
expect "render: the header block is ASCII" equals "$(printf '%s' "$out" | sed '/^$/q' | LC_ALL=C grep -c '[^ -~	]')" 0
expect "render: the Subject's placeholder" equals "$(mail Subject)" "Willkommen im Beispiel-Shop, Jürgen!"
expect "render: the text's placeholder" contains "$(mail -text)" "Hallo Jürgen,"
expect "render: {{unsubscribe_url}} is the milter's placeholder, not the template's default" \
    equals "$(mail -text | grep '^Abmelden')" "Abmelden: https://t.example.net/u/-"
expect "render: a note says the milter replaces it" contains "$out" \
    "note: {{unsubscribe_url}} is the placeholder https://t.example.net/u/- here; postbeacon-milter puts each message's own unsubscribe link in its place"
pb template render --set unsubscribe_url=https://shop.example.com/bye welcome-1.de Juergen@example.com
expect "render --set unsubscribe_url: that link, and no note" \
    equals "$(mail -text | grep '^Abmelden') $(printf '%s' "$out" | grep -c 'note: {{unsub')" \
    "Abmelden: https://shop.example.com/bye 0"
expect "render: the campaign header, preview by default" equals "$(mail X-Campaign)" "preview"
expect "render: the template's own From" equals "$(mail From)" "Beispiel-Shop <news@example.com>"
expect "render: a Message-ID" contains "$(mail Message-ID)" "@example.com>"

# ---- --campaign, --set, a path, score and grade -------------------------------------------
pb template render --campaign spring-sale --set event:cart_url=https://shop.example.com/cart/42 \
    "$top_srcdir/config/templates/cart-abandoned.en.eml" JUERGEN@example.com
expect "render by path: exit 0" equals "$code" 0
expect "render --campaign: the header" equals "$(mail X-Campaign)" "spring-sale"
expect "render --set: an event property" contains "$(mail -text)" "https://shop.example.com/cart/42"
expect "render: the address normalised" equals "$(mail To)" "Jürgen Müller <juergen@example.com>"
# 80 points 30 days ago with a half-life of 30 days: 40 now
rc HSET "pb:contact:$ID" score 80 score_at $((now_ms - 30 * 86400000)) grade B2 >/dev/null
pb template render --set segment=hot-leads mql-handoff.eml juergen@example.com
expect "render: the decayed score and the grade" contains "$(mail Subject)" "score 40 (B2)"
expect "render --set: a sender's value" contains "$(mail -text)" "marketing-qualified lead (hot-leads)"
expect "render: the contact's city" contains "$(mail -text)" "City:     Köln"
# the milter's header name when the configuration names another
printf 'milter = { campaign_header = "X-Mailing"; };\n' >>"$CONF"
pb template render --campaign autumn welcome-2.en juergen@example.com
expect "render: milter.campaign_header's name" equals "$(mail X-Mailing)/$(mail X-Campaign)" "autumn/None"
rc SADD pb:suppressed "$ID" >/dev/null
pb template render welcome-1.en juergen@example.com
expect "render of a suppressed contact: exit 0 with a note" equals "$code/$(printf '%s' "$out" | grep -c 'is suppressed')" "0/1"

# ---- --subject: an A/B variant's subject in place of the template's ---------------------------
pb template render --campaign offer:mail:a --subject "20 % off for you, {{first_name|friend}}" \
    welcome-1.en juergen@example.com
expect "render --subject: exit 0" equals "$code" 0
expect "render --subject: the Subject's placeholder" equals "$(mail Subject)" "20 % off for you, Jürgen"
expect "render --subject: the variant's campaign" equals "$(mail X-Mailing)" "offer:mail:a"
pb template render --subject "Hi {{nope}}" welcome-1.en juergen@example.com
expect "render --subject with an unknown placeholder: exit 1" equals "$code" 1
expect "render --subject: the placeholder named" contains "$out" "--subject: {{nope}}: unknown placeholder"

# ---- errors ------------------------------------------------------------------------------------
printf 'From: Shop <news@example.com>\nSubject: Hello\nContent-Type: text/plain; charset=utf-8\n\nHello {{frist_name}}\n' >"$T/bad.eml"
pb template render "$T/bad.eml" juergen@example.com
expect "a bad template: exit 1" equals "$code" 1
expect "a bad template: file:line and what" contains "$out" "$T/bad.eml:5:"
expect "a bad template: the placeholder" contains "$out" "{{frist_name}}: unknown placeholder"
pb template render welcome-1.de nobody@example.com
expect "an unknown contact: exit 1" equals "$code" 1
expect "an unknown contact: says so" contains "$out" "no contact nobody@example.com"
pb template render no-such-template juergen@example.com
expect "an unknown template: exit 1, names the file" equals "$code/$(printf '%s' "$out" | grep -c 'templates/no-such-template.eml: cannot read')" "1/1"
pb template render --campaign "" welcome-1.de juergen@example.com
expect "an empty campaign: exit 1" equals "$code" 1
pb template render welcome-1.de
expect "render without an address: exit 2" equals "$code" 2
pb template render --set novalue welcome-1.de juergen@example.com
expect "render --set without =: exit 2" equals "$code" 2
pb template render --json welcome-1.de juergen@example.com
expect "render --json: exit 2 (no table)" equals "$code" 2
pb template
expect "template without a subcommand: exit 2" equals "$code" 2
pb template render --help
expect "render --help: exit 0" equals "$code" 0
tap_finish
