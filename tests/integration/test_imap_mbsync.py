"""IMAP with mbsync (isync): a full two-way sync of every mailbox of a
user to a local Maildir, and back.

mbsync is a demanding client: it maps messages by UID and UIDVALIDITY
(RFC 3501 2.3.1.1), loads a mailbox with UID FETCH of UID and FLAGS,
pulls messages with UID FETCH BODY.PEEK[] (and INTERNALDATE:
CopyArrivalDate), pushes them with APPEND and reads the new UID from
APPENDUID (RFC 4315), propagates flags with UID STORE +FLAGS/-FLAGS
(.SILENT), and deletions with \\Deleted and an expunge (CLOSE or UID
EXPUNGE) or a UID MOVE to Trash (IMAPStore Trash), and creates and
deletes mailboxes on either side (Create Both, Remove Both).

Each test makes its own user and Maildir, runs mbsync with its network
trace (-Dn) kept for the failure message, and checks both sides
afterwards: the store (`letterbox message show`, the database) and the
Maildir (file contents, the flags in the file names' info part).

The Maildir side is written in mbsync's way: LF line ends, and an
X-TUID header field in messages it pulled. `local_text()` undoes both,
so what the server holds and what arrived compare byte for byte. mbsync
1.4 also puts an X-TUID field into every message it APPENDs (even with
APPENDUID answered); `no_tuid()` takes that out of what the server
holds before comparing.

The TLS runs use the daemon's own self-signed certificate as mbsync's
CertificateFile, so they still check whom they talk to.

mbsync is the Debian package isync (`apt-get install isync`); without
it the tests skip with the reason.
"""
import imaplib
import os
import re
import shutil
import smtplib
import subprocess
import time

import pytest

import conftest
from test_imap import (DEFAULT_MAILBOXES, F_ANSWERED, F_DELETED, F_DRAFT,
                       F_FLAGGED, F_SEEN, HOST, MIXED, PASSWORD, TIMEOUT, db,
                       deliver, mailbox_rows, message, messages, mutf7,
                       new_user)
from test_smtp import show
from test_smtp_tls import client_ctx

MBSYNC = shutil.which("mbsync")

pytestmark = pytest.mark.skipif(
    MBSYNC is None, reason="mbsync not installed (apt-get install isync)")

# Maildir info flags (the ":2," part of a file name) and the store's bits.
MAILDIR_FLAGS = {"D": F_DRAFT, "F": F_FLAGGED, "R": F_ANSWERED,
                 "S": F_SEEN, "T": F_DELETED}


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    d = conftest.Daemon(tmp_path_factory.mktemp("imapd-mbsync"))
    yield d
    d.stop()


@pytest.fixture
def user(server):
    return new_user(server)


# ---------------------------------------------------------------- mbsync

def mbsync_version():
    out = subprocess.run([MBSYNC, "--version"], stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, timeout=30).stdout
    m = re.search(rb"(\d+)\.(\d+)", out)
    return (int(m.group(1)), int(m.group(2))) if m else (0, 0)


