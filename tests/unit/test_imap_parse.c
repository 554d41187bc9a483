/*
 * test_imap_parse.c - the IMAP4rev1 grammar elements (imapd/imap_parse.c,
 * RFC 3501 9) and the FETCH attribute grammar (imapd/imap_fetch_parse.c,
 * RFC 3501 6.4.5 and 9).
 *
 * Every input is copied into a heap buffer of exactly its length, with no
 * terminating NUL, so AddressSanitizer catches a parser that reads past
 * the end it was given. A command reaches the parser whole (imap_reader.c
 * assembles it), so the parsers' form of "fed one byte at a time" is every
 * prefix of every input: each prefix goes through every grammar function
 * and must keep the invariants (cursor inside the buffer, results inside
 * it, an error text on failure, nothing leaked). imap_literal_marker,
 * which the reader calls on each line, is fed growing lines.
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

#include "imapd/imap_fetch.h"
#include "imapd/imap_parse.h"
#include "store/store.h"

#define ALL_SYSTEM_FLAGS (STORE_FLAG_SEEN | STORE_FLAG_ANSWERED | \
	STORE_FLAG_FLAGGED | STORE_FLAG_DELETED | STORE_FLAG_DRAFT)

typedef int (*str_fn)(struct imap_parser *, struct imap_str *);

/* exact: a malloc'd copy of s without its NUL. */
static char *
exact(const char *s, size_t len)
{
	char *p = malloc(len > 0 ? len : 1);

	assert_non_null(p);
	memcpy(p, s, len);
	return p;
}

/* ---- invariants over every prefix ---- */

static void
check_cursor(const struct imap_parser *ps, const char *buf, size_t n,
    int rc)
{
	assert_true(rc == 0 || rc == -1);
	assert_true(ps->p >= buf && ps->p <= buf + n);
	assert_ptr_equal(ps->end, buf + n);
	if (rc != 0)
		assert_non_null(ps->error);
}

static void
check_str(const struct imap_str *s, const char *buf, size_t n)
{
	assert_true(s->len <= n);
	/* An empty part number ("BODY[]") need not point anywhere. */
	if (s->len > 0)
		assert_true(s->s >= buf && s->s + s->len <= buf + n);
}

/* assert_rest: exactly rest is left unparsed. */
static void
assert_rest(const struct imap_parser *ps, const char *rest)
{
	if ((size_t)(ps->end - ps->p) != strlen(rest) ||
	    memcmp(ps->p, rest, strlen(rest)) != 0)
		fail_msg("left \"%.*s\", want \"%s\"",
		    (int)(ps->end - ps->p), ps->p, rest);
}

/*
 * every_parser: buf (n bytes) through each grammar function, each on a
 * fresh copy (quoted strings are unescaped in place).
 */
static void
every_parser(const char *s, size_t n)
{
	static const str_fn str_fns[] = {
		imap_parse_tag, imap_parse_atom, imap_parse_word,
		imap_parse_string, imap_parse_astring,
		imap_parse_list_mailbox, imap_parse_literal,
	};
	struct imap_parser ps;
	struct imap_str str;
	struct imap_seqset set;
	struct imap_flags *flags;
	struct imap_fetch_req req;
	uint32_t num;
	int64_t t;
	uint64_t size;
	bool nonsync;
	char *buf;
	int rc;

	for (size_t i = 0; i < sizeof(str_fns) / sizeof(str_fns[0]); i++) {
		buf = exact(s, n);
		imap_parser_init(&ps, buf, n);
		rc = str_fns[i](&ps, &str);
		check_cursor(&ps, buf, n, rc);
		if (rc == 0)
			check_str(&str, buf, n);
		free(buf);
	}

	buf = exact(s, n);
	imap_parser_init(&ps, buf, n);
	check_cursor(&ps, buf, n, imap_parse_number(&ps, &num));
	imap_parser_init(&ps, buf, n);
	rc = imap_parse_nz_number(&ps, &num);
	check_cursor(&ps, buf, n, rc);
	if (rc == 0)
		assert_true(num > 0);

	imap_parser_init(&ps, buf, n);
	rc = imap_parse_seqset(&ps, &set);
	check_cursor(&ps, buf, n, rc);
	if (rc == 0 && set.saved) {
		assert_int_equal(set.n, 0);
		assert_null(set.v);
	} else if (rc == 0) {
		assert_true(set.n >= 1 && set.n <= n);
		for (size_t i = 0; i < set.n; i++)
			assert_true(set.v[i].lo >= 1 && set.v[i].hi >= 1 &&
			    set.v[i].lo <= IMAP_SEQ_STAR &&
			    set.v[i].hi <= IMAP_SEQ_STAR);
		imap_seqset_free(&set);
	} else {
		assert_null(set.v);
		assert_int_equal(set.n, 0);
	}

	flags = malloc(sizeof(*flags));
	assert_non_null(flags);
	imap_parser_init(&ps, buf, n);
	rc = imap_parse_flag_list(&ps, flags);
	check_cursor(&ps, buf, n, rc);
	assert_true(strlen(flags->keywords) <= IMAP_KEYWORDS_MAX);
	imap_parser_init(&ps, buf, n);
	rc = imap_parse_flags(&ps, flags);
	check_cursor(&ps, buf, n, rc);
	assert_true(strlen(flags->keywords) <= IMAP_KEYWORDS_MAX);
	assert_int_equal(flags->flags & ~(uint32_t)ALL_SYSTEM_FLAGS, 0);
	free(flags);

	imap_parser_init(&ps, buf, n);
	check_cursor(&ps, buf, n, imap_parse_date_time(&ps, &t));
	imap_parser_init(&ps, buf, n);
	check_cursor(&ps, buf, n, imap_parse_date(&ps, &t));

	imap_parser_init(&ps, buf, n);
	rc = imap_fetch_parse(&ps, &req);
	check_cursor(&ps, buf, n, rc);
	if (rc == 0) {
		assert_true(imap_parse_at_end(&ps));
		assert_true(req.nbodies <= LIMIT_IMAP_FETCH_BODIES);
		for (size_t i = 0; i < req.nbodies; i++) {
			check_str(&req.bodies[i].part, buf, n);
			for (size_t j = 0; j < req.bodies[i].nfields; j++)
				check_str(&req.bodies[i].fields[j], buf, n);
		}
	}
	imap_fetch_req_free(&req);
	assert_int_equal(req.nbodies, 0);

	if (imap_literal_marker(buf, n, &size, &nonsync))
		assert_true(n >= 3 && buf[n - 1] == '}');
	free(buf);
}

static void
prefixes(const char *s, size_t len)
{
	for (size_t n = 0; n <= len; n++)
		every_parser(s, n);
}

/* ---- string-valued elements ---- */

/*
 * str_ok_len: fn parses the len bytes of in to want (want_len bytes) and
 * leaves exactly rest unparsed.
 */
static void
str_ok_len(str_fn fn, const char *in, size_t len, const char *want,
    size_t want_len, const char *rest)
{
	char *buf = exact(in, len);
	struct imap_parser ps;
	struct imap_str str;
	int rc;

	imap_parser_init(&ps, buf, len);
	rc = fn(&ps, &str);
	if (rc != 0)
		fail_msg("\"%.*s\": %s", (int)len, in, ps.error);
	assert_int_equal(str.len, want_len);
	assert_memory_equal(str.s, want, want_len);
	assert_rest(&ps, rest);
	free(buf);
	prefixes(in, len);
}

static void
str_ok(str_fn fn, const char *in, const char *want, const char *rest)
{
	str_ok_len(fn, in, strlen(in), want, strlen(want), rest);
}

/* str_bad_len: fn refuses in with exactly the error text. */
static void
str_bad_len(str_fn fn, const char *in, size_t len, const char *error)
{
	char *buf = exact(in, len);
	struct imap_parser ps;
	struct imap_str str;

	imap_parser_init(&ps, buf, len);
	if (fn(&ps, &str) != -1)
		fail_msg("\"%.*s\" accepted", (int)len, in);
	assert_non_null(ps.error);
	assert_string_equal(ps.error, error);
	free(buf);
	prefixes(in, len);
}

static void
str_bad(str_fn fn, const char *in, const char *error)
{
	str_bad_len(fn, in, strlen(in), error);
}

static void
test_cursor_basics(void **state)
{
	char buf[] = { 'a', ' ', '(' };
	struct imap_parser ps;

	(void)state;
	imap_parser_init(&ps, buf, sizeof(buf));
	assert_null(ps.error);
	assert_false(imap_parse_at_end(&ps));
	assert_int_equal(imap_parse_end(&ps), -1);
	assert_string_equal(ps.error,
	    "Unexpected characters at the end of the command");
	assert_true(imap_parse_peek(&ps, 'a'));
	assert_int_equal(imap_parse_sp(&ps), -1);
	assert_string_equal(ps.error, "Missing space");
	assert_int_equal(imap_parse_char(&ps, ')'), -1);
	assert_string_equal(ps.error, "Missing ')'");
	assert_int_equal(imap_parse_char(&ps, '('), -1);
	assert_string_equal(ps.error, "Missing '('");
	assert_int_equal(imap_parse_char(&ps, '['), -1);
	assert_string_equal(ps.error, "Unexpected character");
	assert_int_equal(imap_parse_char(&ps, 'a'), 0);
	assert_int_equal(imap_parse_sp(&ps), 0);
	assert_int_equal(imap_parse_char(&ps, '('), 0);
	assert_true(imap_parse_at_end(&ps));
	assert_false(imap_parse_peek(&ps, '('));
	assert_int_equal(imap_parse_end(&ps), 0);
	assert_int_equal(imap_parse_sp(&ps), -1);
}

