/*
 * mailbox.c - a user's mailboxes: names, UIDVALIDITY, UIDNEXT,
 * HIGHESTMODSEQ, subscriptions.
 *
 * Names are rows, never paths (CONVENTIONS.md). A name is validated by
 * st_mailbox_canon() before any query: UTF-8, no control characters, no
 * IMAP wildcards, no empty level, at most LIMIT_MAILBOX_NAME octets and
 * LIMIT_MAILBOX_DEPTH levels; at most LIMIT_MAILBOXES per user.
 *
 * Mailbox ids are never reused (meta 'mailbox_id'): an IMAP session
 * holding the id of a deleted mailbox must get STORE_ERR_NOT_FOUND, not
 * the counters of a newer mailbox, perhaps another user's.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "common/address.h"
#include "common/xalloc.h"
#include "internal.h"

static const char *const special_uses[] = {
	"\\All", "\\Archive", "\\Drafts", "\\Flagged", "\\Junk", "\\Sent",
	"\\Trash",
};

int
st_mailbox_canon(const char *name, char *out)
{
	size_t len = strnlen(name, LIMIT_MAILBOX_NAME + 1), depth = 1;

	if (len == 0 || len > LIMIT_MAILBOX_NAME || !utf8_valid(name, len))
		return STORE_ERR_INVALID;
	if (name[0] == STORE_MAILBOX_SEP || name[len - 1] == STORE_MAILBOX_SEP)
		return STORE_ERR_INVALID;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)name[i];

		/* '*' and '%' are LIST wildcards (RFC 3501 6.3.8): a name
		 * holding one could never be listed alone. */
		if (c < 0x20 || c == 0x7f || c == '*' || c == '%')
			return STORE_ERR_INVALID;
		if (c == STORE_MAILBOX_SEP) {
			if (name[i + 1] == STORE_MAILBOX_SEP ||
			    ++depth > LIMIT_MAILBOX_DEPTH)
				return STORE_ERR_INVALID;
		}
	}
	memcpy(out, name, len + 1);
	/* RFC 3501 5.1: INBOX is case-insensitive, also as a parent. */
	if (strncasecmp(out, "INBOX", 5) == 0 &&
	    (out[5] == '\0' || out[5] == STORE_MAILBOX_SEP))
		memcpy(out, "INBOX", 5);
	return 0;
}

bool
store_mailbox_name_valid(const char *name)
{
	char out[LIMIT_MAILBOX_NAME + 1];

	return st_mailbox_canon(name, out) == 0;
}

static bool
special_use_valid(const char *special_use)
{
	for (size_t i = 0; i < sizeof(special_uses) / sizeof(special_uses[0]);
	    i++)
		if (strcmp(special_use, special_uses[i]) == 0)
			return true;
	return false;
}

/* next_uidvalidity: a UIDVALIDITY never given before: the clock, or one
 * more than the last one when the clock has not moved on (RFC 3501 2.3.1.1
 * asks that a re-created name gets a greater value). */
static int
next_uidvalidity(struct store *st, uint32_t *uidvalidity_r)
{
	sqlite3_stmt *stmt = st_stmt(st, "INSERT INTO meta (key, value)"
	    " VALUES ('uidvalidity', ?1) ON CONFLICT (key) DO UPDATE"
	    " SET value = max(value + 1, excluded.value) RETURNING value");
	int64_t v;
	int rc;

	if (stmt == NULL)
		return STORE_ERR_TEMP;
	sqlite3_bind_int64(stmt, 1, (int64_t)time(NULL));
	rc = sqlite3_step(stmt);
	v = sqlite3_column_int64(stmt, 0);
	st_done(stmt);
	if (rc != SQLITE_ROW)
		return st_err(st, rc);
	if (v <= 0 || v > UINT32_MAX)
		return STORE_ERR_LIMIT;
	*uidvalidity_r = (uint32_t)v;
	return 0;
}

