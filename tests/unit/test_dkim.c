/*
 * test_dkim.c - DKIM signing (smtpd/dkim.h), its keys (common/dkim_key.h)
 * and their store (store_dkim_key_*).
 *
 * Canonicalization is checked against RFC 6376 3.4.5's example and hand
 * computed forms; the body hash is fed whole, a byte at a time and split
 * at every offset, and must not change. Signatures are checked for shape
 * here (tags, h= order, folding at 78 columns) and verified by an
 * independent implementation, dkimpy, run as /usr/bin/python3 on a
 * temporary copy of the signed message and its TXT records; without
 * python3 or dkimpy that test passes with a note. Tampering with a signed
 * message must make dkimpy fail, so the check is not vacuous.
 */
#include "testutil.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdbool.h>
#include <sys/wait.h>

#include <openssl/evp.h>
#include <openssl/pem.h>

#include "common/dkim_key.h"
#include "common/limits.h"
#include "common/xalloc.h"
#include "smtpd/dkim.h"

#define PYTHON3	"/usr/bin/python3"
#define OUT_MAX	(1024 * 1024)

/* Keys made once for the whole run (RSA generation is slow). */
static char *g_rsa_pem, *g_ed_pem, *g_rsa_txt, *g_ed_txt;

/* ---- Helpers ----------------------------------------------------------- */

static void
sha256(const void *data, size_t len, unsigned char *digest)
{
	unsigned int n = 0;

	assert_int_equal(EVP_Digest(data, len, digest, &n, EVP_sha256(),
	    NULL), 1);
	assert_int_equal(n, 32);
}

/* body_hash: the running hash fed data in pieces of step bytes (0: all
 * at once). */
static void
body_hash(const char *data, size_t len, size_t step, unsigned char *digest)
{
	struct dkim_body_hash *h = dkim_body_hash_new();
	size_t off = 0, n;

	if (step == 0)
		step = len > 0 ? len : 1;
	while (off < len) {
		n = len - off < step ? len - off : step;
		dkim_body_hash_update(h, data + off, n);
		off += n;
	}
	/* An empty update anywhere changes nothing. */
	dkim_body_hash_update(h, data, 0);
	dkim_body_hash_final(&h, digest);
	assert_null(h);
}

/* assert_body: the canonical body of in (inlen bytes) is want. */
#define assert_body(in, inlen, want) \
	assert_body_at((in), (inlen), (want), sizeof(want) - 1, __LINE__)
static void
assert_body_at(const char *in, size_t inlen, const char *want,
    size_t wantlen, int line)
{
	unsigned char got[32], exp[32];
	size_t step;

	sha256(want, wantlen, exp);
	for (step = 0; step <= 3; step++) {
		body_hash(in, inlen, step, got);
		if (memcmp(got, exp, 32) != 0)
			fail_msg("line %d: body hash (step %zu) is not that "
			    "of [%.*s]", line, step, (int)wantlen, want);
	}
}

/* assert_header: the relaxed form of field is want. */
#define assert_header(field, crlf, want) \
	assert_header_at((field), sizeof(field) - 1, (crlf), (want), __LINE__)
static void
assert_header_at(const char *field, size_t len, int crlf, const char *want,
    int line)
{
	struct buf out;

	buf_init(&out, OUT_MAX);
	assert_int_equal(dkim_canon_header(field, len, crlf, &out), 0);
	if (out.len != strlen(want) || memcmp(out.data, want, out.len) != 0)
		fail_msg("line %d: got [%.*s], want [%s]", line,
		    (int)out.len, out.data != NULL ? out.data : "", want);
	buf_free(&out);
}

/* b64_of: base64 of the SHA-256 of s (a bh= value). */
static void
b64_sha256(const char *s, size_t len, char *out)
{
	unsigned char d[32];

	sha256(s, len, d);
	EVP_EncodeBlock((unsigned char *)out, d, 32);
}

static struct dkim_signer *
signer(const char *domain, const char *selector, const char *pem)
{
	char *error = NULL;
	struct dkim_signer *s = dkim_signer_new(domain, selector, pem, &error);

	if (s == NULL)
		fail_msg("dkim_signer_new: %s", error);
	return s;
}

/* unfold: the field at s (len bytes) with every CRLF TAB removed, as a
 * malloc'd string. */
static char *
unfold(const char *s, size_t len)
{
	char *out = malloc(len + 1);
	size_t i, n = 0;

	assert_non_null(out);
	for (i = 0; i < len; i++) {
		if (s[i] == '\r' && i + 2 < len && s[i + 1] == '\n' &&
		    s[i + 2] == '\t') {
			i += 2;
			continue;
		}
		out[n++] = s[i];
	}
	out[n] = '\0';
	return out;
}

/* tag: the value of tag name in the unfolded field (which we write with
 * "; " between tags), malloc'd, or NULL. */
static char *
tag(const char *field, const char *name)
{
	size_t nl = strlen(name);
	const char *p = strchr(field, ':') + 1, *end;

	while (*p != '\0') {
		while (*p == ' ')
			p++;
		end = strchr(p, ';');
		if (end == NULL)
			end = p + strlen(p);
		if (strncmp(p, name, nl) == 0 && p[nl] == '=') {
			char *v = strndup(p + nl + 1, (size_t)(end - p - nl -
			    1));

			assert_non_null(v);
			return v;
		}
		p = *end == ';' ? end + 1 : end;
	}
	return NULL;
}

/*
 * check_fields: out holds n DKIM-Signature fields, each ending in CRLF,
 * with lines of at most 78 characters, continuation lines starting with
 * a tab and no other CR or LF. Returns the start of field i in *starts.
 */
