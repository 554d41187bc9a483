"""SEARCH (RFC 3501 6.4.4) with every search key, matched on decoded
header values (RFC 2047) and decoded body text (quoted-printable,
base64, Latin-1), case-insensitively also beyond ASCII; ESEARCH (RFC
4731), SEARCHRES (RFC 5182) and SEARCH MODSEQ (RFC 7162 3.1.5).

Five messages are appended once for the module (with chosen flags,
internal dates and Date: headers) after one that is expunged, so that
UIDs (2..6) differ from sequence numbers (1..5). Tests that change
state make their own user.
"""
import base64
import re

import pytest

from test_imap import (  # noqa: F401  (server, conns, user are fixtures)
    Lit, append, conns, fetches, fill, new_user, no, ok, bad, parse, q,
    resp_code, server, user)

D = "example.org"

M1 = (b"From: Alice Example <alice@example.org>\r\n"
      b"To: Bob <bob@example.net>\r\n"
      b"Cc: carol@example.com\r\n"
      b"Bcc: dave@example.com\r\n"
      b"Subject: Quarterly report\r\n"
      b"Date: Sat, 01 Feb 2025 09:00:00 +0000\r\n"
      b"Message-ID: <s1@example.org>\r\n"
      b"\r\n"
      b"The numbers are up. Zebra crossing.\r\n")
M2 = (b"From: =?UTF-8?B?SsO8cmdlbiBNw7xsbGVy?= <juergen@example.de>\r\n"
      b"To: team@example.org\r\n"
      b"Subject: =?ISO-8859-1?Q?Gr=FC=DFe_aus_K=F6ln?=\r\n"
      b"Date: Mon, 10 Mar 2025 12:00:00 +0000\r\n"
      b"MIME-Version: 1.0\r\n"
      b"Content-Type: text/plain; charset=utf-8\r\n"
      b"Content-Transfer-Encoding: quoted-printable\r\n"
      b"\r\n"
      b"Sch=C3=B6ne Gr=C3=BC=C3=9Fe vom Rhein, ein sehr lan=\r\n"
      b"ges Wort.\r\n")
M3 = (b"From: Fran\xc3\xa7oise <fr@example.fr>\r\n"
      b"To: alice@example.org\r\n"
      b"Subject: =?UTF-8?Q?caf=C3=A9?= au lait\r\n"
      b"Date: Thu, 20 Mar 2025 12:00:00 +0000\r\n"
      b"MIME-Version: 1.0\r\n"
      b"Content-Type: text/plain; charset=iso-8859-1\r\n"
      b"Content-Transfer-Encoding: 8bit\r\n"
      b"\r\n"
      b"Fran\xe7ais d\xe9j\xe0 vu.\r\n")
M4 = (b"From: bot@example.net\r\n"
      b"To: alice@example.org\r\n"
      b"Subject: Attachment inside\r\n"
      b"Date: Tue, 01 Apr 2025 12:00:00 +0000\r\n"
      b"MIME-Version: 1.0\r\n"
      b"Content-Type: multipart/mixed; boundary=\"BND\"\r\n"
      b"\r\n"
      b"--BND\r\n"
      b"Content-Type: text/plain; charset=utf-8\r\n"
      b"Content-Transfer-Encoding: base64\r\n"
      b"\r\n"
      + base64.b64encode("Ünïcödé text, GRÜSSE aus Bern\r\n"
                         .encode()) + b"\r\n"
      b"--BND\r\n"
      b"Content-Type: application/octet-stream; name=\"x.bin\"\r\n"
      b"Content-Transfer-Encoding: base64\r\n"
      b"Content-Disposition: attachment; filename=\"x.bin\"\r\n"
      b"\r\n"
      + base64.b64encode(b"hiddensecretword inside the attachment\r\n")
      + b"\r\n--BND--\r\n")
M5 = (b"From: Short <s@example.net>\r\n"
      b"To: alice@example.org\r\n"
      b"Subject: short ab\r\n"
      b"X-Custom: Value123\r\n"
      b"Date: Wed, 02 Apr 2025 12:00:00 +0000\r\n"
      b"\r\n"
      b"xy herzliche gr\xc3\xbcsse\r\n")

