/*
 * body.c - message bodies: immutable, stored once per distinct content
 * (keyed by SHA-256), in LIMIT_BODY_CHUNK pieces so that readers can
 * stream them with short statements, with what IMAP answers without
 * reading them (ENVELOPE, BODYSTRUCTURE, BODY) computed by mime_parse()
 * once, when the body is first stored, and its decoded text
 * (mime_text.h, at most LIMIT_SEARCH_TEXT per column) put in the search
 * index later by store_index_pending(), outside delivery (search.c reads
 * it): the index insert costs more than all the rest of a delivery.
 *
 * Reference counts are kept by the triggers on messages (schema.c); a body
 * whose last message goes is deleted with its chunks. Body ids are never
 * reused (meta 'body_id'): a session holding the id of a body that went
 * gets STORE_ERR_NOT_FOUND, never another message.
 */
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "common/limits.h"
#include "common/log.h"
#include "common/mime.h"
#include "common/mime_text.h"
#include "common/xalloc.h"
#include "internal.h"

_Static_assert(ST_SHA256_LEN == crypto_hash_sha256_BYTES,
    "ST_SHA256_LEN is not the size of a SHA-256");

/* body_parse: the three IMAP strings of body's data (malloc'd into
 * body->mime), and, unless mime_only, its search text. */
static void
body_parse(struct st_body *body, bool mime_only)
{
	struct mime_message msg;

	/* mime.h: any input parses; only allocation failure (fatal) can
	 * stop it. */
	if (mime_parse(body->data, body->len, &msg) != 0)
		fatal("store: mime_parse failed");
	body->mime.envelope = msg.envelope;
	body->mime.bodystructure = msg.bodystructure;
	body->mime.body = msg.body;
	msg.envelope = msg.bodystructure = msg.body = NULL;
	if (!mime_only) {
		/* -1: the text is cut at LIMIT_SEARCH_TEXT, the rest
		 * unindexed */
		buf_init(&body->text_hdr, LIMIT_SEARCH_TEXT);
		buf_init(&body->text_body, LIMIT_SEARCH_TEXT);
		body->text_partial = mime_text_headers(body->data, body->len,
		    &msg, &body->text_hdr) < 0;
		if (mime_text_body(body->data, body->len, &msg,
		    &body->text_body) < 0)
			body->text_partial = true;
	}
	mime_message_free(&msg);
	body->parsed = true;
}

void
store_body_mime_clear(struct store_body_mime *mime)
{
	free(mime->envelope);
	free(mime->bodystructure);
	free(mime->body);
	memset(mime, 0, sizeof(*mime));
}

static int
insert_chunks(struct store *st, int64_t body_id, const char *data, size_t len)
{
	sqlite3_stmt *stmt;
	size_t off = 0;
	int64_t seq = 0;
	int rc;

	do {
		size_t n = len - off < LIMIT_BODY_CHUNK ? len - off :
		    LIMIT_BODY_CHUNK;

		stmt = st_stmt(st, "INSERT INTO body_chunks (body_id, seq,"
		    " data) VALUES (?, ?, ?)");
		if (stmt == NULL)
			return STORE_ERR_TEMP;
		sqlite3_bind_int64(stmt, 1, body_id);
		sqlite3_bind_int64(stmt, 2, seq++);
		if (n > 0)
			sqlite3_bind_blob(stmt, 3, data + off, (int)n,
			    SQLITE_STATIC);
		else
			sqlite3_bind_zeroblob(stmt, 3, 0);
		rc = sqlite3_step(stmt);
		st_done(stmt);
		if (rc != SQLITE_DONE)
			return st_err(st, rc);
		off += n;
	} while (off < len);
	return 0;
}

/* find_body: the id of the body with this SHA-256, or
 * STORE_ERR_NOT_FOUND. */