static void
check_fields(const struct buf *out, size_t n, size_t *starts)
{
	size_t i = 0, k = 0, line = 0;

	while (i < out->len) {
		if (line == 0 && out->data[i] != '\t') {
			assert_true(k < n);
			assert_true(out->len - i > 15);
			assert_memory_equal(out->data + i, "DKIM-Signature: ",
			    16);
			starts[k++] = i;
		}
		if (out->data[i] == '\r') {
			assert_true(i + 1 < out->len);
			assert_int_equal(out->data[i + 1], '\n');
			if (line > 78)
				fail_msg("a line of %zu characters", line);
			i += 2;
			line = 0;
			continue;
		}
		assert_int_not_equal(out->data[i], '\n');
		line++;
		i++;
	}
	assert_int_equal(line, 0);
	assert_int_equal(k, n);
	starts[k] = out->len;
}

/* ---- dkimpy ------------------------------------------------------------ */

static const char dkimpy_script[] =
    "import os, sys\n"
    "try:\n"
    "    import dkim\n"
    "except ImportError:\n"
    "    sys.exit(77)\n"
    "d, want = sys.argv[1], sys.argv[2]\n"
    "txt = {}\n"
    "with open(os.path.join(d, 'txt'), 'rb') as f:\n"
    "    for line in f:\n"
    "        k, v = line.rstrip(b'\\n').split(b' ', 1)\n"
    "        txt[k] = v\n"
    "def dns(name, timeout=5):\n"
    "    if isinstance(name, str):\n"
    "        name = name.encode()\n"
    "    return txt.get(name.rstrip(b'.'))\n"
    "with open(os.path.join(d, 'msg'), 'rb') as f:\n"
    "    msg = f.read()\n"
    "v = dkim.DKIM(msg)\n"
    "n = sum(1 for k, _ in v.headers if k.lower() == b'dkim-signature')\n"
    "why = []\n"
    "def ok1(i):\n"
    "    try:\n"
    "        return v.verify(idx=i, dnsfunc=dns)\n"
    "    except dkim.DKIMException as e:\n"
    "        why.append(str(e))\n"
    "        return False\n"
    "bad = [i for i in range(n) if not ok1(i)]\n"
    "ok = n > 0 and not bad\n"
    "if ok != (want == 'valid'):\n"
    "    sys.stderr.write('dkimpy: %d signatures, failing: %r %r\\n'"
    " % (n, bad, why))\n"
    "    sys.exit(1)\n";

static bool g_dkimpy_missing;

