/*
 * message.c - messages in mailboxes: delivery, append, listing, copy,
 * move and expunge.
 *
 * Every write is one BEGIN IMMEDIATE transaction; listeners are told
 * (st_notify) only after the commit. UIDs come from st_mailbox_next(), so
 * they ascend and are never reused within a UIDVALIDITY. A new body is
 * hashed and parsed (st_body_prepare) before BEGIN, so that the write
 * lock is not held meanwhile.
 */
#include <stdlib.h>
#include <string.h>

#include "common/limits.h"
#include "common/xalloc.h"
#include "internal.h"

int
st_message_insert(struct store *st, int64_t mailbox_id, int64_t user_id,
    uint32_t uid, int64_t body_id, int64_t size, uint32_t flags,
    const char *keywords, int64_t internal_date, uint64_t modseq)
{
	sqlite3_stmt *stmt = st_stmt(st, "INSERT INTO messages (mailbox_id,"
	    " user_id, uid, body_id, size, flags, keywords, internal_date,"
	    " modseq) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)");
	int rc;

	if (stmt == NULL)
		return STORE_ERR_TEMP;
	sqlite3_bind_int64(stmt, 1, mailbox_id);
	sqlite3_bind_int64(stmt, 2, user_id);
	sqlite3_bind_int64(stmt, 3, uid);
	sqlite3_bind_int64(stmt, 4, body_id);
	sqlite3_bind_int64(stmt, 5, size);
	sqlite3_bind_int64(stmt, 6, flags);
	sqlite3_bind_text(stmt, 7, keywords, -1, SQLITE_STATIC);
	sqlite3_bind_int64(stmt, 8, internal_date);
	sqlite3_bind_int64(stmt, 9, (int64_t)modseq);
	rc = sqlite3_step(stmt);
	st_done(stmt);
	return rc == SQLITE_DONE ? 0 : st_err(st, rc);
}

static int
inbox_id(struct store *st, int64_t user_id, int64_t *id_r)
{
	sqlite3_stmt *stmt = st_stmt(st, "SELECT id FROM mailboxes"
	    " WHERE user_id = ? AND name = 'INBOX'");

	if (stmt == NULL)
		return STORE_ERR_TEMP;
	sqlite3_bind_int64(stmt, 1, user_id);
	return st_step_id(st, stmt, id_r);
}

/* deliver_one: one user's copy, inside the delivery's transaction. */
static int
deliver_one(struct store *st, int64_t user_id, struct st_body *body,
    int64_t internal_date, int64_t *body_id, uint32_t *uid_r)
{
	int64_t mailbox_id = 0;
	uint64_t modseq;
	int ret;

	if ((ret = st_quota_room(st, user_id, (int64_t)body->len)) != 0 ||
	    (ret = inbox_id(st, user_id, &mailbox_id)) != 0)
		return ret;
	if (*body_id == 0 &&
	    (ret = st_body_put(st, body, body_id)) != 0)
		return ret;
	if ((ret = st_mailbox_next(st, mailbox_id, 1, uid_r, &modseq)) != 0)
		return ret;
	return st_message_insert(st, mailbox_id, user_id, *uid_r, *body_id,
	    (int64_t)body->len, 0, "", internal_date, modseq);
}

int
st_deliver_locked(struct store *st, const int64_t *user_ids, size_t count,
    struct st_body *body, int64_t internal_date, bool all, int *results_r,
    uint32_t *uids_r)
{
	int64_t body_id = 0;
	size_t delivered = 0, refused = 0;

	for (size_t i = 0; i < count; i++) {
		size_t j;
		int ret;

		/* A user named twice gets one copy. */
		for (j = 0; j < i && user_ids[j] != user_ids[i]; j++)
			;
		if (j < i) {
			results_r[i] = results_r[j];
			uids_r[i] = uids_r[j];
			continue;
		}
		ret = deliver_one(st, user_ids[i], body, internal_date,
		    &body_id, &uids_r[i]);
		results_r[i] = ret;
		if (ret == 0)
			delivered++;
		else if (ret == STORE_ERR_QUOTA)
			refused++;
		else
			return ret;
	}
	if (delivered == 0 || (all && refused > 0))
		return STORE_ERR_QUOTA;
	return 0;
}

