# milter_messages.sh - the test messages of tests/milter_protocol.sh,
# written into $T by make_messages (sourced; uses to_crlf): the campaign
# newsletter and its variants (plain, skip, DKIM-signed with and without
# the campaign header in h=, existing List-Unsubscribe, malformed), large
# ones for the body chunking and the size cap, one without links, a
# bounce (multipart/report), and one with parts the milter leaves alone.

newsletter() {                  # newsletter [EXTRA HEADER LINES]
    cat <<EOF
From: News <news@example.com>
To: Bob <bob@example.org>
Subject: Spring sale
Message-ID: <spring-1@example.com>
${1:-X-Campaign: spring-sale}
MIME-Version: 1.0
Content-Type: multipart/alternative; boundary="b1"

--b1
Content-Type: text/plain; charset=utf-8

Shop now: https://www.example.com/shop?x=1
--b1
Content-Type: text/html; charset=utf-8

<html><body>
<p><a href="https://www.example.com/shop?x=1">Shop</a>
<a href="http://other.example.org/page">Other</a>
<a href="mailto:help@example.com">Mail us</a> <a href="#top">Top</a>
<a href="https://www.example.com/unsubscribe?u=1">Unsubscribe</a></p>
</body></html>
--b1--
EOF
}

make_messages() {
    newsletter | to_crlf >"$T/campaign.eml"
    newsletter "X-Mailer: app" | to_crlf >"$T/plain.eml"
    newsletter "X-Campaign: spring-sale
X-Postbeacon-Skip: yes" | to_crlf >"$T/skip.eml"
    newsletter "X-Campaign: spring-sale
DKIM-Signature: v=1; a=rsa-sha256; d=example.com; s=s1;
	h=from:to:subject; bh=abc=; b=def=" | to_crlf >"$T/dkim.eml"
    newsletter "X-Campaign: spring-sale
List-Unsubscribe: <mailto:leave@example.com>" | to_crlf >"$T/listunsub.eml"
    newsletter "X-Campaign: spring-sale
DKIM-Signature: v=1; a=rsa-sha256; d=example.com; s=s1; h=From : To:
	Subject:X-CAMPAIGN; bh=abc=; b=def=" | to_crlf >"$T/dkimcamp.eml"
    newsletter | head -n 14 | to_crlf >"$T/malformed.eml"   # no closing boundary
    big_message 23000 >"$T/big.eml"
    big_message 40000 >"$T/huge.eml"
    nolinks_message | to_crlf >"$T/nolinks.eml"
    report_message | to_crlf >"$T/report.eml"
    left_alone_message | to_crlf >"$T/leftalone.eml"
}

nolinks_message() {
    printf 'From: news@example.com\nTo: bob@example.org\nSubject: No links\n'
    printf 'X-Campaign: spring-sale\nMIME-Version: 1.0\nContent-Type: text/plain\n\n'
    printf 'Nothing to click in here.\n'
}

report_message() {             # a bounce, sent with the campaign header
    cat <<EOF
From: news@example.com
To: bob@example.org
Subject: Undelivered Mail Returned to Sender
X-Campaign: spring-sale
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="r1"

--r1
Content-Type: text/plain

Your message could not be delivered: https://www.example.com/help
--r1
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.example.com

Final-Recipient: rfc822; carol@example.net
Action: failed
Status: 5.1.1
--r1--
EOF
}

# Two HTML parts, an attached message and a signed part.
left_alone_message() {
    cat <<EOF
From: News <news@example.com>
To: Bob <bob@example.org>
Subject: With attachments
X-Campaign: spring-sale
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="m1"

--m1
Content-Type: text/html; charset=utf-8

<html><body><a href="https://www.example.com/one">One</a></body></html>
--m1
Content-Type: text/html; charset=utf-8

<html><body><a href="https://www.example.com/two">Two</a></body></html>
--m1
Content-Type: message/rfc822

From: shop@example.com
Subject: forwarded
Content-Type: text/html

<a href="https://www.example.com/forwarded">Forwarded</a>
--m1
Content-Type: multipart/signed; protocol="application/pgp-signature"; micalg=pgp-sha256; boundary="s1"

--s1
Content-Type: text/plain

Signed: https://www.example.com/signed
--s1
Content-Type: application/pgp-signature

sig
--s1--
--m1--
EOF
}

# big_message LINKS: 7bit HTML newsletter, ~100 bytes per link.
big_message() {
    {
        printf 'From: news@example.com\nTo: bob@example.org\nSubject: Big\n'
        printf 'X-Campaign: big\nMIME-Version: 1.0\nContent-Type: text/html; charset=utf-8\n\n'
        printf '<html><body>\n'
        awk -v n="$1" 'BEGIN { for (i = 1; i <= n; i++)
            printf "<p>Item %d: <a href=\"https://www.example.com/item/%d\">item %d</a> lorem ipsum</p>\n", i, i, i }'
        printf '</body></html>\n'
    } | to_crlf
}
