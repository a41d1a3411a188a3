# report-fixture.sh - the campaigns behind tests/cli_report.sh and
# tests/cli_report_html.sh (sourced after tests/lib/cli-test.sh): a private
# Redis filled as the programs fill it, with figures the tests compute by
# hand (the table in tests/cli_report.sh).
#
#   rf_setup TAG    ct_init, a configuration, Redis, keys, the fixture, the scorer's run
#
# How it is written:
#   - sends, opens, clicks and unsubscribes through the milter's and the
#     tracker's own Lua scripts (tests/event-tool), at fixed times
#     relative to T0 (5 days ago, on the hour): counters, unique sets,
#     link counters, imputed opens and stream entries are theirs;
#   - the send record <p>send:spring and <p>send:spring:to with HSET, in
#     the form docs/redis-schema.md gives for postbeacon send (A/B test
#     with variants a and b, a the winner);
#   - segments, the segment log and the follow-up log by the real scorer
#     (postbeacon-scorer --once) over that stream: opens score 10, clicks
#     30; active, mql (40), sql (90), dormant (30 days), suppressed; mql
#     entry starts workflow "follow", which sends hello.eml (captured),
#     an A/B test of variants x and y; the milter's record of those mails
#     (campaign follow:hello:<variant>) is written after the scorer's run.
#
# Campaigns: spring (A/B: spring:a to c1 c2, spring:b to c3 c4, the
# remainder to c5..c10), winter (other software, c10 c11, 40 days before
# T0), bulk (other software, 1,234 campaign-level mails, 10 days before
# T0), follow:hello (the follow-up, as the milter records it).

export TZ=Europe/Berlin
EVENT_TOOL=$top_builddir/tests/event-tool
SCORER=$top_builddir/scorer/postbeacon-scorer
H=3600000 D=86400000 M=60000

rf_conf() {                     # rf_conf LANGUAGE
    cat >"$CONF" <<CONF
tracking = { base_url = "https://t.example.net"; };
keys = { file = "$KEYS"; };
redis = { socket = "$SOCK"; prefix = "pb:"; timeout_ms = 2000; };
tracker = { user = ""; bots_file = "$top_srcdir/config/bots.conf"; };
scorer = {
    user = ""; pidfile = "$T/scorer.pid"; block_ms = 100; half_life_days = 0;
    rules = ( { name = "open"; event = "open"; points = 10; },
              { name = "click"; event = "click"; points = 30; } );
    segments = ( { name = "active"; active_days = 30; },
                 { name = "mql"; behaviour_at_least = 40; },
                 { name = "sql"; behaviour_at_least = 90; },
                 { name = "dormant"; dormant_days = 30; },
                 { name = "suppressed"; suppressed = true; } );
    workflows = ( { name = "follow"; trigger = { segment = "mql"; on = "enter"; };
                    steps = ( { name = "hello"; send = "hello.eml";
                                variants = ( { name = "x"; share = 50; },
                                             { name = "y"; share = 50; send = "hello-y.eml"; } ); } ); } );
};
submit = { command = "/bin/sh $top_srcdir/tests/lib/capture-submit.sh $T/out 0 0"; };
templates = { dir = "$T/templates"; };
report = { language = "$1"; funnel = [ "active", "mql", "sql" ]; dormant = "dormant"; };
CONF
}

rf_events() {
    local i t m
    for i in 1 2 3 4 5 6 7 8 9 10 11; do eval "C$i=\$(contact_of c$i@example.com)"; done
    {
        echo "sent $(printf %016x 1011) $C10 c10@example.com winter $((T0 - 40 * D)) 2"
        echo "sent $(printf %016x 1012) $C11 c11@example.com winter $((T0 - 40 * D + M)) 2"
        for i in $(seq 1 1234); do
            echo "sent $(printf %016x $((5000 + i))) - - bulk $((T0 - 10 * D + i)) 3"
        done
        for i in 1 2; do echo "sent $(printf %016x $i) $(eval echo \$C$i) c$i@example.com spring:a $T0 2"; done
        for i in 3 4; do echo "sent $(printf %016x $i) $(eval echo \$C$i) c$i@example.com spring:b $T0 2"; done
        echo "click $(printf %016x 4) $C4 spring:b $((T0 + M)) machine 0 https://shop.example.com/a?utm_source=newsletter scanner:fixture"
        echo "open $(printf %016x 2) $C2 spring:a $((T0 + 10 * M)) machine apple-mpp"
        echo "open $(printf %016x 1) $C1 spring:a $((T0 + H)) human"
        echo "click $(printf %016x 1) $C1 spring:a $((T0 + H + 5 * M)) human 0 https://shop.example.com/a?utm_source=newsletter"
        echo "click $(printf %016x 1) $C1 spring:a $((T0 + 2 * H)) human 1 https://shop.example.com/b?x=<1>&y=\"2\""
        echo "open $(printf %016x 3) $C3 spring:b $((T0 + 2 * H)) human"
        echo "click $(printf %016x 2) $C2 spring:a $((T0 + 3 * H)) human 0 https://shop.example.com/a?utm_source=newsletter"
        echo "click $(printf %016x 1) $C1 spring:a $((T0 + 4 * H)) human 0 https://shop.example.com/a?utm_source=newsletter"
        for i in 5 6 7 8 9 10; do
            echo "sent $(printf %016x $i) $(eval echo \$C$i) c$i@example.com spring $((T0 + D)) 2"
        done
        echo "open $(printf %016x 7) $C7 spring $((T0 + D + M)) machine apple-mpp"
        echo "open $(printf %016x 5) $C5 spring $((T0 + D + H)) human"
        echo "open $(printf %016x 5) $C5 spring $((T0 + D + 2 * H)) human"
        echo "open $(printf %016x 6) $C6 spring $((T0 + 2 * D)) human"
        echo "unsubscribe $(printf %016x 6) $C6 spring $((T0 + 2 * D + 5 * M))"
        echo "open $(printf %016x 10) $C10 spring $((T0 + 2 * D + H)) human"
    } | "$EVENT_TOOL" "$SOCK" pb: || { echo "ERROR: event-tool failed"; exit 99; }
}

