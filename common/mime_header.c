/*
 * mime_header.c - header fields of a MIME part: RFC 5322 tokens (CFWS,
 * atoms, quoted strings, obsolete phrases and routes, shared with
 * mime_address.c), RFC 2045 Content-* fields and RFC 2231 parameter
 * continuations, as IMAP BODYSTRUCTURE needs them.
 *
 * Input is untrusted header text; every loop advances through a bounded
 * value, so the cost is linear in its length. Values are not RFC 2047
 * decoded: IMAP sends them raw (RFC 3501 7.4.2). Where RFC 5322 leaves a
 * choice for broken input, this follows Dovecot 2.3 so that ENVELOPE and
 * BODYSTRUCTURE answers match it byte for byte (MISSING_MAILBOX,
 * MISSING_DOMAIN, unmerged RFC 2231 pieces).
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MIME_INTERNAL
#include "ascii.h"
#include "limits.h"
#include "mime.h"
#include "xalloc.h"


/* RFC 5322 3.2.3 atext, with 8-bit bytes allowed (RFC 6532); bit 2 marks
 * the MIME tspecials of RFC 2045 5.1 that are atext ("/", "=", "?"). */
bool
mime_is_atext(unsigned char c)
{
	if (c >= 0x80 || ascii_is_alnum(c))
		return true;
	return c != '\0' && strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL;
}

unsigned char
mime_tok_peek(const struct mime_tok *t)
{
	return t->p < t->end ? *t->p : '\0';
}

static bool
is_token(unsigned char c)
{
	return (mime_is_atext(c) && c != '/' && c != '=' && c != '?') || c == '.';
}

/* mime_strndup: a NUL-terminated copy with NULs stored as 0x80. */
char *
mime_strndup(const char *s, size_t len)
{
	char *r = xmalloc(len + 1);
	size_t i;

	for (i = 0; i < len; i++)
		r[i] = s[i] == '\0' ? (char)0x80 : s[i];
	r[len] = '\0';
	return r;
}

char *
mime_buf_strdup(const struct buf *b)
{
	return mime_strndup(b->data != NULL ? b->data : "", b->len);
}

void
mime_buf_put(struct buf *b, const void *p, size_t n)
{
	/* Values are bounded by the header limit, far below MIME_TOKBUF_MAX. */
	(void)buf_append(b, p, n);
}

static int
skip_comment(struct mime_tok *t)
{
	const unsigned char *start;
	int level = 1;

	if (t->comment != NULL)
		buf_reset(t->comment);
	start = ++t->p;
	for (; t->p < t->end; t->p++) {
		switch (mime_tok_peek(t)) {
		case '(':
			level++;
			break;
		case ')':
			if (--level == 0) {
				if (t->comment != NULL)
					mime_buf_put(t->comment, start,
					    (size_t)(t->p - start));
				t->p++;
				return t->p < t->end;
			}
			break;
		case '\\':
			if (t->comment != NULL)
				mime_buf_put(t->comment, start, (size_t)(t->p - start));
			start = t->p + 1;
			t->p++;
			if (t->p == t->end)
				return -1;
			break;
		}
	}
	return -1;
}

/*
 * mime_tok_skip_lwsp: skips white space, line breaks and comments.
 * Returns 1 when data remains, 0 at the end, -1 on an unclosed comment.
 */
int
mime_tok_skip_lwsp(struct mime_tok *t)
{
	while (t->p < t->end) {
		if (mime_tok_peek(t) == ' ' || mime_tok_peek(t) == '\t' || mime_tok_peek(t) == '\r' ||
		    mime_tok_peek(t) == '\n') {
			t->p++;
			continue;
		}
		if (mime_tok_peek(t) != '(')
			break;
		if (skip_comment(t) < 0)
			return -1;
	}
	return t->p < t->end;
}

static int
tok_atom(struct mime_tok *t, struct buf *out)
{
	const unsigned char *start;

	if (t->p == t->end || !mime_is_atext(mime_tok_peek(t)))
		return -1;
	for (start = t->p++; t->p < t->end && mime_is_atext(mime_tok_peek(t)); t->p++)
		;
	mime_buf_put(out, start, (size_t)(t->p - start));
	return t->p < t->end ? mime_tok_skip_lwsp(t) : 0;
}

