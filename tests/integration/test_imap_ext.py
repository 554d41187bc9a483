"""IMAP extensions beyond RFC 3501, driven by the raw client of
test_imap (class Imap) so that every byte of an answer is checked:

- IDLE (RFC 2177), UIDPLUS (RFC 4315), MOVE (RFC 6851), NAMESPACE
  (RFC 2342), ID (RFC 2971), ENABLE (RFC 5161);
- QUOTA (RFC 9208), STATUS=SIZE (RFC 8438), APPENDLIMIT (RFC 7889);
- LIST-EXTENDED (RFC 5258), LIST-STATUS (RFC 5819), SPECIAL-USE and
  CREATE-SPECIAL-USE (RFC 6154);
- CONDSTORE and QRESYNC (RFC 7162), with the changes made by ANOTHER
  session, as a client resynchronising after being offline sees them.

SEARCH (RFC 3501 6.4.4, ESEARCH, SEARCHRES) is in test_imap_search.py.

One daemon serves the module (fixture `server` of test_imap); every test
makes its own user. What the tests rely on besides the RFCs:
- CREATE subscribes the new mailbox (as the default mailboxes are);
- \\Recent is not kept (RECENT is always 0);
- a user's quota is set with `letterbox user add --quota SIZE` (bytes).
"""
import itertools
import math
import re
import smtplib
import socket
import time

from test_imap import (  # noqa: F401  (server, conns, user are fixtures)
    DOMAIN, F_DELETED, F_FLAGGED, F_SEEN, HOST, TIMEOUT, Resp, append,
    bad, capabilities, conns, db, deliver, exists, expunges, fetches, fill,
    flags_of, list_entries, mailbox_rows, message, messages, no, ok, parse,
    parse_value, resp_code, server, show, status_items, subscriptions, user)

CAPS_AFTER_LOGIN = (
    "IMAP4rev1 LITERAL+ SASL-IR CHILDREN UNSELECT UIDPLUS MOVE NAMESPACE "
    "ID ENABLE IDLE QUOTA QUOTA=RES-STORAGE SPECIAL-USE CREATE-SPECIAL-USE "
    "LIST-EXTENDED LIST-STATUS CONDSTORE QRESYNC ESEARCH SEARCHRES "
    "STATUS=SIZE APPENDLIMIT=67108864")
APPENDLIMIT = 67108864


# ---------------------------------------------------------------- helpers

def uid_set(s):
    """The UIDs of a sequence-set or uid-set (bytes or str), in the
    order written; "*" is not expected here."""
    if isinstance(s, bytes):
        s = s.decode()
    out = []
    for part in s.split(","):
        if ":" in part:
            a, b = (int(x) for x in part.split(":"))
            step = 1 if b >= a else -1
            out.extend(range(a, b + step, step))
        else:
            out.append(int(part))
    return out


def uidvalidity(d, user, mailbox="INBOX"):
    return mailbox_rows(d, user)[mailbox][0]


def select_modseq(r):
    """The HIGHESTMODSEQ of a SELECT's answer (int)."""
    v = resp_code(r, "HIGHESTMODSEQ")
    assert v, r
    return int(v)


def modseqs(r):
    """{seq: modseq} of the FETCH responses of r."""
    return {s: int(parse(v["MODSEQ"])[0]) for s, v in fetches(r).items()
            if "MODSEQ" in v}


def vanished(r):
    """[(earlier: bool, [uids])] of the VANISHED responses of r."""
    out = []
    for u in r.untagged:
        m = re.match(rb"\* VANISHED (\(EARLIER\) )?([0-9:,]+)$", u, re.I)
        if m:
            out.append((bool(m.group(1)), uid_set(m.group(2))))
    return out


def read_until(c, want, seconds):
    """Reads untagged responses until one matches the regex want or
    seconds pass; returns (lines read, the time it took)."""
    t0 = time.monotonic()
    got = []
    while True:
        left = t0 + seconds - time.monotonic()
        assert left > 0, "no %r within %.1f s; got %r" % (want, seconds, got)
        c.sock.settimeout(left)
        try:
            line = c.response()
        except socket.timeout:
            raise AssertionError("no %r within %.1f s; got %r"
                                 % (want, seconds, got))
        finally:
            c.sock.settimeout(c.timeout)
        got.append(line)
        if re.match(want, line):
            return got, time.monotonic() - t0


def start_idle(c):
    tag = c.next_tag()
    c.send(tag + b" IDLE\r\n")
    # RFC 2177 3: the server answers IDLE with a continuation request.
    assert c.response() == b"+ idling"
    return tag


def end_idle(c, tag):
    c.send(b"DONE\r\n")
    r = c.finish(Resp(tag))
    return r


def smtp_send(d, rcpt, subject="by smtp", body=b"hello\r\n"):
    msg = (b"From: <sender@example.net>\r\nTo: <%s>\r\nSubject: %s\r\n"
           b"\r\n" % (rcpt.encode(), subject.encode())) + body
    with smtplib.SMTP(HOST, d.ports["smtp"], timeout=TIMEOUT) as s:
        s.sendmail("sender@example.net", [rcpt], msg)


def list_lines(r):
    """The LIST and STATUS responses of r, in order, as bytes."""
    return [u for u in r.untagged
            if re.match(rb"\* (LIST|STATUS) ", u, re.I)]


def list_ext(r):
    """{name: (attrs lower-cased, extended items raw or None)} of r's
    LIST responses, extended data (RFC 5258 mbox-list-extended) kept."""
    out = {}
    for u in r.untagged:
        if not u.upper().startswith(b"* LIST "):
            continue
        rest = u[len(b"* LIST "):]
        attrs, i = parse_value(rest, 0)
        _, i = parse_value(rest, i + 1)
        name, i = parse_value(rest, i + 1)
        ext = rest[i + 1:] if i < len(rest) else None
        assert name.decode() not in out, r
        out[name.decode()] = ({a.decode().lower() for a in attrs}, ext)
    return out