class Mbsync:
    """One user's mbsync setup: a config in tmp_path and a Maildir
    root (tmp_path/mail) holding INBOX and every other mailbox under
    its IMAP name (SubFolders Verbatim: "a/b" is mail/a/b)."""

    def __init__(self, d, user, tmp_path, tls=True, far_extra="",
                 channel_extra=""):
        self.d = d
        self.user = user
        self.home = tmp_path / "mbsync-home"
        self.home.mkdir()
        self.root = tmp_path / "mail"
        self.root.mkdir()
        self.rc = tmp_path / "mbsyncrc"
        # isync 1.5 renamed SSLType to TLSType (and keeps no alias).
        tls_key = "TLSType" if mbsync_version() >= (1, 5) else "SSLType"
        if tls:
            port = d.ports["imaps"]
            tls_lines = "%s IMAPS\nCertificateFile %s\n" % (
                tls_key, os.path.join(d.lb.data_dir, "tls-cert.pem"))
        else:
            port = d.ports["imap"]
            tls_lines = "%s None\n" % tls_key
        self.rc.write_text(
            "IMAPAccount acc\n"
            "Host %s\n"
            "Port %d\n"
            "User %s\n"
            "Pass %s\n"
            "%s"
            "Timeout 30\n"
            "\n"
            "IMAPStore far\n"
            "Account acc\n"
            "%s"
            "\n"
            "MaildirStore near\n"
            "Path %s/\n"
            "Inbox %s/INBOX\n"
            "SubFolders Verbatim\n"
            "\n"
            "Channel ch\n"
            "Far :far:\n"
            "Near :near:\n"
            "Patterns *\n"
            "Create Both\n"
            "Expunge Both\n"
            "CopyArrivalDate yes\n"
            "SyncState *\n"
            "%s"
            % (HOST, port, user, PASSWORD, tls_lines, far_extra, self.root,
               self.root, channel_extra))
        self.runs = []

    def sync(self, check=True):
        """Runs `mbsync -a` with the network trace; returns (exit
        status, output). The trace of every run is kept in self.runs."""
        env = {"HOME": str(self.home),
               "PATH": os.environ.get("PATH", "/usr/bin"),
               "LANG": "C.UTF-8"}
        proc = subprocess.run([MBSYNC, "-c", str(self.rc), "-Dn", "-a"],
                              stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, env=env,
                              timeout=120)
        out = proc.stdout.decode(errors="replace")
        self.runs.append(out)
        if check:
            assert proc.returncode == 0, "mbsync exited %d:\n%s" % (
                proc.returncode, tail(out))
        return proc.returncode, out

    def box(self, name):
        return self.root / name

    def boxes(self):
        """The names of the Maildir folders under the root."""
        out = set()
        for dirpath, dirnames, _ in os.walk(self.root):
            if {"cur", "new", "tmp"} <= set(dirnames):
                out.add(os.path.relpath(dirpath, self.root))
            dirnames[:] = [n for n in dirnames
                           if n not in ("cur", "new", "tmp")]
        return out

    def files(self, name):
        """[path] of the messages of Maildir folder name."""
        out = []
        for sub in ("new", "cur"):
            d = self.box(name) / sub
            if d.is_dir():
                out += sorted(d.iterdir())
        return out

    def local(self, name):
        """[(text as the server would hold it, flags, path)] of the
        messages of Maildir folder name."""
        return [(local_text(p.read_bytes()), info_flags(p), p)
                for p in self.files(name)]

    def pairs(self, name):
        """{far (server) UID: near UID} from mbsync's sync state of
        Maildir folder name (SyncState *: name/.mbsyncstate)."""
        text = (self.box(name) / ".mbsyncstate").read_text()
        out = {}
        for line in text.split("\n\n", 1)[1].splitlines():
            far, near = line.split()[:2]
            out[int(far)] = int(near)
        return out

    def snapshot(self):
        """Every file under the root with its contents and mtime."""
        out = {}
        for dirpath, _, filenames in os.walk(self.root):
            for f in filenames:
                p = os.path.join(dirpath, f)
                with open(p, "rb") as fh:
                    out[os.path.relpath(p, self.root)] = (
                        fh.read(), int(os.stat(p).st_mtime))
        return out


def tail(out, n=6000):
    return out if len(out) <= n else "...\n" + out[-n:]


def sent(out):
    """The commands mbsync sent (its -Dn trace: ">>> tag COMMAND")."""
    return [m.group(1) for m in
            re.finditer(r"^\S*>>> \d+ (.*?)\r?$", out, re.M)]


def local_text(data):
    """A Maildir file as the IMAP side holds it: CRLF line ends, and
    without the X-TUID field mbsync adds to the header."""
    head, sep, body = data.partition(b"\n\n")
    head = re.sub(rb"(?m)^X-TUID: [^\n]*\n?", b"", head + b"\n")[:-1]
    return (head + sep + body).replace(b"\n", b"\r\n")