static void
write_file(const char *dir, const char *name, const void *data, size_t len)
{
	char *path = tu_path(dir, name);
	FILE *f = fopen(path, "wb");

	assert_non_null(f);
	assert_int_equal(fwrite(data, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
	free(path);
}

/*
 * dkimpy_check: dkimpy finds every signature of the message (sigs, then
 * msg) valid (or, with want_valid false, not all valid), looking keys up
 * in the test's TXT records. Passes with a note without dkimpy.
 */
static void
dkimpy_check(const struct buf *sigs, const char *msg, size_t len,
    bool want_valid)
{
	char *dir, *txt;
	struct buf all;
	pid_t pid;
	int status;

	if (g_dkimpy_missing)
		return;
	if (access(PYTHON3, X_OK) != 0) {
		print_message("# %s missing: signatures not verified\n",
		    PYTHON3);
		g_dkimpy_missing = true;
		return;
	}
	dir = tu_tempdir();
	buf_init(&all, LIMIT_MESSAGE_SIZE);
	assert_int_equal(buf_append(&all, sigs->data, sigs->len), 0);
	assert_int_equal(buf_append(&all, msg, len), 0);
	write_file(dir, "msg", all.data, all.len);
	buf_free(&all);
	txt = xasprintf("rsa1._domainkey.example.org %s\n"
	    "ed1._domainkey.example.org %s\n"
	    "rsa2._domainkey.mail-relay.subdomain.example.org %s\n",
	    g_rsa_txt, g_ed_txt, g_rsa_txt);
	write_file(dir, "txt", txt, strlen(txt));
	free(txt);

	fflush(NULL);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		execl(PYTHON3, "python3", "-c", dkimpy_script, dir,
		    want_valid ? "valid" : "invalid", (char *)NULL);
		_exit(127);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	tu_rmtree(dir);
	free(dir);
	assert_true(WIFEXITED(status));
	if (WEXITSTATUS(status) == 77) {
		print_message("# dkimpy missing: signatures not verified\n");
		g_dkimpy_missing = true;
		return;
	}
	assert_int_equal(WEXITSTATUS(status), 0);
}

/* sign_both: signs msg with an RSA and an Ed25519 signer into out. */
static void
sign_both(const char *msg, size_t len, struct buf *out)
{
	struct dkim_signer *s[2];

	s[0] = signer("example.org", "rsa1", g_rsa_pem);
	s[1] = signer("example.org", "ed1", g_ed_pem);
	buf_init(out, OUT_MAX);
	assert_int_equal(dkim_sign(s, 2, msg, len, time(NULL), out), 0);
	dkim_signer_free(&s[0]);
	dkim_signer_free(&s[1]);
	assert_null(s[0]);
}

/* ---- Fixture ----------------------------------------------------------- */

static int
group_setup(void **state)
{
	char *error = NULL;
	enum dkim_alg alg;

	(void)state;
	if (dkim_key_generate(DKIM_ALG_RSA_SHA256, &g_rsa_pem, &error) < 0 ||
	    dkim_key_generate(DKIM_ALG_ED25519_SHA256, &g_ed_pem,
	    &error) < 0 ||
	    dkim_key_txt(g_rsa_pem, &alg, &g_rsa_txt, &error) < 0 ||
	    alg != DKIM_ALG_RSA_SHA256 ||
	    dkim_key_txt(g_ed_pem, &alg, &g_ed_txt, &error) < 0 ||
	    alg != DKIM_ALG_ED25519_SHA256) {
		fprintf(stderr, "key setup: %s\n", error != NULL ? error : "");
		free(error);
		return -1;
	}
	return 0;
}

static int
group_teardown(void **state)
{
	(void)state;
	free(g_rsa_pem);
	free(g_ed_pem);
	free(g_rsa_txt);
	free(g_ed_txt);
	return 0;
}

/* ---- Header canonicalization ------------------------------------------- */

/* RFC 6376 3.4.5, relaxed header. */
static void
test_canon_header_rfc_example(void **state)
{
	(void)state;
	assert_header("A: X", 1, "a:X\r\n");
	assert_header("B : Y\t\r\n\tZ  ", 1, "b:Y Z\r\n");
}

static void
test_canon_header_forms(void **state)
{
	struct buf out;

	(void)state;
	assert_header("Subject: Hello", 0, "subject:Hello");
	assert_header("SUBJECT:Hello", 0, "subject:Hello");
	/* Only the name is lower-cased. */
	assert_header("X-Mixed: VaLuE", 0, "x-mixed:VaLuE");
	assert_header("To:   a,\r\n b,\r\n\t\t c \t ", 1, "to:a, b, c\r\n");
	assert_header("Subject:", 1, "subject:\r\n");
	assert_header("Subject: \t \r\n ", 1, "subject:\r\n");
	assert_header("Subject\t : x", 0, "subject:x");
	/* A second colon is value. */
	assert_header("A: b: c", 0, "a:b: c");
	/* Bare CR and LF are content; a CRLF not followed by WSP is
	 * still a line end of folding (dkimpy does the same). */
	assert_header("A: b\rc\nd", 0, "a:b\rc\nd");
	assert_header("A: b\r\nc", 0, "a:bc");
	assert_header("A: b \r", 0, "a:b \r");
	/* 8-bit and NUL pass through. */
	buf_init(&out, OUT_MAX);
	assert_int_equal(dkim_canon_header("S: caf\xc3\xa9  \0x", 12, 0,
	    &out), 0);
	assert_int_equal(out.len, 10);
	assert_memory_equal(out.data, "s:caf\xc3\xa9 \0x", 10);
	buf_free(&out);
	/* No colon: all name. */
	assert_header("Not A Field", 0, "not a field");
	assert_header("", 1, "\r\n");
}

static void
test_canon_header_full(void **state)
{
	struct buf out;

	(void)state;
	buf_init(&out, 10);
	assert_int_equal(buf_append(&out, "ab", 2), 0);
	assert_int_equal(dkim_canon_header("Subject: x", 10, 1, &out), -1);
	assert_int_equal(out.len, 2);
	assert_int_equal(dkim_canon_header("S: xyz", 6, 1, &out), 0);
	assert_int_equal(out.len, 9);
	assert_memory_equal(out.data, "abs:xyz\r\n", 9);
	buf_free(&out);
}

/* ---- Body canonicalization --------------------------------------------- */

/* RFC 6376 3.4.5, relaxed body. */
static void
test_canon_body_rfc_example(void **state)
{
	static const char in[] = " C \r\nD \t E\r\n\r\n\r\n";

	(void)state;
	assert_body(in, sizeof(in) - 1, " C\r\nD E\r\n");
}

static void
test_canon_body_forms(void **state)
{
	(void)state;
	/* RFC 6376 3.4.4: the empty body is hashed as nothing. */
	assert_body("", 0, "");
	assert_body("\r\n", 2, "");
	assert_body("\r\n\r\n\r\n", 6, "");
	assert_body(" \t \r\n\t\r\n", 8, "");
	assert_body("abc", 3, "abc\r\n");
	assert_body("abc \t", 5, "abc\r\n");
	assert_body("abc\r\n", 5, "abc\r\n");
	assert_body("a\r\n\r\nb\r\n\r\n", 10, "a\r\n\r\nb\r\n");
	assert_body("\r\n\r\nx", 5, "\r\n\r\nx\r\n");
	assert_body("  x  y  \r\n", 10, " x y\r\n");
	assert_body("\t\r\n \r\nx\r\n", 9, "\r\n\r\nx\r\n");
	/* Only CRLF ends a line: bare CR and LF are content. */
	assert_body("a\rb\r\n", 5, "a\rb\r\n");
	assert_body("a\nb \n\r\n", 7, "a\nb \n\r\n");
	assert_body("a \r", 3, "a \r\r\n");
	assert_body("a\r\r\n", 4, "a\r\r\n");
	assert_body("\r", 1, "\r\r\n");
	assert_body("\n", 1, "\n\r\n");
	assert_body("x\0 \0\r\n", 6, "x\0 \0\r\n");
	assert_body("\xe9t\xe9  \xe9\r\n", 8, "\xe9t\xe9 \xe9\r\n");
}

/* Every split of a body gives the same digest: two pieces cut at every
 * offset, and three pieces for the short ones. */
static void
test_canon_body_splits(void **state)
{
	static const char *const bodies[] = {
		" C \r\nD \t E\r\n\r\n\r\n",
		"a \r \r\n\r\n \t\r\n\r\r\n\n \r\nb\r\n\r\n \t",
		"\r\n\r\n\r\nx  \r\n\r\n",
		"line one\t \r\n\tline two\r\n\r\n\r\n\r\n\r\nend",
	};
	unsigned char whole[32], got[32];
	struct dkim_body_hash *h;

	(void)state;
	for (size_t b = 0; b < sizeof(bodies) / sizeof(bodies[0]); b++) {
		const char *s = bodies[b];
		size_t len = strlen(s);

		body_hash(s, len, 0, whole);
		for (size_t i = 0; i <= len; i++) {
			for (size_t j = i; j <= len; j++) {
				h = dkim_body_hash_new();
				dkim_body_hash_update(h, s, i);
				dkim_body_hash_update(h, s + i, j - i);
				dkim_body_hash_update(h, s + j, len - j);
				dkim_body_hash_final(&h, got);
				assert_memory_equal(got, whole, 32);
			}
		}
	}
}

/* A long run of empty lines followed by text, fed in odd pieces: the
 * pending count carries them across calls and the output block. */
static void
test_canon_body_long(void **state)
{
	size_t n = 3 * 100000 + 1, i;
	char *in = malloc(n + 10), *want = malloc(n + 10);
	unsigned char a[32], b[32];

	(void)state;
	assert_non_null(in);
	assert_non_null(want);
	for (i = 0; i + 3 <= n; i += 3)
		memcpy(in + i, " \r\n", 3);
	in[i++] = 'x';
	memcpy(in + i, " \r\n\r\n", 5);
	for (i = 0; i + 2 <= 2 * 100000; i += 2)
		memcpy(want + i, "\r\n", 2);
	memcpy(want + i, "x\r\n", 3);
	sha256(want, i + 3, a);
	body_hash(in, n + 5, 4093, b);
	assert_memory_equal(a, b, 32);
	body_hash(in, n + 5, 0, b);
	assert_memory_equal(a, b, 32);
	free(in);
	free(want);
}

/* ---- Keys -------------------------------------------------------------- */

static void
test_alg_names(void **state)
{
	(void)state;
	assert_string_equal(dkim_alg_name(DKIM_ALG_RSA_SHA256), "rsa-sha256");
	assert_string_equal(dkim_alg_name(DKIM_ALG_ED25519_SHA256),
	    "ed25519-sha256");
	assert_int_equal(dkim_alg_parse("rsa-sha256"), DKIM_ALG_RSA_SHA256);
	assert_int_equal(dkim_alg_parse("ed25519-sha256"),
	    DKIM_ALG_ED25519_SHA256);
	assert_int_equal(dkim_alg_parse("rsa-sha1"), -1);
	assert_int_equal(dkim_alg_parse("RSA-SHA256"), -1);
	assert_int_equal(dkim_alg_parse(""), -1);
}

static void
test_key_generate(void **state)
{
	EVP_PKEY *k;
	enum dkim_alg alg;
	char *error = NULL;
	const char *p;
	size_t n;

	(void)state;
	/* PKCS#8 PEM, readable back as the right type. */
	assert_true(strncmp(g_rsa_pem, "-----BEGIN PRIVATE KEY-----\n",
	    28) == 0);
	assert_true(strncmp(g_ed_pem, "-----BEGIN PRIVATE KEY-----\n",
	    28) == 0);
	k = (EVP_PKEY *)dkim_key_read(g_rsa_pem, &alg, &error);
	assert_non_null(k);
	assert_int_equal(alg, DKIM_ALG_RSA_SHA256);
	assert_int_equal(EVP_PKEY_get_bits(k), 2048);
	EVP_PKEY_free(k);
	k = (EVP_PKEY *)dkim_key_read(g_ed_pem, &alg, &error);
	assert_non_null(k);
	assert_int_equal(alg, DKIM_ALG_ED25519_SHA256);
	EVP_PKEY_free(k);

	/* RSA: base64 of the SubjectPublicKeyInfo of a 2048-bit key. */
	p = "v=DKIM1; k=rsa; p=MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA";
	assert_true(strncmp(g_rsa_txt, p, strlen(p)) == 0);
	assert_int_equal(strlen(g_rsa_txt), 18 + 392);
	/* Ed25519: the 32 raw bytes, 44 characters of base64. */
	p = "v=DKIM1; k=ed25519; p=";
	assert_true(strncmp(g_ed_txt, p, strlen(p)) == 0);
	n = strlen(g_ed_txt + strlen(p));
	assert_int_equal(n, 44);
	assert_int_equal(g_ed_txt[strlen(g_ed_txt) - 1], '=');
	assert_null(strchr(g_ed_txt, '\n'));
	assert_null(strchr(g_rsa_txt, '\n'));
}

/* pem_of: k as PKCS#8 PEM, encrypted with pass when not NULL. */
static char *
pem_of(EVP_PKEY *k, const char *pass)
{
	BIO *bio = BIO_new(BIO_s_mem());
	char *data, *pem;
	long n;

	assert_non_null(bio);
	assert_int_equal(PEM_write_bio_PKCS8PrivateKey(bio, k,
	    pass != NULL ? EVP_aes_128_cbc() : NULL, NULL, 0, NULL,
	    (void *)pass), 1);
	n = BIO_get_mem_data(bio, &data);
	pem = strndup(data, (size_t)n);
	assert_non_null(pem);
	BIO_free(bio);
	return pem;
}

static void
test_key_txt_refused(void **state)
{
	EVP_PKEY *k;
	char *pem, *txt = NULL, *error = NULL;
	struct dkim_signer *s;

	(void)state;
	assert_int_equal(dkim_key_txt("not a key", NULL, &txt, &error), -1);
	assert_non_null(error);
	free(error);
	error = NULL;
	assert_int_equal(dkim_key_txt("", NULL, &txt, &error), -1);
	free(error);
	error = NULL;

	/* An EC key is a key, but not one DKIM signs with. */
	k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	assert_non_null(k);
	pem = pem_of(k, NULL);
	EVP_PKEY_free(k);
	assert_int_equal(dkim_key_txt(pem, NULL, &txt, &error), -1);
	assert_non_null(strstr(error, "EC"));
	free(error);
	error = NULL;
	assert_null(dkim_signer_new("example.org", "s", pem, &error));
	free(error);
	error = NULL;
	free(pem);

	/* RFC 8301 3.2: RSA below 1024 bits is refused. */
	k = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)512);
	assert_non_null(k);
	pem = pem_of(k, NULL);
	assert_int_equal(dkim_key_txt(pem, NULL, &txt, &error), -1);
	assert_non_null(strstr(error, "512"));
	free(error);
	error = NULL;
	free(pem);

	/* An encrypted key fails at once rather than asking for a
	 * passphrase on the terminal. */
	pem = pem_of(k, "secret");
	EVP_PKEY_free(k);
	assert_int_equal(dkim_key_txt(pem, NULL, &txt, &error), -1);
	free(error);
	error = NULL;
	free(pem);

	/* A truncated key. */
	pem = strndup(g_ed_pem, strlen(g_ed_pem) / 2);
	assert_int_equal(dkim_key_txt(pem, NULL, &txt, &error), -1);
	free(error);
	error = NULL;
	free(pem);

	/* d= and s= must be DNS names: they go into the field as is. */
	s = dkim_signer_new("example.org;", "s", g_ed_pem, &error);
	assert_null(s);
	free(error);
	error = NULL;
	assert_null(dkim_signer_new("example.org", "s 1", g_ed_pem, &error));
	free(error);
	error = NULL;
	assert_null(dkim_signer_new("example.org", "", g_ed_pem, &error));
	free(error);
	error = NULL;
	assert_null(dkim_signer_new("a..b", "s", g_ed_pem, &error));
	free(error);
	error = NULL;
	assert_null(dkim_signer_new("a.b", "s\r\nX: y", g_ed_pem, &error));
	free(error);
	dkim_signer_free(&s);	/* NULL is fine */
}

