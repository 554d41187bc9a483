/*
 * domain.c - the domains Letterbox hosts.
 *
 * Names are validated and folded to lower case (address_domain_fold).
 */
#include <stdlib.h>

#include "common/address.h"
#include "common/xalloc.h"
#include "internal.h"

int
store_domain_add(struct store *st, const char *name)
{
	char folded[LIMIT_ADDR_DOMAIN + 1];
	const char *why;
	sqlite3_stmt *stmt;
	int rc;

	if (address_domain_fold(name, folded, &why) < 0)
		return STORE_ERR_INVALID;
	stmt = st_stmt(st, "INSERT INTO domains (name) VALUES (?)");
	if (stmt == NULL)
		return STORE_ERR_TEMP;
	sqlite3_bind_text(stmt, 1, folded, -1, SQLITE_STATIC);
	rc = sqlite3_step(stmt);
	st_done(stmt);
	return rc == SQLITE_DONE ? 0 : st_err(st, rc);
}

int
store_domain_del(struct store *st, const char *name)
{
	char folded[LIMIT_ADDR_DOMAIN + 1];
	const char *why;
	sqlite3_stmt *stmt;
	int rc, ret;

	if (address_domain_fold(name, folded, &why) < 0)
		return STORE_ERR_INVALID;
	if ((ret = st_begin(st)) != 0)
		return ret;
	stmt = st_stmt(st, "SELECT d.id, (SELECT count(*) FROM users u"
	    " WHERE u.domain_id = d.id) FROM domains d WHERE d.name = ?");
	if (stmt == NULL) {
		ret = STORE_ERR_TEMP;
		goto out;
	}
	sqlite3_bind_text(stmt, 1, folded, -1, SQLITE_STATIC);
	rc = sqlite3_step(stmt);
	if (rc != SQLITE_ROW) {
		ret = rc == SQLITE_DONE ? STORE_ERR_NOT_FOUND : st_err(st, rc);
		st_done(stmt);
		goto out;
	}
	if (sqlite3_column_int64(stmt, 1) > 0) {
		st_done(stmt);
		ret = STORE_ERR_IN_USE;
		goto out;
	}
	st_done(stmt);
	stmt = st_stmt(st, "DELETE FROM domains WHERE name = ?");
	if (stmt == NULL) {
		ret = STORE_ERR_TEMP;
		goto out;
	}
	sqlite3_bind_text(stmt, 1, folded, -1, SQLITE_STATIC);
	rc = sqlite3_step(stmt);
	st_done(stmt);
	if (rc != SQLITE_DONE) {
		ret = st_err(st, rc);
		goto out;
	}
	return st_commit(st);
out:
	st_rollback(st);
	return ret;
}

int
store_domain_list(struct store *st, char ***names_r)
{
	sqlite3_stmt *stmt = st_stmt(st, "SELECT name FROM domains"
	    " ORDER BY name");

	if (stmt == NULL)
		return STORE_ERR_TEMP;
	return st_collect_strv(st, stmt, names_r);
}
