/*
 * test_smtp_parse.c - the SMTP command grammar (smtpd/smtp_parse.c).
 *
 * Every input is copied into a heap buffer of exactly its length, with no
 * terminating NUL, so AddressSanitizer catches a parser that reads past
 * the length it was given; every prefix of every input is parsed too (the
 * line-parser form of "fed one byte at a time"). Limits are RFC 5321
 * 4.5.3.1 and those of limits.h; each test sits on both sides of a bound.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "smtpd/smtp_parse.h"

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
 * prefixes: run every parser over every proper prefix of s, each in an
 * exact-size buffer. Results are not checked (most prefixes are invalid);
 * the sanitizers check the reads and writes, and a successful path parse
 * must still fit its field.
 */
static void
prefixes(const char *s, size_t len)
{
	for (size_t n = 0; n < len; n++) {
		char *p = exact(s, n);
		struct smtp_command cmd;
		struct smtp_mail_args mail;
		struct smtp_path rcpt;
		char out[LIMIT_ADDR_DOMAIN + 1], mech[21];
		const char *ir;
		size_t ir_len;
		uint64_t size;
		bool last;

		if (smtp_parse_command(p, n, &cmd) == SMTP_PARSE_OK)
			assert_true(cmd.arg_len <= n);
		if (smtp_parse_mail(p, n, &mail) == SMTP_PARSE_OK)
			assert_true(strlen(mail.from.address) <=
			    LIMIT_ADDR_TOTAL);
		if (smtp_parse_rcpt(p, n, true, &rcpt) == SMTP_PARSE_OK)
			assert_true(strlen(rcpt.address) <= LIMIT_ADDR_TOTAL);
		(void)smtp_parse_helo(p, n, out);
		(void)smtp_parse_bdat(p, n, &size, &last);
		(void)smtp_parse_auth(p, n, mech, &ir, &ir_len);
		free(p);
	}
}

/* ---- command lines ---- */

static void
assert_cmd(const char *line, enum smtp_verb verb, const char *arg)
{
	size_t len = strlen(line);
	char *p = exact(line, len);
	struct smtp_command cmd;
	int rc;

	rc = smtp_parse_command(p, len, &cmd);
	if (rc != SMTP_PARSE_OK)
		fail_msg("smtp_parse_command(\"%s\") = %d", line, rc);
	assert_int_equal(cmd.verb, verb);
	assert_int_equal(cmd.arg_len, strlen(arg));
	assert_memory_equal(cmd.arg, arg, cmd.arg_len);
	if (cmd.arg_len > 0)
		assert_true(cmd.arg >= p && cmd.arg + cmd.arg_len <= p + len);
	free(p);
	prefixes(line, len);
}

static void
assert_cmd_bad(const char *line, size_t len)
{
	char *p = exact(line, len);
	struct smtp_command cmd;

	if (smtp_parse_command(p, len, &cmd) != SMTP_PARSE_SYNTAX)
		fail_msg("smtp_parse_command(\"%.*s\") accepted", (int)len,
		    line);
	free(p);
}

static void
test_command_verbs(void **state)
{
	(void)state;
	assert_cmd("EHLO mail.example.org", SMTP_VERB_EHLO,
	    "mail.example.org");
	assert_cmd("HELO x", SMTP_VERB_HELO, "x");
	assert_cmd("MAIL FROM:<a@b.example>", SMTP_VERB_MAIL,
	    "FROM:<a@b.example>");
	assert_cmd("RCPT TO:<a@b.example>", SMTP_VERB_RCPT,
	    "TO:<a@b.example>");
	assert_cmd("DATA", SMTP_VERB_DATA, "");
	assert_cmd("BDAT 100 LAST", SMTP_VERB_BDAT, "100 LAST");
	assert_cmd("RSET", SMTP_VERB_RSET, "");
	assert_cmd("NOOP", SMTP_VERB_NOOP, "");
	assert_cmd("NOOP anything at all", SMTP_VERB_NOOP,
	    "anything at all");
	assert_cmd("QUIT", SMTP_VERB_QUIT, "");
	assert_cmd("VRFY alice", SMTP_VERB_VRFY, "alice");
	assert_cmd("EXPN list", SMTP_VERB_EXPN, "list");
	assert_cmd("HELP", SMTP_VERB_HELP, "");
	assert_cmd("STARTTLS", SMTP_VERB_STARTTLS, "");
	assert_cmd("AUTH PLAIN", SMTP_VERB_AUTH, "PLAIN");
}

static void
test_command_case_and_spaces(void **state)
{
	(void)state;
	assert_cmd("mail FROM:<a@b.example>", SMTP_VERB_MAIL,
	    "FROM:<a@b.example>");
	assert_cmd("MaIl from:<a@b.example>", SMTP_VERB_MAIL,
	    "from:<a@b.example>");
	assert_cmd("starttls", SMTP_VERB_STARTTLS, "");
	/* Trailing SPs are dropped, extra SPs after the verb skipped. */
	assert_cmd("QUIT   ", SMTP_VERB_QUIT, "");
	assert_cmd("NOOP ", SMTP_VERB_NOOP, "");
	assert_cmd("MAIL FROM:<a@b.example>  ", SMTP_VERB_MAIL,
	    "FROM:<a@b.example>");
	assert_cmd("MAIL   FROM:<a@b.example>", SMTP_VERB_MAIL,
	    "FROM:<a@b.example>");
	/* Inner spaces are the argument's. */
	assert_cmd("NOOP a  b", SMTP_VERB_NOOP, "a  b");
}

static void
test_command_unknown(void **state)
{
	(void)state;
	assert_cmd("XFOO", SMTP_VERB_UNKNOWN, "");
	assert_cmd("GET / HTTP/1.1", SMTP_VERB_UNKNOWN, "/ HTTP/1.1");
	/* A known verb is the whole word, not a prefix of it. */
	assert_cmd("MAILX FROM:<a@b>", SMTP_VERB_UNKNOWN, "FROM:<a@b>");
	assert_cmd("DAT", SMTP_VERB_UNKNOWN, "");
	assert_cmd("STARTTLSX", SMTP_VERB_UNKNOWN, "");
	/* Bytes >= 0x80 pass (SMTPUTF8 addresses). */
	assert_cmd("RCPT TO:<j\xc3\xb6rg@example.org>", SMTP_VERB_RCPT,
	    "TO:<j\xc3\xb6rg@example.org>");
}