/* ---- Signing ----------------------------------------------------------- */

/* Folded fields, tabs, trailing whitespace, repeated Received, no Date,
 * trailing empty lines. */
static const char msg_folded[] =
    "Received: from a.example.net by mx.example.org; Mon, 2 Nov 2026"
    " 10:00:00 +0000\r\n"
    "Received: from b.example.net\r\n\tby a.example.net; Mon, 2 Nov 2026"
    " 09:59:00 +0000\r\n"
    "From: Alice <alice@example.org>  \r\n"
    "To: bob@example.net,\r\n\tcarol@example.net\r\n"
    "Subject:\tHello   world \t\r\n"
    "Message-ID: <1@example.org>\r\n"
    "\r\n"
    "Hi Bob,  \r\n"
    "\tindented\t line\r\n"
    "\r\n"
    "\r\n";

static void
test_sign_shape(void **state)
{
	struct buf out;
	size_t starts[3];
	char *f, *v, want_bh[45];
	const char *body = strstr(msg_folded, "\r\n\r\n") + 4;
	static const char canon_body[] = "Hi Bob,\r\n indented line\r\n";

	(void)state;
	sign_both(msg_folded, sizeof(msg_folded) - 1, &out);
	check_fields(&out, 2, starts);
	assert_non_null(body);
	b64_sha256(canon_body, sizeof(canon_body) - 1, want_bh);

	for (int i = 0; i < 2; i++) {
		f = unfold(out.data + starts[i], starts[i + 1] - starts[i] - 2);
		assert_true(strncmp(f, "DKIM-Signature: v=1; a=", 23) == 0);
		v = tag(f, "a");
		assert_string_equal(v, i == 0 ? "rsa-sha256" :
		    "ed25519-sha256");
		free(v);
		v = tag(f, "c");
		assert_string_equal(v, "relaxed/relaxed");
		free(v);
		v = tag(f, "d");
		assert_string_equal(v, "example.org");
		free(v);
		v = tag(f, "s");
		assert_string_equal(v, i == 0 ? "rsa1" : "ed1");
		free(v);
		v = tag(f, "t");
		assert_non_null(v);
		assert_true(strtoll(v, NULL, 10) > 1700000000);
		free(v);
		/* Every instance (Received is not signed), and the over-
		 * signed names once more, present or not. */
		v = tag(f, "h");
		assert_string_equal(v, "from:from:reply-to:subject:subject:"
		    "date:to:to:cc:message-id:message-id:content-type:"
		    "content-transfer-encoding");
		free(v);
		v = tag(f, "bh");
		assert_string_equal(v, want_bh);
		free(v);
		v = tag(f, "b");
		assert_non_null(v);
		assert_int_equal(strlen(v), i == 0 ? 344 : 88);
		free(v);
		assert_null(tag(f, "l"));
		assert_null(tag(f, "x"));
		free(f);
	}
	dkimpy_check(&out, msg_folded, sizeof(msg_folded) - 1, true);
	buf_free(&out);
}

