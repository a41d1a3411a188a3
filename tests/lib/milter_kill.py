#!/usr/bin/env python3
"""milter_kill.py - the sending and the counting of tests/milter_kill.sh
(postbeacon-milter SIGKILLed while mail flows): which messages Postfix
accepted, which it delivered (tracked or not, whole or cut short), which
are still queued, and how many `sent` records Redis holds for each.

  milter_kill.py send --port P --count N --sessions S --rate R --tag T --out FILE MESSAGE
      N copies of MESSAGE through smtpd on 127.0.0.1:P, S sessions at a
      time, one SMTP session per message (so sessions that start after a
      restarted milter is back use it again), message i not started
      before i/R seconds (R messages a second at most, 0: no limit). Each copy gets a first
      header "X-Kill-Seq: T-<i>". One line per message, written as soon
      as its DATA is answered: "<i> <code> <queue id or ->".
  milter_kill.py count --sent FILE --sink DIR --queue DIR --redis SOCK --base URL
      prints name=value lines for the messages of FILE:
        accepted   DATA answered 250 (with a queue id)
        refused    DATA not answered 250, or the session failed
        delivered  dump in the sink (matched by Postfix's queue id in
                   its Received header)
        tracked    delivered with rewritten links (the tracker base URL
                   in the body)
        untracked  delivered with no trace of the milter
        headers_only  delivered with the milter's header changes but
                   the body as sent (killed between the two)
        truncated  delivered without the message's closing MIME
                   boundary (a body replacement cut off)
        queued     still in the Postfix queue
        corrupt    moved by Postfix to its corrupt/ directory (a milter
                   that dies after its first body replacement packet and
                   before its answer leaves Postfix 3.7 a queue file it
                   cannot read, after it has answered 250)
        vanished   accepted, but neither delivered, queued nor corrupt
        expected   delivered tracked (tracked + headers_only):
                   each must have one `sent` record
        stored     of those, how many have at least one
        lost       expected - stored
        duplicated queue ids with more than one `sent` record
        extra      `sent` records of this run's queue ids whose message
                   was not delivered tracked (accepted untracked, or not
                   delivered)
      and "vanished_ids=...", "corrupt_ids=...", "lost_ids=..." (space
      separated, at most 10 each).

Redis is read with a minimal RESP client over its unix socket: the
`sent` entries of the pb:events stream, and each one's pb:msg:<id> hash
(queue_id).
"""
import argparse
import os
import re
import smtplib
import socket
import sys
import threading
import time

BOUNDARY_END = b"--=_pb-newsletter-7c1f0a--"
RECEIVED_ID = re.compile(rb"by postbeacon-test\.localdomain \(Postfix\) with E?SMTP id ([0-9A-Za-z]+)")


# ---- send -------------------------------------------------------------------------

def send_one(port, data, tag, i):
    seq = b"X-Kill-Seq: %s-%d\r\n" % (tag.encode(), i)
    try:
        with smtplib.SMTP("127.0.0.1", port, timeout=60) as smtp:
            smtp.ehlo("client.example.org")
            smtp.mail("news@example.com")
            code, _ = smtp.rcpt("reader@example.org")
            if code != 250:
                return code, "-"
            code, msg = smtp.data(seq + data)
            m = re.search(rb"queued as (\S+)", msg)
            return code, (m.group(1).decode() if code == 250 and m else "-")
    except (OSError, smtplib.SMTPException):
        return 0, "-"


