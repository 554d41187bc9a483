/*
 * cmd_deliver.c - letterbox deliver: local delivery of the message on
 * stdin, as SMTP would deliver it.
 *
 * Input: recipient addresses (checked with address_parse()) and a message
 * on stdin, untrusted and bounded by the config's max_message_size (at
 * most LIMIT_MESSAGE_SIZE). Bare LF line ends become CRLF, the form SMTP
 * stores (RFC 5321 2.3.8); CRLF is kept as is. Every recipient is resolved
 * before anything is stored, and the message is stored for all of them in
 * one store_deliver() call: an unknown recipient or an oversized message
 * stores nothing.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "common/xalloc.h"

/* One --to and the users it reaches. */
struct rcpt {
	char address[CLI_ADDRESS_MAX];
	int64_t ids[LIMIT_RECIPIENTS];
	size_t count;
};

/* The users of a delivery: each once, in the order first reached. */
struct targets {
	int64_t ids[LIMIT_RECIPIENTS];
	char *addresses[LIMIT_RECIPIENTS];	/* owned, one per user */
	int results[LIMIT_RECIPIENTS];
	uint32_t uids[LIMIT_RECIPIENTS];
	size_t count;
};

/* target_index: where user id is in t, or t->count when absent. */
static size_t
target_index(const struct targets *t, int64_t id)
{
	size_t i;

	for (i = 0; i < t->count; i++)
		if (t->ids[i] == id)
			break;
	return i;
}

/* rcpt_resolve: the users r->address reaches, added to t once each. */
static int
rcpt_resolve(struct cli_ctx *ctx, struct rcpt *r, struct targets *t)
{
	struct store_user user;
	int ret;

	ret = store_resolve(ctx->st, r->address, r->ids, &r->count);
	if (ret == STORE_ERR_NOT_FOUND)
		return cli_fail(ctx, "%s: no such recipient", r->address);
	if (ret == STORE_ERR_NOT_LOCAL)
		return cli_fail(ctx, "%s: domain %s is not hosted here",
		    r->address, strrchr(r->address, '@') + 1);
	if (ret < 0)
		return cli_fail(ctx, "%s: %s", r->address, store_strerror(ret));
	for (size_t k = 0; k < r->count; k++) {
		if (target_index(t, r->ids[k]) < t->count)
			continue;
		if (t->count == LIMIT_RECIPIENTS)
			return cli_fail(ctx, "more than %d users to deliver to",
			    LIMIT_RECIPIENTS);
		ret = store_user_get_by_id(ctx->st, r->ids[k], &user);
		if (ret < 0)
			return cli_fail(ctx, "%s: %s", r->address,
			    store_strerror(ret));
		t->ids[t->count] = r->ids[k];
		t->addresses[t->count] = xstrdup(user.address);
		store_user_clear(&user);
		t->count++;
	}
	return 0;
}

/* stdin_read: all of stdin into *data_r (malloc'd), refusing more than
 * max bytes without reading much further. */
static int
stdin_read(struct cli_ctx *ctx, size_t max, char **data_r, size_t *len_r)
{
	size_t len = 0, cap = max < 64 * 1024 ? max + 1 : 64 * 1024;
	char *buf = xmalloc(cap);

	/* The buffer grows to max + 1 bytes at most: one byte past max
	 * is enough to know the message is too large. */
	for (;;) {
		ssize_t n;

		if (len == cap) {
			cap = cap < (max + 1) / 2 ? cap * 2 : max + 1;
			buf = xrealloc(buf, cap);
		}
		n = read(STDIN_FILENO, buf + len, cap - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			free(buf);
			return cli_fail(ctx, "reading stdin: %s",
			    strerror(errno));
		}
		if (n == 0)
			break;
		len += (size_t)n;
		if (len > max)
			break;
	}
	if (len > max) {
		free(buf);
		return cli_fail(ctx, "message larger than max_message_size "
		    "(%zu bytes); nothing delivered", max);
	}
	if (len == 0) {
		free(buf);
		return cli_fail(ctx, "empty message on stdin; nothing "
		    "delivered");
	}
	*data_r = buf;
	*len_r = len;
	return 0;
}

/*
 * crlf_convert: data with every LF not already after a CR turned into
 * CRLF, in a new malloc'd buffer. Refused, like an oversized input, when
 * the result is larger than max.
 */