/* Repeated fields: h= lists each instance, and dkimpy (which takes them
 * bottom-up, RFC 6376 5.4.2) agrees on which. */
static void
test_sign_repeated(void **state)
{
	static const char msg[] =
	    "From: a@example.org\r\n"
	    "To: first@example.net\r\n"
	    "Date: Mon, 2 Nov 2026 10:00:00 +0000\r\n"
	    "To: second@example.net\r\n"
	    "Cc: c@example.net\r\n"
	    "References: <1@x>\r\n"
	    "references: <2@x>\r\n"
	    "MIME-Version: 1.0\r\n"
	    "Content-Type: text/plain;\r\n\tcharset=utf-8\r\n"
	    "\r\n"
	    "body\r\n";
	struct buf out;
	size_t starts[3];
	char *f, *v;

	(void)state;
	sign_both(msg, sizeof(msg) - 1, &out);
	check_fields(&out, 2, starts);
	f = unfold(out.data, starts[1] - 2);
	v = tag(f, "h");
	assert_string_equal(v, "from:from:reply-to:subject:date:date:to:to:"
	    "to:cc:cc:message-id:references:references:mime-version:"
	    "content-type:content-type:content-transfer-encoding");
	free(v);
	free(f);
	dkimpy_check(&out, msg, sizeof(msg) - 1, true);
	buf_free(&out);
}

