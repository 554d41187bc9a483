/*
 * test_queue.c - the store's outbound queue (store/queue.c): what SMTP
 * queues, the delivery agent's claims and leases, outcomes, reports, and
 * the admin's retry and delete.
 */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <sodium.h>

#include "common/limits.h"
#include "testutil.h"

struct fx {
	struct tu_env *env;
	int64_t alice;
};

static int
setup(void **state)
{
	struct fx *fx = calloc(1, sizeof(*fx));

	fx->env = tu_env_new();
	fx->alice = tu_user_add(fx->env->st, fx->env->auth,
	    "alice@example.org", "secret", 0);
	*state = fx;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *fx = *state;

	tu_env_free(&fx->env);
	free(fx);
	return 0;
}

static const char msg_text[] = "From: alice@example.org\r\n"
    "To: x@remote.example\r\nSubject: hi\r\n\r\nbody\r\n";

/* queue: qid for rcpts (n of them), with head prepended. */
static void
queue(struct fx *fx, const char *qid, const char *const *rcpts, size_t n,
    const char *head, const int64_t *users, size_t nusers)
{
	int results[LIMIT_RECIPIENTS];
	struct store_queue_new q = {
		.qid = qid, .sender = "alice@example.org", .user_id = fx->alice,
		.rcpts = rcpts, .nrcpts = n,
		.head = head, .head_len = head != NULL ? strlen(head) : 0,
		.data = msg_text, .len = sizeof(msg_text) - 1,
	};

	assert_int_equal(store_submit(fx->env->st, users, nusers, msg_text,
	    sizeof(msg_text) - 1, time(NULL), results, &q), 0);
}

/* inbox_count: messages in alice's INBOX. */
static size_t
inbox_count(struct fx *fx)
{
	struct store_mailbox_state ms;
	struct store_message *list;
	int64_t inbox;
	size_t n;

	assert_int_equal(store_mailbox_find(fx->env->st, fx->alice, "INBOX",
	    &inbox, &ms), 0);
	assert_int_equal(store_message_list(fx->env->st, inbox, 1, UINT32_MAX,
	    &list, &n), 0);
	store_message_list_free(&list, n);
	return n;
}

/* read_all: the queued bytes of id, in pieces of step. */
static size_t
read_all(struct store *st, int64_t id, char *out, size_t cap, size_t step)
{
	size_t len = 0, n;

	for (;;) {
		assert_int_equal(store_queue_read(st, id, (int64_t)len,
		    out + len, step < cap - len ? step : cap - len, &n), 0);
		if (n == 0)
			return len;
		len += n;
	}
}

/* Local and remote recipients in one transaction: the local copy is in
 * the INBOX, the queued one has the head first and both recipients. */
static void
test_submit_local_and_queued(void **state)
{
	struct fx *fx = *state;
	const char *rcpts[] = { "x@remote.example", "Y@Other.Example" };
	struct store_queue_msg m;
	char buf[1024];
	size_t n;

	queue(fx, "00aa", rcpts, 2, "DKIM-Signature: x\r\n", &fx->alice, 1);
	assert_int_equal(inbox_count(fx), 1);

	assert_int_equal(store_queue_get(fx->env->st, "00aa", &m), 0);
	assert_string_equal(m.sender, "alice@example.org");
	assert_int_equal(m.nrcpts, 2);
	assert_string_equal(m.rcpts[1].domain, "other.example");
	assert_int_equal(m.rcpts[0].state, STORE_QUEUE_PENDING);
	assert_int_equal(m.size, (int64_t)(sizeof(msg_text) - 1 + 19));
	n = read_all(fx->env->st, m.id, buf, sizeof(buf), 7);
	assert_int_equal(n, (size_t)m.size);
	assert_memory_equal(buf, "DKIM-Signature: x\r\nFrom:", 24);
	store_queue_msg_clear(&m);
	assert_int_equal(store_queue_get(fx->env->st, "ffff", &m),
	    STORE_ERR_NOT_FOUND);
}

/* A message over several chunks, the head crossing none of them, reads
 * back byte for byte at any step. */