static void
test_atom_chars(void **state)
{
	(void)state;
	/* RFC 3501 9: atom-specials. */
	for (unsigned int c = 0; c < 256; c++) {
		bool want = c > 0x20 && c < 0x7f &&
		    strchr("(){%*\"\\]", (int)c) == NULL;

		if (imap_is_atom_char((unsigned char)c) != want)
			fail_msg("imap_is_atom_char(0x%02x) != %d", c, want);
	}
}

static void
test_atom(void **state)
{
	(void)state;
	str_ok(imap_parse_atom, "NOOP", "NOOP", "");
	str_ok(imap_parse_atom, "LOGIN alice", "LOGIN", " alice");
	str_ok(imap_parse_atom, "a.b-c+d$e!&'", "a.b-c+d$e!&'", "");
	str_ok(imap_parse_atom, "ab]c", "ab", "]c");
	str_ok(imap_parse_atom, "ab[c", "ab[c", "");
	str_ok(imap_parse_atom, "ab(c", "ab", "(c");
	str_ok(imap_parse_atom, "ab{1}", "ab", "{1}");
	str_ok(imap_parse_atom, "ab%", "ab", "%");
	str_ok(imap_parse_atom, "ab*", "ab", "*");
	str_ok(imap_parse_atom, "ab\"", "ab", "\"");
	str_ok(imap_parse_atom, "ab\\", "ab", "\\");
	str_ok(imap_parse_atom, "ab\x7f", "ab", "\x7f");
	str_ok(imap_parse_atom, "ab\x80", "ab", "\x80");
	str_bad(imap_parse_atom, "", "Expected an atom");
	str_bad(imap_parse_atom, " a", "Expected an atom");
	str_bad(imap_parse_atom, "]", "Expected an atom");
	str_bad(imap_parse_atom, "\xc3\xa9", "Expected an atom");
}

static void
test_atom_stops_at_nul(void **state)
{
	char in[] = { 'a', 'b', '\0', 'c' };
	struct imap_parser ps;
	struct imap_str str;

	(void)state;
	imap_parser_init(&ps, in, sizeof(in));
	assert_int_equal(imap_parse_atom(&ps, &str), 0);
	assert_int_equal(str.len, 2);
	assert_ptr_equal(ps.p, in + 2);
}

static void
test_tag(void **state)
{
	(void)state;
	str_ok(imap_parse_tag, "a001 NOOP", "a001", " NOOP");
	str_ok(imap_parse_tag, "A.1]x NOOP", "A.1]x", " NOOP");
}

static void
test_tag_plus(void **state)
{
	(void)state;
	/* RFC 3501 9: tag = 1*<any ASTRING-CHAR except "+">. */
	str_ok(imap_parse_tag, "A+1 NOOP", "A", "+1 NOOP");
	str_bad(imap_parse_tag, "+ NOOP", "Invalid tag");
	str_bad(imap_parse_tag, "+", "Invalid tag");
}

static void
test_tag_invalid(void **state)
{
	(void)state;
	str_bad(imap_parse_tag, "", "Invalid tag");
	str_bad(imap_parse_tag, " a", "Invalid tag");
	str_bad(imap_parse_tag, "*", "Invalid tag");
	str_bad(imap_parse_tag, "%", "Invalid tag");
	str_bad(imap_parse_tag, "(a", "Invalid tag");
	str_bad(imap_parse_tag, "{1}", "Invalid tag");
	str_bad(imap_parse_tag, "\"a\"", "Invalid tag");
	str_bad(imap_parse_tag, "\r\n", "Invalid tag");
	str_bad(imap_parse_tag, "\x80", "Invalid tag");
	str_ok(imap_parse_tag, "a*", "a", "*");
	str_ok(imap_parse_tag, "a\\b", "a", "\\b");
}

static void
test_word(void **state)
{
	(void)state;
	str_ok(imap_parse_word, "BODY.PEEK[]", "BODY.PEEK", "[]");
	str_ok(imap_parse_word, "RFC822.SIZE)", "RFC822.SIZE", ")");
	str_ok(imap_parse_word, "UID FLAGS", "UID", " FLAGS");
	str_bad(imap_parse_word, "[", "Expected a name");
	str_bad(imap_parse_word, "", "Expected a name");
}

static void
test_quoted(void **state)
{
	(void)state;
	str_ok(imap_parse_string, "\"\"", "", "");
	str_ok(imap_parse_string, "\"hello world\" x", "hello world", " x");
	str_ok(imap_parse_string, "\"({%*]\"", "({%*]", "");
	str_ok(imap_parse_astring, "\"INBOX\"", "INBOX", "");
}

static void
test_quoted_escapes(void **state)
{
	(void)state;
	str_ok(imap_parse_string, "\"a\\\"b\"", "a\"b", "");
	str_ok(imap_parse_string, "\"a\\\\b\"", "a\\b", "");
	str_ok(imap_parse_string, "\"\\\\\\\"\"", "\\\"", "");
	str_ok(imap_parse_string, "\"x\\\\\" y", "x\\", " y");
}

static void
test_quoted_escape_in_place(void **state)
{
	char in[] = "\"a\\\"b\\\\c\" rest";
	struct imap_parser ps;
	struct imap_str str;

	(void)state;
	imap_parser_init(&ps, in, sizeof(in) - 1);
	assert_int_equal(imap_parse_string(&ps, &str), 0);
	assert_ptr_equal(str.s, in + 1);
	assert_int_equal(str.len, 5);
	assert_memory_equal(str.s, "a\"b\\c", 5);
	assert_ptr_equal(ps.p, in + 9);
	assert_rest(&ps, " rest");
}

static void
test_quoted_invalid_escape(void **state)
{
	(void)state;
	str_bad(imap_parse_string, "\"a\\nb\"", "Invalid escape in a quoted "
	    "string");
	str_bad(imap_parse_string, "\"a\\", "Invalid escape in a quoted "
	    "string");
	str_bad(imap_parse_string, "\"\\x\"", "Invalid escape in a quoted "
	    "string");
	str_bad(imap_parse_string, "\"\\\r\"", "Invalid escape in a quoted "
	    "string");
}

static void
test_quoted_8bit(void **state)
{
	(void)state;
	str_ok(imap_parse_string, "\"caf\xc3\xa9\"", "caf\xc3\xa9", "");
	str_ok(imap_parse_astring, "\"\xff\x80\"", "\xff\x80", "");
}

static void
test_quoted_ctl(void **state)
{
	(void)state;
	str_bad(imap_parse_string, "\"a\rb\"", "Invalid character in a "
	    "quoted string");
	str_bad(imap_parse_string, "\"a\nb\"", "Invalid character in a "
	    "quoted string");
	str_bad_len(imap_parse_string, "\"a\0b\"", 5, "Invalid character in "
	    "a quoted string");
	str_bad(imap_parse_string, "\"abc", "Unterminated quoted string");
	str_bad(imap_parse_string, "\"", "Unterminated quoted string");
	/* Other controls are TEXT-CHARs. */
	str_ok(imap_parse_string, "\"a\tb\"", "a\tb", "");
}

static void
test_literal_zero(void **state)
{
	(void)state;
	str_ok(imap_parse_string, "{0}\r\n", "", "");
	str_ok(imap_parse_literal, "{0}\r\n rest", "", " rest");
	str_ok(imap_parse_astring, "{0+}\r\n", "", "");
}

static void
test_literal_sync(void **state)
{
	(void)state;
	str_ok(imap_parse_string, "{5}\r\nhello", "hello", "");
	str_ok(imap_parse_string, "{5}\r\nhello world", "hello", " world");
	str_ok(imap_parse_literal, "{5}\r\na\r\nb\"", "a\r\nb\"", "");
	str_ok(imap_parse_literal, "{005}\r\nhello", "hello", "");
}

static void
test_literal_nonsync(void **state)
{
	(void)state;
	/* RFC 7888 LITERAL+. */
	str_ok(imap_parse_string, "{5+}\r\nhello", "hello", "");
	str_ok(imap_parse_literal, "{5+}\r\nhello)", "hello", ")");
}

static void
test_literal_announcement(void **state)
{
	(void)state;
	str_bad(imap_parse_literal, "{5}hello", "Invalid literal "
	    "announcement");
	str_bad(imap_parse_literal, "{5}\nhello", "Invalid literal "
	    "announcement");
	str_bad(imap_parse_literal, "{5}\r", "Invalid literal announcement");
	str_bad(imap_parse_literal, "{5", "Invalid literal announcement");
	str_bad(imap_parse_literal, "{5++}\r\nhello", "Invalid literal "
	    "announcement");
	str_bad(imap_parse_literal, "{+}\r\n", "Invalid literal size");
	str_bad(imap_parse_literal, "{}\r\n", "Invalid literal size");
	str_bad(imap_parse_literal, "{-1}\r\n", "Invalid literal size");
	str_bad(imap_parse_literal, "{4294967296}\r\n", "Literal too large");
	str_bad(imap_parse_literal, "{99999999999999999999999}\r\n",
	    "Literal too large");
	str_bad(imap_parse_literal, "{4294967295}\r\n", "Literal shorter "
	    "than announced");
}