CORPUS = [
    # (message, flags, internal date)
    (M1, ["\\Seen", "\\Answered"], "03-Mar-2025 12:00:00 +0000"),
    (M2, ["\\Flagged", "$Work"], "10-Mar-2025 12:00:00 +0000"),
    (M3, ["\\Deleted", "\\Draft"], "20-Mar-2025 12:00:00 +0000"),
    (M4, [], "01-Apr-2025 12:00:00 +0000"),
    (M5, ["$Later"], "05-Apr-2025 12:00:00 +0000"),
]
ALL = [1, 2, 3, 4, 5]


@pytest.fixture(scope="module")
def corpus(server):
    u = new_user(server)
    from test_imap import Imap, TIMEOUT
    c = Imap(server.ports["imap"], timeout=TIMEOUT)
    try:
        ok(c.login(u))
        ok(append(c, "INBOX", b"Subject: dummy\r\n\r\nx\r\n",
                  flags=["\\Deleted"]))
        for msg, flags, date in CORPUS:
            ok(append(c, "INBOX", msg, flags=flags, date=date))
        ok(c.select())
        ok(c.cmd("UID EXPUNGE 1"))
        f = fetches(ok(c.cmd("FETCH 1:* (UID RFC822.SIZE)")))
        assert [int(f[s]["UID"]) for s in ALL] == [2, 3, 4, 5, 6], f
        sizes = [int(f[s]["RFC822.SIZE"]) for s in ALL]
    finally:
        c.close()
    return u, sizes


@pytest.fixture
def c(server, conns, corpus):
    c = conns.login(server, corpus[0])
    ok(c.cmd("EXAMINE INBOX"))
    return c


def search(c, criteria, uid=False):
    """The numbers of the one "* SEARCH" response (sorted list)."""
    r = ok(c.cmd(("UID SEARCH " if uid else "SEARCH ") + criteria))
    lines = r.starting("* SEARCH")
    assert len(lines) == 1, r
    assert r.untagged == lines, r
    nums = lines[0][len(b"* SEARCH"):].split()
    return sorted(int(n) for n in nums)


def search_utf8(c, key, text, uid=False):
    """SEARCH CHARSET UTF-8 key {literal}."""
    r = ok(c.cmd(("UID " if uid else "") + "SEARCH CHARSET UTF-8 %s " % key,
                 Lit(text.encode("utf-8"))))
    lines = r.starting("* SEARCH")
    assert len(lines) == 1 and r.untagged == lines, r
    return sorted(int(n) for n in lines[0][len(b"* SEARCH"):].split())


# ------------------------------------------------------------- set keys

def test_all_and_sequence_sets(c):
    # RFC 3501 6.4.4: ALL; a sequence set is a search key of its own.
    assert search(c, "ALL") == ALL
    assert search(c, "2:3") == [2, 3]
    assert search(c, "4:*") == [4, 5]
    assert search(c, "*") == [5]
    assert search(c, "1,3:4") == [1, 3, 4]
    assert search(c, "5:4") == [4, 5]
    assert search(c, "1:2 3") == []          # AND of both
    # Beyond the mailbox: an empty result or BAD (as FETCH answers).
    r = c.cmd("SEARCH 9")
    assert r.status == b"BAD" or r.untagged == [b"* SEARCH"], r


def test_uid_key_and_uid_search(c):
    # UIDs are 2..6 for sequence numbers 1..5.
    assert search(c, "UID 2:3") == [1, 2]
    assert search(c, "UID 6:*") == [5]
    assert search(c, "UID 1") == []
    # RFC 3501 6.4.8: UID SEARCH answers with UIDs.
    assert search(c, "ALL", uid=True) == [2, 3, 4, 5, 6]
    assert search(c, "2:3", uid=True) == [3, 4]
    assert search(c, "UID 3,5", uid=True) == [3, 5]
    assert search(c, "FLAGGED", uid=True) == [3]


