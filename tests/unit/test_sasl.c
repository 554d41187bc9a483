/*
 * test_sasl.c - SASL PLAIN and base64 decoding (common/sasl.c).
 *
 * Inputs sit in heap buffers of exactly their length (no NUL) so that
 * AddressSanitizer catches reads past the length; every prefix of every
 * input is decoded too. Bounds: LIMIT_SASL_LINE base64 characters,
 * LIMIT_ADDR_TOTAL identities, LIMIT_PASSWORD passwords, each tested on
 * both sides.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "common/sasl.h"

/* b64: base64 of the len bytes at bin, malloc'd, NUL-terminated. */
static char *
b64(const void *bin, size_t len)
{
	size_t size = sodium_base64_ENCODED_LEN(len,
	    sodium_base64_VARIANT_ORIGINAL);
	char *out = malloc(size);

	assert_non_null(out);
	sodium_bin2base64(out, size, bin, len, sodium_base64_VARIANT_ORIGINAL);
	return out;
}

/* plain_msg: authzid NUL authcid NUL password into buf; its length. */
static size_t
plain_msg(char *buf, const char *authzid, const char *authcid,
    const char *password)
{
	size_t n = 0;

	memcpy(buf + n, authzid, strlen(authzid));
	n += strlen(authzid);
	buf[n++] = '\0';
	memcpy(buf + n, authcid, strlen(authcid));
	n += strlen(authcid);
	buf[n++] = '\0';
	memcpy(buf + n, password, strlen(password));
	n += strlen(password);
	return n;
}

/* is_wiped: every byte of c is zero. */
static bool
is_wiped(const struct sasl_credentials *c)
{
	const unsigned char *p = (const unsigned char *)c;

	for (size_t i = 0; i < sizeof(*c); i++) {
		if (p[i] != 0)
			return false;
	}
	return true;
}

/* plain: sasl_plain_decode over an exact-size copy of text, and over
 * every prefix of it (sanitizers check those). */
static int
plain(const char *text, size_t len, struct sasl_credentials *c)
{
	char *p;
	int rc;

	for (size_t n = 0; n < len; n++) {
		struct sasl_credentials tmp;

		p = malloc(n > 0 ? n : 1);
		assert_non_null(p);
		memcpy(p, text, n);
		(void)sasl_plain_decode(p, n, &tmp);
		free(p);
	}
	p = malloc(len > 0 ? len : 1);
	assert_non_null(p);
	memcpy(p, text, len);
	memset(c, 0x5a, sizeof(*c));
	rc = sasl_plain_decode(p, len, c);
	free(p);
	if (rc != 0)
		assert_true(is_wiped(c));
	return rc;
}

static int text(const char *in, size_t len, char *out, size_t size);

/* plain_raw: encode the raw message, then plain(). */
static int
plain_raw(const char *msg, size_t len, struct sasl_credentials *c)
{
	char *enc = b64(msg, len);
	int rc = plain(enc, strlen(enc), c);

	free(enc);
	return rc;
}

static void
assert_plain(const char *authzid, const char *authcid,
    const char *password)
{
	char msg[4096];
	size_t n = plain_msg(msg, authzid, authcid, password);
	struct sasl_credentials c;

	if (plain_raw(msg, n, &c) != 0)
		fail_msg("PLAIN [%s] [%s] refused", authzid, authcid);
	assert_string_equal(c.authzid, authzid);
	assert_string_equal(c.authcid, authcid);
	assert_string_equal(c.password, password);
	sasl_credentials_wipe(&c);
	assert_true(is_wiped(&c));
}

static void
assert_plain_bad_raw(const char *msg, size_t len)
{
	struct sasl_credentials c;

	if (plain_raw(msg, len, &c) != -1)
		fail_msg("PLAIN message of %zu bytes accepted", len);
}

static void
assert_plain_bad(const char *authzid, const char *authcid,
    const char *password)
{
	char msg[4096];

	assert_plain_bad_raw(msg, plain_msg(msg, authzid, authcid, password));
}