static void
test_literal_short(void **state)
{
	(void)state;
	str_bad(imap_parse_string, "{5}\r\nhell", "Literal shorter than "
	    "announced");
	str_bad(imap_parse_literal, "{1}\r\n", "Literal shorter than "
	    "announced");
	str_bad(imap_parse_literal, "{6+}\r\nhello", "Literal shorter than "
	    "announced");
}

static void
test_literal_nul(void **state)
{
	(void)state;
	str_bad_len(imap_parse_string, "{3}\r\na\0b", 8, "NUL in a literal");
	str_bad_len(imap_parse_astring, "{1}\r\n\0", 6, "NUL in a literal");
	str_bad_len(imap_parse_list_mailbox, "{1}\r\n\0", 6,
	    "NUL in a literal");
	str_ok_len(imap_parse_literal, "{3}\r\na\0b", 8, "a\0b", 3, "");
}

static void
test_literal_not_quoted(void **state)
{
	(void)state;
	str_bad(imap_parse_literal, "\"abc\"", "Expected a literal");
	str_bad(imap_parse_literal, "abc", "Expected a literal");
	str_bad(imap_parse_string, "abc", "Expected a string");
	str_bad(imap_parse_string, "", "Expected a string");
}

static void
test_astring(void **state)
{
	(void)state;
	str_ok(imap_parse_astring, "INBOX", "INBOX", "");
	str_ok(imap_parse_astring, "a]b c", "a]b", " c");
	str_ok(imap_parse_astring, "\"a b\" c", "a b", " c");
	str_ok(imap_parse_astring, "{3}\r\na b c", "a b", " c");
	str_ok(imap_parse_astring, "alice%", "alice", "%");
	str_ok(imap_parse_astring, "a*", "a", "*");
	str_bad(imap_parse_astring, "", "Expected a string");
	str_bad(imap_parse_astring, " x", "Expected a string");
	str_bad(imap_parse_astring, "(x", "Expected a string");
	str_bad(imap_parse_astring, "%", "Expected a string");
	str_bad(imap_parse_astring, "\"x", "Unterminated quoted string");
	str_bad(imap_parse_astring, "{x}\r\n", "Invalid literal size");
}

static void
test_list_mailbox(void **state)
{
	(void)state;
	str_ok(imap_parse_list_mailbox, "*", "*", "");
	str_ok(imap_parse_list_mailbox, "%", "%", "");
	str_ok(imap_parse_list_mailbox, "INBOX/%/a*]", "INBOX/%/a*]", "");
	str_ok(imap_parse_list_mailbox, "a%b c", "a%b", " c");
	str_ok(imap_parse_list_mailbox, "\"a %\"", "a %", "");
	str_ok(imap_parse_list_mailbox, "{2}\r\n*%", "*%", "");
	str_ok(imap_parse_list_mailbox, "a(b", "a", "(b");
	str_bad(imap_parse_list_mailbox, "", "Expected a mailbox pattern");
	str_bad(imap_parse_list_mailbox, ")", "Expected a mailbox pattern");
	str_bad(imap_parse_list_mailbox, "\\", "Expected a mailbox pattern");
}

/* ---- numbers and sequence sets ---- */

static void
num_ok(bool nz, const char *in, uint32_t want, const char *rest)
{
	char *buf = exact(in, strlen(in));
	struct imap_parser ps;
	uint32_t n = 12345;

	imap_parser_init(&ps, buf, strlen(in));
	assert_int_equal(nz ? imap_parse_nz_number(&ps, &n) :
	    imap_parse_number(&ps, &n), 0);
	assert_int_equal(n, want);
	assert_rest(&ps, rest);
	free(buf);
	prefixes(in, strlen(in));
}

static void
num_bad(bool nz, const char *in, const char *error)
{
	char *buf = exact(in, strlen(in));
	struct imap_parser ps;
	uint32_t n;

	imap_parser_init(&ps, buf, strlen(in));
	assert_int_equal(nz ? imap_parse_nz_number(&ps, &n) :
	    imap_parse_number(&ps, &n), -1);
	assert_string_equal(ps.error, error);
	free(buf);
	prefixes(in, strlen(in));
}

static void
test_number(void **state)
{
	(void)state;
	num_ok(false, "0", 0, "");
	num_ok(false, "1", 1, "");
	num_ok(false, "42 x", 42, " x");
	num_ok(false, "4294967295", 4294967295u, "");
	num_ok(false, "12a", 12, "a");
	num_bad(false, "", "Expected a number");
	num_bad(false, "-1", "Expected a number");
	num_bad(false, "+1", "Expected a number");
	num_bad(false, " 1", "Expected a number");
}

static void
test_number_overflow(void **state)
{
	(void)state;
	num_bad(false, "4294967296", "Number too large");
	num_bad(false, "99999999999", "Number too large");
	num_bad(false, "18446744073709551616", "Number too large");
	num_bad(true, "4294967296", "Number too large");
}

static void
test_nz_number(void **state)
{
	(void)state;
	num_ok(true, "1", 1, "");
	num_ok(true, "4294967295", 4294967295u, "");
	num_bad(true, "0", "Zero is not a valid number here");
	num_bad(true, "0:1", "Zero is not a valid number here");
	num_bad(true, "", "Expected a number");
	num_bad(true, "*", "Expected a number");
}

static void
seq_ok(const char *in, const struct imap_range *want, size_t n,
    const char *rest)
{
	char *buf = exact(in, strlen(in));
	struct imap_parser ps;
	struct imap_seqset set;

	imap_parser_init(&ps, buf, strlen(in));
	if (imap_parse_seqset(&ps, &set) != 0)
		fail_msg("\"%s\": %s", in, ps.error);
	assert_int_equal(set.n, n);
	for (size_t i = 0; i < n; i++) {
		assert_int_equal(set.v[i].lo, want[i].lo);
		assert_int_equal(set.v[i].hi, want[i].hi);
	}
	assert_rest(&ps, rest);
	imap_seqset_free(&set);
	assert_null(set.v);
	assert_int_equal(set.n, 0);
	free(buf);
	prefixes(in, strlen(in));
}

static void
seq_bad(const char *in)
{
	char *buf = exact(in, strlen(in));
	struct imap_parser ps;
	struct imap_seqset set;

	memset(&set, 0x5a, sizeof(set));
	imap_parser_init(&ps, buf, strlen(in));
	if (imap_parse_seqset(&ps, &set) != -1)
		fail_msg("\"%s\" accepted", in);
	assert_string_equal(ps.error, "Invalid sequence set");
	assert_null(set.v);
	assert_int_equal(set.n, 0);
	free(buf);
	prefixes(in, strlen(in));
}

#define STAR	IMAP_SEQ_STAR

static void
test_seqset_single(void **state)
{
	(void)state;
	seq_ok("1", (struct imap_range[]){ { 1, 1 } }, 1, "");
	seq_ok("4294967295 FLAGS",
	    (struct imap_range[]){ { 4294967295u, 4294967295u } }, 1,
	    " FLAGS");
	seq_ok("*", (struct imap_range[]){ { STAR, STAR } }, 1, "");
}

static void
test_seqset_ranges(void **state)
{
	(void)state;
	seq_ok("1:5", (struct imap_range[]){ { 1, 5 } }, 1, "");
	seq_ok("5:1", (struct imap_range[]){ { 5, 1 } }, 1, "");
	seq_ok("1:*", (struct imap_range[]){ { 1, STAR } }, 1, "");
	seq_ok("*:3", (struct imap_range[]){ { STAR, 3 } }, 1, "");
	seq_ok("*:*", (struct imap_range[]){ { STAR, STAR } }, 1, "");
}

static void
test_seqset_list(void **state)
{
	(void)state;
	seq_ok("1,3:4,*", (struct imap_range[]){ { 1, 1 }, { 3, 4 },
	    { STAR, STAR } }, 3, "");
	seq_ok("2,2,1 x", (struct imap_range[]){ { 2, 2 }, { 2, 2 },
	    { 1, 1 } }, 3, " x");
}

static void
test_seqset_many(void **state)
{
	char in[4000];
	struct imap_range want[1000];
	size_t len = 0;

	(void)state;
	/* Past the first growths of the range array. */
	for (unsigned int i = 0; i < 1000; i++) {
		len += (size_t)snprintf(in + len, sizeof(in) - len, "%s%u",
		    i > 0 ? "," : "", i % 9 + 1);
		want[i].lo = want[i].hi = i % 9 + 1;
	}
	assert_true(len < sizeof(in));
	seq_ok(in, want, 1000, "");
}

/* RFC 5182: "$" is the saved SEARCH result, with no ranges here. */
static void
saved_ok(const char *in, const char *rest)
{
	char *buf = exact(in, strlen(in));
	struct imap_parser ps;
	struct imap_seqset set;

	imap_parser_init(&ps, buf, strlen(in));
	assert_int_equal(imap_parse_seqset(&ps, &set), 0);
	assert_true(set.saved);
	assert_int_equal(set.n, 0);
	assert_null(set.v);
	assert_rest(&ps, rest);
	free(buf);
	prefixes(in, strlen(in));
}

