#!/usr/bin/env python3
"""A stand-in for systemd's notify socket: an AF_UNIX datagram socket at
argv[1]; each message received is appended to argv[2] as one line, its
fields joined by '|'.  Exits after argv[3] seconds (a bound) or SIGTERM."""
import os
import socket
import sys
import time

path, out, limit = sys.argv[1], sys.argv[2], float(sys.argv[3])
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(path)
open(out + ".up", "w").close()  # bound: the test may start the daemon
end = time.monotonic() + limit
while time.monotonic() < end:
    s.settimeout(max(0.05, end - time.monotonic()))
    try:
        data = s.recv(4096)
    except socket.timeout:
        break
    with open(out, "a") as f:
        f.write(data.decode("utf-8", "replace").replace("\n", "|") + "\n")
s.close()
os.unlink(path)
