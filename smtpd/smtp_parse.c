/*
 * smtp_parse.c - the SMTP command grammar: command lines, MAIL and RCPT
 * paths with their parameters, EHLO/HELO, BDAT and AUTH arguments
 * (RFC 5321 4.1, RFC 1870, 6152, 3030, 6531, 4954).
 *
 * Input is untrusted: every function takes a pointer and a length, never
 * reads past the length, never relies on a terminating NUL and writes
 * only into fixed-size fields whose bounds come from limits.h. Enforced:
 * RFC 5321 4.5.3.1 (local part 64, domain 255, path 254 without the
 * brackets), 63-octet labels, SIZE and BDAT sizes of at most 20 digits
 * that fit their type, AUTH mechanism names of 20 characters and initial
 * responses of LIMIT_SASL_LINE.
 *
 * Nothing here allocates or does I/O.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "common/ascii.h"
#include "common/address.h"
#include "smtpd/smtp_parse.h"

/* RFC 4422 3.1: a SASL mechanism name is 1 to 20 characters. */
#define SASL_MECH_MAX	20
/* RFC 1870 and RFC 3030: sizes are at most 20 digits (2^64 has 20). */
#define SIZE_DIGITS_MAX	20
/* Longest text between the brackets of an address literal we look at:
 * "IPv6:" and the longest IPv6 text form (INET6_ADDRSTRLEN - 1). */
#define LITERAL_MAX	(5 + INET6_ADDRSTRLEN)

static const struct {
	const char *name;
	enum smtp_verb verb;
} verbs[] = {
	{ "EHLO", SMTP_VERB_EHLO },
	{ "HELO", SMTP_VERB_HELO },
	{ "MAIL", SMTP_VERB_MAIL },
	{ "RCPT", SMTP_VERB_RCPT },
	{ "DATA", SMTP_VERB_DATA },
	{ "BDAT", SMTP_VERB_BDAT },
	{ "RSET", SMTP_VERB_RSET },
	{ "NOOP", SMTP_VERB_NOOP },
	{ "QUIT", SMTP_VERB_QUIT },
	{ "VRFY", SMTP_VERB_VRFY },
	{ "EXPN", SMTP_VERB_EXPN },
	{ "HELP", SMTP_VERB_HELP },
	{ "STARTTLS", SMTP_VERB_STARTTLS },
	{ "AUTH", SMTP_VERB_AUTH },
};

/*
 * RFC 5321 4.1.2 atext (as RFC 5322 3.2.3), without the '.' that
 * Dot-string handles; bytes >= 0x80 stand for RFC 6531 UTF8-non-ascii and
 * are checked as UTF-8 over the whole mailbox.
 */
static bool
is_atext(unsigned char c)
{
	if (c >= 0x80 || ascii_is_alnum(c))
		return true;
	return c != '\0' && strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL;
}

/* has_8bit: true when any of the n bytes at s is outside ASCII. */
static bool
has_8bit(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if ((unsigned char)s[i] >= 0x80)
			return true;
	}
	return false;
}

/* trim_spaces: len without the trailing SPs of s. */
static size_t
trim_spaces(const char *s, size_t len)
{
	while (len > 0 && s[len - 1] == ' ')
		len--;
	return len;
}

/*
 * parse_digits: 1..SIZE_DIGITS_MAX decimal digits (s, n) into *v_r.
 * Returns false for an empty, non-digit, over-long or overflowing value.
 */
static bool
parse_digits(const char *s, size_t n, uint64_t *v_r)
{
	uint64_t v = 0;

	if (n == 0 || n > SIZE_DIGITS_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned int d;

		if (!ascii_is_digit((unsigned char)s[i]))
			return false;
		d = (unsigned int)(s[i] - '0');
		if (v > (UINT64_MAX - d) / 10)
			return false;
		v = v * 10 + d;
	}
	*v_r = v;
	return true;
}

/*
 * address_literal_valid: the text between "[" and "]" of an RFC 5321
 * 4.1.3 address literal: an IPv4 dotted quad or "IPv6:" and an IPv6
 * address, each checked by inet_pton(). General-address-literal
 * ("tag:content") is refused: no tag besides IPv6 is standardized.
 */
