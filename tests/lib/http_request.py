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


def read_response(sock, method):
    """One response from sock: (status, [(name, value)], body bytes)."""
    buf = b""
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
    a = p.parse_intermixed_args()

    sock = connect(a.host, a.port, a.source)
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
    if a.split:
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
