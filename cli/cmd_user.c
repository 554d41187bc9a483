/*
 * cmd_user.c - letterbox user add|passwd|del|list: accounts.
 *
 * Input: addresses (checked with address_parse()), a quota size, and a
 * password from stdin or the terminal (see cli_password_read()). The
 * password is hashed here and wiped; only the hash reaches the store, and
 * neither is ever printed.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "cli/cli.h"

/* domain_of: the domain part of a folded "local@domain". */
static const char *
domain_of(const char *addr)
{
	return strrchr(addr, '@') + 1;
}

/*
 * user_add_precheck: before asking for a password, make sure the add can
 * succeed: the domain is hosted and the address is free. store_user_add()
 * checks again in its own transaction; this only spares the admin typing
 * a password for nothing.
 */
static int
user_add_precheck(struct cli_ctx *ctx, const char *addr)
{
	struct store_user user;
	char **names = NULL;
	bool hosted = false;
	int ret;

	if ((ret = store_domain_list(ctx->st, &names)) < 0)
		return cli_fail(ctx, "%s: %s", addr, store_strerror(ret));
	for (size_t i = 0; names[i] != NULL && !hosted; i++)
		hosted = strcmp(names[i], domain_of(addr)) == 0;
	store_strv_free(&names);
	if (!hosted)
		return cli_fail(ctx, "%s: domain %s does not exist", addr,
		    domain_of(addr));
	ret = store_user_get(ctx->st, addr, &user);
	if (ret == 0) {
		store_user_clear(&user);
		return cli_fail(ctx, "%s: user already exists", addr);
	}
	if (ret != STORE_ERR_NOT_FOUND)
		return cli_fail(ctx, "%s: %s", addr, store_strerror(ret));
	return 0;
}

/* password_hash_get: reads a password and hashes it into hash (wiping the
 * password whatever happens). */
static int
password_hash_get(struct cli_ctx *ctx, bool from_stdin, const char *addr,
    char *hash)
{
	char password[CLI_PASSWORD_BUF];
	int ret;

	ret = cli_password_read(ctx, from_stdin, addr, password);
	if (ret == 0)
		ret = cli_password_hash(ctx, password, hash);
	sodium_memzero(password, sizeof(password));
	return ret;
}

/* cli_user_add: "user add ADDRESS [--password-stdin] [--quota SIZE]";
 * the quota defaults to the config's default_quota. */
int
cli_user_add(struct cli_ctx *ctx, int argc, char **argv)
{
	char addr[CLI_ADDRESS_MAX], hash[AUTH_HASH_MAX];
	const char *pos[1], *quota_arg = NULL;
	bool from_stdin = false;
	const struct cli_opt opts[] = {
		{ "--password-stdin", CLI_OPT_FLAG, &from_stdin },
		{ "--quota", CLI_OPT_VALUE, &quota_arg },
	};
	int64_t quota = 0, id;
	int ret;

	if ((ret = cli_args_parse(ctx, argc, argv, opts, 2, pos, 1, 1)) < 0)
		return ret;
	if (cli_address_fold(ctx, pos[0], addr) < 0)
		return CLI_ERR_FAIL;
	if (quota_arg != NULL && cli_size_parse(ctx, quota_arg, &quota) < 0)
		return CLI_ERR_FAIL;
	if (cli_open(ctx) < 0 || user_add_precheck(ctx, addr) < 0)
		return CLI_ERR_FAIL;
	if (quota_arg == NULL)
		quota = ctx->cfg->default_quota;
	if (password_hash_get(ctx, from_stdin, addr, hash) < 0)
		return CLI_ERR_FAIL;

	ret = store_user_add(ctx->st, addr, hash, quota, &id);
	sodium_memzero(hash, sizeof(hash));
	if (ret == STORE_ERR_EXISTS)
		return cli_fail(ctx, "%s: user already exists", addr);
	if (ret == STORE_ERR_NOT_FOUND || ret == STORE_ERR_NOT_LOCAL)
		return cli_fail(ctx, "%s: domain %s does not exist", addr,
		    domain_of(addr));
	if (ret < 0)
		return cli_fail(ctx, "%s: %s", addr, store_strerror(ret));
	return 0;
}

