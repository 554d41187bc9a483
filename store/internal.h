/*
 * internal.h - what the store's files share; nothing outside store/ (but
 * tests) includes it.
 */
#ifndef LETTERBOX_STORE_INTERNAL_H
#define LETTERBOX_STORE_INTERNAL_H

#include <sqlite3.h>

#include "common/buf.h"
#include "store.h"

/* One slot per SQL literal of store/ that a handle runs (st_stmt() is
 * fatal() past it): some 57 in schema 2, room left for IMAP's. */
#define STMT_CACHE_SIZE 128

/* One database handle and what belongs to it; owned by one thread. */
struct store {
	sqlite3 *db;
	char *data_dir;		/* owned */
	char *notify_path;	/* owned: data_dir/notify.sock */
	int notify_fd;		/* -1 until the first notification */
	struct {
		const char *sql;	/* static string: compared by address */
		sqlite3_stmt *stmt;
	} cache[STMT_CACHE_SIZE];
	size_t cache_used;
};

/* ---- db.c ---- */

/* st_stmt: a prepared statement for sql, which must be a string literal
 * (cached by its address). It is reset and its bindings cleared: the
 * caller binds, steps, and calls st_done() when finished with it. Returns
 * NULL on a prepare error (logged), which is a programming error or a
 * damaged database. */
sqlite3_stmt *st_stmt(struct store *st, const char *sql);
/* st_done: resets stmt so it holds no read transaction open. */
void st_done(sqlite3_stmt *stmt);
/* st_err: maps a SQLite result code to an enum store_err, logging what is
 * not an ordinary outcome. */
int st_err(struct store *st, int rc);
/* st_exec: runs sql (no results) through the cache; 0 or a store_err. */
int st_exec(struct store *st, const char *sql);
/* st_begin: BEGIN IMMEDIATE (DESIGN.md: every write transaction). */
int st_begin(struct store *st);
int st_commit(struct store *st);
/* st_commit_notify: st_commit(), then on success st_notify(user_id). */
int st_commit_notify(struct store *st, int64_t user_id);
/* st_run_id: runs sql (a string literal, no result rows) with one integer
 * parameter. */
int st_run_id(struct store *st, const char *sql, int64_t id);
/* st_step_change: steps a bound write stmt once and resets it: 0 when
 * it changed a row, STORE_ERR_NOT_FOUND when it changed none. */
int st_step_change(struct store *st, sqlite3_stmt *stmt);
/* st_rollback: never fails in a way the caller can act on. */
void st_rollback(struct store *st);
/* st_strdup_col: a malloc'd copy of text column col ("" when NULL). */
char *st_strdup_col(sqlite3_stmt *stmt, int col);

/* st_collect_strv: steps a bound stmt to the end, collecting text column 0
 * into a NULL-terminated array (store_strv_free()); resets stmt. */
int st_collect_strv(struct store *st, sqlite3_stmt *stmt, char ***strv_r);

/* st_lookup_id: runs sql (a string literal) with one text parameter and
 * returns its first row's first column in *id_r; STORE_ERR_NOT_FOUND when
 * there is no row. */
int st_lookup_id(struct store *st, const char *sql, const char *param,
    int64_t *id_r);

/* st_step_id: steps a bound stmt once: its first column into *id_r, or
 * STORE_ERR_NOT_FOUND when there is no row. Resets stmt. */
int st_step_id(struct store *st, sqlite3_stmt *stmt, int64_t *id_r);
/* st_step_row: steps a bound stmt once: from_row(stmt, item) on a row,
 * or STORE_ERR_NOT_FOUND when there is none. Resets stmt. */
int st_step_row(struct store *st, sqlite3_stmt *stmt,
    void (*from_row)(sqlite3_stmt *, void *), void *item);
/* ST_NEW_ID_SQL: the statement st_new_id() runs for table, whose last id
 * given is kept in meta under key (both string literals). */
#define ST_NEW_ID_SQL(key, table) \
	"INSERT INTO meta (key, value) VALUES ('" key "'," \
	" (SELECT coalesce(max(id), 0) + 1 FROM " table "))" \
	" ON CONFLICT (key) DO UPDATE" \
	" SET value = max(value + 1, excluded.value) RETURNING value"
/* st_new_id: runs sql, an ST_NEW_ID_SQL(), for an id that no row of its
 * table ever had: SQLite would give the largest one again once its row is
 * deleted, and a session may still hold it. Inside a transaction. */
int st_new_id(struct store *st, const char *sql, int64_t *id_r);
/* st_collect: steps a bound stmt to the end, making an array of items of
 * size bytes with from_row(stmt, item); on failure frees what it made
 * with clear(item). Resets stmt. */
/* st_collect_uids: the first column of every row of a bound stmt, as
 * UIDs into a malloc'd array (NULL when none). */
int st_collect_uids(struct store *st, sqlite3_stmt *stmt, uint32_t **uids_r,
    size_t *count_r);
int st_collect(struct store *st, sqlite3_stmt *stmt, size_t size,
    void (*from_row)(sqlite3_stmt *, void *), void (*clear)(void *),
    void **items_r, size_t *count_r);
/* st_items_free: clear()s count items of size bytes, frees the array and
 * sets *itemsp to NULL. */
void st_items_free(void **itemsp, size_t count, size_t size,
    void (*clear)(void *));

#define STORE_STR_(x) #x
#define STORE_STR(x) STORE_STR_(x)

/* ---- schema.c ---- */
int st_migrate(struct store *st, char **error_r);
int st_schema_latest(void);