def test_flag_keys(c):
    assert search(c, "ANSWERED") == [1]
    assert search(c, "UNANSWERED") == [2, 3, 4, 5]
    assert search(c, "DELETED") == [3]
    assert search(c, "UNDELETED") == [1, 2, 4, 5]
    assert search(c, "DRAFT") == [3]
    assert search(c, "UNDRAFT") == [1, 2, 4, 5]
    assert search(c, "FLAGGED") == [2]
    assert search(c, "UNFLAGGED") == [1, 3, 4, 5]
    assert search(c, "SEEN") == [1]
    assert search(c, "UNSEEN") == [2, 3, 4, 5]
    # \Recent is never set: NEW (RECENT UNSEEN) and RECENT match nothing,
    # OLD (NOT RECENT) matches all.
    assert search(c, "RECENT") == []
    assert search(c, "NEW") == []
    assert search(c, "OLD") == ALL
    assert search(c, "KEYWORD $Work") == [2]
    assert search(c, "KEYWORD $work") == [2]      # keywords: case-blind
    assert search(c, "KEYWORD $Later") == [5]
    assert search(c, "KEYWORD $Nope") == []
    assert search(c, "UNKEYWORD $Work") == [1, 3, 4, 5]
    assert search(c, "UNKEYWORD $Nope") == ALL
    bad(c.cmd("SEARCH KEYWORD"))
    bad(c.cmd("SEARCH KEYWORD \\Seen"))


def test_internal_date_keys(c):
    # RFC 3501 6.4.4: BEFORE/ON/SINCE on the internal date, day only.
    assert search(c, "BEFORE 10-Mar-2025") == [1]
    assert search(c, "ON 10-Mar-2025") == [2]
    assert search(c, "ON 11-Mar-2025") == []
    assert search(c, "SINCE 10-Mar-2025") == [2, 3, 4, 5]
    assert search(c, "SINCE 1-Apr-2025") == [4, 5]
    assert search(c, 'SINCE "20-Mar-2025" BEFORE 2-Apr-2025') == [3, 4]
    bad(c.cmd("SEARCH BEFORE 32-Mar-2025"))
    bad(c.cmd("SEARCH ON yesterday"))


def test_sent_date_keys(c):
    # RFC 3501 6.4.4: SENT* on the Date: header (message 1 was sent on
    # 1 Feb and received on 3 Mar).
    assert search(c, "SENTBEFORE 3-Mar-2025") == [1]
    assert search(c, "SENTON 1-Feb-2025") == [1]
    assert search(c, "ON 1-Feb-2025") == []
    assert search(c, "SENTON 3-Mar-2025") == []
    assert search(c, "SENTSINCE 1-Apr-2025") == [4, 5]
    assert search(c, "SENTON 2-Apr-2025") == [5]
    assert search(c, "SENTSINCE 2-Apr-2025") == [5]


def test_size_keys(c, corpus):
    sizes = corpus[1]
    order = sorted(range(5), key=lambda i: sizes[i])
    mid = sizes[order[2]]
    assert search(c, "LARGER %d" % mid) == sorted(
        i + 1 for i in range(5) if sizes[i] > mid)
    assert search(c, "SMALLER %d" % mid) == sorted(
        i + 1 for i in range(5) if sizes[i] < mid)
    # Strictly larger / smaller (RFC 3501 6.4.4).
    assert search(c, "LARGER %d" % sizes[0]) == sorted(
        i + 1 for i in range(5) if sizes[i] > sizes[0])
    assert search(c, "LARGER %d SMALLER %d" % (sizes[0] - 1,
                                                sizes[0] + 1)) == [1]
    assert search(c, "LARGER 0") == ALL
    assert search(c, "SMALLER 1") == []
    bad(c.cmd("SEARCH LARGER x"))


# ------------------------------------------------------------ text keys

def test_address_and_subject_keys(c):
    assert search(c, "FROM alice") == [1]
    assert search(c, 'FROM "Alice Example"') == [1]
    assert search(c, "FROM ALICE@EXAMPLE.ORG") == [1]
    assert search(c, "FROM example.de") == [2]
    assert search(c, "TO bob") == [1]
    assert search(c, "TO alice") == [3, 4, 5]
    assert search(c, "CC carol") == [1]
    assert search(c, "CC bob") == []
    assert search(c, "BCC dave") == [1]
    assert search(c, "SUBJECT quarterly") == [1]
    assert search(c, "SUBJECT REPORT") == [1]
    assert search(c, 'SUBJECT ""') == ALL      # RFC 3501: empty matches


