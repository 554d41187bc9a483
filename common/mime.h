/*
 * mime.h - a bounded MIME parser (RFC 5322 headers, RFC 2045-2049
 * bodies, RFC 2231 parameters) that computes what IMAP answers without
 * re-reading a message: BODYSTRUCTURE, BODY and ENVELOPE (RFC 3501 7.4.2)
 * and the byte ranges of every part for section addressing.
 *
 * Input is untrusted: any bytes give a sane structure, never a crash.
 * Limits (limits.h): nesting depth, parts, header fields and header size.
 * Output strings are in IMAP syntax, byte for byte as Dovecot 2.3 sends
 * them where RFC 3501 leaves a choice (tests/data/mime/).
 *
 * Files: mime.c (part tree), mime_header.c (RFC 5322 / 2045 / 2231
 * tokens, header fields, addresses), mime_imap.c (IMAP strings).
 */
#ifndef LETTERBOX_MIME_H
#define LETTERBOX_MIME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Part flags. */
#define MIME_PART_MULTIPART	0x01	/* multipart/<any> */
#define MIME_PART_MESSAGE	0x02	/* message/rfc822: one child */
#define MIME_PART_TEXT		0x04	/* text/<any>, or untyped */

/* One part of the tree. Offsets are into the whole message. */
struct mime_part {
	size_t header_start;	/* first byte of the part's header */
	size_t body_start;	/* first byte after the blank line */
	size_t body_end;	/* one past the last body byte */
	uint64_t header_vsize;	/* header size with every LF as CRLF */
	uint64_t body_vsize;	/* RFC 3501 size (LF as CRLF) */
	uint32_t body_lines;	/* RFC 3501 size in text lines */
	unsigned int flags;	/* MIME_PART_* */
	int parent;		/* index in parts[], -1 for the root */
	int first_child;	/* -1 when none */
	int next_sibling;	/* -1 when none */
};

struct mime_message {
	struct mime_part *parts;	/* parts[0] is the message itself */
	size_t nparts;
	char *bodystructure;	/* "(...)" with extension data */
	char *body;		/* "(...)" BODY (no extension data) */
	char *envelope;		/* "(...)" ENVELOPE of the top message */
};

/*
 * mime_parse: parses len bytes of a message. Returns 0 with *msg_r filled
 * (free with mime_message_free()); it cannot fail on bad input, only
 * allocation failure is fatal. data need not be NUL-terminated.
 */
int mime_parse(const char *data, size_t len, struct mime_message *msg_r);
/* mime_message_free: frees what mime_parse() filled; msg is zeroed. */
void mime_message_free(struct mime_message *msg);

/*
 * mime_section_find: maps an IMAP section part number ("1", "1.2.3";
 * RFC 3501 6.4.5) to an index in msg->parts. Rules: in a multipart, n is
 * its n-th child; in a message/rfc822 part, numbers address the parts of
 * the embedded message (its body when that is not multipart); a
 * non-multipart message has only part "1", itself. Returns 0 with
 * *index_r, or -1 when there is no such part or the syntax is bad.
 * The caller addresses HEADER/TEXT of a message/rfc822 part through its
 * child (parts[i].first_child), and "n.MIME" through parts[i] itself.
 */
int mime_section_find(const struct mime_message *msg, const char *section,
    size_t len, size_t *index_r);

/* One header field, as mime_header_next() returns it. */
struct mime_field {
	size_t start;		/* first byte of the field name */
	size_t name_len;	/* without trailing white space */
	size_t value_start;	/* after the colon and leading white space */
	size_t value_end;	/* before the final [CR]LF; folding kept */
	size_t end;		/* one past the field's final LF */
};

/*
 * mime_header_next: iterates over the fields of the header in
 * data[*pos..end) (e.g. [header_start, body_start) of a part). Returns
 * true with *field_r and *pos advanced, false at the blank line or end.
 * A line without a colon is a field with an empty value.
 */
