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
  e2e_check.py show ORIGINAL DUMP --keys K --tool T --base URL
      for people (scripts/demo.sh): changed headers, a few links before
      and after, the pixel, one decoded token
"""
import argparse
import email
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


def split_message(data):
    head, _, body = data.partition(b"\n\n")
    fields = []
    for line in head.split(b"\n"):
        if line[:1] in (b" ", b"\t") and fields:
            fields[-1] += b"\n" + line
        else:
            fields.append(line)
    return fields, body


def field_name(field):
    return field.split(b":", 1)[0].strip().lower()


def header(fields, name):
    for f in fields:
        if field_name(f) == name.lower().encode():
            return re.sub(rb"\s*\n\s*", b" ", f.split(b":", 1)[1]).strip().decode()
    return None


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


def parts(data):
    msg = email.message_from_bytes(data)
    found = {}
    for p in msg.walk():
        if p.get_content_maintype() == "text":
            found[p.get_content_type()] = p.get_payload(decode=True).decode(
                p.get_content_charset() or "ascii")
    return found


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


def check_pixel(html_text, tokens, a):
    m = re.search(r"<img\b[^>]*src=\"" + re.escape(a.base) + r"/o/([A-Za-z0-9_-]+)\.gif\"[^>]*>",
                  html_text)
    if not check(m is not None, "html: open pixel %s/o/<token>.gif" % a.base):
        return set()
    tag = m.group(0)
    check(re.search(r'alt=""', tag) and re.search(r'width="?1\b', tag)
          and re.search(r'height="?1\b', tag), "html: pixel is 1x1 with empty alt", tag)
    body = re.search(r"<body\b[^>]*>", html_text, re.I)
    check(body and html_text[body.end():m.start()].strip() == "",
          "html: pixel right after <body>", html_text[body.end():m.start()][:80] if body else "")
    tok = tokens.verify(m.group(1))
    check(tok is not None and tok["kind"] == "open" and tok["campaign"] == a.campaign,
          "html: open token verifies", str(tok))
    return {tok["msg_id"]} if tok else set()


def check_headers(orig, new, tokens, a):
    ofields, obody = split_message(orig)
    nfields, nbody = split_message(new)
    check(header(nfields, a.campaign_header) is None, "%s header removed" % a.campaign_header)
    lu = header(nfields, "List-Unsubscribe") or ""
    m = re.search(r"<" + re.escape(a.base) + r"/u/([A-Za-z0-9_-]+)>", lu)
    check(m is not None, "List-Unsubscribe: <%s/u/<token>>" % a.base, lu)
    ids = set()
    if m:
        tok = tokens.verify(m.group(1))
        check(tok is not None and tok["kind"] == "unsubscribe"
              and tok["contact"] == tokens.contact(a.rcpt),
              "List-Unsubscribe token verifies for the recipient", str(tok))
        ids = {tok["msg_id"]} if tok else set()
    check(header(nfields, "List-Unsubscribe-Post") == "List-Unsubscribe=One-Click",
          "List-Unsubscribe-Post: List-Unsubscribe=One-Click")
    added = (b"list-unsubscribe", b"list-unsubscribe-post")
    kept_new = [f for f in nfields if field_name(f) not in added]
    kept_orig = [f for f in ofields if field_name(f) != a.campaign_header.lower().encode()]
    check(kept_new == kept_orig, "other header fields unchanged, in order")
    return obody, nbody, ids


def check_structure(obody, nbody):
    """Preamble, boundaries and part headers are the original bytes."""
    delim = re.search(rb"\n--([^\n]+)\n", b"\n" + obody)
    if not check(delim is not None, "original is multipart"):
        return
    sep = b"\n--" + delim.group(1)
    osegs, nsegs = (b"\n" + obody).split(sep), (b"\n" + nbody).split(sep)
    same = len(osegs) == len(nsegs) and osegs[0] == nsegs[0] and osegs[-1] == nsegs[-1] \
        and all(o.partition(b"\n\n")[0] == n.partition(b"\n\n")[0]
                for o, n in zip(osegs[1:-1], nsegs[1:-1]))
    check(same, "MIME preamble, boundaries and part headers unchanged")


def cmd_newsletter(a):
    orig, new = lf(open(a.original, "rb").read()), strip_dump(open(a.dump, "rb").read())
    tokens = Tokens(a.tool, a.keys)
    obody, nbody, ids = check_headers(orig, new, tokens, a)
    check_structure(obody, nbody)
    op, np_ = parts(orig), parts(new)
    links = 0
    if "text/html" in op:
        h_ids, n = check_clicks("html", html_hrefs(op["text/html"]), np_.get("text/html", ""),
                                tokens, a)
        ids |= h_ids | check_pixel(np_.get("text/html", ""), tokens, a)
        links += n
    if "text/plain" in op:
        t_ids, n = check_clicks("text", text_urls(op["text/plain"]), np_.get("text/plain", ""),
                                tokens, a)
        ids |= t_ids
        links += n
    check(len(ids) == 1, "every token names the same message id", str(ids))
    print("# msg_id=%s" % (sorted(ids)[0] if ids else ""))
    print("# links=%d" % links)
    print("# contact=%s" % tokens.contact(a.rcpt))


def cmd_tracked(a):
    new = strip_dump(open(a.dump, "rb").read())
    tokens = Tokens(a.tool, a.keys)
    found = []
    for text in parts(new).values():
        for t in re.findall(re.escape(a.base) + r"/c/([A-Za-z0-9_-]+)", text):
            tok = tokens.verify(t)
            if tok:
                found.append(tok)
    check(found, "delivered message carries click links that verify")
    print("# msg_id=%s" % (found[0]["msg_id"] if found else ""))


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


def cmd_show(a):
    orig, new = lf(open(a.original, "rb").read()), strip_dump(open(a.dump, "rb").read())
    tokens = Tokens(a.tool, a.keys)
    ofields, _ = split_message(orig)
    nfields, _ = split_message(new)
    print("Header fields the milter changed:")
    for f in ofields:
        if f not in nfields:
            print("  - " + short(f.decode(errors="replace")) + "   (removed)")
    for f in nfields:
        if f not in ofields:
            print("  + " + short(re.sub(r"\s*\n\s*", " ", f.decode(errors="replace")), 160))
    op, np_ = parts(orig), parts(new)
    base = re.escape(a.base)
    first = None
    for ctype in ("text/html", "text/plain"):
        if ctype not in np_:
            continue
        found = re.findall(base + r"/c/([A-Za-z0-9_-]+)", np_[ctype])
        before = [u for u in (html_hrefs(op[ctype]) if ctype == "text/html"
                              else text_urls(op[ctype])) if trackable(u, a.base)]
        print("\n%s part: %d links now go through %s/c/ (first 3):" % (ctype, len(found), a.base))
        for t in found[:3]:
            tok = tokens.verify(t) or {}
            orig_url = strip_utm(tok.get("url", ""))[0]
            print("  %s\n    is now  %s\n    leads to %s"
                  % (orig_url if orig_url in before else "?", short("%s/c/%s" % (a.base, t)),
                     tok.get("url", "(does not verify)")))
            first = first or t
        pixel = re.search(r"<img\b[^>]*" + base + r"/o/[^>]*>", np_[ctype])
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
    for name in ("newsletter", "tracked", "show"):
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
    a = ap.parse_args()
    if a.cmd == "strip":
        sys.stdout.buffer.write(strip_dump(open(a.dump, "rb").read()))
        return 0
    {"identical": cmd_identical, "newsletter": cmd_newsletter, "tracked": cmd_tracked,
     "show": cmd_show}[a.cmd](a)
    return 1 if FAILED else 0


if __name__ == "__main__":
    sys.exit(main())