static void
assert_plain_bad_b64(const char *text)
{
	struct sasl_credentials c;

	if (plain(text, strlen(text), &c) != -1)
		fail_msg("PLAIN \"%s\" accepted", text);
}

static void
test_plain_valid(void **state)
{
	struct sasl_credentials c;

	(void)state;
	assert_plain("", "alice@example.org", "secret");
	assert_plain("alice@example.org", "alice@example.org", "secret");
	assert_plain("admin", "alice", "p");
	assert_plain("", "a", "pass word with spaces");
	assert_plain("", "j\xc3\xb6rg@example.org", "p\xc3\xa4ss");
	/* Passwords are bytes: controls other than NUL/CR/LF, non-UTF-8. */
	assert_plain("", "alice", "tab\there\x01\x7f\xff\xfe");

	/* RFC 4616 example: "\0tim\0tanstaaftanstaaf". */
	assert_int_equal(plain("AHRpbQB0YW5zdGFhZnRhbnN0YWFm", 28, &c), 0);
	assert_string_equal(c.authzid, "");
	assert_string_equal(c.authcid, "tim");
	assert_string_equal(c.password, "tanstaaftanstaaf");
	/* "Ursel\0Kurt\0xipj3plmq" */
	assert_int_equal(plain("VXJzZWwAS3VydAB4aXBqM3BsbXE=", 28, &c), 0);
	assert_string_equal(c.authzid, "Ursel");
	assert_string_equal(c.authcid, "Kurt");
	assert_string_equal(c.password, "xipj3plmq");
	sasl_credentials_wipe(&c);
}

static void
test_plain_structure(void **state)
{
	(void)state;
	/* Exactly two NULs. */
	assert_plain_bad_raw("alice", 5);
	assert_plain_bad_raw("\0alice", 6);
	assert_plain_bad_raw("\0alice\0", 7);
	assert_plain_bad_raw("\0alice\0secret\0", 14);
	assert_plain_bad_raw("\0alice\0sec\0ret", 14);
	assert_plain_bad_raw("\0\0alice\0secret", 14);
	assert_plain_bad_raw("\0\0", 2);
	assert_plain_bad_raw("", 0);
	/* Empty authcid or password. */
	assert_plain_bad("", "", "secret");
	assert_plain_bad("", "alice", "");
	assert_plain_bad("x", "", "");
	/* Line breaks anywhere. */
	assert_plain_bad("", "alice", "sec\nret");
	assert_plain_bad("", "alice", "sec\rret");
	assert_plain_bad("", "alice", "secret\r\n");
	assert_plain_bad("", "ali\nce", "secret");
	assert_plain_bad("x\r", "alice", "secret");
	/* Identities reach the log: no controls, UTF-8 only. */
	assert_plain_bad("", "ali\tce", "secret");
	assert_plain_bad("", "ali\x1b[2Jce", "secret");
	assert_plain_bad("", "alice\x7f", "secret");
	assert_plain_bad("", "alice\xff", "secret");
	assert_plain_bad("", "alice\xc3", "secret");
	assert_plain_bad("\x01", "alice", "secret");
	assert_plain_bad("\xc0\xaf", "alice", "secret");
}

