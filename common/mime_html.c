/*
 * mime_html.c - a crude, streaming HTML-to-text filter over UTF-8 for the
 * search text of text/html parts (mime_text_body()): tags, comments and
 * the contents of <script> and <style> are dropped, entities decoded,
 * white space collapsed to one space, and a tag that is not an inline one
 * (<b>, <span>, ...) separates words with a space.
 *
 * Input is untrusted UTF-8 (converted by mime_charset.c). Only ASCII
 * bytes are syntax, so a UTF-8 sequence is never split. State is bounded
 * (a tag name and an entity name of a few bytes, struct mime_html); each
 * byte is looked at a bounded number of times.
 */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "ascii.h"
#include "mime_text_internal.h"

void
mime_html_init(struct mime_html *h)
{
	memset(h, 0, sizeof(*h));
	h->space = true;
}

static int
html_flush(struct mime_html *h, struct buf *out)
{
	int ret = mime_text_put_text(out, h->obuf, h->olen);

	h->olen = 0;
	return ret;
}

static int
html_emit(struct mime_html *h, struct buf *out, const char *p, size_t n)
{
	if (h->olen + n > sizeof(h->obuf) && html_flush(h, out) < 0)
		return -1;
	if (n > sizeof(h->obuf))
		return mime_text_put_text(out, p, n);
	memcpy(h->obuf + h->olen, p, n);
	h->olen += n;
	if (n > 0)
		h->space = false;
	return 0;
}

static int
html_space(struct mime_html *h, struct buf *out)
{
	if (h->space)
		return 0;
	if (html_emit(h, out, " ", 1) < 0)
		return -1;
	h->space = true;
	return 0;
}

static int
html_cp(struct mime_html *h, struct buf *out, uint32_t cp)
{
	char u[4];

	return html_emit(h, out, u, utf8_encode(u, cp));
}

/* HTML 4 Latin-1 entities, U+00A0 to U+00FF in order. */
static const char *const latin1_entities[96] = {
	"nbsp", "iexcl", "cent", "pound", "curren", "yen", "brvbar", "sect",
	"uml", "copy", "ordf", "laquo", "not", "shy", "reg", "macr",
	"deg", "plusmn", "sup2", "sup3", "acute", "micro", "para", "middot",
	"cedil", "sup1", "ordm", "raquo", "frac14", "frac12", "frac34",
	"iquest", "Agrave", "Aacute", "Acirc", "Atilde", "Auml", "Aring",
	"AElig", "Ccedil", "Egrave", "Eacute", "Ecirc", "Euml", "Igrave",
	"Iacute", "Icirc", "Iuml", "ETH", "Ntilde", "Ograve", "Oacute",
	"Ocirc", "Otilde", "Ouml", "times", "Oslash", "Ugrave", "Uacute",
	"Ucirc", "Uuml", "Yacute", "THORN", "szlig", "agrave", "aacute",
	"acirc", "atilde", "auml", "aring", "aelig", "ccedil", "egrave",
	"eacute", "ecirc", "euml", "igrave", "iacute", "icirc", "iuml", "eth",
	"ntilde", "ograve", "oacute", "ocirc", "otilde", "ouml", "divide",
	"oslash", "ugrave", "uacute", "ucirc", "uuml", "yacute", "thorn",
	"yuml",
};

