/*
 * cmd_quota.c - letterbox quota set: a user's storage limit.
 *
 * Input: an address and a size ("1024", "500K", "10M", "2G"; 0 means
 * unlimited) from the command line. Lowering a quota below what a user
 * already stores is allowed: new mail is refused until they make room.
 */
#include "cli/cli.h"

/* cli_quota_set: "quota set ADDRESS SIZE". */
int
cli_quota_set(struct cli_ctx *ctx, int argc, char **argv)
{
	char addr[CLI_ADDRESS_MAX];
	const char *pos[2];
	int64_t quota;
	int ret;

	if ((ret = cli_args_parse(ctx, argc, argv, NULL, 0, pos, 2, 2)) < 0)
		return ret;
	if (cli_address_fold(ctx, pos[0], addr) < 0 ||
	    cli_size_parse(ctx, pos[1], &quota) < 0 || cli_open(ctx) < 0)
		return CLI_ERR_FAIL;
	ret = store_user_set_quota(ctx->st, addr, quota);
	if (ret == STORE_ERR_NOT_FOUND)
		return cli_fail(ctx, "%s: no such user", addr);
	if (ret < 0)
		return cli_fail(ctx, "%s: %s", addr, store_strerror(ret));
	return 0;
}
