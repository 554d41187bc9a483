/*
 * imap_fetch_parse.c - the FETCH attribute grammar (RFC 3501 9:
 * fetch-att, section, section-spec, header-list, partial) and the macros
 * ALL, FAST and FULL (6.4.5).
 *
 * Untrusted input: at most LIMIT_IMAP_FETCH_BODIES body items, part
 * numbers checked digit by digit (no "0", no empty level), header lists
 * bounded by the command line.
 */
#include <stdlib.h>
#include <string.h>

#include "common/ascii.h"
#include "common/xalloc.h"
#include "imapd/imap_fetch.h"

static const struct {
	const char *name;
	unsigned int items;
} simple_atts[] = {
	{ "FLAGS", IMAP_FETCH_FLAGS },
	{ "UID", IMAP_FETCH_UID },
	{ "INTERNALDATE", IMAP_FETCH_INTERNALDATE },
	{ "RFC822.SIZE", IMAP_FETCH_RFC822_SIZE },
	{ "ENVELOPE", IMAP_FETCH_ENVELOPE },
	{ "BODYSTRUCTURE", IMAP_FETCH_BODYSTRUCTURE },
	{ "MODSEQ", IMAP_FETCH_MODSEQ },
};

static const struct {
	const char *name;
	unsigned int items;
} macros[] = {
	{ "ALL", IMAP_FETCH_FLAGS | IMAP_FETCH_INTERNALDATE |
	    IMAP_FETCH_RFC822_SIZE | IMAP_FETCH_ENVELOPE },
	{ "FAST", IMAP_FETCH_FLAGS | IMAP_FETCH_INTERNALDATE |
	    IMAP_FETCH_RFC822_SIZE },
	{ "FULL", IMAP_FETCH_FLAGS | IMAP_FETCH_INTERNALDATE |
	    IMAP_FETCH_RFC822_SIZE | IMAP_FETCH_ENVELOPE | IMAP_FETCH_BODY },
};

static struct imap_fetch_body *
new_body(struct imap_parser *ps, struct imap_fetch_req *req)
{
	struct imap_fetch_body *b;

	if (req->nbodies == LIMIT_IMAP_FETCH_BODIES) {
		imap_parse_fail(ps, "Too many body sections in one FETCH");
		return NULL;
	}
	b = &req->bodies[req->nbodies++];
	memset(b, 0, sizeof(*b));
	return b;
}

/* split_part: the leading "n.n.n" of a section-spec word; *rest_r is
 * what follows it (after its dot). -1 for "0" or an empty level. */
static int
split_part(const struct imap_str *word, struct imap_str *part_r,
    struct imap_str *rest_r)
{
	size_t i = 0, end = 0;

	while (i < word->len && ascii_is_digit((unsigned char)word->s[i])) {
		size_t start = i;

		while (i < word->len &&
		    ascii_is_digit((unsigned char)word->s[i]))
			i++;
		if (word->s[start] == '0' || i - start > 9)
			return -1;
		end = i;
		if (i == word->len)
			break;
		if (word->s[i] != '.')
			return -1;
		i++;
	}
	part_r->s = word->s;
	part_r->len = end;
	rest_r->s = word->s + i;
	rest_r->len = word->len - i;
	/* "1." with nothing after is not a section. */
	return end > 0 && i > end && rest_r->len == 0 ? -1 : 0;
}

static int
parse_header_list(struct imap_parser *ps, struct imap_fetch_body *b)
{
	size_t cap = 0;

	if (imap_parse_sp(ps) != 0 || imap_parse_char(ps, '(') != 0)
		return imap_parse_fail(ps, "Expected a header field list");
	for (;;) {
		struct imap_str field;

		if (imap_parse_astring(ps, &field) != 0 || field.len == 0)
			return imap_parse_fail(ps, "Invalid header field name");
		if (b->nfields == cap) {
			cap = cap == 0 ? 8 : cap * 2;
			b->fields = xreallocarray(b->fields, cap,
			    sizeof(*b->fields));
		}
		b->fields[b->nfields++] = field;
		if (imap_parse_peek(ps, ')')) {
			ps->p++;
			return 0;
		}
		if (imap_parse_sp(ps) != 0)
			return imap_parse_fail(ps, "Invalid header field list");
	}
}