/* cli_user_passwd: "user passwd ADDRESS [--password-stdin]". */
int
cli_user_passwd(struct cli_ctx *ctx, int argc, char **argv)
{
	struct store_user user;
	char addr[CLI_ADDRESS_MAX], hash[AUTH_HASH_MAX];
	const char *pos[1];
	bool from_stdin = false;
	const struct cli_opt opts[] = {
		{ "--password-stdin", CLI_OPT_FLAG, &from_stdin },
	};
	int ret;

	if ((ret = cli_args_parse(ctx, argc, argv, opts, 1, pos, 1, 1)) < 0)
		return ret;
	/* The user must exist before the admin types a password. */
	if (cli_address_fold(ctx, pos[0], addr) < 0 || cli_open(ctx) < 0 ||
	    cli_user_get(ctx, addr, &user) < 0)
		return CLI_ERR_FAIL;
	if (password_hash_get(ctx, from_stdin, user.address, hash) < 0) {
		store_user_clear(&user);
		return CLI_ERR_FAIL;
	}
	ret = store_user_set_password(ctx->st, user.address, hash);
	sodium_memzero(hash, sizeof(hash));
	if (ret == STORE_ERR_NOT_FOUND)
		ret = cli_fail(ctx, "%s: no such user", user.address);
	else if (ret < 0)
		ret = cli_fail(ctx, "%s: %s", user.address,
		    store_strerror(ret));
	store_user_clear(&user);
	return ret;
}

/* cli_user_del: "user del ADDRESS", with all of the user's mail. */
int
cli_user_del(struct cli_ctx *ctx, int argc, char **argv)
{
	char addr[CLI_ADDRESS_MAX];
	const char *pos[1];
	int ret;

	if ((ret = cli_args_parse(ctx, argc, argv, NULL, 0, pos, 1, 1)) < 0)
		return ret;
	if (cli_address_fold(ctx, pos[0], addr) < 0 || cli_open(ctx) < 0)
		return CLI_ERR_FAIL;
	ret = store_user_del(ctx->st, addr);
	if (ret == STORE_ERR_NOT_FOUND)
		return cli_fail(ctx, "%s: no such user", addr);
	if (ret < 0)
		return cli_fail(ctx, "%s: %s", addr, store_strerror(ret));
	return 0;
}

/* cli_user_list: "user list": address, quota, bytes used, messages. */
int
cli_user_list(struct cli_ctx *ctx, int argc, char **argv)
{
	static const char *const headers[] = {
		"ADDRESS", "QUOTA", "USED", "MESSAGES",
	};
	struct store_user *users = NULL;
	struct cli_table table;
	char quota[32], used[32], count[32];
	size_t n = 0;
	int ret;

	if ((ret = cli_args_parse(ctx, argc, argv, NULL, 0, NULL, 0, 0)) < 0)
		return ret;
	if (cli_open(ctx) < 0)
		return CLI_ERR_FAIL;
	if ((ret = store_user_list(ctx->st, &users, &n)) < 0)
		return cli_fail(ctx, "%s", store_strerror(ret));
	cli_table_init(&table, 4, headers, "lrrr");
	for (size_t i = 0; i < n; i++) {
		const char *row[4] = { users[i].address, quota, used, count };

		cli_size_format(users[i].quota_bytes, quota, sizeof(quota));
		snprintf(used, sizeof(used), "%" PRId64, users[i].used_bytes);
		snprintf(count, sizeof(count), "%" PRId64, users[i].messages);
		cli_table_add(&table, row);
	}
	cli_table_print(&table, stdout);
	cli_table_free(&table);
	store_user_list_free(&users, n);
	return 0;
}
