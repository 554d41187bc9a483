/*
 * check.c - integrity check of a store (letterbox check).
 *
 * Read-only. Each query below finds one kind of problem and reports a row
 * per instance; the body hashes are recomputed chunk by chunk. Runs in one
 * read transaction, so it sees one consistent snapshot.
 */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/xalloc.h"
#include "internal.h"

struct check {
	struct store *st;
	void (*report)(void *, const char *);
	void *arg;
	int problems;
};

/* Each query's rows are problems: column 0 is the text to report. */
static const struct {
	const char *sql;
} checks[] = {
	{ "SELECT 'foreign key: ' || \"table\" || ' row ' || rowid ||"
	  " ' refers to missing ' || parent FROM pragma_foreign_key_check" },
	{ "SELECT 'body ' || b.id || ': reference count ' || b.refs ||"
	  " ' but ' || (SELECT count(*) FROM messages m WHERE m.body_id = b.id)"
	  " || ' messages' FROM bodies b WHERE b.refs !="
	  " (SELECT count(*) FROM messages m WHERE m.body_id = b.id)" },
	{ "SELECT 'body ' || b.id || ': size ' || b.size || ' but chunks hold '"
	  " || coalesce((SELECT sum(length(c.data)) FROM body_chunks c"
	  " WHERE c.body_id = b.id), 0) FROM bodies b WHERE b.size !="
	  " coalesce((SELECT sum(length(c.data)) FROM body_chunks c"
	  " WHERE c.body_id = b.id), 0)" },
	{ "SELECT 'body ' || id || ': no ENVELOPE, BODYSTRUCTURE or BODY'"
	  " FROM bodies WHERE envelope = '' OR bodystructure = ''"
	  " OR body = ''" },
	{ "SELECT 'message ' || m.id || ': size ' || m.size || ' but body ' ||"
	  " b.id || ' has ' || b.size FROM messages m JOIN bodies b"
	  " ON b.id = m.body_id WHERE m.size != b.size" },
	{ "SELECT 'message ' || m.id || ': owner ' || m.user_id ||"
	  " ' but its mailbox belongs to ' || x.user_id FROM messages m"
	  " JOIN mailboxes x ON x.id = m.mailbox_id WHERE m.user_id != x.user_id" },
	{ "SELECT 'message ' || m.id || ': UID ' || m.uid || ' not below"
	  " UIDNEXT ' || x.uidnext || ' of mailbox ' || x.id FROM messages m"
	  " JOIN mailboxes x ON x.id = m.mailbox_id WHERE m.uid < 1"
	  " OR m.uid >= x.uidnext" },
	{ "SELECT 'message ' || m.id || ': MODSEQ ' || m.modseq || ' above"
	  " HIGHESTMODSEQ ' || x.highestmodseq FROM messages m"
	  " JOIN mailboxes x ON x.id = m.mailbox_id"
	  " WHERE m.modseq > x.highestmodseq" },
	{ "SELECT 'user ' || u.address || ': usage ' || u.used_bytes ||"
	  " ' bytes in ' || u.messages || ' messages, but messages sum to ' ||"
	  " coalesce(s.bytes, 0) || ' in ' || coalesce(s.n, 0) FROM users u"
	  " LEFT JOIN (SELECT user_id, sum(size) AS bytes, count(*) AS n"
	  " FROM messages GROUP BY user_id) s ON s.user_id = u.id"
	  " WHERE u.used_bytes != coalesce(s.bytes, 0)"
	  " OR u.messages != coalesce(s.n, 0)" },
	{ "SELECT 'user ' || u.address || ': no INBOX' FROM users u"
	  " WHERE NOT EXISTS (SELECT 1 FROM mailboxes x"
	  " WHERE x.user_id = u.id AND x.name = 'INBOX')" },
	{ "SELECT 'message ' || m.id || ': belongs to no user' FROM messages m"
	  " WHERE NOT EXISTS (SELECT 1 FROM users u WHERE u.id = m.user_id)" },
	/* The search index has one row per body: cheap to check both ways.
	 * (FTS5's own 'integrity-check' re-tokenizes everything and needs
	 * a write transaction: not here.) */
	{ "SELECT 'body ' || id || ': not in the search index' FROM bodies"
	  " WHERE text_partial != 2 AND id NOT IN (SELECT rowid FROM body_text)" },
	{ "SELECT 'body ' || b.id || ': waiting to be indexed, yet in the"
	  " search index' FROM bodies b JOIN body_text t ON t.rowid = b.id"
	  " WHERE b.text_partial = 2" },
	{ "SELECT 'search index: row ' || rowid || ' has no body'"
	  " FROM body_text WHERE rowid NOT IN (SELECT id FROM bodies)" },
};

