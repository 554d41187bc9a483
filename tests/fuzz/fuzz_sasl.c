/*
 * fuzz_sasl.c - libFuzzer target for SASL PLAIN and base64 decoding.
 *
 * The input is used twice: as the base64 text a client sends, and as the
 * decoded message (encoded first), so the fuzzer reaches the PLAIN
 * splitting rules directly as well as through base64. Checks invariants
 * as well as memory safety: decoded parts fit their limits and hold no
 * NUL, CR or LF; an accepted response re-encodes to exactly the text
 * that was sent (base64 is strict, so decoding is one-to-one); a refused
 * one leaves its output wiped; encoding then decoding gives back the
 * input whenever the input is acceptable text.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/sasl.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Largest decoded response (LIMIT_SASL_LINE base64 characters). */
#define DECODED_MAX	(LIMIT_SASL_LINE / 4 * 3)

static bool
is_zero(const void *p, size_t n)
{
	const unsigned char *c = p;

	for (size_t i = 0; i < n; i++) {
		if (c[i] != 0)
			return false;
	}
	return true;
}

static bool
has_line_or_nul(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '\0' || s[i] == '\r' || s[i] == '\n')
			return true;
	}
	return false;
}

/*
 * check_plain: PLAIN over the base64 text b64 (len bytes); msg/msg_len,
 * when not NULL, is what b64 encodes.
 */
static void
check_plain(const char *b64, size_t len, const char *msg, size_t msg_len)
{
	struct sasl_credentials c;
	char raw[3 * (LIMIT_ADDR_TOTAL + 1) + LIMIT_PASSWORD];
	char enc[LIMIT_SASL_LINE + 1];
	size_t zl, cl, pl, n;

	memset(&c, 0xa5, sizeof(c));
	if (sasl_plain_decode(b64, len, &c) != 0) {
		if (!is_zero(&c, sizeof(c)))
			abort();
		return;
	}
	zl = strnlen(c.authzid, sizeof(c.authzid));
	cl = strnlen(c.authcid, sizeof(c.authcid));
	pl = strnlen(c.password, sizeof(c.password));
	if (zl > LIMIT_ADDR_TOTAL || cl == 0 || cl > LIMIT_ADDR_TOTAL ||
	    pl == 0 || pl > LIMIT_PASSWORD || len > LIMIT_SASL_LINE ||
	    has_line_or_nul(c.authzid, zl) || has_line_or_nul(c.authcid, cl) ||
	    has_line_or_nul(c.password, pl))
		abort();
	n = 0;
	memcpy(raw + n, c.authzid, zl);
	n += zl;
	raw[n++] = '\0';
	memcpy(raw + n, c.authcid, cl);
	n += cl;
	raw[n++] = '\0';
	memcpy(raw + n, c.password, pl);
	n += pl;
	if (msg != NULL && (n != msg_len || memcmp(raw, msg, n) != 0))
		abort();
	if (sasl_base64_encode(raw, n, enc, sizeof(enc)) != 0 ||
	    strlen(enc) != len || memcmp(enc, b64, len) != 0)
		abort();
	sasl_credentials_wipe(&c);
	if (!is_zero(&c, sizeof(c)))
		abort();
}

/* check_text: LOGIN-style decoding of b64 (len bytes). */
static void
check_text(const char *b64, size_t len)
{
	static char out[DECODED_MAX + 1], enc[LIMIT_SASL_LINE + 1];
	size_t n;

	memset(out, 0xa5, sizeof(out));
	if (sasl_base64_decode_text(b64, len, out, sizeof(out)) != 0) {
		if (!is_zero(out, sizeof(out)))
			abort();
		return;
	}
	n = strlen(out);
	if (n > DECODED_MAX || has_line_or_nul(out, n))
		abort();
	if (len == 1 && b64[0] == '=') {
		if (n != 0)
			abort();
		return;
	}
	if (sasl_base64_encode(out, n, enc, sizeof(enc)) != 0 ||
	    strlen(enc) != len || memcmp(enc, b64, len) != 0)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char enc[4 * (DECODED_MAX / 3 + 2) + 8], small[9];
	static char out[DECODED_MAX + 1];
	const char *s = (const char *)data;
	size_t need;

	check_plain(s, size, NULL, 0);
	check_text(s, size);

	/* The input as the decoded message: encode, then decode. */
	need = 4 * ((size + 2) / 3) + 1;
	if (sasl_base64_encode(s, size, enc, sizeof(enc)) != 0) {
		if (need <= sizeof(enc))
			abort();
		return 0;
	}
	if (strlen(enc) + 1 != need)
		abort();
	/* An output one byte short is refused, never overrun. */
	if (need <= sizeof(small) &&
	    (sasl_base64_encode(s, size, small, need - 1) != -1 ||
	    sasl_base64_encode(s, size, small, need) != 0 ||
	    strcmp(small, enc) != 0))
		abort();
	check_plain(enc, need - 1, s, size);
	if (sasl_base64_decode_text(enc, need - 1, out, sizeof(out)) == 0) {
		if (strlen(out) != size || memcmp(out, s, size) != 0)
			abort();
	} else if (need - 1 <= LIMIT_SASL_LINE && !has_line_or_nul(s, size)) {
		abort();
	}
	return 0;
}