static int
find_body(struct store *st, const unsigned char *sha256, int64_t *id_r)
{
	sqlite3_stmt *stmt = st_stmt(st, "SELECT id FROM bodies"
	    " WHERE sha256 = ?");

	if (stmt == NULL)
		return STORE_ERR_TEMP;
	sqlite3_bind_blob(stmt, 1, sha256, ST_SHA256_LEN, SQLITE_STATIC);
	return st_step_id(st, stmt, id_r);
}

int
st_body_prepare(struct store *st, const char *data, size_t len,
    struct st_body *body_r)
{
	int64_t id;
	int ret;

	memset(body_r, 0, sizeof(*body_r));
	if (len > LIMIT_MESSAGE_SIZE)
		return STORE_ERR_LIMIT;
	body_r->data = data;
	body_r->len = len;
	crypto_hash_sha256(body_r->sha256, (const unsigned char *)data, len);
	/* A body stored already is not parsed again. */
	if ((ret = find_body(st, body_r->sha256, &id)) != STORE_ERR_NOT_FOUND)
		return ret;
	body_parse(body_r, true);
	return 0;
}

void
st_body_clear(struct st_body *body)
{
	store_body_mime_clear(&body->mime);
	buf_free(&body->text_hdr);
	buf_free(&body->text_body);
	memset(body, 0, sizeof(*body));
}

/* bind_buf: binds the text in b (may be empty) to parameter i. */
static void
bind_buf(sqlite3_stmt *stmt, int i, const struct buf *b)
{
	sqlite3_bind_text(stmt, i, b->data != NULL ? b->data : "", (int)b->len,
	    SQLITE_STATIC);
}

/* text_insert: the search index row of body id. */
static int
text_insert(struct store *st, sqlite3_stmt *stmt, int64_t id,
    const struct st_body *body)
{
	int rc;

	sqlite3_bind_int64(stmt, 1, id);
	bind_buf(stmt, 2, &body->text_hdr);
	bind_buf(stmt, 3, &body->text_body);
	rc = sqlite3_step(stmt);
	st_done(stmt);
	return rc == SQLITE_DONE ? 0 : st_err(st, rc);
}

#define TEXT_INSERT_SQL \
	"INSERT INTO body_text (rowid, hdr, body) VALUES (?, ?, ?)"

int
st_body_put(struct store *st, struct st_body *body, int64_t *body_id_r)
{
	sqlite3_stmt *stmt;
	int64_t id;
	int rc, ret;

	if ((ret = find_body(st, body->sha256, body_id_r)) !=
	    STORE_ERR_NOT_FOUND)
		return ret;
	if (!body->parsed)
		body_parse(body, true);
	if ((ret = st_new_id(st, ST_NEW_ID_SQL("body_id", "bodies"),
	    &id)) != 0)
		return ret;
	stmt = st_stmt(st, "INSERT INTO bodies (id, sha256, size, envelope,"
	    " bodystructure, body, text_partial) VALUES (?, ?, ?, ?, ?, ?, ?)");
	if (stmt == NULL)
		return STORE_ERR_TEMP;
	sqlite3_bind_int64(stmt, 1, id);
	sqlite3_bind_blob(stmt, 2, body->sha256, ST_SHA256_LEN, SQLITE_STATIC);
	sqlite3_bind_int64(stmt, 3, (int64_t)body->len);
	sqlite3_bind_text(stmt, 4, body->mime.envelope, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 5, body->mime.bodystructure, -1,
	    SQLITE_STATIC);
	sqlite3_bind_text(stmt, 6, body->mime.body, -1, SQLITE_STATIC);
	sqlite3_bind_int(stmt, 7, ST_TEXT_PENDING);
	rc = sqlite3_step(stmt);
	st_done(stmt);
	if (rc != SQLITE_DONE)
		return st_err(st, rc);
	*body_id_r = id;
	return insert_chunks(st, id, body->data, body->len);
}

static void
body_mime_from_row(sqlite3_stmt *stmt, void *item)
{
	struct store_body_mime *mime = item;

	mime->envelope = st_strdup_col(stmt, 0);
	mime->bodystructure = st_strdup_col(stmt, 1);
	mime->body = st_strdup_col(stmt, 2);
}

