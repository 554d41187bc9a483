/*
 * schema.c - the database schema and its migrations.
 *
 * The schema version lives in PRAGMA user_version. migrations[i] takes a
 * database from version i to i + 1: its SQL, then its C function (either
 * may be absent), all versions in one transaction with the new
 * user_version. A database newer than the last one this binary knows is
 * refused rather than misread.
 *
 * Tables, in brief:
 *   meta(key, value)            counters: the last UIDVALIDITY given,
 *                               the last mailbox and body ids (never
 *                               reused; mailbox.c, body.c)
 *   domains(id, name)
 *   users(id, address, domain_id, pwhash, quota_bytes, used_bytes,
 *         messages)             used_bytes/messages kept by triggers
 *   aliases(source, user_id, domain_id)   source "local@dom" or "@dom"
 *   mailboxes(id, user_id, name, special_use, uidvalidity, uidnext,
 *         highestmodseq)
 *   subscriptions(user_id, name)
 *   bodies(id, sha256, size, refs, envelope, bodystructure, body,
 *         text_partial)         one per distinct content; envelope,
 *                               bodystructure and body (v2) are
 *                               mime_parse()'s IMAP strings, never ''
 *                               once stored (the DEFAULT only serves
 *                               ALTER TABLE in the migration)
 *   body_chunks(id, body_id, seq, data)   LIMIT_BODY_CHUNK pieces
 *   messages(id, mailbox_id, user_id, uid, body_id, size, flags,
 *         keywords, internal_date, modseq)
 *   expunged(mailbox_id, uid, modseq)     for CONDSTORE/QRESYNC (v4:
 *                               both by (mailbox_id, modseq) too)
 *   queue(id, qid, sender, user_id, size, body_8bit, smtputf8, created,
 *         delay_notified)       (v5) outbound messages; qid is the hex
 *                               id of the SMTP transaction (logs, CLI)
 *   queue_chunks(queue_id, seq, data)     its bytes, LIMIT_BODY_CHUNK
 *   queue_rcpts(id, queue_id, address, domain, state, attempts,
 *         next_attempt, last_attempt, last_code, last_answer,
 *         remote_mta, lease_pid)  one per recipient: state 0 pending,
 *                               1 delivered, 2 failed (bounce owed),
 *                               3 failed and reported; lease_pid: the
 *                               delivery agent process working on it
 *   dkim_keys(id, domain_id, selector, algorithm, private_pem, created)
 *   body_text(rowid = bodies.id, hdr, body)   (v3) the search index:
 *                               FTS5 over mime_text_headers() and
 *                               mime_text_body() of each body; a body
 *                               whose text passed LIMIT_SEARCH_TEXT is
 *                               indexed in part and has
 *                               bodies.text_partial = 1; a body not yet
 *                               indexed has no row and text_partial = 2
 *                               (store_index_pending() fills it later:
 *                               indexing costs more than storing, and
 *                               delivery should not wait for it)
 *
 * Why body_text is an ordinary (contentful) FTS5 table: a contentless one
 * (content='') can only drop a row given its original text again, and
 * contentless_delete=1 needs SQLite 3.43 (Debian 12 has 3.40); an
 * external-content table over a table of our own holds the same text
 * with more triggers to keep the two in step. Stored, the text costs
 * its size once more, and it gives IMAP the decoded text to confirm a
 * candidate, or to scan for a term too short for trigrams, without
 * decoding the message again (store_body_text()). The trigram tokenizer
 * (3.34) indexes every three characters, folding case (case_sensitive
 * 0). detail=column keeps which column a trigram is in but not where:
 * measured on mail-like text, an index 0.4 times the size of the text
 * where detail=full's positions make it 1.9 times (and its delivery CPU
 * a quarter higher), at the cost of phrase queries: a term's trigrams
 * are all required instead, which finds a superset of the bodies that
 * hold it (search.c), and IMAP confirms each against the stored text.
 * columnsize=0 drops the per-row sizes, which only ranking uses.
 */
#include <stdlib.h>

#include "common/xalloc.h"
#include "internal.h"

struct migration {
	const char *sql;		/* run first; may be NULL */
	int (*fn)(struct store *st);	/* then this; may be NULL */
};

