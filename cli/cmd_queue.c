/*
 * cmd_queue.c - letterbox queue list|show|retry|delete|flush: the
 * outbound queue as the admin sees it.
 *
 * ID is the message's queue id, the hex id that the SMTP log line of its
 * transaction shows ("smtp: id=..."). retry and flush poke the delivery
 * agent, which tries at once; delete removes a message without a bounce.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cli/cli.h"

static const char *const state_names[] = { "pending", "delivered", "failed",
	"failed" };

static const char *
state_name(int state)
{
	return state >= 0 && state < 4 ? state_names[state] : "?";
}

/* time_format: "2026-11-29 23:44:22" local time, or "-" for 0. */
static void
time_format(int64_t t, char *buf, size_t size)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (t <= 0 || localtime_r(&tt, &tm) == NULL)
		snprintf(buf, size, "-");
	else
		strftime(buf, size, "%Y-%m-%d %H:%M:%S", &tm);
}

/* id_check: a queue id is hex, as SMTP makes them. */
static int
id_check(struct cli_ctx *ctx, const char *id)
{
	size_t len = strlen(id);

	if (len == 0 || len > 32 || strspn(id, "0123456789abcdef") != len)
		return cli_fail(ctx, "%s: not a queue id (hex, as `letterbox "
		    "queue list` shows)", id);
	return 0;
}

/* cli_queue_list: one line per recipient still queued. */
int
cli_queue_list(struct cli_ctx *ctx, int argc, char **argv)
{
	static const char *const headers[] = { "ID", "QUEUED", "SIZE",
		"SENDER", "RECIPIENT", "STATE", "TRIES", "NEXT", "LAST ANSWER" };
	struct store_queue_msg *msgs = NULL;
	struct cli_table table;
	size_t n = 0;
	int ret;

	if ((ret = cli_args_parse(ctx, argc, argv, NULL, 0, NULL, 0, 0)) < 0)
		return ret;
	if (cli_open(ctx) < 0)
		return CLI_ERR_FAIL;
	if ((ret = store_queue_list(ctx->st, &msgs, &n)) < 0)
		return cli_fail(ctx, "%s", store_strerror(ret));
	cli_table_init(&table, 9, headers, "lllllrrll");
	for (size_t i = 0; i < n; i++) {
		const struct store_queue_msg *m = &msgs[i];
		char queued[32], size[32], sender[LIMIT_ADDR_TOTAL + 3];

		time_format(m->created, queued, sizeof(queued));
		snprintf(size, sizeof(size), "%lld", (long long)m->size);
		snprintf(sender, sizeof(sender), "<%s>", m->sender);
		for (size_t k = 0; k < m->nrcpts; k++) {
			const struct store_queue_rcpt *r = &m->rcpts[k];
			char tries[16], next[32], answer[4 * 60 + 4];
			const char *row[9] = { m->qid, queued, size, sender,
				r->address, state_name(r->state), tries,
				next, answer };

			if (r->state == STORE_QUEUE_DELIVERED)
				continue;
			snprintf(tries, sizeof(tries), "%d", r->attempts);
			if (r->state == STORE_QUEUE_PENDING)
				time_format(r->next_attempt, next, sizeof(next));
			else
				snprintf(next, sizeof(next), "-");
			cli_text_clean(r->last_answer, strlen(r->last_answer),
			    60, answer, sizeof(answer));
			cli_table_add(&table, row);
		}
	}
	cli_table_print(&table, stdout);
	cli_table_free(&table);
	store_queue_list_free(&msgs, n);
	return 0;
}

/* show_bytes: the queued message as it will be sent, on stdout. */
static int
show_bytes(struct cli_ctx *ctx, int64_t id)
{
	static char buf[LIMIT_BODY_CHUNK];
	int64_t off = 0;

	for (;;) {
		size_t n;
		int ret = store_queue_read(ctx->st, id, off, buf, sizeof(buf),
		    &n);

		if (ret < 0)
			return cli_fail(ctx, "%s", store_strerror(ret));
		if (n == 0)
			return 0;
		if (fwrite(buf, 1, n, stdout) != n)
			return cli_fail(ctx, "writing to stdout: %s",
			    strerror(errno));
		off += (int64_t)n;
	}
}