int
store_body_mime(struct store *st, int64_t body_id,
    struct store_body_mime *mime_r)
{
	sqlite3_stmt *stmt = st_stmt(st, "SELECT envelope, bodystructure, body"
	    " FROM bodies WHERE id = ?");

	if (stmt == NULL)
		return STORE_ERR_TEMP;
	sqlite3_bind_int64(stmt, 1, body_id);
	return st_step_row(st, stmt, body_mime_from_row, mime_r);
}

int
store_body_read_range(struct store *st, int64_t body_id, int64_t offset,
    char *buf, size_t size, size_t *len_r)
{
	sqlite3_stmt *stmt;
	size_t skip, got = 0;
	int rc;

	if (offset < 0)
		return STORE_ERR_INVALID;
	skip = (size_t)(offset % LIMIT_BODY_CHUNK);
	/* The LEFT JOIN yields a row (with NULL data) for a body that exists
	 * but has nothing at or after offset: the end, not "not found". */
	stmt = st_stmt(st, "SELECT c.data FROM bodies b LEFT JOIN"
	    " body_chunks c ON c.body_id = b.id AND c.seq >= ?2"
	    " WHERE b.id = ?1 ORDER BY c.seq");
	if (stmt == NULL)
		return STORE_ERR_TEMP;
	sqlite3_bind_int64(stmt, 1, body_id);
	sqlite3_bind_int64(stmt, 2, offset / LIMIT_BODY_CHUNK);
	rc = sqlite3_step(stmt);
	if (rc != SQLITE_ROW) {
		st_done(stmt);
		return rc == SQLITE_DONE ? STORE_ERR_NOT_FOUND :
		    st_err(st, rc);
	}
	do {
		const char *data = sqlite3_column_blob(stmt, 0);
		size_t n = (size_t)sqlite3_column_bytes(stmt, 0);

		if (skip >= n) {	/* offset at or past the end */
			skip -= n;
			continue;
		}
		n -= skip;
		if (n > size - got)
			n = size - got;
		memcpy(buf + got, data + skip, n);
		got += n;
		skip = 0;
	} while (got < size && (rc = sqlite3_step(stmt)) == SQLITE_ROW);
	st_done(stmt);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return st_err(st, rc);
	*len_r = got;
	return 0;
}

/* read_chunks: steps a bound stmt whose rows are (the body's size, one
 * chunk's data) in chunk order, assembling the body into a malloc'd
 * NUL-terminated *data_r (*len_r excludes the NUL). STORE_ERR_NOT_FOUND
 * without rows, STORE_ERR_CORRUPT when the chunks do not add up to the
 * size. Resets stmt. */
static int
read_chunks(struct store *st, sqlite3_stmt *stmt, char **data_r,
    size_t *len_r)
{
	int64_t size;
	size_t got = 0;
	char *data;
	int rc, ret = 0;

	rc = sqlite3_step(stmt);
	if (rc != SQLITE_ROW) {
		st_done(stmt);
		return rc == SQLITE_DONE ? STORE_ERR_NOT_FOUND :
		    st_err(st, rc);
	}
	size = sqlite3_column_int64(stmt, 0);
	if (size < 0 || size > LIMIT_MESSAGE_SIZE) {
		st_done(stmt);
		return STORE_ERR_CORRUPT;
	}
	data = xmalloc((size_t)size + 1);
	do {
		size_t n = (size_t)sqlite3_column_bytes(stmt, 1);

		if (n > (size_t)size - got) {
			ret = STORE_ERR_CORRUPT;
			break;
		}
		if (n > 0)
			memcpy(data + got, sqlite3_column_blob(stmt, 1), n);
		got += n;
	} while ((rc = sqlite3_step(stmt)) == SQLITE_ROW);
	st_done(stmt);
	if (ret == 0 && rc != SQLITE_DONE)
		ret = st_err(st, rc);
	if (ret == 0 && got != (size_t)size)
		ret = STORE_ERR_CORRUPT;
	if (ret != 0) {
		free(data);
		return ret;
	}
	data[got] = '\0';
	*data_r = data;
	*len_r = got;
	return 0;
}