static int
subscribe(struct store *st, int64_t user_id, const char *name, bool on)
{
	sqlite3_stmt *stmt = on ?
	    st_stmt(st, "INSERT OR IGNORE INTO subscriptions (user_id, name)"
	    " VALUES (?, ?)") :
	    st_stmt(st, "DELETE FROM subscriptions WHERE user_id = ?"
	    " AND name = ?");
	int rc;

	if (stmt == NULL)
		return STORE_ERR_TEMP;
	sqlite3_bind_int64(stmt, 1, user_id);
	sqlite3_bind_text(stmt, 2, name, -1, SQLITE_STATIC);
	rc = sqlite3_step(stmt);
	st_done(stmt);
	if (rc != SQLITE_DONE)
		return st_err(st, rc);
	return on || sqlite3_changes(st->db) > 0 ? 0 : STORE_ERR_NOT_FOUND;
}

static int
mailbox_count(struct store *st, int64_t user_id, int64_t *count_r)
{
	sqlite3_stmt *stmt = st_stmt(st, "SELECT count(*) FROM mailboxes"
	    " WHERE user_id = ?");
	int rc;

	if (stmt == NULL)
		return STORE_ERR_TEMP;
	sqlite3_bind_int64(stmt, 1, user_id);
	rc = sqlite3_step(stmt);
	*count_r = sqlite3_column_int64(stmt, 0);
	st_done(stmt);
	return rc == SQLITE_ROW ? 0 : st_err(st, rc);
}

int
st_mailbox_create(struct store *st, int64_t user_id, const char *name,
    const char *special_use, int64_t *id_r)
{
	sqlite3_stmt *stmt;
	uint32_t uidvalidity = 0;
	int64_t count, id;
	int rc, ret;

	if (special_use != NULL && !special_use_valid(special_use))
		return STORE_ERR_INVALID;
	if ((ret = mailbox_count(st, user_id, &count)) != 0)
		return ret;
	if (count >= LIMIT_MAILBOXES)
		return STORE_ERR_LIMIT;
	if ((ret = next_uidvalidity(st, &uidvalidity)) != 0 ||
	    (ret = st_new_id(st, ST_NEW_ID_SQL("mailbox_id", "mailboxes"),
	    &id)) != 0)
		return ret;
	stmt = st_stmt(st, "INSERT INTO mailboxes (id, user_id, name,"
	    " special_use, uidvalidity) VALUES (?, ?, ?, ?, ?)");
	if (stmt == NULL)
		return STORE_ERR_TEMP;
	sqlite3_bind_int64(stmt, 1, id);
	sqlite3_bind_int64(stmt, 2, user_id);
	sqlite3_bind_text(stmt, 3, name, -1, SQLITE_STATIC);
	if (special_use != NULL)
		sqlite3_bind_text(stmt, 4, special_use, -1, SQLITE_STATIC);
	sqlite3_bind_int64(stmt, 5, uidvalidity);
	rc = sqlite3_step(stmt);
	st_done(stmt);
	if (rc != SQLITE_DONE)
		return st_err(st, rc);
	*id_r = id;
	/* New mailboxes are subscribed, as clients expect to see them. */
	return subscribe(st, user_id, name, true);
}

/* user_exists: STORE_ERR_NOT_FOUND for an unknown user, so that it does
 * not surface as a foreign key failure. */
static int
user_exists(struct store *st, int64_t user_id)
{
	sqlite3_stmt *stmt = st_stmt(st, "SELECT id FROM users WHERE id = ?");
	int64_t id;

	if (stmt == NULL)
		return STORE_ERR_TEMP;
	sqlite3_bind_int64(stmt, 1, user_id);
	return st_step_id(st, stmt, &id);
}

