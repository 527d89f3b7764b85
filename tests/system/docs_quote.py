#!/usr/bin/env python3
"""Check that docs/walkthrough.md quotes every docs/examples/NN-*.sh verbatim.

A quote is a line "<!-- docs/examples/NAME -->" followed by a ```sh fence;
the fenced text must equal the script after its line that sources env.sh.
Every ```sh block of the walkthrough must be such a quote (other blocks use
a plain fence), every numbered script must be quoted exactly once, and in
the order of their numbers.  Exit 1 with a diff on any difference.
"""
import difflib
import os
import re
import sys

SOURCE_LINE = '. "$(dirname "$0")/env.sh"\n'
MARKER = re.compile(r'^<!-- docs/examples/([0-9][0-9A-Za-z._-]*\.sh) -->$')


def script_body(path):
    with open(path, encoding="utf-8") as f:
        lines = f.readlines()
    if SOURCE_LINE not in lines:
        raise SystemExit("%s: no line %r" % (path, SOURCE_LINE.strip()))
    return lines[lines.index(SOURCE_LINE) + 1:]


def quotes(walk):
    """(name, lines of the block, line number) for each quote, in order."""
    with open(walk, encoding="utf-8") as f:
        lines = f.readlines()
    out, errors, i, marked = [], [], 0, None
    while i < len(lines):
        line = lines[i].rstrip("\n")
        m = MARKER.match(line)
        if m:
            marked = m.group(1)
            i += 1
            continue
        if line.startswith("```"):
            end = i + 1
            while end < len(lines) and not lines[end].startswith("```"):
                end += 1
            if end == len(lines):
                errors.append("line %d: unclosed fence" % (i + 1))
                break
            if line.strip() == "```sh" and marked is None:
                errors.append("line %d: a ```sh block that quotes no example"
                              " (mark it, or use a plain fence)" % (i + 1))
            elif line.strip() == "```sh":
                out.append((marked, lines[i + 1:end], i + 1))
            elif marked is not None:
                errors.append("line %d: the quote of %s is not a ```sh block"
                              % (i + 1, marked))
            i = end
        elif marked is not None:
            errors.append("line %d: the marker of %s is not followed by its"
                          " block" % (i, marked))
        marked = None
        i += 1
    return out, errors


def main():
    walk, exdir = sys.argv[1], sys.argv[2]
    scripts = sorted(n for n in os.listdir(exdir)
                     if re.match(r"^[0-9].*\.sh$", n))
    found, errors = quotes(walk)
    names = [q[0] for q in found]
    for n in scripts:
        if names.count(n) != 1:
            errors.append("%s is quoted %d times (once expected)"
                          % (n, names.count(n)))
    for n in names:
        if n not in scripts:
            errors.append("the walkthrough quotes %s, which does not exist" % n)
    if [n for n in names if n in scripts] != [n for n in scripts if n in names]:
        errors.append("the quotes are not in the order of the scripts: %s"
                      % " ".join(names))
    for name, block, line in found:
        if name not in scripts:
            continue
        body = script_body(os.path.join(exdir, name))
        if block != body:
            errors.append("line %d: the quote differs from docs/examples/%s:\n%s"
                          % (line, name, "".join(difflib.unified_diff(
                              body, block, "docs/examples/" + name,
                              "docs/walkthrough.md"))))
    for e in errors:
        print("docs_quote: " + e, file=sys.stderr)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
