/*
 * queue.c - the outbound queue: messages for remote recipients, each
 * recipient with its own state, attempts and next attempt (schema v5).
 *
 * A message enters in the SMTP transaction that accepts it (message.c
 * deliver(), so 250 means it is on disk). The delivery agent claims due
 * recipients with a lease naming its process (lease_pid): what one
 * process holds no other takes, and what a dead process held is given
 * back by store_queue_release(0). Outcomes release the lease; a message
 * whose every recipient is delivered, or failed and reported, goes.
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/ascii.h"
#include "common/limits.h"
#include "common/xalloc.h"
#include "internal.h"

/* domain_of: the lower-cased domain of address (after its last '@'). */
static void
domain_of(const char *address, char *out, size_t size)
{
	const char *at = strrchr(address, '@');
	size_t i = 0;

	for (at = at != NULL ? at + 1 : ""; *at != '\0' && i + 1 < size;
	    at++)
		out[i++] = (char)ascii_lower((unsigned char)*at);
	out[i] = '\0';
}

/* put_chunks: head then data of q, in LIMIT_BODY_CHUNK pieces. */
static int
put_chunks(struct store *st, int64_t id, const struct store_queue_new *q)
{
	size_t total = q->head_len + q->len;
	char *joined = NULL;
	int ret = 0;

	for (size_t off = 0, seq = 0; off < total && ret == 0;
	    off += LIMIT_BODY_CHUNK, seq++) {
		size_t n = total - off < LIMIT_BODY_CHUNK ? total - off :
		    LIMIT_BODY_CHUNK;
		const char *piece;
		sqlite3_stmt *stmt;
		int rc;

		if (off >= q->head_len) {
			piece = q->data + (off - q->head_len);
		} else if (off + n <= q->head_len) {
			piece = q->head + off;
		} else {
			/* The one chunk where head and data meet. */
			size_t h = q->head_len - off;

			if (joined == NULL)
				joined = xmalloc(LIMIT_BODY_CHUNK);
			memcpy(joined, q->head + off, h);
			memcpy(joined + h, q->data, n - h);
			piece = joined;
		}
		stmt = st_stmt(st, "INSERT INTO queue_chunks (queue_id, seq,"
		    " data) VALUES (?, ?, ?)");
		if (stmt == NULL) {
			ret = STORE_ERR_TEMP;
			break;
		}
		sqlite3_bind_int64(stmt, 1, id);
		sqlite3_bind_int64(stmt, 2, (int64_t)seq);
		sqlite3_bind_blob(stmt, 3, piece, (int)n, SQLITE_STATIC);
		rc = sqlite3_step(stmt);
		st_done(stmt);
		if (rc != SQLITE_DONE)
			ret = st_err(st, rc);
	}
	free(joined);
	return ret;
}

