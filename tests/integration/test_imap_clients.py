"""IMAP with real mail clients: curl's imap:// and imaps:// (libcurl's
IMAP: CAPABILITY, AUTHENTICATE PLAIN with SASL-IR, STARTTLS, LIST,
SELECT/EXAMINE, UID FETCH of BODY[] and sections, APPEND, custom
commands) and mutt (in batch mode: sending with an Fcc copy APPENDed to
Sent; on a pseudo-terminal with pushed keys: reading, piping, saving to
another folder (COPY), deleting and expunging).

Each test checks what the client got against what the store holds
(`letterbox message show`) and what the store holds afterwards.

The daemon's certificate is self-signed (made in its data directory):
curl runs with -k; mutt trusts it through certificate_file (the daemon's
own certificate), so the TLS runs still check whom they talk to.

curl and mutt are Debian packages (`apt-get install curl mutt`); a
missing one skips its tests with the reason.
"""
import os
import pty
import re
import select
import shutil
import signal
import subprocess
import time

import pytest

import conftest
from test_imap import (DEFAULT_MAILBOXES, F_FLAGGED, F_SEEN, MIXED, PART1,
                       PASSWORD, deliver, mailbox_rows, message, messages,
                       new_user)
from test_smtp import show

CURL = shutil.which("curl")
MUTT = shutil.which("mutt")

need_curl = pytest.mark.skipif(CURL is None,
                               reason="curl not installed (apt-get install "
                                      "curl)")
need_mutt = pytest.mark.skipif(MUTT is None,
                               reason="mutt not installed (apt-get install "
                                      "mutt)")


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    d = conftest.Daemon(tmp_path_factory.mktemp("imapd-clients"))
    yield d
    d.stop()


@pytest.fixture
def user(server):
    return new_user(server)


def fill_mixed(d, user):
    """Three messages in INBOX (UIDs 1..3), the second a multipart one;
    returns {uid: stored bytes}."""
    out = {}
    for msg in (message(1), MIXED, message(3)):
        uid = deliver(d, user, msg)
        out[uid] = show(d, user, uid)
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


def curl_url(d, path="", scheme="imap", service="imap"):
    return "%s://127.0.0.1:%d/%s" % (scheme, d.ports[service], path)


def curl_user(user, password=PASSWORD):
    return ["--user", "%s:%s" % (user, password)]


@need_curl
def test_curl_list_mailboxes(server, user):
    # No mailbox in the URL: LIST "" * (RFC 5092 URL of the server).
    proc = curl(curl_url(server), *curl_user(user), "-v")
    lines = proc.stdout.decode().splitlines()
    names = set()
    for line in lines:
        m = re.match(r'^\* LIST \(([^)]*)\) "/" "?([^"]*)"?$', line)
        assert m, line
        names.add(m.group(2))
    assert names == set(DEFAULT_MAILBOXES), lines
    # curl logged in with AUTHENTICATE PLAIN (offered before login).
    assert b"> A002 AUTHENTICATE PLAIN" in proc.stderr or \
        b"AUTHENTICATE PLAIN" in proc.stderr, proc.stderr


@need_curl
def test_curl_fetch_messages_and_sections(server, user):
    stored = fill_mixed(server, user)
    for uid, msg in stored.items():
        out = curl(curl_url(server, "INBOX;UID=%d" % uid),
                   *curl_user(user)).stdout
        assert out == msg, uid
    # RFC 5092 ";SECTION=": BODY[...] of the multipart message.
    out = curl(curl_url(server, "INBOX;UID=2/;SECTION=1"),
               *curl_user(user)).stdout
    assert out == PART1
    out = curl(curl_url(server, "INBOX;UID=2/;SECTION=HEADER"),
               *curl_user(user)).stdout
    assert out == MIXED.split(b"\r\n\r\n", 1)[0] + b"\r\n\r\n"
    # With the SASL initial response (RFC 4959; curl 7.88 sends one
    # whenever SASL-IR is announced).
    proc = curl(curl_url(server, "INBOX;UID=3"), *curl_user(user),
                "--sasl-ir", "-v")
    assert proc.stdout == stored[3]
    assert re.search(rb"> A\d+ AUTHENTICATE PLAIN \S+", proc.stderr), \
        proc.stderr
    # BODY[] (not PEEK) set \Seen on what was fetched whole.
    flags = {m[0]: m[1] for m in messages(server, user)}
    assert flags[1] & F_SEEN and flags[3] & F_SEEN, flags