def cmd_send(args):
    with open(args.message, "rb") as f:
        data = re.sub(rb"\r?\n", b"\r\n", f.read())
    lock = threading.Lock()
    todo = iter(range(args.count))
    out = open(args.out, "a", buffering=1)
    start = time.monotonic()

    def worker():
        while True:
            with lock:
                i = next(todo, None)
            if i is None:
                return
            if args.rate > 0:
                time.sleep(max(0.0, start + i / args.rate - time.monotonic()))
            code, qid = send_one(args.port, data, args.tag, i)
            with lock:
                out.write("%d %d %s\n" % (i, code, qid))

    threads = [threading.Thread(target=worker) for _ in range(args.sessions)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    out.close()


# ---- Redis --------------------------------------------------------------------------

class Resp:
    """Just enough RESP2 for XRANGE and pipelined HGETs."""

    def __init__(self, path):
        self.sock = socket.socket(socket.AF_UNIX)
        self.sock.connect(path)
        self.buf = b""

    def send(self, *cmds):
        out = []
        for cmd in cmds:
            out.append(b"*%d\r\n" % len(cmd))
            for a in cmd:
                a = a if isinstance(a, bytes) else str(a).encode()
                out.append(b"$%d\r\n%s\r\n" % (len(a), a))
        self.sock.sendall(b"".join(out))

    def _line(self):
        while b"\r\n" not in self.buf:
            chunk = self.sock.recv(1 << 20)
            if not chunk:
                raise EOFError("redis closed the connection")
            self.buf += chunk
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def _bytes(self, n):
        while len(self.buf) < n + 2:
            chunk = self.sock.recv(1 << 20)
            if not chunk:
                raise EOFError("redis closed the connection")
            self.buf += chunk
        data, self.buf = self.buf[:n], self.buf[n + 2:]
        return data

    def reply(self):
        line = self._line()
        kind, rest = line[:1], line[1:]
        if kind in (b"+", b":"):
            return rest
        if kind == b"-":
            raise RuntimeError(rest.decode())
        if kind == b"$":
            return None if int(rest) < 0 else self._bytes(int(rest))
        if kind == b"*":
            return None if int(rest) < 0 else [self.reply() for _ in range(int(rest))]
        raise RuntimeError("bad reply %r" % line)


def sent_records(path):
    """{queue id: number of `sent` stream entries}."""
    r = Resp(path)
    r.send([b"XRANGE", b"pb:events", b"-", b"+"])
    msgs = []
    for _, fields in r.reply():
        f = dict(zip(fields[::2], fields[1::2]))
        if f.get(b"type") == b"sent":
            msgs.append(f[b"msg"])
    r.send(*[[b"HGET", b"pb:msg:" + m, b"queue_id"] for m in msgs])
    count = {}
    for _ in msgs:
        qid = (r.reply() or b"?").decode()
        count[qid] = count.get(qid, 0) + 1
    return count


# ---- count ----------------------------------------------------------------------------

def delivered(sink, base):
    """{queue id: (tracked, headers_only, truncated)} of the sink's dumps."""
    found = {}
    base = base.encode()
    for name in os.listdir(sink):
        with open(os.path.join(sink, name), "rb") as f:
            data = f.read()
        m = RECEIVED_ID.search(data)
        if not m:
            continue
        head, _, body = data.partition(b"\r\n\r\n")
        if not body:
            head, _, body = data.partition(b"\n\n")
        in_body, in_head = base in body, base in head
        found[m.group(1).decode()] = (in_body, in_head and not in_body,
                                      BOUNDARY_END not in body)
    return found


def queued(queue_dir, subdirs=("maildrop", "incoming", "active", "deferred", "hold")):
    ids = set()
    for sub in subdirs:
        for root, _, files in os.walk(os.path.join(queue_dir, sub)):
            ids.update(files)
    return ids


def cmd_count(args):
    accepted, refused = [], 0
    with open(args.sent) as f:
        for line in f:
            _, code, qid = line.split()
            if code == "250" and qid != "-":
                accepted.append(qid)
            else:
                refused += 1
    got = delivered(args.sink, args.base)
    inq = queued(args.queue)
    corrupt_ids = queued(args.queue, ("corrupt",))
    records = sent_records(args.redis)
    c = dict.fromkeys(("delivered", "tracked", "untracked", "headers_only", "truncated",
                       "queued", "corrupt", "vanished", "expected", "stored", "duplicated",
                       "extra"), 0)
    vanished, corrupt, lost = [], [], []
    for qid in accepted:
        n = records.get(qid, 0)
        c["duplicated"] += n > 1
        if qid in got:
            tracked, headers_only, truncated = got[qid]
            c["delivered"] += 1
            c["truncated"] += truncated
            if tracked or headers_only:
                c["tracked" if tracked else "headers_only"] += 1
                c["expected"] += 1
                c["stored"] += n > 0
                if n == 0:
                    lost.append(qid + ("(headers only)" if headers_only else ""))
                continue
            c["untracked"] += 1
        elif qid in inq:
            c["queued"] += 1
        elif qid in corrupt_ids:
            c["corrupt"] += 1
            corrupt.append(qid)
        else:
            c["vanished"] += 1
            vanished.append(qid)
        c["extra"] += n
    c["accepted"], c["refused"] = len(accepted), refused
    c["lost"] = c["expected"] - c["stored"]
    for k in ("accepted", "refused", "delivered", "tracked", "untracked", "headers_only",
              "truncated", "queued", "corrupt", "vanished", "expected", "stored", "lost",
              "duplicated", "extra"):
        print("%s=%d" % (k, c[k]))
    for name, ids in (("vanished", vanished), ("corrupt", corrupt), ("lost", lost)):
        print("%s_ids=%s" % (name, " ".join(ids[:10]) + (" ..." if len(ids) > 10 else "")))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("send")
    s.add_argument("--port", type=int, required=True)
    s.add_argument("--count", type=int, required=True)
    s.add_argument("--sessions", type=int, default=8)
    s.add_argument("--rate", type=float, default=0)
    s.add_argument("--tag", required=True)
    s.add_argument("--out", required=True)
    s.add_argument("message")
    c = sub.add_parser("count")
    for opt in ("--sent", "--sink", "--queue", "--redis", "--base"):
        c.add_argument(opt, required=True)
    args = ap.parse_args()
    (cmd_send if args.cmd == "send" else cmd_count)(args)


if __name__ == "__main__":
    sys.exit(main())