/* dot-atom, with white space around the dots (RFC 5322 4.4 obs). */
static int
tok_dot_atom(struct mime_tok *t, struct buf *out)
{
	const unsigned char *start;
	int ret;

	if (t->p == t->end || !mime_is_atext(mime_tok_peek(t)))
		return -1;
	for (start = t->p++; t->p < t->end;) {
		if (mime_is_atext(mime_tok_peek(t))) {
			t->p++;
			continue;
		}
		mime_buf_put(out, start, (size_t)(t->p - start));
		if ((ret = mime_tok_skip_lwsp(t)) <= 0)
			return ret;
		if (mime_tok_peek(t) != '.')
			return 1;
		t->p++;
		mime_buf_put(out, ".", 1);
		if ((ret = mime_tok_skip_lwsp(t)) <= 0)
			return ret;
		start = t->p;
	}
	mime_buf_put(out, start, (size_t)(t->p - start));
	return 0;
}

/* mime_tok_mime_token: RFC 2045 5.1 token (may be empty). */
int
mime_tok_mime_token(struct mime_tok *t, struct buf *out)
{
	const unsigned char *start;

	for (start = t->p; t->p < t->end && is_token(mime_tok_peek(t)); t->p++)
		;
	mime_buf_put(out, start, (size_t)(t->p - start));
	return t->p < t->end ? mime_tok_skip_lwsp(t) : 0;
}

int
mime_tok_quoted(struct mime_tok *t, struct buf *out)
{
	const unsigned char *start;
	size_t len;

	t->p++;
	for (start = t->p; t->p < t->end; t->p++) {
		switch (mime_tok_peek(t)) {
		case '"':
			mime_buf_put(out, start, (size_t)(t->p - start));
			t->p++;
			return mime_tok_skip_lwsp(t);
		case '\n':
			/* RFC 5322 3.2.2: folding is not part of the text */
			len = (size_t)(t->p - start);
			if (len > 0 && start[len - 1] == '\r')
				len--;
			mime_buf_put(out, start, len);
			start = t->p + 1;
			break;
		case '\\':
			t->p++;
			if (t->p == t->end)
				return -1;
			mime_buf_put(out, start, (size_t)(t->p - start - 1));
			start = t->p;
			break;
		}
	}
	return -1;
}

int
mime_tok_atom_or_dot(struct mime_tok *t, struct buf *out)
{
	const unsigned char *start;

	for (start = t->p; t->p < t->end &&
	    (mime_is_atext(mime_tok_peek(t)) || mime_tok_peek(t) == '.'); t->p++)
		;
	mime_buf_put(out, start, (size_t)(t->p - start));
	return t->p < t->end ? mime_tok_skip_lwsp(t) : 0;
}

/* phrase = 1*word / obs-phrase (RFC 5322 3.2.5, 4.1); words joined by
 * one space. */
int
mime_tok_phrase(struct mime_tok *t, struct buf *out)
{
	int ret;

	if (t->p == t->end)
		return 0;
	if (mime_tok_peek(t) == '.')
		return -1;
	for (;;) {
		const unsigned char *before = t->p;

		if (mime_tok_peek(t) == '"')
			ret = mime_tok_quoted(t, out);
		else
			ret = mime_tok_atom_or_dot(t, out);
		if (ret <= 0)
			return ret;
		if (!mime_is_atext(mime_tok_peek(t)) && mime_tok_peek(t) != '"' && mime_tok_peek(t) != '.')
			break;
		if (t->p == before)
			break;	/* cannot happen; keeps the loop finite */
		mime_buf_put(out, " ", 1);
	}
	return mime_tok_skip_lwsp(t);
}

static int
tok_domain_literal(struct mime_tok *t, struct buf *out)
{
	const unsigned char *start;

	for (start = t->p; t->p < t->end; t->p++) {
		if (mime_tok_peek(t) == '\\') {
			t->p++;
			if (t->p == t->end)
				break;
		} else if (mime_tok_peek(t) == ']') {
			t->p++;
			mime_buf_put(out, start, (size_t)(t->p - start));
			return mime_tok_skip_lwsp(t);
		}
	}
	return -1;
}