/* A signature must fail once a signed field or the body changes, and a
 * field added on top of an over-signed one. */
static void
test_sign_tamper(void **state)
{
	static const char msg[] =
	    "From: a@example.org\r\nTo: b@example.net\r\n"
	    "Subject: original\r\n\r\nbody\r\n";
	static const char changed_subject[] =
	    "From: a@example.org\r\nTo: b@example.net\r\n"
	    "Subject: 0riginal\r\n\r\nbody\r\n";
	static const char changed_body[] =
	    "From: a@example.org\r\nTo: b@example.net\r\n"
	    "Subject: original\r\n\r\nbody!\r\n";
	static const char added_subject[] =
	    "Subject: added\r\n"
	    "From: a@example.org\r\nTo: b@example.net\r\n"
	    "Subject: original\r\n\r\nbody\r\n";
	static const char whitespace_only[] =
	    "From:  a@example.org \r\nTo: b@example.net\r\n"
	    "Subject:    original\r\n\r\nbody  \r\n\r\n";
	struct buf out;

	(void)state;
	sign_both(msg, sizeof(msg) - 1, &out);
	dkimpy_check(&out, msg, sizeof(msg) - 1, true);
	dkimpy_check(&out, changed_subject, sizeof(changed_subject) - 1,
	    false);
	dkimpy_check(&out, changed_body, sizeof(changed_body) - 1, false);
	dkimpy_check(&out, added_subject, sizeof(added_subject) - 1, false);
	/* What relaxed canonicalization forgives, still verifies. */
	dkimpy_check(&out, whitespace_only, sizeof(whitespace_only) - 1,
	    true);
	buf_free(&out);
}

/* The messages of the brief that dkimpy can parse: no body, all header,
 * 8-bit, a last line without CRLF, long fields, empty header. */
static void
test_sign_verify_dkimpy(void **state)
{
	static const struct {
		const char *s;
		size_t len;
	} msgs[] = {
#define M(s) { s, sizeof(s) - 1 }
		M("From: a@example.org\r\nSubject: no body\r\n\r\n"),
		M("From: a@example.org\r\nSubject: all header\r\n"),
		M("From: a@example.org\r\nSubject: all header"),
		M("From: a@example.org\r\nSubject: caf\xc3\xa9\r\n"
		    "Content-Transfer-Encoding: 8bit\r\n\r\n"
		    "\xe9t\xe9 \xff\xfe\r\n\xc3\xa9\r\n"),
		M("From: a@example.org\r\nSubject: no final CRLF\r\n\r\n"
		    "line one\r\nline two"),
		M("From: a@example.org\r\n\r\n\r\n\r\n \r\n\t\r\n"),
		M("fRoM: a@example.org\r\nSUBJECT: case\r\n\r\nx\r\n"),
		M("From: a@example.org\r\nSubject: "
		    "a very long subject that goes on and on and on and on and"
		    " on and on and on and on and on and on and on and on and "
		    "on\r\n and on\r\n\r\nx\r\n"),
		M("From: a@example.org\r\nX-Empty:\r\nSubject:\r\n\r\n."
		    "\r\n"),
#undef M
	};
	struct buf out;

	(void)state;
	for (size_t i = 0; i < sizeof(msgs) / sizeof(msgs[0]); i++) {
		size_t starts[3];

		sign_both(msgs[i].s, msgs[i].len, &out);
		check_fields(&out, 2, starts);
		dkimpy_check(&out, msgs[i].s, msgs[i].len, true);
		buf_free(&out);
	}
}

/* A long d= folds the field elsewhere and still verifies. */
static void
test_sign_long_domain(void **state)
{
	static const char msg[] = "From: a@mail-relay.subdomain.example.org"
	    "\r\nTo: b@example.net\r\nSubject: s\r\n\r\nbody\r\n";
	struct dkim_signer *s = signer("mail-relay.subdomain.example.org",
	    "rsa2", g_rsa_pem);
	struct buf out;
	size_t starts[2];

	(void)state;
	buf_init(&out, OUT_MAX);
	assert_int_equal(dkim_sign(&s, 1, msg, sizeof(msg) - 1, time(NULL),
	    &out), 0);
	check_fields(&out, 1, starts);
	dkimpy_check(&out, msg, sizeof(msg) - 1, true);
	buf_free(&out);
	dkim_signer_free(&s);
}

/* Malformed input is signed (or refused) without crashing: no empty
 * line, bare LF, NUL, a leading continuation line, nothing at all. */
