/*
 * imap_section.c - the octets of a FETCH body section (RFC 3501 6.4.5):
 * HEADER, HEADER.FIELDS[.NOT], TEXT, MIME and part numbers, located with
 * the MIME parser's part offsets.
 *
 * Rules (as Dovecot answers them): BODY[n] of a part is its body;
 * n.MIME is the part's own header; n.HEADER and n.TEXT address the
 * message inside a message/rfc822 part (empty for another part);
 * HEADER.FIELDS keeps the matching fields in their order, folding
 * included, and ends with the blank line.
 */
#include <string.h>

#include "imapd/imap_fetch.h"

static bool
field_listed(const char *data, const struct mime_field *f,
    const struct imap_fetch_body *b)
{
	for (size_t i = 0; i < b->nfields; i++)
		if (mime_field_is(data, f, b->fields[i].s, b->fields[i].len))
			return true;
	return false;
}

static void
header_fields(const char *data, const struct mime_part *p,
    const struct imap_fetch_body *b, struct buf *scratch)
{
	bool want = b->text == IMAP_SECTION_HEADER_FIELDS;
	struct mime_field f;
	size_t pos = p->header_start;

	buf_reset(scratch);
	while (mime_header_next(data, p->body_start, &pos, &f)) {
		size_t end = f.end;

		if (field_listed(data, &f, b) != want)
			continue;
		/* A field ending in a bare LF is given its CR. */
		if (end > f.start && data[end - 1] == '\n' &&
		    (end - 1 == f.start || data[end - 2] != '\r')) {
			(void)buf_append(scratch, data + f.start,
			    end - 1 - f.start);
			(void)buf_append(scratch, "\r\n", 2);
		} else {
			(void)buf_append(scratch, data + f.start,
			    end - f.start);
		}
	}
	(void)buf_append(scratch, "\r\n", 2);
}

int
imap_section_extract(const char *data, size_t len,
    const struct mime_message *mime, const struct imap_fetch_body *b,
    struct buf *scratch, const char **out_r, size_t *out_len_r)
{
	const struct mime_part *p = &mime->parts[0];
	size_t index = 0, start, end;

	if (b->part.len > 0) {
		if (mime_section_find(mime, b->part.s, b->part.len,
		    &index) != 0)
			return 0;
		p = &mime->parts[index];
	}
	switch (b->text) {
	case IMAP_SECTION_NONE:
		if (b->part.len == 0) {
			start = 0;
			end = len;
		} else {
			start = p->body_start;
			end = p->body_end;
		}
		break;
	case IMAP_SECTION_MIME:
		start = p->header_start;
		end = p->body_start;
		break;
	default:
		if (b->part.len > 0) {
			if ((p->flags & MIME_PART_MESSAGE) == 0 ||
			    p->first_child < 0) {
				*out_r = "";
				*out_len_r = 0;
				return 1;
			}
			p = &mime->parts[p->first_child];
		}
		if (b->text == IMAP_SECTION_TEXT) {
			start = p->body_start;
			end = p->body_end;
		} else if (b->text == IMAP_SECTION_HEADER) {
			start = p->header_start;
			end = p->body_start;
		} else {
			header_fields(data, p, b, scratch);
			*out_r = scratch->data != NULL ? scratch->data : "";
			*out_len_r = scratch->len;
			return 1;
		}
		break;
	}
	if (end > len)
		end = len;
	if (start > end)
		start = end;
	*out_r = data + start;
	*out_len_r = end - start;
	return 1;
}
