# private-postfix.sh - a private, throw-away Postfix instance for tests,
# the demo and the benchmark (bash; source it, do not run it).
#
# Everything lives in one temporary directory: its own config_directory
# (main.cf + master.cf), queue_directory, data_directory and maillog_file.
# smtpd listens on 127.0.0.1:<free port> only and relays every message to
# an smtp-sink on another free loopback port. Local delivery is off, DNS is
# off, chroot is off. The system Postfix (/etc/postfix, /var/spool/postfix,
# port 25) is never written or started (only the package's own metadata,
# /etc/postfix/postfix-files and dynamicmaps.cf, is read), and several
# instances can run at once.
#
# Postfix and alternate configuration directories: alternate_config_directories
# (and multi_instance_directories) in the DEFAULT main.cf are only consulted
# by the set-gid commands postdrop(1) and postqueue(1) when they are run by
# an unprivileged user with -c / MAIL_CONFIG. This instance is run as root,
# mail enters through smtpd only (never sendmail/postdrop), so nothing in
# /etc/postfix has to be touched and /etc/postfix/main.cf may even be
# missing (Debian "No configuration").
#
# Usage (as root):
#   . tests/lib/private-postfix.sh
#   pf_init [MILTER]            # temp dir, ports, main.cf, master.cf; MILTER
#                               # is a Postfix milter address ("unix:/x.sock")
#                               # or empty for none
#   pf_sink_start dump|count    # smtp-sink on $PF_SINK_PORT (dump: one file
#                               # per message in $PF_SINK_DIR)
#   pf_start                    # postfix check + start
#   pf_send FROM TO FILE        # one message in through smtpd
#   pf_wait_delivered N [SECS]  # until the sink has N messages
#   pf_sink_messages            # dump files, oldest first
#   pf_dump_for ADDR / pf_dumps_for ADDR   # the first / every dump for a recipient
#   pf_set_milter MILTER        # change the milter and reload
#   pf_stop                     # (also done at exit)
# pf_at_exit CMD registers more clean-up (run in reverse order at exit,
# also on failure or interrupt). Set PF_KEEP=1 to keep the temp dir.

PF_ROOT='' PF_CONF='' PF_QUEUE='' PF_LOG='' PF_SINK_DIR='' PF_PORT='' PF_SINK_PORT=''
PF_SINK_PID='' PF_SINK_MODE='' PF_STARTED=''
PF_EXIT_CMDS=()

# ---- clean-up ---------------------------------------------------------------

pf_at_exit() {
    PF_EXIT_CMDS+=("$*")
}

