#!/bin/sh
# Zn on Diameter as it goes over the wire: tshark captures on lo (a capture
# filter on the test's two Diameter ports, started before either peer)
# while Alice bootstraps and asks kmsd for a ticket; then the capture is
# decoded as Diameter and checked AVP by AVP, by code (Wireshark 4.0 names
# AVP 402 "NAF-Hostname" and spells the command "Boostrapping-Info"):
#   BIR: command 310, R bit, application 16777220; Session-Id (263),
#        Vendor-Specific-Application-Id (260: 10415, 16777220), Origin-Host
#        (264), Origin-Realm (296), Destination-Realm (283) = the B-TID's
#        domain, Transaction-Identifier (401) = the B-TID, NAF-Id (402) =
#        kms.example.org || 01 00 00 00 06;
#   BIA: R bit clear, Result-Code (268) 2001, User-Name (1) = the IMPI,
#        ME-Key-Material (405) of 32 bytes, Key-ExpiryTime (404),
#        BootstrapInfoCreationTime (408), GBA-Type (410), GBA-UserSecSettings
#        (400) holding Alice's IMPUs;
#   every AVP 400-410 with the V bit and Vendor-Id 10415; no packet
#   malformed, no expert info of severity error, none of severity warning
#   in a Diameter message.
# Exits 77 without freeDiameter in the build, without tshark, or when
# tshark may not capture on lo.  The key bytes are never printed.
set -eu
ZN_TRANSPORT=diameter
. "${top_srcdir:-.}/tests/system/lib.sh"
need tshark
. "${top_srcdir:-.}/tests/system/zn_lib.sh" # BSFD, zn_* (exits 77 without freeDiameter)
port=$(free_port)
bp=$(free_port)
U="http://127.0.0.1:$port/kms"
S="$tmp/state"
BD="$tmp/bsf"
pcap="$tmp/zn.pcapng"

# tshark first; "Capturing on" on its stderr once the capture runs.
filter="tcp port $zn_bsf_dport or tcp port $zn_kms_dport"
daemon tshark.log tshark -n -i lo -f "$filter" -w "$pcap"
tpid=$dpid
capturing() {
	grep -qs "Capturing on" "$tmp/tshark.log" && return 0
	kill -0 "$tpid" 2>/dev/null && return 1
	echo "SKIP: tshark cannot capture on lo: $(tail -n 3 "$tmp/tshark.log")"
	exit 77
}
wait_for 15 "tshark did not start capturing" capturing

"$BSFD" -d "$BD" --init --demo >"$tmp/bsf-init.out" 2>&1 || fail "bsf-stubd --init --demo"
"$KMSCTL" -d "$S" init >"$tmp/init.out" 2>&1 || fail "kmsctl init"
cat >"$tmp/kmsd.conf" <<CONF
ua = { port = $port; threads = 2; };
kms = { state_dir = "$S"; psk_source = "gba"; };
naf = { enabled = true; $(zn_naf_conf -) fqdn = "kms.example.org"; timeout_ms = 2000; };
CONF
zn_bsf_start "$BD" "$bp"
kmsd_start "$tmp/kmsd.conf" "http://127.0.0.1:$port"
zn_kmsd_pid=$pid
zn_wait_open
"$UE" bootstrap --usim "$BD/demo-alice.usim" --bsf "http://127.0.0.1:$bp/ub" \
	--out "$tmp/alice.gba" >"$tmp/boot.out" 2>"$tmp/err" || fail "bootstrap alice"
st=$(zn_req "$U" "$tmp/alice.gba" "$tmp/r.bin")
[ "$st" = 200 ] || fail "ticketrequest over Zn on Diameter: $st"
ok "Alice's ticketrequest served over Zn on Diameter, captured"
# Everything kmsd and the BSF sent has been through lo: stop the capture.
kmsd_stop
zn_bsf_stop
# SIGTERM: tshark stops dumpcap and writes the end of the file.
kill -TERM "$tpid" 2>/dev/null || fail "tshark exited during the capture"
wait_for 10 "tshark still running 10 s after SIGTERM" eval '! kill -0 "$tpid" 2>/dev/null'
wait "$tpid" 2>/dev/null || true
untrack "$tpid"
[ -s "$pcap" ] || fail "empty capture"

btid=$(sed -n 's/^btid=//p' "$tmp/alice.gba")
tshark -n -r "$pcap" -d "tcp.port==$zn_bsf_dport,diameter" -d "tcp.port==$zn_kms_dport,diameter" \
	-T pdml >"$tmp/zn.pdml" 2>"$tmp/tshark-r.log" || fail "tshark -r: $(cat "$tmp/tshark-r.log")"
python3 - "$tmp/zn.pdml" "$btid" >"$tmp/out" 2>&1 <<'EOF' || fail "capture: $(cat "$tmp/out")"
import struct, sys
import xml.etree.ElementTree as ET

pdml, btid = sys.argv[1], sys.argv[2]
realm = btid.rsplit("@", 1)[1]
errors = []


def avps(data):
    """[(code, flags, vendor, value)] of a run of AVPs (bytes)."""
    out, i = [], 0
    while i + 8 <= len(data):
        code, fl = struct.unpack(">IB", data[i:i + 5])
        ln = int.from_bytes(data[i + 5:i + 8], "big")
        hdr, vendor = 8, None
        if fl & 0x80:
            vendor = struct.unpack(">I", data[i + 8:i + 12])[0]
            hdr = 12
        if ln < hdr or i + ln > len(data):
            errors.append("AVP %d: bad length %d" % (code, ln))
            break
        out.append((code, fl, vendor, data[i + hdr:i + ln]))
        i += (ln + 3) & ~3
    return out