/* ---- user.c ---- */
/* st_user_id: the id of the user with this (already folded) address. */
int st_user_id(struct store *st, const char *address, int64_t *id_r);
/* st_quota_room: 0 when user_id can take add_bytes more, else
 * STORE_ERR_QUOTA (or a lookup error). */
int st_quota_room(struct store *st, int64_t user_id, int64_t add_bytes);
/* st_user_fold: validates an address and writes its folded form into out
 * (LIMIT_ADDR_TOTAL + 1 bytes). */
int st_user_fold(const char *address, char *out);

/* ---- mailbox.c ---- */
int st_mailbox_create(struct store *st, int64_t user_id, const char *name,
    const char *special_use, int64_t *id_r);
/* st_mailbox_owner: the user a mailbox belongs to. */
int st_mailbox_owner(struct store *st, int64_t mailbox_id, int64_t *user_id_r);
/* st_mailbox_next: reserves count UIDs and one new MODSEQ in mailbox_id;
 * *uid_r is the first reserved UID. Inside a transaction. */
int st_mailbox_next(struct store *st, int64_t mailbox_id, uint32_t count,
    uint32_t *uid_r, uint64_t *modseq_r);
/* st_mailbox_canon: the stored form of a valid name ("inbox" -> "INBOX")
 * into out (LIMIT_MAILBOX_NAME + 1 bytes); STORE_ERR_INVALID if invalid. */
int st_mailbox_canon(const char *name, char *out);

/* ---- body.c ---- */
#define ST_SHA256_LEN 32

/* A body made ready outside the write transaction: its hash and, when no
 * stored body had that hash, its MIME strings and search text. Owns mime
 * and the texts; data is the caller's and must outlive it. */
struct st_body {
	const char *data;
	size_t len;
	unsigned char sha256[ST_SHA256_LEN];
	bool parsed;			/* mime and the texts are filled */
	struct store_body_mime mime;	/* owned */
	struct buf text_hdr;		/* owned: mime_text_headers() */
	struct buf text_body;		/* owned: mime_text_body() */
	bool text_partial;		/* a text passed LIMIT_SEARCH_TEXT */
};
/* st_body_prepare: hashes data and, unless a body with the same SHA-256
 * exists already, runs mime_parse() and mime_text_headers()/_body() on
 * it: the costly work, done before BEGIN so that the write lock is not
 * held meanwhile. STORE_ERR_LIMIT past LIMIT_MESSAGE_SIZE. Clear *body_r
 * with st_body_clear() whatever the outcome. */
int st_body_prepare(struct store *st, const char *data, size_t len,
    struct st_body *body_r);
void st_body_clear(struct st_body *body);
/* st_body_put: the id of the body with body's bytes, inserting it (in
 * LIMIT_BODY_CHUNK pieces, with its MIME strings and its row of the
 * search index) when no body has the same SHA-256; parses only if
 * st_body_prepare() did not (the body it saw went meanwhile). Inside a
 * transaction. */
int st_body_put(struct store *st, struct st_body *body, int64_t *body_id_r);
/* st_body_mime_fill: computes the MIME strings of every body whose
 * strings are empty (migration to schema 2). Inside a transaction. */
int st_body_mime_fill(struct store *st);
/* bodies.text_partial of a body whose text is not indexed yet. */
#define ST_TEXT_PENDING 2
#define ST_TEXT_PENDING_SQL "2"

/* ---- message.c ---- */
/* st_message_insert: one message row (the triggers count the body
 * reference and the owner's usage). */
int st_message_insert(struct store *st, int64_t mailbox_id, int64_t user_id,
    uint32_t uid, int64_t body_id, int64_t size, uint32_t flags,
    const char *keywords, int64_t internal_date, uint64_t modseq);

/* st_deliver_locked: the local copies of a delivery inside the caller's
 * transaction (results_r and uids_r: count entries); STORE_ERR_QUOTA when
 * nobody (all: somebody) lacked room. */
int st_deliver_locked(struct store *st, const int64_t *user_ids, size_t count,
    struct st_body *body, int64_t internal_date, bool all, int *results_r,
    uint32_t *uids_r);

/* st_messages_move: moves the messages with uids from src to dst inside
 * the caller's transaction (store_move without BEGIN/COMMIT). */
int st_messages_move(struct store *st, int64_t src, const uint32_t *uids,
    size_t count, int64_t dst, uint32_t *new_uids_r);
/* st_expunged_record: remembers that uid left mailbox_id at modseq. */
int st_expunged_record(struct store *st, int64_t mailbox_id, uint32_t uid,
    uint64_t modseq);

/* ---- lock.c ---- */
/* st_queue_agent_alive: the delivery agent pid still holds its lock. */
bool st_queue_agent_alive(struct store *st, int64_t pid);

/* ---- queue.c ---- */
/* st_queue_insert: queues q inside the caller's transaction. */
int st_queue_insert(struct store *st, const struct store_queue_new *q,
    int64_t now);

/* ---- flags.c ---- */
/* st_keywords_normalize: validates a space-separated keyword list (IMAP
 * atoms, no '\\'), drops case-insensitive duplicates, and returns a
 * malloc'd normalized list ("" for none) in *out_r. */
int st_keywords_normalize(const char *keywords, char **out_r);

/* ---- notify.c ---- */
/* st_notify: tells listeners that user_id's mail changed. Best effort. */
void st_notify(struct store *st, int64_t user_id);
void st_notify_close(struct store *st);
/* st_notify_path: data_dir/notify.sock, malloc'd. */
char *st_notify_path(const char *data_dir);

#endif
