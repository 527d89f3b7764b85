#!/usr/bin/env python3
# post_burst.py PORT DIR GO NAME...: one thread and one keep-alive
# connection per NAME to 127.0.0.1:PORT.  Each first warms its connection
# (GET /healthz, so a Ua worker thread owns it, as a proxy's pooled
# connections are owned) and writes DIR/NAME.ready; then, once the file GO
# exists (GO "-": at once; waited for at most 60 s), POSTs DIR/NAME.bin to
# /kms?requesttype=ticketrequest as application/mikey, writes DIR/NAME.sent
# once it is sent, and DIR/NAME.res ("STATUS") and DIR/NAME.out (the body)
# once answered.  Every wait is bounded (60 s): a bound, not a measurement.
import http.client
import os
import sys
import threading
import time

port, d, go, names = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4:]
BOUND = 60


def put(name, data):
    tmp = os.path.join(d, name + ".tmp")
    with open(tmp, "wb") as f:
        f.write(data)
    os.replace(tmp, os.path.join(d, name))


def wait_go():
    end = time.monotonic() + BOUND
    while go != "-" and not os.path.exists(go):
        if time.monotonic() > end:
            raise TimeoutError("no go file")
        time.sleep(0.005)


def send(name):
    body = open(os.path.join(d, name + ".bin"), "rb").read()
    status, data = 0, b""
    try:
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=BOUND)
        c.request("GET", "/healthz")
        c.getresponse().read()
        put(name + ".ready", b"")
        wait_go()
        c.putrequest("POST", "/kms?requesttype=ticketrequest")
        c.putheader("Content-Type", "application/mikey")
        c.putheader("Content-Length", str(len(body)))
        c.endheaders(body)
        put(name + ".sent", b"")
        r = c.getresponse()
        status, data = r.status, r.read()
    except Exception as e:  # the status stays 0: the test fails on it
        print("%s: %s" % (name, e), flush=True)
    put(name + ".out", data)
    put(name + ".res", b"%d\n" % status)


threads = [threading.Thread(target=send, args=(n,)) for n in names]
for t in threads:
    t.start()
for t in threads:
    t.join()