static void
test_seqset_saved(void **state)
{
	struct imap_parser ps;
	struct imap_seqset set;
	char in[] = { '1' };

	(void)state;
	saved_ok("$", "");
	saved_ok("$ FLAGS", " FLAGS");
	saved_ok("$,1", ",1");
	imap_parser_init(&ps, in, sizeof(in));
	assert_int_equal(imap_parse_seqset(&ps, &set), 0);
	assert_false(set.saved);
	imap_seqset_free(&set);
}

static void
test_seqset_invalid(void **state)
{
	(void)state;
	seq_bad("0");
	seq_bad("0:1");
	seq_bad("1:0");
	seq_bad("1:");
	seq_bad(":1");
	seq_bad(",");
	seq_bad("1,");
	seq_bad("1,,2");
	seq_bad("a");
	seq_bad("");
	seq_bad("4294967296");
	seq_bad("1:4294967296");
	seq_bad(" 1");
	seq_bad("1,$");
	seq_bad("1:$");
}

/* ---- flags ---- */

static void
flags_ok(bool list_only, const char *in, uint32_t want_flags,
    const char *want_kw, const char *rest)
{
	char *buf = exact(in, strlen(in));
	struct imap_parser ps;
	struct imap_flags *f = malloc(sizeof(*f));
	int rc;

	assert_non_null(f);
	imap_parser_init(&ps, buf, strlen(in));
	rc = list_only ? imap_parse_flag_list(&ps, f) :
	    imap_parse_flags(&ps, f);
	if (rc != 0)
		fail_msg("\"%.40s\": %s", in, ps.error);
	assert_int_equal(f->flags, want_flags);
	assert_string_equal(f->keywords, want_kw);
	assert_rest(&ps, rest);
	free(f);
	free(buf);
	if (strlen(in) < 300)
		prefixes(in, strlen(in));
}

static void
flags_bad(bool list_only, const char *in, const char *error)
{
	char *buf = exact(in, strlen(in));
	struct imap_parser ps;
	struct imap_flags *f = malloc(sizeof(*f));
	int rc;

	assert_non_null(f);
	imap_parser_init(&ps, buf, strlen(in));
	rc = list_only ? imap_parse_flag_list(&ps, f) :
	    imap_parse_flags(&ps, f);
	if (rc != -1)
		fail_msg("\"%.40s\" accepted", in);
	assert_string_equal(ps.error, error);
	free(f);
	free(buf);
	if (strlen(in) < 300)
		prefixes(in, strlen(in));
}

static void
test_flags_system(void **state)
{
	(void)state;
	flags_ok(true, "(\\Seen)", STORE_FLAG_SEEN, "", "");
	flags_ok(true, "(\\Seen \\Answered \\Flagged \\Deleted \\Draft)",
	    ALL_SYSTEM_FLAGS, "", "");
	flags_ok(true, "(\\SEEN \\answered \\fLaGgEd \\DELETED \\draft)",
	    ALL_SYSTEM_FLAGS, "", "");
	flags_ok(true, "(\\Seen \\Seen) x", STORE_FLAG_SEEN, "", " x");
}

static void
test_flags_keywords(void **state)
{
	(void)state;
	flags_ok(true, "(foo $Label1 \\Draft Bar.baz)", STORE_FLAG_DRAFT,
	    "foo $Label1 Bar.baz", "");
	flags_ok(true, "($Junk)", 0, "$Junk", "");
}

static void
test_flags_recent_refused(void **state)
{
	(void)state;
	/* RFC 3501 2.3.2: \Recent is the server's to set. */
	flags_bad(true, "(\\Recent)", "Invalid system flag");
	flags_bad(true, "(\\Seen \\recent)", "Invalid system flag");
	flags_bad(false, "\\Recent", "Invalid system flag");
}

static void
test_flags_unknown_system(void **state)
{
	(void)state;
	flags_bad(true, "(\\Foo)", "Invalid system flag");
	flags_bad(true, "(\\)", "Invalid system flag");
	flags_bad(true, "(\\*)", "Invalid system flag");
	flags_bad(true, "(\\SeenX)", "Invalid system flag");
	flags_bad(true, "(\\\\Seen)", "Invalid system flag");
}

static void
test_flags_keyword_too_long(void **state)
{
	char in[LIMIT_KEYWORD_LEN + 4], kw[LIMIT_KEYWORD_LEN + 2];

	(void)state;
	memset(kw, 'k', LIMIT_KEYWORD_LEN);
	kw[LIMIT_KEYWORD_LEN] = '\0';
	snprintf(in, sizeof(in), "(%s)", kw);
	flags_ok(true, in, 0, kw, "");
	kw[LIMIT_KEYWORD_LEN] = 'k';
	kw[LIMIT_KEYWORD_LEN + 1] = '\0';
	snprintf(in, sizeof(in), "(%s)", kw);
	flags_bad(true, in, "Keyword too long");
}

static void
test_flags_too_many_keywords(void **state)
{
	size_t max = LIMIT_KEYWORDS * (LIMIT_KEYWORD_LEN + 1) + 8;
	char *in = malloc(max + LIMIT_KEYWORD_LEN + 8);
	char *kw = malloc(max);
	size_t n = 0;

	(void)state;
	assert_non_null(in);
	assert_non_null(kw);
	/* LIMIT_KEYWORDS keywords of the longest length fit exactly... */
	in[n++] = '(';
	for (unsigned int i = 0; i < LIMIT_KEYWORDS; i++) {
		if (i > 0)
			in[n++] = ' ';
		memset(in + n, 'a' + (char)(i % 26), LIMIT_KEYWORD_LEN);
		n += LIMIT_KEYWORD_LEN;
	}
	memcpy(kw, in + 1, n - 1);
	kw[n - 1] = '\0';
	strcpy(in + n, ")");
	assert_int_equal(strlen(kw), IMAP_KEYWORDS_MAX - 1);
	flags_ok(true, in, 0, kw, "");
	/* ...one more keyword does not. */
	strcpy(in + n, " z)");
	flags_bad(true, in, "Too many keywords");
	in[0] = ' ';
	flags_bad(false, in + 1, "Too many keywords");
	free(in);
	free(kw);
}

static void
test_flags_empty_list(void **state)
{
	(void)state;
	flags_ok(true, "()", 0, "", "");
	flags_ok(false, "() x", 0, "", " x");
}

static void
test_flags_list_syntax(void **state)
{
	(void)state;
	flags_bad(true, "\\Seen", "Expected a flag list");
	flags_bad(true, "", "Expected a flag list");
	flags_bad(true, "(", "Invalid flag");
	flags_bad(true, "( \\Seen)", "Invalid flag");
	flags_bad(true, "(\\Seen )", "Invalid flag");
	flags_bad(true, "(\\Seen  \\Draft)", "Invalid flag");
	flags_bad(true, "(\\Seen", "Invalid flag list");
	flags_bad(true, "(\\Seen,\\Draft)", "Invalid system flag");
	flags_bad(true, "(foo,\\Draft)", "Invalid flag list");
	flags_bad(true, "(a]b)", "Invalid flag list");
	flags_bad(true, "(\"a\")", "Invalid flag");
}

static void
test_flags_unparenthesized(void **state)
{
	(void)state;
	/* RFC 3501 9 store-att-flags: flag-list / (flag *(SP flag)). */
	flags_ok(false, "\\Seen", STORE_FLAG_SEEN, "", "");
	flags_ok(false, "\\Seen foo \\deleted", STORE_FLAG_SEEN |
	    STORE_FLAG_DELETED, "foo", "");
	flags_ok(false, "(\\Seen foo) x", STORE_FLAG_SEEN, "foo", " x");
	flags_ok(false, "foo)", 0, "foo", ")");
	flags_bad(false, "", "Invalid flag");
	flags_bad(false, "\\Seen ", "Invalid flag");
	flags_bad(false, "\\Seen \\Recent", "Invalid system flag");
	flags_bad(false, "(\\Seen", "Invalid flag list");
}

/* ---- dates ---- */

static void
dt_ok(const char *in, int64_t want)
{
	char *buf = exact(in, strlen(in));
	struct imap_parser ps;
	int64_t t = 0;

	imap_parser_init(&ps, buf, strlen(in));
	if (imap_parse_date_time(&ps, &t) != 0)
		fail_msg("%s: %s", in, ps.error);
	if (t != want)
		fail_msg("%s: %" PRId64 ", want %" PRId64, in, t, want);
	assert_true(imap_parse_at_end(&ps));
	free(buf);
	prefixes(in, strlen(in));
}

static void
dt_bad(const char *in)
{
	char *buf = exact(in, strlen(in));
	struct imap_parser ps;
	int64_t t;

	imap_parser_init(&ps, buf, strlen(in));
	if (imap_parse_date_time(&ps, &t) != -1)
		fail_msg("%s accepted", in);
	assert_string_equal(ps.error, "Invalid date-time");
	free(buf);
	prefixes(in, strlen(in));
}

