/*
 * cmd_mailbox.c - letterbox mailbox list|add|del|rename: a user's
 * mailboxes.
 *
 * Input: an address and mailbox names from the command line. Names are
 * rows, never paths; store_mailbox_name_valid() checks them before the
 * store is asked to change anything.
 */
#include <inttypes.h>
#include <stdio.h>
#include <strings.h>

#include "cli/cli.h"

/* name_check: a clear message for a name the store would refuse. */
static int
name_check(struct cli_ctx *ctx, const char *name)
{
	if (!store_mailbox_name_valid(name))
		return cli_fail(ctx, "\"%s\": invalid mailbox name (UTF-8, "
		    "'/' between levels, no empty level, no control "
		    "characters, at most %d bytes)", name, LIMIT_MAILBOX_NAME);
	return 0;
}

/* cli_mailbox_list: "mailbox list ADDRESS" with each mailbox's
 * counters. */
int
cli_mailbox_list(struct cli_ctx *ctx, int argc, char **argv)
{
	static const char *const headers[] = {
		"NAME", "SPECIAL-USE", "MESSAGES", "UNSEEN", "SIZE",
		"UIDVALIDITY", "UIDNEXT",
	};
	struct store_mailbox *boxes = NULL;
	struct store_user user;
	struct cli_table table;
	char messages[16], unseen[16], size[32], uidvalidity[16], uidnext[16];
	const char *pos[1];
	size_t n = 0;
	int ret;

	if ((ret = cli_args_parse(ctx, argc, argv, NULL, 0, pos, 1, 1)) < 0)
		return ret;
	if (cli_open(ctx) < 0 || cli_user_get(ctx, pos[0], &user) < 0)
		return CLI_ERR_FAIL;
	ret = store_mailbox_list(ctx->st, user.id, &boxes, &n);
	if (ret < 0) {
		ret = cli_fail(ctx, "%s: %s", user.address,
		    store_strerror(ret));
		store_user_clear(&user);
		return ret;
	}
	cli_table_init(&table, 7, headers, "llrrrrr");
	for (size_t i = 0; i < n; i++) {
		const struct store_mailbox *b = &boxes[i];
		const char *row[7] = {
			b->name, b->special_use != NULL ? b->special_use : "-",
			messages, unseen, size, uidvalidity, uidnext,
		};

		snprintf(messages, sizeof(messages), "%" PRIu32, b->messages);
		snprintf(unseen, sizeof(unseen), "%" PRIu32, b->unseen);
		snprintf(size, sizeof(size), "%" PRId64, b->size);
		snprintf(uidvalidity, sizeof(uidvalidity), "%" PRIu32,
		    b->uidvalidity);
		snprintf(uidnext, sizeof(uidnext), "%" PRIu32, b->uidnext);
		cli_table_add(&table, row);
	}
	cli_table_print(&table, stdout);
	cli_table_free(&table);
	store_mailbox_list_free(&boxes, n);
	store_user_clear(&user);
	return 0;
}

/* cli_mailbox_add: "mailbox add ADDRESS NAME". */
int
cli_mailbox_add(struct cli_ctx *ctx, int argc, char **argv)
{
	struct store_user user;
	const char *pos[2];
	int64_t id;
	int ret;

	if ((ret = cli_args_parse(ctx, argc, argv, NULL, 0, pos, 2, 2)) < 0)
		return ret;
	if (name_check(ctx, pos[1]) < 0 || cli_open(ctx) < 0 ||
	    cli_user_get(ctx, pos[0], &user) < 0)
		return CLI_ERR_FAIL;
	ret = store_mailbox_create(ctx->st, user.id, pos[1], NULL, &id);
	if (ret == STORE_ERR_EXISTS)
		ret = cli_fail(ctx, "%s: mailbox \"%s\" already exists",
		    user.address, pos[1]);
	else if (ret == STORE_ERR_LIMIT)
		ret = cli_fail(ctx, "%s: \"%s\": too many mailboxes or levels",
		    user.address, pos[1]);
	else if (ret < 0)
		ret = cli_fail(ctx, "%s: \"%s\": %s", user.address, pos[1],
		    store_strerror(ret));
	store_user_clear(&user);
	return ret;
}

/* cli_mailbox_del: "mailbox del ADDRESS NAME"; its messages go too. */
int
cli_mailbox_del(struct cli_ctx *ctx, int argc, char **argv)
{
	struct store_user user;
	const char *pos[2];
	int ret;

	if ((ret = cli_args_parse(ctx, argc, argv, NULL, 0, pos, 2, 2)) < 0)
		return ret;
	if (cli_open(ctx) < 0 || cli_user_get(ctx, pos[0], &user) < 0)
		return CLI_ERR_FAIL;
	ret = store_mailbox_delete(ctx->st, user.id, pos[1]);
	if (ret == STORE_ERR_NOT_FOUND)
		ret = cli_fail(ctx, "%s: no mailbox \"%s\"", user.address,
		    pos[1]);
	else if (ret == STORE_ERR_IN_USE && strcasecmp(pos[1], "INBOX") == 0)
		ret = cli_fail(ctx, "%s: INBOX cannot be deleted",
		    user.address);
	else if (ret == STORE_ERR_IN_USE)
		ret = cli_fail(ctx, "%s: mailbox \"%s\" has child mailboxes "
		    "(delete them first)", user.address, pos[1]);
	else if (ret < 0)
		ret = cli_fail(ctx, "%s: \"%s\": %s", user.address, pos[1],
		    store_strerror(ret));
	store_user_clear(&user);
	return ret;
}

/* cli_mailbox_rename: "mailbox rename ADDRESS OLD NEW", children too. */
int
cli_mailbox_rename(struct cli_ctx *ctx, int argc, char **argv)
{
	struct store_user user;
	const char *pos[3];
	int ret;

	if ((ret = cli_args_parse(ctx, argc, argv, NULL, 0, pos, 3, 3)) < 0)
		return ret;
	if (name_check(ctx, pos[2]) < 0 || cli_open(ctx) < 0 ||
	    cli_user_get(ctx, pos[0], &user) < 0)
		return CLI_ERR_FAIL;
	ret = store_mailbox_rename(ctx->st, user.id, pos[1], pos[2]);
	if (ret == STORE_ERR_NOT_FOUND)
		ret = cli_fail(ctx, "%s: no mailbox \"%s\"", user.address,
		    pos[1]);
	else if (ret == STORE_ERR_EXISTS)
		ret = cli_fail(ctx, "%s: mailbox \"%s\" already exists",
		    user.address, pos[2]);
	else if (ret == STORE_ERR_LIMIT)
		ret = cli_fail(ctx, "%s: \"%s\": too many levels or too long",
		    user.address, pos[2]);
	else if (ret < 0)
		ret = cli_fail(ctx, "%s: \"%s\" -> \"%s\": %s", user.address,
		    pos[1], pos[2], store_strerror(ret));
	store_user_clear(&user);
	return ret;
}
