/*
 * sasl.c - base64 (RFC 4648) for SASL responses and challenges, and the
 * PLAIN mechanism's message (RFC 4616 2).
 *
 * Input is untrusted. Base64 is libsodium's, strict: padding required,
 * no whitespace or other characters skipped, non-zero trailing bits
 * refused, and (checked here, see b64_alphabet) nothing outside the
 * RFC 4648 alphabet. A response longer than LIMIT_SASL_LINE is refused
 * before it is decoded; decoded parts are bounded by LIMIT_ADDR_TOTAL
 * (identities) and LIMIT_PASSWORD. Every scratch buffer that held a
 * decoded response is wiped with sodium_memzero() before return, on
 * success and failure.
 */
#include <stdbool.h>
#include <stddef.h>
#include <string.h>

#include <sodium.h>

#include "address.h"
#include "sasl.h"

/* Largest decoded response: LIMIT_SASL_LINE base64 characters. */
#define SASL_DECODED_MAX	(LIMIT_SASL_LINE / 4 * 3)

/*
 * b64_alphabet: every byte of s (n bytes) is in the RFC 4648 4 alphabet
 * or '='. libsodium 1.0.18 (Debian 12) reads the text as signed char and
 * its constant-time range checks then take every byte >= 0x80 for a
 * base64 digit; this check keeps decoding strict (and one-to-one) on
 * every libsodium. Where '=' may stand is libsodium's to check.
 */
static bool
b64_alphabet(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		    (c >= '0' && c <= '9') || c == '+' || c == '/' ||
		    c == '='))
			return false;
	}
	return true;
}

/*
 * b64_decode: base64 text (len bytes) into bin (SASL_DECODED_MAX bytes),
 * *bin_len_r its length. Returns 0, or -1 for text that is too long or
 * not strict padded base64. bin may hold partial output on failure: the
 * caller wipes it either way.
 */
static int
b64_decode(const char *b64, size_t len, unsigned char *bin,
    size_t *bin_len_r)
{
	*bin_len_r = 0;
	if (len > LIMIT_SASL_LINE || !b64_alphabet(b64, len))
		return -1;
	/* b64_end NULL: anything left unparsed is an error. */
	if (sodium_base642bin(bin, SASL_DECODED_MAX, b64, len, NULL,
	    bin_len_r, NULL, sodium_base64_VARIANT_ORIGINAL) != 0) {
		*bin_len_r = 0;
		return -1;
	}
	return 0;
}

/*
 * copy_part: the n bytes at s into out (size bytes) as a string. Refuses
 * (false) a part that does not fit, is empty when !empty_ok, or holds
 * NUL, CR or LF; with identity, also other control characters and
 * malformed UTF-8 (identities reach the log, RFC 4616 2 says UTF-8).
 */
static bool
copy_part(const unsigned char *s, size_t n, char *out, size_t size,
    bool empty_ok, bool identity)
{
	if (n >= size || (n == 0 && !empty_ok))
		return false;
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '\0' || s[i] == '\r' || s[i] == '\n')
			return false;
		if (identity && (s[i] < 0x20 || s[i] == 0x7f))
			return false;
	}
	if (identity && !utf8_valid((const char *)s, n))
		return false;
	memcpy(out, s, n);
	out[n] = '\0';
	return true;
}

/*
 * sasl_plain_decode: see sasl.h. The message must hold exactly two NULs;
 * authzid may be empty; authzid and authcid at most LIMIT_ADDR_TOTAL
 * bytes of UTF-8 without controls, password 1..LIMIT_PASSWORD bytes
 * without NUL, CR or LF. On failure creds is wiped.
 */
int
sasl_plain_decode(const char *b64, size_t len,
    struct sasl_credentials *creds)
{
	unsigned char bin[SASL_DECODED_MAX];
	const unsigned char *nul1, *nul2, *end;
	size_t n;
	int rc = -1;

	sasl_credentials_wipe(creds);
	if (b64_decode(b64, len, bin, &n) != 0)
		goto out;
	end = bin + n;
	nul1 = memchr(bin, '\0', n);
	if (nul1 == NULL)
		goto out;
	nul2 = memchr(nul1 + 1, '\0', (size_t)(end - nul1 - 1));
	if (nul2 == NULL)
		goto out;
	/* A third NUL falls in the password, which copy_part refuses. */
	if (!copy_part(bin, (size_t)(nul1 - bin), creds->authzid,
	    sizeof(creds->authzid), true, true) ||
	    !copy_part(nul1 + 1, (size_t)(nul2 - nul1 - 1), creds->authcid,
	    sizeof(creds->authcid), false, true) ||
	    !copy_part(nul2 + 1, (size_t)(end - nul2 - 1), creds->password,
	    sizeof(creds->password), false, false))
		goto out;
	rc = 0;
out:
	sodium_memzero(bin, sizeof(bin));
	if (rc != 0)
		sasl_credentials_wipe(creds);
	return rc;
}

/*
 * sasl_base64_decode_text: see sasl.h. An empty line and "=" both decode
 * to "" (RFC 4954 4). Besides NUL, CR and LF inside are refused: a
 * LOGIN username or password never holds a line break, and the name
 * reaches the log. On failure out (when size > 0) is "" and wiped.
 */
int
sasl_base64_decode_text(const char *b64, size_t len, char *out,
    size_t size)
{
	unsigned char bin[SASL_DECODED_MAX];
	size_t n;
	int rc = -1;

	if (size == 0)
		return -1;
	sodium_memzero(out, size);
	if (len == 1 && b64[0] == '=')
		return 0;
	if (b64_decode(b64, len, bin, &n) != 0)
		goto out;
	if (!copy_part(bin, n, out, size, true, false))
		goto out;
	rc = 0;
out:
	sodium_memzero(bin, sizeof(bin));
	if (rc != 0)
		sodium_memzero(out, size);
	return rc;
}

/* sasl_base64_encode: see sasl.h. */
int
sasl_base64_encode(const char *text, size_t len, char *out, size_t size)
{
	if (size == 0)
		return -1;
	/*
	 * 4 * ceil(len / 3) + 1 <= size, written so nothing overflows:
	 * sodium_bin2base64() aborts the process when out is too small.
	 */
	if (len / 3 + (len % 3 != 0) > (size - 1) / 4) {
		out[0] = '\0';
		return -1;
	}
	sodium_bin2base64(out, size, (const unsigned char *)text, len,
	    sodium_base64_VARIANT_ORIGINAL);
	return 0;
}

/* sasl_credentials_wipe: see sasl.h. */
void
sasl_credentials_wipe(struct sasl_credentials *creds)
{
	sodium_memzero(creds, sizeof(*creds));
}

int
sasl_read_response(struct conn *conn, const char **line_r, size_t *len_r)
{
	bool crlf;
	int ret;

	conn_flush(conn);
	ret = conn_read_line(conn, LIMIT_SASL_LINE, line_r, len_r, &crlf);
	if (ret == CONN_TOO_LONG)
		return SASL_RESPONSE_TOO_LONG;
	if (ret != CONN_OK)
		return SASL_RESPONSE_GONE;
	/* RFC 4954 4, RFC 5034 4: "*" cancels the exchange. */
	if (*len_r == 1 && (*line_r)[0] == '*')
		return SASL_RESPONSE_CANCEL;
	return SASL_RESPONSE_OK;
}
