#!/bin/bash
# scorer-reload.sh - postbeacon-scorer at CONTACTS contacts (default
# 1,000,000; issue 8): Redis memory per contact, the scorer's RSS over a
# run, and the time a reload that changes one segment rule takes to
# re-evaluate every contact.
#
# The contacts are written as the import writes them (cli/import_write.c:
# the attributes and created_at in <p>contact:<id>, the address in
# <p>contacts:by-email; pipelined HSETs here, without the import's signup
# entries), then scored from a backlog: one sent per contact (every
# contact gets a score) and EVENTS more of scorer-bench.sh's mix (default
# one per contact), with the SEGMENTS=1 configuration (5 fit rules, a
# grade, 8 segments, 5 workflows). Reported:
#   - the backlog's events/s, Redis' CPU per event, the scorer's RSS when
#     it had started, at its largest and before it exited;
#   - Redis memory per contact: used_memory after scoring, the stream of
#     events deleted (it is the milter's and tracker's, with its own
#     retention), minus before the contacts, divided by CONTACTS; and what
#     the keys of a sample of contacts and the global keys take;
#   - then the scorer as a daemon, SIGHUP with mql at 25 points instead of
#     20: the time until its log says the re-evaluation is done.
#
#   bench/scorer-reload.sh [CONTACTS [EVENTS]]
#   REDIS_ARGS="--hash-max-listpack-entries 256" bench/scorer-reload.sh   # Redis settings
set -eu

N=${1:-1000000}
EVENTS=${2:-$N}
top_srcdir=$(cd "$(dirname "$0")/.." && pwd)
. "$top_srcdir/bench/scorer-lib.sh"    # SCORER, T, rc, sl_*
SEGMENTS=1
# shellcheck disable=SC2086
sl_redis ${REDIS_ARGS:-}
sl_conf "$T/postbeacon.conf"

# The contacts as RESP: ids %016x of 0..N-1 (those of sl_events), ten
# attributes as the import writes them, created 30 to 400 days ago.
python3 - "$N" >"$T/contacts.resp" <<'PY'
import random, sys, time
n, now = int(sys.argv[1]), int(time.time())
random.seed(7)
out = sys.stdout.buffer
def cmd(*args):
    out.write(b"*%d\r\n" % len(args))
    for a in args:
        a = a.encode()
        out.write(b"$%d\r\n%s\r\n" % (len(a), a))
countries = ["DE"] * 8 + ["AT"] * 2 + ["CH", "FR", "NL", "US", "GB", "PL", "IT", "ES"]
for i in range(n):
    cid, email = "%016x" % i, "user%d@example.org" % i
    tags = "newsletter" + (",customer" if i % 5 == 0 else "") + (",vip" if i % 50 == 0 else "")
    cmd("HSET", "pb:contact:" + cid, "email", email, "first_name", "User", "last_name", "No %d" % i,
        "birthday", "%d-%02d-%02d" % (1950 + i % 55, i % 12 + 1, i % 28 + 1),
        "city", "City %d" % (i % 997), "country", random.choice(countries),
        "language", "de" if i % 3 else "en", "timezone", "Europe/Berlin", "tags", tags,
        "attr:employees", str(random.randint(1, 5000)),
        "created_at", str(now - random.randint(30, 400) * 86400))
    cmd("HSET", "pb:contacts:by-email", email, cid)
PY
# one sent per contact, then the mix
awk -v n="$N" -v now="$(date +%s%3N)" 'BEGIN { srand(11); for (i = 0; i < n; i++)
    printf "XADD pb:events * type sent eid %032x ts %.0f msg %016x contact %016x campaign news-%d links 7 rcpts 1\r\n",
        n + i, now - int(rand() * 86400000 * 7), i, i, i % 20 }' >"$T/sent.resp"
sl_events "$EVENTS" "$N" "$T/events.resp"

