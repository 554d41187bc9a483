#!/usr/bin/python3
"""Outbound delivery of letterboxd, side by side with Postfix, in one run.

"1,000 messages submitted for a remote test domain, time until all are
accepted by the receiving instance."

Everything runs on loopback and is started here (stopped by PID at the end):
  - dnsmasq on 127.0.0.1:<free port>, answering for *.test only:
    remote.test MX 10 mx.remote.test, mx.remote.test A 127.0.0.2;
  - receiver B: a letterboxd (hostname mx.remote.test) whose SMTP listens on
    127.0.0.2:PB, with its IMAP on 127.0.0.1 for counting arrivals, outbound
    off; domain remote.test, one fresh recipient per run;
  - sender A: a letterboxd with submission on 127.0.0.1, user
    alice@local.test, [outbound] dns = the dnsmasq, port = PB, defaults
    otherwise (per_domain 4 unless --per-domain).
N sessions (--sessions 8) each submit M messages (--messages 125) of S bytes
(--size 4096) from alice@local.test to B's recipient: over A's submission
port with AUTH PLAIN (plaintext on loopback), and, when the peers run
(/work/shared/peers/start-peers.sh), to Postfix on 127.0.0.1:12025 without
AUTH. For the Postfix run its main.cf is changed for the duration of the run
(transport_maps sends remote.test to smtp:[127.0.0.2]:PB, mynetworks may
relay, smtp_tls_security_level = --postfix-tls) and always restored.

Measured per run, from the moment every session is connected (and logged
in), to the last message:
  accepted  : the last "250" after DATA at the sender;
  delivered : B's INBOX of the run's recipient holds all N*M messages
              (IMAP STATUS every 50 ms), bounded by --timeout seconds after
              acceptance ends (then it reports how many arrived);
plus CPU seconds of the sender's process tree (letterboxd A: master and
workers, and the relay worker alone; Postfix: its master, its services and
the children it reaped) and of B's tree over the run.

usage: bench/outbound_bench.py [--sessions 8] [--messages 125] [--size 4096]
           [--per-domain N] [--reps 1] [--timeout 300] [--postfix-tls may,none]
           [--postfix-concurrency N]
           [--skip-postfix]
Prints a table and one line: RESULT {json}.
"""
import argparse
import imaplib
import json
import os
import re
import shutil
import signal
import smtplib
import socket
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
DNSMASQ = "/usr/sbin/dnsmasq"
B_ADDR = "127.0.0.2"
PF_CONF = "/tmp/peers/postfix/etc"
PF_MAIN = os.path.join(PF_CONF, "main.cf")
PF_BACKUP = PF_MAIN + ".outbound_bench.orig"
PF_LOG = "/tmp/peers/postfix/log/maillog"
PF_PID = "/tmp/peers/postfix/spool/pid/master.pid"
PF_HOST, PF_PORT = "127.0.0.1", 12025
PASSWORD = "benchpass"
CLK_TCK = os.sysconf("SC_CLK_TCK")


def loopback(addr):
    if not addr.startswith("127."):
        raise SystemExit("refusing non-loopback target %s" % addr)
    return addr


def log(msg):
    print("[%s] %s" % (time.strftime("%H:%M:%S"), msg), file=sys.stderr,
          flush=True)


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
    raise RuntimeError("no free port")


def accepts(addr, port):
    try:
        socket.create_connection((addr, port), timeout=1).close()
        return True
    except OSError:
        return False


def stop_proc(proc, timeout=40, group=True):
    """SIGTERM by PID, then SIGKILL; with group, the process group too (the
    workers of a letterboxd started with start_new_session)."""
    if proc is None:
        return
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    if group:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass


# ---- /proc: CPU of a process tree ---------------------------------------

