#!/usr/bin/env python3
"""Checks of contrib/ for tests/system/contrib_check.sh.

  contrib_check.py dashboard DASHBOARD.json METRICS.md SCRAPE.json METRICS.c
      the dashboard parses; every kms_* name in its expressions is one that
      docs/metrics.md documents, and one a live scrape exported (SCRAPE.json
      from metrics_scrape.py get) or, for the Zk peer metrics that need a
      peer to exist, one kms/metrics.c writes
  contrib_check.py alerts ALERTS.yml METRICS.md
      the rules file parses as YAML (a basic structural check without
      python3-yaml) and every kms_* name in it is documented
"""
import json
import re
import sys

NAME = re.compile(r"\bkms_[a-z0-9_]+\b")
SUFFIX = re.compile(r"_(bucket|sum|count)$")


def documented(md):
    names = set()
    for line in open(md):
        if line.startswith("| `kms_"):
            names.add(line.split("`")[1])
    return names


def base(n, known):
    b = SUFFIX.sub("", n)
    return b if b in known else n


def dashboard(path, md, scrape, src):
    d = json.load(open(path))
    exprs = []
    for p in d.get("panels", []):
        for t in p.get("targets", []):
            exprs.append(t["expr"])
    for v in d.get("templating", {}).get("list", []):
        q = v.get("query")
        exprs.append(q.get("query", "") if isinstance(q, dict) else str(q))
    if not exprs:
        sys.exit("no expressions in the dashboard")
    docs = documented(md)
    live = {base(n, docs) for n in json.load(open(scrape))["names"]}
    code = set(re.findall(r'"(kms_[a-z0-9_]+)"', open(src).read()))
    bad = 0
    used = set()
    for e in exprs:
        for n in NAME.findall(e):
            b = base(n, docs)
            used.add(b)
            if b not in docs:
                print("dashboard: %s is not documented in docs/metrics.md" % n)
                bad += 1
            elif b not in live and not (b.startswith("kms_zk_") and b in code):
                print("dashboard: %s is not exported by kmsd" % n)
                bad += 1
    print("dashboard: %d expressions, %d metrics" % (len(exprs), len(used)))
    sys.exit(1 if bad else 0)


def alerts(path, md):
    text = open(path).read()
    try:
        import yaml
        doc = yaml.safe_load(text)
        rules = [r for g in doc["groups"] for r in g["rules"]]
        for r in rules:
            if not r.get("alert") or not r.get("expr"):
                sys.exit("a rule without alert or expr: %r" % r)
        exprs = [str(r["expr"]) for r in rules]
    except ImportError:
        if not text.startswith("#") or "\ngroups:\n" not in text or "\t" in text:
            sys.exit("alerts: not a rules file")
        exprs = re.findall(r"expr:\s*(.+)", text)
    docs = documented(md)
    bad = [n for e in exprs for n in NAME.findall(e) if base(n, docs) not in docs]
    for n in bad:
        print("alerts: %s is not documented in docs/metrics.md" % n)
    print("alerts: %d rules" % len(exprs))
    sys.exit(1 if bad else 0)


if len(sys.argv) == 6 and sys.argv[1] == "dashboard":
    dashboard(*sys.argv[2:])
elif len(sys.argv) == 4 and sys.argv[1] == "alerts":
    alerts(*sys.argv[2:])
else:
    sys.exit(__doc__)
