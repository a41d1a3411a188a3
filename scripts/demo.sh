#!/bin/bash
# demo.sh - postbeacon's main job, shown end to end on one machine: a
# newsletter goes through a real (private) Postfix with postbeacon-milter
# and comes out with tracked, UTM-tagged links, an open pixel and one-click
# List-Unsubscribe; a normal mail goes through untouched; Redis holds the
# send record and the `sent` event. Then the reader "opens" the newsletter
# and clicks two of its links, served by a private postbeacon-tracker:
# the redirects, the events in the stream and the campaign's counters.
#
#   scripts/demo.sh               # as root; fresh Debian 12: installs what is missing, builds
#   PF_KEEP=1 scripts/demo.sh     # keep the temporary directories to look around
#
# What apt and the build print goes to a log file
# (postbeacon-demo.XXXXXX/install.log in $TMPDIR or /tmp, named on the terminal and
# kept); the terminal shows the demo's own story, and the end of the log
# if a step fails.
#
# Everything runs in temporary directories on loopback: its own Redis (unix
# socket), its own Postfix instance (own main.cf, queue, log, a free port),
# an smtp-sink that stands in for the Internet. The system Postfix and
# Redis are not touched, and everything is stopped at the end.
set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
build=${top_builddir:-$top/build}
lib=$top/tests/lib
data=$top/tests/data/e2e

if [ -t 1 ]; then
    say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
else
    say() { printf '\n== %s\n' "$*"; }
fi
indent() { sed 's/^/    /'; }

[ "$(id -u)" = 0 ] || { echo "demo.sh: run as root (it starts a private Postfix)" >&2; exit 1; }

say "Installing missing Debian packages and building (once)"
log=$(mktemp -d "${TMPDIR:-/tmp}/postbeacon-demo.XXXXXX")/install.log
# step WHAT COMMAND...: COMMAND's output into $log; when it fails, the end of the log.
step() {
    local what=$1
    shift
    echo "$what (log: $log)" | indent
    echo "== $what: $*" >>"$log"
    "$@" >>"$log" 2>&1 && return 0
    echo "demo.sh: $what failed; the end of $log:" >&2
    tail -n 30 "$log" >&2
    exit 1
}
step "installing packages" "$top/scripts/install-deps.sh"
if [ ! -x "$build/milter/postbeacon-milter" ]; then
    step "building in $build" "$top/scripts/build.sh" "$build"
fi
step "building the milter, the tracker and token-tool" \
    make -C "$build" -s milter/postbeacon-milter tracker/postbeacon-tracker tests/token-tool

. "$lib/private-postfix.sh"
. "$lib/postbeacon-env.sh"
tool=$build/tests/token-tool
tracker=$build/tracker/postbeacon-tracker