def no_tuid(data):
    """A stored message without the X-TUID field mbsync (1.4) puts in
    the header of every message it uploads, to find it again should
    APPENDUID be missing."""
    head, sep, body = data.partition(b"\r\n\r\n")
    head = re.sub(rb"(?m)^X-TUID: [^\r\n]*\r\n?", b"", head + b"\r\n")
    return head[:-2] + sep + body


def info_flags(path):
    """The flag letters of a Maildir file name (after ":2,")."""
    name = path.name
    return name.split(":2,", 1)[1] if ":2," in name else ""


def with_flags(path, letters):
    """Renames a Maildir message (into cur/) with flag letters, as a
    mail reader does; returns the new path."""
    base = path.name.split(":2,", 1)[0]
    new = path.parent.parent / "cur" / (
        "%s:2,%s" % (base, "".join(sorted(letters))))
    os.rename(path, new)
    return new


def flag_bits(letters):
    bits = 0
    for ch in letters:
        bits |= MAILDIR_FLAGS.get(ch, 0)
    return bits


def flag_letters(bits):
    return "".join(sorted(ch for ch, bit in MAILDIR_FLAGS.items()
                          if bits & bit))


def server_box(d, user, mailbox):
    """[(uid, flags, stored bytes)] of a mailbox, in UID order."""
    return [(uid, flags, show(d, user, uid, mailbox))
            for uid, flags, _ in messages(d, user, mailbox)]


def internal_dates(d, user, mailbox):
    conn = db(d)
    try:
        return {r[0]: r[1] for r in conn.execute(
            "SELECT m.uid, m.internal_date FROM messages m "
            "JOIN mailboxes b ON b.id = m.mailbox_id "
            "JOIN users u ON u.id = b.user_id "
            "WHERE u.address = ? AND b.name = ?", (user, mailbox))}
    finally:
        conn.close()


def server_state(d, user):
    """What a sync could change on the server: every mailbox with its
    UIDVALIDITY and UIDNEXT, every message with its flags and bytes."""
    return {name: (row[0], row[1], server_box(d, user, name))
            for name, row in mailbox_rows(d, user).items()}


def imap_login(d, user):
    m = imaplib.IMAP4_SSL(HOST, d.ports["imaps"], ssl_context=client_ctx(),
                          timeout=TIMEOUT)
    typ, _ = m.login(user, PASSWORD)
    assert typ == "OK"
    return m


def imap_flags(d, user, mailbox="INBOX"):
    """{uid: set of flags} as FETCH FLAGS tells them over IMAP."""
    m = imap_login(d, user)
    try:
        typ, data = m.select('"%s"' % mailbox, readonly=True)
        assert typ == "OK", data
        typ, data = m.uid("FETCH", "1:*", "(FLAGS)")
        assert typ == "OK", data
        out = {}
        for item in data:
            if item is None:
                continue
            if isinstance(item, tuple):
                item = item[0]
            mm = re.search(rb"UID (\d+)", item)
            f = re.search(rb"FLAGS \(([^)]*)\)", item)
            assert mm and f, item
            out[int(mm.group(1))] = set(f.group(1).decode().split())
        return out
    finally:
        m.logout()


def imap_append(d, user, mailbox, msg, flags="", create=False):
    """APPENDs msg (or each of a list of messages) to mailbox (a
    UTF-8 name, sent in modified UTF-7)."""
    m = imap_login(d, user)
    name = '"%s"' % mutf7(mailbox).decode()
    try:
        if create:
            typ, data = m.create(name)
            assert typ == "OK", data
        for one in (msg if isinstance(msg, list) else [msg]):
            typ, data = m.append(name, flags or None, None, one)
            assert typ == "OK", data
    finally:
        m.logout()


