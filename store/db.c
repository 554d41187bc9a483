/*
 * db.c - opening the database, statement cache, transactions, errors.
 *
 * Every handle runs WAL with synchronous=FULL (a commit that returned is on
 * disk), foreign keys on, and a busy timeout (LIMIT_BUSY_TIMEOUT_MS).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/limits.h"
#include "common/log.h"
#include "common/xalloc.h"
#include "internal.h"

const char *
store_strerror(int err)
{
	switch (err) {
	case STORE_OK: return "success";
	case STORE_ERR_NOT_FOUND: return "not found";
	case STORE_ERR_EXISTS: return "already exists";
	case STORE_ERR_INVALID: return "invalid argument";
	case STORE_ERR_QUOTA: return "quota exceeded";
	case STORE_ERR_NOT_LOCAL: return "domain not hosted here";
	case STORE_ERR_IN_USE: return "in use";
	case STORE_ERR_TEMP: return "temporary storage failure";
	case STORE_ERR_TOO_NEW: return "database is newer than this program";
	case STORE_ERR_CORRUPT: return "database is damaged";
	case STORE_ERR_AUTH: return "authentication failed";
	case STORE_ERR_LIMIT: return "limit reached";
	}
	return "unknown error";
}

int
st_err(struct store *st, int rc)
{
	switch (rc & 0xff) {
	case SQLITE_OK:
	case SQLITE_DONE:
	case SQLITE_ROW:
		return STORE_OK;
	case SQLITE_CONSTRAINT:
		if (rc == SQLITE_CONSTRAINT_UNIQUE ||
		    rc == SQLITE_CONSTRAINT_PRIMARYKEY)
			return STORE_ERR_EXISTS;
		log_error("store: constraint: %s", sqlite3_errmsg(st->db));
		return STORE_ERR_INVALID;
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
	case SQLITE_FULL:
	case SQLITE_IOERR:
	case SQLITE_NOMEM:
	case SQLITE_CANTOPEN:
	case SQLITE_PROTOCOL:
	case SQLITE_READONLY:
		log_warn("store: temporary failure: %s",
		    sqlite3_errmsg(st->db));
		return STORE_ERR_TEMP;
	case SQLITE_CORRUPT:
	case SQLITE_NOTADB:
		log_error("store: database damaged: %s",
		    sqlite3_errmsg(st->db));
		return STORE_ERR_CORRUPT;
	default:
		log_error("store: sqlite error %d: %s", rc,
		    sqlite3_errmsg(st->db));
		return STORE_ERR_TEMP;
	}
}

sqlite3_stmt *
st_stmt(struct store *st, const char *sql)
{
	sqlite3_stmt *stmt;

	for (size_t i = 0; i < st->cache_used; i++) {
		if (st->cache[i].sql == sql) {
			stmt = st->cache[i].stmt;
			sqlite3_reset(stmt);
			sqlite3_clear_bindings(stmt);
			return stmt;
		}
	}
	if (sqlite3_prepare_v3(st->db, sql, -1, SQLITE_PREPARE_PERSISTENT,
	    &stmt, NULL) != SQLITE_OK) {
		log_error("store: prepare: %s: %s", sqlite3_errmsg(st->db),
		    sql);
		return NULL;
	}
	if (st->cache_used == STMT_CACHE_SIZE)
		fatal("store: statement cache full (raise STMT_CACHE_SIZE)");
	st->cache[st->cache_used].sql = sql;
	st->cache[st->cache_used].stmt = stmt;
	st->cache_used++;
	return stmt;
}

void
st_done(sqlite3_stmt *stmt)
{
	if (stmt != NULL)
		sqlite3_reset(stmt);
}

int
st_exec(struct store *st, const char *sql)
{
	sqlite3_stmt *stmt = st_stmt(st, sql);
	int rc;

	if (stmt == NULL)
		return STORE_ERR_TEMP;
	rc = sqlite3_step(stmt);
	st_done(stmt);
	return rc == SQLITE_DONE || rc == SQLITE_ROW ? 0 : st_err(st, rc);
}

int
st_begin(struct store *st)
{
	return st_exec(st, "BEGIN IMMEDIATE");
}

int
st_commit(struct store *st)
{
	int ret = st_exec(st, "COMMIT");

	if (ret != 0)
		st_rollback(st);
	return ret;
}

void
st_rollback(struct store *st)
{
	if (!sqlite3_get_autocommit(st->db))
		(void)sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
}

char *
st_strdup_col(sqlite3_stmt *stmt, int col)
{
	const unsigned char *s = sqlite3_column_text(stmt, col);

	return xstrdup(s != NULL ? (const char *)s : "");
}

int
store_open(const char *data_dir, struct store **store_r, char **error_r)
{
	struct store *st;
	struct stat sb;
	char *path;
	bool fresh;
	int rc, ret;

	if (mkdir(data_dir, 0700) != 0 && errno != EEXIST) {
		*error_r = xasprintf("cannot create %s: %s", data_dir,
		    strerror(errno));
		return STORE_ERR_TEMP;
	}
	path = xasprintf("%s/letterbox.db", data_dir);
	/* Never open() and close() the database file ourselves: closing any
	 * descriptor of it drops every POSIX lock this process holds on it,
	 * those of other threads' SQLite handles too, and another process
	 * could then checkpoint and delete the WAL under them ("How To
	 * Corrupt An SQLite Database File" 2.2). A new file is made private
	 * by chmod instead, before its -wal and -shm (which copy its mode)
	 * exist; data_dir is 0700 anyway. */
	fresh = stat(path, &sb) != 0 && errno == ENOENT;
	st = xcalloc(1, sizeof(*st));
	st->notify_fd = -1;
	st->data_dir = xstrdup(data_dir);
	st->notify_path = st_notify_path(data_dir);
	/* NOMUTEX: a handle belongs to one thread (DESIGN.md). */
	rc = sqlite3_open_v2(path, &st->db, SQLITE_OPEN_READWRITE |
	    SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
	if (rc == SQLITE_OK && fresh)
		(void)chmod(path, 0600);
	free(path);
	if (rc != SQLITE_OK) {
		*error_r = xasprintf("cannot open database in %s: %s",
		    data_dir, st->db ? sqlite3_errmsg(st->db) :
		    sqlite3_errstr(rc));
		store_close(&st);
		return STORE_ERR_TEMP;
	}
	sqlite3_extended_result_codes(st->db, 1);
	sqlite3_busy_timeout(st->db, LIMIT_BUSY_TIMEOUT_MS);
	/* WAL: readers never block the writer. FULL: with NORMAL an
	 * acknowledged commit can roll back after a power loss. */
	/* cache_size: a handle per session thread (DESIGN.md), hundreds of
	 * them idle in IDLE; 512 KiB each (SQLite's default is 2 MiB) and
	 * the kernel's page cache holds the file for all. */
	rc = sqlite3_exec(st->db, "PRAGMA journal_mode=WAL;"
	    "PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON;"
	    "PRAGMA cache_size=-512;",
	    NULL, NULL, NULL);
	if (rc != SQLITE_OK) {
		*error_r = xasprintf("cannot set up database in %s: %s",
		    data_dir, sqlite3_errmsg(st->db));
		ret = rc == SQLITE_NOTADB || rc == SQLITE_CORRUPT ?
		    STORE_ERR_CORRUPT : STORE_ERR_TEMP;
		store_close(&st);
		return ret;
	}
	if ((ret = st_migrate(st, error_r)) != 0) {
		store_close(&st);
		return ret;
	}
	*store_r = st;
	return 0;
}