/* deliver: store_deliver(), store_deliver_all() and store_submit(): the
 * local copies and the queued one (q, may be NULL) in one transaction. */
static int
deliver(struct store *st, const int64_t *user_ids, size_t count,
    const char *data, size_t len, int64_t internal_date, bool all,
    int *results_r, uint32_t *uids_r, const struct store_queue_new *q)
{
	struct st_body body;
	uint32_t *uids;
	int ret = 0;

	if (count > LIMIT_RECIPIENTS || (count == 0 && q == NULL))
		return STORE_ERR_INVALID;
	memset(&body, 0, sizeof(body));
	uids = xcalloc(count + 1, sizeof(*uids));
	if ((count > 0 &&
	    (ret = st_body_prepare(st, data, len, &body)) != 0) ||
	    (ret = st_begin(st)) != 0)
		goto out;
	if (count > 0 && (ret = st_deliver_locked(st, user_ids, count, &body,
	    internal_date, all, results_r, uids)) != 0)
		goto fail;
	if (q != NULL && (ret = st_queue_insert(st, q, internal_date)) != 0)
		goto fail;
	if ((ret = st_commit(st)) != 0)
		goto out;
	for (size_t i = 0; i < count; i++)
		if (results_r[i] == 0)
			st_notify(st, user_ids[i]);
	if (q != NULL)
		store_queue_poke(st);
	if (uids_r != NULL)
		memcpy(uids_r, uids, count * sizeof(*uids));
	goto out;
fail:
	st_rollback(st);
out:
	st_body_clear(&body);
	free(uids);
	return ret;
}

int
store_deliver(struct store *st, const int64_t *user_ids, size_t count,
    const char *data, size_t len, int64_t internal_date, int *results_r,
    uint32_t *uids_r)
{
	if (count == 0)
		return STORE_ERR_INVALID;
	return deliver(st, user_ids, count, data, len, internal_date, false,
	    results_r, uids_r, NULL);
}

int
store_deliver_all(struct store *st, const int64_t *user_ids, size_t count,
    const char *data, size_t len, int64_t internal_date, int *results_r,
    uint32_t *uids_r)
{
	if (count == 0)
		return STORE_ERR_INVALID;
	return deliver(st, user_ids, count, data, len, internal_date, true,
	    results_r, uids_r, NULL);
}

int
store_submit(struct store *st, const int64_t *user_ids, size_t count,
    const char *local_data, size_t local_len, int64_t internal_date,
    int *results_r, const struct store_queue_new *q)
{
	return deliver(st, user_ids, count, local_data, local_len,
	    internal_date, true, results_r, NULL, q);
}

int
store_append(struct store *st, int64_t mailbox_id, const char *data,
    size_t len, uint32_t flags, const char *keywords, int64_t internal_date,
    uint32_t *uid_r)
{
	struct st_body body;
	char *kw = NULL;
	int64_t user_id, body_id;
	uint64_t modseq;
	uint32_t uid;
	int ret;

	if ((flags & ~STORE_FLAGS_ALL) != 0)
		return STORE_ERR_INVALID;
	if ((ret = st_keywords_normalize(keywords, &kw)) != 0)
		return ret;
	if ((ret = st_body_prepare(st, data, len, &body)) != 0 ||
	    (ret = st_begin(st)) != 0)
		goto out;
	if ((ret = st_mailbox_owner(st, mailbox_id, &user_id)) != 0 ||
	    (ret = st_quota_room(st, user_id, (int64_t)len)) != 0 ||
	    (ret = st_body_put(st, &body, &body_id)) != 0 ||
	    (ret = st_mailbox_next(st, mailbox_id, 1, &uid, &modseq)) != 0 ||
	    (ret = st_message_insert(st, mailbox_id, user_id, uid, body_id,
	    (int64_t)len, flags, kw, internal_date, modseq)) != 0) {
		st_rollback(st);
		goto out;
	}
	if ((ret = st_commit(st)) != 0)
		goto out;
	if (uid_r != NULL)
		*uid_r = uid;
	st_notify(st, user_id);
out:
	st_body_clear(&body);
	free(kw);
	return ret;
}

