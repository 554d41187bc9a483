#!/usr/bin/python3
"""Local delivery, side by side: Letterbox's `letterbox deliver` against
Dovecot's delivery agent (dovecot-lda) and Dovecot's LMTP server, in one run.

Three measurements, every one with durability as shipped (Letterbox: SQLite
WAL with synchronous=FULL; Dovecot: mail_fsync = optimized, its default):

 1. throughput   N messages of each size S to one user, one delivery each:
                 a new process per message (letterbox deliver, dovecot-lda)
                 or a new LMTP session per message (Dovecot LMTP on
                 127.0.0.1:12024, what Postfix uses). First sequentially, then
                 with C concurrent workers. Reports messages/s over the whole
                 phase and the per-message latency (p50 / p99, from spawn to
                 reap, or from connect to QUIT) and, for the processes, their
                 CPU time per message (user + system, from wait4()).
 2. storage      the same message of --storage-size bytes to U users, and the
                 bytes it adds on disk (Letterbox: letterbox.db + -wal after
                 PRAGMA wal_checkpoint(TRUNCATE); Dovecot: the message files
                 in the U Maildirs' new/ and cur/, hard links counted once,
                 like du, and the growth of the whole Maildir trees with
                 their indexes). Two cases:
                   one delivery   Letterbox: one `deliver` with U --to;
                                  Dovecot: one LMTP session with U RCPT TO
                   U deliveries   one `deliver` / one dovecot-lda per user
 3. rss          peak RSS of one delivery process (letterbox deliver,
                 dovecot-lda) per message size, through /usr/bin/time
                 (GNU time, package `time`).

Every message is distinct (its own Message-ID): Letterbox stores a body once
per SHA-256, so identical messages would flatter it in phase 1. Each phase
starts from an empty mailbox: a new Letterbox data directory, and for
Dovecot the user's INBOX is expunged first (doveadm expunge). Before each
phase dirty pages are written back (sync) so that one phase's writes are
not paid by the next. Phases are interleaved per size and mode. Each
throughput phase also records other_cpu_pct: CPU used meanwhile by anything
but this script, its children and Dovecot, as a share of all cores; a
phase with a high figure ran on a busy machine.

Dovecot side needs the peers (see /work/shared/peers/README.md) running:
    /work/shared/peers/start-peers.sh > /tmp/start-peers.log 2>&1
and is skipped with --skip-dovecot. It expunges the INBOX of the peers'
users it delivers to (bench1..benchU) before each phase and at the end.
Run as root (dovecot-lda then switches to the mail user itself).

Prints a table, then exactly one line:  RESULT {"bench": "local_delivery", ...}
(flat figures, times in ms unless named _s, sizes in bytes unless named).

Example:
    /usr/bin/python3 bench/local_delivery.py                  # defaults
    /usr/bin/python3 bench/local_delivery.py --messages 200 --skip-dovecot
"""
import argparse
import datetime
import ipaddress
import json
import os
import platform
import random
import resource
import select
import shutil
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time

SCRIPT_DIR = os.path.dirname(os.path.abspath(__file__))
DOMAIN = "bench.test"
SENDER = "sender@example.org"
PASSWORD = "benchpass"

# Bounds: a benchmark that is given silly numbers refuses them instead of
# filling the disk or running for a day.
MAX_MESSAGES = 20000
MAX_SIZE = 64 * 1024 * 1024          # Letterbox's LIMIT_MESSAGE_SIZE
MAX_THROUGHPUT_SIZE = 16 * 1024 * 1024
MAX_CONCURRENCY = 64
MAX_USERS = 50                       # the peers have bench1..bench50
MAX_REPS = 10
MAX_TEMP_BYTES = 8 * 1024 * 1024 * 1024


class BenchError(Exception):
    pass


def log(msg):
    print("local_delivery: " + msg, file=sys.stderr, flush=True)


# ---- argument parsing ---------------------------------------------------------

def parse_size(text):
    t = text.strip().upper()
    mult = 1
    for suffix, m in (("KIB", 1024), ("MIB", 1 << 20), ("K", 1024), ("M", 1 << 20)):
        if t.endswith(suffix):
            t, mult = t[:-len(suffix)], m
            break
    try:
        v = int(t) * mult
    except ValueError:
        raise argparse.ArgumentTypeError("bad size %r (bytes, or a number with K or M)" % text)
    if v < 512 or v > MAX_SIZE:
        raise argparse.ArgumentTypeError("size %r out of range (512 bytes .. 64M)" % text)
    return v


def parse_sizes(text):
    return [parse_size(x) for x in text.split(",") if x.strip()]


def bounded_int(lo, hi):
    def conv(text):
        try:
            v = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError("not a number: %r" % text)
        if v < lo or v > hi:
            raise argparse.ArgumentTypeError("%d out of range %d..%d" % (v, lo, hi))
        return v
    return conv


def human_size(n):
    if n >= 1 << 20 and n % (1 << 20) == 0:
        return "%d MiB" % (n >> 20)
    if n >= 1024 and n % 1024 == 0:
        return "%d KiB" % (n >> 10)
    return "%d B" % n


def size_key(n):
    if n % (1 << 20) == 0:
        return "%dm" % (n >> 20)
    if n % 1024 == 0:
        return "%dk" % (n >> 10)
    return "%db" % n


