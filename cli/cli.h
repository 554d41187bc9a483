/*
 * cli.h - letterbox(1), the admin command line: command table and the
 * helpers its commands share.
 *
 * Input: the command line (trusted no more than any input: every address
 * is checked with address_parse() before it reaches the store), stdin for
 * --password-stdin and deliver, and the controlling terminal for password
 * prompts. The store is the only way to the database.
 *
 * Limits: passwords LIMIT_PASSWORD, recipients LIMIT_RECIPIENTS, messages
 * the config's max_message_size (at most LIMIT_MESSAGE_SIZE), headers read
 * for a listing CLI_HEADER_MAX.
 */
#ifndef LETTERBOX_CLI_H
#define LETTERBOX_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "common/config.h"
#include "common/limits.h"
#include "store/store.h"

/* Results of a command; main() turns them into the exit status. */
enum cli_err {
	CLI_OK = 0,
	CLI_ERR_FAIL = -1,	/* exit 1: failed, one line said why */
	CLI_ERR_USAGE = -2,	/* exit 2: bad command line, usage shown */
};

#define CLI_EXIT_OK	0
#define CLI_EXIT_FAIL	1
#define CLI_EXIT_USAGE	2

/* Room for a folded "local@domain" (or "@domain") and its NUL. */
#define CLI_ADDRESS_MAX	(LIMIT_ADDR_TOTAL + 1)
/* A password line: LIMIT_PASSWORD octets, a '\r' and the NUL. */
#define CLI_PASSWORD_BUF	(LIMIT_PASSWORD + 2)
/* message list reads at most this much of a message looking for its
 * Subject and From; a header section longer than this is cut short. */
#define CLI_HEADER_MAX	(64 * 1024)
/* message list: Subject and From are shown up to this many characters. */
#define CLI_FIELD_WIDTH	60

struct cli_ctx;

/* One entry of the command table in main.c. */
struct cli_command {
	const char *noun;	/* "user" */
	const char *verb;	/* "add"; NULL when the noun is the command */
	int (*run)(struct cli_ctx *ctx, int argc, char **argv);
	const char *usage;	/* what follows "letterbox noun verb" */
	const char *summary;	/* one line for --help */
};

/*
 * The state of one run. The global options are set by main(); cfg and st
 * are filled by cli_open() and owned here, released by cli_close().
 */
struct cli_ctx {
	const struct cli_command *cmd;	/* the command being run */
	const char *config_path;	/* --config FILE, or NULL */
	const char *data_dir;		/* --data-dir DIR, or NULL */
	struct config *cfg;		/* owned: the resolved config */
	struct store *st;		/* owned: the open store */
};

/* ---- Commands (cmd_*.c); argv holds the words after the verb. -------- */

int cli_domain_add(struct cli_ctx *ctx, int argc, char **argv);
int cli_domain_del(struct cli_ctx *ctx, int argc, char **argv);
int cli_domain_list(struct cli_ctx *ctx, int argc, char **argv);
int cli_user_add(struct cli_ctx *ctx, int argc, char **argv);
int cli_user_passwd(struct cli_ctx *ctx, int argc, char **argv);
int cli_user_del(struct cli_ctx *ctx, int argc, char **argv);
int cli_user_list(struct cli_ctx *ctx, int argc, char **argv);
int cli_alias_add(struct cli_ctx *ctx, int argc, char **argv);
int cli_alias_del(struct cli_ctx *ctx, int argc, char **argv);
int cli_alias_list(struct cli_ctx *ctx, int argc, char **argv);
int cli_quota_set(struct cli_ctx *ctx, int argc, char **argv);
int cli_mailbox_list(struct cli_ctx *ctx, int argc, char **argv);
int cli_mailbox_add(struct cli_ctx *ctx, int argc, char **argv);
int cli_mailbox_del(struct cli_ctx *ctx, int argc, char **argv);
int cli_mailbox_rename(struct cli_ctx *ctx, int argc, char **argv);
int cli_message_list(struct cli_ctx *ctx, int argc, char **argv);
int cli_message_show(struct cli_ctx *ctx, int argc, char **argv);
int cli_deliver(struct cli_ctx *ctx, int argc, char **argv);
int cli_check(struct cli_ctx *ctx, int argc, char **argv);
int cli_queue_list(struct cli_ctx *ctx, int argc, char **argv);
int cli_queue_show(struct cli_ctx *ctx, int argc, char **argv);
int cli_queue_retry(struct cli_ctx *ctx, int argc, char **argv);
int cli_queue_delete(struct cli_ctx *ctx, int argc, char **argv);
int cli_queue_flush(struct cli_ctx *ctx, int argc, char **argv);
int cli_dkim_generate(struct cli_ctx *ctx, int argc, char **argv);
int cli_dkim_list(struct cli_ctx *ctx, int argc, char **argv);
int cli_dkim_del(struct cli_ctx *ctx, int argc, char **argv);

/* ---- Opening (util.c) ------------------------------------------------ */

/*
 * cli_open: resolves the configuration (--data-dir, --config, the system
 * config, ./letterbox-data, in that order; see letterbox(1)), drops root
 * to the config's user, and opens the store into ctx->cfg and ctx->st.
 * Returns 0, or CLI_ERR_FAIL after printing why.
 */
int cli_open(struct cli_ctx *ctx);
/* cli_close: closes the store and frees the config; safe to call twice. */
void cli_close(struct cli_ctx *ctx);

/* ---- Messages and errors (util.c) ------------------------------------ */

