"""Outbound delivery (issue 7): two letterboxd on 127.0.0.1 and 127.0.0.2
and a real DNS server (dnsmasq) for the test domains.

A ("a.test", users alice and carol) sends over its submission port; its
delivery agent looks up MX records at the dnsmasq started here and
delivers to B ("b.test", user bob), whose SMTP listens on 127.0.0.2 at the
port A is told to use. Everything binds loopback addresses only, and every
process is stopped by PID."""
import email
import email.policy
import imaplib
import os
import shutil
import signal
import smtplib
import socket
import subprocess
import threading
import time

import pytest

import conftest

DNSMASQ = "/usr/sbin/dnsmasq"
B_ADDR = "127.0.0.2"
SLOW_ADDR = "127.0.0.3"
BAD_ADDR = "127.0.0.4"
TLSBAD_ADDR = "127.0.0.5"

pytestmark = pytest.mark.skipif(not os.access(DNSMASQ, os.X_OK),
                                reason="dnsmasq is not installed")


def free_port_on(*addrs):
    """A port free for TCP on every one of addrs (and UDP on the first)."""
    for _ in range(50):
        s = socket.socket()
        s.bind((addrs[0], 0))
        port = s.getsockname()[1]
        socks = [s]
        try:
            for a in addrs[1:]:
                t = socket.socket()
                socks.append(t)
                t.bind((a, port))
            u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            socks.append(u)
            u.bind((addrs[0], port))
            return port
        except OSError:
            continue
        finally:
            for x in socks:
                x.close()
    raise AssertionError("no free port")


class Dns:
    """dnsmasq on 127.0.0.1:port answering for *.test only."""

    def __init__(self, tmp_path, records):
        self.port = free_port_on("127.0.0.1")
        self.log_path = str(tmp_path / "dnsmasq.log")
        cmd = [DNSMASQ, "--keep-in-foreground", "--no-resolv", "--no-hosts",
               "--conf-file=/dev/null", "--port=%d" % self.port,
               "--listen-address=127.0.0.1", "--bind-interfaces",
               "--pid-file=", "--log-facility=-", "--local=/test/"]
        if os.geteuid() == 0:
            cmd.append("--user=root")
        cmd += records
        self.log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(cmd, stdout=self.log,
                                     stderr=subprocess.STDOUT,
                                     start_new_session=True)
        deadline = time.time() + 10
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError("dnsmasq exited: " + self.read_log())
            try:
                socket.create_connection(("127.0.0.1", self.port),
                                         timeout=1).close()
                return
            except OSError:
                time.sleep(0.05)
        raise AssertionError("dnsmasq did not start")

    def read_log(self):
        self.log.flush()
        with open(self.log_path, "rb") as f:
            return f.read().decode(errors="replace")

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