def parse_args():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--letterbox", default=os.path.join(SCRIPT_DIR, "..", "letterbox"),
                    help="letterbox binary (default: ../letterbox next to this script)")
    ap.add_argument("--messages", type=bounded_int(1, MAX_MESSAGES), default=1000,
                    help="messages per throughput phase (default 1000)")
    ap.add_argument("--sizes", type=parse_sizes, default=[4096, 102400],
                    help="message sizes of the throughput phases (default 4K,100K)")
    ap.add_argument("--concurrency", type=bounded_int(1, MAX_CONCURRENCY),
                    default=os.cpu_count() or 2,
                    help="workers of the concurrent phases (default: cores = %d); "
                         "1 skips them" % (os.cpu_count() or 2))
    ap.add_argument("--reps", type=bounded_int(1, MAX_REPS), default=1,
                    help="repetitions of each throughput phase; figures are medians")
    ap.add_argument("--storage-users", type=bounded_int(1, MAX_USERS), default=50,
                    help="users of the storage measurement (default 50, the peers' bench1..50)")
    ap.add_argument("--storage-size", type=parse_size, default=102400,
                    help="message size of the storage measurement (default 100K)")
    ap.add_argument("--rss-sizes", type=parse_sizes, default=[102400, 10 * 1024 * 1024],
                    help="message sizes of the peak-RSS measurement (default 100K,10M)")
    ap.add_argument("--rss-reps", type=bounded_int(1, MAX_REPS), default=3,
                    help="deliveries per size and agent; the maximum is reported (default 3)")
    ap.add_argument("--phases", default="throughput,storage,rss",
                    help="comma-separated subset of throughput,storage,rss")
    ap.add_argument("--skip-dovecot", action="store_true",
                    help="measure Letterbox only (the peers are not running)")
    ap.add_argument("--no-lda", action="store_true", help="skip dovecot-lda")
    ap.add_argument("--no-lmtp", action="store_true", help="skip Dovecot LMTP")
    ap.add_argument("--dovecot-conf", default="/tmp/peers/dovecot/conf/dovecot.conf")
    ap.add_argument("--dovecot-pidfile", default="/tmp/peers/dovecot/run/master.pid")
    ap.add_argument("--dovecot-lda", default="/usr/lib/dovecot/dovecot-lda")
    ap.add_argument("--doveadm", default=shutil.which("doveadm") or "/usr/bin/doveadm")
    ap.add_argument("--maildir-root", default="/tmp/peers/mail",
                    help="where the peers' users live: ROOT/benchN/Maildir")
    ap.add_argument("--lmtp-host", default="127.0.0.1")
    ap.add_argument("--lmtp-port", type=bounded_int(1, 65535), default=12024)
    ap.add_argument("--user-template", default="bench{n}",
                    help="local part of the users, {n} = 1..")
    ap.add_argument("--time-bin", default="/usr/bin/time",
                    help="GNU time, for the peak RSS (package: time)")
    ap.add_argument("--timeout", type=float, default=120.0,
                    help="seconds one delivery may take before it is killed (default 120)")
    ap.add_argument("--tmpdir", default=None,
                    help="where the temporary data directories go (default: $TMPDIR or /tmp); "
                         "keep it on a real disk, fsync on tmpfs measures nothing")
    ap.add_argument("--keep", action="store_true", help="keep the temporary directory")
    ap.add_argument("--keep-peer-mail", action="store_true",
                    help="do not expunge the Dovecot INBOXes at the end")
    a = ap.parse_args()

    a.phases = set(p.strip() for p in a.phases.split(",") if p.strip())
    unknown = a.phases - {"throughput", "storage", "rss"}
    if unknown:
        ap.error("unknown phase(s): %s" % ", ".join(sorted(unknown)))
    for s in a.sizes:
        if s > MAX_THROUGHPUT_SIZE:
            ap.error("throughput size %d over %d" % (s, MAX_THROUGHPUT_SIZE))
    if not 0.1 <= a.timeout <= 3600:
        ap.error("--timeout out of range 0.1..3600")
    if "{n}" not in a.user_template:
        ap.error("--user-template needs {n}")
    temp_bytes = sum(a.sizes) * a.messages + a.storage_size + sum(a.rss_sizes) * a.rss_reps
    if temp_bytes > MAX_TEMP_BYTES:
        ap.error("that would write %d bytes of messages; bound is %d" % (temp_bytes, MAX_TEMP_BYTES))
    a.letterbox = os.path.abspath(a.letterbox)
    if not (os.path.isfile(a.letterbox) and os.access(a.letterbox, os.X_OK)):
        ap.error("%s is not an executable (build it: make -j2 letterbox)" % a.letterbox)
    a.server_pid = None
    a.dovecot = not a.skip_dovecot and not (a.no_lda and a.no_lmtp)
    a.use_lda = a.dovecot and not a.no_lda
    a.use_lmtp = a.dovecot and not a.no_lmtp
    if a.use_lmtp:
        require_loopback(a.lmtp_host)
    return a


def require_loopback(host):
    """Refuse any target that is not this machine's loopback."""
    try:
        infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    except socket.gaierror as e:
        raise SystemExit("local_delivery: cannot resolve %s: %s" % (host, e))
    for info in infos:
        addr = info[4][0].split("%", 1)[0]
        if not ipaddress.ip_address(addr).is_loopback:
            raise SystemExit("local_delivery: refusing non-loopback target %s (%s)" % (host, addr))


# ---- messages -------------------------------------------------------------------

WORDS = ("alpha bravo charlie delta echo foxtrot golf hotel india juliet kilo lima "
         "mike november oscar papa quebec romeo sierra tango uniform victor whiskey "
         "xray yankee zulu mail store queue index folder header body chunk commit").split()


def filler_lines(seed, count):
    rnd = random.Random(seed)
    lines = []
    for _ in range(count):
        words, n = [], 0
        while n < 70:
            w = rnd.choice(WORDS)
            words.append(w)
            n += len(w) + 1
        lines.append(" ".join(words)[:76] + "\r\n")
    return lines