int
store_body_read(struct store *st, int64_t mailbox_id, uint32_t uid,
    char **data_r, size_t *len_r)
{
	/* One statement, so the size and the chunks come from one
	 * snapshot even if the message is expunged meanwhile. */
	sqlite3_stmt *stmt = st_stmt(st, "SELECT b.size, c.data FROM messages m"
	    " JOIN bodies b ON b.id = m.body_id"
	    " JOIN body_chunks c ON c.body_id = b.id"
	    " WHERE m.mailbox_id = ? AND m.uid = ? ORDER BY c.seq");

	if (stmt == NULL)
		return STORE_ERR_TEMP;
	sqlite3_bind_int64(stmt, 1, mailbox_id);
	sqlite3_bind_int64(stmt, 2, uid);
	return read_chunks(st, stmt, data_r, len_r);
}

/* fill_prepare: a statement of its own for the fills below, which run
 * once per database: kept out of the statement cache. */
static int
fill_prepare(struct store *st, const char *sql, sqlite3_stmt **stmt_r)
{
	if (sqlite3_prepare_v2(st->db, sql, -1, stmt_r, NULL) != SQLITE_OK)
		return st_err(st, sqlite3_errcode(st->db));
	return 0;
}

/* What a fill stores of a parsed body, through its statement stmt. */
typedef int fill_write_fn(struct store *st, sqlite3_stmt *stmt, int64_t id,
    const struct st_body *body);

/* fill_one: parses body id, from its chunks, and writes it. */
static int
fill_one(struct store *st, sqlite3_stmt *load, sqlite3_stmt *stmt,
    int64_t id, fill_write_fn *write)
{
	struct st_body body;
	char *data;
	size_t len;
	int ret;

	sqlite3_bind_int64(load, 1, id);
	/* Every body has a chunk, if only an empty one. */
	if ((ret = read_chunks(st, load, &data, &len)) != 0)
		return ret == STORE_ERR_NOT_FOUND ? STORE_ERR_CORRUPT : ret;
	memset(&body, 0, sizeof(body));
	body.data = data;
	body.len = len;
	body_parse(&body, true);
	ret = write(st, stmt, id, &body);
	st_body_clear(&body);
	free(data);
	return ret;
}

/* fill_bodies: parses every body and writes it with the statement
 * write_sql. Returns 0 with the number of bodies in *count_r. */
static int
fill_bodies(struct store *st, const char *write_sql, fill_write_fn *write,
    int64_t *count_r)
{
	sqlite3_stmt *next = NULL, *load = NULL, *stmt = NULL;
	int64_t id = 0;
	int ret;

	/* One body at a time, in id order, each statement reset before the
	 * write: no read of bodies is open while a row of it changes, and
	 * only one body is in memory. */
	*count_r = 0;
	if ((ret = fill_prepare(st, "SELECT id FROM bodies WHERE id > ?"
	    " ORDER BY id LIMIT 1", &next)) != 0 ||
	    (ret = fill_prepare(st, "SELECT b.size, c.data FROM bodies b"
	    " JOIN body_chunks c ON c.body_id = b.id WHERE b.id = ?"
	    " ORDER BY c.seq", &load)) != 0 ||
	    (ret = fill_prepare(st, write_sql, &stmt)) != 0)
		goto out;
	for (;;) {
		sqlite3_bind_int64(next, 1, id);
		if ((ret = st_step_id(st, next, &id)) != 0)
			break;
		if ((ret = fill_one(st, load, stmt, id, write)) != 0)
			break;
		(*count_r)++;
	}
	if (ret == STORE_ERR_NOT_FOUND)
		ret = 0;
out:
	sqlite3_finalize(next);
	sqlite3_finalize(load);
	sqlite3_finalize(stmt);
	return ret;
}

