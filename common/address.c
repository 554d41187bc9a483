/*
 * address.c - parse and fold mailbox addresses.
 *
 * Input is untrusted. Every index is checked against the RFC 5321 limits in
 * limits.h before a byte is written.
 */
#include <stddef.h>
#include <string.h>

#include "address.h"

bool
utf8_valid(const char *str, size_t len)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t i = 0;

	while (i < len) {
		unsigned char c = s[i];
		size_t n;
		unsigned int cp;

		if (c < 0x80) {
			i++;
			continue;
		} else if (c >= 0xc2 && c <= 0xdf) {
			n = 1; cp = c & 0x1f;
		} else if (c >= 0xe0 && c <= 0xef) {
			n = 2; cp = c & 0x0f;
		} else if (c >= 0xf0 && c <= 0xf4) {
			n = 3; cp = c & 0x07;
		} else {
			return false;
		}
		if (len - i <= n)
			return false;
		for (size_t k = 1; k <= n; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return false;
			cp = (cp << 6) | (s[i + k] & 0x3f);
		}
		if ((n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) ||
		    cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return false;
		i += n + 1;
	}
	return true;
}

/* RFC 5322 3.2.3 atext, without '.' which dot-atom handles. */
static bool
is_atext(unsigned char c)
{
	if (c >= 0x80)
		return true;	/* RFC 6531 UTF8-non-ascii; checked as UTF-8 */
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9'))
		return true;
	return c != '\0' && strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL;
}

static char
ascii_lower(char c)
{
	return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
}

static bool
local_valid(const char *s, size_t len)
{
	if (len == 0 || len > LIMIT_ADDR_LOCAL)
		return false;
	if (s[0] == '.' || s[len - 1] == '.')
		return false;
	for (size_t i = 0; i < len; i++) {
		if (s[i] == '.') {
			if (s[i + 1] == '.')
				return false;
		} else if (!is_atext((unsigned char)s[i])) {
			return false;
		}
	}
	return utf8_valid(s, len);
}

static bool
domain_valid_n(const char *s, size_t len)
{
	size_t label = 0;

	if (len == 0 || len > LIMIT_ADDR_DOMAIN || s[0] == '.' ||
	    s[len - 1] == '.')
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '.') {
			if (label == 0 || s[i - 1] == '-')
				return false;
			label = 0;
			continue;
		}
		if (c == '-' && label == 0)
			return false;
		if (!(c >= 0x80 || c == '-' || (c >= '0' && c <= '9') ||
		    (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')))
			return false;
		if (++label > 63)
			return false;
	}
	if (s[len - 1] == '-')
		return false;
	return utf8_valid(s, len);
}

bool
address_domain_valid(const char *s)
{
	return domain_valid_n(s, strlen(s));
}

int
address_domain_fold(const char *s, char *out, const char **error_r)
{
	size_t len = strlen(s);

	if (!domain_valid_n(s, len)) {
		*error_r = "invalid domain name";
		return -1;
	}
	for (size_t i = 0; i < len; i++)
		out[i] = ascii_lower(s[i]);
	out[len] = '\0';
	return 0;
}

int
address_parse(const char *s, struct address *addr_r, const char **error_r)
{
	const char *at = strrchr(s, '@');
	size_t llen, total = strlen(s);

	if (total > LIMIT_ADDR_TOTAL) {
		*error_r = "address too long";
		return -1;
	}
	if (at == NULL) {
		*error_r = "address has no @domain";
		return -1;
	}
	llen = (size_t)(at - s);
	if (!local_valid(s, llen)) {
		*error_r = "invalid local part";
		return -1;
	}
	if (address_domain_fold(at + 1, addr_r->domain, error_r) < 0)
		return -1;
	for (size_t i = 0; i < llen; i++)
		addr_r->local[i] = ascii_lower(s[i]);
	addr_r->local[llen] = '\0';
	/* total <= LIMIT_ADDR_TOTAL was checked above. */
	for (size_t i = 0; i < total; i++)
		addr_r->full[i] = ascii_lower(s[i]);
	addr_r->full[total] = '\0';
	return 0;
}

bool
address_strip_detail(const char *local, char *out)
{
	const char *plus = strchr(local, '+');
	size_t n;

	if (plus == NULL || plus == local)
		return false;
	n = (size_t)(plus - local);
	if (n > LIMIT_ADDR_LOCAL)
		return false;
	memcpy(out, local, n);
	out[n] = '\0';
	return true;
}
