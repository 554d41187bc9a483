/*
 * tls.c - OpenSSL server contexts (TLS 1.2 and 1.3, ECDHE with AEAD
 * ciphers only), the delivery agent's client contexts, and the
 * self-signed certificate made on first start when none is configured.
 *
 * Trusts the configured certificate and key files only as far as OpenSSL
 * parses them; the hostname (from the config) is checked to be a DNS name
 * before it goes into a certificate. Errors name the file and carry
 * OpenSSL's first (most specific) reason; the thread's OpenSSL error
 * queue is left empty.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "log.h"
#include "tls.h"
#include "xalloc.h"

/* TLS 1.2 suites: forward secrecy (ECDHE) and AEAD only, for ECDSA and
 * RSA certificates. TLS 1.3's own suites (all AEAD) stay at their
 * defaults. */
#define TLS_CIPHERS_12 \
	"ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:" \
	"ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:" \
	"ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305"

/* Self-signed certificate: 10 years (with the leap days), and a start an
 * hour back so a client whose clock is a little behind accepts it. */
#define TLS_SELFSIGNED_DAYS	3653
#define TLS_SELFSIGNED_BACKDATE	(60 * 60)
/* X.520 ub-common-name: a longer hostname goes in subjectAltName only. */
#define TLS_CN_MAX		64
/* RFC 1035 2.3.4: a name is at most 253 octets in text form. */
#define TLS_HOSTNAME_MAX	253

/*
 * ssl_reason: the oldest error in this thread's OpenSSL queue as text in
 * buf (size bytes), or fallback when the queue is empty; drains the
 * queue. Returns buf.
 */
static const char *
ssl_reason(char *buf, size_t size, const char *fallback)
{
	unsigned long e = ERR_get_error();

	if (e == 0)
		snprintf(buf, size, "%s", fallback);
	else
		ERR_error_string_n(e, buf, size);
	ERR_clear_error();
	return buf;
}

/*
 * ctx_fail: frees ctx and returns NULL with a malloc'd "what file:
 * reason" in *error_r.
 */
static SSL_CTX *
ctx_fail(SSL_CTX *ctx, const char *what, const char *file, char **error_r)
{
	char reason[256];

	ssl_reason(reason, sizeof(reason), "unknown OpenSSL error");
	*error_r = xasprintf("%s %s: %s", what, file, reason);
	SSL_CTX_free(ctx);
	return NULL;
}

/*
 * tls_server_ctx_new: see tls.h. Session tickets and the session cache
 * are off: a ticket key lives as long as the worker, so a stolen key
 * would decrypt every resumed session of that time (no forward secrecy),
 * while mail clients reconnect seldom enough that a full ECDHE handshake
 * costs nothing worth saving. It also keeps TLS 1.3 from writing tickets
 * after the handshake.
 */
SSL_CTX *
tls_server_ctx_new(const char *cert_file, const char *key_file,
    char **error_r)
{
	SSL_CTX *ctx;

	*error_r = NULL;
	ERR_clear_error();
	if ((ctx = SSL_CTX_new(TLS_server_method())) == NULL)
		return ctx_fail(NULL, "TLS context for", cert_file, error_r);
	if (SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1)
		return ctx_fail(ctx, "TLS minimum version for", cert_file,
		    error_r);
	/* No compression (CRIME), no renegotiation (a client-driven CPU
	 * drain and an old source of bugs), our cipher order, but honour a
	 * client that puts ChaCha20 first (no AES hardware). */
	SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION |
	    SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE |
	    SSL_OP_PRIORITIZE_CHACHA | SSL_OP_NO_TICKET);
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	if (SSL_CTX_set_num_tickets(ctx, 0) != 1)
		return ctx_fail(ctx, "TLS tickets for", cert_file, error_r);
	if (SSL_CTX_set_cipher_list(ctx, TLS_CIPHERS_12) != 1)
		return ctx_fail(ctx, "TLS cipher list for", cert_file,
		    error_r);

	if (SSL_CTX_use_certificate_chain_file(ctx, cert_file) != 1)
		return ctx_fail(ctx, "TLS certificate", cert_file, error_r);
	if (SSL_CTX_use_PrivateKey_file(ctx, key_file, SSL_FILETYPE_PEM) != 1)
		return ctx_fail(ctx, "TLS key", key_file, error_r);
	if (SSL_CTX_check_private_key(ctx) != 1)
		return ctx_fail(ctx, "TLS key does not match certificate",
		    cert_file, error_r);
	return ctx;
}