#define MESSAGE_COLUMNS \
	"id, uid, flags, keywords, internal_date, modseq, size, body_id"

static void
message_from_row(sqlite3_stmt *stmt, void *item)
{
	struct store_message *m = item;

	m->id = sqlite3_column_int64(stmt, 0);
	m->uid = (uint32_t)sqlite3_column_int64(stmt, 1);
	m->flags = (uint32_t)sqlite3_column_int64(stmt, 2);
	m->keywords = st_strdup_col(stmt, 3);
	m->internal_date = sqlite3_column_int64(stmt, 4);
	m->modseq = (uint64_t)sqlite3_column_int64(stmt, 5);
	m->size = sqlite3_column_int64(stmt, 6);
	m->body_id = sqlite3_column_int64(stmt, 7);
}

static void
message_clear(void *item)
{
	store_message_clear(item);
}

int
store_message_changed(struct store *st, int64_t mailbox_id, uint64_t modseq,
    uint32_t uid_hi, struct store_message **messages_r, size_t *count_r)
{
	sqlite3_stmt *stmt = st_stmt(st, "SELECT " MESSAGE_COLUMNS
	    " FROM messages WHERE mailbox_id = ? AND modseq > ? AND uid <= ?"
	    " ORDER BY uid");

	if (stmt == NULL)
		return STORE_ERR_TEMP;
	sqlite3_bind_int64(stmt, 1, mailbox_id);
	sqlite3_bind_int64(stmt, 2, (int64_t)modseq);
	sqlite3_bind_int64(stmt, 3, uid_hi);
	return st_collect(st, stmt, sizeof(**messages_r), message_from_row,
	    message_clear, (void **)messages_r, count_r);
}

int
store_message_list(struct store *st, int64_t mailbox_id, uint32_t uid_lo,
    uint32_t uid_hi, struct store_message **messages_r, size_t *count_r)
{
	sqlite3_stmt *stmt = st_stmt(st, "SELECT " MESSAGE_COLUMNS
	    " FROM messages WHERE mailbox_id = ? AND uid BETWEEN ? AND ?"
	    " ORDER BY uid");

	if (stmt == NULL)
		return STORE_ERR_TEMP;
	sqlite3_bind_int64(stmt, 1, mailbox_id);
	sqlite3_bind_int64(stmt, 2, uid_lo);
	sqlite3_bind_int64(stmt, 3, uid_hi != 0 ? uid_hi : UINT32_MAX);
	return st_collect(st, stmt, sizeof(**messages_r), message_from_row,
	    message_clear, (void **)messages_r, count_r);
}

void
store_message_list_free(struct store_message **messagesp, size_t count)
{
	st_items_free((void **)messagesp, count, sizeof(**messagesp),
	    message_clear);
}

int
store_message_get(struct store *st, int64_t mailbox_id, uint32_t uid,
    struct store_message *message_r)
{
	sqlite3_stmt *stmt = st_stmt(st, "SELECT " MESSAGE_COLUMNS
	    " FROM messages WHERE mailbox_id = ? AND uid = ?");

	if (stmt == NULL)
		return STORE_ERR_TEMP;
	sqlite3_bind_int64(stmt, 1, mailbox_id);
	sqlite3_bind_int64(stmt, 2, uid);
	return st_step_row(st, stmt, message_from_row, message_r);
}

void
store_message_clear(struct store_message *m)
{
	free(m->keywords);
	memset(m, 0, sizeof(*m));
}

/* collect: the messages of src among uids, in the order given; absent
 * UIDs are left out (found[i] false). */
