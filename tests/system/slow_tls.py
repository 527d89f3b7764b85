#!/usr/bin/env python3
"""A slow HTTPS client for kmsd_ua_tls.sh: a POST whose body arrives in two
parts, with the test's reload in between.

usage: slow_tls.py PORT CAFILE PATH BODY READY GO OUT

Connects to 127.0.0.1:PORT (TLS, verified against CAFILE), sends the
request headers and the first half of BODY, then writes the serial number
of the certificate this connection got to READY and waits (bounded, 10 s)
for the file GO; then sends the rest, reads the answer and writes
"STATUS SERIAL" to OUT and the answer's body to OUT.body.  Exit 0 when it
got an answer, else 1."""
import os
import socket
import ssl
import sys
import time


def main():
    port, cafile, path, body_file, ready, go, out = sys.argv[1:8]
    body = open(body_file, "rb").read()
    ctx = ssl.create_default_context(cafile=cafile)
    ctx.check_hostname = False  # the certificate names 127.0.0.1 too; the chain is what counts here
    raw = socket.create_connection(("127.0.0.1", int(port)), timeout=10)
    s = ctx.wrap_socket(raw)
    serial = s.getpeercert().get("serialNumber", "?")
    head = ("POST %s HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            "Content-Type: application/mikey\r\nContent-Length: %d\r\n"
            "Connection: close\r\n\r\n" % (path, len(body))).encode()
    half = len(body) // 2
    s.sendall(head + body[:half])
    with open(ready + ".tmp", "w") as f:
        f.write(serial + "\n")
    os.rename(ready + ".tmp", ready)
    for _ in range(500):  # at most 10 s
        if os.path.exists(go):
            break
        time.sleep(0.02)
    else:
        return 1
    s.sendall(body[half:])
    data = b""
    for _ in range(256):  # bounded number of reads
        try:
            chunk = s.recv(4096)
        except (ssl.SSLError, OSError):  # closed without close_notify
            break
        if not chunk:
            break
        data += chunk
    s.close()
    if not data.startswith(b"HTTP/1."):
        return 1
    status = data.split(b" ", 2)[1].decode()
    hdr, _, payload = data.partition(b"\r\n\r\n")
    with open(out + ".body", "wb") as f:
        f.write(payload)
    with open(out, "w") as f:
        f.write("%s %s\n" % (status, serial))
    return 0


if __name__ == "__main__":
    sys.exit(main())