def u32(v):
    return struct.unpack(">I", v)[0] if len(v) == 4 else None


bir, bia = [], []
root = ET.parse(pdml).getroot()
for pkt in root.iter("packet"):
    for f in pkt.iter("field"):
        if f.get("name") == "_ws.malformed":
            errors.append("a malformed packet")
        if f.get("name") == "_ws.expert.severity" and f.get("show") == str(0x800000):
            errors.append("an expert error: %s" % f.get("showname"))
    for p in pkt.iter("proto"):
        if p.get("name") == "_ws.malformed":
            errors.append("a malformed packet")
        if p.get("name") != "diameter":
            continue
        for f in p.iter("field"):  # Wireshark's remarks on the Diameter part
            if (f.get("name") == "_ws.expert.severity" and
                    int(f.get("show")) >= 0x600000):
                errors.append("Diameter expert info: %s" % f.get("showname"))
        top = {c.get("name"): c for c in p if c.tag == "field"}
        cmd = int(top["diameter.cmd.code"].get("show"))
        app = int(top["diameter.applicationId"].get("show"))
        req = int(top["diameter.flags"].get("value"), 16) & 0x80 != 0
        a = []
        for c in p:
            if c.get("name") == "diameter.avp":
                a += avps(bytes.fromhex(c.get("value")))
        if cmd == 310:
            (bir if req else bia).append((app, a))

if not bir or not bia:
    errors.append("%d BIR and %d BIA captured" % (len(bir), len(bia)))


def first(a, code):
    for c, fl, v, val in a:
        if c == code:
            return fl, v, val
    return None


def vendor_avps(name, a):
    for c, fl, v, val in a:
        if 400 <= c <= 410 and (not fl & 0x80 or v != 10415):
            errors.append("%s: AVP %d without the V bit and Vendor-Id 10415" % (name, c))


for app, a in bir:
    if app != 16777220:
        errors.append("BIR application %d" % app)
    for code in (263, 260, 264, 296, 283, 401, 402):
        if first(a, code) is None:
            errors.append("BIR without AVP %d" % code)
    if a and a[0][0] != 263:
        errors.append("BIR: Session-Id is not the first AVP")
    x = first(a, 260)
    if x:
        inner = {c: u32(val) for c, fl, v, val in avps(x[2])}
        if inner.get(266) != 10415 or inner.get(258) != 16777220:
            errors.append("BIR Vendor-Specific-Application-Id %r" % inner)
    x = first(a, 283)
    if x and x[2].decode(errors="replace") != realm:
        errors.append("BIR Destination-Realm %r, expected %r" % (x[2], realm))
    x = first(a, 401)
    if x and x[2].decode(errors="replace") != btid:
        errors.append("BIR Transaction-Identifier %r, expected the B-TID" % x[2])
    x = first(a, 402)
    if x and x[2] != b"kms.example.org\x01\x00\x00\x00\x06":
        errors.append("BIR NAF-Id %r" % x[2])
    vendor_avps("BIR", a)

for app, a in bia:
    if app != 16777220:
        errors.append("BIA application %d" % app)
    x = first(a, 268)
    if x is None or u32(x[2]) != 2001:
        errors.append("BIA Result-Code %r, expected 2001" % (x and u32(x[2])))
    x = first(a, 1)
    if x is None or x[2] != b"alice@ims.example.org":
        errors.append("BIA User-Name %r" % (x and x[2]))
    x = first(a, 405)
    if x is None or len(x[2]) != 32:
        errors.append("BIA ME-Key-Material: %s" % ("absent" if x is None else "%d bytes" % len(x[2])))
    for code in (404, 408, 410, 400):
        if first(a, code) is None:
            errors.append("BIA without AVP %d" % code)
    x = first(a, 410)
    if x and u32(x[2]) != 0:
        errors.append("BIA GBA-Type %r, expected 0 (3G)" % u32(x[2]))
    x = first(a, 400)
    if x:
        for impu in (b"sip:alice@example.org", b"tel:+15550001"):
            if impu not in x[2]:
                errors.append("the GUSS does not hold %r" % impu)
    vendor_avps("BIA", a)

if errors:
    print("\n".join(sorted(set(errors))))
    sys.exit(1)
print("%d BIR, %d BIA checked" % (len(bir), len(bia)))
EOF
ok "capture: $(cat "$tmp/out")"

# The same capture through -T fields (the command and application columns
# Wireshark names itself): a BIR and a BIA of application 16777220.
tshark -n -r "$pcap" -d "tcp.port==$zn_bsf_dport,diameter" -d "tcp.port==$zn_kms_dport,diameter" \
	-Y "diameter.cmd.code == 310" -T fields -e diameter.flags.request \
	-e diameter.applicationId >"$tmp/fields" 2>>"$tmp/tshark-r.log" || fail "tshark -T fields"
grep -q "^1	16777220" "$tmp/fields" || fail "no BIR in -T fields: $(cat "$tmp/fields")"
grep -q "^0	16777220" "$tmp/fields" || fail "no BIA in -T fields: $(cat "$tmp/fields")"
ok "tshark -T fields: BIR (R bit) and BIA of application 16777220"
echo "zn_dia_capture: $n groups passed"