/* cli_queue_show: "queue show ID": the envelope, every recipient with its
 * history, then the message. */
int
cli_queue_show(struct cli_ctx *ctx, int argc, char **argv)
{
	struct store_queue_msg m;
	const char *pos[1];
	char when[32];
	int ret;

	if ((ret = cli_args_parse(ctx, argc, argv, NULL, 0, pos, 1, 1)) < 0)
		return ret;
	if (id_check(ctx, pos[0]) < 0 || cli_open(ctx) < 0)
		return CLI_ERR_FAIL;
	if ((ret = store_queue_get(ctx->st, pos[0], &m)) == STORE_ERR_NOT_FOUND)
		return cli_fail(ctx, "%s: not in the queue", pos[0]);
	if (ret < 0)
		return cli_fail(ctx, "%s: %s", pos[0], store_strerror(ret));
	time_format(m.created, when, sizeof(when));
	printf("id: %s\nqueued: %s\nsize: %lld\nsender: <%s>\n", m.qid, when,
	    (long long)m.size, m.sender);
	for (size_t i = 0; i < m.nrcpts; i++) {
		const struct store_queue_rcpt *r = &m.rcpts[i];
		char next[32], last[32], answer[4 * 512 + 4];

		time_format(r->next_attempt, next, sizeof(next));
		time_format(r->last_attempt, last, sizeof(last));
		cli_text_clean(r->last_answer, strlen(r->last_answer), 512,
		    answer, sizeof(answer));
		printf("recipient: <%s> state=%s tries=%d last=%s next=%s%s%s"
		    "%s%s\n", r->address, state_name(r->state), r->attempts,
		    last, r->state == STORE_QUEUE_PENDING ? next : "-",
		    r->remote_mta[0] != '\0' ? " host=" : "", r->remote_mta,
		    answer[0] != '\0' ? " answer=" : "", answer);
	}
	printf("\n");
	ret = show_bytes(ctx, m.id);
	store_queue_msg_clear(&m);
	return ret;
}

/* queue_change: retry or delete of one id. */
static int
queue_change(struct cli_ctx *ctx, int argc, char **argv,
    int (*change)(struct store *, const char *))
{
	const char *pos[1];
	int ret;

	if ((ret = cli_args_parse(ctx, argc, argv, NULL, 0, pos, 1, 1)) < 0)
		return ret;
	if (id_check(ctx, pos[0]) < 0 || cli_open(ctx) < 0)
		return CLI_ERR_FAIL;
	if ((ret = change(ctx->st, pos[0])) == STORE_ERR_NOT_FOUND)
		return cli_fail(ctx, "%s: not in the queue", pos[0]);
	if (ret < 0)
		return cli_fail(ctx, "%s: %s", pos[0], store_strerror(ret));
	return 0;
}

int
cli_queue_retry(struct cli_ctx *ctx, int argc, char **argv)
{
	return queue_change(ctx, argc, argv, store_queue_retry);
}

int
cli_queue_delete(struct cli_ctx *ctx, int argc, char **argv)
{
	return queue_change(ctx, argc, argv, store_queue_delete);
}

/* cli_queue_flush: every pending recipient due now. */
int
cli_queue_flush(struct cli_ctx *ctx, int argc, char **argv)
{
	int ret;

	if ((ret = cli_args_parse(ctx, argc, argv, NULL, 0, NULL, 0, 0)) < 0)
		return ret;
	if (cli_open(ctx) < 0)
		return CLI_ERR_FAIL;
	if ((ret = store_queue_retry(ctx->st, NULL)) < 0)
		return cli_fail(ctx, "%s", store_strerror(ret));
	return 0;
}
