/*
 * test_imap_search.c - the SEARCH grammar (imapd/imap_search_parse.c,
 * RFC 3501 6.4.4 and 9 search-key, RFC 4731 RETURN, RFC 5182 "$",
 * RFC 7162 MODSEQ) and the Date: field reader SENT* keys use
 * (imapd/imap_date.c, RFC 5322 3.3 and 4.3).
 *
 * Each input is the arguments of a SEARCH command from the SP before
 * them, as imap_reader.c hands them over (a literal is "{n}\r\n" and its
 * bytes in place), copied into a heap buffer of exactly its length with
 * no terminating NUL so AddressSanitizer catches a read past the end.
 * A parsed tree is compared whole with its rendering by dump() (type,
 * children, flags, values); dump() also checks the tree's shape (OR has
 * two children, NOT one, AND at least one, other keys none).
 *
 * A command reaches the parser whole, so the form of "fed one byte at a
 * time" here is every prefix of every input: each must parse or fail
 * with the cursor in the buffer, an error text on a syntax error, no
 * tree on failure and nothing leaked (LeakSanitizer) on any path.
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

#include "imapd/imap_search.h"
#include "store/store.h"

/* exact: a malloc'd copy of s without its NUL. */
static char *
exact(const char *s, size_t len)
{
	char *p = malloc(len > 0 ? len : 1);

	assert_non_null(p);
	memcpy(p, s, len);
	return p;
}

/* ---- rendering a tree ---- */

struct out {
	char s[8192];
	size_t len;
};