_FILLER = filler_lines(20240601, 1024)


def make_message(tag, i, size, rcpt):
    """A text/plain message of exactly size bytes, CRLF line ends, distinct
    for every (tag, i) through its Message-ID and first body line."""
    head = ("Return-Path: <%s>\r\n"
            "From: Bench Sender <%s>\r\n"
            "To: <%s>\r\n"
            "Subject: local delivery bench %s #%d\r\n"
            "Date: Sat, 01 Jun 2024 12:00:00 +0000\r\n"
            "Message-ID: <%s.%d.%d@bench.local>\r\n"
            "MIME-Version: 1.0\r\n"
            "Content-Type: text/plain; charset=us-ascii\r\n"
            "\r\n"
            "message %s #%d\r\n") % (SENDER, SENDER, rcpt, tag, i, tag, i, size, tag, i)
    out = [head]
    n = len(head)
    k = (i * 7919) % len(_FILLER)
    while n < size:
        line = _FILLER[k]
        k = (k + 1) % len(_FILLER)
        room = size - n
        if len(line) > room:
            # last line: shorten it, keep the CRLF; 1 byte left gets a bare
            # "x" replaced by CRLF on the previous line's budget below
            line = ("x" * max(0, room - 2) + "\r\n") if room >= 2 else ""
            if not line:
                break
        out.append(line)
        n += len(line)
    data = "".join(out).encode("ascii")
    if len(data) < size:     # 1 byte short: widen the last line by one char
        data = data[:-2] + b"y" + data[-2:]
    assert len(data) == size, (len(data), size)
    return data


def write_messages(directory, tag, count, size, rcpt):
    os.makedirs(directory, exist_ok=True)
    paths = []
    for i in range(count):
        p = os.path.join(directory, "%s-%06d.eml" % (tag, i))
        with open(p, "wb") as f:
            f.write(make_message(tag, i, size, rcpt))
        paths.append(p)
    return paths


# ---- processes -------------------------------------------------------------------

class Proc:
    # No ru_maxrss here: Linux carries the RSS high-water mark of the
    # spawning (Python) address space across execve() into it; see run_rss().
    __slots__ = ("status", "wall", "cpu", "killed")


_DEVNULL = None


def run_child(argv, stdin_path, stderr_fd, timeout, stdout_fd=None):
    """Spawn argv with stdin from stdin_path; wait for it (killing it after
    timeout seconds) and return its status, wall time and CPU time."""
    fd_in = os.open(stdin_path, os.O_RDONLY | os.O_CLOEXEC)
    actions = [(os.POSIX_SPAWN_DUP2, fd_in, 0),
               (os.POSIX_SPAWN_DUP2, stdout_fd if stdout_fd is not None else _DEVNULL, 1),
               (os.POSIX_SPAWN_DUP2, stderr_fd, 2)]
    t0 = time.perf_counter()
    try:
        pid = os.posix_spawn(argv[0], argv, os.environ, file_actions=actions)
    finally:
        os.close(fd_in)
    pfd = os.pidfd_open(pid)
    p = Proc()
    p.killed = False
    try:
        ready, _, _ = select.select([pfd], [], [], timeout)
        if not ready:
            signal.pidfd_send_signal(pfd, signal.SIGKILL)   # no pid-reuse race
            p.killed = True
        _, status, ru = os.wait4(pid, 0)
    finally:
        os.close(pfd)
    p.wall = time.perf_counter() - t0
    p.status = status
    p.cpu = ru.ru_utime + ru.ru_stime
    return p


def describe_status(status):
    if os.WIFEXITED(status):
        return "exit %d" % os.WEXITSTATUS(status)
    if os.WIFSIGNALED(status):
        return "signal %d" % os.WTERMSIG(status)
    return "status %d" % status


def tail_of(path, n=600):
    try:
        with open(path, "rb") as f:
            f.seek(0, os.SEEK_END)
            f.seek(max(0, f.tell() - n))
            return f.read().decode("utf-8", "replace").strip()
    except OSError:
        return ""


