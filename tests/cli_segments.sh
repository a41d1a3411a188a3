#!/bin/bash
# cli_segments.sh - postbeacon segments and postbeacon segment NAME
# against a private redis-server, with segment sets and a segment log as
# the scorer leaves them: the list has every configured segment in order
# with its kind, its size (what the sorted set holds) and the entries and
# exits of the window (only entries of the window counted, also beyond
# one page of the log); a segment's members are listed newest first with
# their entry times and addresses, as text, CSV (also with ";") and JSON;
# 25,000 members with ties across the page boundaries come out once each,
# in three ZRANGE pages, and 20,001 of one entry time; --limit; an unknown segment is exit 1 naming the
# configured ones; usage errors exit 2.
#
# Run by `make check`. Exit 77 (skip) only when redis-server, redis-cli,
# python3 or openssl is missing.
set -u

top_builddir=${top_builddir:-$(pwd)}
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/.." && pwd)}
. "$top_srcdir/tests/lib/cli-test.sh"
CT_SCORER='grade = { fit = [ 60, 40, 20 ]; behaviour = [ 100, 50, 20 ]; };
  segments = (
    { name = "mql"; behaviour_at_least = 50; },
    { name = "dormant"; dormant_days = 90; },
    { name = "suppressed"; suppressed = true; },
    { name = "hanse"; attribute = "city"; in = [ "Berlin", "Hamburg" ]; },
    { name = "sofas"; clicked = "*/sofas*"; within_days = 30; },
    { name = "leads"; grade = [ "A1", "B1" ]; },
    { name = "big"; fit_below = 10.5; },
    { name = "mailable-mql"; all = [ "mql" ]; not = [ "suppressed" ]; }
  );'
ct_setup pbsegments
printf 'email,first_name\nann@example.com,Ann\nbob@example.com,Bob\ncarl@example.com,Carl\n' >"$T/c.csv"
"$PB" -c "$CONF" contacts import "$T/c.csv" >/dev/null || exit 99
ANN=$(contact_of ann@example.com) BOB=$(contact_of bob@example.com) CARL=$(contact_of carl@example.com)
now_ms=$(($(date +%s) * 1000)) day=86400000
py() { printf '%s' "$out" | python3 -c "import csv,io,json,sys; s=sys.stdin.read(); $1"; }

