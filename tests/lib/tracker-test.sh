# tracker-test.sh - what the tracker's own shell tests share (sourced by
# tracker_http.sh, tracker_http_edge.sh, tracker_tls.sh after they set
# top_builddir and top_srcdir): the programs they need (exit 77 when one is
# missing), a temporary directory $T removed at exit with the tracker and
# Redis it started, a private redis-server on a unix socket, and the
# helpers for Redis, tokens and the event stream.
#
#   tt_init TAG [PROGRAM...]   checks, $T, trap, $KEYS $CONF $SOCK $LOG $PORT $ADMIN $LISTEN
#   tt_write_keys              a key file with one signing key and a contact key
#   tt_write_conf SETTING...   $CONF: Redis, keys and a tracker section (+ SETTINGs)
#   tt_start_redis             redis-server on $SOCK ($REDIS_PID)
#   rc CMD...                  redis-cli against it
#   mint KIND ARGS...          a token (tests/token-tool mint)
#   nevents / events_reach N / last_event / field NAME   the pb:events stream
#   $OLD                       a send time an hour ago (not a "too fast" click)
#   lacks TEXT PART            (for expect) PART is not in TEXT
# The tracker itself is started by each test ($TRACKER_PID is killed at exit).

TRACKER=$top_builddir/tracker/postbeacon-tracker
TOOL=$top_builddir/tests/token-tool
HTTP="python3 $top_srcdir/tests/lib/http_request.py"
REDIS_PID='' TRACKER_PID='' T=''

. "$top_srcdir/tests/lib/tap.sh"
. "$top_srcdir/tests/lib/redis-test.sh"

tt_cleanup() {
    [ -n "$TRACKER_PID" ] && kill -9 "$TRACKER_PID" 2>/dev/null && wait "$TRACKER_PID" 2>/dev/null
    [ -n "$REDIS_PID" ] && kill "$REDIS_PID" 2>/dev/null && wait "$REDIS_PID" 2>/dev/null
    if [ -n "${PB_KEEP:-}" ]; then echo "kept $T"; else rm -rf "$T"; fi
}

tt_init() {
    local tag=$1 prog bin
    shift
    for prog in redis-server redis-cli python3 openssl "$@"; do
        if ! command -v "$prog" >/dev/null 2>&1; then
            echo "SKIP: $prog is not installed"
            exit 77
        fi
    done
    for bin in "$TRACKER" "$TOOL"; do
        [ -x "$bin" ] || { echo "ERROR: $bin not built"; exit 99; }
    done
    T=$(mktemp -d "${TMPDIR:-/tmp}/$tag.XXXXXX") || exit 99
    trap tt_cleanup EXIT
    KEYS=$T/keys CONF=$T/pb.conf SOCK=$T/redis.sock LOG=$T/tracker.log
    PORT=$(free_port)
    ADMIN=$(free_port)
    while [ "$ADMIN" = "$PORT" ]; do ADMIN=$(free_port); done
    LISTEN="\"127.0.0.1:$PORT\""
}

tt_write_keys() {
    (umask 077 && printf '1 %s\ncontact %s\n' "$(openssl rand -hex 32)" \
        "$(openssl rand -hex 32)" >"$KEYS")
}

# tt_write_conf SETTING...: $CONF with the private Redis, the key file and
# a tracker section: public listeners $LISTEN, admin endpoints on $ADMIN, no
# user switch, pidfile and journal in $T, the source tree's bots file, then
# each SETTING ("name = value;") of the test.
tt_write_conf() {
    local setting
    {
        cat <<CONF
tracking = { base_url = "https://t.example.net"; };
keys = { file = "$KEYS"; };
redis = { socket = "$SOCK"; prefix = "pb:"; timeout_ms = 500; };
tracker = {
    listen = [ $LISTEN ];
    admin_listen = [ "127.0.0.1:$ADMIN" ];
    user = "";
    pidfile = "$T/tracker.pid";
    journal = "$T/tracker.journal";
    bots_file = "$top_srcdir/config/bots.conf";
CONF
        for setting in "$@"; do echo "    $setting"; done
        echo "};"
    } >"$CONF"
}

tt_start_redis() { start_private_redis; }

mint() { "$TOOL" mint "$KEYS" "$@"; }
OLD=$(($(date +%s) - 3600))
nevents() { rc XLEN pb:events; }
events_reach() { [ "$(nevents)" -ge "$1" ]; }
# The newest stream entry as name=value lines.
last_event() { rc XREVRANGE pb:events + - COUNT 1 | tail -n +2 | paste -d= - -; }
field() { last_event | sed -n "s/^$1=//p" | head -1; }
# lacks TEXT PART: (for expect) PART is not in TEXT.
lacks() { case $1 in *"$2"*) echo "#   \"$2\" found"; return 1 ;; esac; return 0; }