def test_encoded_words_decoded(c):
    # RFC 2047 words are matched by their decoded text: UTF-8 B in From,
    # ISO-8859-1 Q in Subject, UTF-8 Q in Subject.
    assert search_utf8(c, "FROM", "jürgen") == [2]
    assert search_utf8(c, "FROM", "JÜRGEN MÜLLER") == [2]
    assert search_utf8(c, "SUBJECT", "grüße aus köln") == [2]
    assert search_utf8(c, "SUBJECT", "café au") == [3]
    assert search_utf8(c, "HEADER SUBJECT", "café") == [3]
    # The encoded form itself does not match.
    assert search(c, "SUBJECT Q?Gr") == []
    # Raw UTF-8 in a header (RFC 6532) is matched too.
    assert search_utf8(c, "FROM", "françoise") == [3]


def test_header_key(c):
    assert search(c, "HEADER X-Custom value1") == [5]
    assert search(c, "HEADER x-custom VALUE123") == [5]
    # RFC 3501 6.4.4: an empty string matches every message that has
    # the field.
    assert search(c, 'HEADER X-Custom ""') == [5]
    assert search(c, 'HEADER Message-ID ""') == [1]
    assert search(c, "HEADER X-Custom nomatch") == []
    assert search(c, 'HEADER Subject "short"') == [5]


def test_body_and_text_on_decoded_text(c):
    assert search(c, "BODY zebra") == [1]
    assert search(c, "BODY ZEBRA") == [1]
    # Quoted-printable, with a soft line break inside a word.
    assert search_utf8(c, "BODY", "schöne grüße") == [2]
    assert search(c, "BODY langes") == [2]
    # Latin-1 body found by its UTF-8 form.
    assert search_utf8(c, "BODY", "déjà vu") == [3]
    assert search_utf8(c, "BODY", "FRANÇAIS") == [3]
    # Base64 text part.
    assert search_utf8(c, "BODY", "ünïcödé text") == [4]
    # Non-ASCII case-insensitive both ways.
    assert search_utf8(c, "BODY", "grüsse") == [4, 5]
    assert search_utf8(c, "BODY", "GRÜSSE") == [4, 5]
    # Text only inside the base64 attachment of a non-text type.
    assert search(c, "BODY secretword") == []
    assert search(c, "TEXT secretword") == []
    # TEXT covers the header and the body; BODY only the body.
    assert search(c, "TEXT quarterly") == [1]
    assert search(c, "BODY quarterly") == []
    assert search(c, "TEXT zebra") == [1]
    assert search_utf8(c, "TEXT", "jürgen") == [2]


def test_short_terms(c):
    # Terms shorter than 3 characters are matched as substrings too.
    assert search(c, "SUBJECT ab") == [5]
    assert search(c, "BODY xy") == [5]
    assert search(c, "TEXT xy") == [5]
    assert search(c, "FROM s@") == [5]
    assert search(c, "BODY q") == []
    assert search_utf8(c, "BODY", "ü") == [2, 4, 5]


def test_not_or_and_nesting(c):
    assert search(c, "NOT SEEN") == [2, 3, 4, 5]
    assert search(c, "NOT NOT SEEN") == [1]
    assert search(c, "OR FLAGGED ANSWERED") == [1, 2]
    assert search(c, "OR OR FLAGGED ANSWERED DRAFT") == [1, 2, 3]
    assert search(c, "(FLAGGED KEYWORD $Work)") == [2]
    assert search(c, "(FLAGGED) (SEEN)") == []
    assert search(c, "OR (FLAGGED KEYWORD $Work) (SEEN ANSWERED)") == [1, 2]
    assert search(c, "NOT (OR SEEN DELETED) UNFLAGGED") == [4, 5]
    assert search(c, "2:5 NOT OR 2 KEYWORD $Later") == [3, 4]
    assert search(c, "OR UID 2 (TO alice SMALLER 1000000)") == [1, 3, 4, 5]
    assert search(c, "((((SEEN))))") == [1]
    bad(c.cmd("SEARCH (SEEN"))
    bad(c.cmd("SEARCH OR SEEN"))
    bad(c.cmd("SEARCH NOT"))
    bad(c.cmd("SEARCH NOSUCHKEY"))
    bad(c.cmd("SEARCH"))


