/*
 * dkim_canon.c - DKIM "relaxed" canonicalization (RFC 6376 3.4.2 for
 * header fields, 3.4.4 for the body) and the running SHA-256 of the
 * canonical body.
 *
 * Input: any bytes (the message as submitted: NULs, 8-bit, bare CR or LF
 * are ordinary content; only CRLF ends a line). The body hash keeps a
 * fixed amount of state whatever the input: a CR waiting for its LF, one
 * bit of pending whitespace and a count of pending empty lines, so that
 * any split of the body gives the same digest and nothing is buffered
 * beyond a small output block.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "common/log.h"
#include "common/xalloc.h"
#include "smtpd/dkim.h"

static bool
is_wsp(unsigned char c)
{
	return c == ' ' || c == '\t';
}

static unsigned char
lower(unsigned char c)
{
	return c >= 'A' && c <= 'Z' ? (unsigned char)(c + 'a' - 'A') : c;
}

/*
 * RFC 6376 3.4.2: name in lower case; CRLF of folding removed; each run
 * of WSP one SP; no WSP at the ends of the value nor around the colon. A
 * field without a colon is all name (dkim_sign() never signs one, but the
 * function must still give something defined).
 */
int
dkim_canon_header(const char *field, size_t len, int crlf, struct buf *out)
{
	const unsigned char *p = (const unsigned char *)field;
	const unsigned char *colon = memchr(p, ':', len);
	size_t name_len = colon != NULL ? (size_t)(colon - p) : len;
	size_t start = out->len, i;
	bool wsp = false, any = false;
	unsigned char c;

	/* Trailing WSP of the name goes ("Subject : x"), and so would a
	 * run of it inside, which no valid name has. */
	for (i = 0; i < name_len; i++) {
		c = p[i];
		if (c == '\r' && i + 1 < name_len && p[i + 1] == '\n') {
			i++;
			continue;
		}
		if (is_wsp(c)) {
			wsp = true;
			continue;
		}
		if ((wsp && any && buf_append(out, " ", 1) < 0) ||
		    buf_append(out, &(char){ (char)lower(c) }, 1) < 0)
			goto full;
		wsp = false;
		any = true;
	}
	if (colon == NULL)
		goto end;
	if (buf_append(out, ":", 1) < 0)
		goto full;
	wsp = false;
	any = false;
	for (i = name_len + 1; i < len; i++) {
		size_t run;

		c = p[i];
		if (c == '\r' && i + 1 < len && p[i + 1] == '\n') {
			i++;
			continue;
		}
		if (is_wsp(c)) {
			wsp = true;
			continue;
		}
		if (wsp && any && buf_append(out, " ", 1) < 0)
			goto full;
		/* Copy the run of ordinary bytes at once: values are long,
		 * and a byte at a time would dominate signing. */
		for (run = 1; i + run < len && !is_wsp(p[i + run]) &&
		    p[i + run] != '\r'; run++)
			;
		if (buf_append(out, p + i, run) < 0)
			goto full;
		i += run - 1;
		wsp = false;
		any = true;
	}
end:
	if (crlf && buf_append(out, "\r\n", 2) < 0)
		goto full;
	return 0;
full:
	out->len = start;
	return -1;
}

/* ---- Body ------------------------------------------------------------ */

/* Canonical bytes are gathered in out before going to the digest, so that
 * a body of short lines does not mean one EVP call per byte. */
#define BODY_OUT_BLOCK	4096

/* The running hash; owns ctx. */
struct dkim_body_hash {
	EVP_MD_CTX *ctx;
	uint64_t empty_lines;	/* CRLFs of empty lines not yet hashed:
				 * hashed only if content follows them
				 * (RFC 6376 3.4.4: trailing ones go) */
	bool cr;		/* the last byte was a CR, not yet known to
				 * end a line */
	bool wsp;		/* WSP seen since the last content byte */
	bool line_content;	/* the current line has content */
	size_t out_len;
	unsigned char out[BODY_OUT_BLOCK];
};

static void
out_flush(struct dkim_body_hash *h)
{
	if (h->out_len > 0 && !EVP_DigestUpdate(h->ctx, h->out, h->out_len))
		fatal("dkim: SHA-256 update failed");
	h->out_len = 0;
}

static void
out_put(struct dkim_body_hash *h, const char *s, size_t n)
{
	if (BODY_OUT_BLOCK - h->out_len < n)
		out_flush(h);
	memcpy(h->out + h->out_len, s, n);
	h->out_len += n;
}

/* content: one byte that is neither WSP nor part of a line end. The empty
 * lines and the whitespace before it were not trailing after all. */
static void
content(struct dkim_body_hash *h, unsigned char c)
{
	while (h->empty_lines > 0) {
		out_put(h, "\r\n", 2);
		h->empty_lines--;
	}
	if (h->wsp) {
		out_put(h, " ", 1);
		h->wsp = false;
	}
	out_put(h, (const char *)&c, 1);
	h->line_content = true;
}

/* line_end: a CRLF. WSP before it is trailing and goes; an empty line's
 * CRLF waits until we know it is not among the last. */
static void
line_end(struct dkim_body_hash *h)
{
	h->wsp = false;
	if (h->line_content)
		out_put(h, "\r\n", 2);
	else
		h->empty_lines++;
	h->line_content = false;
}

struct dkim_body_hash *
dkim_body_hash_new(void)
{
	struct dkim_body_hash *h = xcalloc(1, sizeof(*h));

	if ((h->ctx = EVP_MD_CTX_new()) == NULL)
		fatal("dkim: out of memory");
	if (!EVP_DigestInit_ex(h->ctx, EVP_sha256(), NULL))
		fatal("dkim: SHA-256 unavailable");
	return h;
}

void
dkim_body_hash_update(struct dkim_body_hash *h, const char *data, size_t len)
{
	const unsigned char *p = (const unsigned char *)data;
	size_t i;

	for (i = 0; i < len; i++) {
		unsigned char c = p[i];

		if (h->cr) {
			h->cr = false;
			if (c == '\n') {
				line_end(h);
				continue;
			}
			/* A bare CR is content (only CRLF ends a line). */
			content(h, '\r');
		}
		if (c == '\r')
			h->cr = true;
		else if (is_wsp(c))
			h->wsp = true;
		else
			content(h, c);
	}
}

void
dkim_body_hash_final(struct dkim_body_hash **hp, unsigned char *digest)
{
	struct dkim_body_hash *h = *hp;
	unsigned int n = 0;

	if (h->cr)
		content(h, '\r');
	/*
	 * RFC 6376 3.4.4: a body that does not end in CRLF gets one, and
	 * its last line loses its trailing WSP like any other. An empty
	 * body (or one of empty lines only) hashes as nothing at all: the
	 * CRLF that 3.4.3 adds is for "simple" only (dkimpy and OpenDKIM
	 * agree: bh=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=).
	 */
	h->wsp = false;
	if (h->line_content)
		out_put(h, "\r\n", 2);
	out_flush(h);
	if (!EVP_DigestFinal_ex(h->ctx, digest, &n) || n != 32)
		fatal("dkim: SHA-256 final failed");
	EVP_MD_CTX_free(h->ctx);
	free(h);
	*hp = NULL;
}