int
st_queue_insert(struct store *st, const struct store_queue_new *q,
    int64_t now)
{
	sqlite3_stmt *stmt;
	int64_t id;
	int rc, ret;

	if (q->nrcpts == 0 || q->nrcpts > LIMIT_RECIPIENTS)
		return STORE_ERR_INVALID;
	stmt = st_stmt(st, "INSERT INTO queue (qid, sender, user_id, size,"
	    " body_8bit, smtputf8, created) VALUES (?, ?, ?, ?, ?, ?, ?)");
	if (stmt == NULL)
		return STORE_ERR_TEMP;
	sqlite3_bind_text(stmt, 1, q->qid, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 2, q->sender, -1, SQLITE_STATIC);
	if (q->user_id > 0)
		sqlite3_bind_int64(stmt, 3, q->user_id);
	sqlite3_bind_int64(stmt, 4, (int64_t)(q->head_len + q->len));
	sqlite3_bind_int(stmt, 5, q->body_8bit);
	sqlite3_bind_int(stmt, 6, q->smtputf8);
	sqlite3_bind_int64(stmt, 7, now);
	rc = sqlite3_step(stmt);
	st_done(stmt);
	if (rc != SQLITE_DONE)
		return rc == SQLITE_CONSTRAINT ? STORE_ERR_EXISTS :
		    st_err(st, rc);
	id = sqlite3_last_insert_rowid(st->db);

	if ((ret = put_chunks(st, id, q)) != 0)
		return ret;
	for (size_t i = 0; i < q->nrcpts; i++) {
		char domain[LIMIT_ADDR_DOMAIN + 1];

		domain_of(q->rcpts[i], domain, sizeof(domain));
		/* OR IGNORE: one recipient named twice is sent once. */
		stmt = st_stmt(st, "INSERT OR IGNORE INTO queue_rcpts"
		    " (queue_id, address, domain, next_attempt)"
		    " VALUES (?, ?, ?, ?)");
		if (stmt == NULL)
			return STORE_ERR_TEMP;
		sqlite3_bind_int64(stmt, 1, id);
		sqlite3_bind_text(stmt, 2, q->rcpts[i], -1, SQLITE_STATIC);
		sqlite3_bind_text(stmt, 3, domain, -1, SQLITE_TRANSIENT);
		sqlite3_bind_int64(stmt, 4, now);
		rc = sqlite3_step(stmt);
		st_done(stmt);
		if (rc != SQLITE_DONE)
			return st_err(st, rc);
	}
	return 0;
}

/* ---- Reading messages and recipients --------------------------------- */

static void
rcpt_clear(void *item)
{
	struct store_queue_rcpt *r = item;

	free(r->address);
	free(r->domain);
	free(r->last_answer);
	free(r->remote_mta);
	memset(r, 0, sizeof(*r));
}

/* The columns RCPT_COLUMNS names, in this order. */
#define RCPT_COLUMNS "id, address, domain, state, attempts, next_attempt," \
	" last_attempt, last_code, last_answer, remote_mta"

static void
rcpt_from_row(sqlite3_stmt *stmt, void *item)
{
	struct store_queue_rcpt *r = item;

	r->id = sqlite3_column_int64(stmt, 0);
	r->address = st_strdup_col(stmt, 1);
	r->domain = st_strdup_col(stmt, 2);
	r->state = sqlite3_column_int(stmt, 3);
	r->attempts = sqlite3_column_int(stmt, 4);
	r->next_attempt = sqlite3_column_int64(stmt, 5);
	r->last_attempt = sqlite3_column_int64(stmt, 6);
	r->last_code = sqlite3_column_int(stmt, 7);
	r->last_answer = st_strdup_col(stmt, 8);
	r->remote_mta = st_strdup_col(stmt, 9);
}

void
store_queue_msg_clear(struct store_queue_msg *m)
{
	free(m->qid);
	free(m->sender);
	st_items_free((void **)&m->rcpts, m->nrcpts, sizeof(*m->rcpts),
	    rcpt_clear);
	memset(m, 0, sizeof(*m));
}

static void
msg_clear(void *item)
{
	store_queue_msg_clear(item);
}

#define MSG_COLUMNS "id, qid, sender, coalesce(user_id, 0), size," \
	" body_8bit, smtputf8, created, delay_notified"

static void
msg_from_row(sqlite3_stmt *stmt, void *item)
{
	struct store_queue_msg *m = item;

	memset(m, 0, sizeof(*m));
	m->id = sqlite3_column_int64(stmt, 0);
	m->qid = st_strdup_col(stmt, 1);
	m->sender = st_strdup_col(stmt, 2);
	m->user_id = sqlite3_column_int64(stmt, 3);
	m->size = sqlite3_column_int64(stmt, 4);
	m->body_8bit = sqlite3_column_int(stmt, 5) != 0;
	m->smtputf8 = sqlite3_column_int(stmt, 6) != 0;
	m->created = sqlite3_column_int64(stmt, 7);
	m->delay_notified = sqlite3_column_int(stmt, 8) != 0;
}