static void
test_large_message_chunks(void **state)
{
	struct fx *fx = *state;
	size_t len = LIMIT_BODY_CHUNK * 2 + 1234, got;
	char *data = malloc(len), *back = malloc(len + 100);
	const char *rcpts[] = { "x@remote.example" };
	int results[1];
	struct store_queue_new q = {
		.qid = "0bbb", .sender = "alice@example.org", .rcpts = rcpts,
		.nrcpts = 1, .head = "H: 1\r\n", .head_len = 6, .data = data,
		.len = len,
	};
	struct store_queue_msg m;

	for (size_t i = 0; i < len; i++)
		data[i] = (char)('a' + i % 26);
	assert_int_equal(store_submit(fx->env->st, NULL, 0, NULL, 0,
	    time(NULL), results, &q), 0);
	assert_int_equal(store_queue_get(fx->env->st, "0bbb", &m), 0);
	got = read_all(fx->env->st, m.id, back, len + 100, 50000);
	assert_int_equal(got, len + 6);
	assert_memory_equal(back, "H: 1\r\n", 6);
	assert_memory_equal(back + 6, data, len);
	store_queue_msg_clear(&m);
	free(data);
	free(back);
}

/* Claims take one destination's due recipients once; a lease keeps
 * others off until released or recorded. */
static void
test_claim_lease_record(void **state)
{
	struct fx *fx = *state;
	const char *rcpts[] = { "a@one.example", "b@one.example",
		"c@two.example" };
	struct store_queue_msg m, m2;
	struct store_queue_outcome out[2];
	char **domains;
	int64_t next, now = time(NULL);

	queue(fx, "01", rcpts, 3, NULL, NULL, 0);
	assert_int_equal(store_queue_due_domains(fx->env->st, now, &domains,
	    &next), 0);
	assert_string_equal(domains[0], "one.example");
	assert_string_equal(domains[1], "two.example");
	assert_null(domains[2]);
	store_strv_free(&domains);

	assert_int_equal(store_queue_claim(fx->env->st, "one.example", now,
	    4242, &m), 0);
	assert_int_equal(m.nrcpts, 2);
	/* Nothing else is due there; two.example still is. */
	assert_int_equal(store_queue_claim(fx->env->st, "one.example", now,
	    4243, &m2), STORE_ERR_NOT_FOUND);
	assert_int_equal(store_queue_due_domains(fx->env->st, now, &domains,
	    &next), 0);
	assert_string_equal(domains[0], "two.example");
	assert_null(domains[1]);
	store_strv_free(&domains);

	/* One delivered, one deferred for an hour. */
	out[0] = (struct store_queue_outcome){ m.rcpts[0].id,
		STORE_QUEUE_DELIVERED, 0, 250, "250 ok", "mx.one.example" };
	out[1] = (struct store_queue_outcome){ m.rcpts[1].id,
		STORE_QUEUE_PENDING, now + 3600, 451, "451 later", "mx" };
	/* Not 4243's lease: its outcome changes nothing. */
	assert_int_equal(store_queue_record(fx->env->st, 4243, now, out, 2),
	    0);
	assert_int_equal(store_queue_claim(fx->env->st, "one.example",
	    now + 7200, 4243, &m2), STORE_ERR_NOT_FOUND);
	assert_int_equal(store_queue_record(fx->env->st, 4242, now, out, 2),
	    0);
	store_queue_msg_clear(&m);
	assert_int_equal(store_queue_claim(fx->env->st, "one.example", now,
	    4242, &m), STORE_ERR_NOT_FOUND);
	assert_int_equal(store_queue_claim(fx->env->st, "one.example",
	    now + 3600, 4242, &m), 0);
	assert_int_equal(m.nrcpts, 1);
	assert_int_equal(m.rcpts[0].attempts, 1);
	assert_string_equal(m.rcpts[0].last_answer, "451 later");
	store_queue_msg_clear(&m);
	/* pid 4242's leases go back when it asks. */
	assert_int_equal(store_queue_release(fx->env->st, 4242), 0);
	assert_int_equal(store_queue_claim(fx->env->st, NULL, now + 3600,
	    7, &m), 0);
	assert_int_equal(m.nrcpts, 2);	/* smarthost: every domain */
	store_queue_msg_clear(&m);
}

/* release(0) takes back the leases of an agent whose life lock is free
 * (gone), never those of one that holds it. */
