/*
 * fuzz_imap_mutf7.c - libFuzzer target for IMAP mailbox names, modified
 * UTF-7 <-> UTF-8 (imapd/imap_mutf7.c).
 *
 * The input is decoded as a wire name and encoded as a UTF-8 name, each
 * into a heap buffer of exactly the documented maximum. Checks
 * invariants as well as memory safety: a name that decodes encodes back
 * to exactly the input (only the canonical form is accepted), and a name
 * that encodes decodes back to exactly the input; results stay within
 * their bounds, are NUL-terminated, hold no control character, and the
 * wire form is printable US-ASCII; a buffer of exactly the result's size
 * works and one byte less is refused; a refusal leaves "". The encoder
 * accepts exactly what a second, table-driven reading of UTF-8 (Unicode
 * Table 3-7, controls refused) accepts; the decoder accepts every name
 * of printable US-ASCII without '&' as itself, and nothing that is not
 * printable US-ASCII.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "imapd/imap_mutf7.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* printable: every byte is printable US-ASCII (RFC 3501 5.1.3). */
static bool
printable(const uint8_t *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (s[i] < 0x20 || s[i] > 0x7e)
			return false;
	}
	return true;
}

/*
 * oracle_utf8: s is well-formed UTF-8 by the Unicode Standard's Table
 * 3-7 (ranges of second bytes per lead byte, not the decoder's shifts
 * and minimums), without U+0000-U+001F or U+007F (imap_mutf7.h).
 */
static bool
oracle_utf8(const uint8_t *s, size_t n)
{
	size_t i = 0, need;
	uint8_t lo, hi;

	while (i < n) {
		uint8_t b = s[i];

		if (b < 0x80) {
			if (b < 0x20 || b == 0x7f)
				return false;
			i++;
			continue;
		}
		lo = 0x80;
		hi = 0xbf;
		if (b >= 0xc2 && b <= 0xdf)
			need = 1;
		else if (b == 0xe0)
			need = 2, lo = 0xa0;
		else if ((b >= 0xe1 && b <= 0xec) || b == 0xee || b == 0xef)
			need = 2;
		else if (b == 0xed)
			need = 2, hi = 0x9f;
		else if (b == 0xf0)
			need = 3, lo = 0x90;
		else if (b >= 0xf1 && b <= 0xf3)
			need = 3;
		else if (b == 0xf4)
			need = 3, hi = 0x8f;
		else
			return false;
		if (n - i - 1 < need || s[i + 1] < lo || s[i + 1] > hi)
			return false;
		for (size_t k = 2; k <= need; k++) {
			if (s[i + k] < 0x80 || s[i + k] > 0xbf)
				return false;
		}
		i += need + 1;
	}
	return true;
}

typedef int (*convert_fn)(const char *, size_t, char *, size_t);

/*
 * check_sizes: f on in (n bytes) gave rc >= 0 (want, rc bytes): an
 * output buffer of exactly rc + 1 bytes gives the same, of rc bytes is
 * refused with "".
 */
static void
check_sizes(convert_fn f, const char *in, size_t n, const char *want,
    int rc)
{
	size_t len = (size_t)rc;
	char *out = malloc(len + 1);

	if (out == NULL)
		abort();
	if (f(in, n, out, len + 1) != rc || memcmp(out, want, len + 1) != 0)
		abort();
	free(out);
	if (len == 0) {
		if (f(in, n, NULL, 0) != -1)
			abort();
		return;
	}
	if ((out = malloc(len)) == NULL)
		abort();
	memset(out, 'x', len);
	if (f(in, n, out, len) != -1 || out[0] != '\0')
		abort();
	free(out);
}

/* check_decode: data as a wire name; back to the same when it decodes. */
static void
check_decode(const uint8_t *data, size_t size)
{
	const char *in = (const char *)data;
	size_t cap = size + 1;
	char *u, *m;
	int rc, back;

	if ((u = malloc(cap)) == NULL)
		abort();
	memset(u, 'x', cap);
	rc = imap_mutf7_to_utf8(in, size, u, cap);
	if (rc < 0) {
		if (rc != -1 || u[0] != '\0')
			abort();
		/* Nothing to decode: it cannot be refused. */
		if (printable(data, size) && memchr(in, '&', size) == NULL)
			abort();
		free(u);
		return;
	}
	if ((size_t)rc > size || u[rc] != '\0' || strlen(u) != (size_t)rc ||
	    !printable(data, size) ||
	    !oracle_utf8((const uint8_t *)u, (size_t)rc))
		abort();
	if (memchr(in, '&', size) == NULL &&
	    ((size_t)rc != size || memcmp(u, in, size) != 0))
		abort();
	check_sizes(imap_mutf7_to_utf8, in, size, u, rc);

	/* Canonical: the encoder writes exactly what was read. */
	if ((m = malloc(cap)) == NULL)
		abort();
	back = imap_utf8_to_mutf7(u, (size_t)rc, m, cap);
	if (back < 0 || (size_t)back != size || memcmp(m, in, size) != 0)
		abort();
	free(m);
	free(u);
}

/* check_encode: data as a UTF-8 name; back to the same when it encodes. */
static void
check_encode(const uint8_t *data, size_t size)
{
	const char *in = (const char *)data;
	size_t cap = 5 * size / 2 + 1;
	char *m, *u;
	int rc, back;

	if ((m = malloc(cap)) == NULL)
		abort();
	memset(m, 'x', cap);
	rc = imap_utf8_to_mutf7(in, size, m, cap);
	if (rc < 0) {
		if (rc != -1 || m[0] != '\0' || oracle_utf8(data, size))
			abort();
		free(m);
		return;
	}
	if (!oracle_utf8(data, size) || (size_t)rc > cap - 1 ||
	    m[rc] != '\0' || !printable((const uint8_t *)m, (size_t)rc))
		abort();
	check_sizes(imap_utf8_to_mutf7, in, size, m, rc);

	if ((u = malloc(size + 1)) == NULL)
		abort();
	back = imap_mutf7_to_utf8(m, (size_t)rc, u, size + 1);
	if (back < 0 || (size_t)back != size || memcmp(u, in, size) != 0)
		abort();
	free(u);
	free(m);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* data is exactly size bytes, no NUL after it: the sanitizer
	 * catches a converter that reads past its length. */
	check_decode(data, size);
	check_encode(data, size);
	return 0;
}
