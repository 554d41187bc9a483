/*
 * mime_text_internal.h - shared by the files that make the search text
 * of a message (mime_text.c, mime_charset.c, mime_html.c, utf8_fold.c)
 * and by nothing else; not an API (mime_text.h is).
 *
 * Every function that appends to a struct buf returns 0, or -1 when the
 * buf's maximum is reached; then the buf holds as much as fitted, cut at
 * a UTF-8 character boundary (mime_text_put()).
 */
#ifndef LETTERBOX_MIME_TEXT_INTERNAL_H
#define LETTERBOX_MIME_TEXT_INTERNAL_H

#include <iconv.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"

/* RFC 2978 2.3: a charset name has at most 40 characters. */
#define MIME_CHARSET_MAX	40
/* An RFC 2231 5 language suffix ("*en-US") is read past, up to this. */
#define MIME_CHARSET_LANG_MAX	40

/* ---- Output (mime_text.c) ---------------------------------------------- */

/* mime_text_put: appends n bytes to out; when they do not all fit, as
 * many as fit (ending at a character boundary) and -1. */
int mime_text_put(struct buf *out, const void *p, size_t n);

/* mime_text_put_text: mime_text_put() with every NUL byte written as a
 * space, so that the text can be a C string. */
int mime_text_put_text(struct buf *out, const char *p, size_t n);

/* ---- UTF-8 (utf8_fold.c) ----------------------------------------------- */

/* utf8_encode: writes code point cp (at most U+10FFFF) as UTF-8 into o
 * (4 bytes of room); returns the length. */
size_t utf8_encode(char *o, uint32_t cp);

/* utf8_decode: the length of the valid UTF-8 sequence at p (n > 0 bytes
 * available), its code point in *cp_r; 0 when invalid (RFC 3629 4: no
 * overlong forms, surrogates, or code points past U+10FFFF). */
size_t utf8_decode(const unsigned char *p, size_t n, uint32_t *cp_r);

/* ---- HTML to text (mime_html.c) ---------------------------------------- */

enum mime_html_state {
	MIME_HTML_TEXT,
	MIME_HTML_TAG,		/* after "<" */
	MIME_HTML_COMMENT,	/* after "<!--" */
	MIME_HTML_RAW,		/* inside <script> or <style> */
	MIME_HTML_ENTITY,	/* after "&" */
};

/* The state of one HTML document being filtered; the caller holds it
 * (on its stack), only mime_html.c reads or writes its fields. */
struct mime_html {
	enum mime_html_state state;
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
	char obuf[512];		/* text waiting for mime_text_put_text() */
	size_t olen;
};

/* mime_html_init: h at the start of a document. */
void mime_html_init(struct mime_html *h);

/* mime_html_feed: the next n bytes (UTF-8) of the document, their text
 * appended to out (some of it held in h until mime_html_finish()). */
int mime_html_feed(struct mime_html *h, struct buf *out, const char *p,
    size_t n);

/* mime_html_finish: the end of the document: an unfinished entity is
 * text, and what h holds goes to out. */
int mime_html_finish(struct mime_html *h, struct buf *out);

/* ---- Charsets (mime_charset.c) ----------------------------------------- */

/* Windows-1252 0x80-0x9F (undefined bytes as the C1 controls). */
extern const uint16_t mime_cp1252_c1[32];

enum mime_charset_kind {
	MIME_CS_UTF8,	/* UTF-8 or ASCII: kept when valid, else MIME_CS_1252 */
	MIME_CS_1252,	/* ISO-8859-1 and Windows-1252 (WHATWG's reading) */
	MIME_CS_ICONV,
};

/* A charset as mime_charset_lookup() found it. */
struct mime_charset {
	enum mime_charset_kind kind;
	char name[MIME_CHARSET_MAX + 1];	/* iconv's name, for ICONV */
};

/* The iconv converter of one call, opened once per charset and closed by
 * mime_iconv_close(). */
struct mime_iconv {
	iconv_t cd;		/* (iconv_t)-1 when none is open */
	char name[MIME_CHARSET_MAX + 1];
};

/* Where converted text goes: out, through the HTML filter when html is
 * not NULL. Owns neither. */
struct mime_sink {
	struct buf *out;
	struct mime_html *html;
};

void mime_iconv_init(struct mime_iconv *ic);
void mime_iconv_close(struct mime_iconv *ic);

/*
 * mime_charset_lookup: the charset named s[0, n) (an RFC 2231 "*lang"
 * suffix ignored), its converter opened in ic. Returns 0 with *c, or -1
 * when the name is malformed or iconv does not know it.
 */
int mime_charset_lookup(struct mime_iconv *ic, const char *s, size_t n,
    struct mime_charset *c);

/* mime_charset_convert: p[0, n) in charset c to UTF-8 into s (through
 * ic when c is an iconv charset). */
int mime_charset_convert(struct mime_iconv *ic, const struct mime_charset *c,
    struct mime_sink *s, const char *p, size_t n);

/* mime_charset_put_8bit: text in no declared charset into s: UTF-8 when
 * valid, else Windows-1252. */
int mime_charset_put_8bit(struct mime_sink *s, const char *p, size_t n);

#endif