def proc_stat(pid):
    """(ppid, utime+stime, cutime+cstime) in seconds, or None."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            s = f.read()
    except OSError:
        return None
    rest = s[s.rfind(")") + 2:].split()
    return (int(rest[1]), (int(rest[11]) + int(rest[12])) / CLK_TCK,
            (int(rest[13]) + int(rest[14])) / CLK_TCK)


def tree_cpu(root):
    """CPU seconds of root and its live descendants, plus what root's
    reaped children used (cutime: Postfix's master reaps its services)."""
    if root is None:
        return None
    kids = {}
    stats = {}
    for d in os.listdir("/proc"):
        if d.isdigit():
            st = proc_stat(int(d))
            if st:
                stats[int(d)] = st
                kids.setdefault(st[0], []).append(int(d))
    if root not in stats:
        return None
    total, pending = stats[root][2], [root]
    while pending:
        p = pending.pop()
        total += stats[p][1]
        pending += kids.get(p, [])
    return total


def machine_busy():
    """(busy CPU seconds of the whole machine, wall clock)."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    idle = v[3] + v[4]
    return (sum(v[:8]) - idle) / CLK_TCK, time.time()


def own_cpu():
    t = os.times()
    return t.user + t.system


def pid_holding_unix(root, path):
    """The child of root that holds the unix socket bound to path."""
    inodes = set()
    try:
        with open("/proc/net/unix") as f:
            for line in f:
                parts = line.split()
                if len(parts) >= 8 and parts[7] == path:
                    inodes.add("socket:[%s]" % parts[6])
    except OSError:
        return None
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        st = proc_stat(int(d))
        if not st or st[0] != root:
            continue
        try:
            for fd in os.listdir("/proc/%s/fd" % d):
                try:
                    if os.readlink("/proc/%s/fd/%s" % (d, fd)) in inodes:
                        return int(d)
                except OSError:
                    pass
        except OSError:
            pass
    return None


# ---- dnsmasq and letterboxd ----------------------------------------------

class Dns:
    """dnsmasq on 127.0.0.1:port answering for *.test only."""

    def __init__(self, tmp, records):
        self.port = free_port_on("127.0.0.1")
        self.log_path = os.path.join(tmp, "dnsmasq.log")
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
                raise RuntimeError("dnsmasq exited: " + open(
                    self.log_path, errors="replace").read())
            if accepts("127.0.0.1", self.port):
                return
            time.sleep(0.05)
        raise RuntimeError("dnsmasq did not start")

    def stop(self):
        stop_proc(self.proc, timeout=10)
        self.log.close()


class Letterboxd:
    """A letterboxd with its own data directory and config, started with
    --foreground from binaries copied at the start of the run."""

    def __init__(self, bindir, path, hostname, sections):
        # sections: [(name, {key: value})]; "" is the top level. A value
        # may hold "{port}", which a free port replaces (see start).
        self.bindir, self.path = bindir, path
        os.makedirs(path)
        self.conf = os.path.join(path, "letterbox.conf")
        self.log_path = os.path.join(path, "letterboxd.log")
        self.data_dir = os.path.join(path, "data")
        self.hostname, self.sections = hostname, sections
        self.proc = None
        self.write_config()

    def write_config(self):
        with open(self.conf, "w") as f:
            f.write("data_dir = %s\nhostname = %s\n\n[auth]\n"
                    "hash_opslimit = 1\nhash_memlimit = 8K\n"
                    % (self.data_dir, self.hostname))
            for name, keys in self.sections:
                f.write("\n[%s]\n" % name)
                for k, v in keys.items():
                    f.write("%s = %s\n" % (k, v))

    def cli(self, *args, input=None):
        p = subprocess.run([os.path.join(self.bindir, "letterbox"),
                            "--config", self.conf] + list(args),
                           input=input, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=120)
        if p.returncode != 0:
            raise RuntimeError("letterbox %s: %s" % (
                " ".join(args), p.stderr.decode(errors="replace")))
        return p.stdout.decode(errors="replace")

    def add_user(self, address):
        self.cli("user", "add", address, "--password-stdin",
                 input=(PASSWORD + "\n").encode())

    def start(self, wait_for):
        """wait_for: [(addr, port)] that must accept connections."""
        self.log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(
            [os.path.join(self.bindir, "letterboxd"), "--foreground",
             "--config", self.conf],
            stdout=self.log, stderr=self.log, start_new_session=True)
        deadline = time.time() + 20
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("letterboxd exited %d: %s" % (
                    self.proc.returncode, self.read_log()[-2000:]))
            if all(accepts(a, p) for a, p in wait_for):
                return
            time.sleep(0.05)
        raise RuntimeError("letterboxd did not start: " + self.read_log())

    def read_log(self):
        if self.log and not self.log.closed:
            self.log.flush()
        with open(self.log_path, "rb") as f:
            return f.read().decode(errors="replace")

    def stop(self):
        if self.proc is not None:
            stop_proc(self.proc)
            self.log.close()


# ---- Postfix ----------------------------------------------------------------

def postfix_running():
    try:
        return subprocess.run(["postfix", "-c", PF_CONF, "status"],
                              stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL,
                              timeout=30).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def postfix_reload():
    subprocess.run(["postfix", "-c", PF_CONF, "reload"], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                   timeout=60)


def postfix_restore():
    """Puts back the saved main.cf (also one a killed run left) and
    reloads."""
    if os.path.exists(PF_BACKUP):
        shutil.copyfile(PF_BACKUP, PF_MAIN)
        os.unlink(PF_BACKUP)
        if postfix_running():
            postfix_reload()
        return True
    return False


def postfix_configure(b_port, tls, concurrency):
    shutil.copyfile(PF_MAIN, PF_BACKUP)
    extra = []
    if concurrency:
        extra = ["smtp_destination_concurrency_limit = %d" % concurrency]
    subprocess.run(
        ["postconf", "-c", PF_CONF, "-e",
         "transport_maps = inline:{remote.test=smtp:[%s]:%d}"
         % (B_ADDR, b_port),
         # The peers' main.cf has reject_unauth_destination in both lists.
         "smtpd_relay_restrictions = permit_mynetworks, "
         "reject_unauth_destination",
         "smtpd_recipient_restrictions = permit_mynetworks, "
         "reject_unauth_destination",
         "smtp_tls_security_level = %s" % tls] + extra,
        check=True, timeout=60)
    postfix_reload()
    time.sleep(1)


def postfix_set_tls(level):
    subprocess.run(["postconf", "-c", PF_CONF, "-e",
                    "smtp_tls_security_level = %s" % level],
                   check=True, timeout=60)
    postfix_reload()
    time.sleep(1)


def postfix_master_pid():
    try:
        return int(open(PF_PID).read().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def postfix_purge_ours():
    """Deletes what is left in Postfix's queue for remote.test (nothing,
    normally), so that it does not bounce once main.cf is restored."""
    p = subprocess.run(["postqueue", "-c", PF_CONF, "-j"],
                       stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                       timeout=60)
    ids = []
    for line in p.stdout.decode(errors="replace").splitlines():
        try:
            q = json.loads(line)
        except ValueError:
            continue
        if any(r.get("address", "").endswith("@remote.test")
               for r in q.get("recipients", [])):
            ids.append(q["queue_id"])
    if ids:
        subprocess.run(["postsuper", "-c", PF_CONF, "-d", "-"],
                       input="\n".join(ids).encode(), timeout=60,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return len(ids)


def file_size(path):
    try:
        return os.path.getsize(path)
    except OSError:
        return 0


def read_from(path, offset):
    try:
        with open(path, "rb") as f:
            f.seek(offset)
            return f.read().decode(errors="replace")
    except OSError:
        return ""


# ---- the load ---------------------------------------------------------------

def make_message(tag, i, rcpt, size):
    head = ("From: Alice <alice@local.test>\r\nTo: <%s>\r\n"
            "Subject: outbound bench %s %d\r\n"
            "Date: %s\r\nMessage-ID: <%s.%d.%d@local.test>\r\n"
            "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=us-ascii"
            "\r\n\r\n" % (rcpt, tag, i,
                          time.strftime("%a, %d %b %Y %H:%M:%S +0000",
                                        time.gmtime()),
                          tag, i, os.getpid()))
    line = ("%s-%d " % (tag, i) + "lorem ipsum dolor sit amet " * 3)[:74]
    line += "\r\n"
    body = ""
    need = size - len(head)
    while len(body) + len(line) <= need:
        body += line
    rest = need - len(body)
    if rest >= 2:
        body += "x" * (rest - 2) + "\r\n"
    msg = (head + body).encode()
    return msg


class Poller(threading.Thread):
    """Polls STATUS INBOX (MESSAGES) of user at B every interval."""

    def __init__(self, port, user, want, interval=0.05):
        super().__init__(daemon=True)
        self.port, self.user, self.want = port, user, want
        self.interval = interval
        self.count, self.t_first, self.t_all = 0, None, None
        self.deadline = None        # set once acceptance ended
        self.stop = False
        self.error = None
        self.ready = threading.Event()

    def run(self):
        try:
            c = imaplib.IMAP4("127.0.0.1", self.port, timeout=30)
            c.login(self.user, PASSWORD)
            self.ready.set()
            while not self.stop:
                typ, data = c.status("INBOX", "(MESSAGES)")
                now = time.perf_counter()
                m = re.search(rb"MESSAGES (\d+)", data[0] or b"")
                self.count = int(m.group(1)) if m else self.count
                if self.count > 0 and self.t_first is None:
                    self.t_first = now
                if self.count >= self.want:
                    self.t_all = now
                    break
                if self.deadline is not None and now > self.deadline:
                    break
                time.sleep(self.interval)
            c.logout()
        except Exception as e:  # noqa: BLE001 - reported in the result
            self.error = "%s: %s" % (type(e).__name__, e)
            self.ready.set()


def run_load(host, port, login, rcpt, sessions, per_session, size, tag,
             poller, timeout):
    """Returns (t0, t_accepted_abs, errors, accepted)."""
    loopback(host)
    msgs = [[make_message(tag, s * per_session + i, rcpt, size)
             for i in range(per_session)] for s in range(sessions)]
    state = {"t0": None}
    barrier = threading.Barrier(
        sessions, action=lambda: state.__setitem__("t0",
                                                   time.perf_counter()))
    last = [None] * sessions
    accepted = [0] * sessions
    errors = []

    def session(k):
        try:
            c = smtplib.SMTP(host, port, timeout=120)
            c.ehlo("bench.local.test")
            if login:
                c.login("alice@local.test", PASSWORD)
        except Exception as e:  # noqa: BLE001
            errors.append("session %d setup: %s" % (k, e))
            barrier.abort()
            return
        try:
            barrier.wait(timeout=120)
        except threading.BrokenBarrierError:
            c.close()
            return
        for m in msgs[k]:
            try:
                refused = c.sendmail("alice@local.test", [rcpt], m)
                if refused:
                    errors.append("refused %r" % refused)
                else:
                    accepted[k] += 1
                    last[k] = time.perf_counter()
            except Exception as e:  # noqa: BLE001
                errors.append("session %d: %s" % (k, e))
                try:
                    c.rset()
                except Exception:  # noqa: BLE001
                    break
        try:
            c.quit()
        except Exception:  # noqa: BLE001
            pass

    threads = [threading.Thread(target=session, args=(k,), daemon=True)
               for k in range(sessions)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout + 600)
    t_acc = max([x for x in last if x is not None], default=None)
    poller.deadline = time.perf_counter() + timeout
    return state["t0"], t_acc, errors, sum(accepted)


def one_run(server, ctx, rcpt, args, rep):
    """One timed run against 'letterboxd' or 'postfix'."""
    n = args.sessions * args.messages
    b = ctx["b"]
    if server == "letterboxd":
        host, port, login = "127.0.0.1", ctx["a_port"], True
        sender_root = ctx["a"].proc.pid
        log_path, log_off = ctx["a"].log_path, file_size(ctx["a"].log_path)
    else:
        if ctx.get("pf_tls") != server.split("/")[1]:
            postfix_set_tls(server.split("/")[1])
            ctx["pf_tls"] = server.split("/")[1]
        host, port, login = PF_HOST, PF_PORT, False
        sender_root = postfix_master_pid()
        log_path, log_off = PF_LOG, file_size(PF_LOG)
    b_log_off = file_size(b.log_path)
    subprocess.run(["sync"])
    time.sleep(1)
    poller = Poller(ctx["b_imap"], rcpt, n)
    poller.start()
    poller.ready.wait(30)
    if poller.error:
        raise RuntimeError("IMAP poller at B: " + poller.error)
    cpu0 = (tree_cpu(sender_root), tree_cpu(b.proc.pid),
            tree_cpu(ctx.get("relay_pid")) if server == "letterboxd"
            else None)
    busy0, own0 = machine_busy(), own_cpu()
    log("%s rep %d: %d sessions x %d messages of %d bytes to %s" % (
        server, rep, args.sessions, args.messages, args.size, rcpt))
    t0, t_acc, errors, accepted = run_load(
        host, port, login, rcpt, args.sessions, args.messages, args.size,
        "%s%d" % (server.replace("/", ""), rep), poller, args.timeout)
    delivered_at_acc = poller.count
    poller.join(args.timeout + 60)
    poller.stop = True
    cpu1 = (tree_cpu(sender_root), tree_cpu(b.proc.pid),
            tree_cpu(ctx.get("relay_pid")) if server == "letterboxd"
            else None)
    busy1, own1 = machine_busy(), own_cpu()

    def rate(t):
        return round(n / (t - t0), 1) if t and t0 and t > t0 else None

    def delta(i):
        if cpu0[i] is None or cpu1[i] is None:
            return None
        return round(cpu1[i] - cpu0[i], 2)

    run = {"server": server, "rep": rep, "messages": n,
           "accepted": accepted, "delivered": poller.count,
           "accepted_s": round(t_acc - t0, 3) if t_acc and t0 else None,
           "delivered_s": round(poller.t_all - t0, 3)
           if poller.t_all and t0 else None,
           "first_delivered_s": round(poller.t_first - t0, 3)
           if poller.t_first and t0 else None,
           "delivered_when_accepted": delivered_at_acc,
           "accepted_msgs_per_s": rate(t_acc),
           "delivered_msgs_per_s": rate(poller.t_all),
           "sender_cpu_s": delta(0), "receiver_cpu_s": delta(1),
           "errors": errors[:5], "n_errors": len(errors)}
    # CPU used meanwhile by anything but the sender, B and this script
    # (dnsmasq is negligible), as a share of all cores: high means the
    # machine was busy with something else and the run was disturbed.
    if None not in (cpu0[0], cpu0[1], cpu1[0], cpu1[1]):
        other = (busy1[0] - busy0[0]) - (cpu1[0] - cpu0[0]) - \
            (cpu1[1] - cpu0[1]) - (own1 - own0)
        run["other_cpu_pct"] = round(max(0.0, 100 * other / (
            (busy1[1] - busy0[1]) * os.cpu_count())), 1)
    if poller.error:
        run["poller_error"] = poller.error
    seg = read_from(log_path, log_off)
    if server == "letterboxd":
        run["relay_cpu_s"] = delta(2)
        run["log"] = {
            "delivered": seg.count("result=delivered"),
            "deferred": seg.count("result=deferred"),
            "failed": seg.count("result=failed"),
            "connections": seg.count("relay: connected to"),
            "warn_error_lines": [ln for ln in seg.splitlines()
                                 if ": warn: " in ln or ": error: " in ln
                                 ][:10]}
        rows = ctx["a"].cli("queue", "list").splitlines()[1:]
        run["queue_left"] = len([r for r in rows if r.strip()])
    else:
        sent = [ln for ln in seg.splitlines() if "status=sent" in ln
                and "relay=%s[%s]:%d" % (B_ADDR, B_ADDR, ctx["b_port"]) in ln]
        uses = [int(m) for m in re.findall(r"conn_use=(\d+)", seg)]
        run["log"] = {
            "delivered": len(sent),
            "deferred": seg.count("status=deferred"),
            "bounced": seg.count("status=bounced"),
            "connections_reused_max_use": max(uses, default=0),
            "smtp_pids": len(set(re.findall(
                r"postfix-peers/smtp\[(\d+)\]", seg))),
            "warn_error_lines": [ln for ln in seg.splitlines()
                                 if "warning:" in ln or "error:" in ln
                                 or "fatal:" in ln][:10]}
        if poller.count < n:
            run["purged_from_postfix_queue"] = postfix_purge_ours()
    bseg = read_from(b.log_path, b_log_off)
    run["receiver_warn_error_lines"] = [
        ln for ln in bseg.splitlines()
        if ": warn: " in ln or ": error: " in ln][:10]
    log("%s rep %d: accepted %s s, delivered %s/%d at %s s" % (
        server, rep, run["accepted_s"], run["delivered"], n,
        run["delivered_s"]))
    return run


def warm_up(server, ctx, args):
    """One message through each path before anything is timed: checks the
    setup (DNS, relay permissions, TLS) and starts Postfix's services."""
    rcpt = "warmup-%s@remote.test" % server.replace("/", "-")
    poller = Poller(ctx["b_imap"], rcpt, 1, interval=0.1)
    poller.start()
    poller.ready.wait(30)
    host, port = ("127.0.0.1", ctx["a_port"]) if server == "letterboxd" \
        else (PF_HOST, PF_PORT)
    with smtplib.SMTP(loopback(host), port, timeout=60) as c:
        if server == "letterboxd":
            c.login("alice@local.test", PASSWORD)
        c.sendmail("alice@local.test", [rcpt],
                   make_message("warm" + server.replace("/", ""), 0, rcpt,
                                1024))
    poller.deadline = time.perf_counter() + 60
    poller.join(70)
    poller.stop = True
    if poller.count < 1:
        where = ctx["a"].read_log()[-3000:] if server == "letterboxd" \
            else read_from(PF_LOG, max(0, file_size(PF_LOG) - 3000))
        raise RuntimeError("%s did not deliver the warm-up message to B "
                           "within 60 s; its log ends:\n%s" % (server, where))


