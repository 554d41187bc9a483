#!/usr/bin/python3
"""
fetch_dovecot.py - regenerates tests/data/mime/*.expected from Dovecot.

For every NN-name.eml in this directory (sorted by name) it APPENDs the
message byte for byte (one literal, no flags) to a scratch folder, then
asks `UID FETCH uid (ENVELOPE BODYSTRUCTURE BODY)` and writes the raw value
of each item, exactly as Dovecot sent it (quoted strings and literals
untouched), to NN-name.expected:

    ENVELOPE <value>\n
    BODYSTRUCTURE <value>\n
    BODY <value>\n

The folder is deleted at the end. Python 3 stdlib only; loopback only.

    /usr/bin/python3 tests/data/mime/fetch_dovecot.py \
        [--host 127.0.0.1] [--port 12143] [--user bench45] \
        [--password benchpass] [--folder mimecorpus] [--dir DIR] [--check]

--check compares with the existing .expected files instead of writing.
"""
import argparse
import glob
import ipaddress
import os
import re
import socket
import sys

LITERAL_END = re.compile(rb"\{(\d+)\+?\}\r\n$")


class Imap:
    def __init__(self, host, port, timeout=30):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.buf = b""
        self.tagn = 0
        greeting = self.read_response()
        if not greeting.startswith(b"* OK"):
            raise RuntimeError("bad greeting: %r" % greeting)

    def _fill(self):
        data = self.sock.recv(65536)
        if not data:
            raise RuntimeError("connection closed")
        self.buf += data

    def _line(self):
        while b"\r\n" not in self.buf:
            self._fill()
        i = self.buf.index(b"\r\n") + 2
        line, self.buf = self.buf[:i], self.buf[i:]
        return line

    def _bytes(self, n):
        while len(self.buf) < n:
            self._fill()
        data, self.buf = self.buf[:n], self.buf[n:]
        return data

    def read_response(self):
        """One response line with its literals, raw, ending in CRLF."""
        out = self._line()
        while True:
            m = LITERAL_END.search(out)
            if not m:
                return out
            out += self._bytes(int(m.group(1)))
            out += self._line()

    def command(self, cmd, literal=None):
        """Sends cmd (bytes); returns (untagged list, tagged line)."""
        self.tagn += 1
        tag = b"A%03d" % self.tagn
        if literal is not None:
            self.sock.sendall(tag + b" " + cmd + b" {%d}\r\n" % len(literal))
            resp = self.read_response()
            if not resp.startswith(b"+"):
                raise RuntimeError("literal refused: %r" % resp)
            self.sock.sendall(literal + b"\r\n")
        else:
            self.sock.sendall(tag + b" " + cmd + b"\r\n")
        untagged = []
        while True:
            resp = self.read_response()
            if resp.startswith(tag + b" "):
                return untagged, resp
            untagged.append(resp)


def quote(s):
    return b'"' + s.replace("\\", "\\\\").replace('"', '\\"').encode() + b'"'


def skip_value(buf, i):
    """Index one past the IMAP value (nil, number, atom, string, literal,
    parenthesized list) starting at buf[i]."""
    c = buf[i:i + 1]
    if c == b"(":
        i += 1
        while buf[i:i + 1] != b")":
            if buf[i:i + 1] == b" ":
                i += 1
                continue
            i = skip_value(buf, i)
        return i + 1
    if c == b'"':
        i += 1
        while buf[i:i + 1] != b'"':
            if buf[i:i + 1] == b"\\":
                i += 1
            i += 1
        return i + 1
    if c == b"{":
        j = buf.index(b"}\r\n", i)
        n = int(buf[i + 1:j].rstrip(b"+"))
        return j + 3 + n
    j = i
    while j < len(buf) and buf[j:j + 1] not in (b" ", b")", b"\r"):
        if buf[j:j + 1] == b"[":  # BODY[...] style names
            j = buf.index(b"]", j)
        j += 1
    return j


def fetch_items(resp):
    """{name: raw value} from one '* n FETCH (...)' response."""
    m = re.match(rb"\* \d+ FETCH \(", resp)
    if not m:
        return None
    i = m.end()
    items = {}
    while resp[i:i + 1] != b")":
        if resp[i:i + 1] == b" ":
            i += 1
            continue
        j = skip_value(resp, i)
        name = resp[i:j]
        k = skip_value(resp, j + 1)
        items[name.upper().decode()] = resp[j + 1:k]
        i = k
    return items


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[1])
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=12143)
    ap.add_argument("--user", default="bench45")
    ap.add_argument("--password", default="benchpass")
    ap.add_argument("--folder", default="mimecorpus")
    ap.add_argument("--dir", default=here)
    ap.add_argument("--check", action="store_true")
    args = ap.parse_args()
    if not ipaddress.ip_address(socket.gethostbyname(args.host)).is_loopback:
        sys.exit("refusing non-loopback host %s" % args.host)

    files = sorted(glob.glob(os.path.join(args.dir, "*.eml")))
    if not files:
        sys.exit("no .eml files in %s" % args.dir)
    imap = Imap(args.host, args.port)
    _, r = imap.command(b"LOGIN " + quote(args.user) + b" " + quote(args.password))
    if b" OK" not in r:
        sys.exit("LOGIN failed: %r" % r)
    folder = quote(args.folder)
    imap.command(b"DELETE " + folder)  # leftovers of an interrupted run
    _, r = imap.command(b"CREATE " + folder)
    if b" OK" not in r:
        sys.exit("CREATE failed: %r" % r)
    uids = []
    try:
        for path in files:
            with open(path, "rb") as fp:
                data = fp.read()
            _, r = imap.command(b"APPEND " + folder, literal=data)
            m = re.search(rb"\[APPENDUID \d+ (\d+)\]", r)
            if not m:
                raise RuntimeError("APPEND %s: %r" % (path, r))
            uids.append(int(m.group(1)))
        _, r = imap.command(b"SELECT " + folder)
        if b" OK" not in r:
            raise RuntimeError("SELECT failed: %r" % r)
        bad = 0
        for path, uid in zip(files, uids):
            untagged, r = imap.command(
                b"UID FETCH %d (ENVELOPE BODYSTRUCTURE BODY)" % uid)
            if b" OK" not in r:
                raise RuntimeError("FETCH %s: %r" % (path, r))
            items = {}
            for u in untagged:
                got = fetch_items(u)
                if got and got.get("UID") == b"%d" % uid:
                    items = got
            out = b"".join(name.encode() + b" " + items[name] + b"\n"
                           for name in ("ENVELOPE", "BODYSTRUCTURE", "BODY"))
            exp = path[:-4] + ".expected"
            if args.check:
                try:
                    with open(exp, "rb") as fp:
                        old = fp.read()
                except OSError:
                    old = None
                if old != out:
                    bad += 1
                    print("DIFFERS: %s" % os.path.basename(exp))
            else:
                with open(exp, "wb") as fp:
                    fp.write(out)
        print("%d messages, %s" % (len(files),
              ("%d differ" % bad) if args.check else "written"))
    finally:
        imap.command(b"CLOSE")
        imap.command(b"DELETE " + folder)
        imap.command(b"LOGOUT")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
