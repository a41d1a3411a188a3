#!/usr/bin/env python3
"""e2e_check.py - assertions on messages captured by smtp-sink, for
tests/e2e_postfix.sh and scripts/demo.sh. Prints one "ok - ..." or
"not ok - ..." line per assertion (and "# ..." notes); exit status 1 if
any assertion failed.

  e2e_check.py strip DUMP
      the delivered message: smtp-sink's own lines and Postfix's
      Received header removed (stdout)
  e2e_check.py identical ORIGINAL DUMP
      delivered message equals the original byte for byte
  e2e_check.py newsletter ORIGINAL DUMP --keys K --tool T --base URL
                          --campaign C --rcpt ADDR --utm-domain D...
      the tracked newsletter: links, pixel, headers, tokens, UTM,
      untouched MIME structure; prints "# msg_id=..." and "# links=..."
  e2e_check.py tracked DUMP --keys K --tool T --base URL
      at least one click link that verifies; prints "# msg_id=..."
  e2e_check.py links DUMP --keys K --tool T --base URL
      one line per click link of the delivered message, tab-separated:
      the link, then what its token carries (verified with the key
      file): url campaign contact msg_id sent_at link_index ("-" for
      each when it does not verify; exit status 1 then, or with no link)
  e2e_check.py unsub DUMP --base URL
      the delivered message's unsubscribe links, one a line: "header URL"
      for List-Unsubscribe's http(s) URL, then "html URL" / "text URL" for
      each link of a body part that goes to URL/u/ or looks like an
      unsubscribe link (milter.unsubscribe_patterns' defaults)
  e2e_check.py show ORIGINAL DUMP --keys K --tool T --base URL
      for people (scripts/demo.sh): changed headers, a few links before
      and after, the pixel, one decoded token

Messages are read with Python's email package (email.policy.default):
the parts the milter rewrites are the text/html and text/plain leaves
that are not attachments and not inside attached messages or signed or
encrypted parts (as milter/mime_parts.c picks them), any number of them,
or the whole message when it is a single part; every other part must
arrive unchanged. Text without a charset is read as ASCII, an unknown
charset as UTF-8, undecodable bytes replaced. tests/e2e_check.sh checks
these checks on the messages in tests/data/mail.
"""
import argparse
import email
import email.policy
import html
import re
import subprocess
import sys
from urllib.parse import urlsplit

FAILED = []
UNSUB_PATTERNS = ("unsubscribe", "optout", "opt-out")


def check(cond, what, detail=""):
    if cond:
        print("ok - " + what)
    else:
        FAILED.append(what)
        print("not ok - " + what + ((": " + detail) if detail else ""))
    return cond


def lf(data):
    return data.replace(b"\r\n", b"\n")


def strip_dump(data):
    """Message as Postfix delivered it, minus smtp-sink's lines, minus the
    Received header Postfix added and the empty line smtp-sink appends."""
    lines = lf(data).split(b"\n")
    i = 0
    for _ in range(2):          # smtp-sink's Received, then Postfix's
        while not lines[i].startswith(b"Received: "):
            i += 1
        i += 1
        while lines[i][:1] in (b" ", b"\t"):
            i += 1
    out = b"\n".join(lines[i:])
    return out[:-1] if out.endswith(b"\n\n") else out


def parse(data):
    return email.message_from_bytes(data, policy=email.policy.default)


def header(msg, name):
    """The value of header field name (unfolded), or None."""
    value = msg.get(name)
    return None if value is None else re.sub(r"\s*\n\s*", " ", str(value)).strip()


def raw_fields(msg, skip=()):
    """The header fields as they were written (name, raw value), in order,
    except those named in skip (lower case)."""
    return [(k, v) for k, v in msg.raw_items() if k.lower() not in skip]


def is_attachment(part):
    """RFC 2183: any disposition but inline makes a part an attachment."""
    disposition = part.get_content_disposition()
    return disposition is not None and disposition != "inline"


def body_parts(msg):
    """The parts the milter may rewrite, in document order: text/html and
    text/plain leaves that are not attachments, outside attached messages
    and signed or encrypted parts."""
    ctype = msg.get_content_type()
    if msg.get_content_maintype() == "message" or ctype in ("multipart/signed",
                                                            "multipart/encrypted"):
        return []
    if msg.is_multipart():
        return [p for sub in msg.iter_parts() for p in body_parts(sub)]
    if ctype in ("text/html", "text/plain") and not is_attachment(msg):
        return [msg]
    return []


