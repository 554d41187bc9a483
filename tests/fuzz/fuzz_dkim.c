/*
 * fuzz_dkim.c - libFuzzer target for DKIM signing (smtpd/dkim.h): relaxed
 * header canonicalization of the input as one field, the relaxed body
 * hash of the input whole, split at two points the input chooses and (for
 * short inputs) a byte at a time, and dkim_sign() of the input as a
 * message with an Ed25519 key made once.
 *
 * Checks invariants as well as memory safety: the canonical field is no
 * longer than the input (plus its CRLF), has a lower-case name and is
 * stable when canonicalized again; every split gives the same body
 * digest; a signature is one "DKIM-Signature:" field of lines of at most
 * 78 characters, continued with a tab, ending in CRLF; a failed sign
 * appends nothing.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/dkim_key.h"
#include "smtpd/dkim.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define BIG (256 * 1024 * 1024)
/* Byte-at-a-time hashing is quadratic-free but slow per call. */
#define BYTEWISE_MAX 4096

static struct dkim_signer *g_signer;

static void
signer_init(void)
{
	char *pem = NULL, *error = NULL;

	if (dkim_key_generate(DKIM_ALG_ED25519_SHA256, &pem, &error) < 0 ||
	    (g_signer = dkim_signer_new("example.org", "fuzz", pem,
	    &error)) == NULL)
		abort();
	free(pem);
}

static void
check_header(const char *d, size_t size)
{
	struct buf out, again;
	const char *colon;
	size_t name_len, i;

	buf_init(&out, BIG);
	if (dkim_canon_header(d, size, 1, &out) != 0)
		abort();
	if (out.len > size + 2 || out.len < 2 ||
	    memcmp(out.data + out.len - 2, "\r\n", 2) != 0)
		abort();
	colon = memchr(out.data, ':', out.len);
	name_len = colon != NULL ? (size_t)(colon - out.data) : out.len - 2;
	for (i = 0; i < name_len; i++)
		if (out.data[i] >= 'A' && out.data[i] <= 'Z')
			abort();
	/* Canonical is a fixed point, unless bare CRs and LFs around a
	 * removed CRLF made a new CRLF. */
	if (memmem(out.data, out.len - 2, "\r\n", 2) == NULL) {
		buf_init(&again, BIG);
		if (dkim_canon_header(out.data, out.len - 2, 0, &again) != 0 ||
		    again.len != out.len - 2 ||
		    (again.len > 0 && memcmp(again.data, out.data,
		    again.len) != 0))
			abort();
		buf_free(&again);
	}
	/* Too small a buffer fails and leaves it as it was. */
	if (out.len > 1) {
		struct buf small;

		buf_init(&small, out.len - 1);
		if (dkim_canon_header(d, size, 1, &small) != -1 ||
		    small.len != 0)
			abort();
		buf_free(&small);
	}
	buf_free(&out);
}

static void
check_body(const char *d, size_t size, size_t cut1, size_t cut2)
{
	unsigned char whole[32], got[32];
	struct dkim_body_hash *h;
	size_t i;

	h = dkim_body_hash_new();
	dkim_body_hash_update(h, d, size);
	dkim_body_hash_final(&h, whole);

	if (cut1 > cut2) {
		size_t t = cut1;

		cut1 = cut2;
		cut2 = t;
	}
	h = dkim_body_hash_new();
	dkim_body_hash_update(h, d, cut1);
	dkim_body_hash_update(h, d + cut1, cut2 - cut1);
	dkim_body_hash_update(h, d + cut2, size - cut2);
	dkim_body_hash_final(&h, got);
	if (memcmp(whole, got, 32) != 0)
		abort();

	if (size <= BYTEWISE_MAX) {
		h = dkim_body_hash_new();
		for (i = 0; i < size; i++)
			dkim_body_hash_update(h, d + i, 1);
		dkim_body_hash_final(&h, got);
		if (memcmp(whole, got, 32) != 0)
			abort();
	}
}

static void
check_sign(const char *d, size_t size)
{
	struct buf out;
	size_t i, line = 0;
	int ret;

	buf_init(&out, BIG);
	if (buf_append(&out, "x", 1) < 0)
		abort();
	ret = dkim_sign(&g_signer, 1, d, size, 1700000000, &out);
	if (ret != 0) {
		if (ret != -1 || out.len != 1)
			abort();
		buf_free(&out);
		return;
	}
	if (out.len < 20 || memcmp(out.data + 1, "DKIM-Signature: ", 16) != 0 ||
	    memcmp(out.data + out.len - 2, "\r\n", 2) != 0)
		abort();
	for (i = 1; i < out.len; i++) {
		if (out.data[i] == '\r') {
			if (out.data[i + 1] != '\n' || line > 78)
				abort();
			i++;
			line = 0;
			if (i + 1 < out.len && out.data[i + 1] != '\t')
				abort();
			continue;
		}
		if (out.data[i] == '\n')
			abort();
		line++;
	}
	buf_free(&out);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *d = (const char *)data;
	size_t cut1 = 0, cut2 = 0;

	if (g_signer == NULL)
		signer_init();
	/* The split points come from the input's last bytes, so the
	 * fuzzer can steer them without changing where the text starts. */
	if (size >= 4) {
		cut1 = ((size_t)data[size - 1] << 8 | data[size - 2]) %
		    (size + 1);
		cut2 = ((size_t)data[size - 3] << 8 | data[size - 4]) %
		    (size + 1);
	}
	check_header(d, size);
	check_body(d, size, cut1, cut2);
	check_sign(d, size);
	return 0;
}