static void
test_sign_malformed(void **state)
{
	static const struct {
		const char *s;
		size_t len;
	} msgs[] = {
#define M(s) { s, sizeof(s) - 1 }
		M(""),
		M("\r\n"),
		M("\r\n\r\n"),
		M("\r"),
		M("\n"),
		M(":"),
		M("From"),
		M(" From: a\r\n\r\n"),
		M("From: a\nTo: b\n\nbody\n"),
		M("From: a\r\nSubject: x\0y\r\n\r\nb\0dy\r\n"),
		M("From: a\r\n\t\r\n\r\nx"),
		M("From: a\r\r\n\r\n"),
		M("\xff\xfe: \x80\r\n\r\n\x80"),
#undef M
	};
	struct dkim_signer *s = signer("example.org", "ed1", g_ed_pem);
	struct buf out;
	size_t starts[2];

	(void)state;
	for (size_t i = 0; i < sizeof(msgs) / sizeof(msgs[0]); i++) {
		/* Heap copies of the exact length, so ASan sees any read
		 * past it. */
		char *m = malloc(msgs[i].len + 1);

		assert_non_null(m);
		memcpy(m, msgs[i].s, msgs[i].len);
		buf_init(&out, OUT_MAX);
		assert_int_equal(dkim_sign(&s, 1, m, msgs[i].len, 1,
		    &out), 0);
		check_fields(&out, 1, starts);
		buf_free(&out);
		free(m);
	}
	dkim_signer_free(&s);
}

/* Limits: a message past them is not signed, and out is untouched. */
static void
test_sign_limits(void **state)
{
	struct dkim_signer *s[2];
	struct buf out, msg;
	size_t i;

	(void)state;
	s[0] = signer("example.org", "ed1", g_ed_pem);
	s[1] = signer("example.org", "rsa1", g_rsa_pem);

	/* No signers: nothing to do. */
	buf_init(&out, OUT_MAX);
	assert_int_equal(dkim_sign(s, 0, "From: a\r\n", 9, 1, &out), 0);
	assert_int_equal(out.len, 0);

	/* LIMIT_MIME_HEADER_FIELDS signed instances are fine; one more
	 * is not. */
	buf_init(&msg, LIMIT_MESSAGE_SIZE);
	for (i = 0; i < LIMIT_MIME_HEADER_FIELDS; i++)
		assert_int_equal(buf_append(&msg, "To: x\r\n", 7), 0);
	assert_int_equal(buf_append(&msg, "X-Other: y\r\n", 12), 0);
	assert_int_equal(dkim_sign(s, 2, msg.data, msg.len, 1, &out), 0);
	assert_true(out.len > 0);
	buf_reset(&out);
	assert_int_equal(buf_append(&out, "kept", 4), 0);
	assert_int_equal(buf_append(&msg, "Cc: z\r\n\r\nbody\r\n", 15), 0);
	assert_int_equal(dkim_sign(s, 2, msg.data, msg.len, 1, &out), -1);
	assert_int_equal(out.len, 4);

	/* A signed field longer than the header data allows. */
	buf_reset(&msg);
	assert_int_equal(buf_append(&msg, "Subject: ", 9), 0);
	for (i = 0; i < LIMIT_MIME_HEADER_SIZE / 6; i++)
		assert_int_equal(buf_append(&msg, "abcdef\r\n ", 9), 0);
	assert_int_equal(buf_append(&msg, "\r\n\r\nbody\r\n", 10), 0);
	assert_int_equal(dkim_sign(s, 2, msg.data, msg.len, 1, &out), -1);
	assert_int_equal(out.len, 4);

	/* The same bulk in a field we do not sign costs nothing. */
	msg.data[0] = 'X';
	assert_int_equal(dkim_sign(s, 2, msg.data, msg.len, 1, &out), 0);

	/* out too small for the second signature: neither is left. */
	buf_free(&out);
	buf_init(&out, 700);
	assert_int_equal(dkim_sign(s, 2, "From: a\r\n\r\n", 11, 1, &out),
	    -1);
	assert_int_equal(out.len, 0);
	buf_free(&out);
	buf_free(&msg);
	dkim_signer_free(&s[0]);
	dkim_signer_free(&s[1]);
}

/* The body is found whatever the header looks like: signing a message
 * and the same message with its body split off agree on bh=. */
static void
test_sign_body_boundary(void **state)
{
	static const char msg[] = "From: a\r\nTo: b\r\n \r\n\r\n  body  \r\n";
	struct dkim_signer *s = signer("example.org", "ed1", g_ed_pem);
	struct buf out;
	char *f, *bh, want[45];

	(void)state;
	buf_init(&out, OUT_MAX);
	assert_int_equal(dkim_sign(&s, 1, msg, sizeof(msg) - 1, 1, &out), 0);
	f = unfold(out.data, out.len - 2);
	bh = tag(f, "bh");
	/* " \r\n" after To: is a continuation line, not the end. */
	b64_sha256(" body\r\n", 7, want);
	assert_string_equal(bh, want);
	free(bh);
	free(f);
	buf_free(&out);
	dkim_signer_free(&s);
}

/* ---- Store ------------------------------------------------------------- */

