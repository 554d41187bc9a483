"""POP3 with real mail clients: curl's pop3:// and pop3s:// (libcurl's
POP3: CAPA, SASL PLAIN with and without initial response, STLS, LIST,
RETR, UIDL, DELE) and fetchmail (USER/PASS, STAT/LIST/RETR/DELE/QUIT,
UIDL in keep mode; plain, STLS and implicit TLS), delivering through an
MDA command that writes each message to a file.

Each test checks the bytes the client got against what the store holds
(`letterbox message show`) and what the store holds afterwards.

The daemon's certificate is self-signed (made in its data directory):
curl runs with -k; fetchmail with `no sslcertck` and the certificate's
fingerprint (`sslfingerprint`), so the TLS runs still check whom they
talk to.

curl and fetchmail are Debian packages (`apt-get install curl
fetchmail`); a missing one skips its tests with the reason.
"""
import hashlib
import os
import pwd
import shutil
import ssl
import subprocess
import time

import pytest

from test_pop3 import (ALICE, DOTS, PASSWORD, deliver, inbox, message,
                       show, uids, users)
from test_smtp import listing

CURL = shutil.which("curl")
FETCHMAIL = shutil.which("fetchmail")

need_curl = pytest.mark.skipif(CURL is None,
                               reason="curl not installed (apt-get install "
                                      "curl)")
need_fetchmail = pytest.mark.skipif(
    FETCHMAIL is None,
    reason="fetchmail not installed (apt-get install fetchmail)")

EIGHT_BIT = (b"Subject: 8bit\r\nContent-Type: text/plain; charset=latin1\r\n"
             b"Content-Transfer-Encoding: 8bit\r\n\r\n"
             b"caf\xe9 na\xefve \xff\r\n")


def big_message(size=300 * 1024):
    """A message over several of the store's body pieces, with dot
    lines here and there."""
    lines = [b"Subject: big one\r\n", b"Message-ID: <big@example.net>\r\n",
             b"\r\n"]
    n = 0
    total = sum(len(l) for l in lines)
    while total < size:
        line = b"%06d the quick brown fox jumps over the lazy dog\r\n" % n
        if n % 50 == 0:
            line = b"." + line
        lines.append(line)
        total += len(line)
        n += 1
    return b"".join(lines)


def fill_mixed(d):
    """Delivers four different messages; returns {uid: stored bytes}."""
    users(d, ALICE)
    out = {}
    for msg in (DOTS, message(2), EIGHT_BIT, big_message()):
        uid = deliver(d, ALICE, msg)
        out[uid] = show(d, ALICE, uid)
        assert out[uid] == msg
    return out


# ---------------------------------------------------------------- curl

def curl(*args, check=True):
    proc = subprocess.run([CURL, "-sS", "--max-time", "60"] + list(args),
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          timeout=120)
    if check:
        assert proc.returncode == 0, (args, proc.returncode, proc.stderr)
    return proc


def curl_url(d, path="", scheme="pop3", service="pop3"):
    return "%s://127.0.0.1:%d/%s" % (scheme, d.ports[service], path)


def curl_user(user=ALICE, password=PASSWORD):
    return ["--user", "%s:%s" % (user, password)]


@need_curl
def test_curl_list_and_retrieve(daemon):
    stored = fill_mixed(daemon)
    # No message number: LIST (scan listings, as the server sent them).
    out = curl(curl_url(daemon), *curl_user()).stdout
    assert out == b"".join(b"%d %d\r\n" % (i, len(stored[uid]))
                           for i, uid in enumerate(sorted(stored), 1))
    # A number: RETR; curl undoes the dot-stuffing: the stored bytes.
    for i, uid in enumerate(sorted(stored), 1):
        out = curl(curl_url(daemon, str(i)), *curl_user()).stdout
        assert out == stored[uid], i
    # With the SASL initial response (RFC 5034 4) as well.
    out = curl(curl_url(daemon, "1"), *curl_user(), "--sasl-ir").stdout
    assert out == stored[1]
    # Nothing was deleted by reading.
    assert uids(daemon, ALICE) == sorted(stored)


@need_curl
def test_curl_uidl_and_dele(daemon):
    stored = fill_mixed(daemon)
    _, uidvalidity = inbox(daemon, ALICE)
    out = curl(curl_url(daemon), *curl_user(), "-X", "UIDL").stdout
    assert out == b"".join(b"%d %d.%d\r\n" % (i, uidvalidity, uid)
                           for i, uid in enumerate(sorted(stored), 1))
    # DELE of message 2; curl QUITs, which removes it.
    curl(curl_url(daemon, "2"), *curl_user(), "-X", "DELE", "-I")
    deadline = time.time() + 5
    while uids(daemon, ALICE) != [1, 3, 4] and time.time() < deadline:
        time.sleep(0.05)
    assert uids(daemon, ALICE) == [1, 3, 4]
    assert [r.split()[0] for r in listing(daemon, ALICE)] == ["1", "3", "4"]
    # Numbers are per session: message 2 is now UID 3's.
    out = curl(curl_url(daemon, "2"), *curl_user()).stdout
    assert out == stored[3]


@need_curl
def test_curl_stls_and_pop3s(daemon):
    stored = fill_mixed(daemon)
    # --ssl-reqd: STLS (RFC 2595) or fail; -k: the self-signed cert.
    proc = curl(curl_url(daemon, "1"), *curl_user(), "--ssl-reqd", "-k",
                "-v")
    assert proc.stdout == stored[1]
    assert b"> STLS" in proc.stderr
    # After STLS the CAPA is asked again, without STLS in it.
    after = proc.stderr.split(b"> STLS", 1)[1]
    assert b"< STLS" not in after and b"< SASL PLAIN" in after
    # Implicit TLS (RFC 8314).
    out = curl(curl_url(daemon, "4", scheme="pop3s", service="pop3s"),
               *curl_user(), "-k").stdout
    assert out == stored[4]