class World:
    """The DNS server, the sender A, and B's address and port."""

    def __init__(self, tmp_path):
        self.tmp_path = tmp_path
        self.b_port = free_port_on(B_ADDR, SLOW_ADDR, BAD_ADDR, TLSBAD_ADDR,
                                   "127.0.0.1")
        self.dns = Dns(tmp_path, [
            "--mx-host=b.test,mx.b.test,10",
            "--mx-host=b.test,mx-backup.b.test,20",
            "--host-record=mx.b.test,%s" % B_ADDR,
            # The backup MX has no address: skipped.
            "--mx-host=slow.test,mx.slow.test,10",
            "--host-record=mx.slow.test,%s" % SLOW_ADDR,
            "--mx-host=bad.test,mx.bad.test,10",
            "--host-record=mx.bad.test,%s" % BAD_ADDR,
            # No MX: the domain's own address (RFC 5321 5.1).
            "--host-record=nomx.test,%s" % B_ADDR,
            "--mx-host=tlsbad.test,mx.tlsbad.test,10",
            "--host-record=mx.tlsbad.test,%s" % TLSBAD_ADDR,
            # Only IPv6.
            "--mx-host=v6.test,mx.v6.test,10",
            "--host-record=mx.v6.test,::1",
            # Null MX (RFC 7505): preference 0, the root as exchange.
            "--dns-rr=null.test,15,000000",
        ])
        self.daemons = []
        self.a = None
        self.b = None

    def outbound(self, extra=""):
        keys = {"dns": "127.0.0.1:%d" % self.dns.port,
                "port": str(self.b_port), "retry_min": "1s",
                "retry_max": "2s", "connect_timeout": "5s"}
        for line in extra.splitlines():
            k, v = line.split("=", 1)
            keys[k.strip()] = v.strip()
        return "[outbound]\n" + "".join("%s = %s\n" % kv
                                        for kv in keys.items())

    def start_a(self, extra=""):
        path = self.tmp_path / "a"
        path.mkdir(exist_ok=True)
        self.a = conftest.Daemon(path, extra_config=self.outbound(extra),
                                 hostname="mail.a.test")
        self.daemons.append(self.a)
        return self.a

    def start_b(self, extra="", hostname="mx.b.test", ipv6=False):
        path = self.tmp_path / "b"
        path.mkdir(exist_ok=True)
        listen = "%s:%d, 127.0.0.1:%d" % (B_ADDR, self.b_port, self.b_port)
        if ipv6:
            listen += ", [::1]:%d" % self.b_port
        self.b = conftest.Daemon(
            path, hostname=hostname, listen={"smtp": listen},
            extra_config="[outbound]\nenabled = no\n" + extra)
        self.daemons.append(self.b)
        return self.b

    def stop(self):
        for d in self.daemons:
            if not d.log.closed:
                d.stop()
        self.dns.stop()


@pytest.fixture
def world(tmp_path):
    w = World(tmp_path)
    yield w
    w.stop()


def users_a(a):
    a.lb.add_user("alice@a.test")
    a.lb.add_user("carol@a.test")


def users_b(b):
    b.lb.add_user("bob@b.test")


def message(subject="Hello", frm="alice@a.test", to="bob@b.test",
            body="Hi Bob,\r\n.leading dot\r\nbye\r\n"):
    return ("From: Alice <%s>\r\nTo: %s\r\nSubject: %s\r\n"
            "Date: Sun, 29 Nov 2026 23:00:00 +0000\r\n"
            "Message-ID: <%s.%f@a.test>\r\nMIME-Version: 1.0\r\n"
            "Content-Type: text/plain; charset=utf-8\r\n\r\n%s"
            % (frm, to, subject, subject.replace(" ", "-"), time.time(),
               body))


def submit(a, rcpts, msg=None, sender="alice@a.test", user="alice@a.test"):
    with smtplib.SMTP("127.0.0.1", a.ports["submission"], timeout=30) as s:
        s.login(user, "secret")
        refused = s.sendmail(sender, rcpts, (msg or message()).encode())
        assert refused == {}


def inbox(d, user, timeout=20, count=1, mailbox="INBOX"):
    """The messages of user's mailbox over IMAP, once there are count."""
    deadline = time.time() + timeout
    while True:
        with imaplib.IMAP4("127.0.0.1", d.ports["imap"]) as c:
            c.login(user, "secret")
            c.select(mailbox)
            typ, data = c.search(None, "ALL")
            nums = data[0].split()
            if len(nums) >= count or time.time() > deadline:
                msgs = []
                for n in nums:
                    typ, data = c.fetch(n, "(BODY.PEEK[])")
                    msgs.append(data[0][1])
                return msgs
        time.sleep(0.2)


def queue_rows(a):
    out = a.lb.out("queue", "list")
    return [line for line in out.splitlines()[1:] if line.strip()]


def wait_for(cond, timeout=20, what="condition"):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if cond():
            return
        time.sleep(0.2)
    raise AssertionError("timed out waiting for " + what)


def parse(raw):
    return email.message_from_bytes(raw, policy=email.policy.default)


def delivery_status(dsn):
    """The recipient blocks of a DSN's message/delivery-status part."""
    assert dsn.get_content_type() == "multipart/report"
    assert dsn.get_param("report-type") == "delivery-status"
    parts = list(dsn.iter_parts())
    assert len(parts) == 3
    assert parts[1].get_content_type() == "message/delivery-status"
    text = parts[1].as_bytes().decode()
    return text


# ---- Delivery ---------------------------------------------------------------

