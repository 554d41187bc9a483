/*
 * util.c - helpers shared by the letterbox(1) commands: finding the
 * configuration and opening the store, error and usage lines, argument
 * parsing, addresses and sizes. Passwords are in password.c, display text
 * and tables in table.c.
 *
 * Input: the command line. Error lines are filtered for control
 * characters, so input cannot forge one.
 */
#include <sys/stat.h>
#include <sys/types.h>

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <inttypes.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>


#include "cli/cli.h"
#include "common/address.h"
#include "common/log.h"
#include "common/paths.h"
#include "common/xalloc.h"


/* ---- Messages --------------------------------------------------------- */

/* message_vprint: one line on stderr, "letterbox: [NOUN VERB: ]text",
 * with control characters replaced so no input can forge a line. */
static void __attribute__((format(printf, 2, 0)))
message_vprint(const struct cli_command *cmd, const char *fmt, va_list ap)
{
	va_list ap2;
	char *msg;
	int n;

	va_copy(ap2, ap);
	n = vsnprintf(NULL, 0, fmt, ap2);
	va_end(ap2);
	if (n < 0)
		fatal("cannot format a message");
	msg = xmalloc((size_t)n + 1);
	vsnprintf(msg, (size_t)n + 1, fmt, ap);
	for (char *p = msg; *p != '\0'; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';
	if (cmd == NULL)
		fprintf(stderr, "letterbox: %s\n", msg);
	else if (cmd->verb == NULL)
		fprintf(stderr, "letterbox: %s: %s\n", cmd->noun, msg);
	else
		fprintf(stderr, "letterbox: %s %s: %s\n", cmd->noun, cmd->verb,
		    msg);
	free(msg);
}

int
cli_fail(struct cli_ctx *ctx, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	message_vprint(ctx->cmd, fmt, ap);
	va_end(ap);
	return CLI_ERR_FAIL;
}

/* fail_plain: cli_fail() without the command in front, for problems of
 * the setup (config, data directory) rather than of the command. */
static int __attribute__((format(printf, 1, 2)))
fail_plain(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	message_vprint(NULL, fmt, ap);
	va_end(ap);
	return CLI_ERR_FAIL;
}

void
cli_usage_print(const struct cli_command *cmd, FILE *out)
{
	fprintf(out, "usage: letterbox %s%s%s%s%s\n", cmd->noun,
	    cmd->verb != NULL ? " " : "", cmd->verb != NULL ? cmd->verb : "",
	    *cmd->usage != '\0' ? " " : "", cmd->usage);
}

int
cli_usage(struct cli_ctx *ctx, const char *why)
{
	if (why != NULL)
		cli_fail(ctx, "%s", why);
	cli_usage_print(ctx->cmd, stderr);
	return CLI_ERR_USAGE;
}

int
cli_stdout_flush(struct cli_ctx *ctx)
{
	if (fflush(stdout) != 0 || ferror(stdout))
		return cli_fail(ctx, "writing to stdout: %s", strerror(errno));
	return 0;
}

/* ---- Opening ---------------------------------------------------------- */

/* config_resolve: fills ctx->cfg as letterbox(1) FILES describes. */
static int
config_resolve(struct cli_ctx *ctx)
{
	const char *path = ctx->config_path;
	struct stat sb;
	char *error = NULL;

	if (path == NULL && ctx->data_dir == NULL) {
		if (stat(PATH_CONFIG, &sb) == 0 ||
		    (errno != ENOENT && errno != ENOTDIR)) {
			/* Present, or unreadable: loading it says which. */
			path = PATH_CONFIG;
		} else if (stat(PATH_SANDBOX_DIR, &sb) == 0 &&
		    S_ISDIR(sb.st_mode)) {
			ctx->cfg = config_new_defaults(PATH_SANDBOX_DIR);
			return 0;
		} else {
			return fail_plain("no configuration: use --config FILE "
			    "or --data-dir DIR");
		}
	}
	if (path != NULL) {
		if (config_load(path, PATH_DATA_DIR, &ctx->cfg,
		    &error) < 0) {
			fail_plain("%s", error);
			free(error);
			return CLI_ERR_FAIL;
		}
	} else {
		ctx->cfg = config_new_defaults(ctx->data_dir);
	}
	if (ctx->data_dir != NULL) {
		free(ctx->cfg->data_dir);
		ctx->cfg->data_dir = xstrdup(ctx->data_dir);
	}
	return 0;
}

/*
 * privileges_drop: run as root with a config naming a user, become that
 * user before the store is touched. Otherwise files SQLite creates (the
 * -wal and -shm files, a new database) would belong to root and the
 * daemon, running as that user, could not open them. A data directory
 * that does not exist yet is made for that user.
 */
static int
privileges_drop(struct cli_ctx *ctx)
{
	const char *name = ctx->cfg->user;
	struct passwd *pw;
	uid_t uid;
	gid_t gid;

	if (geteuid() != 0 || name == NULL)
		return 0;
	errno = 0;
	if ((pw = getpwnam(name)) == NULL)
		return fail_plain("user %s (config key \"user\"): %s", name,
		    errno != 0 ? strerror(errno) : "no such user");
	uid = pw->pw_uid;
	gid = pw->pw_gid;
	if (uid == 0)
		return 0;
	if (mkdir(ctx->cfg->data_dir, 0700) == 0 &&
	    chown(ctx->cfg->data_dir, uid, gid) != 0) {
		int saved = errno;

		rmdir(ctx->cfg->data_dir);
		return fail_plain("%s: chown: %s", ctx->cfg->data_dir,
		    strerror(saved));
	}
	if (initgroups(name, gid) != 0 || setgid(gid) != 0 ||
	    setuid(uid) != 0)
		return fail_plain("cannot become user %s: %s", name,
		    strerror(errno));
	if (setuid(0) != -1)
		fatal("still root after dropping privileges to %s", name);
	return 0;
}

int
cli_open(struct cli_ctx *ctx)
{
	char *error = NULL;
	int ret;

	if (config_resolve(ctx) < 0 || privileges_drop(ctx) < 0)
		return CLI_ERR_FAIL;
	ret = store_open(ctx->cfg->data_dir, &ctx->st, &error);
	if (ret < 0) {
		fail_plain("cannot open the store in %s: %s",
		    ctx->cfg->data_dir,
		    error != NULL ? error : store_strerror(ret));
		free(error);
		ctx->st = NULL;
		return CLI_ERR_FAIL;
	}
	return 0;
}

void
cli_close(struct cli_ctx *ctx)
{
	if (ctx->st != NULL)
		store_close(&ctx->st);
	config_free(&ctx->cfg);
}

/* ---- Arguments -------------------------------------------------------- */

/* opt_find: the option arg names ("--name" or "--name=..."); *value_r is
 * what follows '=' or NULL. */
static const struct cli_opt *
opt_find(const struct cli_opt *opts, size_t nopts, const char *arg,
    const char **value_r)
{
	for (size_t k = 0; k < nopts; k++) {
		size_t n = strlen(opts[k].name);

		if (strncmp(arg, opts[k].name, n) != 0)
			continue;
		if (arg[n] == '\0') {
			*value_r = NULL;
			return &opts[k];
		}
		if (arg[n] == '=') {
			*value_r = arg + n + 1;
			return &opts[k];
		}
	}
	return NULL;
}

int
cli_args_parse(struct cli_ctx *ctx, int argc, char **argv,
    const struct cli_opt *opts, size_t nopts, const char **pos_r,
    size_t pos_min, size_t pos_max)
{
	char why[128];
	size_t npos = 0;
	bool opts_done = false;

	for (size_t k = 0; k < pos_max; k++)
		pos_r[k] = NULL;
	for (int i = 0; i < argc; i++) {
		const char *arg = argv[i], *value;
		const struct cli_opt *opt;
		struct cli_strlist *list;

		if (!opts_done && strcmp(arg, "--") == 0) {
			opts_done = true;
			continue;
		}
		/* Only "--name" is an option: "-x" is an argument, so a
		 * mailbox or domain may start with '-' (and be refused with
		 * a reason if it is invalid). */
		if (opts_done || strncmp(arg, "--", 2) != 0) {
			if (npos == pos_max)
				return cli_usage(ctx, "too many arguments");
			pos_r[npos++] = arg;
			continue;
		}
		if ((opt = opt_find(opts, nopts, arg, &value)) == NULL) {
			snprintf(why, sizeof(why), "unknown option %.64s", arg);
			return cli_usage(ctx, why);
		}
		if (opt->type == CLI_OPT_FLAG) {
			if (value != NULL) {
				snprintf(why, sizeof(why), "%s takes no value",
				    opt->name);
				return cli_usage(ctx, why);
			}
			*(bool *)opt->out = true;
			continue;
		}
		if (value == NULL) {
			if (i + 1 == argc) {
				snprintf(why, sizeof(why), "%s needs a value",
				    opt->name);
				return cli_usage(ctx, why);
			}
			value = argv[++i];
		}
		if (opt->type == CLI_OPT_VALUE) {
			if (*(const char **)opt->out != NULL) {
				snprintf(why, sizeof(why), "%s given twice",
				    opt->name);
				return cli_usage(ctx, why);
			}
			*(const char **)opt->out = value;
			continue;
		}
		list = opt->out;
		if (list->count == list->max) {
			snprintf(why, sizeof(why), "at most %zu %s options",
			    list->max, opt->name);
			return cli_usage(ctx, why);
		}
		list->items[list->count++] = value;
	}
	if (npos < pos_min)
		return cli_usage(ctx, "missing arguments");
	return 0;
}

/* ---- Values ----------------------------------------------------------- */

int
cli_address_fold(struct cli_ctx *ctx, const char *s, char *out)
{
	struct address addr;
	const char *why;
	size_t llen, dlen;

	if (address_parse(s, &addr, &why) < 0)
		return cli_fail(ctx, "%s: %s", s, why);
	llen = strlen(addr.local);
	dlen = strlen(addr.domain);
	/* address_parse() enforces LIMIT_ADDR_TOTAL; checked all the same. */
	if (llen + 1 + dlen >= CLI_ADDRESS_MAX)
		return cli_fail(ctx, "%s: address too long", s);
	memcpy(out, addr.local, llen);
	out[llen] = '@';
	memcpy(out + llen + 1, addr.domain, dlen + 1);
	return 0;
}

int
cli_domain_fold(struct cli_ctx *ctx, const char *s, char *out)
{
	const char *why;

	if (address_domain_fold(s, out, &why) < 0)
		return cli_fail(ctx, "%s: %s", s, why);
	return 0;
}

int
cli_user_get(struct cli_ctx *ctx, const char *address,
    struct store_user *user_r)
{
	char addr[CLI_ADDRESS_MAX];
	int ret;

	if (cli_address_fold(ctx, address, addr) < 0)
		return CLI_ERR_FAIL;
	ret = store_user_get(ctx->st, addr, user_r);
	if (ret == STORE_ERR_NOT_FOUND)
		return cli_fail(ctx, "%s: no such user", addr);
	if (ret < 0)
		return cli_fail(ctx, "%s: %s", addr, store_strerror(ret));
	return 0;
}

int
cli_size_parse(struct cli_ctx *ctx, const char *s, int64_t *size_r)
{
	int64_t size = config_parse_size(s);

	if (size < 0)
		return cli_fail(ctx, "invalid size \"%s\": give bytes, or a "
		    "number with K, M or G (500K, 10M, 2G)", s);
	*size_r = size;
	return 0;
}

const char *
cli_size_format(int64_t bytes, char *buf, size_t size)
{
	static const struct {
		int64_t mult;
		char suffix;
	} units[] = {
		{ 1024LL * 1024 * 1024, 'G' },
		{ 1024LL * 1024, 'M' },
		{ 1024LL, 'K' },
	};

	if (bytes == 0) {
		snprintf(buf, size, "unlimited");
		return buf;
	}
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (bytes % units[i].mult == 0) {
			snprintf(buf, size, "%" PRId64 "%c",
			    bytes / units[i].mult, units[i].suffix);
			return buf;
		}
	}
	snprintf(buf, size, "%" PRId64, bytes);
	return buf;
}