/* all_rcpts: every recipient of m, into m->rcpts. */
static int
all_rcpts(struct store *st, struct store_queue_msg *m)
{
	sqlite3_stmt *stmt = st_stmt(st, "SELECT " RCPT_COLUMNS
	    " FROM queue_rcpts WHERE queue_id = ? ORDER BY id");

	if (stmt == NULL)
		return STORE_ERR_TEMP;
	sqlite3_bind_int64(stmt, 1, m->id);
	return st_collect(st, stmt, sizeof(*m->rcpts), rcpt_from_row,
	    rcpt_clear, (void **)&m->rcpts, &m->nrcpts);
}

/* msg_by: the message of a bound stmt selecting MSG_COLUMNS, with every
 * recipient. */
static int
msg_by(struct store *st, sqlite3_stmt *stmt, struct store_queue_msg *msg_r)
{
	int ret;

	memset(msg_r, 0, sizeof(*msg_r));
	if ((ret = st_step_row(st, stmt, msg_from_row, msg_r)) != 0)
		return ret;
	if ((ret = all_rcpts(st, msg_r)) != 0)
		store_queue_msg_clear(msg_r);
	return ret;
}

int
store_queue_get(struct store *st, const char *qid,
    struct store_queue_msg *msg_r)
{
	sqlite3_stmt *stmt = st_stmt(st, "SELECT " MSG_COLUMNS
	    " FROM queue WHERE qid = ?");

	if (stmt == NULL)
		return STORE_ERR_TEMP;
	sqlite3_bind_text(stmt, 1, qid, -1, SQLITE_STATIC);
	return msg_by(st, stmt, msg_r);
}

int
store_queue_get_by_id(struct store *st, int64_t id,
    struct store_queue_msg *msg_r)
{
	sqlite3_stmt *stmt = st_stmt(st, "SELECT " MSG_COLUMNS
	    " FROM queue WHERE id = ?");

	if (stmt == NULL)
		return STORE_ERR_TEMP;
	sqlite3_bind_int64(stmt, 1, id);
	return msg_by(st, stmt, msg_r);
}

int
store_queue_list(struct store *st, struct store_queue_msg **msgs_r,
    size_t *count_r)
{
	sqlite3_stmt *stmt = st_stmt(st, "SELECT " MSG_COLUMNS
	    " FROM queue ORDER BY id");
	int ret;

	if (stmt == NULL)
		return STORE_ERR_TEMP;
	if ((ret = st_collect(st, stmt, sizeof(**msgs_r), msg_from_row,
	    msg_clear, (void **)msgs_r, count_r)) != 0)
		return ret;
	for (size_t i = 0; i < *count_r; i++) {
		if ((ret = all_rcpts(st, &(*msgs_r)[i])) != 0) {
			store_queue_list_free(msgs_r, *count_r);
			return ret;
		}
	}
	return 0;
}

void
store_queue_list_free(struct store_queue_msg **msgs, size_t count)
{
	st_items_free((void **)msgs, count, sizeof(**msgs), msg_clear);
}

