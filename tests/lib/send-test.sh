# send-test.sh - what the tests of `postbeacon send` (tests/cli_send*.sh)
# share, sourced after cli-test.sh: a configuration whose submission is
# tests/lib/capture-submit.sh (each message kept in a folder), a mail
# template written by the test, contacts imported and put into their
# segments by postbeacon-scorer --once (the real path), and the captured
# messages read back.
#
#   st_conf FILE DIR PAUSE [RATE]   FILE: a configuration like $CONF submitting into DIR,
#                                   each submission PAUSE s long, submit.rate RATE (0)
#   st_setup TAG                    ct_init, $CONF, redis, a fixed key file, templates in
#                                   $T/templates, $MAIL=$T/mail
#   st_people N                     contacts u01..uN@example.com (first name Name01...,
#                                   tag news; u01..u10 also vip), segments filled
#   scorer                          postbeacon-scorer --once with $CONF (output in $sout)
#   mails DIR [CAMPAIGN]            one line per captured message, in order:
#                                   to|campaign|subject|first body line
#   addresses DIR [CAMPAIGN]        the recipients, sorted, one a line (repeats kept)
#   field CAMPAIGN FIELD            a field of the send record pb:send:CAMPAIGN

SCORER=$top_builddir/scorer/postbeacon-scorer
CAPTURE=$top_srcdir/tests/lib/capture-submit.sh

st_conf() {
    mkdir -p "$2"
    local keep=$CONF
    CONF=$1
    CT_CONF_EXTRA="templates = { dir = \"$T/templates\"; };
submit = { command = \"$CAPTURE $2 0 $3 -f \${sender} -- \${recipient}\"; rate = ${4:-0}; };"
    ct_write_conf
    CONF=$keep
}

st_setup() {
    ct_init "$1"
    CT_SCORER="user = \"\"; consumer = \"t\"; block_ms = 100; pidfile = \"$T/scorer.pid\";
  rules = ( { name = \"click\"; event = \"click\"; points = 5; } );
  segments = ( { name = \"news\"; tag = \"news\"; }, { name = \"vip\"; tag = \"vip\"; },
               { name = \"empty\"; tag = \"nobody\"; } );"
    MAIL=$T/mail
    st_conf "$CONF" "$MAIL" 0
    ct_start_redis
    # a fixed contact key: the contact ids, hence the A/B split, are the same every run
    (umask 077 && printf '# postbeacon test keys\ncontact %s\n1 %s\n' \
        5be1a7c0c4a4b9d2e6f1083c7d2a95e4b61f0d8c3a7e2b9146d5c0f8e3a1b7d2 \
        0f2c4e6a8b1d3f5a7c9e0b2d4f6a8c1e3b5d7f9a0c2e4b6d8f1a3c5e7b9d0f2a >"$KEYS") || exit 99
    mkdir -p "$T/templates"
    printf 'From: Shop <news@example.com>\nSubject: News for {{first_name|you}}\nContent-Type: text/plain; charset=utf-8\n\nHello {{first_name|there}} from {{city|nowhere}}.\n' \
        >"$T/templates/news.eml"
    printf 'From: Shop <news@example.com>\nSubject: Other news, {{first_name}}\nContent-Type: text/plain; charset=utf-8\n\nOther text for {{first_name}}.\n' \
        >"$T/templates/other.eml"
}

scorer() { sout=$("$SCORER" -c "$CONF" --once 2>&1); }

st_people() {
    python3 -c "
import csv, sys
w = csv.writer(sys.stdout, lineterminator='\n')
w.writerow(['email', 'first_name', 'city', 'tags'])
for i in range(1, $1 + 1):
    w.writerow(['u%02d@example.com' % i, 'Name%02d' % i, 'City%02d' % i, 'news,vip' if i <= 10 else 'news'])
" >"$T/people.csv"
    "$PB" -c "$CONF" contacts import "$T/people.csv" >/dev/null || exit 99
    scorer || { echo "$sout"; exit 99; }
}

mails() {
    python3 - "$@" <<'PY'
import email, email.policy, glob, os, re, sys
d, want = sys.argv[1], sys.argv[2] if len(sys.argv) > 2 else None
files = sorted(glob.glob(os.path.join(d, '*.eml')), key=lambda f: int(re.sub(r'\D', '', os.path.basename(f))))
for f in files:
    m = email.message_from_binary_file(open(f, 'rb'), policy=email.policy.default)
    c = str(m['X-Campaign'])
    if want and c != want and not c.startswith(want + ':'):
        continue
    body = m.get_body(('plain',)).get_content().splitlines()[0]
    print('%s|%s|%s|%s' % (m['To'].addresses[0].addr_spec, c, m['Subject'], body))
PY
}
addresses() { mails "$@" | cut -d'|' -f1 | sort; }
field() { rc HGET "pb:send:$1" "$2"; }