static void
test_command_bad(void **state)
{
	(void)state;
	assert_cmd_bad("", 0);
	assert_cmd_bad(" MAIL FROM:<>", 13);
	assert_cmd_bad("   ", 3);
	assert_cmd_bad("MAIL:FROM:<>", 12);
	assert_cmd_bad("1234", 4);
	assert_cmd_bad("X-FOO", 5);
	assert_cmd_bad("EHLO\xc3\xa9", 6);
	/* NUL and every other control character, anywhere. */
	assert_cmd_bad("NOOP\0", 5);
	assert_cmd_bad("NO\0OP", 5);
	assert_cmd_bad("MAIL FROM:<a@b>\0", 16);
	assert_cmd_bad("MAIL FROM:<a@b>\r", 16);
	assert_cmd_bad("MAIL FROM:<a@b>\rRCPT TO:<c@d>", 29);
	assert_cmd_bad("MAIL FROM:<a@b>\n", 16);
	assert_cmd_bad("MAIL\tFROM:<a@b>", 15);
	assert_cmd_bad("NOOP \x7f", 6);
	assert_cmd_bad("NOOP \x1b[2J", 9);
	for (int c = 0; c < 0x20; c++) {
		char line[] = "NOOP x";

		line[5] = (char)c;
		assert_cmd_bad(line, 6);
	}
}

/* ---- MAIL ---- */

static int
parse_mail(const char *arg, struct smtp_mail_args *m)
{
	size_t len = strlen(arg);
	char *p = exact(arg, len);
	int rc;

	memset(m, 0x5a, sizeof(*m));
	rc = smtp_parse_mail(p, len, m);
	free(p);
	prefixes(arg, len);
	return rc;
}

static void
assert_mail(const char *arg, const char *addr)
{
	struct smtp_mail_args m;
	int rc = parse_mail(arg, &m);

	if (rc != SMTP_PARSE_OK)
		fail_msg("smtp_parse_mail(\"%s\") = %d", arg, rc);
	assert_string_equal(m.from.address, addr);
	assert_int_equal(m.from.null, addr[0] == '\0');
}

static void
assert_mail_err(const char *arg, int want)
{
	struct smtp_mail_args m;
	int rc = parse_mail(arg, &m);

	if (rc != want)
		fail_msg("smtp_parse_mail(\"%s\") = %d, want %d", arg, rc,
		    want);
	/* A refused command leaves nothing half-filled. */
	assert_false(m.from.null);
	assert_string_equal(m.from.address, "");
	assert_int_equal(m.size, 0);
	assert_false(m.smtputf8);
}

static void
test_mail_paths(void **state)
{
	struct smtp_mail_args m;

	(void)state;
	assert_mail("FROM:<alice@example.org>", "alice@example.org");
	assert_mail("from:<alice@example.org>", "alice@example.org");
	assert_mail("FROM: <alice@example.org>", "alice@example.org");
	assert_mail("FROM:   <alice@example.org>   ", "alice@example.org");
	/* Domain and local part as written: the store folds case. */
	assert_mail("FROM:<Alice@Example.ORG>", "Alice@Example.ORG");
	assert_mail("FROM:<a@b>", "a@b");
	assert_mail("FROM:<first.last+tag@sub.example.org>",
	    "first.last+tag@sub.example.org");
	assert_mail("FROM:<!#$%&'*+-/=?^_`{|}~@x.org>",
	    "!#$%&'*+-/=?^_`{|}~@x.org");
	assert_mail("FROM:<a1-2@xn--bcher-kva.de>", "a1-2@xn--bcher-kva.de");
	assert_mail("FROM:<bob@1.2.3.4>", "bob@1.2.3.4");
	assert_mail("FROM:<bob@a-b.c-d.example>", "bob@a-b.c-d.example");

	/* Null reverse-path. */
	assert_int_equal(parse_mail("FROM:<>", &m), SMTP_PARSE_OK);
	assert_true(m.from.null);
	assert_string_equal(m.from.address, "");
	assert_false(m.from.utf8);
	assert_int_equal(parse_mail("FROM: <> SIZE=10", &m), SMTP_PARSE_OK);
	assert_true(m.from.null);
	assert_int_equal(m.size, 10);
}

static void
test_mail_quoted_local(void **state)
{
	(void)state;
	/* RFC 5321 4.1.2 Quoted-string, kept with its quotes. */
	assert_mail("FROM:<\"john doe\"@example.org>",
	    "\"john doe\"@example.org");
	assert_mail("FROM:<\"a@b\"@example.org>", "\"a@b\"@example.org");
	assert_mail("FROM:<\"a\\\"b\"@example.org>",
	    "\"a\\\"b\"@example.org");
	assert_mail("FROM:<\"a\\\\b\"@example.org>",
	    "\"a\\\\b\"@example.org");
	assert_mail("FROM:<\"a\\ b\"@example.org>", "\"a\\ b\"@example.org");
	assert_mail("FROM:<\"<>,:;[]\"@example.org>",
	    "\"<>,:;[]\"@example.org");
	assert_mail("FROM:<\"alice\"@example.org>", "\"alice\"@example.org");
	assert_mail("FROM:<\"a.\"@example.org>", "\"a.\"@example.org");
	/* Bare form with a quoted space: the whole argument. */
	assert_mail("FROM: \"john doe\"@example.org",
	    "\"john doe\"@example.org");

	/* Empty, unterminated, bad quoted-pair, DQUOTE inside. */
	assert_mail_err("FROM:<\"\"@example.org>", SMTP_PARSE_BAD_ADDRESS);
	assert_mail_err("FROM:<\"abc@example.org>", SMTP_PARSE_BAD_ADDRESS);
	assert_mail_err("FROM:<\"abc\\\">", SMTP_PARSE_BAD_ADDRESS);
	assert_mail_err("FROM:<\"abc\\", SMTP_PARSE_BAD_ADDRESS);
	assert_mail_err("FROM:<\"abc\\ ", SMTP_PARSE_BAD_ADDRESS);
	assert_mail_err("FROM:<\"a\"b\"@example.org>",
	    SMTP_PARSE_BAD_ADDRESS);
	assert_mail_err("FROM:<\"a\\\xc3\xa9\"@example.org> SMTPUTF8",
	    SMTP_PARSE_BAD_ADDRESS);
	assert_mail_err("FROM:<\"a\"@>", SMTP_PARSE_BAD_ADDRESS);
	assert_mail_err("FROM:<\"a\">", SMTP_PARSE_BAD_ADDRESS);
	assert_mail_err("FROM:<\"a\".b@example.org>", SMTP_PARSE_BAD_ADDRESS);
}