int
store_mailbox_create(struct store *st, int64_t user_id, const char *name,
    const char *special_use, int64_t *id_r)
{
	char canon[LIMIT_MAILBOX_NAME + 1];
	int64_t id;
	int ret;

	if ((ret = st_mailbox_canon(name, canon)) != 0)
		return ret;
	if ((ret = st_begin(st)) != 0)
		return ret;
	if ((ret = user_exists(st, user_id)) != 0 ||
	    (ret = st_mailbox_create(st, user_id, canon, special_use,
	    &id)) != 0) {
		st_rollback(st);
		return ret;
	}
	if ((ret = st_commit(st)) != 0)
		return ret;
	if (id_r != NULL)
		*id_r = id;
	st_notify(st, user_id);
	return 0;
}

static int
mailbox_id(struct store *st, int64_t user_id, const char *canon,
    int64_t *id_r)
{
	sqlite3_stmt *stmt = st_stmt(st, "SELECT id FROM mailboxes"
	    " WHERE user_id = ? AND name = ?");

	if (stmt == NULL)
		return STORE_ERR_TEMP;
	sqlite3_bind_int64(stmt, 1, user_id);
	sqlite3_bind_text(stmt, 2, canon, -1, SQLITE_STATIC);
	return st_step_id(st, stmt, id_r);
}

/* Children of "a" are the names in ["a/", "a0"): '0' follows '/' in
 * ASCII, and the comparison is bytewise, so the index serves it. */
#define CHILDREN_OF(p) "(name >= " p " || '/' AND name < " p " || '0')"

static int
has_children(struct store *st, int64_t user_id, const char *canon,
    bool *yes_r)
{
	sqlite3_stmt *stmt = st_stmt(st, "SELECT EXISTS (SELECT 1 FROM"
	    " mailboxes WHERE user_id = ?1 AND " CHILDREN_OF("?2") ")");
	int rc;

	if (stmt == NULL)
		return STORE_ERR_TEMP;
	sqlite3_bind_int64(stmt, 1, user_id);
	sqlite3_bind_text(stmt, 2, canon, -1, SQLITE_STATIC);
	rc = sqlite3_step(stmt);
	*yes_r = sqlite3_column_int(stmt, 0) != 0;
	st_done(stmt);
	return rc == SQLITE_ROW ? 0 : st_err(st, rc);
}

int
store_mailbox_delete(struct store *st, int64_t user_id, const char *name)
{
	char canon[LIMIT_MAILBOX_NAME + 1];
	int64_t id;
	bool children;
	int ret;

	if ((ret = st_mailbox_canon(name, canon)) != 0)
		return ret;
	if (strcmp(canon, "INBOX") == 0)
		return STORE_ERR_IN_USE;
	if ((ret = st_begin(st)) != 0)
		return ret;
	if ((ret = mailbox_id(st, user_id, canon, &id)) != 0 ||
	    (ret = has_children(st, user_id, canon, &children)) != 0)
		goto fail;
	if (children) {
		ret = STORE_ERR_IN_USE;
		goto fail;
	}
	/* Messages and expunge records go by cascade; the messages_delete
	 * trigger keeps usage and body references right. */
	if ((ret = st_run_id(st, "DELETE FROM mailboxes WHERE id = ?",
	    id)) != 0)
		goto fail;
	return st_commit_notify(st, user_id);
fail:
	st_rollback(st);
	return ret;
}

/* rename_inbox: RFC 3501 6.3.5: renaming INBOX moves all its messages to
 * a new mailbox and leaves INBOX, and its children, in place. */
static int
rename_inbox(struct store *st, int64_t user_id, const char *new_name)
{
	struct store_message *msgs = NULL;
	uint32_t *uids = NULL;
	int64_t inbox, dst;
	size_t n = 0;
	int ret;

	if ((ret = mailbox_id(st, user_id, "INBOX", &inbox)) != 0 ||
	    (ret = st_mailbox_create(st, user_id, new_name, NULL, &dst)) != 0 ||
	    (ret = store_message_list(st, inbox, 1, 0, &msgs, &n)) != 0)
		return ret;
	uids = xreallocarray(NULL, n, sizeof(*uids));
	for (size_t i = 0; i < n; i++)
		uids[i] = msgs[i].uid;
	store_message_list_free(&msgs, n);
	ret = st_messages_move(st, inbox, uids, n, dst, NULL);
	free(uids);
	return ret;
}