# The send record of spring, as postbeacon send leaves it (docs/redis-schema.md).
rf_send_record() {
    local i
    rc HSET pb:send:spring template spring.eml segment newsletter created_at "$T0" due_at "$T0" \
        state done members 11 sent 10 suppressed 1 failed 0 uncertain 0 \
        finished_at $((T0 + D + M)) variants a,b \
        variant:a:subject "Spring <A> & more" variant:a:campaign spring:a variant:a:sent 2 \
        variant:b:subject "Spring B" variant:b:campaign spring:b variant:b:sent 2 \
        test_share 40 winner_by clicks winner_at $((T0 + D - M)) winner a decided_at $((T0 + D - M)) \
        decision "a: 2 unique human clicks of 2 sent (100.0%); b: 0 of 2 (0.0%); a wins" >/dev/null
    for i in 1 2; do rc HSET pb:send:spring:to "$(eval echo \$C$i)" "sent a $T0" >/dev/null; done
    for i in 3 4; do rc HSET pb:send:spring:to "$(eval echo \$C$i)" "sent b $T0" >/dev/null; done
    for i in 5 6 7 8 9 10; do rc HSET pb:send:spring:to "$(eval echo \$C$i)" "sent - $((T0 + D))" >/dev/null; done
    rc HSET pb:send:spring:to 00000000000000ff "suppressed - $((T0 + D))" >/dev/null
}

rf_scorer() {
    mkdir -p "$T/templates" "$T/out"
    printf 'From: Shop <news@example.com>\nSubject: Hello again\nContent-Type: text/plain; charset=utf-8\n\nHello {{first_name|there}}.\n' \
        >"$T/templates/hello.eml"
    sed 's/Hello again/Hi there/' "$T/templates/hello.eml" >"$T/templates/hello-y.eml"
    "$SCORER" -f --once -c "$CONF" >"$T/scorer.log" 2>&1 || { cat "$T/scorer.log"; echo "ERROR: scorer failed"; exit 99; }
}

# The follow-ups the scorer sent, as the milter records them: each under
# the campaign of its A/B variant (the contact's wfv: field).
rf_followup_sends() {
    local v1 v2
    v1=$(rc HGET "pb:contact:$C1" "wfv:follow|hello") v2=$(rc HGET "pb:contact:$C2" "wfv:follow|hello")
    FOLLOW_X=$( (echo "$v1"; echo "$v2") | grep -c '^x$')
    printf 'sent %016x %s c1@example.com follow:hello:%s %s 1\nsent %016x %s c2@example.com follow:hello:%s %s 1\n' \
        901 "$C1" "$v1" $((T0 + H + 6 * M)) 902 "$C2" "$v2" $((T0 + 3 * H + M)) \
        | "$EVENT_TOOL" "$SOCK" pb: || { echo "ERROR: event-tool failed"; exit 99; }
}

rf_setup() {
    ct_init "$1"
    T0=$((($(date +%s) / 3600 * 3600 - 5 * 86400) * 1000))
    rf_conf en
    ct_start_redis
    "$PB" -c "$CONF" keys generate >/dev/null || exit 99
    rf_events
    rf_send_record
    rf_scorer
    rf_followup_sends
}

# local time of unix ms as the report writes it
rf_time() { date -d "@$(($1 / 1000))" '+%Y-%m-%d %H:%M %Z'; }
rf_arg() { date -d "@$(($1 / 1000))" '+%Y-%m-%d %H:%M'; }
