"""SMTP under TLS: STARTTLS (RFC 3207) on the smtp and submission ports,
implicit TLS on submissions (RFC 8314), AUTH over TLS (RFC 4954), the
STARTTLS command injection of CVE-2011-0411, the TLS version and cipher
in Received (RFC 3848 "ESMTPS"/"ESMTPSA"), and TLS 1.0/1.1 refused
(DESIGN.md: TLS 1.2 and 1.3 only).

The daemon makes a self-signed certificate in its data directory, so the
client does not verify it.
"""
import os
import smtplib
import socket
import ssl
import warnings

import pytest

from test_smtp import (HOST, TIMEOUT, Raw, Reply, b64, check_received,
                       delivered_id, expect, login, parse_tx_log, plain,
                       send_message, show, split_trace, tx_log_lines, users)
from test_smtp import ALICE_MSG as MSG


def client_ctx(maximum=None):
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    if maximum is not None:
        ctx.maximum_version = maximum
    return ctx


def old_tls_ctx():
    """A client that offers only TLS 1.0 and 1.1 (and would take any
    cipher): the server must refuse the handshake."""
    ctx = client_ctx()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        ctx.minimum_version = ssl.TLSVersion.TLSv1
        ctx.maximum_version = ssl.TLSVersion.TLSv1_1
    ctx.set_ciphers("ALL:@SECLEVEL=0")
    return ctx


