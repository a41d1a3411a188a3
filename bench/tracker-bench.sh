#!/bin/bash
# tracker-bench.sh - click redirects per second of postbeacon-tracker, with
# every click written to a private redis-server, against nginx answering
# `return 302` on the same machine (the limit for a redirect server), in
# one run; then the tracker's latency at half of its maximum rate, its RSS
# over a 60 s run, and a count that Redis received exactly one click event
# per click the tracker answered.
#
#   bench/tracker-bench.sh [ROUNDS]          (default 3; as root for apt)
#
# Environment: DURATION (s, default 20), THREADS (wrk threads, 2), CONNS
# (connections, 64), TOKENS (distinct click tokens, 1000), RSS_SECONDS (60),
# NGINX_WORKERS (1: one event loop, like the tracker; "auto" for one per
# core), WARMUP (s of tracker clicks before the rounds, default DURATION),
# top_builddir (default build/ of the source tree).
#
# Each round: wrk -tTHREADS -cCONNS -dDURATION against the tracker and
# against nginx (order alternating), then the tracker at half of this
# round's maximum: every connection waits between its requests (wrk's
# delay() hook) so that CONNS connections together offer about half the
# rate; wrk --latency reports its percentiles. That is still a closed loop
# per connection (a stalled server gets no new requests: coordinated
# omission), so the p99 is an approximation of what wrk2 would measure.
# After the rounds one RSS_SECONDS run at full speed samples the tracker's
# RSS (/proc/PID/status VmRSS) every second. Last, one DURATION run with
# Redis stopped: what the tracker answers without Redis's CPU beside it
# (every event goes to the journal), and then the count check again once
# the journal has been replayed into the restarted (empty) Redis.
#
# After every tracker run the script waits until the tracker's store is
# idle and compares three counts: requests wrk completed, 302 answers the
# tracker counted (/metrics), click events in Redis (the campaign's click
# counters and the stream: XLEN minus the imputed opens). The events must
# equal the 302s; wrk may count up to CONNS fewer (answers in flight when
# it stops). It also notes how many events were still queued or journaled
# in the tracker when wrk stopped (Redis lagging behind the answers): the
# sustained rate counts only the clicks that reached Redis while wrk ran.
# Results: medians, ratio tracker/nginx on the sustained rate (target >=
# 0.7; the answered rate beside it), the tracker's CPU time per click at
# full load (/proc/PID/stat), p99 at half load (target < 5 ms).
set -eu

top_srcdir=$(cd "$(dirname "$0")/.." && pwd)
top_builddir=${top_builddir:-$top_srcdir/build}
rounds=${1:-3}
duration=${DURATION:-20}
threads=${THREADS:-2}
conns=${CONNS:-64}
ntokens=${TOKENS:-1000}
warmup=${WARMUP:-$duration}
rss_seconds=${RSS_SECONDS:-60}
nginx_workers=${NGINX_WORKERS:-1}
lib=$top_srcdir/tests/lib
tracker=$top_builddir/tracker/postbeacon-tracker
tool=$top_builddir/tests/token-tool
campaign=bench

die() { echo "tracker-bench: $*" >&2; exit 1; }

# ---- programs ------------------------------------------------------------------
need_pkgs=''
command -v wrk >/dev/null 2>&1 || need_pkgs="$need_pkgs wrk"
command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || need_pkgs="$need_pkgs nginx-light"
if [ -n "$need_pkgs" ]; then
    [ "$(id -u)" = 0 ] || die "missing:$need_pkgs; install them (apt-get install$need_pkgs) or run as root"
    echo "tracker-bench: installing$need_pkgs"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $need_pkgs \
        >/dev/null || die "apt-get install$need_pkgs failed"
fi
NGINX=$(command -v nginx || echo /usr/sbin/nginx)
for prog in redis-server redis-cli python3 openssl curl; do
    command -v "$prog" >/dev/null 2>&1 || die "$prog is not installed (scripts/install-deps.sh)"
done
for bin in "$tracker" "$tool"; do
    [ -x "$bin" ] || die "$bin missing; build first (make), or set top_builddir"
done