static void put(struct out *o, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
put(struct out *o, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(o->s + o->len, sizeof(o->s) - o->len, fmt, ap);
	va_end(ap);
	assert_true(n >= 0 && (size_t)n < sizeof(o->s) - o->len);
	o->len += (size_t)n;
}

/* put_str: a string quoted, '"' and '\\' escaped. */
static void
put_str(struct out *o, const struct imap_str *str)
{
	put(o, "\"");
	for (size_t i = 0; i < str->len; i++)
		put(o, str->s[i] == '"' || str->s[i] == '\\' ? "\\%c" : "%c",
		    str->s[i]);
	put(o, "\"");
}

static void
put_flag(struct out *o, uint32_t flag)
{
	switch (flag) {
	case STORE_FLAG_SEEN:
		put(o, "\\Seen");
		break;
	case STORE_FLAG_ANSWERED:
		put(o, "\\Answered");
		break;
	case STORE_FLAG_FLAGGED:
		put(o, "\\Flagged");
		break;
	case STORE_FLAG_DELETED:
		put(o, "\\Deleted");
		break;
	case STORE_FLAG_DRAFT:
		put(o, "\\Draft");
		break;
	default:
		fail_msg("flag bits 0x%x", flag);
	}
}

static void
put_set(struct out *o, const struct imap_seqset *set)
{
	if (set->saved) {
		assert_int_equal(set->n, 0);
		put(o, "$");
		return;
	}
	assert_true(set->n >= 1);
	for (size_t i = 0; i < set->n; i++) {
		const struct imap_range *r = &set->v[i];

		if (i > 0)
			put(o, ",");
		if (r->lo == IMAP_SEQ_STAR)
			put(o, "*");
		else
			put(o, "%" PRIu64, r->lo);
		if (r->hi == r->lo)
			continue;
		if (r->hi == IMAP_SEQ_STAR)
			put(o, ":*");
		else
			put(o, ":%" PRIu64, r->hi);
	}
}

static size_t
count_children(const struct imap_sk *sk)
{
	size_t n = 0;

	for (const struct imap_sk *c = sk->child; c != NULL; c = c->next)
		n++;
	return n;
}

static const char *const type_names[] = {
	[IMAP_SK_ALL] = "ALL", [IMAP_SK_NONE] = "NONE",
	[IMAP_SK_AND] = "AND", [IMAP_SK_OR] = "OR", [IMAP_SK_NOT] = "NOT",
	[IMAP_SK_SEQSET] = "SEQ", [IMAP_SK_UIDSET] = "UID",
	[IMAP_SK_FLAG] = "FLAG", [IMAP_SK_NOFLAG] = "NOFLAG",
	[IMAP_SK_KEYWORD] = "KEYWORD", [IMAP_SK_UNKEYWORD] = "UNKEYWORD",
	[IMAP_SK_BEFORE] = "BEFORE", [IMAP_SK_ON] = "ON",
	[IMAP_SK_SINCE] = "SINCE", [IMAP_SK_SENTBEFORE] = "SENTBEFORE",
	[IMAP_SK_SENTON] = "SENTON", [IMAP_SK_SENTSINCE] = "SENTSINCE",
	[IMAP_SK_LARGER] = "LARGER", [IMAP_SK_SMALLER] = "SMALLER",
	[IMAP_SK_HEADER] = "HEADER", [IMAP_SK_BODY] = "BODY",
	[IMAP_SK_TEXT] = "TEXT", [IMAP_SK_MODSEQ] = "MODSEQ",
};

/*
 * put_sk: one key and its subtree as "TYPE(args)"; checks the shape.
 * Unused fields must be zero, so a key cannot carry a stray value.
 */
static void
put_sk(struct out *o, const struct imap_sk *sk)
{
	size_t nchild = count_children(sk);

	assert_true((size_t)sk->type <
	    sizeof(type_names) / sizeof(type_names[0]));
	assert_non_null(type_names[sk->type]);
	assert_null(sk->data);
	put(o, "%s", type_names[sk->type]);
	switch (sk->type) {
	case IMAP_SK_AND:
	case IMAP_SK_OR:
	case IMAP_SK_NOT:
		if (sk->type == IMAP_SK_OR)
			assert_int_equal(nchild, 2);
		else if (sk->type == IMAP_SK_NOT)
			assert_int_equal(nchild, 1);
		else
			assert_true(nchild >= 1);
		put(o, "(");
		for (const struct imap_sk *c = sk->child; c != NULL;
		    c = c->next) {
			if (c != sk->child)
				put(o, " ");
			put_sk(o, c);
		}
		put(o, ")");
		return;
	default:
		break;
	}
	assert_int_equal(nchild, 0);
	switch (sk->type) {
	case IMAP_SK_ALL:
	case IMAP_SK_NONE:
		break;
	case IMAP_SK_SEQSET:
	case IMAP_SK_UIDSET:
		put(o, "(");
		put_set(o, &sk->set);
		put(o, ")");
		break;
	case IMAP_SK_FLAG:
	case IMAP_SK_NOFLAG:
		put(o, "(");
		put_flag(o, sk->flag);
		put(o, ")");
		break;
	case IMAP_SK_BEFORE:
	case IMAP_SK_ON:
	case IMAP_SK_SINCE:
	case IMAP_SK_SENTBEFORE:
	case IMAP_SK_SENTON:
	case IMAP_SK_SENTSINCE:
		put(o, "(%" PRId64 ")", sk->day);
		break;
	case IMAP_SK_LARGER:
	case IMAP_SK_SMALLER:
		put(o, "(%" PRIu32 ")", sk->size);
		break;
	case IMAP_SK_MODSEQ:
		put(o, "(%" PRIu64 ")", sk->modseq);
		break;
	case IMAP_SK_HEADER:
		put(o, "(");
		put_str(o, &sk->field);
		put(o, " ");
		put_str(o, &sk->value);
		put(o, ")");
		break;
	case IMAP_SK_KEYWORD:
	case IMAP_SK_UNKEYWORD:
	case IMAP_SK_BODY:
	case IMAP_SK_TEXT:
		put(o, "(");
		put_str(o, &sk->value);
		put(o, ")");
		break;
	default:
		fail_msg("unexpected type %d", (int)sk->type);
	}
	if (sk->type != IMAP_SK_FLAG && sk->type != IMAP_SK_NOFLAG)
		assert_int_equal(sk->flag, 0);
	if (sk->type != IMAP_SK_SEQSET && sk->type != IMAP_SK_UIDSET) {
		assert_null(sk->set.v);
		assert_int_equal(sk->set.n, 0);
		assert_false(sk->set.saved);
	}
	if (sk->type != IMAP_SK_LARGER && sk->type != IMAP_SK_SMALLER)
		assert_int_equal(sk->size, 0);
	if (sk->type != IMAP_SK_MODSEQ)
		assert_int_equal(sk->modseq, 0);
	if (sk->type != IMAP_SK_HEADER)
		assert_int_equal(sk->field.len, 0);
}

/* tree_depth: levels of keys under and including sk (siblings aside). */
static unsigned int
tree_depth(const struct imap_sk *sk)
{
	unsigned int max = 0;

	for (const struct imap_sk *c = sk->child; c != NULL; c = c->next) {
		unsigned int d = tree_depth(c);

		if (d > max)
			max = d;
	}
	return max + 1;
}

/* check_strings: every string of the tree lies inside buf (n bytes),
 * except HEADER's field for the header keys (BCC, CC, FROM, ...), which
 * is a NUL-terminated constant. */
static void
check_strings(const struct imap_sk *sk, const char *buf, size_t n)
{
	for (; sk != NULL; sk = sk->next) {
		if (sk->value.len > 0)
			assert_true(sk->value.s >= buf &&
			    sk->value.s + sk->value.len <= buf + n);
		if (sk->type == IMAP_SK_HEADER && sk->field.len > 0 &&
		    (sk->field.s < buf || sk->field.s > buf + n))
			assert_int_equal(strlen(sk->field.s), sk->field.len);
		else if (sk->field.len > 0)
			assert_true(sk->field.s + sk->field.len <= buf + n);
		check_strings(sk->child, buf, n);
	}
}

/* ---- running the parser ---- */

/* run: parses n bytes of in; checks what holds for any input; returns
 * the result with *search_r filled (the caller frees it) and the
 * parser's state in *ps_r. The buffer is returned in *buf_r. */
static int
run(const char *in, size_t n, struct imap_search *search_r,
    struct imap_parser *ps_r, char **buf_r)
{
	char *buf = exact(in, n);
	int rc;

	imap_parser_init(ps_r, buf, n);
	rc = imap_search_parse(ps_r, search_r);
	assert_true(rc == IMAP_SEARCH_OK || rc == IMAP_SEARCH_SYNTAX ||
	    rc == IMAP_SEARCH_BADCHARSET);
	assert_true(ps_r->p >= buf && ps_r->p <= buf + n);
	assert_ptr_equal(ps_r->end, buf + n);
	if (rc == IMAP_SEARCH_SYNTAX)
		assert_non_null(ps_r->error);
	if (rc != IMAP_SEARCH_OK) {
		assert_null(search_r->root);
	} else {
		struct out o = { .len = 0 };

		/* The keys run to the end of the command. */
		assert_true(imap_parse_at_end(ps_r));
		assert_non_null(search_r->root);
		assert_int_equal(search_r->root->type, IMAP_SK_AND);
		assert_null(search_r->root->next);
		put_sk(&o, search_r->root);
		check_strings(search_r->root, buf, n);
		/* Root AND, then at most LIMIT_IMAP_LIST_DEPTH levels. */
		assert_true(tree_depth(search_r->root) <=
		    LIMIT_IMAP_LIST_DEPTH + 1);
		assert_int_equal(search_r->ret &
		    ~(unsigned int)(IMAP_SEARCH_RET_MIN | IMAP_SEARCH_RET_MAX |
		    IMAP_SEARCH_RET_ALL | IMAP_SEARCH_RET_COUNT |
		    IMAP_SEARCH_RET_SAVE), 0);
		assert_true(search_r->esearch == (search_r->ret != 0));
		/* The parser leaves this to the caller (cmd_search.c). */
		assert_false(search_r->modseq);
	}
	*buf_r = buf;
	return rc;
}

/* prefixes: every proper prefix of in through the parser. */
static void
prefixes(const char *in, size_t len)
{
	for (size_t n = 0; n < len; n++) {
		struct imap_search search;
		struct imap_parser ps;
		char *buf;

		(void)run(in, n, &search, &ps, &buf);
		imap_search_free(&search);
		assert_null(search.root);
		free(buf);
	}
}

/* parse_ok_len: in parses; the tree renders as want (the root AND's
 * children, space-separated); ret is the RETURN options' bits. */
static void
parse_ok_ret_len(const char *in, size_t len, const char *want,
    unsigned int ret)
{
	struct imap_search search;
	struct imap_parser ps;
	struct out o = { .len = 0 };
	char *buf;
	int rc;

	rc = run(in, len, &search, &ps, &buf);
	if (rc != IMAP_SEARCH_OK)
		fail_msg("\"%.*s\": %d %s", (int)len, in, rc,
		    ps.error != NULL ? ps.error : "(no error)");
	for (const struct imap_sk *c = search.root->child; c != NULL;
	    c = c->next) {
		if (c != search.root->child)
			put(&o, " ");
		put_sk(&o, c);
	}
	if (strcmp(o.s, want) != 0)
		fail_msg("\"%.*s\": got %s, want %s", (int)len, in, o.s, want);
	assert_int_equal(search.ret, ret);
	imap_search_free(&search);
	assert_null(search.root);
	free(buf);
	prefixes(in, len);
}

static void
parse_ok(const char *in, const char *want)
{
	parse_ok_ret_len(in, strlen(in), want, 0);
}

static void
parse_ok_ret(const char *in, const char *want, unsigned int ret)
{
	parse_ok_ret_len(in, strlen(in), want, ret);
}

/* parse_bad_len: in fails with rc and, when error is not NULL, exactly
 * that text. */
static void
parse_bad_len(const char *in, size_t len, int want_rc, const char *error)
{
	struct imap_search search;
	struct imap_parser ps;
	char *buf;
	int rc;

	rc = run(in, len, &search, &ps, &buf);
	if (rc != want_rc)
		fail_msg("\"%.*s\": %d, want %d", (int)len, in, rc, want_rc);
	if (error != NULL) {
		assert_non_null(ps.error);
		if (strcmp(ps.error, error) != 0)
			fail_msg("\"%.*s\": \"%s\", want \"%s\"", (int)len, in,
			    ps.error, error);
	}
	imap_search_free(&search);
	free(buf);
	prefixes(in, len);
}

static void
parse_bad(const char *in, const char *error)
{
	parse_bad_len(in, strlen(in), IMAP_SEARCH_SYNTAX, error);
}

/* ---- simple keys ---- */

static void
test_all(void **state)
{
	struct imap_search search;
	struct imap_parser ps;
	char *buf;

	(void)state;
	parse_ok(" ALL", "ALL");
	assert_int_equal(run(" ALL", 4, &search, &ps, &buf), IMAP_SEARCH_OK);
	assert_false(search.esearch);
	assert_false(search.modseq);
	assert_int_equal(search.ret, 0);
	assert_int_equal(search.root->type, IMAP_SK_AND);
	assert_non_null(search.root->child);
	assert_int_equal(search.root->child->type, IMAP_SK_ALL);
	assert_null(search.root->child->next);
	assert_null(search.root->child->child);
	imap_search_free(&search);
	free(buf);
}

static void
test_old_new_recent(void **state)
{
	(void)state;
	/* \Recent is never set: OLD is every message, NEW and RECENT none. */
	parse_ok(" OLD", "ALL");
	parse_ok(" NEW", "NONE");
	parse_ok(" RECENT", "NONE");
}

static void
test_flag_keys(void **state)
{
	(void)state;
	parse_ok(" ANSWERED", "FLAG(\\Answered)");
	parse_ok(" DELETED", "FLAG(\\Deleted)");
	parse_ok(" DRAFT", "FLAG(\\Draft)");
	parse_ok(" FLAGGED", "FLAG(\\Flagged)");
	parse_ok(" SEEN", "FLAG(\\Seen)");
}

static void
test_unflag_keys(void **state)
{
	(void)state;
	parse_ok(" UNANSWERED", "NOFLAG(\\Answered)");
	parse_ok(" UNDELETED", "NOFLAG(\\Deleted)");
	parse_ok(" UNDRAFT", "NOFLAG(\\Draft)");
	parse_ok(" UNFLAGGED", "NOFLAG(\\Flagged)");
	parse_ok(" UNSEEN", "NOFLAG(\\Seen)");
}

/* ---- keys with arguments ---- */

static void
test_header_keys(void **state)
{
	(void)state;
	parse_ok(" BCC alice", "HEADER(\"BCC\" \"alice\")");
	parse_ok(" CC \"bob smith\"", "HEADER(\"CC\" \"bob smith\")");
	parse_ok(" FROM alice@example.org",
	    "HEADER(\"FROM\" \"alice@example.org\")");
	parse_ok(" SUBJECT \"\"", "HEADER(\"SUBJECT\" \"\")");
	parse_ok(" TO x", "HEADER(\"TO\" \"x\")");
}

static void
test_header(void **state)
{
	(void)state;
	parse_ok(" HEADER Message-ID <a@b>",
	    "HEADER(\"Message-ID\" \"<a@b>\")");
	parse_ok(" HEADER \"X-Spam Flag\" \"\"",
	    "HEADER(\"X-Spam Flag\" \"\")");
	/* RFC 3501 6.4.4: an empty value matches every message with the
	 * field; the parser just keeps it. */
	parse_ok(" HEADER List-Id \"\"", "HEADER(\"List-Id\" \"\")");
}

static void
test_body_text(void **state)
{
	(void)state;
	parse_ok(" BODY hello", "BODY(\"hello\")");
	parse_ok(" TEXT \"two words\"", "TEXT(\"two words\")");
	parse_ok(" BODY \"a\\\"b\\\\c\"", "BODY(\"a\\\"b\\\\c\")");
	/* 8-bit bytes in an unquoted string (imap_parse.c allows them). */
	parse_ok(" TEXT caf\xc3\xa9", "TEXT(\"caf\xc3\xa9\")");
}

static void
test_keyword(void **state)
{
	(void)state;
	parse_ok(" KEYWORD $Forwarded", "KEYWORD(\"$Forwarded\")");
	parse_ok(" UNKEYWORD Junk", "UNKEYWORD(\"Junk\")");
	/* flag-keyword is an atom: no quoted string, no system flag. */
	parse_bad(" KEYWORD \"Junk\"", "Expected an atom");
	parse_bad(" KEYWORD \\Seen", "Expected an atom");
}

static void
test_date_keys(void **state)
{
	(void)state;
	parse_ok(" BEFORE 1-Feb-2020", "BEFORE(18293)");
	parse_ok(" ON 01-Jan-2020", "ON(18262)");
	parse_ok(" SINCE \"1-Jul-2003\"", "SINCE(12234)");
	parse_ok(" SENTBEFORE 31-Dec-1969", "SENTBEFORE(-1)");
	parse_ok(" SENTON 29-Feb-2020", "SENTON(18321)");
	parse_ok(" SENTSINCE 1-jan-1970", "SENTSINCE(0)");
}

static void
test_larger_smaller(void **state)
{
	(void)state;
	parse_ok(" LARGER 1024", "LARGER(1024)");
	parse_ok(" SMALLER 0", "SMALLER(0)");
	parse_ok(" LARGER 4294967295", "LARGER(4294967295)");
	parse_bad(" LARGER 4294967296", "Number too large");
}

static void
test_uid(void **state)
{
	(void)state;
	parse_ok(" UID 1:3,5,7:*", "UID(1:3,5,7:*)");
	parse_ok(" UID *", "UID(*)");
	parse_ok(" UID 9:2", "UID(9:2)");
}

static void
test_seqset(void **state)
{
	(void)state;
	parse_ok(" 1", "SEQ(1)");
	parse_ok(" 1:*", "SEQ(1:*)");
	parse_ok(" *:4,2", "SEQ(*:4,2)");
	parse_ok(" 2,4:6 SEEN", "SEQ(2,4:6) FLAG(\\Seen)");
	parse_bad(" 0", "Invalid sequence set");
	parse_bad(" 1:", "Invalid sequence set");
	parse_bad(" 1,", "Invalid sequence set");
}

static void
test_saved_result(void **state)
{
	(void)state;
	/* RFC 5182 2.1: "$" as a sequence set and after UID. */
	parse_ok(" $", "SEQ($)");
	parse_ok(" UID $", "UID($)");
	parse_ok(" NOT $", "NOT(SEQ($))");
	parse_bad(" $:4", "Missing space");
}

/* ---- NOT, OR, lists ---- */

static void
test_not(void **state)
{
	(void)state;
	parse_ok(" NOT SEEN", "NOT(FLAG(\\Seen))");
	parse_ok(" NOT NOT SEEN", "NOT(NOT(FLAG(\\Seen)))");
	parse_ok(" NOT FROM x", "NOT(HEADER(\"FROM\" \"x\"))");
}

static void
test_or(void **state)
{
	(void)state;
	parse_ok(" OR SEEN FLAGGED", "OR(FLAG(\\Seen) FLAG(\\Flagged))");
	parse_ok(" OR FROM a TO b",
	    "OR(HEADER(\"FROM\" \"a\") HEADER(\"TO\" \"b\"))");
	parse_ok(" OR 1:5 UID 7", "OR(SEQ(1:5) UID(7))");
}

static void
test_paren_list(void **state)
{
	(void)state;
	parse_ok(" (SEEN)", "AND(FLAG(\\Seen))");
	parse_ok(" (SEEN FROM x 1:2)",
	    "AND(FLAG(\\Seen) HEADER(\"FROM\" \"x\") SEQ(1:2))");
	parse_ok(" ((ALL))", "AND(AND(ALL))");
	parse_ok(" (SEEN) (DELETED)", "AND(FLAG(\\Seen)) AND(FLAG(\\Deleted))");
}

static void
test_implicit_and(void **state)
{
	(void)state;
	/* RFC 3501 6.4.4: several keys all have to match; order kept. */
	parse_ok(" SEEN UNDELETED FROM x LARGER 10 1:*",
	    "FLAG(\\Seen) NOFLAG(\\Deleted) HEADER(\"FROM\" \"x\") "
	    "LARGER(10) SEQ(1:*)");
}

static void
test_nesting(void **state)
{
	(void)state;
	parse_ok(" OR NOT (SEEN FLAGGED) DELETED",
	    "OR(NOT(AND(FLAG(\\Seen) FLAG(\\Flagged))) FLAG(\\Deleted))");
	parse_ok(" NOT OR (FROM a) NOT TO b",
	    "NOT(OR(AND(HEADER(\"FROM\" \"a\")) NOT(HEADER(\"TO\" \"b\"))))");
	parse_ok(" (OR SEEN (NOT DRAFT UID 1)) SMALLER 5",
	    "AND(OR(FLAG(\\Seen) AND(NOT(FLAG(\\Draft)) UID(1)))) "
	    "SMALLER(5)");
	parse_ok(" OR OR SEEN DRAFT OR DELETED FLAGGED",
	    "OR(OR(FLAG(\\Seen) FLAG(\\Draft)) "
	    "OR(FLAG(\\Deleted) FLAG(\\Flagged)))");
}

static void
test_keys_case_insensitive(void **state)
{
	(void)state;
	parse_ok(" all", "ALL");
	parse_ok(" Seen unSeen", "FLAG(\\Seen) NOFLAG(\\Seen)");
	parse_ok(" fRoM X", "HEADER(\"FROM\" \"X\")");
	parse_ok(" header Subject Hi", "HEADER(\"Subject\" \"Hi\")");
	parse_ok(" or not answered uid 4", "OR(NOT(FLAG(\\Answered)) UID(4))");
	parse_ok(" sentsince 1-JAN-2020 larger 3 smaller 4 body b text t",
	    "SENTSINCE(18262) LARGER(3) SMALLER(4) BODY(\"b\") TEXT(\"t\")");
	parse_ok(" keyword k unkeyword u new old recent",
	    "KEYWORD(\"k\") UNKEYWORD(\"u\") NONE ALL NONE");
	parse_ok(" modseq 3", "MODSEQ(3)");
}

/* ---- the nesting limit ---- */

/*
 * Depth is counted in levels of keys: a top-level key is level 1, and
 * each '(', NOT or OR puts its keys one level further in.
 * LIMIT_IMAP_LIST_DEPTH levels are accepted, so LIMIT_IMAP_LIST_DEPTH - 1
 * nested constructs; one more is refused.
 */
#define MAX_NEST (LIMIT_IMAP_LIST_DEPTH - 1)

static char *
repeat(const char *head, const char *unit, unsigned int n, const char *mid,
    const char *tail_unit)
{
	size_t len = strlen(head) + strlen(mid) +
	    n * (strlen(unit) + strlen(tail_unit)) + 1;
	char *s = malloc(len);

	assert_non_null(s);
	strcpy(s, head);
	for (unsigned int i = 0; i < n; i++)
		strcat(s, unit);
	strcat(s, mid);
	for (unsigned int i = 0; i < n; i++)
		strcat(s, tail_unit);
	return s;
}

/* nest_ok: in parses into a tree of exactly levels levels under the
 * root AND. */
static void
nest_ok(const char *in, unsigned int levels)
{
	struct imap_search search;
	struct imap_parser ps;
	char *buf;

	if (run(in, strlen(in), &search, &ps, &buf) != IMAP_SEARCH_OK)
		fail_msg("\"%s\": %s", in, ps.error);
	assert_int_equal(tree_depth(search.root), levels + 1);
	imap_search_free(&search);
	free(buf);
	prefixes(in, strlen(in));
}

static void
test_depth_parens(void **state)
{
	char *s;

	(void)state;
	/* n parentheses: n AND levels and the key inside. */
	s = repeat(" ", "(", MAX_NEST, "ALL", ")");
	nest_ok(s, MAX_NEST + 1);
	free(s);
	s = repeat(" ", "(", MAX_NEST + 1, "ALL", ")");
	parse_bad(s, "Search keys nested too deeply");
	free(s);
	/* The limit holds inside a list of several keys too. */
	s = repeat(" SEEN ", "(SEEN ", MAX_NEST, "ALL", ")");
	nest_ok(s, MAX_NEST + 1);
	free(s);
	s = repeat(" SEEN ", "(SEEN ", MAX_NEST + 1, "ALL", ")");
	parse_bad(s, "Search keys nested too deeply");
	free(s);
}

static void
test_depth_not(void **state)
{
	char *s;

	(void)state;
	s = repeat(" ", "NOT ", MAX_NEST, "ALL", "");
	nest_ok(s, MAX_NEST + 1);
	free(s);
	s = repeat(" ", "NOT ", MAX_NEST + 1, "ALL", "");
	parse_bad(s, "Search keys nested too deeply");
	free(s);
}

static void
test_depth_or(void **state)
{
	char *s;

	(void)state;
	/* Left-nested: OR OR ... ALL SEEN SEEN ... */
	s = repeat(" ", "OR ", MAX_NEST, "ALL", " SEEN");
	nest_ok(s, MAX_NEST + 1);
	free(s);
	s = repeat(" ", "OR ", MAX_NEST + 1, "ALL", " SEEN");
	parse_bad(s, "Search keys nested too deeply");
	free(s);
	/* Right-nested: OR SEEN OR SEEN ... ALL ALL */
	s = repeat(" ", "OR SEEN ", MAX_NEST, "ALL", "");
	nest_ok(s, MAX_NEST + 1);
	free(s);
	s = repeat(" ", "OR SEEN ", MAX_NEST + 1, "ALL", "");
	parse_bad(s, "Search keys nested too deeply");
	free(s);
}

static void
test_depth_mixed(void **state)
{
	char *s;

	(void)state;
	/* '(' , NOT and OR all count toward the same limit. */
	s = repeat(" ", "(NOT OR SEEN ", MAX_NEST / 3, "ALL", ")");
	nest_ok(s, MAX_NEST / 3 * 3 + 1);
	free(s);
	assert_int_equal(MAX_NEST % 3, 0);
	s = repeat(" NOT ", "(NOT OR SEEN ", MAX_NEST / 3, "ALL", ")");
	parse_bad(s, "Search keys nested too deeply");
	free(s);
}

static void
test_depth_huge(void **state)
{
	char *s;

	(void)state;
	/* Refused at the limit, long before the stack is at risk. */
	s = repeat(" ", "(", 100000, "ALL", ")");
	{
		struct imap_search search;
		struct imap_parser ps;
		char *buf;

		assert_int_equal(run(s, strlen(s), &search, &ps, &buf),
		    IMAP_SEARCH_SYNTAX);
		assert_string_equal(ps.error, "Search keys nested too deeply");
		free(buf);
	}
	free(s);
}

/* ---- CHARSET ---- */

static void
test_charset_accepted(void **state)
{
	(void)state;
	parse_ok(" CHARSET UTF-8 ALL", "ALL");
	parse_ok(" CHARSET utf-8 SEEN", "FLAG(\\Seen)");
	parse_ok(" CHARSET US-ASCII ALL", "ALL");
	parse_ok(" CHARSET us-ascii ALL", "ALL");
	parse_ok(" CHARSET \"UTF-8\" ALL", "ALL");
	parse_ok(" CHARSET {5}\r\nUTF-8 ALL", "ALL");
	parse_ok(" charset UTF-8 TEXT x", "TEXT(\"x\")");
}

static void
test_charset_bad(void **state)
{
	(void)state;
	parse_bad_len(" CHARSET ISO-8859-1 ALL", 23, IMAP_SEARCH_BADCHARSET,
	    NULL);
	parse_bad_len(" CHARSET UTF-7 ALL", 18, IMAP_SEARCH_BADCHARSET, NULL);
	parse_bad_len(" CHARSET \"\" ALL", 15, IMAP_SEARCH_BADCHARSET, NULL);
	parse_bad_len(" CHARSET UTF8 ALL", 17, IMAP_SEARCH_BADCHARSET, NULL);
	parse_bad_len(" CHARSET UTF-8X ALL", 19, IMAP_SEARCH_BADCHARSET, NULL);
}

static void
test_charset_missing(void **state)
{
	(void)state;
	parse_bad(" CHARSET", "Missing space");
	parse_bad(" CHARSET ", "Expected a string");
	/* A charset and no key. */
	parse_bad(" CHARSET UTF-8", "Missing space");
	parse_bad(" CHARSET UTF-8 ", "Expected a search key");
	parse_bad(" CHARSET  UTF-8 ALL", "Expected a string");
	/* CHARSET comes once, before the keys. */
	parse_bad(" ALL CHARSET UTF-8", "Unknown search key");
}

/* ---- RETURN (RFC 4731) ---- */

static void
test_return_empty(void **state)
{
	(void)state;
	/* RFC 4731 3.1: RETURN () is RETURN (ALL). */
	parse_ok_ret(" RETURN () ALL", "ALL", IMAP_SEARCH_RET_ALL);
	parse_ok_ret(" return () SEEN", "FLAG(\\Seen)", IMAP_SEARCH_RET_ALL);
}

static void
test_return_options(void **state)
{
	(void)state;
	parse_ok_ret(" RETURN (MIN) ALL", "ALL", IMAP_SEARCH_RET_MIN);
	parse_ok_ret(" RETURN (MAX) ALL", "ALL", IMAP_SEARCH_RET_MAX);
	parse_ok_ret(" RETURN (COUNT) ALL", "ALL", IMAP_SEARCH_RET_COUNT);
	parse_ok_ret(" RETURN (ALL) ALL", "ALL", IMAP_SEARCH_RET_ALL);
	parse_ok_ret(" RETURN (SAVE) ALL", "ALL", IMAP_SEARCH_RET_SAVE);
	parse_ok_ret(" RETURN (MIN MAX COUNT ALL SAVE) UNSEEN",
	    "NOFLAG(\\Seen)", IMAP_SEARCH_RET_MIN | IMAP_SEARCH_RET_MAX |
	    IMAP_SEARCH_RET_COUNT | IMAP_SEARCH_RET_ALL |
	    IMAP_SEARCH_RET_SAVE);
	parse_ok_ret(" RETURN (count min) ALL", "ALL",
	    IMAP_SEARCH_RET_COUNT | IMAP_SEARCH_RET_MIN);
	parse_ok_ret(" RETURN (MIN MIN) ALL", "ALL", IMAP_SEARCH_RET_MIN);
	/* RETURN, then CHARSET, then the keys. */
	parse_ok_ret(" RETURN (SAVE) CHARSET UTF-8 $", "SEQ($)",
	    IMAP_SEARCH_RET_SAVE);
}

static void
test_return_unknown(void **state)
{
	(void)state;
	parse_bad(" RETURN (FOO) ALL", "Unknown RETURN option");
	parse_bad(" RETURN (MIN FOO) ALL", "Unknown RETURN option");
	/* RFC 9394 PARTIAL is not offered. */
	parse_bad(" RETURN (PARTIAL 1:10) ALL", "Unknown RETURN option");
	parse_bad(" RETURN (MINI) ALL", "Unknown RETURN option");
}

static void
test_return_syntax(void **state)
{
	(void)state;
	parse_bad(" RETURN", "Expected RETURN options");
	parse_bad(" RETURN ALL", "Expected RETURN options");
	parse_bad(" RETURN (", "Expected a RETURN option");
	parse_bad(" RETURN (MIN", "Missing space");
	parse_bad(" RETURN ( MIN) ALL", "Expected a RETURN option");
	parse_bad(" RETURN (MIN  MAX) ALL", "Expected a RETURN option");
	parse_bad(" RETURN (MIN)ALL", "Missing space");
	parse_bad(" RETURN ()", "Missing space");
	parse_bad(" RETURN () ", "Expected a search key");
	/* RETURN comes before CHARSET and only once. */
	parse_bad(" CHARSET UTF-8 RETURN () ALL", "Unknown search key");
	parse_bad(" RETURN () RETURN () ALL", "Unknown search key");
}

/* ---- MODSEQ (RFC 7162 3.1.5) ---- */

static void
test_modseq(void **state)
{
	(void)state;
	parse_ok(" MODSEQ 5", "MODSEQ(5)");
	parse_ok(" MODSEQ 0", "MODSEQ(0)");
	parse_ok(" MODSEQ 9223372036854775799", "MODSEQ(9223372036854775799)");
	/* Per-flag entries are read and cover the whole message. */
	parse_ok(" MODSEQ \"/flags/\\\\seen\" all 620162338",
	    "MODSEQ(620162338)");
	parse_ok(" MODSEQ \"/flags/$Junk\" priv 7 SEEN",
	    "MODSEQ(7) FLAG(\\Seen)");
	parse_ok(" NOT MODSEQ \"/flags/\\\\draft\" shared 1",
	    "NOT(MODSEQ(1))");
}

static void
test_modseq_syntax(void **state)
{
	(void)state;
	parse_bad(" MODSEQ", "Unknown search key or missing argument");
	parse_bad(" MODSEQ x", "Expected a number");
	/* RFC 7162 7: a mod-sequence is below 2^63. (imap_parse_number64
	 * also refuses 2^63 - 8 to 2^63 - 1, which are valid.) */
	parse_bad(" MODSEQ 9223372036854775808", "Number too large");
	parse_bad(" MODSEQ 99999999999999999999", "Number too large");
	/* "5" is an atom: read as the entry type, then no SP. */
	parse_bad(" MODSEQ \"/flags/\\\\seen\" 5", "Missing space");
	parse_bad(" MODSEQ \"/flags/\\\\seen\" all", "Missing space");
	parse_bad(" MODSEQ \"/flags/\\\\seen\" all x", "Expected a number");
	parse_bad(" MODSEQ \"/flags/\\\\seen", "Unterminated quoted string");
}

/* uses_modseq: the parsed tree of in has (want) a MODSEQ key. */
static void
uses_modseq(const char *in, bool want)
{
	struct imap_search search;
	struct imap_parser ps;
	char *buf;

	assert_int_equal(run(in, strlen(in), &search, &ps, &buf),
	    IMAP_SEARCH_OK);
	if (imap_search_uses_modseq(search.root) != want)
		fail_msg("\"%s\": uses_modseq != %d", in, want);
	imap_search_free(&search);
	free(buf);
}

static void
test_uses_modseq(void **state)
{
	(void)state;
	assert_false(imap_search_uses_modseq(NULL));
	uses_modseq(" ALL", false);
	uses_modseq(" OR (SEEN NOT FROM x) UID 1:*", false);
	uses_modseq(" MODSEQ 1", true);
	uses_modseq(" SEEN MODSEQ 1", true);
	uses_modseq(" NOT MODSEQ 1", true);
	uses_modseq(" OR SEEN (DRAFT (NOT MODSEQ 2))", true);
	uses_modseq(" OR MODSEQ 2 SEEN", true);
	uses_modseq(" RETURN (COUNT) CHARSET UTF-8 (ALL) SEEN MODSEQ 3", true);
}

/* ---- errors ---- */

static void
test_missing_arguments(void **state)
{
	(void)state;
	parse_bad(" FROM", "Unknown search key or missing argument");
	parse_bad(" FROM ", "Expected a string");
	parse_bad(" FROM )", "Expected a string");
	parse_bad(" BCC", "Unknown search key or missing argument");
	parse_bad(" SUBJECT (", "Expected a string");
	parse_bad(" LARGER x", "Expected a number");
	parse_bad(" LARGER", "Unknown search key or missing argument");
	parse_bad(" SMALLER -1", "Expected a number");
	parse_bad(" BEFORE 32-Jan-2020", "Invalid date");
	parse_bad(" BEFORE 30-Feb-2020", "Invalid date");
	parse_bad(" SINCE 1-Foo-2020", "Invalid date");
	parse_bad(" ON 1-Jan-20", "Invalid date");
	parse_bad(" SENTON \"1-Jan-2020", "Invalid date");
	parse_bad(" SENTSINCE", "Unknown search key or missing argument");
	parse_bad(" HEADER", "Unknown search key or missing argument");
	parse_bad(" HEADER Subject", "Missing space");
	parse_bad(" HEADER Subject ", "Expected a string");
	parse_bad(" BODY", "Unknown search key or missing argument");
	parse_bad(" TEXT ", "Expected a string");
	parse_bad(" KEYWORD", "Unknown search key or missing argument");
	parse_bad(" UNKEYWORD ", "Expected an atom");
	parse_bad(" UID", "Unknown search key or missing argument");
	parse_bad(" UID x", "Invalid sequence set");
	parse_bad(" NOT", "Unknown search key or missing argument");
	parse_bad(" NOT ", "Expected a search key");
	parse_bad(" OR SEEN", "Missing space");
	parse_bad(" OR SEEN ", "Expected a search key");
	parse_bad(" OR", "Unknown search key or missing argument");
	parse_bad(" (SEEN", "Missing space");
	parse_bad(" (SEEN ", "Expected a search key");
}

static void
test_unknown_key(void **state)
{
	(void)state;
	parse_bad(" FOO", "Unknown search key or missing argument");
	parse_bad(" FOO BAR", "Unknown search key");
	parse_bad(" SEEN XYZ", "Unknown search key or missing argument");
	parse_bad(" SEENX", "Unknown search key or missing argument");
	parse_bad(" \"ALL\"", "Expected a search key");
	parse_bad(" {3}\r\nALL", "Expected a search key");
	parse_bad(" %", "Expected a search key");
	/* RFC 5032 OLDER/YOUNGER and RFC 6203 FUZZY are not offered. */
	parse_bad(" OLDER 10", "Unknown search key");
	parse_bad(" FUZZY TEXT x", "Unknown search key");
}

static void
test_trailing_junk(void **state)
{
	(void)state;
	parse_bad(" ALL)", "Missing space");
	parse_bad(" ALL ", "Expected a search key");
	parse_bad(" ALL  SEEN", "Expected a search key");
	parse_bad(" (ALL))", "Missing space");
	parse_bad(" (ALL) )", "Expected a search key");
	parse_bad(" ALL\r\n", "Missing space");
	parse_bad(" FROM x)", "Missing space");
	parse_bad(" 1:2)", "Missing space");
	parse_bad(" LARGER 12x", "Missing space");
	parse_bad(" SINCE 1-Jan-2020x", "Missing space");
	parse_bad(" SUBJECT \"a\"b", "Missing space");
	parse_bad(" SUBJECT {1}\r\nab", "Missing space");
}

static void
test_no_keys(void **state)
{
	(void)state;
	parse_bad("", "Missing space");
	parse_bad("ALL", "Missing space");
	parse_bad(" ", "Expected a search key");
	parse_bad("  ALL", "Expected a search key");
	parse_bad(" ()", "Expected a search key");
	parse_bad(" (ALL ())", "Expected a search key");
	parse_bad(" )", "Expected a search key");
}

/* ---- strings ---- */

static void
test_literal_strings(void **state)
{
	(void)state;
	/* As the reader lays out a command: "{n}", CRLF, n bytes. */
	parse_ok(" SUBJECT {3}\r\nabc", "HEADER(\"SUBJECT\" \"abc\")");
	parse_ok(" SUBJECT {3}\r\nabc SEEN",
	    "HEADER(\"SUBJECT\" \"abc\") FLAG(\\Seen)");
	parse_ok(" BODY {5+}\r\nhello", "BODY(\"hello\")");
	parse_ok(" TEXT {0}\r\n", "TEXT(\"\")");
	/* A literal holds anything but NUL: specials and line ends too. */
	parse_ok(" TEXT {6}\r\n) (\r\n\"", "TEXT(\") (\r\n\\\"\")");
	parse_ok(" HEADER {7}\r\nX-Thing {2}\r\nhi",
	    "HEADER(\"X-Thing\" \"hi\")");
	parse_ok(" (FROM {1}\r\na) OR TO {1}\r\nb CC {1}\r\nc",
	    "AND(HEADER(\"FROM\" \"a\")) "
	    "OR(HEADER(\"TO\" \"b\") HEADER(\"CC\" \"c\"))");
	parse_ok(" CHARSET UTF-8 TEXT {4}\r\ncaf\xc3",
	    "TEXT(\"caf\xc3\")");
}

static void
test_literal_errors(void **state)
{
	(void)state;
	parse_bad(" SUBJECT {4}\r\nabc", "Literal shorter than announced");
	parse_bad(" SUBJECT {3}abc", "Invalid literal announcement");
	parse_bad(" SUBJECT {3}\nabc", "Invalid literal announcement");
	parse_bad(" SUBJECT {x}\r\nabc", "Invalid literal size");
	parse_bad(" SUBJECT {4294967296}\r\n", "Literal too large");
	parse_bad_len(" SUBJECT {3}\r\na\0c", 17, IMAP_SEARCH_SYNTAX,
	    "NUL in a literal");
}

static void
test_quoted_strings(void **state)
{
	struct imap_search search;
	struct imap_parser ps;
	const struct imap_sk *sk;
	char *buf;

	(void)state;
	parse_ok(" FROM \"a b\" TO \"(c)\"",
	    "HEADER(\"FROM\" \"a b\") HEADER(\"TO\" \"(c)\")");
	parse_bad(" FROM \"a\r\nb\"", "Invalid character in a quoted string");
	parse_bad(" FROM \"a\\nb\"", "Invalid escape in a quoted string");
	parse_bad(" FROM \"ab", "Unterminated quoted string");
	/* Unescaped in place: the value points into the command buffer. */
	assert_int_equal(run(" HEADER \"X\\\"Y\" \"v\\\\\"", 20, &search, &ps,
	    &buf), IMAP_SEARCH_OK);
	sk = search.root->child;
	assert_ptr_equal(sk->field.s, buf + 9);
	assert_int_equal(sk->field.len, 3);
	assert_memory_equal(sk->field.s, "X\"Y", 3);
	assert_ptr_equal(sk->value.s, buf + 16);
	assert_int_equal(sk->value.len, 2);
	assert_memory_equal(sk->value.s, "v\\", 2);
	imap_search_free(&search);
	free(buf);
}

/* Failures after nodes, sets and strings were made free all of them
 * (LeakSanitizer reports what they would not). */
static void
test_error_paths_free(void **state)
{
	static const char *const bad[] = {
		" 1:5 UID 1,2,3 (SEEN 4:7 (UID 8:9 FOO))",
		" OR (1:3 UID 4) (NOT UID 5 6 ",
		" OR UID 1:* NOT",
		" NOT (UID 1,2 HEADER a b 3,4",
		" (((UID 1 2 3 FROM x)) BEFORE 1-Jan-2020 UID 5:6) )",
		" OR 1 2 3)",
		" HEADER x",
		" OR NOT 1:2 (UID 3 LARGER q)",
		" UID 1:2,3 NOT UID 4:",
		" RETURN (MIN) CHARSET UTF-8 1:2 UID 3 KEYWORD \"k\"",
		" (FROM {3}\r\nabc UID 1,2 TEXT {9}\r\nshort",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		parse_bad(bad[i], NULL);
	/* The whole tree freed on success too, sets and all. */
	parse_ok(" OR (UID 1:2,5 3,4) NOT (1:* $)",
	    "OR(AND(UID(1:2,5) SEQ(3,4)) NOT(AND(SEQ(1:*) SEQ($))))");
}

/* ---- imap_date_parse (RFC 5322 3.3, 4.3) ---- */

/* date_ok: the len bytes of s read as day want; every prefix of s reads
 * or fails without reading past it. */
static void
date_ok_len(const char *s, size_t len, int64_t want)
{
	char *buf = exact(s, len);
	int64_t day = INT64_MIN;

	if (imap_date_parse(buf, len, &day) != 0)
		fail_msg("\"%.*s\" refused", (int)len, s);
	if (day != want)
		fail_msg("\"%.*s\": day %" PRId64 ", want %" PRId64, (int)len,
		    s, day, want);
	free(buf);
	for (size_t n = 0; n < len; n++) {
		int rc;

		buf = exact(s, n);
		rc = imap_date_parse(buf, n, &day);
		assert_true(rc == 0 || rc == -1);
		free(buf);
	}
}

static void
date_ok(const char *s, int64_t want)
{
	date_ok_len(s, strlen(s), want);
}

static void
date_bad(const char *s)
{
	char *buf = exact(s, strlen(s));
	int64_t day = 12345;

	if (imap_date_parse(buf, strlen(s), &day) != -1)
		fail_msg("\"%s\" read as day %" PRId64, s, day);
	/* Nothing written on failure. */
	assert_int_equal(day, 12345);
	free(buf);
}

static void
test_date_rfc5322(void **state)
{
	(void)state;
	date_ok("Tue, 1 Jul 2003 10:52:37 +0200", 12234);
	date_ok("Tue, 01 Jul 2003 10:52:37 +0200", 12234);
	date_ok("Sat, 29 Feb 2020 00:00:00 +0000", 18321);
	date_ok("Thu, 1 Jan 1970 00:00:00 +0000", 0);
	/* Case does not matter for names. */
	date_ok("tue, 1 JUL 2003 10:52:37 +0200", 12234);
}

static void
test_date_no_weekday(void **state)
{
	(void)state;
	date_ok("1 Jul 2003 10:52:37 +0200", 12234);
	date_ok("19 Jan 2038 03:14:07 +0000", 24855);
	date_ok("1 Mar 2000", 11017);
}

static void
test_date_two_digit_year(void **state)
{
	(void)state;
	/* RFC 5322 4.3: 00-49 are 2000-2049, 50-99 are 1950-1999. */
	date_ok("Wed, 1 Jan 03 00:00:00 GMT", 12053);
	date_ok("1 Jan 49 00:00 +0000", 28855);
	date_ok("1 Jan 50 00:00 +0000", -7305);
	date_ok("31 Dec 99 23:59 -0800", 10956);
	date_ok("1 Jan 00", 10957);
}

static void
test_date_three_digit_year(void **state)
{
	(void)state;
	/* RFC 5322 4.3: a three-digit year has 1900 added. */
	date_ok("Wed, 1 Jan 103 00:00:00 +0000", 12053);
	date_ok("1 Jan 100", 10957);
	date_ok("31 Dec 099", 10956);
}

static void
test_date_four_digit_year(void **state)
{
	(void)state;
	date_ok("1 Jan 1900", -25567);
	date_ok("1 Jan 1601 00:00 +0000", -134774);
	date_ok("31 Dec 2024 23:59:59 +0000", 20088);
	date_ok("31 Dec 9999", 2932896);
	/* Four digits with leading zeros are a four-digit year. */
	date_ok("1 Jan 0001", -719162);
}

static void
test_date_comments(void **state)
{
	(void)state;
	/* RFC 5322 3.3/4.3: CFWS around the tokens. */
	date_ok("Tue, 1 Jul 2003 10:52:37 +0200 (CEST)", 12234);
	date_ok("(x) Tue, 1 Jul 2003 10:52:37 +0200", 12234);
	date_ok("Tue (weekday), 1 Jul 2003", 12234);
	date_ok("Tue,(c)1(day)Jul(month)2003(year) 10:52", 12234);
	date_ok("Tue, 1 (a (nested) comment) Jul 2003", 12234);
	date_ok("Tue, 1 (a \\) quoted-pair) Jul 2003", 12234);
	date_ok("Tue, 1 Jul (\r\n folded) 2003", 12234);
	date_bad("Tue, 1 (unterminated Jul 2003");
	date_bad("(1 Jul 2003)");
}

static void
test_date_odd_spacing(void **state)
{
	(void)state;
	date_ok("   Tue,1 Jul 2003", 12234);
	date_ok("Tue ,  1  Jul   2003", 12234);
	date_ok("\t1\tJul\t2003", 12234);
	date_ok("Tue,\r\n 1 Jul\r\n 2003 10:52:37 +0200", 12234);
	date_ok("1Jul2003", 12234);
	date_ok("Tue 1 Jul 2003", 12234);
}

static void
test_date_known_days(void **state)
{
	(void)state;
	date_ok("1 Jan 1970", 0);
	date_ok("31 Dec 1969", -1);
	date_ok("1 Mar 2000", 11017);
	date_ok("29 Feb 2000", 11016);
	date_ok("14 Mar 2021", 18700);
	date_ok("19 Jan 2038", 24855);
}

static void
test_date_zone_no_shift(void **state)
{
	(void)state;
	/* RFC 3501 6.4.4: the day in the sender's zone, not UTC's. */
	date_ok("Tue, 1 Jul 2003 23:59:59 -1200", 12234);
	date_ok("Tue, 1 Jul 2003 00:00:00 +1400", 12234);
	date_ok("Tue, 1 Jul 2003 23:30:00 EST", 12234);
	date_ok("Tue, 1 Jul 2003 00:30:00 +0000", 12234);
}

static void
test_date_garbage(void **state)
{
	(void)state;
	date_bad("");
	date_bad("   ");
	date_bad("garbage");
	date_bad("Tue, ");
	date_bad("Tue, Jul 2003");
	date_bad("Tue Jul  1 10:52:37 2003");	/* asctime() */
	date_bad("2003-07-01T10:52:37Z");	/* ISO 8601 */
	date_bad("1 Foo 2003");
	date_bad("1 Ju");
	date_bad("1 Jul");
	date_bad("1 Jul ");
	date_bad("1 July 2003");
	date_bad("0 Jul 2003");
	date_bad("32 Jul 2003");
	date_bad("-1 Jul 2003");
	date_bad(",1 Jul 2003");
	date_bad("Tue,, 1 Jul 2003");
}

static void
test_date_invalid_day(void **state)
{
	(void)state;
	/* A day the month does not have is no date (not a day of the
	 * next month). */
	date_bad("31 Apr 2003");
	date_bad("30 Feb 2000");
	date_bad("29 Feb 2003");
	date_bad("29 Feb 1900");
	date_ok("29 Feb 2000", 11016);
	date_ok("30 Apr 2003", 12172);
	date_ok("31 Dec 2003", 12417);
}

static void
test_date_year_digits(void **state)
{
	(void)state;
	/* RFC 5322: year is 4*DIGIT, obs-year 2*DIGIT: one digit is not
	 * a year, nor is a number longer than four read in part. */
	date_bad("1 Jul 3");
	date_bad("1 Jul 3 10:52:37 +0200");
	date_bad("1 Jul 20031");
	date_bad("1 Jul 200312:00");
	date_ok("1 Jul 2003 12:00", 12234);
}

static void
test_date_length_respected(void **state)
{
	static const char s[] = "1 Jul 2003";
	int64_t day;

	(void)state;
	/* Only len bytes are looked at: "1 Jul 20" is 2020. */
	date_ok_len(s, 8, 18444);
	assert_int_equal(imap_date_parse(s, 5, &day), -1);
	assert_int_equal(imap_date_parse(s, 0, &day), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_all),
		cmocka_unit_test(test_old_new_recent),
		cmocka_unit_test(test_flag_keys),
		cmocka_unit_test(test_unflag_keys),
		cmocka_unit_test(test_header_keys),
		cmocka_unit_test(test_header),
		cmocka_unit_test(test_body_text),
		cmocka_unit_test(test_keyword),
		cmocka_unit_test(test_date_keys),
		cmocka_unit_test(test_larger_smaller),
		cmocka_unit_test(test_uid),
		cmocka_unit_test(test_seqset),
		cmocka_unit_test(test_saved_result),
		cmocka_unit_test(test_not),
		cmocka_unit_test(test_or),
		cmocka_unit_test(test_paren_list),
		cmocka_unit_test(test_implicit_and),
		cmocka_unit_test(test_nesting),
		cmocka_unit_test(test_keys_case_insensitive),
		cmocka_unit_test(test_depth_parens),
		cmocka_unit_test(test_depth_not),
		cmocka_unit_test(test_depth_or),
		cmocka_unit_test(test_depth_mixed),
		cmocka_unit_test(test_depth_huge),
		cmocka_unit_test(test_charset_accepted),
		cmocka_unit_test(test_charset_bad),
		cmocka_unit_test(test_charset_missing),
		cmocka_unit_test(test_return_empty),
		cmocka_unit_test(test_return_options),
		cmocka_unit_test(test_return_unknown),
		cmocka_unit_test(test_return_syntax),
		cmocka_unit_test(test_modseq),
		cmocka_unit_test(test_modseq_syntax),
		cmocka_unit_test(test_uses_modseq),
		cmocka_unit_test(test_missing_arguments),
		cmocka_unit_test(test_unknown_key),
		cmocka_unit_test(test_trailing_junk),
		cmocka_unit_test(test_no_keys),
		cmocka_unit_test(test_literal_strings),
		cmocka_unit_test(test_literal_errors),
		cmocka_unit_test(test_quoted_strings),
		cmocka_unit_test(test_error_paths_free),
		cmocka_unit_test(test_date_rfc5322),
		cmocka_unit_test(test_date_no_weekday),
		cmocka_unit_test(test_date_two_digit_year),
		cmocka_unit_test(test_date_three_digit_year),
		cmocka_unit_test(test_date_four_digit_year),
		cmocka_unit_test(test_date_comments),
		cmocka_unit_test(test_date_odd_spacing),
		cmocka_unit_test(test_date_known_days),
		cmocka_unit_test(test_date_zone_no_shift),
		cmocka_unit_test(test_date_garbage),
		cmocka_unit_test(test_date_invalid_day),
		cmocka_unit_test(test_date_year_digits),
		cmocka_unit_test(test_date_length_respected),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
