"""IMAP4rev1 (RFC 3501) on the "imap" port (STARTTLS) and the "imaps"
port (implicit TLS, RFC 8314), driven by Python's imaplib and by a raw
client (class Imap) where a library would hide what is under test: the
bytes of a FETCH answer, continuation requests, response codes, what
arrives untagged and when.

Every test asserts the exact response and then the state it leaves in
the store (sqlite3 on the database, `letterbox message list|show`).

What the tests rely on besides the RFCs (the IMAP core issue):
- the greeting is "* OK [CAPABILITY ...] ..."; before login CAPABILITY has
  IMAP4rev1, STARTTLS (plain connection only), AUTH=PLAIN, SASL-IR,
  LITERAL+; after login no AUTH= and no STARTTLS, and UNSELECT;
- loopback may log in in cleartext (no LOGINDISABLED);
- a failed login answers "NO [AUTHENTICATIONFAILED]" after about 2 s;
- a new user has INBOX, Sent, Drafts, Trash, Junk, Archive; the hierarchy
  separator is "/"; names on the wire are modified UTF-7 (RFC 3501 5.1.3);
- \\Recent is not kept: RECENT is always 0 (as IMAP4rev2, RFC 9051, does);
- response codes of RFC 5530 (ALREADYEXISTS, NONEXISTENT,
  AUTHENTICATIONFAILED) and RFC 3501 (TRYCREATE, READ-WRITE, ...);
- limits: a command line after login is at most 64 KiB; a flood of bad
  commands ends the session with "* BYE".

One daemon serves the whole module (starting one per test would cost
more than the tests); every test makes its own user, so no test sees
another's mail. Failed logins are few on purpose: each costs the
throttle's delay.
"""
import base64
import datetime
import imaplib
import itertools
import os
import re
import smtplib
import socket
import sqlite3
import time

import pytest

import conftest
from test_smtp import show
from test_smtp_tls import (assert_refuses_old_tls, client_ctx,  # noqa: E402
                           plaintext_answer)

TIMEOUT = 10
HOST = "127.0.0.1"
ROOT = conftest.ROOT
PASSWORD = "secret"
DOMAIN = "example.org"
DEFAULT_MAILBOXES = {"INBOX": None, "Sent": "\\Sent", "Drafts": "\\Drafts",
                     "Trash": "\\Trash", "Junk": "\\Junk",
                     "Archive": "\\Archive"}
SYSTEM_FLAGS = {"\\Answered", "\\Flagged", "\\Deleted", "\\Seen", "\\Draft"}


def limits():
    """The #defines of common/limits.h as integers (where they are)."""
    out = {}
    with open(os.path.join(ROOT, "common", "limits.h")) as f:
        for m in re.finditer(r"^#define\s+(\w+)\s+(.+?)\s*(?:/\*.*)?$",
                             f.read(), re.M):
            try:
                out[m.group(1)] = int(eval(m.group(2).rstrip("L"),
                                           {"__builtins__": {}}))
            except Exception:
                pass
    return out


LIMITS = limits()
LIMIT_IMAP_LINE = LIMITS.get("LIMIT_IMAP_LINE", 64 * 1024)


# ---------------------------------------------------------------- daemon

@pytest.fixture(scope="module")
def server(tmp_path_factory):
    d = conftest.Daemon(tmp_path_factory.mktemp("imapd"))
    yield d
    d.stop()


_user_numbers = itertools.count(1)


def new_user(d, password=PASSWORD):
    user = "u%d@%s" % (next(_user_numbers), DOMAIN)
    d.lb.add_user(user, password=password)
    return user


@pytest.fixture
def user(server):
    return new_user(server)


@pytest.fixture
def conns():
    """Every client a test opens through it is closed at its end, so the
    module's daemon does not collect sessions (per-IP limit)."""
    opened = []

    class Opener:
        def plain(self, d, **kw):
            c = Imap(d.ports["imap"], **kw)
            opened.append(c)
            return c

        def tls(self, d, **kw):
            c = imap_tls(d, **kw)
            opened.append(c)
            return c

        def login(self, d, user, password=PASSWORD):
            c = self.plain(d)
            ok(c.login(user, password))
            return c

        def imaplib(self, d, tls=False):
            if tls:
                m = imaplib.IMAP4_SSL(HOST, d.ports["imaps"],
                                      ssl_context=client_ctx(),
                                      timeout=TIMEOUT)
            else:
                m = imaplib.IMAP4(HOST, d.ports["imap"], timeout=TIMEOUT)
            opened.append(m)
            return m

    yield Opener()
    for c in opened:
        try:
            if isinstance(c, imaplib.IMAP4):
                c.shutdown()
            else:
                c.close()
        except Exception:
            pass


# ---------------------------------------------------------------- client

LITERAL_END = re.compile(rb"\{(\d+)\}\r\n$")


class Lit(bytes):
    """A command argument sent as a literal (RFC 3501 4.3)."""


class Resp:
    """What one command got: untagged responses and continuation requests
    (raw, literals included, without the final CRLF) and the tagged one."""

    def __init__(self, tag):
        self.tag = tag
        self.untagged = []
        self.continuations = []
        self.tagged = None

    @property
    def status(self):
        return self.tagged.split(b" ", 2)[1].upper()

    @property
    def text(self):
        parts = self.tagged.split(b" ", 2)
        return parts[2] if len(parts) > 2 else b""

    @property
    def code(self):
        """The response code's name ("TRYCREATE") or None."""
        m = re.match(rb"\[([^\]\s]+)", self.text)
        return m.group(1).upper().decode() if m else None

    def starting(self, prefix):
        """The untagged responses that start with prefix (case-blind)."""
        if isinstance(prefix, str):
            prefix = prefix.encode()
        return [u for u in self.untagged
                if u.upper().startswith(prefix.upper())]

    def __repr__(self):
        return "Resp(%r, untagged=%r, cont=%r)" % (
            self.tagged, [u[:200] for u in self.untagged],
            self.continuations)


class Imap(conftest.LineClient):
    """A raw IMAP client: sends commands (with sync or LITERAL+ literals)
    and reads responses with their literals, byte for byte."""

    def __init__(self, port=None, greet=True, timeout=TIMEOUT, sock=None):
        super().__init__(port, timeout=timeout, sock=sock)
        self.n = 0
        self.greeting = self.response() if greet else None

    def line(self):
        line = super().line()
        # RFC 3501 2.2: lines end with CRLF.
        assert line.endswith(b"\r\n"), "line without CRLF: %r" % line[:300]
        return line

    def take(self, n):
        while len(self.buf) < n:
            self._fill()
        data, self.buf = self.buf[:n], self.buf[n:]
        return data

    def response(self):
        """One response: a line and the literals it announces, raw,
        without the last CRLF."""
        out = self.line()
        while True:
            m = LITERAL_END.search(out)
            if not m:
                return out[:-2]
            out += self.take(int(m.group(1)))
            out += self.line()

    def next_tag(self):
        self.n += 1
        return b"a%d" % self.n

    def cmd(self, *pieces, plus=False, tag=None):
        """Sends one command made of pieces (str/bytes as they are, Lit
        as literals: "{n}" and wait for "+", or "{n+}" with plus) and
        reads up to its tagged response. A tagged response instead of a
        continuation request ends the command there."""
        tag = tag or self.next_tag()
        r = Resp(tag)
        out = tag + b" "
        for p in pieces:
            if isinstance(p, Lit):
                out += b"{%d%s}\r\n" % (len(p), b"+" if plus else b"")
                if not plus:
                    self.send(out)
                    out = b""
                    while True:
                        resp = self.response()
                        if resp.startswith(b"+"):
                            r.continuations.append(resp)
                            break
                        if resp.startswith(tag + b" "):
                            r.tagged = resp
                            return r
                        r.untagged.append(resp)
                out += bytes(p)
            else:
                out += p.encode() if isinstance(p, str) else p
        self.send(out + b"\r\n")
        return self.finish(r)

    def finish(self, r):
        while True:
            resp = self.response()
            if resp.startswith(r.tag + b" "):
                r.tagged = resp
                return r
            if resp.startswith(b"+"):
                r.continuations.append(resp)
            else:
                assert resp.startswith(b"* "), resp[:300]
                r.untagged.append(resp)

    def login(self, user, password=PASSWORD):
        return self.cmd("LOGIN ", q(user), " ", q(password))

    def select(self, mailbox="INBOX", examine=False):
        return self.cmd("EXAMINE " if examine else "SELECT ",
                        q(mailbox))

    def starttls(self, ctx=None):
        r = ok(self.cmd("STARTTLS"))
        assert self.buf == b"", self.buf
        self.sock = (ctx or client_ctx()).wrap_socket(self.sock)
        return r

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


def imap_tls(d, ctx=None, **kw):
    sock = socket.create_connection((HOST, d.ports["imaps"]),
                                    timeout=TIMEOUT)
    return Imap(sock=(ctx or client_ctx()).wrap_socket(sock), **kw)


def q(s):
    """s as an IMAP quoted string."""
    if isinstance(s, str):
        s = s.encode()
    return b'"' + s.replace(b"\\", b"\\\\").replace(b'"', b'\\"') + b'"'


def ok(r, code=None):
    assert r.tagged is not None and r.status == b"OK", r
    if code is not None:
        assert r.code == code, r
    return r


def no(r, code=None):
    assert r.tagged is not None and r.status == b"NO", r
    if code is not None:
        assert r.code == code, r
    return r


def bad(r):
    assert r.tagged is not None and r.status == b"BAD", r
    return r


def refused(r):
    """NO or BAD (where the RFC leaves the choice to the server)."""
    assert r.tagged is not None and r.status in (b"NO", b"BAD"), r
    return r


def plain_ir(user, password, authzid=""):
    return base64.b64encode(("%s\0%s\0%s" % (authzid, user, password))
                            .encode()).decode()


def mutf7(name):
    """name in modified UTF-7 (RFC 3501 5.1.3), as bytes."""
    out, run = [], []

    def flush():
        if run:
            b64 = base64.b64encode("".join(run).encode("utf-16-be"))
            out.append(b"&" + b64.rstrip(b"=").replace(b"/", b",") + b"-")
            run.clear()

    for ch in name:
        if 0x20 <= ord(ch) <= 0x7e:
            flush()
            out.append(b"&-" if ch == "&" else ch.encode())
        else:
            run.append(ch)
    flush()
    return b"".join(out)


# ------------------------------------------------------ response parsing

class Atom(bytes):
    """An atom (or number) in a parsed response; strings are plain
    bytes, NIL is None, lists are Python lists."""


def skip_value(buf, i):
    """One past the value (atom, number, NIL, quoted string, literal,
    parenthesized list) that starts at buf[i]."""
    c = buf[i:i + 1]
    if c == b"(":
        i += 1
        while buf[i:i + 1] != b")":
            if i >= len(buf):
                raise ValueError("unterminated list")
            if buf[i:i + 1] == b" ":
                i += 1
                continue
            i = skip_value(buf, i)
        return i + 1
    if c == b'"':
        i += 1
        while buf[i:i + 1] != b'"':
            if i >= len(buf):
                raise ValueError("unterminated string")
            if buf[i:i + 1] == b"\\":
                i += 1
            i += 1
        return i + 1
    if c == b"{":
        j = buf.index(b"}\r\n", i)
        return j + 3 + int(buf[i + 1:j].rstrip(b"+"))
    j = i
    while j < len(buf) and buf[j:j + 1] not in (b" ", b")", b"\r",
                                                 b"\n"):
        if buf[j:j + 1] == b"[":        # BODY[...] names carry spaces
            j = buf.index(b"]", j)
        j += 1
    if j == i:
        raise ValueError("empty value at %d: %r" % (i, buf[i:i + 40]))
    return j


def parse_value(buf, i=0):
    """(value, index after it)."""
    c = buf[i:i + 1]
    if c == b"(":
        out = []
        i += 1
        while buf[i:i + 1] != b")":
            if buf[i:i + 1] == b" ":
                i += 1
                continue
            v, i = parse_value(buf, i)
            out.append(v)
        return out, i + 1
    j = skip_value(buf, i)
    raw = buf[i:j]
    if c == b'"':
        return re.sub(rb"\\(.)", rb"\1", raw[1:-1]), j
    if c == b"{":
        return raw[raw.index(b"}\r\n") + 3:], j
    if raw.upper() == b"NIL":
        return None, j
    return Atom(raw), j


def parse(buf):
    v, i = parse_value(buf, 0)
    assert i == len(buf), "trailing data after value: %r" % buf[i:]
    return v


def fetch_items(resp):
    """(seq, {ITEM NAME: raw value}) of one "* n FETCH (...)" response,
    or None for another response. Names are upper-cased."""
    m = re.match(rb"\* (\d+) FETCH \(", resp, re.I)
    if not m:
        return None
    i = m.end()
    items = {}
    while resp[i:i + 1] != b")":
        if resp[i:i + 1] == b" ":
            i += 1
            continue
        j = skip_value(resp, i)
        name = resp[i:j].upper().decode()
        k = skip_value(resp, j + 1)
        assert resp[j:j + 1] == b" ", resp
        assert name not in items, "%s twice in %r" % (name, resp[:300])
        items[name] = resp[j + 1:k]
        i = k
    assert i == len(resp) - 1, "trailing data: %r" % resp[i:]
    return int(m.group(1)), items


def fetches(r):
    """{seq: {item: raw}} of every FETCH in r.untagged; several responses
    for one message are merged (a server may send FLAGS apart)."""
    out = {}
    for u in r.untagged:
        f = fetch_items(u)
        if f:
            out.setdefault(f[0], {}).update(f[1])
    return out


