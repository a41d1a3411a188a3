#!/usr/bin/env python3
"""newsletter.py - wrap corpus HTML (and its text twin) into a newsletter
message for the end-to-end test, the demo and the Postfix benchmark.

The corpus templates are mustache templates: {{..._url}} placeholders
become https links on shop.example.com (each one distinct, some with a
query string written with &amp;), {{support_email}} a mailto address,
other placeholders sample words; section tags ({{#x}}, {{/x}}) go. A
footer with a partner link (a domain outside the test's UTM list), an
unsubscribe link and an in-page anchor is added before </body> (the last
two must be left alone by the milter).

The message is multipart/alternative: text/plain then text/html, both
UTF-8 and quoted-printable, LF line ends (the sender turns them into
CRLF). With --size, the body content of the given HTML files is repeated
in turn until the encoded message reaches about that many bytes.

usage: newsletter.py [--campaign NAME] [--from ADDR] [--to ADDR]
                     [--subject TEXT] [--message-id ID] [--size BYTES]
                     [--text FILE] HTML [HTML...] > message.eml
"""
import argparse
import itertools
import quopri
import re
import sys

BOUNDARY = "=_pb-newsletter-7c1f0a"
SAMPLE_WORDS = {"name": "Alex", "username": "alex", "total": "$42.00",
                "trial_length": "30", "amount": "$21.00"}
URL_COUNTER = itertools.count(1)


def placeholder(match, amp):
    name = match.group(1)
    if name.endswith("_url"):
        n = next(URL_COUNTER)
        page = name[:-4].replace("_", "-")
        if n % 3 == 0:
            return "https://shop.example.com/%s?item=%d%sref=mail" % (page, n, amp)
        if n % 3 == 1:
            return "https://shop.example.com/%s/%d" % (page, n)
        return "https://www.example.com/%s#section-%d" % (page, n)
    if name.endswith("email") or name == "email_address":
        return "support@example.com"
    return SAMPLE_WORDS.get(name, name.replace("_", " ").title())


def fill(template, html=True):
    amp = "&amp;" if html else "&"
    template = re.sub(r"\{\{\s*[#/][^}]*\}\}", "", template)
    return re.sub(r"\{\{\s*([A-Za-z_]+)\s*\}\}", lambda m: placeholder(m, amp), template)


FOOTER = ('<p style="font-size: 12px; color: #6B6E76;">You receive this because you '
          'subscribed. Our partner: <a href="https://partner.example.org/offer?id=7">'
          'spring offer</a>. <a href="https://shop.example.com/unsubscribe?list=news">'
          'Unsubscribe</a> &middot; <a href="#top">Back to top</a></p>\n')


def split_body(html):
    """(head up to and including <body...>, inner body, tail from </body>)."""
    start = re.search(r"<body[^>]*>", html, re.I)
    end = html.lower().rfind("</body>")
    if not start or end < start.end():
        return "<html><body>", html, "</body></html>\n"
    return html[:start.end()], html[start.end():end], html[end:]


def encoded_size(html, text):
    return len(quopri.encodestring(html.encode())) + len(quopri.encodestring(text.encode()))


def build_html(paths, size):
    parts = [split_body(open(p, encoding="utf-8").read()) for p in paths]
    head, _, tail = parts[0]
    inner = [fill(p[1]) for p in parts[:1]]
    # Add the templates' bodies in turn while the message stays under size.
    turn = 1
    while size:
        fitting = [i for i in range(len(parts))
                   if encoded_size(head + "".join(inner) + parts[i][1], "") < size - 2048]
        if not fitting:
            break
        i = min(fitting, key=lambda i: (i - turn) % len(parts))
        inner.append(fill(parts[i][1]))
        turn = i + 1
    return fill(head) + "".join(inner) + FOOTER + tail


def qp(text):
    return quopri.encodestring(text.encode("utf-8")).decode("ascii")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--campaign", help="X-Campaign header value (omitted if not given)")
    ap.add_argument("--from", dest="sender", default="news@example.com")
    ap.add_argument("--to", default="reader@example.org")
    ap.add_argument("--subject", default="Our spring newsletter")
    ap.add_argument("--message-id", default="<newsletter-1@example.com>")
    ap.add_argument("--size", type=int, default=0, help="approximate message size in bytes")
    ap.add_argument("--text", help="text/plain twin (default: none, HTML only)")
    ap.add_argument("html", nargs="+")
    args = ap.parse_args()

    html = build_html(args.html, args.size)
    text = fill(open(args.text, encoding="utf-8").read(), html=False) if args.text else None
    out = ["From: Example Shop <%s>" % args.sender,
           "To: <%s>" % args.to,
           "Subject: %s" % args.subject,
           "Date: Mon, 23 Mar 2026 10:00:00 +0000",
           "Message-ID: %s" % args.message_id]
    if args.campaign:
        out.append("X-Campaign: %s" % args.campaign)
    out += ["MIME-Version: 1.0",
            'Content-Type: multipart/alternative; boundary="%s"' % BOUNDARY,
            "", "This is a multi-part message in MIME format.", ""]
    if text is not None:
        out += ["--" + BOUNDARY, 'Content-Type: text/plain; charset="utf-8"',
                "Content-Transfer-Encoding: quoted-printable", "", qp(text).rstrip("\n"), ""]
    out += ["--" + BOUNDARY, 'Content-Type: text/html; charset="utf-8"',
            "Content-Transfer-Encoding: quoted-printable", "", qp(html).rstrip("\n"), "",
            "--" + BOUNDARY + "--", ""]
    sys.stdout.write("\n".join(out))


if __name__ == "__main__":
    main()