@need_curl
def test_curl_append(server, user, tmp_path):
    path = tmp_path / "upload.eml"
    path.write_bytes(MIXED)
    # curl -T: APPEND with a synchronizing literal (or LITERAL+).
    curl(curl_url(server, "Drafts"), *curl_user(user), "-T", str(path))
    assert [m[0] for m in messages(server, user, "Drafts")] == [1]
    assert show(server, user, 1, "Drafts") == MIXED
    # To a mailbox that does not exist: NO [TRYCREATE]; curl fails.
    proc = curl(curl_url(server, "Nope"), *curl_user(user), "-T",
                str(path), check=False)
    assert proc.returncode != 0, proc
    assert "Nope" not in mailbox_rows(server, user)


@need_curl
def test_curl_custom_commands(server, user):
    fill_mixed(server, user)
    # -X: a command of our own after login (and after SELECT when the
    # URL names a mailbox); curl prints the untagged responses.
    proc = curl(curl_url(server), *curl_user(user), "-X",
                "EXAMINE INBOX")
    out = proc.stdout.decode()
    assert "* 3 EXISTS" in out and "* 0 RECENT" in out, out
    proc = curl(curl_url(server, "INBOX"), *curl_user(user), "-X",
                "STORE 2 +FLAGS (\\Flagged)")
    assert re.search(rb"\* 2 FETCH \(FLAGS \(\\Flagged\)\)", proc.stdout), \
        proc.stdout
    assert [m[1] for m in messages(server, user)] == [0, F_FLAGGED, 0]
    proc = curl(curl_url(server), *curl_user(user), "-X",
                'STATUS INBOX (MESSAGES UNSEEN)')
    assert re.search(rb'\* STATUS "?INBOX"? \(MESSAGES 3 UNSEEN 3\)',
                     proc.stdout), proc.stdout
    proc = curl(curl_url(server), *curl_user(user), "-X",
                'CREATE "made/by curl"')
    assert "made/by curl" in mailbox_rows(server, user)


@need_curl
def test_curl_search(server, user):
    fill_mixed(server, user)
    # RFC 5092 ";" URL with a search part: curl sends SEARCH after
    # SELECT and prints the result.
    proc = curl(curl_url(server, "INBOX?SUBJECT%20%22message%203%22"),
                *curl_user(user))
    assert proc.stdout.decode().split() == ["*", "SEARCH", "3"], \
        proc.stdout
    proc = curl(curl_url(server, "INBOX"), *curl_user(user), "-X",
                "UID SEARCH BODY \"line 2 of message 1\"")
    assert proc.stdout.decode().split() == ["*", "SEARCH", "1"], \
        proc.stdout
    proc = curl(curl_url(server, "INBOX?NOT%20SEEN"), *curl_user(user))
    assert proc.stdout.decode().split() == ["*", "SEARCH", "1", "2", "3"], \
        proc.stdout


@need_curl
def test_curl_starttls_and_imaps(server, user):
    stored = fill_mixed(server, user)
    # --ssl-reqd: STARTTLS (RFC 3501 6.2.1) or fail; -k: self-signed.
    proc = curl(curl_url(server, "INBOX;UID=2"), *curl_user(user),
                "--ssl-reqd", "-k", "-v")
    assert proc.stdout == stored[2]
    assert re.search(rb"> A\d+ STARTTLS", proc.stderr), proc.stderr
    # After STARTTLS curl asks CAPABILITY again: no STARTTLS in it.
    after = re.split(rb"> A\d+ STARTTLS", proc.stderr, 1)[1]
    caps = re.findall(rb"< \* CAPABILITY ([^\r\n]*)", after)
    assert caps and b"STARTTLS" not in caps[0], after
    # Implicit TLS (RFC 8314).
    out = curl(curl_url(server, "INBOX;UID=3", scheme="imaps",
                        service="imaps"), *curl_user(user), "-k").stdout
    assert out == stored[3]