static void
test_mail_literals(void **state)
{
	(void)state;
	/* RFC 5321 4.1.3 address literals. */
	assert_mail("FROM:<a@[192.0.2.1]>", "a@[192.0.2.1]");
	assert_mail("FROM:<a@[IPv6:2001:db8::1]>", "a@[IPv6:2001:db8::1]");
	assert_mail("FROM:<a@[ipv6:::1]>", "a@[ipv6:::1]");
	assert_mail("FROM:<a@[IPv6:::ffff:192.0.2.1]>",
	    "a@[IPv6:::ffff:192.0.2.1]");
	assert_mail("FROM:<a@[IPv6:1:2:3:4:5:6:7:8]>",
	    "a@[IPv6:1:2:3:4:5:6:7:8]");

	assert_mail_err("FROM:<a@[]>", SMTP_PARSE_BAD_ADDRESS);
	assert_mail_err("FROM:<a@[256.1.1.1]>", SMTP_PARSE_BAD_ADDRESS);
	assert_mail_err("FROM:<a@[1.2.3]>", SMTP_PARSE_BAD_ADDRESS);
	assert_mail_err("FROM:<a@[1.2.3.4.5]>", SMTP_PARSE_BAD_ADDRESS);
	assert_mail_err("FROM:<a@[01.2.3.4]>", SMTP_PARSE_BAD_ADDRESS);
	assert_mail_err("FROM:<a@[0x1.2.3.4]>", SMTP_PARSE_BAD_ADDRESS);
	assert_mail_err("FROM:<a@[2001:db8::1]>", SMTP_PARSE_BAD_ADDRESS);
	assert_mail_err("FROM:<a@[IPv6:1.2.3.4]>", SMTP_PARSE_BAD_ADDRESS);
	assert_mail_err("FROM:<a@[IPv6:]>", SMTP_PARSE_BAD_ADDRESS);
	assert_mail_err("FROM:<a@[IPv6:1:2:3:4:5:6:7:8:9]>",
	    SMTP_PARSE_BAD_ADDRESS);
	assert_mail_err("FROM:<a@[IPv6:fe80::1%eth0]>",
	    SMTP_PARSE_BAD_ADDRESS);
	/* General-address-literal: no standardized tag but IPv6. */
	assert_mail_err("FROM:<a@[x400:foo]>", SMTP_PARSE_BAD_ADDRESS);
	assert_mail_err("FROM:<a@[1.2.3.4>", SMTP_PARSE_BAD_ADDRESS);
	assert_mail_err("FROM:<a@[1.2.3.4]x>", SMTP_PARSE_BAD_ADDRESS);
	assert_mail_err("FROM:<a@[1.2.3.4].org>", SMTP_PARSE_BAD_ADDRESS);
	assert_mail_err("FROM:<a@[1.2.[3].4]>", SMTP_PARSE_BAD_ADDRESS);
	assert_mail_err("FROM:<a@[1.2\\.3.4]>", SMTP_PARSE_BAD_ADDRESS);
	assert_mail_err("FROM:<a@[1.2.3.4 ]>", SMTP_PARSE_BAD_ADDRESS);
	/* A literal longer than any IP address. */
	assert_mail_err("FROM:<a@[IPv6:0000:0000:0000:0000:0000:0000:0000:"
	    "0000:0000]>", SMTP_PARSE_BAD_ADDRESS);
}

static void
test_mail_bad_addresses(void **state)
{
	(void)state;
	assert_mail_err("FROM:<a>", SMTP_PARSE_BAD_ADDRESS);
	assert_mail_err("FROM:<postmaster>", SMTP_PARSE_BAD_ADDRESS);
	assert_mail_err("FROM:<@example.org>", SMTP_PARSE_BAD_ADDRESS);
	assert_mail_err("FROM:<a@>", SMTP_PARSE_BAD_ADDRESS);
	assert_mail_err("FROM:<a@@b>", SMTP_PARSE_BAD_ADDRESS);
	assert_mail_err("FROM:<a@b@c>", SMTP_PARSE_BAD_ADDRESS);
	assert_mail_err("FROM:<.a@b>", SMTP_PARSE_BAD_ADDRESS);
	assert_mail_err("FROM:<a.@b>", SMTP_PARSE_BAD_ADDRESS);
	assert_mail_err("FROM:<a..b@c>", SMTP_PARSE_BAD_ADDRESS);
	assert_mail_err("FROM:<a b@c>", SMTP_PARSE_BAD_ADDRESS);
	assert_mail_err("FROM:<a(b)@c>", SMTP_PARSE_BAD_ADDRESS);
	assert_mail_err("FROM:<a\\b@c>", SMTP_PARSE_BAD_ADDRESS);
	assert_mail_err("FROM:<a,b@c>", SMTP_PARSE_BAD_ADDRESS);
	/* Domains: trailing, leading or double dot, hyphens, bad bytes. */
	assert_mail_err("FROM:<a@example.org.>", SMTP_PARSE_BAD_ADDRESS);
	assert_mail_err("FROM:<a@.example.org>", SMTP_PARSE_BAD_ADDRESS);
	assert_mail_err("FROM:<a@example..org>", SMTP_PARSE_BAD_ADDRESS);
	assert_mail_err("FROM:<a@-example.org>", SMTP_PARSE_BAD_ADDRESS);
	assert_mail_err("FROM:<a@example-.org>", SMTP_PARSE_BAD_ADDRESS);
	assert_mail_err("FROM:<a@exa_mple.org>", SMTP_PARSE_BAD_ADDRESS);
	assert_mail_err("FROM:<a@exa mple.org>", SMTP_PARSE_BAD_ADDRESS);
	assert_mail_err("FROM:<a@example.org x>", SMTP_PARSE_BAD_ADDRESS);
	/* Unclosed or doubled brackets. */
	assert_mail_err("FROM:<a@b", SMTP_PARSE_BAD_ADDRESS);
	assert_mail_err("FROM:<", SMTP_PARSE_BAD_ADDRESS);
	assert_mail_err("FROM:<<a@b>>", SMTP_PARSE_BAD_ADDRESS);
	assert_mail_err("FROM:<<>>", SMTP_PARSE_BAD_ADDRESS);
	/* Malformed UTF-8 is never an address, SMTPUTF8 or not. */
	assert_mail_err("FROM:<a\xc3@b.example> SMTPUTF8",
	    SMTP_PARSE_BAD_ADDRESS);
	assert_mail_err("FROM:<a\xc0\xaf@b.example> SMTPUTF8",
	    SMTP_PARSE_BAD_ADDRESS);
	assert_mail_err("FROM:<a@b\xed\xa0\x80.example> SMTPUTF8",
	    SMTP_PARSE_BAD_ADDRESS);
}

static void
test_mail_syntax(void **state)
{
	(void)state;
	assert_mail_err("", SMTP_PARSE_SYNTAX);
	assert_mail_err("FROM:", SMTP_PARSE_SYNTAX);
	assert_mail_err("FROM:   ", SMTP_PARSE_SYNTAX);
	assert_mail_err("FROM<a@b>", SMTP_PARSE_SYNTAX);
	assert_mail_err("FRO:<a@b>", SMTP_PARSE_SYNTAX);
	assert_mail_err("TO:<a@b>", SMTP_PARSE_SYNTAX);
	assert_mail_err("FROM :<a@b>", SMTP_PARSE_SYNTAX);
	assert_mail_err(" FROM:<a@b>", SMTP_PARSE_SYNTAX);
	/* Parameters must be separated from the path. */
	assert_mail_err("FROM:<a@b>SIZE=1", SMTP_PARSE_SYNTAX);
	assert_mail_err("FROM:<>x", SMTP_PARSE_SYNTAX);
	/* Controls, even where a session would never pass them. */
	assert_mail_err("FROM:<a@b>\t", SMTP_PARSE_SYNTAX);
	assert_mail_err("FROM:<a@b> \r", SMTP_PARSE_SYNTAX);
	assert_mail_err("FROM:\t<a@b>", SMTP_PARSE_SYNTAX);
}