static void
test_date_time_zones(void **state)
{
	(void)state;
	dt_ok("\"17-Jul-1996 02:44:25 -0700\"", 837596665);
	dt_ok("\"01-Jan-2020 00:00:00 +0000\"", 1577836800);
	dt_ok("\"29-Feb-2020 23:59:59 +0530\"", 1583000999);
	dt_ok("\"01-Jan-1970 00:00:00 +0100\"", -3600);
	dt_ok("\"29-Feb-2000 12:00:00 -1200\"", 951868800);
	dt_ok("\"01-Jan-2020 00:00:00 -0000\"", 1577836800);
	dt_ok("\"31-Dec-2019 23:59:60 +0000\"", 1577836800);
	dt_ok("\"17-jul-1996 02:44:25 -0700\"", 837596665);
}

static void
test_date_time_space_day(void **state)
{
	(void)state;
	/* date-day-fixed = (SP DIGIT) / 2DIGIT */
	dt_ok("\" 1-Jan-2020 00:00:00 +0000\"", 1577836800);
	dt_ok("\" 9-Jan-2020 00:00:00 +0000\"", 1577836800 + 8 * 86400);
	dt_bad("\"1-Jan-2020 00:00:00 +0000\"");
	dt_bad("\"  1-Jan-2020 00:00:00 +0000\"");
	dt_bad("\" 10-Jan-2020 00:00:00 +0000\"");
	dt_bad("\"001-Jan-2020 00:00:00 +0000\"");
}

static void
test_date_time_invalid_month(void **state)
{
	(void)state;
	dt_bad("\"17-Foo-1996 02:44:25 -0700\"");
	dt_bad("\"17-Ju-1996 02:44:25 -0700\"");
	dt_bad("\"17-July-1996 02:44:25 -0700\"");
	dt_bad("\"17-07-1996 02:44:25 -0700\"");
}

static void
test_date_time_invalid_day(void **state)
{
	(void)state;
	dt_bad("\"00-Jan-2020 00:00:00 +0000\"");
	dt_bad("\"32-Jan-2020 00:00:00 +0000\"");
	dt_bad("\"31-Apr-2020 00:00:00 +0000\"");
	dt_bad("\"30-Feb-2020 00:00:00 +0000\"");
	dt_ok("\"30-Apr-2020 00:00:00 +0000\"", 1588204800);
}

static void
test_date_time_feb29(void **state)
{
	(void)state;
	dt_bad("\"29-Feb-2019 00:00:00 +0000\"");
	dt_bad("\"29-Feb-1900 00:00:00 +0000\"");
	dt_ok("\"29-Feb-2000 00:00:00 +0000\"", 951782400);
	dt_ok("\"29-Feb-2024 00:00:00 +0000\"", 1709164800);
}

static void
test_date_time_invalid_time(void **state)
{
	(void)state;
	dt_bad("\"01-Jan-2020 24:00:00 +0000\"");
	dt_bad("\"01-Jan-2020 00:60:00 +0000\"");
	dt_bad("\"01-Jan-2020 00:00:61 +0000\"");
	dt_bad("\"01-Jan-2020 00:00:00 +0060\"");
	dt_bad("\"01-Jan-2020 00:00:00 0000\"");
	dt_bad("\"01-Jan-2020 00:00:00 +000\"");
	dt_bad("\"01-Jan-2020 0:00:00 +0000\"");
	dt_bad("\"01-Jan-2020 00:00 +0000\"");
	dt_bad("\"01-Jan-20 00:00:00 +0000\"");
	dt_bad("\"01-Jan-2020  00:00:00 +0000\"");
	dt_bad("\"01-Jan-2020 00:00:00 +0000 \"");
	dt_bad("\"01-Jan-2020 00:00:00 \"");
	dt_bad("\"01-Jan-2020 00:00:00 ");
}

static void
test_date_time_quotes(void **state)
{
	(void)state;
	dt_bad("01-Jan-2020 00:00:00 +0000");
	dt_bad("\"01-Jan-2020 00:00:00 +0000");
	dt_bad("01-Jan-2020 00:00:00 +0000\"");
	dt_bad("");
	dt_bad("\"\"");
}

static void
date_ok(const char *in, int64_t want, const char *rest)
{
	char *buf = exact(in, strlen(in));
	struct imap_parser ps;
	int64_t t = 0;

	imap_parser_init(&ps, buf, strlen(in));
	if (imap_parse_date(&ps, &t) != 0)
		fail_msg("%s: %s", in, ps.error);
	assert_int_equal(t, want);
	assert_rest(&ps, rest);
	free(buf);
	prefixes(in, strlen(in));
}

static void
date_bad(const char *in)
{
	char *buf = exact(in, strlen(in));
	struct imap_parser ps;
	int64_t t;

	imap_parser_init(&ps, buf, strlen(in));
	if (imap_parse_date(&ps, &t) != -1)
		fail_msg("%s accepted", in);
	assert_string_equal(ps.error, "Invalid date");
	free(buf);
	prefixes(in, strlen(in));
}

static void
test_date(void **state)
{
	(void)state;
	/* date = date-text / DQUOTE date-text DQUOTE; date-day = 1*2DIGIT */
	date_ok("1-Feb-1994", 760060800, "");
	date_ok("01-Feb-1994", 760060800, "");
	date_ok("\"1-Feb-1994\"", 760060800, "");
	date_ok("\"01-feb-1994\" SEEN", 760060800, " SEEN");
	date_ok("29-Feb-2000", 951782400, "");
	date_ok("01-Jan-1970)", 0, ")");
	/* An unquoted date ends where the date does. */
	date_ok("1-Feb-1994\"", 760060800, "\"");
}

static void
test_date_invalid(void **state)
{
	(void)state;
	date_bad("");
	date_bad("\"1-Feb-1994");
	date_bad("\"1-Feb-1994 ");
	date_bad(" 1-Feb-1994");
	date_bad("001-Feb-1994");
	date_bad("32-Jan-2020");
	date_bad("0-Jan-2020");
	date_bad("29-Feb-2019");
	date_bad("1-Xyz-2020");
	date_bad("1-Feb-94");
	date_bad("1-Feb");
	date_bad("1 Feb 1994");
}

/* ---- literal announcements (imap_reader.c) ---- */

static void
marker(const char *line, bool want, uint64_t want_size, bool want_nonsync)
{
	size_t len = strlen(line);
	char *buf = exact(line, len);
	uint64_t size = 12345;
	bool nonsync = false, got;

	got = imap_literal_marker(buf, len, &size, &nonsync);
	if (got != want)
		fail_msg("imap_literal_marker(\"%s\") = %d", line, got);
	if (want) {
		assert_int_equal(size, want_size);
		assert_int_equal(nonsync, want_nonsync);
	}
	free(buf);
}

static void
test_marker_plain(void **state)
{
	(void)state;
	marker("", false, 0, false);
	marker("a NOOP", false, 0, false);
	marker("}", false, 0, false);
	marker("a}", false, 0, false);
	marker("a {5} x", false, 0, false);
	marker("a {5}\r", false, 0, false);
}

static void
test_marker_sync(void **state)
{
	(void)state;
	marker("{12}", true, 12, false);
	marker("a LOGIN {12}", true, 12, false);
	marker("a LOGIN \"x\" {0}", true, 0, false);
	marker("a x{3}", true, 3, false);
	marker("{007}", true, 7, false);
}

static void
test_marker_nonsync(void **state)
{
	(void)state;
	marker("{12+}", true, 12, true);
	marker("a APPEND INBOX {310+}", true, 310, true);
}

static void
test_marker_invalid(void **state)
{
	(void)state;
	marker("x{}", false, 0, false);
	marker("{}", false, 0, false);
	marker("{+}", false, 0, false);
	marker("a {+}", false, 0, false);
	marker("12}", false, 0, false);
	marker("a 12+}", false, 0, false);
	marker("a {1a2}", false, 0, false);
	marker("a {12++}", false, 0, false);
	marker("a {-1}", false, 0, false);
	marker("a { 1}", false, 0, false);
}

static void
test_marker_huge(void **state)
{
	(void)state;
	marker("a {123456789012345678901234567890}", true, UINT64_MAX, false);
	marker("a {123456789012345678901234567890+}", true, UINT64_MAX,
	    true);
	marker("a {9999999999999999999}", true, 9999999999999999999u, false);
	marker("a {4294967296}", true, 4294967296u, false);
	marker("a {18446744073709551615}", true, UINT64_MAX, false);
}

/* Growing lines: only the complete announcement is one. */
static void
test_marker_growing(void **state)
{
	static const struct {
		const char *line;
		uint64_t size;
		bool nonsync;
	} lines[] = {
		{ "a LOGIN {12}", 12, false },
		{ "{12+}", 12, true },
		{ "x{}{3}", 3, false },
		{ "a APPEND INBOX (\\Seen) {1234567890123456789}",
		  1234567890123456789u, false },
		{ "a {123456789012345678901234567890+}", UINT64_MAX, true },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
		size_t len = strlen(lines[i].line);

		for (size_t n = 0; n <= len; n++) {
			char *buf = exact(lines[i].line, n);
			uint64_t size = 0;
			bool nonsync = false;
			bool got = imap_literal_marker(buf, n, &size,
			    &nonsync);

			/* "x{}{3}" holds no earlier marker. */
			if (got != (n == len))
				fail_msg("\"%.*s\": %d", (int)n,
				    lines[i].line, got);
			if (got) {
				assert_int_equal(size, lines[i].size);
				assert_int_equal(nonsync, lines[i].nonsync);
			}
			free(buf);
		}
	}
}