def test_charsets(c):
    # RFC 3501 6.4.4: US-ASCII and UTF-8 are supported; another charset
    # is NO [BADCHARSET] with the list of those supported.
    assert search(c, "CHARSET US-ASCII FROM alice") == [1]
    assert search(c, "CHARSET utf-8 FROM alice") == [1]
    assert search(c, "CHARSET UTF-8 ALL") == ALL
    r = no(c.cmd("SEARCH CHARSET KOI8-R FROM alice"))
    assert r.text.startswith(b"[BADCHARSET (UTF-8 US-ASCII)]") or \
        r.text.startswith(b"[BADCHARSET (US-ASCII UTF-8)]"), r
    assert r.untagged == [], r
    # A quoted UTF-8 string works as well as a literal.
    r = ok(c.cmd(b'SEARCH CHARSET UTF-8 FROM "j\xc3\xbcrgen"'))
    assert r.untagged == [b"* SEARCH 2"], r


# --------------------------------------------------------------- ESEARCH

def esearch(r):
    lines = r.starting("* ESEARCH")
    assert len(lines) == 1 and r.untagged == lines, r
    return lines[0]


def test_esearch_return_options(c):
    # RFC 4731 3.1: (TAG "tag") then the results asked for.
    r = ok(c.cmd("SEARCH RETURN (MIN MAX COUNT ALL) UNSEEN"))
    assert esearch(r) == (b'* ESEARCH (TAG "%s") MIN 2 MAX 5 COUNT 4 '
                          b"ALL 2:5" % r.tag), r
    r = ok(c.cmd("SEARCH RETURN (COUNT) ALL"))
    assert esearch(r) == b'* ESEARCH (TAG "%s") COUNT 5' % r.tag, r
    r = ok(c.cmd("SEARCH RETURN (MAX MIN) OR SEEN FLAGGED"))
    assert esearch(r) in (b'* ESEARCH (TAG "%s") MIN 1 MAX 2' % r.tag,
                          b'* ESEARCH (TAG "%s") MAX 2 MIN 1' % r.tag), r
    # RETURN () is RETURN (ALL).
    r = ok(c.cmd("SEARCH RETURN () 1,3:4"))
    assert esearch(r) in (b'* ESEARCH (TAG "%s") ALL 1,3:4' % r.tag,
                          b'* ESEARCH (TAG "%s") ALL 1,3,4' % r.tag), r
    # No match: MIN, MAX, ALL left out; COUNT 0 given (RFC 4731 3.1).
    r = ok(c.cmd("SEARCH RETURN (MIN MAX ALL COUNT) KEYWORD $Nope"))
    assert esearch(r) == b'* ESEARCH (TAG "%s") COUNT 0' % r.tag, r
    r = ok(c.cmd("SEARCH RETURN (MIN) RECENT"))
    assert esearch(r) == b'* ESEARCH (TAG "%s")' % r.tag, r
    # UID SEARCH: the UID indicator, and UIDs.
    r = ok(c.cmd("UID SEARCH RETURN (MIN MAX COUNT ALL) UNSEEN"))
    assert esearch(r) == (b'* ESEARCH (TAG "%s") UID MIN 3 MAX 6 COUNT 4 '
                          b"ALL 3:6" % r.tag), r
    # With CHARSET after RETURN.
    r = ok(c.cmd("SEARCH RETURN (COUNT) CHARSET UTF-8 FROM alice"))
    assert esearch(r) == b'* ESEARCH (TAG "%s") COUNT 1' % r.tag, r
    bad(c.cmd("SEARCH RETURN (NOSUCH) ALL"))
    bad(c.cmd("SEARCH RETURN ALL"))


def test_searchres_save(c):
    # RFC 5182 2.1: SAVE alone: no ESEARCH (and no SEARCH) response.
    r = ok(c.cmd("SEARCH RETURN (SAVE) OR FLAGGED KEYWORD $Later"))
    assert r.untagged == [], r
    # $ in FETCH, UID FETCH, SEARCH.
    f = fetches(ok(c.cmd("FETCH $ (UID)")))
    assert {s: int(v["UID"]) for s, v in f.items()} == {2: 3, 5: 6}, f
    f = fetches(ok(c.cmd("UID FETCH $ (FLAGS)")))
    assert sorted(f) == [2, 5], f
    assert search(c, "$") == [2, 5]
    assert search(c, "NOT $") == [1, 3, 4]
    assert search(c, "$ KEYWORD $Work") == [2]
    # UID SEARCH saves UIDs; $ is the same messages either way.
    r = ok(c.cmd("UID SEARCH RETURN (SAVE) SEEN"))
    assert r.untagged == [], r
    f = fetches(ok(c.cmd("FETCH $ (UID)")))
    assert {s: int(v["UID"]) for s, v in f.items()} == {1: 2}, f
    # An empty result: $ matches nothing; FETCH $ is OK and empty.
    ok(c.cmd("SEARCH RETURN (SAVE) KEYWORD $Nope"))
    r = ok(c.cmd("FETCH $ (UID)"))
    assert r.untagged == [], r
    assert search(c, "$") == []