int
store_queue_read(struct store *st, int64_t id, int64_t offset, char *buf,
    size_t size, size_t *len_r)
{
	sqlite3_stmt *stmt = st_stmt(st, "SELECT substr(data, ?, ?)"
	    " FROM queue_chunks WHERE queue_id = ? AND seq = ?");
	int64_t seq = offset / LIMIT_BODY_CHUNK;
	int64_t in = offset % LIMIT_BODY_CHUNK;
	size_t want = size < (size_t)(LIMIT_BODY_CHUNK - in) ? size :
	    (size_t)(LIMIT_BODY_CHUNK - in);
	int rc;

	*len_r = 0;
	if (stmt == NULL)
		return STORE_ERR_TEMP;
	sqlite3_bind_int64(stmt, 1, in + 1);
	sqlite3_bind_int64(stmt, 2, (int64_t)want);
	sqlite3_bind_int64(stmt, 3, id);
	sqlite3_bind_int64(stmt, 4, seq);
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW) {
		/* The blob first, then its size (sqlite3_column_blob's
		 * documented order); an empty one may be NULL. */
		const void *p = sqlite3_column_blob(stmt, 0);
		size_t n = (size_t)sqlite3_column_bytes(stmt, 0);

		*len_r = n < want ? n : want;
		if (*len_r > 0)
			memcpy(buf, p, *len_r);
	}
	st_done(stmt);
	if (rc == SQLITE_ROW)
		return 0;
	if (rc != SQLITE_DONE)
		return st_err(st, rc);
	/* No chunk there: the end, or the message is gone. */
	return store_queue_exists(st, id) ? 0 : STORE_ERR_NOT_FOUND;
}

bool
store_queue_exists(struct store *st, int64_t id)
{
	sqlite3_stmt *stmt = st_stmt(st, "SELECT id FROM queue WHERE id = ?");
	int64_t found;

	if (stmt == NULL)
		return false;
	sqlite3_bind_int64(stmt, 1, id);
	return st_step_id(st, stmt, &found) == 0;
}

/* ---- The delivery agent's side ---------------------------------------- */

int
store_queue_claim(struct store *st, const char *domain, int64_t now,
    int64_t pid, struct store_queue_msg *msg_r)
{
	sqlite3_stmt *stmt;
	int64_t id;
	int ret;

	memset(msg_r, 0, sizeof(*msg_r));
	if ((ret = st_begin(st)) != 0)
		return ret;
	/* The longest-waiting due recipient; two statements so that each
	 * walks its own index from the start (queue_rcpts_domain_due,
	 * queue_rcpts_due) instead of a scan. */
	if (domain != NULL)
		stmt = st_stmt(st, "SELECT queue_id FROM queue_rcpts"
		    " WHERE domain = ?2 AND state = 0 AND lease_pid = 0"
		    " AND next_attempt <= ?1 ORDER BY next_attempt, id"
		    " LIMIT 1");
	else
		stmt = st_stmt(st, "SELECT queue_id FROM queue_rcpts"
		    " WHERE state = 0 AND lease_pid = 0 AND next_attempt <= ?1"
		    " ORDER BY next_attempt, id LIMIT 1");
	if (stmt == NULL) {
		ret = STORE_ERR_TEMP;
		goto fail;
	}
	sqlite3_bind_int64(stmt, 1, now);
	if (domain != NULL)
		sqlite3_bind_text(stmt, 2, domain, -1, SQLITE_STATIC);
	if ((ret = st_step_id(st, stmt, &id)) != 0)
		goto fail;
	stmt = st_stmt(st, "SELECT " MSG_COLUMNS " FROM queue WHERE id = ?");
	if (stmt == NULL) {
		ret = STORE_ERR_TEMP;
		goto fail;
	}
	sqlite3_bind_int64(stmt, 1, id);
	if ((ret = st_step_row(st, stmt, msg_from_row, msg_r)) != 0)
		goto fail;
	stmt = st_stmt(st, "UPDATE queue_rcpts SET lease_pid = ?1"
	    " WHERE queue_id = ?2 AND state = 0 AND lease_pid = 0"
	    " AND next_attempt <= ?3 AND (?4 IS NULL OR domain = ?4)"
	    " RETURNING " RCPT_COLUMNS);
	if (stmt == NULL) {
		ret = STORE_ERR_TEMP;
		goto fail;
	}
	sqlite3_bind_int64(stmt, 1, pid);
	sqlite3_bind_int64(stmt, 2, id);
	sqlite3_bind_int64(stmt, 3, now);
	if (domain != NULL)
		sqlite3_bind_text(stmt, 4, domain, -1, SQLITE_STATIC);
	if ((ret = st_collect(st, stmt, sizeof(*msg_r->rcpts), rcpt_from_row,
	    rcpt_clear, (void **)&msg_r->rcpts, &msg_r->nrcpts)) != 0 ||
	    (ret = st_commit(st)) != 0) {
		store_queue_msg_clear(msg_r);
		goto fail;
	}
	return 0;
fail:
	st_rollback(st);
	store_queue_msg_clear(msg_r);
	return ret;
}

