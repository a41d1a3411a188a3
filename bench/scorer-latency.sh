#!/bin/bash
# scorer-latency.sh - how long after an event's XADD its segment entry is
# recorded, with postbeacon-scorer running as a daemon under a steady load
# (issue 8: p99 < 100 ms at half the maximum rate). A paced generator
# writes the newsletter mix of scorer-bench.sh (SEGMENTS=1 configuration:
# 8 segments, 5 workflows) at RATE events/s for SECONDS; every PROBE-th
# event is instead a probe: a human click on /sofas by a contact never
# seen before, which puts it into the segment interest-sofas. A probe's
# latency is the time of its <p>segment-log entry's id (Redis' clock when
# the batch script recorded the entry) minus the time of its own stream
# id (Redis' clock at its XADD). Each round starts from an empty Redis and
# a new scorer; the figures are the medians of ROUNDS rounds.
#
#   bench/scorer-latency.sh [RATE [SECONDS]]   # default 20000 events/s, 10 s
#   ROUNDS=5 PROBE=100 SCORER=path/to/postbeacon-scorer bench/scorer-latency.sh
#
# RATE should be half of what scorer-bench.sh measures for one scorer on
# the same machine. See bench/README.md.
set -eu

RATE=${1:-20000} SECONDS_RUN=${2:-10} ROUNDS=${ROUNDS:-5} PROBE=${PROBE:-100}
top_srcdir=$(cd "$(dirname "$0")/.." && pwd)
. "$top_srcdir/bench/scorer-lib.sh"    # SCORER, T, rc, sl_*
SEGMENTS=1
sl_redis
sl_conf "$T/postbeacon.conf"
sl_events $((RATE * SECONDS_RUN)) 100000 "$T/events.resp"

# The paced writer: the mix's lines at RATE a second (in 10 ms slices),
# every PROBE-th one replaced by a probe of contact f<round>x<n>; what was
# written to stdout (redis-cli --pipe), the probes' count to fd 3.
pace() {
    python3 - "$T/events.resp" "$RATE" "$SECONDS_RUN" "$PROBE" "$1" 3>"$T/probes" <<'PY'
import os, sys, time
path, rate, secs, every, rnd = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
lines = open(path, "rb").read().split(b"\r\n")[:-1]
out, slice_n, start, sent, probes = sys.stdout.buffer, max(1, rate // 100), time.monotonic(), 0, 0
while sent < len(lines) and time.monotonic() - start < secs:
    chunk = []
    for line in lines[sent:sent + slice_n]:
        sent += 1
        if sent % every == 0:
            probes += 1
            now = int(time.time() * 1000)
            line = (b"XADD pb:events * type click eid %032x ts %d msg 00000000000000f1 contact f%sx%d "
                    b"campaign news-1 link 2 url https://shop.example.com/sofas?utm_source=probe "
                    b"ua Mozilla/5.0 ip 192.0.2.0 class human reason -" % (probes, now, rnd.encode(), probes))
        chunk.append(line)
    out.write(b"\r\n".join(chunk) + b"\r\n")
    out.flush()
    delay = start + sent / rate - time.monotonic()
    if delay > 0:
        time.sleep(delay)
os.write(3, b"%d %d %.3f\n" % (probes, sent, time.monotonic() - start))
PY
}

# id time and contact of every entry of KEYS[1] whose contact starts with
# "f" (and, when ARGV[1] is given, whose segment is ARGV[1]): a scan in
# pages of 1000, after the run
SCAN_LUA="local out,start={},'-'
repeat
  local r=redis.call('XRANGE',KEYS[1],start,'+','COUNT',1000)
  for _,e in ipairs(r) do
    local f,c,g=e[2],nil,nil
    for j=1,#f,2 do if f[j]=='contact' then c=f[j+1] elseif f[j]=='segment' then g=f[j+1] end end
    if c and string.sub(c,1,1)=='f' and (ARGV[1]==nil or g==ARGV[1]) then
      out[#out+1]=string.match(e[1],'^%d+') out[#out+1]=c end
  end
  if #r>0 then start='('..r[#r][1] end
until #r<1000
return out"

caught_up() {                   # the group has read and acknowledged everything
    rc XINFO GROUPS pb:events | awk 'p == "pending" { pend = $1 } p == "lag" { lag = $1 } { p = $1 }
        END { exit !(pend == 0 && lag == 0) }'
}

round() {                       # round N: prints "p50 p99 probes matched written seconds"
    rc FLUSHALL >/dev/null
    "$SCORER" -f -c "$T/postbeacon.conf" -i lat 2>"$T/scorer.log" &
    spid=$!
    for _ in $(seq 100); do rc EXISTS pb:events | grep -q 1 && break; sleep 0.05; done
    pace "$1" | rc --pipe >/dev/null
    for _ in $(seq 600); do caught_up && break; sleep 0.1; done
    kill "$spid"; wait "$spid" || true; spid=
    rc --raw EVAL "$SCAN_LUA" 1 pb:events >"$T/sent"
    rc --raw EVAL "$SCAN_LUA" 1 pb:segment-log interest-sofas >"$T/entered"
    python3 - "$T/sent" "$T/entered" "$T/probes" <<'PY'
import sys
def pairs(path):
    v = open(path).read().split()
    return {v[i + 1]: int(v[i]) for i in range(0, len(v), 2)}
sent, entered = pairs(sys.argv[1]), pairs(sys.argv[2])
probes, written, secs = open(sys.argv[3]).read().split()
lat = sorted(entered[c] - t for c, t in sent.items() if c in entered)
pick = lambda q: lat[min(len(lat) - 1, int(q * len(lat)))] if lat else -1
print(pick(0.5), pick(0.99), probes, len(lat), int(int(written) / float(secs)))
PY
}

echo "== $ROUNDS rounds of $SECONDS_RUN s at $RATE events/s, one probe in $PROBE (SEGMENTS=1 configuration)"
p50s=() p99s=()
for ((i = 1; i <= ROUNDS; i++)); do
    read -r p50 p99 probes matched rate < <(round "$i")
    echo "round $i: p50 $p50 ms, p99 $p99 ms ($matched of $probes probes entered; $rate events/s written)"
    p50s+=("$p50") p99s+=("$p99")
done
echo "median of $ROUNDS rounds: p50 $(printf '%s\n' "${p50s[@]}" | median) ms, p99 $(printf '%s\n' "${p99s[@]}" | median) ms"