/*
 * Client (delivery agent) TLS 1.2 suites: forward secrecy and AEAD first,
 * then whatever else OpenSSL calls strong. Opportunistic TLS to an MX
 * (RFC 7435) must not fail over a cipher an old server prefers: any
 * decent encryption beats the plaintext we would fall back to. No
 * anonymous, null, export, RC4, single or triple DES, MD5 or PSK/SRP.
 */
#define TLS_CLIENT_CIPHERS_12 \
	TLS_CIPHERS_12 ":HIGH:!aNULL:!eNULL:!EXPORT:!RC4:!DES:!3DES:!MD5:" \
	"!PSK:!SRP"

/*
 * tls_client_ctx_new: see tls.h. No session cache or tickets: resumption
 * would save one handshake per connection to a host we seldom revisit
 * soon, and a cache shared by the delivery threads is state to lock.
 * With ca_file, every certificate in it is a trust anchor (partial
 * chains: an administrator may pin a server's own certificate there);
 * the system store only trusts its roots. The name check is set per
 * connection (conn_start_tls_client()).
 */
SSL_CTX *
tls_client_ctx_new(bool verify, const char *ca_file, char **error_r)
{
	const char *what = ca_file != NULL ? ca_file : "(system store)";
	SSL_CTX *ctx;

	*error_r = NULL;
	ERR_clear_error();
	if ((ctx = SSL_CTX_new(TLS_client_method())) == NULL)
		return ctx_fail(NULL, "TLS client context for", what,
		    error_r);
	if (SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1)
		return ctx_fail(ctx, "TLS client minimum version for", what,
		    error_r);
	SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION |
	    SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_TICKET);
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	if (SSL_CTX_set_cipher_list(ctx, TLS_CLIENT_CIPHERS_12) != 1)
		return ctx_fail(ctx, "TLS client cipher list for", what,
		    error_r);
	if (!verify) {
		SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
		return ctx;
	}
	if (ca_file != NULL) {
		if (SSL_CTX_load_verify_locations(ctx, ca_file, NULL) != 1)
			return ctx_fail(ctx, "TLS CA file", ca_file, error_r);
		X509_VERIFY_PARAM_set_flags(SSL_CTX_get0_param(ctx),
		    X509_V_FLAG_PARTIAL_CHAIN);
	} else if (SSL_CTX_set_default_verify_paths(ctx) != 1) {
		return ctx_fail(ctx, "TLS CA store", what, error_r);
	}
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	return ctx;
}

/* hostname_ok: true when name is 1..253 octets of letters, digits, '-',
 * '.' and '_' (what a DNS subjectAltName may hold, RFC 5280 4.2.1.6). */
static bool
hostname_ok(const char *name)
{
	size_t len = strnlen(name, TLS_HOSTNAME_MAX + 1), i;

	if (len == 0 || len > TLS_HOSTNAME_MAX)
		return false;
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)name[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '-' || c == '.' ||
		    c == '_'))
			return false;
	}
	return true;
}

/* add_ext: adds extension nid with OpenSSL's text value (a constant of
 * ours, never outside input) to x. Returns true on success. */
static bool
add_ext(X509 *x, int nid, const char *value)
{
	X509V3_CTX v3;
	X509_EXTENSION *ext;
	bool ok;

	X509V3_set_ctx_nodb(&v3);
	X509V3_set_ctx(&v3, x, x, NULL, NULL, 0);
	if ((ext = X509V3_EXT_nconf_nid(NULL, &v3, nid, value)) == NULL)
		return false;
	ok = X509_add_ext(x, ext, -1) == 1;
	X509_EXTENSION_free(ext);
	return ok;
}

/* add_san: adds subjectAltName DNS:hostname, built as a structure so the
 * name is never parsed as OpenSSL config text. */