static void
test_store_keys(void **state)
{
	struct tu_env *env = tu_env_new();
	struct store_dkim_key *keys = NULL;
	size_t n = 0;
	char label64[70], long_sel[300];

	(void)state;
	tu_domain_add(env->st, "example.org");
	tu_domain_add(env->st, "example.net");
	assert_int_equal(store_dkim_key_add(env->st, "Example.ORG", "Rsa1",
	    "rsa-sha256", g_rsa_pem), 0);
	assert_int_equal(store_dkim_key_add(env->st, "example.org", "ed1",
	    "ed25519-sha256", g_ed_pem), 0);
	assert_int_equal(store_dkim_key_add(env->st, "example.net",
	    "a.b-c.2", "ed25519-sha256", g_ed_pem), 0);
	/* DNS names compare without case: the same selector. */
	assert_int_equal(store_dkim_key_add(env->st, "example.org", "RSA1",
	    "rsa-sha256", g_rsa_pem), STORE_ERR_EXISTS);
	assert_int_equal(store_dkim_key_add(env->st, "example.com", "s",
	    "rsa-sha256", g_rsa_pem), STORE_ERR_NOT_LOCAL);
	assert_int_equal(store_dkim_key_add(env->st, "example.org", "s",
	    "rsa-sha1", g_rsa_pem), STORE_ERR_INVALID);
	assert_int_equal(store_dkim_key_add(env->st, "not a domain", "s",
	    "rsa-sha256", g_rsa_pem), STORE_ERR_INVALID);
	/* The key must be one, of the algorithm named. */
	assert_int_equal(store_dkim_key_add(env->st, "example.org", "s",
	    "rsa-sha256", g_ed_pem), STORE_ERR_INVALID);
	assert_int_equal(store_dkim_key_add(env->st, "example.org", "s",
	    "ed25519-sha256", "junk"), STORE_ERR_INVALID);
	assert_int_equal(store_dkim_key_add(env->st, "example.org", "s",
	    "ed25519-sha256", ""), STORE_ERR_INVALID);

	/* Selectors: DNS labels of letters, digits and hyphens. */
	static const char *const bad[] = { "", ".", "a.", ".a", "a..b",
	    "a_b", "a b", "a;b", "a\r\nb", "\xc3\xa9" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(store_dkim_key_add(env->st, "example.org",
		    bad[i], "rsa-sha256", g_rsa_pem), STORE_ERR_INVALID);
	memset(label64, 'a', 64);
	label64[64] = '\0';
	assert_int_equal(store_dkim_key_add(env->st, "example.org", label64,
	    "rsa-sha256", g_rsa_pem), STORE_ERR_INVALID);
	label64[63] = '\0';
	assert_int_equal(store_dkim_key_add(env->st, "example.org", label64,
	    "rsa-sha256", g_rsa_pem), 0);
	/* 253 in all is the most; 254 is too many. */
	for (size_t i = 0; i < 254; i++)
		long_sel[i] = i % 2 == 0 ? 'x' : '.';
	long_sel[253] = '\0';
	assert_int_equal(store_dkim_key_add(env->st, "example.org", long_sel,
	    "rsa-sha256", g_rsa_pem), 0);
	long_sel[253] = 'y';
	long_sel[254] = '\0';
	assert_int_equal(store_dkim_key_add(env->st, "example.org", long_sel,
	    "rsa-sha256", g_rsa_pem), STORE_ERR_INVALID);

	/* Listed by domain, then selector, lower case. */
	assert_int_equal(store_dkim_key_list(env->st, NULL, &keys, &n), 0);
	assert_int_equal(n, 5);
	assert_string_equal(keys[0].domain, "example.net");
	assert_string_equal(keys[0].selector, "a.b-c.2");
	assert_string_equal(keys[1].domain, "example.org");
	assert_string_equal(keys[1].selector, label64);
	assert_string_equal(keys[2].selector, "ed1");
	assert_string_equal(keys[2].algorithm, "ed25519-sha256");
	assert_string_equal(keys[2].private_pem, g_ed_pem);
	assert_string_equal(keys[3].selector, "rsa1");
	assert_string_equal(keys[3].algorithm, "rsa-sha256");
	assert_true(keys[3].created > 1700000000);
	store_dkim_key_list_free(&keys, n);
	assert_null(keys);
	assert_int_equal(store_dkim_key_list(env->st, "EXAMPLE.net", &keys,
	    &n), 0);
	assert_int_equal(n, 1);
	store_dkim_key_list_free(&keys, n);
	assert_int_equal(store_dkim_key_list(env->st, "example.com", &keys,
	    &n), 0);
	assert_int_equal(n, 0);
	store_dkim_key_list_free(&keys, n);

	assert_int_equal(store_dkim_key_del(env->st, "example.org", "ED1"), 0);
	assert_int_equal(store_dkim_key_del(env->st, "example.org", "ed1"),
	    STORE_ERR_NOT_FOUND);
	assert_int_equal(store_dkim_key_del(env->st, "example.com", "rsa1"),
	    STORE_ERR_NOT_FOUND);
	assert_int_equal(store_dkim_key_del(env->st, "example.org", "a;b"),
	    STORE_ERR_INVALID);

	/* A domain's keys go with it. */
	assert_int_equal(store_domain_del(env->st, "example.net"), 0);
	assert_int_equal(store_dkim_key_list(env->st, NULL, &keys, &n), 0);
	assert_int_equal(n, 3);
	for (size_t i = 0; i < n; i++)
		assert_string_equal(keys[i].domain, "example.org");
	store_dkim_key_list_free(&keys, n);
	tu_env_free(&env);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_canon_header_rfc_example),
		cmocka_unit_test(test_canon_header_forms),
		cmocka_unit_test(test_canon_header_full),
		cmocka_unit_test(test_canon_body_rfc_example),
		cmocka_unit_test(test_canon_body_forms),
		cmocka_unit_test(test_canon_body_splits),
		cmocka_unit_test(test_canon_body_long),
		cmocka_unit_test(test_alg_names),
		cmocka_unit_test(test_key_generate),
		cmocka_unit_test(test_key_txt_refused),
		cmocka_unit_test(test_sign_shape),
		cmocka_unit_test(test_sign_repeated),
		cmocka_unit_test(test_sign_tamper),
		cmocka_unit_test(test_sign_verify_dkimpy),
		cmocka_unit_test(test_sign_long_domain),
		cmocka_unit_test(test_sign_malformed),
		cmocka_unit_test(test_sign_limits),
		cmocka_unit_test(test_sign_body_boundary),
		cmocka_unit_test(test_store_keys),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
