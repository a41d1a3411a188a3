#!/bin/bash
# cli_import.sh - postbeacon contacts import and export against a private
# redis-server: invalid rows named by their physical line (counting line
# breaks inside quotes) and skipped while the rest is imported; ";" files
# with a byte order mark and CRLF (a German spreadsheet's export); quoted
# separators and line breaks; contact ids as lib/contact.c makes them;
# one signup entry per new contact and one profile entry per changed one
# (attrs naming the changed fields, no address or value in the stream);
# --welcome; importing the same file twice changes nothing the second
# time; export round-trips through import (both separators); 100,000
# rows (counted, not timed); the header's problems and usage errors.
#
# Run by `make check`. Exit 77 (skip) only when redis-server, redis-cli,
# python3 or openssl is missing.
set -u

top_builddir=${top_builddir:-$(pwd)}
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/.." && pwd)}
. "$top_srcdir/tests/lib/cli-test.sh"
ct_setup pbimport

entries() { rc XLEN pb:events; }
hget() { rc HGET "pb:contact:$(contact_of "$1")" "$2"; }
# every stream entry's fields, one per line (for "no address in the stream")
stream_text() { rc XRANGE pb:events - +; }

# ---- malformed rows, named by their physical line ------------------------------
printf '%s\n' \
    'email,first_name,city,birthday,timezone,tags,notes' \
    'ann@example.com,Ann,Köln,1990-04-23,Europe/Berlin,"news,vip","two' \
    'lines, and a comma"' \
    'not-an-address,Bad,,,,,' \
    'bob@example.com,Bob,Bonn,1990-02-30,,,' \
    '' \
    'cy@example.com,Cy,,,Mars/Olympus,,' \
    '"dan@example.com","Dan ""the man""",Berlin,--02-29,UTC,,"a' \
    '' \
    'b"' \
    'eve@example.com,Eve,"Köln' \
    'Nord",,,,' \
    'fay@example.com,Fay,,,,,,extra' \
    'gil@example.com' >"$T/bad.csv"
pb contacts import "$T/bad.csv"
expect "invalid rows: exit 1" equals "$code" 1
expect "line 4: the bad address" contains "$out" "bad.csv:4: email \"not-an-address\": not an address"
expect "line 5: the bad date" contains "$out" "bad.csv:5: birthday \"1990-02-30\": not a date"
expect "line 7 (after a blank line): the unknown time zone" contains "$out" \
    "bad.csv:7: timezone \"Mars/Olympus\": not an IANA time zone"
expect "line 11: a line break in a name" contains "$out" "bad.csv:11: city \"Köln\\nNord\""
expect "line 13: too many fields" contains "$out" "bad.csv:13: more fields than the header"
expect "no other row refused" equals "$(printf '%s\n' "$out" | grep -c 'row skipped')" 5
expect "summary" contains "$out" "8 rows: 3 new, 0 changed, 0 unchanged, 5 skipped as invalid"
expect "the good rows are there: ann" equals "$(hget ann@example.com city)" "Köln"
expect "quoted comma and line break kept" equals "$(hget ann@example.com attr:notes)" \
    "$(printf 'two\nlines, and a comma')"
expect "tags" equals "$(hget ann@example.com tags)" "news,vip"
expect "doubled quotes" equals "$(hget dan@example.com first_name)" 'Dan "the man"'
expect "a quoted blank line inside a value" equals "$(hget dan@example.com attr:notes)" "$(printf 'a\n\nb')"
expect "a row with only the address" equals "$(hget gil@example.com email)" "gil@example.com"
expect "the mapping uses lib/contact.c's id" equals "$(rc HGET pb:contacts:by-email ann@example.com)" \
    "$(contact_of ann@example.com)"
expect "refused rows wrote nothing" equals "$(rc HLEN pb:contacts:by-email)" 3
expect "one signup entry per new contact" equals "$(entries)" 3
expect "the entry is a signup from the import" equals \
    "$(rc XRANGE pb:events - + COUNT 1 | sed -n '2,20p' | paste -d= - - | grep -E '^(type|source|contact|attrs)=' | tr '\n' ' ')" \
    "type=signup contact=$(contact_of ann@example.com) source=import attrs=first_name,city,birthday,timezone,tags,attr:notes "
expect "no address in the stream" lacks "$(stream_text)" "@example.com"
expect "no value in the stream" lacks "$(stream_text)" "Köln"
expect "created_at set" test -n "$(hget ann@example.com created_at)"

