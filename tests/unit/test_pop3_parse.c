/*
 * test_pop3_parse.c - the POP3 command line (pop3d/pop3_parse.c).
 *
 * Every input is copied into a heap buffer of exactly its length, with no
 * terminating NUL, so AddressSanitizer (or valgrind) catches a parser
 * that reads past the length it was given; every prefix of every input is
 * parsed too (the line-parser form of "fed one byte at a time") and must
 * keep the invariants: arguments inside the line, lengths within bounds,
 * nargs <= POP3_ARGS_MAX, numbers that print back to what was parsed.
 * Limits are RFC 1939 3 (40-octet arguments) with the exemptions of
 * pop3_parse.h; each test sits on both sides of a bound.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pop3d/pop3_parse.h"

/* RFC 1939 3, as pop3_parse.c enforces it. */
#define ARG_LEN_MAX	40

/* exact: a malloc'd copy of s without its NUL. */
static char *
exact(const char *s, size_t len)
{
	char *p = malloc(len > 0 ? len : 1);

	assert_non_null(p);
	memcpy(p, s, len);
	return p;
}

/* rep: n copies of c into buf, NUL-terminated. */
static char *
rep(char *buf, char c, size_t n)
{
	memset(buf, c, n);
	buf[n] = '\0';
	return buf;
}

/*
 * check_cmd: what holds after any pop3_parse_command() call on p (n
 * bytes): nargs in bounds, arguments non-empty and inside the line,
 * unused slots "" of length 0, a refused line leaves nothing behind.
 */
static void
check_cmd(const char *p, size_t n, int rc, const struct pop3_command *cmd)
{
	assert_true(rc == POP3_PARSE_OK || rc == POP3_PARSE_SYNTAX);
	assert_true(cmd->nargs <= POP3_ARGS_MAX);
	if (rc != POP3_PARSE_OK) {
		assert_int_equal(cmd->verb, POP3_VERB_UNKNOWN);
		assert_int_equal(cmd->nargs, 0);
	}
	if (cmd->verb == POP3_VERB_UNKNOWN)
		assert_int_equal(cmd->nargs, 0);
	for (size_t i = 0; i < POP3_ARGS_MAX; i++) {
		assert_non_null(cmd->args[i]);
		if (i >= cmd->nargs) {
			assert_int_equal(cmd->arg_lens[i], 0);
			continue;
		}
		assert_true(cmd->arg_lens[i] > 0 && cmd->arg_lens[i] <= n);
		assert_true(cmd->args[i] >= p &&
		    cmd->args[i] + cmd->arg_lens[i] <= p + n);
		if (cmd->arg_lens[i] > ARG_LEN_MAX)
			assert_true(cmd->verb == POP3_VERB_USER ||
			    cmd->verb == POP3_VERB_PASS ||
			    (cmd->verb == POP3_VERB_AUTH && i == 1));
	}
}

/* check_numbers: msgno and count over p (n bytes); what parses prints
 * back to exactly the input. */
static void
check_numbers(const char *p, size_t n)
{
	char buf[16];
	uint32_t v;

	if (pop3_parse_msgno(p, n, UINT32_MAX, &v) == POP3_PARSE_OK) {
		assert_true(v >= 1);
		snprintf(buf, sizeof(buf), "%" PRIu32, v);
		assert_int_equal(strlen(buf), n);
		assert_memory_equal(buf, p, n);
	} else {
		assert_int_equal(v, 0);
	}
	if (pop3_parse_count(p, n, &v) == POP3_PARSE_OK) {
		assert_true(v <= 999999999);
		snprintf(buf, sizeof(buf), "%" PRIu32, v);
		assert_int_equal(strlen(buf), n);
		assert_memory_equal(buf, p, n);
	} else {
		assert_int_equal(v, 0);
	}
}

/*
 * prefixes: every prefix of s, the whole included, in an exact-size
 * buffer, through every parser. Results are not compared (most prefixes
 * mean something else); the invariants and the sanitizers are checked.
 */
static void
prefixes(const char *s, size_t len)
{
	for (size_t n = 0; n <= len; n++) {
		char *p = exact(s, n);
		struct pop3_command cmd;
		int rc;

		memset(&cmd, 0x5a, sizeof(cmd));
		rc = pop3_parse_command(p, n, &cmd);
		check_cmd(p, n, rc, &cmd);
		check_numbers(p, n);
		free(p);
	}
}

/* ---- command lines ---- */

/*
 * assert_cmd_len: line (len bytes) parses to verb with nargs arguments
 * a0 and a1 (NULL when absent), exactly.
 */