static void
test_plain_base64(void **state)
{
	(void)state;
	/* Strict base64: padding, alphabet, no whitespace, canonical. */
	assert_plain_bad_b64("");
	assert_plain_bad_b64("=");
	assert_plain_bad_b64("*");
	assert_plain_bad_b64("AHRpbQB0YW5zdGFhZnRhbnN0YWF");
	assert_plain_bad_b64("AHRpbQB0YW5zdGFhZnRhbnN0YWFm=");
	assert_plain_bad_b64("AHRpbQB0YW5zdGFhZnRhbnN0YWFm====");
	assert_plain_bad_b64("AHRpbQB0YW5z dGFhZnRhbnN0YWFm");
	assert_plain_bad_b64("AHRpbQB0YW5zdGFhZnRhbnN0YWFm\n");
	assert_plain_bad_b64("AHRpbQB0YW5zdGFhZnRhbnN0YWFm\r\n");
	assert_plain_bad_b64(" AHRpbQB0YW5zdGFhZnRhbnN0YWFm");
	assert_plain_bad_b64("AHRpbQB0YW5zdGFhZnRhbnN0YWFm ");
	assert_plain_bad_b64("AHRpbQB0YW5zdGFhZnRhbnN0YWFm.");
	/* URL-safe alphabet is another variant. */
	assert_plain_bad_b64("AHRpbQB0YW5zdGFh_nRhbnN0YWFm");
	/* Missing padding ("Ursel\0Kurt\0xipj3plmq" without '='). */
	assert_plain_bad_b64("VXJzZWwAS3VydAB4aXBqM3BsbXE");
	/* Non-zero trailing bits: "...bXF=" is not canonical. */
	assert_plain_bad_b64("VXJzZWwAS3VydAB4aXBqM3BsbXF=");
	/* Padding in the middle. */
	assert_plain_bad_b64("VXJzZWw=AS3VydAB4aXBqM3BsbXE=");
	/* Found by fuzz_sasl: libsodium 1.0.18 takes bytes >= 0x80 for
	 * base64 digits ("\xf0" read as '/'). */
	assert_plain_bad_b64("AHRpbQB0YW3zdGF\xf0ZnRhbnN0YWFm");
}

static void
test_base64_high_bytes(void **state)
{
	struct sasl_credentials c;
	char out[16];

	(void)state;
	for (int b = 0x80; b <= 0xff; b++) {
		/* "\0a\0b" is "AGEAYg==": each position in turn. */
		for (size_t pos = 0; pos < 6; pos++) {
			char in[] = "AGEAYg==";

			in[pos] = (char)b;
			assert_int_equal(plain(in, 8, &c), -1);
			assert_int_equal(text(in, 8, out, sizeof(out)), -1);
		}
		{
			char in[] = "QUJD";

			in[3] = (char)b;
			assert_int_equal(text(in, 4, out, sizeof(out)), -1);
		}
	}
	/* Every other byte outside the alphabet, too. */
	for (int b = 0; b < 0x80; b++) {
		char in[] = "QUJD";

		if ((b >= 'A' && b <= 'Z') || (b >= 'a' && b <= 'z') ||
		    (b >= '0' && b <= '9') || b == '+' || b == '/')
			continue;
		in[3] = (char)b;
		assert_int_equal(text(in, 4, out, sizeof(out)), -1);
	}
}

static void
test_plain_limits(void **state)
{
	char id[LIMIT_ADDR_TOTAL + 2], pw[LIMIT_PASSWORD + 2];
	char msg[4096];
	struct sasl_credentials c;
	char *enc;
	size_t n;

	(void)state;
	memset(id, 'i', sizeof(id));
	memset(pw, 'p', sizeof(pw));
	/* Identities: LIMIT_ADDR_TOTAL (254) bytes, not 255. */
	id[LIMIT_ADDR_TOTAL] = '\0';
	assert_plain("", id, "secret");
	assert_plain(id, "alice", "secret");
	id[LIMIT_ADDR_TOTAL] = 'i';
	id[LIMIT_ADDR_TOTAL + 1] = '\0';
	assert_plain_bad("", id, "secret");
	assert_plain_bad(id, "alice", "secret");
	/* Password: LIMIT_PASSWORD (1024) bytes, not 1025. */
	pw[LIMIT_PASSWORD] = '\0';
	assert_plain("", "alice", pw);
	pw[LIMIT_PASSWORD] = 'p';
	pw[LIMIT_PASSWORD + 1] = '\0';
	assert_plain_bad("", "alice", pw);

	/* Both identities and the password at their maximum still fit
	 * LIMIT_SASL_LINE: 254 + 1 + 254 + 1 + 1024 = 1534 bytes, 2048
	 * characters of base64. */
	id[LIMIT_ADDR_TOTAL] = '\0';
	pw[LIMIT_PASSWORD] = '\0';
	n = plain_msg(msg, id, id, pw);
	enc = b64(msg, n);
	assert_int_equal(strlen(enc), LIMIT_SASL_LINE);
	assert_int_equal(plain(enc, strlen(enc), &c), 0);
	assert_int_equal(strlen(c.password), LIMIT_PASSWORD);
	free(enc);
	/* Three more bytes: 2052 characters, refused (test_text checks
	 * the line bound on its own). */
	memset(msg + n, 'p', 3);
	enc = b64(msg, n + 3);
	assert_int_equal(strlen(enc), LIMIT_SASL_LINE + 4);
	assert_int_equal(plain(enc, strlen(enc), &c), -1);
	free(enc);
	sasl_credentials_wipe(&c);
}

