#!/usr/bin/env python3
"""Slow clients against an HTTP listener on 127.0.0.1, and a latency probe.

For tests/system/kmsd_slowloris.sh and bench/slowloris.sh only: every
connection goes to 127.0.0.1, from 127.0.0.x source addresses.

  slowloris.py attack --port P --idle N --slow N [--first 2] [--count 15]
               [--interval S] [--backoff S] [--duration S] [--ready FILE]
               [--stats FILE]
      N idle connections (connect, send nothing) and N slowloris ones (a
      request line, then one header line every --interval seconds, never
      the end of the headers), spread evenly over --count source addresses
      127.0.0.<first>...  A connection the server closes is opened again
      after --backoff..2*--backoff seconds.  --ready is written once every
      connection was tried once; --stats (JSON counters) at the end.  Stops
      after --duration seconds, or on SIGTERM/SIGINT.

  slowloris.py probe --port P [--src A] [--n N] [--path PATH]
               [--body-dir DIR] [--timeout S] [--rate R]
      N requests, each on a new connection from A (default 127.0.0.1):
      GET PATH, or with --body-dir a POST of each DIR/*.bin in turn as
      application/mikey to /kms?requesttype=ticketrequest.  At most R
      requests a second (0: one after the other).  Prints one line:
      served=.. failed=.. p50_ms=.. p99_ms=.. max_ms=.. (latency of the
      served ones, connect to last byte).
"""
import argparse
import asyncio
import glob
import json
import os
import random
import resource
import signal
import socket
import sys
import time

REQUEST_LINE = b"POST /kms?requesttype=ticketrequest HTTP/1.1\r\nHost: kms\r\n"


class Attack:
    def __init__(self, a):
        self.a = a
        self.stop = asyncio.Event()
        self.total = a.idle + a.slow
        self.tried = 0
        self.n = {"opened": 0, "closed_by_server": 0, "connect_failed": 0,
                  "header_lines": 0}

    def tried_once(self):
        self.tried += 1
        if self.tried == self.total and self.a.ready:
            with open(self.a.ready, "w") as f:
                f.write("%d\n" % self.total)

    async def pause(self, s):
        try:
            await asyncio.wait_for(self.stop.wait(), s)
        except asyncio.TimeoutError:
            pass

    async def hold(self, r, w, slow):
        """Until the server closes the connection or the attack stops."""
        line = 0
        if slow:
            w.write(REQUEST_LINE)
            await w.drain()
        while not self.stop.is_set():
            try:
                data = await asyncio.wait_for(r.read(4096), self.a.interval)
            except asyncio.TimeoutError:
                if slow:
                    line += 1
                    w.write(b"X-Slow-%d: %d\r\n" % (line, line))
                    await w.drain()
                    self.n["header_lines"] += 1
                continue
            if not data:
                return True
        return False

    async def conn(self, src, slow):
        first = True
        while not self.stop.is_set():
            w = None
            try:
                r, w = await asyncio.wait_for(asyncio.open_connection(
                    "127.0.0.1", self.a.port, local_addr=(src, 0)), 5)
                self.n["opened"] += 1
                if first:
                    first = False
                    self.tried_once()
                if await self.hold(r, w, slow):
                    self.n["closed_by_server"] += 1
            except (OSError, asyncio.TimeoutError):
                if w is None:
                    self.n["connect_failed"] += 1
                    if first:
                        first = False
                        self.tried_once()
                elif not self.stop.is_set():
                    self.n["closed_by_server"] += 1  # a reset
            finally:
                if w is not None:
                    w.close()
            b = self.a.backoff
            await self.pause(random.uniform(b, 2 * b))

    async def run(self):
        loop = asyncio.get_running_loop()
        for s in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(s, self.stop.set)
        loop.call_later(self.a.duration, self.stop.set)
        srcs = ["127.0.0.%d" % (self.a.first + i) for i in range(self.a.count)]
        tasks = []
        # The slow ones first: they take their places before the table fills.
        kinds = [True] * self.a.slow + [False] * self.a.idle
        for i, slow in enumerate(kinds):
            src = srcs[i % len(srcs)]
            tasks.append(asyncio.ensure_future(self.conn(src, slow)))
            if i % 100 == 99:
                await asyncio.sleep(0)  # let the first ones connect
        await self.stop.wait()
        await asyncio.wait(tasks, timeout=10)
        if self.a.stats:
            with open(self.a.stats, "w") as f:
                json.dump(self.n, f)
        print(json.dumps(self.n))