def flags_of(raw):
    """A FLAGS value as a set of str."""
    v = parse(raw)
    assert isinstance(v, list), raw
    return {x.decode() for x in v}


def expunges(r):
    return [int(m.group(1)) for u in r.untagged
            for m in [re.match(rb"\* (\d+) EXPUNGE$", u, re.I)] if m]


def exists(r):
    """The last "* n EXISTS" number in r, or None."""
    out = None
    for u in r.untagged:
        m = re.match(rb"\* (\d+) EXISTS$", u, re.I)
        if m:
            out = int(m.group(1))
    return out


def list_entries(r, verb="LIST"):
    """{name (str, as sent): (set of attributes lower-cased, delim)} from
    the LIST (or LSUB) responses of r."""
    out = {}
    for u in r.untagged:
        m = re.match(rb"\* " + verb.encode() + rb" ", u, re.I)
        if not m:
            continue
        rest = u[m.end():]
        attrs, i = parse_value(rest, 0)
        assert rest[i:i + 1] == b" ", u
        delim, i = parse_value(rest, i + 1)
        assert rest[i:i + 1] == b" ", u
        name, i = parse_value(rest, i + 1)
        assert i == len(rest), u
        name = name.decode()
        assert name not in out, "%s listed twice: %r" % (name, r)
        out[name] = ({a.decode().lower() for a in attrs},
                     None if delim is None else delim.decode())
    return out


def capabilities(line):
    """The capability names of "* CAPABILITY ..." or of a response whose
    text starts with "[CAPABILITY ...]" (upper-cased set)."""
    m = re.search(rb"(?:^\* CAPABILITY |\[CAPABILITY )([^\]\r\n]*)", line,
                  re.I)
    assert m, line
    names = m.group(1).decode().split()
    assert len(names) == len(set(names)), line
    return {n.upper() for n in names}


def status_items(r, mailbox):
    """{ITEM: int} of the "* STATUS" response for mailbox."""
    for u in r.starting("* STATUS "):
        rest = u[len(b"* STATUS "):]
        name, i = parse_value(rest, 0)
        if name.decode() != mailbox:
            continue
        values = parse(rest[i + 1:])
        return {values[k].decode().upper(): int(values[k + 1])
                for k in range(0, len(values), 2)}
    raise AssertionError("no STATUS for %s: %r" % (mailbox, r))


def resp_code(r, name):
    """The value of "* OK [NAME value]" among r's untagged responses
    (bytes, or b"" for a code without a value); None when absent."""
    for u in r.untagged:
        m = re.match(rb"\* OK \[" + name.encode() + rb"(?: ([^\]]*))?\]",
                     u, re.I)
        if m:
            return m.group(1) or b""
    return None


INTERNALDATE_RE = re.compile(
    rb'^"([ 0-3]\d-(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)-'
    rb'\d{4} \d\d:\d\d:\d\d [+-]\d{4})"$')


def internaldate(raw):
    """The instant of an INTERNALDATE value, after checking its form
    (RFC 3501 9: date-time)."""
    m = INTERNALDATE_RE.match(raw)
    assert m, raw
    return datetime.datetime.strptime(m.group(1).decode().strip(),
                                      "%d-%b-%Y %H:%M:%S %z")


# ---------------------------------------------------------------- store

def db(d):
    conn = sqlite3.connect(d.lb.db_path, timeout=30, isolation_level=None)
    return conn


def mailbox_rows(d, user):
    """{name (UTF-8): (uidvalidity, uidnext, special_use)} of user."""
    conn = db(d)
    try:
        return {r[0]: r[1:] for r in conn.execute(
            "SELECT b.name, b.uidvalidity, b.uidnext, b.special_use "
            "FROM mailboxes b JOIN users u ON u.id = b.user_id "
            "WHERE u.address = ?", (user,))}
    finally:
        conn.close()


def messages(d, user, mailbox="INBOX"):
    """[(uid, flags, set of keywords)] of a mailbox, in UID order."""
    conn = db(d)
    try:
        return [(r[0], r[1], set(r[2].split())) for r in conn.execute(
            "SELECT m.uid, m.flags, m.keywords FROM messages m "
            "JOIN mailboxes b ON b.id = m.mailbox_id "
            "JOIN users u ON u.id = b.user_id "
            "WHERE u.address = ? AND b.name = ? ORDER BY m.uid",
            (user, mailbox))]
    finally:
        conn.close()


def subscriptions(d, user):
    conn = db(d)
    try:
        return {r[0] for r in conn.execute(
            "SELECT s.name FROM subscriptions s JOIN users u "
            "ON u.id = s.user_id WHERE u.address = ?", (user,))}
    finally:
        conn.close()


F_SEEN, F_ANSWERED, F_FLAGGED, F_DELETED, F_DRAFT = 1, 2, 4, 8, 16


def deliver(d, user, msg):
    """Local delivery; returns the UID."""
    out = d.lb.out("deliver", "--to", user, input=msg)
    m = re.search(r"INBOX UID (\d+)", out)
    assert m, out
    return int(m.group(1))


def message(i, lines=3):
    body = b"".join(b"line %d of message %d\r\n" % (n + 1, i)
                    for n in range(lines))
    return (b"From: Sender <sender@example.net>\r\n"
            b"To: someone@example.org\r\n"
            b"Subject: message %d\r\n"
            b"Message-ID: <m%d@example.net>\r\n"
            b"\r\n" % (i, i)) + body


def fill(d, user, count):
    """Delivers count messages; returns [stored bytes] (UIDs 1..count)."""
    out = []
    for i in range(1, count + 1):
        uid = deliver(d, user, message(i))
        out.append(show(d, user, uid))
    return out


# A small multipart message whose every FETCH answer the tests know.
MIXED_HEADER = (
    b"From: Alice Example <alice@example.org>\r\n"
    b"To: Bob <bob@example.net>, carol@example.com\r\n"
    b"Cc: dave@example.com\r\n"
    b"Subject: Test message\r\n"
    b"Date: Tue, 04 Mar 2025 10:15:00 +0100\r\n"
    b"Message-ID: <mixed1@example.org>\r\n"
    b"In-Reply-To: <parent@example.org>\r\n"
    b"MIME-Version: 1.0\r\n"
    b"Content-Type: multipart/mixed; boundary=\"XYZ\"\r\n"
    b"\r\n")
PART1_MIME = b"Content-Type: text/plain; charset=us-ascii\r\n\r\n"
PART1 = b"Hello Bob,\r\nsee the attachment."
PART2_MIME = (b"Content-Type: application/octet-stream; name=\"data.bin\"\r\n"
              b"Content-Transfer-Encoding: base64\r\n"
              b"Content-Disposition: attachment; filename=\"data.bin\"\r\n"
              b"\r\n")
PART2 = b"AAECAwQFBgcICQ=="
MIXED_TEXT = (b"This is a preamble.\r\n"
              b"--XYZ\r\n" + PART1_MIME + PART1 + b"\r\n"
              b"--XYZ\r\n" + PART2_MIME + PART2 + b"\r\n"
              b"--XYZ--\r\n")
MIXED = MIXED_HEADER + MIXED_TEXT
MIXED_ENVELOPE = (
    b'("Tue, 04 Mar 2025 10:15:00 +0100" "Test message" '
    b'(("Alice Example" NIL "alice" "example.org")) '
    b'(("Alice Example" NIL "alice" "example.org")) '
    b'(("Alice Example" NIL "alice" "example.org")) '
    b'(("Bob" NIL "bob" "example.net")(NIL NIL "carol" "example.com")) '
    b'((NIL NIL "dave" "example.com")) NIL "<parent@example.org>" '
    b'"<mixed1@example.org>")')
# RFC 3501 7.4.2; sizes and line counts as Dovecot gives them (the CRLF
# before a boundary belongs to the boundary, RFC 2046 5.1.1).
MIXED_BODYSTRUCTURE = (
    b'(("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" %d 1 '
    b'NIL NIL NIL NIL)'
    b'("application" "octet-stream" ("name" "data.bin") NIL NIL "base64" '
    b'%d NIL ("attachment" ("filename" "data.bin")) NIL NIL) '
    b'"mixed" ("boundary" "XYZ") NIL NIL NIL)' % (len(PART1), len(PART2)))
MIXED_BODY = (
    b'(("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" %d 1)'
    b'("application" "octet-stream" ("name" "data.bin") NIL NIL "base64" '
    b'%d) "mixed")' % (len(PART1), len(PART2)))


def append(c, mailbox, msg, flags=None, date=None, plus=False):
    pieces = ["APPEND ", q(mailbox), " "]
    if flags is not None:
        pieces.append("(%s) " % " ".join(flags))
    if date is not None:
        pieces.append('"%s" ' % date)
    pieces.append(Lit(msg))
    return c.cmd(*pieces, plus=plus)


# ------------------------------------------------ greeting, CAPABILITY

PRE_LOGIN_CAPS = {"IMAP4REV1", "STARTTLS", "AUTH=PLAIN", "SASL-IR",
                  "LITERAL+"}


def test_greeting_and_capability_before_login(server, conns):
    c = conns.plain(server)
    # RFC 3501 7.1.1: an untagged OK greeting; the CAPABILITY response
    # code saves the client a round trip.
    assert re.match(rb"^\* OK \[CAPABILITY [^\]]+\] \S", c.greeting), \
        c.greeting
    greeting_caps = capabilities(c.greeting)
    r = ok(c.cmd("CAPABILITY"))
    # RFC 3501 6.1.1: exactly one untagged CAPABILITY, then OK.
    assert len(r.untagged) == 1, r
    caps = capabilities(r.untagged[0])
    assert caps == greeting_caps, (caps, greeting_caps)
    assert PRE_LOGIN_CAPS <= caps, caps
    # Loopback may log in in cleartext: no LOGINDISABLED (RFC 3501
    # 6.2.3); STARTTLS is offered as TLS is not up.
    assert "LOGINDISABLED" not in caps, caps
    # RFC 3501 6.1.2: NOOP works in any state.
    ok(c.cmd("NOOP"))


def test_capability_on_imaps_and_after_starttls(server, conns):
    c = conns.tls(server)
    assert c.greeting.startswith(b"* OK"), c.greeting
    r = ok(c.cmd("CAPABILITY"))
    caps = capabilities(r.starting("* CAPABILITY")[0])
    # RFC 3501 6.2.1 / RFC 2595 3.1: no STARTTLS once TLS is up.
    assert "STARTTLS" not in caps, caps
    assert PRE_LOGIN_CAPS - {"STARTTLS"} <= caps, caps
    # STARTTLS under TLS is refused.
    refused(c.cmd("STARTTLS"))

    c = conns.plain(server)
    r = c.starttls()
    # The tagged OK may carry no CAPABILITY code: it was sent in clear.
    r = ok(c.cmd("CAPABILITY"))
    caps = capabilities(r.starting("* CAPABILITY")[0])
    assert "STARTTLS" not in caps, caps
    assert PRE_LOGIN_CAPS - {"STARTTLS"} <= caps, caps
    refused(c.cmd("STARTTLS"))


def test_capability_after_login(server, conns, user):
    c = conns.plain(server)
    r = ok(c.login(user))
    # RFC 3501 7.2.1 / 6.2.3: a CAPABILITY code in the tagged OK, if sent,
    # has the post-login capabilities.
    if r.code == "CAPABILITY":
        after = capabilities(r.tagged)
        assert not any(x.startswith("AUTH=") for x in after), after
        assert "STARTTLS" not in after, after
    r = ok(c.cmd("CAPABILITY"))
    caps = capabilities(r.starting("* CAPABILITY")[0])
    assert "IMAP4REV1" in caps and "UNSELECT" in caps, caps
    assert "LITERAL+" in caps, caps
    assert not any(x.startswith("AUTH=") for x in caps), caps
    assert "STARTTLS" not in caps and "LOGINDISABLED" not in caps, caps
    # RFC 3501 6.2.1: STARTTLS only in the not-authenticated state.
    refused(c.cmd("STARTTLS"))


def test_starttls_discards_pipelined_commands(server, conns, user):
    c = conns.plain(server)
    # A command pipelined behind STARTTLS was sent in the clear: it must
    # not run after the handshake (RFC 3501 6.2.1 / the STARTTLS command
    # injection of CVE-2011-0411).
    c.send(b"a1 STARTTLS\r\na2 LOGIN %s %s\r\n" % (q(user), q(PASSWORD)))
    line = c.response()
    assert re.match(rb"^a1 OK", line), line
    # Nothing but the handshake may follow the OK (an answer to a2 in
    # the clear would be here).
    assert c.buf == b"", c.buf
    c.sock = client_ctx().wrap_socket(c.sock)
    r = ok(c.cmd("NOOP"))
    assert r.untagged == [], r
    # a2 did not log in: SELECT is refused in the not-authenticated
    # state (RFC 3501 6.3.1).
    refused(c.select())
    ok(c.login(user))
    ok(c.select())


# ---------------------------------------------------------------- login

def test_login_and_logout(server, conns, user):
    c = conns.plain(server)
    r = ok(c.login(user))
    # RFC 3501 6.3.1: SELECT works once authenticated.
    ok(c.select())
    # RFC 3501 6.1.3: "* BYE" before the tagged OK, then the server
    # closes.
    r = ok(c.cmd("LOGOUT"))
    assert len(r.untagged) == 1 and r.untagged[0].startswith(b"* BYE"), r
    assert c.closed()


def test_login_with_literals(server, conns, user):
    c = conns.plain(server)
    # RFC 3501 4.3: astring arguments may be literals; a "+" asks for
    # each synchronizing one.
    r = ok(c.cmd("LOGIN ", Lit(user.encode()), " ", Lit(PASSWORD.encode())))
    assert len(r.continuations) == 2, r
    ok(c.cmd("NOOP"))
    # LITERAL+ (RFC 7888): no continuation requests at all.
    c = conns.plain(server)
    r = ok(c.cmd("LOGIN ", Lit(user.encode()), " ", Lit(PASSWORD.encode()),
                 plus=True))
    assert r.continuations == [], r
    ok(c.select())


