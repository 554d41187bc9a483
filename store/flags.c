/*
 * flags.c - system flags and keywords of messages.
 *
 * Keywords are IMAP atoms (RFC 3501 9: no atom-specials, no '\\'), at most
 * LIMIT_KEYWORD_LEN octets each and LIMIT_KEYWORDS per message, stored as
 * one space-separated list with case-insensitive duplicates removed.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/limits.h"
#include "common/xalloc.h"
#include "internal.h"

struct kwlist {
	char *words[LIMIT_KEYWORDS];
	size_t count;
};

static bool
keyword_char(unsigned char c)
{
	/* RFC 3501 9: atom-specials, plus '\\' which marks system flags. */
	return c > 0x20 && c < 0x7f && strchr("(){%*\"\\]", c) == NULL;
}

static bool
kwlist_has(const struct kwlist *l, const char *w)
{
	for (size_t i = 0; i < l->count; i++)
		if (strcasecmp(l->words[i], w) == 0)
			return true;
	return false;
}

/* kwlist_parse: splits s (may be NULL) into l, whose words point into
 * copy (a malloc'd copy of s the caller frees). */
static int
kwlist_parse(const char *s, struct kwlist *l, char **copy_r)
{
	char *copy = xstrdup(s != NULL ? s : ""), *save = NULL, *w;

	l->count = 0;
	*copy_r = copy;
	for (w = strtok_r(copy, " ", &save); w != NULL;
	    w = strtok_r(NULL, " ", &save)) {
		size_t len = strlen(w);

		if (len > LIMIT_KEYWORD_LEN)
			return STORE_ERR_INVALID;
		for (size_t i = 0; i < len; i++)
			if (!keyword_char((unsigned char)w[i]))
				return STORE_ERR_INVALID;
		if (kwlist_has(l, w))
			continue;
		if (l->count == LIMIT_KEYWORDS)
			return STORE_ERR_LIMIT;
		l->words[l->count++] = w;
	}
	return 0;
}

static char *
kwlist_join(const struct kwlist *l)
{
	size_t len = 1;
	char *out;

	for (size_t i = 0; i < l->count; i++)
		len += strlen(l->words[i]) + 1;
	out = xmalloc(len);
	out[0] = '\0';
	for (size_t i = 0; i < l->count; i++) {
		if (i > 0)
			strcat(out, " ");
		strcat(out, l->words[i]);
	}
	return out;
}

int
st_keywords_normalize(const char *keywords, char **out_r)
{
	struct kwlist l;
	char *copy;
	int ret = kwlist_parse(keywords, &l, &copy);

	if (ret == 0)
		*out_r = kwlist_join(&l);
	free(copy);
	return ret;
}

/* apply: the new keyword list of a message (cur) after op with change;
 * malloc'd into *out_r. */
static int
apply(const char *cur, enum store_flag_op op, const struct kwlist *change,
    char **out_r)
{
	struct kwlist l, result = { .count = 0 };
	char *copy;
	int ret;

	if (op == STORE_FLAGS_REPLACE) {
		*out_r = kwlist_join(change);
		return 0;
	}
	if ((ret = kwlist_parse(cur, &l, &copy)) != 0) {
		free(copy);
		return ret;
	}
	for (size_t i = 0; i < l.count; i++)
		if (op == STORE_FLAGS_ADD || !kwlist_has(change, l.words[i]))
			result.words[result.count++] = l.words[i];
	for (size_t i = 0; op == STORE_FLAGS_ADD && i < change->count; i++) {
		if (kwlist_has(&result, change->words[i]))
			continue;
		if (result.count == LIMIT_KEYWORDS) {
			free(copy);
			return STORE_ERR_LIMIT;
		}
		result.words[result.count++] = change->words[i];
	}
	*out_r = kwlist_join(&result);
	free(copy);
	return 0;
}

static uint32_t
apply_flags(uint32_t cur, enum store_flag_op op, uint32_t flags)
{
	switch (op) {
	case STORE_FLAGS_ADD:
		return cur | flags;
	case STORE_FLAGS_REMOVE:
		return cur & ~flags;
	case STORE_FLAGS_REPLACE:
		break;
	}
	return flags;
}

