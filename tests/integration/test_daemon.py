"""letterboxd as a process: command line, config errors, worker restart
after a crash, SIGHUP reload without dropping sessions, graceful SIGTERM,
privilege drop, sandbox mode."""
import os
import pwd
import shutil
import signal
import smtplib
import stat
import subprocess
import tempfile
import time

import pytest

from conftest import Daemon, program


def children(pid):
    try:
        with open("/proc/%d/task/%d/children" % (pid, pid)) as f:
            return [int(x) for x in f.read().split()]
    except OSError:
        return []


def wait_for(predicate, timeout=10.0):
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    return predicate()


# One worker per protocol family (SMTP, POP3, IMAP) and the delivery
# agent (relay).
WORKERS = 4


def all_workers(pid):
    """The master's workers once all of them are up (they are forked one
    after the other), else an empty list."""
    kids = children(pid)
    return kids if len(kids) == WORKERS else []


def send_one(d, subject, port="submission"):
    d.lb.run("domain", "add", "example.org", check=False)
    if "alice@example.org" not in d.lb.out("user", "list"):
        d.lb.add_user("alice@example.org")
    with smtplib.SMTP("127.0.0.1", d.ports["smtp"], timeout=10) as c:
        c.sendmail("a@example.net", ["alice@example.org"],
                   "Subject: %s\r\n\r\nbody\r\n" % subject)


def test_help_version_and_usage():
    out = subprocess.run([program("letterboxd"), "--help"],
                         stdout=subprocess.PIPE, timeout=10)
    assert out.returncode == 0 and b"--sandbox" in out.stdout
    out = subprocess.run([program("letterboxd"), "--version"],
                         stdout=subprocess.PIPE, timeout=10)
    assert out.returncode == 0 and out.stdout.startswith(b"letterboxd ")
    out = subprocess.run([program("letterboxd"), "--bogus"],
                         stderr=subprocess.PIPE, timeout=10)
    assert out.returncode == 2


def test_config_error_names_file_and_line(tmp_path):
    conf = tmp_path / "bad.conf"
    conf.write_text("data_dir = %s\n[smtp]\nlisten = 127.0.0.1:0x19\n"
                    % (tmp_path / "data"))
    out = subprocess.run([program("letterboxd"), "--foreground", "--config",
                          str(conf)], stderr=subprocess.PIPE, timeout=10)
    assert out.returncode == 1
    assert ("%s:3:" % conf).encode() in out.stderr


def test_port_in_use_is_a_clear_error(tmp_path):
    import socket
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen(1)
    port = s.getsockname()[1]
    conf = tmp_path / "c.conf"
    conf.write_text("data_dir = %s\n[smtp]\nlisten = 127.0.0.1:%d\n"
                    % (tmp_path / "data", port))
    out = subprocess.run([program("letterboxd"), "--foreground", "--config",
                          str(conf)], stderr=subprocess.PIPE, timeout=10)
    s.close()
    assert out.returncode == 1
    assert ("127.0.0.1:%d: cannot listen" % port).encode() in out.stderr


def test_worker_restarted_after_crash(daemon):
    workers = wait_for(lambda: all_workers(daemon.proc.pid))
    assert workers, children(daemon.proc.pid)
    os.kill(workers[0], signal.SIGKILL)
    new = wait_for(lambda: [p for p in children(daemon.proc.pid)
                            if p not in workers], timeout=15)
    assert new, daemon.read_log()
    assert len(children(daemon.proc.pid)) == WORKERS
    send_one(daemon, "after restart")
    assert "after restart" in daemon.lb.out("message", "list",
                                            "alice@example.org")
    assert "restarting in 1 s" in daemon.read_log()