static int
collect(struct store *st, int64_t src, const uint32_t *uids, size_t count,
    struct store_message *msgs, bool *found, size_t *n_found_r,
    int64_t *bytes_r)
{
	int ret;

	*n_found_r = 0;
	*bytes_r = 0;
	for (size_t i = 0; i < count; i++) {
		ret = store_message_get(st, src, uids[i], &msgs[i]);
		found[i] = ret == 0;
		if (ret == STORE_ERR_NOT_FOUND)
			continue;
		if (ret != 0)
			return ret;
		(*n_found_r)++;
		*bytes_r += msgs[i].size;
	}
	return 0;
}

/* transfer: copies (move false) or moves the messages with uids from src
 * to dst inside the caller's transaction. */
static int
transfer(struct store *st, int64_t src, const uint32_t *uids, size_t count,
    int64_t dst, bool move, uint32_t *new_uids_r, int64_t *dst_owner_r)
{
	struct store_message *msgs = xcalloc(count ? count : 1, sizeof(*msgs));
	bool *found = xcalloc(count ? count : 1, sizeof(*found));
	int64_t src_owner, dst_owner, bytes;
	uint64_t dst_modseq, src_modseq = 0;
	uint32_t next;
	size_t n_found, k = 0;
	sqlite3_stmt *stmt;
	int rc, ret;

	if ((ret = st_mailbox_owner(st, src, &src_owner)) != 0 ||
	    (ret = st_mailbox_owner(st, dst, &dst_owner)) != 0 ||
	    (ret = collect(st, src, uids, count, msgs, found, &n_found,
	    &bytes)) != 0)
		goto out;
	*dst_owner_r = dst_owner;
	if (n_found == 0)
		goto out;
	/* A move within one user's mailboxes does not change usage. */
	if ((!move || src_owner != dst_owner) &&
	    (ret = st_quota_room(st, dst_owner, bytes)) != 0)
		goto out;
	if ((ret = st_mailbox_next(st, dst, (uint32_t)n_found, &next,
	    &dst_modseq)) != 0 ||
	    (move && (ret = st_mailbox_next(st, src, 0, NULL,
	    &src_modseq)) != 0))
		goto out;
	for (size_t i = 0; i < count; i++) {
		struct store_message *m = &msgs[i];
		uint32_t uid = next + (uint32_t)k;

		if (new_uids_r != NULL)
			new_uids_r[i] = found[i] ? uid : 0;
		if (!found[i])
			continue;
		k++;
		if (!move) {
			ret = st_message_insert(st, dst, dst_owner, uid,
			    m->body_id, m->size, m->flags, m->keywords,
			    m->internal_date, dst_modseq);
			if (ret != 0)
				goto out;
			continue;
		}
		stmt = st_stmt(st, "UPDATE messages SET mailbox_id = ?,"
		    " user_id = ?, uid = ?, modseq = ? WHERE id = ?");
		if (stmt == NULL) {
			ret = STORE_ERR_TEMP;
			goto out;
		}
		sqlite3_bind_int64(stmt, 1, dst);
		sqlite3_bind_int64(stmt, 2, dst_owner);
		sqlite3_bind_int64(stmt, 3, uid);
		sqlite3_bind_int64(stmt, 4, (int64_t)dst_modseq);
		sqlite3_bind_int64(stmt, 5, m->id);
		rc = sqlite3_step(stmt);
		st_done(stmt);
		if (rc != SQLITE_DONE ||
		    (ret = st_expunged_record(st, src, m->uid,
		    src_modseq)) != 0) {
			ret = ret != 0 ? ret : st_err(st, rc);
			goto out;
		}
	}
out:
	for (size_t i = 0; i < count; i++)
		if (found[i])
			store_message_clear(&msgs[i]);
	free(msgs);
	free(found);
	return ret;
}

int
st_messages_move(struct store *st, int64_t src, const uint32_t *uids,
    size_t count, int64_t dst, uint32_t *new_uids_r)
{
	int64_t owner;

	return transfer(st, src, uids, count, dst, true, new_uids_r, &owner);
}

