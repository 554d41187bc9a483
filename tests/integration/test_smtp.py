"""Inbound SMTP (port "smtp") and submission (port "submission") driven
by Python's smtplib and by raw sockets where a client library would hide
what is under test (pipelining, smuggling, BDAT, pre-greeting talkers).

Every test asserts the exact reply code and enhanced status code (RFC
2034, RFC 3463) and then the state it leaves: what `letterbox message
list|show` and the database hold, and the daemon's log line.

The smtp port waits LIMIT_SMTP_PREGREET_MS (1 s) before its greeting, so
each connection to it costs a second: tests put several checks in one
session where the checks belong together, and use the submission port
(no wait) where the behaviour under test is not specific to port 25.
"""
import base64
import email.utils
import re
import signal
import smtplib
import socket
import sqlite3
import time

import pytest

import conftest

TIMEOUT = 5
HOST = "127.0.0.1"
# common/limits.h
LIMIT_SMTP_LINE = 512
LIMIT_SMTP_DATA_LINE = 64 * 1024
LIMIT_SMTP_BAD_COMMANDS = 10
LIMIT_RECIPIENTS = 100
LIMIT_CONNECTIONS_PER_IP = 20


# ---------------------------------------------------------------- clients

class Reply:
    """One SMTP reply: code and the text of each line (after "NNN-"
    or "NNN ")."""

    def __init__(self, code, lines, raw):
        self.code = code
        self.lines = lines
        self.raw = raw

    @property
    def text(self):
        return "\n".join(self.lines)

    def __repr__(self):
        return "Reply(%r)" % self.raw


def expect(reply, code, enh=None, contains=None):
    """Asserts the reply code, the enhanced status code on every line
    (RFC 2034 3: "each line of a multiline reply"), and a substring."""
    assert reply.code == code, reply
    if enh is not None:
        for line in reply.lines:
            assert line.split(" ", 1)[0] == enh, reply
    if contains is not None:
        assert contains in reply.text, reply
    return reply


class Raw(conftest.LineClient):
    """A line-level SMTP client over a socket (or TLS socket)."""

    def __init__(self, port, greet=True, timeout=TIMEOUT, sock=None):
        super().__init__(port, timeout=timeout, sock=sock)
        self.greeting = self.reply() if greet else None

    def reply(self):
        lines, raw = [], b""
        while True:
            line = self.line()
            raw += line
            assert line.endswith(b"\r\n"), "reply line without CRLF: %r" % (
                line)
            assert re.match(rb"^[2-5]\d\d[ -]", line) or \
                re.match(rb"^[2-5]\d\d\r\n$", line), line
            lines.append(line[4:-2].decode("utf-8", "replace"))
            if line[3:4] != b"-":
                code = int(line[:3])
                return Reply(code, lines, raw)

    def cmd(self, line):
        if isinstance(line, str):
            line = line.encode()
        self.send(line + b"\r\n")
        return self.reply()

    def ehlo(self, name="client.example"):
        return expect(self.cmd("EHLO " + name), 250)

    def starttls(self, ctx):
        assert self.buf == b"", self.buf
        self.sock = ctx.wrap_socket(self.sock)

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


def plain(user, password, authzid=""):
    return base64.b64encode(("%s\0%s\0%s" % (authzid, user, password))
                            .encode()).decode()


def b64(text):
    return base64.b64encode(text.encode()).decode()


def login(c, user="alice@example.org", password="secret"):
    expect(c.cmd("AUTH PLAIN " + plain(user, password)), 235, "2.7.0")


def send_message(c, sender, rcpts, message, data_line=b"DATA"):
    """MAIL, RCPTs, DATA with message (already dot-stuffed, CRLF) and the
    terminator; returns the final reply."""
    expect(c.cmd("MAIL FROM:<%s>" % sender), 250, "2.1.0")
    for r in rcpts:
        expect(c.cmd("RCPT TO:<%s>" % r), 250, "2.1.5")
    expect(c.cmd(data_line), 354)
    c.send(message + b".\r\n")
    return c.reply()


def delivered_id(reply):
    expect(reply, 250, "2.0.0")
    m = re.search(r"\b([0-9a-f]{16})\b", reply.text)
    assert m, reply
    return m.group(1)


# ---------------------------------------------------------------- store

def listing(d, user, mailbox="INBOX"):
    """The rows of `letterbox message list` (without the heading)."""
    out = d.lb.out("message", "list", user, mailbox)
    rows = [l for l in out.splitlines() if l.strip()]
    if not rows:
        return []
    assert rows[0].split()[0] == "UID", out
    return rows[1:]


def show(d, user, uid=1, mailbox="INBOX"):
    return d.lb.run("message", "show", user, mailbox, str(uid)).stdout


def count(d, user=None):
    db = sqlite3.connect(d.lb.db_path, timeout=10)
    try:
        if user is None:
            return db.execute("SELECT count(*) FROM messages").fetchone()[0]
        return db.execute(
            "SELECT count(*) FROM messages m JOIN users u "
            "ON u.id = m.user_id WHERE u.address = ?",
            (user,)).fetchone()[0]
    finally:
        db.close()


def bodies(d):
    db = sqlite3.connect(d.lb.db_path, timeout=10)
    try:
        return db.execute("SELECT count(*) FROM bodies").fetchone()[0]
    finally:
        db.close()


def split_trace(stored):
    """(Return-Path field, Received field, the rest) of a stored message:
    the server adds exactly these two fields in front of what the client
    sent (RFC 5321 4.4)."""
    fields = []
    pos = 0
    for _ in range(2):
        end = pos
        while True:
            nl = stored.index(b"\r\n", end) + 2
            end = nl
            if stored[end:end + 1] not in (b" ", b"\t"):
                break
        fields.append(stored[pos:end])
        pos = end
    assert fields[0].startswith(b"Return-Path: "), stored[:300]
    assert fields[1].startswith(b"Received: "), stored[:300]
    return fields[0], fields[1], stored[pos:]


DATE_RE = rb"\w{3}, \d{2} \w{3} \d{4} \d{2}:\d{2}:\d{2} [+-]\d{4}"


def received_re(helo="client\\.example", proto="ESMTP", tls=None, rcpt=None):
    """The exact Received field smtpd/smtp_deliver.c writes."""
    r = (rb"Received: from " + helo.encode() +
         rb" \(\[127\.0\.0\.1\]\)\r\n")
    if tls is not None:
        r += (rb"\t\(using " + re.escape(tls[0]).encode() +
              rb" with cipher " + re.escape(tls[1]).encode() + rb"\)\r\n")
    r += (rb"\tby mail\.test \(Letterbox\) with " + proto.encode() +
          rb" id (?P<id>[0-9a-f]{16})")
    if rcpt is not None:
        r += rb"\r\n\tfor <" + re.escape(rcpt).encode() + rb">"
    r += rb"; (?P<date>" + DATE_RE + rb")\r\n\Z"
    return re.compile(r)


