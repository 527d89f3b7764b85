#!/usr/bin/env python3
"""Drive whole MIKEY-TICKET flows through a balancer with kms-ue (for
tests/system/kmsd_cluster.sh).

  cluster_calls.py UE URL ALICE_PSK BOB_PSK FLOWS THREADS DIR MARK

Each flow is two calls: Alice's ticketrequest and Bob's ticketresolve,
then both ends derive their SRTP keys, which must be equal.  A call that
fails (no answer, or a status other than 200) is tried once more with a
freshly built message (a new REQUEST_INIT or RESOLVE_INIT: the first may
have been accepted before its node died, so sending the same bytes again
would be a replay).  Every call appends "FLOW CALL ATTEMPT STATUS" to
DIR/calls.log as it ends; once MARK calls have ended, the file DIR/mark
is created, which the test waits for (a test of a file's existence
costs the waiting shell no process).  Prints one JSON object: calls, retried, failed (after the retry),
mismatched keys, errors (kms-ue failures).  Every loop is bounded by FLOWS.
"""
import json
import os
import subprocess
import sys
import threading
import urllib.error
import urllib.request

UE, URL, APSK, BPSK = sys.argv[1:5]
FLOWS, THREADS, DIR = int(sys.argv[5]), int(sys.argv[6]), sys.argv[7]
MARK = int(sys.argv[8])
ALICE, BOB = "alice@example.org", "bob@example.org"

lock = threading.Lock()
stats = {"calls": 0, "retried": 0, "failed": 0, "mismatched": 0, "errors": 0}
log = open(os.path.join(DIR, "calls.log"), "a", buffering=1)
next_flow = [0]
ended = [0]


class UeError(Exception):
    pass


def ue(*args):
    r = subprocess.run([UE] + list(args), stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=30)
    if r.returncode != 0:
        raise UeError("kms-ue %s: %s" % (args[0], r.stderr.decode()[-300:]))
    return r.stdout


def post(kind, body):
    req = urllib.request.Request(
        "%s/kms?requesttype=%s" % (URL, kind), data=body,
        headers={"Content-Type": "application/mikey"})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, b""
    except (OSError, urllib.error.URLError):
        return 0, b""


def call(flow, name, kind, build):
    """build(attempt) writes a fresh message and returns its path."""
    for attempt in (1, 2):
        path = build(attempt)
        status, body = post(kind, open(path, "rb").read())
        with lock:
            log.write("%d %s %d %d\n" % (flow, name, attempt, status))
            ended[0] += 1
            if ended[0] == MARK:
                open(os.path.join(DIR, "mark"), "w").close()
            if attempt == 1:
                stats["calls"] += 1
            if status == 200:
                return body
            if attempt == 1:
                stats["retried"] += 1
    with lock:
        stats["failed"] += 1
    return None


def flow(f):
    d = os.path.join(DIR, "f%d" % f)
    os.mkdir(d)
    p = lambda name: os.path.join(d, name)

    def request(a):
        ue("request", "--psk-file", APSK, "--id", ALICE, "--to", BOB,
           "--out", p("req%d.bin" % a), "--state", p("alice.st"))
        return p("req%d.bin" % a)

    resp = call(f, "request", "ticketrequest", request)
    if resp is None:
        return
    open(p("resp.bin"), "wb").write(resp)
    ue("transfer-init", "--psk-file", APSK, "--state", p("alice.st"),
       "--resp", p("resp.bin"), "--out", p("ti.bin"))

    def resolve(a):
        ue("resolve", "--psk-file", BPSK, "--id", BOB, "--in", p("ti.bin"),
           "--out", p("res%d.bin" % a), "--state", p("bob.st"))
        return p("res%d.bin" % a)

    rr = call(f, "resolve", "ticketresolve", resolve)
    if rr is None:
        return
    open(p("rr.bin"), "wb").write(rr)
    ue("transfer-resp", "--psk-file", BPSK, "--state", p("bob.st"),
       "--resp", p("rr.bin"), "--out", p("tr.bin"))
    bob = ue("keys", "--state", p("bob.st"))
    alice = ue("keys", "--state", p("alice.st"), "--tr", p("tr.bin"))
    if json.loads(bob) != json.loads(alice):
        with lock:
            stats["mismatched"] += 1


def worker():
    while True:
        with lock:
            f = next_flow[0]
            next_flow[0] += 1
        if f >= FLOWS:
            return
        try:
            flow(f)
        except (UeError, subprocess.TimeoutExpired, OSError) as e:
            with lock:
                stats["errors"] += 1
            sys.stderr.write("flow %d: %s\n" % (f, e))


threads = [threading.Thread(target=worker) for _ in range(THREADS)]
for t in threads:
    t.start()
for t in threads:
    t.join()
print(json.dumps(stats))
