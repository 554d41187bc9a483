/*
 * fuzz_imap_search.c - libFuzzer target for the SEARCH grammar
 * (imapd/imap_search_parse.c) and the Date: field reader SENT* keys use
 * (imapd/imap_date.c).
 *
 * The input is the arguments of a SEARCH command from the SP before
 * them, as imap_reader.c assembles them (a literal announcement, CRLF,
 * the literal's bytes in place), copied into a writable buffer of
 * exactly its size (quoted strings are unescaped in place). It is
 * parsed as it is, and again behind one SP when it does not start with
 * one, so mutations need not find the leading SP to reach the keys.
 * The same bytes are read as a Date: field value.
 *
 * Checked besides memory safety and leaks (a parsed tree is freed):
 * the cursor stays in the buffer, a syntax error has an error text, a
 * failure leaves no tree; a parsed tree consumed the whole command, its
 * root is one AND, OR has exactly two children, NOT one, AND at least
 * one and other keys none, nesting is within LIMIT_IMAP_LIST_DEPTH, there
 * are no more keys than input bytes, flags are single known bits,
 * sequence sets are 1..2^32-1 or '*' (or "$"), strings lie in the buffer
 * and hold no NUL, mod-sequences are below 2^63, RETURN options are
 * known bits, imap_search_uses_modseq agrees with a walk of the tree. A
 * date read is a day of the years 0 to 9999 that reads back the same
 * from "d Mon yyyy", is not moved by a zone after it, and a date not
 * read leaves the output alone.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "imapd/imap_search.h"
#include "store/store.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define ALL_SYSTEM_FLAGS (STORE_FLAG_SEEN | STORE_FLAG_ANSWERED | \
	STORE_FLAG_FLAGGED | STORE_FLAG_DELETED | STORE_FLAG_DRAFT)
#define ALL_RET (IMAP_SEARCH_RET_MIN | IMAP_SEARCH_RET_MAX | \
	IMAP_SEARCH_RET_ALL | IMAP_SEARCH_RET_COUNT | IMAP_SEARCH_RET_SAVE)

/* ---- the search tree ---- */

static char *buf_start, *buf_end;

static void
check_str(const struct imap_str *s)
{
	if (s->len == 0)
		return;
	if (s->s < buf_start || s->s > buf_end ||
	    s->len > (size_t)(buf_end - s->s))
		abort();
	if (memchr(s->s, '\0', s->len) != NULL)
		abort();
}

static void
check_set(const struct imap_seqset *set)
{
	if (set->saved) {
		if (set->n != 0 || set->v != NULL)
			abort();
		return;
	}
	if (set->n == 0 || set->v == NULL ||
	    set->n > (size_t)(buf_end - buf_start))
		abort();
	for (size_t i = 0; i < set->n; i++)
		if (set->v[i].lo < 1 || set->v[i].hi < 1 ||
		    set->v[i].lo > IMAP_SEQ_STAR ||
		    set->v[i].hi > IMAP_SEQ_STAR)
			abort();
}

static bool
one_flag(uint32_t flag)
{
	return flag != 0 && (flag & (flag - 1)) == 0 &&
	    (flag & ~(uint32_t)ALL_SYSTEM_FLAGS) == 0;
}

/* Day numbers of 1 Jan 0000 and 31 Dec 9999: IMAP dates have four
 * digits, Date: fields two to four. */
#define DAY_MIN (-719528)
#define DAY_MAX 2932896

/*
 * check_sk: sk and its subtree, sk at level (the root AND is 1); adds
 * the keys to *nodes and notes a MODSEQ in *modseq.
 */
static void
check_sk(const struct imap_sk *sk, unsigned int level, size_t *nodes,
    bool *modseq)
{
	size_t nchild = 0;

	/* Root AND and LIMIT_IMAP_LIST_DEPTH levels of keys under it. */
	if (level > LIMIT_IMAP_LIST_DEPTH + 1)
		abort();
	(*nodes)++;
	if (sk->data != NULL)
		abort();
	for (const struct imap_sk *c = sk->child; c != NULL; c = c->next) {
		check_sk(c, level + 1, nodes, modseq);
		nchild++;
	}
	switch (sk->type) {
	case IMAP_SK_AND:
		if (nchild < 1)
			abort();
		return;
	case IMAP_SK_OR:
		if (nchild != 2)
			abort();
		return;
	case IMAP_SK_NOT:
		if (nchild != 1)
			abort();
		return;
	default:
		break;
	}
	if (nchild != 0)
		abort();
	if ((sk->type == IMAP_SK_FLAG || sk->type == IMAP_SK_NOFLAG) !=
	    (sk->flag != 0))
		abort();
	if (sk->flag != 0 && !one_flag(sk->flag))
		abort();
	if (sk->type != IMAP_SK_SEQSET && sk->type != IMAP_SK_UIDSET &&
	    (sk->set.v != NULL || sk->set.n != 0 || sk->set.saved))
		abort();
	if (sk->type != IMAP_SK_HEADER && sk->field.len != 0)
		abort();
	switch (sk->type) {
	case IMAP_SK_ALL:
	case IMAP_SK_NONE:
	case IMAP_SK_FLAG:
	case IMAP_SK_NOFLAG:
	case IMAP_SK_LARGER:
	case IMAP_SK_SMALLER:
		break;
	case IMAP_SK_SEQSET:
	case IMAP_SK_UIDSET:
		check_set(&sk->set);
		break;
	case IMAP_SK_BEFORE:
	case IMAP_SK_ON:
	case IMAP_SK_SINCE:
	case IMAP_SK_SENTBEFORE:
	case IMAP_SK_SENTON:
	case IMAP_SK_SENTSINCE:
		if (sk->day < DAY_MIN || sk->day > DAY_MAX)
			abort();
		break;
	case IMAP_SK_MODSEQ:
		if (sk->modseq > (uint64_t)INT64_MAX)
			abort();
		*modseq = true;
		break;
	case IMAP_SK_HEADER:
		/* BCC, CC, FROM, SUBJECT, TO name a constant. */
		if (sk->field.s >= buf_start && sk->field.s <= buf_end)
			check_str(&sk->field);
		else if (sk->field.s == NULL ||
		    strlen(sk->field.s) != sk->field.len)
			abort();
		check_str(&sk->value);
		break;
	case IMAP_SK_KEYWORD:
	case IMAP_SK_UNKEYWORD:
		if (sk->value.len == 0)
			abort();
		check_str(&sk->value);
		break;
	case IMAP_SK_BODY:
	case IMAP_SK_TEXT:
		check_str(&sk->value);
		break;
	default:
		abort();
	}
	if (sk->type != IMAP_SK_HEADER && sk->type != IMAP_SK_KEYWORD &&
	    sk->type != IMAP_SK_UNKEYWORD && sk->type != IMAP_SK_BODY &&
	    sk->type != IMAP_SK_TEXT && sk->value.len != 0)
		abort();
}

