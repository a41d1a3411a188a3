# cli-test.sh - what the shell tests of `postbeacon` (tests/cli_*.sh)
# share, sourced after they set top_builddir and top_srcdir: the programs
# they need (exit 77 when one is missing), a temporary directory $T
# removed at exit with the Redis started, a private redis-server on a unix
# socket, a configuration and a key file.
#
#   ct_init TAG          checks, $T, trap, $KEYS $CONF $SOCK
#   ct_write_conf        $CONF: Redis on $SOCK, keys $KEYS, tracker bots file;
#                        $CT_SCORER inside scorer = { ... }, $CT_CONF_EXTRA after it
#   ct_start_redis       redis-server on $SOCK ($REDIS_PID; tests/lib/redis-test.sh)
#   ct_setup TAG         ct_init, ct_write_conf, ct_start_redis and keys generate
#   pb ARGS...           the CLI with -c $CONF; output in $out, exit code in $code
#   rc CMD...            redis-cli against the private Redis
#   contact_of ADDRESS   the contact id, computed with openssl from the key file

PB=$top_builddir/cli/postbeacon
REDIS_PID='' T=''

. "$top_srcdir/tests/lib/tap.sh"
. "$top_srcdir/tests/lib/redis-test.sh"

ct_cleanup() {
    [ -n "$REDIS_PID" ] && kill "$REDIS_PID" 2>/dev/null && wait "$REDIS_PID" 2>/dev/null
    if [ -n "${PB_KEEP:-}" ]; then echo "kept $T"; else rm -rf "$T"; fi
}

ct_init() {
    local prog
    for prog in redis-server redis-cli python3 openssl; do
        command -v "$prog" >/dev/null 2>&1 || { echo "SKIP: $prog is not installed"; exit 77; }
    done
    [ -x "$PB" ] || { echo "ERROR: $PB not built"; exit 99; }
    T=$(mktemp -d "${TMPDIR:-/tmp}/$1.XXXXXX") || exit 99
    trap ct_cleanup EXIT
    KEYS=$T/keys CONF=$T/pb.conf SOCK=$T/redis.sock
}

ct_write_conf() {
    cat >"$CONF" <<CONF
tracking = { base_url = "https://t.example.net"; };
keys = { file = "$KEYS"; };
redis = { socket = "$SOCK"; prefix = "pb:"; timeout_ms = 500; };
tracker = { user = ""; bots_file = "$top_srcdir/config/bots.conf"; };
scorer = { half_life_days = 30; ${CT_SCORER:-} };
${CT_CONF_EXTRA:-}
CONF
}

ct_start_redis() { start_private_redis; }
# ct_setup TAG: all of the above and a key file (keys generate).
ct_setup() {
    ct_init "$1"
    ct_write_conf
    ct_start_redis
    "$PB" -c "$CONF" keys generate >/dev/null || exit 99
}

pb() { out=$("$PB" -c "$CONF" "$@" 2>&1 </dev/null); code=$?; }
contact_of() {
    local key
    key=$(sed -n 's/^contact //p' "$KEYS")
    printf '%s' "$1" | openssl dgst -sha256 -mac HMAC -macopt "hexkey:$key" \
        | sed 's/^.*= //' | cut -c1-16
}
# lacks TEXT PART: (for expect) PART is not in TEXT.
lacks() { case $1 in *"$2"*) echo "#   \"$2\" found"; return 1 ;; esac; return 0; }
