#!/usr/bin/env python3
"""webhook_receiver.py - a stand-in for a CRM in the webhook tests
(tests/check_scorer_webhook.c): an HTTP server on 127.0.0.1 that records
every request it gets and answers as told.

Usage:
  webhook_receiver.py DIR SECRET_HEX ANSWER[,ANSWER...]

Writes the port it listens on to DIR/port, and each request to DIR/N.json
(N counts up from 1) as {"method", "path", "headers": {lowercased name:
value}, "body": text, "sig_ok": bool}, where sig_ok is the receiver's own
check of X-Postbeacon-Signature: hex HMAC-SHA256 with the secret (the hex
decoded) over "<X-Postbeacon-Timestamp>.<body>", as docs/custom-events.md
tells a receiver to compute it. Request N gets ANSWER number N (the last
one again after the list ends):

  200, 400, 500 ...   that status, a short JSON body
  301                 a redirect to /moved
  429+R               429 with Retry-After: R
  sleep+S             wait S seconds, then 200 (a receiver that is too slow)
"""
import hashlib
import hmac
import json
import os
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

DIR, SECRET, ANSWERS = sys.argv[1], bytes.fromhex(sys.argv[2]), sys.argv[3].split(",")
count = 0
lock = threading.Lock()


def record(handler, body):
    global count
    with lock:
        count += 1
        n = count
    ts = handler.headers.get("X-Postbeacon-Timestamp", "")
    want = hmac.new(SECRET, ts.encode() + b"." + body, hashlib.sha256).hexdigest()
    got = handler.headers.get("X-Postbeacon-Signature", "")
    entry = {
        "method": handler.command, "path": handler.path,
        "headers": {k.lower(): v for k, v in handler.headers.items()},
        "body": body.decode("utf-8"), "sig_ok": hmac.compare_digest(want, got.lower()),
    }
    tmp = os.path.join(DIR, "%d.json.tmp" % n)
    with open(tmp, "w") as f:
        json.dump(entry, f)
    os.rename(tmp, os.path.join(DIR, "%d.json" % n))
    return ANSWERS[min(n, len(ANSWERS)) - 1]


class Handler(BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        answer = record(self, body)
        headers = {}
        if answer.startswith("sleep+"):
            time.sleep(float(answer[6:]))
            status = 200
        elif answer.startswith("429+"):
            status, headers["Retry-After"] = 429, answer[4:]
        else:
            status = int(answer)
        if status == 301:
            headers["Location"] = "/moved"
        text = json.dumps({"status": status, "error": "unknown field" if status == 400 else None})
        try:
            self.send_response(status)
            for k, v in headers.items():
                self.send_header(k, v)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(text)))
            self.end_headers()
            self.wfile.write(text.encode())
        except (BrokenPipeError, ConnectionResetError):
            pass                # the client gave up (a timeout)

    def log_message(self, *args):
        pass


server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
with open(os.path.join(DIR, "port.tmp"), "w") as f:
    f.write(str(server.server_address[1]))
os.rename(os.path.join(DIR, "port.tmp"), os.path.join(DIR, "port"))
server.serve_forever()