/* "@" domain; t->p is at the "@". */
int
mime_tok_domain(struct mime_tok *t, struct buf *out)
{
	t->p++;
	if (mime_tok_skip_lwsp(t) <= 0)
		return -1;
	if (mime_tok_peek(t) == '[')
		return tok_domain_literal(t, out);
	return tok_dot_atom(t, out);
}

/*
 * mime_tok_content_type: "type/subtype" of RFC 2045 5.1 into out as
 * written. Returns -1 when broken (out holds what was read), else the
 * result of skipping what follows.
 */
int
mime_tok_content_type(struct mime_tok *t, struct buf *out)
{
	if (mime_tok_skip_lwsp(t) <= 0)
		return -1;
	if (mime_tok_mime_token(t, out) <= 0)
		return -1;
	if (mime_tok_peek(t) != '/')
		return -1;
	t->p++;
	if (mime_tok_skip_lwsp(t) <= 0)
		return -1;
	mime_buf_put(out, "/", 1);
	return mime_tok_mime_token(t, out);
}

/* One ";" attribute "=" value (RFC 2045 5.1). Returns 1 with the pair in
 * key/value, 0 at the end, -1 when broken. */
static int
tok_param(struct mime_tok *t, struct buf *key, struct buf *value)
{
	int ret;

	buf_reset(key);
	buf_reset(value);
	if (t->p == t->end)
		return 0;
	if (mime_tok_peek(t) != ';')
		return -1;
	t->p++;
	if (mime_tok_skip_lwsp(t) <= 0)
		return -1;
	if (mime_tok_mime_token(t, key) <= 0)
		return -1;
	if (mime_tok_peek(t) != '=')
		return -1;
	t->p++;
	if ((ret = mime_tok_skip_lwsp(t)) <= 0) {
		/* no value */
	} else if (mime_tok_peek(t) == '"') {
		ret = mime_tok_quoted(t, value);
	} else if (mime_tok_peek(t) == '=') {
		/* broken senders write name==?utf-8?b?...?= unquoted */
		while (t->p < t->end && mime_tok_peek(t) != ';' && mime_tok_peek(t) != ' ' &&
		    mime_tok_peek(t) != '\t' && mime_tok_peek(t) != '\r' && mime_tok_peek(t) != '\n')
			mime_buf_put(value, t->p++, 1);
	} else {
		ret = mime_tok_mime_token(t, value);
	}
	return ret < 0 ? -1 : 1;
}

struct rfc2231 {
	char *key, *value;
	unsigned int idx;
	bool extended;
};

static int
rfc2231_cmp(const void *a, const void *b)
{
	const struct rfc2231 *x = a, *y = b;
	int ret = strcmp(x->key, y->key);

	if (ret != 0)
		return ret;
	if (x->idx != y->idx)
		return x->idx < y->idx ? -1 : 1;
	/* equal pieces keep their order, so the result is deterministic */
	return x < y ? -1 : (x > y);
}

static void
params_add(struct mime_params *p, char *name, char *value)
{
	p->v = xreallocarray(p->v, p->n + 1, sizeof(*p->v));
	p->v[p->n].name = name;
	p->v[p->n].value = value;
	p->n++;
}

/* Merges RFC 2231 3 continuations (name*0, name*1*, ...) into one
 * "name" or "name*" parameter, the encoded value kept as written (IMAP
 * sends it so, RFC 2231 has no IMAP form). Pieces with a missing index
 * stay apart as "name*N[*]". */
static void
rfc2231_merge(struct rfc2231 *r, unsigned int n, struct mime_params *out)
{
	struct buf s;
	unsigned int i, j, next, next_idx;
	bool ok, have_ext;

	qsort(r, n, sizeof(*r), rfc2231_cmp);
	buf_init(&s, MIME_TOKBUF_MAX);
	for (i = 0; i < n; i = next) {
		ok = true;
		have_ext = false;
		next_idx = 0;
		for (j = i; j < n; j++) {
			if (strcasecmp(r[i].key, r[j].key) != 0)
				break;
			if (r[j].idx != next_idx)
				ok = false;
			if (r[j].extended)
				have_ext = true;
			next_idx++;
		}
		next = j;
		if (!ok) {
			for (j = i; j < next; j++) {
				params_add(out, xasprintf(r[j].extended ?
				    "%s*%u*" : "%s*%u", r[j].key, r[j].idx),
				    r[j].value);
				r[j].value = NULL;
			}
			continue;
		}
		buf_reset(&s);
		if (!r[i].extended && have_ext)
			mime_buf_put(&s, "''", 2);
		for (j = i; j < next; j++) {
			const char *v = r[j].value;

			if (r[j].extended || !have_ext) {
				mime_buf_put(&s, v, strlen(v));
				continue;
			}
			for (; *v != '\0'; v++) {
				if (*v == '%')
					mime_buf_put(&s, "%25", 3);
				else
					mime_buf_put(&s, v, 1);
			}
		}
		params_add(out, have_ext ? xasprintf("%s*", r[i].key) :
		    xstrdup(r[i].key), mime_buf_strdup(&s));
	}
	for (i = 0; i < n; i++) {
		free(r[i].key);
		free(r[i].value);
	}
	buf_free(&s);
}