static void
test_mail_bare_address(void **state)
{
	(void)state;
	/* Old clients: accepted when the address is the whole argument. */
	assert_mail("FROM:alice@example.org", "alice@example.org");
	assert_mail("FROM: alice@example.org", "alice@example.org");
	assert_mail("FROM: alice@example.org   ", "alice@example.org");
	assert_mail("FROM:a@[192.0.2.1]", "a@[192.0.2.1]");
	/* With parameters after it, brackets are required. */
	assert_mail_err("FROM: alice@example.org SIZE=100", SMTP_PARSE_SYNTAX);
	assert_mail_err("FROM:alice@example.org BODY=8BITMIME",
	    SMTP_PARSE_SYNTAX);
	assert_mail_err("FROM: alice@example.org>", SMTP_PARSE_SYNTAX);
	assert_mail_err("FROM: alice@example.org x", SMTP_PARSE_SYNTAX);
	/* Still a full, valid mailbox. */
	assert_mail_err("FROM: alice", SMTP_PARSE_BAD_ADDRESS);
	assert_mail_err("FROM: alice@", SMTP_PARSE_BAD_ADDRESS);
	assert_mail_err("FROM: @a.example:alice@example.org",
	    SMTP_PARSE_BAD_ADDRESS);
	assert_mail_err("FROM: >", SMTP_PARSE_BAD_ADDRESS);
}

static void
test_mail_source_route(void **state)
{
	(void)state;
	/* RFC 5321 4.1.2, appendix C: parsed and dropped. */
	assert_mail("FROM:<@a.example:user@c.example>", "user@c.example");
	assert_mail("FROM:<@a.example,@b.example:user@c.example>",
	    "user@c.example");
	assert_mail_err("FROM:<@a.example>", SMTP_PARSE_BAD_ADDRESS);
	assert_mail_err("FROM:<@a.example:>", SMTP_PARSE_BAD_ADDRESS);
	assert_mail_err("FROM:<@:user@c.example>", SMTP_PARSE_BAD_ADDRESS);
	assert_mail_err("FROM:<@a.example,user@c.example>",
	    SMTP_PARSE_BAD_ADDRESS);
	assert_mail_err("FROM:<@a.example,:user@c.example>",
	    SMTP_PARSE_BAD_ADDRESS);
	assert_mail_err("FROM:<@a.example,b.example:user@c.example>",
	    SMTP_PARSE_BAD_ADDRESS);
	assert_mail_err("FROM:<@a..example:user@c.example>",
	    SMTP_PARSE_BAD_ADDRESS);
	assert_mail_err("FROM:<@a.example;user@c.example>",
	    SMTP_PARSE_BAD_ADDRESS);
	assert_mail_err("FROM:<@a.example:@b.example:u@c.example>",
	    SMTP_PARSE_BAD_ADDRESS);
}

static void
test_mail_limits(void **state)
{
	char arg[1024], local[128], dom[512];
	struct smtp_mail_args m;

	(void)state;
	/* RFC 5321 4.5.3.1.1: local part 64 octets. */
	snprintf(arg, sizeof(arg), "FROM:<%s@example.org>",
	    rep(local, 'a', 64));
	assert_int_equal(parse_mail(arg, &m), SMTP_PARSE_OK);
	assert_int_equal(strlen(m.from.address), 64 + 12);
	snprintf(arg, sizeof(arg), "FROM:<%s@example.org>",
	    rep(local, 'a', 65));
	assert_mail_err(arg, SMTP_PARSE_BAD_ADDRESS);
	/* The same bound counts a quoted local part with its quotes. */
	snprintf(arg, sizeof(arg), "FROM:<\"%s\"@example.org>",
	    rep(local, 'a', 62));
	assert_int_equal(parse_mail(arg, &m), SMTP_PARSE_OK);
	snprintf(arg, sizeof(arg), "FROM:<\"%s\"@example.org>",
	    rep(local, 'a', 63));
	assert_mail_err(arg, SMTP_PARSE_BAD_ADDRESS);

	/* RFC 5321 4.5.3.1.3: path 256 with brackets, 254 without. */
	rep(dom, 'b', 252);
	for (size_t i = 63; i < 252; i += 64)
		dom[i] = '.';
	snprintf(arg, sizeof(arg), "FROM:<a@%s>", dom);
	assert_int_equal(parse_mail(arg, &m), SMTP_PARSE_OK);
	assert_int_equal(strlen(m.from.address), 254);
	rep(dom, 'b', 253);
	for (size_t i = 63; i < 253; i += 64)
		dom[i] = '.';
	snprintf(arg, sizeof(arg), "FROM:<a@%s>", dom);
	assert_mail_err(arg, SMTP_PARSE_BAD_ADDRESS);
	/* A 64-octet local part leaves 189 for the domain. */
	rep(dom, 'b', 189);
	dom[63] = dom[127] = '.';
	snprintf(arg, sizeof(arg), "FROM:<%s@%s>", rep(local, 'a', 64), dom);
	assert_int_equal(parse_mail(arg, &m), SMTP_PARSE_OK);
	assert_int_equal(strlen(m.from.address), 254);
	rep(dom, 'b', 190);
	dom[63] = dom[127] = '.';
	snprintf(arg, sizeof(arg), "FROM:<%s@%s>", rep(local, 'a', 64), dom);
	assert_mail_err(arg, SMTP_PARSE_BAD_ADDRESS);
	/* RFC 5321 4.5.3.1.2: domain 255 and 256 (over the path bound
	 * anyway; HELO tests the domain bound alone). */
	rep(dom, 'b', 256);
	for (size_t i = 63; i < 256; i += 64)
		dom[i] = '.';
	snprintf(arg, sizeof(arg), "FROM:<a@%s>", dom);
	assert_mail_err(arg, SMTP_PARSE_BAD_ADDRESS);
	/* RFC 1035 2.3.4: labels of 63 octets, not 64. */
	snprintf(arg, sizeof(arg), "FROM:<a@%s.org>", rep(dom, 'b', 63));
	assert_int_equal(parse_mail(arg, &m), SMTP_PARSE_OK);
	snprintf(arg, sizeof(arg), "FROM:<a@%s.org>", rep(dom, 'b', 64));
	assert_mail_err(arg, SMTP_PARSE_BAD_ADDRESS);
}