def check_received(field, **kw):
    m = received_re(**kw).match(field)
    assert m, field
    date = email.utils.parsedate_to_datetime(m.group("date").decode())
    assert abs(date.timestamp() - time.time()) < 120, field
    return m.group("id").decode()


def wait_log(d, needle, timeout=TIMEOUT):
    deadline = time.time() + timeout
    while time.time() < deadline:
        log = d.read_log()
        if needle in log:
            return log
        time.sleep(0.05)
    raise AssertionError("%r not in the log:\n%s" % (needle, d.read_log()))


def tx_log_lines(d, tx_id):
    """The log lines of transaction tx_id; the line is written just after
    the reply, so wait for it."""
    log = wait_log(d, "id=%s " % tx_id)
    return [l for l in log.splitlines() if "id=%s " % tx_id in l]


def parse_tx_log(line):
    """key=value fields of a transaction log line."""
    m = re.search(r"smtp: (id=.*)$", line)
    assert m, line
    fields = dict(re.findall(r"(\w+)=(\S+)", m.group(1)))
    fields["result"] = re.search(r"result=(.*)$", line).group(1)
    return fields


# ---------------------------------------------------------------- daemons

@pytest.fixture
def make_daemon(tmp_path):
    """Starts extra daemons: top holds top-level config keys, extra is
    appended after the [sections] as with Daemon(extra_config=)."""
    started = []

    def make(top="", extra="", sandbox=False):
        path = tmp_path / ("d%d" % len(started))
        path.mkdir()
        d = conftest.Daemon(path, extra_config=extra, sandbox=sandbox,
                            top_config=top)
        started.append(d)
        return d

    yield make
    for d in started:
        d.stop()


def users(d, *addresses, **kw):
    for a in addresses:
        d.lb.add_user(a, **kw)


def smtp25(d, **kw):
    return Raw(d.ports["smtp"], **kw)


def submission(d, **kw):
    return Raw(d.ports["submission"], **kw)


MSG = (b"From: Sender <sender@example.net>\r\n"
       b"To: alice@example.org\r\n"
       b"Subject: plain hello\r\n"
       b"\r\n"
       b"Hello Alice.\r\n")
# What alice submits: on submission, From: must be hers (RFC 6409 8.1).
ALICE_MSG = MSG.replace(b"Sender <sender@example.net>",
                        b"Alice <alice@example.org>")


# ---------------------------------------------------------------- greeting, EHLO

def test_greeting_and_ehlo_keywords_on_smtp_port(daemon):
    s = smtplib.SMTP(HOST, daemon.ports["smtp"], timeout=TIMEOUT,
                     local_hostname="client.example")
    try:
        code, banner = s.ehlo()
        assert code == 250
        first = banner.decode().splitlines()[0]
        assert first == "mail.test Hello client.example [127.0.0.1]"
        for kw in ("pipelining", "size", "8bitmime", "enhancedstatuscodes",
                   "chunking", "smtputf8", "starttls"):
            assert s.has_extn(kw), (kw, banner)
        assert int(s.esmtp_features["size"]) == 50 * 1024 * 1024
        # Port 25 takes mail for local users without AUTH: not offered,
        # and refused when tried (RFC 4954 4: 503 when AUTH is not
        # available).
        assert not s.has_extn("auth"), banner
        code, text = s.docmd("AUTH", "PLAIN " +
                             plain("alice@example.org", "secret"))
        assert (code, text.split()[0]) == (503, b"5.5.1"), text
        assert s.noop() == (250, b"2.0.0 Ok")
        assert s.quit()[0] == 221
    finally:
        s.close()


def test_greeting_text(daemon):
    c = submission(daemon)
    assert c.greeting.code == 220
    assert c.greeting.lines[0].split()[0] == "mail.test"
    # RFC 2034 3: no enhanced code in the greeting or the EHLO reply.
    r = c.ehlo()
    assert r.lines[0].startswith("mail.test ")
    expect(c.cmd("QUIT"), 221, "2.0.0")
    assert c.closed()


def test_ehlo_on_submission_offers_auth_on_loopback(daemon):
    s = smtplib.SMTP(HOST, daemon.ports["submission"], timeout=TIMEOUT)
    try:
        s.ehlo("client.example")
        # Loopback is always allowed plaintext AUTH (DESIGN.md).
        assert s.has_extn("auth")
        assert set(s.esmtp_features["auth"].split()) == {"PLAIN", "LOGIN"}
        assert s.has_extn("starttls")
        for kw in ("pipelining", "size", "8bitmime", "enhancedstatuscodes",
                   "chunking", "smtputf8"):
            assert s.has_extn(kw), kw
    finally:
        s.close()


def test_ehlo_syntax(daemon):
    c = submission(daemon)
    expect(c.cmd("EHLO"), 501, "5.5.4")
    expect(c.cmd("EHLO bad host name"), 501, "5.5.4")
    expect(c.cmd("HELO"), 501, "5.5.4")
    c.ehlo("[127.0.0.1]")


# ---------------------------------------------------------------- state machine

def test_command_order_errors(daemon):
    users(daemon, "alice@example.org")
    c = smtp25(daemon)
    # RFC 5321 4.1.4: MAIL before EHLO/HELO is out of sequence.
    expect(c.cmd("MAIL FROM:<sender@example.net>"), 503, "5.5.1")
    c.ehlo()
    # RCPT and DATA without MAIL (RFC 5321 4.1.4, 3.3).
    expect(c.cmd("RCPT TO:<alice@example.org>"), 503, "5.5.1")
    expect(c.cmd("DATA"), 503, "5.5.1")
    expect(c.cmd("BDAT 0 LAST"), 503, "5.5.1")
    expect(c.cmd("MAIL FROM:<sender@example.net>"), 250, "2.1.0")
    # Nested MAIL (RFC 5321 4.1.4: 503 while a transaction is open).
    expect(c.cmd("MAIL FROM:<other@example.net>"), 503, "5.5.1")
    # DATA with no accepted recipient (RFC 5321 3.3: 554 "no valid
    # recipients" or 503).
    expect(c.cmd("RCPT TO:<nobody@example.org>"), 550, "5.1.1")
    expect(c.cmd("DATA"), 554, "5.5.1", "No valid recipients")
    # RSET ends the transaction: MAIL is allowed again.
    expect(c.cmd("RSET"), 250, "2.0.0")
    expect(c.cmd("MAIL FROM:<sender@example.net>"), 250, "2.1.0")
    # EHLO resets the transaction too (RFC 5321 4.1.4).
    c.ehlo()
    expect(c.cmd("RCPT TO:<alice@example.org>"), 503, "5.5.1")
    expect(c.cmd("NOOP"), 250, "2.0.0")
    assert count(daemon) == 0


