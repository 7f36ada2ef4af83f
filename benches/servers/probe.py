#!/usr/bin/env python3
"""Client-side helpers of the side-by-side server benchmark (run.sh).

  probe.py check --port P [--host H] [--wait S] [--tls]
      Waits up to S seconds for the server to accept (with --tls: and does a
      TLS handshake, the certificate unchecked), then checks that it
      answers like an HTTP/1.1 keep-alive server: GET /plaintext and GET /
      give 200 "Hello, World!" with Content-Length; 16 requests pipelined in
      one write get 16 responses in order on the same connection; a request
      split across two writes is answered once. Exit 0 if so, 1 with the
      reason otherwise.

  probe.py idle --port P --pid PID [--host H] [--conns N] [--hold S]
      The idle keep-alive scenario: opens N connections, sends one
      GET /plaintext on each and reads its response, leaves them all idle
      for S seconds, then reads the server's VmRSS, VmHWM and Threads from
      /proc/PID/status and counts how many connections the server kept
      open. Prints one JSON object. Every step has a deadline.

Loopback only: the host must be a 127.0.0.0/8 address or localhost.
"""

import argparse
import ipaddress
import json
import resource
import selectors
import socket
import ssl
import sys
import time

# Seconds any single socket operation of `check` may take.
CHECK_TIMEOUT = 5.0
# Depth of the pipelining check (the benchmark's depth).
CHECK_DEPTH = 16
# Seconds the idle scenario may spend connecting and getting answers, in all.
IDLE_SETUP_DEADLINE = 60.0


def loopback(host):
    if host == "localhost":
        return "127.0.0.1"
    if not ipaddress.ip_address(host).is_loopback:
        sys.exit(f"probe.py: {host} is not a loopback address")
    return host


def request(host, port, path):
    return f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\n\r\n".encode()