static void
test_mail_size(void **state)
{
	struct smtp_mail_args m;

	(void)state;
	assert_int_equal(parse_mail("FROM:<a@b> SIZE=12345", &m),
	    SMTP_PARSE_OK);
	assert_int_equal(m.size, 12345);
	assert_int_equal(parse_mail("FROM:<a@b> size=0", &m), SMTP_PARSE_OK);
	assert_int_equal(m.size, 0);
	assert_int_equal(parse_mail("FROM:<a@b>", &m), SMTP_PARSE_OK);
	assert_int_equal(m.size, 0);
	/* RFC 1870: 20 digits at most; the value must fit 64 bits. */
	assert_int_equal(parse_mail("FROM:<a@b> SIZE=00000000000000000001",
	    &m), SMTP_PARSE_OK);
	assert_int_equal(m.size, 1);
	assert_int_equal(parse_mail("FROM:<a@b> SIZE=18446744073709551615",
	    &m), SMTP_PARSE_OK);
	assert_true(m.size == UINT64_MAX);
	assert_mail_err("FROM:<a@b> SIZE=18446744073709551616",
	    SMTP_PARSE_BAD_PARAM);
	assert_mail_err("FROM:<a@b> SIZE=99999999999999999999",
	    SMTP_PARSE_BAD_PARAM);
	assert_mail_err("FROM:<a@b> SIZE=000000000000000000001",
	    SMTP_PARSE_BAD_PARAM);
	assert_mail_err("FROM:<a@b> SIZE=-1", SMTP_PARSE_BAD_PARAM);
	assert_mail_err("FROM:<a@b> SIZE=+1", SMTP_PARSE_BAD_PARAM);
	assert_mail_err("FROM:<a@b> SIZE=1k", SMTP_PARSE_BAD_PARAM);
	assert_mail_err("FROM:<a@b> SIZE=0x10", SMTP_PARSE_BAD_PARAM);
	assert_mail_err("FROM:<a@b> SIZE", SMTP_PARSE_BAD_PARAM);
	assert_mail_err("FROM:<a@b> SIZE=1 SIZE=1", SMTP_PARSE_BAD_PARAM);
	assert_mail_err("FROM:<a@b> SIZE=", SMTP_PARSE_SYNTAX);
	assert_mail_err("FROM:<a@b> SIZE==1", SMTP_PARSE_SYNTAX);
	assert_mail_err("FROM:<a@b> SIZE=1=2", SMTP_PARSE_SYNTAX);
}

static void
test_mail_params(void **state)
{
	struct smtp_mail_args m;

	(void)state;
	assert_int_equal(parse_mail("FROM:<a@b> BODY=8BITMIME", &m),
	    SMTP_PARSE_OK);
	assert_int_equal(m.body, SMTP_BODY_8BITMIME);
	assert_int_equal(parse_mail("FROM:<a@b> body=binarymime", &m),
	    SMTP_PARSE_OK);
	assert_int_equal(m.body, SMTP_BODY_BINARYMIME);
	assert_int_equal(parse_mail("FROM:<a@b> BODY=7BIT", &m),
	    SMTP_PARSE_OK);
	assert_int_equal(m.body, SMTP_BODY_7BIT);
	assert_int_equal(parse_mail("FROM:<a@b>", &m), SMTP_PARSE_OK);
	assert_int_equal(m.body, SMTP_BODY_7BIT);
	assert_false(m.smtputf8);

	/* All together, any order, extra spaces. */
	assert_int_equal(parse_mail("FROM:<a@b>  SMTPUTF8 BODY=8BITMIME  "
	    "SIZE=5 AUTH=<>  ", &m), SMTP_PARSE_OK);
	assert_true(m.smtputf8);
	assert_int_equal(m.body, SMTP_BODY_8BITMIME);
	assert_int_equal(m.size, 5);
	assert_string_equal(m.from.address, "a@b");

	/* RFC 4954 5: AUTH=xtext, accepted and ignored. */
	assert_int_equal(parse_mail("FROM:<a@b> AUTH=alice@example.org", &m),
	    SMTP_PARSE_OK);
	assert_int_equal(parse_mail("FROM:<a@b> AUTH=a+2Bb+3Dc@x", &m),
	    SMTP_PARSE_OK);
	assert_mail_err("FROM:<a@b> AUTH=a+b", SMTP_PARSE_BAD_PARAM);
	assert_mail_err("FROM:<a@b> AUTH=a+2b", SMTP_PARSE_BAD_PARAM);
	assert_mail_err("FROM:<a@b> AUTH=a+2", SMTP_PARSE_BAD_PARAM);
	assert_mail_err("FROM:<a@b> AUTH", SMTP_PARSE_BAD_PARAM);
	assert_mail_err("FROM:<a@b> AUTH=<> AUTH=<>", SMTP_PARSE_BAD_PARAM);
	/* UTF-8 in a value needs SMTPUTF8 (RFC 6531 3.3). */
	assert_int_equal(parse_mail("FROM:<a@b> AUTH=j\xc3\xb6rg@x SMTPUTF8",
	    &m), SMTP_PARSE_OK);
	assert_mail_err("FROM:<a@b> AUTH=j\xc3\xb6rg@x", SMTP_PARSE_UTF8);
	assert_mail_err("FROM:<a@b> AUTH=j\xc3@x SMTPUTF8",
	    SMTP_PARSE_SYNTAX);

	/* Bad values, repeats, unknown keywords. */
	assert_mail_err("FROM:<a@b> BODY=8BIT", SMTP_PARSE_BAD_PARAM);
	assert_mail_err("FROM:<a@b> BODY", SMTP_PARSE_BAD_PARAM);
	assert_mail_err("FROM:<a@b> BODY=7BIT BODY=7BIT",
	    SMTP_PARSE_BAD_PARAM);
	assert_mail_err("FROM:<a@b> SMTPUTF8=yes", SMTP_PARSE_BAD_PARAM);
	assert_mail_err("FROM:<a@b> SMTPUTF8 SMTPUTF8", SMTP_PARSE_BAD_PARAM);
	assert_mail_err("FROM:<a@b> RET=HDRS", SMTP_PARSE_BAD_PARAM);
	assert_mail_err("FROM:<a@b> ENVID=x", SMTP_PARSE_BAD_PARAM);
	assert_mail_err("FROM:<a@b> X-FOO", SMTP_PARSE_BAD_PARAM);
	assert_mail_err("FROM:<a@b> SIZ=1", SMTP_PARSE_BAD_PARAM);
	assert_mail_err("FROM:<a@b> SIZES=1", SMTP_PARSE_BAD_PARAM);

	/* esmtp-param grammar. */
	assert_mail_err("FROM:<a@b> -X", SMTP_PARSE_SYNTAX);
	assert_mail_err("FROM:<a@b> =1", SMTP_PARSE_SYNTAX);
	assert_mail_err("FROM:<a@b> SI_ZE=1", SMTP_PARSE_SYNTAX);
	assert_mail_err("FROM:<a@b> S\xc3\xa9=1", SMTP_PARSE_SYNTAX);
	assert_mail_err("FROM:<a@b> SIZE=1\x7f", SMTP_PARSE_SYNTAX);
}

