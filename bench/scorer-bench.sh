#!/bin/bash
# scorer-bench.sh - postbeacon-scorer throughput against a private Redis on
# this machine: N synthetic events (a newsletter mix over 100k contacts and
# 20 campaigns) are loaded into the stream, then scored by one scorer and,
# from the same events, by two scorers in one group (--once, so each run
# ends when the backlog is done). Beside it, the same Redis' XADD rate
# (redis-benchmark, pipelined, entries of the same size): the ceiling of
# anything that reads and writes the stream on this box.
#
#   bench/scorer-bench.sh [EVENTS]      # default 500000; top_builddir=... if not build/
#   RUNS="1 2 1 2" SCORER=path/to/postbeacon-scorer bench/scorer-bench.sh   # runs, other binary
#   SEGMENTS=1 bench/scorer-bench.sh    # with 5 fit rules, a grade, 8 segments, 5 workflows
#
# Reports events/s per run (wall time), the scorer's and Redis' CPU time per
# event, and Redis memory per scored contact. See bench/README.md.
set -eu

N=${1:-500000}
top_srcdir=$(cd "$(dirname "$0")/.." && pwd)
top_builddir=${top_builddir:-$top_srcdir/build}
SCORER=${SCORER:-$top_builddir/scorer/postbeacon-scorer}
[ -x "$SCORER" ] || { echo "no $SCORER: build first (top_builddir=...)"; exit 1; }
T=$(mktemp -d "${TMPDIR:-/tmp}/pbscb.XXXXXX")
SOCK=$T/redis.sock
trap '[ -f "$T/redis.pid" ] && kill "$(cat "$T/redis.pid")"; rm -rf "$T"' EXIT
rc() { redis-cli -s "$SOCK" "$@"; }

redis-server --port 0 --unixsocket "$SOCK" --save "" --appendonly no --daemonize yes \
    --pidfile "$T/redis.pid" --logfile "$T/redis.log"
for _ in $(seq 50); do [ -S "$SOCK" ] && break; sleep 0.1; done

