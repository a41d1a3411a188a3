#!/bin/bash
# cli_report.sh - postbeacon report against a private redis-server holding
# the campaigns of tests/lib/report-fixture.sh (written through the
# milter's and the tracker's own scripts, the scorer run over them). Every
# figure below is computed by hand from that fixture and asserted exactly,
# as text (English and German), --json and --csv:
#
#   spring (postbeacon send, A/B; T0 = 5 days ago on the hour)
#     spring:a  c1 c2 at T0   c1: open +1h, clicks link 0 +1h5m and +4h, link 1 +2h
#                             c2: machine open (apple-mpp) +10m, human click link 0 +3h
#                                 (no human open before it: an imputed open)
#     spring:b  c3 c4 at T0   c3: open +2h; c4: scanner click link 0 +1m
#     spring    c5..c10 at T0+1d (the remainder, winner a)
#                             c5: opens +1h, +2h; c6: open +2d, unsubscribe +2d5m
#                             c7: machine open +1m; c10: open +2d1h (c10 was dormant)
#     => delivered 10, sent 10 (suppressed 1); opens human 7 (unique 6, imputed 1),
#        machine 2/2; clicks human 4/2, machine 1/1; unsubscribes 1; open rate
#        6/10 = 60.0%, CTR 2/10 = 20.0%, CTOR 2/6 = 33.3%; machine 20.0%, 10.0%,
#        1/2 = 50.0%; link 1: human 3 (unique 2), machine 1/1; link 2: human 1/1.
#     Scorer (open 10, click 30): active c1 c2 c3 c5 c6 c10 (6), mql c1 (+1h5m),
#     c2 (+3h), sql c1 (+4h), suppressed c6, c10 leaves dormant (+2d1h); mql
#     starts workflow follow: 2 follow-ups sent.
#     Funnel: 11 contacts, active 6 (54.5%), mql 2 (33.3%), sql 1 (50.0%);
#     median into active (from first_seen) of 1h 1h 2h 3h 24h 42d1h = 2.5 h,
#     into mql of 5m and 0 = 3 min (2.5, rounded), into sql 2h55m = 2.9 h.
#   winter: c10 c11 40 days before T0, bulk: 1,234 campaign-level mails, both
#     mail of other software; follow:hello: the two follow-ups as the milter saw them.
#   Period T0+1d .. T0+3d: remainder sends 6 (suppressed 1), opens human 4/3,
#     machine 1/1, unsubscribes 1; open rate 3/6 = 50.0%, unsubscribe 16.7%;
#     active 3 entries, c10's exit from dormant (reactivated 1), no follow-up.
#
# Also: a period reaching back before every send counts what the counters
# say; without a period the event stream is not read (MONITOR); a trimmed
# stream is said to be incomplete; the funnel is measured on a sample of
# a stage over 10,000 members; unknown campaign exit 1; usage errors exit
# 2; report.funnel naming no segment fails report and config check with
# file and line.
#
# Run by `make check`. Exit 77 (skip) only when redis-server, redis-cli,
# python3 or openssl is missing.
set -u

top_builddir=${top_builddir:-$(pwd)}
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/.." && pwd)}
. "$top_srcdir/tests/lib/cli-test.sh"
. "$top_srcdir/tests/lib/report-fixture.sh"
rf_setup pbreport

# "label|cell|cell" lines: the columns of the text tables, split on runs of spaces
norm() { printf '%s\n' "$out" | sed 's/^ *//; s/ *$//; s/  \+/|/g'; }
has() { norm | grep -qxF -- "$1" || { echo "#   no line \"$1\" in:"; norm | sed 's/^/#   /'; return 1; }; }
js() { printf '%s' "$out" | python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }
since_arg=$(rf_arg $((T0 + D))) until_arg=$(rf_arg $((T0 + 3 * D)))

