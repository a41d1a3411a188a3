#!/usr/bin/env python3
"""http_request.py - a raw HTTP/1.1 client for tests/tracker_http.sh.

It writes requests byte for byte (so tests can send what no well-behaved
client would: CR/LF in a header, a split request, pipelining) and prints
the answer in a form the shell can pick apart:

    line 1      the status code
    then        the response headers, "Name: value", as received
    blank line
    then        the body

Usage:
  http_request.py PORT METHOD PATH [-H 'Name: value']... [-d BODY]
                  [--host ADDR] [--source ADDR] [--split SECONDS]
                  [--keepalive N]
  http_request.py PORT --raw           request bytes from stdin
  http_request.py PORT --idle SECONDS METHOD PATH
                  one keep-alive request, then wait up to SECONDS for the
                  server to close the idle connection; prints
                  "closed" or "open" after the first answer.

--split sends the request in two halves with a pause between them.
--ready FILE creates FILE when the connection is where a test wants it.
--keepalive sends the request N times on one connection, reading each
answer before the next, and prints one status code per line.

Edge cases (tests/tracker_http_edge.sh):
  --pipeline      PATH is a comma-separated list of "PATH", "METHOD PATH" or
                  "METHOD PATH close" (Connection: close): every request
                  goes out in one write, then one line per answer: "STATUS
                  LOCATION-or-CONTENT-TYPE" ("closed" when the server closed
                  before answering all of them), then "closed" or "open"
                  (after 2 s) for the connection
  --chunks N      send the request in pieces of N bytes (TCP_NODELAY, a short
                  pause after each)
  --stall SECS    send the first half of the request, then wait up to SECS:
                  prints "closed" (the server closed without answering),
                  "answered" or "open"
  --dribble SECS  send the request one byte every 0.2 s for up to SECS;
                  prints "closed" or "open", as --stall
  --hold N        open N connections with one keep-alive request each, then
                  one more connection that only reads: prints its status (or
                  "closed"), then the status of a request on the first held
                  connection
  --expect100     send the headers with "Expect: 100-continue", print the
                  interim status, then send the body; the answer as usual
"""
import argparse
import socket
import sys
import time


def build(method, path, headers, body, close):
    lines = [f"{method} {path} HTTP/1.1", "Host: t.example.net"]
    lines += headers
    if body is not None:
        lines.append(f"Content-Length: {len(body.encode())}")
    if close:
        lines.append("Connection: close")
    data = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
    if body is not None:
        data += body.encode()
    return data


# Bytes read past the end of an answer (pipelining), by socket.
leftover = {}


def read_response(sock, method):
    """One response from sock: (status, [(name, value)], body bytes)."""
    buf = leftover.pop(sock.fileno(), b"")
    while b"\r\n\r\n" not in buf:
        chunk = sock.recv(65536)
        if not chunk:
            raise EOFError("connection closed before the headers ended")
        buf += chunk
    head, rest = buf.split(b"\r\n\r\n", 1)
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = [tuple(x.split(": ", 1)) for x in lines[1:]]
    length = None
    for name, value in headers:
        if name.lower() == "content-length":
            length = int(value)
    if method == "HEAD" or status in (204, 304):
        length = 0
    if length is None:                  # read to the end
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                break
            rest += chunk
        return status, headers, rest
    while len(rest) < length:
        chunk = sock.recv(65536)
        if not chunk:
            break
        rest += chunk
    if len(rest) > length:
        leftover[sock.fileno()] = rest[length:]
    return status, headers, rest[:length]


def show(status, headers, body):
    out = sys.stdout.buffer
    out.write(f"{status}\n".encode())
    for name, value in headers:
        out.write(f"{name}: {value}\n".encode("latin-1"))
    out.write(b"\n" + body)


def connect(host, port, source=None):
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.settimeout(10)
    if source:
        sock.bind((source, 0))
    sock.connect((host, port))
    return sock


def pipeline(sock, method, items, headers):
    """items: "PATH" or "METHOD PATH" or "METHOD PATH close"."""
    requests = []
    for item in items:
        parts = item.split(" ")
        if len(parts) == 1:
            parts = [method] + parts
        requests.append((parts[0], parts[1], len(parts) > 2 and parts[2] == "close"))
    sock.sendall(b"".join(build(m, path, headers, None, close) for m, path, close in requests))
    for m, _, _ in requests:
        try:
            status, hdrs, _ = read_response(sock, m)
        except (EOFError, ConnectionResetError):
            print("closed")
            return
        found = dict((n.lower(), v) for n, v in hdrs)
        print(status, found.get("location", found.get("content-type", "")))
    sock.settimeout(2)
    try:
        print("closed" if sock.recv(1) == b"" else "more")
    except socket.timeout:
        print("open")
    except ConnectionResetError:
        print("closed")


