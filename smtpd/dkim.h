/*
 * dkim.h - DKIM signing of outgoing mail (RFC 6376, RFC 8463):
 * relaxed/relaxed canonicalization, SHA-256, RSA and Ed25519.
 */
#ifndef LETTERBOX_SMTPD_DKIM_H
#define LETTERBOX_SMTPD_DKIM_H

#include <stddef.h>
#include <time.h>

#include "common/buf.h"
#include "common/dkim_key.h"

struct dkim_signer;

/*
 * dkim_signer_new: a signer for d=domain, s=selector with the private key
 * pem (from dkim_key_generate()). NULL with a malloc'd *error_r when the
 * key cannot be read or is not RSA (>= 1024 bits) or Ed25519.
 */
struct dkim_signer *dkim_signer_new(const char *domain, const char *selector,
    const char *pem, char **error_r);
void dkim_signer_free(struct dkim_signer **signer);

/*
 * dkim_sign: appends to out one "DKIM-Signature: ...\r\n" field (folded
 * at 78 columns with CRLF + tab) per signer, for the message msg (len
 * bytes, CRLF line ends, header then empty line then body; a message
 * without an empty line has an empty body). Signed fields: those of
 * RFC 6376 5.4.1's list that the message has (From, To, Cc, Subject,
 * Date, Message-ID, Reply-To, In-Reply-To, References, MIME-Version,
 * Content-Type, Content-Transfer-Encoding, ...), every instance, with
 * From, Subject, To, Cc, Date, Reply-To, Message-ID and the Content
 * fields over-signed (listed once more than present) so none can be
 * added later. t= is now; no l=, no x=. 0, or -1 (out of memory / buf
 * limit / signing failure) with nothing appended.
 */
int dkim_sign(struct dkim_signer *const *signers, size_t nsigners,
    const char *msg, size_t len, time_t now, struct buf *out);

/* ---- dkim_canon.c: relaxed canonicalization (RFC 6376 3.4.2, 3.4.4) --
 * Exposed for the tests and the fuzzer. */

/* dkim_canon_header: the relaxed form of one header field (name, colon,
 * value, possibly folded, without its final CRLF) appended to out,
 * followed by CRLF when crlf is true. */
int dkim_canon_header(const char *field, size_t len, int crlf,
    struct buf *out);

/* A running relaxed body hash. */
struct dkim_body_hash;
struct dkim_body_hash *dkim_body_hash_new(void);
/* dkim_body_hash_update: feeds body bytes (any split). */
void dkim_body_hash_update(struct dkim_body_hash *h, const char *data,
    size_t len);
/* dkim_body_hash_final: the SHA-256 of the canonical body (32 bytes into
 * digest) and frees h. */
void dkim_body_hash_final(struct dkim_body_hash **h, unsigned char *digest);

#endif