def test_small_commands(daemon):
    users(daemon, "alice@example.org")
    c = submission(daemon)
    # RFC 5321 3.5.3: 252 reveals nothing: same answer for a user that
    # exists and one that does not.
    known = expect(c.cmd("VRFY alice@example.org"), 252, "2.5.0")
    unknown = expect(c.cmd("VRFY nobody@example.org"), 252, "2.5.0")
    assert known.raw == unknown.raw
    assert "alice" not in known.text
    expect(c.cmd("EXPN staff"), 502, "5.5.1")
    r = expect(c.cmd("HELP"), 214, "2.0.0")
    assert "MAIL" in r.text and "RCPT" in r.text
    expect(c.cmd("NOOP"), 250, "2.0.0")
    expect(c.cmd("NOOP some text"), 250, "2.0.0")
    expect(c.cmd("RSET"), 250, "2.0.0")
    expect(c.cmd("FROBNICATE"), 500, "5.5.2")
    r = expect(c.cmd("QUIT"), 221, "2.0.0")
    assert "mail.test" in r.text
    assert c.closed()


def test_commands_case_insensitive(daemon):
    users(daemon, "alice@example.org")
    c = submission(daemon)
    expect(c.cmd("ehlo client.example"), 250)
    expect(c.cmd("auth plain " + plain("alice@example.org", "secret")),
           235, "2.7.0")
    expect(c.cmd("mail from:<alice@example.org>"), 250, "2.1.0")
    expect(c.cmd("rcpt to:<ALICE@Example.ORG>"), 250, "2.1.5")
    expect(c.cmd("data"), 354)
    c.send(ALICE_MSG + b".\r\n")
    delivered_id(c.reply())
    assert count(daemon, "alice@example.org") == 1


def test_too_many_bad_commands_421_and_close(daemon):
    c = submission(daemon)
    for i in range(LIMIT_SMTP_BAD_COMMANDS - 1):
        expect(c.cmd("FROB %d" % i), 500, "5.5.2")
    # The Nth bad command is still answered, then 421 and close (RFC
    # 5321 3.8: 421 before closing).
    expect(c.cmd("FROB last"), 500, "5.5.2")
    expect(c.reply(), 421, "4.7.0")
    assert c.closed()


def test_command_line_over_512_octets_500_and_close(daemon):
    c = submission(daemon)
    # RFC 5321 4.5.3.1.4: 512 octets including CRLF are allowed.
    ok = "NOOP " + "x" * (LIMIT_SMTP_LINE - 2 - 5)
    assert len(ok) + 2 == LIMIT_SMTP_LINE
    expect(c.cmd(ok), 250, "2.0.0")
    expect(c.cmd("NOOP " + "y" * 600), 500, "5.5.2")
    assert c.closed()


def test_pregreeting_talker_refused(daemon):
    c = smtp25(daemon, greet=False)
    # A client that talks before the banner is not following RFC 5321
    # 3.1 (a spam bot's shortcut): 554 and close.
    c.send(b"EHLO x\r\n")
    expect(c.reply(), 554, "5.5.1")
    assert c.closed()
    assert "talked before the greeting" in daemon.read_log()


# ---------------------------------------------------------------- MAIL parameters

def test_mail_parameters(daemon):
    users(daemon, "alice@example.org")
    c = submission(daemon)
    c.ehlo()
    login(c)
    # RFC 1870, 6152, 3030: BINARYMIME is not offered.
    expect(c.cmd("MAIL FROM:<alice@example.org> BODY=BINARYMIME"),
           555, "5.5.4")
    expect(c.cmd("MAIL FROM:<alice@example.org> FOO=bar"), 555, "5.5.4")
    expect(c.cmd("MAIL FROM:<alice@example.org> SIZE=1 SIZE=2"),
           555, "5.5.4")
    expect(c.cmd("MAIL FROM:<alice@@example.org>"), 553, "5.1.7")
    expect(c.cmd("MAIL FROM alice@example.org"), 501, "5.5.4")
    # RFC 6531 3.4: a UTF-8 address needs SMTPUTF8.
    expect(c.cmd("MAIL FROM:<j\u00f6rg@example.org>".encode()),
           553, "5.6.7")
    expect(c.cmd("MAIL FROM:<alice@example.org> SIZE=100 BODY=8BITMIME"),
           250, "2.1.0")
    expect(c.cmd("RCPT TO:<>"), 553, "5.1.3")
    expect(c.cmd("RCPT TO:<alice@example.org> NOTIFY=NEVER"), 555, "5.5.4")
    expect(c.cmd("RCPT TO:<alice@example.org>"), 250, "2.1.5")
    body = (b"From: alice@example.org\r\nSubject: 8bit\r\n"
            b"Content-Type: text/plain; charset=latin1\r\n"
            b"Content-Transfer-Encoding: 8bit\r\n\r\n"
            b"caf\xe9 \xff\x80 na\xefve\r\n")
    expect(c.cmd("DATA"), 354)
    c.send(body + b".\r\n")
    delivered_id(c.reply())
    _, _, rest = split_trace(show(daemon, "alice@example.org"))
    assert rest == body


def test_smtputf8(daemon):
    users(daemon, "alice@example.org")
    # Port 25: on submission the sender would have to be alice's own.
    c = smtp25(daemon)
    c.ehlo()
    sender = "j\u00f6rg@b\u00fccher.example"
    expect(c.cmd(("MAIL FROM:<%s> SMTPUTF8" % sender).encode()),
           250, "2.1.0")
    expect(c.cmd("RCPT TO:<alice@example.org>"), 250, "2.1.5")
    body = ("From: %s\r\nSubject: gr\u00fc\u00dfe\r\n\r\n"
            "\u00e7a va\r\n" % sender).encode()
    expect(c.cmd("DATA"), 354)
    c.send(body + b".\r\n")
    tx = delivered_id(c.reply())
    rp, rcv, rest = split_trace(show(daemon, "alice@example.org"))
    assert rp == ("Return-Path: <%s>\r\n" % sender).encode()
    # RFC 6531 3.7.3: "UTF8SMTP" in Received (SMTPUTF8, no AUTH).
    assert check_received(rcv, proto="UTF8SMTP",
                          rcpt="alice@example.org") == tx
    assert rest == body


# ---------------------------------------------------------------- recipients

def test_unknown_user_and_relay_denied(daemon):
    users(daemon, "alice@example.org")
    c = smtp25(daemon)
    c.ehlo()
    expect(c.cmd("MAIL FROM:<sender@example.net>"), 250, "2.1.0")
    # Never accept and bounce later: refused at RCPT.
    r = expect(c.cmd("RCPT TO:<nobody@example.org>"), 550, "5.1.1")
    assert "nobody@example.org" in r.text
    # Not ours, no AUTH: relay denied (RFC 5321 3.6.2, RFC 3463 5.7.1).
    expect(c.cmd("RCPT TO:<someone@elsewhere.example>"), 554, "5.7.1")
    expect(c.cmd("RCPT TO:<alice@example.org>"), 250, "2.1.5")
    expect(c.cmd("DATA"), 354)
    c.send(MSG + b".\r\n")
    delivered_id(c.reply())
    assert count(daemon) == 1
    rp, rcv, rest = split_trace(show(daemon, "alice@example.org"))
    check_received(rcv, rcpt="alice@example.org")