int
store_queue_due_domains(struct store *st, int64_t now, char ***domains_r,
    int64_t *next_r)
{
	sqlite3_stmt *stmt = st_stmt(st, "SELECT coalesce(min(next_attempt),"
	    " 0) FROM queue_rcpts WHERE state = 0 AND lease_pid = 0");
	int ret;

	*domains_r = NULL;
	if (stmt == NULL)
		return STORE_ERR_TEMP;
	if ((ret = st_step_id(st, stmt, next_r)) != 0)
		return ret;
	/* A skip scan of queue_rcpts_domain_due: one seek per domain, not
	 * a visit of every due recipient. */
	stmt = st_stmt(st, "WITH RECURSIVE d(domain) AS ("
	    " SELECT min(domain) FROM queue_rcpts"
	    " INDEXED BY queue_rcpts_domain_due WHERE state = 0"
	    " AND lease_pid = 0 AND next_attempt <= ?1"
	    " UNION ALL SELECT (SELECT min(domain) FROM queue_rcpts"
	    " INDEXED BY queue_rcpts_domain_due WHERE state = 0 AND lease_pid = 0 AND next_attempt <= ?1"
	    " AND domain > d.domain) FROM d WHERE d.domain IS NOT NULL"
	    " LIMIT 10000)"
	    " SELECT domain FROM d WHERE domain IS NOT NULL");
	if (stmt == NULL)
		return STORE_ERR_TEMP;
	sqlite3_bind_int64(stmt, 1, now);
	return st_collect_strv(st, stmt, domains_r);
}

/* drop_if_done: removes message id once nothing is left to do for it. */
static int
drop_if_done(struct store *st, int64_t id)
{
	return st_run_id(st, "DELETE FROM queue WHERE id = ?1 AND NOT EXISTS"
	    " (SELECT 1 FROM queue_rcpts WHERE queue_id = ?1"
	    " AND state IN (0, 2))", id);
}

int
store_queue_record(struct store *st, int64_t pid, int64_t now,
    const struct store_queue_outcome *out, size_t count)
{
	int ret;

	if ((ret = st_begin(st)) != 0)
		return ret;
	for (size_t i = 0; i < count; i++) {
		sqlite3_stmt *stmt = st_stmt(st, "UPDATE queue_rcpts"
		    " SET state = ?, next_attempt = ?, attempts = attempts + 1,"
		    " last_attempt = ?, last_code = ?, last_answer = ?,"
		    " remote_mta = ?, lease_pid = 0 WHERE id = ?"
		    " AND lease_pid = ? RETURNING queue_id");
		int64_t qid;

		if (stmt == NULL) {
			ret = STORE_ERR_TEMP;
			goto fail;
		}
		sqlite3_bind_int(stmt, 1, out[i].state);
		sqlite3_bind_int64(stmt, 2, out[i].next_attempt);
		sqlite3_bind_int64(stmt, 3, now);
		sqlite3_bind_int(stmt, 4, out[i].code);
		sqlite3_bind_text(stmt, 5, out[i].answer != NULL ?
		    out[i].answer : "", -1, SQLITE_STATIC);
		sqlite3_bind_text(stmt, 6, out[i].remote_mta != NULL ?
		    out[i].remote_mta : "", -1, SQLITE_STATIC);
		sqlite3_bind_int64(stmt, 7, out[i].rcpt_id);
		sqlite3_bind_int64(stmt, 8, pid);
		ret = st_step_id(st, stmt, &qid);
		/* Deleted by the admin meanwhile, or no longer ours: an
		 * outcome never overwrites another agent's lease. */
		if (ret == STORE_ERR_NOT_FOUND)
			continue;
		if (ret != 0 || (ret = drop_if_done(st, qid)) != 0)
			goto fail;
	}
	return st_commit(st);
fail:
	st_rollback(st);
	return ret;
}