bool mime_header_next(const char *data, size_t end, size_t *pos,
    struct mime_field *field_r);

/* mime_field_is: true when the field's name equals name (ASCII case
 * insensitive), for HEADER.FIELDS lookups. */
bool mime_field_is(const char *data, const struct mime_field *f,
    const char *name, size_t name_len);

/*
 * mime_from_addresses: the addresses ("local@domain") of the From:
 * fields of the header at the start of data (len bytes), as parsed for
 * ENVELOPE (groups and comments understood, group names skipped), into
 * a NULL-terminated malloc'd array of malloc'd strings. Returns how
 * many (bounded by LIMIT_MIME_ADDRESSES).
 */
size_t mime_from_addresses(const char *data, size_t len, char ***addrs_r);

#ifdef MIME_INTERNAL
/*
 * Shared by mime.c, mime_header.c and mime_imap.c only; not an API.
 * Strings are NUL-terminated heap copies (a NUL in the input is stored
 * as 0x80, as Dovecot does); NULL means "absent" (NIL).
 */
#include "buf.h"

struct mime_param {
	char *name, *value;
};

struct mime_params {
	struct mime_param *v;
	unsigned int n;
};

/* An address: a group start has only mailbox (the group name); a group
 * end has all four NULL. */
struct mime_addr {
	char *name, *route, *mailbox, *domain;
};

struct mime_addrlist {
	struct mime_addr *v;	/* NULL with n == 0: NIL */
	unsigned int n;
};

struct mime_envelope {
	char *date, *subject, *in_reply_to, *message_id;
	struct mime_addrlist from, sender, reply_to, to, cc, bcc;
};

/* What BODYSTRUCTURE needs of a part's Content-* fields. */
struct mime_pdata {
	char *type, *subtype;		/* NULL: no Content-Type */
	bool type_slash;		/* "type/" was there */
	struct mime_params type_params;
	char *cte, *id, *description, *md5, *location;
	char *disposition;
	struct mime_params disp_params;
	char **language;
	unsigned int nlanguage;
	struct mime_envelope *env;	/* message parts only */
};

/* Scratch buffers of the tokenizer hold at most one header value. */
#define MIME_TOKBUF_MAX	(16 * 1024 * 1024)

/* A tokenizer over a header value (Dovecot's rfc822-parser semantics). */
struct mime_tok {
	const unsigned char *p, *end;
	struct buf *comment;	/* last comment seen, or NULL */
};

int mime_tok_skip_lwsp(struct mime_tok *t);
void mime_tok_init(struct mime_tok *t, const char *value, size_t len);
unsigned char mime_tok_peek(const struct mime_tok *t);
int mime_tok_quoted(struct mime_tok *t, struct buf *out);
int mime_tok_atom_or_dot(struct mime_tok *t, struct buf *out);
int mime_tok_phrase(struct mime_tok *t, struct buf *out);
int mime_tok_domain(struct mime_tok *t, struct buf *out);
bool mime_is_atext(unsigned char c);
void mime_buf_put(struct buf *b, const void *p, size_t n);
char *mime_buf_strdup(const struct buf *b);
int mime_tok_mime_token(struct mime_tok *t, struct buf *out);
int mime_tok_content_type(struct mime_tok *t, struct buf *out);
void mime_tok_params(struct mime_tok *t, struct mime_params *params_r);
void mime_params_free(struct mime_params *p);

char *mime_strndup(const char *s, size_t len);
void mime_header_content(struct mime_pdata *d, const char *name,
    size_t name_len, const char *value, size_t value_len);
void mime_header_envelope(struct mime_envelope *env, const char *name,
    size_t name_len, const char *value, size_t value_len);
void mime_pdata_clear(struct mime_pdata *d);
void mime_envelope_free(struct mime_envelope *env);

void mime_imap_envelope(struct buf *b, const struct mime_envelope *env);
void mime_imap_nstring(struct buf *b, const char *s);
#endif

#endif
