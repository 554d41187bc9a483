#!/usr/bin/python3
"""IMAP SEARCH and IDLE push latency of letterboxd, side by side with
Dovecot's IMAP (../shared/peers, no FTS plugin), in one run.

Mailbox: INBOX of bench46@bench.test on each server holds the same N
(default 10,000) generated messages: Dovecot's is emptied and filled by
APPEND (LITERAL+, 32 in flight); letterboxd's by `letterbox deliver`
(one process a message, in order, stored verbatim) before the daemon
starts, so that its indexer's whole run is timed (--lb-fill append: by
APPEND too, the indexer running meanwhile). The messages: varied
senders (encoded-word and quoted display names), subjects,
Received/Date/Cc/In-Reply-To headers, sizes 0.3 to ~55 KiB (lognormal,
median ~2.5 KiB); about half text/plain 7bit, an eighth text/plain
quoted-printable UTF-8, a sixteenth text/plain base64,
a fifth multipart/alternative (plain + HTML), an eighth multipart/mixed
(text + a base64 PDF-like attachment). Planted, with known answers:

  FROM "rare-sender-qv7"       10 messages' From; decoys in 2 To and
                               2 bodies (must not match)
  HEADER Subject "fjykvist-report"
                               10 Subjects (2 of them RFC 2047
                               encoded words); decoys in 2 X-Note
                               headers and 2 bodies
  BODY "xylofjordin"           10 bodies, 2 of each kind: 7bit, QP
                               (split by a soft line break), base64,
                               inside the HTML part, in a multipart/mixed
                               text part; one capitalised
  TEXT "xylofjordin"           those 10 and 3 Subjects (plain, Q and B
                               encoded words)
  BODY "meeting"               30 % of the bodies (the common word)

No generated word can contain these (they use letters the syllable
words lack). Letterbox: the script waits until its background indexer
has indexed every body (letterbox.db: no bodies with text_partial = 2)
and reports how long that took from the daemon's start (--lb-fill
append: after the last APPEND).

SEARCH: 1 warm-up + --reps (5) runs; each run is a new connection (LOGIN
and SELECT untimed) sending the five commands; servers alternate and
swap order every run. Each command is timed from sending it to its
tagged OK, the whole response read. Every answer is checked against the
planted set (sequence numbers / UIDs mapped back to the appended
messages), so a wrong or empty answer is reported as WRONG, not as a
time. Figures are medians of the timed runs.

IDLE: --idle-clients (200) connections log in as the same user bench46,
SELECT the same 10,000-message INBOX and IDLE, from source addresses
127.0.0.2.. with 10 per address (Dovecot's mail_max_userip_connections
is 10; letterboxd admits 20 per IP). One mailbox watched by all is the
same work for both servers and the worst case for fan-out. Server memory
(RSS and PSS of the whole process tree, and of the processes holding the
connections) is read before and 3 s after they are all idle. Then, one
warm-up + --reps times each, a message is delivered and the time from
sending it until each client reads "* n EXISTS" is taken:
  deliver: letterboxd's SMTP service (the session opened beforehand; the
           clock starts when the message data is sent after DATA's 354)
           against Dovecot LMTP on 127.0.0.1:12024 (what Postfix uses);
  append:  IMAP APPEND from another logged-in connection, both servers.
All sockets (the clients' and the delivering one) are read in one epoll
loop, so the delivery's own reply ("ack", when the server has committed
the message) is timed alongside. p50/p99/max are over the clients of one
delivery; the table shows their medians over the runs.

letterboxd: copied binaries of the tree (--bindir), temporary data
directory, free loopback ports for [imap] and [smtp], domain bench.test,
users bench1..50 / benchpass, Argon2id m=64 MiB, t=3 like the peers'
passdb. Dovecot: the peers on 127.0.0.1:12143 (start them with
/work/shared/peers/start-peers.sh > /tmp/start-peers.log 2>&1); its
bench46 INBOX is emptied at the end.

usage: bench/imap_search_bench.py [--messages 10000] [--reps 5]
           [--idle-clients 200] [--only letterbox|dovecot]
           [--lb-fill deliver|append] [--bindir DIR]
Prints a table and one line: RESULT {json} (times in ms).
"""
import argparse
import base64
import json
import os
import quopri
import random
import selectors
import shutil
import sqlite3
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
from imap_bench import (Imap, append_all, holders, responses,  # noqa: E402
                        stop_daemon, tcp_inodes)
from smtp_bench import accepts, free_port  # noqa: E402

PASSWORD = "benchpass"
DOVECOT_PORT = 12143
DOVECOT_LMTP_PORT = 12024
DOVECOT_PIDFILE = "/tmp/peers/dovecot/run/master.pid"
USER_N = 46                 # bench46: not used by the other scripts
PER_IP = 10                 # Dovecot's mail_max_userip_connections

RARE_SENDER = "rare-sender-qv7"
RARE_SUBJECT = "fjykvist-report"
RARE_WORD = "xylofjordin"
COMMON_WORD = "meeting"
QUERIES = [
    ("from", 'UID SEARCH FROM "%s"' % RARE_SENDER),
    ("subject", 'UID SEARCH HEADER Subject "%s"' % RARE_SUBJECT),
    ("body_rare", 'SEARCH BODY "%s"' % RARE_WORD),
    ("text_rare", 'SEARCH TEXT "%s"' % RARE_WORD),
    ("body_common", 'SEARCH BODY "%s"' % COMMON_WORD),
]