# ---- one campaign, its counters -------------------------------------------------------
pb report spring
expect "report spring: exit 0" equals "$code" 0
for line in "Campaign: spring" "Type: campaign send" "Template: spring.eml" "State: done" \
    "First sent: $(rf_time "$T0")" "Last sent: $(rf_time $((T0 + D)))" \
    "Period: whole campaign (counters)" \
    "Sent by postbeacon|10" "Delivered to Postfix|10" "Suppressed|1" "Failed|0" "Uncertain|0" \
    "Opens, human|7|6" "of which imputed|1" "Opens, machine|2|2" "Clicks, human|4|2" \
    "Clicks, machine (scanners)|1|1" "Unsubscribes|1" \
    "Open rate|60.0%|20.0%" "Click rate (CTR)|20.0%|10.0%" "Click-to-open rate (CTOR)|33.3%|50.0%" \
    "Unsubscribe rate|10.0%|–" \
    "1|https://shop.example.com/a?utm_source=newsletter|3|2|1|1" \
    "2|https://shop.example.com/b?x=<1>&y=\"2\"|1|1|0|0" \
    "a|Spring <A> & more|2|2|2|100.0%|2|100.0%" "b|Spring B|2|2|1|50.0%|0|0.0%" \
    "remainder (a)|Spring <A> & more|6|6|3|50.0%|0|0.0%" "Winner: a (by clicks)" \
    "Decision: a: 2 unique human clicks of 2 sent (100.0%); b: 0 of 2 (0.0%); a wins" \
    "active|6|0" "dormant|0|1" "mql|2|0" "sql|1|0" "suppressed|1|0" "follow:hello|2" "total|2" \
    "all contacts|11" "active|6|54.5%|2.5 h|6|6" "mql|2|33.3%|3 min|2|2" "sql|1|50.0%|2.9 h|1|1" \
    "Dormant: 1" "Reactivated: 1 (left the dormant segment through an event, last 30 days)"; do
    expect "report spring: $line" has "$line"
done
expect "report spring: no note (nothing incomplete)" lacks "$out" "Note:"

# without a period the campaign's figures are its counters: the stream is not read
rc MONITOR >"$T/monitor" 2>&1 &
MON=$!
sleep 0.3
pb report spring
sleep 0.3
kill "$MON" 2>/dev/null; wait "$MON" 2>/dev/null
expect "report spring (no period): the event stream is not read" lacks \
    "$(grep -i '"xrange"' "$T/monitor")" '"pb:events"'
expect "report spring (no period): the logs are" contains "$(cat "$T/monitor")" '"pb:wf:log"'

pb report --json spring
expect "report --json: exit 0" equals "$code" 0
expect "--json: the same figures" equals "$(js '" ".join(str(x) for x in [d["campaign"], d["type"],
    d["sent"], d["suppressed"], d["delivered"], d["opens"]["human"], d["opens"]["machine"],
    d["clicks"]["human"], d["clicks"]["machine"], d["unsubscribes"]])')" \
    "spring send 10 1 10 {'total': 7, 'unique': 6, 'imputed': 1} {'total': 2, 'unique': 2} {'total': 4, 'unique': 2} {'total': 1, 'unique': 1} 1"
expect "--json: rates in percent, human and machine" equals \
    "$(js 'd["rates_pct"]')" \
    "{'open_rate': {'human': 60.0, 'machine': 20.0}, 'ctr': {'human': 20.0, 'machine': 10.0}, 'ctor': {'human': 33.3, 'machine': 50.0}, 'unsubscribe_rate': 10.0}"
expect "--json: links with index, position and URL" equals \
    "$(js '[(l["index"], l["position"], l["url"], l["clicks_human"], l["unique_clicks_human"], l["clicks_machine"]) for l in d["links"]]')" \
    "[(0, 1, 'https://shop.example.com/a?utm_source=newsletter', 3, 2, 1), (1, 2, 'https://shop.example.com/b?x=<1>&y=\"2\"', 1, 1, 0)]"
