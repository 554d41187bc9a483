/*
 * cmd_check.c - letterbox check: the store's integrity check.
 *
 * Prints each problem store_check() reports on stdout, one a line (the
 * text is filtered for control characters), then "ok" when there were
 * none. Changes nothing.
 */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"

/* What the check found so far. */
struct check_state {
	size_t problems;
};

static void
check_report(void *arg, const char *text)
{
	struct check_state *state = arg;
	char line[1024];

	state->problems++;
	cli_text_clean(text, strlen(text), (sizeof(line) - 4) / 4, line,
	    sizeof(line));
	printf("%s\n", line);
}

/* cli_check: "check"; fails when a problem was found or the check could
 * not run. */
int
cli_check(struct cli_ctx *ctx, int argc, char **argv)
{
	struct check_state state = { 0 };
	int ret;

	if ((ret = cli_args_parse(ctx, argc, argv, NULL, 0, NULL, 0, 0)) < 0)
		return ret;
	if (cli_open(ctx) < 0)
		return CLI_ERR_FAIL;
	ret = store_check(ctx->st, check_report, &state);
	if (ret == 0 && state.problems == 0) {
		printf("ok\n");
		return 0;
	}
	if (state.problems > 0)
		return cli_fail(ctx, "%zu problem%s found", state.problems,
		    state.problems == 1 ? "" : "s");
	if (ret == STORE_ERR_CORRUPT)
		return cli_fail(ctx, "%s", store_strerror(ret));
	return cli_fail(ctx, "the check could not run: %s",
	    store_strerror(ret));
}
