/*
 * cmd_domain.c - letterbox domain add|del|list: the domains we host.
 *
 * Input: a domain name from the command line, checked and folded to lower
 * case with address_domain_fold() before it reaches the store.
 */
#include <stdio.h>

#include "cli/cli.h"

/* cli_domain_add: "domain add NAME". */
int
cli_domain_add(struct cli_ctx *ctx, int argc, char **argv)
{
	char name[LIMIT_ADDR_DOMAIN + 1];
	const char *pos[1];
	int ret;

	if ((ret = cli_args_parse(ctx, argc, argv, NULL, 0, pos, 1, 1)) < 0)
		return ret;
	if (cli_domain_fold(ctx, pos[0], name) < 0 || cli_open(ctx) < 0)
		return CLI_ERR_FAIL;
	ret = store_domain_add(ctx->st, name);
	if (ret == STORE_ERR_EXISTS)
		return cli_fail(ctx, "%s: domain already exists", name);
	if (ret < 0)
		return cli_fail(ctx, "%s: %s", name, store_strerror(ret));
	return 0;
}

/* cli_domain_del: "domain del NAME"; refused while it has users. */
int
cli_domain_del(struct cli_ctx *ctx, int argc, char **argv)
{
	char name[LIMIT_ADDR_DOMAIN + 1];
	const char *pos[1];
	int ret;

	if ((ret = cli_args_parse(ctx, argc, argv, NULL, 0, pos, 1, 1)) < 0)
		return ret;
	if (cli_domain_fold(ctx, pos[0], name) < 0 || cli_open(ctx) < 0)
		return CLI_ERR_FAIL;
	ret = store_domain_del(ctx->st, name);
	if (ret == STORE_ERR_NOT_FOUND)
		return cli_fail(ctx, "%s: domain does not exist", name);
	if (ret == STORE_ERR_IN_USE)
		return cli_fail(ctx, "%s: domain still has users (delete them "
		    "first)", name);
	if (ret < 0)
		return cli_fail(ctx, "%s: %s", name, store_strerror(ret));
	return 0;
}

/* cli_domain_list: "domain list", one name a line, sorted. */
int
cli_domain_list(struct cli_ctx *ctx, int argc, char **argv)
{
	char **names = NULL;
	int ret;

	if ((ret = cli_args_parse(ctx, argc, argv, NULL, 0, NULL, 0, 0)) < 0)
		return ret;
	if (cli_open(ctx) < 0)
		return CLI_ERR_FAIL;
	if ((ret = store_domain_list(ctx->st, &names)) < 0)
		return cli_fail(ctx, "%s", store_strerror(ret));
	for (size_t i = 0; names[i] != NULL; i++)
		printf("%s\n", names[i]);
	store_strv_free(&names);
	return 0;
}