def raise_nofile(need):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < need:
        new = need if hard == resource.RLIM_INFINITY else min(need, hard)
        resource.setrlimit(resource.RLIMIT_NOFILE, (new, hard))
        soft = new
    if soft != resource.RLIM_INFINITY and soft < need:
        sys.exit("slowloris.py: %d file descriptors needed, %d allowed" %
                 (need, soft))


def one_request(a, body):
    """(status, seconds) of one request on a new connection."""
    if body is None:
        req = ("GET %s HTTP/1.1\r\nHost: kms\r\nConnection: close\r\n\r\n" %
               a.path).encode()
    else:
        req = ("POST /kms?requesttype=ticketrequest HTTP/1.1\r\nHost: kms\r\n"
               "Content-Type: application/mikey\r\nContent-Length: %d\r\n"
               "Connection: close\r\n\r\n" % len(body)).encode() + body
    t0 = time.monotonic()
    s = socket.socket()
    try:
        s.settimeout(a.timeout)
        s.bind((a.src, 0))
        s.connect(("127.0.0.1", a.port))
        s.sendall(req)
        data = b""
        for _ in range(1024):  # bounded: at most 4 MiB
            chunk = s.recv(4096)
            if not chunk:
                break
            data += chunk
    except OSError:
        return 0, time.monotonic() - t0
    finally:
        s.close()
    parts = data.split(b" ", 2)
    status = int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else 0
    return status, time.monotonic() - t0


def probe(a):
    bodies = [None]
    if a.body_dir:
        bodies = [open(p, "rb").read()
                  for p in sorted(glob.glob(os.path.join(a.body_dir, "*.bin")))]
        if not bodies:
            sys.exit("slowloris.py: no *.bin in %s" % a.body_dir)
    lat, failed = [], {}
    start = time.monotonic()
    for i in range(a.n):
        if a.rate > 0:
            delay = start + i / a.rate - time.monotonic()
            if delay > 0:
                time.sleep(delay)
        status, dt = one_request(a, bodies[i % len(bodies)])
        if status == 200:
            lat.append(dt * 1000)
        else:
            failed[status] = failed.get(status, 0) + 1
    lat.sort()

    def pct(p):
        return lat[min(len(lat) - 1, int(len(lat) * p))] if lat else -1

    print("served=%d failed=%d p50_ms=%.2f p99_ms=%.2f max_ms=%.2f statuses=%s" %
          (len(lat), sum(failed.values()), pct(0.50), pct(0.99),
           lat[-1] if lat else -1, json.dumps(failed, sort_keys=True)))


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    at = sub.add_parser("attack")
    at.add_argument("--port", type=int, required=True)
    at.add_argument("--idle", type=int, default=0)
    at.add_argument("--slow", type=int, default=0)
    at.add_argument("--first", type=int, default=2)
    at.add_argument("--count", type=int, default=15)
    at.add_argument("--interval", type=float, default=1.0)
    at.add_argument("--backoff", type=float, default=0.5)
    at.add_argument("--duration", type=float, default=60)
    at.add_argument("--ready")
    at.add_argument("--stats")
    pr = sub.add_parser("probe")
    pr.add_argument("--port", type=int, required=True)
    pr.add_argument("--src", default="127.0.0.1")
    pr.add_argument("--n", type=int, default=100)
    pr.add_argument("--path", default="/healthz")
    pr.add_argument("--body-dir")
    pr.add_argument("--timeout", type=float, default=5)
    pr.add_argument("--rate", type=float, default=0)
    a = p.parse_args()
    if a.cmd == "attack":
        if not 1 <= a.first <= 254 or not 1 <= a.count <= 255 - a.first:
            sys.exit("slowloris.py: addresses 127.0.0.%d.. out of range" % a.first)
        raise_nofile(a.idle + a.slow + 64)
        asyncio.run(Attack(a).run())
    else:
        probe(a)


if __name__ == "__main__":
    main()
