# redis-test.sh - a private redis-server for shell tests (sourced by
# tracker-test.sh and cli-test.sh): on the unix socket $SOCK in $T, no
# TCP port, no persistence; killed by the test's cleanup ($REDIS_PID).
#
#   start_private_redis   start it and wait until it answers (exit 99 if not)
#   rc CMD...             redis-cli against it

rc() { redis-cli -s "$SOCK" "$@"; }
redis_up() { [ "$(rc ping 2>/dev/null)" = PONG ]; }
start_private_redis() {
    redis-server --port 0 --unixsocket "$SOCK" --unixsocketperm 700 --dir "$T" --save "" \
        --appendonly no --daemonize no --logfile "$T/redis.log" >/dev/null 2>&1 &
    REDIS_PID=$!
    wait_for 10 redis_up || { echo "ERROR: redis did not start"; exit 99; }
}