int
store_queue_release(struct store *st, int64_t pid)
{
	sqlite3_stmt *stmt;
	int64_t held[64];
	size_t n = 0;
	int rc, ret = 0;

	if (pid > 0)
		return st_run_id(st, "UPDATE queue_rcpts SET lease_pid = 0"
		    " WHERE lease_pid = ?", pid);
	stmt = st_stmt(st, "SELECT DISTINCT lease_pid FROM queue_rcpts"
	    " WHERE lease_pid != 0 LIMIT 64");
	if (stmt == NULL)
		return STORE_ERR_TEMP;
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW)
		held[n++] = sqlite3_column_int64(stmt, 0);
	st_done(stmt);
	if (rc != SQLITE_DONE)
		return st_err(st, rc);
	for (size_t i = 0; i < n && ret == 0; i++)
		if (!st_queue_agent_alive(st, held[i]))
			ret = st_run_id(st, "UPDATE queue_rcpts"
			    " SET lease_pid = 0 WHERE lease_pid = ?", held[i]);
	return ret;
}

int
store_queue_reports_due(struct store *st, int64_t delayed_before,
    int64_t **ids_r, bool **delayed_r, size_t *count_r)
{
	/* Failed recipients owe a bounce; a message older than
	 * delayed_before whose recipients have been tried and are still
	 * pending owes one delay notice (not for the null sender). Both
	 * through partial indexes: the scheduler asks at every wake-up.
	 * "+r.state": look the message's recipients up by queue_id, not
	 * every pending one by state. */
	sqlite3_stmt *stmt = st_stmt(st, "SELECT queue_id, 0 FROM queue_rcpts"
	    " WHERE state = 2 GROUP BY queue_id UNION"
	    " SELECT q.id, 1 FROM queue q WHERE q.delay_notified = 0"
	    " AND q.created <= ? AND q.sender != '' AND EXISTS (SELECT 1"
	    " FROM queue_rcpts r WHERE r.queue_id = q.id AND +r.state = 0"
	    " AND r.attempts > 0) LIMIT 1000");
	size_t n = 0, cap = 0;
	int rc;

	*ids_r = NULL;
	*delayed_r = NULL;
	if (stmt == NULL)
		return STORE_ERR_TEMP;
	sqlite3_bind_int64(stmt, 1, delayed_before);
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		if (n == cap) {
			cap = cap == 0 ? 16 : cap * 2;
			*ids_r = xreallocarray(*ids_r, cap, sizeof(**ids_r));
			*delayed_r = xreallocarray(*delayed_r, cap,
			    sizeof(**delayed_r));
		}
		(*ids_r)[n] = sqlite3_column_int64(stmt, 0);
		(*delayed_r)[n] = sqlite3_column_int(stmt, 1) != 0;
		n++;
	}
	st_done(stmt);
	*count_r = n;
	if (rc != SQLITE_DONE) {
		free(*ids_r);
		free(*delayed_r);
		*ids_r = NULL;
		*delayed_r = NULL;
		return st_err(st, rc);
	}
	return 0;
}

/* change_id: runs sql (a string literal) on one id: 0 when it changed a
 * row, STORE_ERR_NOT_FOUND when none. */
static int
change_id(struct store *st, const char *sql, int64_t id)
{
	sqlite3_stmt *stmt = st_stmt(st, sql);

	if (stmt == NULL)
		return STORE_ERR_TEMP;
	sqlite3_bind_int64(stmt, 1, id);
	return st_step_change(st, stmt);
}

