#!/bin/bash
# postfix-bench.sh - throughput of a private Postfix with no milter, with
# the floor milter (bench/floor-milter: reads the body and replaces it with
# the same bytes) and with postbeacon-milter (Redis running), in one run.
#
#   bench/postfix-bench.sh [REPEATS [MESSAGES]]     (as root)
#
# Each way sends MESSAGES (default 2000) copies of an ~85 KB quoted-printable
# HTML newsletter built from the corpus (campaign header, one recipient)
# with `smtp-source -F FILE -s 10 -m MESSAGES`, through smtpd (marked
# ORIGINATING, so postbeacon-milter rewrites it) to an smtp-sink that only
# counts. Timed: from the start of smtp-source until the sink has received
# every message. REPEATS (default 5) rounds, the ways interleaved in each
# round (in a rotating order, after one warm-up of a tenth of the messages
# each); the median of each way is reported, with the ratios
# postbeacon/floor (target >= 0.95) and floor/none. The time smtp-source
# needs to hand all messages to smtpd (where the milter works) is reported
# too, and each milter's CPU time per message (user + system, all threads,
# from /proc/PID/stat), per round and as a median, with the CPU ratios
# beside the throughput ratios (postbeacon/floor-hdr: target <= 1.25).
# Build first (make) in $top_builddir (default: build/ of the source
# tree). SESSIONS (default 10) overrides the session count.
#
# A fourth way, floor-hdr (`floor-milter -H`: the floor plus the steps
# postbeacon-milter needs before the body, connect, recipients, every
# header and end of headers, with the same no-reply steps), splits the
# difference between the floor and postbeacon-milter into the protocol
# cost of reading headers and the cost of the rewrite itself.
set -eu

top_srcdir=$(cd "$(dirname "$0")/.." && pwd)
top_builddir=${top_builddir:-$top_srcdir/build}
repeats=${1:-5}
messages=${2:-2000}
sessions=${SESSIONS:-10}
lib=$top_srcdir/tests/lib
corpus=$top_srcdir/tests/data/corpus/html     # the in-tree copy of the shared corpus

. "$lib/private-postfix.sh"
. "$lib/postbeacon-env.sh"

[ "$(id -u)" = 0 ] || { echo "postfix-bench: run as root" >&2; exit 1; }
pf_have_postfix && pb_have_redis && command -v smtp-source >/dev/null \
    || { echo "postfix-bench: needs postfix, smtp-source, smtp-sink, redis-server" >&2; exit 1; }
for bin in milter/postbeacon-milter bench/floor-milter; do
    [ -x "$top_builddir/$bin" ] \
        || { echo "postfix-bench: $top_builddir/$bin missing; build first (make)" >&2; exit 1; }
done