# ---- the same file again: nothing changes ---------------------------------------
# the contacts' fields, sorted, without created_at (the import's time)
fields() { for k in $(rc --scan --pattern 'pb:contact:*' | sort); do echo "$k"
    rc --json HGETALL "$k" | python3 -c 'import json,sys; d=json.load(sys.stdin); d.pop("created_at",None); print(json.dumps(d,sort_keys=True))'; done; }
snapshot() { for k in $(rc --scan --pattern 'pb:contact:*' | sort); do echo "$k"; rc HGETALL "$k"; done; }
before=$(snapshot) n=$(entries)
pb contacts import "$T/bad.csv"
expect "again: summary says unchanged" contains "$out" "0 new, 0 changed, 3 unchanged"
expect "again: no new entry" equals "$(entries)" "$n"
expect "again: the hashes are the same" equals "$(snapshot)" "$before"

# ---- ';', BOM, CRLF; a change; --welcome -----------------------------------------
printf '\xef\xbb\xbfE-Mail;First Name;City;Tags;Plan\r\nANN@Example.com;Ann;Düsseldorf;news;pro\r\nhal@example.com;Hal;"Bonn; Beuel";;basic\r\n\r\n"ivy@example.com";Ivy;"a\r\nb";;\r\n' >"$T/de.csv"
pb contacts import --welcome "$T/de.csv"
expect "; file: the header needs an email column" contains "$out" 'no "email" column'
expect "; file without email column: exit 1" equals "$code" 1
printf '\xef\xbb\xbfemail;First Name;City;Tags;Plan\r\nANN@Example.com;Ann;Düsseldorf;news;pro\r\nhal@example.com;Hal;"Bonn; Beuel";;basic\r\n\r\n"ivy@example.com";Ivy;Ulm;;\r\njon@example.com;Jon;x;;"multi\r\nline"\r\n' >"$T/de.csv"
n=$(entries)
pb contacts import --welcome "$T/de.csv"
expect "; file: exit 0" equals "$code" 0
expect "; file: 3 new, 1 changed" contains "$out" "4 rows: 3 new, 1 changed, 0 unchanged, 0 skipped"
expect "; file: the BOM is not part of the first column" equals "$(hget hal@example.com email)" "hal@example.com"
expect "; file: a quoted ; is a value" equals "$(hget hal@example.com city)" "Bonn; Beuel"
expect "; file: CRLF is not part of the values" equals "$(hget ivy@example.com city)" "Ulm"
expect "; file: CRLF inside quotes becomes LF" equals "$(hget jon@example.com attr:plan)" "$(printf 'multi\nline')"
expect "; file: the address is normalised" equals "$(rc HLEN pb:contacts:by-email)" 6
expect "a change: the new city" equals "$(hget ann@example.com city)" "Düsseldorf"
expect "a change: tags added, not replaced" equals "$(hget ann@example.com tags)" "news,vip"
expect "4 entries for 4 changed contacts" equals "$(entries)" $((n + 4))
ann_entry=$(rc XRANGE pb:events - + | paste -d= - - | grep -A8 "contact=$(contact_of ann@example.com)" | tail -8)
expect "the changed contact's entry is a profile" contains \
    "$(rc XREVRANGE pb:events + - COUNT 4 | tr '\n' ' ')" "profile eid"
expect "its attrs name only what changed" contains "$(rc XREVRANGE pb:events + - COUNT 4 | tr '\n' ' ')" \
    "contact $(contact_of ann@example.com) campaign  source import attrs city,attr:plan"
welcome=$(rc XREVRANGE pb:events + - COUNT 4 | tr '\n' ' ')
expect "--welcome: new contacts' entries carry p:welcome 1" equals \
    "$(printf '%s' "$welcome" | grep -o 'p:welcome 1' | wc -l)" 3
: "$ann_entry"

# ---- export round-trips -----------------------------------------------------------
# a custom attribute named like a column (a signup's custom "city") is exported as attr:city
rc HSET "pb:contact:$(contact_of hal@example.com)" attr:city Beuel >/dev/null
pb contacts export -o "$T/out.csv"
expect "export: exit 0" equals "$code" 0
expect "export: header" equals "$(head -1 "$T/out.csv")" \
    "$(printf 'email,first_name,last_name,birthday,city,country,language,timezone,tags,attr:city,notes,plan\r')"
expect "export: one line per contact (plus the line breaks inside values)" equals \
    "$(python3 -c 'import csv,sys; print(len(list(csv.reader(open(sys.argv[1], newline="")))))' "$T/out.csv")" 7