static void
test_release_dead_leases(void **state)
{
	struct fx *fx = *state;
	const char *rcpts[] = { "a@one.example" };
	struct store_queue_msg m;
	int lock = -1, other = -1;

	queue(fx, "02", rcpts, 1, NULL, NULL, 0);
	assert_int_equal(store_queue_agent_lock(fx->env->st, 777, &lock), 0);
	/* One life lock per agent. */
	assert_int_equal(store_queue_agent_lock(fx->env->st, 777, &other),
	    STORE_ERR_IN_USE);
	assert_int_equal(store_queue_claim(fx->env->st, NULL, time(NULL),
	    777, &m), 0);
	store_queue_msg_clear(&m);
	assert_int_equal(store_queue_release(fx->env->st, 0), 0);
	assert_int_equal(store_queue_claim(fx->env->st, NULL, time(NULL),
	    1, &m), STORE_ERR_NOT_FOUND);
	/* The agent dies: its lock goes, and its lease with release(0). */
	close(lock);
	assert_int_equal(store_queue_release(fx->env->st, 0), 0);
	assert_int_equal(store_queue_claim(fx->env->st, NULL, time(NULL),
	    1, &m), 0);
	store_queue_msg_clear(&m);
	/* A pid that never had a lock file is no agent either. */
	assert_int_equal(store_queue_release(fx->env->st, 0), 0);
	assert_int_equal(store_queue_claim(fx->env->st, NULL, time(NULL),
	    2, &m), 0);
	store_queue_msg_clear(&m);
}

/* A failure owes a bounce; the report delivers it to the local sender
 * and the message leaves the queue once nothing is pending. */