static void
parse_search(char *buf, size_t size)
{
	struct imap_search search;
	struct imap_parser ps;
	size_t nodes = 0;
	bool modseq = false;
	int rc;

	buf_start = buf;
	buf_end = buf + size;
	imap_parser_init(&ps, buf, size);
	rc = imap_search_parse(&ps, &search);
	if (ps.p < buf_start || ps.p > buf_end || ps.end != buf_end)
		abort();
	if (rc == IMAP_SEARCH_SYNTAX || rc == IMAP_SEARCH_BADCHARSET) {
		if (search.root != NULL)
			abort();
		if (rc == IMAP_SEARCH_SYNTAX && ps.error == NULL)
			abort();
		imap_search_free(&search);
		return;
	}
	if (rc != IMAP_SEARCH_OK)
		abort();
	if (!imap_parse_at_end(&ps) || search.root == NULL ||
	    search.root->type != IMAP_SK_AND || search.root->next != NULL)
		abort();
	check_sk(search.root, 1, &nodes, &modseq);
	/* Every key consumes input; the root stands for the SP. */
	if (nodes > size)
		abort();
	if (imap_search_uses_modseq(search.root) != modseq)
		abort();
	if ((search.ret & ~(unsigned int)ALL_RET) != 0 ||
	    search.esearch != (search.ret != 0) || search.modseq)
		abort();
	imap_search_free(&search);
	if (search.root != NULL)
		abort();
}

/* ---- the Date: field ---- */

/* civil_from_days: the inverse of imap_days_from_civil (H. Hinnant). */
static void
civil_from_days(int64_t z, int64_t *y_r, unsigned int *m_r,
    unsigned int *d_r)
{
	int64_t era, doe, yoe, doy, mp;

	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = z - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d_r = (unsigned int)(doy - (153 * mp + 2) / 5 + 1);
	*m_r = (unsigned int)(mp < 10 ? mp + 3 : mp - 9);
	*y_r = yoe + era * 400 + (*m_r <= 2);
}

static void
parse_date(const uint8_t *data, size_t size)
{
	static const char zone[] = " -1200 (zone)";
	char *buf, text[32];
	int64_t day = INT64_MIN, again = INT64_MIN, y;
	unsigned int m, d;
	int rc, n;

	/* Exactly size bytes first, then with room for the zone. */
	if ((buf = malloc(size > 0 ? size : 1)) == NULL)
		abort();
	memcpy(buf, data, size);
	rc = imap_date_parse(buf, size, &day);
	free(buf);
	if (rc == -1) {
		if (day != INT64_MIN)
			abort();
		return;
	}
	if (rc != 0 || day < DAY_MIN || day > DAY_MAX)
		abort();

	/* The same day from its plain form ("JAN" as imap_months has it). */
	civil_from_days(day, &y, &m, &d);
	if (y < 0 || y > 9999 || m < 1 || m > 12 || d < 1 || d > 31)
		abort();
	n = snprintf(text, sizeof(text), "%u %s %04d", d, imap_months[m - 1],
	    (int)y);
	if (n < 0 || (size_t)n >= sizeof(text) ||
	    imap_date_parse(text, (size_t)n, &again) != 0 || again != day)
		abort();

	/* What follows the date (a zone, a comment) does not move it. */
	if ((buf = malloc(size + sizeof(zone) - 1)) == NULL)
		abort();
	memcpy(buf, data, size);
	memcpy(buf + size, zone, sizeof(zone) - 1);
	again = INT64_MIN;
	if (imap_date_parse(buf, size + sizeof(zone) - 1, &again) != 0 ||
	    again != day)
		abort();
	free(buf);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *buf;

	/* Writable, exactly size bytes: the sanitizer catches a parser
	 * that reads past its length. */
	if ((buf = malloc(size > 0 ? size : 1)) == NULL)
		abort();
	memcpy(buf, data, size);
	parse_search(buf, size);
	free(buf);

	/* Behind one SP, for inputs that lack it. */
	if (size == 0 || data[0] != ' ') {
		if ((buf = malloc(size + 1)) == NULL)
			abort();
		buf[0] = ' ';
		memcpy(buf + 1, data, size);
		parse_search(buf, size + 1);
		free(buf);
	}

	parse_date(data, size);
	return 0;
}