static bool
address_literal_valid(const char *s, size_t n)
{
	char buf[LITERAL_MAX + 1];
	unsigned char bin[sizeof(struct in6_addr)];

	if (n == 0 || n > LITERAL_MAX)
		return false;
	memcpy(buf, s, n);
	buf[n] = '\0';
	if (n > 5 && ascii_ieq(buf, 5, "IPV6:"))
		return inet_pton(AF_INET6, buf + 5, bin) == 1;
	/* inet_pton() takes only digits and dots here: no octal, no hex,
	 * no short forms. */
	return inet_pton(AF_INET, buf, bin) == 1;
}

/* span_literal: length of "[...]" at s (n bytes), 0 when there is no
 * closing bracket. Only the bytes of RFC 5321 dcontent come before it. */
static size_t
span_literal(const char *s, size_t n)
{
	if (n == 0 || s[0] != '[')
		return 0;
	for (size_t i = 1; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == ']')
			return i + 1;
		/* dcontent = %d33-90 / %d94-126 */
		if (c < 33 || c > 126 || c == '[' || c == '\\')
			return 0;
	}
	return 0;
}

/* span_domain: length of the run of domain-name bytes (letters, digits,
 * '-', '.', UTF-8) at s; validated afterwards as a whole. */
static size_t
span_domain(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (!(ascii_is_alnum(c) || c == '-' || c == '.' || c >= 0x80))
			break;
	}
	return i;
}

/*
 * domain_name_valid: s (n bytes) is an RFC 5321 Domain of LDH
 * sub-domains or RFC 6531 U-labels, as address_domain_valid() in
 * common/address.c says, so the store agrees with what SMTP accepted.
 */
static bool
domain_name_valid(const char *s, size_t n)
{
	char buf[LIMIT_ADDR_DOMAIN + 1];

	if (n == 0 || n > LIMIT_ADDR_DOMAIN)
		return false;
	memcpy(buf, s, n);
	buf[n] = '\0';
	return address_domain_valid(buf);
}

/*
 * parse_quoted_local: an RFC 5321 Quoted-string at s (n bytes, s[0] is
 * DQUOTE): qtextSMTP, quoted-pairSMTP ("\" and %d32-126), and with RFC
 * 6531 UTF8-non-ascii. Returns its length with both quotes, or 0 when it
 * is malformed, unterminated or empty ("" names no mailbox; it is refused
 * rather than passed on to code that may not expect it).
 */
static size_t
parse_quoted_local(const char *s, size_t n)
{
	for (size_t i = 1; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '"')
			return i > 1 ? i + 1 : 0;
		if (c == '\\') {
			if (i + 1 >= n)
				return 0;
			c = (unsigned char)s[++i];
			if (c < 32 || c > 126)
				return 0;
			continue;
		}
		/* qtextSMTP = %d32-33 / %d35-91 / %d93-126 */
		if (c < 32 || c == 127)
			return 0;
	}
	return 0;
}

/*
 * parse_dot_local: an RFC 5321 Dot-string at s (n bytes): atoms of atext
 * joined by single dots. Returns its length, 0 when there is none or it
 * starts, ends or doubles a dot.
 */
static size_t
parse_dot_local(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '.') {
			if (i == 0 || s[i - 1] == '.')
				return 0;
		} else if (!is_atext(c)) {
			break;
		}
	}
	if (i == 0 || s[i - 1] == '.')
		return 0;
	return i;
}

/*
 * parse_mailbox: an RFC 5321 Mailbox at s (n bytes): Local-part "@"
 * (Domain / address-literal). With postmaster_ok, a lone "postmaster"
 * (any case) followed by '>' is RCPT's special recipient (RFC 5321
 * 4.1.1.3). Fills path_r and *used_r (bytes taken). Returns
 * SMTP_PARSE_OK or SMTP_PARSE_BAD_ADDRESS; UTF-8 is allowed here and
 * reported through path_r->utf8 for the caller to judge.
 */
static int
parse_mailbox(const char *s, size_t n, bool postmaster_ok,
    struct smtp_path *path_r, size_t *used_r)
{
	size_t local, dom, total;

	if (n > 0 && s[0] == '"')
		local = parse_quoted_local(s, n);
	else
		local = parse_dot_local(s, n);
	if (local == 0 || local > LIMIT_ADDR_LOCAL)
		return SMTP_PARSE_BAD_ADDRESS;

	if (postmaster_ok && local < n && s[local] == '>' &&
	    ascii_ieq(s, local, "POSTMASTER")) {
		memcpy(path_r->address, "postmaster", sizeof("postmaster"));
		path_r->utf8 = false;
		*used_r = local;
		return SMTP_PARSE_OK;
	}