static int
mime_write(struct store *st, sqlite3_stmt *stmt, int64_t id,
    const struct st_body *body)
{
	int rc;

	sqlite3_bind_text(stmt, 1, body->mime.envelope, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 2, body->mime.bodystructure, -1,
	    SQLITE_STATIC);
	sqlite3_bind_text(stmt, 3, body->mime.body, -1, SQLITE_STATIC);
	sqlite3_bind_int64(stmt, 4, id);
	rc = sqlite3_step(stmt);
	st_done(stmt);
	return rc == SQLITE_DONE ? 0 : st_err(st, rc);
}

int
st_body_mime_fill(struct store *st)
{
	int64_t count;

	return fill_bodies(st, "UPDATE bodies SET envelope = ?,"
	    " bodystructure = ?, body = ? WHERE id = ?", mime_write, &count);
}

/* index_one: indexes body id (its data in data[0,len)) in its own
 * transaction, unless it went or was indexed meanwhile. */
static int
index_one(struct store *st, int64_t id, const char *data, size_t len)
{
	struct st_body body;
	sqlite3_stmt *stmt;
	int ret, rc;

	memset(&body, 0, sizeof(body));
	body.data = data;
	body.len = len;
	body_parse(&body, false);
	if ((ret = st_begin(st)) != 0)
		goto out;
	stmt = st_stmt(st, "UPDATE bodies SET text_partial = ?"
	    " WHERE id = ? AND text_partial = " ST_TEXT_PENDING_SQL);
	if (stmt == NULL) {
		ret = STORE_ERR_TEMP;
		goto fail;
	}
	sqlite3_bind_int(stmt, 1, body.text_partial);
	sqlite3_bind_int64(stmt, 2, id);
	rc = sqlite3_step(stmt);
	st_done(stmt);
	if (rc != SQLITE_DONE) {
		ret = st_err(st, rc);
		goto fail;
	}
	/* Another indexer (a worker being replaced) may have been first. */
	if (sqlite3_changes(st->db) == 1 &&
	    ((stmt = st_stmt(st, TEXT_INSERT_SQL)) == NULL ||
	    (ret = text_insert(st, stmt, id, &body)) != 0)) {
		ret = ret != 0 ? ret : STORE_ERR_TEMP;
		goto fail;
	}
	ret = st_commit(st);
	goto out;
fail:
	st_rollback(st);
out:
	st_body_clear(&body);
	return ret;
}

int
store_index_pending(struct store *st, unsigned int max, unsigned int *done_r)
{
	sqlite3_stmt *stmt;
	int64_t id = 0;
	int ret = 0;

	*done_r = 0;
	while (*done_r < max) {
		char *data;
		size_t len;

		stmt = st_stmt(st, "SELECT id FROM bodies WHERE text_partial = "
		    ST_TEXT_PENDING_SQL " AND id > ? ORDER BY id LIMIT 1");
		if (stmt == NULL)
			return STORE_ERR_TEMP;
		sqlite3_bind_int64(stmt, 1, id);
		if ((ret = st_step_id(st, stmt, &id)) != 0)
			break;
		stmt = st_stmt(st, "SELECT b.size, c.data FROM bodies b"
		    " JOIN body_chunks c ON c.body_id = b.id WHERE b.id = ?"
		    " ORDER BY c.seq");
		if (stmt == NULL)
			return STORE_ERR_TEMP;
		sqlite3_bind_int64(stmt, 1, id);
		ret = read_chunks(st, stmt, &data, &len);
		if (ret == STORE_ERR_NOT_FOUND)
			continue;	/* deleted meanwhile */
		if (ret != 0)
			break;
		ret = index_one(st, id, data, len);
		free(data);
		if (ret != 0)
			break;
		(*done_r)++;
	}
	return ret == STORE_ERR_NOT_FOUND ? 0 : ret;
}