/* cli_fail: prints "letterbox: NOUN VERB: " and the message, with control
 * characters replaced, as one line on stderr. Returns CLI_ERR_FAIL. */
int cli_fail(struct cli_ctx *ctx, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* cli_usage: prints why (when not NULL, as cli_fail does) and the usage
 * line of ctx's command on stderr. Returns CLI_ERR_USAGE. */
int cli_usage(struct cli_ctx *ctx, const char *why);
/* cli_usage_print: "usage: letterbox NOUN VERB ARGS" and a newline. */
void cli_usage_print(const struct cli_command *cmd, FILE *out);

/* ---- Arguments (util.c) ---------------------------------------------- */

enum cli_opt_type {
	CLI_OPT_FLAG,		/* out is a bool *, set to true */
	CLI_OPT_VALUE,		/* out is a const char **; at most once */
	CLI_OPT_LIST,		/* out: struct cli_strlist *; repeatable */
};

struct cli_opt {
	const char *name;	/* "--quota" */
	enum cli_opt_type type;
	void *out;
};

/* Values of a repeatable option; items is caller-provided, max long. The
 * strings point into argv. */
struct cli_strlist {
	const char **items;
	size_t count;
	size_t max;
};

/*
 * cli_args_parse: splits argv into the options in opts and between
 * pos_min and pos_max positional words, stored in pos_r (pos_max entries;
 * unused ones set to NULL). Options come anywhere, as "--name VALUE" or
 * "--name=VALUE"; a word not starting with "--" is positional, and "--"
 * ends the options. Returns 0, or CLI_ERR_USAGE after printing usage.
 */
int cli_args_parse(struct cli_ctx *ctx, int argc, char **argv,
    const struct cli_opt *opts, size_t nopts, const char **pos_r,
    size_t pos_min, size_t pos_max);

/* ---- Values (util.c) ------------------------------------------------- */

/* cli_address_fold: checks s with address_parse() and writes the folded
 * "local@domain" to out (CLI_ADDRESS_MAX bytes). Returns 0, or
 * CLI_ERR_FAIL after printing why. */
int cli_address_fold(struct cli_ctx *ctx, const char *s, char *out);
/* cli_domain_fold: the same for a domain name. */
int cli_domain_fold(struct cli_ctx *ctx, const char *s, char *out);
/* cli_user_get: cli_address_fold() then store_user_get(); "no such user"
 * and other errors are printed. Returns 0 with *user_r (the caller clears
 * it with store_user_clear()) or CLI_ERR_FAIL. */
int cli_user_get(struct cli_ctx *ctx, const char *address,
    struct store_user *user_r);
/* cli_size_parse: "1024", "500K", "10M", "2G" as config_parse_size().
 * Returns 0 with *size_r, or CLI_ERR_FAIL after printing why. */
int cli_size_parse(struct cli_ctx *ctx, const char *s, int64_t *size_r);
/* cli_size_format: bytes as the shortest exact form cli_size_parse()
 * reads back ("10M", "1536"), or "unlimited" for 0. Returns buf. */
const char *cli_size_format(int64_t bytes, char *buf, size_t size);

/* ---- Passwords (util.c) ---------------------------------------------- */

/*
 * cli_password_read: with from_stdin, one line from stdin; otherwise a
 * prompt on /dev/tty without echo, asked twice. Strips the line end,
 * refuses an empty password, one with a NUL byte and one longer than
 * LIMIT_PASSWORD. buf is CLI_PASSWORD_BUF bytes; the caller wipes it with
 * sodium_memzero(). Returns 0, or CLI_ERR_FAIL after printing why.
 */
int cli_password_read(struct cli_ctx *ctx, bool from_stdin,
    const char *address, char *buf);
/* cli_password_hash: hashes password with the config's [auth] limits into
 * hash_r (AUTH_HASH_MAX bytes). Returns 0 or CLI_ERR_FAIL. */
int cli_password_hash(struct cli_ctx *ctx, const char *password,
    char *hash_r);

/* ---- Tables (util.c) ------------------------------------------------- */

/*
 * A table printed with aligned columns. Cells are copied; the table owns
 * them until cli_table_free(). align has one letter per column: 'l' or
 * 'r'. The last column is never padded.
 */
struct cli_table {
	size_t ncols;
	const char *const *headers;	/* ncols titles, not owned */
	const char *align;		/* not owned */
	char **cells;			/* owned: nrows * ncols strings */
	size_t nrows;
	size_t cap;			/* rows allocated */
};

void cli_table_init(struct cli_table *t, size_t ncols,
    const char *const *headers, const char *align);
/* cli_table_add: appends a row of t->ncols cells (copied). */
void cli_table_add(struct cli_table *t, const char *const *cells);
/* cli_table_print: the header and rows on out; nothing when empty. */
void cli_table_print(const struct cli_table *t, FILE *out);
void cli_table_free(struct cli_table *t);

/* cli_text_clean: copies up to max characters of the len bytes at s into
 * out (size bytes, at least 4 * max + 4), replacing control characters,
 * invalid UTF-8 and DEL by '?' and ending with "..." when cut. Returns
 * out. */
const char *cli_text_clean(const char *s, size_t len, size_t max, char *out,
    size_t size);

/* cli_stdout_flush: flushes stdout; on a write error (a closed pipe, a
 * full disk) prints it. Returns 0 or CLI_ERR_FAIL. */
int cli_stdout_flush(struct cli_ctx *ctx);

#endif