void
store_close(struct store **stp)
{
	struct store *st = *stp;

	if (st == NULL)
		return;
	for (size_t i = 0; i < st->cache_used; i++)
		sqlite3_finalize(st->cache[i].stmt);
	if (st->db != NULL)
		sqlite3_close(st->db);
	st_notify_close(st);
	free(st->data_dir);
	free(st->notify_path);
	free(st);
	*stp = NULL;
}

void
store_strv_free(char ***strvp)
{
	char **v = *strvp;

	if (v == NULL)
		return;
	for (size_t i = 0; v[i] != NULL; i++)
		free(v[i]);
	free(v);
	*strvp = NULL;
}

int
st_collect_strv(struct store *st, sqlite3_stmt *stmt, char ***strv_r)
{
	char **v = xmalloc(sizeof(*v));
	size_t n = 0;
	int rc;

	v[0] = NULL;
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		v = xreallocarray(v, n + 2, sizeof(*v));
		v[n++] = st_strdup_col(stmt, 0);
		v[n] = NULL;
	}
	st_done(stmt);
	if (rc != SQLITE_DONE) {
		store_strv_free(&v);
		return st_err(st, rc);
	}
	*strv_r = v;
	return 0;
}

int
st_step_row(struct store *st, sqlite3_stmt *stmt,
    void (*from_row)(sqlite3_stmt *, void *), void *item)
{
	int rc = sqlite3_step(stmt);

	if (rc == SQLITE_ROW)
		from_row(stmt, item);
	st_done(stmt);
	if (rc == SQLITE_ROW)
		return 0;
	return rc == SQLITE_DONE ? STORE_ERR_NOT_FOUND : st_err(st, rc);
}