	if (local >= n || s[local] != '@')
		return SMTP_PARSE_BAD_ADDRESS;
	if (local + 1 < n && s[local + 1] == '[') {
		dom = span_literal(s + local + 1, n - local - 1);
		if (dom == 0 || dom > LIMIT_ADDR_DOMAIN ||
		    !address_literal_valid(s + local + 2, dom - 2))
			return SMTP_PARSE_BAD_ADDRESS;
	} else {
		dom = span_domain(s + local + 1, n - local - 1);
		if (!domain_name_valid(s + local + 1, dom))
			return SMTP_PARSE_BAD_ADDRESS;
	}

	/* RFC 5321 4.5.3.1.3: the path is 256 octets with its brackets. */
	total = local + 1 + dom;
	if (total > LIMIT_ADDR_TOTAL)
		return SMTP_PARSE_BAD_ADDRESS;
	path_r->utf8 = has_8bit(s, total);
	if (path_r->utf8 && !utf8_valid(s, total))
		return SMTP_PARSE_BAD_ADDRESS;
	memcpy(path_r->address, s, total);
	path_r->address[total] = '\0';
	*used_r = total;
	return SMTP_PARSE_OK;
}

/*
 * skip_source_route: an RFC 5321 A-d-l ("@a.example,@b.example:") at s
 * (n bytes). RFC 5321 4.1.2 and C.: servers MUST accept and SHOULD
 * ignore it; its domains are checked and then dropped. *used_r: the bytes
 * taken (0 when s does not start with '@'). Returns false when it is
 * malformed.
 */
static bool
skip_source_route(const char *s, size_t n, size_t *used_r)
{
	size_t i = 0, dom;

	*used_r = 0;
	if (n == 0 || s[0] != '@')
		return true;
	for (;;) {
		if (i >= n || s[i] != '@')
			return false;
		i++;
		dom = span_domain(s + i, n - i);
		if (!domain_name_valid(s + i, dom))
			return false;
		i += dom;
		if (i >= n)
			return false;
		if (s[i] == ':') {
			*used_r = i + 1;
			return true;
		}
		if (s[i] != ',')
			return false;
		i++;
	}
}

/*
 * parse_path_arg: the path at the start of s (n bytes, trailing spaces
 * trimmed): "<>" when null_ok, "<[A-d-l:]Mailbox>", or a bare Mailbox
 * without brackets when nothing but the address follows (old clients
 * send "MAIL FROM: user@example.org"; Postfix accepts it by default;
 * with parameters after it the brackets are required, so a parameter can
 * never be mistaken for part of the address). *rest_r is where the
 * parameters start (the byte after '>').
 */
static int
parse_path_arg(const char *s, size_t n, bool null_ok, bool postmaster_ok,
    struct smtp_path *path_r, size_t *rest_r)
{
	size_t used, route, i;
	int rc;

	if (n == 0)
		return SMTP_PARSE_SYNTAX;
	if (s[0] != '<') {
		rc = parse_mailbox(s, n, false, path_r, &used);
		if (rc != SMTP_PARSE_OK)
			return rc;
		if (used != n)
			return SMTP_PARSE_SYNTAX;
		*rest_r = n;
		return SMTP_PARSE_OK;
	}
	if (n >= 2 && s[1] == '>') {
		if (!null_ok)
			return SMTP_PARSE_BAD_ADDRESS;
		path_r->null = true;
		path_r->address[0] = '\0';
		*rest_r = 2;
		return SMTP_PARSE_OK;
	}
	i = 1;
	if (!skip_source_route(s + i, n - i, &route))
		return SMTP_PARSE_BAD_ADDRESS;
	i += route;
	rc = parse_mailbox(s + i, n - i, postmaster_ok && route == 0, path_r,
	    &used);
	if (rc != SMTP_PARSE_OK)
		return rc;
	i += used;
	if (i >= n || s[i] != '>')
		return SMTP_PARSE_BAD_ADDRESS;
	*rest_r = i + 1;
	return SMTP_PARSE_OK;
}

struct esmtp_param {
	const char *key;
	size_t key_len;
	const char *value;	/* NULL when the keyword has no "=" */
	size_t value_len;
};

/*
 * next_param: the next RFC 5321 esmtp-param of s (n bytes) from *pos.
 * Parameters are separated by one or more SP (RFC 5321 asks for one).
 * Returns 1 with *param_r filled, 0 at the end, or SMTP_PARSE_SYNTAX for
 * a keyword or value outside the grammar: esmtp-keyword = (ALPHA /
 * DIGIT) *(ALPHA / DIGIT / "-"), esmtp-value = 1*(%d33-60 / %d62-126)
 * and RFC 6531 UTF-8 (well-formed; the caller checks SMTPUTF8).
 */
