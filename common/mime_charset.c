/*
 * mime_charset.c - text in a MIME charset to UTF-8 for the search text
 * (mime_text.c): glibc iconv for the charsets it knows, our own reading
 * of ISO-8859-1 as Windows-1252 (WHATWG Encoding), and UTF-8 kept when
 * it is valid (else read as Windows-1252).
 *
 * Input is untrusted bytes and an untrusted charset name. Names are
 * checked against a strict alphabet (no "/" suffixes, at most
 * MIME_CHARSET_MAX characters, RFC 2978 2.3) before they reach
 * iconv_open(); conversions are only ever to UTF-8. Output is bounded by
 * the caller's struct buf.
 */
#include <errno.h>
#include <iconv.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "ascii.h"
#include "mime_text_internal.h"

/* U+FFFD REPLACEMENT CHARACTER, for bytes a charset does not define. */
#define REPLACEMENT	"\xef\xbf\xbd"

/* Windows-1252 0x80-0x9F (undefined bytes as the C1 controls). */
const uint16_t mime_cp1252_c1[32] = {
	0x20ac, 0x0081, 0x201a, 0x0192, 0x201e, 0x2026, 0x2020, 0x2021,
	0x02c6, 0x2030, 0x0160, 0x2039, 0x0152, 0x008d, 0x017d, 0x008f,
	0x0090, 0x2018, 0x2019, 0x201c, 0x201d, 0x2022, 0x2013, 0x2014,
	0x02dc, 0x2122, 0x0161, 0x203a, 0x0153, 0x009d, 0x017e, 0x0178,
};

/* utf8_valid: true when s[0, n) is valid UTF-8 (utf8_decode()). */
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
		if ((k = utf8_decode(p + i, n - i, &cp)) == 0)
			return false;
		i += k;
	}
	return true;
}

/* sink_put: UTF-8 text to s->out, through s->html when set. */
static int
sink_put(struct mime_sink *s, const char *p, size_t n)
{
	if (s->html != NULL)
		return mime_html_feed(s->html, s->out, p, n);
	return mime_text_put_text(s->out, p, n);
}

void
mime_iconv_init(struct mime_iconv *ic)
{
	ic->cd = (iconv_t)-1;
	ic->name[0] = '\0';
}

void
mime_iconv_close(struct mime_iconv *ic)
{
	if (ic->cd != (iconv_t)-1)
		iconv_close(ic->cd);
	ic->cd = (iconv_t)-1;
}

/* conv_open: ic->cd converts from name to UTF-8, in its initial state.
 * -1 when iconv does not know name. */
static int
conv_open(struct mime_iconv *ic, const char *name)
{
	if (ic->cd != (iconv_t)-1 && strcmp(ic->name, name) == 0) {
		(void)iconv(ic->cd, NULL, NULL, NULL, NULL);
		return 0;
	}
	if (ic->cd != (iconv_t)-1)
		iconv_close(ic->cd);
	ic->name[0] = '\0';
	if ((ic->cd = iconv_open("UTF-8", name)) == (iconv_t)-1)
		return -1;
	strcpy(ic->name, name);	/* both MIME_CHARSET_MAX + 1 */
	return 0;
}

/* Names iconv does not know, or knows as a smaller charset than mail
 * means by them (WHATWG Encoding's labels). */
static const struct {
	const char *label;
	enum mime_charset_kind kind;
	const char *name;
} charset_aliases[] = {
	{ "utf-8", MIME_CS_UTF8, NULL }, { "utf8", MIME_CS_UTF8, NULL },
	{ "us-ascii", MIME_CS_UTF8, NULL }, { "ascii", MIME_CS_UTF8, NULL },
	{ "ansi_x3.4-1968", MIME_CS_UTF8, NULL },
	{ "iso-8859-1", MIME_CS_1252, NULL },
	{ "iso8859-1", MIME_CS_1252, NULL },
	{ "iso_8859-1", MIME_CS_1252, NULL }, { "latin1", MIME_CS_1252, NULL },
	{ "l1", MIME_CS_1252, NULL }, { "windows-1252", MIME_CS_1252, NULL },
	{ "cp1252", MIME_CS_1252, NULL }, { "x-cp1252", MIME_CS_1252, NULL },
	{ "ks_c_5601-1987", MIME_CS_ICONV, "CP949" },
	{ "gb2312", MIME_CS_ICONV, "GB18030" },
	{ "gbk", MIME_CS_ICONV, "GB18030" },
	{ "x-gbk", MIME_CS_ICONV, "GB18030" },
	{ "iso-8859-8-i", MIME_CS_ICONV, "ISO-8859-8" },
	{ "x-sjis", MIME_CS_ICONV, "SJIS" },
	{ "windows-31j", MIME_CS_ICONV, "CP932" },
};

int
mime_charset_lookup(struct mime_iconv *ic, const char *s, size_t n,
    struct mime_charset *c)
{
	const char *star = memchr(s, '*', n);
	char lower[MIME_CHARSET_MAX + 1];
	size_t i;

	if (star != NULL)
		n = (size_t)(star - s);
	if (n == 0 || n > MIME_CHARSET_MAX)
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
			if (c->kind == MIME_CS_ICONV)
				strcpy(c->name, charset_aliases[i].name);
			else
				c->name[0] = '\0';
			return c->kind == MIME_CS_ICONV ?
			    conv_open(ic, c->name) : 0;
		}
	}
	c->kind = MIME_CS_ICONV;
	memcpy(c->name, lower, n + 1);
	return conv_open(ic, c->name);
}

/* put_1252: bytes read as Windows-1252. */
static int
put_1252(struct mime_sink *s, const char *p, size_t n)
{
	char tmp[512];
	size_t i, o = 0;

	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)p[i];

		if (c < 0x80)
			tmp[o++] = (char)c;
		else
			o += utf8_encode(tmp + o,
			    c >= 0xa0 ? c : mime_cp1252_c1[c - 0x80]);
		if (o > sizeof(tmp) - 4) {
			if (sink_put(s, tmp, o) < 0)
				return -1;
			o = 0;
		}
	}
	return sink_put(s, tmp, o);
}

int
mime_charset_put_8bit(struct mime_sink *s, const char *p, size_t n)
{
	return utf8_valid(p, n) ? sink_put(s, p, n) : put_1252(s, p, n);
}

/* put_iconv: p[0, n) converted by ic->cd; a byte it cannot convert is
 * U+FFFD (and skipped). */
static int
put_iconv(struct mime_iconv *ic, struct mime_sink *s, const char *p,
    size_t n)
{
	char obuf[4096], *in = (char *)p, *o;
	size_t inleft = n, oleft, r;

	for (;;) {
		o = obuf;
		oleft = sizeof(obuf);
		r = inleft > 0 ? iconv(ic->cd, &in, &inleft, &o, &oleft) :
		    iconv(ic->cd, NULL, NULL, &o, &oleft);	/* shift back */
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

int
mime_charset_convert(struct mime_iconv *ic, const struct mime_charset *c,
    struct mime_sink *s, const char *p, size_t n)
{
	switch (c->kind) {
	case MIME_CS_ICONV:
		/* the converter may have been replaced meanwhile */
		if (conv_open(ic, c->name) == 0)
			return put_iconv(ic, s, p, n);
		return mime_charset_put_8bit(s, p, n);
	case MIME_CS_1252:
		return put_1252(s, p, n);
	case MIME_CS_UTF8:
		break;
	}
	return mime_charset_put_8bit(s, p, n);
}
