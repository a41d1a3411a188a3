# scorer-lib.sh - what the scorer benches share (sourced by scorer-bench.sh,
# scorer-latency.sh, scorer-reload.sh): a private redis-server on a unix
# socket in $T, the configuration they all score with, and the newsletter
# mix of events. One place, so the three measure the same setup.
#
# Before sourcing: top_srcdir. It sets SCORER (the binary: $SCORER, else
# $top_builddir/scorer/postbeacon-scorer, top_builddir defaulting to
# build/), T (a temporary directory) and a trap that removes T, stops the
# private Redis and the scorer whose pid is in spid. SEGMENTS=1 (before
# sl_conf) adds 5 fit rules, a grade, 8 segments and 5 workflows to the 10
# scoring rules.

top_builddir=${top_builddir:-$top_srcdir/build}
SCORER=${SCORER:-$top_builddir/scorer/postbeacon-scorer}
[ -x "$SCORER" ] || { echo "no $SCORER: build first (top_builddir=...)"; exit 1; }
T=$(mktemp -d "${TMPDIR:-/tmp}/pbsc.XXXXXX")
spid=
trap '[ -n "$spid" ] && kill "$spid" 2>/dev/null; [ -f "$T/redis.pid" ] && kill "$(cat "$T/redis.pid")"; rm -rf "$T"' EXIT
SOCK=$T/redis.sock
rc() { redis-cli -s "$SOCK" "$@"; }

# sl_redis [ARG ...]: start the private redis-server (extra arguments: its
# configuration, e.g. --hash-max-listpack-entries 512).
sl_redis() {
    redis-server --port 0 --unixsocket "$SOCK" --save "" --appendonly no --daemonize yes \
        --pidfile "$T/redis.pid" --logfile "$T/redis.log" "$@"
    for _ in $(seq 50); do [ -S "$SOCK" ] && break; sleep 0.1; done
}

# sl_conf FILE [BATCH]: the configuration, scoring into the private Redis.
sl_conf() {
    cat >"$1" <<END
tracking = { base_url = "https://t.example.com"; };
redis = { socket = "$SOCK"; timeout_ms = 2000; };
scorer = {
    user = ""; pidfile = ""; batch = ${2:-256}; half_life_days = 30;
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
    # grade and five workflows of the sample configuration's kinds. Their
    # send steps are due days after the events (none within a run: nothing
    # is submitted); the MQL handoff's first step, a tag, is due at once and
    # done by the claim script, as in production.
    [ -n "${SEGMENTS:-}" ] && cat >>"$1" <<END
    fit = (
        { name = "dach"; attribute = "country"; in = [ "DE", "AT", "CH" ]; points = 20; },
        { name = "german"; attribute = "language"; equals = "de"; points = 5; },
        { name = "customer"; tag = "customer"; points = 15; },
        { name = "adult"; age = [ 25, 65 ]; points = 10; },
        { name = "company"; attribute = "attr:employees"; range = [ 50, 100000 ]; points = 20; }
    );
    grade = { fit = [ 40, 25, 10 ]; behaviour = [ 100, 50, 20 ]; };
    segments = (
        { name = "mql"; behaviour_at_least = ${MQL:-20}; },
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
    echo "};" >>"$1"
    [ -n "${SEGMENTS:-}" ] && cat >>"$1" <<END
templates = { dir = "$top_srcdir/config/templates"; };
submit = { command = "/bin/false"; from = "Bench <bench@example.com>"; };
END
    return 0
}

# sl_events N CONTACTS FILE: N events of the mix over CONTACTS contacts
# (ids: %016x of 0..CONTACTS-1) and 20 campaigns, times in the last 7
# days, as redis-cli --pipe input. The mix: 45% sent, 35% open (40% of
# them machine: privacy proxies), 17% click (10% machine, 1 in 10 to
# /pricing), 2% unsubscribe, 1% purchase.
sl_events() {
    awk -v n="$1" -v contacts="$2" -v now="$(date +%s%3N)" 'BEGIN {
        srand(42);
        for (i = 0; i < n; i++) {
            c = int(rand() * contacts); k = int(rand() * 20); r = rand();
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
    }' >"$3"
}

redis_cpu() { rc INFO cpu | awk -F: '/^used_cpu_(sys|user):/ { s += $2 } END { printf "%.3f", s }'; }
scorer_cpu() { awk '{ printf "%.3f", ($14 + $15) / '"$(getconf CLK_TCK)"' }' "/proc/$1/stat"; }
used_memory() { rc INFO memory | awk -F: '/^used_memory:/ { print $2 + 0 }'; }
# kB of resident memory of process $1
rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status" 2>/dev/null; }
median() { sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
