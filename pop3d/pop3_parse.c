/*
 * pop3_parse.c - the POP3 command line (RFC 1939 3 and 7, RFC 2449 4,
 * RFC 5034 4): the keyword and its arguments, message numbers and TOP's
 * line count.
 *
 * Input is untrusted: every function takes a pointer and a length, never
 * reads past the length and never relies on a terminating NUL; the
 * arguments it returns point into the caller's line. Enforced: no
 * control byte anywhere, at most POP3_ARGS_MAX arguments, each at most
 * ARG_LEN_MAX (40) octets (RFC 1939 3) but USER's name, PASS's password
 * and AUTH's initial response; message numbers within the maildrop, TOP
 * counts of at most COUNT_DIGITS_MAX digits. The line's own length (RFC
 * 2449 4: 255 octets with CRLF) is the reader's limit, not checked again.
 *
 * Nothing here allocates or does I/O.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/ascii.h"
#include "pop3d/pop3_parse.h"

/* RFC 1939 3: "Each argument may be up to 40 characters long." */
#define ARG_LEN_MAX		40
/* RFC 1939 7 TOP: n is non-negative; 9 digits always fit a uint32_t. */
#define COUNT_DIGITS_MAX	9
/* UINT32_MAX has 10 digits: a longer message number cannot fit. */
#define MSGNO_DIGITS_MAX	10

/* The argument is the rest of the line after one SP, spaces and all. */
#define VERB_FLAG_REST		0x01
/* args[0] / args[1] are not held to ARG_LEN_MAX. */
#define VERB_FLAG_LONG_ARG0	0x02
#define VERB_FLAG_LONG_ARG1	0x04

static const struct {
	const char *name;
	enum pop3_verb verb;
	unsigned int flags;
} verbs[] = {
	{ "CAPA", POP3_VERB_CAPA, 0 },
	/* An account name is an address of up to 254 octets (RFC 5321
	 * 4.5.3.1.3); RFC 2449 4 lifted the 47-octet command line that
	 * the 40 octets came from. */
	{ "USER", POP3_VERB_USER, VERB_FLAG_LONG_ARG0 },
	/* RFC 1939 7: "a POP3 server may treat spaces in the argument as
	 * part of the password, instead of as argument separators." */
	{ "PASS", POP3_VERB_PASS, VERB_FLAG_REST },
	/* RFC 5034 4: AUTH mechanism [initial-response]; the response is
	 * base64 and bounded by the command line, not by 40 octets. */
	{ "AUTH", POP3_VERB_AUTH, VERB_FLAG_LONG_ARG1 },
	{ "STLS", POP3_VERB_STLS, 0 },
	{ "STAT", POP3_VERB_STAT, 0 },
	{ "LIST", POP3_VERB_LIST, 0 },
	{ "UIDL", POP3_VERB_UIDL, 0 },
	{ "RETR", POP3_VERB_RETR, 0 },
	{ "TOP", POP3_VERB_TOP, 0 },
	{ "DELE", POP3_VERB_DELE, 0 },
	{ "RSET", POP3_VERB_RSET, 0 },
	{ "NOOP", POP3_VERB_NOOP, 0 },
	{ "QUIT", POP3_VERB_QUIT, 0 },
};

/* command_clear: cmd as for an unknown keyword without arguments. */
static void
command_clear(struct pop3_command *cmd)
{
	cmd->verb = POP3_VERB_UNKNOWN;
	for (size_t i = 0; i < POP3_ARGS_MAX; i++) {
		cmd->args[i] = "";
		cmd->arg_lens[i] = 0;
	}
	cmd->nargs = 0;
}

/*
 * pop3_parse_command: see pop3_parse.h. The whole line is checked for
 * control bytes before anything else, so no argument, PASS's included,
 * can carry a CR, LF or NUL to a log line or a later parser. *cmd_r is
 * written only once the line is accepted.
 */