# ---- private Redis, keys, configuration (tests/lib helpers) ------------------------
. "$lib/private-postfix.sh"        # pf_at_exit, pf_free_port
. "$lib/postbeacon-env.sh"
pb_env_init "$top_builddir"
T=$PB_DIR
pb_keys_write
pb_conf_write '"example.com"'
PORT=$(pf_free_port)
ADMIN=$(pf_free_port)
NGINX_PORT=$(pf_free_port)
# Unlimited stream (counted exactly below; trimmed by the script between runs).
pb_tracker_conf_write "$PORT" "$ADMIN" "stream_maxlen = 0;" "stream_max_age_days = 0;"
pb_redis_start
pb_tracker_start
TRACKER_PID=$PB_TRACKER_PID

# ---- nginx: return 302, no access log, its own prefix --------------------------------
mkdir -p "$T/nginx"
cat >"$T/nginx/nginx.conf" <<EOF
worker_processes $nginx_workers;
daemon off;
pid $T/nginx/nginx.pid;
error_log $T/nginx/error.log warn;
events { worker_connections 4096; }
http {
    access_log off;
    client_body_temp_path $T/nginx/body;
    proxy_temp_path $T/nginx/proxy;
    fastcgi_temp_path $T/nginx/fastcgi;
    uwsgi_temp_path $T/nginx/uwsgi;
    scgi_temp_path $T/nginx/scgi;
    server {
        listen 127.0.0.1:$NGINX_PORT;
        location / {
            add_header Cache-Control no-store;
            return 302 https://example.com/;
        }
    }
}
EOF
"$NGINX" -p "$T/nginx" -c "$T/nginx/nginx.conf" -e "$T/nginx/error.log" 2>>"$T/nginx/error.log" &
NGINX_PID=$!
pf_at_exit "kill $NGINX_PID"
pf_wait_port "$NGINX_PORT" 10 || { cat "$T/nginx/error.log"; die "nginx did not start"; }

# ---- click tokens and the wrk script ----------------------------------------------------
# TOKENS tokens: distinct message and contact ids, links 0-9, sent a day ago.
old=$(($(date +%s) - 86400))
for ((i = 0; i < ntokens; i++)); do
    id=$(printf '%016x' $((0x5eed000000000000 + i)))
    echo "/c/$("$tool" mint "$PB_KEYS" click msg="$id" contact="$id" campaign=$campaign \
        link=$((i % 10)) sent_at=$old \
        url="https://shop.example.com/product/$i?utm_source=newsletter&utm_medium=email&utm_campaign=$campaign&utm_content=link-$((i % 10 + 1))")"
done >"$T/paths"
echo "/" >"$T/nginx-paths"
cat >"$T/rotate.lua" <<'EOF'
-- Rotate through the request paths of a file (one per line), each thread
-- from its own offset; with a per-connection interval (ms, fractional)
-- every connection waits between its requests to offer a fixed rate.
local paths, n, interval = {}, 0, 0
local counter = 0
function setup(thread)
    counter = counter + 1
    thread:set("offset", counter * 7919)
end
function init(args)
    for line in io.lines(args[1]) do
        n = n + 1
        paths[n] = line
    end
    interval = tonumber(args[2] or "0")
    i = (offset or 0) % n