def smtp_send(d, user, msg):
    with smtplib.SMTP(HOST, d.ports["smtp"], timeout=TIMEOUT) as s:
        s.sendmail("sender@example.net", [user], msg)


def match(pairs_server, pairs_local):
    """Pairs each server message (uid, flags, bytes) with the local one
    (text, letters, path) of the same bytes; asserts a one-to-one
    match and returns [(uid, flags, letters, path)]."""
    left = list(pairs_local)
    out = []
    for uid, flags, data in pairs_server:
        hits = [x for x in left if x[0] == no_tuid(data)]
        assert hits, "server UID %d has no local copy; local: %r" % (
            uid, [x[0][:120] for x in left])
        left.remove(hits[0])
        out.append((uid, flags, hits[0][1], hits[0][2]))
    assert not left, "local messages not on the server: %r" % (
        [x[0][:120] for x in left])
    return out


def local_name(name):
    """The Maildir folder of a mailbox: isync 1.4 keeps the name as it
    is on the wire, in modified UTF-7 (RFC 3501 5.1.3)."""
    return mutf7(name).decode()


def assert_in_sync(d, user, mb):
    """Both sides have the same mailboxes, and in each the same
    messages (byte for byte) with the same flags."""
    rows = mailbox_rows(d, user)
    wire = {local_name(n) for n in rows}
    assert mb.boxes() == wire, (mb.boxes(), wire)
    for name in rows:
        for uid, flags, letters, path in match(
                server_box(d, user, name), mb.local(local_name(name))):
            assert flag_letters(flags) == letters, (name, uid, flags,
                                                    path.name)


@pytest.fixture
def synced(server, user, tmp_path):
    """A user with mail in three mailboxes, synced once over IMAPS."""
    deliver(server, user, message(1))
    deliver(server, user, MIXED)
    imap_append(server, user, "Archive", message(3), flags=r"(\Seen)")
    mb = Mbsync(server, user, tmp_path)
    mb.sync()
    return mb


# ---------------------------------------------------------------- tests

@pytest.mark.parametrize("tls", [False, True], ids=["plain", "imaps"])
def test_initial_sync_pulls_all_mailboxes_and_messages(server, user,
                                                       tmp_path, tls):
    for msg in (message(1), MIXED, message(3)):
        deliver(server, user, msg)
    imap_append(server, user, "Archive", message(4),
                flags=r"(\Seen \Flagged)")
    imap_append(server, user, "Drafts", message(5), flags=r"(\Draft)")
    imap_append(server, user, "Projects/2025", message(6),
                flags=r"(\Answered \Seen)", create=True)
    before = server_state(server, user)
    mb = Mbsync(server, user, tmp_path, tls=tls)
    _, out = mb.sync()
    # Every mailbox, the new one and its parent too, is a Maildir now.
    assert mb.boxes() == set(DEFAULT_MAILBOXES) | {"Projects",
                                                   "Projects/2025"}, out
    assert_in_sync(server, user, mb)
    counts = {name: len(mb.files(name)) for name in mb.boxes()}
    assert counts == {"INBOX": 3, "Archive": 1, "Drafts": 1,
                      "Projects/2025": 1, "Sent": 0, "Trash": 0,
                      "Junk": 0, "Projects": 0}, counts
    # Pulling peeks (BODY.PEEK[]): nothing changed on the server.
    assert server_state(server, user) == before
    # CopyArrivalDate: the file's mtime is the INTERNALDATE.
    dates = internal_dates(server, user, "INBOX")
    for uid, _, _, path in match(server_box(server, user, "INBOX"),
                                 mb.local("INBOX")):
        assert int(os.stat(path).st_mtime) == dates[uid], (uid, path)
    assert not any(c.startswith(("APPEND", "UID STORE", "CREATE"))
                   for c in sent(out)), sent(out)