static int
rename_tree(struct store *st, int64_t user_id, const char *old_name,
    const char *new_name)
{
	sqlite3_stmt *stmt;
	int64_t id;
	int rc, ret;

	if ((ret = mailbox_id(st, user_id, old_name, &id)) != 0)
		return ret;
	if ((ret = mailbox_id(st, user_id, new_name, &id)) == 0)
		return STORE_ERR_EXISTS;
	if (ret != STORE_ERR_NOT_FOUND)
		return ret;
	stmt = st_stmt(st, "UPDATE mailboxes SET name = ?3 ||"
	    " substr(name, length(?2) + 1) WHERE user_id = ?1 AND"
	    " (name = ?2 OR " CHILDREN_OF("?2") ")");
	if (stmt == NULL)
		return STORE_ERR_TEMP;
	sqlite3_bind_int64(stmt, 1, user_id);
	sqlite3_bind_text(stmt, 2, old_name, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 3, new_name, -1, SQLITE_STATIC);
	rc = sqlite3_step(stmt);
	st_done(stmt);
	if (rc != SQLITE_DONE)
		return st_err(st, rc);
	/* A child's new name may now be too long or too deep. */
	stmt = st_stmt(st, "SELECT name FROM mailboxes WHERE user_id = ?1"
	    " AND (name = ?2 OR " CHILDREN_OF("?2") ")");
	if (stmt == NULL)
		return STORE_ERR_TEMP;
	sqlite3_bind_int64(stmt, 1, user_id);
	sqlite3_bind_text(stmt, 2, new_name, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		char canon[LIMIT_MAILBOX_NAME + 1];
		const char *name = (const char *)sqlite3_column_text(stmt, 0);

		if (name == NULL || st_mailbox_canon(name, canon) != 0) {
			st_done(stmt);
			return STORE_ERR_LIMIT;
		}
	}
	st_done(stmt);
	return rc == SQLITE_DONE ? 0 : st_err(st, rc);
}

int
store_mailbox_rename(struct store *st, int64_t user_id, const char *old_name,
    const char *new_name)
{
	char from[LIMIT_MAILBOX_NAME + 1], to[LIMIT_MAILBOX_NAME + 1];
	size_t flen;
	int ret;

	if ((ret = st_mailbox_canon(old_name, from)) != 0 ||
	    (ret = st_mailbox_canon(new_name, to)) != 0)
		return ret;
	if (strcmp(from, to) == 0)
		return STORE_ERR_EXISTS;
	flen = strlen(from);
	/* A mailbox cannot become its own child. */
	if (strncmp(to, from, flen) == 0 && to[flen] == STORE_MAILBOX_SEP)
		return STORE_ERR_INVALID;
	if (strcmp(to, "INBOX") == 0)
		return STORE_ERR_EXISTS;
	if ((ret = st_begin(st)) != 0)
		return ret;
	if (strcmp(from, "INBOX") == 0)
		ret = rename_inbox(st, user_id, to);
	else
		ret = rename_tree(st, user_id, from, to);
	if (ret != 0) {
		st_rollback(st);
		return ret;
	}
	return st_commit_notify(st, user_id);
}

int
store_mailbox_subscribe(struct store *st, int64_t user_id, const char *name,
    bool on)
{
	char canon[LIMIT_MAILBOX_NAME + 1];
	int ret;

	if ((ret = st_mailbox_canon(name, canon)) != 0 ||
	    (ret = user_exists(st, user_id)) != 0)
		return ret;
	return subscribe(st, user_id, canon, on);
}

int
store_subscription_list(struct store *st, int64_t user_id, char ***names_r)
{
	sqlite3_stmt *stmt = st_stmt(st, "SELECT name FROM subscriptions"
	    " WHERE user_id = ? ORDER BY name");

	if (stmt == NULL)
		return STORE_ERR_TEMP;
	sqlite3_bind_int64(stmt, 1, user_id);
	return st_collect_strv(st, stmt, names_r);
}

