/*
 * mime_text.c - the decoded text of a message for search (mime_text.h):
 * RFC 2047 encoded words in header fields and RFC 2045 6 transfer
 * encodings of bodies; charsets are converted by mime_charset.c, HTML
 * filtered by mime_html.c, and the case fold is in utf8_fold.c.
 *
 * Input is untrusted bytes (a message, or a header value, as received).
 * Every loop advances through its input and looks at each byte a bounded
 * number of times, so time is linear; scratch buffers are bounded by the
 * input's size, and output by the caller's struct buf.
 */
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
#include "mime_text_internal.h"
#include "xalloc.h"

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

int
mime_text_put(struct buf *out, const void *p, size_t n)
{
	size_t room = out->max - out->len;

	if (n <= room)
		return buf_append(out, p, n);
	(void)buf_append(out, p, room);
	trim_partial(out);
	return -1;
}

int
mime_text_put_text(struct buf *out, const char *p, size_t n)
{
	const char *nul;

	if (n == 0)
		return 0;	/* p may be NULL (an empty buffer) */
	while ((nul = memchr(p, '\0', n)) != NULL) {
		size_t k = (size_t)(nul - p);

		if (mime_text_put(out, p, k) < 0 ||
		    mime_text_put(out, " ", 1) < 0)
			return -1;
		p += k + 1;
		n -= k + 1;
	}
	return mime_text_put(out, p, n);
}

/* ---- Scratch ----------------------------------------------------------- */

/* Scratch state of one call: converters are opened once per charset. */
struct tctx {
	struct buf raw;		/* unfolded header text */
	struct buf ew;		/* decoded octets of adjacent encoded words */
	struct buf one;		/* decoded octets of one encoded word */
	struct mime_iconv ic;
};

static void
tctx_init(struct tctx *t)
{
	buf_init(&t->raw, SIZE_MAX);
	buf_init(&t->ew, SIZE_MAX);
	buf_init(&t->one, SIZE_MAX);
	mime_iconv_init(&t->ic);
}

static void
tctx_free(struct tctx *t)
{
	buf_free(&t->raw);
	buf_free(&t->ew);
	buf_free(&t->one);
	mime_iconv_close(&t->ic);
}

/* ---- Header fields ----------------------------------------------------- */

static bool
is_lwsp(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* put_raw: header text that is not an encoded word: unfolded (RFC 5322
 * 2.2.3: CRLF + WSP is the WSP; any other CR or LF is a space) and read
 * by mime_charset_put_8bit(). */
static int
put_raw(struct tctx *t, struct mime_sink *s, const char *p, size_t n)
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
	return mime_charset_put_8bit(s, t->raw.data != NULL ? t->raw.data : "",
	    t->raw.len);
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
	for (k = j;
	    k < n && k - j <= MIME_CHARSET_MAX + MIME_CHARSET_LANG_MAX; k++) {
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
flush_ew(struct tctx *t, struct mime_sink *s, bool *pending,
    const struct mime_charset *c)
{
	int ret = 0;

	if (*pending)
		ret = mime_charset_convert(&t->ic, c, s, t->ew.data, t->ew.len);
	buf_reset(&t->ew);
	*pending = false;
	return ret;
}

/* header_decode: mime_text_header() with the caller's scratch state. */
static int
header_decode(struct tctx *t, const char *v, size_t n, struct buf *out)
{
	struct mime_sink s = { out, NULL };
	struct mime_charset cur, next;
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
		if (mime_charset_lookup(&t->ic, ew.charset, ew.charset_len,
		    &next) < 0 || ew_decode(&ew, &t->one) < 0) {
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
	struct mime_sink s = { out, NULL };
	struct mime_field f;
	size_t pos = start;

	while (mime_header_next(data, end, &pos, &f)) {
		const char *name = data + f.start;
		bool colon = memchr(name, ':', f.value_end - f.start) != NULL;

		if (put_raw(t, &s, name, f.name_len) < 0 ||
		    (colon && (mime_text_put(out, ": ", 2) < 0 ||
		    header_decode(t, data + f.value_start,
		    f.value_end - f.value_start, out) < 0)) ||
		    mime_text_put(out, "\n", 1) < 0)
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
	/* "" if none */
	char charset[MIME_CHARSET_MAX + MIME_CHARSET_LANG_MAX + 1];
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
	struct mime_html h;
	struct mime_sink s = { out, NULL };
	struct mime_charset c;
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
		mime_html_init(&h);
		s.html = &h;
	}
	/* no charset, or one we cannot convert: UTF-8 if it is, else
	 * Windows-1252 */
	memset(&c, 0, sizeof(c));
	if (ti->charset[0] == '\0' ||
	    mime_charset_lookup(&t->ic, ti->charset, strlen(ti->charset),
	    &c) < 0)
		c.kind = MIME_CS_UTF8;
	ret = mime_charset_convert(&t->ic, &c, &s, p, n);
	if (ret == 0 && s.html != NULL)
		ret = mime_html_finish(&h, out);
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
			if (!first && mime_text_put(out, "\n", 1) < 0) {
				ret = -1;
				break;
			}
			first = false;
			ret = put_header(&t, data, p->header_start,
			    p->body_start, out);
		}
		if (ret == 0 && (p->flags & MIME_PART_TEXT) != 0) {
			if (!first && mime_text_put(out, "\n", 1) < 0) {
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