static int
copy_or_move(struct store *st, int64_t src, const uint32_t *uids,
    size_t count, int64_t dst, bool move, uint32_t *new_uids_r)
{
	int64_t dst_owner = 0;
	int ret;

	/* A move within one mailbox gives the messages new UIDs and
	 * expunges the old ones (RFC 6851 3.1: COPY, then EXPUNGE). */
	if ((ret = st_begin(st)) != 0)
		return ret;
	if ((ret = transfer(st, src, uids, count, dst, move, new_uids_r,
	    &dst_owner)) != 0) {
		st_rollback(st);
		return ret;
	}
	return st_commit_notify(st, dst_owner);
}

int
store_copy(struct store *st, int64_t src_mailbox_id, const uint32_t *uids,
    size_t count, int64_t dst_mailbox_id, uint32_t *new_uids_r)
{
	return copy_or_move(st, src_mailbox_id, uids, count, dst_mailbox_id,
	    false, new_uids_r);
}

int
store_move(struct store *st, int64_t src_mailbox_id, const uint32_t *uids,
    size_t count, int64_t dst_mailbox_id, uint32_t *new_uids_r)
{
	return copy_or_move(st, src_mailbox_id, uids, count, dst_mailbox_id,
	    true, new_uids_r);
}

int
st_expunged_record(struct store *st, int64_t mailbox_id, uint32_t uid,
    uint64_t modseq)
{
	sqlite3_stmt *stmt = st_stmt(st, "INSERT OR REPLACE INTO expunged"
	    " (mailbox_id, uid, modseq) VALUES (?, ?, ?)");
	int rc;

	if (stmt == NULL)
		return STORE_ERR_TEMP;
	sqlite3_bind_int64(stmt, 1, mailbox_id);
	sqlite3_bind_int64(stmt, 2, uid);
	sqlite3_bind_int64(stmt, 3, (int64_t)modseq);
	rc = sqlite3_step(stmt);
	st_done(stmt);
	return rc == SQLITE_DONE ? 0 : st_err(st, rc);
}

static int
uid_cmp(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/* pick_uids: the messages of mailbox_id (only the \Deleted ones when
 * only_deleted), ascending; with uids non-NULL only those among them
 * (looked up in a sorted copy). */
static int
pick_uids(struct store *st, int64_t mailbox_id, bool only_deleted,
    const uint32_t *uids, size_t count, uint32_t **out_r, size_t *n_r)
{
	sqlite3_stmt *stmt = st_stmt(st, "SELECT uid FROM messages"
	    " WHERE mailbox_id = ?1 AND (?2 = 0 OR (flags & "
	    STORE_STR(STORE_FLAG_DELETED) ") != 0) ORDER BY uid");
	uint32_t *out = NULL, *wanted = NULL;
	size_t n = 0;
	int rc;

	if (stmt == NULL)
		return STORE_ERR_TEMP;
	if (uids != NULL) {
		wanted = xreallocarray(NULL, count ? count : 1,
		    sizeof(*wanted));
		if (count > 0)
			memcpy(wanted, uids, count * sizeof(*wanted));
		qsort(wanted, count, sizeof(*wanted), uid_cmp);
	}
	sqlite3_bind_int64(stmt, 1, mailbox_id);
	sqlite3_bind_int(stmt, 2, only_deleted);
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		uint32_t uid = (uint32_t)sqlite3_column_int64(stmt, 0);

		if (wanted != NULL && bsearch(&uid, wanted, count,
		    sizeof(*wanted), uid_cmp) == NULL)
			continue;
		out = xreallocarray(out, n + 1, sizeof(*out));
		out[n++] = uid;
	}
	st_done(stmt);
	free(wanted);
	if (rc != SQLITE_DONE) {
		free(out);
		return st_err(st, rc);
	}
	*out_r = out;
	*n_r = n;
	return 0;
}