def test_login_with_atoms_and_mixed_case_verb(server, conns, user):
    c = conns.plain(server)
    # Commands are case-insensitive (RFC 3501 9, note 3); the address
    # is an atom (no specials).
    ok(c.cmd("login %s %s" % (user, PASSWORD)))
    ok(c.cmd("sElEcT inbox"))


def test_authenticate_plain_with_initial_response(server, conns, user):
    c = conns.plain(server)
    # RFC 4959: SASL-IR; the whole exchange in one line.
    r = ok(c.cmd("AUTHENTICATE PLAIN " + plain_ir(user, PASSWORD)))
    assert r.continuations == [], r
    ok(c.select())


def test_authenticate_plain_after_continuation(server, conns, user):
    c = conns.plain(server)
    tag = c.next_tag()
    c.send(tag + b" AUTHENTICATE PLAIN\r\n")
    # RFC 3501 6.2.2 / RFC 4616: PLAIN's empty challenge is "+ " (or
    # "+" alone: RFC 3501 7.5 allows it).
    cont = c.response()
    assert cont in (b"+ ", b"+"), cont
    c.send(plain_ir(user, PASSWORD).encode() + b"\r\n")
    r = c.finish(Resp(tag))
    ok(r)
    ok(c.select())


def test_authenticate_with_authzid_equal_to_user(server, conns, user):
    c = conns.plain(server)
    ok(c.cmd("AUTHENTICATE PLAIN " + plain_ir(user, PASSWORD, user)))


def test_authenticate_cancel_and_unknown_mechanism(server, conns, user):
    c = conns.plain(server)
    tag = c.next_tag()
    c.send(tag + b" AUTHENTICATE PLAIN\r\n")
    assert c.response().startswith(b"+"), c
    # RFC 3501 6.2.2: "*" cancels, and the server MUST answer BAD.
    c.send(b"*\r\n")
    bad(c.finish(Resp(tag)))
    # RFC 3501 6.2.2: an unsupported mechanism SHOULD get NO.
    no(c.cmd("AUTHENTICATE X-NO-SUCH-MECH"))
    # The session goes on: a correct login works.
    ok(c.login(user))


def test_login_and_authenticate_with_imaplib(server, conns, user):
    m = conns.imaplib(server)
    assert "IMAP4REV1" in m.capabilities, m.capabilities
    typ, data = m.login(user, PASSWORD)
    assert typ == "OK", data
    typ, data = m.select("INBOX")
    assert typ == "OK" and data == [b"0"], data
    typ, data = m.logout()
    assert typ == "BYE", (typ, data)

    m = conns.imaplib(server)
    typ, data = m.authenticate(
        "PLAIN", lambda _: ("\0%s\0%s" % (user, PASSWORD)).encode())
    assert typ == "OK", data
    assert m.state == "AUTH"


def test_imaplib_starttls_and_imaps(server, conns, user):
    m = conns.imaplib(server)
    typ, data = m.starttls(ssl_context=client_ctx())
    assert typ == "OK", data
    assert "STARTTLS" not in m.capabilities, m.capabilities
    assert m.login(user, PASSWORD)[0] == "OK"
    assert m.select("INBOX")[0] == "OK"
    m.logout()

    m = conns.imaplib(server, tls=True)
    assert "STARTTLS" not in m.capabilities, m.capabilities
    assert m.login(user, PASSWORD)[0] == "OK"
    typ, data = m.list()
    assert typ == "OK" and len(data) == len(DEFAULT_MAILBOXES), data
    m.logout()


def test_imaps_refuses_old_tls(server):
    assert_refuses_old_tls(server.ports["imaps"])


def test_plaintext_client_on_imaps_port(server):
    data = plaintext_answer(server.ports["imaps"], b"a1 CAPABILITY\r\n")
    # Never an IMAP greeting or answer in plaintext on the implicit-TLS
    # port (RFC 8314 3.3).
    assert not data.startswith((b"* ", b"a1 ")), data


# ------------------------------------------------------------ mailboxes

def test_new_user_has_standard_mailboxes(server, conns, user):
    c = conns.login(server, user)
    r = ok(c.cmd('LIST "" "*"'))
    entries = list_entries(r)
    assert set(entries) == set(DEFAULT_MAILBOXES), entries
    for name, special in DEFAULT_MAILBOXES.items():
        attrs, delim = entries[name]
        # RFC 3501 7.2.2: the hierarchy delimiter; RFC 3348 children
        # attributes; RFC 6154 special-use attributes in plain LIST.
        assert delim == "/", entries
        assert "\\hasnochildren" in attrs, (name, attrs)
        assert "\\haschildren" not in attrs, (name, attrs)
        assert "\\noselect" not in attrs, (name, attrs)
        specials = {a for a in attrs if a in (
            "\\sent", "\\drafts", "\\trash", "\\junk", "\\archive",
            "\\all", "\\flagged")}
        assert specials == ({special.lower()} if special else set()), \
            (name, attrs)


def test_list_empty_pattern_gives_delimiter(server, conns, user):
    c = conns.login(server, user)
    # RFC 3501 6.3.8: an empty mailbox name argument asks for the
    # delimiter and the root name.
    r = ok(c.cmd('LIST "" ""'))
    assert r.untagged == [b'* LIST (\\Noselect) "/" ""'], r


def test_list_patterns_and_children(server, conns, user):
    c = conns.login(server, user)
    for name in ("a/b/c", "a/d", "ab"):
        ok(c.cmd("CREATE ", q(name)))
    all_ = list_entries(ok(c.cmd('LIST "" "*"')))
    assert set(all_) == set(DEFAULT_MAILBOXES) | {
        "a", "a/b", "a/b/c", "a/d", "ab"}, all_
    assert "\\haschildren" in all_["a"][0], all_
    assert "\\haschildren" in all_["a/b"][0], all_
    assert "\\hasnochildren" in all_["a/b/c"][0], all_
    assert "\\hasnochildren" in all_["ab"][0], all_
    # "%" does not match the delimiter (RFC 3501 6.3.8).
    top = list_entries(ok(c.cmd('LIST "" "%"')))
    assert set(top) == set(DEFAULT_MAILBOXES) | {"a", "ab"}, top
    assert set(list_entries(ok(c.cmd('LIST "" "a/%"')))) == {"a/b", "a/d"}
    assert set(list_entries(ok(c.cmd('LIST "" "a/*"')))) == {
        "a/b", "a/b/c", "a/d"}
    # Names other than INBOX are case-sensitive: "a*" is not "Archive".
    assert set(list_entries(ok(c.cmd('LIST "" "a*"')))) == {
        "a", "a/b", "a/b/c", "a/d", "ab"}
    assert set(list_entries(ok(c.cmd('LIST "" "a%"')))) == {"a", "ab"}
    # The reference is prefixed to the pattern (RFC 3501 6.3.8).
    assert set(list_entries(ok(c.cmd('LIST "a/" "%"')))) == {"a/b", "a/d"}
    assert set(list_entries(ok(c.cmd('LIST "a/b" "/*"')))) == {"a/b/c"}
    # INBOX is case-insensitive and listed as "INBOX" (RFC 3501 5.1).
    assert set(list_entries(ok(c.cmd('LIST "" "inbox"')))) == {"INBOX"}
    # No match: OK with nothing.
    r = ok(c.cmd('LIST "" "nothing-here*"'))
    assert r.untagged == [], r


def test_create_existing_and_missing(server, conns, user):
    c = conns.login(server, user)
    # RFC 5530 3: ALREADYEXISTS; INBOX in any case is there already.
    no(c.cmd('CREATE "Sent"'), "ALREADYEXISTS")
    r = no(c.cmd('CREATE "inbox"'))
    assert r.code in ("ALREADYEXISTS", "CANNOT"), r
    # RFC 5530 3: NONEXISTENT for a name that does not exist.
    no(c.cmd('DELETE "nope"'), "NONEXISTENT")
    no(c.cmd('SELECT "nope"'), "NONEXISTENT")
    no(c.cmd('EXAMINE "nope"'), "NONEXISTENT")
    no(c.cmd('RENAME "nope" "other"'), "NONEXISTENT")
    no(c.cmd('STATUS "nope" (MESSAGES)'), "NONEXISTENT")
    rows = mailbox_rows(server, user)
    assert set(rows) == set(DEFAULT_MAILBOXES), rows


def test_create_makes_parents_and_ignores_trailing_delimiter(
        server, conns, user):
    c = conns.login(server, user)
    # RFC 3501 6.3.3: superior names are created as needed; a trailing
    # delimiter says the client means to create names under it.
    ok(c.cmd('CREATE "x/y/z"'))
    ok(c.cmd('CREATE "t/"'))
    rows = mailbox_rows(server, user)
    assert {"x", "x/y", "x/y/z", "t"} <= set(rows), rows
    assert "t/" not in rows
    entries = list_entries(ok(c.cmd('LIST "" "*"')))
    for name in ("x", "x/y", "x/y/z", "t"):
        assert name in entries, entries
        assert "\\noselect" not in entries[name][0], entries
    ok(c.select("x/y"))
    ok(c.select("t"))
    # New mailboxes are fresh: nothing in them, UIDNEXT 1.
    assert rows["x/y/z"][1] == 1


def test_delete_mailbox(server, conns, user):
    c = conns.login(server, user)
    ok(c.cmd('CREATE "old"'))
    ok(append(c, "old", message(1)))
    ok(c.cmd('DELETE "old"'))
    assert "old" not in mailbox_rows(server, user)
    assert "old" not in list_entries(ok(c.cmd('LIST "" "*"')))
    no(c.select("old"), "NONEXISTENT")
    # RFC 3501 6.3.4: a new mailbox of the same name gets a new
    # UIDVALIDITY or starts empty: here it is empty.
    ok(c.cmd('CREATE "old"'))
    st = status_items(ok(c.cmd('STATUS "old" (MESSAGES UIDVALIDITY)')),
                      "old")
    assert st["MESSAGES"] == 0, st


def test_delete_inbox_refused(server, conns, user):
    c = conns.login(server, user)
    deliver(server, user, message(1))
    # RFC 3501 6.3.4: deleting INBOX is an error.
    no(c.cmd('DELETE "INBOX"'))
    no(c.cmd('DELETE "inbox"'))
    assert "INBOX" in mailbox_rows(server, user)
    assert len(messages(server, user)) == 1


def test_delete_parent_keeps_children(server, conns, user):
    c = conns.login(server, user)
    ok(c.cmd('CREATE "p/kid"'))
    r = c.cmd('DELETE "p"')
    # RFC 3501 6.3.4: a parent may be deleted (it becomes \Noselect) or
    # the server may refuse; its children stay either way.
    assert r.status in (b"OK", b"NO"), r
    entries = list_entries(ok(c.cmd('LIST "" "*"')))
    assert "p/kid" in entries, entries
    if r.status == b"OK" and "p" in entries:
        assert "\\noselect" in entries["p"][0], entries
    ok(c.select("p/kid"))


def test_rename_mailbox_with_children(server, conns, user):
    c = conns.login(server, user)
    ok(c.cmd('CREATE "src/sub"'))
    ok(append(c, "src", message(1)))
    ok(append(c, "src/sub", message(2)))
    # RFC 3501 6.3.5: inferior names are renamed too.
    ok(c.cmd('RENAME "src" "dst"'))
    rows = mailbox_rows(server, user)
    assert "src" not in rows and "src/sub" not in rows, rows
    assert "dst" in rows and "dst/sub" in rows, rows
    assert len(messages(server, user, "dst")) == 1
    assert len(messages(server, user, "dst/sub")) == 1
    # To an existing name: NO (RFC 5530 ALREADYEXISTS).
    no(c.cmd('RENAME "dst" "Sent"'), "ALREADYEXISTS")
    # Into a new hierarchy: RFC 3501 6.3.5 "the server SHOULD create any
    # superior hierarchical names that are needed".
    ok(c.cmd('RENAME "dst/sub" "deep/er/sub"'))
    entries = list_entries(ok(c.cmd('LIST "" "*"')))
    assert {"deep", "deep/er", "deep/er/sub", "dst"} <= set(entries), \
        sorted(entries)


def test_rename_inbox_moves_messages(server, conns, user):
    fill(server, user, 2)
    c = conns.login(server, user)
    # RFC 3501 6.3.5: renaming INBOX moves its messages to the new name
    # and leaves INBOX empty (its inferiors, if any, stay).
    ok(c.cmd('RENAME "INBOX" "old-inbox"'))
    st = status_items(ok(c.cmd('STATUS "old-inbox" (MESSAGES)')),
                      "old-inbox")
    assert st["MESSAGES"] == 2, st
    r = ok(c.select("INBOX"))
    assert exists(r) == 0, r
    assert len(messages(server, user, "old-inbox")) == 2
    assert messages(server, user, "INBOX") == []


def test_modified_utf7_names(server, conns, user):
    c = conns.login(server, user)
    # RFC 3501 5.1.3: "&AOQ-" is U+00E4; "&-" is "&".
    assert mutf7("B\u00e4r") == b"B&AOQ-r"
    names = ["B\u00e4r", "Entw\u00fcrfe", "Tom & Jerry",
             "\u65e5\u672c\u8a9e/\u00e4\u00f6\u00fc", "\U0001f600"]
    for name in names:
        ok(c.cmd("CREATE ", q(mutf7(name))))
    rows = mailbox_rows(server, user)
    entries = list_entries(ok(c.cmd('LIST "" "*"')))
    for name in names:
        # Stored as UTF-8 (store.h), sent back in modified UTF-7.
        assert name in rows, rows
        assert mutf7(name).decode() in entries, entries
    st = ok(c.cmd("STATUS ", q(mutf7("B\u00e4r")), " (MESSAGES)"))
    assert status_items(st, "B&AOQ-r") == {"MESSAGES": 0}
    ok(c.select(mutf7("Entw\u00fcrfe")))


