/*
 * cmd_alias.c - letterbox alias add|del|list: addresses that deliver to
 * users, including the catch-all "@domain" of a domain.
 *
 * Input: a source ("local@domain" or "@domain") and a target address from
 * the command line, checked and folded to lower case before the store
 * sees them.
 */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"

/* source_fold: "@domain" (catch-all) or an address, folded into out
 * (CLI_ADDRESS_MAX bytes). */
static int
source_fold(struct cli_ctx *ctx, const char *s, char *out)
{
	char domain[LIMIT_ADDR_DOMAIN + 1];
	size_t len;

	if (s[0] != '@')
		return cli_address_fold(ctx, s, out);
	if (cli_domain_fold(ctx, s + 1, domain) < 0)
		return CLI_ERR_FAIL;
	if ((len = strlen(domain)) + 1 >= CLI_ADDRESS_MAX)
		return cli_fail(ctx, "%s: address too long", s);
	out[0] = '@';
	memcpy(out + 1, domain, len + 1);
	return 0;
}

/* alias_add_error: tells which part of an alias add was wrong. The store
 * answers NOT_FOUND or NOT_LOCAL for a source domain we do not host and
 * NOT_FOUND for a target that is no user, and EXISTS for a source that is
 * taken; asking the store afterwards tells them apart. */
static int
alias_add_error(struct cli_ctx *ctx, int err, const char *source,
    const char *target)
{
	struct store_user user;
	int ret;

	switch (err) {
	case STORE_ERR_EXISTS:
		/* The store refuses an alias on a user's own address too:
		 * the user would always win (store_resolve()). */
		if (source[0] != '@' &&
		    store_user_get(ctx->st, source, &user) == 0) {
			store_user_clear(&user);
			return cli_fail(ctx, "%s: is a user; an alias there "
			    "would never be used", source);
		}
		return cli_fail(ctx, "%s -> %s: alias already exists", source,
		    target);
	case STORE_ERR_NOT_LOCAL:
	case STORE_ERR_NOT_FOUND:
		ret = store_user_get(ctx->st, target, &user);
		if (ret == STORE_ERR_NOT_FOUND)
			return cli_fail(ctx, "%s: no such user", target);
		if (ret == 0)
			store_user_clear(&user);
		return cli_fail(ctx, "%s: domain %s does not exist", source,
		    strrchr(source, '@') + 1);
	default:
		return cli_fail(ctx, "%s -> %s: %s", source, target,
		    store_strerror(err));
	}
}

/* cli_alias_add: "alias add SOURCE TARGET". */
int
cli_alias_add(struct cli_ctx *ctx, int argc, char **argv)
{
	char source[CLI_ADDRESS_MAX], target[CLI_ADDRESS_MAX];
	const char *pos[2];
	int ret;

	if ((ret = cli_args_parse(ctx, argc, argv, NULL, 0, pos, 2, 2)) < 0)
		return ret;
	if (source_fold(ctx, pos[0], source) < 0 ||
	    cli_address_fold(ctx, pos[1], target) < 0 || cli_open(ctx) < 0)
		return CLI_ERR_FAIL;
	if ((ret = store_alias_add(ctx->st, source, target)) < 0)
		return alias_add_error(ctx, ret, source, target);
	return 0;
}

/* cli_alias_del: "alias del SOURCE [TARGET]"; without TARGET every
 * target of SOURCE goes. */
int
cli_alias_del(struct cli_ctx *ctx, int argc, char **argv)
{
	char source[CLI_ADDRESS_MAX], target[CLI_ADDRESS_MAX];
	const char *pos[2];
	int ret;

	if ((ret = cli_args_parse(ctx, argc, argv, NULL, 0, pos, 1, 2)) < 0)
		return ret;
	if (source_fold(ctx, pos[0], source) < 0 ||
	    (pos[1] != NULL && cli_address_fold(ctx, pos[1], target) < 0) ||
	    cli_open(ctx) < 0)
		return CLI_ERR_FAIL;
	ret = store_alias_del(ctx->st, source, pos[1] != NULL ? target : NULL);
	if (ret == STORE_ERR_NOT_FOUND && pos[1] != NULL)
		return cli_fail(ctx, "%s -> %s: no such alias", source, target);
	if (ret == STORE_ERR_NOT_FOUND)
		return cli_fail(ctx, "%s: no such alias", source);
	if (ret < 0)
		return cli_fail(ctx, "%s: %s", source, store_strerror(ret));
	return 0;
}

/* cli_alias_list: "alias list": one source and target a line. */
int
cli_alias_list(struct cli_ctx *ctx, int argc, char **argv)
{
	static const char *const headers[] = { "SOURCE", "TARGET" };
	struct store_alias *aliases = NULL;
	struct cli_table table;
	size_t n = 0;
	int ret;

	if ((ret = cli_args_parse(ctx, argc, argv, NULL, 0, NULL, 0, 0)) < 0)
		return ret;
	if (cli_open(ctx) < 0)
		return CLI_ERR_FAIL;
	if ((ret = store_alias_list(ctx->st, &aliases, &n)) < 0)
		return cli_fail(ctx, "%s", store_strerror(ret));
	cli_table_init(&table, 2, headers, "ll");
	for (size_t i = 0; i < n; i++) {
		const char *row[2] = { aliases[i].source, aliases[i].target };

		cli_table_add(&table, row);
	}
	cli_table_print(&table, stdout);
	cli_table_free(&table);
	store_alias_list_free(&aliases, n);
	return 0;
}
