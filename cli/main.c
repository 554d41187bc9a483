/*
 * main.c - letterbox(1): global options, the command table, dispatch.
 *
 * Input: the command line. Global options come before the command; the
 * words after it belong to the command, whose handler parses them. Every
 * command is found in one table, the only place verbs are looked up.
 *
 * Exit status: 0 success, 1 failure (one line on stderr said why), 2 bad
 * command line (the usage was printed).
 */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "common/log.h"

/* PACKAGE_VERSION comes from autoconf's config.h, which Makefile.am
 * includes in every file (-include). */
#ifndef PACKAGE_VERSION
#define PACKAGE_VERSION "unknown"
#endif

static const struct cli_command commands[] = {
	{ "domain", "add", cli_domain_add, "NAME",
	  "add a domain to host" },
	{ "domain", "del", cli_domain_del, "NAME",
	  "remove a domain that has no users left" },
	{ "domain", "list", cli_domain_list, "",
	  "list the hosted domains" },
	{ "user", "add", cli_user_add,
	  "ADDRESS [--password-stdin] [--quota SIZE]",
	  "add a user with the standard mailboxes" },
	{ "user", "passwd", cli_user_passwd, "ADDRESS [--password-stdin]",
	  "set a user's password" },
	{ "user", "del", cli_user_del, "ADDRESS",
	  "remove a user and all of its mail" },
	{ "user", "list", cli_user_list, "",
	  "list users with quota and usage" },
	{ "alias", "add", cli_alias_add, "SOURCE TARGET",
	  "deliver mail for SOURCE (or @domain) to the user TARGET" },
	{ "alias", "del", cli_alias_del, "SOURCE [TARGET]",
	  "remove one target of an alias, or all of them" },
	{ "alias", "list", cli_alias_list, "",
	  "list aliases" },
	{ "quota", "set", cli_quota_set, "ADDRESS SIZE",
	  "set a user's quota (0 = unlimited)" },
	{ "mailbox", "list", cli_mailbox_list, "ADDRESS",
	  "list a user's mailboxes with counters" },
	{ "mailbox", "add", cli_mailbox_add, "ADDRESS NAME",
	  "create a mailbox" },
	{ "mailbox", "del", cli_mailbox_del, "ADDRESS NAME",
	  "delete a mailbox and its messages" },
	{ "mailbox", "rename", cli_mailbox_rename, "ADDRESS OLD NEW",
	  "rename a mailbox and its children" },
	{ "message", "list", cli_message_list, "ADDRESS [MAILBOX]",
	  "list the messages of a mailbox (default INBOX)" },
	{ "message", "show", cli_message_show, "ADDRESS MAILBOX UID",
	  "write a message's stored bytes to stdout" },
	{ "deliver", NULL, cli_deliver, "--to ADDRESS [--to ADDRESS ...]",
	  "deliver the message on stdin to local recipients" },
	{ "check", NULL, cli_check, "",
	  "check the integrity of the database" },
	{ "queue", "list", cli_queue_list, "",
	  "list the outbound queue" },
	{ "queue", "show", cli_queue_show, "ID",
	  "show a queued message's recipients and its bytes" },
	{ "queue", "retry", cli_queue_retry, "ID",
	  "try a queued message's pending recipients now" },
	{ "queue", "delete", cli_queue_delete, "ID",
	  "remove a message from the queue (no bounce)" },
	{ "queue", "flush", cli_queue_flush, "",
	  "try every pending recipient now" },
	{ "dkim", "generate", cli_dkim_generate,
	  "DOMAIN [--algorithm rsa|ed25519|both] [--selector NAME]",
	  "make DKIM signing keys and print the DNS records to publish" },
	{ "dkim", "list", cli_dkim_list, "[DOMAIN]",
	  "list DKIM keys with their DNS records" },
	{ "dkim", "del", cli_dkim_del, "DOMAIN SELECTOR",
	  "remove a DKIM key" },
};

#define NCOMMANDS (sizeof(commands) / sizeof(commands[0]))

static void
help_print(FILE *out)
{
	fprintf(out,
	    "usage: letterbox [--config FILE] [--data-dir DIR] COMMAND "
	    "[ARGS]\n"
	    "       letterbox --help | --version\n\ncommands:\n");
	for (size_t i = 0; i < NCOMMANDS; i++) {
		const struct cli_command *c = &commands[i];

		fprintf(out, "  %s%s%s%s%s\n      %s\n", c->noun,
		    c->verb != NULL ? " " : "", c->verb != NULL ? c->verb : "",
		    *c->usage != '\0' ? " " : "", c->usage, c->summary);
	}
	fprintf(out, "\nSee letterbox(1).\n");
}

/* noun_usage_print: the usage lines of every command of noun. */
static void
noun_usage_print(const char *noun, FILE *out)
{
	for (size_t i = 0; i < NCOMMANDS; i++)
		if (strcmp(commands[i].noun, noun) == 0)
			cli_usage_print(&commands[i], out);
}

static bool
noun_known(const char *noun)
{
	for (size_t i = 0; i < NCOMMANDS; i++)
		if (strcmp(commands[i].noun, noun) == 0)
			return true;
	return false;
}

