/*
 * fuzz_pop3_parse.c - libFuzzer target for the POP3 command line
 * (pop3d/pop3_parse.c).
 *
 * The input is parsed as a command line, and as a message number and a
 * TOP count, whole and as each argument the line parsed to. Checks
 * invariants as well as memory safety: at most POP3_ARGS_MAX arguments,
 * each non-empty, inside the line, in order, free of controls and (but
 * PASS's) of spaces, within 40 octets unless exempt; unused slots empty;
 * a refused line leaves nothing behind and is refused for a reason a
 * second, simpler reading of the line agrees with; a parsed command
 * written out with single spaces parses back to the same; a message
 * number or count prints back to exactly its input, and the two agree
 * where their ranges meet.
 */
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "pop3d/pop3_parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* RFC 1939 3, as pop3_parse.c enforces it. */
#define ARG_LEN_MAX	40

static const char *const verb_names[] = {
	[POP3_VERB_CAPA] = "CAPA", [POP3_VERB_USER] = "USER",
	[POP3_VERB_PASS] = "PASS", [POP3_VERB_AUTH] = "AUTH",
	[POP3_VERB_STLS] = "STLS", [POP3_VERB_STAT] = "STAT",
	[POP3_VERB_LIST] = "LIST", [POP3_VERB_UIDL] = "UIDL",
	[POP3_VERB_RETR] = "RETR", [POP3_VERB_TOP] = "TOP",
	[POP3_VERB_DELE] = "DELE", [POP3_VERB_RSET] = "RSET",
	[POP3_VERB_NOOP] = "NOOP", [POP3_VERB_QUIT] = "QUIT",
};
#define VERB_LAST	POP3_VERB_QUIT

static bool
any_ctl(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return true;
	}
	return false;
}

/* long_ok: argument i of verb may pass 40 octets (pop3_parse.h). */
static bool
long_ok(enum pop3_verb verb, size_t i)
{
	return verb == POP3_VERB_PASS || (verb == POP3_VERB_USER && i == 0) ||
	    (verb == POP3_VERB_AUTH && i == 1);
}

/* lookup: the verb whose name is the n bytes at s, any case. */
static enum pop3_verb
lookup(const char *s, size_t n)
{
	for (int v = 1; v <= VERB_LAST; v++) {
		if (strlen(verb_names[v]) == n &&
		    strncasecmp(s, verb_names[v], n) == 0)
			return (enum pop3_verb)v;
	}
	return POP3_VERB_UNKNOWN;
}

/*
 * oracle: a second, simpler reading of the line: does pop3_parse_command
 * have to refuse it? Words are split on every SP (empty words between
 * runs of SP skipped), as pop3_parse.h describes.
 */
static bool
oracle_refuses(const char *s, size_t n)
{
	size_t i, k, words = 0, start;
	enum pop3_verb verb;

	if (n == 0 || s[0] == ' ' || any_ctl(s, n))
		return true;
	for (k = 0; k < n && s[k] != ' '; k++)
		;
	verb = lookup(s, k);
	if (verb == POP3_VERB_UNKNOWN || verb == POP3_VERB_PASS)
		return false;
	for (i = k; i < n; ) {
		if (s[i] == ' ') {
			i++;
			continue;
		}
		start = i;
		while (i < n && s[i] != ' ')
			i++;
		if (words >= POP3_ARGS_MAX ||
		    (i - start > ARG_LEN_MAX && !long_ok(verb, words)))
			return true;
		words++;
	}
	return false;
}

static void
check_numbers(const char *s, size_t n)
{
	char buf[32];
	uint32_t m, c, again;
	int rm, rc;

	rm = pop3_parse_msgno(s, n, UINT32_MAX, &m);
	rc = pop3_parse_count(s, n, &c);
	if (rm != POP3_PARSE_OK) {
		if (rm != POP3_PARSE_SYNTAX || m != 0)
			abort();
	} else {
		snprintf(buf, sizeof(buf), "%" PRIu32, m);
		if (m == 0 || strlen(buf) != n || memcmp(buf, s, n) != 0)
			abort();
		/* The bound is inclusive, and it is a bound. */
		if (pop3_parse_msgno(s, n, m, &again) != POP3_PARSE_OK ||
		    again != m)
			abort();
		if (pop3_parse_msgno(s, n, m - 1, &again) !=
		    POP3_PARSE_SYNTAX || again != 0)
			abort();
	}
	if (rc != POP3_PARSE_OK) {
		if (rc != POP3_PARSE_SYNTAX || c != 0)
			abort();
	} else {
		snprintf(buf, sizeof(buf), "%" PRIu32, c);
		if (c > 999999999 || strlen(buf) != n ||
		    memcmp(buf, s, n) != 0)
			abort();
	}
	/* Same grammar where the ranges meet: 1..999999999. */
	if (rc == POP3_PARSE_OK && c >= 1 && (rm != POP3_PARSE_OK || m != c))
		abort();
	if (rm == POP3_PARSE_OK && n <= 9 && (rc != POP3_PARSE_OK || c != m))
		abort();
}

