#!/usr/bin/env python3
"""Write a classic pcap (LINKTYPE_RAW, raw IPv4) that carries MIKEY messages
the way kmsd and its clients exchange them, for the Wireshark dissector test.

Usage: wireshark_pcap.py OUT ITEM...
  http:PORT:REQTYPE:REQ:RESP:STATUS  one HTTP/1.1 POST /kms?requesttype=REQTYPE
                                     (application/mikey both ways) on its own
                                     TCP connection to 127.0.0.1:PORT
  sip:PORT:TI:TR                     SIP INVITE / 200 OK over UDP to PORT whose
                                     SDP carry a=key-mgmt:mikey (RFC 4567)
  udp:PORT:FILE                      FILE as the payload of one UDP datagram
  mutate:PORT:DIR                    every file of DIR (sorted) in UDP datagrams:
                                     whole, cut at 1/4, 1/2 and len-1 bytes, and
                                     with byte 2 (the next payload) and the last
                                     byte flipped (deterministic)
  synth:PORT:NAME                    a hand-made message (see SYNTH) in one UDP
                                     datagram: payloads kms-ue does not send
Files are read in binary; every record is built by hand (no scapy).
"""
import base64
import os
import struct
import sys

T0 = 1767225600  # fixed capture time: output is reproducible


class Pcap:
    def __init__(self, path):
        self.f = open(path, "wb")
        self.f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 101))
        self.n = 0
        self.ip_id = 1

    def packet(self, src, dst, proto, l4):
        hdr = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(l4), self.ip_id, 0, 64,
                          proto, 0, bytes(src), bytes(dst))
        self.ip_id = (self.ip_id + 1) & 0xFFFF
        hdr = hdr[:10] + struct.pack("!H", csum(hdr)) + hdr[12:]
        frame = hdr + l4
        self.n += 1
        self.f.write(struct.pack("<IIII", T0 + self.n // 1000, (self.n % 1000) * 1000,
                                 len(frame), len(frame)))
        self.f.write(frame)

    def udp(self, src, sport, dst, dport, data):
        self.packet(src, dst, 17, struct.pack("!HHHH", sport, dport, 8 + len(data), 0) + data)

    def tcp(self, src, sport, dst, dport, seq, ack, flags, data=b""):
        l4 = struct.pack("!HHIIBBHHH", sport, dport, seq & 0xFFFFFFFF, ack & 0xFFFFFFFF,
                         5 << 4, flags, 65535, 0, 0) + data
        pseudo = struct.pack("!4s4sBBH", bytes(src), bytes(dst), 0, 6, len(l4))
        l4 = l4[:16] + struct.pack("!H", csum(pseudo + l4)) + l4[18:]
        self.packet(src, dst, 6, l4)


def csum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


UE = (127, 0, 0, 2)
UE2 = (127, 0, 0, 3)
KMS = (127, 0, 0, 1)
MSS = 1400


def tcp_send(p, a, ap, b, bp, seq, ack, data):
    """data from a to b in MSS segments; returns the next seq."""
    for i in range(0, len(data), MSS):
        p.tcp(a, ap, b, bp, seq, ack, 0x18, data[i:i + MSS])
        seq += len(data[i:i + MSS])
    return seq


def http(p, sport, port, reqtype, req, resp, status):
    reason = {200: "OK", 400: "Bad Request", 401: "Unauthorized",
              403: "Forbidden"}.get(status, "Error")
    q = (("POST /kms?requesttype=%s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n"
          "Content-Type: application/mikey\r\nContent-Length: %d\r\n\r\n")
         % (reqtype, port, len(req))).encode() + req
    r = (("HTTP/1.1 %d %s\r\nContent-Type: application/mikey\r\n"
          "Content-Length: %d\r\n\r\n") % (status, reason, len(resp))).encode() + resp
    c, s = 1000, 5000
    p.tcp(UE, sport, KMS, port, c, 0, 0x02)
    p.tcp(KMS, port, UE, sport, s, c + 1, 0x12)
    c += 1
    s += 1
    p.tcp(UE, sport, KMS, port, c, s, 0x10)
    c = tcp_send(p, UE, sport, KMS, port, c, s, q)
    s = tcp_send(p, KMS, port, UE, sport, s, c, r)
    p.tcp(UE, sport, KMS, port, c, s, 0x11)
    p.tcp(KMS, port, UE, sport, s, c + 1, 0x11)
    p.tcp(UE, sport, KMS, port, c + 1, s + 1, 0x10)


def sdp(addr, rtp, mikey):
    return ("v=0\r\no=- 1 1 IN IP4 %s\r\ns=-\r\nc=IN IP4 %s\r\nt=0 0\r\n"
            "a=key-mgmt:mikey %s\r\nm=audio %d RTP/SAVP 0\r\n"
            % (addr, addr, base64.b64encode(mikey).decode(), rtp)).encode()