static void
test_mail_utf8(void **state)
{
	struct smtp_mail_args m;

	(void)state;
	/* RFC 6531: UTF-8 in the local part and the domain with SMTPUTF8. */
	assert_int_equal(parse_mail("FROM:<j\xc3\xb6rg@b\xc3\xbc" "cher.de> "
	    "SMTPUTF8", &m), SMTP_PARSE_OK);
	assert_true(m.from.utf8);
	assert_true(m.smtputf8);
	assert_string_equal(m.from.address, "j\xc3\xb6rg@b\xc3\xbc" "cher.de");
	assert_int_equal(parse_mail("FROM:<\"j\xc3\xb6 rg\"@x.de> SMTPUTF8",
	    &m), SMTP_PARSE_OK);
	assert_true(m.from.utf8);
	assert_int_equal(parse_mail("FROM:<\xf0\x9f\x93\xa7@x.de> smtputf8",
	    &m), SMTP_PARSE_OK);
	/* SMTPUTF8 with an ASCII address is fine and says so. */
	assert_int_equal(parse_mail("FROM:<a@b> SMTPUTF8", &m),
	    SMTP_PARSE_OK);
	assert_false(m.from.utf8);
	assert_true(m.smtputf8);
	/* Without SMTPUTF8: 553 5.6.7. */
	assert_mail_err("FROM:<j\xc3\xb6rg@example.org>", SMTP_PARSE_UTF8);
	assert_mail_err("FROM:<a@b\xc3\xbc" "cher.de>", SMTP_PARSE_UTF8);
	assert_mail_err("FROM:<a@b\xc3\xbc" "cher.de> SIZE=1",
	    SMTP_PARSE_UTF8);
}

/* ---- RCPT ---- */

static int
parse_rcpt(const char *arg, bool utf8_ok, struct smtp_path *p_r)
{
	size_t len = strlen(arg);
	char *p = exact(arg, len);
	int rc;

	memset(p_r, 0x5a, sizeof(*p_r));
	rc = smtp_parse_rcpt(p, len, utf8_ok, p_r);
	free(p);
	prefixes(arg, len);
	return rc;
}

static void
assert_rcpt(const char *arg, const char *addr)
{
	struct smtp_path p;
	int rc = parse_rcpt(arg, false, &p);

	if (rc != SMTP_PARSE_OK)
		fail_msg("smtp_parse_rcpt(\"%s\") = %d", arg, rc);
	assert_string_equal(p.address, addr);
	assert_false(p.null);
	assert_false(p.utf8);
}

static void
assert_rcpt_err(const char *arg, int want)
{
	struct smtp_path p;
	int rc = parse_rcpt(arg, true, &p);

	if (rc != want)
		fail_msg("smtp_parse_rcpt(\"%s\") = %d, want %d", arg, rc,
		    want);
	assert_string_equal(p.address, "");
	assert_false(p.null);
}

static void
test_rcpt(void **state)
{
	struct smtp_path p;

	(void)state;
	assert_rcpt("TO:<bob@example.org>", "bob@example.org");
	assert_rcpt("to:<bob@example.org>", "bob@example.org");
	assert_rcpt("To: <bob@example.org>  ", "bob@example.org");
	assert_rcpt("TO:<\"b b\"@example.org>", "\"b b\"@example.org");
	assert_rcpt("TO:<@relay.example:bob@example.org>", "bob@example.org");
	assert_rcpt("TO:<bob@[IPv6:::1]>", "bob@[IPv6:::1]");
	assert_rcpt("TO:bob@example.org", "bob@example.org");
	assert_rcpt("TO: bob@example.org", "bob@example.org");
	/* RFC 5321 4.1.1.3: <Postmaster> without a domain, any case. */
	assert_rcpt("TO:<postmaster>", "postmaster");
	assert_rcpt("TO:<Postmaster>", "postmaster");
	assert_rcpt("TO:<POSTMASTER>", "postmaster");
	assert_rcpt("TO:<postmaster@example.org>", "postmaster@example.org");
	assert_rcpt_err("TO:postmaster", SMTP_PARSE_BAD_ADDRESS);
	assert_rcpt_err("TO:<postmaste>", SMTP_PARSE_BAD_ADDRESS);
	assert_rcpt_err("TO:<postmasters>", SMTP_PARSE_BAD_ADDRESS);
	assert_rcpt_err("TO:<\"postmaster\">", SMTP_PARSE_BAD_ADDRESS);
	assert_rcpt_err("TO:<@a.example:postmaster>", SMTP_PARSE_BAD_ADDRESS);
	assert_rcpt_err("TO:<postmaster> x", SMTP_PARSE_BAD_PARAM);

	/* The null path is MAIL's only. */
	assert_rcpt_err("TO:<>", SMTP_PARSE_BAD_ADDRESS);
	assert_rcpt_err("TO:<a>", SMTP_PARSE_BAD_ADDRESS);
	assert_rcpt_err("TO:<a@b.>", SMTP_PARSE_BAD_ADDRESS);
	assert_rcpt_err("TO:<a@b", SMTP_PARSE_BAD_ADDRESS);

	assert_rcpt_err("", SMTP_PARSE_SYNTAX);
	assert_rcpt_err("TO:", SMTP_PARSE_SYNTAX);
	assert_rcpt_err("FROM:<a@b>", SMTP_PARSE_SYNTAX);
	assert_rcpt_err("T:<a@b>", SMTP_PARSE_SYNTAX);
	assert_rcpt_err("TO:<a@b>x", SMTP_PARSE_SYNTAX);
	assert_rcpt_err("TO: a@b NOTIFY=NEVER", SMTP_PARSE_SYNTAX);
	assert_rcpt_err("TO:<a@b>\t", SMTP_PARSE_SYNTAX);

	/* No RCPT parameters yet (DSN comes with outbound delivery). */
	assert_rcpt_err("TO:<a@b> NOTIFY=NEVER", SMTP_PARSE_BAD_PARAM);
	assert_rcpt_err("TO:<a@b> ORCPT=rfc822;a@b", SMTP_PARSE_BAD_PARAM);
	assert_rcpt_err("TO:<a@b> SIZE=1", SMTP_PARSE_BAD_PARAM);
	assert_rcpt_err("TO:<a@b> X", SMTP_PARSE_BAD_PARAM);
	assert_rcpt_err("TO:<a@b> -X", SMTP_PARSE_SYNTAX);
	assert_rcpt_err("TO:<a@b> X=", SMTP_PARSE_SYNTAX);

	/* UTF-8 needs SMTPUTF8 on MAIL. */
	assert_int_equal(parse_rcpt("TO:<j\xc3\xb6rg@example.org>", true, &p),
	    SMTP_PARSE_OK);
	assert_true(p.utf8);
	assert_string_equal(p.address, "j\xc3\xb6rg@example.org");
	assert_int_equal(parse_rcpt("TO:<j\xc3\xb6rg@example.org>", false,
	    &p), SMTP_PARSE_UTF8);
	assert_string_equal(p.address, "");
	assert_false(p.utf8);
	assert_int_equal(parse_rcpt("TO:<a@b>", true, &p), SMTP_PARSE_OK);
	assert_false(p.utf8);
	assert_rcpt_err("TO:<j\xc3\xb6rg@example.org\xc3>",
	    SMTP_PARSE_BAD_ADDRESS);
}