def user(n=USER_N):
    return "bench%d@%s" % (n, B.DOMAIN)


def check(cond, what):
    if not cond:
        raise RuntimeError("check failed: " + what)


# ---------------------------------------------------------------- messages

KINDS = ("plain", "qp", "b64", "alt", "mixed")
KIND_WEIGHTS = (56, 12, 6, 20, 12)


def q_word(s):
    return "=?UTF-8?Q?%s?=" % "".join(
        c if b < 128 and (c.isalnum() or c == "-") else "=%02X" % b
        for ch in s for b, c in ((x, chr(x)) for x in ch.encode()))


def b_word(s):
    return "=?UTF-8?B?%s?=" % base64.b64encode(s.encode()).decode()


def make_messages(n, seed=20261130):
    """(messages, expected): n different CRLF messages and, for each
    query name, the set of message indices that must match."""
    r = random.Random(seed)
    words = B.WORDS
    kinds = r.choices(KINDS, KIND_WEIGHTS, k=n)
    by_kind = {k: [i for i in range(n) if kinds[i] == k] for k in KINDS}

    rare_body = []
    for k in KINDS:
        rare_body += r.sample(by_kind[k], min(2, len(by_kind[k])))
    rest = [i for i in range(n) if i not in set(rare_body)]
    rare_hdr = r.sample(rest, 3)                # word in Subject only
    sender = r.sample(range(n), 10)
    sender_decoy_to = r.sample(range(n), 2)
    sender_decoy_body = r.sample(range(n), 2)
    subj = r.sample([i for i in range(n) if i not in set(rare_hdr)], 10)
    subj_decoy_hdr = r.sample(range(n), 2)
    subj_decoy_body = r.sample(range(n), 2)
    common = set(r.sample(range(n), int(0.3 * n)))
    capital = rare_body[0]

    names = [(w1.capitalize(), w2.capitalize(), "%s.%s@%s" % (
        w1, w2, r.choice(["example.org", "example.com", B.DOMAIN,
                          "mail.example.net", "lists.example.info"])))
             for w1, w2 in zip(r.sample(words, 120), r.sample(words, 120))]

    def addr(k):
        first, last, a = names[k % len(names)]
        style = k % 5
        if style == 0:
            return "<%s>" % a
        if style == 1:
            return '"%s, %s" <%s>' % (last, first, a)
        if style == 2:
            return "%s <%s>" % (q_word(first + " Müller"), a)
        return "%s %s <%s>" % (first, last, a)

    def text(size, inserts, utf8):
        ws = []
        total = 0
        while total < size:
            w = r.choice(words)
            if utf8 and r.random() < 0.02:
                w = r.choice(("Grüße", "Straße", "café", "naïve", "Ærø"))
            ws.append(w)
            total += len(w) + 1
        for w in inserts:
            ws.insert(r.randrange(len(ws) + 1), w)
        lines, line = [], []
        for w in ws:
            line.append(w)
            if len(line) >= r.randint(6, 12):
                lines.append(" ".join(line))
                line = []
        if line:
            lines.append(" ".join(line))
        return "\r\n".join(lines) + "\r\n"

    def qp(t):
        enc = quopri.encodestring(t.replace("\r\n", "\n").encode())
        enc = enc.replace(b"\n", b"\r\n").decode()
        if RARE_WORD in enc:            # the word across a soft line break
            enc = enc.replace(RARE_WORD, RARE_WORD[:5] + "=\r\n" +
                              RARE_WORD[5:], 1)
        return enc

    def b64(data):
        return base64.encodebytes(data).decode().replace("\n", "\r\n")

    msgs = []
    for i in range(n):
        kind = kinds[i]
        size = min(40000, max(150, int(r.lognormvariate(7.6, 0.9))))
        inserts = []
        if i in set(rare_body):
            inserts.append(RARE_WORD.capitalize() if i == capital
                           else RARE_WORD)
        if i in common:
            inserts += [COMMON_WORD] * r.randint(1, 3)
        if i in sender_decoy_body:
            inserts.append("ask " + RARE_SENDER + "@planted.example")
        if i in subj_decoy_body:
            inserts.append("re " + RARE_SUBJECT)

        subject = " ".join(r.choices(words, k=r.randint(2, 8)))
        if i in subj:
            subject = subject + " " + RARE_SUBJECT + " q%d" % (i % 4)
            if subj.index(i) == 0:
                subject = q_word(subject)
            elif subj.index(i) == 1:
                subject = b_word("Grüße " + subject)
        if i in rare_hdr:
            subject = "%s %s" % (subject, RARE_WORD)
            k = rare_hdr.index(i)
            subject = (subject, q_word("Grüße " + subject),
                       b_word(subject))[k]
        if i % 4 == 1 and not subject.startswith("=?"):
            subject = "Re: " + subject

        if i in sender:
            frm = '"Quinn Vale" <%s@planted.example>' % RARE_SENDER
        else:
            frm = addr(i % 97)
        to = [addr((i + 7 * k) % 120) for k in range(1 + i % 3)]
        if i in sender_decoy_to:
            to.append("<%s@planted.example>" % RARE_SENDER)
        h = ["Return-Path: <%s>" % names[i % 120][2],
             "Received: from mx%d.example.net (mx%d.example.net "
             "[192.0.2.%d])\r\n\tby mail.bench.test with ESMTPS; "
             "Mon, 2 Jan 2023 10:%02d:%02d +0000" % (
                 i % 7, i % 7, i % 250, i // 60 % 60, i % 60),
             "Date: %s, %d %s 2023 %02d:%02d:%02d %s" % (
                 ("Mon", "Tue", "Wed", "Thu", "Fri")[i % 5], 1 + i % 28,
                 ("Jan", "Feb", "Mar", "Apr")[i % 4], i // 3600 % 24,
                 i // 60 % 60, i % 60, ("+0000", "-0500", "+0100")[i % 3]),
             "From: " + frm,
             "To: " + ",\r\n ".join(to),
             "Subject: " + subject,
             "Message-ID: <searchbench.%d.%d@%s>" % (i, size, B.DOMAIN)]
        if i % 3 == 0:
            h.append("Cc: " + addr((i * 13) % 120))
        if i % 4 == 1:
            h.append("In-Reply-To: <searchbench.%d@%s>" % (i - 1, B.DOMAIN))
        if i in subj_decoy_hdr:
            h.append("X-Note: see %s" % RARE_SUBJECT)
        h.append("MIME-Version: 1.0")

        if kind == "plain":
            h.append("Content-Type: text/plain; charset=us-ascii")
            body = text(size, inserts, False)
        elif kind == "qp":
            h.append("Content-Type: text/plain; charset=utf-8")
            h.append("Content-Transfer-Encoding: quoted-printable")
            body = qp(text(size, inserts, True))
        elif kind == "b64":
            h.append("Content-Type: text/plain; charset=utf-8")
            h.append("Content-Transfer-Encoding: base64")
            body = b64(text(size, inserts, True).encode())
        elif kind == "alt":
            b = "=_alt_%d" % i
            plain = text(size // 2, [w for w in inserts if w != RARE_WORD],
                         False)
            html = "<html><body>\r\n" + "".join(
                "<p>%s</p>\r\n" % line for line in text(
                    size // 2, [w for w in inserts if w == RARE_WORD],
                    False).split("\r\n") if line) + "</body></html>\r\n"
            h.append('Content-Type: multipart/alternative; boundary="%s"' % b)
            body = ("--%s\r\nContent-Type: text/plain; charset=us-ascii\r\n"
                    "\r\n%s--%s\r\nContent-Type: text/html; charset=utf-8\r\n"
                    "Content-Transfer-Encoding: quoted-printable\r\n\r\n"
                    "%s--%s--\r\n" % (b, plain, b, qp(html), b))
        else:
            b = "=_mix_%d" % i
            att = b64(r.randbytes(r.randint(1000, 30000)))
            h.append('Content-Type: multipart/mixed; boundary="%s"' % b)
            body = ("This is a multi-part message in MIME format.\r\n\r\n"
                    "--%s\r\nContent-Type: text/plain; charset=us-ascii\r\n"
                    "\r\n%s--%s\r\nContent-Type: application/pdf; "
                    'name="report-%d.pdf"\r\nContent-Disposition: '
                    'attachment; filename="report-%d.pdf"\r\n'
                    "Content-Transfer-Encoding: base64\r\n\r\n%s--%s--\r\n"
                    % (b, text(size // 3, inserts, False), b, i, i, att, b))
        msgs.append(("\r\n".join(h) + "\r\n\r\n" + body).encode())

    expected = {
        "from": set(sender),
        "subject": set(subj),
        "body_rare": set(rare_body),
        "text_rare": set(rare_body) | set(rare_hdr),
        "body_common": common,
    }
    return msgs, expected, kinds


def push_message(k):
    body = "".join("%s\r\n" % " ".join(
        random.Random(k * 31 + j).choices(B.WORDS, k=10)) for j in range(20))
    return ("From: Pusher <pusher@example.org>\r\nTo: <%s>\r\n"
            "Subject: push %d\r\nDate: Tue, 3 Jan 2023 10:00:%02d +0000\r\n"
            "Message-ID: <push.%d.%d@example.org>\r\nMIME-Version: 1.0\r\n"
            "Content-Type: text/plain; charset=us-ascii\r\n\r\n%s" % (
                user(), k, k % 60, k, os.getpid(), body)).encode()


# ---------------------------------------------------------------- IMAP steps

def login(port, source="127.0.0.1"):
    m = Imap(port, source)
    m.login(user(), PASSWORD)
    return m


def purge(port):
    m = login(port)
    if m.select("INBOX"):
        m.cmd("STORE 1:* +FLAGS.SILENT (\\Deleted)")
        m.cmd("EXPUNGE")
    check(m.select("INBOX") == 0, "INBOX of %s empty" % user())
    m.logout()


def fill(port, msgs):
    """APPEND msgs to the INBOX; returns seconds."""
    purge(port)
    m = login(port)
    dt, _ = append_all(m, msgs)
    m.logout()
    return dt


def mailbox_map(port, msgs):
    """Checks the INBOX holds msgs in order; returns {uid: index}."""
    m = login(port)
    m.select("INBOX")
    _, data = m.raw("FETCH 1:* (UID RFC822.SIZE "
                    "BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)])")
    m.logout()
    uids = {}
    n = 0
    for first, lits in responses(data):
        w = first.split()
        if len(w) < 3 or w[2] != b"FETCH":
            continue
        seq = int(w[1])
        k = first.index(b"UID ") + 4
        uid = int(first[k:].split(b" ")[0].rstrip(b")"))
        k = first.index(b"RFC822.SIZE ") + 12
        size = int(first[k:].split(b" ")[0].rstrip(b")"))
        msg = msgs[seq - 1]
        check(size == len(msg), "RFC822.SIZE of %d" % seq)
        mid = msg[msg.index(b"Message-ID: <"):].split(b"\r\n")[0]
        check(len(lits) == 1 and mid in lits[0], "Message-ID of %d" % seq)
        uids[uid] = seq - 1
        n += 1
    check(n == len(msgs), "%d FETCH responses, not %d" % (n, len(msgs)))
    return uids


def search_ids(data):
    ids = []
    for line in data.split(b"\r\n"):
        if line.upper().startswith(b"* SEARCH"):
            ids += [int(x) for x in line.split()[2:]]
    return ids


def search_run(port, uidmap, expected):
    """One connection, the five queries; {name: (ms, ok, count)}."""
    m = login(port)
    m.select("INBOX")
    out = {}
    for name, q in QUERIES:
        dt, data = m.raw(q)
        ids = search_ids(data)
        if q.startswith("UID "):
            got = [uidmap.get(u, -1) for u in ids]
        else:
            got = [s - 1 for s in ids]
        ok = len(got) == len(set(got)) and set(got) == expected[name]
        out[name] = (B.ms(dt), ok, len(ids),
                     sorted(set(got) ^ expected[name])[:10])
    m.logout()
    return out


# ---------------------------------------------------------------- indexer

def pending_bodies(db):
    c = sqlite3.connect("file:%s?mode=ro" % db, uri=True, timeout=10)
    try:
        return c.execute("SELECT count(*) FROM bodies WHERE text_partial = 2"
                         ).fetchone()[0]
    finally:
        c.close()


def wait_indexed(db, since=None, limit_s=900):
    """(pending when called, seconds from since (default: now) until
    none is pending)."""
    t0 = B.now()
    since = t0 if since is None else since
    first = pending_bodies(db)
    n = first
    while n:
        if B.now() - t0 > limit_s:
            raise RuntimeError("indexer: %d bodies still pending after %d s"
                               % (n, limit_s))
        time.sleep(0.05)
        n = pending_bodies(db)
    return first, B.now() - since


def db_sizes(data_dir):
    db = os.path.join(data_dir, "letterbox.db")
    out = {"db_bytes": os.path.getsize(db),
           "wal_bytes": (os.path.getsize(db + "-wal")
                         if os.path.exists(db + "-wal") else 0)}
    try:
        c = sqlite3.connect("file:%s?mode=ro" % db, uri=True, timeout=10)
        out["fts_bytes"] = c.execute(
            "SELECT sum(pgsize) FROM dbstat WHERE name LIKE 'body_text%'"
        ).fetchone()[0]
        c.close()
    except sqlite3.Error:
        pass
    return out


def tree_bytes(path):
    total = 0
    for d, _, files in os.walk(path):
        for f in files:
            try:
                total += os.lstat(os.path.join(d, f)).st_size
            except OSError:
                pass
    return total


# ---------------------------------------------------------------- delivery

class Deliverer:
    """One SMTP (letterboxd) or LMTP (Dovecot) session kept open."""

    def __init__(self, port, lmtp):
        self.c = B.Conn("127.0.0.1", port, timeout=60)
        check(self.reply()[0] == 220, "greeting")
        code, _ = self.command(("LHLO" if lmtp else "EHLO") +
                               " client.bench.test")
        check(code == 250, "hello")

    def reply(self):
        while True:
            line = self.c.readline()
            if len(line) < 4 or line[3:4] != b"-":
                return int(line[:3]), line

    def command(self, text):
        self.c.send(text.encode() + b"\r\n")
        return self.reply()

    def start(self):
        """Everything up to DATA's 354; then send(payload())."""
        for cmd, want in (("MAIL FROM:<pusher@example.org>", 250),
                          ("RCPT TO:<%s>" % user(), 250), ("DATA", 354)):
            code, line = self.command(cmd)
            check(code == want, "%s -> %r" % (cmd, line))

    @staticmethod
    def payload(msg):
        return msg + b".\r\n"

    @staticmethod
    def done(line):
        """None: not the end of the reply yet; else whether it is OK."""
        if line[3:4] == b"-":
            return None
        return line.startswith(b"250")

    def quit(self):
        try:
            self.command("QUIT")
        except (OSError, ValueError):
            pass
        self.c.close()


class Appender:
    """APPEND from another logged-in IMAP connection."""

    def __init__(self, port):
        self.m = login(port)
        self.c = self.m.c
        self.plus = "LITERAL+" in self.m.capabilities()

    def start(self):
        self.tag = self.m._tag()

    def payload(self, msg):
        if self.plus:
            return b"%s APPEND INBOX {%d+}\r\n%s\r\n" % (
                self.tag.encode(), len(msg), msg)
        self.c.send(b"%s APPEND INBOX {%d}\r\n" % (self.tag.encode(),
                                                     len(msg)))
        check(self.c.readline().startswith(b"+"), "APPEND continuation")
        return msg + b"\r\n"

    def done(self, line):
        if not line.startswith(self.tag.encode() + b" "):
            return None
        return line.startswith(self.tag.encode() + b" OK")

    def quit(self):
        self.m.logout()


def open_idlers(port, count):
    conns, errors, lock = [None] * count, [], threading.Lock()
    nxt = [0]

    def worker():
        while True:
            with lock:
                i = nxt[0]
                nxt[0] += 1
            if i >= count:
                return
            try:
                m = Imap(port, "127.0.0.%d" % (2 + i // PER_IP))
                m.login(user(), PASSWORD)
                m.exists = m.select("INBOX")
                m.idle_tag = m._tag()
                m.c.send(("%s IDLE\r\n" % m.idle_tag).encode())
                line = m.c.readline()
                if not line.startswith(b"+"):
                    raise B.ImapError("IDLE refused: %r" % line)
                conns[i] = m
            except Exception as e:      # reported, not hidden
                errors.append(repr(e))

    ths = [threading.Thread(target=worker) for _ in range(8)]
    for t in ths:
        t.start()
    for t in ths:
        t.join()
    live = [m for m in conns if m is not None]
    if errors or len(live) != count:
        close_idlers(live)
        raise RuntimeError("%d of %d idle connections: %s" % (
            len(live), count, errors[:3]))
    return live


def close_idlers(conns):
    for m in conns:
        try:
            m.c.send(b"DONE\r\n%s LOGOUT\r\n" % m._tag().encode())
        except OSError:
            pass
    time.sleep(0.5)
    for m in conns:
        m.c.close()


def push_once(conns, bufs, dlv, msg, want, timeout=60.0):
    """Delivers msg by dlv and waits until every connection reads
    "* want EXISTS". Returns (ack_s, [latency_s], wrong)."""
    sel = selectors.DefaultSelector()
    for k, m in enumerate(conns):
        sel.register(m.c.sock, selectors.EVENT_READ, k)
    dsock = dlv.c.sock
    sel.register(dsock, selectors.EVENT_READ, -1)
    seen = [None] * len(conns)
    wrong = []
    left = len(conns)
    ack = ack_ok = None
    dlv.start()
    data = dlv.payload(msg)
    dbuf = bytearray(dlv.c.buf[dlv.c.pos:])
    dlv.c.buf, dlv.c.pos = bytearray(), 0
    t0 = B.now()
    dsock.sendall(data)
    try:
        while (left or ack is None) and B.now() - t0 < timeout:
            for key, _ in sel.select(timeout=1.0):
                t = B.now()
                k = key.data
                chunk = key.fileobj.recv(65536)
                if not chunk:
                    raise ConnectionError("connection %d closed" % k)
                if k < 0:
                    dbuf += chunk
                    while ack is None and b"\r\n" in dbuf:
                        line, _, rest = bytes(dbuf).partition(b"\r\n")
                        dbuf = bytearray(rest)
                        d = dlv.done(line)
                        if d is not None:
                            ack, ack_ok = t - t0, d
                    continue
                bufs[k] += chunk
                while b"\r\n" in bufs[k]:
                    line, _, rest = bytes(bufs[k]).partition(b"\r\n")
                    bufs[k] = bytearray(rest)
                    w = line.split()
                    if len(w) == 3 and w[2] == b"EXISTS" and \
                            seen[k] is None:
                        if int(w[1]) != want:
                            wrong.append((k, line))
                        seen[k] = t - t0
                        left -= 1
    finally:
        sel.close()
    dlv.c.buf, dlv.c.pos = dbuf, 0
    check(ack is not None and ack_ok, "delivery acknowledged")
    if left:
        raise RuntimeError("%d of %d clients saw no EXISTS in %.0f s" % (
            left, len(conns), timeout))
    return ack, seen, wrong


def idle_phase(port, root, count, reps, lmtp_port, lmtp):
    """Memory of count idling clients, then push latency."""
    time.sleep(1)
    tree0 = B.proc_tree([root])
    before = {p: B.mem_of([p]) for p in tree0}
    t0 = B.now()
    conns = open_idlers(port, count)
    open_s = B.now() - t0
    out = {"idle_clients": count, "idle_open_s": round(open_s, 1)}
    try:
        time.sleep(3)
        tree = B.proc_tree([root])
        during = {p: B.mem_of([p]) for p in tree}
        held = holders(tree, tcp_inodes(port, "01"))

        def grow(pids, key):
            return sum(during[p][key] - before.get(p, {key: 0})[key]
                       for p in pids)

        out.update(
            tree_procs=len(tree), conn_procs=len(held),
            tree_rss_before_kib=sum(v["rss_kib"] for v in before.values()),
            tree_rss_kib=sum(v["rss_kib"] for v in during.values()),
            tree_pss_kib=sum(v["pss_kib"] for v in during.values()),
            tree_rss_growth_kib=grow(tree, "rss_kib"),
            tree_pss_growth_kib=grow(tree, "pss_kib"),
            conn_rss_growth_kib=grow(held, "rss_kib"),
            conn_pss_growth_kib=grow(held, "pss_kib"))
        exists = conns[0].exists
        check(all(m.exists == exists for m in conns), "same EXISTS")
        bufs = [bytearray(m.c.buf[m.c.pos:]) for m in conns]
        k = 0
        for mode in ("deliver", "append"):
            dlv = (Deliverer(lmtp_port, lmtp) if mode == "deliver"
                   else Appender(port))
            runs = []
            try:
                for rep in range(reps + 1):
                    time.sleep(0.5)
                    exists += 1
                    k += 1
                    ack, seen, wrong = push_once(conns, bufs, dlv,
                                                 push_message(k), exists)
                    check(not wrong, "EXISTS %r" % wrong[:2])
                    r = {"ack_ms": B.ms(ack),
                         "p50_ms": B.ms(B.pct(seen, 50)),
                         "p99_ms": B.ms(B.pct(seen, 99)),
                         "max_ms": B.ms(max(seen)),
                         "min_ms": B.ms(min(seen))}
                    print("  %s push %d: %s" % (mode, rep, r),
                          file=sys.stderr)
                    if rep:
                        runs.append(r)
            finally:
                dlv.quit()
            out[mode] = {key: statistics.median(r[key] for r in runs)
                         for key in runs[0]}
            out[mode]["runs"] = runs
        time.sleep(1)
        after = B.mem_of(B.proc_tree([root]))
        out["tree_rss_after_push_kib"] = after["rss_kib"]
        out["tree_pss_after_push_kib"] = after["pss_kib"]
    finally:
        close_idlers(conns)
    return out


# ---------------------------------------------------------------- letterboxd

class Letterboxd:
    """letterboxd in a temporary data directory: [imap] and [smtp]."""

    def __init__(self, tmp, bindir, prefill=None):
        self.tmp = tmp
        self.port, self.smtp_port = free_port(), free_port()
        self.data = os.path.join(tmp, "data")
        conf = os.path.join(tmp, "letterbox.conf")
        with open(conf, "w") as f:
            f.write("data_dir = %s\nhostname = bench.letterbox\n"
                    "log_level = warn\n\n[smtp]\nlisten = 127.0.0.1:%d\n\n"
                    "[imap]\nlisten = 127.0.0.1:%d\n\n"
                    "[auth]\n# the peers: ARGON2ID m=65536 KiB, t=3, p=1\n"
                    "hash_opslimit = 3\nhash_memlimit = 64M\n"
                    % (self.data, self.smtp_port, self.port))
        copy = os.path.join(tmp, "bin")     # a rebuild changes nothing
        os.mkdir(copy)
        for prog in ("letterbox", "letterboxd"):
            shutil.copy2(os.path.join(bindir, prog), copy)
        self.version = subprocess.run(
            [os.path.join(copy, "letterboxd"), "--version"],
            stdout=subprocess.PIPE).stdout.decode().strip()
        lb = [os.path.join(copy, "letterbox"), "--config", conf]
        subprocess.run(lb + ["domain", "add", B.DOMAIN], check=True,
                       stdout=subprocess.DEVNULL)
        for n in range(1, 51):
            subprocess.run(lb + ["user", "add", user(n), "--password-stdin"],
                           input=(PASSWORD + "\n").encode(), check=True,
                           stdout=subprocess.DEVNULL)
        self.prefill_s = None
        if prefill:
            # letterbox deliver, one process per message, in order, before
            # the daemon (and so its indexer) runs
            t0 = B.now()
            for msg in prefill:
                subprocess.run(lb + ["deliver", "--to", user()], input=msg,
                               check=True, stdout=subprocess.DEVNULL)
            self.prefill_s = B.now() - t0
        self.log = os.path.join(tmp, "log")
        self.started = B.now()
        self.proc = subprocess.Popen(
            [os.path.join(copy, "letterboxd"), "--foreground", "--config",
             conf], stdout=subprocess.DEVNULL, stderr=open(self.log, "wb"),
            start_new_session=True)
        deadline = time.time() + 30
        while True:
            try:
                Imap(self.port, timeout=5).logout()
                if accepts(self.smtp_port):
                    break
            except (OSError, B.ImapError):
                pass
            if time.time() > deadline or self.proc.poll() is not None:
                self.stop()
                raise RuntimeError("letterboxd does not start: %s" %
                                   open(self.log).read())
            time.sleep(0.1)
        time.sleep(1)       # the workers' decoy hash at start

    def stop(self):
        stop_daemon(self.proc)


# ---------------------------------------------------------------- main

def fmt(v):
    if v is None:
        return "-"
    if v >= 100:
        return "{:,.0f}".format(v)
    if v >= 10:
        return "%.1f" % v
    return "%.2f" % v


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--messages", type=int, default=10000)
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--idle-clients", type=int, default=200)
    ap.add_argument("--only", choices=("letterbox", "dovecot"))
    ap.add_argument("--lb-fill", choices=("deliver", "append"),
                    default="deliver",
                    help="deliver (default): letterbox deliver before the "
                    "daemon starts, so the indexer's whole run is timed; "
                    "append: IMAP APPEND like Dovecot, indexer running")
    ap.add_argument("--bindir", default=ROOT,
                    help="where letterboxd and letterbox are (the tree)")
    args = ap.parse_args()
    if not (100 <= args.messages <= 20000 and 1 <= args.reps <= 10 and
            0 <= args.idle_clients <= 400):
        ap.error("messages 100..20000, reps 1..10, idle-clients 0..400")
    names = [s for s in ("letterbox", "dovecot") if args.only in (None, s)]
    if "dovecot" in names and not accepts(DOVECOT_PORT):
        sys.exit("Dovecot IMAP (127.0.0.1:%d) is not running: start the "
                 "peers (/work/shared/peers/start-peers.sh > "
                 "/tmp/start-peers.log 2>&1) or use --only letterbox"
                 % DOVECOT_PORT)

    t0 = time.time()
    msgs, expected, kinds = make_messages(args.messages)
    total = sum(len(m) for m in msgs)
    print("%d messages, %.1f MiB, generated in %.1f s; expected hits: %s" % (
        len(msgs), total / 1048576, time.time() - t0,
        {k: len(v) for k, v in expected.items()}), file=sys.stderr)
    result = {"bench": "letterbox_imap_search", "messages": len(msgs),
              "octets": total, "reps": args.reps,
              "kinds": {k: kinds.count(k) for k in KINDS},
              "expected_hits": {k: len(v) for k, v in expected.items()},
              "queries": dict(QUERIES)}
    res = {s: {} for s in names}
    tmp, lbd = None, None
    ok_all = True
    try:
        ports, roots, lmtp = {}, {}, {}
        if "letterbox" in names:
            tmp = tempfile.mkdtemp(prefix="letterbox-search-bench-")
            lbd = Letterboxd(tmp, args.bindir, msgs
                             if args.lb_fill == "deliver" else None)
            result["letterboxd_version"] = lbd.version
            ports["letterbox"], roots["letterbox"] = lbd.port, lbd.proc.pid
            lmtp["letterbox"] = (lbd.smtp_port, False)
        if "dovecot" in names:
            ports["dovecot"] = DOVECOT_PORT
            roots["dovecot"] = B.read_pidfile(DOVECOT_PIDFILE)
            lmtp["dovecot"] = (DOVECOT_LMTP_PORT, True)
        busy0, _, all0 = B.system_cpu()
        ours0 = sum(os.times()[:4]) + B.cpu_of_tree(list(roots.values()))

        uidmaps = {}
        result["letterbox_fill"] = args.lb_fill
        for s in names:
            if s == "letterbox" and lbd.prefill_s is not None:
                res[s]["deliver_s"] = round(lbd.prefill_s, 1)
                res[s]["deliver_msg_s"] = round(len(msgs) / lbd.prefill_s, 1)
                pend, idx = wait_indexed(os.path.join(
                    lbd.data, "letterbox.db"), lbd.started)
                check(pending_bodies(os.path.join(lbd.data, "letterbox.db"))
                      == 0, "all indexed")
                res[s].update(index_from_daemon_start_s=round(idx, 2),
                              index_bodies_per_s=round(len(msgs) / idx, 1))
                res[s].update(db_sizes(lbd.data))
                print("letterbox: letterbox deliver of %d in %.1f s; the "
                      "indexer took %.1f s from the daemon's start" % (
                          len(msgs), lbd.prefill_s, idx), file=sys.stderr)
                uidmaps[s] = mailbox_map(ports[s], msgs)
                continue
            dt = fill(ports[s], msgs)
            res[s]["append_s"] = round(dt, 1)
            res[s]["append_msg_s"] = round(len(msgs) / dt, 1)
            print("%s: APPEND of %d in %.1f s" % (s, len(msgs), dt),
                  file=sys.stderr)
            if s == "letterbox":
                pend, idx = wait_indexed(os.path.join(lbd.data,
                                                      "letterbox.db"))
                res[s].update(index_pending_after_append=pend,
                              index_wait_s=round(idx, 2),
                              index_total_s=round(dt + idx, 1))
                res[s].update(db_sizes(lbd.data))
                print("letterbox: %d bodies unindexed after the last "
                      "APPEND, all indexed %.1f s later" % (pend, idx),
                      file=sys.stderr)
            else:
                res[s]["maildir_bytes"] = tree_bytes(
                    "/tmp/peers/mail/bench%d/Maildir" % USER_N)
            uidmaps[s] = mailbox_map(ports[s], msgs)

        runs = {s: [] for s in names}
        for rep in range(args.reps + 1):
            for s in (names if rep % 2 == 0 else names[::-1]):
                r = search_run(ports[s], uidmaps[s], expected)
                print("search %s %d%s: %s" % (
                    s, rep, " (warm-up)" if rep == 0 else "",
                    {k: v[:3] for k, v in r.items()}), file=sys.stderr)
                for name, (_, ok, n, diff) in r.items():
                    if not ok:
                        ok_all = False
                        res[s].setdefault("wrong", {})[name] = {
                            "count": n, "differs_at": diff}
                if rep:
                    runs[s].append(r)
        for s in names:
            res[s]["search"] = {
                name: {"median_ms": statistics.median(
                           r[name][0] for r in runs[s]),
                       "min_ms": min(r[name][0] for r in runs[s]),
                       "max_ms": max(r[name][0] for r in runs[s]),
                       "count": runs[s][0][name][2],
                       "correct": all(r[name][1] for r in runs[s])}
                for name, _ in QUERIES}

        if args.idle_clients:
            for s in names:
                print("%s: %d clients idling" % (s, args.idle_clients),
                      file=sys.stderr)
                res[s]["idle"] = idle_phase(
                    ports[s], roots[s], args.idle_clients, args.reps,
                    lmtp[s][0], lmtp[s][1])
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
        if "dovecot" in names and accepts(DOVECOT_PORT):
            try:
                purge(DOVECOT_PORT)
            except Exception as e:      # noqa: BLE001
                print("could not empty Dovecot's INBOX of %s: %r" % (
                    user(), e), file=sys.stderr)

    # ---------------------------------------------------------- table
    result.update(res)
    both = len(names) == 2
    w = 44
    print("%d messages (%.1f MiB) in one INBOX; medians of %d runs after "
          "a warm-up" % (len(msgs), total / 1048576, args.reps))
    print("%-*s" % (w, "") + "".join("%22s" % s for s in names) +
          ("%12s" % "dovecot/lb" if both else ""))
    print("%-*s" % (w, "fill, s (msg/s)") + "".join(
        "%22s" % ("%s %.1f (%.0f)" % (
            ("APPEND", res[s]["append_s"], res[s]["append_msg_s"])
            if "append_s" in res[s] else
            ("deliver", res[s]["deliver_s"], res[s]["deliver_msg_s"])))
        for s in names))
    if "letterbox" in names:
        lb = res["letterbox"]
        if "index_from_daemon_start_s" in lb:
            print("letterbox indexer: all %d bodies (filled while the daemon "
                  "was stopped) indexed %.1f s after the daemon's start "
                  "(%.0f bodies/s)" % (len(msgs),
                                       lb["index_from_daemon_start_s"],
                                       lb["index_bodies_per_s"]))
        else:
            print("letterbox indexer: %d of %d bodies unindexed at the last "
                  "APPEND's OK; all indexed %.1f s later (%.1f s from the "
                  "first APPEND)" % (lb["index_pending_after_append"],
                                     len(msgs), lb["index_wait_s"],
                                     lb["index_total_s"]))
    ratios = {}
    for name, q in QUERIES:
        cells = []
        for s in names:
            v = res[s]["search"][name]
            cells.append(("%s ms" % fmt(v["median_ms"])) +
                         (" [%d]" % v["count"] if v["correct"]
                          else " WRONG[%d]" % v["count"]))
        line = "%-*s" % (w, q[:w]) + "".join("%22s" % c for c in cells)
        if both:
            a = res["letterbox"]["search"][name]
            b = res["dovecot"]["search"][name]
            if a["correct"] and b["correct"]:
                ratios[name] = round(b["median_ms"] / a["median_ms"], 2)
                line += "%12s" % ("%.1fx" % ratios[name])
            else:
                line += "%12s" % "n/a"
        print(line)
    print("  [n] = matches, checked against the %s planted: %s" % (
        "sets", ", ".join("%s %d" % (k, len(v)) for k, v in
                          expected.items())))
    result["ratio_dovecot_over_letterbox"] = ratios
    if both and "body_rare" in ratios:
        result["target_body_10x_met"] = ratios["body_rare"] >= 10
    if args.idle_clients:
        print("%d clients in IDLE on that INBOX (same user), %d per source "
              "IP:" % (args.idle_clients, PER_IP))
        print("  deliver = letterboxd SMTP / Dovecot LMTP; append = IMAP "
              "APPEND from another connection; ms from sending the message")
        for mode in ("deliver", "append"):
            for key, what in (("ack_ms", "server's OK to the sender"),
                              ("p50_ms", "* EXISTS seen, p50"),
                              ("p99_ms", "* EXISTS seen, p99"),
                              ("max_ms", "* EXISTS seen, max")):
                print("%-*s" % (w, "  %s: %s" % (mode, what)) +
                      "".join("%22s" % fmt(res[s]["idle"][mode][key])
                              for s in names))
        for key, label in (("tree_rss_before_kib", "tree RSS before, MiB"),
                           ("tree_rss_kib", "tree RSS idling, MiB"),
                           ("tree_pss_kib", "tree PSS idling, MiB"),
                           ("tree_rss_growth_kib", "tree RSS growth, MiB"),
                           ("tree_pss_growth_kib", "tree PSS growth, MiB"),
                           ("conn_pss_growth_kib",
                            "conn. holders' PSS growth, MiB")):
            print("%-*s" % (w, "  " + label) + "".join(
                "%22.1f" % (res[s]["idle"][key] / 1024) for s in names))
        print("%-*s" % (w, "  tree PSS after the pushes, MiB") + "".join(
            "%22.1f" % (res[s]["idle"]["tree_pss_after_push_kib"] / 1024)
            for s in names))
        print("%-*s" % (w, "  tree PSS growth per client, KiB") + "".join(
            "%22.0f" % (res[s]["idle"]["tree_pss_growth_kib"] /
                        args.idle_clients) for s in names))
        print("%-*s" % (w, "  processes (tree / holding conns)") + "".join(
            "%22s" % ("%d / %d" % (res[s]["idle"]["tree_procs"],
                                   res[s]["idle"]["conn_procs"]))
            for s in names))
        print("%-*s" % (w, "  logins + SELECT + IDLE of all, s") + "".join(
            "%22.1f" % res[s]["idle"]["idle_open_s"] for s in names))
    if "letterbox" in names:
        lb = res["letterbox"]
        print("storage: letterbox.db %.1f MiB + WAL %.1f MiB (search index "
              "%s)" % (lb["db_bytes"] / 1048576, lb["wal_bytes"] / 1048576,
            "%.1f MiB" % (lb["fts_bytes"] / 1048576)
            if lb.get("fts_bytes") else "?") +
            ("; Dovecot Maildir %.1f MiB" % (
                res["dovecot"]["maildir_bytes"] / 1048576)
             if "dovecot" in names else ""))
    print("other processes used %.1f %% of the CPU during the run" %
          result["other_cpu_pct"])
    result["all_correct"] = ok_all
    print("RESULT " + json.dumps(result))
    if not ok_all:
        sys.exit(1)


if __name__ == "__main__":
    main()