static const struct {
	const char *name;
	uint32_t cp;
} other_entities[] = {
	{ "amp", '&' }, { "lt", '<' }, { "gt", '>' }, { "quot", '"' },
	{ "apos", '\'' }, { "euro", 0x20ac }, { "hellip", 0x2026 },
	{ "ndash", 0x2013 }, { "mdash", 0x2014 }, { "lsquo", 0x2018 },
	{ "rsquo", 0x2019 }, { "sbquo", 0x201a }, { "ldquo", 0x201c },
	{ "rdquo", 0x201d }, { "bdquo", 0x201e }, { "bull", 0x2022 },
	{ "trade", 0x2122 }, { "OElig", 0x152 }, { "oelig", 0x153 },
	{ "Scaron", 0x160 }, { "scaron", 0x161 }, { "Yuml", 0x178 },
	{ "dagger", 0x2020 }, { "Dagger", 0x2021 }, { "permil", 0x2030 },
	{ "lsaquo", 0x2039 }, { "rsaquo", 0x203a }, { "zwnj", 0x200c },
	{ "zwj", 0x200d }, { "ensp", ' ' }, { "emsp", ' ' },
	{ "thinsp", ' ' },
};


/* entity_cp: the code point of entity name[0, n) ("amp", "#38", "#x26"),
 * or 0 when it is none we know. */
static uint32_t
entity_cp(const char *name, size_t n)
{
	uint32_t cp = 0;
	size_t i;

	if (n >= 2 && name[0] == '#') {
		bool hex = name[1] == 'x' || name[1] == 'X';

		if (n == (hex ? 2U : 1U))
			return 0;
		for (i = hex ? 2 : 1; i < n; i++) {
			unsigned char c = (unsigned char)name[i];
			uint32_t d;

			if (ascii_is_digit(c))
				d = c - '0';
			else if (hex && c >= 'a' && c <= 'f')
				d = c - 'a' + 10;
			else if (hex && c >= 'A' && c <= 'F')
				d = c - 'A' + 10;
			else
				return 0;
			cp = cp * (hex ? 16 : 10) + d;
			if (cp > 0x10ffff)
				return 0xfffd;
		}
		/* HTML 5 13.2.5.80: these refer to Windows-1252. */
		if (cp >= 0x80 && cp < 0xa0)
			return mime_cp1252_c1[cp - 0x80];
		if (cp == 0 || (cp >= 0xd800 && cp <= 0xdfff))
			return 0xfffd;
		return cp;
	}
	for (i = 0; i < 96; i++)
		if (strlen(latin1_entities[i]) == n &&
		    memcmp(latin1_entities[i], name, n) == 0)
			return 0xa0 + (uint32_t)i;
	for (i = 0; i < sizeof(other_entities) / sizeof(other_entities[0]);
	    i++)
		if (strlen(other_entities[i].name) == n &&
		    memcmp(other_entities[i].name, name, n) == 0)
			return other_entities[i].cp;
	return 0;
}

/* Inline elements: their tags do not separate words ("wo<b>rd</b>"). */
static bool
tag_inline(const char *name)
{
	static const char *const tags[] = {
		"a", "abbr", "b", "bdi", "bdo", "big", "cite", "code", "del",
		"dfn", "em", "font", "i", "ins", "kbd", "mark", "q", "s",
		"samp", "small", "span", "strike", "strong", "sub", "sup",
		"tt", "u", "var", "wbr",
	};
	size_t i;

	if (*name == '/')
		name++;
	for (i = 0; i < sizeof(tags) / sizeof(tags[0]); i++)
		if (strcmp(name, tags[i]) == 0)
			return true;
	return false;
}

static int
html_tag_end(struct mime_html *h, struct buf *out)
{
	h->name[h->nlen] = '\0';
	if (strcmp(h->name, "script") == 0 || strcmp(h->name, "style") == 0) {
		h->state = MIME_HTML_RAW;
		h->raw_end = h->name[1] == 'c' ? "</script" : "</style";
		h->raw_match = 0;
		return html_space(h, out);
	}
	h->state = MIME_HTML_TEXT;
	return tag_inline(h->name) ? 0 : html_space(h, out);
}