static void
test_rcpt_limits(void **state)
{
	char arg[1024], local[128], dom[512];
	struct smtp_path p;

	(void)state;
	snprintf(arg, sizeof(arg), "TO:<%s@example.org>", rep(local, 'x', 64));
	assert_int_equal(parse_rcpt(arg, false, &p), SMTP_PARSE_OK);
	snprintf(arg, sizeof(arg), "TO:<%s@example.org>", rep(local, 'x', 65));
	assert_rcpt_err(arg, SMTP_PARSE_BAD_ADDRESS);
	rep(dom, 'd', 252);
	for (size_t i = 63; i < 252; i += 64)
		dom[i] = '.';
	snprintf(arg, sizeof(arg), "TO:<a@%s>", dom);
	assert_int_equal(parse_rcpt(arg, false, &p), SMTP_PARSE_OK);
	assert_int_equal(strlen(p.address), LIMIT_ADDR_TOTAL);
	snprintf(arg, sizeof(arg), "TO:<ab@%s>", dom);
	assert_rcpt_err(arg, SMTP_PARSE_BAD_ADDRESS);
	/* The dropped source route does not count against the address. */
	snprintf(arg, sizeof(arg), "TO:<@relay.example:a@%s>", dom);
	assert_int_equal(parse_rcpt(arg, false, &p), SMTP_PARSE_OK);
	assert_int_equal(strlen(p.address), LIMIT_ADDR_TOTAL);
}

/* ---- BDAT ---- */

static int
parse_bdat(const char *arg, uint64_t *size, bool *last)
{
	size_t len = strlen(arg);
	char *p = exact(arg, len);
	int rc;

	*size = 99;
	*last = true;
	rc = smtp_parse_bdat(p, len, size, last);
	free(p);
	prefixes(arg, len);
	return rc;
}

static void
assert_bdat(const char *arg, uint64_t want, bool want_last)
{
	uint64_t size;
	bool last;

	if (parse_bdat(arg, &size, &last) != SMTP_PARSE_OK)
		fail_msg("smtp_parse_bdat(\"%s\") failed", arg);
	assert_true(size == want);
	assert_int_equal(last, want_last);
}

static void
assert_bdat_bad(const char *arg)
{
	uint64_t size;
	bool last;

	if (parse_bdat(arg, &size, &last) != SMTP_PARSE_SYNTAX)
		fail_msg("smtp_parse_bdat(\"%s\") accepted", arg);
	assert_true(size == 0);
	assert_false(last);
}

static void
test_bdat(void **state)
{
	(void)state;
	assert_bdat("0", 0, false);
	assert_bdat("0 LAST", 0, true);
	assert_bdat("1000", 1000, false);
	assert_bdat("1000 LAST", 1000, true);
	assert_bdat("1000 last", 1000, true);
	assert_bdat("1000   Last  ", 1000, true);
	assert_bdat("00000000000000000007", 7, false);
	/* RFC 3030: below 2^63. */
	assert_bdat("9223372036854775807", INT64_MAX, false);
	assert_bdat_bad("9223372036854775808");
	assert_bdat_bad("18446744073709551615");
	assert_bdat_bad("18446744073709551616");
	assert_bdat_bad("000000000000000000007");
	assert_bdat_bad("");
	assert_bdat_bad("LAST");
	assert_bdat_bad(" 10");
	assert_bdat_bad("-1");
	assert_bdat_bad("+1");
	assert_bdat_bad("10LAST");
	assert_bdat_bad("10 LAS");
	assert_bdat_bad("10 LASTX");
	assert_bdat_bad("10 LAST x");
	assert_bdat_bad("10 20");
	assert_bdat_bad("0x10");
	assert_bdat_bad("10\t");
	assert_bdat_bad("10 LAST\r");
}

/* ---- EHLO / HELO ---- */

static int
parse_helo(const char *arg, size_t len, char *out)
{
	char *p = exact(arg, len);
	int rc;

	memset(out, 0x5a, LIMIT_ADDR_DOMAIN + 1);
	rc = smtp_parse_helo(p, len, out);
	free(p);
	prefixes(arg, len);
	return rc;
}

static void
assert_helo(const char *arg, const char *want)
{
	char out[LIMIT_ADDR_DOMAIN + 1];

	if (parse_helo(arg, strlen(arg), out) != SMTP_PARSE_OK)
		fail_msg("smtp_parse_helo(\"%s\") failed", arg);
	assert_string_equal(out, want);
}

static void
assert_helo_bad(const char *arg, size_t len)
{
	char out[LIMIT_ADDR_DOMAIN + 1];

	if (parse_helo(arg, len, out) != SMTP_PARSE_SYNTAX)
		fail_msg("smtp_parse_helo(\"%.*s\") accepted", (int)len, arg);
	assert_string_equal(out, "");
}

static void
test_helo(void **state)
{
	(void)state;
	assert_helo("mail.example.org", "mail.example.org");
	assert_helo("Mail.Example.ORG", "Mail.Example.ORG");
	assert_helo("mail.example.org  ", "mail.example.org");
	assert_helo("localhost", "localhost");
	assert_helo("xn--bcher-kva.de", "xn--bcher-kva.de");
	assert_helo("b\xc3\xbc" "cher.de", "b\xc3\xbc" "cher.de");
	/* Real clients: a bare IP, '_' in Windows and scanner names. */
	assert_helo("192.0.2.1", "192.0.2.1");
	assert_helo("SCANNER_2", "SCANNER_2");
	assert_helo("my_pc.office.lan", "my_pc.office.lan");
	assert_helo("-x-", "-x-");
	/* RFC 5321 4.1.3 literals. */
	assert_helo("[192.0.2.1]", "[192.0.2.1]");
	assert_helo("[IPv6:2001:db8::1]", "[IPv6:2001:db8::1]");
	assert_helo("[IPv6:::1]", "[IPv6:::1]");

	assert_helo_bad("", 0);
	assert_helo_bad("   ", 3);
	assert_helo_bad("mail example", 12);
	assert_helo_bad(" mail.example.org", 17);
	assert_helo_bad("mail.example.org.", 17);
	assert_helo_bad(".example.org", 12);
	assert_helo_bad("a..b", 4);
	assert_helo_bad(".", 1);
	assert_helo_bad("a!b", 3);
	assert_helo_bad("a(b)", 4);
	assert_helo_bad("a/b", 3);
	assert_helo_bad("a\tb", 3);
	assert_helo_bad("a\0b", 3);
	assert_helo_bad("a\r\nMAIL FROM:<x@y>", 17);
	assert_helo_bad("a\x7f", 2);
	assert_helo_bad("b\xc3" "cher.de", 8);
	assert_helo_bad("[192.0.2.1", 10);
	assert_helo_bad("[192.0.2.1]x", 12);
	assert_helo_bad("192.0.2.1]", 10);
	assert_helo_bad("[]", 2);
	assert_helo_bad("[", 1);
	assert_helo_bad("[300.0.2.1]", 11);
	assert_helo_bad("[2001:db8::1]", 13);
	assert_helo_bad("[IPv6:2001:db8::g]", 18);
	assert_helo_bad("[x400:foo]", 10);
	assert_helo_bad("[mail.example.org]", 18);
}

