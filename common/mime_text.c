/*
 * mime_text.c - the decoded text of a message for search (mime_text.h):
 * RFC 2047 encoded words in header fields, RFC 2045 6 transfer encodings
 * of bodies, charsets to UTF-8 through glibc iconv, crude HTML to text,
 * and the case fold SEARCH compares with.
 *
 * Input is untrusted bytes (a message, or a header value, as received).
 * Every loop advances through its input and looks at each byte a bounded
 * number of times, so time is linear; scratch buffers are bounded by the
 * input's size, and output by the caller's struct buf. Charset names are
 * checked against a strict alphabet (no "/" suffixes, at most 40
 * characters, RFC 2978 2.3) before they reach iconv_open(); conversions
 * are only ever to UTF-8.
 */
#include <errno.h>
#include <iconv.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MIME_INTERNAL
#include "ascii.h"
#include "limits.h"
#include "mime.h"
#include "mime_text.h"
#include "xalloc.h"

/* RFC 2978 2.3: a charset name has at most 40 characters. */
#define CHARSET_MAX	40
/* An RFC 2231 5 language suffix ("*en-US") is read past, up to this. */
#define CHARSET_LANG_MAX 40
/* U+FFFD REPLACEMENT CHARACTER, for bytes a charset does not define. */
#define REPLACEMENT	"\xef\xbf\xbd"

/* ---- Output ------------------------------------------------------------ */

/* Drops an incomplete UTF-8 sequence at the end of out (left by a cut at
 * the maximum between two appends of one character's bytes). */
static void
trim_partial(struct buf *out)
{
	size_t i = out->len, cont = 0;
	unsigned char c;

	while (i > 0 && cont < 3 &&
	    ((unsigned char)out->data[i - 1] & 0xc0) == 0x80) {
		i--;
		cont++;
	}
	if (i == 0)
		return;
	c = (unsigned char)out->data[i - 1];
	if ((c >= 0xc0 && c < 0xe0 && cont < 1) ||
	    (c >= 0xe0 && c < 0xf0 && cont < 2) || (c >= 0xf0 && cont < 3))
		out->len = i - 1;
}

/* put: appends n bytes to out; when they do not all fit, as many as fit
 * (ending at a character boundary) and -1. */
static int
put(struct buf *out, const void *p, size_t n)
{
	size_t room = out->max - out->len;

	if (n <= room)
		return buf_append(out, p, n);
	(void)buf_append(out, p, room);
	trim_partial(out);
	return -1;
}

/* put_text: put() with every NUL byte written as a space, so that the
 * text can be a C string. */
static int
put_text(struct buf *out, const char *p, size_t n)
{
	const char *nul;

	while ((nul = memchr(p, '\0', n)) != NULL) {
		size_t k = (size_t)(nul - p);

		if (put(out, p, k) < 0 || put(out, " ", 1) < 0)
			return -1;
		p += k + 1;
		n -= k + 1;
	}
	return put(out, p, n);
}

/* utf8_enc: writes code point cp (at most U+10FFFF) as UTF-8 into o
 * (4 bytes of room); returns the length. */
