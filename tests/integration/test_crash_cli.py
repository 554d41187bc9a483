"""A `letterbox deliver` killed with SIGKILL at arbitrary moments leaves
either the whole message or nothing, and `letterbox check` passes after
every kill. (tests/unit/test_crash.c kills at every row change; this one
kills the real admin tool at wall-clock moments.)"""
import os
import random
import signal
import subprocess
import time


def test_sigkill_during_deliver(lb):
    lb.add_user("a@example.org")
    lb.add_user("b@example.org")
    # 6 MiB of distinct lines: many body chunks, a delivery that takes a
    # while, and content that cannot be mistaken for a partial copy.
    lines = [b"line %07d of a large message\r\n" % i for i in range(200000)]
    message = b"Subject: large\r\n\r\n" + b"".join(lines)
    rng = random.Random(4242)
    delivered = 0
    for attempt in range(12):
        proc = subprocess.Popen(
            [lb.bin, "--config", lb.config, "deliver", "--to",
             "a@example.org", "--to", "b@example.org"],
            stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL)
        try:
            proc.stdin.write(message)
            proc.stdin.close()
        except BrokenPipeError:
            pass
        time.sleep(rng.uniform(0.0, 0.4))
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()

        assert lb.out("check").strip() == "ok"
        counts = []
        for user in ("a@example.org", "b@example.org"):
            listing = [l for l in lb.out("message", "list", user).splitlines()
                       if "large" in l]
            counts.append(len(listing))
        # Both recipients or neither: one transaction.
        assert counts[0] == counts[1]
        assert counts[0] in (delivered, delivered + 1)
        delivered = counts[0]
    if delivered:
        shown = lb.run("message", "show", "a@example.org", "INBOX", "1")
        assert shown.stdout == message