int
pop3_parse_command(const char *line, size_t len, struct pop3_command *cmd_r)
{
	struct pop3_command cmd;
	unsigned int flags = 0;
	size_t i, klen, start;

	command_clear(cmd_r);
	command_clear(&cmd);
	for (i = 0; i < len; i++) {
		if (ascii_is_ctl((unsigned char)line[i]))
			return POP3_PARSE_SYNTAX;
	}
	for (klen = 0; klen < len && line[klen] != ' '; klen++)
		;
	if (klen == 0)
		return POP3_PARSE_SYNTAX;
	for (i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++) {
		if (ascii_ieq(line, klen, verbs[i].name)) {
			cmd.verb = verbs[i].verb;
			flags = verbs[i].flags;
			break;
		}
	}
	/* An unknown command's grammar is unknown: its arguments are left
	 * alone, the session answers -ERR whatever they are. */
	if (cmd.verb == POP3_VERB_UNKNOWN)
		return POP3_PARSE_OK;

	if (flags & VERB_FLAG_REST) {
		/* Exactly one SP ends the keyword; what follows, if
		 * anything, is the argument as sent. */
		if (len > klen + 1) {
			cmd.args[0] = line + klen + 1;
			cmd.arg_lens[0] = len - klen - 1;
			cmd.nargs = 1;
		}
		*cmd_r = cmd;
		return POP3_PARSE_OK;
	}

	i = klen;
	for (;;) {
		while (i < len && line[i] == ' ')
			i++;
		if (i >= len)
			break;
		if (cmd.nargs == POP3_ARGS_MAX)
			return POP3_PARSE_SYNTAX;
		start = i;
		while (i < len && line[i] != ' ')
			i++;
		if (i - start > ARG_LEN_MAX &&
		    !(cmd.nargs == 0 && (flags & VERB_FLAG_LONG_ARG0)) &&
		    !(cmd.nargs == 1 && (flags & VERB_FLAG_LONG_ARG1)))
			return POP3_PARSE_SYNTAX;
		cmd.args[cmd.nargs] = line + start;
		cmd.arg_lens[cmd.nargs] = i - start;
		cmd.nargs++;
	}
	*cmd_r = cmd;
	return POP3_PARSE_OK;
}

/*
 * parse_decimal: s (len bytes) is 1..max_digits ASCII digits without a
 * leading zero (but "0" itself) into *v_r. With max_digits at most 19 the
 * value cannot overflow. Returns false for anything else: empty, a sign,
 * a space, another byte.
 */
static bool
parse_decimal(const char *s, size_t len, size_t max_digits, uint64_t *v_r)
{
	uint64_t v = 0;

	if (len == 0 || len > max_digits || (s[0] == '0' && len > 1))
		return false;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	*v_r = v;
	return true;
}

/* pop3_parse_msgno: see pop3_parse.h. RFC 1939 5: message numbers run
 * from 1 to the count of messages in the maildrop; a deleted one is the
 * session's to refuse. */
int
pop3_parse_msgno(const char *s, size_t len, uint32_t max, uint32_t *n_r)
{
	uint64_t v;

	*n_r = 0;
	if (!parse_decimal(s, len, MSGNO_DIGITS_MAX, &v) || v == 0 ||
	    v > max)
		return POP3_PARSE_SYNTAX;
	*n_r = (uint32_t)v;
	return POP3_PARSE_OK;
}

/* pop3_parse_count: see pop3_parse.h. A count past the end of the body
 * is not an error (RFC 1939 7: the entire message is sent). */
int
pop3_parse_count(const char *s, size_t len, uint32_t *n_r)
{
	uint64_t v;

	*n_r = 0;
	if (!parse_decimal(s, len, COUNT_DIGITS_MAX, &v))
		return POP3_PARSE_SYNTAX;
	*n_r = (uint32_t)v;
	return POP3_PARSE_OK;
}