# ---- the sets and the log, as the scorer writes them --------------------------------------
# mql: Ann entered first, Carl last; Bob is in mailable-mql and suppressed
rc ZADD pb:segment:mql 1796119200000 "$ANN" 1796205600000 "$BOB" 1796292000000 "$CARL" >/dev/null
rc ZADD pb:segment:mailable-mql 1796205600000 "$BOB" >/dev/null
rc ZADD pb:segment:suppressed 1796119200000 "$ANN" >/dev/null
# big: 25,000 members, 30 at each entry time, so that ties straddle the
# pages of 10,000; each with an address u<i>@example.com
python3 -c "
for i in range(25000):
    cid = '%016x' % (0xb000000000000000 + i)
    print('ZADD pb:segment:big %d %s' % (1796119200000 + (i // 30) * 1000, cid))
    print('HSET pb:contact:%s email u%d@example.com' % (cid, i))
" | rc >/dev/null
# the log: 10 days ago (outside the default window), then yesterday; the
# stream ids are the times the scorer wrote the entries
log() { rc XADD pb:segment-log "$1" segment "$2" contact "$3" op "$4" at 1 >/dev/null; }
log "$((now_ms - 10 * day))-0" mql "$ANN" enter
log "$((now_ms - 10 * day))-1" mql "$BOB" leave
log "$((now_ms - day))-0" mql "$BOB" enter
log "$((now_ms - day))-1" mql "$CARL" enter
log "$((now_ms - day))-2" dormant "$CARL" leave
log "$((now_ms - day))-3" removed-segment "$CARL" enter
# 12,000 entries into big in the last hour: more than one page of the log
python3 -c "
for i in range(12000):
    print('XADD pb:segment-log %d-%d segment big contact %016x op enter at 1' % ($now_ms - 3600000, i, i))
" | rc >/dev/null

# ---- segments -------------------------------------------------------------------------------
pb segments
expect "segments: exit 0" equals "$code" 0
row() { printf '%s\n' "$out" | grep -E "^$1 " | sed 's/  \+/|/g'; }
expect "segments: header" equals "$(printf '%s\n' "$out" | head -1 | tr -s ' ')" \
    "segment kind members entered_7d left_7d"
expect "segments: mql: kind, size, entries and exits of 7 days" equals "$(row mql)" "mql|behaviour ≥ 50|3|2|0"
expect "segments: dormant" equals "$(row dormant)" "dormant|dormant 90 days|0|0|1"
expect "segments: an attribute segment" equals "$(row hanse)" "hanse|city in berlin, hamburg|0|0|0"
expect "segments: an interest segment" equals "$(row sofas)" "sofas|clicked */sofas* within 30 days|0|0|0"
expect "segments: a grade segment" equals "$(row leads)" "leads|grade A1, B1|0|0|0"
expect "segments: big, its entries over two pages of the log" equals "$(row big)" "big|fit < 10.5|25000|12000|0"
expect "segments: a combination" equals "$(row mailable-mql)" "mailable-mql|all of mql; not suppressed|1|0|0"
expect "segments: in configuration order, removed ones left out" equals \
    "$(printf '%s\n' "$out" | tail -n +2 | cut -d' ' -f1 | tr '\n' ' ')" \
    "mql dormant suppressed hanse sofas leads big mailable-mql "
pb segments --json --days 30
expect "segments --json --days 30: exit 0" equals "$code" 0
expect "segments --json: sizes equal the sets' ZCARD" equals \
    "$(py 'print(" ".join(r["members"] for r in json.loads(s)))')" \
    "$(for g in mql dormant suppressed hanse sofas leads big mailable-mql; do rc ZCARD pb:segment:$g; done | tr '\n' ' ' | sed 's/ $//')"
expect "segments --json --days 30: the older entries and exits too" equals \
    "$(py 'r=[r for r in json.loads(s) if r["segment"]=="mql"][0]; print(r["kind"], r["entered_30d"], r["left_30d"])')" \
    "behaviour ≥ 50 3 1"
pb segments --csv
expect "segments --csv: parses, one row a segment" equals \
    "$(py 'r=list(csv.DictReader(io.StringIO(s))); print(len(r), r[3]["kind"], r[6]["members"])')" \
    "8 city in berlin, hamburg 25000"

# ---- segment NAME -----------------------------------------------------------------------------
pb segment mql
expect "segment: exit 0" equals "$code" 0
expect "segment: newest first, with entry time, id and address" equals "$(printf '%s\n' "$out" | sed -n 2p)" \
    "2026-12-03 10:00:00Z  $CARL  carl@example.com"
expect "segment: the oldest last" equals "$(printf '%s\n' "$out" | sed -n 4p)" \
    "2026-12-01 10:00:00Z  $ANN  ann@example.com"
expect "segment: the count" equals "$(printf '%s\n' "$out" | tail -1)" "3 members"
pb segment --json mql
expect "segment --json: the members with times and addresses" equals \
    "$(py 'print([(r["email"], r["entered"]) for r in json.loads(s)])')" \
    "[('carl@example.com', '2026-12-03 10:00:00Z'), ('bob@example.com', '2026-12-02 10:00:00Z'), ('ann@example.com', '2026-12-01 10:00:00Z')]"
pb segment --separator ';' mql
expect "segment --separator ';': a CSV for German spreadsheets" equals \
    "$(py 'print([r["contact"] + "/" + r["email"] for r in csv.DictReader(io.StringIO(s), delimiter=";")])')" \
    "['$CARL/carl@example.com', '$BOB/bob@example.com', '$ANN/ann@example.com']"
expect "segment --separator ';': the header" equals "$(printf '%s\n' "$out" | head -1 | tr -d '\r')" "entered;contact;email"
pb segment --json dormant
expect "segment of an empty segment: an empty list" equals "$out" "[]"

# 25,000 members: all of them once, newest first, in pages
rc CONFIG RESETSTAT >/dev/null
pb segment --csv big
expect "segment --csv big: exit 0" equals "$code" 0
expect "segment big: read in three pages of 10,000" contains "$(rc INFO commandstats)" "cmdstat_zrange:calls=3,"
expect "segment big: every member once, each with its own address, newest first" equals "$(py '
r = list(csv.DictReader(io.StringIO(s)))
ids = [int(x["contact"], 16) - 0xb000000000000000 for x in r]
ok = all(x["email"] == "u%d@example.com" % i for x, i in zip(r, ids))
order = all(a["entered"] >= b["entered"] for a, b in zip(r, r[1:]))
print(len(r), len(set(ids)), sorted(ids) == list(range(25000)), ok, order)')" "25000 25000 True True True"
pb segment --limit 12345 --csv big
expect "segment --limit: that many rows, the newest" equals \
    "$(py 'r=list(csv.DictReader(io.StringIO(s))); print(len(r), len(set(x["contact"] for x in r)), min(int(x["contact"],16) - 0xb000000000000000 for x in r))')" \
    "12345 12345 12655"
# 20,001 members entered at the same millisecond (a re-evaluation): pages
# of one score, each after the members of that score listed before
python3 -c "
for i in range(20001):
    print('ZADD pb:segment:sofas 1796119200000 %016x' % (0xc000000000000000 + i))
" | rc >/dev/null
pb segment --csv sofas
expect "segment: 20,001 members of one entry time, each once" equals \
    "$(py 'r=list(csv.DictReader(io.StringIO(s))); print(len(r), len(set(x["contact"] for x in r)))')" "20001 20001"
pb segment --limit 2 big
expect "segment --limit, text: says how many of how many" equals "$(printf '%s\n' "$out" | tail -1)" "2 of 25000 members"

# ---- errors -------------------------------------------------------------------------------------
pb segment nosuch
expect "unknown segment: exit 1" equals "$code" 1
expect "unknown segment: names the configured ones" contains "$out" \
    'no segment "nosuch"'
expect "unknown segment: the list" contains "$out" "configured: mql, dormant, suppressed, hanse, sofas, leads, big, mailable-mql"
pb segment removed-segment
expect "a segment no longer configured: exit 1" equals "$code" 1
pb segment
expect "segment without a name: exit 2" equals "$code" 2
pb segment mql big
expect "segment with two names: exit 2" equals "$code" 2
pb segment --limit 0 mql
expect "segment --limit 0: exit 2" equals "$code" 2
pb segment --separator x mql
expect "segment --separator x: exit 2" equals "$code" 2
pb segment --json --separator ';' mql
expect "segment --json --separator: exit 2" equals "$code" 2
pb segments --days 0
expect "segments --days 0: exit 2" equals "$code" 2
pb segments mql
expect "segments with an argument: exit 2" equals "$code" 2
pb segment --help
expect "segment --help: exit 0, says the order" equals "$code/$(printf '%s' "$out" | grep -c 'newest entry')" "0/1"
rc SET pb:segment-log wrongtype >/dev/null
pb segments
expect "segments with an unreadable log: exit 1" equals "$code" 1
expect "segments with an unreadable log: says what it read" contains "$out" "reading the segment log"
CT_SCORER='' ct_write_conf
pb segments
expect "segments without scorer.segments: exit 1, says so" equals "$code/$(printf '%s' "$out" | grep -c 'defines no scorer.segments')" "1/1"
pb segment mql
expect "segment without scorer.segments: exit 1" equals "$code" 1
tap_finish