# ------------------------------------------------------------ CAPABILITY

def test_capability_after_login(server, conns, user):
    c = conns.login(server, user)
    r = ok(c.cmd("CAPABILITY"))
    assert r.untagged == [b"* CAPABILITY " + CAPS_AFTER_LOGIN.encode()], r
    # The login's OK carries the same list (RFC 3501 7.2.1 / 6.2.3).
    c2 = conns.plain(server)
    r = ok(c2.login(user))
    assert capabilities(r.text) == set(CAPS_AFTER_LOGIN.upper().split())


# ------------------------------------------------------------------ IDLE

def test_idle_reports_delivery_flags_and_expunge(server, conns, user):
    fill(server, user, 2)
    a = conns.login(server, user)
    b = conns.login(server, user)
    ok(a.select())
    ok(b.select())
    tag = start_idle(a)
    assert a.quiet(0.3)
    # RFC 2177 3: while idling, the server sends untagged EXISTS,
    # EXPUNGE and FETCH responses as the mailbox changes.
    t0 = time.monotonic()
    smtp_send(server, user)
    t_smtp = time.monotonic() - t0
    got, _ = read_until(a, rb"\* 3 EXISTS$", 5)
    t_exists = time.monotonic() - t0
    print("IDLE latency: EXISTS %.3f s from the SMTP session's start "
          "(the SMTP session took %.3f s)" % (t_exists, t_smtp))
    assert got == [b"* 3 EXISTS"], got
    assert t_exists < 2, t_exists

    t0 = time.monotonic()
    ok(b.cmd("STORE 1 +FLAGS.SILENT (\\Flagged)"))
    got, _ = read_until(a, rb"\* 1 FETCH ", 5)
    t_fetch = time.monotonic() - t0
    print("IDLE latency: FETCH after STORE %.3f s" % t_fetch)
    assert got == [b"* 1 FETCH (UID 1 FLAGS (\\Flagged))"], got
    assert t_fetch < 2, t_fetch

    ok(b.cmd("STORE 2 +FLAGS.SILENT (\\Deleted)"))
    t0 = time.monotonic()
    ok(b.cmd("EXPUNGE"))
    got, _ = read_until(a, rb"\* 2 EXPUNGE$", 5)
    t_exp = time.monotonic() - t0
    print("IDLE latency: EXPUNGE after EXPUNGE %.3f s" % t_exp)
    # The \Deleted flag of message 2 may be told before it goes.
    assert got[-1] == b"* 2 EXPUNGE", got
    assert all(re.match(rb"\* 2 FETCH \(UID 2 FLAGS \(\\Deleted\)\)$", g)
               for g in got[:-1]), got
    assert t_exp < 2, t_exp

    r = end_idle(a, tag)
    assert r.tagged == tag + b" OK IDLE terminated", r
    assert r.untagged == [], r
    # Nothing is told twice.
    r = ok(a.cmd("NOOP"))
    assert r.untagged == [], r
    f = fetches(ok(a.cmd("FETCH 1:* (UID FLAGS)")))
    assert {s: (v["UID"], flags_of(v["FLAGS"])) for s, v in f.items()} == {
        1: (b"1", {"\\Flagged"}), 2: (b"3", set())}, f
    assert [(m[0], m[1]) for m in messages(server, user)] == [
        (1, F_FLAGGED), (3, 0)]


def test_idle_done_any_case_and_other_line_bad(server, conns, user):
    c = conns.login(server, user)
    ok(c.select())
    tag = start_idle(c)
    c.send(b"done\r\n")
    r = c.finish(Resp(tag))
    assert r.tagged == tag + b" OK IDLE terminated", r
    # RFC 2177 3: IDLE ends with DONE; anything else is a client error.
    tag = start_idle(c)
    c.send(b"a9 NOOP\r\n")
    r = c.finish(Resp(tag))
    bad(r)
    assert r.untagged == [], r
    # The session goes on.
    r = ok(c.cmd("NOOP"))


def test_idle_in_authenticated_state(server, conns, user):
    # RFC 2177 3: IDLE is valid in the authenticated state too.
    c = conns.login(server, user)
    tag = start_idle(c)
    smtp_send(server, user)
    assert c.quiet(0.5)       # no mailbox selected: nothing to tell
    r = end_idle(c, tag)
    assert r.tagged == tag + b" OK IDLE terminated", r
    r = ok(c.select())
    assert exists(r) == 1, r


def test_idle_not_before_login(server, conns):
    c = conns.plain(server)
    r = c.cmd("IDLE")
    bad(r)
    assert r.continuations == [], r


# --------------------------------------------------------------- UIDPLUS

def test_appenduid_copyuid_and_uid_expunge(server, conns, user):
    fill(server, user, 4)
    c = conns.login(server, user)
    ok(c.select())
    rows = mailbox_rows(server, user)
    # RFC 4315 3: APPENDUID uidvalidity uid.
    r = ok(append(c, "Trash", message(9)))
    assert r.text.startswith(b"[APPENDUID %d 1] " % rows["Trash"][0]), r
    r = ok(append(c, "Trash", message(10), plus=True))
    assert r.text.startswith(b"[APPENDUID %d 2] " % rows["Trash"][0]), r
    # RFC 4315 3: COPYUID uidvalidity source-uids dest-uids, the two sets
    # in the same order.
    r = ok(c.cmd('COPY 2,4 "Trash"'))
    m = re.match(rb"\[COPYUID (\d+) ([0-9:,]+) ([0-9:,]+)\] ", r.text)
    assert m, r
    assert int(m.group(1)) == rows["Trash"][0]
    assert list(zip(uid_set(m.group(2)), uid_set(m.group(3)))) == [
        (2, 3), (4, 4)], r
    r = ok(c.cmd('UID COPY 3:1 "Trash"'))
    m = re.match(rb"\[COPYUID (\d+) ([0-9:,]+) ([0-9:,]+)\] ", r.text)
    assert m, r
    assert sorted(zip(uid_set(m.group(2)), uid_set(m.group(3)))) == [
        (1, 5), (2, 6), (3, 7)], r
    assert [x[0] for x in messages(server, user, "Trash")] == [
        1, 2, 3, 4, 5, 6, 7]
    assert show(server, user, 3, "Trash") == show(server, user, 2)
    # RFC 4315 2.1: UID EXPUNGE removes only \Deleted messages whose UID
    # is in the set.
    ok(c.cmd("STORE 1:3 +FLAGS.SILENT (\\Deleted)"))
    r = ok(c.cmd("UID EXPUNGE 2:4"))
    assert r.untagged == [b"* 3 EXPUNGE", b"* 2 EXPUNGE"] or \
        r.untagged == [b"* 2 EXPUNGE", b"* 2 EXPUNGE"], r
    assert [(x[0], x[1]) for x in messages(server, user)] == [
        (1, F_DELETED), (4, 0)]
    r = ok(c.cmd("UID EXPUNGE 4"))
    assert r.untagged == [], r
    bad(c.cmd("UID EXPUNGE"))
    assert [x[0] for x in messages(server, user)] == [1, 4]