# ---- the message ----------------------------------------------------------------
pb_env_init "$top_builddir"
html=("$corpus"/postmark-templates/*/content.html "$corpus/leemunroe/email-inlined.html")
message=$PB_DIR/newsletter.eml
python3 "$lib/newsletter.py" --campaign bench-spring --from news@example.com \
    --to reader@example.org --size 87000 "${html[@]}" >"$message"

# ---- milters, Postfix, sink ---------------------------------------------------------
pb_keys_write
pb_conf_write '"example.com"'
pb_redis_start
pb_milter_start
floor_sock=$PB_DIR/floor.sock
"$top_builddir/bench/floor-milter" "unix:$floor_sock" 2>>"$PB_DIR/floor.log" &
floor_pid=$!
pf_at_exit "kill $floor_pid"
floor_hdr_sock=$PB_DIR/floor-hdr.sock
"$top_builddir/bench/floor-milter" -H "unix:$floor_hdr_sock" 2>>"$PB_DIR/floor.log" &
floor_hdr_pid=$!
pf_at_exit "kill $floor_hdr_pid"
for ((i = 0; i < 50; i++)); do [ -S "$floor_sock" ] && [ -S "$floor_hdr_sock" ] && break; sleep 0.1; done

pf_init ""
# Let smtpd take mail as fast as it can: no slow-down when the queue
# manager lags (the same for every way).
postconf -c "$PF_CONF" -e "in_flow_delay = 0" >/dev/null
pf_sink_start count
pf_start

declare -A milter_of=([none]="" [floor]="unix:$floor_sock" [floor-hdr]="unix:$floor_hdr_sock"
                      [postbeacon]="$PB_MILTER_ADDR")
ways=(none floor floor-hdr postbeacon)
results=$PB_DIR/results

declare -A pid_of=([none]="" [floor]="$floor_pid" [floor-hdr]="$floor_hdr_pid" [postbeacon]="$PB_MILTER_PID")
hz=$(getconf CLK_TCK)

# CPU time of a process so far, in ticks: "user system" (all threads).
cpu_ticks() {
    [ -n "$1" ] || { echo 0 0; return; }
    awk '{ sub(/^.*\) /, ""); print $12, $13 }' "/proc/$1/stat"
}

# run_way WAY N: send N copies; prints "seconds_total seconds_inject
# milter_user_seconds milter_system_seconds".
run_way() {
    local start_count t0 t1 t2 c0 c1
    start_count=$(pf_sink_count)
    c0=$(cpu_ticks "${pid_of[$1]}")
    t0=$(date +%s.%N)
    smtp-source -F "$message" -s "$sessions" -m "$2" -f news@example.com \
        -t reader@example.org "127.0.0.1:$PF_PORT" >>"$PB_DIR/smtp-source.log" 2>&1
    t1=$(date +%s.%N)
    pf_wait_delivered $((start_count + $2)) 600 >/dev/null \
        || { echo "postfix-bench: $1: not all messages delivered" >&2; return 1; }
    t2=$(date +%s.%N)
    c1=$(cpu_ticks "${pid_of[$1]}")
    awk -v t0="$t0" -v t1="$t1" -v t2="$t2" -v c0="$c0" -v c1="$c1" -v hz="$hz" \
        'BEGIN { split(c0, a, " "); split(c1, b, " ")
                 printf "%.3f %.3f %.2f %.2f\n", t2 - t0, t1 - t0, (b[1] - a[1]) / hz,
                        (b[2] - a[2]) / hz }'
}

echo "postfix-bench: $messages messages of $(wc -c <"$message") bytes, $sessions sessions," \
     "$repeats rounds; Postfix $(postconf -d -h mail_version), $(nproc) CPUs"
events_before=$(pb_redis XLEN pb:events)
for ((round = 1; round <= repeats; round++)); do
    # Rotate the order each round so no way always runs first or last.
    for ((k = 0; k < ${#ways[@]}; k++)); do
        way=${ways[(k + round - 1) % ${#ways[@]}]}
        pf_set_milter "${milter_of[$way]}"
        if [ "$round" = 1 ]; then    # warm-up: processes, page cache, connections
            run_way "$way" $((messages / 10 > 0 ? messages / 10 : 1)) >/dev/null
        fi
        times=$(run_way "$way" "$messages") || exit 1
        read -r total inject user sys <<<"$times"
        printf 'round %d  %-10s  %6.2f s  %7.1f msg/s   (smtpd took them in %6.2f s; milter CPU %s)\n' \
            "$round" "$way" "$total" "$(awk -v n="$messages" -v t="$total" 'BEGIN { print n / t }')" \
            "$inject" "$(awk -v n="$messages" -v u="$user" -v s="$sys" -v w="$way" 'BEGIN {
                if (w == "none") print "-"
                else printf "%.3f ms/msg: user %.3f, system %.3f", 1000 * (u + s) / n,
                            1000 * u / n, 1000 * s / n }')"
        echo "$way $total $inject $user $sys $round" >>"$results"
    done
done
events_after=$(pb_redis XLEN pb:events)

# ---- report -----------------------------------------------------------------------------
python3 - "$results" "$messages" <<'EOF'
import statistics, sys
rows = [l.split() for l in open(sys.argv[1])]
n = int(sys.argv[2])
med, cpu = {}, {}
# milter CPU per message (ms) of each way in each round: user + system
per_round = {(r[0], r[5]): 1000 * (float(r[3]) + float(r[4])) / n for r in rows}
print("\nmedian per way (end to end: until smtp-sink has every message)")
for way in ("none", "floor", "floor-hdr", "postbeacon"):
    mine = [r for r in rows if r[0] == way]
    total = statistics.median(float(r[1]) for r in mine)
    inject = statistics.median(float(r[2]) for r in mine)
    med[way] = (n / total, n / inject)
    shown = "-"
    if way != "none":
        cpu[way] = statistics.median(per_round[(way, r[5])] for r in mine)
        user = statistics.median(1000 * float(r[3]) / n for r in mine)
        system = statistics.median(1000 * float(r[4]) / n for r in mine)
        shown = "%.3f ms/msg (user %.3f, system %.3f)" % (cpu[way], user, system)
    print("  %-10s %8.1f msg/s   %8.1f msg/s into smtpd   milter CPU %s"
          % (way, n / total, n / inject, shown))
print("ratios (milter CPU: of the medians per message; per round in brackets)")
for a, b in (("postbeacon", "floor"), ("floor", "none"), ("postbeacon", "none"),
             ("floor-hdr", "floor"), ("postbeacon", "floor-hdr")):
    line = ("  %-10s / %-10s  %.3f   (into smtpd: %.3f)"
            % (a, b, med[a][0] / med[b][0], med[a][1] / med[b][1]))
    if a in cpu and b in cpu:
        rounds = sorted({r[5] for r in rows}, key=int)
        line += "   milter CPU %.3f [%s]" % (cpu[a] / cpu[b], " ".join(
            "%.2f" % (per_round[(a, k)] / per_round[(b, k)]) for k in rounds))
    print(line)
if "postbeacon" in cpu and "floor-hdr" in cpu:
    ratio = cpu["postbeacon"] / cpu["floor-hdr"]
    print("postbeacon-milter CPU per message: %.3f x floor-hdr's (target <= 1.25)  %s"
          % (ratio, "met" if ratio <= 1.25 else "not met"))
EOF
warm=$((messages / 10 > 0 ? messages / 10 : 1))
echo "postbeacon-milter recorded $((events_after - events_before)) sends in Redis" \
     "(expected $((repeats * messages)), plus $warm warm-up messages before the first round)"
grep -ci "warning.*milter" "$PF_LOG" | sed 's/^/Postfix milter warnings: /'