static void
assert_cmd_len(const char *line, size_t len, enum pop3_verb verb,
    size_t nargs, const char *a0, const char *a1)
{
	const char *want[POP3_ARGS_MAX] = { a0, a1 };
	char *p = exact(line, len);
	struct pop3_command cmd;
	int rc;

	memset(&cmd, 0x5a, sizeof(cmd));
	rc = pop3_parse_command(p, len, &cmd);
	if (rc != POP3_PARSE_OK)
		fail_msg("pop3_parse_command(\"%.*s\") = %d", (int)len, line,
		    rc);
	check_cmd(p, len, rc, &cmd);
	assert_int_equal(cmd.verb, verb);
	if (cmd.nargs != nargs)
		fail_msg("pop3_parse_command(\"%.*s\"): nargs %zu, want %zu",
		    (int)len, line, cmd.nargs, nargs);
	for (size_t i = 0; i < nargs; i++) {
		assert_non_null(want[i]);
		assert_int_equal(cmd.arg_lens[i], strlen(want[i]));
		assert_memory_equal(cmd.args[i], want[i], cmd.arg_lens[i]);
	}
	for (size_t i = nargs; i < POP3_ARGS_MAX; i++) {
		assert_null(want[i]);
		assert_string_equal(cmd.args[i], "");
	}
	free(p);
	prefixes(line, len);
}

static void
assert_cmd(const char *line, enum pop3_verb verb, size_t nargs,
    const char *a0, const char *a1)
{
	assert_cmd_len(line, strlen(line), verb, nargs, a0, a1);
}

static void
assert_cmd_bad_len(const char *line, size_t len)
{
	char *p = exact(line, len);
	struct pop3_command cmd;
	int rc;

	memset(&cmd, 0x5a, sizeof(cmd));
	rc = pop3_parse_command(p, len, &cmd);
	if (rc != POP3_PARSE_SYNTAX)
		fail_msg("pop3_parse_command(\"%.*s\") = %d, want SYNTAX",
		    (int)len, line, rc);
	check_cmd(p, len, rc, &cmd);
	for (size_t i = 0; i < POP3_ARGS_MAX; i++) {
		assert_string_equal(cmd.args[i], "");
		assert_int_equal(cmd.arg_lens[i], 0);
	}
	free(p);
	prefixes(line, len);
}

static void
assert_cmd_bad(const char *line)
{
	assert_cmd_bad_len(line, strlen(line));
}

static void
test_command_verbs(void **state)
{
	(void)state;
	/* RFC 1939 9 and RFC 2449 5, RFC 2595 4, RFC 5034 4. */
	assert_cmd("CAPA", POP3_VERB_CAPA, 0, NULL, NULL);
	assert_cmd("USER alice@example.org", POP3_VERB_USER, 1,
	    "alice@example.org", NULL);
	assert_cmd("PASS secret", POP3_VERB_PASS, 1, "secret", NULL);
	assert_cmd("AUTH PLAIN", POP3_VERB_AUTH, 1, "PLAIN", NULL);
	assert_cmd("STLS", POP3_VERB_STLS, 0, NULL, NULL);
	assert_cmd("STAT", POP3_VERB_STAT, 0, NULL, NULL);
	assert_cmd("LIST", POP3_VERB_LIST, 0, NULL, NULL);
	assert_cmd("LIST 1", POP3_VERB_LIST, 1, "1", NULL);
	assert_cmd("UIDL", POP3_VERB_UIDL, 0, NULL, NULL);
	assert_cmd("UIDL 12", POP3_VERB_UIDL, 1, "12", NULL);
	assert_cmd("RETR 1", POP3_VERB_RETR, 1, "1", NULL);
	assert_cmd("TOP 1 10", POP3_VERB_TOP, 2, "1", "10");
	assert_cmd("TOP 3 0", POP3_VERB_TOP, 2, "3", "0");
	assert_cmd("DELE 2", POP3_VERB_DELE, 1, "2", NULL);
	assert_cmd("RSET", POP3_VERB_RSET, 0, NULL, NULL);
	assert_cmd("NOOP", POP3_VERB_NOOP, 0, NULL, NULL);
	assert_cmd("QUIT", POP3_VERB_QUIT, 0, NULL, NULL);
}

static void
test_command_case(void **state)
{
	(void)state;
	/* RFC 1939 3: keywords are case-insensitive; arguments kept. */
	assert_cmd("capa", POP3_VERB_CAPA, 0, NULL, NULL);
	assert_cmd("user Alice@Example.ORG", POP3_VERB_USER, 1,
	    "Alice@Example.ORG", NULL);
	assert_cmd("pAsS SeCrEt", POP3_VERB_PASS, 1, "SeCrEt", NULL);
	assert_cmd("Auth plain", POP3_VERB_AUTH, 1, "plain", NULL);
	assert_cmd("stls", POP3_VERB_STLS, 0, NULL, NULL);
	assert_cmd("sTaT", POP3_VERB_STAT, 0, NULL, NULL);
	assert_cmd("list 7", POP3_VERB_LIST, 1, "7", NULL);
	assert_cmd("uidl", POP3_VERB_UIDL, 0, NULL, NULL);
	assert_cmd("retr 1", POP3_VERB_RETR, 1, "1", NULL);
	assert_cmd("top 1 2", POP3_VERB_TOP, 2, "1", "2");
	assert_cmd("Top 1 2", POP3_VERB_TOP, 2, "1", "2");
	assert_cmd("dele 9", POP3_VERB_DELE, 1, "9", NULL);
	assert_cmd("rset", POP3_VERB_RSET, 0, NULL, NULL);
	assert_cmd("noop", POP3_VERB_NOOP, 0, NULL, NULL);
	assert_cmd("quit", POP3_VERB_QUIT, 0, NULL, NULL);
}