expect "--json: variants side by side, the winner and the decision" equals \
    "$(js '[(v["variant"], v["campaign"], v["sent"], v["delivered"], v["opens"]["human"]["unique"], v["rates_pct"]["ctr"]["human"]) for v in d["ab_test"]["variants"] + [d["ab_test"]["remainder"]]], d["ab_test"]["winner"], d["ab_test"]["winner_by"]')" \
    "[('a', 'spring:a', 2, 2, 2, 100.0), ('b', 'spring:b', 2, 2, 1, 0.0), ('remainder', 'spring', 6, 6, 3, 0.0)] a clicks"
expect "--json: segment entries and exits the campaign caused" equals "$(js 'd["segments"]')" \
    "{'entered': {'active': 6, 'mql': 2, 'sql': 1, 'suppressed': 1}, 'left': {'dormant': 1}}"
expect "--json: follow-ups it led to" equals "$(js 'd["follow_ups"]')" \
    "{'total': 2, 'by_step': {'follow:hello': 2}}"
expect "--json: the funnel" equals \
    "$(js 'd["funnel"]["contacts"], [(s["stage"], s["contacts"], s["conversion_pct"], s["median_ms"], s["measured"], s["sampled"], s["entered"]) for s in d["funnel"]["stages"]], d["funnel"]["active"], d["funnel"]["dormant"], d["funnel"]["reactivated"]')" \
    "11 [('active', 6, 54.5, 9000000, 6, False, 6), ('mql', 2, 33.3, 150000, 2, False, 2), ('sql', 1, 50.0, 10500000, 1, False, 1)] 6 1 1"
expect "--json: the period and no notes" equals "$(js 'd["period"], d["notes"]')" \
    "{'since_ms': None, 'until_ms': None, 'source': 'counters'} []"

pb report --csv spring
expect "report --csv: exit 0" equals "$code" 0
csvpy() { printf '%s' "$out" | python3 -c "import csv,io,sys; t=[list(csv.reader(io.StringIO(b.strip('\r\n')), delimiter='$1')) for b in sys.stdin.read().split('\r\n\r\n') if b.strip()]; $2"; }
expect "--csv: tables of plain numbers, stable names" equals \
    "$(csvpy , 'print([r for r in t[2] if r[0] in ("figure", "opens_human")], t[3][1], t[4][1])')" \
    "[['figure', 'total', 'unique'], ['opens_human', '7', '6']] ['open_rate', '60.0', '20.0'] ['1', 'https://shop.example.com/a?utm_source=newsletter', '3', '2', '1', '1']"

# ---- a period: counted from the stream -------------------------------------------------
pb report --since "$since_arg" --until "$until_arg" spring
expect "report --since --until: exit 0" equals "$code" 0
for line in "Period: $(rf_time $((T0 + D))) – $(rf_time $((T0 + 3 * D))) (figures of the period from the event stream)" \
    "Sent by postbeacon|6" "Delivered to Postfix|6" "Suppressed|1" \
    "Opens, human|4|3" "of which imputed|0" "Opens, machine|1|1" "Clicks, human|0|0" \
    "Clicks, machine (scanners)|0|0" "Unsubscribes|1" "Open rate|50.0%|16.7%" \
    "Click rate (CTR)|0.0%|0.0%" "Unsubscribe rate|16.7%|–" \
    "a|Spring <A> & more|0|0|0|–|0|–" "remainder (a)|Spring <A> & more|6|6|3|50.0%|0|0.0%" \
    "active|3|0" "dormant|0|1" "suppressed|1|0" "total|0" \
    "active|6|54.5%|2.5 h|6|3" "mql|2|33.3%|3 min|2|0" \
    "Reactivated: 1 (left the dormant segment through an event)"; do
    expect "report in a period: $line" has "$line"
done
expect "report in a period: no mql entry in it" lacks "$(norm)" "mql|2|0"
pb report --json --since "$since_arg" --until "$until_arg" spring
expect "--json in a period: from the stream" equals \
    "$(js 'd["period"]["source"], d["delivered"], d["opens"]["human"], d["unsubscribes"], d["funnel"]["window"]["from_ms"] == d["period"]["since_ms"]')" \
    "stream 6 {'total': 4, 'unique': 3, 'imputed': 0} 1 True"