/* ---- text (LOGIN) ---- */

static int
text(const char *in, size_t len, char *out, size_t size)
{
	char *p;
	int rc;

	for (size_t n = 0; n < len; n++) {
		char tmp[64];

		p = malloc(n > 0 ? n : 1);
		assert_non_null(p);
		memcpy(p, in, n);
		(void)sasl_base64_decode_text(p, n, tmp, sizeof(tmp));
		free(p);
	}
	p = malloc(len > 0 ? len : 1);
	assert_non_null(p);
	memcpy(p, in, len);
	memset(out, 0x5a, size);
	rc = sasl_base64_decode_text(p, len, out, size);
	free(p);
	if (rc != 0 && size > 0) {
		for (size_t i = 0; i < size; i++)
			assert_int_equal(out[i], 0);
	}
	return rc;
}

static void
assert_text(const char *in, const char *want)
{
	char out[256];

	if (text(in, strlen(in), out, sizeof(out)) != 0)
		fail_msg("decode_text(\"%s\") failed", in);
	assert_string_equal(out, want);
}

static void
assert_text_bad(const char *in, size_t len)
{
	char out[256];

	if (text(in, len, out, sizeof(out)) != -1)
		fail_msg("decode_text(\"%.*s\") accepted", (int)len, in);
}

static void
test_text(void **state)
{
	char out[16];
	char line[LIMIT_SASL_LINE + 8];
	char big[LIMIT_SASL_LINE];

	(void)state;
	assert_text("dXNlcm5hbWU=", "username");
	assert_text("VXNlcm5hbWU6", "Username:");
	assert_text("YWxpY2VAZXhhbXBsZS5vcmc=", "alice@example.org");
	assert_text("QQ==", "A");
	assert_text("QUI=", "AB");
	/* RFC 4954 4: "=" and the empty line are the empty response. */
	assert_text("=", "");
	assert_text("", "");

	assert_text_bad("==", 2);
	assert_text_bad("QQ", 2);
	assert_text_bad("QQ=", 3);
	assert_text_bad("QR==", 4);
	assert_text_bad("QQ== ", 5);
	assert_text_bad("Q Q==", 5);
	assert_text_bad("QQ==\r", 5);
	assert_text_bad("*", 1);
	assert_text_bad("=QQ=", 4);
	/* NUL, CR, LF decoded: "a\0b", "a\rb", "a\nb". */
	assert_text_bad("YQBi", 4);
	assert_text_bad("YQ1i", 4);
	assert_text_bad("YQpi", 4);
	assert_text_bad("AA==", 4);

	/* Output bound: "username" needs 9 bytes. */
	assert_int_equal(text("dXNlcm5hbWU=", 12, out, 8), -1);
	assert_int_equal(text("dXNlcm5hbWU=", 12, out, 9), 0);
	assert_string_equal(out, "username");
	assert_int_equal(text("=", 1, out, 1), 0);
	assert_string_equal(out, "");
	assert_int_equal(text("QQ==", 4, out, 1), -1);
	assert_int_equal(text("QQ==", 4, out, 0), -1);

	/* Input bound: LIMIT_SASL_LINE characters, not more. */
	memset(big, 'x', sizeof(big));
	{
		char *enc = b64(big, LIMIT_SASL_LINE / 4 * 3);
		char *dec = malloc(LIMIT_SASL_LINE);

		assert_non_null(dec);
		assert_int_equal(strlen(enc), LIMIT_SASL_LINE);
		assert_int_equal(text(enc, strlen(enc), dec,
		    LIMIT_SASL_LINE), 0);
		assert_int_equal(strlen(dec), LIMIT_SASL_LINE / 4 * 3);
		free(enc);
		enc = b64(big, LIMIT_SASL_LINE / 4 * 3 + 1);
		assert_int_equal(strlen(enc), LIMIT_SASL_LINE + 4);
		assert_int_equal(text(enc, strlen(enc), dec,
		    LIMIT_SASL_LINE), -1);
		free(enc);
		free(dec);
	}
	memset(line, 'A', sizeof(line));
	assert_int_equal(text(line, LIMIT_SASL_LINE + 4, big, sizeof(big)),
	    -1);
}

