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

    def __init__(self, tmp_path):
        self.data_dir = str(tmp_path / "data")
        self.config = str(tmp_path / "letterbox.conf")
        with open(self.config, "w") as f:
            # The cheapest argon2id limits libsodium allows: tests hash
            # many passwords and are not measuring security.
            f.write("data_dir = %s\nhostname = test.invalid\n\n"
                    "[auth]\nhash_opslimit = 1\nhash_memlimit = 8K\n"
                    % self.data_dir)
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