/* mark_reported: the recipients a report covered, or the message's delay
 * notice, as done; STORE_ERR_NOT_FOUND when one of them was done already
 * (another agent reported it meanwhile). */
static int
mark_reported(struct store *st, int64_t id, bool delayed,
    const int64_t *rcpt_ids, size_t nrcpt_ids)
{
	int ret;

	if (delayed)
		return change_id(st, "UPDATE queue SET delay_notified = 1"
		    " WHERE id = ? AND delay_notified = 0", id);
	for (size_t i = 0; i < nrcpt_ids; i++) {
		ret = change_id(st, "UPDATE queue_rcpts SET state = 3"
		    " WHERE id = ? AND state = 2", rcpt_ids[i]);
		if (ret != 0)
			return ret;
	}
	return 0;
}

int
store_queue_report(struct store *st, int64_t id, bool delayed,
    const int64_t *rcpt_ids, size_t nrcpt_ids, const int64_t *user_ids,
    size_t count, const char *data, size_t len,
    const struct store_queue_new *q)
{
	struct st_body body;
	int results[LIMIT_RECIPIENTS];
	uint32_t uids[LIMIT_RECIPIENTS];
	bool local = data != NULL && count > 0;
	int ret = 0;

	if (count > LIMIT_RECIPIENTS)
		return STORE_ERR_INVALID;
	memset(&body, 0, sizeof(body));
	if ((local && (ret = st_body_prepare(st, data, len, &body)) != 0) ||
	    (ret = st_begin(st)) != 0)
		goto out;
	if (local) {
		ret = st_deliver_locked(st, user_ids, count, &body,
		    (int64_t)time(NULL), false, results, uids);
		/* A sender whose mailbox is full loses the report, not the
		 * queue its place: the failure is logged by the caller. */
		if (ret != 0 && ret != STORE_ERR_QUOTA)
			goto fail;
	}
	if (q != NULL && (ret = st_queue_insert(st, q, (int64_t)time(NULL))) != 0)
		goto fail;
	if ((ret = mark_reported(st, id, delayed, rcpt_ids, nrcpt_ids)) != 0 ||
	    (ret = drop_if_done(st, id)) != 0 ||
	    (ret = st_commit(st)) != 0)
		goto fail;
	for (size_t i = 0; local && i < count; i++)
		if (results[i] == 0)
			st_notify(st, user_ids[i]);
	if (q != NULL)
		store_queue_poke(st);
	goto out;
fail:
	st_rollback(st);
out:
	st_body_clear(&body);
	return ret;
}

/* ---- The admin's side -------------------------------------------------- */

int
store_queue_retry(struct store *st, const char *qid)
{
	sqlite3_stmt *stmt = st_stmt(st, "UPDATE queue_rcpts SET"
	    " next_attempt = 0 WHERE state = 0 AND (?1 IS NULL OR queue_id ="
	    " (SELECT id FROM queue WHERE qid = ?1))");
	int rc;

	if (stmt == NULL)
		return STORE_ERR_TEMP;
	if (qid != NULL) {
		struct store_queue_msg m;
		int ret = store_queue_get(st, qid, &m);

		if (ret != 0)
			return ret;
		store_queue_msg_clear(&m);
		sqlite3_bind_text(stmt, 1, qid, -1, SQLITE_STATIC);
	}
	rc = sqlite3_step(stmt);
	st_done(stmt);
	if (rc != SQLITE_DONE)
		return st_err(st, rc);
	store_queue_poke(st);
	return 0;
}

int
store_queue_delete(struct store *st, const char *qid)
{
	sqlite3_stmt *stmt = st_stmt(st, "DELETE FROM queue WHERE qid = ?");

	if (stmt == NULL)
		return STORE_ERR_TEMP;
	sqlite3_bind_text(stmt, 1, qid, -1, SQLITE_STATIC);
	return st_step_change(st, stmt);
}