static int
next_param(const char *s, size_t n, size_t *pos, struct esmtp_param *param_r)
{
	size_t i = *pos, start;

	if (i >= n)
		return 0;
	if (s[i] != ' ')
		return SMTP_PARSE_SYNTAX;
	while (i < n && s[i] == ' ')
		i++;
	if (i >= n) {
		*pos = i;
		return 0;
	}
	start = i;
	if (!ascii_is_alnum((unsigned char)s[i]))
		return SMTP_PARSE_SYNTAX;
	while (i < n && (ascii_is_alnum((unsigned char)s[i]) || s[i] == '-'))
		i++;
	param_r->key = s + start;
	param_r->key_len = i - start;
	param_r->value = NULL;
	param_r->value_len = 0;
	if (i < n && s[i] == '=') {
		start = ++i;
		while (i < n) {
			unsigned char c = (unsigned char)s[i];

			if (c < 33 || c == '=' || c == 127)
				break;
			i++;
		}
		if (i == start || !utf8_valid(s + start, i - start))
			return SMTP_PARSE_SYNTAX;
		param_r->value = s + start;
		param_r->value_len = i - start;
	}
	if (i < n && s[i] != ' ')
		return SMTP_PARSE_SYNTAX;
	*pos = i;
	return 1;
}

/* xtext_valid: RFC 3461 4 xtext, as RFC 4954 5 uses it for AUTH=:
 * %d33-42 / %d44-60 / %d62-126 and "+" with two upper-case hex digits;
 * UTF-8 passes (RFC 6531 3.3), the caller checks SMTPUTF8. */
static bool
xtext_valid(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '+') {
			if (n - i < 3)
				return false;
			for (size_t k = 1; k <= 2; k++) {
				c = (unsigned char)s[i + k];
				if (!ascii_is_digit(c) && !(c >= 'A' && c <= 'F'))
					return false;
			}
			i += 2;
		} else if (c < 33 || c == '=' || c == 127) {
			return false;
		}
	}
	return true;
}

/* parse_prefix: s starts with word (upper-case, e.g. "FROM:"), any case;
 * *pos is set after it and any SPs (tolerated after the colon). */
static bool
parse_prefix(const char *s, size_t n, const char *word, size_t *pos)
{
	size_t wl = strlen(word), i;

	if (n < wl || !ascii_ieq(s, wl, word))
		return false;
	for (i = wl; i < n && s[i] == ' '; i++)
		;
	*pos = i;
	return true;
}

/*
 * smtp_parse_command: see smtp_parse.h. The verb is the run of letters at
 * the start of the line; an empty run (an empty line, a leading space or
 * digit) is SMTP_PARSE_SYNTAX. SPs after the verb and at the end of the
 * line are skipped; TAB is a control character like the others.
 */
int
smtp_parse_command(const char *line, size_t len, struct smtp_command *cmd_r)
{
	size_t i, vlen;

	cmd_r->verb = SMTP_VERB_UNKNOWN;
	cmd_r->arg = "";
	cmd_r->arg_len = 0;
	for (i = 0; i < len; i++) {
		if (ascii_is_ctl((unsigned char)line[i]))
			return SMTP_PARSE_SYNTAX;
	}
	for (vlen = 0; vlen < len && ascii_is_alpha((unsigned char)line[vlen]);
	    vlen++)
		;
	if (vlen == 0 || (vlen < len && line[vlen] != ' '))
		return SMTP_PARSE_SYNTAX;
	for (i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++) {
		if (ascii_ieq(line, vlen, verbs[i].name)) {
			cmd_r->verb = verbs[i].verb;
			break;
		}
	}
	len = trim_spaces(line, len);
	for (i = vlen; i < len && line[i] == ' '; i++)
		;
	if (i < len) {
		cmd_r->arg = line + i;
		cmd_r->arg_len = len - i;
	}
	return SMTP_PARSE_OK;
}

