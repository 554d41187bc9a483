#!/usr/bin/python3
"""POP3 of letterboxd side by side with Dovecot's POP3 (../shared/peers),
in one run: a maildrop of 1,000 x 4 KiB messages (login, STAT, UIDL, LIST,
RETR of every message) and logins (first and repeat login of a user,
logins per second sequentially and from 8 concurrent clients), plus the
resident memory of letterboxd (master + workers) and of Dovecot.

Both servers hash passwords with Argon2id m=64 MiB, t=3, p=1: Dovecot's
peers use it, and letterboxd gets `[auth] hash_opslimit = 3`,
`hash_memlimit = 64M`. The hash is most of a login's cost, so the login
figures compare like with like.

letterboxd: started here (temporary data directory, free loopback port,
domain bench.test, users bench1..bench50@bench.test / benchpass); the
maildrop of bench50 is filled with `letterbox deliver` before the start,
with the same generated messages (benchlib.make_message) that the peers'
pop3_retr.py APPENDs to Dovecot over IMAP, so both maildrops hold the
same bytes.

Dovecot: 127.0.0.1:12110 (POP3), 12143 (IMAP, for filling), users
bench1..bench50 / benchpass, when the peers run
(/work/shared/peers/start-peers.sh).

The maildrop figures come from the peers' own client, bench/pop3_retr.py,
run against each server in turn; the login figures from the same
raw-socket POP3 client (benchlib.Pop3: connect, greeting, USER, PASS,
QUIT). Repetitions alternate the servers (and which goes first); each
figure is the median over the repetitions.

usage: bench/pop3_bench.py [--reps 3] [--messages 1000] [--size 4096]
                           [--logins 50] [--login-clients 8]
                           [--logins-per-client 25] [--skip-dovecot]
Prints a table and one line: RESULT {json} (times in ms).
"""
import argparse
import concurrent.futures
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
PEERS_BENCH = os.path.join(ROOT, "..", "shared", "peers", "bench")
sys.path.insert(0, PEERS_BENCH)
sys.path.insert(0, HERE)
import benchlib as B  # noqa: E402
from smtp_bench import accepts, free_port, tree_rss_kib  # noqa: E402

PASSWORD = "benchpass"
DOVECOT_POP3 = 12110
DOVECOT_IMAP = 12143
DOVECOT_PIDFILE = "/tmp/peers/dovecot/run/master.pid"
MAILDROP_USER = 50          # bench50: the maildrop, as in the peers' suite
FIRST_LOGIN_USERS = range(41, 50)   # bench41..49: first logins
LOOP_USERS = range(1, 41)           # bench1..40: the login loops


# ---------------------------------------------------------------- letterboxd

class Letterboxd:
    def __init__(self, tmp, messages, size):
        self.tmp = tmp
        self.port = free_port()
        self.conf = os.path.join(tmp, "letterbox.conf")
        with open(self.conf, "w") as f:
            f.write("data_dir = %s/data\nhostname = bench.letterbox\n"
                    "log_level = warn\n\n"
                    "[pop3]\nlisten = 127.0.0.1:%d\n\n"
                    "[auth]\n"
                    "# Dovecot's peers: ARGON2ID m=65536 KiB, t=3, p=1\n"
                    "hash_opslimit = 3\nhash_memlimit = 64M\n"
                    % (tmp, self.port))
        # Copied, so a rebuild of the tree during the run changes nothing.
        self.bin = os.path.join(tmp, "bin")
        os.mkdir(self.bin)
        for prog in ("letterbox", "letterboxd"):
            shutil.copy2(os.path.join(ROOT, prog), self.bin)
        self.lb = [os.path.join(self.bin, "letterbox"), "--config",
                   self.conf]
        subprocess.run(self.lb + ["domain", "add", B.DOMAIN], check=True,
                       stdout=subprocess.DEVNULL)
        t0 = time.time()
        # Two at a time: each hash takes 64 MiB and one core.
        with concurrent.futures.ThreadPoolExecutor(2) as ex:
            list(ex.map(self._add_user, range(1, 51)))
        self.users_s = time.time() - t0
        self._check_hash()
        t0 = time.time()
        user = self.user(MAILDROP_USER)
        msgs = [B.make_message(i, size, to=user) for i in range(messages)]
        with concurrent.futures.ThreadPoolExecutor(4) as ex:
            list(ex.map(self._deliver, msgs))
        self.fill_s = time.time() - t0
        self.proc = subprocess.Popen(
            [os.path.join(self.bin, "letterboxd"), "--foreground",
             "--config", self.conf],
            stdout=subprocess.DEVNULL,
            stderr=open(os.path.join(tmp, "log"), "wb"),
            start_new_session=True)
        deadline = time.time() + 30
        while not accepts(self.port):
            if time.time() > deadline or self.proc.poll() is not None:
                raise RuntimeError("letterboxd did not start: " +
                                   open(os.path.join(tmp, "log")).read())
            time.sleep(0.05)
        # The port is bound by the master before the worker runs: wait
        # for a greeting, then let the worker settle (its decoy argon2
        # hash at start takes hash_memlimit for a moment).
        p = B.Pop3("127.0.0.1", self.port, timeout=60)
        p.quit()
        time.sleep(1)

    @staticmethod
    def user(n):
        return "bench%d@%s" % (n, B.DOMAIN)

    def _add_user(self, n):
        subprocess.run(self.lb + ["user", "add", self.user(n),
                                  "--password-stdin"],
                       input=(PASSWORD + "\n").encode(), check=True,
                       stdout=subprocess.DEVNULL)

    def _deliver(self, msg):
        subprocess.run(self.lb + ["deliver", "--to",
                                  self.user(MAILDROP_USER)],
                       input=msg, check=True, stdout=subprocess.DEVNULL)

    def _check_hash(self):
        import sqlite3
        db = sqlite3.connect(os.path.join(self.tmp, "data", "letterbox.db"))
        (h,) = db.execute("SELECT pwhash FROM users WHERE address = ?",
                          (self.user(1),)).fetchone()
        db.close()
        if "$m=65536,t=3,p=1$" not in h:
            raise RuntimeError("letterbox hashed with other limits: " +
                               h[:40])

    def rss(self):
        return tree_rss_kib(self.proc.pid)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