def text_of(part):
    """A text part's content as a string: its charset (ASCII when it names
    none), or UTF-8 when Python does not know the charset; undecodable
    bytes replaced."""
    try:
        return part.get_content()
    except (LookupError, UnicodeError, KeyError):
        return (part.get_payload(decode=True) or b"").decode("utf-8", "replace")


def kind_of(part):
    return "html" if part.get_content_type() == "text/html" else "text"


def texts(msg):
    """[(kind, text)] of body_parts(msg): kind "html" or "text"."""
    return [(kind_of(p), text_of(p)) for p in body_parts(msg)]


def parts(data):
    """{content type: text} of the first body part of each type (the
    newsletters of the tests have one text/plain and one text/html)."""
    found = {}
    for p in body_parts(parse(data)):
        found.setdefault(p.get_content_type(), text_of(p))
    return found


class Tokens:
    def __init__(self, tool, keys):
        self.tool, self.keys, self.cache = tool, keys, {}

    def verify(self, token):
        if token not in self.cache:
            r = subprocess.run([self.tool, "verify", self.keys, token],
                               capture_output=True, text=True)
            self.cache[token] = (dict(l.split("=", 1) for l in r.stdout.splitlines() if "=" in l)
                                 if r.returncode == 0 else None)
        return self.cache[token]

    def contact(self, address):
        r = subprocess.run([self.tool, "contact", self.keys, address],
                           capture_output=True, text=True, check=True)
        return r.stdout.strip()


def strip_utm(url):
    """(url without utm_* parameters, {utm name: value})."""
    rest, hashmark, frag = url.partition("#")
    base, q, query = rest.partition("?")
    keep, utm = [], {}
    for p in query.split("&") if query else []:
        if p.startswith("utm_"):
            name, _, value = p.partition("=")
            utm[name] = value
        else:
            keep.append(p)
    return base + ("?" + "&".join(keep) if keep else "") + hashmark + frag, utm