@pytest.mark.parametrize("name", [
    b"&AOQ",            # no closing "-"
    b"&",               # a lone shift
    b"a&AGE-",          # encodes "a", printable ASCII (RFC 3501 5.1.3)
    b"&Jjo!-",          # not modified base64
    b"&AOQ=-",          # padding is not used (RFC 3501 5.1.3)
    b"&A-",             # six bits: not a whole UTF-16 unit
    b"&2D0-",           # a lone high surrogate
], ids=["unterminated", "lone-amp", "ascii-encoded", "bad-base64",
        "padding", "partial-unit", "lone-surrogate"])
def test_invalid_modified_utf7_names(server, conns, user, name):
    c = conns.login(server, user)
    refused(c.cmd("CREATE ", q(name)))
    refused(c.cmd("SELECT ", q(name)))
    assert set(mailbox_rows(server, user)) == set(DEFAULT_MAILBOXES)
    ok(c.cmd("NOOP"))


def test_names_with_8bit_or_control_characters_refused(server, conns, user):
    c = conns.login(server, user)
    # 8-bit bytes are not valid in a quoted string (RFC 3501 9) and not
    # modified UTF-7; control characters are not names (store.h).
    refused(c.cmd("CREATE ", q("B\u00e4r".encode())))
    refused(c.cmd("CREATE ", Lit(b"a\x01b")))
    refused(c.cmd("CREATE ", Lit(b"tab\there")))
    refused(c.cmd("CREATE ", Lit(b"raw\xc3\xa4")))
    # No empty level; no wildcards (RFC 3501 5.1: "%" and "*" in names
    # would make LIST ambiguous).
    refused(c.cmd('CREATE "a//b"'))
    refused(c.cmd('CREATE "star*"'))
    refused(c.cmd('CREATE "pct%"'))
    assert set(mailbox_rows(server, user)) == set(DEFAULT_MAILBOXES)
    ok(c.cmd("NOOP"))


def test_names_with_quotes_and_backslashes(server, conns, user):
    c = conns.login(server, user)
    # RFC 3501 9: '"' and '\\' are escaped in a quoted string (or sent
    # in a literal); LIST must send them back so that they parse to the
    # same name.
    names = ['say "hi"', "back\\slash", "sp ace", "brace{1}"]
    ok(c.cmd("CREATE ", q(names[0])))
    ok(c.cmd("CREATE ", Lit(names[1].encode())))
    ok(c.cmd("CREATE ", q(names[2])))
    ok(c.cmd("CREATE ", q(names[3])))
    rows = mailbox_rows(server, user)
    assert set(names) <= set(rows), rows
    entries = list_entries(ok(c.cmd('LIST "" "*"')))
    assert set(names) <= set(entries), entries
    for name in names:
        r = ok(c.cmd("SELECT ", q(name)))
        assert exists(r) == 0, r


def test_inbox_children(server, conns, user):
    c = conns.login(server, user)
    ok(c.cmd('CREATE "INBOX/sub"'))
    entries = list_entries(ok(c.cmd('LIST "" "*"')))
    assert "INBOX/sub" in entries, entries
    # RFC 3348: INBOX now has children.
    assert "\\haschildren" in entries["INBOX"][0], entries
    assert set(list_entries(ok(c.cmd('LIST "INBOX/" "%"')))) == {
        "INBOX/sub"}
    ok(c.select("INBOX/sub"))


def test_uids_never_reused(server, conns, user):
    fill(server, user, 3)
    c = conns.login(server, user)
    ok(c.select())
    ok(c.cmd("STORE 3 +FLAGS.SILENT (\\Deleted)"))
    ok(c.cmd("EXPUNGE"))
    # RFC 3501 2.3.1.1: UIDs strictly ascend; the expunged 3 is not given
    # again.
    ok(append(c, "INBOX", message(4)))
    assert [m[0] for m in messages(server, user)] == [1, 2, 4]
    st = status_items(ok(c.cmd("STATUS INBOX (UIDNEXT MESSAGES)")), "INBOX")
    assert st == {"UIDNEXT": 5, "MESSAGES": 3}, st
    # A mailbox deleted and made again under the same name: a new
    # UIDVALIDITY, or UIDs that go on from the old ones (RFC 3501
    # 2.3.1.1).
    ok(c.cmd('CREATE "again"'))
    ok(append(c, "again", message(1)))
    ok(append(c, "again", message(2)))
    old = mailbox_rows(server, user)["again"]
    ok(c.cmd('DELETE "again"'))
    ok(c.cmd('CREATE "again"'))
    new = mailbox_rows(server, user)["again"]
    assert new[0] != old[0] or new[1] >= old[1], (old, new)
    # The same after a RENAME away (RFC 3501 6.3.5: "a new mailbox
    # created with the same name will not reuse the identifiers").
    ok(append(c, "again", message(3)))
    old = mailbox_rows(server, user)["again"]
    ok(c.cmd('RENAME "again" "moved"'))
    ok(c.cmd('CREATE "again"'))
    new = mailbox_rows(server, user)["again"]
    assert new[0] != old[0] or new[1] >= old[1], (old, new)


def test_subscribe_and_lsub(server, conns, user):
    c = conns.login(server, user)
    ok(c.cmd('CREATE "news"'))
    ok(c.cmd('SUBSCRIBE "news"'))
    assert "news" in subscriptions(server, user)
    entries = list_entries(ok(c.cmd('LSUB "" "*"')), "LSUB")
    assert "news" in entries, entries
    assert entries["news"][1] == "/"
    ok(c.cmd('UNSUBSCRIBE "news"'))
    assert "news" not in subscriptions(server, user)
    entries = list_entries(ok(c.cmd('LSUB "" "*"')), "LSUB")
    assert "news" not in entries, entries
    # LSUB with "%" over a subscribed child: the parent is listed with
    # \Noselect when it is not subscribed itself (RFC 3501 6.3.9).
    ok(c.cmd('CREATE "grp/one"'))
    ok(c.cmd('UNSUBSCRIBE "grp"'))
    ok(c.cmd('SUBSCRIBE "grp/one"'))
    top = list_entries(ok(c.cmd('LSUB "" "g%"')), "LSUB")
    assert set(top) == {"grp"}, top
    assert "\\noselect" in top["grp"][0], top


def test_status(server, conns, user):
    fill(server, user, 3)
    c = conns.login(server, user)
    ok(c.select())
    ok(c.cmd("STORE 2 +FLAGS.SILENT (\\Seen)"))
    ok(c.cmd("UNSELECT"))
    r = ok(c.cmd('STATUS "INBOX" (MESSAGES RECENT UIDNEXT UIDVALIDITY '
                 'UNSEEN)'))
    st = status_items(r, "INBOX")
    uidvalidity = mailbox_rows(server, user)["INBOX"][0]
    assert st == {"MESSAGES": 3, "RECENT": 0, "UIDNEXT": 4,
                  "UIDVALIDITY": uidvalidity, "UNSEEN": 2}, st
    # A subset in the asked order; another mailbox.
    r = ok(c.cmd('STATUS Trash (UNSEEN MESSAGES)'))
    assert status_items(r, "Trash") == {"UNSEEN": 0, "MESSAGES": 0}
    # Unknown item: BAD (RFC 3501 6.3.10 grammar).
    bad(c.cmd('STATUS INBOX (MESSAGES BOGUS)'))


# ------------------------------------------------------- SELECT, EXAMINE

def test_select_responses(server, conns, user):
    fill(server, user, 3)
    c = conns.login(server, user)
    ok(c.select())
    ok(c.cmd("STORE 1 +FLAGS.SILENT (\\Seen)"))
    r = ok(c.select(), "READ-WRITE")
    # RFC 3501 6.3.1 / 7.3.1 / 7.3.2.
    assert exists(r) == 3, r
    assert r.starting("* 0 RECENT") == [b"* 0 RECENT"], r
    flags = r.starting("* FLAGS ")
    assert len(flags) == 1, r
    assert SYSTEM_FLAGS <= flags_of(flags[0][len(b"* FLAGS "):]), flags
    perm = resp_code(r, "PERMANENTFLAGS")
    assert perm is not None, r
    perm = flags_of(perm)
    assert SYSTEM_FLAGS | {"\\*"} <= perm, perm
    rows = mailbox_rows(server, user)
    assert resp_code(r, "UIDVALIDITY") == b"%d" % rows["INBOX"][0], r
    assert resp_code(r, "UIDNEXT") == b"4", r
    # The first unseen message's sequence number.
    assert resp_code(r, "UNSEEN") == b"2", r


def test_select_empty_mailbox(server, conns, user):
    c = conns.login(server, user)
    r = ok(c.select("Drafts"), "READ-WRITE")
    assert exists(r) == 0, r
    assert resp_code(r, "UNSEEN") is None, r
    assert resp_code(r, "UIDNEXT") == b"1", r


def test_examine_is_read_only(server, conns, user):
    stored = fill(server, user, 2)
    c = conns.login(server, user)
    r = ok(c.select(examine=True), "READ-ONLY")
    assert exists(r) == 2, r
    # RFC 3501 6.3.2: no permanent flags in a read-only mailbox.
    assert resp_code(r, "PERMANENTFLAGS") == b"()", r
    # BODY[] does not set \Seen under EXAMINE (RFC 3501 6.4.5).
    f = fetches(ok(c.cmd("FETCH 1 (BODY[])")))
    assert parse(f[1]["BODY[]"]) == stored[0]
    assert "FLAGS" not in f[1] or "\\Seen" not in flags_of(f[1]["FLAGS"])
    # STORE is refused in a read-only mailbox.
    no(c.cmd("STORE 1 +FLAGS (\\Deleted)"))
    assert [m[1] for m in messages(server, user)] == [0, 0]
    # EXPUNGE too; CLOSE expunges nothing (RFC 3501 6.4.2).
    refused(c.cmd("EXPUNGE"))
    ok(c.cmd("CLOSE"))
    assert [m[0] for m in messages(server, user)] == [1, 2]


def test_close_expunges_silently(server, conns, user):
    fill(server, user, 3)
    c = conns.login(server, user)
    ok(c.select())
    ok(c.cmd("STORE 2 +FLAGS.SILENT (\\Deleted)"))
    # RFC 3501 6.4.2: CLOSE removes \Deleted messages with no EXPUNGE
    # responses, and the session leaves the selected state.
    r = ok(c.cmd("CLOSE"))
    assert expunges(r) == [], r
    assert [m[0] for m in messages(server, user)] == [1, 3]
    refused(c.cmd("FETCH 1 (FLAGS)"))
    refused(c.cmd("CLOSE"))


def test_unselect_expunges_nothing(server, conns, user):
    fill(server, user, 2)
    c = conns.login(server, user)
    ok(c.select())
    ok(c.cmd("STORE 1 +FLAGS.SILENT (\\Deleted)"))
    # RFC 3691: UNSELECT leaves \Deleted messages where they are.
    r = ok(c.cmd("UNSELECT"))
    assert expunges(r) == [], r
    assert [(m[0], m[1]) for m in messages(server, user)] == [
        (1, F_DELETED), (2, 0)]
    refused(c.cmd("FETCH 1 (FLAGS)"))
    refused(c.cmd("UNSELECT"))


def test_select_logout_and_drop_do_not_expunge(server, conns, user):
    fill(server, user, 3)
    c = conns.login(server, user)
    ok(c.select())
    ok(c.cmd("STORE 1 +FLAGS.SILENT (\\Deleted)"))
    # RFC 3501 6.4.2: "The SELECT, EXAMINE, and LOGOUT commands
    # implicitly close the currently selected mailbox without doing an
    # expunge."
    r = ok(c.select("Sent"))
    assert expunges(r) == [], r
    ok(c.select())
    ok(c.cmd("STORE 2 +FLAGS.SILENT (\\Deleted)"))
    r = ok(c.select(examine=True))
    assert expunges(r) == [] and exists(r) == 3, r
    ok(c.select())
    r = ok(c.cmd("LOGOUT"))
    assert expunges(r) == [], r
    assert c.closed()
    # Nor does a dropped connection.
    c = conns.login(server, user)
    ok(c.select())
    ok(c.cmd("STORE 3 +FLAGS.SILENT (\\Deleted)"))
    c.close()
    time.sleep(0.3)             # the server sees the EOF and ends it
    c = conns.login(server, user)
    r = ok(c.select())
    assert exists(r) == 3, r
    assert [(m[0], m[1]) for m in messages(server, user)] == [
        (1, F_DELETED), (2, F_DELETED), (3, F_DELETED)]


def test_expunge_responses(server, conns, user):
    fill(server, user, 5)
    c = conns.login(server, user)
    ok(c.select())
    ok(c.cmd("STORE 2,4 +FLAGS.SILENT (\\Deleted)"))
    r = ok(c.cmd("EXPUNGE"))
    # RFC 3501 7.4.1: each EXPUNGE renumbers the ones after it; playing
    # them back on 1..5 must leave UIDs 1, 3, 5 whatever the order.
    seqs = expunges(r)
    assert len(seqs) == 2, r
    left = [1, 2, 3, 4, 5]
    for s in seqs:
        del left[s - 1]
    assert left == [1, 3, 5], seqs
    assert [m[0] for m in messages(server, user)] == [1, 3, 5]
    # The session's numbering follows.
    f = fetches(ok(c.cmd("FETCH 1:* (UID)")))
    assert {s: int(v["UID"]) for s, v in f.items()} == {1: 1, 2: 3, 3: 5}
    # Nothing to expunge: OK and nothing untagged.
    r = ok(c.cmd("EXPUNGE"))
    assert expunges(r) == [], r


