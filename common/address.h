/*
 * address.h - mailbox addresses (local@domain) as Letterbox stores them.
 *
 * Trusts nothing: input may come from an SMTP client or the command line.
 * Enforces the RFC 5321 4.5.3.1 length limits.
 */
#ifndef LETTERBOX_ADDRESS_H
#define LETTERBOX_ADDRESS_H

#include <stdbool.h>

#include "limits.h"

struct address {
	char local[LIMIT_ADDR_LOCAL + 1];
	char domain[LIMIT_ADDR_DOMAIN + 1];
	char full[LIMIT_ADDR_TOTAL + 1];	/* local@domain, folded */
};

/*
 * address_parse: checks that s is "local@domain" with a dot-atom local part
 * (RFC 5322 3.2.3 atext, plus UTF-8 per RFC 6531) and a domain name, and
 * fills addr_r with both parts and the whole folded to lower case (ASCII), which is the form the
 * store keys on. Returns 0, or -1 with a reason in *error_r (static text).
 */
int address_parse(const char *s, struct address *addr_r, const char **error_r);

/*
 * address_domain_valid: true when s is a domain name of LDH or UTF-8
 * labels, each 1..63 octets, at most LIMIT_ADDR_DOMAIN in all.
 */
bool address_domain_valid(const char *s);

/*
 * address_domain_fold: copies a valid domain into out (LIMIT_ADDR_DOMAIN+1
 * bytes) in lower case. Returns 0, or -1 with *error_r when it is invalid.
 */
int address_domain_fold(const char *s, char *out, const char **error_r);

/*
 * address_strip_detail: for plus-addressing, "alice+tag" -> "alice".
 * Writes the base local part into out (LIMIT_ADDR_LOCAL+1 bytes) and returns
 * true when local had a non-leading '+'; false (out untouched) otherwise.
 */
bool address_strip_detail(const char *local, char *out);

/* utf8_valid: true when the len bytes at s are well-formed UTF-8 (no
 * overlong forms, no surrogates, nothing above U+10FFFF). */
bool utf8_valid(const char *s, size_t len);

#endif