static void
id_from_row(sqlite3_stmt *stmt, void *item)
{
	*(int64_t *)item = sqlite3_column_int64(stmt, 0);
}

int
st_step_id(struct store *st, sqlite3_stmt *stmt, int64_t *id_r)
{
	return st_step_row(st, stmt, id_from_row, id_r);
}

int
st_new_id(struct store *st, const char *sql, int64_t *id_r)
{
	sqlite3_stmt *stmt = st_stmt(st, sql);

	if (stmt == NULL)
		return STORE_ERR_TEMP;
	return st_step_id(st, stmt, id_r);
}

int
st_lookup_id(struct store *st, const char *sql, const char *param,
    int64_t *id_r)
{
	sqlite3_stmt *stmt = st_stmt(st, sql);

	if (stmt == NULL)
		return STORE_ERR_TEMP;
	sqlite3_bind_text(stmt, 1, param, -1, SQLITE_STATIC);
	return st_step_id(st, stmt, id_r);
}

int
st_collect_uids(struct store *st, sqlite3_stmt *stmt, uint32_t **uids_r,
    size_t *count_r)
{
	uint32_t *uids = NULL;
	size_t n = 0, cap = 0;
	int rc;

	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		if (n == cap) {
			cap = cap == 0 ? 64 : cap * 2;
			uids = xreallocarray(uids, cap, sizeof(*uids));
		}
		uids[n++] = (uint32_t)sqlite3_column_int64(stmt, 0);
	}
	st_done(stmt);
	if (rc != SQLITE_DONE) {
		free(uids);
		return st_err(st, rc);
	}
	*uids_r = uids;
	*count_r = n;
	return 0;
}

int
st_collect(struct store *st, sqlite3_stmt *stmt, size_t size,
    void (*from_row)(sqlite3_stmt *, void *), void (*clear)(void *),
    void **items_r, size_t *count_r)
{
	char *items = NULL;
	size_t n = 0, cap = 0;
	int rc;

	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		if (n == cap) {
			cap = cap == 0 ? 16 : cap * 2;
			items = xreallocarray(items, cap, size);
		}
		from_row(stmt, items + n * size);
		n++;
	}
	st_done(stmt);
	if (rc != SQLITE_DONE) {
		st_items_free((void **)&items, n, size, clear);
		return st_err(st, rc);
	}
	*items_r = items;
	*count_r = n;
	return 0;
}

void
st_items_free(void **itemsp, size_t count, size_t size, void (*clear)(void *))
{
	char *items = *itemsp;

	if (items == NULL)
		return;
	for (size_t i = 0; i < count; i++)
		clear(items + i * size);
	free(items);
	*itemsp = NULL;
}

int
st_step_change(struct store *st, sqlite3_stmt *stmt)
{
	int rc = sqlite3_step(stmt);

	st_done(stmt);
	if (rc != SQLITE_DONE)
		return st_err(st, rc);
	return sqlite3_changes(st->db) > 0 ? 0 : STORE_ERR_NOT_FOUND;
}

int
st_run_id(struct store *st, const char *sql, int64_t id)
{
	sqlite3_stmt *stmt = st_stmt(st, sql);
	int rc;

	if (stmt == NULL)
		return STORE_ERR_TEMP;
	sqlite3_bind_int64(stmt, 1, id);
	rc = sqlite3_step(stmt);
	st_done(stmt);
	return rc == SQLITE_DONE ? 0 : st_err(st, rc);
}

int
st_commit_notify(struct store *st, int64_t user_id)
{
	int ret = st_commit(st);

	if (ret == 0)
		st_notify(st, user_id);
	return ret;
}

void
store_release_memory(struct store *st)
{
	(void)sqlite3_db_release_memory(st->db);
}