static int
html_entity_end(struct mime_html *h, struct buf *out)
{
	uint32_t cp = entity_cp(h->ent, h->elen);

	h->state = MIME_HTML_TEXT;
	if (cp == 0) {
		/* not one we know: the text as it was */
		return html_emit(h, out, "&", 1) < 0 ||
		    html_emit(h, out, h->ent, h->elen) < 0 ||
		    html_emit(h, out, ";", 1) < 0 ? -1 : 0;
	}
	if (cp == 0xa0 || cp == ' ')
		return html_space(h, out);
	if (cp == 0xad || cp == 0x200c || cp == 0x200d)
		return 0;	/* invisible: would split words */
	return html_cp(h, out, cp);
}

static bool
is_wsp(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f';
}

int
mime_html_feed(struct mime_html *h, struct buf *out, const char *p,
    size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)p[i];
again:
		switch (h->state) {
		case MIME_HTML_TEXT:
			if (c == '<') {
				h->state = MIME_HTML_TAG;
				h->nlen = 0;
				h->name_done = false;
				h->tag_bytes = 0;
			} else if (c == '&') {
				h->state = MIME_HTML_ENTITY;
				h->elen = 0;
			} else if (is_wsp(c)) {
				if (html_space(h, out) < 0)
					return -1;
			} else if (html_emit(h, out, p + i, 1) < 0) {
				return -1;
			}
			break;
		case MIME_HTML_TAG:
			h->tag_bytes++;
			/* "a < b", "<3": a "<" that opens no tag is text */
			if (h->tag_bytes == 1 && !ascii_is_alpha(c) &&
			    c != '/' && c != '!' && c != '?') {
				h->state = MIME_HTML_TEXT;
				if (html_emit(h, out, "<", 1) < 0)
					return -1;
				goto again;
			}
			if (c == '>') {
				if (html_tag_end(h, out) < 0)
					return -1;
				break;
			}
			if (h->name_done)
				break;
			if (h->nlen < sizeof(h->name) - 1 &&
			    (ascii_is_alnum(c) || (h->nlen == 0 &&
			    (c == '/' || c == '!')) || (c == '-' &&
			    h->name[0] == '!'))) {
				h->name[h->nlen++] = (char)(c | (ascii_is_alpha(c)
				    ? 0x20 : 0));
				if (h->nlen == 3 &&
				    memcmp(h->name, "!--", 3) == 0) {
					h->state = MIME_HTML_COMMENT;
					h->dashes = 0;
				}
			} else {
				h->name_done = true;
			}
			break;
		case MIME_HTML_COMMENT:
			if (c == '>' && h->dashes >= 2)
				h->state = MIME_HTML_TEXT;
			else
				h->dashes = c == '-' ? h->dashes + 1 : 0;
			break;
		case MIME_HTML_RAW:
			if ((c | (ascii_is_alpha(c) ? 0x20 : 0)) ==
			    (unsigned char)h->raw_end[h->raw_match]) {
				if (h->raw_end[++h->raw_match] == '\0') {
					h->state = MIME_HTML_TAG;
					h->name_done = true;
					h->nlen = 0;
					h->name[h->nlen++] = '/';
					h->tag_bytes = 2;
				}
			} else {
				h->raw_match = c == '<' ? 1 : 0;
			}
			break;
		case MIME_HTML_ENTITY:
			if (c == ';') {
				if (html_entity_end(h, out) < 0)
					return -1;
			} else if ((ascii_is_alnum(c) || c == '#') &&
			    h->elen < sizeof(h->ent)) {
				h->ent[h->elen++] = (char)c;
			} else {
				h->state = MIME_HTML_TEXT;
				if (html_emit(h, out, "&", 1) < 0 ||
				    html_emit(h, out, h->ent, h->elen) < 0)
					return -1;
				goto again;
			}
			break;
		}
	}
	return 0;
}

int
mime_html_finish(struct mime_html *h, struct buf *out)
{
	if (h->state == MIME_HTML_ENTITY && (html_emit(h, out, "&", 1) < 0 ||
	    html_emit(h, out, h->ent, h->elen) < 0))
		return -1;
	return html_flush(h, out);
}