def test_local_flag_changes_reach_the_server(server, user, synced):
    mb = synced
    inbox = match(server_box(server, user, "INBOX"), mb.local("INBOX"))
    (uid1, _, _, path1), (uid2, _, _, path2) = inbox
    with_flags(path1, "FS")
    with_flags(path2, "R")
    # Archive's message was \Seen: unread it locally.
    [(auid, aflags, aletters, apath)] = match(
        server_box(server, user, "Archive"), mb.local("Archive"))
    assert aflags == F_SEEN and aletters == "S"
    with_flags(apath, "")
    _, out = mb.sync()
    assert any(c.startswith("UID STORE") for c in sent(out)), sent(out)
    # Over IMAP (FETCH FLAGS) and in the store.
    flags = imap_flags(server, user)
    assert flags == {uid1: {"\\Flagged", "\\Seen"},
                     uid2: {"\\Answered"}}, flags
    assert imap_flags(server, user, "Archive") == {auid: set()}
    assert [m[1] for m in messages(server, user)] == \
        [F_FLAGGED | F_SEEN, F_ANSWERED]
    assert_in_sync(server, user, mb)


def test_server_flag_changes_reach_the_maildir(server, user, synced):
    mb = synced
    m = imap_login(server, user)
    try:
        typ, data = m.select("INBOX")
        assert typ == "OK", data
        typ, data = m.uid("STORE", "1", "+FLAGS", r"(\Flagged \Seen)")
        assert typ == "OK", data
        typ, data = m.uid("STORE", "2", "+FLAGS", r"(\Draft)")
        assert typ == "OK", data
    finally:
        m.logout()
    mb.sync()
    inbox = match(server_box(server, user, "INBOX"), mb.local("INBOX"))
    assert [(uid, letters) for uid, _, letters, _ in inbox] == \
        [(1, "FS"), (2, "D")], inbox
    assert_in_sync(server, user, mb)


def test_local_deletion_expunges_on_server(server, user, synced):
    mb = synced
    inbox = match(server_box(server, user, "INBOX"), mb.local("INBOX"))
    # One message removed from the Maildir, one marked trashed ('T',
    # \Deleted): with Expunge Both both go on both sides.
    os.unlink(inbox[0][3])
    [(auid, _, _, apath)] = match(server_box(server, user, "Archive"),
                                  mb.local("Archive"))
    with_flags(apath, "ST")
    _, out = mb.sync()
    assert [m[0] for m in messages(server, user)] == [inbox[1][0]]
    assert messages(server, user, "Archive") == []
    assert mb.files("Archive") == [], mb.files("Archive")
    assert auid not in imap_flags(server, user, "Archive")
    assert list(imap_flags(server, user)) == [inbox[1][0]]
    assert_in_sync(server, user, mb)


def test_server_expunge_removes_local_copy(server, user, synced):
    mb = synced
    m = imap_login(server, user)
    try:
        typ, data = m.select("INBOX")
        assert typ == "OK", data
        typ, data = m.uid("STORE", "1", "+FLAGS", r"(\Deleted)")
        assert typ == "OK", data
        typ, data = m.expunge()
        assert typ == "OK", data
    finally:
        m.logout()
    mb.sync()
    assert len(mb.files("INBOX")) == 1
    assert_in_sync(server, user, mb)