/* update_one: applies the change to message uid; *changed_r tells
 * whether it changed (and so took modseq, reserved on first need). */
static int
update_one(struct store *st, int64_t mailbox_id, uint32_t uid,
    enum store_flag_op op, uint32_t flags, const struct kwlist *change,
    uint64_t unchangedsince, uint64_t *modseq, bool *changed_r,
    bool *refused_r)
{
	struct store_message m;
	uint32_t new_flags;
	char *new_kw = NULL;
	sqlite3_stmt *stmt;
	int rc, ret;

	*changed_r = false;
	*refused_r = false;
	if ((ret = store_message_get(st, mailbox_id, uid, &m)) != 0)
		return ret == STORE_ERR_NOT_FOUND ? 0 : ret;
	/* RFC 7162 3.1.3: changed since the client looked: leave it. */
	if (m.modseq > unchangedsince) {
		*refused_r = true;
		goto out;
	}
	new_flags = apply_flags(m.flags, op, flags);
	if ((ret = apply(m.keywords, op, change, &new_kw)) != 0)
		goto out;
	if (new_flags == m.flags && strcmp(new_kw, m.keywords) == 0)
		goto out;
	if (*modseq == 0 && (ret = st_mailbox_next(st, mailbox_id, 0, NULL,
	    modseq)) != 0)
		goto out;
	stmt = st_stmt(st, "UPDATE messages SET flags = ?, keywords = ?,"
	    " modseq = ? WHERE id = ?");
	if (stmt == NULL) {
		ret = STORE_ERR_TEMP;
		goto out;
	}
	sqlite3_bind_int64(stmt, 1, new_flags);
	sqlite3_bind_text(stmt, 2, new_kw, -1, SQLITE_STATIC);
	sqlite3_bind_int64(stmt, 3, (int64_t)*modseq);
	sqlite3_bind_int64(stmt, 4, m.id);
	rc = sqlite3_step(stmt);
	st_done(stmt);
	if (rc != SQLITE_DONE)
		ret = st_err(st, rc);
	else
		*changed_r = true;
out:
	free(new_kw);
	store_message_clear(&m);
	return ret;
}

int
store_flags_update(struct store *st, int64_t mailbox_id,
    const uint32_t *uids, size_t count, enum store_flag_op op, uint32_t flags,
    const char *keywords)
{
	return store_flags_update_cond(st, mailbox_id, uids, count, op, flags,
	    keywords, UINT64_MAX, NULL, NULL);
}

int
store_flags_update_cond(struct store *st, int64_t mailbox_id,
    const uint32_t *uids, size_t count, enum store_flag_op op, uint32_t flags,
    const char *keywords, uint64_t unchangedsince, uint32_t *modified_r,
    size_t *nmodified_r)
{
	struct kwlist change;
	char *copy;
	uint64_t modseq = 0;
	int64_t owner;
	bool changed, refused, any = false;
	size_t nmodified = 0;
	int ret;

	if (nmodified_r != NULL)
		*nmodified_r = 0;
	if ((flags & ~STORE_FLAGS_ALL) != 0 || op < STORE_FLAGS_REPLACE ||
	    op > STORE_FLAGS_REMOVE)
		return STORE_ERR_INVALID;
	if ((ret = kwlist_parse(keywords, &change, &copy)) != 0)
		goto out;
	if ((ret = st_begin(st)) != 0)
		goto out;
	if ((ret = st_mailbox_owner(st, mailbox_id, &owner)) != 0)
		goto fail;
	/* RFC 7162 3.1: one MODSEQ for all messages one command changes. */
	for (size_t i = 0; i < count; i++) {
		if ((ret = update_one(st, mailbox_id, uids[i], op, flags,
		    &change, unchangedsince, &modseq, &changed,
		    &refused)) != 0)
			goto fail;
		any |= changed;
		if (refused && modified_r != NULL)
			modified_r[nmodified++] = uids[i];
	}
	if ((ret = st_commit(st)) != 0)
		goto out;
	if (nmodified_r != NULL)
		*nmodified_r = nmodified;
	if (any)
		st_notify(st, owner);
	goto out;
fail:
	st_rollback(st);
out:
	free(copy);
	return ret;
}
