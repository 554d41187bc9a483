"""The core SMTP flows again with swaks, a client written by someone else:
delivery on port 25 (byte-exact in the store), PIPELINING with a refused
recipient, STARTTLS, AUTH PLAIN and LOGIN on submission (plain on
loopback and under STARTTLS), implicit TLS on submissions, and the
refusals swaks reports with its own exit codes (man swaks, EXIT CODES).
"""
import re
import shutil
import subprocess

import pytest

from test_smtp import (check_received, count, listing, make_daemon, show,
                       split_trace, users)

pytestmark = pytest.mark.skipif(
    shutil.which("swaks") is None,
    reason="swaks is not installed (Debian package swaks)")

# man swaks, EXIT CODES
SWAKS_OK = 0
SWAKS_NO_RCPT = 24
SWAKS_AFTER_DATA = 26
SWAKS_AUTH = 28


def swaks(d, service, *args, helo="client.example"):
    cmd = ["swaks", "--server", "127.0.0.1:%d" % d.ports[service],
           "--helo", helo, "--timeout", "5"] + list(args)
    proc = subprocess.run(cmd, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, timeout=30)
    return proc.returncode, proc.stdout.decode("utf-8", "replace")


def server_replies(out):
    """The reply lines swaks printed ("<- ", "<~ ", "<** " ...)."""
    return [re.sub(r"^<[-~*]*\s+", "", l) for l in out.splitlines()
            if l.startswith("<")]


def swaks_tls(out):
    """(version, cipher) from swaks' "TLS started with cipher" line."""
    m = re.search(r"TLS started with cipher (TLSv[\d.]+):(\S+?):\d+", out)
    assert m, out
    return m.group(1), m.group(2)


def test_swaks_delivery_byte_exact(daemon, tmp_path):
    users(daemon, "alice@example.org")
    # LF line ends and leading dots in the file: swaks sends CRLF and
    # stuffs the dots; the store must hold CRLF lines, unstuffed, plus
    # the CRLF swaks adds after the last line.
    path = tmp_path / "message.eml"
    path.write_bytes(b"From: app@example.net\nTo: alice@example.org\n"
                     b"Subject: from swaks\n\n.leading dot\n..two\n.\n"
                     b"last line")
    code, out = swaks(daemon, "smtp", "--from", "app@example.net",
                      "--to", "alice@example.org", "--data", "@%s" % path)
    assert code == SWAKS_OK, out
    m = re.search(r"250 2\.0\.0 Ok: delivered as ([0-9a-f]{16})", out)
    assert m, out
    rp, rcv, rest = split_trace(show(daemon, "alice@example.org"))
    assert rp == b"Return-Path: <app@example.net>\r\n"
    assert check_received(rcv, proto="ESMTP",
                          rcpt="alice@example.org") == m.group(1)
    assert rest == (b"From: app@example.net\r\nTo: alice@example.org\r\n"
                    b"Subject: from swaks\r\n\r\n.leading dot\r\n..two\r\n"
                    b".\r\nlast line\r\n")


def test_swaks_starttls_pipelining_partial_recipients(daemon):
    users(daemon, "alice@example.org", "bob@example.org")
    code, out = swaks(daemon, "smtp", "-tls", "--pipeline",
                      "--from", "app@example.net",
                      "--to", "alice@example.org,nobody@example.org,"
                      "bob@example.org",
                      "--header", "Subject: swaks tls")
    assert code == SWAKS_OK, out
    replies = server_replies(out)
    assert "220 2.0.0 Ready to start TLS" in replies, out
    assert any(r.startswith("550 5.1.1 <nobody@example.org>")
               for r in replies), out
    # After STARTTLS the EHLO reply no longer offers it.
    after_tls = out.split("TLS started", 1)[1]
    assert "STARTTLS" not in after_tls, out
    version, cipher = swaks_tls(out)
    assert version in ("TLSv1.2", "TLSv1.3")
    assert count(daemon, "alice@example.org") == 1
    assert count(daemon, "bob@example.org") == 1
    _, rcv, _ = split_trace(show(daemon, "bob@example.org"))
    # Two recipients accepted: no "for".
    check_received(rcv, proto="ESMTPS", tls=(version, cipher))


