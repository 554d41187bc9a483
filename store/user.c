/*
 * user.c - user accounts: creation with their default mailboxes, removal,
 * password hashes, quota.
 *
 * Addresses are validated and folded (address_parse) before any query.
 */
#include <stdlib.h>
#include <string.h>

#include "common/address.h"
#include "common/xalloc.h"
#include "internal.h"

/* The mailboxes every user gets, with RFC 6154 special-use attributes. */
static const struct {
	const char *name;
	const char *special_use;
} default_mailboxes[] = {
	{ "INBOX", NULL },
	{ "Sent", "\\Sent" },
	{ "Drafts", "\\Drafts" },
	{ "Trash", "\\Trash" },
	{ "Junk", "\\Junk" },
	{ "Archive", "\\Archive" },
};

int
st_user_fold(const char *address, char *out)
{
	struct address addr;
	const char *why;

	if (address_parse(address, &addr, &why) < 0)
		return STORE_ERR_INVALID;
	memcpy(out, addr.full, sizeof(addr.full));
	return 0;
}

int
st_user_id(struct store *st, const char *address, int64_t *id_r)
{
	return st_lookup_id(st, "SELECT id FROM users WHERE address = ?",
	    address, id_r);
}

int
st_quota_room(struct store *st, int64_t user_id, int64_t add_bytes)
{
	sqlite3_stmt *stmt = st_stmt(st, "SELECT quota_bytes, used_bytes"
	    " FROM users WHERE id = ?");
	int64_t quota, used;
	int rc;

	if (stmt == NULL)
		return STORE_ERR_TEMP;
	sqlite3_bind_int64(stmt, 1, user_id);
	rc = sqlite3_step(stmt);
	if (rc != SQLITE_ROW) {
		st_done(stmt);
		return rc == SQLITE_DONE ? STORE_ERR_NOT_FOUND :
		    st_err(st, rc);
	}
	quota = sqlite3_column_int64(stmt, 0);
	used = sqlite3_column_int64(stmt, 1);
	st_done(stmt);
	if (quota > 0 && (add_bytes > quota || used > quota - add_bytes))
		return STORE_ERR_QUOTA;
	return 0;
}

int
store_user_quota_room(struct store *st, int64_t user_id, int64_t bytes)
{
	if (bytes < 0)
		return STORE_ERR_INVALID;
	return st_quota_room(st, user_id, bytes);
}

int
store_user_add(struct store *st, const char *address, const char *pwhash,
    int64_t quota_bytes, int64_t *id_r)
{
	char folded[LIMIT_ADDR_TOTAL + 1];
	const char *domain;
	sqlite3_stmt *stmt;
	int64_t domain_id, user_id;
	int rc, ret;

	if (quota_bytes < 0 || pwhash == NULL || *pwhash == '\0')
		return STORE_ERR_INVALID;
	if ((ret = st_user_fold(address, folded)) != 0)
		return ret;
	domain = strrchr(folded, '@') + 1;
	if ((ret = st_begin(st)) != 0)
		return ret;
	ret = st_lookup_id(st, "SELECT id FROM domains WHERE name = ?", domain,
	    &domain_id);
	if (ret == STORE_ERR_NOT_FOUND)
		ret = STORE_ERR_NOT_LOCAL;
	if (ret != 0)
		goto fail;
	stmt = st_stmt(st, "INSERT INTO users (address, domain_id, pwhash,"
	    " quota_bytes) VALUES (?, ?, ?, ?)");
	if (stmt == NULL) {
		ret = STORE_ERR_TEMP;
		goto fail;
	}
	sqlite3_bind_text(stmt, 1, folded, -1, SQLITE_STATIC);
	sqlite3_bind_int64(stmt, 2, domain_id);
	sqlite3_bind_text(stmt, 3, pwhash, -1, SQLITE_STATIC);
	sqlite3_bind_int64(stmt, 4, quota_bytes);
	rc = sqlite3_step(stmt);
	st_done(stmt);
	if (rc != SQLITE_DONE) {
		ret = st_err(st, rc);
		goto fail;
	}
	user_id = sqlite3_last_insert_rowid(st->db);
	for (size_t i = 0; i < sizeof(default_mailboxes) /
	    sizeof(default_mailboxes[0]); i++) {
		int64_t mailbox_id;

		ret = st_mailbox_create(st, user_id, default_mailboxes[i].name,
		    default_mailboxes[i].special_use, &mailbox_id);
		if (ret != 0)
			goto fail;
	}
	if ((ret = st_commit(st)) != 0)
		return ret;
	if (id_r != NULL)
		*id_r = user_id;
	return 0;
fail:
	st_rollback(st);
	return ret;
}