# ---------------------------------------------------------------- servers

class Server:
    """What the measurements need to know about one server."""

    def __init__(self, name, port, user, rss, fill_args):
        self.name = name
        self.port = port
        self.user = user            # n -> login name
        self.rss = rss              # () -> KiB of the process tree
        self.fill_args = fill_args  # extra pop3_retr.py arguments


def dovecot_cpu():
    try:
        return B.cpu_of_tree([B.read_pidfile(DOVECOT_PIDFILE)])
    except OSError:
        return 0.0


def dovecot_rss():
    try:
        pid = B.read_pidfile(DOVECOT_PIDFILE)
    except OSError:
        return 0
    return B.mem_of(B.proc_tree([pid]))["rss_kib"]


class Sampler(threading.Thread):
    """Peak RSS of a server while something runs."""

    def __init__(self, rss):
        super().__init__(daemon=True)
        self.rss, self.peak, self.stop = rss, 0, False

    def run(self):
        while not self.stop:
            self.peak = max(self.peak, self.rss())
            time.sleep(0.05)

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.stop = True
        self.join()


# ---------------------------------------------------------------- measurements

def maildrop(server, args):
    """The peers' pop3_retr.py: login, STAT, UIDL, LIST, RETR all."""
    cmd = [sys.executable, os.path.join(PEERS_BENCH, "pop3_retr.py"),
           "--host", "127.0.0.1", "--port", str(server.port),
           "--user", server.user(MAILDROP_USER), "--password", PASSWORD,
           "--messages", str(args.messages), "--size", str(args.size)]
    cmd += server.fill_args
    out = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         timeout=1800)
    for line in out.stdout.decode().splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[len("RESULT "):])
    raise RuntimeError("pop3_retr.py against %s failed: %s" % (
        server.name, out.stderr.decode()))


def stat_octets(server):
    p = B.Pop3("127.0.0.1", server.port)
    p.login(server.user(MAILDROP_USER), PASSWORD)
    r = p.cmd("STAT").split()
    p.quit()
    return int(r[1]), int(r[2])


def one_login(server, n):
    """Seconds from connect to the +OK after PASS; then QUIT."""
    t0 = B.now()
    p = B.Pop3("127.0.0.1", server.port)
    p.login(server.user(n), PASSWORD)
    dt = B.now() - t0
    p.quit()
    return dt


def first_and_repeat(server, users):
    first = [one_login(server, n) for n in users]
    repeat = [one_login(server, n) for n in users]
    return B.ms(statistics.median(first)), B.ms(statistics.median(repeat))