def run_checked(argv, stdin_data=None, timeout=120):
    try:
        r = subprocess.run(argv, input=stdin_data, capture_output=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise BenchError("%s: timed out after %ds" % (" ".join(argv), timeout))
    if r.returncode != 0:
        raise BenchError("%s: exit %d: %s" % (" ".join(argv), r.returncode,
                                              (r.stderr or r.stdout).decode("utf-8", "replace").strip()))
    return r.stdout.decode("utf-8", "replace")


# ---- agents ------------------------------------------------------------------------
#
# An agent delivers one message file to one user; phases call prepare() first
# (an empty mailbox, not timed) and deliver() from one or more threads.

class Letterbox:
    name = "letterbox"
    label = "letterbox deliver"
    spawns = True

    def __init__(self, a, tmp):
        self.a, self.tmp = a, tmp
        self.binary = a.letterbox
        self.serial = 0
        self.conf = None

    def new_store(self, users):
        """A fresh data directory with the domain and users 1..users."""
        self.serial += 1
        d = os.path.join(self.tmp, "letterbox-%d" % self.serial)
        os.makedirs(d)
        self.data_dir = os.path.join(d, "data")
        self.conf = os.path.join(d, "letterbox.conf")
        with open(self.conf, "w") as f:
            # cheap password hashes: only to make the setup quick, hashing
            # is not what this benchmark measures
            f.write("data_dir = %s\n\n[auth]\nhash_opslimit = 1\nhash_memlimit = 8K\n"
                    % self.data_dir)
        run_checked([self.binary, "--config", self.conf, "domain", "add", DOMAIN])
        for n in range(1, users + 1):
            run_checked([self.binary, "--config", self.conf, "user", "add",
                         address(self.a, n), "--password-stdin"],
                        stdin_data=(PASSWORD + "\n").encode())
        self.stores_dir = d

    def drop_store(self):
        if self.conf:
            shutil.rmtree(self.stores_dir, ignore_errors=True)
            self.conf = None

    def prepare(self, user_n):
        self.drop_store()
        self.new_store(user_n)

    def argv(self, rcpts):
        argv = [self.binary, "--config", self.conf, "deliver"]
        for r in rcpts:
            argv += ["--to", r]
        return argv

    def command(self, user_n):
        return self.argv([address(self.a, user_n)])

    def deliver(self, path, user_n, err_fd, err_path):
        p = run_child(self.command(user_n), path, err_fd, self.a.timeout)
        check_proc(self.label, p, err_path)
        return p

    def db_bytes(self):
        """letterbox.db + -wal after a TRUNCATE checkpoint: (apparent, on disk)."""
        db = os.path.join(self.data_dir, "letterbox.db")
        con = sqlite3.connect(db, timeout=30)
        try:
            busy, _, _ = con.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
            if busy:
                raise BenchError("wal_checkpoint(TRUNCATE) could not complete (busy)")
            apparent = disk = 0
            for suffix in ("", "-wal"):
                try:
                    st = os.stat(db + suffix)
                except FileNotFoundError:
                    continue
                apparent += st.st_size
                disk += st.st_blocks * 512
        finally:
            con.close()
        return apparent, disk


class DovecotLDA:
    name = "dovecot-lda"
    label = "dovecot-lda"
    spawns = True

    def __init__(self, a):
        self.a = a

    def prepare(self, user_n):
        expunge(self.a, [user_n])

    def command(self, user_n):
        return [self.a.dovecot_lda, "-c", self.a.dovecot_conf,
                "-d", local_part(self.a, user_n), "-f", SENDER]

    def deliver(self, path, user_n, err_fd, err_path):
        p = run_child(self.command(user_n), path, err_fd, self.a.timeout)
        check_proc(self.label, p, err_path)
        return p


class DovecotLMTP:
    name = "dovecot-lmtp"
    label = "Dovecot LMTP"
    spawns = False

    def __init__(self, a):
        self.a = a

    def prepare(self, user_n):
        expunge(self.a, [user_n])

    def deliver(self, path, user_n, err_fd=None, err_path=None):
        t0 = time.perf_counter()
        with open(path, "rb") as f:
            data = f.read()
        lmtp_deliver(self.a.lmtp_host, self.a.lmtp_port, [address(self.a, user_n)],
                     data, self.a.timeout)
        p = Proc()
        p.wall = time.perf_counter() - t0
        p.cpu = None
        p.status = 0
        p.killed = False
        return p


def check_proc(label, p, err_path):
    if p.killed:
        raise BenchError("%s: killed after %.2f s (--timeout)" % (label, p.wall))
    if p.status != 0:
        raise BenchError("%s: %s: %s" % (label, describe_status(p.status), tail_of(err_path)))


def local_part(a, n):
    return a.user_template.format(n=n)


def address(a, n):
    return "%s@%s" % (local_part(a, n), DOMAIN)


def expunge(a, user_ns):
    for n in user_ns:
        run_checked([a.doveadm, "-c", a.dovecot_conf, "expunge", "-u", local_part(a, n),
                     "mailbox", "INBOX", "all"])


# ---- LMTP client (RFC 2033) -----------------------------------------------------------

class LMTPError(BenchError):
    pass


def lmtp_deliver(host, port, rcpts, data, timeout):
    """One LMTP session: LHLO, MAIL, RCPT per recipient, DATA, one reply per
    recipient, QUIT. Raises unless every recipient got 2xx."""
    if not data.endswith(b"\r\n"):
        data += b"\r\n"
    if data.startswith(b"."):
        data = b"." + data
    data = data.replace(b"\r\n.", b"\r\n..")
    with socket.create_connection((host, port), timeout=timeout) as s:
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        f = s.makefile("rb")

        def reply():
            lines = []
            while True:
                line = f.readline(1024)
                if not line:
                    raise LMTPError("LMTP: connection closed")
                lines.append(line.decode("utf-8", "replace").rstrip())
                if len(line) < 4 or line[3:4] != b"-":
                    return int(line[:3]), " / ".join(lines)

        def expect(code_class, what):
            code, text = reply()
            if code // 100 != code_class:
                raise LMTPError("LMTP %s: %s" % (what, text))

        expect(2, "greeting")
        s.sendall(b"LHLO bench.local\r\n")
        expect(2, "LHLO")
        s.sendall(("MAIL FROM:<%s>\r\n" % SENDER).encode())
        expect(2, "MAIL FROM")
        for r in rcpts:
            s.sendall(("RCPT TO:<%s>\r\n" % r).encode())
            expect(2, "RCPT TO %s" % r)
        s.sendall(b"DATA\r\n")
        expect(3, "DATA")
        s.sendall(data + b".\r\n")
        for r in rcpts:
            expect(2, "delivery to %s" % r)
        s.sendall(b"QUIT\r\n")
        try:
            reply()
        except (LMTPError, OSError):
            pass


# ---- CPU accounting ----------------------------------------------------------------------
#
# The machine may be shared: every throughput phase records how much CPU was
# used by something other than this script, its children and Dovecot, as a
# share of all cores (other_cpu_pct). A phase with a high figure was disturbed.

_TICK = os.sysconf("SC_CLK_TCK")


def machine_busy_s():
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    # user nice system idle iowait irq softirq steal: all but idle and iowait
    return (sum(v[:8]) - v[3] - v[4]) / _TICK


def own_cpu_s():
    s = resource.getrusage(resource.RUSAGE_SELF)
    c = resource.getrusage(resource.RUSAGE_CHILDREN)
    return s.ru_utime + s.ru_stime + c.ru_utime + c.ru_stime


def tree_cpu_s(root_pid):
    """CPU of a process tree: every live member's own and reaped children's time."""
    if not root_pid:
        return 0.0
    stats = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % d) as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        # after "(comm)": state ppid ... utime(12) stime(13) cutime(14) cstime(15)
        stats[int(d)] = (int(fields[1]), sum(int(x) for x in fields[11:15]))
    members, pending = set(), [root_pid]
    while pending:
        pid = pending.pop()
        if pid in members or pid not in stats:
            continue
        members.add(pid)
        pending.extend(p for p, (pp, _) in stats.items() if pp == pid)
    return sum(stats[p][1] for p in members) / _TICK


