/*
 * login.c - checking a user's password, and rehashing it when the
 * configured argon2 limits changed.
 *
 * No transaction is open while hashing: the hash is read with one short
 * statement, verified, and replaced only if nobody changed it meanwhile.
 * The password is never logged or stored.
 */
#include <stdlib.h>
#include <string.h>

#include "common/auth.h"
#include "common/limits.h"
#include "common/log.h"
#include "internal.h"

static int
read_hash(struct store *st, const char *address, int64_t *id_r,
    char *hash_r)
{
	sqlite3_stmt *stmt = st_stmt(st, "SELECT id, pwhash FROM users"
	    " WHERE address = ?");
	const unsigned char *hash;
	int rc, ret = STORE_ERR_NOT_FOUND;

	if (stmt == NULL)
		return STORE_ERR_TEMP;
	sqlite3_bind_text(stmt, 1, address, -1, SQLITE_STATIC);
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW) {
		hash = sqlite3_column_text(stmt, 1);
		if (hash != NULL && strlen((const char *)hash) < AUTH_HASH_MAX) {
			*id_r = sqlite3_column_int64(stmt, 0);
			strcpy(hash_r, (const char *)hash);
			ret = 0;
		}
	} else if (rc != SQLITE_DONE) {
		ret = st_err(st, rc);
	}
	st_done(stmt);
	return ret;
}

static void
rehash(struct store *st, struct auth_ctx *ctx, int64_t user_id,
    const char *old_hash, const char *password)
{
	char new_hash[AUTH_HASH_MAX];
	sqlite3_stmt *stmt;
	int rc;

	if (auth_hash(ctx, password, new_hash) != 0)
		return;
	stmt = st_stmt(st, "UPDATE users SET pwhash = ? WHERE id = ?"
	    " AND pwhash = ?");
	if (stmt == NULL)
		return;
	sqlite3_bind_text(stmt, 1, new_hash, -1, SQLITE_STATIC);
	sqlite3_bind_int64(stmt, 2, user_id);
	sqlite3_bind_text(stmt, 3, old_hash, -1, SQLITE_STATIC);
	rc = sqlite3_step(stmt);
	st_done(stmt);
	/* A failed rehash is not a failed login: the old hash still works. */
	if (rc != SQLITE_DONE)
		log_warn("store: could not rehash password of user %lld",
		    (long long)user_id);
}

int
store_user_login(struct store *st, struct auth_ctx *ctx, const char *address,
    const char *password, int64_t *user_id_r)
{
	char folded[LIMIT_ADDR_TOTAL + 1];
	char hash[AUTH_HASH_MAX];
	int64_t user_id = 0;
	bool known = false, needs_rehash;
	int ret;

	if (st_user_fold(address, folded) == 0) {
		ret = read_hash(st, folded, &user_id, hash);
		if (ret != 0 && ret != STORE_ERR_NOT_FOUND)
			return ret;
		known = ret == 0;
	}
	/* Unknown or malformed users verify the decoy hash: same work. */
	if (auth_verify(ctx, known ? hash : NULL, password,
	    &needs_rehash) != 0)
		return STORE_ERR_AUTH;
	if (needs_rehash)
		rehash(st, ctx, user_id, hash, password);
	*user_id_r = user_id;
	return 0;
}