def login_loops(server, args):
    users = list(LOOP_USERS)
    lat = []
    t0 = B.now()
    for i in range(args.logins):
        lat.append(one_login(server, users[i % len(users)]))
    seq_s = B.now() - t0
    lats = [[] for _ in range(args.login_clients)]
    errors = []

    def client(k):
        try:
            for i in range(args.logins_per_client):
                u = users[(k * args.logins_per_client + i) % len(users)]
                lats[k].append(one_login(server, u))
        except Exception as e:      # reported, not hidden
            errors.append(repr(e))

    threads = [threading.Thread(target=client, args=(k,))
               for k in range(args.login_clients)]
    t0 = B.now()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    par_s = B.now() - t0
    if errors:
        raise RuntimeError("%s: concurrent logins failed: %s" % (
            server.name, errors[:3]))
    par = [x for l in lats for x in l]
    return {
        "logins_seq_per_s": round(len(lat) / seq_s, 2),
        "login_seq_p50_ms": B.ms(B.pct(lat, 50)),
        "logins_par_per_s": round(len(par) / par_s, 2),
        "login_par_p50_ms": B.ms(B.pct(par, 50)),
        "login_par_p99_ms": B.ms(B.pct(par, 99)),
    }


def run_one(server, args, rep):
    """One repetition against one server."""
    out = {}
    with Sampler(server.rss) as s:
        r = maildrop(server, args)
    out["rss_peak_retr_kib"] = s.peak
    for k in ("login_ms", "stat_ms", "uidl_ms", "list_ms", "retr_all_ms",
              "retr_msgs_per_s", "retr_mib_per_s", "session_total_ms"):
        out[k] = r[k]
    if "fill_s" in r:
        out["fill_s"] = r["fill_s"]
    # First logins: users nobody has logged in as yet in this run (three
    # per repetition), then each again.
    per = 3
    start = (rep * per) % len(FIRST_LOGIN_USERS)
    users = [FIRST_LOGIN_USERS[(start + i) % len(FIRST_LOGIN_USERS)]
             for i in range(per)]
    out["login_first_ms"], out["login_repeat_ms"] = first_and_repeat(
        server, users)
    with Sampler(server.rss) as s:
        out.update(login_loops(server, args))
    out["rss_peak_logins_kib"] = s.peak
    return out


# ---------------------------------------------------------------- output

ROWS = [
    ("login, first (ms)", "login_first_ms"),
    ("login, repeat (ms)", "login_repeat_ms"),
    ("login in pop3_retr (ms)", "login_ms"),
    ("STAT (ms)", "stat_ms"),
    ("UIDL, {n:,} lines (ms)", "uidl_ms"),
    ("LIST, {n:,} lines (ms)", "list_ms"),
    ("RETR x {n:,} (ms)", "retr_all_ms"),
    ("RETR msg/s", "retr_msgs_per_s"),
    ("RETR MiB/s", "retr_mib_per_s"),
    ("logins/s, sequential", "logins_seq_per_s"),
    ("login p50, sequential (ms)", "login_seq_p50_ms"),
    ("logins/s, {c} concurrent", "logins_par_per_s"),
    ("login p50, {c} concurrent (ms)", "login_par_p50_ms"),
    ("login p99, {c} concurrent (ms)", "login_par_p99_ms"),
    ("peak RSS, pop3_retr (MiB)", "rss_peak_retr_kib"),
    ("peak RSS, logins (MiB)", "rss_peak_logins_kib"),
]


def median_of(runs, key):
    vals = [r[key] for r in runs if r.get(key) is not None]
    return statistics.median(vals) if vals else None


