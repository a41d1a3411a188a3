#!/bin/bash
# submit_postfix.sh - follow-up mail end to end through a real, private
# Postfix with postbeacon-milter: a template (config/templates/) rendered
# for a contact by lib/template.c and submitted by lib/submit.c, over SMTP
# to Postfix's smtpd and through the sendmail-style command, arrives at
# smtp-sink tracked: the campaign header (workflow:step:variant) is what
# makes it marketing mail (its From is not in milter.senders), its links
# are click-tracking links that verify, the header is gone, Redis records
# the send under that campaign. A 5xx from Postfix is permanent.
# Needs root, postfix, smtp-sink and redis-server: skipped (77) without.
set -u

top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/.." && pwd)}
top_builddir=${top_builddir:-$(pwd)}
lib=$top_srcdir/tests/lib
tool=$top_builddir/tests/token-tool
render=$top_builddir/tests/template-tool
templates=$top_srcdir/config/templates

# shellcheck source=lib/private-postfix.sh
. "$lib/private-postfix.sh"
# shellcheck source=lib/postbeacon-env.sh
. "$lib/postbeacon-env.sh"

pb_skip_unless_postfix
. "$lib/tap.sh"
[ -x "$render" ] && [ -x "$tool" ] || { not_ok "template-tool and token-tool built"; tap_finish; }

pb_env_init "$top_builddir"
pb_keys_write
pb_conf_write '"example.com"'
pb_milter_postfix_start

# ---- over SMTP to smtpd (ORIGINATING, so the milter takes it as outgoing) ----
rcpt=juergen@example.org
out=$("$render" -s "127.0.0.1:$PF_PORT" "$templates/event-invitation.de.eml" "$rcpt" \
    event:invite:b first_name=Jürgen last_name=Müller 2>&1)
expect "template-tool submitted over SMTP ($out)" contains "$out" "ok "
expect "smtp-sink received it" pf_wait_delivered 1 30
dump=$(pf_dump_for "$rcpt")
if [ -n "$dump" ]; then
    python3 "$lib/e2e_check.py" tracked "$dump" --keys "$PB_KEYS" --tool "$tool" \
        --base "$PB_BASE_URL" >"$PB_DIR/check.out" 2>&1
    st=$?
    cat "$PB_DIR/check.out"
    expect "its links are click-tracking links that verify (e2e_check.py tracked)" [ $st = 0 ]
    expect "the campaign header is removed" bash -c '! grep -qi "^X-Campaign:" "$1"' _ "$dump"
    expect "List-Unsubscribe was added" grep -qi "^List-Unsubscribe:" "$dump"
    expect "the To name (Jürgen Müller) arrives RFC 2047-encoded" grep -q "^To: =?UTF-8?" "$dump"
    expect "the header block is ASCII" python3 -c 'import sys
h = open(sys.argv[1], "rb").read().split(b"\n\n", 1)[0]
sys.exit(0 if max(h) < 0x80 else 1)' "$dump"
else
    not_ok "the message for $rcpt is in smtp-sink's dump"
fi
expect "Redis counts the send under campaign event:invite:b" \
    wait_for 10 bash -c '[ "$(redis-cli -s "$1" --raw HGET "pb:campaign:event:invite:b" sent)" = 1 ]' \
    _ "$PB_REDIS_SOCK"

# ---- a permanent refusal: Postfix rejects an unknown recipient domain --------
out=$("$render" -s "127.0.0.1:$PF_PORT" "$templates/welcome-2.en.eml" "x@-bad-.invalid" \
    welcome:2 2>&1)
st=$?
expect "a recipient smtpd refuses (5xx) is a permanent failure ($out)" \
    bash -c '[ "$1" = 1 ] && [ "${2#permanent: }" != "$2" ]' _ "$st" "$out"

# ---- through a command (the sendmail-style way), here an SMTP client ----------
# The default command needs the system Postfix; any command that reads the
# message on stdin will do: python's smtplib stands in for sendmail -t.
cat >"$PB_DIR/smtp-send" <<PY
#!/usr/bin/python3
import smtplib, sys
smtplib.SMTP("127.0.0.1", $PF_PORT).sendmail(sys.argv[1], [sys.argv[2]], sys.stdin.buffer.read())
PY
chmod +x "$PB_DIR/smtp-send"
rcpt2=anna@example.org
out=$("$render" -c "$PB_DIR/smtp-send \${sender} \${recipient}" \
    "$templates/welcome-1.en.eml" "$rcpt2" welcome:1 first_name=Anna 2>&1)
expect "template-tool submitted through the command ($out)" contains "$out" "ok "
expect "smtp-sink received the second message" pf_wait_delivered 2 30
expect "it is tracked too (campaign welcome:1 in Redis)" \
    wait_for 10 bash -c '[ "$(redis-cli -s "$1" --raw HGET "pb:campaign:welcome:1" sent)" = 1 ]' \
    _ "$PB_REDIS_SOCK"
[ "$failed" -gt 0 ] && pb_show_logs 20
tap_finish