def test_submission_outbound_not_enabled(make_daemon):
    daemon = make_daemon(extra="[outbound]\nenabled = no\n")
    users(daemon, "alice@example.org", "bob@example.org")
    c = submission(daemon)
    c.ehlo()
    login(c)
    expect(c.cmd("MAIL FROM:<alice@example.org>"), 250, "2.1.0")
    expect(c.cmd("RCPT TO:<friend@elsewhere.example>"), 550, "5.7.1",
           "Outbound delivery is not enabled")
    expect(c.cmd("RCPT TO:<bob@example.org>"), 250, "2.1.5")
    expect(c.cmd("DATA"), 354)
    c.send(ALICE_MSG + b".\r\n")
    delivered_id(c.reply())
    assert count(daemon) == 1
    assert count(daemon, "bob@example.org") == 1


def test_hundred_and_first_recipient_452(daemon):
    users(daemon, "alice@example.org")
    c = smtp25(daemon)
    c.ehlo()
    # One write, read in order (PIPELINING): MAIL, 101 RCPTs.
    cmds = [b"MAIL FROM:<sender@example.net>\r\n"]
    cmds += [b"RCPT TO:<alice+%d@example.org>\r\n" % i
             for i in range(LIMIT_RECIPIENTS + 1)]
    c.send(b"".join(cmds))
    expect(c.reply(), 250, "2.1.0")
    for i in range(LIMIT_RECIPIENTS):
        expect(c.reply(), 250, "2.1.5")
    # RFC 5321 4.5.3.1.10: 452 for too many recipients; RFC 3463 4.5.3.
    expect(c.reply(), 452, "4.5.3")
    expect(c.cmd("DATA"), 354)
    c.send(MSG + b".\r\n")
    tx = delivered_id(c.reply())
    # One user behind all 100 addresses: one copy, and no "for" clause
    # with more than one recipient.
    assert count(daemon, "alice@example.org") == 1
    _, rcv, rest = split_trace(show(daemon, "alice@example.org"))
    assert check_received(rcv) == tx
    assert b"for <" not in rcv
    assert rest == MSG


def test_aliases_catchall_and_plus_addressing(daemon):
    lb = daemon.lb
    users(daemon, "alice@example.org", "bob@example.org")
    lb.run("alias", "add", "team@example.org", "alice@example.org")
    lb.run("alias", "add", "team@example.org", "bob@example.org")
    lb.run("alias", "add", "@example.org", "bob@example.org")
    c = smtp25(daemon)
    c.ehlo()
    for rcpt, subject in (("team@example.org", "to team"),
                          ("alice+lists@example.org", "to plus"),
                          ("whoever@example.org", "to catchall")):
        msg = b"Subject: %s\r\n\r\nbody\r\n" % subject.encode()
        delivered_id(send_message(c, "sender@example.net", [rcpt], msg))
    alice = "\n".join(listing(daemon, "alice@example.org"))
    bob = "\n".join(listing(daemon, "bob@example.org"))
    assert "to team" in alice and "to plus" in alice
    assert "to catchall" not in alice
    assert "to team" in bob and "to catchall" in bob
    assert "to plus" not in bob
    # The Received "for" names the address the client gave.
    _, rcv, _ = split_trace(show(daemon, "alice@example.org", 2))
    check_received(rcv, rcpt="alice+lists@example.org")

    # An alias and one of its members in one transaction: one copy each,
    # one body for all (DESIGN.md: bodies stored once).
    before = bodies(daemon)
    msg = b"Subject: once\r\n\r\nonce\r\n"
    delivered_id(send_message(c, "sender@example.net",
                              ["team@example.org", "alice@example.org"],
                              msg))
    assert sum("once" in l for l in listing(daemon, "alice@example.org")) \
        == 1
    assert sum("once" in l for l in listing(daemon, "bob@example.org")) == 1
    assert bodies(daemon) == before + 1

    # Without the catch-all an unknown local part is 550 5.1.1 again.
    lb.run("alias", "del", "@example.org")
    expect(c.cmd("MAIL FROM:<sender@example.net>"), 250, "2.1.0")
    expect(c.cmd("RCPT TO:<whoever@example.org>"), 550, "5.1.1")


# ---------------------------------------------------------------- size, quota

def test_size_limit_at_mail_and_data(make_daemon):
    d = make_daemon(top="max_message_size = 100K\n")
    users(d, "alice@example.org")
    c = smtp25(d)
    r = c.ehlo()
    assert "SIZE 102400" in r.lines, r
    # RFC 1870 6.1: 552 at MAIL when the announced size is over.
    expect(c.cmd("MAIL FROM:<sender@example.net> SIZE=200000"),
           552, "5.3.4")
    # Announced small, sent big: 552 after the data (RFC 1870 6.3),
    # nothing delivered, the session goes on.
    expect(c.cmd("MAIL FROM:<sender@example.net> SIZE=1000"), 250, "2.1.0")
    expect(c.cmd("RCPT TO:<alice@example.org>"), 250, "2.1.5")
    expect(c.cmd("DATA"), 354)
    big = b"Subject: big\r\n\r\n" + (b"x" * 998 + b"\r\n") * 150
    c.send(big + b".\r\n")
    expect(c.reply(), 552, "5.3.4")
    expect(c.cmd("NOOP"), 250, "2.0.0")
    assert count(d) == 0
    # The transaction was reset: MAIL is allowed at once.
    small = b"Subject: small\r\n\r\n" + (b"y" * 998 + b"\r\n") * 90
    delivered_id(send_message(c, "sender@example.net",
                              ["alice@example.org"], small))
    _, _, rest = split_trace(show(d, "alice@example.org"))
    assert rest == small
    log = d.read_log()
    assert "result=552 too big" in log


def test_quota_at_rcpt_and_data(daemon):
    lb = daemon.lb
    users(daemon, "alice@example.org", "bob@example.org")
    lb.run("deliver", "--to", "alice@example.org",
           input=b"Subject: fill\r\n\r\n" + b"x" * 2000 + b"\r\n")
    lb.run("quota", "set", "alice@example.org", "1K")
    lb.run("quota", "set", "bob@example.org", "1K")
    c = smtp25(daemon)
    c.ehlo()
    expect(c.cmd("MAIL FROM:<sender@example.net>"), 250, "2.1.0")
    # Over quota now: temporary (RFC 3463 4.2.2), at RCPT.
    r = expect(c.cmd("RCPT TO:<alice@example.org>"), 452, "4.2.2")
    assert "alice@example.org" in r.text
    expect(c.cmd("RSET"), 250, "2.0.0")
    # Announced bigger than the whole quota: permanent 552 5.2.2.
    expect(c.cmd("MAIL FROM:<sender@example.net> SIZE=5000"), 250, "2.1.0")
    expect(c.cmd("RCPT TO:<bob@example.org>"), 552, "5.2.2")
    expect(c.cmd("RSET"), 250, "2.0.0")
    # Not announced: refused after the data, nothing stored.
    expect(c.cmd("MAIL FROM:<sender@example.net>"), 250, "2.1.0")
    expect(c.cmd("RCPT TO:<bob@example.org>"), 250, "2.1.5")
    expect(c.cmd("DATA"), 354)
    c.send(b"Subject: big\r\n\r\n" + b"z" * 5000 + b"\r\n.\r\n")
    expect(c.reply(), 552, "5.2.2")
    assert count(daemon, "bob@example.org") == 0
    assert count(daemon, "alice@example.org") == 1
    expect(c.cmd("NOOP"), 250, "2.0.0")


