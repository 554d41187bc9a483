"""Fixtures for the integration tests: the built programs, and a fresh
data directory with a config per test. Nothing here touches the machine's
own configuration or fixed ports."""
import os
import subprocess

import pytest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BUILDDIR = os.environ.get("LETTERBOX_BUILDDIR", ROOT)


def program(name):
    path = os.path.join(BUILDDIR, name)
    if not os.access(path, os.X_OK):
        pytest.fail("%s is not built (run make first)" % path)
    return path


class Letterbox:
    """Runs the letterbox admin tool against one temporary data dir."""

    def __init__(self, tmp_path, hostname="test.invalid", top_config=""):
        self.data_dir = str(tmp_path / "data")
        self.config = str(tmp_path / "letterbox.conf")
        with open(self.config, "w") as f:
            # The cheapest argon2id limits libsodium allows: tests hash
            # many passwords and are not measuring security.
            # top_config: more top-level keys, before any [section].
            f.write("data_dir = %s\nhostname = %s\n%s\n"
                    "[auth]\nhash_opslimit = 1\nhash_memlimit = 8K\n"
                    % (self.data_dir, hostname, top_config))
        self.bin = program("letterbox")

    def run(self, *args, input=None, check=True, config=True):
        cmd = [self.bin]
        if config:
            cmd += ["--config", self.config]
        cmd += list(args)
        if isinstance(input, str):
            input = input.encode()
        proc = subprocess.run(cmd, input=input, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, timeout=120)
        if check and proc.returncode != 0:
            raise AssertionError("%s exited %d: %s" % (
                " ".join(args), proc.returncode,
                proc.stderr.decode(errors="replace")))
        return proc

    def out(self, *args, **kw):
        return self.run(*args, **kw).stdout.decode()

    def add_user(self, address, password="secret", quota=None):
        domain = address.rsplit("@", 1)[1]
        if domain not in self.out("domain", "list").split():
            self.run("domain", "add", domain)
        args = ["user", "add", address, "--password-stdin"]
        if quota is not None:
            args += ["--quota", str(quota)]
        self.run(*args, input=password + "\n")

    @property
    def db_path(self):
        return os.path.join(self.data_dir, "letterbox.db")


@pytest.fixture
def lb(tmp_path):
    return Letterbox(tmp_path)


def free_port():
    """A port on 127.0.0.1 nobody listens on right now."""
    import socket
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Daemon:
    """A running letterboxd on free loopback ports with its own data
    directory; stopped (by PID) when the test ends."""

    SERVICES = ("smtp", "submission", "submissions", "pop3", "pop3s",
                "imap", "imaps")

    def __init__(self, tmp_path, extra_config="", sandbox=False,
                 top_config="", hostname="mail.test", listen=None):
        # listen: {service: "ADDR:PORT[, ...]"} instead of a free port
        # on 127.0.0.1 (the outbound tests put SMTP on 127.0.0.2).
        self.listen = listen or {}
        self.lb = Letterbox(tmp_path, hostname=hostname,
                            top_config=top_config)
        self.base_config = open(self.lb.config).read()
        self.log_path = str(tmp_path / "letterboxd.log")
        self.stdout_path = str(tmp_path / "letterboxd.out")
        # A free port can be taken by someone else before letterboxd
        # binds it (free_port() closes its probe): try other ports then.
        for attempt in range(3):
            if self._start(extra_config, sandbox):
                return
            if "Address already in use" not in self.read_log():
                raise AssertionError("letterboxd exited %d: %s" % (
                    self.proc.returncode, self.read_log()))
        raise AssertionError("letterboxd did not start: " + self.read_log())

    def _start(self, extra_config, sandbox):
        import time
        self.ports = {svc: free_port() for svc in self.SERVICES
                      if svc not in self.listen}
        with open(self.lb.config, "w") as f:
            f.write(self.base_config + "\n")
            for svc in self.SERVICES:
                if svc in self.listen:
                    f.write("[%s]\nlisten = %s\n" % (svc, self.listen[svc]))
                else:
                    f.write("[%s]\nlisten = 127.0.0.1:%d\n" %
                            (svc, self.ports[svc]))
            f.write(extra_config)
        self.log = open(self.log_path, "wb")
        self.out = open(self.stdout_path, "wb")
        cmd = [program("letterboxd"), "--foreground", "--config",
               self.lb.config]
        if sandbox:
            cmd.append("--sandbox")
        self.proc = subprocess.Popen(cmd, stdout=self.out, stderr=self.log,
                                     start_new_session=True)
        deadline = time.time() + 20
        while time.time() < deadline:
            if self.proc.poll() is not None:
                self.out.close()
                self.log.close()
                return False
            if all(self._accepts(p) for p in self.ports.values()):
                return True
            time.sleep(0.05)
        self.stop()
        raise AssertionError("letterboxd did not start: " + self.read_log())

    @staticmethod
    def _accepts(port):
        import socket
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return True
        except OSError:
            return False

    def read_stdout(self):
        if not self.out.closed:
            self.out.flush()
        with open(self.stdout_path, "rb") as f:
            return f.read().decode(errors="replace")

    def read_log(self):
        if not self.log.closed:
            self.log.flush()
        with open(self.log_path, "rb") as f:
            return f.read().decode(errors="replace")

    def stop(self, timeout=40):
        import os
        import signal
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        # Workers are in the master's session and process group: make
        # sure none outlives the test.
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.out.close()
        self.log.close()
        return self.proc.returncode


@pytest.fixture
def daemon(tmp_path):
    d = Daemon(tmp_path)
    yield d
    d.stop()


class Closed(Exception):
    """The server closed the connection while a reply was expected."""


class LineClient:
    """Socket plumbing the protocol test clients share: a plain or TLS
    socket, a receive buffer, line reads, and checks that the server
    closed or stays quiet. Subclasses parse the protocol's replies."""

    def __init__(self, port=None, timeout=5, sock=None, source=None):
        import socket
        if sock is None:
            sock = socket.create_connection(
                ("127.0.0.1", port), timeout=timeout,
                source_address=(source, 0) if source else None)
        self.sock = sock
        self.timeout = timeout
        self.sock.settimeout(timeout)
        self.buf = b""

    def send(self, data):
        if isinstance(data, str):
            data = data.encode()
        self.sock.sendall(data)

    def _fill(self):
        try:
            data = self.sock.recv(1 << 18)
        except ConnectionResetError:
            data = b""
        if not data:
            raise Closed("connection closed; buffered %r" % self.buf[:300])
        self.buf += data

    def line(self):
        """The next line, with its line end."""
        while b"\n" not in self.buf:
            self._fill()
        line, self.buf = self.buf.split(b"\n", 1)
        return line + b"\n"

    def closed(self, timeout=None):
        """True when the server closes (EOF, reset, TLS teardown) within
        timeout, with nothing more to read before it."""
        import socket
        import ssl
        self.sock.settimeout(timeout or self.timeout)
        try:
            while True:
                data = self.sock.recv(65536)
                if not data:
                    return self.buf == b""
                self.buf += data
        except (ConnectionResetError, ssl.SSLError):
            return self.buf == b""
        except socket.timeout:
            return False
        finally:
            self.sock.settimeout(self.timeout)

    def quiet(self, seconds=0.3):
        """True when nothing arrives within seconds."""
        import socket
        if self.buf:
            return False
        self.sock.settimeout(seconds)
        try:
            self.buf += self.sock.recv(65536)
            return False
        except socket.timeout:
            return True
        finally:
            self.sock.settimeout(self.timeout)