static int
parse_section(struct imap_parser *ps, struct imap_fetch_body *b)
{
	static const struct {
		const char *name;
		enum imap_section_text text;
	} texts[] = {
		{ "HEADER", IMAP_SECTION_HEADER },
		{ "HEADER.FIELDS", IMAP_SECTION_HEADER_FIELDS },
		{ "HEADER.FIELDS.NOT", IMAP_SECTION_HEADER_FIELDS_NOT },
		{ "TEXT", IMAP_SECTION_TEXT },
		{ "MIME", IMAP_SECTION_MIME },
	};
	struct imap_str word, rest;
	size_t i;

	if (imap_parse_char(ps, '[') != 0)
		return -1;
	if (imap_parse_peek(ps, ']')) {
		ps->p++;
		return 0;
	}
	if (imap_parse_word(ps, &word) != 0 ||
	    split_part(&word, &b->part, &rest) != 0)
		return imap_parse_fail(ps, "Invalid section");
	if (rest.len > 0) {
		for (i = 0; i < sizeof(texts) / sizeof(texts[0]); i++)
			if (imap_str_is(&rest, texts[i].name))
				break;
		/* MIME needs a part number (section-text, RFC 3501 9). */
		if (i == sizeof(texts) / sizeof(texts[0]) ||
		    (texts[i].text == IMAP_SECTION_MIME && b->part.len == 0))
			return imap_parse_fail(ps, "Invalid section");
		b->text = texts[i].text;
		if ((b->text == IMAP_SECTION_HEADER_FIELDS ||
		    b->text == IMAP_SECTION_HEADER_FIELDS_NOT) &&
		    parse_header_list(ps, b) != 0)
			return -1;
	}
	return imap_parse_char(ps, ']') != 0 ?
	    imap_parse_fail(ps, "Missing ']' after the section") : 0;
}

static int
parse_partial(struct imap_parser *ps, struct imap_fetch_body *b)
{
	if (!imap_parse_peek(ps, '<'))
		return 0;
	ps->p++;
	if (imap_parse_number(ps, &b->offset) != 0 ||
	    imap_parse_char(ps, '.') != 0 ||
	    imap_parse_nz_number(ps, &b->count) != 0 ||
	    imap_parse_char(ps, '>') != 0)
		return imap_parse_fail(ps, "Invalid partial range");
	b->partial = true;
	return 0;
}

/* parse_rfc822: RFC822, RFC822.HEADER and RFC822.TEXT are BODY[],
 * BODY.PEEK[HEADER] and BODY[TEXT] under their own names (6.4.5). */
static int
parse_rfc822(struct imap_parser *ps, struct imap_fetch_req *req,
    const struct imap_str *word)
{
	struct imap_fetch_body *b = new_body(ps, req);

	if (b == NULL)
		return -1;
	if (imap_str_is(word, "RFC822")) {
		b->name = "RFC822";
	} else if (imap_str_is(word, "RFC822.HEADER")) {
		b->name = "RFC822.HEADER";
		b->peek = true;
		b->text = IMAP_SECTION_HEADER;
	} else {
		b->name = "RFC822.TEXT";
		b->text = IMAP_SECTION_TEXT;
	}
	return 0;
}

