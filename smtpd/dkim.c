/*
 * dkim.c - DKIM signing of outgoing mail (RFC 6376 5, RFC 8463):
 * relaxed/relaxed, SHA-256, RSA (PKCS#1 v1.5) and Ed25519.
 *
 * Input: the message as it will be sent, up to LIMIT_MESSAGE_SIZE, not
 * trusted to be well formed: only CRLF ends a line; bare CR or LF, NUL
 * and 8-bit bytes are field or body content; a message without an empty
 * line is all header. The header is scanned once; the signed fields'
 * canonical form may take LIMIT_MIME_HEADER_SIZE bytes and their
 * instances number LIMIT_MIME_HEADER_FIELDS: a message past either is
 * not signed (dkim_sign() fails) rather than signed in part.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "common/limits.h"
#include "common/xalloc.h"
#include "smtpd/dkim.h"

/* RFC 5322 2.1.1: lines SHOULD be at most 78 characters. */
#define FOLD_WIDTH	78
#define SHA256_LEN	32
/* A DKIM-Signature field: its h= names every signed instance (each at
 * most 26 bytes, "list-unsubscribe-post:") plus the fixed tags. */
#define SIG_FIELD_MAX	((LIMIT_MIME_HEADER_FIELDS + 64) * 40 + 4096)

/* One signer; owns domain, selector and key. */
struct dkim_signer {
	char *domain;
	char *selector;
	EVP_PKEY *key;
	enum dkim_alg alg;
};

/*
 * RFC 6376 5.4.1's list, plus Message-ID, the MIME fields and RFC 8058's
 * List-Unsubscribe-Post (which one-click unsubscription requires signed).
 * over: listed once more than present (RFC 6376 8.15), so that an
 * instance added in transit breaks the signature.
 */
static const struct {
	const char *name;
	bool over;
} signed_fields[] = {
	{ "from", true },
	{ "reply-to", true },
	{ "subject", true },
	{ "date", true },
	{ "to", true },
	{ "cc", true },
	{ "message-id", true },
	{ "in-reply-to", false },
	{ "references", false },
	{ "resent-date", false },
	{ "resent-from", false },
	{ "resent-to", false },
	{ "resent-cc", false },
	{ "list-id", false },
	{ "list-help", false },
	{ "list-unsubscribe", false },
	{ "list-unsubscribe-post", false },
	{ "list-subscribe", false },
	{ "list-post", false },
	{ "list-owner", false },
	{ "list-archive", false },
	{ "mime-version", false },
	{ "content-type", true },
	{ "content-transfer-encoding", true },
};
#define NSIGNED (sizeof(signed_fields) / sizeof(signed_fields[0]))

/* dns_name_ok: dot-separated labels of letters, digits and hyphens, each
 * 1..63 bytes, 253 in all: what d= and s= may hold (RFC 6376 3.5), which
 * also keeps ';', spaces and line ends out of the field we write. */
static bool
dns_name_ok(const char *s)
{
	size_t label = 0, i;

	for (i = 0; s[i] != '\0'; i++) {
		unsigned char c = (unsigned char)s[i];

		if (i >= 253)
			return false;
		if (c == '.') {
			if (label == 0)
				return false;
			label = 0;
			continue;
		}
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '-') || ++label > 63)
			return false;
	}
	return label > 0;
}

struct dkim_signer *
dkim_signer_new(const char *domain, const char *selector, const char *pem,
    char **error_r)
{
	struct dkim_signer *s;
	enum dkim_alg alg;
	EVP_PKEY *key;

	if (!dns_name_ok(domain)) {
		*error_r = xstrdup("DKIM domain is not a DNS name");
		return NULL;
	}
	if (!dns_name_ok(selector)) {
		*error_r = xstrdup("DKIM selector is not a DNS name");
		return NULL;
	}
	if ((key = dkim_key_read(pem, &alg, error_r)) == NULL)
		return NULL;
	s = xcalloc(1, sizeof(*s));
	s->domain = xstrdup(domain);
	s->selector = xstrdup(selector);
	s->key = key;
	s->alg = alg;
	return s;
}

void
dkim_signer_free(struct dkim_signer **sp)
{
	struct dkim_signer *s = *sp;

	if (s == NULL)
		return;
	free(s->domain);
	free(s->selector);
	EVP_PKEY_free(s->key);
	free(s);
	*sp = NULL;
}

/* ---- The message's header -------------------------------------------- */

/* An instance of a field we sign; p points into the message. */
struct field {
	const char *p;
	size_t len;		/* without the CRLF that ends it */
	size_t name;		/* index in signed_fields */
};