cat >"$T/postbeacon.conf" <<END
tracking = { base_url = "https://t.example.com"; };
redis = { socket = "$SOCK"; timeout_ms = 2000; };
scorer = {
    user = ""; pidfile = ""; batch = ${BATCH:-256}; half_life_days = 30;
    rules = (
        { name = "open"; event = "open"; points = 1; repeat = "once-per-message"; },
        { name = "open-daily"; event = "open"; points = 1; repeat = "per-day"; per_day = 3; },
        { name = "click"; event = "click"; points = 3; },
        { name = "pricing"; event = "click"; url = "*/pricing*"; points = 15;
          repeat = "once-per-campaign"; },
        { name = "webinar"; event = "click"; campaign = "webinar-*"; points = 10; },
        { name = "first-click"; event = "click"; points = 5; repeat = "once"; },
        { name = "scanner"; event = "click"; class = "machine"; points = -1; },
        { name = "unsubscribe"; event = "unsubscribe"; points = -50; class = "any"; },
        { name = "purchase"; event = "purchase"; points = 40; },
        { name = "sent"; event = "sent"; points = 0.1; repeat = "once-per-campaign"; }
    );
END
# Segments of every kind (the sample configuration's), with fit rules, a
# grade and five workflows of the sample configuration's kinds. Their send
# steps are due days after the events (none within the run: nothing is
# submitted); the MQL handoff's first step, a tag, is due at once and done
# by the claim script, as in production.
[ -n "${SEGMENTS:-}" ] && cat >>"$T/postbeacon.conf" <<END
    fit = (
        { name = "dach"; attribute = "country"; in = [ "DE", "AT", "CH" ]; points = 20; },
        { name = "german"; attribute = "language"; equals = "de"; points = 5; },
        { name = "customer"; tag = "customer"; points = 15; },
        { name = "adult"; age = [ 25, 65 ]; points = 10; },
        { name = "company"; attribute = "attr:employees"; range = [ 50, 100000 ]; points = 20; }
    );
    grade = { fit = [ 40, 25, 10 ]; behaviour = [ 100, 50, 20 ]; };
    segments = (
        { name = "mql"; behaviour_at_least = 20; },
        { name = "sql"; behaviour_at_least = 50; },
        { name = "interest-sofas"; clicked = "*/sofas*"; within_days = 30; },
        { name = "dormant"; dormant_days = 5; },
        { name = "active"; active_days = 3; },
        { name = "suppressed"; suppressed = true; },
        { name = "birthday-week"; birthday_within_days = 7; },
        { name = "a-leads"; grade = [ "A1", "A2", "B1" ]; }
    );
    workflows = (
        { name = "welcome"; trigger = { signup = true; }; exit_events = [ "unsubscribe" ];
          steps = ( { name = "hello"; send = "welcome-1.en.eml"; delay_minutes = 5; } ); },
        { name = "cart"; trigger = { event = "cart_abandoned"; }; exit_events = [ "purchase" ];
          steps = ( { name = "reminder"; send = "cart-abandoned.en.eml"; delay_hours = 3; } ); },
        { name = "news-resend"; trigger = { not_opened = "news-1"; within_days = 14; };
          steps = ( { name = "again"; send = "event-invitation-reminder.en.eml"; } ); },
        { name = "webinar-followup"; trigger = { opened = "webinar-*"; };
          steps = ( { name = "recording"; send = "event-programme.en.eml"; delay_days = 8; } ); },
        { name = "mql-handoff"; trigger = { segment = "mql"; on = "enter"; };
          steps = ( { name = "mark"; tag = "mql"; },
                    { name = "sales"; notify = "sales@example.com"; template = "mql-handoff.eml";
                      delay_days = 30; } ); }
    );
END
echo "};" >>"$T/postbeacon.conf"
[ -n "${SEGMENTS:-}" ] && cat >>"$T/postbeacon.conf" <<END
templates = { dir = "$top_srcdir/config/templates"; };
submit = { command = "/bin/false"; from = "Bench <bench@example.com>"; };
END

# The mix: 45% sent, 35% open (40% of them machine: privacy proxies), 17%
# click (10% machine, 1 in 10 to /pricing), 2% unsubscribe, 1% purchase.
awk -v n="$N" -v now="$(date +%s%3N)" 'BEGIN {
    srand(42);
    for (i = 0; i < n; i++) {
        c = int(rand() * 100000); k = int(rand() * 20); r = rand();
        camp = (k < 4 ? "webinar-" k : "news-" k); msg = sprintf("%08x%08x", c, k);
        ts = now - int(rand() * 86400000 * 7);
        cls = "human";
        if (r < 0.45) { t = "sent"; extra = "links 7 rcpts 1"; cls = "" }
        else if (r < 0.80) { t = "open"; extra = "imputed 0"; if (rand() < 0.4) cls = "machine" }
        else if (r < 0.97) { t = "click"; if (rand() < 0.1) cls = "machine";
            extra = "link 2 url https://shop.example.com/" (rand() < 0.1 ? "pricing" : "sofas") "?utm_source=newsletter" }
        else if (r < 0.99) { t = "unsubscribe"; extra = "" }
        else { t = "purchase"; extra = "amount 99"; cls = "" }
        # %.0f, not %d: mawk caps %d at 2^31 - 1 (every ts came out as 2147483647, in 1970)
        printf "XADD pb:events * type %s eid %032x ts %.0f msg %s contact %016x campaign %s %s%s\r\n",
            t, i, ts, msg, c, camp, extra, (cls == "" ? "" : " ua Mozilla/5.0 ip 192.0.2.0 class " cls " reason -")
    }
}' >"$T/events.resp"