static void
test_helo_limits(void **state)
{
	char arg[512], out[LIMIT_ADDR_DOMAIN + 1];

	(void)state;
	/* RFC 5321 4.5.3.1.2: 255 octets, and labels of 63. */
	rep(arg, 'h', 255);
	for (size_t i = 63; i < 255; i += 64)
		arg[i] = '.';
	assert_int_equal(parse_helo(arg, 255, out), SMTP_PARSE_OK);
	assert_int_equal(strlen(out), 255);
	assert_memory_equal(out, arg, 255);
	rep(arg, 'h', 256);
	for (size_t i = 63; i < 256; i += 64)
		arg[i] = '.';
	assert_helo_bad(arg, 256);
	/* Trailing SPs do not count. */
	rep(arg, 'h', 255);
	for (size_t i = 63; i < 255; i += 64)
		arg[i] = '.';
	memcpy(arg + 255, "    ", 5);
	assert_int_equal(parse_helo(arg, 259, out), SMTP_PARSE_OK);
	assert_int_equal(strlen(out), 255);
	rep(arg, 'h', 63);
	assert_int_equal(parse_helo(arg, 63, out), SMTP_PARSE_OK);
	rep(arg, 'h', 64);
	assert_helo_bad(arg, 64);
}

/* ---- AUTH ---- */

static int
parse_auth(const char *arg, size_t len, char mech[21], const char **ir,
    size_t *ir_len, char **buf_r)
{
	char *p = exact(arg, len);
	int rc;

	memset(mech, 0x5a, 21);
	rc = smtp_parse_auth(p, len, mech, ir, ir_len);
	*buf_r = p;
	prefixes(arg, len);
	return rc;
}

static void
assert_auth(const char *arg, const char *want_mech, const char *want_ir)
{
	char mech[21], *buf;
	const char *ir;
	size_t ir_len, len = strlen(arg);

	if (parse_auth(arg, len, mech, &ir, &ir_len, &buf) != SMTP_PARSE_OK)
		fail_msg("smtp_parse_auth(\"%s\") failed", arg);
	assert_string_equal(mech, want_mech);
	if (want_ir == NULL) {
		assert_null(ir);
		assert_int_equal(ir_len, 0);
	} else {
		assert_non_null(ir);
		assert_true(ir >= buf && ir + ir_len <= buf + len);
		assert_int_equal(ir_len, strlen(want_ir));
		assert_memory_equal(ir, want_ir, ir_len);
	}
	free(buf);
}

static void
assert_auth_bad(const char *arg)
{
	char mech[21], *buf;
	const char *ir;
	size_t ir_len;

	if (parse_auth(arg, strlen(arg), mech, &ir, &ir_len, &buf) !=
	    SMTP_PARSE_SYNTAX)
		fail_msg("smtp_parse_auth(\"%s\") accepted", arg);
	assert_string_equal(mech, "");
	assert_null(ir);
	free(buf);
}

static void
test_auth(void **state)
{
	char arg[LIMIT_SASL_LINE + 64];

	(void)state;
	assert_auth("PLAIN", "PLAIN", NULL);
	assert_auth("plain", "PLAIN", NULL);
	assert_auth("LOGIN  ", "LOGIN", NULL);
	assert_auth("SCRAM-SHA-256", "SCRAM-SHA-256", NULL);
	assert_auth("X_OAUTH2", "X_OAUTH2", NULL);
	assert_auth("PLAIN AGFsaWNlAHNlY3JldA==",
	    "PLAIN", "AGFsaWNlAHNlY3JldA==");
	assert_auth("PLAIN   AGFsaWNlAHNlY3JldA==  ",
	    "PLAIN", "AGFsaWNlAHNlY3JldA==");
	assert_auth("PLAIN =", "PLAIN", "=");
	assert_auth("LOGIN dXNlcg==", "LOGIN", "dXNlcg==");
	assert_auth("X a+/9", "X", "a+/9");
	assert_auth("X QUI=", "X", "QUI=");
	/* RFC 4422 3.1: 20 characters. */
	assert_auth("ABCDEFGHIJ0123456789", "ABCDEFGHIJ0123456789", NULL);
	assert_auth_bad("ABCDEFGHIJ0123456789K");
	assert_auth_bad("ABCDEFGHIJ0123456789K AAAA");

	assert_auth_bad("");
	assert_auth_bad("  ");
	assert_auth_bad(" PLAIN");
	assert_auth_bad("PL.AIN");
	assert_auth_bad("PLAIN\t");
	assert_auth_bad("PL\xc3\xa9");
	assert_auth_bad("PLAIN A");
	assert_auth_bad("PLAIN AAA");
	assert_auth_bad("PLAIN AAAAA");
	assert_auth_bad("PLAIN A===");
	assert_auth_bad("PLAIN ====");
	assert_auth_bad("PLAIN AA=A");
	assert_auth_bad("PLAIN ==");
	assert_auth_bad("PLAIN AA AA");
	assert_auth_bad("PLAIN AAAA AAAA");
	assert_auth_bad("PLAIN AA-_");
	assert_auth_bad("PLAIN AAAA\r");
	assert_auth_bad("PLAIN *");

	/* Initial response bounded by LIMIT_SASL_LINE. */
	memcpy(arg, "PLAIN ", 6);
	rep(arg + 6, 'A', LIMIT_SASL_LINE);
	assert_auth(arg, "PLAIN", arg + 6);
	rep(arg + 6, 'A', LIMIT_SASL_LINE + 4);
	assert_auth_bad(arg);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_command_verbs),
		cmocka_unit_test(test_command_case_and_spaces),
		cmocka_unit_test(test_command_unknown),
		cmocka_unit_test(test_command_bad),
		cmocka_unit_test(test_mail_paths),
		cmocka_unit_test(test_mail_quoted_local),
		cmocka_unit_test(test_mail_literals),
		cmocka_unit_test(test_mail_bad_addresses),
		cmocka_unit_test(test_mail_syntax),
		cmocka_unit_test(test_mail_bare_address),
		cmocka_unit_test(test_mail_source_route),
		cmocka_unit_test(test_mail_limits),
		cmocka_unit_test(test_mail_size),
		cmocka_unit_test(test_mail_params),
		cmocka_unit_test(test_mail_utf8),
		cmocka_unit_test(test_rcpt),
		cmocka_unit_test(test_rcpt_limits),
		cmocka_unit_test(test_bdat),
		cmocka_unit_test(test_helo),
		cmocka_unit_test(test_helo_limits),
		cmocka_unit_test(test_auth),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