static void
test_command_unknown(void **state)
{
	char line[128];

	(void)state;
	assert_cmd("XTND XMIT", POP3_VERB_UNKNOWN, 0, NULL, NULL);
	/* Not supported: APOP needs the clear password (we keep argon2id
	 * hashes), LAST was dropped by RFC 1725, UTF8/LANG not offered. */
	assert_cmd("APOP alice c4c9334bac560ecc979e58001b3e22fb",
	    POP3_VERB_UNKNOWN, 0, NULL, NULL);
	assert_cmd("LAST", POP3_VERB_UNKNOWN, 0, NULL, NULL);
	assert_cmd("UTF8", POP3_VERB_UNKNOWN, 0, NULL, NULL);
	/* A verb is the whole keyword, not a prefix or an extension. */
	assert_cmd("LIS", POP3_VERB_UNKNOWN, 0, NULL, NULL);
	assert_cmd("LISTS", POP3_VERB_UNKNOWN, 0, NULL, NULL);
	assert_cmd("TO 1 2", POP3_VERB_UNKNOWN, 0, NULL, NULL);
	assert_cmd("TOPS 1 2", POP3_VERB_UNKNOWN, 0, NULL, NULL);
	assert_cmd("STARTTLS", POP3_VERB_UNKNOWN, 0, NULL, NULL);
	assert_cmd("QUITX", POP3_VERB_UNKNOWN, 0, NULL, NULL);
	assert_cmd("PASSWORD secret", POP3_VERB_UNKNOWN, 0, NULL, NULL);
	assert_cmd("USER:alice", POP3_VERB_UNKNOWN, 0, NULL, NULL);
	assert_cmd("RETR1", POP3_VERB_UNKNOWN, 0, NULL, NULL);
	assert_cmd("Q", POP3_VERB_UNKNOWN, 0, NULL, NULL);
	assert_cmd("\xc3\x9cSER x", POP3_VERB_UNKNOWN, 0, NULL, NULL);
	/* What a confused client or a cross-protocol attack sends. */
	assert_cmd("GET / HTTP/1.1", POP3_VERB_UNKNOWN, 0, NULL, NULL);
	assert_cmd("EHLO mail.example.org", POP3_VERB_UNKNOWN, 0, NULL,
	    NULL);
	assert_cmd("a001 LOGIN alice secret", POP3_VERB_UNKNOWN, 0, NULL,
	    NULL);
	/* An unknown keyword's arguments are not looked at: any count,
	 * any length (controls are still refused, test_command_controls). */
	assert_cmd("XFOO a b c d e", POP3_VERB_UNKNOWN, 0, NULL, NULL);
	memcpy(line, "XFOO ", 5);
	rep(line + 5, 'a', 100);
	assert_cmd(line, POP3_VERB_UNKNOWN, 0, NULL, NULL);
	rep(line, 'X', 100);
	assert_cmd(line, POP3_VERB_UNKNOWN, 0, NULL, NULL);
}

static void
test_command_spaces(void **state)
{
	(void)state;
	/* Trailing SPs are dropped: "LIST " is LIST without argument. */
	assert_cmd("STAT ", POP3_VERB_STAT, 0, NULL, NULL);
	assert_cmd("QUIT   ", POP3_VERB_QUIT, 0, NULL, NULL);
	assert_cmd("LIST ", POP3_VERB_LIST, 0, NULL, NULL);
	assert_cmd("UIDL  ", POP3_VERB_UIDL, 0, NULL, NULL);
	assert_cmd("LIST 1 ", POP3_VERB_LIST, 1, "1", NULL);
	assert_cmd("TOP 1 10 ", POP3_VERB_TOP, 2, "1", "10");
	assert_cmd("USER alice ", POP3_VERB_USER, 1, "alice", NULL);
	assert_cmd("AUTH PLAIN ", POP3_VERB_AUTH, 1, "PLAIN", NULL);
	/* A run of SPs separates like one: never an empty argument. */
	assert_cmd("LIST  1", POP3_VERB_LIST, 1, "1", NULL);
	assert_cmd("TOP 1  10", POP3_VERB_TOP, 2, "1", "10");
	assert_cmd("TOP   1   10   ", POP3_VERB_TOP, 2, "1", "10");
	assert_cmd("USER  alice", POP3_VERB_USER, 1, "alice", NULL);
	/* Too many words is still too many with spaces around them. */
	assert_cmd_bad("TOP 1 10 x");
	assert_cmd_bad("TOP  1  10  x  ");
}