static const struct migration migrations[] = {
	/* 0 -> 1 */
	{ "CREATE TABLE meta ("
	  "  key TEXT PRIMARY KEY,"
	  "  value INTEGER NOT NULL"
	  ") WITHOUT ROWID;"
	  "CREATE TABLE domains ("
	  "  id INTEGER PRIMARY KEY,"
	  "  name TEXT NOT NULL UNIQUE"
	  ");"
	  "CREATE TABLE users ("
	  "  id INTEGER PRIMARY KEY,"
	  "  address TEXT NOT NULL UNIQUE,"
	  "  domain_id INTEGER NOT NULL REFERENCES domains(id),"
	  "  pwhash TEXT NOT NULL,"
	  "  quota_bytes INTEGER NOT NULL DEFAULT 0,"
	  "  used_bytes INTEGER NOT NULL DEFAULT 0,"
	  "  messages INTEGER NOT NULL DEFAULT 0"
	  ");"
	  "CREATE INDEX users_domain ON users(domain_id);"
	  /* Columns in primary key order: SQLite 3.40.0-3.41.0 (Debian 12)
	   * integrity_check misreports NOT NULL columns of a WITHOUT ROWID
	   * table whose key order differs from its column order. */
	  "CREATE TABLE aliases ("
	  "  source TEXT NOT NULL,"
	  "  user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,"
	  "  domain_id INTEGER NOT NULL REFERENCES domains(id)"
	  "    ON DELETE CASCADE,"
	  "  PRIMARY KEY (source, user_id)"
	  ") WITHOUT ROWID;"
	  "CREATE INDEX aliases_user ON aliases(user_id);"
	  "CREATE INDEX aliases_domain ON aliases(domain_id);"
	  "CREATE TABLE mailboxes ("
	  "  id INTEGER PRIMARY KEY,"
	  "  user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,"
	  "  name TEXT NOT NULL,"
	  "  special_use TEXT,"
	  "  uidvalidity INTEGER NOT NULL,"
	  "  uidnext INTEGER NOT NULL DEFAULT 1,"
	  "  highestmodseq INTEGER NOT NULL DEFAULT 1,"
	  "  UNIQUE (user_id, name)"
	  ");"
	  "CREATE TABLE subscriptions ("
	  "  user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,"
	  "  name TEXT NOT NULL,"
	  "  PRIMARY KEY (user_id, name)"
	  ") WITHOUT ROWID;"
	  "CREATE TABLE bodies ("
	  "  id INTEGER PRIMARY KEY,"
	  "  sha256 BLOB NOT NULL UNIQUE,"
	  "  size INTEGER NOT NULL,"
	  "  refs INTEGER NOT NULL DEFAULT 0"
	  ");"
	  "CREATE TABLE body_chunks ("
	  "  id INTEGER PRIMARY KEY,"
	  "  body_id INTEGER NOT NULL REFERENCES bodies(id) ON DELETE CASCADE,"
	  "  seq INTEGER NOT NULL,"
	  "  data BLOB NOT NULL,"
	  "  UNIQUE (body_id, seq)"
	  ");"
	  "CREATE TABLE messages ("
	  "  id INTEGER PRIMARY KEY,"
	  "  mailbox_id INTEGER NOT NULL REFERENCES mailboxes(id)"
	  "    ON DELETE CASCADE,"
	  "  user_id INTEGER NOT NULL,"
	  "  uid INTEGER NOT NULL,"
	  "  body_id INTEGER NOT NULL REFERENCES bodies(id),"
	  "  size INTEGER NOT NULL,"
	  "  flags INTEGER NOT NULL DEFAULT 0,"
	  "  keywords TEXT NOT NULL DEFAULT '',"
	  "  internal_date INTEGER NOT NULL,"
	  "  modseq INTEGER NOT NULL,"
	  "  UNIQUE (mailbox_id, uid)"
	  ");"
	  "CREATE INDEX messages_body ON messages(body_id);"
	  "CREATE INDEX messages_user ON messages(user_id);"
	  "CREATE TABLE expunged ("
	  "  mailbox_id INTEGER NOT NULL REFERENCES mailboxes(id)"
	  "    ON DELETE CASCADE,"
	  "  uid INTEGER NOT NULL,"
	  "  modseq INTEGER NOT NULL,"
	  "  PRIMARY KEY (mailbox_id, uid)"
	  ") WITHOUT ROWID;"
	  /* Reference counts and usage follow the message rows, whatever
	   * deletes them (expunge, mailbox or user removal by cascade). */
	  "CREATE TRIGGER messages_insert AFTER INSERT ON messages BEGIN"
	  "  UPDATE bodies SET refs = refs + 1 WHERE id = new.body_id;"
	  "  UPDATE users SET used_bytes = used_bytes + new.size,"
	  "    messages = messages + 1 WHERE id = new.user_id;"
	  "END;"
	  "CREATE TRIGGER messages_delete AFTER DELETE ON messages BEGIN"
	  "  UPDATE users SET used_bytes = used_bytes - old.size,"
	  "    messages = messages - 1 WHERE id = old.user_id;"
	  "  UPDATE bodies SET refs = refs - 1 WHERE id = old.body_id;"
	  "  DELETE FROM bodies WHERE id = old.body_id AND refs <= 0;"
	  "END;"
	  "CREATE TRIGGER messages_move AFTER UPDATE OF user_id, size"
	  "  ON messages BEGIN"
	  "  UPDATE users SET used_bytes = used_bytes - old.size,"
	  "    messages = messages - 1 WHERE id = old.user_id;"
	  "  UPDATE users SET used_bytes = used_bytes + new.size,"
	  "    messages = messages + 1 WHERE id = new.user_id;"
	  "END;", NULL },
	/* 1 -> 2: what IMAP answers without reading bodies (DESIGN.md),
	 * computed for the bodies stored already. */
	{ "ALTER TABLE bodies ADD COLUMN envelope TEXT NOT NULL DEFAULT '';"
	  "ALTER TABLE bodies ADD COLUMN bodystructure TEXT NOT NULL"
	  "  DEFAULT '';"
	  "ALTER TABLE bodies ADD COLUMN body TEXT NOT NULL DEFAULT '';",
	  st_body_mime_fill },
	/* 2 -> 3: the search index (DESIGN.md: FTS5 over decoded headers
	 * and bodies); the bodies stored already wait for the indexer
	 * (text_partial 2), so the migration itself is quick. A body row
	 * takes its index row with it, whatever deletes it (the
	 * messages_delete trigger). The partial index finds the few bodies
	 * indexed in part, which every search must return. */
	{ "CREATE VIRTUAL TABLE body_text USING fts5(hdr, body,"
	  "  tokenize = 'trigram', detail = column, columnsize = 0);"
	  "ALTER TABLE bodies ADD COLUMN text_partial INTEGER NOT NULL"
	  "  DEFAULT 2;"
	  "CREATE INDEX bodies_text_partial ON bodies(id)"
	  "  WHERE text_partial != 0;"
	  "CREATE TRIGGER bodies_delete AFTER DELETE ON bodies BEGIN"
	  "  DELETE FROM body_text WHERE rowid = old.id;"
	  "END;",
	  NULL },
	/* 3 -> 4: what changed in a mailbox since a MODSEQ, found without
	 * reading the mailbox: IMAP sessions sync by these (flag changes,
	 * expunges) instead of listing every message. */
	{ "CREATE INDEX messages_modseq ON messages(mailbox_id, modseq);"
	  "CREATE INDEX expunged_modseq ON expunged(mailbox_id, modseq);",
	  NULL },
	/* 4 -> 5: outbound mail (queue.c) and DKIM keys (dkim_key.c).
	 * A queued message's bytes are its own (queue_chunks), not a
	 * shared body: they differ from any local copy (no Return-Path, a
	 * DKIM signature) and must not be parsed or indexed for IMAP. The
	 * due index serves the delivery agent's claim query. */
	{ "CREATE TABLE queue ("
	  "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
	  "  qid TEXT NOT NULL UNIQUE,"
	  "  sender TEXT NOT NULL,"
	  "  user_id INTEGER,"
	  "  size INTEGER NOT NULL,"
	  "  body_8bit INTEGER NOT NULL,"
	  "  smtputf8 INTEGER NOT NULL,"
	  "  created INTEGER NOT NULL,"
	  "  delay_notified INTEGER NOT NULL DEFAULT 0);"
	  "CREATE TABLE queue_chunks ("
	  "  queue_id INTEGER NOT NULL REFERENCES queue(id) ON DELETE CASCADE,"
	  "  seq INTEGER NOT NULL,"
	  "  data BLOB NOT NULL,"
	  "  PRIMARY KEY (queue_id, seq)) WITHOUT ROWID;"
	  "CREATE TABLE queue_rcpts ("
	  "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
	  "  queue_id INTEGER NOT NULL REFERENCES queue(id) ON DELETE CASCADE,"
	  "  address TEXT NOT NULL,"
	  "  domain TEXT NOT NULL,"
	  "  state INTEGER NOT NULL DEFAULT 0,"
	  "  attempts INTEGER NOT NULL DEFAULT 0,"
	  "  next_attempt INTEGER NOT NULL,"
	  "  last_attempt INTEGER NOT NULL DEFAULT 0,"
	  "  last_code INTEGER NOT NULL DEFAULT 0,"
	  "  last_answer TEXT NOT NULL DEFAULT '',"
	  "  remote_mta TEXT NOT NULL DEFAULT '',"
	  "  lease_pid INTEGER NOT NULL DEFAULT 0,"
	  "  UNIQUE (queue_id, address));"
	  "CREATE INDEX queue_rcpts_due ON queue_rcpts(state, next_attempt)"
	  "  WHERE state = 0;"
	  "CREATE INDEX queue_rcpts_domain_due ON queue_rcpts(domain,"
	  "  next_attempt) WHERE state = 0 AND lease_pid = 0;"
	  "CREATE INDEX queue_rcpts_failed ON queue_rcpts(queue_id)"
	  "  WHERE state = 2;"
	  "CREATE INDEX queue_rcpts_leased ON queue_rcpts(lease_pid)"
	  "  WHERE lease_pid != 0;"
	  "CREATE INDEX queue_unnotified ON queue(created)"
	  "  WHERE delay_notified = 0;"
	  "CREATE TABLE dkim_keys ("
	  "  id INTEGER PRIMARY KEY,"
	  "  domain_id INTEGER NOT NULL REFERENCES domains(id)"
	  "    ON DELETE CASCADE,"
	  "  selector TEXT NOT NULL,"
	  "  algorithm TEXT NOT NULL,"
	  "  private_pem TEXT NOT NULL,"
	  "  created INTEGER NOT NULL,"
	  "  UNIQUE (domain_id, selector));",
	  NULL },
};