/* expunge: store_expunge() and store_remove(). */
static int
expunge(struct store *st, int64_t mailbox_id, bool only_deleted,
    const uint32_t *uids, size_t count, uint32_t **expunged_r,
    size_t *expunged_count_r)
{
	uint32_t *gone = NULL;
	size_t n = 0;
	int64_t owner;
	uint64_t modseq;
	sqlite3_stmt *stmt;
	int rc, ret;

	if ((ret = st_begin(st)) != 0)
		return ret;
	if ((ret = st_mailbox_owner(st, mailbox_id, &owner)) != 0 ||
	    (ret = pick_uids(st, mailbox_id, only_deleted, uids, count, &gone,
	    &n)) != 0)
		goto fail;
	if (n > 0 && (ret = st_mailbox_next(st, mailbox_id, 0, NULL,
	    &modseq)) != 0)
		goto fail;
	for (size_t i = 0; i < n; i++) {
		stmt = st_stmt(st, "DELETE FROM messages WHERE mailbox_id = ?"
		    " AND uid = ?");
		if (stmt == NULL) {
			ret = STORE_ERR_TEMP;
			goto fail;
		}
		sqlite3_bind_int64(stmt, 1, mailbox_id);
		sqlite3_bind_int64(stmt, 2, gone[i]);
		rc = sqlite3_step(stmt);
		st_done(stmt);
		if (rc != SQLITE_DONE) {
			ret = st_err(st, rc);
			goto fail;
		}
		if ((ret = st_expunged_record(st, mailbox_id, gone[i],
		    modseq)) != 0)
			goto fail;
	}
	if ((ret = st_commit(st)) != 0)
		goto out;
	if (n > 0)
		st_notify(st, owner);
	if (expunged_r != NULL) {
		*expunged_r = gone;
		gone = NULL;
	}
	if (expunged_count_r != NULL)
		*expunged_count_r = n;
	goto out;
fail:
	st_rollback(st);
out:
	free(gone);
	return ret;
}

int
store_expunge(struct store *st, int64_t mailbox_id, const uint32_t *uids,
    size_t count, uint32_t **expunged_r, size_t *expunged_count_r)
{
	return expunge(st, mailbox_id, true, uids, count, expunged_r,
	    expunged_count_r);
}

int
store_remove(struct store *st, int64_t mailbox_id, const uint32_t *uids,
    size_t count, uint32_t **removed_r, size_t *removed_count_r)
{
	return expunge(st, mailbox_id, false, uids, count, removed_r,
	    removed_count_r);
}

int
store_expunged_since(struct store *st, int64_t mailbox_id, uint64_t modseq,
    uint32_t **uids_r, size_t *count_r)
{
	sqlite3_stmt *stmt = st_stmt(st, "SELECT uid FROM expunged"
	    " WHERE mailbox_id = ? AND modseq > ? ORDER BY uid");

	if (stmt == NULL)
		return STORE_ERR_TEMP;
	sqlite3_bind_int64(stmt, 1, mailbox_id);
	sqlite3_bind_int64(stmt, 2, (int64_t)modseq);
	return st_collect_uids(st, stmt, uids_r, count_r);
}

int
store_message_uids(struct store *st, int64_t mailbox_id, uint32_t **uids_r,
    size_t *count_r)
{
	sqlite3_stmt *stmt = st_stmt(st, "SELECT uid FROM messages"
	    " WHERE mailbox_id = ? ORDER BY uid");

	if (stmt == NULL)
		return STORE_ERR_TEMP;
	sqlite3_bind_int64(stmt, 1, mailbox_id);
	return st_collect_uids(st, stmt, uids_r, count_r);
}

int
store_first_unseen(struct store *st, int64_t mailbox_id, uint32_t *uid_r)
{
	sqlite3_stmt *stmt = st_stmt(st, "SELECT coalesce(min(uid), 0)"
	    " FROM messages WHERE mailbox_id = ? AND (flags & ?) = 0");
	int64_t uid;
	int ret;

	if (stmt == NULL)
		return STORE_ERR_TEMP;
	sqlite3_bind_int64(stmt, 1, mailbox_id);
	sqlite3_bind_int(stmt, 2, STORE_FLAG_SEEN);
	if ((ret = st_step_id(st, stmt, &uid)) != 0)
		return ret;
	*uid_r = (uint32_t)uid;
	return 0;
}