pb contacts export --separator ';' -o "$T/out-de.csv"
before=$(fields)
rc FLUSHALL >/dev/null
pb contacts import "$T/out.csv"
expect "re-import of the export: exit 0" equals "$code" 0
expect "re-import: the same contacts" equals "$(fields)" "$before"
pb contacts export -o "$T/out2.csv"
expect "export, import, export: the same file" equals "$(sort "$T/out2.csv")" "$(sort "$T/out.csv")"
rc FLUSHALL >/dev/null
pb contacts import "$T/out-de.csv"
pb contacts export -o "$T/out3.csv"
expect "the ; export round-trips too" equals "$(sort "$T/out3.csv")" "$(sort "$T/out.csv")"

# ---- 100,000 rows ------------------------------------------------------------------
rc FLUSHALL >/dev/null
python3 - "$T/big.csv" <<'PY'
import sys
with open(sys.argv[1], "w") as f:
    f.write("email,first_name,city,timezone,tags,score_hint\n")
    for i in range(100000):
        f.write(f"user{i}@example.org,User {i},City {i % 97},Europe/Berlin,t{i % 7},{i}\n")
PY
pb contacts import "$T/big.csv"
expect "100k rows: exit 0" equals "$code" 0
expect "100k rows: summary" contains "$out" "100000 rows: 100000 new"
expect "100k rows: 100,000 addresses mapped" equals "$(rc HLEN pb:contacts:by-email)" 100000
expect "100k rows: 100,000 contact hashes" equals "$(rc EVAL "return #redis.call('KEYS','pb:contact:*')" 0)" 100000
expect "100k rows: 100,000 signup entries" equals "$(entries)" 100000
expect "100k rows: the last row's fields" equals "$(hget user99999@example.org attr:score_hint)" 99999
pb contacts import "$T/big.csv"
expect "100k rows again: all unchanged" contains "$out" "0 new, 0 changed, 100000 unchanged"
expect "no progress bar when not on a terminal" lacks "$out" "importing ["
if command -v script >/dev/null 2>&1; then
    script -qec "$PB -c $CONF contacts import $T/big.csv" /dev/null >"$T/tty.out" 2>&1
    expect "a progress bar on a terminal" contains "$(cat "$T/tty.out")" "importing ["
fi
expect "100k rows again: no entry added" equals "$(entries)" 100000

# ---- a Windows-1252 file -----------------------------------------------------------
printf 'email;city\r\nnia@example.com;K\xf6ln\r\nola@example.com;Bonn\r\n' >"$T/cp1252.csv"
pb contacts import "$T/cp1252.csv"
expect "a value that is not UTF-8: exit 1" equals "$code" 1
expect "a value that is not UTF-8: named, with the fix" contains "$out" "cp1252.csv:2: city: not UTF-8"
expect "a value that is not UTF-8: the other rows imported" equals "$(hget ola@example.com city)" Bonn

# ---- a quote that never closes ----------------------------------------------------
printf 'email,first_name\nkim@example.com,Kim\nlea@example.com,"Lea\nmax@example.com,Max\n' >"$T/open.csv"
pb contacts import "$T/open.csv"
expect "an unclosed quote: exit 1" equals "$code" 1
expect "an unclosed quote: its line named" contains "$out" "open.csv:3: a quoted field opened on this line is never closed"
expect "an unclosed quote: the rows before it imported" equals "$(hget kim@example.com first_name)" Kim
expect "an unclosed quote: nothing of it imported" equals "$(rc HEXISTS pb:contacts:by-email lea@example.com)" 0

# ---- usage and header errors ---------------------------------------------------------------
pb contacts import
expect "import without a file: exit 2" equals "$code" 2
pb contacts import --separator x "$T/big.csv"
expect "import --separator x: exit 2" equals "$code" 2
pb contacts import "$T/nonexistent.csv"
expect "import of a missing file: exit 1, named" equals "$code:$(printf '%s' "$out" | grep -c "nonexistent.csv: cannot open")" "1:1"
printf 'email,Bad Column!\nx@example.com,1\n' >"$T/hdr.csv"
pb contacts import "$T/hdr.csv"
expect "a column that cannot be an attribute: exit 1, named" equals \
    "$code:$(printf '%s' "$out" | grep -c 'hdr.csv:1: column 2 "Bad Column!"')" "1:1"
printf 'email,city,City\nx@example.com,a,b\n' >"$T/dup.csv"
pb contacts import "$T/dup.csv"
expect "a column twice: exit 1" equals "$code" 1
tap_finish