/* The fields to sign, in message order; owns v. */
struct fields {
	struct field *v;
	size_t n, cap;
};

/* signed_index: the index in signed_fields of the field at p, or NSIGNED
 * when it has no colon or is not one we sign. */
static size_t
signed_index(const char *p, size_t len)
{
	const char *colon = memchr(p, ':', len);
	size_t n, k, i;

	if (colon == NULL)
		return NSIGNED;
	/* RFC 5322 4.5 (obs-optional): WSP may come before the colon. */
	for (n = (size_t)(colon - p); n > 0 && (p[n - 1] == ' ' ||
	    p[n - 1] == '\t'); n--)
		;
	for (k = 0; k < NSIGNED; k++) {
		const char *name = signed_fields[k].name;

		for (i = 0; i < n && name[i] != '\0'; i++) {
			unsigned char c = (unsigned char)p[i];

			if (c >= 'A' && c <= 'Z')
				c = (unsigned char)(c + 'a' - 'A');
			if (c != (unsigned char)name[i])
				break;
		}
		if (i == n && name[i] == '\0')
			return k;
	}
	return NSIGNED;
}

/*
 * header_scan: the fields of msg we sign, and where the body starts
 * (len when there is no empty line). A field runs to the CRLF that is
 * not followed by WSP (RFC 5322 2.2.3); the header ends at an empty line.
 * -1 past LIMIT_MIME_HEADER_FIELDS signed instances.
 */
static int
header_scan(const char *msg, size_t len, struct fields *f, size_t *body_r)
{
	size_t pos = 0, end, k;
	const char *lf;

	while (pos < len) {
		if (len - pos >= 2 && msg[pos] == '\r' &&
		    msg[pos + 1] == '\n') {
			*body_r = pos + 2;
			return 0;
		}
		/* Find the CRLF that ends this field. */
		end = pos;
		for (;;) {
			lf = memchr(msg + end, '\n', len - end);
			if (lf == NULL) {
				end = len;
				break;
			}
			end = (size_t)(lf - msg) + 1;
			if (lf == msg + pos || lf[-1] != '\r')
				continue;	/* a bare LF is content */
			if (end < len && (msg[end] == ' ' || msg[end] == '\t'))
				continue;	/* folded */
			break;
		}
		k = signed_index(msg + pos, end - pos);
		if (k < NSIGNED) {
			if (f->n >= LIMIT_MIME_HEADER_FIELDS)
				return -1;
			if (f->n == f->cap) {
				f->cap = f->cap == 0 ? 16 : f->cap * 2;
				f->v = xreallocarray(f->v, f->cap,
				    sizeof(*f->v));
			}
			f->v[f->n].p = msg + pos;
			/* Without its CRLF (there is none at the very end
			 * of a message that is all header). */
			f->v[f->n].len = end - pos;
			if (end - pos >= 2 && msg[end - 1] == '\n' &&
			    msg[end - 2] == '\r')
				f->v[f->n].len -= 2;
			f->v[f->n].name = k;
			f->n++;
		}
		pos = end;
	}
	*body_r = len;
	return 0;
}

/*
 * header_canon: the canonical form of the fields to sign, in h= order
 * (RFC 6376 5.4.2: of several instances the last is used first), into
 * hdr; the names of h= (indexes in signed_fields, an over-signed name
 * once more) into names_r. -1 when hdr is full.
 */
static int
header_canon(const struct fields *f, struct buf *hdr, size_t **names_r,
    size_t *nnames_r)
{
	size_t *names = xreallocarray(NULL, f->n + NSIGNED, sizeof(*names));
	size_t n = 0, k, j;

	for (k = 0; k < NSIGNED; k++) {
		for (j = f->n; j-- > 0;) {
			if (f->v[j].name != k)
				continue;
			if (dkim_canon_header(f->v[j].p, f->v[j].len, 1,
			    hdr) < 0) {
				free(names);
				return -1;
			}
			names[n++] = k;
		}
		/* RFC 6376 5.4.2: a name listed past its instances adds
		 * nothing to the hash but stops one being added later. */
		if (signed_fields[k].over)
			names[n++] = k;
	}
	*names_r = names;
	*nnames_r = n;
	return 0;
}

/* ---- Writing the DKIM-Signature field -------------------------------- */

/* A folded field being written into b; col is the current line's
 * length, err sticks at -1 once b is full. */
struct fold {
	struct buf *b;
	size_t col;
	int err;
};

static void
fold_append(struct fold *f, const char *s, size_t n)
{
	if (buf_append(f->b, s, n) < 0)
		f->err = -1;
	f->col += n;
}