def test_delivery_to_mx_and_local_at_once(world):
    b = world.start_b()
    users_b(b)
    a = world.start_a()
    users_a(a)
    submit(a, ["bob@b.test", "carol@a.test"])
    # The local recipient has it at once, with a Return-Path.
    local = inbox(a, "carol@a.test", timeout=1)
    assert len(local) == 1 and local[0].startswith(b"Return-Path: ")
    got = inbox(b, "bob@b.test")
    assert len(got) == 1
    m = parse(got[0])
    assert m["Subject"] == "Hello"
    assert m["Return-Path"] == "<alice@a.test>"
    # B's trace names A's EHLO; A's own Received line travelled too.
    received = m.get_all("Received")
    assert any("mail.a.test" in r and "by mx.b.test" in r for r in received)
    assert any("by mail.a.test" in r for r in received)
    # Dot-stuffed on the wire, unstuffed at the end.
    assert b"\r\n.leading dot\r\n" in got[0]
    # Opportunistic STARTTLS was used (B offers it).
    assert "using TLSv1." in received[0]
    wait_for(lambda: queue_rows(a) == [], what="an empty queue")
    assert "result=delivered" in a.read_log()


def test_several_messages_share_a_connection(world):
    a = world.start_a("per_domain = 1\nretry_min = 1h\nretry_max = 2h\n")
    users_a(a)
    for i in range(5):
        submit(a, ["bob@b.test"], message(subject="n%d" % i))
    wait_for(lambda: a.read_log().count("result=deferred") == 5,
             what="the first attempts")
    b = world.start_b()
    users_b(b)
    before = a.read_log().count("relay: connected to")
    a.lb.run("queue", "flush")
    assert len(inbox(b, "bob@b.test", count=5)) == 5
    # One thread for the domain: one connection carried all five.
    assert a.read_log().count("relay: connected to") - before == 1
    assert b.read_log().count("result=250 delivered") == 5


def test_no_mx_uses_the_domain_address(world):
    b = world.start_b()
    b.lb.add_user("dave@nomx.test")
    a = world.start_a()
    users_a(a)
    submit(a, ["dave@nomx.test"], message(to="dave@nomx.test"))
    assert len(inbox(b, "dave@nomx.test")) == 1


def test_ipv6_only_mx(world):
    try:
        probe = socket.socket(socket.AF_INET6)
        probe.bind(("::1", world.b_port))
        probe.close()
    except OSError:
        pytest.skip("no IPv6 loopback here")
    b = world.start_b(ipv6=True)
    b.lb.add_user("eve@v6.test")
    a = world.start_a()
    users_a(a)
    submit(a, ["eve@v6.test"], message(to="eve@v6.test"))
    assert len(inbox(b, "eve@v6.test")) == 1
    assert "client=[::1]" in b.read_log()
    assert "relay: connected to mx.v6.test [::1]" in a.read_log()


def test_receiver_down_then_up(world):
    a = world.start_a()
    users_a(a)
    submit(a, ["bob@b.test"])
    # Nobody listens on 127.0.0.2 yet: deferred, with the reason.
    wait_for(lambda: "deferred" in a.read_log(), what="a deferral")
    rows = queue_rows(a)
    assert len(rows) == 1 and "pending" in rows[0]
    assert "refused" in rows[0].lower()
    b = world.start_b()
    users_b(b)
    # retry_min = 1s: the next attempt finds B.
    assert len(inbox(b, "bob@b.test")) == 1
    wait_for(lambda: queue_rows(a) == [], what="an empty queue")