static void
problem(struct check *c, const char *text)
{
	c->problems++;
	c->report(c->arg, text);
}

static int
run_query(struct check *c, const char *sql)
{
	sqlite3_stmt *stmt;
	int rc;

	if (sqlite3_prepare_v2(c->st->db, sql, -1, &stmt, NULL) != SQLITE_OK)
		return st_err(c->st, sqlite3_errcode(c->st->db));
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		const char *text = (const char *)sqlite3_column_text(stmt, 0);

		/* integrity_check says "ok" when all is well. */
		if (text != NULL && strcmp(text, "ok") != 0)
			problem(c, text);
	}
	sqlite3_finalize(stmt);
	return rc == SQLITE_DONE ? 0 : st_err(c->st, rc);
}

/* check_hashes: recomputes every body's SHA-256 from its chunks. */
static int
check_hashes(struct check *c)
{
	sqlite3_stmt *stmt;
	crypto_hash_sha256_state state;
	unsigned char hash[crypto_hash_sha256_BYTES];
	int64_t cur = -1;
	const void *want = NULL;
	char *text;
	int rc;

	if (sqlite3_prepare_v2(c->st->db, "SELECT b.id, b.sha256, c.data"
	    " FROM bodies b LEFT JOIN body_chunks c ON c.body_id = b.id"
	    " ORDER BY b.id, c.seq", -1, &stmt, NULL) != SQLITE_OK)
		return st_err(c->st, sqlite3_errcode(c->st->db));
	unsigned char want_copy[crypto_hash_sha256_BYTES];
	for (;;) {
		int64_t id = -1;

		rc = sqlite3_step(stmt);
		if (rc == SQLITE_ROW)
			id = sqlite3_column_int64(stmt, 0);
		if (cur != -1 && id != cur) {
			crypto_hash_sha256_final(&state, hash);
			if (want == NULL || memcmp(hash, want_copy,
			    sizeof(hash)) != 0) {
				text = xasprintf("body %lld: content does not"
				    " match its SHA-256", (long long)cur);
				problem(c, text);
				free(text);
			}
		}
		if (rc != SQLITE_ROW)
			break;
		if (id != cur) {
			cur = id;
			crypto_hash_sha256_init(&state);
			want = sqlite3_column_blob(stmt, 1);
			if (want != NULL &&
			    sqlite3_column_bytes(stmt, 1) == sizeof(want_copy))
				memcpy(want_copy, want, sizeof(want_copy));
			else
				want = NULL;
		}
		if (sqlite3_column_bytes(stmt, 2) > 0)
			crypto_hash_sha256_update(&state,
			    sqlite3_column_blob(stmt, 2),
			    (size_t)sqlite3_column_bytes(stmt, 2));
	}
	sqlite3_finalize(stmt);
	return rc == SQLITE_DONE ? 0 : st_err(c->st, rc);
}

int
store_check(struct store *st, void (*report)(void *, const char *),
    void *arg)
{
	struct check c = { st, report, arg, 0 };
	int ret;

	if ((ret = st_exec(st, "BEGIN")) != 0)
		return ret;
	ret = run_query(&c, "PRAGMA integrity_check");
	for (size_t i = 0; ret == 0 && i < sizeof(checks) / sizeof(checks[0]);
	    i++)
		ret = run_query(&c, checks[i].sql);
	if (ret == 0)
		ret = check_hashes(&c);
	st_rollback(st);
	if (ret != 0)
		return ret;
	return c.problems > 0 ? STORE_ERR_CORRUPT : 0;
}