static void
test_command_empty_keyword(void **state)
{
	(void)state;
	assert_cmd_bad("");
	assert_cmd_bad(" ");
	assert_cmd_bad("   ");
	assert_cmd_bad(" QUIT");
	assert_cmd_bad("  STAT");
	assert_cmd_bad(" USER alice");
	assert_cmd_bad(" PASS secret");
	/* The shortest keyword there is. */
	assert_cmd("X", POP3_VERB_UNKNOWN, 0, NULL, NULL);
}

static void
test_command_controls(void **state)
{
	static const char *const lines[] = {
		"QUIT", "USER alice", "PASS se cret", "TOP 1 10",
		"AUTH PLAIN AGFsaWNlAHNlY3JldA==", "XFOO bar",
	};

	(void)state;
	/* NUL and every other control byte, TAB and DEL too, anywhere:
	 * in the keyword, after it, in and after each argument. */
	for (size_t l = 0; l < sizeof(lines) / sizeof(lines[0]); l++) {
		size_t len = strlen(lines[l]);
		char line[64];

		for (size_t pos = 0; pos <= len; pos++) {
			for (int c = 0; c <= 0x7f; c++) {
				if (c >= 0x20 && c < 0x7f)
					continue;
				memcpy(line, lines[l], pos);
				line[pos] = (char)c;
				memcpy(line + pos + 1, lines[l] + pos,
				    len - pos);
				assert_cmd_bad_len(line, len + 1);
			}
		}
	}
	assert_cmd_bad_len("PASS secret\0", 12);
	assert_cmd_bad_len("PASS sec\0ret", 12);
	assert_cmd_bad("PASS secret\r");
	assert_cmd_bad("PASS secret\r\nDELE 1");
	assert_cmd_bad("USER alice\nPASS x");
	assert_cmd_bad("LIST\t1");
	assert_cmd_bad("NOOP \x1b[2J");
	/* Bytes >= 0x80 are no control: arguments keep them. */
	assert_cmd("USER j\xc3\xb6rg@example.org", POP3_VERB_USER, 1,
	    "j\xc3\xb6rg@example.org", NULL);
	assert_cmd("PASS \xff\x80", POP3_VERB_PASS, 1, "\xff\x80", NULL);
	assert_cmd("LIST \xc2\xa0", POP3_VERB_LIST, 1, "\xc2\xa0", NULL);
}

static void
test_command_arg_count(void **state)
{
	(void)state;
	/* POP3_ARGS_MAX is 2: a third argument is refused, for every verb
	 * (how many each verb takes is the session's to check). */
	assert_cmd("QUIT now", POP3_VERB_QUIT, 1, "now", NULL);
	assert_cmd("STAT a b", POP3_VERB_STAT, 2, "a", "b");
	assert_cmd_bad("STAT a b c");
	assert_cmd("LIST 1 2", POP3_VERB_LIST, 2, "1", "2");
	assert_cmd_bad("LIST 1 2 3");
	assert_cmd_bad("TOP 1 2 3");
	assert_cmd_bad("RETR 1 2 3 4");
	assert_cmd("USER john smith", POP3_VERB_USER, 2, "john", "smith");
	assert_cmd_bad("USER john q smith");
	assert_cmd_bad("AUTH PLAIN AAAA BBBB");
	assert_cmd_bad("NOOP a b c");
	assert_cmd_bad("CAPA a b c");
	assert_cmd_bad("STLS a b c");
	assert_cmd_bad("UIDL a b c");
	assert_cmd_bad("DELE a b c");
	assert_cmd_bad("RSET a b c");
}

/* line_of: "<verb> <args...>" with each argument n copies of c. */
static char *
line_of(char *buf, const char *verb, char c, size_t n1, size_t n2)
{
	size_t len = strlen(verb);

	memcpy(buf, verb, len);
	if (n1 > 0) {
		buf[len++] = ' ';
		memset(buf + len, c, n1);
		len += n1;
	}
	if (n2 > 0) {
		buf[len++] = ' ';
		memset(buf + len, c, n2);
		len += n2;
	}
	buf[len] = '\0';
	return buf;
}

