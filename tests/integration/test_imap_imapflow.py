"""IMAP with imapflow, the IMAP client library of Node.js (npm package
`imapflow`, used by many web mail and automation tools).

One Node script (imapflow/client.mjs) runs one session over implicit
TLS (RFC 8314; the self-signed certificate is not checked there,
rejectUnauthorized false): LIST with LIST-STATUS (RFC 5819), SELECT,
FETCH of UID, FLAGS, ENVELOPE, BODYSTRUCTURE, INTERNALDATE, RFC822.SIZE
and the source (BODY.PEEK[]), STORE +FLAGS with a keyword, MOVE with
COPYUID (RFC 6851, RFC 4315), STATUS, and IDLE (RFC 2177): while the
script idles, the test delivers a message over SMTP and the script
must be told (EXISTS) without asking. The script prints what it saw as
JSON; the tests compare that with the store, and the store afterwards.

imapflow comes from the npm registry: the module's fixture installs it
once (time-boxed) into pytest's cache directory, and later runs reuse
it. Without node and npm, or without the registry (CI has no
network), the tests skip with the reason.
"""
import base64
import imaplib
import json
import os
import re
import select
import shutil
import smtplib
import subprocess
import time

import pytest

import conftest
from test_imap import (DEFAULT_MAILBOXES, F_DRAFT, F_FLAGGED, F_SEEN, HOST,
                       MIXED, PASSWORD, TIMEOUT, db, deliver, mailbox_rows,
                       message, messages, new_user)
from test_smtp import show
from test_smtp_tls import client_ctx

NODE = shutil.which("node")
NPM = shutil.which("npm")
SCRIPT = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                      "imapflow", "client.mjs")
IMAPFLOW = "imapflow@2"
INSTALL_TIMEOUT = 180


def npm_dir(request):
    """Where imapflow is installed: pytest's cache directory, or (with
    the cache plugin off, as run-pytest has it) the same place by hand
    in the build tree: .pytest_cache/ is ignored by git."""
    cache = getattr(request.config, "cache", None)
    if cache is not None:
        return str(cache.mkdir("imapflow-npm"))
    where = os.path.join(conftest.BUILDDIR, ".pytest_cache", "d",
                         "imapflow-npm")
    os.makedirs(where, exist_ok=True)
    return where


