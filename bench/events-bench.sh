#!/bin/bash
# events-bench.sh - what a custom event costs through postbeacon-tracker's
# POST /e: wrk (bench/events.lua) sends signed, distinct events over
# keep-alive connections to tracker.events_listen for DURATION seconds;
# the tracker checks each signature, parses the JSON (jansson), journals
# the event (write-ahead, fsync "second") and writes it to a private
# redis-server in batches. Then it waits until the tracker's store is idle
# and reports: events/s answered (wrk), events in the stream (XLEN: must
# equal the 202s the tracker counted), and the CPU time per event of the
# tracker and of Redis (/proc/PID/stat, user + system).
#
#   bench/events-bench.sh [ROUNDS]        (default 3)
#
# Environment: DURATION (s, default 10), THREADS (wrk threads, 1), CONNS
# (connections, 16), BATCH (events per request, 1: more sends the batch
# form), top_builddir (default build/ of the source tree).
# Loopback only; stops by itself.
set -eu

top_srcdir=$(cd "$(dirname "$0")/.." && pwd)
top_builddir=${top_builddir:-$top_srcdir/build}
rounds=${1:-3}
duration=${DURATION:-10}
threads=${THREADS:-1}
conns=${CONNS:-16}
tracker=$top_builddir/tracker/postbeacon-tracker

die() { echo "events-bench: $*" >&2; exit 1; }
for p in wrk redis-server redis-cli curl openssl python3; do
    command -v "$p" >/dev/null || die "$p is not installed"
done
[ -x "$tracker" ] || die "$tracker not built (scripts/build.sh)"

T=$(mktemp -d "${TMPDIR:-/tmp}/pbevb.XXXXXX")
REDIS_PID='' TRACKER_PID=''
cleanup() {
    [ -n "$TRACKER_PID" ] && kill "$TRACKER_PID" 2>/dev/null && wait "$TRACKER_PID" 2>/dev/null
    [ -n "$REDIS_PID" ] && kill "$REDIS_PID" 2>/dev/null && wait "$REDIS_PID" 2>/dev/null
    rm -rf "$T"
}
trap cleanup EXIT

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
PORT=$(free_port) ADMIN=$(free_port) EVPORT=$(free_port)
SECRET=$(openssl rand -hex 32)
(umask 077; printf 'contact %s\n1 %s\nevents %s\n' "$(openssl rand -hex 32)" \
    "$(openssl rand -hex 32)" "$SECRET" >"$T/keys")
cat >"$T/pb.conf" <<CONF
tracking = { base_url = "https://t.example.net"; };
keys = { file = "$T/keys"; };
redis = { socket = "$T/redis.sock"; prefix = "pb:"; };
log = { facility = "local0"; };
tracker = {
    listen = [ "127.0.0.1:$PORT" ];
    admin_listen = [ "127.0.0.1:$ADMIN" ];
    events_listen = [ "127.0.0.1:$EVPORT" ];
    user = "";
    pidfile = "";
    journal = "$T/tracker.journal";
    bots_file = "$top_srcdir/config/bots.conf";
    stream_maxlen = 0;
    stream_max_age_days = 0;
};
CONF

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
metric() { curl -s "http://127.0.0.1:$ADMIN/metrics" | sed -n "s/^postbeacon_tracker_$1 //p"; }
rc() { redis-cli -s "$T/redis.sock" "$@"; }

start() {
    redis-server --port 0 --unixsocket "$T/redis.sock" --unixsocketperm 700 --dir "$T" \
        --save "" --appendonly no --logfile "$T/redis.log" >/dev/null 2>&1 &
    REDIS_PID=$!
    for _ in $(seq 50); do [ "$(rc ping 2>/dev/null)" = PONG ] && break; sleep 0.1; done
    "$tracker" -f -c "$T/pb.conf" >>"$T/tracker.log" 2>&1 &
    TRACKER_PID=$!
    for _ in $(seq 50); do curl -s "http://127.0.0.1:$ADMIN/healthz" >/dev/null && break; sleep 0.1; done
}
stop() {
    kill "$TRACKER_PID"; wait "$TRACKER_PID" 2>/dev/null || true; TRACKER_PID=''
    kill "$REDIS_PID"; wait "$REDIS_PID" 2>/dev/null || true; REDIS_PID=''
    rm -f "$T/tracker.journal"
}

hz=$(getconf CLK_TCK)
echo "events-bench: $rounds rounds of ${duration}s, wrk -t$threads -c$conns, ${BATCH:-1} event(s)" \
    "per request, $(nproc) cores"
for r in $(seq "$rounds"); do
    start
    t0=$(cpu_ticks "$TRACKER_PID") r0=$(cpu_ticks "$REDIS_PID")
    out=$(SECRET=$SECRET BATCH=${BATCH:-1} wrk -t"$threads" -c"$conns" -d"${duration}s" -s "$top_srcdir/bench/events.lua" \
        "http://127.0.0.1:$EVPORT/e")
    for _ in $(seq 100); do [ "$(metric events_pending)" = 0 ] && break; sleep 0.1; done
    t1=$(cpu_ticks "$TRACKER_PID") r1=$(cpu_ticks "$REDIS_PID")
    accepted=$(metric custom_events_accepted_total)
    stream=$(rc XLEN pb:events)
    rps=$(echo "$out" | sed -n 's/^Requests\/sec: *//p' | awk -v b="${BATCH:-1}" '{print $1 * b}')
    p99=$(echo "$out" | awk '/Latency/ {print $2}')
    notok=$(echo "$out" | sed -n 's/^not 202: //p')
    [ "$stream" = "$accepted" ] || echo "events-bench: round $r: $accepted accepted but $stream in the stream" >&2
    awk -v r="$r" -v rps="$rps" -v n="$stream" -v bad="$notok" -v lat="$p99" \
        -v t=$((t1 - t0)) -v rd=$((r1 - r0)) -v hz="$hz" 'BEGIN {
        printf "round %d: %s events/s answered, %d in the stream, %s not 202, mean latency %s; " \
               "tracker %.1f us CPU/event, redis %.1f us CPU/event\n",
               r, rps, n, bad, lat, t / hz * 1e6 / n, rd / hz * 1e6 / n }'
    stop
done