static bool
add_san(X509 *x, const char *hostname)
{
	GENERAL_NAMES *gens;
	GENERAL_NAME *gen;
	ASN1_IA5STRING *ia5;
	bool ok = false;

	if ((gens = sk_GENERAL_NAME_new_null()) == NULL)
		return false;
	if ((gen = GENERAL_NAME_new()) == NULL)
		goto out;
	if ((ia5 = ASN1_IA5STRING_new()) == NULL ||
	    ASN1_STRING_set(ia5, hostname, (int)strlen(hostname)) != 1) {
		ASN1_IA5STRING_free(ia5);
		GENERAL_NAME_free(gen);
		goto out;
	}
	GENERAL_NAME_set0_value(gen, GEN_DNS, ia5);
	if (sk_GENERAL_NAME_push(gens, gen) <= 0) {
		GENERAL_NAME_free(gen);
		goto out;
	}
	ok = X509_add1_ext_i2d(x, NID_subject_alt_name, gens, 0,
	    X509V3_ADD_DEFAULT) == 1;
out:
	GENERAL_NAMES_free(gens);
	return ok;
}

/*
 * make_cert: a self-signed X.509 v3 certificate for hostname (already
 * checked) over pkey, signed with SHA-256. Returns it (X509_free()), or
 * NULL with the reason in OpenSSL's error queue.
 */
static X509 *
make_cert(EVP_PKEY *pkey, const char *hostname)
{
	unsigned char serial[16];
	X509 *x;
	X509_NAME *name;
	BIGNUM *bn = NULL;
	const char *cn;
	bool ok;

	if ((x = X509_new()) == NULL)
		return NULL;
	/* RFC 5280 4.1.2.2: positive, at most 20 octets, unpredictable
	 * (CA/B Forum asks for 64 random bits; this has 126). */
	ok = RAND_bytes(serial, sizeof(serial)) == 1;
	serial[0] = (serial[0] & 0x7f) | 0x40;
	ok = ok && X509_set_version(x, X509_VERSION_3) == 1 &&
	    (bn = BN_bin2bn(serial, sizeof(serial), NULL)) != NULL &&
	    BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) != NULL &&
	    X509_gmtime_adj(X509_getm_notBefore(x),
	    -TLS_SELFSIGNED_BACKDATE) != NULL &&
	    X509_time_adj_ex(X509_getm_notAfter(x), TLS_SELFSIGNED_DAYS, 0,
	    NULL) != NULL &&
	    X509_set_pubkey(x, pkey) == 1;
	BN_free(bn);

	/* Clients match the subjectAltName (RFC 6125 6.4.4); the CN is
	 * for people reading the certificate. */
	cn = strlen(hostname) <= TLS_CN_MAX ? hostname : "letterbox";
	name = X509_get_subject_name(x);
	ok = ok && X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
	    (const unsigned char *)cn, -1, -1, 0) == 1 &&
	    X509_set_issuer_name(x, name) == 1 &&
	    add_san(x, hostname) &&
	    add_ext(x, NID_basic_constraints, "critical,CA:FALSE") &&
	    add_ext(x, NID_key_usage, "critical,digitalSignature") &&
	    add_ext(x, NID_ext_key_usage, "serverAuth") &&
	    add_ext(x, NID_subject_key_identifier, "hash") &&
	    X509_sign(x, pkey, EVP_sha256()) > 0;
	if (!ok) {
		X509_free(x);
		return NULL;
	}
	return x;
}

/*
 * write_pem: creates path (which must not exist) with mode, writes pkey
 * (PKCS#8, unencrypted) or x (exactly one is non-NULL) as PEM and fsyncs
 * it. Returns 0, or -1 with *error_r; a partial file is removed.
 */