/*
 * mime_tok_params: the parameters after a Content-Type or
 * Content-Disposition value, with RFC 2231 continuations merged, in
 * params_r (free with mime_params_free()). Broken ones are skipped.
 */
void
mime_tok_params(struct mime_tok *t, struct mime_params *params_r)
{
	struct buf key, value;
	struct rfc2231 *r = NULL, cur;
	unsigned int nr = 0, count = 0;
	int ret;

	memset(params_r, 0, sizeof(*params_r));
	memset(&cur, 0, sizeof(cur));
	buf_init(&key, MIME_TOKBUF_MAX);
	buf_init(&value, MIME_TOKBUF_MAX);
	while ((ret = tok_param(t, &key, &value)) != 0) {
		char *k, *star, *p;

		if (ret < 0) {
			if (t->p == t->end)
				break;
			t->p++;
			continue;
		}
		if (++count > LIMIT_MIME_PARAMS)
			break;
		k = mime_buf_strdup(&key);
		star = strchr(k, '*');
		p = star;
		if (star != NULL) {
			if (p[1] != '\0') {
				p++;
				/* the index persists into a bare "name*",
				 * which Dovecot then reports unmerged */
				cur.idx = 0;
				for (; *p >= '0' && *p <= '9'; p++)
					cur.idx = cur.idx * 10 +
					    (unsigned int)(*p - '0');
			}
			cur.extended = *p == '*';
			if (cur.extended)
				p++;
			if (*p != '\0') {
				p = NULL;
			} else {
				r = xreallocarray(r, nr + 1, sizeof(*r));
				r[nr] = cur;
				r[nr].key = mime_strndup(k,
				    (size_t)(star - k));
				r[nr].value = mime_buf_strdup(&value);
				nr++;
				free(k);
			}
		}
		if (p == NULL)
			params_add(params_r, k, mime_buf_strdup(&value));
	}
	if (nr > 0)
		rfc2231_merge(r, nr, params_r);
	free(r);
	buf_free(&key);
	buf_free(&value);
}

void
mime_params_free(struct mime_params *p)
{
	unsigned int i;

	for (i = 0; i < p->n; i++) {
		free(p->v[i].name);
		free(p->v[i].value);
	}
	free(p->v);
	memset(p, 0, sizeof(*p));
}

void
mime_tok_init(struct mime_tok *t, const char *value, size_t len)
{
	t->p = (const unsigned char *)value;
	t->end = t->p + len;
	t->comment = NULL;
}

static void
parse_content_type(struct mime_pdata *d, const char *v, size_t len)
{
	struct mime_tok t;
	struct buf s;
	char *slash;
	int ret;

	mime_tok_init(&t, v, len);
	(void)mime_tok_skip_lwsp(&t);
	buf_init(&s, MIME_TOKBUF_MAX);
	ret = mime_tok_content_type(&t, &s);
	d->type = mime_buf_strdup(&s);
	slash = strchr(d->type, '/');
	if (slash != NULL) {
		d->subtype = xstrdup(slash + 1);
		d->type_slash = true;
		*slash = '\0';
	} else {
		/* never NULL once type is set: callers rely on it */
		d->subtype = xstrdup("");
	}
	buf_free(&s);
	/* RFC 2045 5.2: a broken type keeps what was read, no params */
	if (ret >= 0)
		mime_tok_params(&t, &d->type_params);
}