def sip(p, port, ti, tr):
    a, b = "127.0.0.2", "127.0.0.3"
    head = ("Via: SIP/2.0/UDP %s:%d;branch=z9hG4bK1\r\nFrom: <sip:alice@example.org>;tag=1\r\n"
            "To: <sip:bob@example.org>%s\r\nCall-ID: 1@%s\r\nCSeq: 1 INVITE\r\n"
            "Contact: <sip:alice@%s:%d>\r\nContent-Type: application/sdp\r\n")
    body = sdp(a, 40000, ti)
    inv = (("INVITE sip:bob@example.org SIP/2.0\r\n" + head + "Content-Length: %d\r\n\r\n")
           % (a, port, "", a, a, port, len(body))).encode() + body
    p.udp(UE, port, UE2, port, inv)
    body = sdp(b, 40002, tr)
    ok = (("SIP/2.0 200 OK\r\n" + head + "Content-Length: %d\r\n\r\n")
          % (a, port, ";tag=2", a, a, port, len(body))).encode() + body
    p.udp(UE2, port, UE, port, ok)


def ntp(sec):
    return struct.pack("!II", sec + 2208988800, 0)


def hdr(dt, nxt, prf, csb, ncs, maptype, maps=b""):
    return struct.pack("!BBBBIBB", 1, dt, nxt, prf, csb, ncs, maptype) + maps


# Hand-made messages for payloads and values kms-ue does not produce.
# Each is HDR then a payload chain; the Next payload bytes are written out.
SYNTH = {
    # RFC 3830 PSK init: SRTP-ID map, T, RAND, ID, SP, GEN_EXT, KEMAC with a MAC.
    "psk": hdr(0, 5, 0, 0x01020304, 1, 0, struct.pack("!BII", 1, 0xCAFEBABE, 0))
    + bytes([11, 0]) + ntp(T0)
    + bytes([6, 16]) + bytes(range(16))
    + bytes([10, 0]) + struct.pack("!H", 17) + b"alice@example.org"
    + bytes([21, 1, 0]) + struct.pack("!H", 9)
    + bytes([0, 1, 1, 1, 1, 16, 4, 1, 14])
    + bytes([1, 1]) + struct.pack("!H", 3) + b"sdp"
    + bytes([0, 1]) + struct.pack("!H", 8) + bytes(8) + bytes([1]) + bytes(20),
    # Error with both RFC 6043 codes, an SP and a V.
    "error": hdr(6, 5, 1, 0x0A0B0C0D, 0, 1)
    + bytes([12, 0]) + ntp(T0)
    + bytes([12, 14, 0, 0]) + bytes([10, 15, 0, 0])
    + bytes([9, 1, 0]) + struct.pack("!H", 3) + bytes([0, 1, 1])
    + bytes([0, 2]) + bytes(32),
    # An unknown payload type: shown as opaque, with an expert info.
    "unknown": hdr(14, 5, 0, 1, 0, 1) + bytes([99, 0]) + ntp(T0) + b"opaque!",
}


def mutations(data):
    out = [data]
    for cut in (len(data) // 4, len(data) // 2, len(data) - 1):
        if 0 < cut < len(data):
            out.append(data[:cut])
    for pos in (2, len(data) - 1):
        if 0 <= pos < len(data):
            m = bytearray(data)
            m[pos] ^= 0xFF
            out.append(bytes(m))
    return out


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    p = Pcap(sys.argv[1])
    sport = 40000
    for item in sys.argv[2:]:
        f = item.split(":")
        rd = lambda path: open(path, "rb").read()
        if f[0] == "http" and len(f) == 6:
            sport += 1
            http(p, sport, int(f[1]), f[2], rd(f[3]), rd(f[4]), int(f[5]))
        elif f[0] == "sip" and len(f) == 4:
            sip(p, int(f[1]), rd(f[2]), rd(f[3]))
        elif f[0] == "udp" and len(f) == 3:
            p.udp(UE, 50000, KMS, int(f[1]), rd(f[2]))
        elif f[0] == "mutate" and len(f) == 3:
            for name in sorted(os.listdir(f[2])):
                for m in mutations(rd(os.path.join(f[2], name))):
                    p.udp(UE, 50000, KMS, int(f[1]), m)
        elif f[0] == "synth" and len(f) == 3 and f[2] in SYNTH:
            p.udp(UE, 50000, KMS, int(f[1]), SYNTH[f[2]])
        else:
            sys.exit("bad item: " + item)
    p.f.close()


if __name__ == "__main__":
    main()
