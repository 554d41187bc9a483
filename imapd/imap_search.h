/*
 * imap_search.h - SEARCH criteria (RFC 3501 6.4.4, 9 search-key) as a
 * tree (imap_search_parse.c), and the RFC 5322 Date parsing SENTBEFORE,
 * SENTON and SENTSINCE need (imap_date.c).
 */
#ifndef LETTERBOX_IMAP_SEARCH_H
#define LETTERBOX_IMAP_SEARCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "imapd/imap_parse.h"

enum imap_sk_type {
	IMAP_SK_ALL,
	IMAP_SK_NONE,		/* RECENT, NEW: \Recent is never set */
	IMAP_SK_AND,		/* children */
	IMAP_SK_OR,		/* two children */
	IMAP_SK_NOT,		/* one child */
	IMAP_SK_SEQSET,
	IMAP_SK_UIDSET,
	IMAP_SK_FLAG,		/* flag set */
	IMAP_SK_NOFLAG,		/* flag not set */
	IMAP_SK_KEYWORD,
	IMAP_SK_UNKEYWORD,
	IMAP_SK_BEFORE,		/* internal date, by day */
	IMAP_SK_ON,
	IMAP_SK_SINCE,
	IMAP_SK_SENTBEFORE,	/* Date: header, by day */
	IMAP_SK_SENTON,
	IMAP_SK_SENTSINCE,
	IMAP_SK_LARGER,
	IMAP_SK_SMALLER,
	IMAP_SK_HEADER,		/* field and value */
	IMAP_SK_BODY,
	IMAP_SK_TEXT,
	IMAP_SK_MODSEQ,		/* RFC 7162 3.1.5: MODSEQ >= modseq */
};

struct imap_sk {
	enum imap_sk_type type;
	struct imap_sk *child;		/* owned: first child */
	struct imap_sk *next;		/* owned: next sibling */
	struct imap_seqset set;		/* SEQSET, UIDSET */
	uint32_t flag;			/* FLAG, NOFLAG: STORE_FLAG_* */
	uint32_t size;			/* LARGER, SMALLER */
	int64_t day;			/* date keys: days since the epoch */
	uint64_t modseq;		/* MODSEQ */
	struct imap_str field;		/* HEADER: the field name */
	struct imap_str value;		/* HEADER, BODY, TEXT, KEYWORD */
	void *data;			/* the evaluator's (cmd_search.c) */
};

/* A parsed SEARCH command's arguments. */
struct imap_search {
	struct imap_sk *root;		/* owned: an AND of the keys */
	bool esearch;			/* RETURN (...) was given (RFC 4731) */
	bool modseq;			/* a MODSEQ key is used (RFC 7162) */
	unsigned int ret;		/* IMAP_SEARCH_RET_* */
};

#define IMAP_SEARCH_RET_MIN	0x01
#define IMAP_SEARCH_RET_MAX	0x02
#define IMAP_SEARCH_RET_ALL	0x04
#define IMAP_SEARCH_RET_COUNT	0x08
#define IMAP_SEARCH_RET_SAVE	0x10	/* RFC 5182 SEARCHRES */

/* The charsets SEARCH accepts; others are NO [BADCHARSET]. */
#define IMAP_SEARCH_CHARSETS "UTF-8 US-ASCII"

enum imap_search_parse_result {
	IMAP_SEARCH_OK = 0,
	IMAP_SEARCH_SYNTAX = -1,	/* ps->error says why: BAD */
	IMAP_SEARCH_BADCHARSET = -2,	/* NO [BADCHARSET] */
};

/*
 * imap_search_parse: the arguments after "SEARCH" (from the SP before
 * them) to the end of the command: [RETURN (...)] [CHARSET x] keys.
 * Nesting (parentheses, NOT, OR) is bounded by LIMIT_IMAP_LIST_DEPTH.
 * On success *search_r is filled; free with imap_search_free().
 */
int imap_search_parse(struct imap_parser *ps, struct imap_search *search_r);
/* imap_search_uses_modseq: some key of the tree is MODSEQ. */
bool imap_search_uses_modseq(const struct imap_sk *sk);
void imap_search_free(struct imap_search *search);

/* imap_date_parse: the day (days since the epoch) of an RFC 5322
 * date-time ("Tue, 1 Jul 2003 10:52:37 +0200"; obsolete forms and
 * missing weekday tolerated), in the sender's own time zone as RFC 3501
 * 6.4.4 wants for SENT*. -1 when no date can be read. */
int imap_date_parse(const char *s, size_t len, int64_t *day_r);

#endif