def test_5xx_bounces_to_the_sender_over_imap(world):
    b = world.start_b()
    users_b(b)
    a = world.start_a()
    users_a(a)
    submit(a, ["bob@b.test", "nosuch@b.test"],
           message(to="bob@b.test, nosuch@b.test"))
    assert len(inbox(b, "bob@b.test")) == 1
    bounces = inbox(a, "alice@a.test")
    assert len(bounces) == 1
    dsn = parse(bounces[0])
    assert dsn["Return-Path"] == "<>"
    assert "MAILER-DAEMON@mail.a.test" in dsn["From"]
    assert dsn["Auto-Submitted"] == "auto-replied"
    status = delivery_status(dsn)
    assert "Final-Recipient: rfc822; nosuch@b.test" in status
    assert "bob@b.test" not in status
    assert "Action: failed" in status
    assert "Status: 5.1.1" in status
    assert "Remote-MTA: dns; mx.b.test" in status
    assert "Diagnostic-Code: smtp; 550 5.1.1" in status
    headers = list(dsn.iter_parts())[2]
    assert headers.get_content_type() == "text/rfc822-headers"
    assert "Subject: Hello" in headers.as_bytes().decode()
    wait_for(lambda: queue_rows(a) == [], what="an empty queue")


def test_null_mx_bounces_at_once(world):
    a = world.start_a()
    users_a(a)
    submit(a, ["x@null.test"], message(to="x@null.test"))
    dsn = parse(inbox(a, "alice@a.test")[0])
    status = delivery_status(dsn)
    assert "Final-Recipient: rfc822; x@null.test" in status
    assert "Status: 5.1.10" in status
    # One attempt, no retry.
    assert a.read_log().count("to=<x@null.test> host=") == 1


def test_unknown_domain_bounces(world):
    a = world.start_a()
    users_a(a)
    submit(a, ["x@nowhere.test"], message(to="x@nowhere.test"))
    status = delivery_status(parse(inbox(a, "alice@a.test")[0]))
    assert "Status: 5.1.2" in status


def test_delay_notice_then_expiry(world):
    a = world.start_a("delay_notice = 1s\nlifetime = 6s\n")
    users_a(a)
    submit(a, ["bob@b.test"])
    msgs = inbox(a, "alice@a.test", count=2, timeout=30)
    assert len(msgs) == 2
    delayed, failed = parse(msgs[0]), parse(msgs[1])
    assert "Action: delayed" in delivery_status(delayed)
    assert "Will-Retry-Until:" in delivery_status(delayed)
    status = delivery_status(failed)
    assert "Action: failed" in status and "Status: 4.4.7" in status
    wait_for(lambda: queue_rows(a) == [], what="an empty queue")


def test_slow_host_does_not_block_others(world):
    # mx.slow.test accepts connections and never says a word.
    slow = socket.socket()
    slow.bind((SLOW_ADDR, world.b_port))
    slow.listen(16)
    try:
        b = world.start_b()
        users_b(b)
        a = world.start_a()
        users_a(a)
        submit(a, ["x@slow.test"], message(to="x@slow.test"))
        time.sleep(0.5)
        t0 = time.time()
        submit(a, ["bob@b.test"])
        assert len(inbox(b, "bob@b.test")) == 1
        assert time.time() - t0 < 10
        rows = queue_rows(a)
        assert len(rows) == 1 and "x@slow.test" in rows[0]
    finally:
        slow.close()


def relay_pid(d):
    """The pid of d's delivery agent: the child holding relay.sock."""
    sock = os.path.join(d.lb.data_dir, "relay.sock")
    inode = None
    for line in open("/proc/net/unix"):
        if line.rstrip().endswith(sock):
            inode = line.split()[6]
    kids = open("/proc/%d/task/%d/children" % (d.proc.pid, d.proc.pid))
    for pid in kids.read().split():
        try:
            for fd in os.listdir("/proc/%s/fd" % pid):
                if os.readlink("/proc/%s/fd/%s" % (pid, fd)) == \
                        "socket:[%s]" % inode:
                    return int(pid)
        except OSError:
            pass
    return None


def test_killed_agent_lease_is_taken_back(world):
    # The agent is killed while it holds a message (talking to a host
    # that never answers); its successor takes the lease back and tries
    # again, instead of leaving the message stuck.
    slow = socket.socket()
    slow.bind((SLOW_ADDR, world.b_port))
    slow.listen(16)
    slow.settimeout(15)
    try:
        a = world.start_a()
        users_a(a)
        submit(a, ["x@slow.test"], message(to="x@slow.test"))
        first, _ = slow.accept()
        pid = relay_pid(a)
        assert pid is not None
        os.kill(pid, signal.SIGKILL)
        # The master restarts the agent after 1 s; it connects again.
        again, _ = slow.accept()
        again.close()
        first.close()
        assert "relay worker %d killed by signal 9" % pid in a.read_log()
        rows = queue_rows(a)
        assert len(rows) == 1 and "x@slow.test" in rows[0]
    finally:
        slow.close()