def assert_refuses_old_tls(port):
    """An implicit-TLS port refuses a TLS 1.0/1.1-only client
    (DESIGN.md: TLS 1.2 and 1.3 only)."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    try:
        with pytest.raises((ssl.SSLError, OSError)):
            old_tls_ctx().wrap_socket(sock).recv(100)
    finally:
        sock.close()


def plaintext_answer(port, probe):
    """What an implicit-TLS port says to a client that sends probe in
    plaintext (b"" when it says nothing or resets)."""
    c = socket.create_connection(("127.0.0.1", port), timeout=10)
    try:
        c.sendall(probe)
        c.settimeout(5)
        try:
            return c.recv(4096)
        except (ConnectionResetError, socket.timeout):
            return b""
    finally:
        c.close()


def tls_raw(d, ctx=None):
    """A Raw client on the submissions port (TLS from the first byte)."""
    sock = socket.create_connection((HOST, d.ports["submissions"]),
                                    timeout=TIMEOUT)
    return Raw(None, sock=(ctx or client_ctx()).wrap_socket(sock))


def _reply(code, text):
    return Reply(code, [text.decode()], text)


def tls_of(sock):
    return sock.version(), sock.cipher()[0]


def ehlo_keywords(reply):
    return [l.split()[0].upper() for l in reply.lines[1:]]


def test_starttls_on_smtp_port(daemon):
    users(daemon, "alice@example.org")
    s = smtplib.SMTP(HOST, daemon.ports["smtp"], timeout=TIMEOUT,
                     local_hostname="client.example")
    try:
        s.ehlo()
        assert s.has_extn("starttls")
        assert s.starttls(context=client_ctx()) == (
            220, b"2.0.0 Ready to start TLS")
        version, cipher = tls_of(s.sock)
        assert version in ("TLSv1.2", "TLSv1.3")
        s.ehlo()
        # RFC 3207 4.2: not offered again once TLS is up.
        assert not s.has_extn("starttls")
        assert not s.has_extn("auth")
        for kw in ("pipelining", "size", "8bitmime", "enhancedstatuscodes",
                   "chunking", "smtputf8"):
            assert s.has_extn(kw), kw
        s.mail("sender@example.net")
        s.rcpt("alice@example.org")
        code, text = s.data(MSG)
    finally:
        s.close()
    tx = delivered_id(_reply(code, text))
    rp, rcv, rest = split_trace(show(daemon, "alice@example.org"))
    assert rp == b"Return-Path: <sender@example.net>\r\n"
    # RFC 3848: ESMTPS; version and cipher as negotiated.
    assert check_received(rcv, proto="ESMTPS", tls=(version, cipher),
                          rcpt="alice@example.org") == tx
    assert rest == MSG
    f = parse_tx_log(tx_log_lines(daemon, tx)[0])
    assert f["tls"] == version
    assert f["auth"] == "-"


@pytest.mark.parametrize("service", ["smtp", "submission"])
def test_starttls_injection_cve_2011_0411(daemon, service):
    users(daemon, "alice@example.org")
    c = Raw(daemon.ports[service])
    c.ehlo()
    if service == "submission":
        login(c)
    expect(c.cmd("MAIL FROM:<alice@example.org>"), 250, "2.1.0")
    # STARTTLS and a command after it in one write: the NOOP arrived in
    # plaintext and must never be taken as sent under TLS.
    c.send(b"STARTTLS\r\nNOOP\r\n")
    expect(c.reply(), 220, "2.0.0")
    c.starttls(client_ctx())
    assert c.quiet(0.5), "server answered the injected command: %r" % c.buf
    # RFC 3207 4.2: everything learned before TLS is forgotten: EHLO
    # again, no transaction, and on submission no AUTH.
    expect(c.cmd("MAIL FROM:<alice@example.org>"), 503, "5.5.1")
    r = c.ehlo()
    assert "STARTTLS" not in ehlo_keywords(r)
    expect(c.cmd("RCPT TO:<alice@example.org>"), 503, "5.5.1")
    if service == "submission":
        # The AUTH identity was learned before TLS: forgotten too, so
        # MAIL needs AUTH again and AUTH is offered again.
        expect(c.cmd("MAIL FROM:<alice@example.org>"), 530, "5.7.0")
        assert "AUTH" in ehlo_keywords(r)
    expect(c.cmd("NOOP"), 250, "2.0.0")
    assert c.quiet(0.2)


def test_starttls_errors(daemon):
    c = Raw(daemon.ports["submission"])
    c.ehlo()
    expect(c.cmd("STARTTLS now"), 501, "5.5.4")
    expect(c.cmd("STARTTLS"), 220, "2.0.0")
    c.starttls(client_ctx())
    c.ehlo()
    # Twice is out of sequence (RFC 3207 4: 503 when TLS is active).
    expect(c.cmd("STARTTLS"), 503, "5.5.1")
    expect(c.cmd("NOOP"), 250, "2.0.0")


def test_auth_over_starttls_on_submission(daemon):
    users(daemon, "alice@example.org", "bob@example.org")
    c = Raw(daemon.ports["submission"])
    c.ehlo()
    expect(c.cmd("STARTTLS"), 220, "2.0.0")
    c.starttls(client_ctx())
    version, cipher = tls_of(c.sock)
    r = c.ehlo()
    assert "AUTH" in ehlo_keywords(r)
    assert "AUTH PLAIN LOGIN" in r.lines
    r = c.cmd("AUTH LOGIN " + b64("alice@example.org"))
    assert r.raw == b"334 UGFzc3dvcmQ6\r\n", r
    expect(c.cmd(b64("secret")), 235, "2.7.0")
    tx = delivered_id(send_message(c, "alice@example.org",
                                   ["bob@example.org"], MSG))
    _, rcv, rest = split_trace(show(daemon, "bob@example.org"))
    # RFC 3848: ESMTPSA; the authenticated user is not in the header.
    assert check_received(rcv, proto="ESMTPSA", tls=(version, cipher),
                          rcpt="bob@example.org") == tx
    assert b"alice" not in rcv
    assert rest == MSG


def test_implicit_tls_submissions(daemon):
    users(daemon, "alice@example.org", "bob@example.org")
    s = smtplib.SMTP_SSL(HOST, daemon.ports["submissions"], timeout=TIMEOUT,
                         local_hostname="client.example",
                         context=client_ctx())
    try:
        version, cipher = tls_of(s.sock)
        s.ehlo()
        # RFC 8314 3.3: already TLS: no STARTTLS; AUTH offered.
        assert not s.has_extn("starttls")
        assert set(s.esmtp_features["auth"].split()) == {"PLAIN", "LOGIN"}
        code, text = s.login("alice@example.org", "secret")
        assert (code, text.split()[0]) == (235, b"2.7.0")
        code, text = s.docmd("STARTTLS")
        assert (code, text.split()[0]) == (503, b"5.5.1")
        assert s.sendmail("alice@example.org", ["bob@example.org"],
                          MSG) == {}
    finally:
        s.close()
    rp, rcv, rest = split_trace(show(daemon, "bob@example.org"))
    assert rp == b"Return-Path: <alice@example.org>\r\n"
    tx = check_received(rcv, proto="ESMTPSA", tls=(version, cipher),
                        rcpt="bob@example.org")
    assert b"alice" not in rcv
    assert rest == MSG
    f = parse_tx_log(tx_log_lines(daemon, tx)[0])
    assert f["tls"] == version and f["auth"] == "alice@example.org"


def test_implicit_tls_mail_before_auth(daemon):
    users(daemon, "alice@example.org")
    c = tls_raw(daemon)
    assert c.greeting.code == 220
    c.ehlo()
    expect(c.cmd("MAIL FROM:<alice@example.org>"), 530, "5.7.0")
    r = c.cmd("AUTH PLAIN")
    assert r.raw == b"334 \r\n", r
    expect(c.cmd(plain("alice@example.org", "secret")), 235, "2.7.0")
    expect(c.cmd("MAIL FROM:<alice@example.org>"), 250, "2.1.0")


def test_tls12_version_and_cipher_in_received(daemon):
    users(daemon, "alice@example.org", "bob@example.org")
    c = tls_raw(daemon, client_ctx(maximum=ssl.TLSVersion.TLSv1_2))
    version, cipher = tls_of(c.sock)
    assert version == "TLSv1.2"
    # "Modern ciphers": forward secrecy and an AEAD.
    assert cipher.startswith("ECDHE-") or cipher.startswith("DHE-"), cipher
    assert "GCM" in cipher or "CHACHA20" in cipher, cipher
    c.ehlo()
    login(c)
    tx = delivered_id(send_message(c, "alice@example.org",
                                   ["bob@example.org"], MSG))
    _, rcv, _ = split_trace(show(daemon, "bob@example.org"))
    assert check_received(rcv, proto="ESMTPSA", tls=("TLSv1.2", cipher),
                          rcpt="bob@example.org") == tx


def test_tls11_refused(daemon):
    # Implicit TLS.
    sock = socket.create_connection((HOST, daemon.ports["submissions"]),
                                    timeout=TIMEOUT)
    with pytest.raises((ssl.SSLError, ConnectionResetError)) as err:
        old_tls_ctx().wrap_socket(sock)
    assert "NO_PROTOCOLS_AVAILABLE" not in str(err.value), \
        "this client cannot speak TLS 1.1 at all: %s" % err.value
    sock.close()
    # STARTTLS.
    c = Raw(daemon.ports["submission"])
    c.ehlo()
    expect(c.cmd("STARTTLS"), 220, "2.0.0")
    with pytest.raises((ssl.SSLError, ConnectionResetError)):
        c.starttls(old_tls_ctx())
    c.close()
    assert "TLS handshake with 127.0.0.1 failed" in daemon.read_log()
    # The server goes on serving modern clients.
    c = tls_raw(daemon)
    assert c.greeting.code == 220
    expect(c.cmd("NOOP"), 250, "2.0.0")


def test_plaintext_client_on_implicit_tls_port(daemon):
    c = Raw(daemon.ports["submissions"], greet=False)
    c.send(b"EHLO client.example\r\n")
    # No SMTP in plaintext: the server wants a ClientHello. Whatever it
    # sends (at most a TLS alert), it is not a 220 and it closes.
    data = b""
    c.sock.settimeout(TIMEOUT)
    try:
        while True:
            chunk = c.sock.recv(4096)
            if not chunk:
                break
            data += chunk
    except ConnectionResetError:
        pass
    assert not data.startswith(b"220"), data
    assert not data.startswith(b"250"), data


def test_self_signed_certificate_in_data_dir(daemon):
    cert = os.path.join(daemon.lb.data_dir, "tls-cert.pem")
    key = os.path.join(daemon.lb.data_dir, "tls-key.pem")
    assert os.path.exists(cert) and os.path.exists(key)
    assert os.stat(key).st_mode & 0o077 == 0, oct(os.stat(key).st_mode)
    with open(cert) as f:
        der = ssl.PEM_cert_to_DER_cert(f.read())
    c = tls_raw(daemon)
    assert c.sock.getpeercert(binary_form=True) == der
    s = smtplib.SMTP(HOST, daemon.ports["submission"], timeout=TIMEOUT)
    try:
        s.starttls(context=client_ctx())
        assert s.sock.getpeercert(binary_form=True) == der
    finally:
        s.close()