mem0=$(used_memory)
rc --pipe <"$T/contacts.resp" >/dev/null
rc --pipe <"$T/sent.resp" >/dev/null
rc --pipe <"$T/events.resp" >/dev/null
rm -f "$T"/*.resp
total=$((N + EVENTS))
echo "== $N contacts (10 attributes each), $total events (a sent per contact and $EVENTS of the mix), SEGMENTS=1${REDIS_ARGS:+, redis-server $REDIS_ARGS}"

# the backlog, with the scorer's RSS sampled every 0.2 s
r0=$(redis_cpu) t0=$(date +%s.%N)
"$SCORER" --once -c "$T/postbeacon.conf" -i s1 2>"$T/once.log" &
spid=$!
first= last= max=0
sleep 0.5                       # past its start-up: configuration read, connected
while [ -e "/proc/$spid/status" ]; do
    kb=$(rss_kb "$spid" || true)
    if [ -n "$kb" ]; then
        first=${first:-$kb} last=$kb
        [ "$kb" -gt "$max" ] && max=$kb
    fi
    sleep 0.2
done
wait "$spid"; spid=
t1=$(date +%s.%N) r1=$(redis_cpu)
echo "$t0 $t1 $r0 $r1" | awk -v n="$total" '{ printf "scored: %.0f events/s (%.1f s), Redis CPU %.2f us/event\n", n / ($2 - $1), $2 - $1, ($4 - $3) * 1e6 / n }'
echo "scorer RSS: $first kB after 0.5 s, $max kB at most, $last kB at the end"
grep -h "done:" "$T/once.log" | sed 's/^/    /'

# memory: the stream deleted, per contact; a sample of contacts' keys
rc DEL pb:events >/dev/null
mem1=$(used_memory)
echo "$mem0 $mem1" | awk -v n="$N" '{ printf "Redis memory per contact: %.0f bytes (used_memory %+.1f MB without the stream of events)\n", ($2 - $1) / n, ($2 - $1) / 1048576 }'
rc --raw EVAL "local n,s={},{0,0,0} local enc={}
for i=0,ARGV[1]-1 do
  local k='pb:contact:'..string.format('%016x',i*math.floor(tonumber(ARGV[2])/ARGV[1]))
  for j,suf in ipairs({'',':scores',':rules'}) do
    local m=redis.call('MEMORY','USAGE',k..suf,'SAMPLES','0')
    if m then s[j]=s[j]+m enc[j]=redis.call('OBJECT','ENCODING',k..suf) end
  end
end
return {tostring(s[1]/ARGV[1]),tostring(s[2]/ARGV[1]),tostring(s[3]/ARGV[1]),enc[1] or '-',enc[2] or '-',enc[3] or '-'}" 0 1000 "$N" |
    paste -sd' ' | awk '{ printf "    per contact (1000 sampled): hash %.0f bytes (%s), :scores %.0f (%s), :rules %.0f (%s)\n", $1, $4, $2, $5, $3, $6 }'
printf '    global keys, bytes per contact:'
for k in pb:contacts:by-email pb:wake pb:segment-log pb:wf:due pb:wf:log pb:segment:mql pb:segment:sql \
         pb:segment:interest-sofas pb:segment:dormant pb:segment:active pb:segment:birthday-week pb:segment:a-leads; do
    m=$(rc MEMORY USAGE "$k" SAMPLES 0)
    printf ' %s %s' "${k#pb:}" "$(( ${m:-0} / N ))"
done
echo

# a reload that changes one segment rule, timed by the scorer's own log
"$SCORER" -f -c "$T/postbeacon.conf" -i s1 2>"$T/daemon.log" &
spid=$!
sleep 1
MQL=25 sl_conf "$T/postbeacon.conf"
r0=$(redis_cpu) rss0=$(rss_kb "$spid") t0=$(date +%s.%N)
kill -HUP "$spid"
for _ in $(seq 3000); do grep -q "re-evaluation of segments done" "$T/daemon.log" && break; sleep 0.1; done
t1=$(date +%s.%N) r1=$(redis_cpu) rss1=$(rss_kb "$spid")
kill "$spid"; wait "$spid" || true; spid=
grep -h "re-evaluation of segments done" "$T/daemon.log" | sed 's/^/    /'
echo "$t0 $t1 $r0 $r1" | awk -v n="$N" '{ printf "reload (mql 20 -> 25): re-evaluated in %.1f s (from SIGHUP to the log line), %.0f contacts/s, Redis CPU %.2f us/contact\n", $2 - $1, n / ($2 - $1), ($4 - $3) * 1e6 / n }'
echo "    daemon RSS: $rss0 kB before SIGHUP, $rss1 kB after the pass; segment mql now $(rc ZCARD pb:segment:mql) members"