def test_malformed_answer_is_temporary(world):
    stop = threading.Event()
    srv = socket.socket()
    srv.bind((BAD_ADDR, world.b_port))
    srv.listen(16)
    srv.settimeout(0.2)

    def serve():
        while not stop.is_set():
            try:
                c, _ = srv.accept()
            except OSError:
                continue
            c.sendall(b"hello there, I am not SMTP\r\n")
            c.close()

    t = threading.Thread(target=serve)
    t.start()
    try:
        a = world.start_a()
        users_a(a)
        submit(a, ["x@bad.test"], message(to="x@bad.test"))
        wait_for(lambda: "result=deferred" in a.read_log(),
                 what="an attempt")
        rows = queue_rows(a)
        assert len(rows) == 1 and "pending" in rows[0]
        assert "result=deferred" in a.read_log()
    finally:
        stop.set()
        t.join()
        srv.close()


class FakeMx(threading.Thread):
    """A minimal SMTP server whose STARTTLS handshake always fails (it
    says 220, then closes); without STARTTLS it takes the mail."""

    def __init__(self, addr, port):
        super().__init__(daemon=True)
        self.srv = socket.socket()
        self.srv.bind((addr, port))
        self.srv.listen(8)
        self.srv.settimeout(0.2)
        self.stopped = threading.Event()
        self.starttls_tries = 0
        self.messages = []

    def run(self):
        while not self.stopped.is_set():
            try:
                c, _ = self.srv.accept()
            except OSError:
                continue
            try:
                self.session(c)
            except OSError:
                pass
            finally:
                c.close()

    def session(self, c):
        c.settimeout(10)
        f = c.makefile("rb")
        c.sendall(b"220 fake.test ESMTP\r\n")
        data = None
        while True:
            line = f.readline()
            if not line:
                return
            cmd = line.strip().upper()
            if data is not None:
                if line == b".\r\n":
                    self.messages.append(b"".join(data))
                    data = None
                    c.sendall(b"250 2.0.0 taken\r\n")
                else:
                    data.append(line)
            elif cmd.startswith(b"EHLO"):
                c.sendall(b"250-fake.test\r\n250-STARTTLS\r\n"
                          b"250 8BITMIME\r\n")
            elif cmd == b"STARTTLS":
                self.starttls_tries += 1
                c.sendall(b"220 2.0.0 go ahead\r\n")
                return
            elif cmd == b"DATA":
                data = []
                c.sendall(b"354 go\r\n")
            elif cmd == b"QUIT":
                c.sendall(b"221 bye\r\n")
                return
            else:
                c.sendall(b"250 2.0.0 ok\r\n")

    def stop(self):
        self.stopped.set()
        self.join()
        self.srv.close()


def test_failed_opportunistic_tls_falls_back_to_clear(world):
    mx = FakeMx(TLSBAD_ADDR, world.b_port)
    mx.start()
    try:
        a = world.start_a()
        users_a(a)
        submit(a, ["x@tlsbad.test"], message(to="x@tlsbad.test"))
        wait_for(lambda: len(mx.messages) == 1, what="the fallback")
        assert mx.starttls_tries >= 1
        assert b"Subject: Hello" in mx.messages[0]
        assert "trying without TLS" in a.read_log()
        wait_for(lambda: queue_rows(a) == [], what="an empty queue")
    finally:
        mx.stop()


# ---- Smarthost ---------------------------------------------------------------

def smarthost(world, name):
    """B with its submission port on 127.0.0.2 (and 127.0.0.1)."""
    port = free_port_on(B_ADDR, "127.0.0.1")
    path = world.tmp_path / name
    path.mkdir()
    b = conftest.Daemon(
        path, hostname="mx.b.test",
        listen={"submission": "%s:%d, 127.0.0.1:%d" % (B_ADDR, port, port)},
        extra_config="[outbound]\nenabled = no\n")
    b.submission_port = port
    world.daemons.append(b)
    return b


