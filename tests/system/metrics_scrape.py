#!/usr/bin/env python3
"""Scrape kmsd's /metrics and parse it with prometheus_client (an independent
parser of the text format), for tests/system/kmsd_metrics.sh and
contrib_check.sh.

  metrics_scrape.py get URL OUT.json   every sample as {"name{a=\"x\",...}": value}
                                       (labels sorted); fails unless the answer
                                       is 200 text/plain; version=0.0.4 and parses
  metrics_scrape.py delta A.json B.json KEY WANT ...
                                       B[KEY] - A[KEY] == WANT for every pair
                                       (a missing KEY counts as 0); WANT may be
                                       ">0" (grew)
  metrics_scrape.py names OUT.json     the sample names, one a line
Exit 77 when prometheus_client is missing.
"""
import json
import sys
import urllib.request

try:
    from prometheus_client.parser import text_string_to_metric_families
except ImportError:
    print("SKIP: python3 prometheus_client not installed")
    sys.exit(77)


def key(name, labels):
    inner = ",".join('%s="%s"' % (k, labels[k]) for k in sorted(labels))
    return "%s{%s}" % (name, inner) if inner else name


def get(url, out):
    with urllib.request.urlopen(url, timeout=5) as r:
        ct = r.headers.get("Content-Type", "")
        body = r.read().decode("utf-8")
        if r.status != 200 or not ct.startswith("text/plain; version=0.0.4"):
            sys.exit("bad answer: %s %s" % (r.status, ct))
    samples, names = {}, set()
    for fam in text_string_to_metric_families(body):
        for s in fam.samples:
            names.add(s.name)
            k = key(s.name, s.labels)
            if k in samples:
                sys.exit("duplicate sample " + k)
            samples[k] = s.value
    json.dump({"samples": samples, "names": sorted(names)}, open(out, "w"), indent=1)


def delta(a, b, pairs):
    sa = json.load(open(a))["samples"]
    sb = json.load(open(b))["samples"]
    bad = 0
    for k, want in zip(pairs[0::2], pairs[1::2]):
        d = sb.get(k, 0) - sa.get(k, 0)
        good = d > 0 if want == ">0" else d == float(want)
        if not good:
            print("%s moved by %g, expected %s" % (k, d, want))
            bad += 1
    sys.exit(1 if bad else 0)


def main():
    if len(sys.argv) == 4 and sys.argv[1] == "get":
        get(sys.argv[2], sys.argv[3])
    elif len(sys.argv) >= 6 and sys.argv[1] == "delta" and len(sys.argv) % 2 == 0:
        delta(sys.argv[2], sys.argv[3], sys.argv[4:])
    elif len(sys.argv) == 3 and sys.argv[1] == "names":
        for n in json.load(open(sys.argv[2]))["names"]:
            print(n)
    else:
        sys.exit(__doc__)


main()