def test_check_and_noop(server, conns, user):
    c = conns.login(server, user)
    ok(c.select())
    # RFC 3501 6.4.1.
    ok(c.cmd("CHECK"))
    ok(c.cmd("NOOP"))


def test_failed_select_leaves_selected_state(server, conns, user):
    fill(server, user, 1)
    c = conns.login(server, user)
    ok(c.select())
    # RFC 3501 6.3.1: a failed SELECT deselects the current mailbox.
    no(c.select("nope"), "NONEXISTENT")
    refused(c.cmd("FETCH 1 (FLAGS)"))
    ok(c.select("Sent"))
    r = ok(c.select("INBOX"))
    assert exists(r) == 1, r


# ---------------------------------------------------------------- APPEND

def test_append_flags_date_and_fetch_back(server, conns, user):
    c = conns.login(server, user)
    r = ok(append(c, "INBOX", MIXED, flags=["\\Seen", "$Forwarded"],
                  date="05-Mar-2025 10:15:00 +0100"))
    assert len(r.continuations) == 1, r
    if r.code == "APPENDUID":
        # RFC 4315: APPENDUID uidvalidity uid.
        rows = mailbox_rows(server, user)
        assert re.match(rb"\[APPENDUID %d 1\]" % rows["INBOX"][0], r.text), r
    assert show(server, user, 1) == MIXED
    (uid, flags, keywords), = messages(server, user)
    assert flags == F_SEEN and keywords == {"$Forwarded"}
    ok(c.select())
    f = fetches(ok(c.cmd("FETCH 1 (FLAGS INTERNALDATE RFC822.SIZE "
                         "BODY.PEEK[])")))[1]
    assert flags_of(f["FLAGS"]) == {"\\Seen", "$Forwarded"}, f
    when = internaldate(f["INTERNALDATE"])
    assert when == datetime.datetime(2025, 3, 5, 9, 15,
                                     tzinfo=datetime.timezone.utc), f
    assert int(f["RFC822.SIZE"]) == len(MIXED)
    assert parse(f["BODY[]"]) == MIXED


def test_append_literal_plus(server, conns, user):
    c = conns.login(server, user)
    msg = message(7)
    # RFC 7888: "{n+}": the client sends at once, no "+" comes.
    r = ok(append(c, "Drafts", msg, flags=["\\Draft"], plus=True))
    assert r.continuations == [], r
    assert show(server, user, 1, "Drafts") == msg
    assert messages(server, user, "Drafts")[0][1] == F_DRAFT
    assert c.quiet()


def test_append_without_flags_or_date(server, conns, user):
    c = conns.login(server, user)
    before = datetime.datetime.now(datetime.timezone.utc)
    ok(append(c, "INBOX", message(1)))
    ok(c.select())
    f = fetches(ok(c.cmd("FETCH 1 (FLAGS INTERNALDATE)")))[1]
    assert flags_of(f["FLAGS"]) == set(), f
    # The internal date defaults to now (RFC 3501 6.3.11).
    when = internaldate(f["INTERNALDATE"])
    assert abs((when - before).total_seconds()) < 120, f


def test_append_byte_exact(server, conns, user):
    c = conns.login(server, user)
    msgs = [
        # 8-bit body, a long line, lines that look like IMAP syntax.
        b"Subject: bytes\r\nContent-Type: text/plain; charset=utf-8\r\n"
        b"Content-Transfer-Encoding: 8bit\r\n\r\n"
        b"caf\xc3\xa9 \xff\xfe\r\n" + b"x" * 5000 + b"\r\n"
        b"a1 OK not a response\r\n* 3 EXISTS\r\n{5}\r\n.\r\n",
        # No final CRLF.
        b"Subject: no final crlf\r\n\r\nlast line",
        # Header only.
        b"Subject: header only\r\n",
        MIXED,
    ]
    for m in msgs:
        ok(append(c, "INBOX", m))
    ok(c.select())
    f = fetches(ok(c.cmd("FETCH 1:* (RFC822.SIZE BODY.PEEK[])")))
    for i, m in enumerate(msgs, 1):
        assert parse(f[i]["BODY[]"]) == m, i
        assert int(f[i]["RFC822.SIZE"]) == len(m), i
        assert show(server, user, i) == m


def test_append_to_selected_mailbox_reports_exists(server, conns, user):
    c = conns.login(server, user)
    r = ok(c.select())
    assert exists(r) == 0
    r = ok(append(c, "INBOX", message(1)))
    seen = exists(r)
    r = ok(c.cmd("NOOP"))
    # RFC 3501 6.3.11: the new message is announced (in APPEND's answer
    # or at the latest with the next command).
    assert 1 in (seen, exists(r)), r


def test_append_empty_message_refused(server, conns, user):
    c = conns.login(server, user)
    # An empty message is not a message (RFC 5322 3.5 needs a header);
    # refused before the "+" or after the empty literal.
    refused(c.cmd("APPEND INBOX ", Lit(b"")))
    assert messages(server, user) == []
    ok(c.cmd("NOOP"))


def test_append_too_big_literal_refused_before_continuation(
        server, conns, user):
    c = conns.login(server, user)
    tag = c.next_tag()
    c.send(tag + b" APPEND INBOX {999999999999}\r\n")
    line = c.response()
    while line.startswith(b"* ") and not line.startswith(b"* BYE"):
        line = c.response()
    # No "+": the server refuses before the client sends a byte
    # (RFC 3501 7.5, RFC 7888 4 TOOBIG).
    assert not line.startswith(b"+"), line
    assert re.match(tag + rb" (NO|BAD) ", line), line
    # Nothing was sent, so nothing is out of step: the session goes on.
    ok(c.cmd("NOOP"))
    assert messages(server, user) == []


def test_append_too_big_non_synchronizing_literal(server, conns, user):
    c = conns.login(server, user)
    tag = c.next_tag()
    c.send(tag + b" APPEND INBOX {999999999999+}\r\n" + b"x" * 1000)
    # RFC 7888 4: the server cannot take it; it answers NO or BAD
    # (TOOBIG) and may close as it cannot find the next command.
    lines = []
    try:
        while True:
            lines.append(c.response())
            if lines[-1].startswith(tag + b" "):
                break
    except conftest.Closed:
        pass
    assert any(l.startswith(b"* BYE") or
               re.match(tag + rb" (NO|BAD) ", l) for l in lines), lines
    assert not any(l.startswith(tag + b" OK") for l in lines), lines
    assert messages(server, user) == []
    # The daemon is fine.
    c2 = conns.login(server, user)
    ok(c2.cmd("NOOP"))


def test_append_to_missing_mailbox_trycreate(server, conns, user):
    c = conns.login(server, user)
    # RFC 3501 6.3.11: NO [TRYCREATE] (before or after the literal).
    no(append(c, "nope", message(1)), "TRYCREATE")
    assert "nope" not in mailbox_rows(server, user)
    ok(c.cmd("NOOP"))


def test_append_bad_flags_or_date(server, conns, user):
    c = conns.login(server, user)
    # \Recent cannot be set (RFC 3501 2.3.2); a malformed date is a
    # syntax error.
    refused(append(c, "INBOX", message(1), flags=["\\Recent"]))
    refused(append(c, "INBOX", message(1), date="32-Mar-2025 10:15:00 +0100"))
    refused(append(c, "INBOX", message(1), date="5-March-2025"))
    assert messages(server, user) == []
    ok(c.cmd("NOOP"))


def test_append_nul_byte_refused(server, conns, user):
    c = conns.login(server, user)
    # RFC 3501 9: literal = "{" number "}" CRLF *CHAR8, and CHAR8 is any
    # octet except NUL: a NUL in a message is a syntax error (BINARY,
    # RFC 3516, would be needed for it).
    r = c.cmd("APPEND INBOX ", Lit(b"Subject: nul\r\n\r\na\x00b\r\n"))
    refused(r)
    assert messages(server, user) == []
    ok(c.cmd("NOOP"))


def test_append_date_forms(server, conns, user):
    c = conns.login(server, user)
    # RFC 3501 9: date-day-fixed may be a space and one digit; zones
    # west of UTC are negative.
    ok(append(c, "INBOX", message(1), date=" 5-Mar-2025 10:15:00 -0800"))
    ok(append(c, "INBOX", message(2), date="31-Dec-1999 23:59:59 +1400"))
    ok(c.select())
    f = fetches(ok(c.cmd("FETCH 1:2 (INTERNALDATE)")))
    utc = datetime.timezone.utc
    assert internaldate(f[1]["INTERNALDATE"]) == datetime.datetime(
        2025, 3, 5, 18, 15, tzinfo=utc), f
    assert internaldate(f[2]["INTERNALDATE"]) == datetime.datetime(
        1999, 12, 31, 9, 59, 59, tzinfo=utc), f


def test_append_with_imaplib(server, conns, user):
    m = conns.imaplib(server)
    m.login(user, PASSWORD)
    when = datetime.datetime(2024, 12, 24, 18, 0, 0,
                             tzinfo=datetime.timezone.utc)
    typ, data = m.append("Archive", "(\\Flagged)",
                         imaplib.Time2Internaldate(when), MIXED)
    assert typ == "OK", data
    typ, data = m.select("Archive")
    assert typ == "OK" and data == [b"1"], data
    typ, data = m.fetch("1", "(FLAGS INTERNALDATE BODY.PEEK[])")
    assert typ == "OK", data
    assert data[0][1] == MIXED
    assert b"\\Flagged" in data[0][0]
    t = imaplib.Internaldate2tuple(data[0][0])
    assert time.mktime(t) == when.timestamp(), data[0][0]
    m.logout()


# ---------------------------------------------------------------- FETCH

@pytest.fixture
def mixed(server, conns, user):
    """A session with MIXED as message 1 of the selected INBOX."""
    c = conns.login(server, user)
    ok(append(c, "INBOX", MIXED, date="04-Mar-2025 10:15:00 +0100"))
    ok(c.select())
    c.server, c.user = server, user
    return c


def test_fetch_flags_internaldate_size_uid(mixed):
    f = fetches(ok(mixed.cmd("FETCH 1 (FLAGS INTERNALDATE RFC822.SIZE "
                             "UID)")))
    assert set(f) == {1}
    f = f[1]
    assert f["FLAGS"] == b"()", f
    # The instant APPEND gave (the zone it is shown in may differ).
    assert internaldate(f["INTERNALDATE"]) == datetime.datetime(
        2025, 3, 4, 9, 15, tzinfo=datetime.timezone.utc), f
    assert f["RFC822.SIZE"] == b"%d" % len(MIXED)
    assert f["UID"] == b"1"


def test_fetch_envelope_body_bodystructure(mixed):
    f = fetches(ok(mixed.cmd("FETCH 1 (ENVELOPE BODYSTRUCTURE BODY)")))[1]
    assert f["ENVELOPE"] == MIXED_ENVELOPE, f["ENVELOPE"]
    assert f["BODYSTRUCTURE"] == MIXED_BODYSTRUCTURE, f["BODYSTRUCTURE"]
    assert f["BODY"] == MIXED_BODY, f["BODY"]
    # None of them touches \Seen.
    f = fetches(ok(mixed.cmd("FETCH 1 (FLAGS)")))[1]
    assert f["FLAGS"] == b"()"


def test_fetch_non_mime_message_structure(server, conns, user):
    deliver(server, user, message(1))
    c = conns.login(server, user)
    ok(c.select())
    body = message(1).split(b"\r\n\r\n", 1)[1]
    f = fetches(ok(c.cmd("FETCH 1 (BODYSTRUCTURE BODY ENVELOPE)")))[1]
    # RFC 2045 5.2: no Content-Type means text/plain; charset=us-ascii.
    assert f["BODYSTRUCTURE"] == (
        b'("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" %d 3 '
        b'NIL NIL NIL NIL)' % len(body)), f
    assert f["BODY"] == (b'("text" "plain" ("charset" "us-ascii") NIL NIL '
                         b'"7bit" %d 3)' % len(body)), f
    assert f["ENVELOPE"] == (
        b'(NIL "message 1" (("Sender" NIL "sender" "example.net")) '
        b'(("Sender" NIL "sender" "example.net")) '
        b'(("Sender" NIL "sender" "example.net")) '
        b'((NIL NIL "someone" "example.org")) NIL NIL NIL '
        b'"<m1@example.net>")'), f