@need_curl
def test_curl_wrong_password(daemon):
    users(daemon, ALICE)
    proc = curl(curl_url(daemon), *curl_user(password="wrong-pw"),
                check=False)
    # CURLE_LOGIN_DENIED.
    assert proc.returncode == 67, proc


# ---------------------------------------------------------------- fetchmail

def cert_md5(d):
    """The MD5 fingerprint of the daemon's certificate as fetchmail's
    sslfingerprint wants it (AA:BB:...)."""
    with open(os.path.join(d.lb.data_dir, "tls-cert.pem")) as f:
        der = ssl.PEM_cert_to_DER_cert(f.read())
    h = hashlib.md5(der).hexdigest().upper()
    return ":".join(h[i:i + 2] for i in range(0, len(h), 2))


def fetchmail(d, tmp_path, mode="plain", keep=False, name="run"):
    """Runs fetchmail once against d's POP3 (mode: plain, stls or ssl),
    every message into its own file through an MDA. Returns (exit code,
    [file contents], log)."""
    work = tmp_path / name
    work.mkdir()
    out = work / "out"
    out.mkdir()
    local = pwd.getpwuid(os.getuid()).pw_name
    port = d.ports["pop3s" if mode == "ssl" else "pop3"]
    tls = {
        # No TLS at all (fetchmail 6.4 would otherwise try STLS).
        "plain": "sslproto ''",
        # STLS required (RFC 2595).
        "stls": "sslproto \"auto\" no sslcertck sslfingerprint \"%s\"" %
                cert_md5(d),
        # Implicit TLS (RFC 8314).
        "ssl": "ssl no sslcertck sslfingerprint \"%s\"" % cert_md5(d),
    }[mode]
    rc = work / "fetchmailrc"
    rc.write_text(
        "set no syslog\n"
        "set idfile \"%s/fetchids\"\n"
        "poll 127.0.0.1 proto pop3 port %d auth password timeout 30 %s\n"
        "  user \"%s\" there with password \"%s\" is %s here\n"
        "  options %s %s no rewrite no stripcr\n"
        "  mda \"cat > $(mktemp %s/msg.XXXXXX)\"\n"
        % (tmp_path, port, "uidl" if keep else "", ALICE, PASSWORD, local,
           "keep" if keep else "fetchall nokeep", tls, out))
    # fetchmail refuses an rcfile others can read.
    os.chmod(rc, 0o600)
    env = dict(os.environ, HOME=str(work))
    proc = subprocess.run(
        [FETCHMAIL, "-v", "--nodetach", "-f", str(rc), "--pidfile",
         str(work / "pid")],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env,
        timeout=120)
    got = [p.read_bytes() for p in sorted(out.iterdir())]
    return proc.returncode, got, proc.stdout.decode(errors="replace")


def strip_fetchmail_received(msg):
    """fetchmail puts its own Received field in front (RFC 5321 4.4):
    the message as the server sent it follows."""
    assert msg.startswith(b"Received: from 127.0.0.1 "), msg[:200]
    end = msg.index(b"\r\n") + 2
    while msg[end:end + 1] in (b" ", b"\t"):
        end = msg.index(b"\r\n", end) + 2
    assert b"fetchmail" in msg[:end], msg[:end]
    return msg[end:]


def check_fetched(got, expected):
    """Every expected message arrived once, byte for byte."""
    got = sorted(strip_fetchmail_received(m) for m in got)
    assert got == sorted(expected), [m[:80] for m in got]


@need_fetchmail
@pytest.mark.parametrize("mode", ["plain", "stls", "ssl"])
def test_fetchmail_fetches_all_and_deletes(daemon, tmp_path, mode):
    stored = fill_mixed(daemon)
    code, got, log = fetchmail(daemon, tmp_path, mode)
    assert code == 0, log
    assert "4 messages for %s" % ALICE in log, log
    if mode == "stls":
        assert "POP3> STLS" in log, log
    if mode != "plain":
        # The TLS session was checked against the certificate.
        assert "key fingerprint: %s" % cert_md5(daemon) in log, log
        assert "fingerprints match" in log.lower(), log
    check_fetched(got, stored.values())
    # Not told to keep them: DELE each, QUIT: gone from the store and
    # from what IMAP sees.
    assert uids(daemon, ALICE) == []
    assert listing(daemon, ALICE) == []
    # A second run finds nothing (fetchmail exits 1: no mail).
    code, got, log = fetchmail(daemon, tmp_path, mode, name="again")
    assert code == 1, log
    assert got == []


@need_fetchmail
def test_fetchmail_keep_with_uidl(daemon, tmp_path):
    # keep + uidl: fetchmail remembers the unique-ids it has seen
    # (RFC 1939 7 UIDL) and fetches only new mail next time; nothing is
    # deleted on the server.
    stored = fill_mixed(daemon)
    code, got, log = fetchmail(daemon, tmp_path, keep=True, name="first")
    assert code == 0, log
    assert "UIDL" in log, log
    check_fetched(got, stored.values())
    assert uids(daemon, ALICE) == sorted(stored)
    new_uid = deliver(daemon, ALICE, message(9))
    code, got, log = fetchmail(daemon, tmp_path, keep=True, name="second")
    assert code == 0, log
    check_fetched(got, [show(daemon, ALICE, new_uid)])
    assert uids(daemon, ALICE) == sorted(stored) + [new_uid]
    # Nothing new: nothing fetched.
    code, got, log = fetchmail(daemon, tmp_path, keep=True, name="third")
    assert code == 1, log
    assert got == []