# ---------------------------------------------------------------- DATA

def test_dot_unstuffing_round_trip(daemon):
    users(daemon, "alice@example.org")
    c = smtp25(daemon)
    c.ehlo()
    # As sent on the wire (RFC 5321 4.5.2: the client doubles a leading
    # dot), and as it must be stored.
    wire = (b"Subject: dots\r\n\r\n"
            b"..leading dot\r\n"
            b"...two dots\r\n"
            b"..\r\n"
            b". \r\n"
            b"middle . dot\r\n"
            b"last\r\n")
    stored = (b"Subject: dots\r\n\r\n"
              b".leading dot\r\n"
              b"..two dots\r\n"
              b".\r\n"
              b" \r\n"
              b"middle . dot\r\n"
              b"last\r\n")
    delivered_id(send_message(c, "sender@example.net",
                              ["alice@example.org"], wire))
    _, _, rest = split_trace(show(daemon, "alice@example.org"))
    assert rest == stored

    # And through smtplib, which stuffs for us (on submission, to save
    # port 25's one-second greeting).
    s = smtplib.SMTP(HOST, daemon.ports["submission"], timeout=TIMEOUT,
                     local_hostname="client.example")
    msg = (b"Subject: smtplib dots\r\n\r\n.\r\n..\r\n.x\r\n"
           b"\x00nul and \xff\r\nend")
    try:
        s.login("alice@example.org", "secret")
        assert s.sendmail("alice@example.org", ["alice@example.org"],
                          msg) == {}
    finally:
        s.close()
    _, _, rest = split_trace(show(daemon, "alice@example.org", 2))
    # smtplib adds the final CRLF a message must end with.
    assert rest == msg + b"\r\n"


def test_empty_message(daemon):
    users(daemon, "alice@example.org")
    c = submission(daemon)
    c.ehlo()
    login(c)
    delivered_id(send_message(c, "alice@example.org", ["alice@example.org"],
                              b""))
    _, _, rest = split_trace(show(daemon, "alice@example.org"))
    assert rest == b""


def test_trace_headers(daemon):
    users(daemon, "alice@example.org", "bob@example.org")
    c = smtp25(daemon)
    c.ehlo("client.example")
    tx1 = delivered_id(send_message(c, "sender@example.net",
                                    ["alice@example.org"], MSG))
    rp, rcv, rest = split_trace(show(daemon, "alice@example.org", 1))
    assert rp == b"Return-Path: <sender@example.net>\r\n"
    assert check_received(rcv, proto="ESMTP",
                          rcpt="alice@example.org") == tx1
    assert rest == MSG

    # Two recipients: no "for" (it would show one Bcc to the other).
    tx2 = delivered_id(send_message(c, "sender@example.net",
                                    ["alice@example.org", "bob@example.org"],
                                    MSG))
    for user, uid in (("alice@example.org", 2), ("bob@example.org", 1)):
        _, rcv, rest = split_trace(show(daemon, user, uid))
        assert check_received(rcv, proto="ESMTP") == tx2
        assert rest == MSG

    # The null reverse-path (bounces, RFC 5321 4.5.5).
    tx3 = delivered_id(send_message(c, "", ["alice@example.org"], MSG))
    rp, rcv, _ = split_trace(show(daemon, "alice@example.org", 3))
    assert rp == b"Return-Path: <>\r\n"
    assert check_received(rcv, rcpt="alice@example.org") == tx3

    # After HELO (not EHLO) the protocol is plain "SMTP" (RFC 3848).
    r = c.cmd("HELO client.example")
    assert (r.code, r.text) == (250, "mail.test")
    tx4 = delivered_id(send_message(c, "sender@example.net",
                                    ["alice@example.org"], MSG))
    rp, rcv, rest = split_trace(show(daemon, "alice@example.org", 4))
    assert rp == b"Return-Path: <sender@example.net>\r\n"
    assert check_received(rcv, proto="SMTP", rcpt="alice@example.org") == tx4
    assert rest == MSG
    assert len({tx1, tx2, tx3, tx4}) == 4


SMUGGLE_VARIANTS = [
    (b"\n.\n", "smuggling"),
    (b"\n.\r\n", "smuggling"),
    (b"\r\n.\n", "smuggling"),
    (b"\r.\r\n", "bare CR"),
]


def test_smtp_smuggling_refused(daemon):
    users(daemon, "alice@example.org")
    c = smtp25(daemon)
    c.ehlo()
    for i, (fake_end, why) in enumerate(SMUGGLE_VARIANTS):
        expect(c.cmd("MAIL FROM:<sender@example.net>"), 250, "2.1.0")
        expect(c.cmd("RCPT TO:<alice@example.org>"), 250, "2.1.5")
        expect(c.cmd("DATA"), 354)
        inner = (b"MAIL FROM:<admin@example.org>\r\n"
                 b"RCPT TO:<alice@example.org>\r\n"
                 b"DATA\r\n"
                 b"From: admin@example.org\r\n"
                 b"Subject: smuggled %d\r\n\r\n"
                 b"inner\r\n" % i)
        c.send(b"Subject: outer %d\r\n\r\nouter body" % i + fake_end +
               inner + b".\r\n")
        # One reply for the whole thing, at the real end.
        expect(c.reply(), 550, "5.6.0")
        # In step: exactly one answer each for RSET and NOOP, nothing
        # left over from the smuggled commands.
        expect(c.cmd("RSET"), 250, "2.0.0")
        expect(c.cmd("NOOP"), 250, "2.0.0")
        assert c.quiet(0.2), c.buf
    assert count(daemon) == 0
    assert listing(daemon, "alice@example.org") == []
    log = daemon.read_log()
    assert log.count("result=550 smuggling") == 3, log
    assert log.count("result=550 bare CR") == 1, log
    # Bare LF elsewhere is stored as CRLF (bare_lf = normalize, the
    # default), on the same session. The last line before "." ends with
    # CRLF: after a bare LF it would be the pattern "\n.\r\n".
    expect(c.cmd("MAIL FROM:<sender@example.net>"), 250, "2.1.0")
    expect(c.cmd("RCPT TO:<alice@example.org>"), 250, "2.1.5")
    expect(c.cmd("DATA"), 354)
    c.send(b"Subject: lf\n\nline one\nline two\r\n\nline four\r\n.\r\n")
    delivered_id(c.reply())
    assert count(daemon) == 1
    _, _, rest = split_trace(show(daemon, "alice@example.org"))
    assert rest == (b"Subject: lf\r\n\r\nline one\r\nline two\r\n"
                    b"\r\nline four\r\n")