@need_curl
def test_curl_wrong_password(server, user):
    proc = curl(curl_url(server), *curl_user(user, "wrong-pw"),
                check=False)
    # CURLE_LOGIN_DENIED.
    assert proc.returncode == 67, proc


# ---------------------------------------------------------------- mutt

def mutt_setup(d, user, tmp_path, mode="plain", name="mutt"):
    """A HOME with a muttrc for user on d (mode: plain, starttls or
    imaps); returns (home, env, muttrc path, sent-mail capture dir)."""
    home = tmp_path / name
    home.mkdir()
    sent = home / "sent"
    sent.mkdir()
    capture = home / "sendmail"
    # The "sendmail" mutt hands the message to: keep it in a file.
    capture.write_text("#!/bin/sh\ncat > \"$(mktemp %s/msg.XXXXXX)\"\n"
                       % sent)
    os.chmod(capture, 0o755)
    scheme, service = {"plain": ("imap", "imap"),
                       "starttls": ("imap", "imap"),
                       "imaps": ("imaps", "imaps")}[mode]
    rc = home / "muttrc"
    rc.write_text(
        'set folder="%s://127.0.0.1:%d/"\n'
        'set spoolfile="+INBOX"\n'
        'set record="+Sent"\n'
        'set copy=yes\n'
        'set imap_user="%s"\n'
        'set imap_pass="%s"\n'
        'set imap_authenticators="plain:login"\n'
        'set from="%s"\n'
        'set realname="Mutt User"\n'
        'set use_from=yes\n'
        'set sendmail="%s"\n'
        'set ssl_starttls=%s\n'
        'set ssl_force_tls=%s\n'
        'set certificate_file="%s"\n'
        'set ssl_verify_host=no\n'
        'set send_charset="utf-8"\n'
        'set header_cache=""\n'
        'set message_cachedir=""\n'
        'set move=no\n'
        'set confirmappend=no\n'
        'set confirmcreate=no\n'
        'set delete=yes\n'
        'set quit=yes\n'
        'set wait_key=no\n'
        'set pipe_decode=no\n'
        'set sleep_time=0\n'
        'set mail_check=60\n'
        'set timeout=30\n'
        'set imap_keepalive=300\n'
        'set charset="utf-8"\n'
        'set tmpdir="%s"\n'
        'set sort=mailbox-order\n'
        'set mark_old=no\n'
        % (scheme, d.ports[service], user, PASSWORD, user, capture,
           "yes" if mode == "starttls" else "no",
           "no" if mode == "plain" else "yes",
           os.path.join(d.lb.data_dir, "tls-cert.pem"), home))
    env = {"HOME": str(home), "PATH": os.environ.get("PATH", "/usr/bin"),
           "TERM": "vt100", "LANG": "C.UTF-8", "MAIL": "",
           "EDITOR": "/bin/true", "TMPDIR": str(home)}
    return home, env, rc, sent


def mutt_batch(env, rc, subject, to, body, timeout=60):
    """mutt in batch mode (stdin is not a terminal): sends body to to,
    saving a copy in $record."""
    return subprocess.run(
        [MUTT, "-n", "-F", str(rc), "-s", subject, "--", to],
        input=body, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        env=env, timeout=timeout)


def mutt_tty(env, rc, folder, keys, timeout=60):
    """mutt on a pseudo-terminal, opening folder and running the pushed
    keys (which must end by quitting). Returns (exit status, screen
    output)."""
    pid, fd = pty.fork()
    if pid == 0:
        try:
            os.execve(MUTT, [MUTT, "-n", "-F", str(rc), "-f", folder,
                             "-e", "push '%s'" % keys], env)
        finally:
            os._exit(127)
    out = b""
    deadline = time.time() + timeout
    status = None
    try:
        while time.time() < deadline and status is None:
            r, _, _ = select.select([fd], [], [], 0.2)
            if r:
                try:
                    data = os.read(fd, 65536)
                except OSError:         # EIO: the terminal's other end
                    data = b""          # is closed, mutt is exiting
                out += data
                if not data:
                    while time.time() < deadline and status is None:
                        wpid, st = os.waitpid(pid, os.WNOHANG)
                        if wpid:
                            status = st
                        else:
                            time.sleep(0.05)
                    break
            wpid, st = os.waitpid(pid, os.WNOHANG)
            if wpid:
                status = st
    finally:
        if status is None:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
        os.close(fd)
    assert status is not None, "mutt did not finish: %r" % out[-2000:]
    return os.waitstatus_to_exitcode(status), out