def main():
    ap = argparse.ArgumentParser(
        description=__doc__.split("\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sessions", type=int, default=8)
    ap.add_argument("--messages", type=int, default=125,
                    help="messages per session")
    ap.add_argument("--size", type=int, default=4096)
    ap.add_argument("--per-domain", type=int, default=None,
                    help="letterboxd [outbound] per_domain (default: its "
                    "default, 4)")
    ap.add_argument("--reps", type=int, default=1)
    ap.add_argument("--timeout", type=float, default=300,
                    help="seconds to wait for delivery after acceptance")
    ap.add_argument("--postfix-tls", default="may,none",
                    help="Postfix smtp_tls_security_level, one run each "
                    "(comma list of may, none; default may,none). "
                    "letterboxd's outbound TLS is opportunistic, like may; "
                    "Postfix does not reuse TLS connections without "
                    "tlsproxy (smtp_tls_connection_reuse), so none shows "
                    "it with connection reuse")
    ap.add_argument("--postfix-concurrency", type=int, default=None,
                    help="Postfix smtp_destination_concurrency_limit for "
                    "the run (default: --per-domain, i.e. as many "
                    "connections as letterboxd; 0: Postfix's own default, "
                    "20, which meets B's limit of 20 connections per IP)")
    ap.add_argument("--skip-postfix", action="store_true")
    args = ap.parse_args()
    if not (1 <= args.sessions <= 20 and 1 <= args.messages <= 5000
            and args.sessions * args.messages <= 20000
            and 512 <= args.size <= 10 << 20 and 1 <= args.reps <= 5
            and 1 <= args.timeout <= 1800
            and (args.per_domain is None or 1 <= args.per_domain <= 100)):
        ap.error("sessions 1..20, messages 1..5000 (at most 20,000 in all), "
                 "size 512..10 MiB, reps 1..5, timeout 1..1800, "
                 "per-domain 1..100")
    args.postfix_tls = [x.strip() for x in args.postfix_tls.split(",")
                        if x.strip()]
    if not args.postfix_tls or any(x not in ("may", "none")
                                   for x in args.postfix_tls):
        ap.error("--postfix-tls: a comma list of may, none")
    if args.postfix_concurrency is None:
        args.postfix_concurrency = args.per_domain or 4
    if not 0 <= args.postfix_concurrency <= 100:
        ap.error("postfix-concurrency 0..100")
    if not os.access(DNSMASQ, os.X_OK):
        sys.exit("%s is not installed" % DNSMASQ)

    def on_term(signum, frame):
        raise SystemExit("terminated by signal %d" % signum)
    signal.signal(signal.SIGTERM, on_term)

    # A run killed before it could restore Postfix's main.cf left a copy.
    if postfix_restore():
        log("restored %s from a previous run's copy" % PF_MAIN)
    postfix = False
    note = None
    if not args.skip_postfix:
        postfix = postfix_running() and accepts(PF_HOST, PF_PORT)
        if not postfix:
            note = ("Postfix (peers) is not running: measured letterboxd "
                    "only; start it with /work/shared/peers/start-peers.sh")
            log(note)

    tmp = tempfile.mkdtemp(prefix="letterbox-outbound-")
    dns = a = b = None
    pf_changed = False
    runs = []
    result = {"bench": "letterbox_outbound", "sessions": args.sessions,
              "messages_per_session": args.messages, "size": args.size,
              "per_domain": args.per_domain or 4, "reps": args.reps,
              "postfix_tls": args.postfix_tls if postfix else None,
              "postfix_concurrency": (args.postfix_concurrency or 20)
              if postfix else None,
              "runs": runs}
    try:
        bindir = os.path.join(tmp, "bin")
        os.makedirs(bindir)
        for prog in ("letterboxd", "letterbox"):
            shutil.copy2(os.path.join(ROOT, prog), bindir)
        b_port = free_port_on(B_ADDR, "127.0.0.1")
        dns = Dns(tmp, ["--mx-host=remote.test,mx.remote.test,10",
                        "--host-record=mx.remote.test,%s" % B_ADDR])
        b_imap = free_port_on("127.0.0.1")
        b = Letterboxd(bindir, os.path.join(tmp, "b"), "mx.remote.test", [
            ("smtp", {"listen": "%s:%d" % (B_ADDR, b_port)}),
            ("imap", {"listen": "127.0.0.1:%d" % b_imap}),
            ("outbound", {"enabled": "no"})])
        b.cli("domain", "add", "remote.test")
        rcpts = {}
        for rep in range(1, args.reps + 1):
            rcpts[("letterboxd", rep)] = "lb%d@remote.test" % rep
            for level in args.postfix_tls:
                rcpts[("postfix/" + level, rep)] = "pf%s%d@remote.test" % (
                    level, rep)
        for u in list(rcpts.values()) + [
                "warmup-letterboxd@remote.test"] + [
                "warmup-postfix-%s@remote.test" % lv
                for lv in args.postfix_tls]:
            b.add_user(u)
        b.start([(B_ADDR, b_port), ("127.0.0.1", b_imap)])

        a_port = free_port_on("127.0.0.1")
        outbound = {"dns": "127.0.0.1:%d" % dns.port, "port": str(b_port)}
        if args.per_domain:
            outbound["per_domain"] = str(args.per_domain)
        a = Letterboxd(bindir, os.path.join(tmp, "a"), "mail.local.test", [
            ("submission", {"listen": "127.0.0.1:%d" % a_port}),
            ("outbound", outbound)])
        a.cli("domain", "add", "local.test")
        a.add_user("alice@local.test")
        a.start([("127.0.0.1", a_port)])
        ctx = {"a": a, "b": b, "a_port": a_port, "b_port": b_port,
               "b_imap": b_imap}
        # The relay worker: the child of A's master holding relay.sock.
        deadline = time.time() + 10
        while ctx.get("relay_pid") is None and time.time() < deadline:
            ctx["relay_pid"] = pid_holding_unix(
                a.proc.pid, os.path.join(a.data_dir, "relay.sock"))
            time.sleep(0.1)

        result["a_pids"] = {"master": a.proc.pid,
                            "relay": ctx.get("relay_pid")}
        warm_up("letterboxd", ctx, args)
        servers = ["letterboxd"]
        if postfix:
            pf_changed = True
            postfix_configure(b_port, args.postfix_tls[0],
                              args.postfix_concurrency)
            ctx["pf_tls"] = args.postfix_tls[0]
            for level in args.postfix_tls:
                if ctx["pf_tls"] != level:
                    postfix_set_tls(level)
                    ctx["pf_tls"] = level
                warm_up("postfix/" + level, ctx, args)
                servers.append("postfix/" + level)
        for rep in range(1, args.reps + 1):
            order = list(servers)
            if rep % 2 == 0:
                order.reverse()
            for server in order:
                runs.append(one_run(server, ctx, rcpts[(server, rep)],
                                    args, rep))
        a_log = a.read_log()
        result["a_log_totals"] = {
            "deferred": a_log.count("result=deferred"),
            "failed": a_log.count("result=failed"),
            "warn_error_lines": [ln for ln in a_log.splitlines()
                                 if ": warn: " in ln or ": error: " in ln
                                 ][:10]}
    finally:
        if pf_changed:
            try:
                postfix_purge_ours()
            except Exception as e:  # noqa: BLE001
                log("purging Postfix's queue: %s" % e)
            if postfix_restore():
                log("Postfix main.cf restored and reloaded")
        for d in (a, b):
            if d is not None:
                d.stop()
        if dns is not None:
            dns.stop()
        shutil.rmtree(tmp, ignore_errors=True)

    if note:
        result["note"] = note
    hdr = ("server", "rep", "accepted s", "acc msg/s", "delivered",
           "deliv s", "deliv msg/s", "sender CPU s", "relay CPU s",
           "B CPU s", "other%")
    fmt = "%-12s %3s %10s %9s %9s %8s %11s %12s %11s %7s %6s"
    print(fmt % hdr)
    for r in runs:
        print(fmt % (r["server"], r["rep"], r["accepted_s"],
                     r["accepted_msgs_per_s"],
                     "%d/%d" % (r["delivered"], r["messages"]),
                     r["delivered_s"], r["delivered_msgs_per_s"],
                     r["sender_cpu_s"], r.get("relay_cpu_s", "-"),
                     r["receiver_cpu_s"], r.get("other_cpu_pct", "-")))
    if args.reps > 1:
        med = {}
        for server in dict.fromkeys(r["server"] for r in runs):
            rs = [r for r in runs if r["server"] == server]
            med[server] = {}
            for k in ("accepted_msgs_per_s", "delivered_msgs_per_s",
                      "sender_cpu_s", "receiver_cpu_s", "relay_cpu_s"):
                v = sorted(r[k] for r in rs if r.get(k) is not None)
                med[server][k] = v[len(v) // 2] if v else None
            m = med[server]
            print(fmt % (server, "med", "", m["accepted_msgs_per_s"], "",
                         "", m["delivered_msgs_per_s"], m["sender_cpu_s"],
                         m["relay_cpu_s"] if m["relay_cpu_s"] is not None
                         else "-", m["receiver_cpu_s"], ""))
        result["medians"] = med
    for r in runs:
        lg = r["log"]
        extra = ""
        if r["server"] == "letterboxd":
            extra = "connections=%d queue_left=%d" % (lg["connections"],
                                                      r["queue_left"])
        else:
            extra = "smtp processes=%d max conn_use=%d" % (
                lg["smtp_pids"], lg["connections_reused_max_use"])
        print("%s rep %d: log delivered=%d deferred=%d %s; first at B "
              "after %s s, %d at B when the last was accepted; %d client "
              "errors" % (r["server"], r["rep"], lg["delivered"],
                          lg["deferred"], extra, r["first_delivered_s"],
                          r["delivered_when_accepted"], r["n_errors"]))
        for ln in lg["warn_error_lines"] + r["receiver_warn_error_lines"]:
            print("    " + ln)
    if postfix:
        print("Postfix: smtp_tls_security_level = %s (letterboxd: "
              "opportunistic STARTTLS), smtp_destination_concurrency_limit"
              " = %s (letterboxd per_domain = %d)" % (
                  " / ".join(args.postfix_tls), args.postfix_concurrency or
                  "default (20)", args.per_domain or 4))
    for ln in result.get("a_log_totals", {}).get("warn_error_lines", []):
        print("A: " + ln)
    if note:
        print("note: " + note)
    print("RESULT " + json.dumps(result))


if __name__ == "__main__":
    main()