#define SCHEMA_LATEST ((int)(sizeof(migrations) / sizeof(migrations[0])))

int
store_schema_version(void)
{
	return SCHEMA_LATEST;
}

int
st_schema_latest(void)
{
	return SCHEMA_LATEST;
}

static int
read_version(struct store *st, int *version_r)
{
	sqlite3_stmt *stmt;
	int rc;

	if (sqlite3_prepare_v2(st->db, "PRAGMA user_version", -1, &stmt,
	    NULL) != SQLITE_OK)
		return st_err(st, sqlite3_errcode(st->db));
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW)
		*version_r = sqlite3_column_int(stmt, 0);
	sqlite3_finalize(stmt);
	return rc == SQLITE_ROW ? 0 : st_err(st, rc);
}

static int
migrate_one(struct store *st, const struct migration *m)
{
	int rc;

	if (m->sql != NULL &&
	    (rc = sqlite3_exec(st->db, m->sql, NULL, NULL, NULL)) != SQLITE_OK)
		return st_err(st, rc);
	return m->fn != NULL ? m->fn(st) : 0;
}

int
st_migrate(struct store *st, char **error_r)
{
	int version, ret, rc;
	char *sql;

	if ((ret = read_version(st, &version)) != 0) {
		*error_r = xasprintf("cannot read schema version: %s",
		    sqlite3_errmsg(st->db));
		return ret;
	}
	if (version == SCHEMA_LATEST)
		return 0;
	if (version > SCHEMA_LATEST) {
		*error_r = xasprintf("database schema version %d is newer than "
		    "this letterbox knows (%d): upgrade letterbox", version,
		    SCHEMA_LATEST);
		return STORE_ERR_TOO_NEW;
	}
	if ((ret = st_begin(st)) != 0) {
		*error_r = xasprintf("cannot lock database to migrate: %s",
		    store_strerror(ret));
		return ret;
	}
	/* Another process may have migrated while we waited for the lock. */
	if ((ret = read_version(st, &version)) != 0)
		goto fail;
	if (version > SCHEMA_LATEST) {
		st_rollback(st);
		*error_r = xasprintf("database schema version %d is newer than "
		    "this letterbox knows (%d): upgrade letterbox", version,
		    SCHEMA_LATEST);
		return STORE_ERR_TOO_NEW;
	}
	for (; version < SCHEMA_LATEST; version++)
		if ((ret = migrate_one(st, &migrations[version])) != 0)
			goto fail;
	sql = xasprintf("PRAGMA user_version = %d", SCHEMA_LATEST);
	rc = sqlite3_exec(st->db, sql, NULL, NULL, NULL);
	free(sql);
	if (rc != SQLITE_OK) {
		ret = st_err(st, rc);
		goto fail;
	}
	if ((ret = st_commit(st)) != 0) {
		*error_r = xasprintf("cannot commit migration: %s",
		    store_strerror(ret));
		return ret;
	}
	return 0;
fail:
	*error_r = xasprintf("migration to schema version %d failed: %s",
	    version + 1, sqlite3_errmsg(st->db));
	st_rollback(st);
	return ret;
}
