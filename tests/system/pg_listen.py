#!/usr/bin/env python3
"""LISTEN on a PostgreSQL channel while other sessions write.

pg_listen.py PSQL CONNINFO CHANNEL SQL...

One psql session LISTENs on CHANNEL.  Each SQL argument then runs in a
session of its own (psql -f -, ON_ERROR_STOP, one after the other), and a
last one NOTIFYs CHANNEL with the payload "end".  Notifications arrive in
commit order, so once "end" has arrived every notification of the SQL
arguments has too: the payloads received before it are printed, one a
line.  The listener polls with a query (psql prints notifications only
after a command), at most 10 s in all; exit 1 when "end" never arrives or
a SQL argument fails.
"""
import os
import re
import select
import subprocess
import sys
import time

NOTE = re.compile(r'^Asynchronous notification "([^"]*)" with payload "([^"]*)" received')
DEADLINE_S = 10.0


def read_until(proc, buf, mark, deadline):
    """Read the listener's output until the line MARK; returns the lines
    read before it and the unread rest."""
    lines = []
    fd = proc.stdout.fileno()
    while True:
        while b"\n" in buf:
            line, buf = buf.split(b"\n", 1)
            text = line.decode("utf-8", "replace")
            if text == mark:
                return lines, buf
            lines.append(text)
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError("listener: no %s" % mark)
        ready, _, _ = select.select([fd], [], [], left)
        if not ready:
            continue
        chunk = os.read(fd, 65536)
        if not chunk:
            raise EOFError("listener: psql exited")
        buf += chunk


def psql_cmd(psql, conninfo):
    return [psql, "-X", "-q", "-t", "-A", "-v", "ON_ERROR_STOP=1", "-d", conninfo]


def main():
    if len(sys.argv) < 4:
        sys.stderr.write(__doc__)
        return 2
    psql, conninfo, channel = sys.argv[1:4]
    deadline = time.monotonic() + DEADLINE_S
    lst = subprocess.Popen(psql_cmd(psql, conninfo) + ["-f", "-"],
                           stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    buf = b""
    try:
        # The LISTEN is in effect once the marker after it comes back.
        lst.stdin.write(b"LISTEN %s;\nSELECT 'listening';\n" % channel.encode())
        lst.stdin.flush()
        _, buf = read_until(lst, buf, "listening", deadline)
        writes = sys.argv[4:] + ["NOTIFY %s, 'end';" % channel]
        for sql in writes:
            left = max(deadline - time.monotonic(), 0.1)
            subprocess.run(psql_cmd(psql, conninfo) + ["-f", "-"],
                           input=sql.encode(), check=True, timeout=left,
                           stdout=subprocess.DEVNULL)
        payloads = []
        for i in range(1000):  # bounded by the deadline well before
            mark = "poll%d" % i
            lst.stdin.write(b"SELECT '%s';\n" % mark.encode())
            lst.stdin.flush()
            lines, buf = read_until(lst, buf, mark, deadline)
            for text in lines:
                m = NOTE.match(text)
                if m and m.group(1) == channel:
                    payloads.append(m.group(2))
            if "end" in payloads:
                for p in payloads[:payloads.index("end")]:
                    print(p)
                return 0
            time.sleep(0.02)
        raise TimeoutError("listener: no end notification")
    except (OSError, EOFError, TimeoutError, subprocess.SubprocessError) as e:
        sys.stderr.write("pg_listen.py: %s\n" % e)
        return 1
    finally:
        lst.kill()
        lst.wait()


if __name__ == "__main__":
    sys.exit(main())