def test_smarthost_with_auth_and_verified_tls(world):
    # B is the smarthost: its submission port, STARTTLS with B's
    # certificate (made for mx.b.test), AUTH as relay@b.test. B hosts a.test
    # too, so that alice@a.test is relay@b.test's address there.
    b = smarthost(world, "b")
    users_b(b)
    b.lb.add_user("relay@b.test", password="relaypass")
    b.lb.run("domain", "add", "a.test")
    b.lb.run("alias", "add", "alice@a.test", "relay@b.test")
    cert = os.path.join(b.lb.data_dir, "tls-cert.pem")
    a = world.start_a("relay = mx.b.test:%d\nrelay_user = relay@b.test\n"
                      "relay_password = relaypass\nrelay_ca = %s\n"
                      % (b.submission_port, cert))
    users_a(a)
    submit(a, ["bob@b.test"])
    got = inbox(b, "bob@b.test")
    assert len(got) == 1
    assert "auth=relay@b.test" in b.read_log()
    received = parse(got[0]).get_all("Received")
    assert "ESMTPSA" in received[0]


def test_smarthost_with_wrong_ca_is_not_used(world, tmp_path):
    b = smarthost(world, "b")
    users_b(b)
    b.lb.add_user("relay@b.test", password="relaypass")
    # A trusts a CA that did not sign B's certificate: no AUTH, no mail.
    other = world.tmp_path / "other"
    other.mkdir()
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:P-256", "-nodes", "-subj",
                    "/CN=mx.b.test", "-keyout", str(other / "k.pem"),
                    "-out", str(other / "c.pem"), "-days", "1"],
                   check=True, capture_output=True)
    a = world.start_a("relay = mx.b.test:%d\nrelay_user = relay@b.test\n"
                      "relay_password = relaypass\nrelay_ca = %s\n"
                      % (b.submission_port, other / "c.pem"))
    users_a(a)
    submit(a, ["bob@b.test"])
    wait_for(lambda: "result=deferred" in a.read_log(), what="a deferral")
    assert "auth=relay@b.test" not in b.read_log()
    assert len(queue_rows(a)) == 1


# ---- DKIM ---------------------------------------------------------------------

def test_dkim_signatures_verify_at_the_receiver(world):
    dkim = pytest.importorskip("dkim")
    b = world.start_b()
    users_b(b)
    a = world.start_a()
    users_a(a)
    out = a.lb.out("dkim", "generate", "a.test")
    records = {}
    for line in out.splitlines():
        if "._domainkey." not in line:
            continue
        name, rest = line.split(None, 1)
        value = "".join(part for part in rest.split('"')[1::2])
        records[name.rstrip(".").lower()] = value.encode()
    assert len(records) == 2
    assert any(b"k=ed25519" in v for v in records.values())
    assert any(b"k=rsa" in v for v in records.values())

    def dnsfunc(name, timeout=5):
        return records.get(name.decode().rstrip(".").lower(), b"")

    submit(a, ["bob@b.test"], message(body="Line one\r\n\r\nLast\r\n\r\n"))
    raw = inbox(b, "bob@b.test")[0]
    d = dkim.DKIM(raw)
    sigs = [h for h in d.headers if h[0].lower() == b"dkim-signature"]
    assert len(sigs) == 2
    for i in range(2):
        assert d.verify(idx=i, dnsfunc=dnsfunc), "signature %d" % i
    # A changed body no longer verifies.
    tampered = raw.replace(b"Line one", b"Line 1")
    for i in range(2):
        try:
            ok = dkim.DKIM(tampered).verify(idx=i, dnsfunc=dnsfunc)
        except dkim.ValidationError as e:
            ok = False
            assert "body hash mismatch" in str(e)
        assert not ok


# ---- Submission policy ------------------------------------------------------