say "Starting a private Redis, postbeacon-milter, postbeacon-tracker and Postfix"
pb_env_init "$build"
pb_tracker_ports                 # the milter's links point at the private tracker
pb_keys_write
pb_conf_write '"example.com"'
# The demo clicks within a second of the send: not a link scanner here.
pb_tracker_conf_write "$PB_TRACKER_PORT" "$PB_ADMIN_PORT" "machine_click_seconds = 0;"
"$(pb_milter_bin)" -n -c "$PB_CONF" | indent
"$tracker" -n -c "$PB_CONF" | indent
pb_milter_postfix_start
pb_tracker_start
cat <<EOF | indent
Redis             unix socket $PB_REDIS_SOCK
postbeacon-milter $PB_MILTER_ADDR  (config $PB_CONF)
postbeacon-tracker $PB_BASE_URL (the tracking domain; /healthz, /metrics on 127.0.0.1:$PB_ADMIN_PORT)
Postfix           smtpd on 127.0.0.1:$PF_PORT, config in $PF_CONF,
                  relays everything to smtp-sink on 127.0.0.1:$PF_SINK_PORT
                  (stands in for the recipients' servers; it keeps each message)
Postfix main.cf (milter part):
$(postconf -c "$PF_CONF" -n smtpd_milters non_smtpd_milters milter_default_action \
    milter_protocol | sed 's/^/  /')
Postfix master.cf: the smtpd service passes -o milter_macro_daemon_name=ORIGINATING,
  and the milter's daemon_names = [ "ORIGINATING" ]: its mail is outgoing.
Marketing mail is outgoing mail with an X-Campaign header (or from news@example.com).
EOF

say "Sending a newsletter (X-Campaign: spring-sale) and an ordinary mail"
newsletter=$PB_DIR/newsletter.eml
ordinary=$PB_DIR/ordinary.eml
python3 "$lib/newsletter.py" --from marketing@example.com --to reader@example.org \
    --campaign spring-sale --subject "Spring sale: 20% off" --message-id "<spring-1@example.com>" \
    --text "$data/welcome.txt" "$data/welcome.html" >"$newsletter"
cat >"$ordinary" <<'EOF'
From: Alice <alice@example.com>
To: Bob <bob@example.org>
Subject: Minutes of Monday's meeting
Date: Mon, 23 Mar 2026 11:00:00 +0000
Message-ID: <minutes-1@example.com>
MIME-Version: 1.0
Content-Type: text/plain; charset="utf-8"

Hi Bob, the minutes are at https://wiki.example.com/minutes/monday
Alice
EOF
echo "newsletter:    marketing@example.com -> reader@example.org, queued as" \
     "$(pf_send marketing@example.com reader@example.org "$newsletter")" | indent
echo "ordinary mail: alice@example.com -> bob@example.org, queued as" \
     "$(pf_send alice@example.com bob@example.org "$ordinary")" | indent
pf_wait_delivered 2 30

say "The newsletter as it left Postfix"
python3 "$lib/e2e_check.py" show "$newsletter" "$(pf_dump_for reader@example.org)" \
    --keys "$PB_KEYS" --tool "$tool" --base "$PB_BASE_URL" | indent
echo
echo "Header of the delivered message:" | indent
python3 "$lib/e2e_check.py" strip "$(pf_dump_for reader@example.org)" | sed '/^$/q' | cut -c1-150 \
    | indent | indent

say "Checking it (the same assertions as tests/e2e_postfix.sh)"
python3 "$lib/e2e_check.py" newsletter "$newsletter" "$(pf_dump_for reader@example.org)" \
    --keys "$PB_KEYS" --tool "$tool" --base "$PB_BASE_URL" --campaign spring-sale \
    --rcpt reader@example.org --utm-domain example.com >"$PB_DIR/check.out" || true
grep -v '^#' "$PB_DIR/check.out" | indent
msg_id=$(sed -n 's/^# msg_id=//p' "$PB_DIR/check.out")

say "The ordinary mail"
python3 "$lib/e2e_check.py" identical "$ordinary" "$(pf_dump_for bob@example.org)" \
    >"$PB_DIR/check-ordinary.out" || true
indent <"$PB_DIR/check-ordinary.out"

say "The reader opens the newsletter and clicks two links (curl against the tracker)"
UA='Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0'
python3 - "$(pf_dump_for reader@example.org)" "$PB_BASE_URL" >"$PB_DIR/urls" <<'PY'
import email, email.policy, re, sys
msg = email.message_from_binary_file(open(sys.argv[1], "rb"), policy=email.policy.default)
html = msg.get_body(("html",)).get_content()
base = re.escape(sys.argv[2])
pixel = re.search(base + r"/o/[A-Za-z0-9_-]+\.gif", html)
print(pixel.group(0) if pixel else "")
for url in re.findall(base + r"/c/[A-Za-z0-9_-]+", html)[:2]:
    print(url)
PY
{
    pixel=$(head -n 1 "$PB_DIR/urls")
    echo "open pixel  $(curl -s -A "$UA" -o /dev/null -w '%{http_code} %{content_type}, %{size_download} bytes' "$pixel")"
    tail -n +2 "$PB_DIR/urls" | while read -r url; do
        echo "click       ${url:0:60}..."
        echo "            -> $(curl -s -A "$UA" -o /dev/null -w '%{http_code} Location: %{redirect_url}' "$url")"
    done
} >"$PB_DIR/tracker.out"
indent <"$PB_DIR/tracker.out"

say "What Redis recorded (key prefix pb:)"
sleep 0.5
{
    echo "pb:msg:$msg_id  (send record)"
    pb_redis --raw HGETALL "pb:msg:$msg_id" | paste - - | indent
    echo "pb:contacts:by-email  (address -> opaque contact id used in the links)"
    pb_redis --raw HGETALL pb:contacts:by-email | paste - - | indent
    echo "pb:campaign:spring-sale"
    pb_redis --raw HGETALL pb:campaign:spring-sale | paste - - | indent
    echo "pb:campaign-links:spring-sale  (per link index: URL, clicks)"
    pb_redis --raw HGETALL pb:campaign-links:spring-sale | paste - - | cut -c1-150 | indent
    echo "pb:events  (the stream the scorer reads)"
    pb_redis --raw XRANGE pb:events - + | awk '
        /^[0-9]+-[0-9]+$/ { if (line) print line; line = $0 " "; key = ""; next }
        key == "" { key = $0; next }
        { line = line " " key "=" $0; key = "" }
        END { if (line) print line }' | cut -c1-230 | indent
} | indent

say "postbeacon-milter log"
cut -c1-200 "$PB_DIR/milter.log" | tail -n 10 | indent

say "postbeacon-tracker log"
cut -c1-200 "$PB_DIR/tracker.log" | tail -n 10 | indent

say "Stopping Redis, the milter, the tracker and Postfix; removing the temporary directories"
failed=$(cat "$PB_DIR/check.out" "$PB_DIR/check-ordinary.out" | grep -c '^not ok' || true)
grep -q '^open pixel  200 image/gif' "$PB_DIR/tracker.out" || failed=$((failed + 1))
[ "$(grep -c -- '-> 302 Location: https://' "$PB_DIR/tracker.out")" = 2 ] || failed=$((failed + 1))
if [ "$failed" -eq 0 ]; then
    echo "demo finished: the newsletter was tracked, the ordinary mail untouched, the open and clicks recorded."
else
    echo "demo finished with $failed failed check(s); see above." >&2
    exit 1
fi