def test_fetch_sections_with_peek(mixed):
    header = MIXED_HEADER
    cases = {
        "BODY.PEEK[]": ("BODY[]", MIXED),
        "BODY.PEEK[HEADER]": ("BODY[HEADER]", header),
        "BODY.PEEK[TEXT]": ("BODY[TEXT]", MIXED_TEXT),
        "BODY.PEEK[1]": ("BODY[1]", PART1),
        "BODY.PEEK[1.MIME]": ("BODY[1.MIME]", PART1_MIME),
        "BODY.PEEK[2]": ("BODY[2]", PART2),
        "BODY.PEEK[2.MIME]": ("BODY[2.MIME]", PART2_MIME),
        "BODY.PEEK[HEADER.FIELDS (From Subject)]": (
            "BODY[HEADER.FIELDS (FROM SUBJECT)]",
            b"From: Alice Example <alice@example.org>\r\n"
            b"Subject: Test message\r\n\r\n"),
        "BODY.PEEK[HEADER.FIELDS.NOT (From Subject Content-Type)]": (
            "BODY[HEADER.FIELDS.NOT (FROM SUBJECT CONTENT-TYPE)]",
            b"To: Bob <bob@example.net>, carol@example.com\r\n"
            b"Cc: dave@example.com\r\n"
            b"Date: Tue, 04 Mar 2025 10:15:00 +0100\r\n"
            b"Message-ID: <mixed1@example.org>\r\n"
            b"In-Reply-To: <parent@example.org>\r\n"
            b"MIME-Version: 1.0\r\n\r\n"),
        # A field that is not there: just the blank line.
        "BODY.PEEK[HEADER.FIELDS (X-Absent)]": (
            "BODY[HEADER.FIELDS (X-ABSENT)]", b"\r\n"),
        "BODY.PEEK[]<0.10>": ("BODY[]<0>", MIXED[:10]),
        "BODY.PEEK[TEXT]<3.5>": ("BODY[TEXT]<3>", MIXED_TEXT[3:8]),
        "BODY.PEEK[]<%d.100>" % (len(MIXED) - 4): (
            "BODY[]<%d>" % (len(MIXED) - 4), MIXED[-4:]),
        # RFC 3501 6.4.5: an origin past the end gives an empty string.
        "BODY.PEEK[]<100000.10>": ("BODY[]<100000>", b""),
    }
    for item, (name, want) in cases.items():
        r = ok(mixed.cmd("FETCH 1 (%s)" % item))
        f = fetches(r)
        assert set(f) == {1}, r
        f = f[1]
        assert name in f, (item, f)
        assert parse(f[name]) == want, (item, f[name][:300])
        # PEEK sets no flag and so no FLAGS comes along.
        assert "FLAGS" not in f, (item, f)
    assert messages(mixed.server, mixed.user)[0][1] == 0


FWD_INNER_HEADER = (
    b"From: Carol <carol@example.com>\r\n"
    b"To: Alice Example <alice@example.org>\r\n"
    b"Subject: Original message\r\n"
    b"MIME-Version: 1.0\r\n"
    b"Content-Type: multipart/alternative; boundary=\"alt\"\r\n\r\n")
FWD_P1_MIME = b"Content-Type: text/plain; charset=us-ascii\r\n\r\n"
FWD_P1 = b"Original text.\r\n"
FWD_P2_MIME = b"Content-Type: text/html; charset=us-ascii\r\n\r\n"
FWD_P2 = b"<b>Original text.</b>\r\n"
FWD_INNER_TEXT = (b"--alt\r\n" + FWD_P1_MIME + FWD_P1 + b"\r\n--alt\r\n" +
                  FWD_P2_MIME + FWD_P2 + b"\r\n--alt--\r\n")
FWD_INNER = FWD_INNER_HEADER + FWD_INNER_TEXT
FWD_PART2_MIME = (b"Content-Type: message/rfc822\r\n"
                  b"Content-Disposition: inline\r\n\r\n")
FWD = (b"From: Alice Example <alice@example.org>\r\n"
       b"Subject: Fwd: Original message\r\n"
       b"MIME-Version: 1.0\r\n"
       b"Content-Type: multipart/mixed; boundary=\"fwd\"\r\n\r\n"
       b"--fwd\r\n" + PART1_MIME + b"Forwarding this.\r\n"
       b"\r\n--fwd\r\n" + FWD_PART2_MIME + FWD_INNER +
       b"\r\n--fwd--\r\n")


def test_fetch_parts_of_an_attached_message(server, conns, user):
    c = conns.login(server, user)
    ok(append(c, "INBOX", FWD))
    ok(c.select())
    # RFC 3501 6.4.5: a message/rfc822 part has HEADER, TEXT and MIME
    # specifiers, and its body's parts are numbered below it.
    cases = {
        "1": b"Forwarding this.\r\n",
        "2": FWD_INNER,
        "2.MIME": FWD_PART2_MIME,
        "2.HEADER": FWD_INNER_HEADER,
        "2.TEXT": FWD_INNER_TEXT,
        "2.1": FWD_P1,
        "2.1.MIME": FWD_P1_MIME,
        "2.2": FWD_P2,
        "2.2.MIME": FWD_P2_MIME,
        "2.HEADER.FIELDS (SUBJECT)": b"Subject: Original message\r\n\r\n",
    }
    for section, want in cases.items():
        f = fetches(ok(c.cmd("FETCH 1 (BODY.PEEK[%s])" % section)))[1]
        assert parse(f["BODY[%s]" % section]) == want, (section, f)


def test_fetch_header_fields_folded_repeated_any_case(server, conns, user):
    msg = (b"Received: from a by b; Tue, 4 Mar 2025 10:00:00 +0000\r\n"
           b"Subject: a folded\r\n"
           b"\tsubject line\r\n"
           b"X-Other: x\r\n"
           b"received: from c\r\n"
           b" by d; Tue, 4 Mar 2025 10:01:00 +0000\r\n"
           b"\r\nbody\r\n")
    c = conns.login(server, user)
    ok(append(c, "INBOX", msg))
    ok(c.select())
    # RFC 3501 6.4.5: field names match case-insensitively; every
    # occurrence, continuation lines included; then the blank line.
    f = fetches(ok(c.cmd(
        "FETCH 1 (BODY.PEEK[HEADER.FIELDS (RECEIVED sUbJeCt)])")))[1]
    (name, value), = f.items()
    assert name == "BODY[HEADER.FIELDS (RECEIVED SUBJECT)]", f
    assert parse(value) == (
        b"Received: from a by b; Tue, 4 Mar 2025 10:00:00 +0000\r\n"
        b"Subject: a folded\r\n\tsubject line\r\n"
        b"received: from c\r\n"
        b" by d; Tue, 4 Mar 2025 10:01:00 +0000\r\n\r\n"), value
    f = fetches(ok(c.cmd(
        "FETCH 1 (BODY.PEEK[HEADER.FIELDS.NOT (Received Subject)])")))[1]
    assert parse(f["BODY[HEADER.FIELDS.NOT (RECEIVED SUBJECT)]"]) == \
        b"X-Other: x\r\n\r\n", f


def test_fetch_several_items_at_once(mixed):
    r = ok(mixed.cmd("FETCH 1 (UID BODY.PEEK[1] RFC822.SIZE BODY.PEEK[2] "
                     "BODY.PEEK[HEADER.FIELDS (Subject)] FLAGS)"))
    f = fetches(r)
    assert set(f) == {1}, r
    f = f[1]
    assert set(f) == {"UID", "BODY[1]", "RFC822.SIZE", "BODY[2]",
                      "BODY[HEADER.FIELDS (SUBJECT)]", "FLAGS"}, f
    assert parse(f["BODY[1]"]) == PART1
    assert parse(f["BODY[2]"]) == PART2
    assert parse(f["BODY[HEADER.FIELDS (SUBJECT)]"]) == \
        b"Subject: Test message\r\n\r\n"


def test_fetch_body_sets_seen(mixed):
    # RFC 3501 6.4.5: BODY[...] sets \Seen; the change comes back as
    # FLAGS in a FETCH response.
    f = fetches(ok(mixed.cmd("FETCH 1 (BODY[TEXT])")))[1]
    assert parse(f["BODY[TEXT]"]) == MIXED_TEXT
    assert "FLAGS" in f, f
    assert flags_of(f["FLAGS"]) == {"\\Seen"}, f
    assert messages(mixed.server, mixed.user)[0][1] == F_SEEN
    # Already seen: no FLAGS needed any more, but they may come.
    f = fetches(ok(mixed.cmd("FETCH 1 (BODY[1])")))[1]
    assert parse(f["BODY[1]"]) == PART1


def test_fetch_rfc822_items(mixed):
    # RFC 3501 6.4.5: RFC822.HEADER is BODY.PEEK[HEADER]; RFC822.SIZE;
    # no flag changes.
    f = fetches(ok(mixed.cmd("FETCH 1 (RFC822.HEADER RFC822.SIZE)")))[1]
    assert parse(f["RFC822.HEADER"]) == MIXED_HEADER
    assert "FLAGS" not in f, f
    assert messages(mixed.server, mixed.user)[0][1] == 0
    # RFC822.TEXT is BODY[TEXT]: sets \Seen.
    f = fetches(ok(mixed.cmd("FETCH 1 (RFC822.TEXT)")))[1]
    assert parse(f["RFC822.TEXT"]) == MIXED_TEXT
    assert flags_of(f["FLAGS"]) == {"\\Seen"}, f
    ok(mixed.cmd("STORE 1 -FLAGS.SILENT (\\Seen)"))
    # RFC822 is BODY[]: sets \Seen too.
    f = fetches(ok(mixed.cmd("FETCH 1 RFC822")))[1]
    assert parse(f["RFC822"]) == MIXED
    assert flags_of(f["FLAGS"]) == {"\\Seen"}, f
    assert messages(mixed.server, mixed.user)[0][1] == F_SEEN


def test_fetch_macros(mixed):
    # RFC 3501 6.4.5: ALL, FAST, FULL.
    f = fetches(ok(mixed.cmd("FETCH 1 ALL")))[1]
    assert set(f) == {"FLAGS", "INTERNALDATE", "RFC822.SIZE", "ENVELOPE"}, f
    assert f["ENVELOPE"] == MIXED_ENVELOPE
    f = fetches(ok(mixed.cmd("FETCH 1 FAST")))[1]
    assert set(f) == {"FLAGS", "INTERNALDATE", "RFC822.SIZE"}, f
    f = fetches(ok(mixed.cmd("FETCH 1 FULL")))[1]
    assert set(f) == {"FLAGS", "INTERNALDATE", "RFC822.SIZE", "ENVELOPE",
                      "BODY"}, f
    assert f["BODY"] == MIXED_BODY
    # Macros are not allowed in a list (RFC 3501 9: fetch-att).
    bad(mixed.cmd("FETCH 1 (ALL)"))
    # A single item without parentheses.
    f = fetches(ok(mixed.cmd("FETCH 1 UID")))[1]
    assert f == {"UID": b"1"}


def test_fetch_sequence_sets(server, conns, user):
    fill(server, user, 5)
    c = conns.login(server, user)
    ok(c.select())

    def seqs(spec, uid=False):
        r = ok(c.cmd("%sFETCH %s (UID)" % ("UID " if uid else "", spec)))
        f = fetches(r)
        return sorted(f), sorted(int(v["UID"]) for v in f.values())

    # RFC 3501 9: seq-range in either order, "*" the last, lists.
    assert seqs("1:*")[0] == [1, 2, 3, 4, 5]
    assert seqs("*")[0] == [5]
    assert seqs("5:2")[0] == [2, 3, 4, 5]
    assert seqs("2:3,5")[0] == [2, 3, 5]
    assert seqs("1,3,5")[0] == [1, 3, 5]
    assert seqs("*:4")[0] == [4, 5]
    assert seqs("3,1:2,3")[0] == [1, 2, 3]
    # UIDs: "n:*" includes the highest UID even past it (RFC 3501 6.4.8).
    assert seqs("3:*", uid=True)[1] == [3, 4, 5]
    assert seqs("100:*", uid=True)[1] == [5]
    assert seqs("*", uid=True)[1] == [5]
    assert seqs("2,4", uid=True)[1] == [2, 4]
    # UIDs that do not exist: OK and nothing (RFC 3501 6.4.8).
    assert seqs("6:99", uid=True) == ([], [])
    assert seqs("99", uid=True) == ([], [])


def test_fetch_invalid_sequence_numbers(server, conns, user):
    fill(server, user, 2)
    c = conns.login(server, user)
    ok(c.select())
    # Past the last message: an error (RFC 3501 9: seq-number is a
    # message that exists); 0 is not a number there at all.
    refused(c.cmd("FETCH 3 (FLAGS)"))
    refused(c.cmd("FETCH 1:3 (FLAGS)"))
    bad(c.cmd("FETCH 0 (FLAGS)"))
    bad(c.cmd("FETCH 1:0 (FLAGS)"))
    bad(c.cmd("FETCH a (FLAGS)"))
    bad(c.cmd("FETCH 1, (FLAGS)"))
    bad(c.cmd("FETCH 1 (NOSUCHITEM)"))
    bad(c.cmd("FETCH 1 (BODY[9.NOPE])"))
    bad(c.cmd("FETCH 1 (FLAGS"))
    ok(c.cmd("FETCH 1:2 (FLAGS)"))


def test_fetch_in_empty_mailbox(server, conns, user):
    c = conns.login(server, user)
    ok(c.select())
    # No messages: any sequence number is past the end ...
    refused(c.cmd("FETCH 1:* (FLAGS)"))
    # ... while UID FETCH finds nothing.
    r = ok(c.cmd("UID FETCH 1:* (FLAGS)"))
    assert fetches(r) == {}, r


def test_uid_fetch_always_includes_uid(server, conns, user):
    fill(server, user, 3)
    c = conns.login(server, user)
    ok(c.select())
    # RFC 3501 6.4.8: UID FETCH answers carry the UID even unasked.
    f = fetches(ok(c.cmd("UID FETCH 2:3 (FLAGS)")))
    assert {s: v["UID"] for s, v in f.items()} == {2: b"2", 3: b"3"}, f
    f = fetches(ok(c.cmd("UID FETCH 1 (BODY.PEEK[HEADER.FIELDS "
                         "(Subject)])")))
    assert f[1]["UID"] == b"1"
    assert parse(f[1]["BODY[HEADER.FIELDS (SUBJECT)]"]) == \
        b"Subject: message 1\r\n\r\n"