def test_bare_lf_reject(make_daemon):
    d = make_daemon(extra="[smtp]\nbare_lf = reject\n")
    users(d, "alice@example.org")
    c = smtp25(d)
    c.ehlo()
    expect(c.cmd("MAIL FROM:<sender@example.net>"), 250, "2.1.0")
    expect(c.cmd("RCPT TO:<alice@example.org>"), 250, "2.1.5")
    expect(c.cmd("DATA"), 354)
    c.send(b"Subject: lf\r\n\r\nline one\nline two\r\n.\r\n")
    expect(c.reply(), 550, "5.6.0")
    expect(c.cmd("NOOP"), 250, "2.0.0")
    assert count(d) == 0
    delivered_id(send_message(c, "sender@example.net",
                              ["alice@example.org"], MSG))
    assert count(d) == 1
    # The setting is per service: submission still normalizes.
    s = submission(d)
    s.ehlo()
    login(s)
    delivered_id(send_message(s, "alice@example.org", ["alice@example.org"],
                              b"Subject: sub\n\nbody\r\n"))
    _, _, rest = split_trace(show(d, "alice@example.org", 2))
    assert rest == b"Subject: sub\r\n\r\nbody\r\n"


def test_data_line_over_limit(daemon):
    users(daemon, "alice@example.org")
    c = submission(daemon)
    c.ehlo()
    login(c)
    expect(c.cmd("MAIL FROM:<alice@example.org>"), 250, "2.1.0")
    expect(c.cmd("RCPT TO:<alice@example.org>"), 250, "2.1.5")
    expect(c.cmd("DATA"), 354)
    # A line longer than LIMIT_SMTP_DATA_LINE: the documented answer
    # (smtp_data.c: 552 5.3.4 and close).
    try:
        c.send(b"Subject: long\r\n\r\n" + b"a" * (LIMIT_SMTP_DATA_LINE + 10)
               + b"\r\n.\r\n")
    except OSError:
        pass
    expect(c.reply(), 552, "5.3.4")
    assert c.closed()
    assert count(daemon) == 0


def test_client_disconnect_mid_data_delivers_nothing(daemon):
    users(daemon, "alice@example.org")
    c = submission(daemon)
    c.ehlo()
    login(c)
    expect(c.cmd("MAIL FROM:<alice@example.org>"), 250, "2.1.0")
    expect(c.cmd("RCPT TO:<alice@example.org>"), 250, "2.1.5")
    expect(c.cmd("DATA"), 354)
    c.send(b"Subject: cut\r\n\r\n" + b"half a message\r\n" * 100)
    c.close()
    wait_log(daemon, "aborted: connection lost during DATA")
    assert count(daemon) == 0
    assert listing(daemon, "alice@example.org") == []


# ---------------------------------------------------------------- delivery, log

def test_delivered_message_readable_at_once_and_logged(daemon):
    users(daemon, "alice@example.org")
    s = smtplib.SMTP(HOST, daemon.ports["smtp"], timeout=TIMEOUT,
                     local_hostname="client.example")
    try:
        s.ehlo()
        assert s.mail("sender@example.net") == (250, b"2.1.0 Ok")
        assert s.rcpt("alice@example.org") == (250, b"2.1.5 Ok")
        code, text = s.data(MSG)
        assert code == 250, text
        tx = delivered_id(Reply(code, [text.decode()], text))
        # DESIGN.md: readable the moment SMTP says 250 (before QUIT).
        rows = listing(daemon, "alice@example.org")
        assert len(rows) == 1 and "plain hello" in rows[0], rows
        assert count(daemon, "alice@example.org") == 1
    finally:
        s.close()
    _, rcv, rest = split_trace(show(daemon, "alice@example.org"))
    assert check_received(rcv, rcpt="alice@example.org") == tx
    assert rest == MSG
    lines = tx_log_lines(daemon, tx)
    assert len(lines) == 1, daemon.read_log()
    f = parse_tx_log(lines[0])
    assert f["client"] == "[127.0.0.1]"
    assert f["from"] == "<sender@example.net>"
    assert f["to"] == "<alice@example.org>"
    assert f["size"] == str(len(MSG))
    assert f["result"] == "250 delivered"


def test_log_line_names_every_recipient(daemon):
    users(daemon, "alice@example.org", "bob@example.org")
    c = submission(daemon)
    c.ehlo()
    login(c)
    tx = delivered_id(send_message(c, "alice@example.org",
                                   ["alice@example.org", "bob@example.org"],
                                   ALICE_MSG))
    line = tx_log_lines(daemon, tx)
    assert len(line) == 1, line
    f = parse_tx_log(line[0])
    assert f["result"] == "250 delivered"
    assert f["auth"] == "alice@example.org"
    log = daemon.read_log()
    assert f["to"] == "<alice@example.org>,<bob@example.org>"
    assert f["from"] == "<alice@example.org>"
    # The password never reaches the log.
    assert "secret" not in log


def test_pipelining(daemon):
    users(daemon, "alice@example.org", "bob@example.org")
    c = smtp25(daemon)
    c.ehlo()
    # RFC 2920 3.1: MAIL, RCPTs and DATA in one group; replies in order.
    c.send(b"MAIL FROM:<sender@example.net>\r\n"
           b"RCPT TO:<alice@example.org>\r\n"
           b"RCPT TO:<nobody@example.org>\r\n"
           b"RCPT TO:<bob@example.org>\r\n"
           b"DATA\r\n")
    expect(c.reply(), 250, "2.1.0")
    expect(c.reply(), 250, "2.1.5")
    expect(c.reply(), 550, "5.1.1")
    expect(c.reply(), 250, "2.1.5")
    expect(c.reply(), 354)
    # The message, its end and the next transaction in one more write.
    c.send(MSG + b".\r\n"
           b"RSET\r\nMAIL FROM:<sender@example.net>\r\n"
           b"RCPT TO:<bob@example.org>\r\nNOOP\r\nQUIT\r\n")
    delivered_id(c.reply())
    expect(c.reply(), 250, "2.0.0")
    expect(c.reply(), 250, "2.1.0")
    expect(c.reply(), 250, "2.1.5")
    expect(c.reply(), 250, "2.0.0")
    expect(c.reply(), 221, "2.0.0")
    assert c.closed()
    assert count(daemon, "alice@example.org") == 1
    assert count(daemon, "bob@example.org") == 1
    _, rcv, rest = split_trace(show(daemon, "bob@example.org"))
    assert b"for <" not in rcv
    assert rest == MSG