# a period from before the first send: the stream counts what the counters do
pb report --json spring
whole=$(js 'json.dumps([d[k] for k in ("delivered", "opens", "clicks", "unsubscribes", "links", "segments")])')
pb report --json --since "$(date -d "@$((T0 / 1000 - 86400))" +%F)" spring
expect "a period from before every send counts what the counters say" equals \
    "$(js 'json.dumps([d[k] for k in ("delivered", "opens", "clicks", "unsubscribes", "links", "segments")])')" "$whole"

# ---- the other kinds of campaign, and every campaign --------------------------------------
pb report follow:hello
expect "a follow-up campaign: its kind, the follow-ups the scorer sent" equals \
    "$(norm | grep -E '^(Type|Sent by|Delivered)')" \
    "Type: follow-up
Sent by postbeacon|2
Delivered to Postfix|2"
# its A/B variants x and y: sent as the scorer's log says (its variant
# field), delivered as the milter counted follow:hello:x and :y
expect "a follow-up's variants side by side" equals "$(norm | grep -E '^(x|y)\|')" \
    "x|hello.eml|$FOLLOW_X|$FOLLOW_X|0|$([ "$FOLLOW_X" = 0 ] && echo – || echo 0.0%)|0|$([ "$FOLLOW_X" = 0 ] && echo – || echo 0.0%)
y|hello-y.eml|$((2 - FOLLOW_X))|$((2 - FOLLOW_X))|0|$([ "$FOLLOW_X" = 2 ] && echo – || echo 0.0%)|0|$([ "$FOLLOW_X" = 2 ] && echo – || echo 0.0%)"
pb report winter
expect "mail of other software: not sent by postbeacon, only the milter's count" equals \
    "$(norm | grep -E '^(Type|Sent by|Delivered|Note)')" \
    "Type: mail of other software
Note: this mail was not sent by postbeacon: only the milter's count of mail delivered to Postfix is known
Sent by postbeacon|– (not sent by postbeacon)
Delivered to Postfix|2"
pb report --all
expect "report --all: exit 0" equals "$code" 0
expect "report --all: one line a campaign, newest first, variants in their campaign" equals \
    "$(norm | sed -n '/^Campaign|/,/^$/p')" \
    "Campaign|Type|Sent|Delivered|Unique human opens|Open rate|Unique human clicks|Click rate (CTR)|CTOR|Unique machine opens|Unsubscribes|Follow-ups sent
follow:hello|follow-up|2|2|0|0.0%|0|0.0%|–|0|0|0
spring|campaign send|10|10|6|60.0%|2|20.0%|33.3%|2|1|2
bulk|mail of other software|–|1,234|0|0.0%|0|0.0%|–|0|0|0
winter|mail of other software|–|2|0|0.0%|0|0.0%|–|0|0|0"
pb report --all --json
expect "report --all --json: the campaigns and the funnel" equals \
    "$(js '[(c["campaign"], c["type"], c["sent"], c["delivered"], c["follow_ups"]["total"]) for c in d["campaigns"]], d["funnel"]["contacts"]')" \
    "[('follow:hello', 'follow-up', 2, 2, 0), ('spring', 'send', 10, 10, 2), ('bulk', 'other', None, 1234, 0), ('winter', 'other', None, 2, 0)] 11"

# an A/B test whose winner is not decided yet
rc HDEL pb:send:spring winner decided_at decision >/dev/null
pb report spring
expect "a winner not decided yet: says so, and when it is due" has \
    "Winner: not decided yet (by clicks, due $(rf_time $((T0 + D - M))))"
pb report --json spring
expect "... --json: no winner, when it is due" equals \
    "$(js 'd["ab_test"]["winner"], d["ab_test"]["winner_at_ms"] == '$((T0 + D - M))', d["ab_test"]["decided_at_ms"]')" \
    "None True None"
rf_send_record