def fmt(v, key):
    if v is None:
        return "-"
    if key.endswith("_kib"):
        return "%.1f" % (v / 1024)
    if isinstance(v, float) and v >= 100:
        return "%.0f" % v
    return "%.3g" % v if isinstance(v, float) else str(v)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--messages", type=int, default=1000)
    ap.add_argument("--size", type=int, default=4096)
    ap.add_argument("--logins", type=int, default=50)
    ap.add_argument("--login-clients", type=int, default=8)
    ap.add_argument("--logins-per-client", type=int, default=25)
    ap.add_argument("--skip-dovecot", action="store_true")
    args = ap.parse_args()
    if not (1 <= args.reps <= 10 and 1 <= args.messages <= 10000 and
            1024 <= args.size <= 1 << 20 and 1 <= args.logins <= 1000 and
            1 <= args.login_clients <= 16 and
            1 <= args.logins_per_client <= 200):
        ap.error("reps 1..10, messages 1..10000, size 1K..1M, logins "
                 "1..1000, login clients 1..16 (the per-IP limit is 20), "
                 "logins per client 1..200")

    dovecot = not args.skip_dovecot
    if dovecot and not (accepts(DOVECOT_POP3) and accepts(DOVECOT_IMAP)):
        sys.exit("Dovecot's POP3/IMAP (127.0.0.1:%d/%d) are not running: "
                 "start the peers (/work/shared/peers/start-peers.sh) or "
                 "use --skip-dovecot" % (DOVECOT_POP3, DOVECOT_IMAP))

    busy0, _, total0 = B.system_cpu()
    self0 = sum(os.times()[:4])
    dovecot_cpu0 = dovecot_cpu() if dovecot else 0
    tmp = tempfile.mkdtemp(prefix="letterbox-pop3-bench-")
    lbd = None
    result = {"bench": "letterbox_pop3", "messages": args.messages,
              "size": args.size, "reps": args.reps,
              "argon2id": "m=65536,t=3,p=1", "runs": []}
    try:
        t0 = time.time()
        lbd = Letterboxd(tmp, args.messages, args.size)
        print("letterboxd: 50 users in %.1f s, %d messages delivered in "
              "%.1f s, started in %.1f s" % (lbd.users_s, args.messages,
                                              lbd.fill_s, time.time() - t0),
              file=sys.stderr)
        result["letterboxd_fill_s"] = round(lbd.fill_s, 2)
        result["letterboxd_rss_idle_kib"] = lbd.rss()
        servers = [Server("letterboxd", lbd.port, Letterboxd.user, lbd.rss,
                          [])]
        if dovecot:
            # Dovecot's users are "benchN" (its passdb strips a domain):
            # pop3_retr.py's messages then say To: benchN@bench.test, as
            # those delivered to letterboxd do.
            servers.append(Server(
                "dovecot", DOVECOT_POP3, lambda n: "bench%d" % n,
                dovecot_rss,
                ["--imap-port", str(DOVECOT_IMAP)]))
            result["dovecot_rss_idle_kib"] = dovecot_rss()
        runs = {s.name: [] for s in servers}
        for rep in range(args.reps):
            order = servers if rep % 2 == 0 else servers[::-1]
            for s in order:
                r = run_one(s, args, rep)
                r.update(server=s.name, rep=rep)
                runs[s.name].append(r)
                result["runs"].append(r)
                print("rep %d %-10s RETR %s msg/s, logins %s/s seq, %s/s "
                      "par" % (rep, s.name, r["retr_msgs_per_s"],
                               r["logins_seq_per_s"],
                               r["logins_par_per_s"]), file=sys.stderr)
        for s in servers:
            result["%s_maildrop" % s.name] = dict(zip(
                ("messages", "octets"), stat_octets(s)))
        result["letterboxd_rss_end_kib"] = lbd.rss()
        # CPU of everything else on the machine during the run, as a
        # share of all cores: a high figure means a disturbed run.
        busy1, _, total1 = B.system_cpu()
        ours = (sum(os.times()[:4]) - self0 +
                B.cpu_of_tree([lbd.proc.pid]) +
                ((dovecot_cpu() - dovecot_cpu0) if dovecot else 0))
        result["other_cpu_pct"] = round(
            100 * max(0.0, busy1 - busy0 - ours) / (total1 - total0), 1)
    finally:
        if lbd is not None:
            lbd.stop()
        shutil.rmtree(tmp, ignore_errors=True)

    med = {name: {k: median_of(rs, k) for _, k in ROWS}
           for name, rs in runs.items()}
    result["median"] = med
    names = list(med)
    print("%-30s" % ("median of %d" % args.reps) +
          "".join("%14s" % n for n in names))
    for label, key in ROWS:
        print("%-30s" % label.format(n=args.messages, c=args.login_clients) +
              "".join("%14s" % fmt(med[n][key], key) for n in names))
    print("%-30s" % "RSS idle (MiB)" + "%14.1f" % (
        result["letterboxd_rss_idle_kib"] / 1024) + (
        "%14.1f" % (result["dovecot_rss_idle_kib"] / 1024)
        if dovecot else ""))
    print("%-30s" % "maildrop (messages / octets)" + "".join(
        "%14s" % ("%d/%d" % (result["%s_maildrop" % n]["messages"],
                             result["%s_maildrop" % n]["octets"]))
        for n in names))
    if "other_cpu_pct" in result:
        print("other processes used %.1f %% of the CPU during the run" %
              result["other_cpu_pct"])
    print("RESULT " + json.dumps(result))


if __name__ == "__main__":
    main()