@pytest.fixture(scope="module")
def imapflow(request):
    """The folder imapflow is installed in (node_modules below it);
    installs it there first unless an earlier run did."""
    import fcntl
    if NODE is None or NPM is None:
        pytest.skip("node/npm not installed (apt-get install nodejs npm)")
    where = npm_dir(request)
    marker = os.path.join(where, "node_modules", "imapflow",
                          "package.json")
    # One install at a time, should two pytest runs share the folder.
    with open(os.path.join(where, ".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if os.path.exists(marker):
            return where
        try:
            proc = subprocess.run(
                [NPM, "install", "--no-audit", "--no-fund", "--no-save",
                 "--prefix", where, "--fetch-retries=0",
                 "--fetch-timeout=30000", IMAPFLOW],
                stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL, timeout=INSTALL_TIMEOUT)
        except subprocess.TimeoutExpired:
            pytest.skip("npm install %s took over %d s (no network?)"
                        % (IMAPFLOW, INSTALL_TIMEOUT))
        if proc.returncode != 0 or not os.path.exists(marker):
            out = proc.stdout.decode(errors="replace").splitlines()
            errors = [x for x in out if x.startswith("npm error")][:3]
            pytest.skip("npm install %s failed (no network?): %s" % (
                IMAPFLOW, " | ".join(errors or out[-3:])))
    return where


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    d = conftest.Daemon(tmp_path_factory.mktemp("imapd-imapflow"))
    yield d
    d.stop()


# The session every test below looks at: one run of the script,
# shared by the module (a Node start and the install are the cost).
SUBJECT_IDLE = "arrived while idling"


def other_session_changes(d, user, idle_msg):
    """What happens to INBOX (UIDs 1 and 3 left) while the script
    idles: another session sets \\Seen on UID 1, a message arrives
    over SMTP (UID 4), and the other session expunges UID 3."""
    m = imaplib.IMAP4_SSL(HOST, d.ports["imaps"], ssl_context=client_ctx(),
                          timeout=TIMEOUT)
    try:
        assert m.login(user, PASSWORD)[0] == "OK"
        assert m.select("INBOX")[0] == "OK"
        typ, data = m.uid("STORE", "1", "+FLAGS.SILENT", r"(\Seen)")
        assert typ == "OK", data
        with smtplib.SMTP(HOST, d.ports["smtp"], timeout=TIMEOUT) as s:
            s.sendmail("idle@example.net", [user], idle_msg)
        typ, data = m.uid("STORE", "3", "+FLAGS.SILENT", r"(\Deleted)")
        assert typ == "OK", data
        typ, data = m.uid("EXPUNGE", "3")
        assert typ == "OK", data
    finally:
        m.logout()


@pytest.fixture(scope="module", params=["condstore", "qresync"])
def session(request, server, imapflow):
    """One run of the script for a new user, with imapflow ENABLEing
    CONDSTORE (its default) or CONDSTORE and QRESYNC (RFC 7162)."""
    user = new_user(server)
    stored = {}
    for msg in (message(1), MIXED, message(3)):
        uid = deliver(server, user, msg)
        stored[uid] = show(server, user, uid)
    idle_msg = (b"From: Idle Sender <idle@example.net>\r\n"
                b"To: <%s>\r\n"
                b"Subject: %s\r\n"
                b"Message-ID: <idle1@example.net>\r\n"
                b"\r\n"
                b"pushed by IDLE\r\n" % (user.encode(),
                                         SUBJECT_IDLE.encode()))
    env = {"PATH": os.environ.get("PATH", "/usr/bin"),
           "HOME": os.environ.get("HOME", "/tmp"),
           "IMAPFLOW_MODULES": imapflow, "IMAP_HOST": HOST,
           "IMAP_PORT": str(server.ports["imaps"]), "IMAP_USER": user,
           "IMAP_PASS": PASSWORD,
           "IMAP_QRESYNC": "1" if request.param == "qresync" else "0"}
    proc = subprocess.Popen([NODE, SCRIPT], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=env)
    lines, sent_at = [], None
    buf = b""
    deadline = time.time() + 90
    try:
        while time.time() < deadline:
            r, _, _ = select.select([proc.stdout], [], [], 0.5)
            if not r:
                if proc.poll() is not None:
                    break
                continue
            data = os.read(proc.stdout.fileno(), 65536)
            if not data:
                break
            buf += data
            while b"\n" in buf:
                line, buf = buf.split(b"\n", 1)
                obj = json.loads(line)
                lines.append(obj)
                if obj.get("event") == "idling" and sent_at is None:
                    other_session_changes(server, user, idle_msg)
                    sent_at = time.time()
        proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    stderr = proc.stderr.read().decode(errors="replace")
    proc.stderr.close()
    proc.stdout.close()
    results = [x["result"] for x in lines if "result" in x]
    assert results, "no result from the script (exit %s): %r %s" % (
        proc.returncode, lines, stderr[-3000:])
    return {"user": user, "stored": stored, "idle_msg": idle_msg,
            "mode": request.param,
            "sent_at": sent_at, "result": results[0],
            "exit": proc.returncode, "stderr": stderr}


def step_ok(session, name):
    """Fails with the script's error and protocol log unless step name
    ran without error."""
    res = session["result"]
    failed = res.get("error")
    ran = res["steps"]
    if name not in ran or (failed and ran[-1] == name):
        pytest.fail("imapflow step %r did not succeed: %s %s\n"
                    "protocol (last lines):\n%s" % (
                        name, failed, res.get("errorDetail"),
                        "\n".join(res.get("log", [])[-60:])))
    return res


def log_tail(res, n=60):
    return "\n".join(res.get("log", [])[-n:])


def answer_to(res, command):
    """The server lines a command got: from the last client line
    whose command (after the tag) starts with command, up to and
    including the tagged response; for IDLE, up to the client's DONE."""
    log = res["log"]
    starts = [i for i, x in enumerate(log) if x.startswith("C: ") and
              x[3:].split(" ", 1)[-1].upper().startswith(command)]
    assert starts, (command, log_tail(res))
    tag = log[starts[-1]][3:].split(" ", 1)[0]
    out = []
    for x in log[starts[-1] + 1:]:
        if command == "IDLE" and x == "C: DONE":
            break
        out.append(x)
        if x.startswith("S: %s " % tag):
            break
    return out


# ---------------------------------------------------------------- tests

def test_connect_and_capabilities(session):
    res = step_ok(session, "connect")
    caps = set(res["capabilities"])
    for cap in ("IMAP4rev1", "IDLE", "MOVE", "UIDPLUS", "LIST-STATUS",
                "SPECIAL-USE", "ENABLE", "NAMESPACE"):
        assert cap in caps, (cap, caps)


def test_list_with_status(session, server):
    res = step_ok(session, "list")
    boxes = {b["path"]: b for b in res["list"]}
    assert set(boxes) == set(DEFAULT_MAILBOXES), boxes
    for name, use in DEFAULT_MAILBOXES.items():
        assert boxes[name]["delimiter"] == "/"
        if use:
            assert boxes[name]["specialUse"] == use, boxes[name]
    # LIST-STATUS (or STATUS per mailbox): three unseen in INBOX.
    assert boxes["INBOX"]["status"] == {"messages": 3, "unseen": 3,
                                        "uidNext": 4}, boxes["INBOX"]
    assert boxes["Archive"]["status"]["messages"] == 0


def test_select(session):
    res = step_ok(session, "mailboxOpen")
    op = res["open"]
    assert op["path"] == "INBOX" and op["exists"] == 3, op
    assert op["uidNext"] == 4 and not op["readOnly"], op
    assert set(op["flags"]) >= {"\\Answered", "\\Flagged", "\\Deleted",
                                "\\Seen", "\\Draft"}, op


def test_fetch_envelope_flags_and_source(session, server):
    res = step_ok(session, "fetch")
    got = res["fetched"]
    assert [m["uid"] for m in got] == [1, 2, 3], got
    for m in got:
        src = base64.b64decode(m["source"])
        # Byte for byte what the store holds.
        assert src == session["stored"][m["uid"]], m["uid"]
        assert m["size"] == len(src)
        # Fetched before any flag change, with BODY.PEEK[].
        assert m["flags"] == [], m
        assert m["internalDate"], m
    env = got[1]["envelope"]
    assert env["subject"] == "Test message"
    assert env["from"] == [{"name": "Alice Example",
                            "address": "alice@example.org"}]
    assert env["to"] == [{"name": "Bob", "address": "bob@example.net"},
                         {"name": "", "address": "carol@example.com"}]
    assert env["cc"] == [{"name": "", "address": "dave@example.com"}]
    assert env["inReplyTo"] == "<parent@example.org>"
    assert env["messageId"] == "<mixed1@example.org>"
    assert env["date"] == "2025-03-04T09:15:00.000Z"
    assert got[1]["bodyStructureType"] == "multipart/mixed"
    assert got[1]["bodyStructureParts"] == ["text/plain",
                                            "application/octet-stream"]
    assert got[0]["envelope"]["subject"] == "message 1"
    assert got[0]["bodyStructureType"] == "text/plain"


def test_store_flag_and_keyword(session, server):
    res = step_ok(session, "messageFlagsAdd")
    fl = res["flagged"]
    assert fl["ok"] is True, fl
    assert fl["uid"] == 1 and set(fl["flags"]) == {"\\Flagged",
                                                   "$Important"}, fl
    # In the store (\\Seen came later, from the IDLE test's other
    # session).
    rows = {m[0]: m for m in messages(server, session["user"])}
    assert rows[1][1] & ~F_SEEN == F_FLAGGED, rows
    assert rows[1][2] == {"$Important"}, rows


def test_move_to_archive(session, server):
    res = step_ok(session, "messageMove")
    mv = res["moved"]
    assert mv["path"] == "INBOX" and mv["destination"] == "Archive", mv
    # COPYUID (RFC 4315 3) in the MOVE answer (RFC 6851 4.3): UID 2
    # became Archive's UID 1, in Archive's UIDVALIDITY.
    assert mv["uidMap"] == [[2, 1]], mv
    user = session["user"]
    assert mv["uidValidity"] == str(mailbox_rows(server, user)
                                    ["Archive"][0]), mv
    after = step_ok(session, "status")["afterMove"]
    assert after["archive"] == {"messages": 1, "uidNext": 2}, after
    assert after["inboxUids"] == [1, 3], after
    assert after["inboxExists"] == 2, after
    assert [m[0] for m in messages(server, user, "Archive")] == [1]
    assert show(server, user, 1, "Archive") == session["stored"][2]
    # The move reported the expunge of message 2 (RFC 6851 3.3): by
    # sequence number, or with QRESYNC as VANISHED (RFC 7162 3.2.10).
    gone = res["events"]["expunge"]
    assert gone, res["events"]
    if session["mode"] == "qresync":
        assert gone[0].get("uid") == 2 and gone[0].get("seq") is None, \
            gone
    else:
        assert gone[0].get("seq") == 2, gone
    moving = answer_to(res, "UID MOVE")
    assert any(re.match(r"S: \* OK \[COPYUID \d+ 2 1\]", x)
               for x in moving), moving
    want = "S: * VANISHED 2" if session["mode"] == "qresync" else \
        "S: * 2 EXPUNGE"
    assert want in moving, moving


def test_append_with_flags_and_date(session, server):
    res = step_ok(session, "append")
    ap = res["appended"]
    user = session["user"]
    assert ap["destination"] == "Drafts", ap
    # APPENDUID (RFC 4315 3): the first UID of Drafts, in its
    # UIDVALIDITY.
    assert ap["uid"] == 1, ap
    assert ap["uidValidity"] == str(mailbox_rows(server, user)
                                    ["Drafts"][0]), ap
    assert [m[:2] for m in messages(server, user, "Drafts")] == \
        [(1, F_DRAFT | F_SEEN)]
    assert show(server, user, 1, "Drafts") == (
        b"From: Me <me@example.org>\r\nSubject: draft by imapflow\r\n"
        b"\r\nNot sent yet.\r\n")
    conn = db(server)
    try:
        [(when,)] = conn.execute(
            "SELECT m.internal_date FROM messages m JOIN mailboxes b "
            "ON b.id = m.mailbox_id JOIN users u ON u.id = b.user_id "
            "WHERE u.address = ? AND b.name = 'Drafts'", (user,))
    finally:
        conn.close()
    assert when == 1704164645, when     # 2024-01-02T03:04:05Z


def test_create_rename_delete_mailbox(session, server):
    res = step_ok(session, "mailboxes")
    mb = res["mailboxes"]
    assert mb["made"] == {"path": "Projekte/Über", "created": True}, mb
    assert mb["renamed"] == {"path": "Projekte/Über",
                             "newPath": "Projekte/Neu"}, mb
    assert {"Projekte", "Projekte/Neu"} <= set(mb["listed"]), mb
    assert "Projekte/Über" not in mb["listed"], mb
    assert mb["deleted"] == "Projekte/Neu"
    assert "Projekte/Neu" not in mb["after"], mb
    # On the wire the name was modified UTF-7 (RFC 3501 5.1.3).
    assert any("Projekte/&ANw-ber" in x for x in res["log"]
               if x.startswith("C: ")), log_tail(res)
    rows = mailbox_rows(server, session["user"])
    assert "Projekte/Über" not in rows and "Projekte/Neu" not in rows, rows


def test_idle_sees_other_session_and_smtp_delivery(session, server):
    res = step_ok(session, "idle")
    idle = res["idle"]
    assert session["sent_at"] is not None, "script never said it idles"
    assert idle["announced"] is True
    assert idle["before"] == 2 and idle["count"] == 3, idle
    assert idle["existsAfter"] == 2, idle
    msg = idle["message"]
    assert msg["envelope"]["subject"] == SUBJECT_IDLE, msg
    src = base64.b64decode(msg["source"])
    assert src.endswith(session["idle_msg"]), src[:400]
    user = session["user"]
    assert msg["uid"] == 4, msg
    assert show(server, user, 4) == src
    assert [m[:2] for m in messages(server, user)] == \
        [(1, F_FLAGGED | F_SEEN), (4, 0)]
    ev = res["events"]
    assert any(f["uid"] == 1 and "\\Seen" in f["flags"]
               for f in ev["flags"]), ev
    # All three came while idling, before DONE (RFC 2177 3).
    during = answer_to(res, "IDLE")
    assert "S: * 3 EXISTS" in during, during
    assert any(re.match(r"S: \* 1 FETCH \(.*FLAGS \([^)]*\\Seen", x)
               for x in during), during
    gone = "S: * VANISHED 3" if session["mode"] == "qresync" else \
        "S: * 2 EXPUNGE"
    assert gone in during, during


def test_logout_and_exit(session):
    res = step_ok(session, "logout")
    assert session["exit"] == 0, (res.get("error"), session["stderr"])
    assert not res.get("error"), res.get("error")
