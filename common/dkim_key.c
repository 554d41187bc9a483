/*
 * dkim_key.c - DKIM key pairs (RFC 6376 3.6.1, RFC 8463): making a
 * private key and the TXT record value that publishes its public half.
 *
 * Input: a PEM private key from the store (written by dkim_key_generate(),
 * but read as untrusted: anything but an unencrypted RSA or Ed25519 key is
 * refused, and an encrypted one never prompts for a passphrase).
 * Limits: RSA keys are made at 2048 bits and read from 1024 bits up
 * (RFC 8301 3.2: signers MUST use at least 1024).
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "common/dkim_key.h"
#include "common/xalloc.h"

#define DKIM_RSA_BITS		2048
#define DKIM_RSA_MIN_BITS	1024
#define DKIM_ED25519_LEN	32

const char *
dkim_alg_name(enum dkim_alg alg)
{
	switch (alg) {
	case DKIM_ALG_RSA_SHA256:
		return "rsa-sha256";
	case DKIM_ALG_ED25519_SHA256:
		return "ed25519-sha256";
	}
	return "unknown";
}

int
dkim_alg_parse(const char *name)
{
	if (strcmp(name, "rsa-sha256") == 0)
		return DKIM_ALG_RSA_SHA256;
	if (strcmp(name, "ed25519-sha256") == 0)
		return DKIM_ALG_ED25519_SHA256;
	return -1;
}

/* ssl_error: what went wrong with "what", with OpenSSL's reason when it
 * left one, malloc'd; the OpenSSL error queue is emptied. */
static char *
ssl_error(const char *what)
{
	unsigned long e = ERR_peek_last_error();
	char reason[256];

	if (e == 0)
		return xstrdup(what);
	ERR_error_string_n(e, reason, sizeof(reason));
	ERR_clear_error();
	return xasprintf("%s: %s", what, reason);
}

/* no_passphrase: a key with a passphrase is not ours; without this
 * callback OpenSSL would prompt on the terminal for one. */
static int
no_passphrase(char *buf, int size, int rwflag, void *u)
{
	(void)buf;
	(void)size;
	(void)rwflag;
	(void)u;
	return -1;
}

int
dkim_key_generate(enum dkim_alg alg, char **pem_r, char **error_r)
{
	EVP_PKEY *pkey = NULL;
	BIO *bio = NULL;
	char *data;
	long n;
	int ret = -1;

	switch (alg) {
	case DKIM_ALG_RSA_SHA256:
		pkey = EVP_PKEY_Q_keygen(NULL, NULL, "RSA",
		    (size_t)DKIM_RSA_BITS);
		break;
	case DKIM_ALG_ED25519_SHA256:
		pkey = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
		break;
	default:
		*error_r = xstrdup("unknown DKIM algorithm");
		return -1;
	}
	if (pkey == NULL) {
		*error_r = ssl_error("generating a key");
		goto out;
	}
	/* PEM_write_bio_PrivateKey writes PKCS#8 ("BEGIN PRIVATE KEY") for
	 * either type, so one reader serves both. */
	if ((bio = BIO_new(BIO_s_mem())) == NULL ||
	    !PEM_write_bio_PrivateKey(bio, pkey, NULL, NULL, 0, NULL, NULL) ||
	    (n = BIO_get_mem_data(bio, &data)) <= 0) {
		*error_r = ssl_error("writing the key");
		goto out;
	}
	*pem_r = xstrndup(data, (size_t)n);
	ret = 0;
out:
	BIO_free(bio);
	EVP_PKEY_free(pkey);
	return ret;
}

EVP_PKEY *
dkim_key_read(const char *pem, enum dkim_alg *alg_r, char **error_r)
{
	EVP_PKEY *pkey;
	BIO *bio;

	if ((bio = BIO_new_mem_buf(pem, -1)) == NULL) {
		*error_r = ssl_error("reading the key");
		return NULL;
	}
	pkey = PEM_read_bio_PrivateKey(bio, NULL, no_passphrase, NULL);
	BIO_free(bio);
	if (pkey == NULL) {
		*error_r = ssl_error("not a PEM private key");
		return NULL;
	}
	switch (EVP_PKEY_get_base_id(pkey)) {
	case EVP_PKEY_RSA:
		if (EVP_PKEY_get_bits(pkey) < DKIM_RSA_MIN_BITS) {
			*error_r = xasprintf("RSA key of %d bits: DKIM needs "
			    "at least %d", EVP_PKEY_get_bits(pkey),
			    DKIM_RSA_MIN_BITS);
			break;
		}
		*alg_r = DKIM_ALG_RSA_SHA256;
		return pkey;
	case EVP_PKEY_ED25519:
		*alg_r = DKIM_ALG_ED25519_SHA256;
		return pkey;
	default:
		*error_r = xasprintf("a %s key: DKIM signs with RSA or "
		    "Ed25519", EVP_PKEY_get0_type_name(pkey));
		break;
	}
	EVP_PKEY_free(pkey);
	return NULL;
}

/* base64: len bytes as one line of base64 (RFC 6376 p= has no line
 * breaks), malloc'd. */
static char *
base64(const unsigned char *bytes, size_t len)
{
	/* @UNSAFE: EVP_EncodeBlock writes 4 per 3 bytes (rounded up) and a
	 * NUL; len is a public key, a few hundred bytes. */
	char *out = xmalloc((len + 2) / 3 * 4 + 1);

	EVP_EncodeBlock((unsigned char *)out, bytes, (int)len);
	return out;
}

int
dkim_key_txt(const char *pem, enum dkim_alg *alg_r, char **txt_r,
    char **error_r)
{
	unsigned char raw[DKIM_ED25519_LEN], *der = NULL;
	size_t rawlen = sizeof(raw);
	enum dkim_alg alg;
	EVP_PKEY *pkey;
	char *b64;
	int derlen;

	if ((pkey = dkim_key_read(pem, &alg, error_r)) == NULL)
		return -1;
	if (alg == DKIM_ALG_RSA_SHA256) {
		/* RFC 6376 3.6.1: p= is the SubjectPublicKeyInfo DER. */
		if ((derlen = i2d_PUBKEY(pkey, &der)) <= 0) {
			*error_r = ssl_error("encoding the public key");
			EVP_PKEY_free(pkey);
			return -1;
		}
		b64 = base64(der, (size_t)derlen);
		OPENSSL_free(der);
	} else {
		/* RFC 8463 4.2: p= is the bare 32-byte public key. */
		if (!EVP_PKEY_get_raw_public_key(pkey, raw, &rawlen) ||
		    rawlen != DKIM_ED25519_LEN) {
			*error_r = ssl_error("encoding the public key");
			EVP_PKEY_free(pkey);
			return -1;
		}
		b64 = base64(raw, rawlen);
	}
	EVP_PKEY_free(pkey);
	*txt_r = xasprintf("v=DKIM1; k=%s; p=%s",
	    alg == DKIM_ALG_RSA_SHA256 ? "rsa" : "ed25519", b64);
	free(b64);
	if (alg_r != NULL)
		*alg_r = alg;
	return 0;
}