static void
fold_break(struct fold *f)
{
	fold_append(f, "\r\n\t", 3);
	f->col = 1;
}

/*
 * fold_put: n bytes, after a space when space is true, folding first if
 * the first keep bytes do not fit. Bytes past keep may be split over
 * lines (base64, where RFC 6376 3.5 lets FWS come anywhere); a split
 * never leaves a lone last byte (the ';') for a line of its own.
 */
static void
fold_put(struct fold *f, const char *s, size_t n, bool space, size_t keep)
{
	size_t take, room;

	if (keep > n)
		keep = n;
	if (f->col + (space ? 1 : 0) + keep > FOLD_WIDTH && f->col > 1) {
		fold_break(f);
		space = false;
	}
	if (space)
		fold_append(f, " ", 1);
	while (n > 0) {
		room = f->col < FOLD_WIDTH ? FOLD_WIDTH - f->col : 0;
		take = n < room ? n : room;
		if (take < n && n - take == 1 && take > keep)
			take--;
		if (take < keep)
			take = keep;
		if (take == 0) {
			fold_break(f);
			continue;
		}
		fold_append(f, s, take);
		s += take;
		n -= take;
		keep = 0;
		if (n > 0)
			fold_break(f);
	}
}

/* base64: len bytes as base64, malloc'd and NUL-terminated. */
static char *
base64(const unsigned char *bytes, size_t len)
{
	/* @UNSAFE: 4 output bytes per 3 input (rounded up) and a NUL; len
	 * is a digest or a signature, at most a few hundred bytes. */
	char *out = xmalloc((len + 2) / 3 * 4 + 1);

	EVP_EncodeBlock((unsigned char *)out, bytes, (int)len);
	return out;
}

/*
 * sig_prefix: the field up to and including "b=", folded, into b. This
 * is what the signature covers (RFC 6376 3.7: the field with b= empty):
 * the value then goes after it unchanged, so the bytes hashed are the
 * bytes sent. "b=" ends a line only with room for the value to start on
 * it, so no FWS sits between "b=" and its value.
 */
static int
sig_prefix(const struct dkim_signer *s, const size_t *names, size_t nnames,
    const char *bh, time_t now, struct buf *b)
{
	struct fold f = { b, 0, 0 };
	char piece[300];	/* a tag with a 253-byte name */
	size_t i;
	int n;

	fold_append(&f, "DKIM-Signature:", 15);
	fold_put(&f, "v=1;", 4, true, 4);
	n = snprintf(piece, sizeof(piece), "a=%s;", dkim_alg_name(s->alg));
	fold_put(&f, piece, (size_t)n, true, (size_t)n);
	fold_put(&f, "c=relaxed/relaxed;", 18, true, 18);
	/* d= and s= stay whole: a long name makes a long line. */
	n = snprintf(piece, sizeof(piece), "d=%s;", s->domain);
	fold_put(&f, piece, (size_t)n, true, (size_t)n);
	n = snprintf(piece, sizeof(piece), "s=%s;", s->selector);
	fold_put(&f, piece, (size_t)n, true, (size_t)n);
	n = snprintf(piece, sizeof(piece), "t=%lld;",
	    now > 0 ? (long long)now : 0LL);
	fold_put(&f, piece, (size_t)n, true, (size_t)n);
	/* RFC 6376 3.5: FWS may surround the colons of h=. */
	for (i = 0; i < nnames; i++) {
		n = snprintf(piece, sizeof(piece), "%s%s%c",
		    i == 0 ? "h=" : "", signed_fields[names[i]].name,
		    i + 1 == nnames ? ';' : ':');
		fold_put(&f, piece, (size_t)n, i == 0, (size_t)n);
	}
	/* bh= fits on a line: kept whole, as most signers do, although
	 * FWS inside base64 is allowed. */
	n = snprintf(piece, sizeof(piece), "bh=%s;", bh);
	fold_put(&f, piece, (size_t)n, true, (size_t)n);
	if (f.col + 1 + 3 > FOLD_WIDTH)
		fold_break(&f);
	else
		fold_append(&f, " ", 1);
	fold_append(&f, "b=", 2);
	return f.err;
}

/* sign_data: the signature of the two pieces of header data hashed
 * together, malloc'd. RSA signs SHA-256(data) as RFC 6376 3.3.1 says;
 * Ed25519 (RFC 8463 3) signs the 32-byte SHA-256 digest itself. */