# ---- German -----------------------------------------------------------------------------
rf_conf de
pb report spring
for line in "Kampagne: spring" "Art: Kampagnenversand" "Von postbeacon versendet|10" \
    "An Postfix übergeben|10" "Öffnungen, Menschen|7|6" "davon erschlossen|1" \
    "Öffnungsrate|60,0 %|20,0 %" "Klickrate (CTR)|20,0 %|10,0 %" \
    "Klick-zu-Öffnungsrate (CTOR)|33,3 %|50,0 %" "Abmelderate|10,0 %|–" \
    "Rest (a)|Spring <A> & more|6|6|3|50,0 %|0|0,0 %" "Gewinner: a (nach Klicks)" \
    "active|6|54,5 %|2,5 Std.|6|6" "Zeitraum: gesamte Kampagne (Zähler)"; do
    expect "German: $line" has "$line"
done
pb report --all
expect "German: thousands separators" has "bulk|Mail anderer Software|–|1.234|0|0,0 %|0|0,0 %|–|0|0|0"
pb report --csv --separator ';' spring
expect "German --csv --separator ';': decimal commas in a ';' CSV" equals \
    "$(csvpy ';' 'print(t[3][1], t[3][0])')" "['open_rate', '60,0', '20,0'] ['rate', 'human_pct', 'machine_pct']"
rf_conf en

# ---- errors -----------------------------------------------------------------------------
pb report nosuch
expect "unknown campaign: exit 1" equals "$code" 1
expect "unknown campaign: says so" contains "$out" 'no campaign "nosuch"'
pb report
expect "report without a campaign: exit 2" equals "$code" 2
pb report --all spring
expect "report --all with a campaign: exit 2" equals "$code" 2
pb report --since yesterday spring
expect "report --since yesterday: exit 2, says how to write it" equals "$code/$(printf '%s' "$out" | grep -c 'not a date or time')" "2/1"
pb report --since 2026-12-02 --until 2026-12-01 spring
expect "report --until before --since: exit 2" equals "$code" 2
pb report --json --html "$T/x.html" spring
expect "report --json --html: exit 2" equals "$code" 2
pb report --json --separator ';' spring
expect "report --json --separator: exit 2" equals "$code" 2
sed -i 's/funnel = \[ "active"/funnel = [ "nosuchseg"/' "$CONF"
line=$(grep -n 'nosuchseg' "$CONF" | cut -d: -f1)
pb report spring
expect "report.funnel naming no segment: exit 1" equals "$code" 1
expect "... with the file and line and the segments there are" contains "$out" \
    "$CONF:$line: report.funnel: \"nosuchseg\" is not a segment of scorer.segments (defined: active, mql, sql, dormant, suppressed"
pb config check
expect "config check says so too" contains "$out" "report: $CONF:$line: report.funnel: \"nosuchseg\""
rf_conf en

# ---- a big stage, a trimmed stream ---------------------------------------------------------
python3 -c "
for i in range(10001):
    print('ZADD pb:segment:sql %d %016x' % ($T0 + 5 * $H, 0xd000000000000000 + i))
" | rc >/dev/null
pb report --json spring
expect "a stage of over 10,000 members is measured on a sample, and says so" equals \
    "$(js '[(s["stage"], s["contacts"], s["sampled"], s["measured"] <= 1) for s in d["funnel"]["stages"]][2]')" \
    "('sql', 10002, True, True)"
pb report spring
expect "... in the text too" contains "$(norm | grep '^sql|')" "(sample)"
first=$(rc XRANGE pb:events - + COUNT 1 | head -1)
rc XTRIM pb:events MAXLEN 5 >/dev/null
first=$(rc XRANGE pb:events - + COUNT 1 | head -1)
pb report --since "$(date -d "@$((T0 / 1000 - 86400))" +%F)" spring
expect "a trimmed stream: the period's figures are said to be incomplete" contains "$out" \
    "Note: the event stream begins at $(rf_time "${first%-*}"): older entries were trimmed: the figures of the period are incomplete"
pb report --json --since "$(date -d "@$((T0 / 1000 - 86400))" +%F)" spring
expect "... and in --json" equals "$(js 'len(d["notes"])')" 1
pb report spring
expect "the counters (no period) do not depend on the stream: no note" lacks "$out" "Note:"
tap_finish
