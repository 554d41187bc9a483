/*
 * dkim_key.c - the DKIM signing keys of hosted domains.
 *
 * Domain names and selectors are folded to lower case, as DNS compares
 * them, so that "Rsa1" and "rsa1" cannot be two keys of one name. A
 * selector is dot-separated DNS labels of letters, digits and hyphens
 * (1..63 bytes each, 253 in all): it becomes part of a DNS name and of
 * the DKIM-Signature field. The private key is stored as given (PEM),
 * once it has been read as a key of the algorithm it is stored under.
 */
#include <stdlib.h>
#include <time.h>

#include "common/address.h"
#include "common/dkim_key.h"
#include "internal.h"

#define SELECTOR_MAX	253

/* selector_fold: a valid selector into out (SELECTOR_MAX + 1 bytes) in
 * lower case; STORE_ERR_INVALID otherwise. */
static int
selector_fold(const char *s, char *out)
{
	size_t label = 0, i;

	for (i = 0; s[i] != '\0'; i++) {
		unsigned char c = (unsigned char)s[i];

		if (i >= SELECTOR_MAX)
			return STORE_ERR_INVALID;
		if (c == '.') {
			if (label == 0)
				return STORE_ERR_INVALID;
			label = 0;
		} else if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		    c == '-') {
			label++;
		} else if (c >= 'A' && c <= 'Z') {
			c = (unsigned char)(c - 'A' + 'a');
			label++;
		} else {
			return STORE_ERR_INVALID;
		}
		if (label > 63)
			return STORE_ERR_INVALID;
		out[i] = (char)c;
	}
	out[i] = '\0';
	return label > 0 ? 0 : STORE_ERR_INVALID;
}

int
store_dkim_key_add(struct store *st, const char *domain,
    const char *selector, const char *algorithm, const char *private_pem)
{
	char dom[LIMIT_ADDR_DOMAIN + 1], sel[SELECTOR_MAX + 1];
	char *txt = NULL, *error = NULL;
	const char *why;
	enum dkim_alg alg;
	sqlite3_stmt *stmt;
	int rc, ret;

	if (address_domain_fold(domain, dom, &why) < 0)
		return STORE_ERR_INVALID;
	if ((ret = selector_fold(selector, sel)) != 0)
		return ret;
	/* A key the signer could not use, or of another algorithm than
	 * the row says, would only fail later, at delivery. */
	if (dkim_key_txt(private_pem, &alg, &txt, &error) < 0) {
		free(error);
		return STORE_ERR_INVALID;
	}
	free(txt);
	if ((int)alg != dkim_alg_parse(algorithm))
		return STORE_ERR_INVALID;
	/* One statement: the domain cannot go between lookup and insert. */
	stmt = st_stmt(st, "INSERT INTO dkim_keys"
	    " (domain_id, selector, algorithm, private_pem, created)"
	    " SELECT id, ?2, ?3, ?4, ?5 FROM domains WHERE name = ?1");
	if (stmt == NULL)
		return STORE_ERR_TEMP;
	sqlite3_bind_text(stmt, 1, dom, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 2, sel, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 3, algorithm, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 4, private_pem, -1, SQLITE_STATIC);
	sqlite3_bind_int64(stmt, 5, (int64_t)time(NULL));
	rc = sqlite3_step(stmt);
	st_done(stmt);
	if (rc != SQLITE_DONE)
		return st_err(st, rc);
	return sqlite3_changes(st->db) > 0 ? 0 : STORE_ERR_NOT_LOCAL;
}

int
store_dkim_key_del(struct store *st, const char *domain, const char *selector)
{
	char dom[LIMIT_ADDR_DOMAIN + 1], sel[SELECTOR_MAX + 1];
	const char *why;
	sqlite3_stmt *stmt;

	if (address_domain_fold(domain, dom, &why) < 0 ||
	    selector_fold(selector, sel) != 0)
		return STORE_ERR_INVALID;
	stmt = st_stmt(st, "DELETE FROM dkim_keys WHERE selector = ?2 AND"
	    " domain_id = (SELECT id FROM domains WHERE name = ?1)");
	if (stmt == NULL)
		return STORE_ERR_TEMP;
	sqlite3_bind_text(stmt, 1, dom, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 2, sel, -1, SQLITE_STATIC);
	return st_step_change(st, stmt);
}

static void
key_from_row(sqlite3_stmt *stmt, void *item)
{
	struct store_dkim_key *k = item;

	k->domain = st_strdup_col(stmt, 0);
	k->selector = st_strdup_col(stmt, 1);
	k->algorithm = st_strdup_col(stmt, 2);
	k->private_pem = st_strdup_col(stmt, 3);
	k->created = sqlite3_column_int64(stmt, 4);
}

static void
key_clear(void *item)
{
	struct store_dkim_key *k = item;

	free(k->domain);
	free(k->selector);
	free(k->algorithm);
	free(k->private_pem);
}

int
store_dkim_key_list(struct store *st, const char *domain,
    struct store_dkim_key **keys_r, size_t *count_r)
{
	char dom[LIMIT_ADDR_DOMAIN + 1];
	const char *why;
	sqlite3_stmt *stmt;

	if (domain != NULL && address_domain_fold(domain, dom, &why) < 0)
		return STORE_ERR_INVALID;
	stmt = st_stmt(st, "SELECT d.name, k.selector, k.algorithm,"
	    " k.private_pem, k.created"
	    " FROM dkim_keys k JOIN domains d ON d.id = k.domain_id"
	    " WHERE ?1 IS NULL OR d.name = ?1"
	    " ORDER BY d.name, k.selector");
	if (stmt == NULL)
		return STORE_ERR_TEMP;
	if (domain != NULL)
		sqlite3_bind_text(stmt, 1, dom, -1, SQLITE_STATIC);
	return st_collect(st, stmt, sizeof(**keys_r), key_from_row, key_clear,
	    (void **)keys_r, count_r);
}

void
store_dkim_key_list_free(struct store_dkim_key **keys, size_t count)
{
	st_items_free((void **)keys, count, sizeof(**keys), key_clear);
}