def lf(data):
    return data.replace(b"\r\n", b"\n")


@need_mutt
@pytest.mark.parametrize("mode", ["plain", "starttls", "imaps"])
def test_mutt_batch_send_saves_copy_to_sent(server, user, tmp_path, mode):
    _, env, rc, sent = mutt_setup(server, user, tmp_path, mode)
    body = b"Hello from mutt.\nSecond line, \xc3\xa4.\n"
    proc = mutt_batch(env, rc, "mutt batch %s" % mode,
                      "friend@example.net", body)
    assert proc.returncode == 0, (proc.stdout, proc.stderr)
    # The message went to "sendmail" ...
    handed = [p.read_bytes() for p in sent.iterdir()]
    assert len(handed) == 1, handed
    assert b"Subject: mutt batch %s" % mode.encode() in handed[0]
    # ... and its Fcc copy was APPENDed to Sent over IMAP.
    rows = messages(server, user, "Sent")
    assert len(rows) == 1, rows
    copy = show(server, user, rows[0][0], "Sent")
    assert b"Subject: mutt batch %s" % mode.encode() in copy
    assert b"\r\n" in copy and b"\n" not in copy.replace(b"\r\n", b""), \
        "APPENDed copy is not CRLF: %r" % copy[:200]
    # Same body as what was handed to sendmail (mutt writes LF there).
    assert lf(copy).split(b"\n\n", 1)[1] == \
        lf(handed[0]).split(b"\n\n", 1)[1]
    assert b"Second line, \xc3\xa4." in copy or b"=C3=A4" in copy
    # A copy of one's own sending is read: \Seen (mutt APPENDs it so).
    assert rows[0][1] & F_SEEN, rows


@need_mutt
@pytest.mark.parametrize("mode", ["plain", "imaps"])
def test_mutt_reads_pipes_saves_and_deletes(server, user, tmp_path, mode):
    stored = fill_mixed(server, user)
    home, env, rc, _ = mutt_setup(server, user, tmp_path, mode)
    piped = home / "piped.eml"
    # In the index (in mailbox order: UID order): pipe message 1
    # to a file, save message 2 to Archive (IMAP COPY, then \Deleted on
    # the original), delete message 3, quit (expunges, delete=yes).
    keys = ("<first-entry><pipe-entry>cat > %s<enter>"
            "<next-entry><save-message>=Archive<enter>"
            "<next-entry><delete-message>"
            "<quit>" % piped)
    code, screen = mutt_tty(env, rc, "=INBOX", keys)
    assert code == 0, screen[-3000:]
    assert lf(piped.read_bytes()) == lf(stored[1]), piped.read_bytes()
    # Message 2 is in Archive, byte for byte, and gone from INBOX with 3.
    archive = messages(server, user, "Archive")
    assert len(archive) == 1, archive
    assert show(server, user, archive[0][0], "Archive") == stored[2]
    assert [m[0] for m in messages(server, user)] == [1]
    # Piping peeks (BODY.PEEK[]): message 1 is still unseen.
    assert messages(server, user)[0][1] & F_SEEN == 0


@need_mutt
def test_mutt_reads_and_flags(server, user, tmp_path):
    fill_mixed(server, user)
    _, env, rc, _ = mutt_setup(server, user, tmp_path, "plain",
                               name="mutt-flags")
    # Flag message 1 (STORE +FLAGS \Flagged), read message 3 in the
    # pager (BODY[]: \Seen), quit.
    keys = ("<first-entry><flag-message>"
            "<last-entry><display-message><exit>"
            "<quit>")
    code, screen = mutt_tty(env, rc, "=INBOX", keys)
    assert code == 0, screen[-3000:]
    flags = {m[0]: m[1] for m in messages(server, user)}
    assert flags[1] & F_FLAGGED and not flags[1] & F_SEEN, flags
    assert flags[2] == 0, flags
    assert flags[3] & F_SEEN and not flags[3] & F_FLAGGED, flags
