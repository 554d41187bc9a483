/*
 * imap_parse.h - the IMAP4rev1 grammar (RFC 3501 9) over one complete
 * command: the command line with its literals in place, as the wire
 * carries them ("... {5}\r\nhello ..."), assembled by imap_reader.c.
 *
 * A parser is a cursor over that buffer. Each imap_parse_* function
 * consumes one grammar element and returns 0, or -1 with ps->error set to
 * a short reason (the text of the BAD answer) and the cursor anywhere.
 * Quoted strings are unescaped in place, so the buffer must be writable;
 * results (struct imap_str) point into it and live as long as it does.
 */
#ifndef LETTERBOX_IMAP_PARSE_H
#define LETTERBOX_IMAP_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/limits.h"

/* A string inside the command buffer; not NUL-terminated. */
struct imap_str {
	const char *s;
	size_t len;
};

struct imap_parser {
	char *p;		/* next byte */
	char *end;		/* one past the last byte */
	const char *error;	/* set by a failing function */
};

void imap_parser_init(struct imap_parser *ps, char *data, size_t len);
/* imap_parse_fail: sets ps->error and returns -1 (for grammar functions
 * built on these). */
int imap_parse_fail(struct imap_parser *ps, const char *error);
/* imap_parse_at_end: true when the whole command was consumed. */
bool imap_parse_at_end(const struct imap_parser *ps);
/* imap_parse_end: 0 at the end of the command, -1 ("junk after ...")
 * otherwise. */
int imap_parse_end(struct imap_parser *ps);
/* imap_parse_peek: true when the next byte is c. */
bool imap_parse_peek(const struct imap_parser *ps, char c);
/* imap_parse_char: consumes the byte c (SP, '(', ')', '[' ...). */
int imap_parse_char(struct imap_parser *ps, char c);
int imap_parse_sp(struct imap_parser *ps);

/* tag: 1*<ASTRING-CHAR except "+">. */
int imap_parse_tag(struct imap_parser *ps, struct imap_str *tag_r);
/* atom: 1*ATOM-CHAR (a command name, a keyword, a search key). */
int imap_parse_atom(struct imap_parser *ps, struct imap_str *atom_r);
/* imap_parse_word: 1*<ATOM-CHAR or '.', '[', ']'>... up to SP, '(' or
 * ')' or '[': the name of a FETCH attribute ("BODY.PEEK", "RFC822.SIZE"). */
int imap_parse_word(struct imap_parser *ps, struct imap_str *word_r);
/* string: quoted (unescaped) or literal. NUL bytes are refused: no IMAP
 * argument Letterbox takes may hold one. */
int imap_parse_string(struct imap_parser *ps, struct imap_str *str_r);
/* astring: 1*ASTRING-CHAR or string. */
int imap_parse_astring(struct imap_parser *ps, struct imap_str *str_r);
/* list-mailbox: 1*list-char (ATOM-CHAR, '%', '*', ']') or string. */
int imap_parse_list_mailbox(struct imap_parser *ps, struct imap_str *str_r);
/* imap_parse_literal8: a literal whose bytes may be anything (APPEND's
 * message); a quoted string is refused. */
int imap_parse_literal(struct imap_parser *ps, struct imap_str *data_r);

/* number: 1*DIGIT that fits in 32 bits; nz-number: and is not 0. */
int imap_parse_number(struct imap_parser *ps, uint32_t *n_r);
int imap_parse_nz_number(struct imap_parser *ps, uint32_t *n_r);
/* imap_parse_number64: a mod-sequence value (RFC 7162 7: < 2^63). */
int imap_parse_number64(struct imap_parser *ps, uint64_t *n_r);

/* A sequence set (RFC 3501 9 sequence-set): ranges in any order; a range
 * end may be '*' (IMAP_SEQ_STAR), meaning the largest number in use. */
#define IMAP_SEQ_STAR ((uint64_t)1 << 32)
struct imap_range {
	uint64_t lo, hi;	/* as written: lo may exceed hi */
};
struct imap_seqset {
	struct imap_range *v;	/* owned: free with imap_seqset_free() */
	size_t n;
	bool saved;		/* "$": the saved SEARCH result (RFC 5182) */
};
int imap_parse_seqset(struct imap_parser *ps, struct imap_seqset *set_r);
void imap_seqset_free(struct imap_seqset *set);
/* imap_seqset_has: x is in one of the set's ranges, '*' being star. */
bool imap_seqset_has(const struct imap_seqset *set, uint32_t x,
    uint32_t star);

/* Flags of a flag list (RFC 3501 flag-list, or a single flag with
 * list == false): system flags as STORE_FLAG_* bits, keywords
 * space-separated. \Recent and unknown system flags are refused. */
#define IMAP_KEYWORDS_MAX (LIMIT_KEYWORDS * (LIMIT_KEYWORD_LEN + 1))
struct imap_flags {
	uint32_t flags;
	char keywords[IMAP_KEYWORDS_MAX + 1];
};
int imap_parse_flag_list(struct imap_parser *ps, struct imap_flags *flags_r);
/* imap_parse_flags: a flag list, or flags separated by SP without
 * parentheses (STORE accepts both, RFC 3501 9 store-att-flags). */
int imap_parse_flags(struct imap_parser *ps, struct imap_flags *flags_r);

/* date-time: "dd-Mon-yyyy hh:mm:ss +zzzz" as seconds since the epoch. */
int imap_parse_date_time(struct imap_parser *ps, int64_t *time_r);
/* date: dd-Mon-yyyy, quoted or not, as the epoch second of its 00:00 UTC. */
int imap_parse_date(struct imap_parser *ps, int64_t *time_r);

/* imap_days_from_civil: days since 1970-01-01 of a proleptic Gregorian
 * date, month 1..12 (H. Hinnant's algorithm). */
int64_t imap_days_from_civil(int64_t y, unsigned int m, unsigned int d);
/* imap_months: "JAN" ... "DEC". */
extern const char *const imap_months[12];

/* imap_literal_marker: when the line (len bytes, no line end) ends with
 * a literal announcement "{n}" or "{n+}", returns true with *size_r and
 * *nonsync_r; false otherwise. *size_r may be huge: callers check it
 * against their limit before reading. */
bool imap_literal_marker(const char *line, size_t len, uint64_t *size_r,
    bool *nonsync_r);

/* imap_is_atom_char: RFC 3501 ATOM-CHAR. */
bool imap_is_atom_char(unsigned char c);
/* imap_str_is: the string equals word, an upper-case literal, ignoring
 * ASCII case. */
bool imap_str_is(const struct imap_str *str, const char *word);
/* imap_str_copy: the string as a C string into out (size bytes); -1 when
 * it does not fit or holds a NUL. */
int imap_str_copy(const struct imap_str *str, char *out, size_t size);

#endif