# ------------------------------------------------------------------ MOVE

def test_move_copyuid_before_expunges(server, conns, user):
    stored = fill(server, user, 4)
    c = conns.login(server, user)
    ok(c.select())
    v = uidvalidity(server, user, "Archive")
    # RFC 6851 4.3: the COPYUID comes in an untagged OK before the
    # EXPUNGE responses, and the tagged OK ends it.
    r = ok(c.cmd('MOVE 2:3 "Archive"'))
    assert r.untagged[0] == b"* OK [COPYUID %d 2:3 1:2] Moved" % v or \
        r.untagged[0].startswith(b"* OK [COPYUID %d 2:3 1:2]" % v), r
    assert r.untagged[1:] in ([b"* 3 EXPUNGE", b"* 2 EXPUNGE"],
                              [b"* 2 EXPUNGE", b"* 2 EXPUNGE"]), r
    assert not r.text.startswith(b"[COPYUID"), r
    assert [x[0] for x in messages(server, user)] == [1, 4]
    assert [x[0] for x in messages(server, user, "Archive")] == [1, 2]
    assert show(server, user, 2, "Archive") == stored[2]
    r = ok(c.cmd('UID MOVE 4 "Archive"'))
    assert r.untagged[0].startswith(b"* OK [COPYUID %d 4 3]" % v), r
    assert r.untagged[1:] == [b"* 2 EXPUNGE"], r
    no(c.cmd('MOVE 1 "missing"'), "TRYCREATE")
    assert [x[0] for x in messages(server, user)] == [1]


def test_move_into_selected_mailbox(server, conns, user):
    stored = fill(server, user, 2)
    c = conns.login(server, user)
    ok(c.select())
    v = uidvalidity(server, user)
    # RFC 6851 3.3: MOVE into the selected mailbox is a COPY then an
    # EXPUNGE: the message gets a new UID.
    r = ok(c.cmd('UID MOVE 1 "INBOX"'))
    assert r.untagged[0].startswith(b"* OK [COPYUID %d 1 3]" % v), r
    assert b"* 1 EXPUNGE" in r.untagged, r
    f = fetches(ok(c.cmd("FETCH 1:* (UID)")))
    assert {s: x["UID"] for s, x in f.items()} == {1: b"2", 2: b"3"}, f
    assert [x[0] for x in messages(server, user)] == [2, 3]
    assert show(server, user, 3) == stored[0]


# ----------------------------------------------- NAMESPACE, ID, ENABLE

def test_namespace(server, conns, user):
    c = conns.login(server, user)
    # RFC 2342 5.
    r = ok(c.cmd("NAMESPACE"))
    assert r.untagged == [b'* NAMESPACE (("" "/")) NIL NIL'], r


ID_RE = rb'^\* ID \("name" "Letterbox" "version" "[^"\\]+"\)$'


def test_id(server, conns, user):
    # RFC 2971 3.1: ID works in every state, with a list or NIL.
    c = conns.plain(server)
    r = ok(c.cmd('ID ("name" "x")'))
    assert len(r.untagged) == 1 and re.match(ID_RE, r.untagged[0]), r
    ok(c.login(user))
    r = ok(c.cmd("ID NIL"))
    assert len(r.untagged) == 1 and re.match(ID_RE, r.untagged[0]), r
    r = ok(c.cmd('ID ("name" "x" "version" "1.0" "os" NIL)'))
    assert len(r.untagged) == 1 and re.match(ID_RE, r.untagged[0]), r
    # RFC 2971 4: a list of field/value pairs, or NIL.
    bad(c.cmd("ID"))
    bad(c.cmd('ID "name"'))
    bad(c.cmd('ID ("name")'))


def test_enable(server, conns, user):
    c = conns.login(server, user)
    # RFC 5161 3.1/3.2: ENABLED lists what this command newly enabled;
    # unknown capabilities are ignored.
    r = ok(c.cmd("ENABLE CONDSTORE QRESYNC X-UNKNOWN"))
    assert r.untagged == [b"* ENABLED CONDSTORE QRESYNC"], r
    r = ok(c.cmd("ENABLE QRESYNC"))
    assert r.untagged == [b"* ENABLED"], r
    bad(c.cmd("ENABLE"))
    # RFC 5161 3.1: only in the authenticated state, before SELECT.
    ok(c.select())
    r = c.cmd("ENABLE CONDSTORE")
    bad(r)
    assert r.untagged == [], r
    c2 = conns.plain(server)
    bad(c2.cmd("ENABLE CONDSTORE"))


# ----------------------------------------------------------------- QUOTA

_quota_users = itertools.count(1)


def quota_user(d, quota):
    address = "quota%d@%s" % (next(_quota_users), DOMAIN)
    d.lb.add_user(address, quota=quota)
    return address