int
store_user_del(struct store *st, const char *address)
{
	char folded[LIMIT_ADDR_TOTAL + 1];
	int64_t user_id;
	int ret;

	if ((ret = st_user_fold(address, folded)) != 0)
		return ret;
	if ((ret = st_begin(st)) != 0)
		return ret;
	if ((ret = st_user_id(st, folded, &user_id)) != 0)
		goto fail;
	/* Mailboxes, messages, aliases and subscriptions go by cascade; the
	 * messages_delete trigger frees bodies nobody else refers to. */
	if ((ret = st_run_id(st, "DELETE FROM users WHERE id = ?",
	    user_id)) != 0)
		goto fail;
	return st_commit_notify(st, user_id);
fail:
	st_rollback(st);
	return ret;
}

/* update_user: runs "UPDATE users SET <col> = ?1 WHERE address = ?2". */
static int
update_user(struct store *st, const char *sql, const char *address,
    const char *text, int64_t number)
{
	char folded[LIMIT_ADDR_TOTAL + 1];
	sqlite3_stmt *stmt;
	int rc, ret;

	if ((ret = st_user_fold(address, folded)) != 0)
		return ret;
	if ((stmt = st_stmt(st, sql)) == NULL)
		return STORE_ERR_TEMP;
	if (text != NULL)
		sqlite3_bind_text(stmt, 1, text, -1, SQLITE_STATIC);
	else
		sqlite3_bind_int64(stmt, 1, number);
	sqlite3_bind_text(stmt, 2, folded, -1, SQLITE_STATIC);
	rc = sqlite3_step(stmt);
	st_done(stmt);
	if (rc != SQLITE_DONE)
		return st_err(st, rc);
	return sqlite3_changes(st->db) == 1 ? 0 : STORE_ERR_NOT_FOUND;
}

int
store_user_set_password(struct store *st, const char *address,
    const char *pwhash)
{
	if (pwhash == NULL || *pwhash == '\0')
		return STORE_ERR_INVALID;
	return update_user(st, "UPDATE users SET pwhash = ?1"
	    " WHERE address = ?2", address, pwhash, 0);
}

int
store_user_set_quota(struct store *st, const char *address,
    int64_t quota_bytes)
{
	if (quota_bytes < 0)
		return STORE_ERR_INVALID;
	return update_user(st, "UPDATE users SET quota_bytes = ?1"
	    " WHERE address = ?2", address, NULL, quota_bytes);
}

#define USER_COLUMNS "id, address, quota_bytes, used_bytes, messages"

static void
user_from_row(sqlite3_stmt *stmt, void *item)
{
	struct store_user *user = item;

	user->id = sqlite3_column_int64(stmt, 0);
	user->address = st_strdup_col(stmt, 1);
	user->quota_bytes = sqlite3_column_int64(stmt, 2);
	user->used_bytes = sqlite3_column_int64(stmt, 3);
	user->messages = sqlite3_column_int64(stmt, 4);
}

/* get_one: steps a bound single-row user query into *user_r. */
static int
get_one(struct store *st, sqlite3_stmt *stmt, struct store_user *user_r)
{
	int rc = sqlite3_step(stmt);

	if (rc == SQLITE_ROW)
		user_from_row(stmt, user_r);
	st_done(stmt);
	if (rc == SQLITE_ROW)
		return 0;
	return rc == SQLITE_DONE ? STORE_ERR_NOT_FOUND : st_err(st, rc);
}

int
store_user_get(struct store *st, const char *address,
    struct store_user *user_r)
{
	char folded[LIMIT_ADDR_TOTAL + 1];
	sqlite3_stmt *stmt;
	int ret;

	if ((ret = st_user_fold(address, folded)) != 0)
		return ret;
	stmt = st_stmt(st, "SELECT " USER_COLUMNS " FROM users"
	    " WHERE address = ?");
	if (stmt == NULL)
		return STORE_ERR_TEMP;
	sqlite3_bind_text(stmt, 1, folded, -1, SQLITE_STATIC);
	return get_one(st, stmt, user_r);
}

int
store_user_get_by_id(struct store *st, int64_t id, struct store_user *user_r)
{
	sqlite3_stmt *stmt = st_stmt(st, "SELECT " USER_COLUMNS " FROM users"
	    " WHERE id = ?");

	if (stmt == NULL)
		return STORE_ERR_TEMP;
	sqlite3_bind_int64(stmt, 1, id);
	return get_one(st, stmt, user_r);
}

void
store_user_clear(struct store_user *user)
{
	free(user->address);
	memset(user, 0, sizeof(*user));
}

static void
user_clear(void *item)
{
	store_user_clear(item);
}

int
store_user_list(struct store *st, struct store_user **users_r,
    size_t *count_r)
{
	sqlite3_stmt *stmt = st_stmt(st, "SELECT " USER_COLUMNS " FROM users"
	    " ORDER BY address");

	if (stmt == NULL)
		return STORE_ERR_TEMP;
	return st_collect(st, stmt, sizeof(**users_r), user_from_row,
	    user_clear, (void **)users_r, count_r);
}

void
store_user_list_free(struct store_user **usersp, size_t count)
{
	st_items_free((void **)usersp, count, sizeof(**usersp), user_clear);
}