def test_swaks_refusals_on_port_25(daemon):
    users(daemon, "alice@example.org")
    code, out = swaks(daemon, "smtp", "--from", "app@example.net",
                      "--to", "nobody@example.org,someone@elsewhere.example")
    assert code == SWAKS_NO_RCPT, out
    replies = server_replies(out)
    assert any(r.startswith("550 5.1.1 ") for r in replies), out
    assert any(r.startswith("554 5.7.1 ") for r in replies), out
    assert count(daemon) == 0


@pytest.mark.parametrize("mech", ["PLAIN", "LOGIN"])
def test_swaks_auth_on_submission(daemon, mech):
    users(daemon, "alice@example.org", "bob@example.org")
    code, out = swaks(daemon, "submission", "--pipeline", "-a", mech,
                      "-au", "alice@example.org", "-ap", "secret",
                      "--from", "alice@example.org",
                      "--to", "bob@example.org",
                      "--header", "Subject: swaks auth %s" % mech)
    assert code == SWAKS_OK, out
    assert "235 2.7.0 " in out, out
    rows = listing(daemon, "bob@example.org")
    assert len(rows) == 1 and ("swaks auth %s" % mech) in rows[0], rows
    _, rcv, _ = split_trace(show(daemon, "bob@example.org"))
    check_received(rcv, proto="ESMTPA", rcpt="bob@example.org")
    assert b"alice" not in rcv


def test_swaks_auth_login_over_starttls(daemon):
    users(daemon, "alice@example.org", "bob@example.org")
    code, out = swaks(daemon, "submission", "-tls", "-a", "LOGIN",
                      "-au", "alice@example.org", "-ap", "secret",
                      "--from", "alice@example.org",
                      "--to", "bob@example.org")
    assert code == SWAKS_OK, out
    version, cipher = swaks_tls(out)
    _, rcv, _ = split_trace(show(daemon, "bob@example.org"))
    check_received(rcv, proto="ESMTPSA", tls=(version, cipher),
                   rcpt="bob@example.org")


def test_swaks_implicit_tls(daemon):
    users(daemon, "alice@example.org", "bob@example.org")
    code, out = swaks(daemon, "submissions", "--tls-on-connect",
                      "-a", "PLAIN", "-au", "alice@example.org",
                      "-ap", "secret", "--from", "alice@example.org",
                      "--to", "bob@example.org")
    assert code == SWAKS_OK, out
    version, cipher = swaks_tls(out)
    assert version in ("TLSv1.2", "TLSv1.3")
    _, rcv, _ = split_trace(show(daemon, "bob@example.org"))
    check_received(rcv, proto="ESMTPSA", tls=(version, cipher),
                   rcpt="bob@example.org")


def test_swaks_submission_refusals(make_daemon):
    daemon = make_daemon(extra="[outbound]\nenabled = no\n")
    users(daemon, "alice@example.org")
    # No AUTH: 530 5.7.0 at MAIL.
    code, out = swaks(daemon, "submission", "--from", "alice@example.org",
                      "--to", "alice@example.org")
    assert code != SWAKS_OK, out
    assert any(r.startswith("530 5.7.0 ") for r in server_replies(out)), out
    # Authenticated, but not local, and outbound delivery is off.
    code, out = swaks(daemon, "submission", "-a", "PLAIN",
                      "-au", "alice@example.org", "-ap", "secret",
                      "--from", "alice@example.org",
                      "--to", "friend@elsewhere.example")
    assert code == SWAKS_NO_RCPT, out
    assert any(r.startswith("550 5.7.1 ") and
               "Outbound delivery is not enabled" in r
               for r in server_replies(out)), out
    assert count(daemon) == 0


def test_swaks_message_too_big(make_daemon, tmp_path):
    d = make_daemon(top="max_message_size = 10K\n")
    users(d, "alice@example.org")
    path = tmp_path / "big.eml"
    path.write_bytes(b"Subject: big\n\n" + b"x" * 70 + (b"\n" + b"x" * 70)
                     * 200)
    code, out = swaks(d, "submission", "-a", "PLAIN",
                      "-au", "alice@example.org", "-ap", "secret",
                      "--from", "alice@example.org",
                      "--to", "alice@example.org", "--data", "@%s" % path)
    assert code == SWAKS_AFTER_DATA, out
    assert any(r.startswith("552 5.3.4 ") for r in server_replies(out)), out
    assert count(d) == 0
