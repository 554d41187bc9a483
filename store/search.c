/*
 * search.c - candidates for IMAP SEARCH (RFC 3501 6.4.4) from the
 * trigram index of body texts (schema.c body_text, filled by body.c), and
 * the indexed text itself for confirming them.
 *
 * The term is the client's: it reaches FTS5 only as quoted strings, its
 * quotes doubled, in a query bound as a parameter, so it cannot add
 * operators, columns or syntax errors. The index has no positions
 * (detail=column, schema.c), so a term's trigrams are looked up as all
 * required, anywhere in the column: a superset of the rows that hold the
 * term, which the caller confirms. The lookup is bounded: at most
 * SEARCH_TERM_CHARS characters of a term are used.
 */
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/xalloc.h"
#include "internal.h"

/* Characters of a term looked up: 62 trigrams are selective enough; a
 * longer term would only cost more doclists to intersect. */
#define SEARCH_TERM_CHARS	64
/* Trigrams: a shorter term matches nothing in the index. */
#define SEARCH_TERM_MIN		3

/* term_split: the byte offsets of the first SEARCH_TERM_CHARS characters
 * of term, and of the end of the last, into off (SEARCH_TERM_CHARS + 1
 * entries). Returns the number of characters of the whole term, or -1
 * when term is not UTF-8 (RFC 3629). */
static long
term_split(const char *term, size_t *off)
{
	const unsigned char *p = (const unsigned char *)term;
	size_t i = 0, len;
	long n = 0;

	off[0] = 0;
	while (p[i] != '\0') {
		unsigned char c = p[i];
		uint32_t cp;

		if (c < 0x80) {
			len = 1;
		} else if (c >= 0xc2 && c <= 0xf4) {
			len = c < 0xe0 ? 2 : c < 0xf0 ? 3 : 4;
			cp = c & (0x7f >> len);
			for (size_t k = 1; k < len; k++) {
				if ((p[i + k] & 0xc0) != 0x80)
					return -1;	/* also at the NUL */
				cp = (cp << 6) | (p[i + k] & 0x3f);
			}
			if ((len == 3 && (cp < 0x800 ||
			    (cp >= 0xd800 && cp <= 0xdfff))) ||
			    (len == 4 && (cp < 0x10000 || cp > 0x10ffff)))
				return -1;
		} else {
			return -1;
		}
		i += len;
		if (++n <= SEARCH_TERM_CHARS)
			off[n] = i;
	}
	return n;
}

/*
 * fts_query: the FTS5 query for term in field: every trigram of its
 * first nchars characters (offsets off) as a string, '"' doubled
 * (FTS5 3.2), all required, under the field's column filter:
 * 'hdr : ("abc" "bcd")'. (detail=column has no phrases: schema.c.)
 */
static char *
fts_query(enum store_search_field field, const char *term,
    const size_t *off, size_t nchars)
{
	struct buf q;
	const char *col = field == STORE_SEARCH_HEADER ? "hdr : (" :
	    field == STORE_SEARCH_BODY ? "body : (" : "(";
	size_t i, j;

	/* each byte of the term in at most 3 trigrams, doubled, plus 3
	 * bytes a trigram: never past the max */
	buf_init(&q, 16 + 6 * off[nchars] + 3 * nchars);
	(void)buf_append(&q, col, strlen(col));
	for (i = 0; i + 3 <= nchars; i++) {
		(void)buf_append(&q, i > 0 ? " \"" : "\"", i > 0 ? 2 : 1);
		for (j = off[i]; j < off[i + 3]; j++) {
			if (term[j] == '"')
				(void)buf_append(&q, "\"", 1);
			(void)buf_append(&q, term + j, 1);
		}
		(void)buf_append(&q, "\"", 1);
	}
	(void)buf_append(&q, ")", 2);	/* with its NUL */
	return q.data;
}

static void
uid_from_row(sqlite3_stmt *stmt, void *item)
{
	*(uint32_t *)item = (uint32_t)sqlite3_column_int64(stmt, 0);
}

static void
uid_clear(void *item)
{
	(void)item;
}

int
store_search_candidates(struct store *st, int64_t mailbox_id,
    enum store_search_field field, const char *term, uint32_t **uids_r,
    size_t *count_r)
{
	sqlite3_stmt *stmt;
	size_t off[SEARCH_TERM_CHARS + 1];
	char *query;
	void *items = NULL;
	long nchars;
	int ret;

	*uids_r = NULL;
	*count_r = 0;
	if (term == NULL || (field != STORE_SEARCH_HEADER &&
	    field != STORE_SEARCH_BODY && field != STORE_SEARCH_TEXT) ||
	    (nchars = term_split(term, off)) < SEARCH_TERM_MIN)
		return STORE_ERR_INVALID;
	if (nchars > SEARCH_TERM_CHARS)
		nchars = SEARCH_TERM_CHARS;
	/* The MATCH runs once over the whole index (its rowids into a
	 * temporary b-tree), then the mailbox's messages are looked up in
	 * it in UID order: cheaper than one FTS5 query per message. Bodies
	 * indexed in part are candidates whatever the term. */
	stmt = st_stmt(st, "SELECT uid FROM messages WHERE mailbox_id = ?1"
	    " AND body_id IN (SELECT rowid FROM body_text"
	    " WHERE body_text MATCH ?2"
	    " UNION ALL SELECT id FROM bodies WHERE text_partial != 0)"
	    " ORDER BY uid");
	if (stmt == NULL)
		return STORE_ERR_TEMP;
	query = fts_query(field, term, off, (size_t)nchars);
	sqlite3_bind_int64(stmt, 1, mailbox_id);
	sqlite3_bind_text(stmt, 2, query, -1, SQLITE_STATIC);
	ret = st_collect(st, stmt, sizeof(uint32_t), uid_from_row, uid_clear,
	    &items, count_r);
	free(query);
	if (ret == 0)
		*uids_r = items;
	return ret;
}

/* One row of store_body_text()'s statement. */
struct body_text {
	bool partial;		/* bodies.text_partial */
	bool missing;		/* no row in body_text */
	char *hdr, *body;	/* owned; NULL unless both flags are false */
};

static void
text_from_row(sqlite3_stmt *stmt, void *item)
{
	struct body_text *t = item;

	t->partial = sqlite3_column_int(stmt, 0) != 0;
	t->missing = sqlite3_column_type(stmt, 1) == SQLITE_NULL;
	if (!t->partial && !t->missing) {
		t->hdr = st_strdup_col(stmt, 1);
		t->body = st_strdup_col(stmt, 2);
	}
}

int
store_body_text(struct store *st, int64_t body_id, char **hdr_r,
    char **body_r)
{
	struct body_text t = { false, false, NULL, NULL };
	sqlite3_stmt *stmt;
	int ret;

	/* One statement: the flag and the text from one snapshot. */
	stmt = st_stmt(st, "SELECT b.text_partial, t.hdr, t.body"
	    " FROM bodies b LEFT JOIN body_text t ON t.rowid = b.id"
	    " WHERE b.id = ?");
	if (stmt == NULL)
		return STORE_ERR_TEMP;
	sqlite3_bind_int64(stmt, 1, body_id);
	if ((ret = st_step_row(st, stmt, text_from_row, &t)) != 0)
		return ret;
	/* In part, or not yet indexed (text_partial 2): decode it. */
	if (t.partial || t.missing)
		return STORE_ERR_LIMIT;
	*hdr_r = t.hdr;
	*body_r = t.body;
	return 0;
}