/* command_find: the command for noun and verb (verb is ignored, and may
 * be NULL, for a command that is a noun alone). */
static const struct cli_command *
command_find(const char *noun, const char *verb)
{
	for (size_t i = 0; i < NCOMMANDS; i++) {
		const struct cli_command *c = &commands[i];

		if (strcmp(c->noun, noun) != 0)
			continue;
		if (c->verb == NULL)
			return c;
		if (verb != NULL && strcmp(c->verb, verb) == 0)
			return c;
	}
	return NULL;
}

/* wants_help: true when "--help" is among the command's words. */
static bool
wants_help(int argc, char **argv)
{
	for (int i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--") == 0)
			break;
		if (strcmp(argv[i], "--help") == 0)
			return true;
	}
	return false;
}

/*
 * global_option: parses the global option at argv[*i] (advancing *i past
 * its value). Returns 0, 1 when the program is done (--help, --version)
 * with *exit_r, or CLI_ERR_USAGE after printing why.
 */
static int
global_option(struct cli_ctx *ctx, int argc, char **argv, int *i,
    int *exit_r)
{
	static const struct {
		const char *name;
		size_t offset;
	} valued[] = {
		{ "--config", offsetof(struct cli_ctx, config_path) },
		{ "--data-dir", offsetof(struct cli_ctx, data_dir) },
	};
	const char *arg = argv[*i];

	if (strcmp(arg, "--help") == 0) {
		help_print(stdout);
		*exit_r = CLI_EXIT_OK;
		return 1;
	}
	if (strcmp(arg, "--version") == 0) {
		printf("letterbox %s (database schema %d)\n", PACKAGE_VERSION,
		    store_schema_version());
		*exit_r = CLI_EXIT_OK;
		return 1;
	}
	for (size_t k = 0; k < sizeof(valued) / sizeof(valued[0]); k++) {
		size_t n = strlen(valued[k].name);
		const char **field = (const char **)((char *)ctx +
		    valued[k].offset);
		const char *value;

		if (strncmp(arg, valued[k].name, n) != 0 ||
		    (arg[n] != '\0' && arg[n] != '='))
			continue;
		if (arg[n] == '=') {
			value = arg + n + 1;
		} else if (*i + 1 < argc) {
			value = argv[++*i];
		} else {
			fprintf(stderr, "letterbox: %s needs a value\n",
			    valued[k].name);
			return CLI_ERR_USAGE;
		}
		if (*value == '\0') {
			fprintf(stderr, "letterbox: %s needs a value\n",
			    valued[k].name);
			return CLI_ERR_USAGE;
		}
		if (*field != NULL) {
			fprintf(stderr, "letterbox: %s given twice\n",
			    valued[k].name);
			return CLI_ERR_USAGE;
		}
		*field = value;
		return 0;
	}
	fprintf(stderr, "letterbox: unknown option %s\n", arg);
	return CLI_ERR_USAGE;
}

static int
usage_exit(void)
{
	fprintf(stderr,
	    "usage: letterbox [--config FILE] [--data-dir DIR] COMMAND "
	    "[ARGS]\n"
	    "Run 'letterbox --help' for the list of commands.\n");
	return CLI_EXIT_USAGE;
}

int
main(int argc, char **argv)
{
	struct cli_ctx ctx = { 0 };
	const struct cli_command *cmd;
	const char *noun, *verb;
	int i, first, ret, status;

	log_init("letterbox", false, LOG_LEVEL_WARN);
	for (i = 1; i < argc && argv[i][0] == '-' && argv[i][1] != '\0';
	    i++) {
		if (strcmp(argv[i], "--") == 0) {
			i++;
			break;
		}
		ret = global_option(&ctx, argc, argv, &i, &status);
		if (ret == 1)
			return status;
		if (ret < 0)
			return usage_exit();
	}
	if (i >= argc)
		return usage_exit();

	noun = argv[i];
	verb = i + 1 < argc ? argv[i + 1] : NULL;
	if (!noun_known(noun)) {
		fprintf(stderr, "letterbox: unknown command \"%s\"\n", noun);
		return usage_exit();
	}
	if ((cmd = command_find(noun, verb)) == NULL) {
		if (verb != NULL && strcmp(verb, "--help") == 0) {
			noun_usage_print(noun, stdout);
			return CLI_EXIT_OK;
		}
		if (verb == NULL)
			fprintf(stderr, "letterbox: %s: missing verb\n", noun);
		else
			fprintf(stderr, "letterbox: %s: unknown verb \"%s\"\n",
			    noun, verb);
		noun_usage_print(noun, stderr);
		return CLI_EXIT_USAGE;
	}
	first = cmd->verb != NULL ? i + 2 : i + 1;
	ctx.cmd = cmd;
	if (wants_help(argc - first, argv + first)) {
		cli_usage_print(cmd, stdout);
		return CLI_EXIT_OK;
	}

	ret = cmd->run(&ctx, argc - first, argv + first);
	if (ret == 0)
		ret = cli_stdout_flush(&ctx);
	cli_close(&ctx);
	if (ret == CLI_ERR_USAGE)
		return CLI_EXIT_USAGE;
	return ret == 0 ? CLI_EXIT_OK : CLI_EXIT_FAIL;
}
