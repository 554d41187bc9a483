#!/usr/bin/python3
"""Memory of a POP3 RETR of one large message: the worker's peak RSS
(VmHWM) growth while letterboxd streams a --size MiB message (default
24) to poplib, and the time it takes. Shows that RETR streams the body
from the store instead of loading it whole.

usage: bench/pop3_large_retr.py [--size MIB]
Prints a line and one line RESULT {json}.
"""
import argparse
import json
import os
import pathlib
import poplib
import shutil
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
import conftest  # noqa: E402  (the test suite's Daemon: free ports, cleanup)


def hwm_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return 0


def workers(pid):
    with open("/proc/%d/task/%d/children" % (pid, pid)) as f:
        return [int(x) for x in f.read().split()]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--size", type=int, default=24, help="MiB, 1..60")
    args = ap.parse_args()
    if not 1 <= args.size <= 60:
        ap.error("--size must be 1..60")
    tmp = tempfile.mkdtemp(prefix="letterbox-bench-")
    d = conftest.Daemon(pathlib.Path(tmp))
    try:
        d.lb.run("domain", "add", "example.org")
        d.lb.add_user("alice@example.org", password="pw")
        line = b"z" * 998 + b"\r\n"
        big = b"Subject: large\r\n\r\n" + line * (args.size * 1024 * 1024 //
                                                  len(line))
        d.lb.run("deliver", "--to", "alice@example.org", input=big)
        time.sleep(0.5)
        before = {p: hwm_kib(p) for p in workers(d.proc.pid)}
        p = poplib.POP3("127.0.0.1", d.ports["pop3"], timeout=120)
        p.user("alice@example.org")
        p.pass_("pw")
        started = time.perf_counter()
        _, lines, octets = p.retr(1)
        ms = (time.perf_counter() - started) * 1000
        p.quit()
        growth = max(hwm_kib(q) - before.get(q, 0)
                     for q in workers(d.proc.pid))
        assert b"\r\n".join(lines) + b"\r\n" == big
    finally:
        d.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    print("RETR of %d KiB: %.0f ms, worker peak RSS grew by %d KiB"
          % (len(big) // 1024, ms, growth))
    print("RESULT " + json.dumps({"bench": "pop3_large_retr",
                                  "message_kib": len(big) // 1024,
                                  "retr_ms": round(ms, 1),
                                  "worker_hwm_growth_kib": growth}))


if __name__ == "__main__":
    main()