class CpuMeter:
    def __init__(self, server_pid):
        self.server_pid = server_pid
        self.t0 = time.perf_counter()
        self.m0, self.o0, self.s0 = machine_busy_s(), own_cpu_s(), tree_cpu_s(server_pid)

    def other_pct(self):
        wall = time.perf_counter() - self.t0
        other = (machine_busy_s() - self.m0) - (own_cpu_s() - self.o0) \
            - (tree_cpu_s(self.server_pid) - self.s0)
        return max(0.0, other) / (wall * (os.cpu_count() or 1)) * 100


# ---- phases ---------------------------------------------------------------------------

def pct(values, p):
    v = sorted(values)
    k = min(len(v) - 1, max(0, int(round(p / 100.0 * (len(v) - 1)))))
    return v[k]


def throughput_phase(agent, paths, workers, tmp, server_pid, user_n=1):
    """Deliver every path to user_n with `workers` threads; one delivery at a
    time per thread. Returns the phase's figures."""
    agent.prepare(user_n)
    os.sync()
    lat = [None] * len(paths)
    cpu = [None] * len(paths)
    lock = threading.Lock()
    state = {"next": 0, "error": None}

    def worker(w):
        err_path = os.path.join(tmp, "stderr-%s-%d" % (agent.name, w))
        err_fd = os.open(err_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_APPEND
                         | os.O_CLOEXEC, 0o600)
        try:
            while True:
                with lock:
                    i = state["next"]
                    if i >= len(paths) or state["error"]:
                        return
                    state["next"] = i + 1
                try:
                    p = agent.deliver(paths[i], user_n, err_fd, err_path)
                except (BenchError, OSError) as e:
                    with lock:
                        state["error"] = state["error"] or e
                    return
                lat[i] = p.wall
                cpu[i] = p.cpu
        finally:
            os.close(err_fd)

    threads = [threading.Thread(target=worker, args=(w,), daemon=True) for w in range(workers)]
    meter = CpuMeter(server_pid)
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    try:
        for t in threads:
            t.join()
    except KeyboardInterrupt:
        with lock:              # let the workers finish their delivery and stop
            state["error"] = state["error"] or BenchError("interrupted")
        for t in threads:
            t.join()
        raise
    wall = time.perf_counter() - t0
    if state["error"]:
        e = state["error"]
        raise BenchError("%s, %d worker(s): %s" % (agent.name, workers, e))
    size = os.path.getsize(paths[0])
    r = {
        "wall_s": wall,
        "msgs_per_s": len(paths) / wall,
        "mib_per_s": len(paths) * size / wall / (1 << 20),
        "lat_p50_ms": statistics.median(lat) * 1000,
        "lat_p99_ms": pct(lat, 99) * 1000,
        "other_cpu_pct": meter.other_pct(),
    }
    if agent.spawns:
        r["cpu_ms_per_msg"] = sum(cpu) / len(cpu) * 1000
    return r


def run_throughput(a, agents, tmp, res):
    rows = []
    modes = [("seq", 1)]
    if a.concurrency > 1:
        modes.append(("c%d" % a.concurrency, a.concurrency))
    for size in a.sizes:
        log("writing %d messages of %s" % (a.messages, human_size(size)))
        msgdir = os.path.join(tmp, "msgs-%d" % size)
        paths = write_messages(msgdir, "t%d" % size, a.messages, size, address(a, 1))
        for mode, workers in modes:
            per_agent = {ag.name: [] for ag in agents}
            for rep in range(a.reps):
                order = agents if rep % 2 == 0 else list(reversed(agents))
                for ag in order:
                    log("%s: %d x %s, %s%s" % (ag.name, a.messages, human_size(size),
                                               "sequential" if workers == 1 else
                                               "%d workers" % workers,
                                               "" if a.reps == 1 else ", rep %d" % (rep + 1)))
                    r = throughput_phase(ag, paths, workers, tmp, a.server_pid)
                    per_agent[ag.name].append(r)
                    log("  %.1f msg/s, p50 %.2f ms, other CPU %.0f%%"
                        % (r["msgs_per_s"], r["lat_p50_ms"], r["other_cpu_pct"]))
            for ag in agents:
                runs = per_agent[ag.name]
                med = {k: statistics.median([x[k] for x in runs]) for k in runs[0]}
                row = {"agent": ag.name, "size": size, "mode": mode, "workers": workers,
                       "messages": a.messages, "reps": a.reps}
                row.update(med)
                if a.reps > 1:
                    row["msgs_per_s_min"] = min(x["msgs_per_s"] for x in runs)
                    row["msgs_per_s_max"] = max(x["msgs_per_s"] for x in runs)
                rows.append(row)
                key = "%s.%s.%s." % (ag.name, mode, size_key(size))
                for k, v in med.items():
                    res[key + k] = round(v, 3)
        shutil.rmtree(msgdir, ignore_errors=True)
    return rows


