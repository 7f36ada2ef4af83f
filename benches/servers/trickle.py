#!/usr/bin/env python3
# 10,000 connections trickling a 15 KiB head one byte per second for 5 s against `weft serve
# --loops 1`: its RSS before and at the peak, and a fresh client's latency right after each
# second's burst of writes and 0.5 s later. Usage: ulimit -n 20000; python3 trickle.py target/release/weft
import socket, subprocess, sys, time, re, os
exe = sys.argv[1]
p = subprocess.Popen([exe, "serve", "--port", "0", "--loops", "1", "--drain-grace", "0"], stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)
addr = None
while addr is None:
    line = p.stderr.readline()
    m = re.search(r"listening on http://([0-9.]+):(\d+)", line)
    if m: addr = (m.group(1), int(m.group(2)))
def rss(pid):
    for l in open(f"/proc/{pid}/status"):
        if l.startswith("VmRSS:"): return int(l.split()[1])
def fresh():
    t = time.monotonic()
    s = socket.create_connection(addr); s.sendall(b"GET /plaintext HTTP/1.1\r\nHost: t\r\n\r\n")
    d = s.recv(512); s.close()
    assert d.startswith(b"HTTP/1.1 200"), d
    return (time.monotonic() - t) * 1000
fresh()
before = rss(p.pid)
conns = [socket.create_connection(addr) for _ in range(10000)]
head = b"GET /plaintext HTTP/1.1\r\nHost: t\r\nX-Pad: " + b"a" * 15000
peak = before; lat = []; idle = []
for sec in range(5):
    t = time.monotonic()
    for c in conns: c.send(head[sec:sec+1])
    lat.append(round(fresh(), 1))
    time.sleep(0.5)
    idle.append(round(fresh(), 1))
    peak = max(peak, rss(p.pid))
    r = 1 - (time.monotonic() - t)
    if r > 0: time.sleep(r)
print(f"release: RSS {before} KiB -> peak {peak} KiB ({(peak-before)*1024/10000:.0f} B/conn); fresh client right after each burst {lat} ms, 0.5 s after {idle} ms")
for c in conns: c.close()
p.terminate(); p.wait()