# ---------------------------------------------------------------- BDAT

def test_bdat(daemon):
    users(daemon, "alice@example.org")
    c = smtp25(daemon)
    c.ehlo()
    # RFC 3030 2: the chunk is read whatever the answer; a BDAT without
    # MAIL is refused after it. "hello" must not be read as a command.
    c.send(b"BDAT 5\r\nhello")
    expect(c.reply(), 503, "5.5.1")
    expect(c.cmd("NOOP"), 250, "2.0.0")

    # Two chunks, the second LAST. BDAT carries bytes as they are: no
    # dot-stuffing, and "\r\n.\r\n" inside a chunk is data.
    part1 = b"Subject: chunked\r\n\r\n.dot stays\r\n"
    part2 = b"\r\n.\r\nafter a dot line\r\n"
    expect(c.cmd("MAIL FROM:<sender@example.net>"), 250, "2.1.0")
    expect(c.cmd("RCPT TO:<alice@example.org>"), 250, "2.1.5")
    c.send(b"BDAT %d\r\n" % len(part1) + part1)
    expect(c.reply(), 250, "2.0.0")
    c.send(b"BDAT %d LAST\r\n" % len(part2) + part2)
    tx = delivered_id(c.reply())
    _, rcv, rest = split_trace(show(daemon, "alice@example.org", 1))
    assert check_received(rcv, rcpt="alice@example.org") == tx
    assert rest == part1 + part2

    # BDAT 0 LAST ends a message (RFC 3030 2); pipelined in one write.
    body = b"Subject: zero last\r\n\r\nbody\r\n"
    c.send(b"MAIL FROM:<sender@example.net>\r\nRCPT TO:<alice@example.org>"
           b"\r\nBDAT %d\r\n" % len(body) + body + b"BDAT 0 LAST\r\n")
    expect(c.reply(), 250, "2.1.0")
    expect(c.reply(), 250, "2.1.5")
    expect(c.reply(), 250, "2.0.0")
    delivered_id(c.reply())
    _, _, rest = split_trace(show(daemon, "alice@example.org", 2))
    assert rest == body

    # Bare LF line ends in a chunk are stored as CRLF, like DATA's.
    expect(c.cmd("MAIL FROM:<sender@example.net>"), 250, "2.1.0")
    expect(c.cmd("RCPT TO:<alice@example.org>"), 250, "2.1.5")
    c.send(b"BDAT 20 LAST\r\nSubject: lf\n\na\nb\r\nc\n")
    delivered_id(c.reply())
    _, _, rest = split_trace(show(daemon, "alice@example.org", 3))
    assert rest == b"Subject: lf\r\n\r\na\r\nb\r\nc\r\n"

    # DATA after BDAT in the same transaction is out of sequence.
    expect(c.cmd("MAIL FROM:<sender@example.net>"), 250, "2.1.0")
    expect(c.cmd("RCPT TO:<alice@example.org>"), 250, "2.1.5")
    c.send(b"BDAT 3\r\nabc")
    expect(c.reply(), 250, "2.0.0")
    expect(c.cmd("DATA"), 503, "5.5.1")
    expect(c.cmd("RSET"), 250, "2.0.0")
    assert count(daemon) == 3


def test_bdat_over_size(make_daemon):
    d = make_daemon(top="max_message_size = 10K\n")
    users(d, "alice@example.org")
    c = submission(d)
    c.ehlo()
    login(c)
    expect(c.cmd("MAIL FROM:<alice@example.org>"), 250, "2.1.0")
    expect(c.cmd("RCPT TO:<alice@example.org>"), 250, "2.1.5")
    chunk = b"x" * 8000
    c.send(b"BDAT %d\r\n" % len(chunk) + chunk)
    expect(c.reply(), 250, "2.0.0")
    c.send(b"BDAT %d\r\n" % len(chunk) + chunk)
    expect(c.reply(), 552, "5.3.4")
    c.send(b"BDAT 4 LAST\r\nend\n")
    expect(c.reply(), 552, "5.3.4")
    expect(c.cmd("NOOP"), 250, "2.0.0")
    assert count(d) == 0


# ---------------------------------------------------------------- AUTH

def test_auth_required_on_submission(daemon):
    users(daemon, "alice@example.org")
    c = submission(daemon)
    c.ehlo()
    # RFC 6409 4.3 / RFC 4954 6: 530 5.7.0 before AUTH.
    expect(c.cmd("MAIL FROM:<alice@example.org>"), 530, "5.7.0")
    expect(c.cmd("RCPT TO:<alice@example.org>"), 503, "5.5.1")
    login(c)
    expect(c.cmd("MAIL FROM:<alice@example.org>"), 250, "2.1.0")
    # RFC 4954 4: AUTH during a transaction, or twice, is 503.
    expect(c.cmd("AUTH PLAIN " + plain("alice@example.org", "secret")),
           503, "5.5.1")


def test_auth_plain_initial_response(daemon):
    users(daemon, "alice@example.org", "bob@example.org")
    c = submission(daemon)
    expect(c.cmd("AUTH PLAIN " + plain("alice@example.org", "secret")),
           503, "5.5.1")        # before EHLO
    c.ehlo()
    login(c)
    r = c.ehlo()
    assert not any(l.startswith("AUTH") for l in r.lines)
    tx = delivered_id(send_message(c, "alice@example.org",
                                   ["bob@example.org"], ALICE_MSG))
    rp, rcv, rest = split_trace(show(daemon, "bob@example.org"))
    assert rp == b"Return-Path: <alice@example.org>\r\n"
    # RFC 3848: ESMTPA; the authenticated user is not revealed.
    assert check_received(rcv, proto="ESMTPA", rcpt="bob@example.org") == tx
    assert b"alice" not in rcv
    assert rest == ALICE_MSG
    assert "smtp: auth ok: user=alice@example.org client=[127.0.0.1]" in \
        daemon.read_log()


def test_auth_plain_after_334(daemon):
    users(daemon, "alice@example.org")
    c = submission(daemon)
    c.ehlo()
    r = c.cmd("AUTH PLAIN")
    assert r.code == 334 and r.raw == b"334 \r\n", r
    expect(c.cmd(plain("alice@example.org", "secret")), 235, "2.7.0")
    expect(c.cmd("MAIL FROM:<alice@example.org>"), 250, "2.1.0")


def test_auth_plain_with_authzid_equal_to_user(daemon):
    users(daemon, "alice@example.org")
    c = submission(daemon)
    c.ehlo()
    expect(c.cmd("AUTH PLAIN " + plain("alice@example.org", "secret",
                                       "alice@example.org")), 235, "2.7.0")