/*
 * A command as imap_reader.c assembles it, parsed as LOGIN parses it:
 * every line's announcement found by imap_literal_marker, the literal
 * bytes in place after the CRLF.
 */
static void
test_reader_command(void **state)
{
	static const char *const lines[] = {
		"a1 LOGIN {5}", "al ce {6+}", "s\"cr\\t",
	};
	char cmd[64];
	size_t len = 0;
	struct imap_parser ps;
	struct imap_str tag, verb, user, pass;

	(void)state;
	for (size_t i = 0; i < 3; i++) {
		const char *l = lines[i];
		size_t n = strlen(l), lit_len = 0;
		uint64_t size;
		bool nonsync;

		/* the line here is what is left after the literal bytes */
		if (i == 1)
			lit_len = 5;
		else if (i == 2)
			lit_len = 6;
		memcpy(cmd + len, l, n);
		len += n;
		if (imap_literal_marker(l + lit_len, n - lit_len, &size,
		    &nonsync)) {
			assert_int_equal(nonsync, i == 1);
			memcpy(cmd + len, "\r\n", 2);
			len += 2;
		} else {
			assert_int_equal(i, 2);
		}
	}
	assert_int_equal(len, strlen("a1 LOGIN {5}\r\nal ce {6+}\r\n"
	    "s\"cr\\t"));
	assert_memory_equal(cmd, "a1 LOGIN {5}\r\nal ce {6+}\r\ns\"cr\\t",
	    len);
	imap_parser_init(&ps, cmd, len);
	assert_int_equal(imap_parse_tag(&ps, &tag), 0);
	assert_int_equal(imap_parse_sp(&ps), 0);
	assert_int_equal(imap_parse_atom(&ps, &verb), 0);
	assert_true(imap_str_is(&verb, "LOGIN"));
	assert_int_equal(imap_parse_sp(&ps), 0);
	assert_int_equal(imap_parse_astring(&ps, &user), 0);
	assert_int_equal(imap_parse_sp(&ps), 0);
	assert_int_equal(imap_parse_astring(&ps, &pass), 0);
	assert_int_equal(imap_parse_end(&ps), 0);
	assert_int_equal(user.len, 5);
	assert_memory_equal(user.s, "al ce", 5);
	assert_int_equal(pass.len, 6);
	assert_memory_equal(pass.s, "s\"cr\\t", 6);
	prefixes(cmd, len);
}

/* ---- helpers ---- */

static void
test_str_is(void **state)
{
	struct imap_str s = { "Login", 5 };
	struct imap_str e = { "", 0 };
	struct imap_str nul = { "LOG\0N", 5 };

	(void)state;
	assert_true(imap_str_is(&s, "LOGIN"));
	assert_false(imap_str_is(&s, "LOGI"));
	assert_false(imap_str_is(&s, "LOGINX"));
	assert_false(imap_str_is(&s, "LOGOUT"));
	assert_true(imap_str_is(&e, ""));
	assert_false(imap_str_is(&e, "A"));
	assert_false(imap_str_is(&nul, "LOGIN"));
	s.len = 3;
	assert_true(imap_str_is(&s, "LOG"));
}

static void
test_str_copy(void **state)
{
	struct imap_str s = { "INBOX", 5 };
	struct imap_str nul = { "IN\0OX", 5 };
	char out[6];

	(void)state;
	memset(out, 'x', sizeof(out));
	assert_int_equal(imap_str_copy(&s, out, 6), 0);
	assert_string_equal(out, "INBOX");
	memset(out, 'x', sizeof(out));
	assert_int_equal(imap_str_copy(&s, out, 5), -1);
	assert_int_equal(out[0], 'x');
	assert_int_equal(imap_str_copy(&nul, out, 6), -1);
	s.len = 0;
	assert_int_equal(imap_str_copy(&s, out, 1), 0);
	assert_string_equal(out, "");
	assert_int_equal(imap_str_copy(&s, out, 0), -1);
}

/* ---- FETCH attributes ---- */

/* A parsed FETCH request and the buffer its strings point into. */
struct fx {
	char *buf;
	struct imap_parser ps;
	struct imap_fetch_req req;
};

static void
fetch_ok(struct fx *fx, const char *in)
{
	fx->buf = exact(in, strlen(in));
	imap_parser_init(&fx->ps, fx->buf, strlen(in));
	if (imap_fetch_parse(&fx->ps, &fx->req) != 0)
		fail_msg("\"%.60s\": %s", in, fx->ps.error);
	assert_true(imap_parse_at_end(&fx->ps));
	if (strlen(in) < 200)
		prefixes(in, strlen(in));
}

static void
fx_done(struct fx *fx)
{
	imap_fetch_req_free(&fx->req);
	free(fx->buf);
}

static void
fetch_bad(const char *in, const char *error)
{
	char *buf = exact(in, strlen(in));
	struct imap_parser ps;
	struct imap_fetch_req req;

	imap_parser_init(&ps, buf, strlen(in));
	if (imap_fetch_parse(&ps, &req) != -1)
		fail_msg("\"%.60s\" accepted", in);
	assert_string_equal(ps.error, error);
	assert_int_equal(req.nbodies, 0);
	imap_fetch_req_free(&req);
	free(buf);
	if (strlen(in) < 200)
		prefixes(in, strlen(in));
}

/* fetch_items: in parses to exactly items and no body. */
static void
fetch_items(const char *in, unsigned int items)
{
	struct fx fx;

	fetch_ok(&fx, in);
	assert_int_equal(fx.req.items, items);
	assert_int_equal(fx.req.nbodies, 0);
	fx_done(&fx);
}

static void
assert_str(const struct imap_str *s, const char *want)
{
	if (s->len != strlen(want) ||
	    (s->len > 0 && memcmp(s->s, want, s->len) != 0))
		fail_msg("\"%.*s\" != \"%s\"", (int)s->len, s->s, want);
}

/* fetch_body: in parses to one body item, described by the rest. */
static void
fetch_body(const char *in, const char *name, bool peek, const char *part,
    enum imap_section_text text, const char *fields)
{
	struct fx fx;
	const struct imap_fetch_body *b;
	char got[256] = "";

	fetch_ok(&fx, in);
	assert_int_equal(fx.req.items, 0);
	assert_int_equal(fx.req.nbodies, 1);
	b = &fx.req.bodies[0];
	assert_string_equal(b->name, name);
	assert_int_equal(b->peek, peek);
	assert_str(&b->part, part);
	assert_int_equal(b->text, text);
	for (size_t i = 0; i < b->nfields; i++)
		snprintf(got + strlen(got), sizeof(got) - strlen(got),
		    "%s%.*s", i > 0 ? "|" : "", (int)b->fields[i].len,
		    b->fields[i].s);
	assert_string_equal(got, fields);
	if (fields[0] == '\0')
		assert_null(b->fields);
	assert_false(b->partial);
	assert_int_equal(imap_fetch_sets_seen(&fx.req), !peek);
	fx_done(&fx);
}

#define FAST_ITEMS (IMAP_FETCH_FLAGS | IMAP_FETCH_INTERNALDATE | \
	IMAP_FETCH_RFC822_SIZE)

static void
test_fetch_macros(void **state)
{
	(void)state;
	/* RFC 3501 6.4.5 */
	fetch_items("ALL", FAST_ITEMS | IMAP_FETCH_ENVELOPE);
	fetch_items("FAST", FAST_ITEMS);
	fetch_items("FULL", FAST_ITEMS | IMAP_FETCH_ENVELOPE |
	    IMAP_FETCH_BODY);
	fetch_items("all", FAST_ITEMS | IMAP_FETCH_ENVELOPE);
	fetch_items("Fast", FAST_ITEMS);
}

static void
test_fetch_macros_whole_only(void **state)
{
	(void)state;
	fetch_bad("(ALL)", "Unknown FETCH attribute");
	fetch_bad("(FLAGS FAST)", "Unknown FETCH attribute");
	fetch_bad("ALL FLAGS", "Unknown FETCH attribute");
	fetch_bad("FULL)", "Unknown FETCH attribute");
	fetch_bad("ALL ", "Unknown FETCH attribute");
	fetch_bad("ALLX", "Unknown FETCH attribute");
}

static void
test_fetch_single_att(void **state)
{
	(void)state;
	fetch_items("FLAGS", IMAP_FETCH_FLAGS);
	fetch_items("uid", IMAP_FETCH_UID);
	fetch_items("INTERNALDATE", IMAP_FETCH_INTERNALDATE);
	fetch_items("RFC822.SIZE", IMAP_FETCH_RFC822_SIZE);
	fetch_items("ENVELOPE", IMAP_FETCH_ENVELOPE);
	fetch_items("BODYSTRUCTURE", IMAP_FETCH_BODYSTRUCTURE);
	fetch_bad("FLAGS UID", "Unexpected characters at the end of the "
	    "command");
	fetch_bad("FLAGS ", "Unexpected characters at the end of the "
	    "command");
	fetch_bad("", "Expected a FETCH attribute");
	fetch_bad("X-FOO", "Unknown FETCH attribute");
	fetch_bad("RFC822.SIZ", "Unknown FETCH attribute");
}