load() {
    rc FLUSHALL >/dev/null
    local t0=$(date +%s.%N)
    rc --pipe <"$T/events.resp" >/dev/null
    echo "$(date +%s.%N) $t0" | awk -v n="$N" '{ printf "loaded %d events with redis-cli --pipe: %.0f events/s\n", n, n / ($1 - $2) }'
}
redis_cpu() { rc INFO cpu | awk -F: '/^used_cpu_(sys|user):/ { s += $2 } END { printf "%.3f", s }'; }
scorer_cpu() { awk '{ printf "%.3f", ($14 + $15) / '"$(getconf CLK_TCK)"' }' "/proc/$1/stat"; }

run() {                         # run SCORERS
    local k=$1 pids=() cpu=0 t0 t1 r0 r1 mem0 mem1
    load
    mem0=$(rc INFO memory | awk -F: '/^used_memory:/ { print $2 + 0 }')
    r0=$(redis_cpu)
    t0=$(date +%s.%N)
    for i in $(seq "$k"); do
        "$SCORER" --once -c "$T/postbeacon.conf" -i "s$i" 2>"$T/s$i.log" &
        pids+=($!)
    done
    # CPU of each scorer just before it exits: poll its /proc entry
    for p in "${pids[@]}"; do
        local last=0
        while [ -e "/proc/$p/stat" ]; do last=$(scorer_cpu "$p" 2>/dev/null || echo "$last"); sleep 0.05; done
        wait "$p"
        cpu=$(echo "$cpu $last" | awk '{ print $1 + $2 }')
    done
    t1=$(date +%s.%N)
    r1=$(redis_cpu)
    mem1=$(rc INFO memory | awk -F: '/^used_memory:/ { print $2 + 0 }')
    local contacts=$(rc EVAL "local n,c=0,'0' repeat local r=redis.call('SCAN',c,'MATCH','pb:contact:*','COUNT',1000) c=r[1]
        for _,k in ipairs(r[2]) do if not string.find(k,':scores') and not string.find(k,':rules') then n=n+1 end end
        until c=='0' return n" 0)
    local pending=$(rc XPENDING pb:events scorer | head -1)
    echo "$t0 $t1 $r0 $r1 $cpu $mem0 $mem1 $contacts $pending" | awk -v n="$N" -v k="$k" '{
        wall = $2 - $1;
        printf "%d scorer(s): %.0f events/s (%.2f s), scorer CPU %.2f us/event, Redis CPU %.2f us/event, ",
            k, n / wall, wall, $5 * 1e6 / n, ($4 - $3) * 1e6 / n;
        printf "%d contacts scored, Redis memory +%.0f bytes per contact, %d left pending\n",
            $8, ($7 - $6) / $8, $9 }'
    grep -h "done:" "$T"/s*.log | sed 's/^/    /'
    [ -n "${SEGMENTS:-}" ] && echo "    segment members: $(for g in mql sql interest-sofas dormant active suppressed a-leads; do printf '%s %s, ' $g "$(rc ZCARD pb:segment:$g)"; done)wake-ups queued $(rc ZCARD pb:wake), log $(rc XLEN pb:segment-log), follow-ups queued $(rc ZCARD pb:wf:due), follow-up log $(rc XLEN pb:wf:log)"
    return 0
}

echo "== XADD ceiling (redis-benchmark, 16 clients, pipeline 32, entries like the mix)"
redis-benchmark -s "$SOCK" -q -n 500000 -c 16 -P 32 XADD pb:bench '*' type click \
    eid 0123456789abcdef0123456789abcdef ts 1800000000000 msg 0123456789abcdef \
    contact 0123456789abcdef campaign news-1 link 2 url https://shop.example.com/sofas \
    ua Mozilla/5.0 ip 192.0.2.0 class human reason - | tr '\r' '\n' | grep -v '^$' | tail -1
rc DEL pb:bench >/dev/null
echo "== $N events, 100k contacts, 20 campaigns, 10 rules${SEGMENTS:+, 5 fit rules, grade, 8 segments}, batch ${BATCH:-256}"
for k in ${RUNS:-1 2}; do run "$k"; done
