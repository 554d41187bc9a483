#!/usr/bin/python3
"""IMAP of letterboxd side by side with Dovecot's IMAP (../shared/peers),
in one run: one mailbox of 10,000 varied messages, and 200 idle
connections.

Mailbox: INBOX of bench45@bench.test on each server is emptied and filled
by APPEND of the same 10,000 generated messages (67 MiB: 0.7 to 62 KiB,
median 3 KiB; a quarter multipart/alternative, an eighth multipart/mixed
with a base64 attachment; varied From/To/Cc, encoded words, quoted display
names, In-Reply-To). The APPENDs use LITERAL+ and up to 32 commands in
flight when the server offers LITERAL+, else one at a time; APPEND msg/s
is reported. Then, --reps times per server (servers alternate), on a new
connection after an untimed LOGIN:

  SELECT INBOX                                   (EXISTS must be N)
  FETCH 1:* (FLAGS UID RFC822.SIZE ENVELOPE)     (N responses, each size
                                                  and Message-ID checked)
  FETCH 1:* BODY.PEEK[]                          (every body compared with
                                                  what was appended)
  STORE 1:* +FLAGS.SILENT (\\Flagged)            (then FETCH 1:* FLAGS)
  STORE 1:* -FLAGS (\\Flagged)                   (N FETCH responses)

Each response is read whole in large recv()s and checked only after the
clock stops. A table cell is the best of the reps, with the median.

Idle: the INBOXes of bench1..bench40 are emptied, then 200 connections
log in (5 per user), SELECT INBOX and send IDLE (when every server
measured offers it, else they just sit), from
source addresses 127.0.0.2..127.0.0.21 (letterboxd admits 20 connections
per client IP). After 3 s, resident memory is read from /proc: growth of
the server's whole process tree (RSS and PSS; what the peers'
idle_memory.py reports) and of the processes holding the 200 connections
(letterboxd: its imap worker; Dovecot: its 200 `imap` processes). PSS
splits shared pages among the processes sharing them; compare PSS.

letterboxd: started here (copied binaries, temporary data directory,
free loopback port, only [imap] listening, domain bench.test, users
bench1..bench50@bench.test / benchpass, Argon2id m=64 MiB, t=3 like the
peers), or the one already running on --port (it must have those users;
its INBOXes of bench1..40 and bench45 are emptied). Dovecot: the peers on
127.0.0.1:12143 (/work/shared/peers/start-peers.sh); its passdb drops the
domain, so the same logins work.

usage: bench/imap_bench.py [--messages 10000] [--reps 3] [--idle 200]
                           [--only letterbox|dovecot] [--port PORT]
                           [--bindir DIR]
Prints a table and one line: RESULT {json} (times in ms).
"""
import argparse
import base64
import json
import os
import random
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, "..", "shared", "peers", "bench"))
sys.path.insert(0, HERE)
import benchlib as B  # noqa: E402
from smtp_bench import accepts, free_port  # noqa: E402

PASSWORD = "benchpass"
DOVECOT_PORT = 12143
DOVECOT_PIDFILE = "/tmp/peers/dovecot/run/master.pid"
FILL_USER = 45
IDLE_USERS = range(1, 41)
SOURCES = ["127.0.0.%d" % i for i in range(2, 22)]
WINDOW = 32                 # APPENDs in flight


def user(n):
    return "bench%d@%s" % (n, B.DOMAIN)


# ---------------------------------------------------------------- messages