static int
crlf_convert(struct cli_ctx *ctx, const char *data, size_t len, size_t max,
    char **out_r, size_t *out_len_r)
{
	size_t bare = 0, o = 0;
	char *out;

	for (size_t i = 0; i < len; i++)
		if (data[i] == '\n' && (i == 0 || data[i - 1] != '\r'))
			bare++;
	if (len + bare > max)
		return cli_fail(ctx, "message larger than max_message_size "
		    "(%zu bytes) with CRLF line ends; nothing delivered", max);
	out = xmalloc(len + bare + 1);
	for (size_t i = 0; i < len; i++) {
		if (data[i] == '\n' && (i == 0 || data[i - 1] != '\r'))
			out[o++] = '\r';
		out[o++] = data[i];
	}
	out[o] = '\0';
	*out_r = out;
	*out_len_r = o;
	return 0;
}

/* message_get: stdin as it will be stored. */
static int
message_get(struct cli_ctx *ctx, char **data_r, size_t *len_r)
{
	int64_t limit = ctx->cfg->max_message_size;
	size_t max, raw_len = 0;
	char *raw = NULL;
	int ret;

	if (limit <= 0 || limit > LIMIT_MESSAGE_SIZE)
		limit = LIMIT_MESSAGE_SIZE;
	max = (size_t)limit;
	if (stdin_read(ctx, max, &raw, &raw_len) < 0)
		return CLI_ERR_FAIL;
	ret = crlf_convert(ctx, raw, raw_len, max, data_r, len_r);
	free(raw);
	return ret;
}

/* report: one line per recipient and user it reaches; returns how many
 * of those lines say "not delivered", *lines_r how many there are. */
static size_t
report(const struct rcpt *rcpts, size_t nrcpts, const struct targets *t,
    size_t *lines_r)
{
	size_t failed = 0;

	*lines_r = 0;

	for (size_t i = 0; i < nrcpts; i++) {
		const struct rcpt *r = &rcpts[i];

		for (size_t k = 0; k < r->count; k++) {
			size_t j = target_index(t, r->ids[k]);
			bool self = strcmp(r->address, t->addresses[j]) == 0;

			++*lines_r;

			printf("%s%s%s: ", r->address, self ? "" : " -> ",
			    self ? "" : t->addresses[j]);
			if (t->results[j] == 0) {
				printf("delivered, INBOX UID %" PRIu32 "\n",
				    t->uids[j]);
				continue;
			}
			failed++;
			printf("not delivered: %s\n",
			    t->results[j] == STORE_ERR_QUOTA ? "over quota" :
			    store_strerror(t->results[j]));
		}
	}
	return failed;
}

/* deliver: resolves, reads and stores; rcpts (nrcpts) are folded. */
static int
deliver(struct cli_ctx *ctx, struct rcpt *rcpts, size_t nrcpts,
    struct targets *t)
{
	char *data = NULL;
	size_t len = 0, failed, lines;
	int ret;

	for (size_t i = 0; i < nrcpts; i++)
		if (rcpt_resolve(ctx, &rcpts[i], t) < 0)
			return CLI_ERR_FAIL;
	if (message_get(ctx, &data, &len) < 0)
		return CLI_ERR_FAIL;
	ret = store_deliver(ctx->st, t->ids, t->count, data, len,
	    (int64_t)time(NULL), t->results, t->uids);
	free(data);
	if (ret < 0 && ret != STORE_ERR_QUOTA)
		return cli_fail(ctx, "%s; nothing delivered",
		    store_strerror(ret));
	if ((failed = report(rcpts, nrcpts, t, &lines)) > 0)
		return cli_fail(ctx, "%zu of %zu deliveries failed", failed,
		    lines);
	return 0;
}

/* cli_deliver: "deliver --to ADDRESS [--to ADDRESS ...]" < message. */
int
cli_deliver(struct cli_ctx *ctx, int argc, char **argv)
{
	const char *to[LIMIT_RECIPIENTS];
	struct cli_strlist list = { to, 0, LIMIT_RECIPIENTS };
	const struct cli_opt opts[] = {
		{ "--to", CLI_OPT_LIST, &list },
	};
	struct targets *t;
	struct rcpt *rcpts;
	int ret;

	if ((ret = cli_args_parse(ctx, argc, argv, opts, 1, NULL, 0, 0)) < 0)
		return ret;
	if (list.count == 0)
		return cli_usage(ctx, "at least one --to is needed");
	rcpts = xcalloc(list.count, sizeof(*rcpts));
	t = xcalloc(1, sizeof(*t));
	ret = 0;
	for (size_t i = 0; i < list.count && ret == 0; i++)
		ret = cli_address_fold(ctx, to[i], rcpts[i].address);
	if (ret == 0)
		ret = cli_open(ctx);
	if (ret == 0)
		ret = deliver(ctx, rcpts, list.count, t);
	for (size_t i = 0; i < t->count; i++)
		free(t->addresses[i]);
	free(t);
	free(rcpts);
	return ret;
}
