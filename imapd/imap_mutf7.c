/*
 * imap_mutf7.c - IMAP mailbox names between modified UTF-7 on the wire
 * (RFC 3501 5.1.3) and UTF-8 in the store.
 *
 * Input is untrusted: both functions take a pointer and a length, never
 * read past the length and never rely on a terminating NUL. Enforced:
 * the canonical form only (RFC 3501 5.1.3's MUSTs plus "no two shifted
 * runs back to back"), well-formed UTF-16 and UTF-8 (RFC 3629 4: no
 * overlongs, no surrogates, nothing past U+10FFFF), no control
 * character either way, and the caller's output size, NUL included.
 * The name's own length is the command parser's limit, not checked here.
 *
 * Nothing here allocates or does I/O.
 */
#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "common/ascii.h"
#include "imapd/imap_mutf7.h"

/* RFC 3501 5.1.3: RFC 2045 base64 with ',' in place of '/'. */
static const char b64_chars[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,";

/* out: the caller's buffer, filled from the start; len never reaches
 * size, so there is always room for the NUL. */
struct out {
	char *p;
	size_t size;
	size_t len;
};

static void
out_init(struct out *o, char *p, size_t size)
{
	o->p = p;
	/* The length is returned as an int. */
	o->size = size > (size_t)INT_MAX ? (size_t)INT_MAX + 1 : size;
	o->len = 0;
}

/* out_put: appends c; false when that leaves no room for the NUL. */
static bool
out_put(struct out *o, char c)
{
	if (o->size - o->len < 2)
		return false;
	o->p[o->len++] = c;
	return true;
}

/* out_end: NUL-terminates and returns the length, or -1 when failed,
 * after clearing what was written. */
static int
out_end(struct out *o, bool ok)
{
	if (o->size == 0)
		return -1;
	if (!ok) {
		memset(o->p, '\0', o->len + 1);
		return -1;
	}
	o->p[o->len] = '\0';
	return (int)o->len;
}

/* is_direct: RFC 3501 5.1.3: printable US-ASCII stands for itself ('&'
 * as "&-") and must not be shifted. */
static bool
is_direct(uint32_t c)
{
	return c >= 0x20 && c <= 0x7e;
}

static int
b64_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == ',')
		return 63;
	return -1;
}

/* put_utf8: cp (U+0080..U+10FFFF, no surrogate) as UTF-8. */
static bool
put_utf8(struct out *o, uint32_t cp)
{
	if (cp < 0x800)
		return out_put(o, (char)(0xc0 | (cp >> 6))) &&
		    out_put(o, (char)(0x80 | (cp & 0x3f)));
	if (cp < 0x10000)
		return out_put(o, (char)(0xe0 | (cp >> 12))) &&
		    out_put(o, (char)(0x80 | ((cp >> 6) & 0x3f))) &&
		    out_put(o, (char)(0x80 | (cp & 0x3f)));
	return out_put(o, (char)(0xf0 | (cp >> 18))) &&
	    out_put(o, (char)(0x80 | ((cp >> 12) & 0x3f))) &&
	    out_put(o, (char)(0x80 | ((cp >> 6) & 0x3f))) &&
	    out_put(o, (char)(0x80 | (cp & 0x3f)));
}

/*
 * decode_run: the shifted run at in[*i] (just after its '&', before the
 * base64) up to and past its '-', written as UTF-8. False for a run
 * that is not canonical modified base64 of well-formed UTF-16 holding
 * only characters that may not go direct, or for want of room.
 */
static bool
decode_run(const char *in, size_t len, size_t *i, struct out *o)
{
	uint32_t bits = 0, high = 0, u, cp;
	unsigned int nbits = 0;
	int v;

	for (; *i < len && (v = b64_value((unsigned char)in[*i])) >= 0;
	    (*i)++) {
		bits = (bits << 6) | (uint32_t)v;
		nbits += 6;
		if (nbits < 16)
			continue;
		nbits -= 16;
		u = bits >> nbits;
		bits &= (1U << nbits) - 1;
		if (high != 0) {
			/* RFC 2781 2.2: a high surrogate takes a low. */
			if (u < 0xdc00 || u > 0xdfff)
				return false;
			cp = 0x10000 + ((high - 0xd800) << 10) + (u - 0xdc00);
			high = 0;
		} else if (u >= 0xd800 && u <= 0xdbff) {
			high = u;
			continue;
		} else if (u >= 0xdc00 && u <= 0xdfff) {
			return false;
		} else if (u < 0x80) {
			/* Printable: RFC 3501 5.1.3 says direct. Controls:
			 * refused either way (imap_mutf7.h). */
			return false;
		} else {
			cp = u;
		}
		if (!put_utf8(o, cp))
			return false;
	}
	/* RFC 3501 5.1.3: a run ends with "-", not with '/', '=', another
	 * byte or the end. That refuses the empty run, "&" without "-",
	 * too: the caller took "&-" as "&" before calling. */
	if (*i >= len || in[*i] != '-')
		return false;
	/* A pair split by the run's end; padding of 6 bits or more (a
	 * whole base64 character for nothing), or not zero. */
	if (high != 0 || nbits >= 6 || bits != 0)
		return false;
	(*i)++;
	return true;
}

