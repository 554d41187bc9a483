#!/usr/bin/python3
"""SMTP acceptance throughput of letterboxd, side by side with Postfix
(+ Dovecot LMTP) from ../shared/peers, in one run.

Starts its own letterboxd (temporary data directory, free loopback port,
domain bench.test, users bench1..bench40), runs the peers' client
bench/smtp_throughput.py against it and against Postfix on 127.0.0.1:12025
(when the peers are running: ../shared/peers/start-peers.sh), and samples
letterboxd's resident memory (master + workers) while it works.

letterboxd answers 250 only after the message is committed to the
recipient's mailbox with synchronous=FULL, so its "accepted" rate is also
its end-to-end rate. Postfix answers 250 once its queue file is fsynced and
delivers through LMTP afterwards: its end-to-end rate (IMAP STATUS polling)
is reported too.

usage: bench/smtp_bench.py [--sessions 8] [--messages 250]
                           [--sizes 4096,102400] [--skip-postfix]
Prints a table and one line: RESULT {json}.
"""
import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
PEERS_BENCH = os.path.join(ROOT, "..", "shared", "peers", "bench")


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def accepts(port):
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
        return True
    except OSError:
        return False


def tree_rss_kib(pid):
    """Resident memory of pid and its children (KiB), from /proc."""
    total = 0
    pids = [pid]
    try:
        kids = open("/proc/%d/task/%d/children" % (pid, pid)).read().split()
        pids += [int(k) for k in kids]
    except OSError:
        pass
    for p in pids:
        try:
            for line in open("/proc/%d/status" % p):
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            pass
    return total


class Sampler(threading.Thread):
    def __init__(self, pid):
        super().__init__(daemon=True)
        self.pid, self.peak, self.stop = pid, 0, False

    def run(self):
        while not self.stop:
            self.peak = max(self.peak, tree_rss_kib(self.pid))
            time.sleep(0.05)


def run_client(port, sessions, messages, size, e2e_imap_port=None):
    cmd = [sys.executable, os.path.join(PEERS_BENCH, "smtp_throughput.py"),
           "--host", "127.0.0.1", "--port", str(port),
           "--sessions", str(sessions), "--messages", str(messages),
           "--size", str(size)]
    if e2e_imap_port:
        cmd += ["--imap-port", str(e2e_imap_port), "--password", "benchpass"]
    else:
        cmd += ["--no-e2e", "--no-purge"]
    out = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         timeout=1800)
    for line in out.stdout.decode().splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[len("RESULT "):])
    raise RuntimeError("smtp_throughput.py failed: %s" % out.stderr.decode())


def start_letterboxd(tmp):
    port = free_port()
    conf = os.path.join(tmp, "letterbox.conf")
    with open(conf, "w") as f:
        f.write("data_dir = %s/data\nhostname = bench.letterbox\n"
                "log_level = warn\n\n[smtp]\nlisten = 127.0.0.1:%d\n"
                % (tmp, port))
    lb = [os.path.join(ROOT, "letterbox"), "--config", conf]
    subprocess.run(lb + ["domain", "add", "bench.test"], check=True)
    for n in range(1, 41):
        subprocess.run(lb + ["user", "add", "bench%d@bench.test" % n,
                             "--password-stdin"], input=b"benchpass\n",
                       check=True, stdout=subprocess.DEVNULL)
    proc = subprocess.Popen([os.path.join(ROOT, "letterboxd"),
                             "--foreground", "--config", conf],
                            stdout=subprocess.DEVNULL,
                            stderr=open(os.path.join(tmp, "log"), "wb"),
                            start_new_session=True)
    deadline = time.time() + 20
    while not accepts(port):
        if time.time() > deadline or proc.poll() is not None:
            raise RuntimeError("letterboxd did not start")
        time.sleep(0.05)
    return proc, port


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sessions", type=int, default=8)
    ap.add_argument("--messages", type=int, default=250)
    ap.add_argument("--sizes", default="4096,102400")
    ap.add_argument("--skip-postfix", action="store_true")
    args = ap.parse_args()
    if not 1 <= args.sessions <= 64 or not 1 <= args.messages <= 5000:
        ap.error("sessions 1..64, messages 1..5000")
    sizes = [int(x) for x in args.sizes.split(",")]

    rows, result = [], {"bench": "letterbox_smtp", "sessions": args.sessions,
                        "messages": args.messages, "runs": []}
    tmp = tempfile.mkdtemp(prefix="letterbox-bench-")
    proc = None
    try:
        proc, port = start_letterboxd(tmp)
        # The port is bound by the master before the worker runs: wait
        # for a greeting, then let the worker settle (its decoy argon2
        # hash at start briefly takes hash_memlimit).
        import smtplib
        smtplib.SMTP("127.0.0.1", port, timeout=30).quit()
        time.sleep(1)
        idle_rss = tree_rss_kib(proc.pid)
        postfix = not args.skip_postfix and accepts(12025)
        for size in sizes:
            sampler = Sampler(proc.pid)
            sampler.start()
            r = run_client(port, args.sessions, args.messages, size)
            sampler.stop = True
            sampler.join()
            run = {"server": "letterboxd", "size": size,
                   "accepted_msgs_per_s": r.get("accepted_msgs_per_s"),
                   "e2e_msgs_per_s": r.get("accepted_msgs_per_s"),
                   "rss_idle_kib": idle_rss, "rss_peak_kib": sampler.peak}
            result["runs"].append(run)
            rows.append(run)
            if postfix:
                r = run_client(12025, args.sessions, args.messages, size,
                               e2e_imap_port=12143)
                run = {"server": "postfix+dovecot", "size": size,
                       "accepted_msgs_per_s": r.get("accepted_msgs_per_s"),
                       "e2e_msgs_per_s": r.get("e2e_msgs_per_s")}
                result["runs"].append(run)
                rows.append(run)
    finally:
        if proc is not None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                proc.kill()
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        shutil.rmtree(tmp, ignore_errors=True)

    print("%-16s %8s %14s %14s %12s" % ("server", "size", "accepted/s",
                                         "end-to-end/s", "peak RSS"))
    for r in rows:
        print("%-16s %8d %14s %14s %12s" % (
            r["server"], r["size"], r["accepted_msgs_per_s"],
            r["e2e_msgs_per_s"],
            "%d KiB" % r["rss_peak_kib"] if "rss_peak_kib" in r else "-"))
    print("RESULT " + json.dumps(result))


if __name__ == "__main__":
    main()