static void
test_command_arg_limits(void **state)
{
	static const struct {
		const char *name;
		enum pop3_verb verb;
	} verbs[] = {
		{ "CAPA", POP3_VERB_CAPA }, { "STLS", POP3_VERB_STLS },
		{ "STAT", POP3_VERB_STAT }, { "LIST", POP3_VERB_LIST },
		{ "UIDL", POP3_VERB_UIDL }, { "RETR", POP3_VERB_RETR },
		{ "TOP", POP3_VERB_TOP }, { "DELE", POP3_VERB_DELE },
		{ "RSET", POP3_VERB_RSET }, { "NOOP", POP3_VERB_NOOP },
		{ "QUIT", POP3_VERB_QUIT },
	};
	char line[300], a40[ARG_LEN_MAX + 1], m40[ARG_LEN_MAX + 1];

	(void)state;
	rep(a40, '1', ARG_LEN_MAX);
	rep(m40, 'M', ARG_LEN_MAX);
	/* RFC 1939 3: an argument is at most 40 octets, first or second. */
	for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++) {
		assert_cmd(line_of(line, verbs[i].name, '1', ARG_LEN_MAX, 0),
		    verbs[i].verb, 1, a40, NULL);
		assert_cmd(line_of(line, verbs[i].name, '1', ARG_LEN_MAX,
		    ARG_LEN_MAX), verbs[i].verb, 2, a40, a40);
		assert_cmd_bad(line_of(line, verbs[i].name, '1',
		    ARG_LEN_MAX + 1, 0));
		assert_cmd_bad(line_of(line, verbs[i].name, '1', 1,
		    ARG_LEN_MAX + 1));
		assert_cmd_bad(line_of(line, verbs[i].name, '1',
		    ARG_LEN_MAX + 1, 1));
		assert_cmd_bad(line_of(line, verbs[i].name, '1',
		    ARG_LEN_MAX + 1, ARG_LEN_MAX + 1));
	}
	assert_cmd_bad(line_of(line, "RETR", '1', 200, 0));
	/* AUTH's mechanism is an argument like the others. */
	assert_cmd(line_of(line, "AUTH", 'M', ARG_LEN_MAX, 0),
	    POP3_VERB_AUTH, 1, m40, NULL);
	assert_cmd_bad(line_of(line, "AUTH", 'M', ARG_LEN_MAX + 1, 0));
	assert_cmd_bad(line_of(line, "AUTH", 'M', ARG_LEN_MAX + 1, 4));
	/* USER's second word is held to 40 (USER takes one anyway). */
	assert_cmd(line_of(line, "USER", '1', 1, ARG_LEN_MAX),
	    POP3_VERB_USER, 2, "1", a40);
	assert_cmd_bad(line_of(line, "USER", 'u', 1, ARG_LEN_MAX + 1));
	/* The keyword itself has no bound: it is only unknown. */
	assert_cmd(rep(line, 'K', 200), POP3_VERB_UNKNOWN, 0, NULL, NULL);
}

static void
test_command_user_long(void **state)
{
	char line[300], name[260];

	(void)state;
	/* An account is an address: 40 octets is too few (RFC 2449 4 lifted
	 * the 47-octet line the 40 came from). */
	assert_cmd("USER christopher.montgomery@accounts.example.com",
	    POP3_VERB_USER, 1, "christopher.montgomery@accounts.example.com",
	    NULL);
	rep(name, 'a', ARG_LEN_MAX);
	snprintf(line, sizeof(line), "USER %s", name);
	assert_cmd(line, POP3_VERB_USER, 1, name, NULL);
	rep(name, 'a', ARG_LEN_MAX + 1);
	snprintf(line, sizeof(line), "USER %s", name);
	assert_cmd(line, POP3_VERB_USER, 1, name, NULL);
	/* RFC 5321 4.5.3.1: 64 + "@" + 189: a 254-octet address. */
	rep(name, 'l', 64);
	name[64] = '@';
	rep(name + 65, 'd', 189);
	assert_int_equal(strlen(name), 254);
	snprintf(line, sizeof(line), "USER %s", name);
	assert_cmd(line, POP3_VERB_USER, 1, name, NULL);
}

static void
test_pass(void **state)
{
	char line[2100], pw[2050];

	(void)state;
	/* RFC 1939 7: the rest of the line is the password, spaces and
	 * all, after the one SP that ends the keyword. */
	assert_cmd("PASS correct horse battery staple", POP3_VERB_PASS, 1,
	    "correct horse battery staple", NULL);
	assert_cmd("PASS a b c d e f", POP3_VERB_PASS, 1, "a b c d e f",
	    NULL);
	assert_cmd("PASS two  spaces", POP3_VERB_PASS, 1, "two  spaces",
	    NULL);
	assert_cmd("PASS  leading", POP3_VERB_PASS, 1, " leading", NULL);
	assert_cmd("PASS trailing ", POP3_VERB_PASS, 1, "trailing ", NULL);
	assert_cmd("PASS   ", POP3_VERB_PASS, 1, "  ", NULL);
	assert_cmd("PASS  ", POP3_VERB_PASS, 1, " ", NULL);
	assert_cmd("pass p@ss:w0rd!\"#$%&'()*+,-./", POP3_VERB_PASS, 1,
	    "p@ss:w0rd!\"#$%&'()*+,-./", NULL);
	assert_cmd("PASS p\xc3\xa4ssw\xc3\xb6rd", POP3_VERB_PASS, 1,
	    "p\xc3\xa4ssw\xc3\xb6rd", NULL);
	/* Nothing after the keyword's SP: no argument. */
	assert_cmd("PASS", POP3_VERB_PASS, 0, NULL, NULL);
	assert_cmd("PASS ", POP3_VERB_PASS, 0, NULL, NULL);
	/* Not held to 40 octets, nor to two words. */
	rep(pw, 'p', ARG_LEN_MAX + 1);
	snprintf(line, sizeof(line), "PASS %s", pw);
	assert_cmd(line, POP3_VERB_PASS, 1, pw, NULL);
	for (size_t i = 0; i < 2048; i++)
		pw[i] = (i % 7 == 6) ? ' ' : (char)('a' + i % 26);
	pw[2048] = '\0';
	snprintf(line, sizeof(line), "PASS %s", pw);
	assert_cmd(line, POP3_VERB_PASS, 1, pw, NULL);
	/* Controls are refused in a password too. */
	assert_cmd_bad("PASS tab\there");
	assert_cmd_bad("PASS del\x7f");
	assert_cmd_bad_len("PASS \0", 6);
}