pf_run_exit_cmds() {
    local i
    trap - EXIT INT TERM HUP
    for ((i = ${#PF_EXIT_CMDS[@]} - 1; i >= 0; i--)); do
        eval "${PF_EXIT_CMDS[i]}" >/dev/null 2>&1 || true
    done
    PF_EXIT_CMDS=()
}

trap 'pf_run_exit_cmds' EXIT
trap 'pf_run_exit_cmds; exit 130' INT
trap 'pf_run_exit_cmds; exit 143' TERM HUP

# ---- small helpers ------------------------------------------------------------

pf_die() {
    echo "private-postfix: $*" >&2
    exit 1
}

# A TCP port on 127.0.0.1 that nothing listens on right now.
pf_free_port() {
    python3 -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
s.close()'
}

# pf_wait_port PORT SECS: until something accepts on 127.0.0.1:PORT.
pf_wait_port() {
    python3 - "$1" "$2" <<'EOF'
import socket, sys, time
port, limit = int(sys.argv[1]), time.time() + float(sys.argv[2])
while time.time() < limit:
    try:
        socket.create_connection(("127.0.0.1", port), 0.5).close()
        sys.exit(0)
    except OSError:
        time.sleep(0.05)
sys.exit(1)
EOF
}

pf_have_postfix() {
    command -v postfix >/dev/null 2>&1 && command -v postconf >/dev/null 2>&1 \
        && command -v smtp-sink >/dev/null 2>&1 && getent passwd postfix >/dev/null 2>&1 \
        && getent group postdrop >/dev/null 2>&1
}

# ---- configuration --------------------------------------------------------------

pf_write_master_cf() {
    cat >"$PF_CONF/master.cf" <<EOF
# private test instance: smtpd on loopback only, nothing chrooted
127.0.0.1:$PF_PORT inet n - n - - smtpd
  -o milter_macro_daemon_name=ORIGINATING
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
EOF
}

pf_write_main_cf() {
    : >"$PF_CONF/main.cf"
    postconf -c "$PF_CONF" -e \
        "compatibility_level = 3.6" \
        "queue_directory = $PF_QUEUE" \
        "data_directory = $PF_ROOT/data" \
        "mail_owner = postfix" \
        "setgid_group = postdrop" \
        "myhostname = postbeacon-test.localdomain" \
        "mydomain = localdomain" \
        "myorigin = \$myhostname" \
        "inet_interfaces = loopback-only" \
        "inet_protocols = ipv4" \
        "mydestination =" \
        "local_transport = error:local delivery is disabled" \
        "local_recipient_maps =" \
        "alias_maps =" \
        "alias_database =" \
        "relay_domains =" \
        "mynetworks = 127.0.0.0/8" \
        "smtpd_relay_restrictions = permit_mynetworks, reject" \
        "relayhost = [127.0.0.1]:$PF_SINK_PORT" \
        "smtp_dns_support_level = disabled" \
        "smtp_tls_security_level = none" \
        "smtpd_tls_security_level = none" \
        "smtpd_peername_lookup = no" \
        "biff = no" \
        "maillog_file = $PF_LOG" \
        "maillog_file_prefixes = $PF_ROOT" \
        "syslog_name = postfix-pbtest" \
        "queue_run_delay = 5s" \
        "minimal_backoff_time = 5s" \
        "maximal_backoff_time = 10s" \
        "milter_default_action = accept" \
        "milter_protocol = 6" \
        >/dev/null || pf_die "postconf failed"
    pf_milter_settings "$1"
}

# Set (or clear) the milters of smtpd and of non-smtpd mail.
pf_milter_settings() {
    postconf -c "$PF_CONF" -e "smtpd_milters = $1" "non_smtpd_milters = $1" \
        >/dev/null || pf_die "postconf failed"
}

# pf_init [MILTER]: create the instance (not started yet).
pf_init() {
    pf_have_postfix || pf_die "postfix, smtp-sink or the postfix user is missing"
    [ "$(id -u)" = 0 ] || pf_die "must run as root (Postfix drops to mail_owner)"
    PF_ROOT=$(mktemp -d "${TMPDIR:-/tmp}/pb-postfix.XXXXXX") || pf_die "mktemp failed"
    # Postfix daemons run as postfix and must reach everything below.
    chmod 755 "$PF_ROOT"
    runuser -u postfix -- test -x "$PF_ROOT" \
        || pf_die "user postfix cannot reach $PF_ROOT; set TMPDIR to a world-searchable directory"
    pf_at_exit pf_cleanup
    PF_CONF=$PF_ROOT/etc
    PF_QUEUE=$PF_ROOT/spool
    PF_LOG=$PF_ROOT/maillog
    PF_SINK_DIR=$PF_ROOT/sink
    PF_PORT=$(pf_free_port)
    PF_SINK_PORT=$(pf_free_port)
    while [ "$PF_SINK_PORT" = "$PF_PORT" ]; do PF_SINK_PORT=$(pf_free_port); done
    mkdir -p "$PF_CONF" "$PF_QUEUE"
    install -d -o postfix -g postfix -m 700 "$PF_ROOT/data"
    install -d -o postfix -m 755 "$PF_SINK_DIR"
    pf_write_master_cf
    pf_write_main_cf "${1:-}"
    # Queue subdirectories with the owners and modes Postfix wants.
    postfix -c "$PF_CONF" post-install create-missing >>"$PF_ROOT/setup.log" 2>&1 \
        || { cat "$PF_ROOT/setup.log" >&2; pf_die "post-install create-missing failed"; }
}

# ---- the sink -------------------------------------------------------------------

# pf_sink_start dump|count: smtp-sink on $PF_SINK_PORT; its running counter
# goes to $PF_ROOT/sink.count ("sess=N quit=N mesg=N" lines ending in \r).
pf_sink_start() {
    local args=(-c -u postfix)
    PF_SINK_MODE=${1:-dump}
    [ "$PF_SINK_MODE" = dump ] && args+=(-d "$PF_SINK_DIR/msg.")
    : >"$PF_ROOT/sink.count"
    smtp-sink "${args[@]}" "127.0.0.1:$PF_SINK_PORT" 256 \
        >"$PF_ROOT/sink.count" 2>"$PF_ROOT/sink.err" &
    PF_SINK_PID=$!
    pf_at_exit "kill $PF_SINK_PID"
    pf_wait_port "$PF_SINK_PORT" 10 || { cat "$PF_ROOT/sink.err" >&2; pf_die "smtp-sink did not start"; }
}

pf_sink_stop() {
    [ -n "$PF_SINK_PID" ] || return 0
    kill "$PF_SINK_PID" 2>/dev/null
    wait "$PF_SINK_PID" 2>/dev/null
    PF_SINK_PID=
}

# Messages the sink has accepted so far.
pf_sink_count() {
    local last
    last=$(tr '\r' '\n' <"$PF_ROOT/sink.count" | grep 'mesg=' | tail -n 1)
    last=${last##*mesg=}
    echo "${last:-0}"
}

# Dump files of delivered messages, oldest first.
pf_sink_messages() {
    ls -1tr "$PF_SINK_DIR" 2>/dev/null | sed "s|^|$PF_SINK_DIR/|"
}

# pf_dumps_for ADDR: the dump files of the messages delivered to ADDR (its
# RCPT TO, which smtp-sink records as X-Rcpt-Args), oldest first;
# pf_dump_for ADDR: the first of them.
pf_dumps_for() {
    local f
    pf_sink_messages | while read -r f; do
        grep -q -F "X-Rcpt-Args: <$1>" "$f" 2>/dev/null && echo "$f"
    done
}

pf_dump_for() {
    pf_dumps_for "$1" | head -n 1
}

# ---- Postfix itself ------------------------------------------------------------

pf_start() {
    postfix -c "$PF_CONF" check >>"$PF_ROOT/setup.log" 2>&1 \
        || { cat "$PF_ROOT/setup.log" "$PF_LOG" >&2 2>/dev/null; pf_die "postfix check failed"; }
    postfix -c "$PF_CONF" start >>"$PF_ROOT/setup.log" 2>&1 \
        || { cat "$PF_ROOT/setup.log" "$PF_LOG" >&2 2>/dev/null; pf_die "postfix start failed"; }
    PF_STARTED=1
    pf_wait_port "$PF_PORT" 20 || { cat "$PF_LOG" >&2; pf_die "smtpd did not come up on port $PF_PORT"; }
}

pf_stop() {
    [ -n "$PF_STARTED" ] || return 0
    postfix -c "$PF_CONF" stop >>"$PF_ROOT/setup.log" 2>&1
    local pid i
    pid=$(tr -d ' ' <"$PF_QUEUE/pid/master.pid" 2>/dev/null)
    for ((i = 0; i < 100; i++)); do
        [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    [ -n "$pid" ] && kill -9 "$pid" 2>/dev/null
    PF_STARTED=
}

# pf_set_milter MILTER: point smtpd at another milter (or none) and reload.
pf_set_milter() {
    pf_milter_settings "$1"
    [ -n "$PF_STARTED" ] && postfix -c "$PF_CONF" reload >>"$PF_ROOT/setup.log" 2>&1
    # Running smtpd processes keep the old setting until they exit; reload
    # makes them exit after their current session. Give them a moment.
    sleep 1
}

pf_cleanup() {
    pf_stop
    pf_sink_stop
    if [ -n "${PF_KEEP:-}" ]; then
        echo "private-postfix: kept $PF_ROOT" >&2
    elif [ -n "$PF_ROOT" ] && [ -d "$PF_ROOT" ]; then
        rm -rf "$PF_ROOT"
    fi
}

# ---- sending and waiting ----------------------------------------------------------

# pf_send FROM TO FILE: submit FILE (LF or CRLF lines) through smtpd.
# Several recipients: separate them with commas. Prints the queue id.
pf_send() {
    python3 - "$PF_PORT" "$1" "$2" "$3" <<'EOF'
import re, smtplib, sys
port, sender, rcpts, path = int(sys.argv[1]), sys.argv[2], sys.argv[3].split(","), sys.argv[4]
with open(path, "rb") as f:
    data = re.sub(rb"\r?\n", b"\r\n", f.read())
with smtplib.SMTP("127.0.0.1", port, timeout=60) as smtp:
    smtp.ehlo("client.example.org")
    smtp.mail(sender)
    for r in rcpts:
        code, msg = smtp.rcpt(r)
        if code != 250:
            sys.exit("RCPT %s: %d %s" % (r, code, msg.decode()))
    code, msg = smtp.data(data)
    if code != 250:
        sys.exit("DATA: %d %s" % (code, msg.decode()))
    m = re.search(rb"queued as (\S+)", msg)
    print(m.group(1).decode() if m else "")
EOF
}

# pf_wait_delivered N [SECS]: wait until the sink has accepted N messages
# (and, in dump mode, N dump files are complete). Default 30 s.
pf_wait_delivered() {
    local want=$1 limit=$((${2:-30} * 10)) i
    for ((i = 0; i < limit; i++)); do
        if [ "$(pf_sink_count)" -ge "$want" ]; then
            pf_sink_files_settled "$want" && return 0
        fi
        sleep 0.1
    done
    echo "private-postfix: only $(pf_sink_count) of $want messages delivered" >&2
    return 1
}

# In dump mode: at least N files whose sizes do not change for 0.2 s.
pf_sink_files_settled() {
    local before after
    [ "$PF_SINK_MODE" = dump ] || return 0
    before=$(ls -l "$PF_SINK_DIR" | md5sum)
    [ "$(ls -1 "$PF_SINK_DIR" | wc -l)" -ge "$1" ] || return 1
    sleep 0.2
    after=$(ls -l "$PF_SINK_DIR" | md5sum)
    [ "$before" = "$after" ]
}