static void
parse_cte(struct mime_pdata *d, const char *v, size_t len)
{
	struct mime_tok t;
	struct buf s;

	mime_tok_init(&t, v, len);
	(void)mime_tok_skip_lwsp(&t);
	buf_init(&s, MIME_TOKBUF_MAX);
	if (mime_tok_mime_token(&t, &s) >= 0 && mime_tok_skip_lwsp(&t) == 0 &&
	    s.len > 0)
		d->cte = mime_buf_strdup(&s);
	buf_free(&s);
}

static void
parse_disposition(struct mime_pdata *d, const char *v, size_t len)
{
	struct mime_tok t;
	struct buf s;

	mime_tok_init(&t, v, len);
	(void)mime_tok_skip_lwsp(&t);
	buf_init(&s, MIME_TOKBUF_MAX);
	if (mime_tok_mime_token(&t, &s) >= 0) {
		free(d->disposition);
		mime_params_free(&d->disp_params);
		d->disposition = mime_buf_strdup(&s);
		mime_tok_params(&t, &d->disp_params);
	}
	buf_free(&s);
}

/* RFC 3282 2: Content-Language = 1#Language-tag. */
static void
parse_language(struct mime_pdata *d, const char *v, size_t len)
{
	struct mime_tok t;
	struct buf s;

	mime_tok_init(&t, v, len);
	buf_init(&s, MIME_TOKBUF_MAX);
	(void)mime_tok_skip_lwsp(&t);
	while (d->nlanguage < LIMIT_MIME_LANGUAGES && tok_atom(&t, &s) >= 0) {
		d->language = xreallocarray(d->language, d->nlanguage + 1,
		    sizeof(*d->language));
		d->language[d->nlanguage++] = mime_buf_strdup(&s);
		buf_reset(&s);
		if (t.p == t.end || mime_tok_peek(&t) != ',')
			break;
		t.p++;
		(void)mime_tok_skip_lwsp(&t);
	}
	buf_free(&s);
}

/*
 * mime_header_content: records one Content-* field of a MIME part in d.
 * The first of each wins (RFC 2045 does not allow repeats), except that
 * a Content-Disposition without parameters is replaced by a later one,
 * as Dovecot does.
 */
void
mime_header_content(struct mime_pdata *d, const char *name, size_t name_len,
    const char *v, size_t len)
{
	if (name_len < 8 || strncasecmp(name, "Content-", 8) != 0)
		return;
	name += 8;
	name_len -= 8;
	if (ascii_ieq(name, name_len, "ID")) {
		if (d->id == NULL)
			d->id = mime_strndup(v, len);
	} else if (ascii_ieq(name, name_len, "MD5")) {
		if (d->md5 == NULL)
			d->md5 = mime_strndup(v, len);
	} else if (ascii_ieq(name, name_len, "TYPE")) {
		if (d->type == NULL)
			parse_content_type(d, v, len);
	} else if (ascii_ieq(name, name_len, "TRANSFER-ENCODING")) {
		if (d->cte == NULL)
			parse_cte(d, v, len);
	} else if (ascii_ieq(name, name_len, "LANGUAGE")) {
		if (d->language == NULL)
			parse_language(d, v, len);
	} else if (ascii_ieq(name, name_len, "LOCATION")) {
		if (d->location == NULL)
			d->location = mime_strndup(v, len);
	} else if (ascii_ieq(name, name_len, "DESCRIPTION")) {
		if (d->description == NULL)
			d->description = mime_strndup(v, len);
	} else if (ascii_ieq(name, name_len, "DISPOSITION")) {
		if (d->disp_params.n == 0)
			parse_disposition(d, v, len);
	}
}

/* mime_pdata_clear: frees the Content-* data (not the envelope). */
void
mime_pdata_clear(struct mime_pdata *d)
{
	unsigned int i;

	free(d->type);
	free(d->subtype);
	mime_params_free(&d->type_params);
	free(d->cte);
	free(d->id);
	free(d->description);
	free(d->md5);
	free(d->location);
	free(d->disposition);
	mime_params_free(&d->disp_params);
	for (i = 0; i < d->nlanguage; i++)
		free(d->language[i]);
	free(d->language);
	d->type = d->subtype = d->cte = d->id = d->description = NULL;
	d->md5 = d->location = d->disposition = NULL;
	d->language = NULL;
	d->nlanguage = 0;
	d->type_slash = false;
}
