/*
 * imap_search_parse.c - the SEARCH grammar (RFC 3501 9 search-key, with
 * RFC 4731 search-return-opts) into a tree of struct imap_sk.
 *
 * Untrusted input: every key consumes input, so the number of nodes is
 * bounded by the command line; nesting by LIMIT_IMAP_LIST_DEPTH, so the
 * recursive descent (and the evaluator's) cannot exhaust the stack.
 */
#include <stdlib.h>
#include <string.h>

#include "common/ascii.h"
#include "common/xalloc.h"
#include "imapd/imap_search.h"
#include "store/store.h"

/* Keys without arguments. */
static const struct {
	const char *name;
	enum imap_sk_type type;
	uint32_t flag;
} simple_keys[] = {
	{ "ALL", IMAP_SK_ALL, 0 },
	{ "OLD", IMAP_SK_ALL, 0 },
	{ "NEW", IMAP_SK_NONE, 0 },
	{ "RECENT", IMAP_SK_NONE, 0 },
	{ "ANSWERED", IMAP_SK_FLAG, STORE_FLAG_ANSWERED },
	{ "DELETED", IMAP_SK_FLAG, STORE_FLAG_DELETED },
	{ "DRAFT", IMAP_SK_FLAG, STORE_FLAG_DRAFT },
	{ "FLAGGED", IMAP_SK_FLAG, STORE_FLAG_FLAGGED },
	{ "SEEN", IMAP_SK_FLAG, STORE_FLAG_SEEN },
	{ "UNANSWERED", IMAP_SK_NOFLAG, STORE_FLAG_ANSWERED },
	{ "UNDELETED", IMAP_SK_NOFLAG, STORE_FLAG_DELETED },
	{ "UNDRAFT", IMAP_SK_NOFLAG, STORE_FLAG_DRAFT },
	{ "UNFLAGGED", IMAP_SK_NOFLAG, STORE_FLAG_FLAGGED },
	{ "UNSEEN", IMAP_SK_NOFLAG, STORE_FLAG_SEEN },
};

/* Keys with a date. */
static const struct {
	const char *name;
	enum imap_sk_type type;
} date_keys[] = {
	{ "BEFORE", IMAP_SK_BEFORE },
	{ "ON", IMAP_SK_ON },
	{ "SINCE", IMAP_SK_SINCE },
	{ "SENTBEFORE", IMAP_SK_SENTBEFORE },
	{ "SENTON", IMAP_SK_SENTON },
	{ "SENTSINCE", IMAP_SK_SENTSINCE },
};

/* Keys that search a header field (RFC 3501 6.4.4). */
static const char *const header_keys[] = {
	"BCC", "CC", "FROM", "SUBJECT", "TO",
};

static void
sk_free(struct imap_sk *sk)
{
	while (sk != NULL) {
		struct imap_sk *next = sk->next;

		sk_free(sk->child);
		imap_seqset_free(&sk->set);
		free(sk);
		sk = next;
	}
}

static struct imap_sk *
sk_new(enum imap_sk_type type)
{
	struct imap_sk *sk = xcalloc(1, sizeof(*sk));

	sk->type = type;
	return sk;
}

static int parse_key(struct imap_parser *ps, unsigned int depth,
    struct imap_sk **sk_r);

/* parse_list: key *(SP key) up to the end or ')' into an AND node. */
static int
parse_list(struct imap_parser *ps, unsigned int depth, bool paren,
    struct imap_sk **sk_r)
{
	struct imap_sk *and = sk_new(IMAP_SK_AND), **tail = &and->child;

	for (;;) {
		if (parse_key(ps, depth, tail) != 0) {
			sk_free(and);
			return -1;
		}
		tail = &(*tail)->next;
		if (paren ? imap_parse_peek(ps, ')') : imap_parse_at_end(ps))
			break;
		if (imap_parse_sp(ps) != 0) {
			sk_free(and);
			return -1;
		}
	}
	*sk_r = and;
	return 0;
}