static int
write_pem(const char *path, mode_t mode, EVP_PKEY *pkey, X509 *x,
    char **error_r)
{
	char reason[256];
	BIO *bio;
	int fd, ok;

	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
	    mode);
	if (fd == -1) {
		*error_r = xasprintf("cannot create %s: %s", path,
		    strerror(errno));
		return -1;
	}
	/* The umask may only have narrowed mode; say exactly what we mean. */
	if (fchmod(fd, mode) != 0) {
		*error_r = xasprintf("cannot chmod %s: %s", path,
		    strerror(errno));
		goto fail;
	}
	ERR_clear_error();
	if ((bio = BIO_new_fd(fd, BIO_NOCLOSE)) == NULL) {
		*error_r = xasprintf("cannot write %s: %s", path,
		    ssl_reason(reason, sizeof(reason), "BIO_new_fd failed"));
		goto fail;
	}
	if (pkey != NULL)
		ok = PEM_write_bio_PrivateKey(bio, pkey, NULL, NULL, 0, NULL,
		    NULL);
	else
		ok = PEM_write_bio_X509(bio, x);
	ok = ok && BIO_flush(bio) == 1;
	BIO_free(bio);
	if (!ok) {
		*error_r = xasprintf("cannot write %s: %s", path,
		    ssl_reason(reason, sizeof(reason), "write failed"));
		goto fail;
	}
	if (fsync(fd) != 0) {
		*error_r = xasprintf("cannot fsync %s: %s", path,
		    strerror(errno));
		goto fail;
	}
	if (close(fd) != 0) {
		fd = -1;
		*error_r = xasprintf("cannot close %s: %s", path,
		    strerror(errno));
		goto fail;
	}
	return 0;
fail:
	if (fd != -1)
		close(fd);
	unlink(path);
	return -1;
}

/*
 * pair_state: 1 when both files exist, 0 when either is missing, -1 with
 * *error_r when one cannot be looked at (permissions).
 */
static int
pair_state(const char *cert, const char *key, char **error_r)
{
	const char *files[2] = { cert, key };
	struct stat st;
	int i, n = 0;

	for (i = 0; i < 2; i++) {
		if (stat(files[i], &st) == 0)
			n++;
		else if (errno != ENOENT) {
			*error_r = xasprintf("cannot stat %s: %s", files[i],
			    strerror(errno));
			return -1;
		}
	}
	return n == 2;
}

/* sync_dir: fsyncs directory dir so that renames in it are durable.
 * Returns 0, or -1 with *error_r. */
static int
sync_dir(const char *dir, char **error_r)
{
	int fd, ret;

	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1) {
		*error_r = xasprintf("cannot open %s: %s", dir,
		    strerror(errno));
		return -1;
	}
	ret = fsync(fd);
	if (ret != 0)
		*error_r = xasprintf("cannot fsync %s: %s", dir,
		    strerror(errno));
	close(fd);
	return ret == 0 ? 0 : -1;
}

/*
 * generate: makes a key and certificate for hostname and installs them as
 * key and cert, going through key_tmp and cert_tmp. Called with the lock
 * held. Returns 0, or -1 with *error_r.
 */