def test_new_local_message_and_folder_are_uploaded(server, user, synced):
    mb = synced
    msg_lf = (b"From: Local <local@example.org>\n"
              b"To: friend@example.net\n"
              b"Subject: written locally\n"
              b"Date: Wed, 05 Mar 2025 08:00:00 +0000\n"
              b"Message-ID: <local1@example.org>\n"
              b"\n"
              b"Made in the Maildir.\n"
              b"Second line.\n")
    when = 1741161600           # 2025-03-05 08:00:00 UTC
    p = mb.box("INBOX") / "new" / "1741161600.M1P1.client"
    p.write_bytes(msg_lf)
    os.utime(p, (when, when))
    # A new local folder with a seen message (Create Both).
    for sub in ("cur", "new", "tmp"):
        (mb.box("Local/Notes") / sub).mkdir(parents=True)
    q = mb.box("Local/Notes") / "cur" / "1741161601.M2P1.client:2,S"
    q.write_bytes(msg_lf.replace(b"local1", b"local2"))
    os.utime(q, (when + 1, when + 1))
    _, out = mb.sync()
    cmds = sent(out)
    assert any(c.startswith("APPEND") for c in cmds), cmds
    assert any(c.startswith("CREATE") for c in cmds), cmds
    crlf = msg_lf.replace(b"\n", b"\r\n")
    inbox = server_box(server, user, "INBOX")
    assert len(inbox) == 3, inbox
    uid, flags, data = inbox[-1]
    assert no_tuid(data) == crlf
    assert flags == 0
    assert internal_dates(server, user, "INBOX")[uid] == when
    assert "Local/Notes" in mailbox_rows(server, user)
    notes = server_box(server, user, "Local/Notes")
    assert [(f, no_tuid(b)) for _, f, b in notes] == \
        [(F_SEEN, crlf.replace(b"local1", b"local2"))], notes
    assert internal_dates(server, user, "Local/Notes")[notes[0][0]] == \
        when + 1
    # mbsync took the new UID from APPENDUID (RFC 4315): its sync
    # state pairs it with the local file's, no X-TUID search (FETCH of
    # headers) was needed.
    assert not any(re.match(r"UID (SEARCH|FETCH .*HEADER)", c)
                   for c in cmds), cmds
    [mine] = [x.name for x in mb.files("INBOX")
              if x.name.startswith("1741161600.")]
    near = int(re.search(r",U=(\d+)", mine).group(1))
    assert mb.pairs("INBOX").get(uid) == near, (uid, near,
                                               mb.pairs("INBOX"))
    # CREATE "Local/Notes" made "Local" too (RFC 3501 6.3.4): the next
    # sync brings that one to the Maildir side.
    assert "Local" in mailbox_rows(server, user)
    mb.sync()
    assert_in_sync(server, user, mb)


def test_smtp_delivery_arrives_on_next_sync(server, user, synced):
    mb = synced
    msg = (b"From: <sender@example.net>\r\nTo: <%s>\r\n"
           b"Subject: by smtp for mbsync\r\n"
           b"Message-ID: <smtp-mbsync@example.net>\r\n"
           b"\r\nhello over SMTP\r\n" % user.encode())
    smtp_send(server, user, msg)
    deadline = time.time() + 10
    while len(messages(server, user)) < 3:
        assert time.time() < deadline, "SMTP delivery not stored"
        time.sleep(0.1)
    mb.sync()
    inbox = match(server_box(server, user, "INBOX"), mb.local("INBOX"))
    assert len(inbox) == 3
    newest = server_box(server, user, "INBOX")[-1][2]
    assert newest.endswith(msg), newest
    assert_in_sync(server, user, mb)


def test_second_sync_without_changes_is_a_no_op(server, user, synced):
    mb = synced
    mb.sync()                   # settles anything the first one left
    local = mb.snapshot()
    remote = server_state(server, user)
    _, out = mb.sync()
    cmds = sent(out)
    changing = [c for c in cmds if re.match(
        r"(UID )?(STORE|EXPUNGE|COPY|MOVE)|APPEND|CREATE|DELETE|RENAME",
        c)]
    assert changing == [], cmds
    assert mb.snapshot() == local
    assert server_state(server, user) == remote


def test_new_server_mailbox_appears_locally(server, user, synced):
    mb = synced
    msg = message(7)
    imap_append(server, user, "Reports/Weekly", msg, flags=r"(\Flagged)",
                create=True)
    mb.sync()
    assert {"Reports", "Reports/Weekly"} <= mb.boxes(), mb.boxes()
    [(text, letters, _)] = mb.local("Reports/Weekly")
    assert text == msg and letters == "F"
    assert_in_sync(server, user, mb)