def test_fetch_with_imaplib(server, conns, user):
    stored = fill(server, user, 2)
    m = conns.imaplib(server)
    m.login(user, PASSWORD)
    typ, data = m.select("INBOX", readonly=True)
    assert typ == "OK" and data == [b"2"], data
    typ, data = m.fetch("1:2", "(UID RFC822.SIZE BODY.PEEK[])")
    assert typ == "OK", data
    got = [d for d in data if isinstance(d, tuple)]
    assert [g[1] for g in got] == stored
    typ, data = m.uid("FETCH", "2", "(FLAGS)")
    assert typ == "OK" and b"UID 2" in data[0], data
    m.logout()


# ---------------------------------------------------------------- STORE

def test_store_flags_variants(server, conns, user):
    fill(server, user, 2)
    c = conns.login(server, user)
    ok(c.select())
    # RFC 3501 6.4.6: +FLAGS adds, and the new flags come back.
    r = ok(c.cmd("STORE 1 +FLAGS (\\Flagged)"))
    f = fetches(r)
    assert set(f) == {1} and flags_of(f[1]["FLAGS"]) == {"\\Flagged"}, r
    # .SILENT: nothing untagged.
    r = ok(c.cmd("STORE 1 +FLAGS.SILENT (\\Seen \\Answered)"))
    assert fetches(r) == {}, r
    assert messages(server, user)[0][1] == F_FLAGGED | F_SEEN | F_ANSWERED
    r = ok(c.cmd("STORE 1 -FLAGS (\\Flagged)"))
    assert flags_of(fetches(r)[1]["FLAGS"]) == {"\\Seen", "\\Answered"}, r
    # FLAGS replaces; keywords ($Forwarded, a custom atom) kept as given.
    r = ok(c.cmd("STORE 1:2 FLAGS (\\Draft $Forwarded Project_X)"))
    f = fetches(r)
    assert set(f) == {1, 2}, r
    for s in (1, 2):
        assert flags_of(f[s]["FLAGS"]) == {"\\Draft", "$Forwarded",
                                           "Project_X"}, r
    assert messages(server, user) == [
        (1, F_DRAFT, {"$Forwarded", "Project_X"}),
        (2, F_DRAFT, {"$Forwarded", "Project_X"})]
    r = ok(c.cmd("STORE 2 -FLAGS.SILENT ($Forwarded)"))
    assert fetches(r) == {}, r
    r = ok(c.cmd("STORE 1:* FLAGS ()"))
    assert all(v["FLAGS"] == b"()" for v in fetches(r).values()), r
    assert messages(server, user) == [(1, 0, set()), (2, 0, set())]
    # A new keyword is permanent: listed in FLAGS/PERMANENTFLAGS of a
    # new SELECT or allowed through \*.
    ok(c.cmd("STORE 1 +FLAGS.SILENT (Project_Y)"))
    r = ok(c.select())
    perm = flags_of(resp_code(r, "PERMANENTFLAGS"))
    assert "\\*" in perm or "Project_Y" in perm, r


def test_store_invalid(server, conns, user):
    fill(server, user, 1)
    c = conns.login(server, user)
    ok(c.select())
    # \Recent cannot be stored (RFC 3501 2.3.2); unknown system flags
    # and bad syntax are refused; the message is untouched.
    refused(c.cmd("STORE 1 +FLAGS (\\Recent)"))
    refused(c.cmd("STORE 1 +FLAGS (\\Bogus)"))
    bad(c.cmd("STORE 1 +FLAGS (a(b)"))
    bad(c.cmd("STORE 1 XFLAGS (\\Seen)"))
    bad(c.cmd('STORE 1 +FLAGS ("quoted")'))
    refused(c.cmd("STORE 2 +FLAGS (\\Seen)"))
    assert messages(server, user) == [(1, 0, set())]


def test_uid_store(server, conns, user):
    fill(server, user, 3)
    c = conns.login(server, user)
    ok(c.select())
    # RFC 3501 6.4.8: UID STORE's FETCH answers carry the UID.
    r = ok(c.cmd("UID STORE 2:3 +FLAGS (\\Answered)"))
    f = fetches(r)
    assert {s: v["UID"] for s, v in f.items()} == {2: b"2", 3: b"3"}, r
    assert all(flags_of(v["FLAGS"]) == {"\\Answered"} for v in f.values())
    r = ok(c.cmd("UID STORE 99 +FLAGS (\\Answered)"))
    assert fetches(r) == {}, r
    assert [m[1] for m in messages(server, user)] == [0, F_ANSWERED,
                                                      F_ANSWERED]


def test_copy_and_uid_copy(server, conns, user):
    stored = fill(server, user, 3)
    c = conns.login(server, user)
    ok(c.select())
    ok(c.cmd("STORE 2 +FLAGS.SILENT (\\Flagged $Label1)"))
    # RFC 3501 6.4.7: flags and internal date are copied too.
    r = ok(c.cmd('COPY 2:3 "Archive"'))
    if r.code == "COPYUID":
        rows = mailbox_rows(server, user)
        assert re.match(rb"\[COPYUID %d 2:3 1:2\]" % rows["Archive"][0],
                        r.text), r
    assert messages(server, user, "Archive") == [
        (1, F_FLAGGED, {"$Label1"}), (2, 0, set())]
    assert show(server, user, 1, "Archive") == stored[1]
    r = ok(c.cmd('UID COPY 1,3 "Trash"'))
    assert [m[0] for m in messages(server, user, "Trash")] == [1, 2]
    assert show(server, user, 2, "Trash") == stored[2]
    # The source is unchanged.
    assert [m[0] for m in messages(server, user)] == [1, 2, 3]
    # RFC 3501 6.4.7: to a missing mailbox: NO [TRYCREATE].
    no(c.cmd('COPY 1 "nope"'), "TRYCREATE")
    no(c.cmd('UID COPY 1 "nope"'), "TRYCREATE")
    # Internal dates equal.
    ok(c.select("Archive"))
    a = fetches(ok(c.cmd("FETCH 1 (INTERNALDATE)")))[1]
    ok(c.select("INBOX"))
    b = fetches(ok(c.cmd("FETCH 2 (INTERNALDATE)")))[2]
    assert a == b


def test_copy_into_selected_mailbox(server, conns, user):
    stored = fill(server, user, 2)
    c = conns.login(server, user)
    ok(c.select())
    r = ok(c.cmd("COPY 1:2 INBOX"))
    seen = exists(r)
    r = ok(c.cmd("NOOP"))
    # RFC 3501 6.4.7 / 7.3.1: the copies are new messages of the selected
    # mailbox, announced with EXISTS.
    assert 4 in (seen, exists(r)), r
    assert [m[0] for m in messages(server, user)] == [1, 2, 3, 4]
    f = fetches(ok(c.cmd("FETCH 3:4 (UID BODY.PEEK[])")))
    assert [parse(f[s]["BODY[]"]) for s in (3, 4)] == stored
    assert [f[s]["UID"] for s in (3, 4)] == [b"3", b"4"]


# ------------------------------------- extensions, when announced

def caps_after_login(c):
    r = ok(c.cmd("CAPABILITY"))
    return capabilities(r.starting("* CAPABILITY")[0])


def test_uidplus_uid_expunge(server, conns, user):
    fill(server, user, 4)
    c = conns.login(server, user)
    if "UIDPLUS" not in caps_after_login(c):
        pytest.skip("UIDPLUS not announced")
    ok(c.select())
    ok(c.cmd("STORE 1:3 +FLAGS.SILENT (\\Deleted)"))
    # RFC 4315 2.1: only the \Deleted messages among the given UIDs go.
    r = ok(c.cmd("UID EXPUNGE 2:4"))
    assert expunges(r) in ([2, 2], [3, 2]), r
    assert [(m[0], m[1]) for m in messages(server, user)] == [
        (1, F_DELETED), (4, 0)]
    # RFC 4315 3: APPENDUID and COPYUID.
    rows = mailbox_rows(server, user)
    r = ok(append(c, "Trash", message(9)))
    assert r.text.startswith(b"[APPENDUID %d 1]" % rows["Trash"][0]), r
    r = ok(c.cmd('UID COPY 1,4 "Trash"'))
    assert r.text.startswith(b"[COPYUID %d 1,4 2:3]" % rows["Trash"][0]) \
        or r.text.startswith(b"[COPYUID %d 1:4 2:3]" % rows["Trash"][0]) \
        or r.text.startswith(b"[COPYUID %d 1,4 2,3]" % rows["Trash"][0]), r


def test_move(server, conns, user):
    stored = fill(server, user, 3)
    c = conns.login(server, user)
    if "MOVE" not in caps_after_login(c):
        pytest.skip("MOVE not announced")
    ok(c.select())
    # RFC 6851 3.3: the messages go, with EXPUNGE responses, and are in
    # the target; to a missing mailbox: NO [TRYCREATE].
    r = ok(c.cmd('MOVE 2 "Archive"'))
    assert expunges(r) == [2], r
    assert [m[0] for m in messages(server, user)] == [1, 3]
    assert show(server, user, 1, "Archive") == stored[1]
    r = ok(c.cmd('UID MOVE 3 "Archive"'))
    assert expunges(r) == [2], r
    assert [m[0] for m in messages(server, user, "Archive")] == [1, 2]
    no(c.cmd('MOVE 1 "nope"'), "TRYCREATE")
    assert [m[0] for m in messages(server, user)] == [1]


def test_move_into_the_selected_mailbox(server, conns, user):
    # RFC 6851 3.1: MOVE is COPY then EXPUNGE; into the selected mailbox
    # the message gets a new UID (mbsync does this with a Trash folder).
    stored = fill(server, user, 2)
    c = conns.login(server, user)
    ok(c.select())
    r = ok(c.cmd('UID MOVE 1 "INBOX"'))
    assert expunges(r) == [1], r
    assert any(b"[COPYUID " in line and b" 1 3]" in line
               for line in r.untagged), r
    assert [m[0] for m in messages(server, user)] == [2, 3]
    assert show(server, user, 3) == stored[0]
    # The new copy is announced with the expunge (RFC 3501 7.3.1).
    assert r.untagged.index(b"* 1 EXPUNGE") < r.untagged.index(
        b"* 2 EXISTS"), r


def test_namespace(server, conns, user):
    c = conns.login(server, user)
    if "NAMESPACE" not in caps_after_login(c):
        pytest.skip("NAMESPACE not announced")
    # RFC 2342 5: one personal namespace, "" with "/"; no others.
    r = ok(c.cmd("NAMESPACE"))
    assert r.untagged == [b'* NAMESPACE (("" "/")) NIL NIL'], r


# ------------------------------------------------------ two sessions

def test_changes_by_another_session(server, conns, user):
    fill(server, user, 3)
    a = conns.login(server, user)
    b = conns.login(server, user)
    ok(a.select())
    ok(b.select())
    # B appends: A learns on NOOP (RFC 3501 7.3.1).
    ok(append(b, "INBOX", message(4)))
    r = ok(a.cmd("NOOP"))
    assert exists(r) == 4, r
    # B changes flags: A gets FETCH FLAGS (RFC 3501 7.4.2).
    ok(b.cmd("STORE 1 +FLAGS.SILENT (\\Flagged)"))
    r = ok(a.cmd("NOOP"))
    f = fetches(r)
    assert flags_of(f[1]["FLAGS"]) == {"\\Flagged"}, r
    # B expunges message 2: A gets no EXPUNGE during FETCH or STORE by
    # sequence number (RFC 3501 7.4.1), and the numbers hold meanwhile.
    ok(b.cmd("STORE 2 +FLAGS.SILENT (\\Deleted)"))
    r = ok(b.cmd("EXPUNGE"))
    assert expunges(r) == [2], r
    r = ok(a.cmd("FETCH 1,3 (UID)"))
    assert expunges(r) == [], r
    assert {s: v["UID"] for s, v in fetches(r).items()} == {1: b"1",
                                                            3: b"3"}, r
    r = ok(a.cmd("STORE 3 +FLAGS (\\Answered)"))
    assert expunges(r) == [], r
    assert fetches(r)[3]["FLAGS"] is not None
    r = ok(a.cmd("NOOP"))
    assert expunges(r) == [2], r
    f = fetches(ok(a.cmd("FETCH 1:* (UID)")))
    assert {s: v["UID"] for s, v in f.items()} == {
        1: b"1", 2: b"3", 3: b"4"}, f
    assert [m[0] for m in messages(server, user)] == [1, 3, 4]


def test_message_expunged_by_another_session_still_numbered(
        server, conns, user):
    stored = fill(server, user, 3)
    a = conns.login(server, user)
    b = conns.login(server, user)
    ok(a.select())
    ok(b.select())
    ok(b.cmd("STORE 2 +FLAGS.SILENT (\\Deleted)"))
    ok(b.cmd("EXPUNGE"))
    # RFC 3501 7.4.1 / 5.5: A has not been told, so 2 is still its
    # message 2: FETCH and STORE of it answer OK (with what is known) or
    # NO, and never with an EXPUNGE.
    for cmd in ("FETCH 2 (UID BODY.PEEK[])", "STORE 2 +FLAGS (\\Seen)",
                "FETCH 1:3 (UID)", "STORE 3 +FLAGS.SILENT (\\Seen)"):
        r = a.cmd(cmd)
        assert r.status in (b"OK", b"NO"), (cmd, r)
        assert expunges(r) == [], (cmd, r)
        f = fetches(r)
        if 2 in f and "BODY[]" in f[2]:
            assert parse(f[2]["BODY[]"]) == stored[1], r
        if 3 in f and "UID" in f[3]:
            assert f[3]["UID"] == b"3", r
    # Message 3 is still 3 until A is told.
    f = fetches(ok(a.cmd("FETCH 3 (UID)")))
    assert f[3]["UID"] == b"3"
    # COPY is not one of FETCH, STORE, SEARCH: the EXPUNGE may come with
    # its answer (RFC 3501 7.4.1), or else with NOOP's.
    r = a.cmd('COPY 2 "Trash"')
    assert r.status in (b"OK", b"NO"), r
    told = expunges(r)
    r = ok(a.cmd("NOOP"))
    assert told + expunges(r) == [2], (told, r)
    f = fetches(ok(a.cmd("FETCH 1:* (UID)")))
    assert {s: v["UID"] for s, v in f.items()} == {1: b"1", 2: b"3"}, f
    assert [m[0] for m in messages(server, user)] == [1, 3]