static int
generate(const char *data_dir, const char *hostname, const char *cert,
    const char *key, const char *cert_tmp, const char *key_tmp,
    char **error_r)
{
	char reason[256];
	EVP_PKEY *pkey;
	X509 *x = NULL;
	int ret = -1;

	ERR_clear_error();
	if ((pkey = EVP_EC_gen("P-256")) == NULL) {
		*error_r = xasprintf("cannot generate a key for %s: %s", key,
		    ssl_reason(reason, sizeof(reason), "EVP_EC_gen failed"));
		return -1;
	}
	if ((x = make_cert(pkey, hostname)) == NULL) {
		*error_r = xasprintf("cannot make a certificate for %s: %s",
		    cert, ssl_reason(reason, sizeof(reason),
		    "X.509 failure"));
		goto out;
	}
	/* Leftovers of a writer that died (we hold the lock: nobody else
	 * is writing them). */
	if ((unlink(key_tmp) != 0 && errno != ENOENT) ||
	    (unlink(cert_tmp) != 0 && errno != ENOENT)) {
		*error_r = xasprintf("cannot remove old temporary files in "
		    "%s: %s", data_dir, strerror(errno));
		goto out;
	}
	if (write_pem(key_tmp, 0600, pkey, NULL, error_r) != 0)
		goto out;
	if (write_pem(cert_tmp, 0644, NULL, x, error_r) != 0) {
		unlink(key_tmp);
		goto out;
	}
	/*
	 * Install so that "both files exist" always means "a matching
	 * pair", for readers that do not take the lock and across a crash:
	 * the certificate is the commit point. Remove a stray old
	 * certificate first, put the key in place, then the certificate.
	 * A crash before the last rename leaves at most the key, and the
	 * next start makes a new pair. A complete pair is never replaced,
	 * so a reader that saw both files loads the pair it saw.
	 */
	if (unlink(cert) != 0 && errno != ENOENT) {
		*error_r = xasprintf("cannot remove %s: %s", cert,
		    strerror(errno));
		goto out_tmp;
	}
	if (rename(key_tmp, key) != 0) {
		*error_r = xasprintf("cannot rename %s to %s: %s", key_tmp,
		    key, strerror(errno));
		goto out_tmp;
	}
	if (rename(cert_tmp, cert) != 0) {
		*error_r = xasprintf("cannot rename %s to %s: %s", cert_tmp,
		    cert, strerror(errno));
		goto out_tmp;
	}
	if (sync_dir(data_dir, error_r) != 0)
		goto out;
	log_info("made a self-signed certificate for %s in %s", hostname,
	    cert);
	ret = 0;
	goto out;
out_tmp:
	unlink(key_tmp);
	unlink(cert_tmp);
out:
	X509_free(x);
	EVP_PKEY_free(pkey);
	ERR_clear_error();
	return ret;
}

/*
 * tls_selfsigned_ensure: see tls.h. Files in data_dir: tls-cert.pem,
 * tls-key.pem, and while making them tls-selfsigned.lock (kept: removing
 * a lock file races with its next user) and *.tmp.
 *
 * Two processes starting at once (two workers, or letterboxd and the
 * admin tool) must not end with one's key and the other's certificate:
 * whoever makes the pair holds an exclusive flock(2) on the lock file and
 * looks again under it, so only one process generates; generate() orders
 * its renames so that readers who skip the lock are safe too.
 */
int
tls_selfsigned_ensure(const char *data_dir, const char *hostname,
    char **cert_r, char **key_r, char **error_r)
{
	char safe[64];
	char *cert, *key, *cert_tmp = NULL, *key_tmp = NULL, *lock = NULL;
	int lock_fd = -1, state, ret = -1;

	*cert_r = *key_r = *error_r = NULL;
	cert = xasprintf("%s/tls-cert.pem", data_dir);
	key = xasprintf("%s/tls-key.pem", data_dir);
	if ((state = pair_state(cert, key, error_r)) != 0)
		goto done;	/* both there, or an error */

	if (!hostname_ok(hostname)) {
		*error_r = xasprintf("cannot make a certificate: hostname "
		    "\"%s\" is not a DNS name", log_safe(hostname, safe,
		    sizeof(safe)));
		goto done;
	}
	lock = xasprintf("%s/tls-selfsigned.lock", data_dir);
	lock_fd = open(lock, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (lock_fd == -1) {
		*error_r = xasprintf("cannot open %s: %s", lock,
		    strerror(errno));
		goto done;
	}
	while (flock(lock_fd, LOCK_EX) != 0) {
		if (errno != EINTR) {
			*error_r = xasprintf("cannot lock %s: %s", lock,
			    strerror(errno));
			goto done;
		}
	}
	/* Another process may have made them while we waited. */
	if ((state = pair_state(cert, key, error_r)) != 0)
		goto done;
	cert_tmp = xasprintf("%s.tmp", cert);
	key_tmp = xasprintf("%s.tmp", key);
	if (generate(data_dir, hostname, cert, key, cert_tmp, key_tmp,
	    error_r) == 0)
		state = 1;
done:
	if (lock_fd != -1)
		close(lock_fd);		/* releases the lock */
	free(lock);
	free(cert_tmp);
	free(key_tmp);
	if (state == 1) {
		*cert_r = cert;
		*key_r = key;
		ret = 0;
	} else {
		free(cert);
		free(key);
	}
	return ret;
}