def tree_usage(roots, messages_only):
    """du-like: (files, unique inodes' bytes on disk, apparent bytes). Hard
    links are counted once. messages_only: files directly under new/ or cur/."""
    seen = set()
    files = disk = apparent = 0
    for root in roots:
        for dirpath, dirnames, filenames in os.walk(root):
            if not messages_only:
                st = os.lstat(dirpath)
                if (st.st_dev, st.st_ino) not in seen:
                    seen.add((st.st_dev, st.st_ino))
                    disk += st.st_blocks * 512
            if messages_only and os.path.basename(dirpath) not in ("new", "cur"):
                continue
            for fn in filenames:
                st = os.lstat(os.path.join(dirpath, fn))
                files += 1
                if (st.st_dev, st.st_ino) in seen:
                    continue
                seen.add((st.st_dev, st.st_ino))
                disk += st.st_blocks * 512
                apparent += st.st_size
    return files, disk, apparent, len(seen)


def run_storage(a, lb, lda, use_lmtp, tmp, res):
    """The same message to U users, two ways:
      one delivery  - letterbox deliver with U --to / one LMTP session with
                      U RCPT TO (what Postfix's lmtp transport does)
      U deliveries  - U separate letterbox deliver / dovecot-lda runs, one per
                      user (the same message arriving in separate
                      transactions, or a one-recipient-per-process MDA)"""
    users = list(range(1, a.storage_users + 1))
    msgdir = os.path.join(tmp, "msgs-storage")
    path = write_messages(msgdir, "s", 1, a.storage_size, address(a, 1))[0]
    err_path = os.path.join(tmp, "storage.err")
    out = {"users": a.storage_users, "size": a.storage_size, "rows": []}

    def lb_case(case):
        log("letterbox: %s of %s to %d users" % (case, human_size(a.storage_size), len(users)))
        lb.drop_store()
        lb.new_store(len(users))
        before_app, before_disk = lb.db_bytes()
        out_path = os.path.join(tmp, "storage-deliver.out")
        start = time.perf_counter()
        with open(out_path, "wb") as o, open(err_path, "wb") as e:
            runs = [users] if case == "one delivery" else [[n] for n in users]
            for rcpts in runs:
                p = run_child(lb.argv([address(a, n) for n in rcpts]), path, e.fileno(),
                              a.timeout, stdout_fd=o.fileno())
                check_proc("letterbox deliver (storage)", p, err_path)
        wall = time.perf_counter() - start
        with open(out_path) as f:
            delivered = sum(1 for line in f if ": delivered," in line)
        if delivered != len(users):
            raise BenchError("letterbox deliver reported %d of %d deliveries" % (delivered, len(users)))
        after_app, after_disk = lb.db_bytes()
        lb.drop_store()
        return {"agent": "letterbox", "case": case,
                "what": "letterbox.db + -wal after wal_checkpoint(TRUNCATE)",
                "bytes_delta": after_app - before_app, "disk_bytes_delta": after_disk - before_disk,
                "bytes_before": before_app, "bytes_after": after_app, "wall_ms": wall * 1000}

    def dovecot_case(agent_name, case):
        log("%s: %s of %s to %d users" % (agent_name, case, human_size(a.storage_size), len(users)))
        expunge(a, users)
        roots = [os.path.join(a.maildir_root, local_part(a, n), "Maildir") for n in users]
        os.sync()
        m0 = tree_usage(roots, True)
        t0 = tree_usage(roots, False)
        start = time.perf_counter()
        if agent_name == "dovecot-lmtp":
            with open(path, "rb") as f:
                data = f.read()
            lmtp_deliver(a.lmtp_host, a.lmtp_port, [address(a, n) for n in users], data, a.timeout)
        else:
            with open(err_path, "wb") as e:
                for n in users:
                    p = run_child(lda.command(n), path, e.fileno(), a.timeout)
                    check_proc("dovecot-lda (storage)", p, err_path)
        wall = time.perf_counter() - start
        m1 = tree_usage(roots, True)
        t1 = tree_usage(roots, False)
        if m1[0] - m0[0] != len(users):
            raise BenchError("%s: %d new message files for %d users"
                             % (agent_name, m1[0] - m0[0], len(users)))
        return {"agent": agent_name, "case": case,
                "what": "message files in new/ and cur/, hard links once (du)",
                "bytes_delta": m1[2] - m0[2], "disk_bytes_delta": m1[1] - m0[1],
                "files": m1[0] - m0[0], "inodes": m1[3] - m0[3],
                "maildir_tree_disk_bytes_delta": t1[1] - t0[1], "wall_ms": wall * 1000}

    cases = [lb_case("one delivery")]
    if use_lmtp:
        cases.append(dovecot_case("dovecot-lmtp", "one delivery"))
    cases.append(lb_case("%d deliveries" % len(users)))
    if lda:
        cases.append(dovecot_case("dovecot-lda", "%d deliveries" % len(users)))
    for c in cases:
        key = "%s.storage.%s." % (c["agent"], "one" if c["case"] == "one delivery" else "separate")
        res[key + "bytes"] = c["bytes_delta"]
        res[key + "disk_bytes"] = c["disk_bytes_delta"]
        if "maildir_tree_disk_bytes_delta" in c:
            res[key + "tree_disk_bytes"] = c["maildir_tree_disk_bytes_delta"]
        res[key + "ms"] = round(c["wall_ms"], 2)
    out["rows"] = cases
    shutil.rmtree(msgdir, ignore_errors=True)
    return out