def test_searchres_save_with_min_max_count(c):
    # RFC 5182 2.1: SAVE with MIN and/or MAX saves only those; with
    # COUNT (or ALL) every message found.
    r = ok(c.cmd("SEARCH RETURN (SAVE MIN) UNSEEN"))
    assert esearch(r) == b'* ESEARCH (TAG "%s") MIN 2' % r.tag, r
    assert search(c, "$") == [2]
    r = ok(c.cmd("SEARCH RETURN (SAVE COUNT) UNSEEN"))
    assert esearch(r) == b'* ESEARCH (TAG "%s") COUNT 4' % r.tag, r
    assert search(c, "$") == [2, 3, 4, 5]
    r = ok(c.cmd("SEARCH RETURN (MAX SAVE) UNSEEN"))
    assert esearch(r) == b'* ESEARCH (TAG "%s") MAX 5' % r.tag, r
    assert search(c, "$") == [5]
    r = ok(c.cmd("SEARCH RETURN (MIN SAVE MAX) UNSEEN"))
    assert esearch(r) == b'* ESEARCH (TAG "%s") MIN 2 MAX 5' % r.tag, r
    assert search(c, "$") == [2, 5]


def test_searchres_empty_before_save_and_reset_on_select(
        server, conns, corpus):
    c = conns.login(server, corpus[0])
    ok(c.cmd("EXAMINE INBOX"))
    # RFC 5182 2.1: $ is empty until saved, and is reset by SELECT.
    r = ok(c.cmd("FETCH $ (UID)"))
    assert r.untagged == [], r
    ok(c.cmd("SEARCH RETURN (SAVE) ALL"))
    assert search(c, "$") == ALL
    ok(c.cmd("EXAMINE INBOX"))
    assert search(c, "$") == []


def test_search_modseq(server, conns, user):
    fill(server, user, 3)
    c = conns.login(server, user)
    r = ok(c.cmd("SELECT INBOX (CONDSTORE)"))
    hms = int(resp_code(r, "HIGHESTMODSEQ"))
    r = ok(c.cmd("STORE 2 +FLAGS (\\Seen)"))
    m = int(re.search(rb"MODSEQ \((\d+)\)", r.untagged[0]).group(1))
    # RFC 7162 3.1.5: SEARCH MODSEQ n: messages with modseq >= n; the
    # response ends with the highest modseq of those found.
    r = ok(c.cmd("SEARCH MODSEQ %d" % (hms + 1)))
    assert r.untagged == [b"* SEARCH 2 (MODSEQ %d)" % m], r
    r = ok(c.cmd("UID SEARCH MODSEQ %d" % (hms + 1)))
    assert r.untagged == [b"* SEARCH 2 (MODSEQ %d)" % m], r
    r = ok(c.cmd("SEARCH MODSEQ 1"))
    assert r.untagged == [b"* SEARCH 1 2 3 (MODSEQ %d)" % m], r
    # No match: no MODSEQ part (RFC 7162 3.1.5).
    r = ok(c.cmd("SEARCH MODSEQ %d" % (m + 1)))
    assert r.untagged == [b"* SEARCH"], r
    # The entry-name form, on system flags.
    r = ok(c.cmd('SEARCH MODSEQ "/flags/\\\\Seen" all %d' % (hms + 1)))
    assert r.untagged == [b"* SEARCH 2 (MODSEQ %d)" % m], r
    # ESEARCH with MODSEQ (RFC 7162 3.1.5 / RFC 4731).
    r = ok(c.cmd("SEARCH RETURN (ALL) MODSEQ %d" % (hms + 1)))
    assert r.untagged == [b'* ESEARCH (TAG "%s") ALL 2 MODSEQ %d'
                          % (r.tag, m)], r


def test_search_in_wrong_state(server, conns, user):
    c = conns.login(server, user)
    bad(c.cmd("SEARCH ALL"))