static void
test_fetch_list(void **state)
{
	(void)state;
	fetch_items("(FLAGS UID INTERNALDATE RFC822.SIZE ENVELOPE "
	    "BODYSTRUCTURE BODY)", FAST_ITEMS | IMAP_FETCH_UID |
	    IMAP_FETCH_ENVELOPE | IMAP_FETCH_BODYSTRUCTURE | IMAP_FETCH_BODY);
	fetch_items("(FLAGS)", IMAP_FETCH_FLAGS);
	fetch_items("(UID UID)", IMAP_FETCH_UID);
	fetch_bad("()", "Expected a FETCH attribute");
	fetch_bad("(FLAGS", "Missing space");
	fetch_bad("(FLAGS ", "Expected a FETCH attribute");
	fetch_bad("(FLAGS )", "Expected a FETCH attribute");
	fetch_bad("( FLAGS)", "Expected a FETCH attribute");
	fetch_bad("(FLAGS  UID)", "Expected a FETCH attribute");
	fetch_bad("(FLAGS) ", "Unexpected characters at the end of the "
	    "command");
	fetch_bad("(FLAGS))", "Unexpected characters at the end of the "
	    "command");
	fetch_bad("((FLAGS))", "Expected a FETCH attribute");
}

static void
test_fetch_body_forms(void **state)
{
	(void)state;
	/* BODY alone is the structure; BODY[] the content. */
	fetch_items("BODY", IMAP_FETCH_BODY);
	fetch_body("BODY[]", "BODY", false, "", IMAP_SECTION_NONE, "");
	fetch_body("body.peek[]", "BODY", true, "", IMAP_SECTION_NONE, "");
	fetch_body("(BODY.PEEK[TEXT])", "BODY", true, "", IMAP_SECTION_TEXT,
	    "");
}

static void
test_fetch_body_peek_needs_section(void **state)
{
	(void)state;
	fetch_bad("BODY.PEEK", "BODY.PEEK needs a section");
	fetch_bad("(UID BODY.PEEK)", "BODY.PEEK needs a section");
	fetch_bad("BODY.PEEK<0.1>", "Unknown FETCH attribute");
	fetch_bad("BODY.PEEKX[]", "Unknown FETCH attribute");
}

static void
test_fetch_sections(void **state)
{
	(void)state;
	fetch_body("BODY[HEADER]", "BODY", false, "", IMAP_SECTION_HEADER,
	    "");
	fetch_body("BODY[header]", "BODY", false, "", IMAP_SECTION_HEADER,
	    "");
	fetch_body("BODY[TEXT]", "BODY", false, "", IMAP_SECTION_TEXT, "");
	fetch_body("BODY[1]", "BODY", false, "1", IMAP_SECTION_NONE, "");
	fetch_body("BODY[1.2.3]", "BODY", false, "1.2.3", IMAP_SECTION_NONE,
	    "");
	fetch_body("BODY[10.200]", "BODY", false, "10.200",
	    IMAP_SECTION_NONE, "");
	fetch_body("BODY[1.MIME]", "BODY", false, "1", IMAP_SECTION_MIME,
	    "");
	fetch_body("BODY.PEEK[2.3.HEADER]", "BODY", true, "2.3",
	    IMAP_SECTION_HEADER, "");
	fetch_body("BODY[4.TEXT]", "BODY", false, "4", IMAP_SECTION_TEXT,
	    "");
}

static void
test_fetch_section_mime_needs_part(void **state)
{
	(void)state;
	/* RFC 3501 9: section-text "MIME" only after a section-part. */
	fetch_bad("BODY[MIME]", "Invalid section");
	fetch_bad("BODY.PEEK[mime]", "Invalid section");
}

static void
test_fetch_header_fields(void **state)
{
	(void)state;
	fetch_body("BODY[1.HEADER.FIELDS (A B)]", "BODY", false, "1",
	    IMAP_SECTION_HEADER_FIELDS, "A|B");
	fetch_body("BODY.PEEK[HEADER.FIELDS.NOT (\"X\")]", "BODY", true, "",
	    IMAP_SECTION_HEADER_FIELDS_NOT, "X");
	fetch_body("BODY[header.fields (Subject {4}\r\nDate \"Message-ID\")]",
	    "BODY", false, "", IMAP_SECTION_HEADER_FIELDS,
	    "Subject|Date|Message-ID");
	fetch_body("BODY[HEADER.FIELDS (X-A]B)]", "BODY", false, "",
	    IMAP_SECTION_HEADER_FIELDS, "X-A]B");
}

static void
test_fetch_header_fields_many(void **state)
{
	char in[2048];
	size_t n = 0;
	struct fx fx;

	(void)state;
	/* Past the first growths of the field array. */
	n += (size_t)snprintf(in + n, sizeof(in) - n, "BODY[HEADER.FIELDS (");
	for (unsigned int i = 0; i < 100; i++)
		n += (size_t)snprintf(in + n, sizeof(in) - n, "%sF%u",
		    i > 0 ? " " : "", i);
	n += (size_t)snprintf(in + n, sizeof(in) - n, ")]");
	assert_true(n < sizeof(in));
	fetch_ok(&fx, in);
	assert_int_equal(fx.req.nbodies, 1);
	assert_int_equal(fx.req.bodies[0].nfields, 100);
	assert_str(&fx.req.bodies[0].fields[99], "F99");
	fx_done(&fx);
}

static void
test_fetch_header_fields_invalid(void **state)
{
	(void)state;
	fetch_bad("BODY[HEADER.FIELDS]", "Expected a header field list");
	fetch_bad("BODY[HEADER.FIELDS ()]", "Invalid header field name");
	fetch_bad("BODY[HEADER.FIELDS (\"\")]", "Invalid header field name");
	fetch_bad("BODY[HEADER.FIELDS (A ]", "Invalid header field list");
	fetch_bad("BODY[HEADER.FIELDS (A  B)]", "Invalid header field name");
	fetch_bad("BODY[HEADER.FIELDS (A B]", "Invalid header field list");
	fetch_bad("BODY[HEADER.FIELDS (A)", "Missing ']' after the section");
	fetch_bad("BODY[HEADER.FIELDS A]", "Expected a header field list");
	fetch_bad("BODY[HEADER.FIELDS(A)]", "Expected a header field list");
	fetch_bad("BODY[TEXT (A)]", "Missing ']' after the section");
	fetch_bad("BODY[HEADER.FIELDS.NOT]", "Expected a header field list");
}

static void
test_fetch_section_invalid(void **state)
{
	(void)state;
	fetch_bad("BODY[0]", "Invalid section");
	fetch_bad("BODY[1.0]", "Invalid section");
	fetch_bad("BODY[01]", "Invalid section");
	fetch_bad("BODY[1..2]", "Invalid section");
	fetch_bad("BODY[1.]", "Invalid section");
	fetch_bad("BODY[.1]", "Invalid section");
	fetch_bad("BODY[1.2.]", "Invalid section");
	fetch_bad("BODY[1x]", "Invalid section");
	fetch_bad("BODY[1234567890]", "Invalid section");
	fetch_bad("BODY[HEADERX]", "Invalid section");
	fetch_bad("BODY[TEXT.MIME]", "Invalid section");
	fetch_bad("BODY[1.MIME.TEXT]", "Invalid section");
	fetch_bad("BODY[[]", "Invalid section");
	fetch_bad("BODY[", "Invalid section");
	fetch_bad("BODY[HEADER", "Missing ']' after the section");
	fetch_bad("BODY[1 ]", "Missing ']' after the section");
	fetch_bad("BODY[]]", "Unexpected characters at the end of the "
	    "command");
	fetch_body("BODY[123456789]", "BODY", false, "123456789",
	    IMAP_SECTION_NONE, "");
}

static void
test_fetch_partial(void **state)
{
	struct fx fx;

	(void)state;
	fetch_ok(&fx, "BODY[]<0.10>");
	assert_int_equal(fx.req.nbodies, 1);
	assert_true(fx.req.bodies[0].partial);
	assert_int_equal(fx.req.bodies[0].offset, 0);
	assert_int_equal(fx.req.bodies[0].count, 10);
	fx_done(&fx);
	fetch_ok(&fx, "(BODY.PEEK[1.TEXT]<4294967295.4294967295> UID)");
	assert_int_equal(fx.req.items, IMAP_FETCH_UID);
	assert_true(fx.req.bodies[0].partial);
	assert_int_equal(fx.req.bodies[0].offset, 4294967295u);
	assert_int_equal(fx.req.bodies[0].count, 4294967295u);
	fx_done(&fx);
}

static void
test_fetch_partial_invalid(void **state)
{
	(void)state;
	/* partial = "<" number "." nz-number ">" */
	fetch_bad("BODY[]<5.0>", "Invalid partial range");
	fetch_bad("BODY[]<5>", "Invalid partial range");
	fetch_bad("BODY[]<.5>", "Invalid partial range");
	fetch_bad("BODY[]<5.>", "Invalid partial range");
	fetch_bad("BODY[]<5.1", "Invalid partial range");
	fetch_bad("BODY[]<-1.5>", "Invalid partial range");
	fetch_bad("BODY[]<4294967296.1>", "Invalid partial range");
	fetch_bad("BODY[]<0.10> ", "Unexpected characters at the end of the "
	    "command");
	fetch_bad("BODY<0.10>", "Unknown FETCH attribute");
}