/* imap_mutf7_to_utf8: see imap_mutf7.h. */
int
imap_mutf7_to_utf8(const char *in, size_t len, char *out, size_t size)
{
	struct out o;
	bool after_run = false;
	size_t i = 0;
	unsigned char c;

	out_init(&o, out, size);
	while (i < len) {
		c = (unsigned char)in[i];
		if (!is_direct(c))
			return out_end(&o, false);
		if (c != '&') {
			if (!out_put(&o, (char)c))
				return out_end(&o, false);
			after_run = false;
			i++;
			continue;
		}
		if (i + 1 < len && in[i + 1] == '-') {
			if (!out_put(&o, '&'))
				return out_end(&o, false);
			after_run = false;
			i += 2;
			continue;
		}
		/* Two runs back to back are one run spelled as two: the
		 * encoder never writes that, so neither may a client. */
		if (after_run)
			return out_end(&o, false);
		i++;
		if (!decode_run(in, len, &i, &o))
			return out_end(&o, false);
		after_run = true;
	}
	return out_end(&o, true);
}

/*
 * utf8_next: the code point at s (len > 0 bytes) into *cp_r. Returns its
 * length in bytes, or 0 when s does not start with a well-formed UTF-8
 * sequence (RFC 3629 4): a stray continuation byte, C0/C1/F5-FF, a
 * sequence cut short, an overlong form, a surrogate, past U+10FFFF.
 */
static size_t
utf8_next(const unsigned char *s, size_t len, uint32_t *cp_r)
{
	uint32_t cp, min;
	size_t n;

	if (s[0] < 0x80) {
		*cp_r = s[0];
		return 1;
	}
	if (s[0] < 0xc2)
		return 0;
	if (s[0] < 0xe0) {
		n = 2;
		cp = s[0] & 0x1f;
		min = 0x80;
	} else if (s[0] < 0xf0) {
		n = 3;
		cp = s[0] & 0x0f;
		min = 0x800;
	} else if (s[0] < 0xf5) {
		n = 4;
		cp = s[0] & 0x07;
		min = 0x10000;
	} else {
		return 0;
	}
	if (len < n)
		return 0;
	for (size_t k = 1; k < n; k++) {
		if ((s[k] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[k] & 0x3f);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	*cp_r = cp;
	return n;
}

/* put_unit: one UTF-16 unit into the shifted run's bits, writing each
 * whole base64 character. */
static bool
put_unit(struct out *o, uint32_t u, uint32_t *bits, unsigned int *nbits)
{
	*bits = (*bits << 16) | u;
	*nbits += 16;
	while (*nbits >= 6) {
		*nbits -= 6;
		if (!out_put(o, b64_chars[(*bits >> *nbits) & 0x3f]))
			return false;
	}
	*bits &= (1U << *nbits) - 1;
	return true;
}

/* end_run: the last bits, zero-padded to a base64 character, and '-'. */
static bool
end_run(struct out *o, uint32_t bits, unsigned int nbits)
{
	if (nbits > 0 &&
	    !out_put(o, b64_chars[(bits << (6 - nbits)) & 0x3f]))
		return false;
	return out_put(o, '-');
}

/* imap_utf8_to_mutf7: see imap_mutf7.h. */
int
imap_utf8_to_mutf7(const char *in, size_t len, char *out, size_t size)
{
	const unsigned char *s = (const unsigned char *)in;
	struct out o;
	uint32_t cp, bits = 0;
	unsigned int nbits = 0;
	bool in_run = false;
	size_t i = 0, n;

	out_init(&o, out, size);
	while (i < len) {
		if ((n = utf8_next(s + i, len - i, &cp)) == 0)
			return out_end(&o, false);
		i += n;
		if (cp < 0x80) {
			if (ascii_is_ctl((unsigned char)cp))
				return out_end(&o, false);
			if (in_run && !end_run(&o, bits, nbits))
				return out_end(&o, false);
			in_run = false;
			/* RFC 3501 5.1.3: "&" is represented by "&-". */
			if (!out_put(&o, (char)cp) ||
			    (cp == '&' && !out_put(&o, '-')))
				return out_end(&o, false);
			continue;
		}
		if (!in_run) {
			if (!out_put(&o, '&'))
				return out_end(&o, false);
			in_run = true;
			bits = 0;
			nbits = 0;
		}
		if (cp < 0x10000) {
			if (!put_unit(&o, cp, &bits, &nbits))
				return out_end(&o, false);
			continue;
		}
		/* RFC 2781 2.1: past the BMP, a surrogate pair. */
		cp -= 0x10000;
		if (!put_unit(&o, 0xd800 | (cp >> 10), &bits, &nbits) ||
		    !put_unit(&o, 0xdc00 | (cp & 0x3ff), &bits, &nbits))
			return out_end(&o, false);
	}
	if (in_run && !end_run(&o, bits, nbits))
		return out_end(&o, false);
	return out_end(&o, true);
}