static int
parse_att(struct imap_parser *ps, struct imap_fetch_req *req)
{
	struct imap_str word;
	struct imap_fetch_body *b;
	bool peek;

	if (imap_parse_word(ps, &word) != 0)
		return imap_parse_fail(ps, "Expected a FETCH attribute");
	for (size_t i = 0; i < sizeof(simple_atts) / sizeof(simple_atts[0]);
	    i++) {
		if (imap_str_is(&word, simple_atts[i].name)) {
			req->items |= simple_atts[i].items;
			return 0;
		}
	}
	if (imap_str_is(&word, "RFC822") ||
	    imap_str_is(&word, "RFC822.HEADER") ||
	    imap_str_is(&word, "RFC822.TEXT"))
		return parse_rfc822(ps, req, &word);
	peek = imap_str_is(&word, "BODY.PEEK");
	if (!peek && !imap_str_is(&word, "BODY"))
		return imap_parse_fail(ps, "Unknown FETCH attribute");
	if (!imap_parse_peek(ps, '[')) {
		if (peek)
			return imap_parse_fail(ps, "BODY.PEEK needs a section");
		req->items |= IMAP_FETCH_BODY;
		return 0;
	}
	if ((b = new_body(ps, req)) == NULL)
		return -1;
	b->name = "BODY";
	b->peek = peek;
	return parse_section(ps, b) != 0 ? -1 : parse_partial(ps, b);
}

/* parse_modifiers: RFC 7162 fetch-modifiers, or nothing, to the end. */
static int
parse_modifiers(struct imap_parser *ps, struct imap_fetch_req *req)
{
	if (ps->end - ps->p < 2 || ps->p[0] != ' ' || ps->p[1] != '(')
		return imap_parse_end(ps);
	ps->p += 2;
	for (;;) {
		struct imap_str word;

		if (imap_parse_atom(ps, &word) != 0)
			return -1;
		if (imap_str_is(&word, "CHANGEDSINCE")) {
			if (imap_parse_sp(ps) != 0 ||
			    imap_parse_number64(ps, &req->modseq) != 0)
				return -1;
			req->changedsince = true;
		} else if (imap_str_is(&word, "VANISHED")) {
			req->vanished = true;
		} else {
			return imap_parse_fail(ps, "Unknown FETCH modifier");
		}
		if (!imap_parse_peek(ps, ' '))
			break;
		ps->p++;
	}
	if (imap_parse_char(ps, ')') != 0)
		return -1;
	/* RFC 7162 3.2.6: VANISHED only with CHANGEDSINCE. */
	if (req->vanished && !req->changedsince)
		return imap_parse_fail(ps, "VANISHED needs CHANGEDSINCE");
	if (req->changedsince)
		req->items |= IMAP_FETCH_MODSEQ;
	return imap_parse_end(ps);
}

int
imap_fetch_parse(struct imap_parser *ps, struct imap_fetch_req *req_r)
{
	memset(req_r, 0, sizeof(*req_r));
	if (!imap_parse_peek(ps, '(')) {
		struct imap_parser save = *ps;
		struct imap_str word;

		if (imap_parse_word(ps, &word) == 0 &&
		    (imap_parse_at_end(ps) || (ps->end - ps->p >= 2 &&
		    ps->p[0] == ' ' && ps->p[1] == '('))) {
			for (size_t i = 0; i < sizeof(macros) /
			    sizeof(macros[0]); i++) {
				if (imap_str_is(&word, macros[i].name)) {
					req_r->items = macros[i].items;
					if (parse_modifiers(ps, req_r) != 0)
						goto fail;
					return 0;
				}
			}
		}
		*ps = save;
		if (parse_att(ps, req_r) != 0)
			goto fail;
		if (parse_modifiers(ps, req_r) != 0)
			goto fail;
		return 0;
	}
	ps->p++;
	for (;;) {
		if (parse_att(ps, req_r) != 0)
			goto fail;
		if (imap_parse_peek(ps, ')'))
			break;
		if (imap_parse_sp(ps) != 0)
			goto fail;
	}
	ps->p++;
	if (parse_modifiers(ps, req_r) == 0)
		return 0;
fail:
	imap_fetch_req_free(req_r);
	return -1;
}

void
imap_fetch_req_free(struct imap_fetch_req *req)
{
	for (size_t i = 0; i < req->nbodies; i++) {
		free(req->bodies[i].fields);
		req->bodies[i].fields = NULL;
	}
	req->nbodies = 0;
}

bool
imap_fetch_sets_seen(const struct imap_fetch_req *req)
{
	for (size_t i = 0; i < req->nbodies; i++)
		if (!req->bodies[i].peek)
			return true;
	return false;
}
