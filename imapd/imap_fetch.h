/*
 * imap_fetch.h - what a FETCH asks for (RFC 3501 6.4.5): the parsed
 * fetch attributes (imap_fetch_parse.c) and the extraction of body
 * sections from a message (imap_section.c).
 */
#ifndef LETTERBOX_IMAP_FETCH_H
#define LETTERBOX_IMAP_FETCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "common/mime.h"
#include "imapd/imap_parse.h"

#define IMAP_FETCH_FLAGS		0x01
#define IMAP_FETCH_UID			0x02
#define IMAP_FETCH_INTERNALDATE		0x04
#define IMAP_FETCH_RFC822_SIZE		0x08
#define IMAP_FETCH_ENVELOPE		0x10
#define IMAP_FETCH_BODY			0x20	/* BODY without a section */
#define IMAP_FETCH_BODYSTRUCTURE	0x40
#define IMAP_FETCH_MODSEQ		0x80	/* RFC 7162 3.1.4 */

enum imap_section_text {
	IMAP_SECTION_NONE,		/* BODY[] or BODY[1.2] */
	IMAP_SECTION_HEADER,
	IMAP_SECTION_HEADER_FIELDS,
	IMAP_SECTION_HEADER_FIELDS_NOT,
	IMAP_SECTION_TEXT,
	IMAP_SECTION_MIME,
};

/* One BODY[...] item, or RFC822 / RFC822.HEADER / RFC822.TEXT. */
struct imap_fetch_body {
	const char *name;		/* "BODY", "RFC822", "RFC822.HEADER",
					   "RFC822.TEXT" (the response's) */
	bool peek;			/* does not set \Seen */
	struct imap_str part;		/* "1.2.3" or empty */
	enum imap_section_text text;
	struct imap_str *fields;	/* owned: HEADER.FIELDS names */
	size_t nfields;
	bool partial;			/* <offset.count> */
	uint32_t offset, count;
};

struct imap_fetch_req {
	unsigned int items;		/* IMAP_FETCH_* */
	/* RFC 7162 3.1.4.2 CHANGEDSINCE and 3.2.6 VANISHED modifiers. */
	bool changedsince;
	uint64_t modseq;
	bool vanished;
	struct imap_fetch_body bodies[LIMIT_IMAP_FETCH_BODIES];
	size_t nbodies;
};

/* imap_fetch_parse: the fetch attributes after "FETCH set SP" (a macro,
 * one attribute, or a parenthesized list) and the fetch modifiers of
 * RFC 7162 (" (CHANGEDSINCE n [VANISHED])") up to the end of the command.
 * Returns 0 with *req_r (free with imap_fetch_req_free()), or -1 with
 * ps->error. */
int imap_fetch_parse(struct imap_parser *ps, struct imap_fetch_req *req_r);
void imap_fetch_req_free(struct imap_fetch_req *req);
/* imap_fetch_sets_seen: some item is a non-PEEK body. */
bool imap_fetch_sets_seen(const struct imap_fetch_req *req);

/*
 * imap_section_extract: the octets of section b of the message data[0,
 * len) parsed as mime. Returns 1 with *out_r and *out_len_r pointing into
 * data or into scratch (HEADER.FIELDS builds its answer there), 0 when
 * the part does not exist (the answer is NIL). The partial range is not
 * applied.
 */
int imap_section_extract(const char *data, size_t len,
    const struct mime_message *mime, const struct imap_fetch_body *b,
    struct buf *scratch, const char **out_r, size_t *out_len_r);

#endif