static size_t
utf8_enc(char *o, uint32_t cp)
{
	if (cp < 0x80) {
		o[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		o[0] = (char)(0xc0 | (cp >> 6));
		o[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		o[0] = (char)(0xe0 | (cp >> 12));
		o[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		o[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	o[0] = (char)(0xf0 | (cp >> 18));
	o[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
	o[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
	o[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

/* utf8_seq: the length of the valid UTF-8 sequence at p (n > 0 bytes
 * available), its code point in *cp_r; 0 when invalid (RFC 3629 4: no
 * overlong forms, surrogates, or code points past U+10FFFF). */
static size_t
utf8_seq(const unsigned char *p, size_t n, uint32_t *cp_r)
{
	uint32_t cp;
	size_t len, i;

	if (p[0] < 0x80) {
		*cp_r = p[0];
		return 1;
	}
	if (p[0] < 0xc2 || p[0] > 0xf4)
		return 0;
	len = p[0] < 0xe0 ? 2 : p[0] < 0xf0 ? 3 : 4;
	if (n < len)
		return 0;
	cp = p[0] & (0x7f >> len);
	for (i = 1; i < len; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (p[i] & 0x3f);
	}
	if ((len == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
	    (len == 4 && (cp < 0x10000 || cp > 0x10ffff)))
		return 0;
	*cp_r = cp;
	return len;
}

static bool
utf8_valid(const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;
	uint32_t cp;
	size_t i = 0, k;

	while (i < n) {
		if (p[i] < 0x80) {
			i++;
			continue;
		}
		if ((k = utf8_seq(p + i, n - i, &cp)) == 0)
			return false;
		i += k;
	}
	return true;
}

/* ---- HTML to text ------------------------------------------------------ */

/*
 * A crude, streaming HTML-to-text filter over UTF-8: tags, comments and
 * the contents of <script> and <style> are dropped, entities decoded,
 * white space collapsed to one space, and a tag that is not an inline one
 * (<b>, <span>, ...) separates words with a space. Only ASCII bytes are
 * syntax, so a UTF-8 sequence is never split. State is bounded (a tag
 * name and an entity name of a few bytes).
 */
enum html_state {
	HTML_TEXT,
	HTML_TAG,	/* after "<" */
	HTML_COMMENT,	/* after "<!--" */
	HTML_RAW,	/* inside <script> or <style> */
	HTML_ENTITY,	/* after "&" */
};

struct html {
	enum html_state state;
	char name[16];		/* tag name, lower case; "/" for end tags */
	size_t nlen;
	bool name_done;
	size_t tag_bytes;	/* bytes since the "<" */
	unsigned int dashes;	/* "-" in a row, in a comment */
	const char *raw_end;	/* "</script" or "</style" */
	size_t raw_match;
	char ent[32];		/* entity name after "&" */
	size_t elen;
	bool space;		/* the last thing written was white space */
	char obuf[512];		/* text waiting for put_text() */
	size_t olen;
};

static int
html_flush(struct html *h, struct buf *out)
{
	int ret = put_text(out, h->obuf, h->olen);

	h->olen = 0;
	return ret;
}

static int
html_emit(struct html *h, struct buf *out, const char *p, size_t n)
{
	if (h->olen + n > sizeof(h->obuf) && html_flush(h, out) < 0)
		return -1;
	if (n > sizeof(h->obuf))
		return put_text(out, p, n);
	memcpy(h->obuf + h->olen, p, n);
	h->olen += n;
	if (n > 0)
		h->space = false;
	return 0;
}

static int
html_space(struct html *h, struct buf *out)
{
	if (h->space)
		return 0;
	if (html_emit(h, out, " ", 1) < 0)
		return -1;
	h->space = true;
	return 0;
}

static int
html_cp(struct html *h, struct buf *out, uint32_t cp)
{
	char u[4];

	return html_emit(h, out, u, utf8_enc(u, cp));
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

/* Windows-1252 0x80-0x9F (undefined bytes as the C1 controls). */
static const uint16_t cp1252_c1[32] = {
	0x20ac, 0x0081, 0x201a, 0x0192, 0x201e, 0x2026, 0x2020, 0x2021,
	0x02c6, 0x2030, 0x0160, 0x2039, 0x0152, 0x008d, 0x017d, 0x008f,
	0x0090, 0x2018, 0x2019, 0x201c, 0x201d, 0x2022, 0x2013, 0x2014,
	0x02dc, 0x2122, 0x0161, 0x203a, 0x0153, 0x009d, 0x017e, 0x0178,
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
			return cp1252_c1[cp - 0x80];
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
html_tag_end(struct html *h, struct buf *out)
{
	h->name[h->nlen] = '\0';
	if (strcmp(h->name, "script") == 0 || strcmp(h->name, "style") == 0) {
		h->state = HTML_RAW;
		h->raw_end = h->name[1] == 'c' ? "</script" : "</style";
		h->raw_match = 0;
		return html_space(h, out);
	}
	h->state = HTML_TEXT;
	return tag_inline(h->name) ? 0 : html_space(h, out);
}

static int
html_entity_end(struct html *h, struct buf *out)
{
	uint32_t cp = entity_cp(h->ent, h->elen);

	h->state = HTML_TEXT;
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

/* html_feed: the next n bytes of an HTML document. */
static int
html_feed(struct html *h, struct buf *out, const char *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)p[i];
again:
		switch (h->state) {
		case HTML_TEXT:
			if (c == '<') {
				h->state = HTML_TAG;
				h->nlen = 0;
				h->name_done = false;
				h->tag_bytes = 0;
			} else if (c == '&') {
				h->state = HTML_ENTITY;
				h->elen = 0;
			} else if (is_wsp(c)) {
				if (html_space(h, out) < 0)
					return -1;
			} else if (html_emit(h, out, p + i, 1) < 0) {
				return -1;
			}
			break;
		case HTML_TAG:
			h->tag_bytes++;
			/* "a < b", "<3": a "<" that opens no tag is text */
			if (h->tag_bytes == 1 && !ascii_is_alpha(c) &&
			    c != '/' && c != '!' && c != '?') {
				h->state = HTML_TEXT;
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
					h->state = HTML_COMMENT;
					h->dashes = 0;
				}
			} else {
				h->name_done = true;
			}
			break;
		case HTML_COMMENT:
			if (c == '>' && h->dashes >= 2)
				h->state = HTML_TEXT;
			else
				h->dashes = c == '-' ? h->dashes + 1 : 0;
			break;
		case HTML_RAW:
			if ((c | (ascii_is_alpha(c) ? 0x20 : 0)) ==
			    (unsigned char)h->raw_end[h->raw_match]) {
				if (h->raw_end[++h->raw_match] == '\0') {
					h->state = HTML_TAG;
					h->name_done = true;
					h->nlen = 0;
					h->name[h->nlen++] = '/';
					h->tag_bytes = 2;
				}
			} else {
				h->raw_match = c == '<' ? 1 : 0;
			}
			break;
		case HTML_ENTITY:
			if (c == ';') {
				if (html_entity_end(h, out) < 0)
					return -1;
			} else if ((ascii_is_alnum(c) || c == '#') &&
			    h->elen < sizeof(h->ent)) {
				h->ent[h->elen++] = (char)c;
			} else {
				h->state = HTML_TEXT;
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

/* html_finish: the end of the document: an unfinished entity is text. */
static int
html_finish(struct html *h, struct buf *out)
{
	if (h->state == HTML_ENTITY && (html_emit(h, out, "&", 1) < 0 ||
	    html_emit(h, out, h->ent, h->elen) < 0))
		return -1;
	return html_flush(h, out);
}

/* ---- Charsets ---------------------------------------------------------- */

/* Where converted text goes: out, through the HTML filter when html. */
struct sink {
	struct buf *out;
	struct html *html;
};

static int
sink_put(struct sink *s, const char *p, size_t n)
{
	if (s->html != NULL)
		return html_feed(s->html, s->out, p, n);
	return put_text(s->out, p, n);
}

enum cs_kind {
	CS_UTF8,	/* UTF-8 or ASCII: kept when valid, else CS_1252 */
	CS_1252,	/* ISO-8859-1 and Windows-1252 (WHATWG's reading) */
	CS_ICONV,
};

struct conv {
	enum cs_kind kind;
	char name[CHARSET_MAX + 1];	/* iconv's name, for CS_ICONV */
};

/* Scratch state of one call: converters are opened once per charset. */
struct tctx {
	struct buf raw;		/* unfolded header text */
	struct buf ew;		/* decoded octets of adjacent encoded words */
	struct buf one;		/* decoded octets of one encoded word */
	iconv_t cd;		/* (iconv_t)-1 when none is open */
	char cd_name[CHARSET_MAX + 1];
};

static void
tctx_init(struct tctx *t)
{
	buf_init(&t->raw, SIZE_MAX);
	buf_init(&t->ew, SIZE_MAX);
	buf_init(&t->one, SIZE_MAX);
	t->cd = (iconv_t)-1;
	t->cd_name[0] = '\0';
}

static void
tctx_free(struct tctx *t)
{
	buf_free(&t->raw);
	buf_free(&t->ew);
	buf_free(&t->one);
	if (t->cd != (iconv_t)-1)
		iconv_close(t->cd);
	t->cd = (iconv_t)-1;
}

/* conv_open: t->cd converts from name to UTF-8, in its initial state.
 * -1 when iconv does not know name. */
static int
conv_open(struct tctx *t, const char *name)
{
	if (t->cd != (iconv_t)-1 && strcmp(t->cd_name, name) == 0) {
		(void)iconv(t->cd, NULL, NULL, NULL, NULL);
		return 0;
	}
	if (t->cd != (iconv_t)-1)
		iconv_close(t->cd);
	t->cd_name[0] = '\0';
	if ((t->cd = iconv_open("UTF-8", name)) == (iconv_t)-1)
		return -1;
	strcpy(t->cd_name, name);	/* both CHARSET_MAX + 1 */
	return 0;
}

/* Names iconv does not know, or knows as a smaller charset than mail
 * means by them (WHATWG Encoding's labels). */
static const struct {
	const char *label;
	enum cs_kind kind;
	const char *name;
} charset_aliases[] = {
	{ "utf-8", CS_UTF8, NULL }, { "utf8", CS_UTF8, NULL },
	{ "us-ascii", CS_UTF8, NULL }, { "ascii", CS_UTF8, NULL },
	{ "ansi_x3.4-1968", CS_UTF8, NULL },
	{ "iso-8859-1", CS_1252, NULL }, { "iso8859-1", CS_1252, NULL },
	{ "iso_8859-1", CS_1252, NULL }, { "latin1", CS_1252, NULL },
	{ "l1", CS_1252, NULL }, { "windows-1252", CS_1252, NULL },
	{ "cp1252", CS_1252, NULL }, { "x-cp1252", CS_1252, NULL },
	{ "ks_c_5601-1987", CS_ICONV, "CP949" },
	{ "gb2312", CS_ICONV, "GB18030" }, { "gbk", CS_ICONV, "GB18030" },
	{ "x-gbk", CS_ICONV, "GB18030" },
	{ "iso-8859-8-i", CS_ICONV, "ISO-8859-8" },
	{ "x-sjis", CS_ICONV, "SJIS" }, { "windows-31j", CS_ICONV, "CP932" },
};

/*
 * conv_lookup: the converter for charset name s[0, n) (an RFC 2231
 * "*lang" suffix ignored). Returns 0 with *c, or -1 when the name is
 * malformed or iconv does not know it.
 */
static int
conv_lookup(struct tctx *t, const char *s, size_t n, struct conv *c)
{
	const char *star = memchr(s, '*', n);
	char lower[CHARSET_MAX + 1];
	size_t i;

	if (star != NULL)
		n = (size_t)(star - s);
	if (n == 0 || n > CHARSET_MAX)
		return -1;
	for (i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)s[i];

		/* no "/" (iconv's //TRANSLIT suffixes) nor "," */
		if (!ascii_is_alnum(ch) && strchr("-_.:+()", ch) == NULL)
			return -1;
		lower[i] = (char)(ascii_is_alpha(ch) ? ch | 0x20 : ch);
	}
	lower[n] = '\0';
	for (i = 0; i < sizeof(charset_aliases) / sizeof(charset_aliases[0]);
	    i++) {
		if (strcmp(lower, charset_aliases[i].label) == 0) {
			c->kind = charset_aliases[i].kind;
			if (c->kind == CS_ICONV)
				strcpy(c->name, charset_aliases[i].name);
			else
				c->name[0] = '\0';
			return c->kind == CS_ICONV ? conv_open(t, c->name) : 0;
		}
	}
	c->kind = CS_ICONV;
	memcpy(c->name, lower, n + 1);
	return conv_open(t, c->name);
}

/* put_1252: bytes read as Windows-1252. */
static int
put_1252(struct sink *s, const char *p, size_t n)
{
	char tmp[512];
	size_t i, o = 0;

	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)p[i];

		if (c < 0x80)
			tmp[o++] = (char)c;
		else
			o += utf8_enc(tmp + o,
			    c >= 0xa0 ? c : cp1252_c1[c - 0x80]);
		if (o > sizeof(tmp) - 4) {
			if (sink_put(s, tmp, o) < 0)
				return -1;
			o = 0;
		}
	}
	return sink_put(s, tmp, o);
}

/* put_8bit: text in no declared charset: UTF-8 when valid, else
 * Windows-1252. */
static int
put_8bit(struct sink *s, const char *p, size_t n)
{
	return utf8_valid(p, n) ? sink_put(s, p, n) : put_1252(s, p, n);
}

/* put_iconv: p[0, n) converted by t->cd; a byte it cannot convert is
 * U+FFFD (and skipped). */
static int
put_iconv(struct tctx *t, struct sink *s, const char *p, size_t n)
{
	char obuf[4096], *in = (char *)p, *o;
	size_t inleft = n, oleft, r;

	for (;;) {
		o = obuf;
		oleft = sizeof(obuf);
		r = inleft > 0 ? iconv(t->cd, &in, &inleft, &o, &oleft) :
		    iconv(t->cd, NULL, NULL, &o, &oleft);	/* shift back */
		if (sink_put(s, obuf, sizeof(obuf) - oleft) < 0)
			return -1;
		if (r != (size_t)-1) {
			if (inleft == 0 && o == obuf)
				return 0;
			continue;
		}
		if (errno == E2BIG)
			continue;
		/* EILSEQ, EINVAL (cut short): one byte is lost */
		if (inleft == 0 || sink_put(s, REPLACEMENT, 3) < 0)
			return inleft == 0 ? 0 : -1;
		in++;
		inleft--;
	}
}

/* convert: p[0, n) in charset c to UTF-8 into s. */
static int
convert(struct tctx *t, const struct conv *c, struct sink *s, const char *p,
    size_t n)
{
	switch (c->kind) {
	case CS_ICONV:
		/* the converter may have been replaced meanwhile */
		if (conv_open(t, c->name) == 0)
			return put_iconv(t, s, p, n);
		return put_8bit(s, p, n);
	case CS_1252:
		return put_1252(s, p, n);
	case CS_UTF8:
		break;
	}
	return put_8bit(s, p, n);
}

/* ---- Header fields ----------------------------------------------------- */

static bool
is_lwsp(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* put_raw: header text that is not an encoded word: unfolded (RFC 5322
 * 2.2.3: CRLF + WSP is the WSP; any other CR or LF is a space) and read
 * by put_8bit(). */
static int
put_raw(struct tctx *t, struct sink *s, const char *p, size_t n)
{
	size_t i = 0, start;

	buf_reset(&t->raw);
	while (i < n) {
		for (start = i; i < n && p[i] != '\r' && p[i] != '\n'; i++)
			;
		/* t->raw holds at most n bytes: SIZE_MAX is never reached */
		(void)buf_append(&t->raw, p + start, i - start);
		if (i == n)
			break;
		while (i < n && (p[i] == '\r' || p[i] == '\n'))
			i++;
		if (i < n && p[i] != ' ' && p[i] != '\t')
			(void)buf_append(&t->raw, " ", 1);
	}
	return put_8bit(s, t->raw.data != NULL ? t->raw.data : "", t->raw.len);
}

/* An RFC 2047 encoded word, as parse_ew() found it. */
struct ew {
	size_t end;		/* one past its "?=" */
	const char *charset;
	size_t charset_len;
	char encoding;		/* 'B' or 'Q' */
	const char *text;
	size_t text_len;
};

/*
 * parse_ew: the encoded word "=?charset?e?text?=" at v[i] (which is "=?").
 * Returns 1 with *ew; 0 when there is none at i; -1 when none can start
 * before the white space (or end) at ew->end, because no "?=" comes
 * before it: the caller skips there, which keeps the scan linear.
 */
static int
parse_ew(const char *v, size_t n, size_t i, struct ew *ew)
{
	size_t j = i + 2, k;

	/* RFC 2047 2: charset is a token (no especials, white space or
	 * controls); "." and ":" allowed for real names */
	for (k = j; k < n && k - j <= CHARSET_MAX + CHARSET_LANG_MAX; k++) {
		unsigned char c = (unsigned char)v[k];

		if (c <= ' ' || c >= 0x7f || strchr("()<>@,;\"/[]?=", c) != NULL)
			break;
	}
	if (k == j || k + 2 >= n || v[k] != '?' || v[k + 2] != '?')
		return 0;
	ew->charset = v + j;
	ew->charset_len = k - j;
	ew->encoding = (char)ascii_upper((unsigned char)v[k + 1]);
	if (ew->encoding != 'B' && ew->encoding != 'Q')
		return 0;
	ew->text = v + k + 3;
	for (j = k + 3; j < n && !is_lwsp((unsigned char)v[j]); j++) {
		if (v[j] == '?' && j + 1 < n && v[j + 1] == '=') {
			ew->text_len = j - (k + 3);
			ew->end = j + 2;
			return 1;
		}
	}
	ew->end = j;
	return -1;
}

static int
hex_val(unsigned char c)
{
	if (ascii_is_digit(c))
		return c - '0';
	c |= 0x20;
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

static int
b64_val(unsigned char c)
{
	if (ascii_is_alpha(c))
		return c <= 'Z' ? c - 'A' : c - 'a' + 26;
	if (ascii_is_digit(c))
		return c - '0' + 52;
	return c == '+' ? 62 : c == '/' ? 63 : -1;
}

/* ew_decode: appends the octets of ew to out. -1 when B text is not
 * base64 (RFC 2047 4.1; missing padding is forgiven). */
static int
ew_decode(const struct ew *ew, struct buf *out)
{
	const unsigned char *p = (const unsigned char *)ew->text;
	size_t n = ew->text_len, i, pad = 0;
	uint32_t acc = 0;
	unsigned int bits = 0;
	unsigned char c;

	for (i = 0; i < n; i++) {
		if (ew->encoding == 'Q') {
			/* RFC 2047 4.2: "_" is a space, "=XX" an octet */
			c = p[i];
			if (c == '_') {
				c = ' ';
			} else if (c == '=' && i + 2 < n &&
			    hex_val(p[i + 1]) >= 0 && hex_val(p[i + 2]) >= 0) {
				c = (unsigned char)(hex_val(p[i + 1]) * 16 +
				    hex_val(p[i + 2]));
				i += 2;
			}
			(void)buf_append(out, &c, 1);
			continue;
		}
		if (p[i] == '=') {
			pad++;
			continue;
		}
		if (pad > 0 || b64_val(p[i]) < 0)
			return -1;
		acc = (acc << 6) | (uint32_t)b64_val(p[i]);
		if ((bits += 6) >= 8) {
			bits -= 8;
			c = (unsigned char)(acc >> bits);
			(void)buf_append(out, &c, 1);
			acc &= (1U << bits) - 1;
		}
	}
	/* one base64 character alone cannot be an octet */
	return ew->encoding == 'B' && (bits == 6 || pad > 2) ? -1 : 0;
}

static bool
all_lwsp(const char *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!is_lwsp((unsigned char)p[i]))
			return false;
	return true;
}

/* flush_ew: converts the octets of the pending encoded words. */
static int
flush_ew(struct tctx *t, struct sink *s, bool *pending, const struct conv *c)
{
	int ret = 0;

	if (*pending)
		ret = convert(t, c, s, t->ew.data, t->ew.len);
	buf_reset(&t->ew);
	*pending = false;
	return ret;
}

/* header_decode: mime_text_header() with the caller's scratch state. */
static int
header_decode(struct tctx *t, const char *v, size_t n, struct buf *out)
{
	struct sink s = { out, NULL };
	struct conv cur, next;
	struct ew ew;
	size_t i = 0, seg = 0;
	bool pending = false, after_ew = false, joined;
	int r;

	memset(&cur, 0, sizeof(cur));
	buf_reset(&t->ew);
	while (i + 1 < n) {
		const char *eq = memchr(v + i, '=', n - i - 1);

		if (eq == NULL)
			break;
		i = (size_t)(eq - v);
		if (v[i + 1] != '?') {
			i++;
			continue;
		}
		if ((r = parse_ew(v, n, i, &ew)) <= 0) {
			i = r == 0 ? i + 1 : ew.end;
			continue;
		}
		/* A malformed or unknown-charset word stays as it is. */
		buf_reset(&t->one);
		if (conv_lookup(t, ew.charset, ew.charset_len, &next) < 0 ||
		    ew_decode(&ew, &t->one) < 0) {
			i = ew.end;
			continue;
		}
		/* RFC 2047 6.2: white space between encoded words goes */
		joined = after_ew && all_lwsp(v + seg, i - seg);
		if (!joined && (flush_ew(t, &s, &pending, &cur) < 0 ||
		    put_raw(t, &s, v + seg, i - seg) < 0))
			return -1;
		/* The octets of adjacent words in one charset are joined
		 * before conversion: senders split characters between them. */
		if (!pending || next.kind != cur.kind ||
		    strcmp(next.name, cur.name) != 0) {
			if (flush_ew(t, &s, &pending, &cur) < 0)
				return -1;
			cur = next;
			pending = true;
		}
		(void)buf_append(&t->ew, t->one.data, t->one.len);
		after_ew = true;
		seg = i = ew.end;
	}
	if (flush_ew(t, &s, &pending, &cur) < 0)
		return -1;
	return put_raw(t, &s, v + seg, n - seg);
}

int
mime_text_header(const char *value, size_t len, struct buf *out)
{
	struct tctx t;
	int ret;

	tctx_init(&t);
	ret = header_decode(&t, value != NULL ? value : "", len, out);
	tctx_free(&t);
	return ret;
}

/* put_header: the fields in data[start, end) as "Name: value\n". */
static int
put_header(struct tctx *t, const char *data, size_t start, size_t end,
    struct buf *out)
{
	struct sink s = { out, NULL };
	struct mime_field f;
	size_t pos = start;

	while (mime_header_next(data, end, &pos, &f)) {
		const char *name = data + f.start;
		bool colon = memchr(name, ':', f.value_end - f.start) != NULL;

		if (put_raw(t, &s, name, f.name_len) < 0 ||
		    (colon && (put(out, ": ", 2) < 0 ||
		    header_decode(t, data + f.value_start,
		    f.value_end - f.value_start, out) < 0)) ||
		    put(out, "\n", 1) < 0)
			return -1;
	}
	return 0;
}

int
mime_text_headers(const char *data, size_t len,
    const struct mime_message *msg, struct buf *out)
{
	struct tctx t;
	size_t end;
	int ret;

	if (data == NULL || msg->nparts == 0)
		return 0;
	end = msg->parts[0].body_start < len ? msg->parts[0].body_start : len;
	tctx_init(&t);
	ret = put_header(&t, data, msg->parts[0].header_start, end, out);
	tctx_free(&t);
	return ret;
}

/* ---- Bodies ------------------------------------------------------------ */

enum cte {
	CTE_NONE,	/* 7bit, 8bit, binary, or one we do not know */
	CTE_QP,
	CTE_BASE64,
};

/* What decoding a text part needs of its Content-* fields. */
struct text_info {
	enum cte cte;
	bool html;
	char charset[CHARSET_MAX + CHARSET_LANG_MAX + 1];	/* "" if none */
};

/*
 * part_info: reads the Content-* fields of part i with the parser's own
 * code and limits (mime.c parse_header()): without MIME-Version or
 * Content-Type, and outside a multipart, they mean nothing (RFC 2045 4).
 */
static void
part_info(const char *data, const struct mime_message *msg, size_t i,
    struct text_info *ti)
{
	const struct mime_part *p = &msg->parts[i];
	struct mime_pdata d;
	struct mime_field f;
	size_t pos = p->header_start;
	unsigned int nfields = 0, k;
	bool mime_version = false, content_type = false;

	memset(&d, 0, sizeof(d));
	memset(ti, 0, sizeof(*ti));
	while (mime_header_next(data, p->body_start, &pos, &f)) {
		const char *name = data + f.start;

		if (++nfields > LIMIT_MIME_HEADER_FIELDS ||
		    f.start - p->header_start >= LIMIT_MIME_HEADER_SIZE)
			break;
		if (f.value_end - p->header_start > LIMIT_MIME_HEADER_SIZE)
			f.value_end = p->header_start + LIMIT_MIME_HEADER_SIZE;
		if (f.value_start > f.value_end)
			f.value_start = f.value_end;
		if (ascii_ieq(name, f.name_len, "MIME-VERSION"))
			mime_version = true;
		else if (ascii_ieq(name, f.name_len, "CONTENT-TYPE"))
			content_type = true;
		mime_header_content(&d, name, f.name_len,
		    data + f.value_start, f.value_end - f.value_start);
	}
	if (mime_version || content_type || (p->parent >= 0 &&
	    (msg->parts[p->parent].flags & MIME_PART_MULTIPART) != 0)) {
		if (d.cte != NULL && strcasecmp(d.cte, "base64") == 0)
			ti->cte = CTE_BASE64;
		else if (d.cte != NULL &&
		    strcasecmp(d.cte, "quoted-printable") == 0)
			ti->cte = CTE_QP;
		ti->html = d.type != NULL && strcasecmp(d.type, "text") == 0 &&
		    strcasecmp(d.subtype, "html") == 0;
		for (k = 0; k < d.type_params.n; k++) {
			const struct mime_param *pa = &d.type_params.v[k];

			if (strcasecmp(pa->name, "charset") == 0 &&
			    strlen(pa->value) < sizeof(ti->charset)) {
				strcpy(ti->charset, pa->value);
				break;
			}
		}
	}
	mime_pdata_clear(&d);
}

/* qp_decode: RFC 2045 6.7 into o (n bytes of room): "=XX" an octet, "="
 * before a line break (after transport padding) a soft break, any other
 * "=" itself. Returns the length. */
static size_t
qp_decode(const char *p, size_t n, char *o)
{
	size_t i = 0, j, len = 0;

	while (i < n) {
		if (p[i] != '=') {
			o[len++] = p[i++];
			continue;
		}
		for (j = i + 1; j < n && (p[j] == ' ' || p[j] == '\t'); j++)
			;
		if (j == n || p[j] == '\n' ||
		    (p[j] == '\r' && j + 1 < n && p[j + 1] == '\n')) {
			i = j == n ? n : j + (p[j] == '\n' ? 1 : 2);
			continue;
		}
		if (i + 2 < n && hex_val((unsigned char)p[i + 1]) >= 0 &&
		    hex_val((unsigned char)p[i + 2]) >= 0) {
			o[len++] = (char)(hex_val((unsigned char)p[i + 1]) * 16 +
			    hex_val((unsigned char)p[i + 2]));
			i += 3;
			continue;
		}
		o[len++] = p[i++];
	}
	return len;
}

/* b64_decode: RFC 2045 6.8 into o (n bytes of room), leniently: bytes
 * outside the alphabet (line breaks, garbage) are skipped, and "=" ends a
 * quantum (concatenated encodings decode too). Returns the length. */
static size_t
b64_decode(const char *p, size_t n, char *o)
{
	uint32_t acc = 0;
	unsigned int bits = 0;
	size_t i, len = 0;

	for (i = 0; i < n; i++) {
		int v = b64_val((unsigned char)p[i]);

		if (v < 0) {
			if (p[i] == '=')
				acc = bits = 0;
			continue;
		}
		acc = (acc << 6) | (uint32_t)v;
		if ((bits += 6) >= 8) {
			bits -= 8;
			o[len++] = (char)(acc >> bits);
			acc &= (1U << bits) - 1;
		}
	}
	return len;
}

/* put_part: the text of one text part, body p[0, n). */
static int
put_part(struct tctx *t, const struct text_info *ti, const char *p,
    size_t n, struct buf *out)
{
	struct html h;
	struct sink s = { out, NULL };
	struct conv c;
	char *dec = NULL;
	int ret;

	if (ti->cte != CTE_NONE) {
		/* decoding never makes text longer */
		dec = xmalloc(n + 1);
		n = ti->cte == CTE_QP ? qp_decode(p, n, dec) :
		    b64_decode(p, n, dec);
		p = dec;
	}
	if (ti->html) {
		memset(&h, 0, sizeof(h));
		h.space = true;
		s.html = &h;
	}
	/* no charset, or one we cannot convert: UTF-8 if it is, else
	 * Windows-1252 */
	memset(&c, 0, sizeof(c));
	if (ti->charset[0] == '\0' ||
	    conv_lookup(t, ti->charset, strlen(ti->charset), &c) < 0)
		c.kind = CS_UTF8;
	ret = convert(t, &c, &s, p, n);
	if (ret == 0 && s.html != NULL)
		ret = html_finish(&h, out);
	free(dec);
	return ret;
}

int
mime_text_body(const char *data, size_t len, const struct mime_message *msg,
    struct buf *out)
{
	struct tctx t;
	struct text_info ti;
	size_t i;
	bool first = true;
	int ret = 0;

	if (data == NULL)
		return 0;
	tctx_init(&t);
	for (i = 0; i < msg->nparts && ret == 0; i++) {
		const struct mime_part *p = &msg->parts[i];

		if (p->header_start > p->body_start ||
		    p->body_start > p->body_end || p->body_end > len)
			continue;	/* not what mime_parse() makes */
		/* the header of a message/rfc822 part's message */
		if (p->parent >= 0 &&
		    (msg->parts[p->parent].flags & MIME_PART_MESSAGE) != 0) {
			if (!first && put(out, "\n", 1) < 0) {
				ret = -1;
				break;
			}
			first = false;
			ret = put_header(&t, data, p->header_start,
			    p->body_start, out);
		}
		if (ret == 0 && (p->flags & MIME_PART_TEXT) != 0) {
			if (!first && put(out, "\n", 1) < 0) {
				ret = -1;
				break;
			}
			first = false;
			part_info(data, msg, i, &ti);
			ret = put_part(&t, &ti, data + p->body_start,
			    p->body_end - p->body_start, out);
		}
	}
	tctx_free(&t);
	return ret;
}

/* ---- Case folding ------------------------------------------------------ */

/*
 * The case fold of SQLite 3.40's FTS5 (sqlite3Fts5UnicodeFold() with
 * remove_diacritics 0, as the trigram tokenizer calls it), which is
 * Unicode's simple case folding as of Unicode 6.1: code points first to
 * last, every stride-th one, map to itself plus delta. Made by feeding
 * every code point to a trigram table and reading its fts5vocab; the
 * store's index folds the same way, so the two agree on every match.
 */
static const struct fold_rule {
	uint32_t first, last;
	int32_t delta;
	uint32_t stride;
} fold_rules[] = {
	{ 0x0041, 0x005A, 32, 1 }, { 0x00B5, 0x00B5, 775, 1 },
	{ 0x00C0, 0x00D6, 32, 1 }, { 0x00D8, 0x00DE, 32, 1 },
	{ 0x0100, 0x012E, 1, 2 }, { 0x0132, 0x0136, 1, 2 },
	{ 0x0139, 0x0147, 1, 2 }, { 0x014A, 0x0176, 1, 2 },
	{ 0x0178, 0x0178, -121, 1 }, { 0x0179, 0x017D, 1, 2 },
	{ 0x017F, 0x017F, -268, 1 }, { 0x0181, 0x0181, 210, 1 },
	{ 0x0182, 0x0184, 1, 2 }, { 0x0186, 0x0186, 206, 1 },
	{ 0x0187, 0x0187, 1, 1 }, { 0x0189, 0x018A, 205, 1 },
	{ 0x018B, 0x018B, 1, 1 }, { 0x018E, 0x018E, 79, 1 },
	{ 0x018F, 0x018F, 202, 1 }, { 0x0190, 0x0190, 203, 1 },
	{ 0x0191, 0x0191, 1, 1 }, { 0x0193, 0x0193, 205, 1 },
	{ 0x0194, 0x0194, 207, 1 }, { 0x0196, 0x0196, 211, 1 },
	{ 0x0197, 0x0197, 209, 1 }, { 0x0198, 0x0198, 1, 1 },
	{ 0x019C, 0x019C, 211, 1 }, { 0x019D, 0x019D, 213, 1 },
	{ 0x019F, 0x019F, 214, 1 }, { 0x01A0, 0x01A4, 1, 2 },
	{ 0x01A6, 0x01A6, 218, 1 }, { 0x01A7, 0x01A7, 1, 1 },
	{ 0x01A9, 0x01A9, 218, 1 }, { 0x01AC, 0x01AC, 1, 1 },
	{ 0x01AE, 0x01AE, 218, 1 }, { 0x01AF, 0x01AF, 1, 1 },
	{ 0x01B1, 0x01B2, 217, 1 }, { 0x01B3, 0x01B5, 1, 2 },
	{ 0x01B7, 0x01B7, 219, 1 }, { 0x01B8, 0x01B8, 1, 1 },
	{ 0x01BC, 0x01BC, 1, 1 }, { 0x01C4, 0x01C4, 2, 1 },
	{ 0x01C5, 0x01C5, 1, 1 }, { 0x01C7, 0x01C7, 2, 1 },
	{ 0x01C8, 0x01C8, 1, 1 }, { 0x01CA, 0x01CA, 2, 1 },
	{ 0x01CB, 0x01DB, 1, 2 }, { 0x01DE, 0x01EE, 1, 2 },
	{ 0x01F1, 0x01F1, 2, 1 }, { 0x01F2, 0x01F4, 1, 2 },
	{ 0x01F6, 0x01F6, -97, 1 }, { 0x01F7, 0x01F7, -56, 1 },
	{ 0x01F8, 0x021E, 1, 2 }, { 0x0220, 0x0220, -130, 1 },
	{ 0x0222, 0x0232, 1, 2 }, { 0x023A, 0x023A, 10795, 1 },
	{ 0x023B, 0x023B, 1, 1 }, { 0x023D, 0x023D, -163, 1 },
	{ 0x023E, 0x023E, 10792, 1 }, { 0x0241, 0x0241, 1, 1 },
	{ 0x0243, 0x0243, -195, 1 }, { 0x0244, 0x0244, 69, 1 },
	{ 0x0245, 0x0245, 71, 1 }, { 0x0246, 0x024E, 1, 2 },
	{ 0x0345, 0x0345, 116, 1 }, { 0x0370, 0x0372, 1, 2 },
	{ 0x0376, 0x0376, 1, 1 }, { 0x0386, 0x0386, 38, 1 },
	{ 0x0388, 0x038A, 37, 1 }, { 0x038C, 0x038C, 64, 1 },
	{ 0x038E, 0x038F, 63, 1 }, { 0x0391, 0x03A1, 32, 1 },
	{ 0x03A3, 0x03AB, 32, 1 }, { 0x03C2, 0x03C2, 1, 1 },
	{ 0x03CF, 0x03CF, 8, 1 }, { 0x03D0, 0x03D0, -30, 1 },
	{ 0x03D1, 0x03D1, -25, 1 }, { 0x03D5, 0x03D5, -15, 1 },
	{ 0x03D6, 0x03D6, -22, 1 }, { 0x03D8, 0x03EE, 1, 2 },
	{ 0x03F0, 0x03F0, -54, 1 }, { 0x03F1, 0x03F1, -48, 1 },
	{ 0x03F4, 0x03F4, -60, 1 }, { 0x03F5, 0x03F5, -64, 1 },
	{ 0x03F7, 0x03F7, 1, 1 }, { 0x03F9, 0x03F9, -7, 1 },
	{ 0x03FA, 0x03FA, 1, 1 }, { 0x03FD, 0x03FF, -130, 1 },
	{ 0x0400, 0x040F, 80, 1 }, { 0x0410, 0x042F, 32, 1 },
	{ 0x0460, 0x0480, 1, 2 }, { 0x048A, 0x04BE, 1, 2 },
	{ 0x04C0, 0x04C0, 15, 1 }, { 0x04C1, 0x04CD, 1, 2 },
	{ 0x04D0, 0x0526, 1, 2 }, { 0x0531, 0x0556, 48, 1 },
	{ 0x10A0, 0x10C5, 7264, 1 }, { 0x10C7, 0x10C7, 7264, 1 },
	{ 0x10CD, 0x10CD, 7264, 1 }, { 0x1E00, 0x1E94, 1, 2 },
	{ 0x1E9B, 0x1E9B, -58, 1 }, { 0x1E9E, 0x1E9E, -7615, 1 },
	{ 0x1EA0, 0x1EFE, 1, 2 }, { 0x1F08, 0x1F0F, -8, 1 },
	{ 0x1F18, 0x1F1D, -8, 1 }, { 0x1F28, 0x1F2F, -8, 1 },
	{ 0x1F38, 0x1F3F, -8, 1 }, { 0x1F48, 0x1F4D, -8, 1 },
	{ 0x1F59, 0x1F5F, -8, 2 }, { 0x1F68, 0x1F6F, -8, 1 },
	{ 0x1F88, 0x1F8F, -8, 1 }, { 0x1F98, 0x1F9F, -8, 1 },
	{ 0x1FA8, 0x1FAF, -8, 1 }, { 0x1FB8, 0x1FB9, -8, 1 },
	{ 0x1FBA, 0x1FBB, -74, 1 }, { 0x1FBC, 0x1FBC, -9, 1 },
	{ 0x1FBE, 0x1FBE, -7173, 1 }, { 0x1FC8, 0x1FCB, -86, 1 },
	{ 0x1FCC, 0x1FCC, -9, 1 }, { 0x1FD8, 0x1FD9, -8, 1 },
	{ 0x1FDA, 0x1FDB, -100, 1 }, { 0x1FE8, 0x1FE9, -8, 1 },
	{ 0x1FEA, 0x1FEB, -112, 1 }, { 0x1FEC, 0x1FEC, -7, 1 },
	{ 0x1FF8, 0x1FF9, -128, 1 }, { 0x1FFA, 0x1FFB, -126, 1 },
	{ 0x1FFC, 0x1FFC, -9, 1 }, { 0x2126, 0x2126, -7517, 1 },
	{ 0x212A, 0x212A, -8383, 1 }, { 0x212B, 0x212B, -8262, 1 },
	{ 0x2132, 0x2132, 28, 1 }, { 0x2160, 0x216F, 16, 1 },
	{ 0x2183, 0x2183, 1, 1 }, { 0x24B6, 0x24CF, 26, 1 },
	{ 0x2C00, 0x2C2E, 48, 1 }, { 0x2C60, 0x2C60, 1, 1 },
	{ 0x2C62, 0x2C62, -10743, 1 }, { 0x2C63, 0x2C63, -3814, 1 },
	{ 0x2C64, 0x2C64, -10727, 1 }, { 0x2C67, 0x2C6B, 1, 2 },
	{ 0x2C6D, 0x2C6D, -10780, 1 }, { 0x2C6E, 0x2C6E, -10749, 1 },
	{ 0x2C6F, 0x2C6F, -10783, 1 }, { 0x2C70, 0x2C70, -10782, 1 },
	{ 0x2C72, 0x2C72, 1, 1 }, { 0x2C75, 0x2C75, 1, 1 },
	{ 0x2C7E, 0x2C7F, -10815, 1 }, { 0x2C80, 0x2CE2, 1, 2 },
	{ 0x2CEB, 0x2CED, 1, 2 }, { 0x2CF2, 0x2CF2, 1, 1 },
	{ 0xA640, 0xA66C, 1, 2 }, { 0xA680, 0xA696, 1, 2 },
	{ 0xA722, 0xA72E, 1, 2 }, { 0xA732, 0xA76E, 1, 2 },
	{ 0xA779, 0xA77B, 1, 2 }, { 0xA77D, 0xA77D, -35332, 1 },
	{ 0xA77E, 0xA786, 1, 2 }, { 0xA78B, 0xA78B, 1, 1 },
	{ 0xA78D, 0xA78D, -42280, 1 }, { 0xA790, 0xA792, 1, 2 },
	{ 0xA7A0, 0xA7A8, 1, 2 }, { 0xA7AA, 0xA7AA, -42308, 1 },
	{ 0xFF21, 0xFF3A, 32, 1 }, { 0x10400, 0x10427, 40, 1 },
};

static uint32_t
fold_cp(uint32_t cp)
{
	size_t lo = 0, hi = sizeof(fold_rules) / sizeof(fold_rules[0]);

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (fold_rules[mid].last < cp)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo < sizeof(fold_rules) / sizeof(fold_rules[0]) &&
	    fold_rules[lo].first <= cp &&
	    (cp - fold_rules[lo].first) % fold_rules[lo].stride == 0)
		return (uint32_t)((int32_t)cp + fold_rules[lo].delta);
	return cp;
}

int
mime_text_fold(const char *in, size_t len, struct buf *out)
{
	const unsigned char *p = (const unsigned char *)in;
	char tmp[512];
	size_t i = 0, o = 0, k;
	uint32_t cp;

	while (i < len) {
		if (p[i] < 0x80) {
			tmp[o++] = (char)(p[i] >= 'A' && p[i] <= 'Z' ?
			    p[i] | 0x20 : p[i]);
			i++;
		} else if ((k = utf8_seq(p + i, len - i, &cp)) == 0) {
			tmp[o++] = (char)p[i++];	/* invalid: as it is */
		} else {
			o += utf8_enc(tmp + o, fold_cp(cp));
			i += k;
		}
		if (o > sizeof(tmp) - 4) {
			if (put(out, tmp, o) < 0)
				return -1;
			o = 0;
		}
	}
	return put(out, tmp, o);
}