static int
parse_word_key(struct imap_parser *ps, unsigned int depth,
    const struct imap_str *word, struct imap_sk **sk_r)
{
	struct imap_sk *sk;
	size_t i;

	for (i = 0; i < sizeof(simple_keys) / sizeof(simple_keys[0]); i++) {
		if (imap_str_is(word, simple_keys[i].name)) {
			sk = sk_new(simple_keys[i].type);
			sk->flag = simple_keys[i].flag;
			*sk_r = sk;
			return 0;
		}
	}
	if (imap_parse_sp(ps) != 0)
		return imap_parse_fail(ps, "Unknown search key or missing argument");
	for (i = 0; i < sizeof(date_keys) / sizeof(date_keys[0]); i++) {
		if (imap_str_is(word, date_keys[i].name)) {
			int64_t t;

			if (imap_parse_date(ps, &t) != 0)
				return -1;
			sk = sk_new(date_keys[i].type);
			sk->day = t / 86400;
			*sk_r = sk;
			return 0;
		}
	}
	for (i = 0; i < sizeof(header_keys) / sizeof(header_keys[0]); i++) {
		if (imap_str_is(word, header_keys[i])) {
			sk = sk_new(IMAP_SK_HEADER);
			sk->field.s = header_keys[i];
			sk->field.len = strlen(header_keys[i]);
			*sk_r = sk;
			return imap_parse_astring(ps, &sk->value);
		}
	}
	if (imap_str_is(word, "HEADER")) {
		sk = sk_new(IMAP_SK_HEADER);
		*sk_r = sk;
		if (imap_parse_astring(ps, &sk->field) != 0 ||
		    imap_parse_sp(ps) != 0)
			return -1;
		return imap_parse_astring(ps, &sk->value);
	}
	if (imap_str_is(word, "BODY") || imap_str_is(word, "TEXT")) {
		sk = sk_new(imap_str_is(word, "BODY") ? IMAP_SK_BODY :
		    IMAP_SK_TEXT);
		*sk_r = sk;
		return imap_parse_astring(ps, &sk->value);
	}
	if (imap_str_is(word, "KEYWORD") || imap_str_is(word, "UNKEYWORD")) {
		sk = sk_new(imap_str_is(word, "KEYWORD") ? IMAP_SK_KEYWORD :
		    IMAP_SK_UNKEYWORD);
		*sk_r = sk;
		return imap_parse_atom(ps, &sk->value);
	}
	if (imap_str_is(word, "LARGER") || imap_str_is(word, "SMALLER")) {
		sk = sk_new(imap_str_is(word, "LARGER") ? IMAP_SK_LARGER :
		    IMAP_SK_SMALLER);
		*sk_r = sk;
		return imap_parse_number(ps, &sk->size);
	}
	if (imap_str_is(word, "UID")) {
		sk = sk_new(IMAP_SK_UIDSET);
		*sk_r = sk;
		return imap_parse_seqset(ps, &sk->set);
	}
	if (imap_str_is(word, "MODSEQ")) {
		struct imap_str entry, type;

		sk = sk_new(IMAP_SK_MODSEQ);
		*sk_r = sk;
		/* The entry name and type (per-flag MODSEQs) are read; one
		 * MODSEQ a message covers them all. */
		if (imap_parse_peek(ps, '"') &&
		    (imap_parse_string(ps, &entry) != 0 ||
		    imap_parse_sp(ps) != 0 || imap_parse_atom(ps, &type) != 0 ||
		    imap_parse_sp(ps) != 0))
			return -1;
		return imap_parse_number64(ps, &sk->modseq);
	}
	if (imap_str_is(word, "NOT")) {
		sk = sk_new(IMAP_SK_NOT);
		*sk_r = sk;
		return parse_key(ps, depth + 1, &sk->child);
	}
	if (imap_str_is(word, "OR")) {
		sk = sk_new(IMAP_SK_OR);
		*sk_r = sk;
		if (parse_key(ps, depth + 1, &sk->child) != 0 ||
		    imap_parse_sp(ps) != 0)
			return -1;
		return parse_key(ps, depth + 1, &sk->child->next);
	}
	return imap_parse_fail(ps, "Unknown search key");
}