def test_international_and_spaced_mailbox_names(server, user, synced):
    mb = synced
    # Server side: "Entwürfe/Über uns" (modified UTF-7 on the wire).
    imap_append(server, user, "Entwürfe/Über uns", message(8),
                create=True)
    # Maildir side: "Café" (as isync 1.4 names it: the wire form) and
    # "My Folder", each with a message.
    for name in (local_name("Café"), "My Folder"):
        for sub in ("cur", "new", "tmp"):
            (mb.box(name) / sub).mkdir(parents=True)
    (mb.box(local_name("Café")) / "new" / "1741161700.M1P1.client").\
        write_bytes(b"Subject: cafe\n\ncafe body\n")
    (mb.box("My Folder") / "new" / "1741161701.M1P1.client").\
        write_bytes(b"Subject: spaced\n\nspaced body\n")
    _, out = mb.sync()
    rows = mailbox_rows(server, user)
    assert {"Entwürfe", "Entwürfe/Über uns", "Café", "My Folder"} <= \
        set(rows), (set(rows), out[-3000:])
    [(uid, _, data)] = server_box(server, user, "Café")
    assert no_tuid(data) == b"Subject: cafe\r\n\r\ncafe body\r\n"
    [(uid, _, data)] = server_box(server, user, "My Folder")
    assert no_tuid(data) == b"Subject: spaced\r\n\r\nspaced body\r\n"
    [(text, _, _)] = mb.local(local_name("Entwürfe/Über uns"))
    assert text == message(8)
    assert_in_sync(server, user, mb)


def test_large_message_both_ways(server, user, synced):
    mb = synced
    # About 3 MB each way, 8-bit text and long lines: literals of a
    # size that takes many reads and writes (RFC 3501 4.3).
    line = bytes(range(0x20, 0x7f)) + "äöü€".encode() * 20
    big_body = b"".join(b"%06d " % i + line + b"\r\n"
                        for i in range(12000))
    big = (b"From: big@example.net\r\nSubject: big from server\r\n"
           b"Content-Type: text/plain; charset=utf-8\r\n"
           b"Content-Transfer-Encoding: 8bit\r\n\r\n" + big_body)
    imap_append(server, user, "Archive", big)
    local_big = big.replace(b"server", b"maildir").replace(b"\r\n", b"\n")
    p = mb.box("Drafts") / "cur" / "1741161800.M1P1.client:2,D"
    p.write_bytes(local_big)
    mb.sync()
    got = [x for x in mb.local("Archive") if x[0] == big]
    assert len(got) == 1, [len(x[0]) for x in mb.local("Archive")]
    [(uid, flags, data)] = server_box(server, user, "Drafts")
    assert no_tuid(data) == local_big.replace(b"\n", b"\r\n"), len(data)
    assert flags == F_DRAFT
    assert_in_sync(server, user, mb)


def test_many_messages_and_a_server_side_move(server, user, synced):
    mb = synced
    many = [message(100 + i, lines=i % 7 + 1) for i in range(80)]
    imap_append(server, user, "Junk", many)
    mb.sync()
    assert len(mb.files("Junk")) == 80
    assert_in_sync(server, user, mb)
    # Server-side MOVE (RFC 6851) of 30 of them to Trash: mbsync sees
    # them gone from Junk and new in Trash.
    m = imap_login(server, user)
    try:
        typ, data = m.select("Junk")
        assert typ == "OK", data
        typ, data = m.uid("MOVE", "1:30", "Trash")
        assert typ == "OK", data
    finally:
        m.logout()
    assert len(messages(server, user, "Junk")) == 50
    assert len(messages(server, user, "Trash")) == 30
    mb.sync()
    assert len(mb.files("Junk")) == 50
    assert len(mb.files("Trash")) == 30
    assert_in_sync(server, user, mb)