def test_smtp_delivery_appears_on_noop(server, conns, user):
    c = conns.login(server, user)
    r = ok(c.select())
    assert exists(r) == 0
    msg = (b"From: <sender@example.net>\r\nTo: <%s>\r\n"
           b"Subject: by smtp\r\n\r\nhello\r\n" % user.encode())
    with smtplib.SMTP(HOST, server.ports["smtp"], timeout=TIMEOUT) as s:
        s.sendmail("sender@example.net", [user], msg)
    deadline = time.time() + 5
    while True:
        r = ok(c.cmd("NOOP"))
        if exists(r) == 1:
            break
        assert exists(r) is None, r
        assert time.time() < deadline, "no EXISTS after SMTP delivery"
        time.sleep(0.1)
    f = fetches(ok(c.cmd("FETCH 1 (BODY.PEEK[TEXT] ENVELOPE)")))[1]
    assert parse(f["BODY[TEXT]"]) == b"hello\r\n"
    assert b'"by smtp"' in f["ENVELOPE"]


def test_pop3_sees_imap_append(server, conns, user):
    import poplib
    c = conns.login(server, user)
    ok(append(c, "INBOX", MIXED))
    p = poplib.POP3(HOST, server.ports["pop3"], timeout=TIMEOUT)
    try:
        p.user(user)
        p.pass_(PASSWORD)
        assert p.stat() == (1, len(MIXED))
        _, lines, _ = p.retr(1)
        assert b"\r\n".join(lines) + b"\r\n" == MIXED
    finally:
        p.quit()


# ---------------------------------------------------------------- parser

def test_syntax_errors_are_bad_and_session_continues(server, conns, user):
    fill(server, user, 1)
    # RFC 3501 7.1.5 / 6: BAD for syntax, and the session goes on. A few
    # per session: LIMIT_IMAP_BAD_COMMANDS of them would end it.
    # (RFC 3501 9: NOOP takes no argument; a quoted string escapes only
    # '"' and '\\'; HEADER.FIELDS needs at least one name.)
    lines = ["FETCH", "SELECT", "NOOP extra", 'LIST ""',
             'SELECT "unterminated', "FETCH 1 FLAGS)", "STORE 1",
             "COPY 1", "APPEND", "STATUS INBOX", "UID", "UID NOPE 1",
             "FETCH 1 (BODY[HEADER.FIELDS ()])", 'SELECT "a\\q"',
             "FETCH 1 (BODY[]<1.0.2>)", "SELECT INBOX INBOX"]
    for i in range(0, len(lines), 4):
        c = conns.login(server, user)
        ok(c.select())
        for line in lines[i:i + 4]:
            bad(c.cmd(line))
            ok(c.cmd("NOOP"))
        ok(c.cmd("FETCH 1 (UID)"))
    # An empty line has no tag to answer with: "* BAD" (RFC 3501 7.1.5)
    # or nothing; a line without a tag gets BAD.
    c = conns.login(server, user)
    c.send(b"\r\n")
    r = ok(c.cmd("NOOP"))
    assert r.untagged in ([], [b"* BAD"]) or (
        len(r.untagged) == 1 and r.untagged[0].startswith(b"* BAD ")), r
    c.send(b"NOOP\r\n")
    line = c.response()
    assert line.startswith(b"* BAD") or line.startswith(b"NOOP BAD"), line
    ok(c.cmd("NOOP"))


def test_pipelined_commands(server, conns, user):
    stored = fill(server, user, 2)
    c = conns.login(server, user)
    # RFC 3501 5.5: a client may send commands without waiting; each
    # gets its own tagged answer, in order here as none can run at once.
    c.send(b"p1 SELECT INBOX\r\n"
           b"p2 FETCH 1 (BODY.PEEK[])\r\n"
           b"p3 STORE 2 +FLAGS (\\Flagged)\r\n"
           b"p4 BOGUS\r\n"
           b"p5 APPEND Drafts {3+}\r\nabc p6 NOOP\r\n"
           b"p6 FETCH 2 (UID FLAGS)\r\n")
    got = {}
    untagged = {}
    pending = []
    while len(got) < 6:
        line = c.response()
        if line.startswith(b"* "):
            pending.append(line)
            continue
        tag, rest = line.split(b" ", 1)
        got[tag] = rest
        untagged[tag] = pending
        pending = []
    assert list(got) == [b"p1", b"p2", b"p3", b"p4", b"p5", b"p6"], got
    assert got[b"p1"].startswith(b"OK"), got
    assert got[b"p2"].startswith(b"OK"), got
    f = fetch_items(untagged[b"p2"][0])
    assert parse(f[1]["BODY[]"]) == stored[0]
    assert got[b"p3"].startswith(b"OK"), got
    assert got[b"p4"].startswith(b"BAD"), got
    # The LITERAL+ literal "abc" ended where it said: " p6 NOOP" is the
    # rest of APPEND's line, a syntax error there.
    assert got[b"p5"].startswith(b"BAD"), got
    assert got[b"p6"].startswith(b"OK"), got
    f = fetch_items(untagged[b"p6"][-1])
    assert f[1]["UID"] == b"2" and "\\Flagged" in flags_of(f[1]["FLAGS"])
    assert messages(server, user, "Drafts") == []


def test_unusual_tags(server, conns, user):
    c = conns.login(server, user)
    # RFC 3501 9: tag = 1*<any ASTRING-CHAR except "+">: "]" and most
    # punctuation are allowed; the answer echoes the tag as sent.
    for tag in (b"A.1", b"x]y", b"T-1_!$&'", b"999", b"a" * 100):
        r = ok(c.cmd("NOOP", tag=tag))
        assert r.tagged.startswith(tag + b" OK"), r
    # "+" and "*" cannot start a tag (they are continuation/untagged
    # marks): BAD, untagged since there is no tag to answer with.
    for bad_tag in (b"+x", b"(x"):
        c.send(bad_tag + b" NOOP\r\n")
        line = c.response()
        assert line.startswith(b"* BAD") or line.startswith(
            bad_tag + b" BAD"), line
    ok(c.cmd("NOOP"))


def test_unknown_command_bad(server, conns, user):
    c = conns.login(server, user)
    bad(c.cmd("XYZZY"))
    bad(c.cmd("XYZZY arg"))
    # IMAP4rev2/extension verbs the server does not announce.
    r = ok(c.cmd("CAPABILITY"))
    caps = capabilities(r.starting("* CAPABILITY")[0])
    if "MOVE" not in caps:
        refused(c.cmd('MOVE 1 "Trash"'))
    ok(c.cmd("NOOP"))


def test_commands_in_wrong_state(server, conns, user):
    fill(server, user, 1)
    c = conns.plain(server)
    # RFC 3501 3 / 6: SELECT needs authentication, FETCH a selected
    # mailbox; both refused. (Two: before login bad commands are few.)
    refused(c.select())
    refused(c.cmd("FETCH 1 (FLAGS)"))
    ok(c.login(user))
    for line in ("FETCH 1 (FLAGS)", "STORE 1 +FLAGS (\\Seen)", "EXPUNGE",
                 "CLOSE", "UNSELECT", "CHECK", 'COPY 1 "Trash"',
                 "UID FETCH 1 (FLAGS)"):
        refused(c.cmd(line))
    ok(c.select())
    # Once authenticated, LOGIN and AUTHENTICATE are out of place.
    c = conns.login(server, user)
    refused(c.login(user))
    refused(c.cmd("AUTHENTICATE PLAIN " + plain_ir(user, PASSWORD)))
    ok(c.select())
    assert messages(server, user) == [(1, 0, set())]


def test_zero_length_literal_arguments(server, conns, user):
    c = conns.login(server, user)
    # RFC 3501 4.3: "{0}" is a valid (empty) string: an empty reference.
    r = ok(c.cmd("LIST ", Lit(b""), ' "%"'))
    assert set(list_entries(r)) == set(DEFAULT_MAILBOXES), r
    r = ok(c.cmd("LIST ", Lit(b""), " ", Lit(b"")))
    assert r.untagged == [b'* LIST (\\Noselect) "/" ""'], r
    # And a literal mailbox name.
    r = ok(c.cmd("SELECT ", Lit(b"INBOX")))
    ok(c.cmd("STATUS ", Lit(b"Sent"), " (MESSAGES)", plus=True))


def test_long_line_under_limit_accepted(server, conns, user):
    c = conns.login(server, user)
    # A line well under 64 KiB after login: answered (whatever the
    # answer to such a pattern is), the session goes on.
    pattern = b"x" * (LIMIT_IMAP_LINE - 1024)
    r = c.cmd(b'LIST "" "' + pattern + b'"')
    assert r.status in (b"OK", b"NO", b"BAD"), r
    ok(c.cmd("NOOP"))


def test_line_over_limit_closes(server, conns, user):
    c = conns.login(server, user)
    # Over the limit: "* BYE" and close, no resynchronising (CONVENTIONS).
    c.send(b"a1 NOOP " + b"x" * (LIMIT_IMAP_LINE + 1024) + b"\r\n")
    lines = []
    try:
        while True:
            lines.append(c.response())
    except conftest.Closed:
        pass
    assert any(l.startswith(b"* BYE") for l in lines), lines
    assert not any(l.startswith(b"a1 OK") for l in lines), lines


def flood(c, count):
    """Sends up to count bad commands, one at a time; returns the lines
    that came back, up to the server closing."""
    lines = []
    try:
        for i in range(count):
            c.send(b"b%d BOGUS\r\n" % i)
            lines.append(c.response())
            while lines[-1].startswith(b"b%d BAD" % i) and c.buf:
                lines.append(c.response())
            if lines[-1].startswith(b"* BYE"):
                break
    except (conftest.Closed, OSError):
        pass
    return lines


def test_flood_of_bad_commands_closes(server, conns, user):
    limit = LIMITS.get("LIMIT_IMAP_BAD_COMMANDS", 10)
    c = conns.login(server, user)
    lines = flood(c, limit + 5)
    # Each bad command gets BAD, then "* BYE" and the server closes.
    assert lines and lines[-1].startswith(b"* BYE"), lines
    bads = [l for l in lines if re.match(rb"b\d+ BAD", l)]
    assert limit - 1 <= len(bads) <= limit, lines
    assert len(lines) - len(bads) == 1, lines
    assert c.closed()


def test_bad_commands_before_login_close(server, conns):
    limit = LIMITS.get("LIMIT_IMAP_PREAUTH_BAD_COMMANDS", 3)
    c = conns.plain(server)
    lines = flood(c, limit + 5)
    assert lines and lines[-1].startswith(b"* BYE"), lines
    bads = [l for l in lines if re.match(rb"b\d+ BAD", l)]
    assert limit - 1 <= len(bads) <= limit, lines
    assert c.closed()


def test_login_password_with_specials(server, conns):
    password = 'p "w\\ d {1}%*'
    user = new_user(server, password=password)
    c = conns.plain(server)
    # RFC 3501 9: a quoted string escapes '"' and '\\'; or a literal.
    ok(c.cmd("LOGIN ", q(user), " ", q(password)))
    c = conns.plain(server)
    ok(c.cmd("LOGIN ", q(user), " ", Lit(password.encode())))
    c = conns.plain(server)
    ok(c.cmd("AUTHENTICATE PLAIN " + plain_ir(user, password)))


def test_line_over_limit_before_login_closes(server, conns):
    limit = LIMITS.get("LIMIT_IMAP_PREAUTH_LINE", 2176)
    c = conns.plain(server)
    # Before login lines are short (CONVENTIONS.md): over the limit,
    # "* BYE" and close.
    c.send(b"a1 LOGIN " + b"x" * (limit + 100) + b" y\r\n")
    lines = []
    try:
        while True:
            lines.append(c.response())
    except conftest.Closed:
        pass
    assert any(l.startswith(b"* BYE") for l in lines), lines
    assert not any(l.startswith(b"a1 OK") for l in lines), lines


def test_big_literal_before_login_refused(server, conns):
    limit = LIMITS.get("LIMIT_IMAP_PREAUTH_LITERAL", 1088)
    c = conns.plain(server)
    tag = c.next_tag()
    c.send(tag + b" LOGIN {%d}\r\n" % (limit + 1))
    line = c.response()
    # Refused before the "+" (no one sends a password that long).
    assert not line.startswith(b"+"), line
    assert re.match(tag + rb" (NO|BAD) ", line) or \
        line.startswith(b"* BYE"), line


# ------------------------------------------ failed logins (throttled)

def test_login_wrong_password(server, conns, user):
    c = conns.plain(server)
    t0 = time.time()
    # RFC 5530 3: AUTHENTICATIONFAILED; after the throttle's delay.
    no(c.login(user, "wrong-password"), "AUTHENTICATIONFAILED")
    assert time.time() - t0 >= 1.0
    # The session stays in the not-authenticated state and may retry.
    refused(c.select())
    ok(c.login(user))
    ok(c.select())


def test_authenticate_plain_wrong_password(server, conns, user):
    c = conns.plain(server)
    no(c.cmd("AUTHENTICATE PLAIN " + plain_ir(user, "nope")),
       "AUTHENTICATIONFAILED")
    ok(c.cmd("AUTHENTICATE PLAIN " + plain_ir(user, PASSWORD)))