/* smtp_parse_mail: see smtp_parse.h. */
int
smtp_parse_mail(const char *arg, size_t len, struct smtp_mail_args *mail_r)
{
	struct esmtp_param p;
	bool seen_size = false, seen_body = false, seen_auth = false;
	bool value_8bit = false;
	size_t pos, rest;
	int rc;

	memset(mail_r, 0, sizeof(*mail_r));
	len = trim_spaces(arg, len);
	if (!parse_prefix(arg, len, "FROM:", &pos))
		return SMTP_PARSE_SYNTAX;
	for (size_t i = pos; i < len; i++) {
		if (ascii_is_ctl((unsigned char)arg[i]))
			return SMTP_PARSE_SYNTAX;
	}
	rc = parse_path_arg(arg + pos, len - pos, true, false, &mail_r->from,
	    &rest);
	if (rc != SMTP_PARSE_OK)
		goto fail;
	pos += rest;

	while ((rc = next_param(arg, len, &pos, &p)) == 1) {
		if (ascii_ieq(p.key, p.key_len, "SIZE")) {
			/* RFC 1870 6: size-value = 1*20DIGIT */
			if (seen_size || p.value == NULL ||
			    !parse_digits(p.value, p.value_len,
			    &mail_r->size)) {
				rc = SMTP_PARSE_BAD_PARAM;
				goto fail;
			}
			seen_size = true;
		} else if (ascii_ieq(p.key, p.key_len, "BODY")) {
			/* RFC 6152 2, RFC 3030 3 */
			if (seen_body || p.value == NULL) {
				rc = SMTP_PARSE_BAD_PARAM;
				goto fail;
			}
			if (ascii_ieq(p.value, p.value_len, "7BIT"))
				mail_r->body = SMTP_BODY_7BIT;
			else if (ascii_ieq(p.value, p.value_len, "8BITMIME"))
				mail_r->body = SMTP_BODY_8BITMIME;
			else if (ascii_ieq(p.value, p.value_len,
			    "BINARYMIME"))
				mail_r->body = SMTP_BODY_BINARYMIME;
			else {
				rc = SMTP_PARSE_BAD_PARAM;
				goto fail;
			}
			seen_body = true;
		} else if (ascii_ieq(p.key, p.key_len, "SMTPUTF8")) {
			/* RFC 6531 3.4: no value */
			if (mail_r->smtputf8 || p.value != NULL) {
				rc = SMTP_PARSE_BAD_PARAM;
				goto fail;
			}
			mail_r->smtputf8 = true;
		} else if (ascii_ieq(p.key, p.key_len, "AUTH")) {
			/* RFC 4954 5: AUTH=xtext, or "<>"; ignored. */
			if (seen_auth || p.value == NULL ||
			    !xtext_valid(p.value, p.value_len)) {
				rc = SMTP_PARSE_BAD_PARAM;
				goto fail;
			}
			if (has_8bit(p.value, p.value_len))
				value_8bit = true;
			seen_auth = true;
		} else {
			rc = SMTP_PARSE_BAD_PARAM;
			goto fail;
		}
	}
	if (rc != 0)
		goto fail;
	/* RFC 6531 3.4: non-ASCII needs SMTPUTF8 on this MAIL command. */
	if ((mail_r->from.utf8 || value_8bit) && !mail_r->smtputf8) {
		rc = SMTP_PARSE_UTF8;
		goto fail;
	}
	return SMTP_PARSE_OK;

fail:
	memset(mail_r, 0, sizeof(*mail_r));
	return rc;
}

/* smtp_parse_rcpt: see smtp_parse.h. */
int
smtp_parse_rcpt(const char *arg, size_t len, bool utf8_ok,
    struct smtp_path *rcpt_r)
{
	struct esmtp_param p;
	size_t pos, rest;
	int rc;

	memset(rcpt_r, 0, sizeof(*rcpt_r));
	len = trim_spaces(arg, len);
	if (!parse_prefix(arg, len, "TO:", &pos))
		return SMTP_PARSE_SYNTAX;
	for (size_t i = pos; i < len; i++) {
		if (ascii_is_ctl((unsigned char)arg[i]))
			return SMTP_PARSE_SYNTAX;
	}
	rc = parse_path_arg(arg + pos, len - pos, false, true, rcpt_r, &rest);
	if (rc != SMTP_PARSE_OK)
		goto fail;
	pos += rest;
	rc = next_param(arg, len, &pos, &p);
	if (rc == 1)
		rc = SMTP_PARSE_BAD_PARAM;
	if (rc != 0)
		goto fail;
	if (rcpt_r->utf8 && !utf8_ok) {
		rc = SMTP_PARSE_UTF8;
		goto fail;
	}
	return SMTP_PARSE_OK;

fail:
	memset(rcpt_r, 0, sizeof(*rcpt_r));
	return rc;
}

/* smtp_parse_bdat: see smtp_parse.h. SPs between the size and LAST and
 * at the end are tolerated. */
