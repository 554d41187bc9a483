/*
 * dkim_key.h - DKIM signing keys (RFC 6376 3.6.1, RFC 8463): making a
 * key pair and the DNS TXT record that publishes its public half. The
 * admin tool makes keys; the SMTP worker signs with them (smtpd/dkim.h).
 */
#ifndef LETTERBOX_DKIM_KEY_H
#define LETTERBOX_DKIM_KEY_H

enum dkim_alg {
	DKIM_ALG_RSA_SHA256 = 0,	/* RSA 2048, "rsa-sha256" */
	DKIM_ALG_ED25519_SHA256,	/* Ed25519, "ed25519-sha256" */
};

/* dkim_alg_name: "rsa-sha256" / "ed25519-sha256" (the a= tag). */
const char *dkim_alg_name(enum dkim_alg alg);
/* dkim_alg_parse: the inverse; -1 for an unknown name. */
int dkim_alg_parse(const char *name);

/*
 * dkim_key_generate: a new private key for alg as PKCS#8 PEM (malloc'd,
 * NUL-terminated) into *pem_r. 0, or -1 with a malloc'd *error_r.
 */
int dkim_key_generate(enum dkim_alg alg, char **pem_r, char **error_r);

/*
 * dkim_key_txt: the TXT record value for the public half of the private
 * key pem, e.g. "v=DKIM1; k=rsa; p=MIIBIj..." (RSA: base64 of the
 * SubjectPublicKeyInfo DER) or "v=DKIM1; k=ed25519; p=<base64 of the 32
 * raw bytes>" (RFC 8463 4.2), malloc'd into *txt_r. *alg_r (may be NULL)
 * gets the key's algorithm. 0, or -1 with a malloc'd *error_r (not a
 * key, or a key type DKIM does not use).
 */
int dkim_key_txt(const char *pem, enum dkim_alg *alg_r, char **txt_r,
    char **error_r);

/*
 * dkim_key_read: the private key pem as an OpenSSL EVP_PKEY, for the
 * signer (smtpd/dkim.c), with the same checks as dkim_key_txt(). The
 * caller frees it with EVP_PKEY_free(). NULL with a malloc'd *error_r.
 */
struct evp_pkey_st;
struct evp_pkey_st *dkim_key_read(const char *pem, enum dkim_alg *alg_r,
    char **error_r);

#endif
