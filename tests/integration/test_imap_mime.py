"""ENVELOPE, BODYSTRUCTURE and BODY over the wire against Dovecot's
answers: every tests/data/mime/NN-name.eml is APPENDed byte for byte (one
literal, no flags, no date, as fetch_dovecot.py did with Dovecot) and
`FETCH 1 (ENVELOPE BODYSTRUCTURE BODY)` must give the bytes of
NN-name.expected, item for item (tests/data/mime/README.md).

tests/unit/test_mime_corpus.c checks mime_parse() against the same files;
this checks what reaches the client after the store and the response
writer: quoted strings and literals as Dovecot sent them, nothing
re-encoded on the way. A file/item listed in KNOWN_DIFFERENCES[] of that
unit test (with its RFC reason) may differ here too; it is reported, not
failed.

Each file gets its own mailbox ("mime/NN-name") of one user, so the
message is always 1 and a failure names the file.
"""
import glob
import os
import re

import pytest

import conftest
from test_imap import (Imap, Lit, fetch_items, new_user, ok,
                       parse, q, skip_value)

CORPUS = os.path.join(conftest.ROOT, "tests", "data", "mime")
FILES = sorted(glob.glob(os.path.join(CORPUS, "*.eml")))
ITEMS = ("ENVELOPE", "BODYSTRUCTURE", "BODY")


def parse_expected(data):
    """{item: raw value} of a .expected file: "NAME value\\n" records,
    a value possibly spanning lines through literals (README.md)."""
    out = {}
    i = 0
    while i < len(data):
        j = data.index(b" ", i)
        name = data[i:j].decode()
        k = skip_value(data, j + 1)
        assert data[k:k + 1] == b"\n", (name, data[k:k + 40])
        assert name not in out, name
        out[name] = data[j + 1:k]
        i = k + 1
    return out


def known_differences():
    """{(file, item or None): reason} from the unit test's
    KNOWN_DIFFERENCES[] table."""
    path = os.path.join(conftest.ROOT, "tests", "unit", "test_mime_corpus.c")
    with open(path) as f:
        src = f.read()
    m = re.search(r"KNOWN_DIFFERENCES\[\]\s*=\s*\{(.*?)\n\};", src, re.S)
    out = {}
    if not m:
        return out
    for e in re.finditer(r'\{\s*"([^"]+)"\s*,\s*(NULL|"([^"]*)")\s*,\s*'
                         r'((?:"(?:[^"\\]|\\.)*"\s*)+)\}', m.group(1)):
        reason = "".join(re.findall(r'"((?:[^"\\]|\\.)*)"', e.group(4)))
        out[(e.group(1), e.group(3))] = reason
    return out


KNOWN = known_differences()


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    d = conftest.Daemon(tmp_path_factory.mktemp("imapd-mime"))
    yield d
    d.stop()


@pytest.fixture(scope="module")
def mime_user(server):
    return new_user(server)


def test_corpus_is_there():
    # The bar: at least 30 messages, each with its answers.
    assert len(FILES) >= 30, FILES
    for f in FILES:
        assert os.path.exists(f[:-len(".eml")] + ".expected"), f


@pytest.mark.parametrize("path", FILES,
                         ids=[os.path.basename(f)[:-4] for f in FILES])
def test_fetch_matches_dovecot(server, mime_user, path):
    name = os.path.basename(path)
    with open(path, "rb") as f:
        eml = f.read()
    with open(path[:-len(".eml")] + ".expected", "rb") as f:
        expected = parse_expected(f.read())
    assert set(expected) == set(ITEMS), expected.keys()

    c = Imap(server.ports["imap"])
    try:
        ok(c.login(mime_user))
        box = "mime/" + name[:-len(".eml")]
        ok(c.cmd("CREATE ", q(box)))
        r = ok(c.cmd("APPEND ", q(box), " ", Lit(eml)))
        assert len(r.continuations) == 1, r
        r = ok(c.cmd("EXAMINE ", q(box)))
        assert b"* 1 EXISTS" in r.untagged, r
        # The message comes back as sent (or, for bare LF, with CRLF
        # line ends: RFC 3501 2.3.4 RFC822.SIZE counts the message "as
        # expressed in RFC 2822 format"), and its size is BODY[]'s.
        r = ok(c.cmd("FETCH 1 (RFC822.SIZE BODY.PEEK[])"))
        got = {}
        for u in r.untagged:
            f = fetch_items(u)
            if f:
                got.update(f[1])
        body = parse(got["BODY[]"])
        assert body in (eml, re.sub(rb"(?<!\r)\n", b"\r\n", eml)), \
            body[:200]
        assert int(got["RFC822.SIZE"]) == len(body), got["RFC822.SIZE"]

        r = ok(c.cmd("FETCH 1 (ENVELOPE BODYSTRUCTURE BODY)"))
        got = {}
        for u in r.untagged:
            f = fetch_items(u)
            if f:
                assert f[0] == 1, u[:200]
                got.update(f[1])
        ok(c.cmd("LOGOUT"))
    finally:
        c.close()

    differ = []
    for item in ITEMS:
        assert item in got, (item, got.keys())
        if got[item] == expected[item]:
            continue
        reason = KNOWN.get((name, item)) or KNOWN.get((name, None))
        at = next((i for i, (a, b) in enumerate(zip(got[item],
                                                    expected[item]))
                   if a != b), min(len(got[item]), len(expected[item])))
        if reason:
            print("KNOWN %s %s (%s): differs at byte %d" % (
                name, item, reason, at))
            continue
        differ.append("%s differs at byte %d:\n  expected %r\n  got      %r"
                      % (item, at, expected[item][max(0, at - 60):at + 60],
                         got[item][max(0, at - 60):at + 60]))
    assert not differ, "\n".join(differ)
