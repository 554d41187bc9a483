/*
 * fuzz_mime_text.c - libFuzzer target for the search text of messages
 * (common/mime_text.h): mime_parse, then mime_text_headers,
 * mime_text_body, mime_text_header over the whole input, and
 * mime_text_fold over the input and the outputs.
 *
 * Checks invariants as well as memory safety: every decoded text is valid
 * UTF-8 without NUL, within its buffer's maximum (a small maximum taken
 * from the input exercises the cut), a cut text is a prefix of the whole
 * one, folding valid UTF-8 gives valid UTF-8, and folding is idempotent.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/mime.h"
#include "common/mime_text.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define BIG (64 * 1024 * 1024)

static bool
valid_utf8(const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, len, k;
	uint32_t cp;

	while (i < n) {
		if (p[i] == 0)
			return false;
		if (p[i] < 0x80) {
			i++;
			continue;
		}
		if (p[i] < 0xc2 || p[i] > 0xf4)
			return false;
		len = p[i] < 0xe0 ? 2 : p[i] < 0xf0 ? 3 : 4;
		if (n - i < len)
			return false;
		cp = p[i] & (0x7f >> len);
		for (k = 1; k < len; k++) {
			if ((p[i + k] & 0xc0) != 0x80)
				return false;
			cp = (cp << 6) | (p[i + k] & 0x3f);
		}
		if ((len == 3 && (cp < 0x800 || (cp >= 0xd800 &&
		    cp <= 0xdfff))) || (len == 4 && (cp < 0x10000 ||
		    cp > 0x10ffff)))
			return false;
		i += len;
	}
	return true;
}

/* check_text: whole (max BIG) is valid; cut (a small max) is valid, a
 * prefix of whole, and -1 exactly when whole did not fit. */
static void
check_text(int rw, const struct buf *whole, int rc, const struct buf *cut)
{
	if (rw != 0 || !valid_utf8(whole->data, whole->len))
		abort();
	if (cut->len > cut->max || !valid_utf8(cut->data, cut->len))
		abort();
	if (cut->len > whole->len ||
	    (cut->len > 0 && memcmp(cut->data, whole->data, cut->len) != 0))
		abort();
	if ((rc == 0) != (whole->len <= cut->max))
		abort();
	if (rc == 0 && cut->len != whole->len)
		abort();
}

static void
check_fold(const char *s, size_t n, bool valid)
{
	struct buf f1, f2;

	buf_init(&f1, BIG);
	buf_init(&f2, BIG);
	if (mime_text_fold(s, n, &f1) != 0)
		abort();
	if (valid && !valid_utf8(f1.data, f1.len))
		abort();
	if (mime_text_fold(f1.data, f1.len, &f2) != 0 || f1.len != f2.len ||
	    (f1.len > 0 && memcmp(f1.data, f2.data, f1.len) != 0))
		abort();
	buf_free(&f1);
	buf_free(&f2);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *d = (const char *)data;
	size_t small = size > 0 ? data[0] % 97 : 0;
	struct mime_message m;
	struct buf whole, cut;
	int rw, rc;

	if (mime_parse(d, size, &m) != 0)
		abort();

	buf_init(&whole, BIG);
	buf_init(&cut, small);
	rw = mime_text_headers(d, size, &m, &whole);
	rc = mime_text_headers(d, size, &m, &cut);
	check_text(rw, &whole, rc, &cut);
	check_fold(whole.data, whole.len, true);
	buf_free(&whole);
	buf_free(&cut);

	buf_init(&whole, BIG);
	buf_init(&cut, small);
	rw = mime_text_body(d, size, &m, &whole);
	rc = mime_text_body(d, size, &m, &cut);
	check_text(rw, &whole, rc, &cut);
	check_fold(whole.data, whole.len, true);
	buf_free(&whole);
	buf_free(&cut);

	buf_init(&whole, BIG);
	buf_init(&cut, small);
	rw = mime_text_header(d, size, &whole);
	rc = mime_text_header(d, size, &cut);
	check_text(rw, &whole, rc, &cut);
	buf_free(&whole);
	buf_free(&cut);

	check_fold(d, size, false);
	mime_message_free(&m);
	return 0;
}