#define MAILBOX_SELECT \
	"SELECT m.id, m.name, m.special_use, EXISTS (SELECT 1 FROM" \
	" subscriptions s WHERE s.user_id = m.user_id AND s.name = m.name)," \
	" m.uidvalidity, m.uidnext, m.highestmodseq," \
	" (SELECT count(*) FROM messages x WHERE x.mailbox_id = m.id)," \
	" (SELECT count(*) FROM messages x WHERE x.mailbox_id = m.id" \
	"  AND (x.flags & 1) = 0)," \
	" (SELECT coalesce(sum(size), 0) FROM messages x" \
	"  WHERE x.mailbox_id = m.id)" \
	" FROM mailboxes m"

static void
mailbox_from_row(sqlite3_stmt *stmt, void *item)
{
	struct store_mailbox *mb = item;

	mb->id = sqlite3_column_int64(stmt, 0);
	mb->name = st_strdup_col(stmt, 1);
	mb->special_use = sqlite3_column_type(stmt, 2) == SQLITE_NULL ? NULL :
	    st_strdup_col(stmt, 2);
	mb->subscribed = sqlite3_column_int(stmt, 3) != 0;
	mb->uidvalidity = (uint32_t)sqlite3_column_int64(stmt, 4);
	mb->uidnext = (uint32_t)sqlite3_column_int64(stmt, 5);
	mb->highestmodseq = (uint64_t)sqlite3_column_int64(stmt, 6);
	mb->messages = (uint32_t)sqlite3_column_int64(stmt, 7);
	mb->unseen = (uint32_t)sqlite3_column_int64(stmt, 8);
	mb->size = sqlite3_column_int64(stmt, 9);
}

int
store_mailbox_get(struct store *st, int64_t user_id, const char *name,
    struct store_mailbox *mailbox_r)
{
	char canon[LIMIT_MAILBOX_NAME + 1];
	sqlite3_stmt *stmt;
	int ret;

	if ((ret = st_mailbox_canon(name, canon)) != 0)
		return ret;
	stmt = st_stmt(st, MAILBOX_SELECT " WHERE m.user_id = ?"
	    " AND m.name = ?");
	if (stmt == NULL)
		return STORE_ERR_TEMP;
	sqlite3_bind_int64(stmt, 1, user_id);
	sqlite3_bind_text(stmt, 2, canon, -1, SQLITE_STATIC);
	return st_step_row(st, stmt, mailbox_from_row, mailbox_r);
}

void
store_mailbox_clear(struct store_mailbox *mb)
{
	free(mb->name);
	free(mb->special_use);
	memset(mb, 0, sizeof(*mb));
}

static void
mailbox_clear(void *item)
{
	store_mailbox_clear(item);
}

int
store_mailbox_list(struct store *st, int64_t user_id,
    struct store_mailbox **mailboxes_r, size_t *count_r)
{
	sqlite3_stmt *stmt = st_stmt(st, MAILBOX_SELECT " WHERE m.user_id = ?"
	    " ORDER BY m.name != 'INBOX', m.name");

	if (stmt == NULL)
		return STORE_ERR_TEMP;
	sqlite3_bind_int64(stmt, 1, user_id);
	return st_collect(st, stmt, sizeof(**mailboxes_r), mailbox_from_row,
	    mailbox_clear, (void **)mailboxes_r, count_r);
}

void
store_mailbox_list_free(struct store_mailbox **mbp, size_t count)
{
	st_items_free((void **)mbp, count, sizeof(**mbp), mailbox_clear);
}

static void
state_from_row(sqlite3_stmt *stmt, void *item)
{
	struct store_mailbox_state *state = item;

	state->uidvalidity = (uint32_t)sqlite3_column_int64(stmt, 0);
	state->uidnext = (uint32_t)sqlite3_column_int64(stmt, 1);
	state->highestmodseq = (uint64_t)sqlite3_column_int64(stmt, 2);
}

