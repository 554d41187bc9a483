/*
 * body.c - message bodies: immutable, stored once per distinct content
 * (keyed by SHA-256), in LIMIT_BODY_CHUNK pieces so that readers can
 * stream them with short statements.
 *
 * Reference counts are kept by the triggers on messages (schema.c); a body
 * whose last message goes is deleted with its chunks.
 */
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "common/limits.h"
#include "common/xalloc.h"
#include "internal.h"

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

int
st_body_put(struct store *st, const char *data, size_t len,
    int64_t *body_id_r)
{
	unsigned char hash[crypto_hash_sha256_BYTES];
	sqlite3_stmt *stmt;
	int rc;

	if (len > LIMIT_MESSAGE_SIZE)
		return STORE_ERR_LIMIT;
	crypto_hash_sha256(hash, (const unsigned char *)data, len);
	stmt = st_stmt(st, "SELECT id FROM bodies WHERE sha256 = ?");
	if (stmt == NULL)
		return STORE_ERR_TEMP;
	sqlite3_bind_blob(stmt, 1, hash, sizeof(hash), SQLITE_STATIC);
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW)
		*body_id_r = sqlite3_column_int64(stmt, 0);
	st_done(stmt);
	if (rc == SQLITE_ROW)
		return 0;
	if (rc != SQLITE_DONE)
		return st_err(st, rc);

	stmt = st_stmt(st, "INSERT INTO bodies (sha256, size) VALUES (?, ?)");
	if (stmt == NULL)
		return STORE_ERR_TEMP;
	sqlite3_bind_blob(stmt, 1, hash, sizeof(hash), SQLITE_STATIC);
	sqlite3_bind_int64(stmt, 2, (int64_t)len);
	rc = sqlite3_step(stmt);
	st_done(stmt);
	if (rc != SQLITE_DONE)
		return st_err(st, rc);
	*body_id_r = sqlite3_last_insert_rowid(st->db);
	return insert_chunks(st, *body_id_r, data, len);
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

int
store_body_read(struct store *st, int64_t mailbox_id, uint32_t uid,
    char **data_r, size_t *len_r)
{
	sqlite3_stmt *stmt;
	int64_t size;
	size_t got = 0;
	char *data;
	int rc, ret = 0;

	/* One statement, so the size and the chunks come from one
	 * snapshot even if the message is expunged meanwhile. */
	stmt = st_stmt(st, "SELECT b.size, c.data FROM messages m"
	    " JOIN bodies b ON b.id = m.body_id"
	    " JOIN body_chunks c ON c.body_id = b.id"
	    " WHERE m.mailbox_id = ? AND m.uid = ? ORDER BY c.seq");
	if (stmt == NULL)
		return STORE_ERR_TEMP;
	sqlite3_bind_int64(stmt, 1, mailbox_id);
	sqlite3_bind_int64(stmt, 2, uid);
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
