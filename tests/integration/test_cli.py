"""The letterbox admin tool, driven as a user would: every verb, its
errors (one line, non-zero exit) and the state it leaves in the store."""
import sqlite3


def error_line(proc):
    lines = proc.stderr.decode().strip().splitlines()
    assert len(lines) == 1, lines
    return lines[0]


def test_domain_add_list_del(lb):
    lb.run("domain", "add", "Example.ORG")
    lb.run("domain", "add", "example.net")
    assert lb.out("domain", "list").split() == ["example.net", "example.org"]
    lb.run("domain", "del", "example.net")
    assert lb.out("domain", "list").split() == ["example.org"]


def test_domain_errors(lb):
    lb.run("domain", "add", "example.org")
    dup = lb.run("domain", "add", "example.org", check=False)
    assert dup.returncode == 1
    assert "example.org" in error_line(dup)
    bad = lb.run("domain", "add", "-bad-.org", check=False)
    assert bad.returncode == 1
    error_line(bad)
    lb.add_user("alice@example.org")
    busy = lb.run("domain", "del", "example.org", check=False)
    assert busy.returncode == 1
    error_line(busy)
    assert lb.out("domain", "list").split() == ["example.org"]


def test_usage_errors_exit_2(lb):
    assert lb.run("domain", check=False).returncode == 2
    assert lb.run("frobnicate", check=False).returncode == 2
    assert lb.run("user", "add", check=False).returncode == 2


def test_user_add_creates_default_mailboxes(lb):
    lb.add_user("Alice@Example.org", quota="10M")
    users = lb.out("user", "list")
    assert "alice@example.org" in users
    mailboxes = lb.out("mailbox", "list", "alice@example.org")
    for name, use in [("INBOX", None), ("Sent", "\\Sent"),
                      ("Drafts", "\\Drafts"), ("Trash", "\\Trash"),
                      ("Junk", "\\Junk"), ("Archive", "\\Archive")]:
        line = [l for l in mailboxes.splitlines() if l.split()[:1] == [name]]
        assert line, (name, mailboxes)
        if use:
            assert use in line[0]


def test_failed_user_add_leaves_nothing(lb):
    proc = lb.run("user", "add", "bob@nowhere.example", "--password-stdin",
                  input="pw\n", check=False)
    assert proc.returncode == 1
    assert "nowhere.example" in error_line(proc)
    db = sqlite3.connect(lb.db_path)
    assert db.execute("SELECT count(*) FROM users").fetchone()[0] == 0
    assert db.execute("SELECT count(*) FROM mailboxes").fetchone()[0] == 0


def test_user_add_refuses_empty_password_and_duplicate(lb):
    lb.run("domain", "add", "example.org")
    empty = lb.run("user", "add", "a@example.org", "--password-stdin",
                   input="\n", check=False)
    assert empty.returncode == 1
    lb.add_user("a@example.org")
    dup = lb.run("user", "add", "a@example.org", "--password-stdin",
                 input="x\n", check=False)
    assert dup.returncode == 1
    error_line(dup)


def test_password_never_printed(lb):
    lb.run("domain", "add", "example.org")
    secret = "hunter2-very-secret"
    for args in (["user", "add", "a@example.org", "--password-stdin"],
                 ["user", "passwd", "a@example.org", "--password-stdin"],
                 ["user", "passwd", "nobody@example.org",
                  "--password-stdin"]):
        proc = lb.run(*args, input=secret + "\n", check=False)
        assert secret.encode() not in proc.stdout + proc.stderr


def test_user_passwd_changes_hash(lb):
    lb.add_user("a@example.org", password="one")
    db = sqlite3.connect(lb.db_path)
    before = db.execute("SELECT pwhash FROM users").fetchone()[0]
    lb.run("user", "passwd", "a@example.org", "--password-stdin",
           input="two\n")
    after = db.execute("SELECT pwhash FROM users").fetchone()[0]
    assert before != after and after.startswith("$argon2id$")


def test_user_del_removes_mail_and_bodies(lb):
    lb.add_user("a@example.org")
    lb.run("deliver", "--to", "a@example.org", input="Subject: x\r\n\r\nhi\r\n")
    lb.run("user", "del", "a@example.org")
    assert "a@example.org" not in lb.out("user", "list")
    db = sqlite3.connect(lb.db_path)
    assert db.execute("SELECT count(*) FROM bodies").fetchone()[0] == 0
    assert db.execute("SELECT count(*) FROM body_chunks").fetchone()[0] == 0
    assert lb.out("check").strip() == "ok"


MESSAGE = (b"From: sender@example.net\r\nTo: alice@example.org\r\n"
           b"Subject: Hello there\r\n\r\nfirst line\r\n.dot line\r\n"
           b"\x00binary\xff\r\n")


def test_deliver_then_show_byte_exact(lb):
    lb.add_user("alice@example.org")
    lb.run("deliver", "--to", "alice@example.org", input=MESSAGE)
    listing = lb.out("message", "list", "alice@example.org")
    assert "Hello there" in listing
    shown = lb.run("message", "show", "alice@example.org", "INBOX", "1")
    assert shown.stdout == MESSAGE


def test_deliver_converts_bare_lf(lb):
    lb.add_user("alice@example.org")
    lb.run("deliver", "--to", "alice@example.org",
           input=b"Subject: lf\n\nline one\nline two\r\n")
    shown = lb.run("message", "show", "alice@example.org", "INBOX", "1")
    assert shown.stdout == b"Subject: lf\r\n\r\nline one\r\nline two\r\n"