def send_in_chunks(sock, data, size):
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    for i in range(0, len(data), size):
        sock.sendall(data[i:i + size])
        time.sleep(0.005)


def wait_verdict(sock, seconds):
    """After a partial request: "closed", "answered" or "open"."""
    sock.settimeout(seconds)
    try:
        return "answered" if sock.recv(1) else "closed"
    except socket.timeout:
        return "open"
    except ConnectionResetError:
        return "closed"


def dribble(sock, data, seconds):
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    limit = time.time() + seconds
    for byte in data:
        if time.time() > limit:
            return "open"
        try:
            sock.sendall(bytes([byte]))
        except (BrokenPipeError, ConnectionResetError):
            return "closed"
        verdict = wait_verdict(sock, 0.2)
        if verdict != "open":
            return verdict
    return "answered?"


def hold(a, count):
    held = []
    data = build(a.method, a.path, a.headers, a.body, False)
    for _ in range(count):
        sock = connect(a.host, a.port, a.source)
        sock.sendall(data)
        read_response(sock, a.method)
        held.append(sock)
    extra = connect(a.host, a.port, a.source)
    try:
        print(read_response(extra, "GET")[0])
    except (EOFError, ConnectionResetError):
        print("closed")
    held[0].sendall(data)
    print(read_response(held[0], a.method)[0])
    for sock in held + [extra]:
        sock.close()


def expect100(sock, a):
    head, body = build(a.method, a.path, a.headers + ["Expect: 100-continue"], a.body,
                       True).split(b"\r\n\r\n", 1)
    sock.sendall(head + b"\r\n\r\n")
    buf = b""
    while b"\r\n\r\n" not in buf:
        chunk = sock.recv(1)
        if not chunk:
            print("closed")
            return
        buf += chunk
    print("interim", buf.split()[1].decode())
    sock.sendall(body)
    show(*read_response(sock, a.method))


def main():
    p = argparse.ArgumentParser()
    p.add_argument("port", type=int)
    p.add_argument("method", nargs="?")
    p.add_argument("path", nargs="?")
    p.add_argument("-H", dest="headers", action="append", default=[])
    p.add_argument("-d", dest="body")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--source", help="local address to connect from")
    p.add_argument("--split", type=float)
    p.add_argument("--keepalive", type=int)
    p.add_argument("--idle", type=float)
    p.add_argument("--raw", action="store_true")
    p.add_argument("--ready", help="create this file once the first half is sent "
                   "(--split) or the first answer is in (--idle)")
    p.add_argument("--pipeline", action="store_true")
    p.add_argument("--chunks", type=int)
    p.add_argument("--stall", type=float)
    p.add_argument("--dribble", type=float)
    p.add_argument("--hold", type=int)
    p.add_argument("--expect100", action="store_true")
    a = p.parse_intermixed_args()

    if a.hold:
        hold(a, a.hold)
        return 0
    sock = connect(a.host, a.port, a.source)
    if a.pipeline:
        pipeline(sock, a.method, a.path.split(","), a.headers)
        return 0
    if a.expect100:
        expect100(sock, a)
        return 0
    if a.stall is not None or a.dribble is not None:
        data = build(a.method, a.path, a.headers, a.body, True)
        if a.stall is not None:
            sock.sendall(data[:len(data) // 2])
            print(wait_verdict(sock, a.stall))
        else:
            print(dribble(sock, data, a.dribble))
        return 0
    if a.raw:
        sock.sendall(sys.stdin.buffer.read())
        status, headers, body = read_response(sock, "GET")
        show(status, headers, body)
        return 0
    if a.keepalive:
        data = build(a.method, a.path, a.headers, a.body, False)
        for _ in range(a.keepalive):
            sock.sendall(data)
            status, _, _ = read_response(sock, a.method)
            print(status)
        return 0
    if a.idle is not None:
        sock.sendall(build(a.method, a.path, a.headers, a.body, False))
        status, _, _ = read_response(sock, a.method)
        print(status, flush=True)
        if a.ready:
            open(a.ready, "w").close()
        sock.settimeout(a.idle)
        try:
            print("closed" if sock.recv(1) == b"" else "data")
        except socket.timeout:
            print("open")
        return 0
    data = build(a.method, a.path, a.headers, a.body, True)
    if a.chunks:
        send_in_chunks(sock, data, a.chunks)
    elif a.split:
        half = len(data) // 2
        sock.sendall(data[:half])
        if a.ready:
            open(a.ready, "w").close()
        time.sleep(a.split)
        sock.sendall(data[half:])
    else:
        sock.sendall(data)
    status, headers, body = read_response(sock, a.method)
    show(status, headers, body)
    return 0


if __name__ == "__main__":
    sys.exit(main())