/* same_command: a and b have the same verb and argument bytes. */
static bool
same_command(const struct pop3_command *a, const struct pop3_command *b)
{
	if (a->verb != b->verb || a->nargs != b->nargs)
		return false;
	for (size_t i = 0; i < a->nargs; i++) {
		if (a->arg_lens[i] != b->arg_lens[i] ||
		    memcmp(a->args[i], b->args[i], a->arg_lens[i]) != 0)
			return false;
	}
	return true;
}

/*
 * check_written: cmd written out as RFC 1939 says (upper-case keyword,
 * single SPs, no trailing SP) parses back to the same command.
 */
static void
check_written(const struct pop3_command *cmd, size_t line_len)
{
	struct pop3_command again;
	char *buf;
	size_t n, cap;

	if (cmd->verb == POP3_VERB_UNKNOWN)
		return;
	cap = 4 + line_len + POP3_ARGS_MAX + 1;
	if ((buf = malloc(cap)) == NULL)
		abort();
	n = strlen(verb_names[cmd->verb]);
	memcpy(buf, verb_names[cmd->verb], n);
	for (size_t i = 0; i < cmd->nargs; i++) {
		buf[n++] = ' ';
		memcpy(buf + n, cmd->args[i], cmd->arg_lens[i]);
		n += cmd->arg_lens[i];
	}
	if (n > cap)
		abort();
	if (pop3_parse_command(buf, n, &again) != POP3_PARSE_OK ||
	    !same_command(cmd, &again))
		abort();
	free(buf);
}

static void
check_command(const char *line, size_t len)
{
	struct pop3_command cmd;
	const char *prev_end = line;
	size_t k;
	int rc;

	memset(&cmd, 0x5a, sizeof(cmd));
	rc = pop3_parse_command(line, len, &cmd);
	if (cmd.nargs > POP3_ARGS_MAX)
		abort();
	for (size_t i = cmd.nargs; i < POP3_ARGS_MAX; i++) {
		if (cmd.args[i] == NULL || cmd.args[i][0] != '\0' ||
		    cmd.arg_lens[i] != 0)
			abort();
	}
	if (rc != POP3_PARSE_OK) {
		if (rc != POP3_PARSE_SYNTAX || cmd.verb != POP3_VERB_UNKNOWN ||
		    cmd.nargs != 0 || !oracle_refuses(line, len))
			abort();
		return;
	}
	if (oracle_refuses(line, len) || any_ctl(line, len))
		abort();
	if ((unsigned int)cmd.verb > VERB_LAST)
		abort();
	for (k = 0; k < len && line[k] != ' '; k++)
		;
	if (k == 0 || lookup(line, k) != cmd.verb)
		abort();
	if (cmd.verb == POP3_VERB_UNKNOWN && cmd.nargs != 0)
		abort();
	for (size_t i = 0; i < cmd.nargs; i++) {
		const char *a = cmd.args[i];
		size_t n = cmd.arg_lens[i];

		/* Inside the line, after the keyword, in order. */
		if (n == 0 || n > len || a < line + k + 1 ||
		    a + n > line + len || a < prev_end)
			abort();
		prev_end = a + n;
		if (n > ARG_LEN_MAX && !long_ok(cmd.verb, i))
			abort();
		if (cmd.verb == POP3_VERB_PASS) {
			/* The rest of the line, verbatim. */
			if (a != line + k + 1 || a + n != line + len)
				abort();
		} else if (memchr(a, ' ', n) != NULL ||
		    a[-1] != ' ' || (a + n < line + len && a[n] != ' ')) {
			abort();
		}
		check_numbers(a, n);
	}
	/* Nothing but spaces outside the arguments (PASS aside). */
	if (cmd.verb != POP3_VERB_PASS && cmd.verb != POP3_VERB_UNKNOWN) {
		for (const char *p = line + k; p < line + len; p++) {
			bool in_arg = false;

			for (size_t i = 0; i < cmd.nargs; i++) {
				if (p >= cmd.args[i] &&
				    p < cmd.args[i] + cmd.arg_lens[i])
					in_arg = true;
			}
			if (!in_arg && *p != ' ')
				abort();
		}
	}
	check_written(&cmd, len);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data;

	/* data is exactly size bytes, no NUL after it: the sanitizer
	 * catches a parser that reads past its length. */
	check_command(s, size);
	check_numbers(s, size);
	return 0;
}