static void
test_auth(void **state)
{
	char line[2100], ir[2050];

	(void)state;
	/* RFC 5034 4: AUTH [mechanism [initial-response]]. A bare AUTH
	 * (RFC 1734 clients list mechanisms with it) has no argument. */
	assert_cmd("AUTH", POP3_VERB_AUTH, 0, NULL, NULL);
	assert_cmd("AUTH ", POP3_VERB_AUTH, 0, NULL, NULL);
	assert_cmd("AUTH PLAIN", POP3_VERB_AUTH, 1, "PLAIN", NULL);
	assert_cmd("AUTH SCRAM-SHA-256", POP3_VERB_AUTH, 1, "SCRAM-SHA-256",
	    NULL);
	assert_cmd("AUTH PLAIN AGFsaWNlAHNlY3JldA==", POP3_VERB_AUTH, 2,
	    "PLAIN", "AGFsaWNlAHNlY3JldA==");
	assert_cmd("AUTH PLAIN AGFsaWNlAHNlY3JldA== ", POP3_VERB_AUTH, 2,
	    "PLAIN", "AGFsaWNlAHNlY3JldA==");
	assert_cmd("AUTH LOGIN dXNlcg==", POP3_VERB_AUTH, 2, "LOGIN",
	    "dXNlcg==");
	/* RFC 5034 4: "=" is an empty initial response. */
	assert_cmd("AUTH PLAIN =", POP3_VERB_AUTH, 2, "PLAIN", "=");
	/* The response is not base64-checked here (common/sasl.c is). */
	assert_cmd("AUTH PLAIN *", POP3_VERB_AUTH, 2, "PLAIN", "*");

	/* A long initial response: PLAIN for a 254-octet address and a
	 * long password, an XOAUTH2 token. Only the line bounds it. */
	rep(ir, 'A', ARG_LEN_MAX);
	snprintf(line, sizeof(line), "AUTH PLAIN %s", ir);
	assert_cmd(line, POP3_VERB_AUTH, 2, "PLAIN", ir);
	rep(ir, 'A', ARG_LEN_MAX + 1);
	snprintf(line, sizeof(line), "AUTH PLAIN %s", ir);
	assert_cmd(line, POP3_VERB_AUTH, 2, "PLAIN", ir);
	/* 242 octets: "AUTH PLAIN " + 242 + CRLF is RFC 2449's 255. */
	for (size_t i = 0; i < 240; i++)
		ir[i] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
		    "0123456789+/"[i % 64];
	memcpy(ir + 240, "==", 3);
	snprintf(line, sizeof(line), "AUTH PLAIN %s", ir);
	assert_int_equal(strlen(line) + 2, 255);
	assert_cmd(line, POP3_VERB_AUTH, 2, "PLAIN", ir);
	rep(ir, 'Q', 2048);
	snprintf(line, sizeof(line), "AUTH XOAUTH2 %s", ir);
	assert_cmd(line, POP3_VERB_AUTH, 2, "XOAUTH2", ir);
	/* Spaces end the response: a third word is refused. */
	assert_cmd_bad("AUTH PLAIN AGFsaWNl AHNlY3JldA==");
	assert_cmd_bad("AUTH PLAIN = =");
}

/* ---- prefixes with exact results ---- */

/*
 * assert_prefix: parse the first n bytes of a longer buffer: the bytes
 * after n must not change the result. The buffer is exactly as long as
 * the full line, so a read past n but within it goes unseen by the
 * sanitizer; comparing results catches it instead.
 */
static void
assert_prefix(const char *full, size_t n, int rc_want, enum pop3_verb verb,
    size_t nargs, const char *a0, const char *a1)
{
	const char *want[POP3_ARGS_MAX] = { a0, a1 };
	size_t len = strlen(full);
	char *p = exact(full, len);
	struct pop3_command cmd;
	int rc;

	assert_true(n <= len);
	rc = pop3_parse_command(p, n, &cmd);
	if (rc != rc_want)
		fail_msg("prefix %zu of \"%s\": rc %d, want %d", n, full, rc,
		    rc_want);
	check_cmd(p, n, rc, &cmd);
	assert_int_equal(cmd.verb, verb);
	assert_int_equal(cmd.nargs, nargs);
	for (size_t i = 0; i < nargs; i++) {
		assert_int_equal(cmd.arg_lens[i], strlen(want[i]));
		assert_memory_equal(cmd.args[i], want[i], cmd.arg_lens[i]);
	}
	free(p);
}