static void
test_failure_report(void **state)
{
	struct fx *fx = *state;
	const char *rcpts[] = { "a@one.example" };
	struct store_queue_msg m;
	struct store_queue_outcome out;
	int64_t *ids, rid, now = time(NULL);
	bool *delayed;
	size_t n;
	const char dsn[] = "Return-Path: <>\r\nSubject: bounce\r\n\r\nx\r\n";

	queue(fx, "03", rcpts, 1, NULL, NULL, 0);
	assert_int_equal(store_queue_claim(fx->env->st, NULL, now, 9, &m), 0);
	out = (struct store_queue_outcome){ m.rcpts[0].id, STORE_QUEUE_FAILED,
		0, 550, "550 5.1.1 no", "mx" };
	assert_int_equal(store_queue_record(fx->env->st, 9, now, &out, 1), 0);
	assert_int_equal(store_queue_reports_due(fx->env->st, now - 3600,
	    &ids, &delayed, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(ids[0], m.id);
	assert_false(delayed[0]);
	/* A report that claims a recipient not failed does nothing. */
	rid = m.rcpts[0].id + 1000;
	assert_int_equal(store_queue_report(fx->env->st, ids[0], false, &rid,
	    1, &fx->alice, 1, dsn, sizeof(dsn) - 1, NULL), STORE_ERR_NOT_FOUND);
	assert_int_equal(inbox_count(fx), 0);
	rid = m.rcpts[0].id;
	assert_int_equal(store_queue_report(fx->env->st, ids[0], false, &rid,
	    1, &fx->alice, 1, dsn, sizeof(dsn) - 1, NULL), 0);
	/* Twice: the second finds it reported. */
	assert_int_equal(store_queue_report(fx->env->st, ids[0], false, &rid,
	    1, &fx->alice, 1, dsn, sizeof(dsn) - 1, NULL), STORE_ERR_NOT_FOUND);
	free(ids);
	free(delayed);
	assert_false(store_queue_exists(fx->env->st, m.id));
	store_queue_msg_clear(&m);
	assert_int_equal(inbox_count(fx), 1);
	assert_int_equal(store_queue_reports_due(fx->env->st, now,
	    &ids, &delayed, &n), 0);
	assert_int_equal(n, 0);
	free(ids);
	free(delayed);
}

/* A deferred message older than the notice time owes one delay notice;
 * the null sender never gets one. */
static void
test_delay_notice_due_once(void **state)
{
	struct fx *fx = *state;
	const char *rcpts[] = { "a@one.example" };
	struct store_queue_msg m;
	struct store_queue_outcome out;
	int64_t *ids, now = time(NULL);
	bool *delayed;
	size_t n;

	queue(fx, "04", rcpts, 1, NULL, NULL, 0);
	assert_int_equal(store_queue_claim(fx->env->st, NULL, now, 9, &m), 0);
	out = (struct store_queue_outcome){ m.rcpts[0].id, STORE_QUEUE_PENDING,
		now + 60, 0, "connect: refused", "" };
	assert_int_equal(store_queue_record(fx->env->st, 9, now, &out, 1), 0);
	/* Not old enough yet. */
	assert_int_equal(store_queue_reports_due(fx->env->st, now - 3600,
	    &ids, &delayed, &n), 0);
	assert_int_equal(n, 0);
	free(ids);
	free(delayed);
	assert_int_equal(store_queue_reports_due(fx->env->st, now + 1,
	    &ids, &delayed, &n), 0);
	assert_int_equal(n, 1);
	assert_true(delayed[0]);
	assert_int_equal(store_queue_report(fx->env->st, ids[0], true, NULL, 0,
	    NULL, 0, NULL, 0, NULL), 0);
	/* A second agent's notice for it finds it sent. */
	assert_int_equal(store_queue_report(fx->env->st, ids[0], true, NULL, 0,
	    NULL, 0, NULL, 0, NULL), STORE_ERR_NOT_FOUND);
	free(ids);
	free(delayed);
	assert_int_equal(store_queue_reports_due(fx->env->st, now + 1,
	    &ids, &delayed, &n), 0);
	assert_int_equal(n, 0);
	free(ids);
	free(delayed);
	/* Still queued: a delay notice ends nothing. */
	assert_true(store_queue_exists(fx->env->st, m.id));
	store_queue_msg_clear(&m);
}

/* retry makes pending recipients due now; delete removes the message;
 * an outcome for a deleted message's recipient changes nothing. */
static void
test_admin_retry_delete(void **state)
{
	struct fx *fx = *state;
	const char *rcpts[] = { "a@one.example" };
	struct store_queue_msg m, list_m;
	struct store_queue_msg *all;
	struct store_queue_outcome out;
	int64_t now = time(NULL);
	size_t n;

	queue(fx, "05", rcpts, 1, NULL, NULL, 0);
	assert_int_equal(store_queue_claim(fx->env->st, NULL, now, 9, &m), 0);
	out = (struct store_queue_outcome){ m.rcpts[0].id, STORE_QUEUE_PENDING,
		now + 86400, 451, "451 later", "" };
	assert_int_equal(store_queue_record(fx->env->st, 9, now, &out, 1), 0);
	store_queue_msg_clear(&m);
	assert_int_equal(store_queue_claim(fx->env->st, NULL, now, 9, &m),
	    STORE_ERR_NOT_FOUND);
	assert_int_equal(store_queue_retry(fx->env->st, "05"), 0);
	assert_int_equal(store_queue_retry(fx->env->st, "06"),
	    STORE_ERR_NOT_FOUND);
	assert_int_equal(store_queue_claim(fx->env->st, NULL, now, 9, &m), 0);
	assert_int_equal(store_queue_list(fx->env->st, &all, &n), 0);
	assert_int_equal(n, 1);
	list_m = all[0];
	assert_string_equal(list_m.qid, "05");
	store_queue_list_free(&all, n);
	assert_int_equal(store_queue_delete(fx->env->st, "05"), 0);
	assert_int_equal(store_queue_delete(fx->env->st, "05"),
	    STORE_ERR_NOT_FOUND);
	out.state = STORE_QUEUE_DELIVERED;
	assert_int_equal(store_queue_record(fx->env->st, 9, now, &out, 1), 0);
	assert_int_equal(store_queue_list(fx->env->st, &all, &n), 0);
	assert_int_equal(n, 0);
	store_queue_list_free(&all, n);
	store_queue_msg_clear(&m);
}

/* The wake-up datagram reaches the delivery agent's socket. */
static void
test_poke(void **state)
{
	struct fx *fx = *state;
	char *error = NULL;
	int64_t id = -1;
	int fd = -1;

	assert_int_equal(store_queue_listen(fx->env->dir, &fd, &error), 0);
	store_queue_poke(fx->env->st);
	assert_int_equal(store_notify_recv(fd, &id), 0);
	assert_int_equal(id, 0);
	assert_int_equal(store_notify_recv(fd, &id), STORE_ERR_NOT_FOUND);
	store_queue_unlisten(fx->env->dir, &fd);
	assert_int_equal(fd, -1);
}

int
main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_submit_local_and_queued),
		T(test_large_message_chunks),
		T(test_claim_lease_record),
		T(test_release_dead_leases),
		T(test_failure_report),
		T(test_delay_notice_due_once),
		T(test_admin_retry_delete),
		T(test_poke),
	};
#undef T

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