/* ---- encode ---- */

static void
test_encode(void **state)
{
	char out[64];

	(void)state;
	assert_int_equal(sasl_base64_encode("Username:", 9, out, sizeof(out)),
	    0);
	assert_string_equal(out, "VXNlcm5hbWU6");
	assert_int_equal(sasl_base64_encode("Password:", 9, out, sizeof(out)),
	    0);
	assert_string_equal(out, "UGFzc3dvcmQ6");
	assert_int_equal(sasl_base64_encode("", 0, out, sizeof(out)), 0);
	assert_string_equal(out, "");
	assert_int_equal(sasl_base64_encode("", 0, out, 1), 0);
	assert_string_equal(out, "");
	assert_int_equal(sasl_base64_encode("", 0, out, 0), -1);
	assert_int_equal(sasl_base64_encode("a\0b", 3, out, sizeof(out)), 0);
	assert_string_equal(out, "YQBi");
	/* Exact sizes: 4 * ceil(len / 3) + 1. */
	assert_int_equal(sasl_base64_encode("A", 1, out, 5), 0);
	assert_string_equal(out, "QQ==");
	assert_int_equal(sasl_base64_encode("A", 1, out, 4), -1);
	assert_int_equal(sasl_base64_encode("ABC", 3, out, 5), 0);
	assert_string_equal(out, "QUJD");
	assert_int_equal(sasl_base64_encode("ABCD", 4, out, 8), -1);
	assert_int_equal(sasl_base64_encode("ABCD", 4, out, 9), 0);
	assert_string_equal(out, "QUJDRA==");
	/* A length that would overflow size arithmetic. */
	assert_int_equal(sasl_base64_encode("A", SIZE_MAX, out, sizeof(out)),
	    -1);
	assert_int_equal(sasl_base64_encode("A", SIZE_MAX / 4 * 3, out,
	    sizeof(out)), -1);
}

static void
test_round_trip(void **state)
{
	unsigned char bin[300];
	char enc[512], dec[512];

	(void)state;
	for (size_t len = 0; len < sizeof(bin); len++) {
		for (size_t i = 0; i < len; i++)
			bin[i] = (unsigned char)(1 + (i * 7 + len) % 255);
		for (size_t i = 0; i < len; i++) {
			if (bin[i] == '\r' || bin[i] == '\n')
				bin[i] = 'x';
		}
		assert_int_equal(sasl_base64_encode((const char *)bin, len,
		    enc, sizeof(enc)), 0);
		assert_int_equal(sasl_base64_decode_text(enc, strlen(enc),
		    dec, sizeof(dec)), 0);
		assert_int_equal(strlen(dec), len);
		assert_memory_equal(dec, bin, len);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_plain_valid),
		cmocka_unit_test(test_plain_structure),
		cmocka_unit_test(test_plain_base64),
		cmocka_unit_test(test_plain_limits),
		cmocka_unit_test(test_base64_high_bytes),
		cmocka_unit_test(test_text),
		cmocka_unit_test(test_encode),
		cmocka_unit_test(test_round_trip),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