static int
sign_data(const struct dkim_signer *s, const struct buf *a,
    const struct buf *b, unsigned char **sig_r, size_t *len_r)
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	unsigned char digest[SHA256_LEN], *sig = NULL;
	unsigned int dlen = 0;
	size_t len = 0;
	int ok;

	if (md == NULL)
		return -1;
	if (s->alg == DKIM_ALG_RSA_SHA256) {
		ok = EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL,
		    s->key) == 1 &&
		    EVP_DigestSignUpdate(md, a->data, a->len) == 1 &&
		    EVP_DigestSignUpdate(md, b->data, b->len) == 1 &&
		    EVP_DigestSignFinal(md, NULL, &len) == 1 &&
		    (sig = xmalloc(len)) != NULL &&
		    EVP_DigestSignFinal(md, sig, &len) == 1;
	} else {
		ok = EVP_DigestInit_ex(md, EVP_sha256(), NULL) == 1 &&
		    EVP_DigestUpdate(md, a->data, a->len) == 1 &&
		    EVP_DigestUpdate(md, b->data, b->len) == 1 &&
		    EVP_DigestFinal_ex(md, digest, &dlen) == 1 &&
		    dlen == SHA256_LEN &&
		    EVP_MD_CTX_reset(md) == 1 &&
		    EVP_DigestSignInit(md, NULL, NULL, NULL, s->key) == 1 &&
		    EVP_DigestSign(md, NULL, &len, digest, dlen) == 1 &&
		    (sig = xmalloc(len)) != NULL &&
		    EVP_DigestSign(md, sig, &len, digest, dlen) == 1;
	}
	EVP_MD_CTX_free(md);
	if (!ok) {
		free(sig);
		return -1;
	}
	*sig_r = sig;
	*len_r = len;
	return 0;
}

/* sign_one: one signer's DKIM-Signature field, appended to out. */
static int
sign_one(const struct dkim_signer *s, const struct buf *hdr,
    const size_t *names, size_t nnames, const char *bh, time_t now,
    struct buf *out)
{
	struct buf field, canon;
	struct fold f;
	unsigned char *sig = NULL;
	size_t siglen, prefix;
	char *b64 = NULL;
	int ret = -1;

	buf_init(&field, SIG_FIELD_MAX);
	buf_init(&canon, SIG_FIELD_MAX);
	if (sig_prefix(s, names, nnames, bh, now, &field) < 0)
		goto out;
	prefix = field.len;
	/* RFC 6376 3.7: the field itself last, canonicalized, without its
	 * CRLF. */
	if (dkim_canon_header(field.data, prefix, 0, &canon) < 0 ||
	    sign_data(s, hdr, &canon, &sig, &siglen) < 0)
		goto out;
	b64 = base64(sig, siglen);
	/* Carry on the last line of the prefix: find its length again. */
	f.b = &field;
	f.err = 0;
	f.col = prefix;
	for (size_t i = prefix; i > 0; i--) {
		if (field.data[i - 1] == '\n') {
			f.col = prefix - i;	/* the tab counts one */
			break;
		}
	}
	fold_put(&f, b64, strlen(b64), false, 1);
	fold_append(&f, "\r\n", 2);
	if (f.err < 0 || buf_append(out, field.data, field.len) < 0)
		goto out;
	ret = 0;
out:
	free(b64);
	free(sig);
	buf_free(&field);
	buf_free(&canon);
	return ret;
}

int
dkim_sign(struct dkim_signer *const *signers, size_t nsigners,
    const char *msg, size_t len, time_t now, struct buf *out)
{
	struct fields f = { NULL, 0, 0 };
	struct dkim_body_hash *bh;
	unsigned char digest[SHA256_LEN];
	struct buf hdr;
	size_t body, *names = NULL, nnames = 0, start = out->len, i;
	char *bh64 = NULL;
	int ret = -1;

	if (nsigners == 0)
		return 0;
	buf_init(&hdr, LIMIT_MIME_HEADER_SIZE);
	if (header_scan(msg, len, &f, &body) < 0 ||
	    header_canon(&f, &hdr, &names, &nnames) < 0)
		goto out;
	bh = dkim_body_hash_new();
	dkim_body_hash_update(bh, msg + body, len - body);
	dkim_body_hash_final(&bh, digest);
	bh64 = base64(digest, sizeof(digest));
	for (i = 0; i < nsigners; i++)
		if (sign_one(signers[i], &hdr, names, nnames, bh64, now,
		    out) < 0)
			goto out;
	ret = 0;
out:
	if (ret < 0)
		out->len = start;
	free(bh64);
	free(names);
	free(f.v);
	buf_free(&hdr);
	return ret;
}
