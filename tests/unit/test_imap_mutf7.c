/*
 * test_imap_mutf7.c - IMAP mailbox names, modified UTF-7 <-> UTF-8
 * (imapd/imap_mutf7.c).
 *
 * Every input is copied into a heap buffer of exactly its length, with no
 * terminating NUL, and every output goes to a heap buffer of exactly the
 * size asked for, so AddressSanitizer (or valgrind) catches a read past
 * the input or a write past the output. Every prefix of every input goes
 * through both functions too (the converter form of "fed one byte at a
 * time") and must keep the invariants: a name that converts converts
 * back to exactly itself, within the documented output bounds. Each
 * output size sits on both sides of its bound: exact, one byte short.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "imapd/imap_mutf7.h"

/* exact: a malloc'd copy of s without its NUL. */
static char *
exact(const char *s, size_t len)
{
	char *p = malloc(len > 0 ? len : 1);

	assert_non_null(p);
	memcpy(p, s, len);
	return p;
}

/* utf8: cp as UTF-8 at p (no checks: tests build valid text only). */
static size_t
utf8(char *p, uint32_t cp)
{
	if (cp < 0x80) {
		p[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		p[0] = (char)(0xc0 | (cp >> 6));
		p[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		p[0] = (char)(0xe0 | (cp >> 12));
		p[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		p[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	p[0] = (char)(0xf0 | (cp >> 18));
	p[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
	p[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
	p[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

/*
 * shifted: "&<modified base64 of the UTF-16 units>-" into buf, NUL-
 * terminated, zero padding bits: a second spelling of the encoder's
 * base64 (straight from RFC 3501 5.1.3), for runs the encoder would
 * never write.
 */
static char *
shifted(char *buf, const uint16_t *units, size_t n)
{
	static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "abcdefghijklmnopqrstuvwxyz0123456789+,";
	size_t bytes = 2 * n, len = 0;

	buf[len++] = '&';
	for (size_t i = 0; i < bytes; i += 3) {
		uint32_t v = 0;
		size_t take = bytes - i < 3 ? bytes - i : 3;

		for (size_t k = 0; k < 3; k++) {
			size_t b = i + k;
			uint32_t byte = 0;

			if (k < take)
				byte = b % 2 == 0 ? units[b / 2] >> 8 :
				    units[b / 2] & 0xff;
			v = (v << 8) | byte;
		}
		for (size_t k = 0; k < take + 1; k++)
			buf[len++] = b64[(v >> (18 - 6 * k)) & 0x3f];
	}
	buf[len++] = '-';
	buf[len] = '\0';
	return buf;
}

/*
 * check_prefixes: every prefix of s, the whole included, in an exact-
 * size buffer, through both functions. Results are not compared (most
 * prefixes are refused or mean something else); what converts must
 * convert back to exactly the prefix, within the output bounds of
 * imap_mutf7.h.
 */
static void
check_prefixes(const char *s, size_t len)
{
	for (size_t n = 0; n <= len; n++) {
		char *p = exact(s, n);
		size_t cap = 3 * n + 8;
		char *a = malloc(cap), *b = malloc(cap);
		int rc, back;

		assert_non_null(a);
		assert_non_null(b);
		rc = imap_mutf7_to_utf8(p, n, a, cap);
		if (rc >= 0) {
			assert_true((size_t)rc <= n);
			assert_int_equal(strlen(a), rc);
			back = imap_utf8_to_mutf7(a, (size_t)rc, b, cap);
			assert_int_equal(back, n);
			assert_memory_equal(b, p, n);
		} else {
			assert_int_equal(rc, -1);
			assert_string_equal(a, "");
		}
		rc = imap_utf8_to_mutf7(p, n, a, cap);
		if (rc >= 0) {
			assert_true((size_t)rc <= 5 * n / 2);
			assert_int_equal(strlen(a), rc);
			back = imap_mutf7_to_utf8(a, (size_t)rc, b, cap);
			assert_int_equal(back, n);
			assert_memory_equal(b, p, n);
		} else {
			assert_int_equal(rc, -1);
			assert_string_equal(a, "");
		}
		free(a);
		free(b);
		free(p);
	}
}

typedef int (*convert_fn)(const char *, size_t, char *, size_t);

/*
 * assert_convert: f turns in (inlen bytes) into want (wantlen bytes)
 * with an output buffer of exactly wantlen + 1 bytes; one byte less
 * is refused and leaves "". f's name is for the failure message.
 */
static void
assert_convert(convert_fn f, const char *name, const char *in,
    size_t inlen, const char *want, size_t wantlen)
{
	char *p = exact(in, inlen);
	char *out = malloc(wantlen + 1);
	int rc;

	assert_non_null(out);
	memset(out, 'x', wantlen + 1);
	rc = f(p, inlen, out, wantlen + 1);
	if (rc < 0 || (size_t)rc != wantlen ||
	    memcmp(out, want, wantlen) != 0)
		fail_msg("%s(\"%.*s\") = %d \"%s\", want \"%.*s\"", name,
		    (int)inlen, in, rc, rc >= 0 ? out : "", (int)wantlen,
		    want);
	assert_int_equal(out[wantlen], '\0');
	free(out);

	/* One byte short: the NUL has no room. */
	out = malloc(wantlen > 0 ? wantlen : 1);
	assert_non_null(out);
	memset(out, 'x', wantlen > 0 ? wantlen : 1);
	rc = f(p, inlen, wantlen > 0 ? out : NULL, wantlen);
	assert_int_equal(rc, -1);
	if (wantlen > 0)
		assert_int_equal(out[0], '\0');
	free(out);
	free(p);
}

/*
 * assert_pair: the UTF-8 name and the wire name are each other's
 * conversion, both ways, with exact and one-short buffers; and every
 * prefix of each keeps the invariants.
 */
static void
assert_pair_len(const char *u, size_t ulen, const char *m, size_t mlen)
{
	assert_convert(imap_mutf7_to_utf8, "imap_mutf7_to_utf8", m, mlen, u,
	    ulen);
	assert_convert(imap_utf8_to_mutf7, "imap_utf8_to_mutf7", u, ulen, m,
	    mlen);
	check_prefixes(u, ulen);
	check_prefixes(m, mlen);
}

static void
assert_pair(const char *u, const char *m)
{
	assert_pair_len(u, strlen(u), m, strlen(m));
}

/* assert_refused: f refuses in (len bytes); out, big enough for any
 * result, holds "" after. */
static void
assert_refused(convert_fn f, const char *name, const char *in, size_t len)
{
	char *p = exact(in, len);
	size_t cap = 3 * len + 8;
	char *out = malloc(cap);
	int rc;

	assert_non_null(out);
	memset(out, 'x', cap);
	rc = f(p, len, out, cap);
	if (rc != -1)
		fail_msg("%s(\"%.*s\") = %d \"%s\", want -1", name, (int)len,
		    in, rc, rc >= 0 ? out : "");
	assert_string_equal(out, "");
	free(out);
	free(p);
	check_prefixes(in, len);
}

static void
assert_decode_bad_len(const char *in, size_t len)
{
	assert_refused(imap_mutf7_to_utf8, "imap_mutf7_to_utf8", in, len);
}

static void
assert_decode_bad(const char *in)
{
	assert_decode_bad_len(in, strlen(in));
}

static void
assert_encode_bad_len(const char *in, size_t len)
{
	assert_refused(imap_utf8_to_mutf7, "imap_utf8_to_mutf7", in, len);
}

static void
assert_encode_bad(const char *in)
{
	assert_encode_bad_len(in, strlen(in));
}

/* ---- what converts ---- */

static void
test_rfc3501_example(void **state)
{
	(void)state;
	/* RFC 3501 5.1.3's own example. */
	assert_pair("~peter/mail/\xe5\x8f\xb0\xe5\x8c\x97/"
	    "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e",
	    "~peter/mail/&U,BTFw-/&ZeVnLIqe-");
}

static void
test_ascii_direct(void **state)
{
	char all[0x7f];
	size_t n = 0;

	(void)state;
	assert_pair("", "");
	assert_pair("INBOX", "INBOX");
	assert_pair("Sent Items", "Sent Items");
	assert_pair("a-b", "a-b");
	assert_pair("-", "-");
	/* Every printable US-ASCII character but '&' stands for itself. */
	for (int c = 0x20; c <= 0x7e; c++) {
		if (c != '&')
			all[n++] = (char)c;
	}
	assert_pair_len(all, n, all, n);
}

static void
test_ampersand(void **state)
{
	(void)state;
	/* RFC 3501 5.1.3: "&" is represented by "&-". */
	assert_pair("&", "&-");
	assert_pair("&&", "&-&-");
	assert_pair("AT&T", "AT&-T");
	assert_pair("&-", "&--");
	assert_pair("-&", "-&-");
	/* Next to a shifted run, "&-" is no second run. */
	assert_pair("\xc3\xa4&\xc3\xb6", "&AOQ-&-&APY-");
	assert_pair("&\xc3\xa4", "&-&AOQ-");
	assert_pair("\xc3\xa4&", "&AOQ-&-");
}

static void
test_bmp(void **state)
{
	(void)state;
	assert_pair("\xc3\xa4", "&AOQ-");			/* U+00E4 */
	assert_pair("\xc3\xa4\xc3\xb6", "&AOQA9g-");		/* 2 units */
	assert_pair("\xc3\xa4\xc3\xb6\xc3\xbc", "&AOQA9gD8-");	/* 3 units */
	assert_pair("Entw\xc3\xbcrfe", "Entw&APw-rfe");
	assert_pair("\xc3\xa4-", "&AOQ--");
	assert_pair("\xc3\xa4 \xc3\xb6", "&AOQ- &APY-");
	/* Boundaries of the UTF-8 lengths and of the surrogate range. */
	assert_pair("\xc2\x80", "&AIA-");			/* U+0080 */
	assert_pair("\xdf\xbf", "&B,8-");			/* U+07FF */
	assert_pair("\xe0\xa0\x80", "&CAA-");			/* U+0800 */
	assert_pair("\xed\x9f\xbf", "&1,8-");			/* U+D7FF */
	assert_pair("\xee\x80\x80", "&4AA-");			/* U+E000 */
	assert_pair("\xef\xbf\xbf", "&,,8-");			/* U+FFFF */
}

static void
test_astral(void **state)
{
	(void)state;
	/* RFC 2781 2.1: a surrogate pair in one run. */
	assert_pair("\xf0\x9f\x98\x80", "&2D3eAA-");		/* U+1F600 */
	assert_pair("\xf0\x90\x80\x80", "&2ADcAA-");		/* U+10000 */
	assert_pair("\xf4\x8f\xbf\xbf", "&2,,f,w-");		/* U+10FFFF */
	assert_pair("a\xf0\x9f\x98\x80" "b", "a&2D3eAA-b");
	assert_pair("\xf0\x9f\x98\x80\xc3\xa4", "&2D3eAADk-");
	assert_pair("\xc3\xa4\xf0\x9f\x98\x80", "&AOTYPd4A-");
	assert_pair("\xf0\x9f\x98\x80\xf0\x9f\x98\x80", "&2D3eANg93gA-");
}

/* ---- what the decoder refuses ---- */

static void
test_decode_not_printable(void **state)
{
	static const char *const names[] = {
		"", "a", "&-", "&AOQ-", "a&AOQ-b", "&U,BTFw-/&ZeVnLIqe-",
	};

	(void)state;
	/* RFC 3501 5.1.3: printable US-ASCII only, wherever it goes:
	 * before, in and after a shifted run. */
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		size_t len = strlen(names[i]);
		char in[64];

		for (size_t pos = 0; pos <= len; pos++) {
			for (int c = 0; c <= 0xff; c++) {
				if (c >= 0x20 && c <= 0x7e)
					continue;
				memcpy(in, names[i], pos);
				in[pos] = (char)c;
				memcpy(in + pos + 1, names[i] + pos,
				    len - pos);
				assert_decode_bad_len(in, len + 1);
			}
		}
	}
	/* UTF-8 is not what the wire carries, even when valid. */
	assert_decode_bad("\xc3\xa4");
	assert_decode_bad("Entw\xc3\xbcrfe");
}

static void
test_decode_unterminated(void **state)
{
	(void)state;
	/* RFC 3501 5.1.3: a shifted run ends with "-". */
	assert_decode_bad("&AOQ");
	assert_decode_bad("a&AOQ");
	assert_decode_bad("&U,BTFw");
	assert_decode_bad("&2D3eAA");
	assert_decode_bad("&AOQ b");
	assert_decode_bad("&AOQ.-");
	assert_decode_bad("&AOQ&-");
	assert_decode_bad("~peter/mail/&U,BTFw/&ZeVnLIqe-");
	assert_decode_bad("&AOQ-&APY");
}

static void
test_decode_base64_alphabet(void **state)
{
	(void)state;
	/* RFC 3501 5.1.3: ',' in place of '/'... */
	assert_decode_bad("&U/BTFw-");
	assert_decode_bad("&,,8-x&/,8-");
	/* ...and no '=' padding. */
	assert_decode_bad("&AOQ=-");
	assert_decode_bad("&AOQ==-");
	assert_decode_bad("&AOQA9g=-");
	assert_pair("\xc3\xa4=", "&AOQ-=");	/* '=' outside: direct */
	/* Not base64 at all. */
	assert_decode_bad("&AO.Q-");
	assert_decode_bad("&AO_Q-");
	assert_decode_bad("&AO Q-");
	assert_decode_bad("&AO~Q-");
	/* '+' and ',' are the last two digits of the alphabet. */
	assert_pair("\xef\xbe\xbe", "&,74-");			/* U+FFBE */
	assert_pair("\xef\xaf\xaf", "&++8-");			/* U+FBEF */
	assert_pair("\xef\xaf\xaf\xef\xbe\xbe", "&++,,vg-");
}

static void
test_decode_empty_run(void **state)
{
	(void)state;
	/* "&-" is "&"; any other empty run is refused. */
	assert_decode_bad("&");
	assert_decode_bad("a&");
	assert_decode_bad("&&");
	assert_decode_bad("&&-");
	assert_decode_bad("& -");
	assert_decode_bad("&/-");
	assert_decode_bad("&=-");
	assert_decode_bad("&.-");
	assert_decode_bad("&-&");
	assert_decode_bad("&AOQ-&");
}

static void
test_decode_direct_in_run(void **state)
{
	char buf[32];

	(void)state;
	/* RFC 3501 5.1.3: printable US-ASCII "MUST NOT" be shifted. */
	assert_decode_bad("&AGE-");			/* "a" */
	assert_decode_bad("&ACY-");			/* "&" */
	assert_decode_bad("&AC0-");			/* "-" */
	assert_decode_bad("&ACA-");			/* " " */
	assert_decode_bad("&AH4-");			/* "~" */
	assert_decode_bad("&AOQAYQ-");			/* "ä" "a" */
	assert_decode_bad("&AGEA5A-");			/* "a" "ä" */
	assert_decode_bad("&AGEAYgBj-");			/* "abc" */
	for (uint16_t c = 0x20; c <= 0x7e; c++) {
		uint16_t u[3] = { c, 0x00e4, c };

		assert_decode_bad(shifted(buf, u, 1));
		assert_decode_bad(shifted(buf, u, 2));
		assert_decode_bad(shifted(buf, u + 1, 2));
	}
}

static void
test_decode_surrogates(void **state)
{
	char buf[32];

	(void)state;
	/* RFC 2781 2.2: surrogates come in pairs, high then low. */
	assert_decode_bad("&2D0-");			/* high alone */
	assert_decode_bad("&3gA-");			/* low alone */
	assert_decode_bad("&2D0A5A-");			/* high, U+00E4 */
	assert_decode_bad("&AOTeAA-");			/* U+00E4, low */
	assert_decode_bad("&2D3YPQ-");			/* high, high */
	assert_decode_bad("&3gDYPQ-");			/* low, high */
	assert_decode_bad("&2D3eANg9-");			/* pair, high */
	/* A pair is not split across runs. */
	assert_decode_bad("&2D0-x&3gA-");
	assert_decode_bad("&2D0-&-&3gA-");
	assert_decode_bad("&2D0--&3gA-");
	/* Every edge of both ranges. */
	for (uint32_t s = 0xd800; s <= 0xdfff; s += 0x3ff) {
		uint16_t u[2] = { (uint16_t)s, 0x00e4 };

		assert_decode_bad(shifted(buf, u, 1));
		assert_decode_bad(shifted(buf, u, 2));
		u[0] = (uint16_t)(s | 0x3ff);
		assert_decode_bad(shifted(buf, u, 1));
	}
	{
		uint16_t ok[2] = { 0xdbff, 0xdfff }, ok2[2] = { 0xd800,
		    0xdc00 };

		assert_pair("\xf4\x8f\xbf\xbf", shifted(buf, ok, 2));
		assert_pair("\xf0\x90\x80\x80", shifted(buf, ok2, 2));
	}
}

static void
test_decode_leftover_bits(void **state)
{
	(void)state;
	/* RFC 3501 5.1.3 by way of RFC 2152: padding bits are zero... */
	assert_decode_bad("&AOR-");			/* 2 bits, 01 */
	assert_decode_bad("&AOT-");			/* 2 bits, 11 */
	assert_decode_bad("&AOQA9h-");			/* 4 bits, 0001 */
	assert_decode_bad("&AOQA9v-");			/* 4 bits, 1111 */
	assert_decode_bad("&2D3eAB-");			/* pair, 4 bits */
	/* ...and fewer than 6: a base64 character that holds none. */
	assert_decode_bad("&A-");			/* 6 bits */
	assert_decode_bad("&AA-");			/* 12 bits */
	assert_decode_bad("&AOQA-");			/* 16 + 8 */
	assert_decode_bad("&AOQA9gA-");			/* 32 + 10 */
	assert_decode_bad("&AOQA9gD8A-");			/* 48 + 6 */
	assert_decode_bad("&AOQA9gD8AA-");			/* 48 + 12 */
	assert_decode_bad("&AOQAAAAA-");
	/* The same units with their proper padding. */
	assert_pair("\xc3\xa4", "&AOQ-");
	assert_pair("\xc3\xa4\xc3\xb6", "&AOQA9g-");
	assert_pair("\xc3\xa4\xc3\xb6\xc3\xbc", "&AOQA9gD8-");
}

static void
test_decode_back_to_back(void **state)
{
	(void)state;
	/* Two runs back to back are one run spelled as two. */
	assert_decode_bad("&AOQ-&AOQ-");
	assert_decode_bad("&AOQ-&APY-");
	assert_decode_bad("&2D3eAA-&2D3eAA-");
	assert_decode_bad("a&AOQ-&APY-b");
	assert_decode_bad("&AOQ-&APY-&APw-");
	/* What separates them makes them two. */
	assert_pair("\xc3\xa4\xc3\xa4", "&AOQA5A-");
	assert_pair("\xc3\xa4-\xc3\xb6", "&AOQ--&APY-");
	assert_pair("\xc3\xa4" "a\xc3\xb6", "&AOQ-a&APY-");
	assert_pair("\xc3\xa4&\xc3\xb6", "&AOQ-&-&APY-");
}

/* ---- both directions ---- */

static void
test_controls(void **state)
{
	static const char *const names[] = { "", "a", "\xc3\xa4",
	    "a\xc3\xa4-", "\xf0\x9f\x98\x80" };
	char buf[64];

	(void)state;
	/* imap_mutf7.h: U+0000-U+001F and U+007F are refused both ways,
	 * direct or shifted, alone or in a run. */
	for (int k = 0; k <= 0x20; k++) {
		uint16_t c = k == 0x20 ? 0x7f : (uint16_t)k;
		uint16_t u[3] = { c, 0x00e4, c };

		buf[0] = (char)c;
		assert_decode_bad_len(buf, 1);
		assert_decode_bad(shifted(buf, u, 1));
		assert_decode_bad(shifted(buf, u, 2));
		assert_decode_bad(shifted(buf, u + 1, 2));
		for (size_t i = 0; i < sizeof(names) / sizeof(names[0]);
		    i++) {
			size_t len = strlen(names[i]);

			for (size_t pos = 0; pos <= len; pos++) {
				memcpy(buf, names[i], pos);
				buf[pos] = (char)c;
				memcpy(buf + pos + 1, names[i] + pos,
				    len - pos);
				assert_encode_bad_len(buf, len + 1);
			}
		}
	}
	assert_encode_bad_len("INBOX\0evil", 10);
	assert_encode_bad("INBOX\r\nA1 LOGOUT");
	assert_decode_bad_len("INBOX\0evil", 10);
	/* C1 controls are ordinary non-ASCII characters. */
	assert_pair("\xc2\x80", "&AIA-");
	assert_pair("\xc2\x9f", "&AJ8-");
}

static void
test_encode_invalid_utf8(void **state)
{
	(void)state;
	/* RFC 3629 3-4: stray continuation bytes, bad lead bytes. */
	assert_encode_bad("\x80");
	assert_encode_bad("a\xbf");
	assert_encode_bad("\xc3\xa4\xa4");
	assert_encode_bad("\x82\x80");
	assert_encode_bad("\xa4\xa4\xa4");
	assert_encode_bad("\xbf\xbf\xbf\xbf");
	assert_encode_bad("\xfe");
	assert_encode_bad("\xff");
	assert_encode_bad("\xf8\x88\x80\x80\x80");
	/* Sequences cut short, at the end and before another byte. */
	assert_encode_bad("\xc3");
	assert_encode_bad("\xe6\x97");
	assert_encode_bad("\xf0\x9f\x98");
	assert_encode_bad("\xc3" "a");
	assert_encode_bad("\xe6\x97" "a");
	assert_encode_bad("\xf0\x9f\x98" "a");
	/* Overlong forms, including of "/" and NUL. */
	assert_encode_bad("\xc0\xaf");
	assert_encode_bad("\xc0\x80");
	assert_encode_bad("\xc1\xbf");
	assert_encode_bad("\xe0\x80\xaf");
	assert_encode_bad("\xe0\x9f\xbf");
	assert_encode_bad("\xf0\x80\x80\xaf");
	assert_encode_bad("\xf0\x8f\xbf\xbf");
	/* UTF-16 surrogates, alone and as CESU-8 pairs. */
	assert_encode_bad("\xed\xa0\x80");
	assert_encode_bad("\xed\xbf\xbf");
	assert_encode_bad("\xed\xa0\xbd\xed\xb8\x80");
	/* Past U+10FFFF. */
	assert_encode_bad("\xf4\x90\x80\x80");
	assert_encode_bad("\xf5\x80\x80\x80");
	assert_encode_bad("\xf7\xbf\xbf\xbf");
	/* The valid neighbours of each. */
	assert_pair("\xc2\x80", "&AIA-");
	assert_pair("\xe0\xa0\x80", "&CAA-");
	assert_pair("\xf0\x90\x80\x80", "&2ADcAA-");
	assert_pair("\xed\x9f\xbf", "&1,8-");
	assert_pair("\xee\x80\x80", "&4AA-");
	assert_pair("\xf4\x8f\xbf\xbf", "&2,,f,w-");
}

static void
test_length_not_nul(void **state)
{
	char out[16];

	(void)state;
	/* Only len bytes are read; a NUL is a byte, not an end. */
	assert_int_equal(imap_mutf7_to_utf8("&AOQ-xyz", 5, out, sizeof(out)),
	    2);
	assert_string_equal(out, "\xc3\xa4");
	assert_int_equal(imap_mutf7_to_utf8("&AOQ-", 4, out, sizeof(out)),
	    -1);
	assert_int_equal(imap_utf8_to_mutf7("\xc3\xa4" "b", 2, out,
	    sizeof(out)), 5);
	assert_string_equal(out, "&AOQ-");
	assert_int_equal(imap_utf8_to_mutf7("\xc3\xa4", 1, out,
	    sizeof(out)), -1);
	assert_int_equal(imap_mutf7_to_utf8("", 0, out, sizeof(out)), 0);
	assert_string_equal(out, "");
	assert_int_equal(imap_utf8_to_mutf7("", 0, out, sizeof(out)), 0);
	assert_string_equal(out, "");
}

static void
test_out_size(void **state)
{
	static const struct {
		const char *u, *m;
	} pairs[] = {
		{ "", "" },
		{ "a", "a" },
		{ "&", "&-" },
		{ "\xc3\xa4", "&AOQ-" },
		{ "\xf0\x9f\x98\x80", "&2D3eAA-" },
		{ "a\xc3\xa4&\xf0\x9f\x98\x80z", "a&AOQ-&-&2D3eAA-z" },
		{ "~peter/mail/\xe5\x8f\xb0\xe5\x8c\x97/"
		    "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e",
		    "~peter/mail/&U,BTFw-/&ZeVnLIqe-" },
	};
	char out[64];

	(void)state;
	/* Every size from 0 to one past the need: only size > length
	 * succeeds, and a refusal leaves "". */
	for (size_t i = 0; i < sizeof(pairs) / sizeof(pairs[0]); i++) {
		size_t ul = strlen(pairs[i].u), ml = strlen(pairs[i].m);

		for (size_t size = 0; size <= ul + 2; size++) {
			char *o = size > 0 ? malloc(size) : NULL;
			int rc;

			if (size > 0) {
				assert_non_null(o);
				memset(o, 'x', size);
			}
			rc = imap_mutf7_to_utf8(pairs[i].m, ml, o, size);
			if (size > ul) {
				assert_int_equal(rc, ul);
				assert_string_equal(o, pairs[i].u);
			} else {
				assert_int_equal(rc, -1);
				if (size > 0)
					assert_string_equal(o, "");
			}
			free(o);
		}
		for (size_t size = 0; size <= ml + 2; size++) {
			char *o = size > 0 ? malloc(size) : NULL;
			int rc;

			if (size > 0) {
				assert_non_null(o);
				memset(o, 'x', size);
			}
			rc = imap_utf8_to_mutf7(pairs[i].u, ul, o, size);
			if (size > ml) {
				assert_int_equal(rc, ml);
				assert_string_equal(o, pairs[i].m);
			} else {
				assert_int_equal(rc, -1);
				if (size > 0)
					assert_string_equal(o, "");
			}
			free(o);
		}
	}
	/* A refusal clears what it had written, not only the first byte. */
	memset(out, 'x', sizeof(out));
	assert_int_equal(imap_mutf7_to_utf8("abc&AOQ-&AGE-", 13, out,
	    sizeof(out)), -1);
	for (size_t i = 0; i < 6; i++)
		assert_int_equal(out[i], '\0');
	memset(out, 'x', sizeof(out));
	assert_int_equal(imap_utf8_to_mutf7("abc\xc3\xa4\x01", 6, out,
	    sizeof(out)), -1);
	for (size_t i = 0; i < 7; i++)
		assert_int_equal(out[i], '\0');
}

/*
 * round_trip: the n code points at cps, as one UTF-8 name, encode and
 * decode back to the same bytes, each in an exact-size buffer.
 */
static void
round_trip(const uint32_t *cps, size_t n)
{
	size_t ulen = 0, cap = 4 * n + 1;
	char *u = malloc(cap), *m, *back;
	int mlen, blen;

	assert_non_null(u);
	for (size_t i = 0; i < n; i++)
		ulen += utf8(u + ulen, cps[i]);
	m = malloc(3 * ulen + 8);
	assert_non_null(m);
	mlen = imap_utf8_to_mutf7(u, ulen, m, 3 * ulen + 8);
	assert_true(mlen >= 0);
	assert_true((size_t)mlen <= 5 * ulen / 2);
	back = malloc(ulen + 1);
	assert_non_null(back);
	blen = imap_mutf7_to_utf8(m, (size_t)mlen, back, ulen + 1);
	assert_int_equal(blen, ulen);
	assert_memory_equal(back, u, ulen);
	free(back);
	free(m);
	free(u);
}

static void
test_round_trip_bmp(void **state)
{
	uint32_t *all = malloc(0x10000 * sizeof(*all)), cp[3];
	size_t n = 0;

	(void)state;
	assert_non_null(all);
	/* Every BMP character a name may hold, alone, between ASCII, and
	 * all in one name (every bit alignment of a long run). */
	for (uint32_t c = 0x20; c <= 0xffff; c++) {
		if (c == 0x7f || (c >= 0xd800 && c <= 0xdfff))
			continue;
		all[n++] = c;
		cp[0] = c;
		round_trip(cp, 1);
		cp[0] = 'a';
		cp[1] = c;
		cp[2] = '&';
		round_trip(cp, 3);
	}
	round_trip(all, n);
	free(all);
}

static void
test_round_trip_astral(void **state)
{
	uint32_t all[3 * 1024 + 1], cp[4];
	size_t n = 0;

	(void)state;
	/* Planes 1-16: every high surrogate, each with the first, the last
	 * and one other low surrogate; each alone, after a BMP character,
	 * and all in one name. */
	for (uint32_t k = 0; k < 1024; k++) {
		uint32_t base = 0x10000 + (k << 10);

		cp[0] = base;
		cp[1] = base | 0x3ff;
		cp[2] = base | ((k * 0x9d) & 0x3ff);
		memcpy(all + n, cp, 3 * sizeof(cp[0]));
		n += 3;
		round_trip(cp, 1);
		round_trip(cp + 1, 1);
		round_trip(cp + 2, 1);
		cp[3] = 0xe4;
		round_trip(cp + 1, 3);
		round_trip(cp, 4);
	}
	all[n++] = 0x10ffff;
	round_trip(all, n);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rfc3501_example),
		cmocka_unit_test(test_ascii_direct),
		cmocka_unit_test(test_ampersand),
		cmocka_unit_test(test_bmp),
		cmocka_unit_test(test_astral),
		cmocka_unit_test(test_decode_not_printable),
		cmocka_unit_test(test_decode_unterminated),
		cmocka_unit_test(test_decode_base64_alphabet),
		cmocka_unit_test(test_decode_empty_run),
		cmocka_unit_test(test_decode_direct_in_run),
		cmocka_unit_test(test_decode_surrogates),
		cmocka_unit_test(test_decode_leftover_bits),
		cmocka_unit_test(test_decode_back_to_back),
		cmocka_unit_test(test_controls),
		cmocka_unit_test(test_encode_invalid_utf8),
		cmocka_unit_test(test_length_not_nul),
		cmocka_unit_test(test_out_size),
		cmocka_unit_test(test_round_trip_bmp),
		cmocka_unit_test(test_round_trip_astral),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