def run_rss(a, lb, lda, tmp, res):
    """Peak RSS through /usr/bin/time: ru_maxrss from our own wait4() would
    not do, since Linux carries the high-water mark of the address space a
    process had before execve() (here: this Python process) into it."""
    rows = []
    if not os.access(a.time_bin, os.X_OK):
        log("warning: %s not found (apt-get install time): peak RSS not measured" % a.time_bin)
        return rows
    msgdir = os.path.join(tmp, "msgs-rss")
    agents = [lb] + ([lda] if lda else [])
    lb.drop_store()
    lb.new_store(1)
    if lda:
        lda.prepare(1)
    err_path = os.path.join(tmp, "rss.err")
    time_out = os.path.join(tmp, "rss.time")
    err_fd = os.open(err_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_APPEND | os.O_CLOEXEC, 0o600)
    try:
        for size in a.rss_sizes:
            paths = write_messages(msgdir, "r%d" % size, a.rss_reps, size, address(a, 1))
            os.sync()
            for ag in agents:
                rss, walls = [], []
                for path in paths:
                    argv = [a.time_bin, "-f", "%M", "-o", time_out] + ag.command(1)
                    p = run_child(argv, path, err_fd, a.timeout)
                    check_proc(ag.label, p, err_path)
                    with open(time_out) as f:
                        rss.append(int(f.read().split()[-1]))
                    walls.append(p.wall)
                row = {"agent": ag.name, "size": size, "reps": len(rss),
                       "maxrss_kib_median": statistics.median(rss), "maxrss_kib_max": max(rss),
                       "wall_ms_median": statistics.median(walls) * 1000}
                rows.append(row)
                log("%s: %s, peak RSS %d KiB" % (ag.name, human_size(size), row["maxrss_kib_max"]))
                res["%s.rss.%s.maxrss_kib" % (ag.name, size_key(size))] = max(rss)
            for path in paths:
                os.unlink(path)
    finally:
        os.close(err_fd)
    lb.drop_store()
    if lda:
        expunge(a, [1])
    return rows


# ---- environment ------------------------------------------------------------------------

def fs_of(path):
    """(mount point, fs type) holding path."""
    path = os.path.realpath(path)
    best = ("/", "?")
    try:
        with open("/proc/mounts") as f:
            for line in f:
                parts = line.split()
                mnt = parts[1].replace("\\040", " ")
                if (path == mnt or path.startswith(mnt.rstrip("/") + "/")) and len(mnt) >= len(best[0]):
                    best = (mnt, parts[2])
    except OSError:
        pass
    return best


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "?"


def version_of(argv):
    try:
        r = subprocess.run(argv, capture_output=True, timeout=10)
        return (r.stdout or r.stderr).decode("utf-8", "replace").strip().splitlines()[0]
    except (OSError, subprocess.TimeoutExpired, IndexError):
        return "?"


def git_rev(binary):
    d = os.path.dirname(binary)
    try:
        rev = subprocess.run(["git", "-C", d, "rev-parse", "--short", "HEAD"],
                             capture_output=True, timeout=10).stdout.decode().strip()
        return rev or None
    except (OSError, subprocess.TimeoutExpired):
        return None


def check_dovecot(a):
    try:
        with open(a.dovecot_pidfile) as f:
            pid = int(f.read().strip())
        os.kill(pid, 0)
        a.server_pid = pid
    except (OSError, ValueError):
        raise BenchError("Dovecot peers are not running (no live pid in %s): start them with "
                         "/work/shared/peers/start-peers.sh, or pass --skip-dovecot"
                         % a.dovecot_pidfile)
    for path in ([a.dovecot_lda] if a.use_lda else []) + [a.doveadm]:
        if not os.access(path, os.X_OK):
            raise BenchError("%s not found (apt-get install dovecot-core), or pass --skip-dovecot" % path)
    if a.use_lmtp:
        try:
            socket.create_connection((a.lmtp_host, a.lmtp_port), timeout=5).close()
        except OSError as e:
            raise BenchError("Dovecot LMTP %s:%d: %s (or pass --no-lmtp / --skip-dovecot)"
                             % (a.lmtp_host, a.lmtp_port, e))
    if a.use_lda and os.geteuid() != 0:
        log("note: not root; dovecot-lda must be able to switch to the peers' mail user")


# ---- report --------------------------------------------------------------------------------