static void
test_prefix_results(void **state)
{
	const char *top = "TOP 12 345";
	const char *pass = "PASS a b";
	const char *bad = "STAT\r\n";
	uint32_t v;

	(void)state;
	assert_prefix(top, 0, POP3_PARSE_SYNTAX, POP3_VERB_UNKNOWN, 0, NULL,
	    NULL);
	assert_prefix(top, 1, POP3_PARSE_OK, POP3_VERB_UNKNOWN, 0, NULL,
	    NULL);
	assert_prefix(top, 2, POP3_PARSE_OK, POP3_VERB_UNKNOWN, 0, NULL,
	    NULL);
	assert_prefix(top, 3, POP3_PARSE_OK, POP3_VERB_TOP, 0, NULL, NULL);
	assert_prefix(top, 4, POP3_PARSE_OK, POP3_VERB_TOP, 0, NULL, NULL);
	assert_prefix(top, 5, POP3_PARSE_OK, POP3_VERB_TOP, 1, "1", NULL);
	assert_prefix(top, 6, POP3_PARSE_OK, POP3_VERB_TOP, 1, "12", NULL);
	assert_prefix(top, 7, POP3_PARSE_OK, POP3_VERB_TOP, 1, "12", NULL);
	assert_prefix(top, 8, POP3_PARSE_OK, POP3_VERB_TOP, 2, "12", "3");
	assert_prefix(top, 9, POP3_PARSE_OK, POP3_VERB_TOP, 2, "12", "34");
	assert_prefix(top, 10, POP3_PARSE_OK, POP3_VERB_TOP, 2, "12", "345");

	assert_prefix(pass, 4, POP3_PARSE_OK, POP3_VERB_PASS, 0, NULL, NULL);
	assert_prefix(pass, 5, POP3_PARSE_OK, POP3_VERB_PASS, 0, NULL, NULL);
	assert_prefix(pass, 6, POP3_PARSE_OK, POP3_VERB_PASS, 1, "a", NULL);
	assert_prefix(pass, 7, POP3_PARSE_OK, POP3_VERB_PASS, 1, "a ", NULL);
	assert_prefix(pass, 8, POP3_PARSE_OK, POP3_VERB_PASS, 1, "a b", NULL);

	/* The CRLF after the length is not the parser's to see. */
	assert_prefix(bad, 4, POP3_PARSE_OK, POP3_VERB_STAT, 0, NULL, NULL);
	assert_prefix(bad, 5, POP3_PARSE_SYNTAX, POP3_VERB_UNKNOWN, 0, NULL,
	    NULL);
	assert_prefix("QUITTER", 4, POP3_PARSE_OK, POP3_VERB_QUIT, 0, NULL,
	    NULL);
	assert_prefix("QUITTER", 5, POP3_PARSE_OK, POP3_VERB_UNKNOWN, 0,
	    NULL, NULL);

	/* Numbers, too: digits after the length are not read. */
	assert_int_equal(pop3_parse_msgno("123", 1, 100, &v), 0);
	assert_int_equal(v, 1);
	assert_int_equal(pop3_parse_msgno("123", 2, 100, &v), 0);
	assert_int_equal(v, 12);
	assert_int_equal(pop3_parse_msgno("123", 3, 100, &v), -1);
	assert_int_equal(pop3_parse_msgno("1x", 1, 100, &v), 0);
	assert_int_equal(v, 1);
	assert_int_equal(pop3_parse_count("10", 1, &v), 0);
	assert_int_equal(v, 1);
	assert_int_equal(pop3_parse_count("0123", 1, &v), 0);
	assert_int_equal(v, 0);
	assert_int_equal(pop3_parse_count("1234567890", 9, &v), 0);
	assert_int_equal(v, 123456789);
	assert_int_equal(pop3_parse_count("1234567890", 10, &v), -1);
}

/* ---- message numbers and TOP counts ---- */

static int
parse_msgno(const char *s, uint32_t max, uint32_t *n)
{
	size_t len = strlen(s);
	char *p = exact(s, len);
	int rc;

	*n = 0xdeadbeef;
	rc = pop3_parse_msgno(p, len, max, n);
	free(p);
	prefixes(s, len);
	return rc;
}

static void
assert_msgno(const char *s, uint32_t max, uint32_t want)
{
	uint32_t n;

	if (parse_msgno(s, max, &n) != POP3_PARSE_OK)
		fail_msg("pop3_parse_msgno(\"%s\", %" PRIu32 ") refused", s,
		    max);
	assert_int_equal(n, want);
}

static void
assert_msgno_bad(const char *s, uint32_t max)
{
	uint32_t n;

	if (parse_msgno(s, max, &n) != POP3_PARSE_SYNTAX)
		fail_msg("pop3_parse_msgno(\"%s\", %" PRIu32 ") = %" PRIu32,
		    s, max, n);
	assert_int_equal(n, 0);
}