def test_sender_must_be_the_users(world):
    a = world.start_a()
    users_a(a)
    a.lb.run("alias", "add", "sales@a.test", "alice@a.test")
    with smtplib.SMTP("127.0.0.1", a.ports["submission"], timeout=30) as s:
        s.login("alice@a.test", "secret")
        code, text = s.mail("carol@a.test")
        assert code == 553 and text.startswith(b"5.7.1")
        s.rset()
        code, text = s.mail("")
        assert code == 553
        s.rset()
        # An alias of the user is hers to use.
        assert s.mail("sales@a.test")[0] == 250
        assert s.rcpt("bob@b.test")[0] == 250
        code, text = s.data(message(frm="carol@a.test").encode())
        assert code == 553 and text.startswith(b"5.7.1")
        assert b"From: address" in text
        s.rset()
        assert s.mail("alice@a.test")[0] == 250
        assert s.rcpt("bob@b.test")[0] == 250
        assert s.data(message(frm="sales@a.test").encode())[0] == 250
    assert len(queue_rows(a)) == 1


def test_idn_remote_domain_refused_at_rcpt(world):
    a = world.start_a()
    users_a(a)
    with smtplib.SMTP("127.0.0.1", a.ports["submission"], timeout=30) as s:
        s.login("alice@a.test", "secret")
        s.command_encoding = "utf-8"
        assert s.mail("alice@a.test", ["SMTPUTF8"])[0] == 250
        code, text = s.rcpt("x@b\u00fccher.test")
        assert code == 553 and text.startswith(b"5.6.7")
        # A UTF-8 local part at an ASCII domain is queued.
        assert s.rcpt("j\u00f6rg@b.test")[0] == 250
    assert queue_rows(a) == []


# ---- Durability and the admin tool --------------------------------------------

def test_restart_with_a_full_queue_loses_nothing(world):
    a = world.start_a("retry_min = 1h\nretry_max = 2h\n")
    users_a(a)
    n = 20
    for i in range(n):
        submit(a, ["bob@b.test"], message(subject="m%02d" % i))
    wait_for(lambda: a.read_log().count("result=deferred") >= n,
             what="every first attempt")
    assert len(queue_rows(a)) == n
    a.stop()
    a2 = conftest.Daemon(world.tmp_path / "a", hostname="mail.a.test",
                         extra_config=world.outbound(
                             "retry_min = 1h\nretry_max = 2h\n"))
    world.daemons.append(a2)
    assert len(queue_rows(a2)) == n
    b = world.start_b()
    users_b(b)
    a2.lb.run("queue", "flush")
    got = inbox(b, "bob@b.test", count=n, timeout=60)
    subjects = sorted(parse(m)["Subject"] for m in got)
    assert subjects == ["m%02d" % i for i in range(n)]
    wait_for(lambda: queue_rows(a2) == [], what="an empty queue")
    time.sleep(1)
    assert len(inbox(b, "bob@b.test", timeout=0)) == n


def test_queue_admin_commands(world):
    a = world.start_a("retry_min = 1h\nretry_max = 2h\n")
    users_a(a)
    submit(a, ["bob@b.test"], message(subject="one"))
    submit(a, ["bob@b.test"], message(subject="two"))
    wait_for(lambda: a.read_log().count("result=deferred") >= 2,
             what="first attempts")
    rows = queue_rows(a)
    assert len(rows) == 2
    ids = [r.split()[0] for r in rows]
    show = a.lb.out("queue", "show", ids[0])
    assert "recipient: <bob@b.test> state=pending tries=1" in show
    assert "Subject: one" in show
    assert "Return-Path" not in show
    a.lb.run("queue", "delete", ids[0])
    assert len(queue_rows(a)) == 1
    bad = a.lb.run("queue", "show", ids[0], check=False)
    assert bad.returncode == 1 and b"not in the queue" in bad.stderr
    b = world.start_b()
    users_b(b)
    a.lb.run("queue", "retry", ids[1])
    got = inbox(b, "bob@b.test")
    assert len(got) == 1 and parse(got[0])["Subject"] == "two"
    wait_for(lambda: queue_rows(a) == [], what="an empty queue")
    assert a.lb.run("queue", "retry", "zz", check=False).returncode == 1


def test_sandbox_never_sends(tmp_path):
    d = conftest.Daemon(tmp_path, sandbox=True)
    try:
        time.sleep(0.5)
        assert "relay: delivering" not in d.read_log()
    finally:
        d.stop()