static int
parse_key(struct imap_parser *ps, unsigned int depth, struct imap_sk **sk_r)
{
	struct imap_str word;
	struct imap_sk *sk = NULL;
	int ret;

	*sk_r = NULL;
	if (depth >= LIMIT_IMAP_LIST_DEPTH)
		return imap_parse_fail(ps, "Search keys nested too deeply");
	if (imap_parse_peek(ps, '(')) {
		ps->p++;
		if (parse_list(ps, depth + 1, true, sk_r) != 0)
			return -1;
		return imap_parse_char(ps, ')');
	}
	if (ps->p < ps->end && (ascii_is_digit((unsigned char)*ps->p) ||
	    *ps->p == '*' || *ps->p == '$')) {
		sk = sk_new(IMAP_SK_SEQSET);
		*sk_r = sk;
		return imap_parse_seqset(ps, &sk->set);
	}
	if (imap_parse_atom(ps, &word) != 0)
		return imap_parse_fail(ps, "Expected a search key");
	ret = parse_word_key(ps, depth, &word, &sk);
	*sk_r = sk;
	return ret;
}

/* parse_return: RFC 4731 "RETURN (" [opt *(SP opt)] ")". */
static int
parse_return(struct imap_parser *ps, struct imap_search *search)
{
	static const struct {
		const char *name;
		unsigned int bit;
	} opts[] = {
		{ "MIN", IMAP_SEARCH_RET_MIN },
		{ "MAX", IMAP_SEARCH_RET_MAX },
		{ "ALL", IMAP_SEARCH_RET_ALL },
		{ "COUNT", IMAP_SEARCH_RET_COUNT },
		{ "SAVE", IMAP_SEARCH_RET_SAVE },
	};

	search->esearch = true;
	if (imap_parse_sp(ps) != 0 || imap_parse_char(ps, '(') != 0)
		return imap_parse_fail(ps, "Expected RETURN options");
	while (!imap_parse_peek(ps, ')')) {
		struct imap_str opt;
		size_t i;

		if (search->ret != 0 && imap_parse_sp(ps) != 0)
			return -1;
		if (imap_parse_atom(ps, &opt) != 0)
			return imap_parse_fail(ps, "Expected a RETURN option");
		for (i = 0; i < sizeof(opts) / sizeof(opts[0]); i++)
			if (imap_str_is(&opt, opts[i].name))
				break;
		if (i == sizeof(opts) / sizeof(opts[0]))
			return imap_parse_fail(ps, "Unknown RETURN option");
		search->ret |= opts[i].bit;
	}
	ps->p++;
	/* RFC 4731 3.1: RETURN () means ALL. */
	if (search->ret == 0)
		search->ret = IMAP_SEARCH_RET_ALL;
	return imap_parse_sp(ps);
}

int
imap_search_parse(struct imap_parser *ps, struct imap_search *search_r)
{
	struct imap_parser save;
	struct imap_str word;

	memset(search_r, 0, sizeof(*search_r));
	if (imap_parse_sp(ps) != 0)
		return IMAP_SEARCH_SYNTAX;
	save = *ps;
	if (imap_parse_atom(ps, &word) == 0 && imap_str_is(&word, "RETURN")) {
		if (parse_return(ps, search_r) != 0)
			return IMAP_SEARCH_SYNTAX;
		save = *ps;
	}
	*ps = save;
	if (imap_parse_atom(ps, &word) == 0 && imap_str_is(&word, "CHARSET")) {
		struct imap_str charset;

		if (imap_parse_sp(ps) != 0 ||
		    imap_parse_astring(ps, &charset) != 0 ||
		    imap_parse_sp(ps) != 0)
			return IMAP_SEARCH_SYNTAX;
		if (!imap_str_is(&charset, "UTF-8") &&
		    !imap_str_is(&charset, "US-ASCII"))
			return IMAP_SEARCH_BADCHARSET;
		save = *ps;
	}
	*ps = save;
	if (parse_list(ps, 0, false, &search_r->root) != 0) {
		imap_search_free(search_r);
		return IMAP_SEARCH_SYNTAX;
	}
	return IMAP_SEARCH_OK;
}

bool
imap_search_uses_modseq(const struct imap_sk *sk)
{
	for (; sk != NULL; sk = sk->next)
		if (sk->type == IMAP_SK_MODSEQ ||
		    imap_search_uses_modseq(sk->child))
			return true;
	return false;
}

void
imap_search_free(struct imap_search *search)
{
	sk_free(search->root);
	search->root = NULL;
}