class ResponseReader:
    """Splits a byte stream into HTTP/1.1 responses with Content-Length."""

    def __init__(self):
        self.buf = b""

    def feed(self, data):
        self.buf += data

    def next(self):
        """Returns (status, headers, body) of the next complete response, or None."""
        end = self.buf.find(b"\r\n\r\n")
        if end < 0:
            return None
        head = self.buf[:end].decode("latin-1").split("\r\n")
        parts = head[0].split(" ", 2)
        if len(parts) < 2 or not parts[0].startswith("HTTP/1."):
            raise ValueError(f"bad status line {head[0]!r}")
        headers = {}
        for line in head[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        if "content-length" not in headers:
            raise ValueError(f"response without Content-Length: {head!r}")
        length = int(headers["content-length"])
        if len(self.buf) < end + 4 + length:
            return None
        body = self.buf[end + 4 : end + 4 + length]
        self.buf = self.buf[end + 4 + length :]
        return int(parts[1]), headers, body


def read_responses(sock, reader, count):
    out = []
    while len(out) < count:
        got = reader.next()
        if got is not None:
            out.append(got)
            continue
        data = sock.recv(65536)
        if not data:
            raise ValueError(f"connection closed after {len(out)} of {count} responses")
        reader.feed(data)
    return out


def expect_hello(resp, what):
    status, headers, body = resp
    if status != 200 or body != b"Hello, World!":
        raise ValueError(f"{what}: got {status} {body[:40]!r}, want 200 'Hello, World!'")
    if not headers.get("content-type", "").startswith("text/plain"):
        raise ValueError(f"{what}: Content-Type {headers.get('content-type')!r}, want text/plain")


def connect_when_up(host, port, wait):
    deadline = time.monotonic() + wait
    while True:
        try:
            return socket.create_connection((host, port), timeout=CHECK_TIMEOUT)
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def check(args):
    host = loopback(args.host)
    try:
        sock = connect_when_up(host, args.port, args.wait)
        if args.tls:
            # The benchmark's throw-away certificate: encrypted, not authenticated.
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
            sock = context.wrap_socket(sock, server_hostname="localhost")
    except OSError as err:
        print(f"not accepting on {host}:{args.port} after {args.wait}s: {err}", file=sys.stderr)
        return 1
    try:
        with sock:
            reader = ResponseReader()
            sock.sendall(request(host, args.port, "/plaintext"))
            expect_hello(read_responses(sock, reader, 1)[0], "GET /plaintext")
            sock.sendall(request(host, args.port, "/"))
            expect_hello(read_responses(sock, reader, 1)[0], "GET /")
            sock.sendall(request(host, args.port, "/plaintext") * CHECK_DEPTH)
            for i, resp in enumerate(read_responses(sock, reader, CHECK_DEPTH)):
                expect_hello(resp, f"pipelined request {i + 1}/{CHECK_DEPTH}")
            whole = request(host, args.port, "/plaintext")
            cut = len(whole) - 3  # split inside the final \r\n\r\n
            sock.sendall(whole[:cut])
            time.sleep(0.05)
            sock.sendall(whole[cut:])
            expect_hello(read_responses(sock, reader, 1)[0], "request split across writes")
            if reader.buf:
                raise ValueError(f"unexpected extra bytes {reader.buf[:40]!r}")
    except (OSError, ValueError) as err:
        print(f"check failed: {err}", file=sys.stderr)
        return 1
    return 0


def proc_status(pid):
    out = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM", "Threads"):
                out[key] = int(value.split()[0])
    return out


def idle(args):
    host = loopback(args.host)
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = min(hard, args.conns + 64)
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
    started = time.monotonic()
    deadline = started + IDLE_SETUP_DEADLINE
    req = request(host, args.port, "/plaintext")
    socks = []
    errors = 0
    for _ in range(args.conns):
        if time.monotonic() > deadline:
            break
        try:
            s = socket.create_connection((host, args.port), timeout=10)
            s.sendall(req)
            s.setblocking(False)
            socks.append(s)
        except OSError:
            errors += 1
    connected = len(socks)

    sel = selectors.DefaultSelector()
    readers = {}
    for s in socks:
        readers[s.fileno()] = ResponseReader()
        sel.register(s, selectors.EVENT_READ)
    answered = 0
    while readers and time.monotonic() < deadline:
        for key, _ in sel.select(timeout=0.5):
            s = key.fileobj
            try:
                data = s.recv(4096)
            except BlockingIOError:
                continue
            except OSError:
                data = b""
            done = not data
            if data:
                reader = readers[s.fileno()]
                reader.feed(data)
                try:
                    done = reader.next() is not None
                    answered += done
                except ValueError:
                    done = True
            if done:
                sel.unregister(s)
                del readers[s.fileno()]
    sel.close()
    setup_s = time.monotonic() - started

    time.sleep(args.hold)
    try:
        status = proc_status(args.pid)
    except OSError:
        status = {}
    still_open = 0
    for s in socks:
        try:
            if s.recv(1, socket.MSG_PEEK):
                still_open += 1  # unexpected bytes, but the connection is open
        except BlockingIOError:
            still_open += 1
        except OSError:
            pass
    for s in socks:
        s.close()
    print(
        json.dumps(
            {
                "requested": args.conns,
                "connected": connected,
                "connect_errors": errors,
                "answered": answered,
                "setup_seconds": round(setup_s, 3),
                "hold_seconds": args.hold,
                "open_after_hold": still_open,
                "rss_kb": status.get("VmRSS"),
                "hwm_kb": status.get("VmHWM"),
                "threads": status.get("Threads"),
            }
        )
    )
    return 0


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("check")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--wait", type=float, default=10.0)
    p.add_argument("--tls", action="store_true")
    p = sub.add_parser("idle")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--pid", type=int, required=True)
    p.add_argument("--conns", type=int, default=10000)
    p.add_argument("--hold", type=float, default=2.0)
    args = parser.parse_args()
    return check(args) if args.cmd == "check" else idle(args)


if __name__ == "__main__":
    sys.exit(main())
