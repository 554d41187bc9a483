/*
 * ascii.h - locale-free ASCII character tests for the protocol parsers
 * (RFC 5234 core rules). Header-only: each is one comparison.
 */
#ifndef LETTERBOX_ASCII_H
#define LETTERBOX_ASCII_H

#include <stdbool.h>
#include <stddef.h>

static inline bool
ascii_is_alpha(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static inline bool
ascii_is_digit(unsigned char c)
{
	return c >= '0' && c <= '9';
}

static inline bool
ascii_is_alnum(unsigned char c)
{
	return ascii_is_alpha(c) || ascii_is_digit(c);
}

/* ascii_is_ctl: RFC 5234 CTL; no protocol command has a place for one. */
static inline bool
ascii_is_ctl(unsigned char c)
{
	return c < 0x20 || c == 0x7f;
}

static inline unsigned char
ascii_upper(unsigned char c)
{
	return (c >= 'a' && c <= 'z') ? (unsigned char)(c - 'a' + 'A') : c;
}

static inline unsigned char
ascii_lower(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') ? (unsigned char)(c - 'A' + 'a') : c;
}

/* ascii_ieq: the n bytes at s equal the NUL-terminated upper-case word,
 * ignoring ASCII case. */
static inline bool
ascii_ieq(const char *s, size_t n, const char *word)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (word[i] == '\0' ||
		    ascii_upper((unsigned char)s[i]) != (unsigned char)word[i])
			return false;
	}
	return word[i] == '\0';
}

#endif