def test_local_deletion_moves_to_server_trash(server, user, tmp_path):
    # IMAPStore Trash: a message deleted on the Maildir side goes to
    # the server's Trash (UID MOVE, or UID COPY before the expunge)
    # instead of away.
    stored = [show(server, user, deliver(server, user, m))
              for m in (message(1), MIXED)]
    mb = Mbsync(server, user, tmp_path, far_extra="Trash Trash\n")
    mb.sync()
    # The moved message keeps its \\Deleted (RFC 6851 3.1, as COPY
    # does: RFC 3501 6.4.7), so in the sync of Trash itself mbsync
    # trashes it again: UID MOVE from Trash to Trash. Nothing in RFC
    # 6851 forbids a MOVE to the selected mailbox (it is COPY, STORE
    # \\Deleted, EXPUNGE in one; COPY to the same mailbox is fine); a
    # server that refuses it fails every later sync.
    [(_, _, _, path)] = [x for x in match(server_box(server, user,
                                                     "INBOX"),
                                          mb.local("INBOX"))
                         if x[0] == 2]
    os.unlink(path)
    _, out = mb.sync()
    cmds = sent(out)
    assert any(re.match(r"UID (COPY|MOVE) 2 \"?Trash", c) for c in cmds), \
        cmds
    assert [m[0] for m in messages(server, user)] == [1]
    [(uid, _, data)] = server_box(server, user, "Trash")
    assert data == stored[1]
    # The trashed copy keeps \\Deleted, as Dovecot 2.3 keeps it (checked
    # against ../shared/peers: UID MOVE and UID COPY of a \\Deleted
    # message give a \\Deleted copy), so mbsync 1.4 trashes it again on
    # each later sync: a MOVE within Trash. That must keep working and
    # lose nothing.
    for _ in range(2):
        mb.sync()
        [(_, _, data)] = server_box(server, user, "Trash")
        assert data == stored[1]
    assert [m[0] for m in messages(server, user)] == [1]


def test_flag_changes_on_many_messages(server, user, tmp_path):
    imap_append(server, user, "Junk",
                [message(200 + i) for i in range(60)])
    mb = Mbsync(server, user, tmp_path)
    mb.sync()
    for i, path in enumerate(mb.files("Junk")):
        with_flags(path, "S" if i % 2 else "SF")
    _, out = mb.sync()
    rows = messages(server, user, "Junk")
    assert len(rows) == 60
    # Which message got which flags: match by contents.
    for uid, flags, letters, _ in match(server_box(server, user, "Junk"),
                                        mb.local("Junk")):
        assert flags == flag_bits(letters), (uid, flags, letters)
    assert sum(1 for r in rows if r[1] == F_SEEN | F_FLAGGED) == 30
    assert sum(1 for r in rows if r[1] == F_SEEN) == 30
    flags = imap_flags(server, user, "Junk")
    assert all("\\Seen" in f for f in flags.values()), flags
    assert_in_sync(server, user, mb)


def test_removed_local_folder_is_deleted_on_server(server, user,
                                                   tmp_path):
    imap_append(server, user, "Old Stuff", message(9), create=True)
    mb = Mbsync(server, user, tmp_path, channel_extra="Remove Both\n")
    mb.sync()
    assert len(mb.files("Old Stuff")) == 1
    # mbsync deletes only empty mailboxes: its message goes first.
    for path in mb.files("Old Stuff"):
        os.unlink(path)
    mb.sync()
    assert messages(server, user, "Old Stuff") == []
    # Deleting cur/ marks a Maildir deleted (the sync state stays
    # beside it, SyncState *).
    shutil.rmtree(mb.box("Old Stuff") / "cur")
    _, out = mb.sync()
    cmds = sent(out)
    assert any(c.startswith("DELETE") for c in cmds), cmds
    assert "Old Stuff" not in mailbox_rows(server, user), out[-3000:]
    assert_in_sync(server, user, mb)