end
-- A browser's User-Agent: the clicks are human (and impute opens).
local headers = { ["User-Agent"] = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0" }
function request()
    i = i % n + 1
    return wrk.format("GET", paths[i], headers)
end
if tonumber(os.getenv("PB_INTERVAL") or "0") > 0 then
    function delay()
        local whole = math.floor(interval)
        if math.random() < interval - whole then
            whole = whole + 1
        end
        return whole
    end
end
function done(summary, latency, requests)
    local e = summary.errors
    io.write(string.format("PB requests=%d duration_us=%d status_errors=%d socket_errors=%d "
        .. "mean_us=%.0f p50_us=%d p90_us=%d p99_us=%d max_us=%d\n",
        summary.requests, summary.duration, e.status, e.connect + e.read + e.write + e.timeout,
        latency.mean, latency:percentile(50), latency:percentile(90),
        latency:percentile(99), latency.max))
end
EOF

# ---- measuring -------------------------------------------------------------------------------
pbval() { sed -n "s/.* $1=\([0-9.]*\).*/\1/p" "$2"; }
metric() {          # the value of a /metrics sample line starting with $1
    curl -s "http://127.0.0.1:$ADMIN/metrics" | grep -v '^#' | grep -F "$1" | awk '{ print $2 }' | head -n 1
}
clicks_302() { metric 'postbeacon_tracker_requests_total{route="click",code="302"}'; }
redis_clicks() {
    local h m
    h=$(pb_redis --raw HGET "pb:campaign:$campaign" clicks_human)
    m=$(pb_redis --raw HGET "pb:campaign:$campaign" clicks_machine)
    echo $((${h:-0} + ${m:-0}))
}
imputed() { local v; v=$(pb_redis --raw HGET "pb:campaign:$campaign" imputed_opens); echo "${v:-0}"; }
# Until the tracker has written everything (backlog 0, written count steady).
settle() {
    local last='' now i
    for ((i = 0; i < 400; i++)); do
        now="$(metric postbeacon_tracker_events_written_total) $(metric postbeacon_tracker_journal_backlog)"
        [ "$now" = "$last" ] && [ "${now##* }" = 0 ] && return 0
        last=$now
        sleep 0.3
    done
    echo "tracker-bench: the tracker's store did not settle ($now)" >&2
}
# run_wrk NAME URL PATHS [INTERVAL_MS] [SECONDS] [--latency]: wrk's output in $T/NAME.out
run_wrk() {
    local name=$1 url=$2 paths=$3 interval=${4:-0} secs=${5:-$duration}
    PB_INTERVAL=$interval wrk -t"$threads" -c"$conns" -d"${secs}s" --latency \
        -s "$T/rotate.lua" "$url" -- "$paths" "$interval" >"$T/$name.out" 2>&1
}
# count_check NAME: events vs answers of the tracker run that just ended.
count_check() {
    local name=$1 got_wrk s302 ev xl im queued t0 drain
    queued=$(metric postbeacon_tracker_events_pending)     # (a tracker before it: queue + journal)
    [ -n "$queued" ] || queued=$(($(metric postbeacon_tracker_queue_events) + $(metric postbeacon_tracker_journal_backlog)))
    t0=$(date +%s.%N)
    settle
    drain=$(awk -v t0="$t0" -v t1="$(date +%s.%N)" 'BEGIN { printf "%.1f", t1 - t0 }')
    got_wrk=$(pbval requests "$T/$name.out")
    s302=$(($(clicks_302) - base_302))
    ev=$(($(redis_clicks) - base_ev))
    im=$(($(imputed) - base_im))
    xl=$(pb_redis --raw XLEN pb:events)
    xl=$((xl - base_xl))
    local verdict=equal
    [ "$ev" = "$s302" ] && [ "$((xl - im))" = "$s302" ] || verdict="NOT EQUAL"
    [ "$got_wrk" -le "$s302" ] && [ "$s302" -le $((got_wrk + conns)) ] || verdict="$verdict; wrk count off"
    printf '    count: wrk completed %d, tracker answered 302 x %d, Redis click events %d (stream %d - %d imputed opens) -> %s\n' \
        "$got_wrk" "$s302" "$ev" "$xl" "$im" "$verdict"
    printf '    backlog when wrk stopped: %d events not yet in Redis, written within %s s\n' \
        "$queued" "$drain"
    echo "$name $queued $drain" >>"$T/backlog"
    echo "$name $got_wrk $s302 $ev $((xl - im))" >>"$T/counts"
    # Trim the stream (its entries are counted); counters stay.
    pb_redis XTRIM pb:events MAXLEN 0 >/dev/null
    mark
}
mark() {
    base_302=$(clicks_302)
    base_ev=$(redis_clicks)
    base_im=$(imputed)
    base_xl=$(pb_redis --raw XLEN pb:events)
}
rps() { awk -v r="$(pbval requests "$1")" -v d="$(pbval duration_us "$1")" 'BEGIN { printf "%.0f", r / (d / 1e6) }'; }
# CPU time (user + system) the process has used, in microseconds.
cpu_us() { awk -v hz="$(getconf CLK_TCK)" '{ printf "%.0f", ($14 + $15) * 1e6 / hz }' "/proc/$1/stat"; }
# The tracker's CPU per answered click in the run NAME (CPU_BEFORE: cpu_us before it).
cpu_per_click() { awk -v c=$(($(cpu_us "$TRACKER_PID") - $2)) -v r="$(pbval requests "$T/$1.out")" \
    'BEGIN { printf "%.2f", (r > 0 ? c / r : 0) }'; }
# Clicks per second that reached Redis while wrk ran: the answers minus what
# was still queued or journaled when it stopped (written afterwards).
sustained() {       # sustained NAME
    local queued
    queued=$(awk -v n="$1" '$1 == n { print $2 }' "$T/backlog")
    awk -v r="$(pbval requests "$T/$1.out")" -v q="${queued:-0}" -v d="$(pbval duration_us "$T/$1.out")" \
        'BEGIN { printf "%.0f", (r - q) / (d / 1e6) }'
}
report_run() {      # report_run ROUND NAME FILE
    printf 'round %d  %-12s %8s req/s  p50 %6.2f ms  p99 %6.2f ms  non-3xx %s  socket errors %s\n' \
        "$1" "$2" "$(rps "$3")" "$(awk -v v="$(pbval p50_us "$3")" 'BEGIN { print v / 1000 }')" \
        "$(awk -v v="$(pbval p99_us "$3")" 'BEGIN { print v / 1000 }')" \
        "$(pbval status_errors "$3")" "$(pbval socket_errors "$3")"
}

echo "tracker-bench: $(nproc) CPUs, wrk -t$threads -c$conns -d${duration}s, $ntokens click tokens," \
     "nginx $($NGINX -v 2>&1 | sed 's/.*\///') with worker_processes $nginx_workers, $rounds rounds"
echo "  tracker http://127.0.0.1:$PORT/c/<token> (Redis unix socket), nginx http://127.0.0.1:$NGINX_PORT/"
# Warm-up: connections, page cache, Redis scripts, and Redis's memory: the
# first million stream entries take pages from the kernel (page faults in
# redis-server), later ones reuse what the trim between runs freed, as a
# stream kept at its retention limit does in production.
mark
run_wrk warm "http://127.0.0.1:$PORT" "$T/paths" 0 "$warmup"
count_check warm >/dev/null
run_wrk warm-nginx "http://127.0.0.1:$NGINX_PORT" "$T/nginx-paths" 0 3
settle
mark
: >"$T/results"
for ((round = 1; round <= rounds; round++)); do
    if ((round % 2)); then order="tracker nginx"; else order="nginx tracker"; fi
    for way in $order; do
        if [ "$way" = tracker ]; then
            cpu0=$(cpu_us "$TRACKER_PID")
            run_wrk "tracker-$round" "http://127.0.0.1:$PORT" "$T/paths"
            cpu_click=$(cpu_per_click "tracker-$round" "$cpu0")
            report_run "$round" "tracker max" "$T/tracker-$round.out"
            echo "    tracker CPU: $cpu_click us per click (user + system, while wrk ran)"
            count_check "tracker-$round"
        else
            run_wrk "nginx-$round" "http://127.0.0.1:$NGINX_PORT" "$T/nginx-paths"
            report_run "$round" "nginx max" "$T/nginx-$round.out"
        fi
    done
    max=$(rps "$T/tracker-$round.out")
    # Half load: every connection sends one request per CONNS/(max/2) seconds.
    interval=$(awk -v c="$conns" -v m="$max" 'BEGIN { printf "%.3f", c * 1000 / (m / 2) }')
    # Calibrate once (3 s): the answer time adds to the wait.
    run_wrk "probe-$round" "http://127.0.0.1:$PORT" "$T/paths" "$interval" 3
    count_check "probe-$round" >/dev/null
    interval=$(awk -v i="$interval" -v got="$(rps "$T/probe-$round.out")" -v m="$max" \
        'BEGIN { printf "%.3f", i * got / (m / 2) }')
    run_wrk "half-$round" "http://127.0.0.1:$PORT" "$T/paths" "$interval"
    report_run "$round" "tracker half" "$T/half-$round.out"
    printf '    half load: target %d req/s (interval %s ms per connection), offered/achieved %s req/s\n' \
        $((max / 2)) "$interval" "$(rps "$T/half-$round.out")"
    count_check "half-$round"
    printf '    sustained: %s clicks/s reached Redis while wrk ran (answered %s req/s)\n' \
        "$(sustained "tracker-$round")" "$(rps "$T/tracker-$round.out")"
    echo "$round $(rps "$T/tracker-$round.out") $(rps "$T/nginx-$round.out") $(rps "$T/half-$round.out") $(pbval p99_us "$T/half-$round.out") $(pbval p99_us "$T/tracker-$round.out") $(sustained "tracker-$round") $cpu_click" >>"$T/results"
done

# ---- RSS over a long run at full speed ---------------------------------------------------
rss() { awk '/^VmRSS/ { print $2 }' "/proc/$TRACKER_PID/status"; }
echo "RSS run: ${rss_seconds} s at full speed, VmRSS sampled every second"
: >"$T/rss"
run_wrk rss "http://127.0.0.1:$PORT" "$T/paths" 0 "$rss_seconds" &
wrk_pid=$!
rss >>"$T/rss"
for ((s = 0; s < rss_seconds; s++)); do
    sleep 1
    rss >>"$T/rss"
done
wait "$wrk_pid"
report_run 0 "tracker rss" "$T/rss.out"
count_check rss
settle
rss >>"$T/rss"

# ---- Redis stopped: the journal takes the events ---------------------------------------
# What the tracker does without Redis's CPU on the same two cores (tokens,
# HTTP, the journal append), then the replay once Redis is back: a Redis
# without persistence comes back empty, so every click of the run must
# reach the new one from the journal, exactly once.
echo "Redis-down run: ${duration} s at full speed with Redis stopped, then the journal replayed"
pb_redis_stop
run_wrk journal "http://127.0.0.1:$PORT" "$T/paths"
report_run 0 "no Redis" "$T/journal.out"
pb_redis_start
base_ev=0 base_im=0 base_xl=0
count_check journal
echo "journal $(rps "$T/journal.out")" >"$T/journal-rps"

# ---- summary ------------------------------------------------------------------------------
python3 - "$T/results" "$T/rss" "$T/counts" "$T/journal-rps" <<'EOF'
import statistics, sys
rows = [l.split() for l in open(sys.argv[1])]
med = lambda i: statistics.median(float(r[i]) for r in rows)
tracker, nginx, half, p99_half, p99_max = med(1), med(2), med(3), med(4) / 1000, med(5) / 1000
sustained = med(6)
print("\nmedians over %d rounds" % len(rows))
print("  tracker answered (click -> 302)         %8.0f req/s   p99 %.2f ms at full load" % (tracker, p99_max))
print("  tracker sustained (events into Redis)   %8.0f req/s   (the rest was written after wrk stopped)"
      % sustained)
print("  nginx (return 302)                      %8.0f req/s" % nginx)
print("  tracker CPU per click (user + system)   %8.2f us" % med(7))
print("  ratio tracker/nginx, answered           %8.3f" % (tracker / nginx))
print("  ratio tracker/nginx, sustained          %8.3f   (target >= 0.7)  %s"
      % (sustained / nginx, "met" if sustained / nginx >= 0.7 else "NOT MET"))
print("  tracker at half load (%5.0f req/s)       p99 %.2f ms  (target < 5 ms)  %s"
      % (half, p99_half, "met" if p99_half < 5 else "NOT MET"))
journal = float(open(sys.argv[4]).read().split()[1])
print("  tracker with Redis stopped (journal)    %8.0f req/s   ratio to nginx %.3f"
      % (journal, journal / nginx))
rss = [int(l) for l in open(sys.argv[2]) if l.strip()]
print("  tracker RSS: start %d KB, end %d KB (after the run: %d KB), max %d KB"
      % (rss[0], rss[-2], rss[-1], max(rss)))
counts = [l.split() for l in open(sys.argv[3])]
bad = [c for c in counts if not (c[2] == c[3] == c[4])]
print("  event counts: %d tracker runs, %d requests answered with 302, events %s"
      % (len(counts), sum(int(c[2]) for c in counts),
         "equal in every run" if not bad else "NOT EQUAL in: " + ", ".join(c[0] for c in bad)))
EOF
if grep -Ei "fatal|crit|error" "$T/tracker.log" >/dev/null; then
    echo "tracker log:"; grep -Ei "fatal|crit|error" "$T/tracker.log" | tail -5
fi