def make_messages(n):
    """n different, deterministic CRLF messages."""
    r = random.Random(20261129)
    words = B.WORDS
    names = [(w1.capitalize(), w2.capitalize(), "%s.%s@%s" % (
        w1, w2, r.choice(["example.org", "example.com", B.DOMAIN,
                          "mail.example.net"])))
             for w1, w2 in zip(r.sample(words, 80), r.sample(words, 80))]

    def addr(k):
        first, last, a = names[k]
        style = k % 5
        if style == 0:
            return "<%s>" % a
        if style == 1:
            return '"%s, %s" <%s>' % (last, first, a)
        if style == 2:
            return "=?UTF-8?Q?%s_M=C3=BCller?= <%s>" % (first, a)
        return "%s %s <%s>" % (first, last, a)

    def text(size):
        lines, total = [], 0
        while total < size:
            s = " ".join(r.choices(words, k=r.randint(5, 12))) + "\r\n"
            lines.append(s)
            total += len(s)
        return "".join(lines)

    msgs = []
    for i in range(n):
        size = min(60000, max(200, int(r.lognormvariate(7.6, 0.9))))
        subject = " ".join(r.choices(words, k=r.randint(2, 8)))
        if i % 10 == 3:
            subject = "=?UTF-8?B?%s?=" % base64.b64encode(
                ("Grüße, " + subject).encode()).decode()
        elif i % 4 == 1:
            subject = "Re: " + subject
        h = ["Return-Path: <%s>" % names[i % 80][2],
             "Received: from mx%d.example.net (mx%d.example.net "
             "[192.0.2.%d])\r\n\tby mail.bench.test with ESMTPS; "
             "Mon, 2 Jan 2023 10:%02d:%02d +0000" % (
                 i % 7, i % 7, i % 250, i // 60 % 60, i % 60),
             "Date: %s, %d %s 2023 %02d:%02d:%02d %s" % (
                 ("Mon", "Tue", "Wed", "Thu", "Fri")[i % 5], 1 + i % 28,
                 ("Jan", "Feb", "Mar", "Apr")[i % 4], i // 3600 % 24,
                 i // 60 % 60, i % 60, ("+0000", "-0500", "+0100")[i % 3]),
             "From: " + addr(i % 80),
             "To: " + ", ".join(addr((i + 7 * k) % 80)
                                for k in range(1 + i % 3)),
             "Subject: " + subject,
             "Message-ID: <imapbench.%d.%d@%s>" % (i, size, B.DOMAIN)]
        if i % 3 == 0:
            h.append("Cc: " + addr((i * 13) % 80))
        if i % 4 == 1:
            h.append("In-Reply-To: <imapbench.%d@%s>" % (i - 1, B.DOMAIN))
            h.append("References: <imapbench.%d@%s>" % (i - 1, B.DOMAIN))
        h.append("MIME-Version: 1.0")
        kind = i % 8
        if kind in (1, 5):          # multipart/alternative
            b = "=_alt_%d" % i
            t = text(size // 2)
            html = "<html><body>\r\n" + "".join(
                "<p>%s</p>\r\n" % line for line in
                text(size // 2).split("\r\n") if line) + "</body></html>\r\n"
            h.append('Content-Type: multipart/alternative; boundary="%s"' % b)
            body = ("--%s\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
                    "%s--%s\r\nContent-Type: text/html; charset=utf-8\r\n"
                    "\r\n%s--%s--\r\n" % (b, t, b, html, b))
        elif kind == 6:             # multipart/mixed with an attachment
            b = "=_mix_%d" % i
            att = base64.encodebytes(r.randbytes(
                r.randint(1000, 40000))).decode().replace("\n", "\r\n")
            h.append('Content-Type: multipart/mixed; boundary="%s"' % b)
            body = ("This is a multi-part message in MIME format.\r\n\r\n"
                    "--%s\r\nContent-Type: text/plain; charset=us-ascii\r\n"
                    "\r\n%s--%s\r\nContent-Type: application/pdf; "
                    'name="report-%d.pdf"\r\nContent-Disposition: '
                    'attachment; filename="report-%d.pdf"\r\n'
                    "Content-Transfer-Encoding: base64\r\n\r\n%s--%s--\r\n"
                    % (b, text(size // 3), b, i, i, att, b))
        else:
            h.append("Content-Type: text/plain; charset=us-ascii")
            body = text(size)
        msgs.append(("\r\n".join(h) + "\r\n\r\n" + body).encode())
    return msgs


# ---------------------------------------------------------------- IMAP client

class Imap(B.Imap):
    """The peers' raw-socket client, from a chosen source address, plus
    raw(): a whole response read in large chunks, unparsed."""

    def __init__(self, port, source="127.0.0.1", timeout=300.0):
        c = B.Conn.__new__(B.Conn)
        c.sock = socket.create_connection(("127.0.0.1", port), timeout,
                                          source_address=(source, 0))
        c.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        c.buf, c.pos, c.rx = bytearray(), 0, 0
        self.c, self.tagn, self._caps = c, 0, None
        self.greeting = c.readline()
        if not self.greeting.startswith(b"* OK"):
            raise B.ImapError("bad greeting: %r" % self.greeting)

    def _tag(self):
        # Upper-case letters only (12 -> "TBC"): raw() looks for "CRLF tag"
        # in message text, and bytes.find() skips fast over text without
        # the needle's characters (no space, no digit, no lower case).
        self.tagn += 1
        return "T" + "".join(chr(65 + int(d)) for d in str(self.tagn))

    def raw(self, text):
        """(seconds, untagged bytes) until the tagged OK of text. The
        response goes into RX by recv_into() of up to CHUNK. Sets
        cpu_share: this process's CPU time over those seconds."""
        tag = self._tag()
        marker = ("\r\n" + tag).encode()
        c = self.c
        pre = c.buf[c.pos - 2:]         # the CRLF ending the last line
        n, scan = len(pre), 0
        room(n + (4 << 20))
        RX[:n] = pre
        mv = memoryview(RX)
        try:
            cpu0, t0 = time.process_time(), B.now()
            c.send(("%s %s\r\n" % (tag, text)).encode())
            while True:
                i = RX.find(marker, scan, n - 1)
                if i >= 0 and RX[i + len(marker)] != 32:    # not "tag SP"
                    scan = i + 1
                    continue
                j = RX.find(b"\r\n", i + 2, n) if i >= 0 else -1
                if j >= 0:
                    break
                scan = i if i >= 0 else max(0, n - len(marker))
                if len(RX) - n < CHUNK:
                    mv.release()
                    room(2 * len(RX))
                    mv = memoryview(RX)
                k = c.sock.recv_into(mv[n:], CHUNK)
                if not k:
                    raise ConnectionError("connection closed by server")
                n += k
            dt = B.now() - t0
            self.cpu_share = (time.process_time() - cpu0) / dt
            tagged, data = bytes(mv[i + 2:j]), bytes(mv[2:i + 2])
            c.buf, c.pos = bytearray(mv[j:n]), 2
        finally:
            mv.release()
        if not tagged.startswith(("%s OK" % tag).encode()):
            raise B.ImapError("%s -> %r" % (text[:40], tagged[:200]))
        return dt, data


CHUNK = 4 << 20         # most a recv_into() of raw() asks for

# Receive buffer of raw(), reused so that its pages are faulted in once,
# before any clock runs (see room() in main), and not while reading.
RX = bytearray()


def room(size):
    if len(RX) < size:
        RX.extend(bytes(size - len(RX)))


def login(port, n, source="127.0.0.1"):
    m = Imap(port, source)
    m.login(user(n), PASSWORD)
    return m


def responses(data):
    """Untagged responses of data as (text without literals, [literals])."""
    out, pos = [], 0
    while pos < len(data):
        e = data.index(b"\r\n", pos)
        first = line = data[pos:e]
        lits = []
        pos = e + 2
        while line.endswith(b"}"):
            k = int(line[line.rfind(b"{") + 1:-1].rstrip(b"+"))
            lits.append(data[pos:pos + k])
            e = data.index(b"\r\n", pos + k)
            line = data[pos + k:e]
            first += b"{}" + line       # literal left out
            pos = e + 2
        out.append((first, lits))
    return out


def fetches(data):
    return [(int(f.split()[1]), f, lits) for f, lits in responses(data)
            if f.startswith(b"* ") and f.split()[2:3] == [b"FETCH"]]


def field(text, name):
    k = text.index(name + b" ") + len(name) + 1
    return int(text[k:].split(b" ", 1)[0].split(b")", 1)[0])


def check(cond, what):
    if not cond:
        raise RuntimeError("check failed: " + what)


# ---------------------------------------------------------------- steps

def purge(port, n):
    m = login(port, n)
    if m.select("INBOX"):
        m.cmd("STORE 1:* +FLAGS.SILENT (\\Deleted)")
        m.cmd("EXPUNGE")
    check(m.select("INBOX") == 0, "INBOX of %s empty" % user(n))
    m.logout()


def append_all(m, msgs):
    """APPENDs msgs to m's INBOX, with LITERAL+ and WINDOW commands in
    flight when the server offers it; returns (seconds, pipelined)."""
    plus = "LITERAL+" in m.capabilities()
    t0 = B.now()
    if plus:
        tags = []
        for k, msg in enumerate(msgs):
            tag = m._tag()
            m.c.send(b"%s APPEND INBOX {%d+}\r\n%s\r\n" % (
                tag.encode(), len(msg), msg))
            tags.append(tag)
            while len(tags) > (WINDOW if k + 1 < len(msgs) else 0):
                t = tags.pop(0)
                line = m.read_response(t)[0]
                if not line.startswith(("%s OK" % t).encode()):
                    raise B.ImapError("APPEND failed: %r" % line)
    else:
        for msg in msgs:
            m.append("INBOX", msg)
    return B.now() - t0, plus


def stop_daemon(proc):
    """SIGTERM to a letterboxd started with start_new_session, then
    SIGKILL to whatever of its process group is left."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            pass
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait()


def fill(port, msgs):
    """APPEND msgs to bench45's INBOX; returns (msg/s, pipelined)."""
    purge(port, FILL_USER)
    m = login(port, FILL_USER)
    dt, plus = append_all(m, msgs)
    check(m.status_messages("INBOX") == len(msgs), "APPENDed count")
    m.logout()
    return len(msgs) / dt, plus


def one_rep(port, msgs):
    """SELECT, FETCH, FETCH bodies, STORE +/-, each verified; ms."""
    n = len(msgs)
    m = login(port, FILL_USER)
    out = {}
    dt, data = m.raw("SELECT INBOX")
    out["select_ms"] = B.ms(dt)
    exists = [f for f, _ in responses(data) if f.endswith(b" EXISTS")]
    check(exists and int(exists[-1].split()[1]) == n, "SELECT EXISTS")

    dt, data = m.raw("FETCH 1:* (FLAGS UID RFC822.SIZE ENVELOPE)")
    out["fetch_meta_ms"] = B.ms(dt)
    out["fetch_meta_kib"] = round(len(data) / 1024, 1)
    fs = fetches(data)
    check(len(fs) == n, "%d FETCH responses, not %d" % (len(fs), n))
    uids = []
    for seq, f, lits in fs:
        msg = msgs[seq - 1]
        check(b"ENVELOPE (" in f and b"FLAGS (" in f, "FETCH items")
        check(field(f, b"RFC822.SIZE") == len(msg), "RFC822.SIZE %d" % seq)
        mid = msg[msg.index(b"Message-ID: <") + 13:].split(b">")[0]
        check(mid in f or any(mid in x for x in lits), "ENVELOPE %d" % seq)
        uids.append(field(f, b"UID"))
    check(uids == sorted(set(uids)), "UIDs ascending")

    dt, data = m.raw("FETCH 1:* BODY.PEEK[]")
    out["fetch_body_ms"] = B.ms(dt)
    # This client's CPU over the fetch: near 100 % would make it the limit.
    out["fetch_body_client_cpu_pct"] = round(100 * m.cpu_share)
    out["fetch_body_mib_s"] = round(len(data) / 1048576 / dt, 1)
    fs = fetches(data)
    check(len(fs) == n, "%d BODY[] responses, not %d" % (len(fs), n))
    for seq, f, lits in fs:
        check(len(lits) == 1 and lits[0] == msgs[seq - 1], "BODY[] %d" % seq)

    dt, _ = m.raw("STORE 1:* +FLAGS.SILENT (\\Flagged)")
    out["store_add_ms"] = B.ms(dt)
    fs = fetches(m.raw("FETCH 1:* FLAGS")[1])
    check(len(fs) == n and all(b"\\Flagged" in f for _, f, _ in fs),
          "all \\Flagged after +FLAGS")
    dt, data = m.raw("STORE 1:* -FLAGS (\\Flagged)")
    out["store_del_ms"] = B.ms(dt)
    fs = fetches(data)
    check(len(fs) == n and not any(b"\\Flagged" in f for _, f, _ in fs),
          "%d FETCH responses to -FLAGS" % len(fs))
    m.logout()
    return out


# ---------------------------------------------------------------- memory

def tcp_inodes(port, state):
    """Inodes of IPv4/6 TCP sockets with local port and state (hex)."""
    inodes = set()
    for path in ("/proc/net/tcp", "/proc/net/tcp6"):
        with open(path) as f:
            for line in f.readlines()[1:]:
                w = line.split()
                if int(w[1].rsplit(":", 1)[1], 16) == port and w[3] == state:
                    inodes.add(w[9])
    return inodes


def holders(pids, inodes):
    """pids that hold a socket of inodes."""
    want = {"socket:[%s]" % i for i in inodes}
    out = []
    for pid in pids:
        try:
            fds = os.listdir("/proc/%d/fd" % pid)
            if any(os.readlink("/proc/%d/fd/%s" % (pid, fd)) in want
                   for fd in fds):
                out.append(pid)
        except OSError:
            pass
    return out


def listener_root(port):
    """The process that listens on port and whose parent does not."""
    procs = B._all_procs()
    pids = holders(list(procs), tcp_inodes(port, "0A"))
    roots = [p for p in pids if procs[p]["ppid"] not in pids]
    if len(roots) != 1:
        sys.exit("cannot tell which process listens on port %d: %s" % (
            port, roots))
    return roots[0]


def mem_by_pid(pids):
    return {p: B.mem_of([p]) for p in pids}


def offers_idle(port):
    m = login(port, 1)
    caps = m.capabilities()
    m.logout()
    return "IDLE" in caps


def idle(port, root, count, use_idle):
    """Memory growth while count connections idle with INBOX selected."""
    for n in IDLE_USERS:
        purge(port, n)
    time.sleep(1)
    before = mem_by_pid(B.proc_tree([root]))
    conns, errors, lock = [], [], threading.Lock()

    def open_some(k):
        for i in range(k, count, 8):
            try:
                m = login(port, IDLE_USERS[i % len(IDLE_USERS)],
                          SOURCES[i % len(SOURCES)])
                m.select("INBOX")
                if use_idle:
                    m.idle_tag = m._tag()
                    m.c.send(("%s IDLE\r\n" % m.idle_tag).encode())
                    line = m.c.readline()
                    if not line.startswith(b"+"):
                        raise B.ImapError("IDLE refused: %r" % line)
                with lock:
                    conns.append(m)
            except Exception as e:      # reported, not hidden
                errors.append(repr(e))

    t0 = B.now()
    ths = [threading.Thread(target=open_some, args=(k,)) for k in range(8)]
    for t in ths:
        t.start()
    for t in ths:
        t.join()
    open_s = B.now() - t0
    try:
        if errors or len(conns) != count:
            raise RuntimeError("%d of %d connections: %s" % (
                len(conns), count, errors[:3]))
        time.sleep(3)
        tree = B.proc_tree([root])
        during = mem_by_pid(tree)
        imap = holders(tree, tcp_inodes(port, "01"))
    finally:
        for m in conns:
            try:
                if use_idle:
                    m.c.send(b"DONE\r\n")
                    m.read_response(m.idle_tag)
                m.logout()
            except (OSError, B.ImapError):
                m.c.close()

    def grow(pids, key):
        return sum(during[p][key] - before.get(p, {key: 0})[key]
                   for p in pids)

    return {"idle_connections": count, "idle_cmd": use_idle,
            "idle_open_s": round(open_s, 1),
            "idle_procs": len(tree), "imap_procs": len(imap),
            "tree_rss_kib": sum(v["rss_kib"] for v in during.values()),
            "tree_pss_kib": sum(v["pss_kib"] for v in during.values()),
            "tree_rss_growth_kib": grow(tree, "rss_kib"),
            "tree_pss_growth_kib": grow(tree, "pss_kib"),
            "imap_rss_growth_kib": grow(imap, "rss_kib"),
            "imap_pss_growth_kib": grow(imap, "pss_kib")}


# ---------------------------------------------------------------- letterboxd

class Letterboxd:
    """letterboxd in a temporary data directory, IMAP only."""

    def __init__(self, tmp, bindir):
        self.tmp, self.port = tmp, free_port()
        conf = os.path.join(tmp, "letterbox.conf")
        with open(conf, "w") as f:
            f.write("data_dir = %s/data\nhostname = bench.letterbox\n"
                    "log_level = warn\n\n[imap]\nlisten = 127.0.0.1:%d\n\n"
                    "[auth]\n# the peers: ARGON2ID m=65536 KiB, t=3, p=1\n"
                    "hash_opslimit = 3\nhash_memlimit = 64M\n"
                    % (tmp, self.port))
        copy = os.path.join(tmp, "bin")     # a rebuild changes nothing
        os.mkdir(copy)
        for prog in ("letterbox", "letterboxd"):
            shutil.copy2(os.path.join(bindir, prog), copy)
        bindir = copy
        self.lb = [os.path.join(bindir, "letterbox"), "--config", conf]
        subprocess.run(self.lb + ["domain", "add", B.DOMAIN], check=True,
                       stdout=subprocess.DEVNULL)
        for n in range(1, 51):
            subprocess.run(self.lb + ["user", "add", user(n),
                                      "--password-stdin"],
                           input=(PASSWORD + "\n").encode(), check=True,
                           stdout=subprocess.DEVNULL)
        self.log = os.path.join(tmp, "log")
        self.proc = subprocess.Popen(
            [os.path.join(bindir, "letterboxd"), "--foreground", "--config",
             conf], stdout=subprocess.DEVNULL, stderr=open(self.log, "wb"),
            start_new_session=True)
        deadline = time.time() + 30
        while True:
            try:
                Imap(self.port, timeout=5).logout()
                break
            except (OSError, B.ImapError) as e:
                if time.time() > deadline or self.proc.poll() is not None:
                    self.stop()
                    raise RuntimeError("letterboxd does not serve IMAP "
                                       "(%r): %s" % (e, open(self.log).read()))
                time.sleep(0.1)
        time.sleep(1)       # the worker's decoy hash at start

    def stop(self):
        stop_daemon(self.proc)


# ---------------------------------------------------------------- main

ROWS = [("APPEND, msg/s", "append_msg_s", "max"),
        ("SELECT INBOX, ms", "select_ms", "min"),
        ("FETCH 1:* (FLAGS UID RFC822.SIZE ENVELOPE), ms", "fetch_meta_ms",
         "min"),
        ("FETCH 1:* BODY.PEEK[], ms", "fetch_body_ms", "min"),
        ("FETCH 1:* BODY.PEEK[], MiB/s", "fetch_body_mib_s", "max"),
        ("  this client's CPU meanwhile, %", "fetch_body_client_cpu_pct",
         "fetch_body_ms"),
        ("STORE 1:* +FLAGS.SILENT (\\Flagged), ms", "store_add_ms", "min"),
        ("STORE 1:* -FLAGS (\\Flagged), ms", "store_del_ms", "min")]
MEM_ROWS = [("tree RSS growth, MiB", "tree_rss_growth_kib"),
            ("tree PSS growth, MiB", "tree_pss_growth_kib"),
            ("imap process(es) RSS growth, MiB", "imap_rss_growth_kib"),
            ("imap process(es) PSS growth, MiB", "imap_pss_growth_kib")]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--messages", type=int, default=10000)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--idle", type=int, default=200)
    ap.add_argument("--only", choices=("letterbox", "dovecot"))
    ap.add_argument("--port", type=int,
                    help="a running letterboxd's IMAP port on 127.0.0.1")
    ap.add_argument("--bindir", default=ROOT,
                    help="where letterboxd and letterbox are (the tree)")
    args = ap.parse_args()
    if not (1 <= args.messages <= 20000 and 1 <= args.reps <= 10 and
            0 <= args.idle <= 400):
        ap.error("messages 1..20000, reps 1..10, idle 0..400")
    names = [s for s in ("letterbox", "dovecot") if args.only in (None, s)]
    if "dovecot" in names and not accepts(DOVECOT_PORT):
        sys.exit("Dovecot IMAP (127.0.0.1:%d) is not running: start the "
                 "peers (/work/shared/peers/start-peers.sh) or use --only "
                 "letterbox" % DOVECOT_PORT)

    t0 = time.time()
    msgs = make_messages(args.messages)
    total = sum(len(m) for m in msgs)
    room(total + total // 4 + (16 << 20))
    print("%d messages, %.1f MiB, generated in %.1f s" % (
        len(msgs), total / 1048576, time.time() - t0), file=sys.stderr)
    result = {"bench": "letterbox_imap", "messages": len(msgs),
              "octets": total, "reps": args.reps, "idle": args.idle}
    tmp, lbd = None, None
    try:
        ports, roots = {}, {}
        if "letterbox" in names:
            if args.port:
                ports["letterbox"] = args.port
                roots["letterbox"] = listener_root(args.port)
            else:
                tmp = tempfile.mkdtemp(prefix="letterbox-imap-bench-")
                lbd = Letterboxd(tmp, args.bindir)
                result["letterboxd_version"] = subprocess.run(
                    [os.path.join(args.bindir, "letterboxd"), "--version"],
                    stdout=subprocess.PIPE).stdout.decode().strip()
                ports["letterbox"], roots["letterbox"] = lbd.port, lbd.proc.pid
        if "dovecot" in names:
            ports["dovecot"] = DOVECOT_PORT
            roots["dovecot"] = B.read_pidfile(DOVECOT_PIDFILE)
        res = {s: {"runs": []} for s in names}
        busy0, _, all0 = B.system_cpu()
        ours0 = sum(os.times()[:4]) + B.cpu_of_tree(list(roots.values()))
        for s in names:
            t0 = time.time()
            rate, plus = fill(ports[s], msgs)
            res[s].update(append_msg_s=round(rate, 1), append_pipelined=plus)
            print("%s: APPEND %.0f msg/s%s (%.0f s)" % (
                s, rate, "" if plus else " (no LITERAL+: one at a time)",
                time.time() - t0), file=sys.stderr)
        for rep in range(args.reps):
            for s in (names if rep % 2 == 0 else names[::-1]):
                r = one_rep(ports[s], msgs)
                res[s]["runs"].append(r)
                print("rep %d %-9s %s" % (rep, s, r), file=sys.stderr)
        # IDLE only when every server offers it, so both idle alike.
        use_idle = all(offers_idle(ports[s]) for s in names)
        for s in names:
            if args.idle:
                res[s].update(idle(ports[s], roots[s], args.idle, use_idle))
        # CPU of everything else on the machine, as a share of all cores:
        # a high figure means a disturbed run.
        busy1, _, all1 = B.system_cpu()
        ours = (sum(os.times()[:4]) +
                B.cpu_of_tree(list(roots.values())) - ours0)
        result["other_cpu_pct"] = round(
            100 * max(0.0, busy1 - busy0 - ours) / (all1 - all0), 1)
    finally:
        if lbd is not None:
            lbd.stop()
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)

    for s in names:
        runs = res[s]["runs"]
        for _, key, best in ROWS[1:]:
            vals = [r[key] for r in runs]
            if best in ("min", "max"):
                res[s][key] = {"min": min, "max": max}[best](vals)
            else:       # the value in the rep where best was lowest
                res[s][key] = min(runs, key=lambda r: r[best])[key]
            res[s][key + "_median"] = statistics.median(vals)
    result.update(res)
    print("%d messages (%.1f MiB) in INBOX; best of %d (median)" % (
        len(msgs), total / 1048576, args.reps))
    print("%-46s" % "" + "".join("%20s" % s for s in names))
    for label, key, _ in ROWS:
        cells = []
        for s in names:
            v, med = res[s][key], res[s].get(key + "_median")
            cells.append(("%.0f" if v >= 100 else "%.1f") % v +
                         ("" if med is None else " (%.0f)" % med
                          if med >= 100 else " (%.1f)" % med))
        print("%-46s" % label + "".join("%20s" % c for c in cells))
    if args.idle:
        print("%d connections, INBOX selected, %s:" % (
            args.idle, "in IDLE" if use_idle else "no IDLE (not offered)"))
        for label, key in MEM_ROWS:
            print("%-46s" % ("  " + label) + "".join(
                "%20.1f" % (res[s][key] / 1024) for s in names))
        print("%-46s" % "  imap PSS per connection, KiB" + "".join(
            "%20.0f" % (res[s]["imap_pss_growth_kib"] / args.idle)
            for s in names))
        print("%-46s" % "  processes (tree / holding connections)" + "".join(
            "%20s" % ("%d / %d" % (res[s]["idle_procs"],
                                   res[s]["imap_procs"])) for s in names))
    print("other processes used %.1f %% of the CPU during the run" %
          result["other_cpu_pct"])
    print("RESULT " + json.dumps(result))


if __name__ == "__main__":
    main()