def print_report(a, env, rows, storage, rss):
    print()
    print("Local delivery benchmark  %s  (%s, %d cores, %s)" % (env["date"], env["cpu"], env["cores"],
                                                             env["fs"]))
    print("letterbox %s (%s), %s" % (env["letterbox_version"], env.get("letterbox_git") or "-",
                                    env.get("dovecot_version", "Dovecot not measured")))
    if rows:
        print()
        print("1. Throughput: %d messages to one user, one delivery process (LMTP: session) each,"
              " fsync on%s" % (a.messages, "" if a.reps == 1 else ", median of %d reps" % a.reps))
        hdr = "%-8s %-8s %-13s %8s %-13s %7s %8s %8s %10s %7s" % (
            "size", "workers", "agent", "msg/s", " [min - max]", "MiB/s", "p50 ms", "p99 ms",
            "cpu ms/msg", "other%")
        print(hdr)
        print("-" * len(hdr))
        for r in rows:
            cpu = "%.2f" % r["cpu_ms_per_msg"] if "cpu_ms_per_msg" in r else "-"
            rng = " [%.0f - %.0f]" % (r["msgs_per_s_min"], r["msgs_per_s_max"]) \
                if "msgs_per_s_min" in r else ""
            print("%-8s %-8s %-13s %8.1f %-13s %7.2f %8.2f %8.2f %10s %7.0f" % (
                human_size(r["size"]), "1 (seq)" if r["workers"] == 1 else str(r["workers"]),
                r["agent"], r["msgs_per_s"], rng, r["mib_per_s"], r["lat_p50_ms"], r["lat_p99_ms"],
                cpu, r["other_cpu_pct"]))
        print("   each figure is the median over the reps; [min - max] of msg/s;")
        print("   cpu ms/msg: user+system time of the delivery process (LMTP: in Dovecot, not shown);")
        print("   other%%: CPU used meanwhile by anything but this script, its children and Dovecot,"
              " %% of %d cores" % (os.cpu_count() or 1))
    if storage:
        print()
        print("2. Storage: the same %s message to %d users; bytes added on disk "
              "(%d copies = %d bytes)" % (human_size(storage["size"]), storage["users"],
                                          storage["users"], storage["users"] * storage["size"]))
        hdr = "%-14s %-15s %12s %12s %14s %9s" % ("agent", "delivered as", "bytes", "disk bytes",
                                                 "+ Maildir idx", "ms")
        print(hdr)
        print("-" * len(hdr))
        for c in storage["rows"]:
            idx = c.get("maildir_tree_disk_bytes_delta")
            print("%-14s %-15s %12d %12d %14s %9.1f" % (
                c["agent"], c["case"], c["bytes_delta"], c["disk_bytes_delta"],
                "-" if idx is None else str(idx), c["wall_ms"]))
        print("   letterbox: growth of letterbox.db + -wal after PRAGMA wal_checkpoint(TRUNCATE)")
        if len(storage["rows"]) > 2:
            print("   Dovecot: message files in the Maildirs' new/ + cur/ (hard links counted once,"
                  " like du);")
            print("   '+ Maildir idx': the whole Maildir trees' growth, indexes and uidlists included")
    if rss:
        print()
        print("3. Peak RSS of one delivery process (GNU time %%M, max of %d runs)" % a.rss_reps)
        for r in rss:
            print("   %-12s %-8s %8d KiB   (%.1f ms)" % (r["agent"], human_size(r["size"]),
                                                        r["maxrss_kib_max"], r["wall_ms_median"]))
    print()


def main():
    global _DEVNULL
    a = parse_args()
    _DEVNULL = os.open(os.devnull, os.O_WRONLY | os.O_CLOEXEC)
    base = a.tmpdir or tempfile.gettempdir()
    tmp = tempfile.mkdtemp(prefix="lb-local-delivery-", dir=base)

    def on_signal(signum, frame):
        raise KeyboardInterrupt("signal %d" % signum)

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGHUP, on_signal)

    env = {
        "date": datetime.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z"),
        "cores": os.cpu_count(),
        "cpu": cpu_model(),
        "kernel": platform.release(),
        "fs": "%s on %s" % tuple(reversed(fs_of(tmp))),
        "letterbox": a.letterbox,
        "letterbox_version": version_of([a.letterbox, "--version"]),
        "letterbox_git": git_rev(a.letterbox),
        "sqlite": sqlite3.sqlite_version,
    }
    # Run a copy: a rebuild of the tree during the run (make relinks the
    # binary in place) must not change or remove what is being measured.
    snapshot = os.path.join(tmp, "letterbox.bin")
    shutil.copy2(a.letterbox, snapshot)
    a.letterbox = snapshot
    res = {}
    rows, storage, rss = [], None, []
    lb = Letterbox(a, tmp)
    lda = lmtp = None
    rc = 0
    dovecot_touched = False
    try:
        if a.dovecot:
            check_dovecot(a)
            env["dovecot_version"] = "Dovecot " + version_of(["dovecot", "--version"])
            env["maildir_fs"] = "%s on %s" % tuple(reversed(fs_of(a.maildir_root)))
            if a.use_lda:
                lda = DovecotLDA(a)
            if a.use_lmtp:
                lmtp = DovecotLMTP(a)
            dovecot_touched = True
        agents = [x for x in (lb, lda, lmtp) if x]
        if "throughput" in a.phases:
            rows = run_throughput(a, agents, tmp, res)
        if "storage" in a.phases:
            storage = run_storage(a, lb, lda, lmtp is not None, tmp, res)
        if "rss" in a.phases:
            rss = run_rss(a, lb, lda, tmp, res)
    except BenchError as e:
        log("ERROR: %s" % e)
        rc = 1
    except KeyboardInterrupt as e:
        log("interrupted (%s)" % (e or "SIGINT"))
        rc = 130
    finally:
        lb.drop_store()
        if dovecot_touched and not a.keep_peer_mail:
            try:
                n = a.storage_users if "storage" in a.phases else 1
                expunge(a, range(1, n + 1))
            except BenchError as e:
                log("warning: could not expunge the Dovecot INBOXes: %s" % e)
        if a.keep:
            log("kept %s" % tmp)
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    if rc:
        return rc
    print_report(a, env, rows, storage, rss)
    rec = {"bench": "local_delivery", "messages": a.messages, "concurrency": a.concurrency,
           "reps": a.reps, "env": env}
    rec.update(res)
    rec["throughput"] = rows
    rec["storage"] = storage
    rec["rss"] = rss
    print("RESULT " + json.dumps(rec), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