def test_aliases_catchall_and_plus(lb):
    lb.add_user("alice@example.org")
    lb.add_user("bob@example.org")
    lb.run("alias", "add", "team@example.org", "alice@example.org")
    lb.run("alias", "add", "team@example.org", "bob@example.org")
    lb.run("alias", "add", "@example.org", "bob@example.org")
    aliases = lb.out("alias", "list")
    assert "team@example.org" in aliases and "@example.org" in aliases

    lb.run("deliver", "--to", "team@example.org", input="Subject: team\r\n\r\n")
    lb.run("deliver", "--to", "alice+lists@example.org",
           input="Subject: plus\r\n\r\n")
    lb.run("deliver", "--to", "whoever@example.org",
           input="Subject: catchall\r\n\r\n")
    alice = lb.out("message", "list", "alice@example.org")
    bob = lb.out("message", "list", "bob@example.org")
    assert "team" in alice and "plus" in alice and "catchall" not in alice
    assert "team" in bob and "catchall" in bob and "plus" not in bob

    lb.run("alias", "del", "@example.org")
    proc = lb.run("deliver", "--to", "whoever@example.org",
                  input="Subject: lost\r\n\r\n", check=False)
    assert proc.returncode == 1


def test_deliver_unknown_recipient_delivers_nothing(lb):
    lb.add_user("alice@example.org")
    proc = lb.run("deliver", "--to", "alice@example.org", "--to",
                  "nobody@example.org", input="Subject: x\r\n\r\n",
                  check=False)
    assert proc.returncode == 1
    assert "nobody@example.org" in proc.stderr.decode()
    assert "Subject" not in lb.out("message", "list", "alice@example.org")
    db = sqlite3.connect(lb.db_path)
    assert db.execute("SELECT count(*) FROM messages").fetchone()[0] == 0


def test_deliver_to_foreign_domain_refused(lb):
    lb.add_user("alice@example.org")
    proc = lb.run("deliver", "--to", "someone@elsewhere.example",
                  input="Subject: x\r\n\r\n", check=False)
    assert proc.returncode == 1


def test_quota(lb):
    lb.add_user("alice@example.org")
    lb.run("quota", "set", "alice@example.org", "1K")
    proc = lb.run("deliver", "--to", "alice@example.org",
                  input=b"Subject: big\r\n\r\n" + b"x" * 2000 + b"\r\n",
                  check=False)
    assert proc.returncode == 1
    lb.run("deliver", "--to", "alice@example.org", input="Subject: small\r\n\r\n")
    assert "small" in lb.out("message", "list", "alice@example.org")
    lb.run("quota", "set", "alice@example.org", "0")
    lb.run("deliver", "--to", "alice@example.org",
           input=b"Subject: big\r\n\r\n" + b"x" * 2000 + b"\r\n")
    bad = lb.run("quota", "set", "alice@example.org", "lots", check=False)
    assert bad.returncode in (1, 2)


def test_mailbox_add_rename_del(lb):
    lb.add_user("a@example.org")
    lb.run("mailbox", "add", "a@example.org", "Projects")
    lb.run("mailbox", "add", "a@example.org", "Projects/2026")
    lb.run("mailbox", "rename", "a@example.org", "Projects", "Work")
    names = [l.split()[0] for l in
             lb.out("mailbox", "list", "a@example.org").splitlines()
             if l.strip()]
    assert "Work" in names and "Work/2026" in names
    assert "Projects" not in names
    lb.run("mailbox", "del", "a@example.org", "Work/2026")
    proc = lb.run("mailbox", "del", "a@example.org", "INBOX", check=False)
    assert proc.returncode == 1


def test_check_reports_damage(lb):
    lb.add_user("a@example.org")
    lb.run("deliver", "--to", "a@example.org", input="Subject: x\r\n\r\nbody\r\n")
    assert lb.out("check").strip() == "ok"
    db = sqlite3.connect(lb.db_path)
    db.execute("UPDATE body_chunks SET data = X'00'")
    db.commit()
    db.close()
    proc = lb.run("check", check=False)
    assert proc.returncode == 1
    assert b"SHA-256" in proc.stdout + proc.stderr


def test_newer_schema_refused(lb):
    lb.run("domain", "add", "example.org")
    db = sqlite3.connect(lb.db_path)
    db.execute("PRAGMA user_version = 999")
    db.commit()
    db.close()
    proc = lb.run("domain", "list", check=False)
    assert proc.returncode == 1
    assert "newer" in error_line(proc)


def test_config_error_names_file_and_line(lb, tmp_path):
    bad = tmp_path / "bad.conf"
    bad.write_text("data_dir = %s\n\n[imap]\nlisten = 127.0.0.1:143\n"
                   "colour = blue\n" % lb.data_dir)
    proc = lb.run("--config", str(bad), "domain", "list", check=False,
                  config=False)
    assert proc.returncode != 0
    assert "%s:5:" % bad in error_line(proc)


def test_data_dir_option(lb, tmp_path):
    d = str(tmp_path / "other")
    lb.run("--data-dir", d, "domain", "add", "example.com", config=False)
    assert lb.out("--data-dir", d, "domain", "list",
                  config=False).split() == ["example.com"]
