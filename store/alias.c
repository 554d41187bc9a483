/*
 * alias.c - aliases (one source, one or more local users), catch-all
 * "@domain" aliases, and resolving a recipient address to users.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/address.h"
#include "common/xalloc.h"
#include "internal.h"

/* fold_source: "local@domain" or "@domain" into out (LIMIT_ADDR_TOTAL+1),
 * and the domain part's offset in out. */
static int
fold_source(const char *source, char *out, size_t *domain_off_r)
{
	const char *why;
	int ret;

	if (source[0] == '@') {
		out[0] = '@';
		if (address_domain_fold(source + 1, out + 1, &why) < 0)
			return STORE_ERR_INVALID;
		*domain_off_r = 1;
		return 0;
	}
	if ((ret = st_user_fold(source, out)) != 0)
		return ret;
	*domain_off_r = (size_t)(strrchr(out, '@') - out) + 1;
	return 0;
}

static int
domain_id(struct store *st, const char *name, int64_t *id_r)
{
	int ret = st_lookup_id(st, "SELECT id FROM domains WHERE name = ?",
	    name, id_r);

	return ret == STORE_ERR_NOT_FOUND ? STORE_ERR_NOT_LOCAL : ret;
}

int
store_alias_add(struct store *st, const char *source, const char *target)
{
	char src[LIMIT_ADDR_TOTAL + 1], dst[LIMIT_ADDR_TOTAL + 1];
	int64_t dom_id, user_id, ignored;
	sqlite3_stmt *stmt;
	size_t off;
	int rc, ret;

	if ((ret = fold_source(source, src, &off)) != 0 ||
	    (ret = st_user_fold(target, dst)) != 0)
		return ret;
	if ((ret = st_begin(st)) != 0)
		return ret;
	if ((ret = domain_id(st, src + off, &dom_id)) != 0 ||
	    (ret = st_user_id(st, dst, &user_id)) != 0)
		goto fail;
	/* A user's own address always reaches the user (store_resolve
	 * looks users up first), so an alias there would never apply. */
	if (src[0] != '@' && st_user_id(st, src, &ignored) == 0) {
		ret = STORE_ERR_EXISTS;
		goto fail;
	}
	stmt = st_stmt(st, "INSERT INTO aliases (source, domain_id, user_id)"
	    " VALUES (?, ?, ?)");
	if (stmt == NULL) {
		ret = STORE_ERR_TEMP;
		goto fail;
	}
	sqlite3_bind_text(stmt, 1, src, -1, SQLITE_STATIC);
	sqlite3_bind_int64(stmt, 2, dom_id);
	sqlite3_bind_int64(stmt, 3, user_id);
	rc = sqlite3_step(stmt);
	st_done(stmt);
	if (rc != SQLITE_DONE) {
		ret = st_err(st, rc);
		goto fail;
	}
	return st_commit(st);
fail:
	st_rollback(st);
	return ret;
}

int
store_alias_del(struct store *st, const char *source, const char *target)
{
	char src[LIMIT_ADDR_TOTAL + 1], dst[LIMIT_ADDR_TOTAL + 1];
	sqlite3_stmt *stmt;
	size_t off;
	int ret;

	if ((ret = fold_source(source, src, &off)) != 0)
		return ret;
	if (target != NULL) {
		if ((ret = st_user_fold(target, dst)) != 0)
			return ret;
		stmt = st_stmt(st, "DELETE FROM aliases WHERE source = ?1 AND"
		    " user_id = (SELECT id FROM users WHERE address = ?2)");
	} else {
		stmt = st_stmt(st, "DELETE FROM aliases WHERE source = ?1");
	}
	if (stmt == NULL)
		return STORE_ERR_TEMP;
	sqlite3_bind_text(stmt, 1, src, -1, SQLITE_STATIC);
	if (target != NULL)
		sqlite3_bind_text(stmt, 2, dst, -1, SQLITE_STATIC);
	return st_step_change(st, stmt);
}

static void
alias_from_row(sqlite3_stmt *stmt, void *item)
{
	struct store_alias *a = item;

	a->source = st_strdup_col(stmt, 0);
	a->target = st_strdup_col(stmt, 1);
}

static void
alias_clear(void *item)
{
	struct store_alias *a = item;

	free(a->source);
	free(a->target);
}

int
store_alias_list(struct store *st, struct store_alias **aliases_r,
    size_t *count_r)
{
	sqlite3_stmt *stmt = st_stmt(st, "SELECT a.source, u.address"
	    " FROM aliases a JOIN users u ON u.id = a.user_id"
	    " ORDER BY a.source, u.address");

	if (stmt == NULL)
		return STORE_ERR_TEMP;
	return st_collect(st, stmt, sizeof(**aliases_r), alias_from_row,
	    alias_clear, (void **)aliases_r, count_r);
}

void
store_alias_list_free(struct store_alias **aliasesp, size_t count)
{
	st_items_free((void **)aliasesp, count, sizeof(**aliasesp),
	    alias_clear);
}

/* lookup: the users that key (a user address or alias source) reaches:
 * the user itself, else the alias targets. Returns 0 with at least one id,
 * or STORE_ERR_NOT_FOUND. */
static int
lookup(struct store *st, const char *key, int64_t *ids, size_t *count_r)
{
	sqlite3_stmt *stmt = st_stmt(st,
	    "SELECT id FROM users WHERE address = ?1 UNION ALL"
	    " SELECT user_id FROM aliases WHERE source = ?1"
	    "  AND NOT EXISTS (SELECT 1 FROM users WHERE address = ?1)"
	    " LIMIT " STORE_STR(LIMIT_RECIPIENTS));
	size_t n = 0;
	int rc;

	if (stmt == NULL)
		return STORE_ERR_TEMP;
	sqlite3_bind_text(stmt, 1, key, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW)
		ids[n++] = sqlite3_column_int64(stmt, 0);
	st_done(stmt);
	if (rc != SQLITE_DONE)
		return st_err(st, rc);
	*count_r = n;
	return n > 0 ? 0 : STORE_ERR_NOT_FOUND;
}

int
store_resolve(struct store *st, const char *address, int64_t *user_ids_r,
    size_t *count_r)
{
	struct address addr;
	char key[LIMIT_ADDR_LOCAL + LIMIT_ADDR_DOMAIN + 2];
	char base[LIMIT_ADDR_LOCAL + 1];
	const char *why;
	int64_t dom_id;
	int ret;

	if (address_parse(address, &addr, &why) < 0)
		return STORE_ERR_INVALID;
	if ((ret = domain_id(st, addr.domain, &dom_id)) != 0)
		return ret;
	ret = lookup(st, addr.full, user_ids_r, count_r);
	if (ret == STORE_ERR_NOT_FOUND && address_strip_detail(addr.local,
	    base)) {
		snprintf(key, sizeof(key), "%s@%s", base, addr.domain);
		ret = lookup(st, key, user_ids_r, count_r);
	}
	if (ret == STORE_ERR_NOT_FOUND) {
		snprintf(key, sizeof(key), "@%s", addr.domain);
		ret = lookup(st, key, user_ids_r, count_r);
	}
	return ret;
}