def root_path(url):
    """url with "/" for an empty path, as the milter writes it when it adds
    UTM parameters ("https://example.com?x" -> "https://example.com/?x")."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        return url
    end = min([i for i in (rest.find("?"), rest.find("#")) if i >= 0] + [len(rest)])
    if "/" in rest[:end]:
        return url
    return scheme + sep + rest[:end] + "/" + rest[end:]


def host_in(url, domains):
    host = (urlsplit(url).hostname or "").lower()
    return any(host == d or host.endswith("." + d) for d in domains)


def trackable(url, base):
    low = url.lower()
    return (low.startswith(("http://", "https://")) and not low.startswith(base.lower())
            and not any(p in low for p in UNSUB_PATTERNS))


def html_hrefs(text):
    out = []
    for tag in re.finditer(r"<(?:a|area)\b[^>]*>", text, re.I):
        m = re.search(r"""\shref\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+))""", tag.group(0), re.I)
        if m:
            out.append(html.unescape(next(g for g in m.groups() if g is not None)))
    return out


def text_urls(text):
    urls = re.findall(r"https?://[^\s<>\"()]+", text)
    return [u.rstrip(".,;:!?") for u in urls]


def check_clicks(kind, orig_urls, new_text, tokens, a):
    """Every trackable original became a verified click link to itself."""
    base = re.escape(a.base)
    new_tokens = re.findall(base + r"/c/([A-Za-z0-9_-]+)", new_text)
    wanted = sorted(root_path(u) for u in orig_urls if trackable(u, a.base))
    check(len(new_tokens) == len(wanted), "%s: %d links rewritten through %s/c/"
          % (kind, len(wanted), a.base), "found %d" % len(new_tokens))
    decoded, msg_ids, bad = [], set(), []
    contact = tokens.contact(a.rcpt)
    for t in new_tokens:
        tok = tokens.verify(t)
        if tok is None or tok["kind"] != "click":
            bad.append(t)
            continue
        url, utm = strip_utm(tok["url"])
        decoded.append(root_path(url))
        msg_ids.add(tok["msg_id"])
        want_utm = {"utm_source": "newsletter", "utm_medium": "email",
                    "utm_campaign": a.campaign}
        if host_in(url, a.utm_domain):
            if any(utm.get(k) != v for k, v in want_utm.items()) or not utm.get("utm_content"):
                bad.append("%s (UTM %s)" % (tok["url"], utm))
        elif utm:
            bad.append("%s (UTM outside the allow-list)" % tok["url"])
        if tok["campaign"] != a.campaign or tok["contact"] != contact:
            bad.append("%s (campaign %s contact %s)" % (t, tok["campaign"], tok["contact"]))
    check(not bad, "%s: every click token verifies, names campaign and contact, UTM as configured"
          % kind, "; ".join(bad[:3]))
    check(sorted(decoded) == wanted, "%s: decoded targets equal the original links" % kind,
          "decoded %s, original %s" % (sorted(decoded)[:4], wanted[:4]))
    for u in orig_urls:
        if not trackable(u, a.base):
            check(u in html_hrefs(new_text) or u in new_text,
                  "%s: left alone: %s" % (kind, u))
    return msg_ids, len(new_tokens)


def check_pixel(kind, html_text, tokens, a):
    m = re.search(r"<img\b[^>]*src=\"" + re.escape(a.base) + r"/o/([A-Za-z0-9_-]+)\.gif\"[^>]*>",
                  html_text)
    if not check(m is not None, "%s: open pixel %s/o/<token>.gif" % (kind, a.base)):
        return set()
    tag = m.group(0)
    check(re.search(r'alt=""', tag) and re.search(r'width="?1\b', tag)
          and re.search(r'height="?1\b', tag), "%s: pixel is 1x1 with empty alt" % kind, tag)
    body = re.search(r"<body\b[^>]*>", html_text, re.I)
    if body:
        before, where = html_text[body.end():m.start()], "right after <body>"
    else:       # no <body>: at the start, after a byte order mark and a DOCTYPE
        before = re.sub(r"^\ufeff?(<!doctype[^>]*>)?", "", html_text[:m.start()], flags=re.I)
        where = "at the start (no <body>)"
    check(before.strip() == "", "%s: pixel %s" % (kind, where), before[:80])
    tok = tokens.verify(m.group(1))
    check(tok is not None and tok["kind"] == "open" and tok["campaign"] == a.campaign,
          "%s: open token verifies" % kind, str(tok))
    return {tok["msg_id"]} if tok else set()


def check_headers(omsg, nmsg, tokens, a):
    check(header(nmsg, a.campaign_header) is None, "%s header removed" % a.campaign_header)
    lu = header(nmsg, "List-Unsubscribe") or ""
    m = re.search(r"<" + re.escape(a.base) + r"/u/([A-Za-z0-9_-]+)>", lu)
    check(m is not None, "List-Unsubscribe: <%s/u/<token>>" % a.base, lu)
    ids = set()
    if m:
        tok = tokens.verify(m.group(1))
        check(tok is not None and tok["kind"] == "unsubscribe"
              and tok["contact"] == tokens.contact(a.rcpt),
              "List-Unsubscribe token verifies for the recipient", str(tok))
        ids = {tok["msg_id"]} if tok else set()
    check(header(nmsg, "List-Unsubscribe-Post") == "List-Unsubscribe=One-Click",
          "List-Unsubscribe-Post: List-Unsubscribe=One-Click")
    kept_new = raw_fields(nmsg, ("list-unsubscribe", "list-unsubscribe-post"))
    kept_orig = raw_fields(omsg, (a.campaign_header.lower(),))
    check(kept_new == kept_orig, "other header fields unchanged, in order",
          "; ".join("%s: %s" % f for f in kept_new if f not in kept_orig)[:200])
    return ids


def part_changes(i, o, n, rewritable):
    """How part n (number i, below the top) differs from o, where the
    milter may change only the content of a rewritable part."""
    what = []
    if i > 0 and list(o.raw_items()) != list(n.raw_items()):
        what.append("part %d (%s): header fields" % (i, o.get_content_type()))
    if o.is_multipart() != n.is_multipart():
        what.append("part %d: %s multipart" % (i, "now" if n.is_multipart() else "no longer"))
    elif o.is_multipart():
        if (o.preamble, o.epilogue) != (n.preamble, n.epilogue):
            what.append("part %d (%s): preamble or epilogue" % (i, o.get_content_type()))
    elif not rewritable and o.get_payload() != n.get_payload():
        what.append("part %d (%s): content" % (i, o.get_content_type()))
    return what


def check_structure(omsg, nmsg):
    """The same MIME tree (email's walk(), attached messages included):
    the same parts in the same order with the same header fields,
    preambles and epilogues, and the content of every part the milter
    does not rewrite (attachments, parts of attached messages) unchanged."""
    oparts, nparts = list(omsg.walk()), list(nmsg.walk())
    rewritable = [any(p is q for q in body_parts(nmsg)) for p in nparts]
    others = [p for p, r in zip(oparts, rewritable) if not r and not p.is_multipart()]
    if not check(len(oparts) == len(nparts), "the same MIME parts (%d)" % len(oparts),
                 "%d delivered" % len(nparts)):
        return
    changes = []
    for i, (o, n) in enumerate(zip(oparts, nparts)):
        if o.get_content_type() != n.get_content_type():
            changes.append("part %d: %s -> %s" % (i, o.get_content_type(), n.get_content_type()))
        else:
            changes += part_changes(i, o, n, rewritable[i])
    check(not changes, "MIME structure, part headers and the %d parts not rewritten unchanged"
          % len(others), "; ".join(changes[:3]))


def cmd_newsletter(a):
    orig, new = lf(open(a.original, "rb").read()), strip_dump(open(a.dump, "rb").read())
    omsg, nmsg = parse(orig), parse(new)
    tokens = Tokens(a.tool, a.keys)
    ids = check_headers(omsg, nmsg, tokens, a)
    check_structure(omsg, nmsg)
    otexts, ntexts = texts(omsg), texts(nmsg)
    check([k for k, _ in otexts] == [k for k, _ in ntexts] and otexts,
          "the parts to rewrite (%s) are there" % " ".join(k for k, _ in otexts),
          "delivered: %s" % " ".join(k for k, _ in ntexts))
    links = 0
    for i, ((kind, otext), (_, ntext)) in enumerate(zip(otexts, ntexts)):
        name = kind if [k for k, _ in otexts].count(kind) == 1 else "%s part %d" % (kind, i + 1)
        urls = html_hrefs(otext) if kind == "html" else text_urls(otext)
        part_ids, n = check_clicks(name, urls, ntext, tokens, a)
        ids |= part_ids
        if kind == "html":
            ids |= check_pixel(name, ntext, tokens, a)
        links += n
    check(len(ids) == 1, "every token names the same message id", str(ids))
    print("# msg_id=%s" % (sorted(ids)[0] if ids else ""))
    print("# links=%d" % links)
    print("# contact=%s" % tokens.contact(a.rcpt))


def cmd_tracked(a):
    new = strip_dump(open(a.dump, "rb").read())
    tokens = Tokens(a.tool, a.keys)
    found = []
    for _, text in texts(parse(new)):
        for t in re.findall(re.escape(a.base) + r"/c/([A-Za-z0-9_-]+)", text):
            tok = tokens.verify(t)
            if tok:
                found.append(tok)
    check(found, "delivered message carries click links that verify")
    print("# msg_id=%s" % (found[0]["msg_id"] if found else ""))


LINK_FIELDS = ("url", "campaign", "contact", "msg_id", "sent_at", "link_index")


def cmd_links(a):
    new = strip_dump(open(a.dump, "rb").read())
    tokens = Tokens(a.tool, a.keys)
    links = [t for _, text in texts(parse(new))
             for t in re.findall(re.escape(a.base) + r"/c/([A-Za-z0-9_-]+)", text)]
    for t in links:
        tok = tokens.verify(t)
        if tok is None:
            FAILED.append(t)
        print("\t".join(["%s/c/%s" % (a.base, t)]
                        + [tok.get(f, "") if tok else "-" for f in LINK_FIELDS]))
    if not links:
        FAILED.append("no click link")


def cmd_unsub(a):
    msg = parse(strip_dump(open(a.dump, "rb").read()))
    m = re.search(r"<(https?://[^>]+)>", header(msg, "List-Unsubscribe") or "")
    if m:
        print("header\t" + m.group(1))
    for kind, text in texts(msg):
        for url in html_hrefs(text) if kind == "html" else text_urls(text):
            if url.startswith(a.base + "/u/") or any(p in url.lower() for p in UNSUB_PATTERNS):
                print("%s\t%s" % (kind, url))


def cmd_identical(a):
    orig, new = lf(open(a.original, "rb").read()), strip_dump(open(a.dump, "rb").read())
    if not check(orig == new, "delivered message is byte-identical to the one sent"):
        for i, (x, y) in enumerate(zip(orig.split(b"\n"), new.split(b"\n"))):
            if x != y:
                print("#   first difference at line %d:\n#   sent:      %r\n#   delivered: %r"
                      % (i + 1, x[:120], y[:120]))
                break


def short(text, width=100):
    return text if len(text) <= width else text[:width - 3] + "..."


def show_headers(omsg, nmsg):
    ofields, nfields = raw_fields(omsg), raw_fields(nmsg)
    print("Header fields the milter changed:")
    for name, value in ofields:
        if (name, value) not in nfields:
            print("  - " + short("%s: %s" % (name, value)) + "   (removed)")
    for name, value in nfields:
        if (name, value) not in ofields:
            print("  + " + short(re.sub(r"\s*\n\s*", " ", "%s: %s" % (name, value)), 160))


def cmd_show(a):
    orig, new = lf(open(a.original, "rb").read()), strip_dump(open(a.dump, "rb").read())
    omsg, nmsg = parse(orig), parse(new)
    tokens = Tokens(a.tool, a.keys)
    show_headers(omsg, nmsg)
    base = re.escape(a.base)
    first = None
    for (kind, otext), (_, ntext) in zip(texts(omsg), texts(nmsg)):
        found = re.findall(base + r"/c/([A-Za-z0-9_-]+)", ntext)
        before = [root_path(u) for u in (html_hrefs(otext) if kind == "html"
                                         else text_urls(otext)) if trackable(u, a.base)]
        print("\ntext/%s part: %d links now go through %s/c/ (first 3):"
              % ("html" if kind == "html" else "plain", len(found), a.base))
        for t in found[:3]:
            tok = tokens.verify(t) or {}
            orig_url = strip_utm(tok.get("url", ""))[0]
            print("  %s\n    is now  %s\n    leads to %s"
                  % (orig_url if orig_url in before else "?", short("%s/c/%s" % (a.base, t)),
                     tok.get("url", "(does not verify)")))
            first = first or t
        pixel = re.search(r"<img\b[^>]*" + base + r"/o/[^>]*>", ntext)
        if pixel:
            print("  open pixel: " + short(pixel.group(0), 160))
    if first:
        print("\nThe first click token, decoded and verified with the key file (token-tool):")
        for k, v in (tokens.verify(first) or {}).items():
            print("  %-11s %s" % (k, v))


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("strip")
    s.add_argument("dump")
    s = sub.add_parser("identical")
    s.add_argument("original")
    s.add_argument("dump")
    for name in ("newsletter", "tracked", "links", "show"):
        s = sub.add_parser(name)
        if name in ("newsletter", "show"):
            s.add_argument("original")
        if name == "newsletter":
            s.add_argument("--campaign", required=True)
            s.add_argument("--rcpt", required=True)
            s.add_argument("--utm-domain", nargs="+", default=[])
            s.add_argument("--campaign-header", default="X-Campaign")
        s.add_argument("dump")
        s.add_argument("--keys", required=True)
        s.add_argument("--tool", required=True)
        s.add_argument("--base", required=True)
    s = sub.add_parser("unsub")
    s.add_argument("dump")
    s.add_argument("--base", required=True)
    a = ap.parse_args()
    if a.cmd == "strip":
        sys.stdout.buffer.write(strip_dump(open(a.dump, "rb").read()))
        return 0
    {"identical": cmd_identical, "newsletter": cmd_newsletter, "tracked": cmd_tracked,
     "links": cmd_links, "show": cmd_show, "unsub": cmd_unsub}[a.cmd](a)
    return 1 if FAILED else 0


if __name__ == "__main__":
    sys.exit(main())