static void
test_msgno(void **state)
{
	uint32_t n;

	(void)state;
	assert_msgno("1", 1, 1);
	assert_msgno("1", 10, 1);
	assert_msgno("9", 10, 9);
	assert_msgno("10", 10, 10);
	assert_msgno("42", 100, 42);
	assert_msgno("100000", 100000, 100000);
	/* RFC 1939 5: 1 to the number of messages. */
	assert_msgno_bad("0", 10);
	assert_msgno_bad("11", 10);
	assert_msgno_bad("101", 100);
	assert_msgno_bad("1", 0);
	assert_msgno_bad("0", 0);
	/* The whole uint32_t range, not one past it. */
	assert_msgno("4294967295", UINT32_MAX, UINT32_MAX);
	assert_msgno("4294967294", UINT32_MAX, UINT32_MAX - 1);
	assert_msgno_bad("4294967295", UINT32_MAX - 1);
	assert_msgno_bad("4294967296", UINT32_MAX);
	assert_msgno_bad("9999999999", UINT32_MAX);
	assert_msgno_bad("10000000000", UINT32_MAX);
	assert_msgno_bad("18446744073709551617", UINT32_MAX);
	assert_msgno_bad("99999999999999999999999999", UINT32_MAX);
	/* Digits only: no sign, space, leading zero, other base. */
	assert_msgno_bad("", 10);
	assert_msgno_bad("01", 10);
	assert_msgno_bad("00", 10);
	assert_msgno_bad("007", 10);
	assert_msgno_bad("+1", 10);
	assert_msgno_bad("-1", 10);
	assert_msgno_bad(" 1", 10);
	assert_msgno_bad("1 ", 10);
	assert_msgno_bad("1a", 10);
	assert_msgno_bad("a", 10);
	assert_msgno_bad("0x1", 10);
	assert_msgno_bad("1.0", 10);
	assert_msgno_bad("1e1", 100);
	assert_msgno_bad("\xd9\xa1", 10);	/* ARABIC-INDIC DIGIT ONE */
	assert_msgno_bad("/", 10);		/* '0' - 1 */
	assert_msgno_bad(":", 10);		/* '9' + 1 */
	/* A NUL is a byte like another, not an end. */
	n = 7;
	assert_int_equal(pop3_parse_msgno("1\0", 2, 10, &n), -1);
	assert_int_equal(n, 0);
}

static int
parse_count(const char *s, uint32_t *n)
{
	size_t len = strlen(s);
	char *p = exact(s, len);
	int rc;

	*n = 0xdeadbeef;
	rc = pop3_parse_count(p, len, n);
	free(p);
	prefixes(s, len);
	return rc;
}

static void
assert_count(const char *s, uint32_t want)
{
	uint32_t n;

	if (parse_count(s, &n) != POP3_PARSE_OK)
		fail_msg("pop3_parse_count(\"%s\") refused", s);
	assert_int_equal(n, want);
}

static void
assert_count_bad(const char *s)
{
	uint32_t n;

	if (parse_count(s, &n) != POP3_PARSE_SYNTAX)
		fail_msg("pop3_parse_count(\"%s\") = %" PRIu32, s, n);
	assert_int_equal(n, 0);
}

static void
test_count(void **state)
{
	(void)state;
	/* RFC 1939 7: TOP msg n, n non-negative; 0 sends headers only. */
	assert_count("0", 0);
	assert_count("1", 1);
	assert_count("10", 10);
	assert_count("4294967", 4294967);
	/* Nine digits, not ten. */
	assert_count("999999999", 999999999);
	assert_count("100000000", 100000000);
	assert_count_bad("1000000000");
	assert_count_bad("4294967295");
	assert_count_bad("9999999999");
	assert_count_bad("99999999999999999999999");
	/* Digits only: no sign, space, leading zero. */
	assert_count_bad("");
	assert_count_bad("00");
	assert_count_bad("01");
	assert_count_bad("000000000");
	assert_count_bad("-1");
	assert_count_bad("+1");
	assert_count_bad(" 1");
	assert_count_bad("1 ");
	assert_count_bad("1a");
	assert_count_bad("x");
	assert_count_bad("0x10");
	assert_count_bad("/");
	assert_count_bad(":");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_command_verbs),
		cmocka_unit_test(test_command_case),
		cmocka_unit_test(test_command_unknown),
		cmocka_unit_test(test_command_spaces),
		cmocka_unit_test(test_command_empty_keyword),
		cmocka_unit_test(test_command_controls),
		cmocka_unit_test(test_command_arg_count),
		cmocka_unit_test(test_command_arg_limits),
		cmocka_unit_test(test_command_user_long),
		cmocka_unit_test(test_pass),
		cmocka_unit_test(test_auth),
		cmocka_unit_test(test_prefix_results),
		cmocka_unit_test(test_msgno),
		cmocka_unit_test(test_count),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
