#!/bin/bash
# cli_report_html.sh - postbeacon report --html FILE, opened in a real
# browser (headless Chromium from Debian): the report of the campaigns of
# tests/lib/report-fixture.sh (figures: tests/cli_report.sh) is one file
# without script, external stylesheet, font, image or link (every http(s)
# address in it is a tracked URL shown as escaped text); Chromium renders
# it (--dump-dom) with the figures, the labels in report.language, local
# times with their zone, and the charts (SVG: over time, per link,
# variants, funnel, active and dormant); no request leaves the file (any
# would fail against a resolver that knows no name, and be logged: shown
# to be caught with a page that makes one); the screenshot is not blank
# and shows the charts' colours; it prints (--print-to-pdf). Also the
# German report and report --all --html.
#
# Run by `make check`. Exit 77 (skip) only when chromium, redis-server,
# redis-cli, python3 or openssl is missing (scripts/install-deps.sh
# installs chromium; CI runs it).
set -u

top_builddir=${top_builddir:-$(pwd)}
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/.." && pwd)}
command -v chromium >/dev/null 2>&1 || { echo "SKIP: chromium is not installed"; exit 77; }
. "$top_srcdir/tests/lib/cli-test.sh"
. "$top_srcdir/tests/lib/report-fixture.sh"
rf_setup pbrephtml

# chromium headless, as root, with nothing of its own going out; stderr in $T/chromium.log
browse() {
    local profile
    profile=$(mktemp -d "$T/profile.XXXXXX")
    timeout 120 chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
        --disable-background-networking --disable-component-update --disable-sync \
        --user-data-dir="$profile" --host-resolver-rules="MAP * ~NOTFOUND" \
        --enable-logging=stderr --v=1 "$@" 2>"$T/chromium.log"
}
# every URL request the browser made (its network delegate logs them at
# --v=1), less Chromium's own to Google's services (time, accounts,
# updates), which the resolver rule makes fail: what the page asked for
requests() {
    sed -n 's/.*NotifyBeforeURLRequest: //p' "$T/chromium.log" \
        | grep -Ev '^https?://[a-z0-9.-]*(google\.com|googleapis\.com|gstatic\.com)/'
}
# errors the page caused (its console), e.g. a script error or a failed load
console() { grep -E ':CONSOLE\(|Uncaught' "$T/chromium.log"; }

pb report --html "$T/spring.html" spring
expect "report --html: exit 0, nothing on stdout" equals "$code/$out" "0/"
html=$(cat "$T/spring.html")
expect "one HTML document" contains "${html:0:40}" "<!DOCTYPE html>"
expect "no script" lacks "$html" "<script"
expect "no external stylesheet" lacks "$html" "<link"
expect "no src, href, url() or @import anywhere" equals \
    "$(grep -Eoi '(src|href|xlink:href)[[:space:]]*=|url\(|@import' "$T/spring.html" | sort -u)" ""
expect "every http(s) address is a tracked URL's (shop.example.com), as text" equals \
    "$(grep -Eo 'https?://[^/]*' "$T/spring.html" | sort -u)" "https://shop.example.com"
expect "user data is escaped: the URL" contains "$html" "https://shop.example.com/b?x=&lt;1&gt;&amp;y=&quot;2&quot;"
expect "user data is escaped: a subject" contains "$html" "Spring &lt;A&gt; &amp; more"
expect "a print stylesheet" contains "$html" "@media print"

dom=$(browse --dump-dom "file://$T/spring.html")
expect "chromium renders it (--dump-dom)" contains "$dom" "</html>"
expect "no request left the file" equals "$(requests)" ""
expect "no error on the console" equals "$(console)" ""
for want in "<h1>spring</h1>" '<span class="v">60.0%</span><span class="l">Open rate</span>' \
    '<span class="v">20.0%</span><span class="l">Click rate (CTR)</span>' \
    '<span class="v">33.3%</span><span class="l">Click-to-open rate (CTOR)</span>' \
    '<td>Opens, human</td><td class="n">7</td><td class="n">6</td>' \
    '<td>Delivered to Postfix</td><td class="n">10</td>' \
    "<dd>$(rf_time "$T0")</dd>" '<h2>Opens over time</h2>' '<h2>Clicks over time</h2>' \
    '<h2>Variants side by side</h2>' '<h2>Active and dormant contacts</h2>' \
    '<title>Clicks per link (human)</title>' '1. https://shop.example.com/a?utm_source=newsletter' \
    '<title>Funnel (all contacts)</title>' '>6 (54.5%)</text>' '>Active: 6</text>' \
    '>Dormant: 1</text>' '>100.0%</text>' '<td>Winner</td><td>a (by clicks)</td>'; do
    expect "the page shows: $want" contains "$dom" "$want"
done
expect "six charts" equals "$(printf '%s' "$dom" | grep -o '<svg' | wc -l)" 6

browse --window-size=1000,1600 --screenshot="$T/shot.png" "file://$T/spring.html" >/dev/null
expect "a screenshot" test -s "$T/shot.png"
read -r w h colours inked blue grey <<<"$(python3 "$top_srcdir/tests/lib/png_colours.py" "$T/shot.png" 1f6feb 8c959f)"
expect "the screenshot is the window's size" equals "$w x $h" "1000 x 1600"
expect "the screenshot is not blank: many colours ($colours)" test "${colours:-0}" -ge 50
expect "... and not white alone (${inked}% inked)" python3 -c "import sys; sys.exit(not $inked >= 2)"
expect "... with the charts' human colour ($blue pixels)" test "${blue:-0}" -ge 1000
expect "... and their machine colour ($grey pixels)" test "${grey:-0}" -ge 200

browse --print-to-pdf="$T/spring.pdf" "file://$T/spring.html" >/dev/null
expect "it prints: a PDF" equals "$(head -c 5 "$T/spring.pdf" 2>/dev/null)" "%PDF-"

# the request detector catches a page that asks for something
printf '<!DOCTYPE html><html><body><img src="http://images.example.com/x.png"></body></html>' >"$T/leak.html"
browse --dump-dom "file://$T/leak.html" >/dev/null
expect "a page that makes a request is caught (the check can fail)" equals "$(requests)" \
    "http://images.example.com/x.png"

rf_conf de
pb report --html "$T/de.html" spring
dom=$(browse --dump-dom "file://$T/de.html")
expect "German: the document's language" contains "$dom" '<html lang="de">'
expect "German: labels and numbers" contains "$dom" '<span class="v">60,0 %</span><span class="l">Öffnungsrate</span>'
expect "German: the charts' labels" contains "$dom" '<h2>Öffnungen im Zeitverlauf</h2>'
pb report --all --html "$T/all.html"
dom=$(browse --dump-dom "file://$T/all.html")
expect "report --all --html: renders, every campaign" equals \
    "$(printf '%s' "$dom" | grep -o '<td>\(follow:hello\|spring\|bulk\|winter\)</td>' | tr '\n' ' ')" \
    "<td>follow:hello</td> <td>spring</td> <td>bulk</td> <td>winter</td> "
expect "report --all --html: thousands separators in German" contains "$dom" '<td class="n">1.234</td>'
expect "report --all --html: no request left the file" equals "$(requests)" ""
pb report --html /nonexistent/dir/r.html spring
expect "--html into a folder that does not exist: exit 1, names the file" equals \
    "$code/$(printf '%s' "$out" | grep -c '/nonexistent/dir/r.html.tmp')" "1/1"
tap_finish