def stored_size(d, user):
    conn = db(d)
    try:
        return conn.execute(
            "SELECT coalesce(sum(m.size), 0) FROM messages m "
            "JOIN users u ON u.id = m.user_id WHERE u.address = ?",
            (user,)).fetchone()[0]
    finally:
        conn.close()


def test_quota_root_and_usage(server, conns):
    u = quota_user(server, "1M")
    for i in range(3):
        deliver(server, u, message(i, lines=200))
    c = conns.login(server, u)
    r = ok(c.select())
    f = fetches(ok(c.cmd("FETCH 1:* (RFC822.SIZE)")))
    total = sum(int(x["RFC822.SIZE"]) for x in f.values())
    # RFC 9208 5.1: STORAGE counts units of 1024 octets.
    used_kib = (math.floor(total / 1024), math.ceil(total / 1024))
    # RFC 9208 4.3.2 / 5.3: QUOTAROOT mailbox root..., then QUOTA.
    r = ok(c.cmd("GETQUOTAROOT INBOX"))
    assert len(r.untagged) == 2, r
    assert r.untagged[0] in (b'* QUOTAROOT "INBOX" ""',
                             b'* QUOTAROOT INBOX ""'), r
    m = re.match(rb'^\* QUOTA "" \(STORAGE (\d+) (\d+)\)$', r.untagged[1])
    assert m, r
    assert int(m.group(1)) in used_kib and int(m.group(2)) == 1024, r
    r2 = ok(c.cmd('GETQUOTA ""'))
    assert r2.untagged == r.untagged[1:], r2
    # Another mailbox has the same root.
    r = ok(c.cmd("GETQUOTAROOT Sent"))
    assert r.untagged[0] in (b'* QUOTAROOT "Sent" ""',
                             b'* QUOTAROOT Sent ""'), r
    no(c.cmd('GETQUOTA "other"'))
    no(c.cmd("GETQUOTAROOT missing"))
    # Usage follows an APPEND.
    ok(append(c, "Sent", message(7, lines=600)))
    r = ok(c.cmd('GETQUOTA ""'))
    m = re.match(rb'^\* QUOTA "" \(STORAGE (\d+) 1024\)$', r.untagged[0])
    assert m, r
    size = stored_size(server, u)
    assert int(m.group(1)) in (size // 1024, -(-size // 1024)), (r, size)


def test_quota_user_without_limit(server, conns, user):
    c = conns.login(server, user)
    # RFC 9208 4.3.2: no quota root applies: QUOTAROOT without roots.
    r = ok(c.cmd("GETQUOTAROOT INBOX"))
    assert r.untagged in ([b'* QUOTAROOT "INBOX"'],
                          [b"* QUOTAROOT INBOX"]), r
    # RFC 9208 4.3.1: GETQUOTA of a root that does not exist: NO.
    r = no(c.cmd('GETQUOTA ""'))
    assert r.untagged == [], r


def test_append_over_quota(server, conns):
    u = quota_user(server, "4K")
    c = conns.login(server, u)
    big = message(1, lines=300)         # about 8 KiB
    assert len(big) > 4096
    # RFC 9208 4.3.2 / RFC 7889: refused before the literal is sent,
    # with the OVERQUOTA code (RFC 5530 3).
    r = no(append(c, "INBOX", big), "OVERQUOTA")
    assert r.continuations == [], r
    # A message that fits is taken, and then one that no longer fits is
    # refused too.
    half = message(2, lines=90)
    assert 2048 < len(half) < 4096
    ok(append(c, "INBOX", half))
    r = no(append(c, "INBOX", message(3, lines=90)), "OVERQUOTA")
    assert r.continuations == [], r
    assert [x[0] for x in messages(server, u)] == [1]
    # With LITERAL+ the octets are already on their way: the answer is
    # still NO [OVERQUOTA] and the session continues.
    no(append(c, "INBOX", big, plus=True), "OVERQUOTA")
    ok(c.cmd("NOOP"))
    assert [x[0] for x in messages(server, u)] == [1]
    # COPY over quota: NO [OVERQUOTA] too.
    ok(c.select())
    no(c.cmd('COPY 1 "Sent"'), "OVERQUOTA")
    assert messages(server, u, "Sent") == []


# ------------------------------------------------------------ STATUS ext

def test_status_appendlimit_size_highestmodseq(server, conns, user):
    fill(server, user, 3)
    c = conns.login(server, user)
    r = ok(c.cmd("STATUS INBOX (MESSAGES APPENDLIMIT SIZE HIGHESTMODSEQ)"))
    s = status_items(r, "INBOX")
    # RFC 8438 2: SIZE is the sum of the messages' RFC822.SIZE.
    r2 = ok(c.select(examine=True))
    hms = select_modseq(r2)
    f = fetches(ok(c.cmd("FETCH 1:* (RFC822.SIZE)")))
    total = sum(int(x["RFC822.SIZE"]) for x in f.values())
    assert s == {"MESSAGES": 3, "APPENDLIMIT": APPENDLIMIT, "SIZE": total,
                 "HIGHESTMODSEQ": hms}, r
    ok(c.cmd("CLOSE"))
    # RFC 7889 4: APPENDLIMIT of an empty mailbox; SIZE 0.
    r = ok(c.cmd("STATUS Trash (SIZE APPENDLIMIT)"))
    assert r.untagged == [b'* STATUS "Trash" (SIZE 0 APPENDLIMIT %d)'
                          % APPENDLIMIT], r
    # RFC 7162 3.1.2.1 (3.6): HIGHESTMODSEQ grows with a flag change.
    ok(c.select())
    ok(c.cmd("STORE 1 +FLAGS.SILENT (\\Seen)"))
    r = ok(c.cmd("STATUS INBOX (HIGHESTMODSEQ)"))
    assert status_items(r, "INBOX")["HIGHESTMODSEQ"] > hms, r


# ---------------------------------- LIST-EXTENDED, LIST-STATUS, SPECIAL-USE

def test_list_special_use_selection(server, conns, user):
    c = conns.login(server, user)
    ok(c.cmd("CREATE plain"))
    # RFC 6154 2 / 5.2: SPECIAL-USE selection lists only special-use
    # mailboxes, with their attributes.
    r = ok(c.cmd('LIST (SPECIAL-USE) "" "*"'))
    got = list_entries(r)
    assert {n: a & {"\\sent", "\\drafts", "\\trash", "\\junk",
                    "\\archive", "\\all", "\\flagged"}
            for n, (a, _) in got.items()} == {
        "Archive": {"\\archive"}, "Drafts": {"\\drafts"},
        "Junk": {"\\junk"}, "Sent": {"\\sent"}, "Trash": {"\\trash"}}, r
    # RETURN (SPECIAL-USE) gives the attributes on an ordinary listing.
    r = ok(c.cmd('LIST "" "*" RETURN (SPECIAL-USE)'))
    got = list_entries(r)
    assert "\\sent" in got["Sent"][0] and "plain" in got, r
    assert not got["plain"][0] & {"\\sent", "\\drafts", "\\trash"}, r


def test_create_special_use(server, conns, user):
    c = conns.login(server, user)
    # RFC 6154 3: CREATE with USE.
    ok(c.cmd("CREATE Outbox (USE (\\Sent))"))
    r = ok(c.cmd('LIST "" "Outbox"'))
    assert list_entries(r)["Outbox"][0] & {"\\sent"} == {"\\sent"}, r
    assert mailbox_rows(server, user)["Outbox"][2] is not None
    r = ok(c.cmd('LIST (SPECIAL-USE) "" "*"'))
    assert "Outbox" in list_entries(r), r
    # An attribute the server does not support: NO [USEATTR], and no
    # mailbox made (RFC 6154 3).
    no(c.cmd("CREATE Everything (USE (\\All))"), "USEATTR")
    no(c.cmd("CREATE Odd (USE (\\NotAThing))"), "USEATTR")
    assert "Everything" not in mailbox_rows(server, user)
    assert "Odd" not in mailbox_rows(server, user)


def test_list_subscribed_selection(server, conns, user):
    c = conns.login(server, user)
    ok(c.cmd("CREATE a/b"))
    ok(c.cmd("CREATE c"))
    ok(c.cmd("UNSUBSCRIBE c"))
    ok(c.cmd("SUBSCRIBE gone"))
    # RFC 5258 3: SUBSCRIBED lists subscribed names, \Subscribed set,
    # \NonExistent for one that does not exist.
    r = ok(c.cmd('LIST (SUBSCRIBED) "" "*"'))
    got = list_entries(r)
    assert set(got) == subscriptions(server, user) - {"c"} | {"gone"} \
        or set(got) == subscriptions(server, user), r
    assert "c" not in got and "a/b" in got, r
    assert all("\\subscribed" in a for a, _ in got.values()), r
    assert "\\nonexistent" in got["gone"][0], r
    assert "\\nonexistent" not in got["a/b"][0], r
    # RFC 5258 3: RECURSIVEMATCH alone is an error.
    bad(c.cmd('LIST (RECURSIVEMATCH) "" "%"'))
    bad(c.cmd('LIST (RECURSIVEMATCH) "" "%" RETURN (CHILDREN)'))
    # RETURN (SUBSCRIBED) on an ordinary listing.
    r = ok(c.cmd('LIST "" "*" RETURN (SUBSCRIBED)'))
    got = list_entries(r)
    assert "\\subscribed" in got["a/b"][0] and \
        "\\subscribed" not in got["c"][0], r
    assert "gone" not in got, r


def test_list_recursivematch_childinfo(server, conns, user):
    c = conns.login(server, user)
    ok(c.cmd("CREATE p/q"))       # subscribes p/q (and p?)
    ok(c.cmd("UNSUBSCRIBE p"))
    ok(c.cmd("CREATE s/t"))
    ok(c.cmd("SUBSCRIBE s"))
    ok(c.cmd("CREATE lone"))
    ok(c.cmd("UNSUBSCRIBE lone"))
    subs = subscriptions(server, user)
    assert "p" not in subs and {"p/q", "s", "s/t"} <= subs, subs
    r = ok(c.cmd('LIST (SUBSCRIBED RECURSIVEMATCH) "" "%"'))
    got = list_ext(r)
    # RFC 5258 3.5: a name matching the pattern, not itself subscribed,
    # with a subscribed child: () + CHILDINFO ("SUBSCRIBED").
    assert got["p"][0] - {"\\haschildren"} == set(), r
    assert got["p"][1] == b'("CHILDINFO" ("SUBSCRIBED"))', r
    assert "lone" not in got and "p/q" not in got, r
    # Subscribed itself and with a subscribed child: (<attr>) +
    # CHILDINFO (the table of RFC 5258 3.5, "yes yes yes").
    assert "\\subscribed" in got["s"][0], r
    assert got["s"][1] == b'("CHILDINFO" ("SUBSCRIBED"))', r
    # No CHILDINFO without RECURSIVEMATCH (RFC 5258 3.5).
    r = ok(c.cmd('LIST (SUBSCRIBED) "" "%"'))
    assert all(e is None for _, e in list_ext(r).values()), r


def test_list_several_patterns(server, conns, user):
    c = conns.login(server, user)
    ok(c.cmd("CREATE a1"))
    ok(c.cmd("CREATE a2/x"))
    ok(c.cmd("CREATE b1"))
    # RFC 5258 3: a parenthesized list of patterns; each name once.
    r = ok(c.cmd('LIST "" ("INBOX" "a*")'))
    assert set(list_entries(r)) == {"INBOX", "a1", "a2", "a2/x"}, r
    r = ok(c.cmd('LIST "" ("a%" "a*" "INBOX")'))
    assert set(list_entries(r)) == {"INBOX", "a1", "a2", "a2/x"}, r
    r = ok(c.cmd('LIST () "" ("b1")'))
    assert set(list_entries(r)) == {"b1"}, r


def test_list_return_status(server, conns, user):
    fill(server, user, 3)
    c = conns.login(server, user)
    ok(c.cmd("CREATE box/inner"))
    ok(c.select())
    ok(c.cmd("STORE 1 +FLAGS.SILENT (\\Seen)"))
    ok(c.cmd("UNSELECT"))
    # RFC 5819 2: a STATUS response follows each selectable mailbox's
    # LIST response.
    r = ok(c.cmd('LIST "" "*" RETURN (STATUS (MESSAGES UNSEEN))'))
    lines = list_lines(r)
    names = list(list_entries(r))
    assert len(lines) == 2 * len(names), r
    for i in range(0, len(lines), 2):
        assert lines[i].startswith(b"* LIST "), r
        name = list(list_entries(Resp_with([lines[i]])))[0]
        assert lines[i + 1].startswith(b"* STATUS "), r
        rest = lines[i + 1][len(b"* STATUS "):]
        sname, j = parse_value(rest, 0)
        assert sname.decode() == name, r
    assert status_items(r, "INBOX") == {"MESSAGES": 3, "UNSEEN": 2}, r
    assert status_items(r, "box/inner") == {"MESSAGES": 0, "UNSEEN": 0}, r
    # RFC 5819 2: no STATUS for a \NonExistent or \Noselect name.
    ok(c.cmd("SUBSCRIBE gone"))
    r = ok(c.cmd('LIST (SUBSCRIBED) "" "gone" RETURN (STATUS (MESSAGES))'))
    assert [u for u in r.untagged if u.startswith(b"* STATUS")] == [], r


def Resp_with(untagged):
    r = Resp(b"x")
    r.untagged = untagged
    return r


# ------------------------------------------------- CONDSTORE and QRESYNC

def condstore_select(c, mailbox="INBOX"):
    r = ok(c.cmd("SELECT %s (CONDSTORE)" % mailbox))
    return r, select_modseq(r)


def test_condstore_select_fetch_modseq(server, conns, user):
    fill(server, user, 3)
    c = conns.login(server, user)
    # RFC 7162 3.1.1 / 3.1.2.1: SELECT (CONDSTORE) gives HIGHESTMODSEQ.
    r, hms = condstore_select(c)
    assert r.tagged.endswith(b"OK [READ-WRITE] SELECT completed"), r
    # RFC 7162 3.1.4.1: FETCH MODSEQ; the highest equals HIGHESTMODSEQ.
    r = ok(c.cmd("FETCH 1:* (MODSEQ)"))
    ms = modseqs(r)
    assert set(ms) == {1, 2, 3} and max(ms.values()) == hms, r
    assert all(re.match(rb"\* \d FETCH \(MODSEQ \(\d+\)\)$", u)
               for u in r.untagged), r
    # A STORE gives the message a modseq above all before.
    r = ok(c.cmd("STORE 2 +FLAGS (\\Seen)"))
    # RFC 7162 3.2 (CONDSTORE enabled): untagged FETCH include MODSEQ.
    # (UID too: see test_condstore_unsolicited_fetch_has_uid.)
    assert re.match(rb"\* 2 FETCH \((UID 2 )?FLAGS \(\\Seen\)( UID 2)? "
                    rb"MODSEQ \((\d+)\)( UID 2)?\)$", r.untagged[0]), r
    m2 = modseqs(r)[2]
    assert m2 > hms
    # RFC 7162 3.1.4.1: CHANGEDSINCE: only those changed since.
    r = ok(c.cmd("FETCH 1:* (FLAGS) (CHANGEDSINCE %d)" % hms))
    assert r.untagged == [b"* 2 FETCH (FLAGS (\\Seen) MODSEQ (%d))" % m2], r
    r = ok(c.cmd("FETCH 1:* (FLAGS) (CHANGEDSINCE %d)" % m2))
    assert r.untagged == [], r
    r = ok(c.cmd("UID FETCH 1:* (FLAGS) (CHANGEDSINCE %d)" % hms))
    assert r.untagged == [b"* 2 FETCH (UID 2 FLAGS (\\Seen) MODSEQ (%d))"
                          % m2], r
    # STATUS and a new SELECT agree.
    r = ok(c.cmd("STATUS INBOX (HIGHESTMODSEQ)"))
    assert status_items(r, "INBOX")["HIGHESTMODSEQ"] == m2, r
    r, hms2 = condstore_select(c)
    assert hms2 == m2
    # RFC 7162 3.1.2.2: a mailbox that changed gets a new modseq even by
    # EXPUNGE.
    ok(c.cmd("STORE 3 +FLAGS.SILENT (\\Deleted)"))
    ok(c.cmd("EXPUNGE"))
    r = ok(c.cmd("STATUS Trash (HIGHESTMODSEQ)"))
    r = ok(c.cmd("STATUS INBOX (HIGHESTMODSEQ)"))
    assert status_items(r, "INBOX")["HIGHESTMODSEQ"] > m2, r


def test_condstore_fetch_modifiers_invalid(server, conns, user):
    fill(server, user, 1)
    c = conns.login(server, user)
    ok(c.select())
    bad(c.cmd("FETCH 1 (FLAGS) (CHANGEDSINCE)"))
    bad(c.cmd("FETCH 1 (FLAGS) (CHANGEDSINCE x)"))
    bad(c.cmd("FETCH 1 (FLAGS) (NOSUCHMODIFIER 1)"))
    # RFC 7162 3.2.6 (3.1.4.2): VANISHED needs QRESYNC enabled.
    bad(c.cmd("UID FETCH 1:* (FLAGS) (CHANGEDSINCE 1 VANISHED)"))
    ok(c.cmd("NOOP"))


def test_conditional_store(server, conns, user):
    fill(server, user, 3)
    c = conns.login(server, user)
    r, hms = condstore_select(c)
    r = ok(c.cmd("STORE 2 +FLAGS (\\Answered)"))
    m2 = modseqs(r)[2]
    # RFC 7162 3.1.3: message 2 changed since hms: not stored, listed
    # in MODIFIED; message 1 is stored and reported with its new MODSEQ.
    r = ok(c.cmd("STORE 1:2 (UNCHANGEDSINCE %d) +FLAGS (\\Flagged)" % hms))
    assert r.text.startswith(b"[MODIFIED 2] "), r
    assert len(r.untagged) == 1, r
    # RFC 7162 3.2.4: UID comes with MODSEQ once CONDSTORE is on.
    m = re.match(rb"\* 1 FETCH \((?:UID 1 )?FLAGS \(\\Flagged\) "
                 rb"MODSEQ \((\d+)\)\)$", r.untagged[0])
    assert m and int(m.group(1)) > m2, r
    assert [(x[0], x[1]) for x in messages(server, user)] == [
        (1, F_FLAGGED), (2, 2), (3, 0)]
    # UID STORE: MODIFIED gives UIDs.
    r = ok(c.cmd("UID STORE 1:3 (UNCHANGEDSINCE %d) -FLAGS (\\Flagged)"
                 % hms))
    assert uid_set(re.match(rb"\[MODIFIED ([0-9:,]+)\]", r.text).group(1)) \
        == [1, 2], r
    # RFC 7162 3.1.3 (example 3): with .SILENT, an untagged FETCH with
    # MODSEQ is still sent for every message stored.
    r = ok(c.cmd("STORE 3 (UNCHANGEDSINCE %d) +FLAGS.SILENT (\\Seen)"
                 % hms))
    assert len(r.untagged) == 1 and re.match(
        rb"\* 3 FETCH \((UID 3 )?(FLAGS \(\\Seen\) )?MODSEQ \(\d+\)\)$",
        r.untagged[0]), r
    assert messages(server, user)[2][1] == F_SEEN
    # UNCHANGEDSINCE 0 always fails (RFC 7162 3.1.3).
    r = ok(c.cmd("STORE 3 (UNCHANGEDSINCE 0) +FLAGS (\\Draft)"))
    assert r.text.startswith(b"[MODIFIED 3]"), r
    assert messages(server, user)[2][1] == F_SEEN


def test_qresync_enabled_expunge_is_vanished(server, conns, user):
    fill(server, user, 3)
    c = conns.login(server, user)
    ok(c.cmd("ENABLE QRESYNC"))
    ok(c.select())
    ok(c.cmd("STORE 2 +FLAGS.SILENT (\\Deleted)"))
    # RFC 7162 3.2.10: once QRESYNC is enabled, VANISHED replaces
    # EXPUNGE.
    r = ok(c.cmd("EXPUNGE"))
    assert r.untagged == [b"* VANISHED 2"], r
    ok(c.cmd("STORE 1,2 +FLAGS.SILENT (\\Deleted)"))
    r = ok(c.cmd("UID EXPUNGE 1:3"))
    assert vanished(r) == [(False, [1, 3])] or \
        sorted(sum((v for _, v in vanished(r)), [])) == [1, 3], r
    assert expunges(r) == [], r
    assert messages(server, user) == []


def unsolicited_fetch_has_uid(server, conns, user, enable):
    fill(server, user, 2)
    a = conns.login(server, user)
    b = conns.login(server, user)
    if enable == "QRESYNC":
        ok(a.cmd("ENABLE QRESYNC"))
        ok(a.select())
    else:
        ok(a.cmd("SELECT INBOX (CONDSTORE)"))
    ok(b.select())
    # RFC 7162 3.2.4 "Additional Requirements on QRESYNC Servers" (from
    # erratum 1807 of RFC 5162): once CONDSTORE (or QRESYNC) is enabled,
    # every untagged FETCH not caused by a FETCH without UID carries UID
    # and MODSEQ, whether from STORE (with or without UNCHANGEDSINCE) or
    # from another session.
    ok(b.cmd("STORE 2 +FLAGS.SILENT (\\Flagged)"))
    r = ok(a.cmd("NOOP"))
    assert len(r.untagged) == 1 and re.match(
        rb"\* 2 FETCH \((?=.*UID 2)(?=.*FLAGS \(\\Flagged\))(?=.*MODSEQ "
        rb"\(\d+\)).*\)$", r.untagged[0]), r
    r = ok(a.cmd("STORE 1 +FLAGS (\\Seen)"))
    assert len(r.untagged) == 1 and re.match(
        rb"\* 1 FETCH \((?=.*UID 1)(?=.*FLAGS \(\\Seen\))(?=.*MODSEQ "
        rb"\(\d+\)).*\)$", r.untagged[0]), r
    r = ok(a.cmd("STORE 2 (UNCHANGEDSINCE 999999) -FLAGS.SILENT (\\Flagged)"))
    assert len(r.untagged) == 1 and re.match(
        rb"\* 2 FETCH \((?=.*UID 2)(?=.*MODSEQ \(\d+\)).*\)$",
        r.untagged[0]), r


def test_qresync_unsolicited_fetch_has_uid(server, conns, user):
    unsolicited_fetch_has_uid(server, conns, user, "QRESYNC")


def test_condstore_unsolicited_fetch_has_uid(server, conns, user):
    unsolicited_fetch_has_uid(server, conns, user, "CONDSTORE")


def test_qresync_select_after_changes_by_another_session(
        server, conns, user):
    """A client syncs, goes offline; another session changes flags,
    expunges and appends; the client comes back with SELECT (QRESYNC)
    and learns exactly what changed."""
    fill(server, user, 6)
    v = uidvalidity(server, user)
    a = conns.login(server, user)
    ok(a.cmd("ENABLE QRESYNC"))
    r = ok(a.select())
    known = select_modseq(r)
    a.close()

    b = conns.login(server, user)
    ok(b.select())
    ok(b.cmd("UID STORE 2 +FLAGS.SILENT (\\Seen)"))
    ok(b.cmd("UID STORE 5 +FLAGS.SILENT (\\Flagged $Work)"))
    ok(b.cmd("UID STORE 3,6 +FLAGS.SILENT (\\Deleted)"))
    ok(b.cmd("EXPUNGE"))
    ok(append(b, "INBOX", message(7)))
    ok(b.cmd("LOGOUT"))

    a = conns.login(server, user)
    bad(a.cmd("SELECT INBOX (QRESYNC (%d %d))" % (v, known)))  # not enabled
    ok(a.cmd("ENABLE QRESYNC"))
    # RFC 7162 3.2.5: VANISHED (EARLIER) with the UIDs expunged since
    # the known modseq, and FETCH (UID FLAGS MODSEQ) for every message
    # changed (or added) since.
    r = ok(a.cmd("SELECT INBOX (QRESYNC (%d %d))" % (v, known)))
    assert exists(r) == 5, r
    assert vanished(r) == [(True, [3, 6])], r
    f = fetches(r)
    got = {int(x["UID"]): flags_of(x["FLAGS"]) for x in f.values()}
    assert got == {2: {"\\Seen"}, 5: {"\\Flagged", "$Work"}, 7: set()}, r
    assert all("MODSEQ" in x for x in f.values()), r
    # Sequence numbers are after the expunges: UIDs 1 2 4 5 7.
    assert {s: int(x["UID"]) for s, x in f.items()} == {2: 2, 4: 5, 5: 7}, r
    hms = select_modseq(r)
    assert max(modseqs(r).values()) == hms, r
    # The VANISHED comes before the FETCHes (RFC 7162 3.2.5.1 example).
    iv = [i for i, u in enumerate(r.untagged) if u.startswith(b"* VANISHED")]
    iff = [i for i, u in enumerate(r.untagged) if b" FETCH " in u]
    assert iv and iff and iv[-1] < iff[0], r

    # The same with UID FETCH (CHANGEDSINCE VANISHED), RFC 7162 3.2.6.
    r = ok(a.cmd("UID FETCH 1:* (FLAGS) (CHANGEDSINCE %d VANISHED)"
                 % known))
    assert vanished(r) == [(True, [3, 6])], r
    got = {int(x["UID"]): flags_of(x["FLAGS"])
           for x in fetches(r).values()}
    assert got == {2: {"\\Seen"}, 5: {"\\Flagged", "$Work"}, 7: set()}, r
    # Nothing changed since the current highest modseq.
    r = ok(a.cmd("UID FETCH 1:* (FLAGS) (CHANGEDSINCE %d VANISHED)" % hms))
    assert r.untagged == [], r
    # A UID range limits VANISHED (EARLIER) too.
    r = ok(a.cmd("UID FETCH 4:* (FLAGS) (CHANGEDSINCE %d VANISHED)"
                 % known))
    assert vanished(r) == [(True, [6])], r

    # With the wrong UIDVALIDITY, no VANISHED and no FETCH (3.2.5).
    r = ok(a.cmd("SELECT INBOX (QRESYNC (%d %d))" % (v + 1, known)))
    assert vanished(r) == [] and fetches(r) == {}, r
    assert resp_code(r, "CLOSED") is not None, r


def test_qresync_select_with_known_uids(server, conns, user):
    fill(server, user, 5)
    v = uidvalidity(server, user)
    a = conns.login(server, user)
    ok(a.cmd("ENABLE QRESYNC"))
    known = select_modseq(ok(a.select()))
    ok(a.cmd("UNSELECT"))
    b = conns.login(server, user)
    ok(b.select())
    ok(b.cmd("STORE 1:5 +FLAGS.SILENT (\\Deleted)"))
    ok(b.cmd("UID EXPUNGE 2,4"))
    # RFC 7162 3.2.5: with known UIDs, VANISHED reports only those.
    r = ok(a.cmd("SELECT INBOX (QRESYNC (%d %d 1:3))" % (v, known)))
    assert vanished(r) == [(True, [2])], r
    got = {int(x["UID"]) for x in fetches(r).values()}
    # "the server should only report flag changes and expunges for the
    # specified messages" (lower-case should): 1 and 3 at least.
    assert {1, 3} <= got <= {1, 3, 5}, r
    if got != {1, 3}:
        print("QRESYNC known-uids: FETCH also for UIDs %s" % (got - {1, 3}))


def test_select_while_selected_closed(server, conns, user):
    fill(server, user, 1)
    c = conns.login(server, user)
    r = ok(c.select())
    assert resp_code(r, "CLOSED") is None, r
    # RFC 7162 3.2.11 (7): [CLOSED] when SELECT replaces a mailbox, sent
    # before the new mailbox's responses.
    r = ok(c.select("Sent"))
    assert r.untagged[0].startswith(b"* OK [CLOSED]"), r
    r = ok(c.select(examine=True))
    assert r.untagged[0].startswith(b"* OK [CLOSED]"), r
    # After a failed SELECT no mailbox is selected: no CLOSED next time.
    no(c.select("missing"))
    r = ok(c.select())
    assert resp_code(r, "CLOSED") is None, r


def test_idle_with_qresync_reports_vanished(server, conns, user):
    fill(server, user, 3)
    a = conns.login(server, user)
    b = conns.login(server, user)
    ok(a.cmd("ENABLE QRESYNC"))
    ok(a.select())
    ok(b.select())
    tag = start_idle(a)
    ok(b.cmd("STORE 2 +FLAGS.SILENT (\\Deleted)"))
    ok(b.cmd("EXPUNGE"))
    got, dt = read_until(a, rb"\* VANISHED ", 5)
    print("IDLE latency: VANISHED %.3f s" % dt)
    assert got[-1] == b"* VANISHED 2", got
    for g in got[:-1]:
        assert re.match(rb"\* 2 FETCH \(", g) and b"UID 2" in g, got
    r = end_idle(a, tag)
    assert r.tagged == tag + b" OK IDLE terminated", r