int
store_mailbox_state(struct store *st, int64_t mailbox_id,
    struct store_mailbox_state *state_r)
{
	sqlite3_stmt *stmt = st_stmt(st, "SELECT uidvalidity, uidnext,"
	    " highestmodseq FROM mailboxes WHERE id = ?");

	if (stmt == NULL)
		return STORE_ERR_TEMP;
	sqlite3_bind_int64(stmt, 1, mailbox_id);
	return st_step_row(st, stmt, state_from_row, state_r);
}

/* One row of store_mailbox_find()'s statement. */
struct mailbox_found {
	int64_t id;
	struct store_mailbox_state state;
};

static void
found_from_row(sqlite3_stmt *stmt, void *item)
{
	struct mailbox_found *f = item;

	f->id = sqlite3_column_int64(stmt, 0);
	f->state.uidvalidity = (uint32_t)sqlite3_column_int64(stmt, 1);
	f->state.uidnext = (uint32_t)sqlite3_column_int64(stmt, 2);
	f->state.highestmodseq = (uint64_t)sqlite3_column_int64(stmt, 3);
}

int
store_mailbox_find(struct store *st, int64_t user_id, const char *name,
    int64_t *id_r, struct store_mailbox_state *state_r)
{
	char canon[LIMIT_MAILBOX_NAME + 1];
	struct mailbox_found f;
	sqlite3_stmt *stmt;
	int ret;

	if ((ret = st_mailbox_canon(name, canon)) != 0)
		return ret;
	stmt = st_stmt(st, "SELECT id, uidvalidity, uidnext, highestmodseq"
	    " FROM mailboxes WHERE user_id = ? AND name = ?");
	if (stmt == NULL)
		return STORE_ERR_TEMP;
	sqlite3_bind_int64(stmt, 1, user_id);
	sqlite3_bind_text(stmt, 2, canon, -1, SQLITE_STATIC);
	if ((ret = st_step_row(st, stmt, found_from_row, &f)) != 0)
		return ret;
	*id_r = f.id;
	if (state_r != NULL)
		*state_r = f.state;
	return 0;
}

int
st_mailbox_owner(struct store *st, int64_t mailbox_id, int64_t *user_id_r)
{
	sqlite3_stmt *stmt = st_stmt(st, "SELECT user_id FROM mailboxes"
	    " WHERE id = ?");

	if (stmt == NULL)
		return STORE_ERR_TEMP;
	sqlite3_bind_int64(stmt, 1, mailbox_id);
	return st_step_id(st, stmt, user_id_r);
}

int
st_mailbox_next(struct store *st, int64_t mailbox_id, uint32_t count,
    uint32_t *uid_r, uint64_t *modseq_r)
{
	sqlite3_stmt *stmt = st_stmt(st, "UPDATE mailboxes SET"
	    " uidnext = uidnext + ?2, highestmodseq = highestmodseq + 1"
	    " WHERE id = ?1 RETURNING uidnext - ?2, highestmodseq");
	int64_t first;
	int rc;

	if (stmt == NULL)
		return STORE_ERR_TEMP;
	sqlite3_bind_int64(stmt, 1, mailbox_id);
	sqlite3_bind_int64(stmt, 2, count);
	rc = sqlite3_step(stmt);
	first = sqlite3_column_int64(stmt, 0);
	if (modseq_r != NULL)
		*modseq_r = (uint64_t)sqlite3_column_int64(stmt, 1);
	st_done(stmt);
	if (rc != SQLITE_ROW)
		return rc == SQLITE_DONE ? STORE_ERR_NOT_FOUND :
		    st_err(st, rc);
	/* RFC 3501 2.3.1.1: UIDs are 32-bit; a full mailbox must be
	 * re-created (new UIDVALIDITY) rather than wrap. */
	if (first + count - 1 > (int64_t)UINT32_MAX)
		return STORE_ERR_LIMIT;
	if (uid_r != NULL)
		*uid_r = (uint32_t)first;
	return 0;
}