def test_sighup_reload_keeps_sessions(daemon):
    daemon.lb.run("domain", "add", "example.org")
    daemon.lb.add_user("alice@example.org")
    old = wait_for(lambda: all_workers(daemon.proc.pid))
    c = smtplib.SMTP("127.0.0.1", daemon.ports["smtp"], timeout=10)
    c.ehlo("before.reload")
    os.kill(daemon.proc.pid, signal.SIGHUP)
    new = wait_for(lambda: [p for p in children(daemon.proc.pid)
                            if p not in old])
    assert new, daemon.read_log()
    # The session begun before the reload finishes its work.
    c.sendmail("a@example.net", ["alice@example.org"],
               "Subject: across reload\r\n\r\nbody\r\n")
    c.quit()
    # The old worker then goes; new connections are served.
    assert wait_for(lambda: not any(p in children(daemon.proc.pid)
                                    for p in old), timeout=15)
    send_one(daemon, "after reload")
    listing = daemon.lb.out("message", "list", "alice@example.org")
    assert "across reload" in listing and "after reload" in listing


def test_sighup_with_broken_config_keeps_running(daemon):
    good = open(daemon.lb.config).read()
    with open(daemon.lb.config, "a") as f:
        f.write("\n[smtp]\nnonsense = 1\n")
    old = wait_for(lambda: all_workers(daemon.proc.pid))
    os.kill(daemon.proc.pid, signal.SIGHUP)
    assert wait_for(lambda: "keeping the running config" in
                    daemon.read_log())
    assert children(daemon.proc.pid) == old
    # The admin tool reads the same file: put the good one back for it.
    with open(daemon.lb.config, "w") as f:
        f.write(good)
    send_one(daemon, "still up")


def test_sigterm_stops_everything(daemon):
    workers = wait_for(lambda: all_workers(daemon.proc.pid))
    started = time.time()
    assert daemon.stop() == 0
    assert time.time() - started < 10, daemon.read_log()
    for pid in workers:
        assert not os.path.exists("/proc/%d/status" % pid) or \
            "zombie" in open("/proc/%d/status" % pid).read()


def test_sigterm_while_workers_start(tmp_path):
    # A SIGTERM that reaches a worker between fork() and its own signal
    # handlers must not be lost (it used to be: the worker then ran on
    # until the master's 30 s grace ran out).
    for i in range(15):
        (tmp_path / str(i)).mkdir()
        d = Daemon(tmp_path / str(i))
        started = time.time()
        # The workers start now: stop at once, while some still start.
        os.kill(d.proc.pid, signal.SIGHUP)
        time.sleep(0.01 * (i % 5))
        assert d.stop() == 0
        assert time.time() - started < 10, d.read_log()


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to drop privileges")
def test_drops_privileges_to_user(tmp_path):
    from conftest import free_port
    nobody = pwd.getpwnam("nobody")
    # pytest's tmp_path is private to root; the data must be reachable
    # by the user we drop to.
    base = tempfile.mkdtemp(prefix="letterbox-priv-")
    os.chmod(base, 0o755)
    data = os.path.join(base, "data")
    port = free_port()
    conf = tmp_path / "priv.conf"
    conf.write_text("data_dir = %s\nuser = nobody\n[smtp]\n"
                    "listen = 127.0.0.1:%d\n" % (data, port))
    proc = subprocess.Popen([program("letterboxd"), "--foreground",
                             "--config", str(conf)],
                            stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL,
                            start_new_session=True)
    try:
        workers = wait_for(lambda: children(proc.pid))
        assert workers
        st = os.stat(data)
        assert st.st_uid == nobody.pw_uid
        assert stat.S_IMODE(st.st_mode) == 0o700
        for pid in [proc.pid] + workers:
            with open("/proc/%d/status" % pid) as f:
                uid_line = [l for l in f if l.startswith("Uid:")][0]
            assert uid_line.split()[1:] == [str(nobody.pw_uid)] * 4
        # It serves mail as that user.
        with smtplib.SMTP("127.0.0.1", port, timeout=10) as c:
            assert c.noop()[0] == 250
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=40)
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        shutil.rmtree(base, ignore_errors=True)
