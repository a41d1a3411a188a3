#!/usr/bin/env python3
"""readers.py - the demo's recipients: they open and click the mail that
smtp-sink received, through the tracker, as people and machines do.

Each delivered message not handled before (state file) gets one
behaviour, chosen by a hash of its recipient and subject, so a run is
repeatable:
  person    opens it in a browser (the pixel) and clicks one or two links;
            a share of them clicks the prices for teams (that makes MQLs)
  apple     Apple Mail Privacy Protection: the proxy fetches the pixel
            (User-Agent "Mozilla/5.0" from Apple's network 17.0.0.0/8,
            through the trusted proxy 127.0.0.1 with X-Forwarded-For)
  scanner   a link scanner fetches every link (Microsoft's BingPreview)
  nobody    the message is never looked at
A subject containing --better (the demo's stronger A/B subject) makes
people click more, so the A/B test has a winner to find.

  readers.py SINK_DIR STATE_FILE BASE_URL [--better TEXT] [--only ADDR]
Prints one line per message: recipient, behaviour, what the tracker said.
"""
import argparse, email, email.policy, hashlib, http.client, os, re, sys, urllib.parse

BROWSER = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0"
APPLE_UA = "Mozilla/5.0"
SCANNER_UA = "Mozilla/5.0 (compatible; BingPreview/1.0b)"


def fetch(url, ua, forwarded=None):
    """GET url (not following redirects); the status code."""
    u = urllib.parse.urlsplit(url)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=10)
    headers = {"User-Agent": ua}
    if forwarded:
        headers["X-Forwarded-For"] = forwarded
    conn.request("GET", u.path + ("?" + u.query if u.query else ""), headers=headers)
    status = conn.getresponse().status
    conn.close()
    return status


def message_of(path):
    data = open(path, "rb").read().replace(b"\r\n", b"\n")
    # smtp-sink's dump starts with its own X-* lines before the message
    msg = email.message_from_bytes(data, policy=email.policy.default)
    rcpt = re.search(rb"X-Rcpt-Args: <([^>]*)>", data)
    return msg, rcpt.group(1).decode() if rcpt else ""


def tracked(msg, base):
    html = msg.get_body(("html",))
    text = html.get_content() if html else ""
    pixel = re.search(re.escape(base) + r"/o/[A-Za-z0-9_-]+\.gif", text)
    clicks = re.findall(re.escape(base) + r"/c/[A-Za-z0-9_-]+", text)
    # the link texts tell which is the prices-for-teams link
    named = re.findall(r'href="(' + re.escape(base) + r'/c/[A-Za-z0-9_-]+)"[^>]*>([^<]*)<', text)
    return (pixel.group(0) if pixel else None), clicks, named


def behaviour(rcpt, subject, better):
    h = int(hashlib.sha256((rcpt + "|" + subject).encode()).hexdigest()[:8], 16) % 100
    person_share = 55 if better and better in subject else 30
    if h < person_share:
        return "person", h
    if h < person_share + 20:
        return "apple", h
    if h < person_share + 30:
        return "scanner", h
    return "nobody", h


def act(path, base, better):
    msg, rcpt = message_of(path)
    subject = str(msg.get("Subject", ""))
    pixel, clicks, named = tracked(msg, base)
    if pixel is None and not clicks:
        return rcpt, "untracked", ""
    kind, h = behaviour(rcpt, subject, better)
    done = []
    if kind == "person":
        if pixel:
            done.append("open %d" % fetch(pixel, BROWSER))
        teams = [u for u, label in named if "team" in label.lower() or "quote" in label.lower()]
        others = [u for u in clicks if u not in teams]
        picks = []
        if teams and h % 3 == 0:
            picks.append(teams[0])
        if others:
            picks.append(others[h % len(others)])
        for url in picks:
            done.append("click %d" % fetch(url, BROWSER))
    elif kind == "apple" and pixel:
        done.append("open %d" % fetch(pixel, APPLE_UA, "17.58.%d.%d" % (h, h + 1)))
    elif kind == "scanner":
        for url in clicks:
            done.append("click %d" % fetch(url, SCANNER_UA))
    return rcpt, kind, ", ".join(done)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("sink")
    p.add_argument("state")
    p.add_argument("base")
    p.add_argument("--better", default="")
    p.add_argument("--only", default="")
    a = p.parse_args()
    seen = set(open(a.state).read().split()) if os.path.exists(a.state) else set()
    files = sorted((os.path.join(a.sink, f) for f in os.listdir(a.sink)), key=os.path.getmtime)
    with open(a.state, "a") as state:
        for path in files:
            if os.path.basename(path) in seen:
                continue
            msg, rcpt = message_of(path)
            if a.only and rcpt != a.only:
                continue
            rcpt, kind, done = act(path, a.base, a.better)
            state.write(os.path.basename(path) + "\n")
            if kind != "untracked":     # e.g. the text-only notice to sales
                print("%-34s %-9s %s" % (rcpt, kind, done))
    return 0


if __name__ == "__main__":
    sys.exit(main())