static void
test_fetch_too_many_bodies(void **state)
{
	char in[LIMIT_IMAP_FETCH_BODIES * 16 + 16];
	size_t n = 0;
	struct fx fx;

	(void)state;
	in[n++] = '(';
	for (unsigned int i = 0; i < LIMIT_IMAP_FETCH_BODIES; i++)
		n += (size_t)snprintf(in + n, sizeof(in) - n, "%sBODY[%u]",
		    i > 0 ? " " : "", i + 1);
	memcpy(in + n, ")", 2);
	fetch_ok(&fx, in);
	assert_int_equal(fx.req.nbodies, LIMIT_IMAP_FETCH_BODIES);
	fx_done(&fx);
	memcpy(in + n, " RFC822)", 9);
	fetch_bad(in, "Too many body sections in one FETCH");
	memcpy(in + n, " BODY[HEADER.FIELDS (A)])", 26);
	fetch_bad(in, "Too many body sections in one FETCH");
	/* Plain BODY (the structure) is not a section. */
	memcpy(in + n, " BODY)", 7);
	fetch_ok(&fx, in);
	assert_int_equal(fx.req.nbodies, LIMIT_IMAP_FETCH_BODIES);
	fx_done(&fx);
}

static void
test_fetch_rfc822(void **state)
{
	(void)state;
	/* RFC 3501 6.4.5: RFC822 = BODY[], RFC822.HEADER =
	 * BODY.PEEK[HEADER], RFC822.TEXT = BODY[TEXT]. */
	fetch_body("RFC822", "RFC822", false, "", IMAP_SECTION_NONE, "");
	fetch_body("RFC822.HEADER", "RFC822.HEADER", true, "",
	    IMAP_SECTION_HEADER, "");
	fetch_body("rfc822.text", "RFC822.TEXT", false, "",
	    IMAP_SECTION_TEXT, "");
	fetch_bad("RFC822[]", "Unexpected characters at the end of the "
	    "command");
	fetch_bad("RFC822.MIME", "Unknown FETCH attribute");
}

static void
test_fetch_sets_seen(void **state)
{
	struct fx fx;

	(void)state;
	fetch_ok(&fx, "(FLAGS BODY BODYSTRUCTURE)");
	assert_false(imap_fetch_sets_seen(&fx.req));
	fx_done(&fx);
	fetch_ok(&fx, "(BODY.PEEK[] RFC822.HEADER)");
	assert_false(imap_fetch_sets_seen(&fx.req));
	fx_done(&fx);
	fetch_ok(&fx, "(BODY.PEEK[] RFC822.TEXT)");
	assert_true(imap_fetch_sets_seen(&fx.req));
	fx_done(&fx);
	fetch_ok(&fx, "(BODY.PEEK[] BODY[1]<0.1>)");
	assert_true(imap_fetch_sets_seen(&fx.req));
	fx_done(&fx);
	fetch_ok(&fx, "RFC822");
	assert_true(imap_fetch_sets_seen(&fx.req));
	fx_done(&fx);
	fetch_ok(&fx, "FULL");
	assert_false(imap_fetch_sets_seen(&fx.req));
	fx_done(&fx);
}

static void
test_fetch_list_mixed(void **state)
{
	struct fx fx;

	(void)state;
	fetch_ok(&fx, "(UID RFC822.SIZE BODY.PEEK[HEADER.FIELDS (FROM TO)] "
	    "BODY[2.MIME]<10.20> FLAGS)");
	assert_int_equal(fx.req.items, IMAP_FETCH_UID |
	    IMAP_FETCH_RFC822_SIZE | IMAP_FETCH_FLAGS);
	assert_int_equal(fx.req.nbodies, 2);
	assert_int_equal(fx.req.bodies[0].text, IMAP_SECTION_HEADER_FIELDS);
	assert_int_equal(fx.req.bodies[0].nfields, 2);
	assert_str(&fx.req.bodies[0].fields[1], "TO");
	assert_true(fx.req.bodies[0].peek);
	assert_str(&fx.req.bodies[1].part, "2");
	assert_int_equal(fx.req.bodies[1].text, IMAP_SECTION_MIME);
	assert_int_equal(fx.req.bodies[1].offset, 10);
	assert_int_equal(fx.req.bodies[1].count, 20);
	fx_done(&fx);
}

/* A failure after a header list was allocated frees it (ASan: leaks). */
static void
test_fetch_failure_frees(void **state)
{
	(void)state;
	fetch_bad("(BODY[HEADER.FIELDS (A B C D E F G H I J)] X)",
	    "Unknown FETCH attribute");
	fetch_bad("BODY[HEADER.FIELDS (A B C D E F G H I J K]",
	    "Invalid header field list");
	fetch_bad("(BODY[HEADER.FIELDS (A)] BODY[HEADER.FIELDS (B)]<1.0>)",
	    "Invalid partial range");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cursor_basics),
		cmocka_unit_test(test_atom_chars),
		cmocka_unit_test(test_atom),
		cmocka_unit_test(test_atom_stops_at_nul),
		cmocka_unit_test(test_tag),
		cmocka_unit_test(test_tag_plus),
		cmocka_unit_test(test_tag_invalid),
		cmocka_unit_test(test_word),
		cmocka_unit_test(test_quoted),
		cmocka_unit_test(test_quoted_escapes),
		cmocka_unit_test(test_quoted_escape_in_place),
		cmocka_unit_test(test_quoted_invalid_escape),
		cmocka_unit_test(test_quoted_8bit),
		cmocka_unit_test(test_quoted_ctl),
		cmocka_unit_test(test_literal_zero),
		cmocka_unit_test(test_literal_sync),
		cmocka_unit_test(test_literal_nonsync),
		cmocka_unit_test(test_literal_announcement),
		cmocka_unit_test(test_literal_short),
		cmocka_unit_test(test_literal_nul),
		cmocka_unit_test(test_literal_not_quoted),
		cmocka_unit_test(test_astring),
		cmocka_unit_test(test_list_mailbox),
		cmocka_unit_test(test_number),
		cmocka_unit_test(test_number_overflow),
		cmocka_unit_test(test_nz_number),
		cmocka_unit_test(test_seqset_single),
		cmocka_unit_test(test_seqset_ranges),
		cmocka_unit_test(test_seqset_list),
		cmocka_unit_test(test_seqset_many),
		cmocka_unit_test(test_seqset_saved),
		cmocka_unit_test(test_seqset_invalid),
		cmocka_unit_test(test_flags_system),
		cmocka_unit_test(test_flags_keywords),
		cmocka_unit_test(test_flags_recent_refused),
		cmocka_unit_test(test_flags_unknown_system),
		cmocka_unit_test(test_flags_keyword_too_long),
		cmocka_unit_test(test_flags_too_many_keywords),
		cmocka_unit_test(test_flags_empty_list),
		cmocka_unit_test(test_flags_list_syntax),
		cmocka_unit_test(test_flags_unparenthesized),
		cmocka_unit_test(test_date_time_zones),
		cmocka_unit_test(test_date_time_space_day),
		cmocka_unit_test(test_date_time_invalid_month),
		cmocka_unit_test(test_date_time_invalid_day),
		cmocka_unit_test(test_date_time_feb29),
		cmocka_unit_test(test_date_time_invalid_time),
		cmocka_unit_test(test_date_time_quotes),
		cmocka_unit_test(test_date),
		cmocka_unit_test(test_date_invalid),
		cmocka_unit_test(test_marker_plain),
		cmocka_unit_test(test_marker_sync),
		cmocka_unit_test(test_marker_nonsync),
		cmocka_unit_test(test_marker_invalid),
		cmocka_unit_test(test_marker_huge),
		cmocka_unit_test(test_marker_growing),
		cmocka_unit_test(test_reader_command),
		cmocka_unit_test(test_str_is),
		cmocka_unit_test(test_str_copy),
		cmocka_unit_test(test_fetch_macros),
		cmocka_unit_test(test_fetch_macros_whole_only),
		cmocka_unit_test(test_fetch_single_att),
		cmocka_unit_test(test_fetch_list),
		cmocka_unit_test(test_fetch_body_forms),
		cmocka_unit_test(test_fetch_body_peek_needs_section),
		cmocka_unit_test(test_fetch_sections),
		cmocka_unit_test(test_fetch_section_mime_needs_part),
		cmocka_unit_test(test_fetch_header_fields),
		cmocka_unit_test(test_fetch_header_fields_many),
		cmocka_unit_test(test_fetch_header_fields_invalid),
		cmocka_unit_test(test_fetch_section_invalid),
		cmocka_unit_test(test_fetch_partial),
		cmocka_unit_test(test_fetch_partial_invalid),
		cmocka_unit_test(test_fetch_too_many_bodies),
		cmocka_unit_test(test_fetch_rfc822),
		cmocka_unit_test(test_fetch_sets_seen),
		cmocka_unit_test(test_fetch_list_mixed),
		cmocka_unit_test(test_fetch_failure_frees),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