def test_auth_login(daemon):
    users(daemon, "alice@example.org")
    c = submission(daemon)
    c.ehlo()
    r = c.cmd("AUTH LOGIN")
    assert r.raw == b"334 VXNlcm5hbWU6\r\n", r
    r = c.cmd(b64("alice@example.org"))
    assert r.raw == b"334 UGFzc3dvcmQ6\r\n", r
    expect(c.cmd(b64("secret")), 235, "2.7.0")
    expect(c.cmd("MAIL FROM:<alice@example.org>"), 250, "2.1.0")

    # LOGIN with the user name as initial response.
    c2 = submission(daemon)
    c2.ehlo()
    r = c2.cmd("AUTH LOGIN " + b64("alice@example.org"))
    assert r.raw == b"334 UGFzc3dvcmQ6\r\n", r
    expect(c2.cmd(b64("secret")), 235, "2.7.0")


def test_auth_with_smtplib(daemon):
    users(daemon, "alice@example.org", "bob@example.org")
    s = smtplib.SMTP(HOST, daemon.ports["submission"], timeout=TIMEOUT,
                     local_hostname="client.example")
    try:
        s.ehlo()
        code, text = s.login("alice@example.org", "secret")
        assert (code, text.split()[0]) == (235, b"2.7.0")
        assert s.sendmail("alice@example.org", ["bob@example.org"],
                          ALICE_MSG) == {}
    finally:
        s.close()
    assert count(daemon, "bob@example.org") == 1


def test_auth_errors_and_wrong_password(daemon):
    users(daemon, "alice@example.org")
    c = submission(daemon)
    c.ehlo()
    expect(c.cmd("AUTH CRAM-MD5"), 504, "5.5.4")
    expect(c.cmd("AUTH PLAIN not*base64"), 501, "5.5.4")
    r = c.cmd("AUTH PLAIN")
    assert r.code == 334
    expect(c.cmd("*"), 501, "5.0.0")     # RFC 4954 4: client cancels
    # Wrong password: 535 5.7.8 after the throttle's delay (~2 s).
    start = time.time()
    expect(c.cmd("AUTH PLAIN " + plain("alice@example.org", "wrong-pw")),
           535, "5.7.8")
    assert time.time() - start >= 1.5
    expect(c.cmd("MAIL FROM:<alice@example.org>"), 530, "5.7.0")
    log = daemon.read_log()
    assert "smtp: auth failed: user=alice@example.org client=[127.0.0.1]" \
        in log
    assert "wrong-pw" not in log
    # The session goes on; the right password still works.
    login(c)


def test_auth_response_line_too_long(daemon):
    c = submission(daemon)
    c.ehlo()
    r = c.cmd("AUTH PLAIN")
    assert r.code == 334
    # limits.h LIMIT_SASL_LINE (2048): 500 5.5.6 (RFC 4954 4) and close.
    expect(c.cmd("A" * 3000), 500, "5.5.6")
    assert c.closed()


# ---------------------------------------------------------------- limits, signals

def test_connection_limit_per_ip(daemon):
    time.sleep(0.5)     # let the start-up probes' sessions end
    port = daemon.ports["smtp"]
    held = [socket.create_connection((HOST, port), timeout=TIMEOUT)
            for _ in range(LIMIT_CONNECTIONS_PER_IP)]
    try:
        over = Raw(port, greet=False)
        # RFC 5321 3.8: 421 at once, then close.
        r = over.reply()
        expect(r, 421, "4.7.0")
        assert over.closed()
        assert "refused: too many connections" in daemon.read_log()
        # The 20 admitted ones get their greeting.
        for s in held:
            r = Raw(None, sock=s)
            assert r.greeting.code == 220
        # One gone: room for a new one.
        held.pop().close()
        deadline = time.time() + TIMEOUT
        while True:
            c = Raw(port, greet=False)
            r = c.reply()
            if r.code == 220 or time.time() > deadline:
                break
            time.sleep(0.1)
        assert r.code == 220, r
        expect(c.cmd("QUIT"), 221, "2.0.0")
    finally:
        for s in held:
            s.close()


def test_sigterm_during_data_loses_no_acknowledged_message(daemon, tmp_path):
    users(daemon, "alice@example.org")
    lines = b"".join(b"line %05d of a message cut by SIGTERM\r\n" % i
                     for i in range(4000))
    msg = b"Subject: sigterm\r\n\r\n" + lines
    half = len(msg) // 2
    c = smtp25(daemon)
    c.ehlo()
    expect(c.cmd("MAIL FROM:<sender@example.net>"), 250, "2.1.0")
    expect(c.cmd("RCPT TO:<alice@example.org>"), 250, "2.1.5")
    expect(c.cmd("DATA"), 354)
    c.send(msg[:half])
    time.sleep(0.2)
    daemon.proc.send_signal(signal.SIGTERM)
    time.sleep(0.3)
    reply = None
    try:
        c.send(msg[half:] + b".\r\n")
        reply = c.reply()
    except (OSError, conftest.Closed):
        pass
    assert daemon.proc.wait(timeout=40) == 0
    acknowledged = reply is not None and reply.code == 250
    if reply is not None:
        assert reply.code in (250, 421, 451), reply

    # Start again on the same data directory and look.
    again = conftest.Daemon(tmp_path)
    try:
        n = count(again)
        if acknowledged:
            assert n == 1
            _, _, rest = split_trace(show(again, "alice@example.org"))
            assert rest == msg
        else:
            assert n == 0
        assert again.lb.out("check").strip() == "ok"
    finally:
        again.stop()


# ---------------------------------------------------------------- sandbox

def test_sandbox_catches_everything(tmp_path):
    d = conftest.Daemon(tmp_path, sandbox=True)
    try:
        # The ports accept (kernel backlog) before the master has made
        # the account and printed its login: wait for the line.
        deadline = time.time() + TIMEOUT
        while "password: " not in d.read_stdout() and \
                time.time() < deadline:
            time.sleep(0.05)
        out = d.read_stdout()
        assert "login: sandbox@localhost" in out, out
        m = re.search(r"password: (\S+)", out)
        assert m, out
        password = m.group(1)
        # Any address at any domain, on port 25 without AUTH.
        c = smtp25(d)
        c.ehlo()
        tx = delivered_id(send_message(
            c, "app@example.net",
            ["someone@gmail.example", "other@example.com"], MSG))
        # Submission with the printed login; "outbound" mail is caught
        # too: nothing ever leaves.
        s = submission(d)
        s.ehlo()
        expect(s.cmd("AUTH PLAIN " + plain("sandbox@localhost", password)),
               235, "2.7.0")
        tx2 = delivered_id(send_message(s, "sandbox@localhost",
                                        ["customer@far-away.example"],
                                        b"Subject: outbound\r\n\r\nhi\r\n"))
        rows = listing(d, "sandbox@localhost")
        assert len(rows) == 2, rows
        _, rcv, rest = split_trace(show(d, "sandbox@localhost", 1))
        assert check_received(rcv) == tx
        assert rest == MSG
        _, rcv, rest = split_trace(show(d, "sandbox@localhost", 2))
        assert check_received(rcv, proto="ESMTPA",
                              rcpt="customer@far-away.example") == tx2
        assert password not in d.read_log()
    finally:
        d.stop()
