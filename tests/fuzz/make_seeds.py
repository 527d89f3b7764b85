#!/usr/bin/env python3
"""Write the seed corpus for fuzz_mikey from the golden messages of
tests/unit/test_msg.c (hex macros expanded here by a tiny C-preprocessor
pass through cc -E).  Run from the top of the tree; output goes to
tests/fuzz/corpus/mikey/seed-*.bin."""
import hashlib, os, re, subprocess, sys

src = open("tests/unit/test_msg.c").read()
start = src.index("static const char *const golden[]")
end = src.index("};", start)
defs = src[src.index("#define ALICE"):start]
prog = defs + src[start:end + 2]
out = subprocess.run(["cc", "-E", "-P", "-"], input=prog, capture_output=True,
                     text=True, check=True).stdout
body = out[out.index("{") + 1:out.rindex("}")]
msgs = []
for entry in body.split(","):
    parts = re.findall(r'"([0-9a-fA-F]*)"', entry)
    if parts:
        msgs.append(bytes.fromhex("".join(parts)))
os.makedirs("tests/fuzz/corpus/mikey", exist_ok=True)
for m in msgs:
    name = "seed-" + hashlib.sha1(m).hexdigest()[:16] + ".bin"
    open(os.path.join("tests/fuzz/corpus/mikey", name), "wb").write(m)
print(f"{len(msgs)} seeds written", file=sys.stderr)
