#!/usr/bin/env python3
"""click_load.py - steady click load on a tracker for the fault tests
(tests/tracker_faults.sh), and the count of what was answered and stored.

  click_load.py load PORT PATH RATE SECONDS CONNS OUT [--stop-file F]
      GET PATH on CONNS keep-alive connections at RATE requests/s in all
      for SECONDS (or until the file F exists); each request has its own
      User-Agent "load-<conn>-<n>". Every request answered with 302 gets
      its User-Agent written to OUT, one a line (written as answered, so a
      file of a run that is killed still holds what was answered). Errors
      (the tracker killed, a connection reset) reconnect after 20 ms and
      are counted, never written. Prints "answered N errors M".

  click_load.py compare ANSWERED STREAM
      ANSWERED: files of User-Agents (comma-separated); STREAM: the output
      of `redis-cli -2 --json XRANGE pb:events - +`. Prints
      "answered A stored S missing M doubled D" for the click events whose
      User-Agent starts with "load-", and the first few missing ones; exits
      1 unless every answered click is stored exactly once.
"""
import http.client
import json
import os
import sys
import threading
import time


def load(port, path, rate, seconds, conns, out, stop_file=None):
    lock = threading.Lock()
    counts = {"answered": 0, "errors": 0}
    deadline = time.monotonic() + seconds
    interval = conns / rate
    sink = open(out, "w", buffering=1)

    def worker(k):
        conn = None
        n = 0
        next_at = time.monotonic()
        while time.monotonic() < deadline:
            if stop_file and os.path.exists(stop_file):
                break
            now = time.monotonic()
            if now < next_at:
                time.sleep(next_at - now)
            next_at += interval
            ua = "load-%d-%d" % (k, n)
            n += 1
            try:
                if conn is None:
                    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
                conn.request("GET", path, headers={"User-Agent": ua})
                r = conn.getresponse()
                r.read()
                if r.status == 302:
                    with lock:
                        sink.write(ua + "\n")
                        counts["answered"] += 1
                else:
                    with lock:
                        counts["errors"] += 1
            except (OSError, http.client.HTTPException):
                with lock:
                    counts["errors"] += 1
                if conn is not None:
                    conn.close()
                conn = None
                time.sleep(0.02)
        if conn is not None:
            conn.close()

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(conns)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    sink.close()
    print("answered %d errors %d" % (counts["answered"], counts["errors"]))


def stream_click_uas(path):
    """User-Agents of the click events of load in `redis-cli -2 --json
    XRANGE` output: [[id, [field, value, ...]], ...]."""
    uas = []
    for _, flat in json.load(open(path, encoding="utf-8")) or []:
        entry = dict(zip(flat[0::2], flat[1::2]))
        if entry.get("type") == "click" and entry.get("ua", "").startswith("load-"):
            uas.append(entry["ua"])
    return uas


def compare(answered_files, stream):
    answered = []
    for f in answered_files.split(","):
        if f and os.path.exists(f):
            answered += [l for l in open(f).read().split("\n") if l]
    stored = stream_click_uas(stream)
    counts = {}
    for ua in stored:
        counts[ua] = counts.get(ua, 0) + 1
    missing = [ua for ua in answered if ua not in counts]
    doubled = [ua for ua, c in counts.items() if c > 1]
    print("answered %d stored %d missing %d doubled %d"
          % (len(answered), len(stored), len(missing), len(doubled)))
    if missing:
        print("missing: " + " ".join(missing[:5]))
    if doubled:
        print("doubled: " + " ".join(doubled[:5]))
    return 0 if not missing and not doubled and answered else 1


def main(argv):
    if len(argv) >= 8 and argv[1] == "load":
        stop = argv[argv.index("--stop-file") + 1] if "--stop-file" in argv else None
        load(int(argv[2]), argv[3], float(argv[4]), float(argv[5]), int(argv[6]), argv[7], stop)
        return 0
    if len(argv) == 4 and argv[1] == "compare":
        return compare(argv[2], argv[3])
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