int
smtp_parse_bdat(const char *arg, size_t len, uint64_t *size_r, bool *last_r)
{
	uint64_t size;
	size_t i, d;

	*size_r = 0;
	*last_r = false;
	len = trim_spaces(arg, len);
	for (d = 0; d < len && ascii_is_digit((unsigned char)arg[d]); d++)
		;
	if (!parse_digits(arg, d, &size) || size > INT64_MAX)
		return SMTP_PARSE_SYNTAX;
	if (d < len) {
		if (arg[d] != ' ')
			return SMTP_PARSE_SYNTAX;
		for (i = d; i < len && arg[i] == ' '; i++)
			;
		if (!ascii_ieq(arg + i, len - i, "LAST"))
			return SMTP_PARSE_SYNTAX;
		*last_r = true;
	}
	*size_r = size;
	return SMTP_PARSE_OK;
}

/*
 * helo_name_valid: the EHLO/HELO domain: dot-separated labels of 1..63
 * letters, digits, '-', '_' or UTF-8. Laxer than a Domain on purpose:
 * the name only goes into Received:, and office printers and Windows
 * hosts send names like "SCANNER_2" that a 501 would lock out. No
 * empty label, so no leading, trailing or doubled dot.
 */
static bool
helo_name_valid(const char *s, size_t n)
{
	size_t label = 0;

	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '.') {
			if (label == 0)
				return false;
			label = 0;
			continue;
		}
		if (!(ascii_is_alnum(c) || c == '-' || c == '_' || c >= 0x80))
			return false;
		if (++label > 63)
			return false;
	}
	return label > 0 && utf8_valid(s, n);
}

/* smtp_parse_helo: see smtp_parse.h. */
int
smtp_parse_helo(const char *arg, size_t len, char *out)
{
	out[0] = '\0';
	len = trim_spaces(arg, len);
	if (len == 0 || len > LIMIT_ADDR_DOMAIN)
		return SMTP_PARSE_SYNTAX;
	if (arg[0] == '[') {
		if (span_literal(arg, len) != len ||
		    !address_literal_valid(arg + 1, len - 2))
			return SMTP_PARSE_SYNTAX;
	} else if (!helo_name_valid(arg, len)) {
		return SMTP_PARSE_SYNTAX;
	}
	memcpy(out, arg, len);
	out[len] = '\0';
	return SMTP_PARSE_OK;
}

/* b64_syntax_valid: s (n bytes) is "=" or RFC 4648 base64 with padding:
 * groups of four, '=' only at the end. Decoding is sasl.c's. */
static bool
b64_syntax_valid(const char *s, size_t n)
{
	size_t pad = 0;

	if (n == 1 && s[0] == '=')
		return true;
	if (n == 0 || n % 4 != 0)
		return false;
	while (pad < 2 && s[n - 1 - pad] == '=')
		pad++;
	for (size_t i = 0; i < n - pad; i++) {
		unsigned char c = (unsigned char)s[i];

		if (!ascii_is_alnum(c) && c != '+' && c != '/')
			return false;
	}
	return true;
}

/* smtp_parse_auth: see smtp_parse.h. SPs between the mechanism and the
 * response are tolerated; a response over LIMIT_SASL_LINE, not base64,
 * or followed by more words is SMTP_PARSE_SYNTAX. */
int
smtp_parse_auth(const char *arg, size_t len, char mech[21],
    const char **ir_r, size_t *ir_len_r)
{
	size_t m, i;

	mech[0] = '\0';
	*ir_r = NULL;
	*ir_len_r = 0;
	len = trim_spaces(arg, len);
	for (m = 0; m < len && arg[m] != ' '; m++) {
		unsigned char c = (unsigned char)arg[m];

		if (m >= SASL_MECH_MAX ||
		    !(ascii_is_alnum(c) || c == '-' || c == '_'))
			return SMTP_PARSE_SYNTAX;
	}
	if (m == 0)
		return SMTP_PARSE_SYNTAX;
	for (i = m; i < len && arg[i] == ' '; i++)
		;
	if (i < len) {
		if (len - i > LIMIT_SASL_LINE ||
		    !b64_syntax_valid(arg + i, len - i))
			return SMTP_PARSE_SYNTAX;
		*ir_r = arg + i;
		*ir_len_r = len - i;
	}
	for (i = 0; i < m; i++)
		mech[i] = (char)ascii_upper((unsigned char)arg[i]);
	mech[m] = '\0';
	return SMTP_PARSE_OK;
}
