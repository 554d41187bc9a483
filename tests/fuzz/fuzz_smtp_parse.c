/*
 * fuzz_smtp_parse.c - libFuzzer target for the SMTP command grammar.
 *
 * The input is given to every parser as a whole command line and as the
 * argument of each verb. Checks invariants as well as memory safety:
 * results fit their limits; a parsed path holds no control byte, says
 * utf8 exactly when it holds non-ASCII, and parses again to the same
 * address (bracketed and bare); a plain dot-string address is one that
 * address_parse() (the store's) accepts; every Domain that
 * address_domain_valid() accepts is accepted in a path and by HELO;
 * MAIL, BDAT, HELO and AUTH results survive being written out and read
 * back.
 */
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/address.h"
#include "smtpd/smtp_parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Room for any re-built argument: a path and all MAIL parameters. */
#define BUF_MAX	(LIMIT_ADDR_TOTAL + 256)

static const char *const verb_names[] = {
	[SMTP_VERB_EHLO] = "EHLO", [SMTP_VERB_HELO] = "HELO",
	[SMTP_VERB_MAIL] = "MAIL", [SMTP_VERB_RCPT] = "RCPT",
	[SMTP_VERB_DATA] = "DATA", [SMTP_VERB_BDAT] = "BDAT",
	[SMTP_VERB_RSET] = "RSET", [SMTP_VERB_NOOP] = "NOOP",
	[SMTP_VERB_QUIT] = "QUIT", [SMTP_VERB_VRFY] = "VRFY",
	[SMTP_VERB_EXPN] = "EXPN", [SMTP_VERB_HELP] = "HELP",
	[SMTP_VERB_STARTTLS] = "STARTTLS", [SMTP_VERB_AUTH] = "AUTH",
};

static bool
any_ctl(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return true;
	}
	return false;
}

static bool
any_8bit(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if ((unsigned char)s[i] >= 0x80)
			return true;
	}
	return false;
}

static bool
same_path(const struct smtp_path *a, const struct smtp_path *b)
{
	return a->null == b->null && a->utf8 == b->utf8 &&
	    strcmp(a->address, b->address) == 0;
}

static void
check_command(const char *line, size_t len)
{
	struct smtp_command cmd;
	size_t vlen;

	if (smtp_parse_command(line, len, &cmd) != SMTP_PARSE_OK) {
		if (cmd.verb != SMTP_VERB_UNKNOWN || cmd.arg_len != 0)
			abort();
		return;
	}
	if (any_ctl(line, len) || cmd.arg == NULL || cmd.arg_len > len)
		abort();
	if (cmd.arg_len > 0) {
		if (cmd.arg < line || cmd.arg + cmd.arg_len > line + len ||
		    cmd.arg[0] == ' ' || cmd.arg[cmd.arg_len - 1] == ' ')
			abort();
	}
	if (cmd.verb != SMTP_VERB_UNKNOWN) {
		vlen = strlen(verb_names[cmd.verb]);
		if (len < vlen || strncasecmp(line, verb_names[cmd.verb],
		    vlen) != 0 || (len > vlen && line[vlen] != ' '))
			abort();
	}
}

/*
 * check_path: invariants of a path that parsed, reached as
 * "<prefix><address>" (prefix "TO:" or "FROM:").
 */
static void
check_path(const struct smtp_path *p, bool utf8_allowed)
{
	size_t n = strlen(p->address);
	const char *at;
	char buf[BUF_MAX];
	struct smtp_path again;
	struct address addr;
	const char *why;

	if (n > LIMIT_ADDR_TOTAL)
		abort();
	if (p->null) {
		if (n != 0 || p->utf8)
			abort();
		return;
	}
	if (n == 0 || any_ctl(p->address, n) ||
	    p->utf8 != any_8bit(p->address, n) ||
	    (p->utf8 && (!utf8_allowed || !utf8_valid(p->address, n))))
		abort();

	/* Bracketed, it parses again to the same thing. */
	snprintf(buf, sizeof(buf), "TO:<%s>", p->address);
	if (smtp_parse_rcpt(buf, strlen(buf), true, &again) !=
	    SMTP_PARSE_OK || !same_path(p, &again))
		abort();
	if (strcmp(p->address, "postmaster") == 0)
		return;

	at = strrchr(p->address, '@');
	if (at == NULL || at == p->address ||
	    (size_t)(at - p->address) > LIMIT_ADDR_LOCAL ||
	    strlen(at + 1) > LIMIT_ADDR_DOMAIN)
		abort();
	/* Bare, too: the address is the whole argument. */
	snprintf(buf, sizeof(buf), "TO:%s", p->address);
	if (smtp_parse_rcpt(buf, strlen(buf), true, &again) !=
	    SMTP_PARSE_OK || !same_path(p, &again))
		abort();
	/* Neither quoted nor a literal: the store's parser agrees. */
	if (p->address[0] != '"' && at[1] != '[') {
		if (address_parse(p->address, &addr, &why) != 0 ||
		    strcasecmp(addr.full, p->address) != 0)
			abort();
		if (!address_domain_valid(at + 1))
			abort();
	}
}

static void
check_mail(const char *arg, size_t len)
{
	static const char *const bodies[] = {
		[SMTP_BODY_7BIT] = "7BIT",
		[SMTP_BODY_8BITMIME] = "8BITMIME",
		[SMTP_BODY_BINARYMIME] = "BINARYMIME",
	};
	struct smtp_mail_args m, again;
	char buf[BUF_MAX];
	int rc;

	rc = smtp_parse_mail(arg, len, &m);
	if (rc != SMTP_PARSE_OK) {
		if (m.from.null || m.from.address[0] != '\0' || m.size != 0 ||
		    m.smtputf8 || m.body != SMTP_BODY_7BIT)
			abort();
		return;
	}
	if ((unsigned int)m.body > SMTP_BODY_BINARYMIME)
		abort();
	check_path(&m.from, m.smtputf8);
	snprintf(buf, sizeof(buf), "FROM:<%s> SIZE=%" PRIu64 " BODY=%s%s",
	    m.from.address, m.size, bodies[m.body],
	    m.smtputf8 ? " SMTPUTF8" : "");
	if (smtp_parse_mail(buf, strlen(buf), &again) != SMTP_PARSE_OK ||
	    !same_path(&m.from, &again.from) || m.size != again.size ||
	    m.body != again.body || m.smtputf8 != again.smtputf8)
		abort();
}

static void
check_rcpt(const char *arg, size_t len)
{
	struct smtp_path p, q;
	int rc, rc2;

	rc = smtp_parse_rcpt(arg, len, false, &p);
	rc2 = smtp_parse_rcpt(arg, len, true, &q);
	if (rc == SMTP_PARSE_OK) {
		/* Allowing UTF-8 never changes an ASCII result. */
		if (p.utf8 || rc2 != SMTP_PARSE_OK || !same_path(&p, &q))
			abort();
		check_path(&p, false);
	} else if (p.address[0] != '\0' || p.null || p.utf8) {
		abort();
	}
	if (rc2 == SMTP_PARSE_OK) {
		if (q.null)
			abort();
		check_path(&q, true);
		/* Refused without SMTPUTF8 exactly when it is non-ASCII. */
		if (q.utf8 != (rc == SMTP_PARSE_UTF8))
			abort();
	} else if (rc2 == SMTP_PARSE_UTF8) {
		abort();
	}
}

static void
check_helo(const char *arg, size_t len)
{
	char out[LIMIT_ADDR_DOMAIN + 1], again[LIMIT_ADDR_DOMAIN + 1];
	size_t n;

	if (smtp_parse_helo(arg, len, out) != SMTP_PARSE_OK) {
		if (out[0] != '\0')
			abort();
		return;
	}
	n = strlen(out);
	if (n == 0 || n > LIMIT_ADDR_DOMAIN || n > len ||
	    memcmp(out, arg, n) != 0 || any_ctl(out, n) ||
	    strchr(out, ' ') != NULL || !utf8_valid(out, n))
		abort();
	if (smtp_parse_helo(out, n, again) != SMTP_PARSE_OK ||
	    strcmp(out, again) != 0)
		abort();
}

/*
 * check_domain: treats the input as a domain. Whatever the store calls a
 * valid domain, SMTP accepts as a path's domain and as an EHLO name; and
 * a path "a@<input>" that parses has exactly the input as its domain
 * (unless the input holds the '>' that ends the path itself).
 */
static void
check_domain(const char *s, size_t len)
{
	char dom[LIMIT_ADDR_DOMAIN + 1], out[LIMIT_ADDR_DOMAIN + 1];
	char buf[BUF_MAX];
	struct smtp_path p;
	bool valid;
	int rc;

	if (len > LIMIT_ADDR_DOMAIN || memchr(s, '\0', len) != NULL)
		return;
	memcpy(dom, s, len);
	dom[len] = '\0';
	valid = address_domain_valid(dom);
	if (valid && smtp_parse_helo(dom, len, out) != SMTP_PARSE_OK)
		abort();
	snprintf(buf, sizeof(buf), "TO:<a@%s>", dom);
	rc = smtp_parse_rcpt(buf, strlen(buf), true, &p);
	if (valid && len + 2 <= LIMIT_ADDR_TOTAL && rc != SMTP_PARSE_OK)
		abort();
	if (rc == SMTP_PARSE_OK && memchr(s, '>', len) == NULL &&
	    (p.address[0] != 'a' ||
	    p.address[1] != '@' || strcmp(p.address + 2, dom) != 0))
		abort();
}

static void
check_bdat(const char *arg, size_t len)
{
	uint64_t size, size2;
	bool last, last2;
	char buf[64];

	if (smtp_parse_bdat(arg, len, &size, &last) != SMTP_PARSE_OK) {
		if (size != 0 || last)
			abort();
		return;
	}
	if (size > INT64_MAX)
		abort();
	snprintf(buf, sizeof(buf), "%" PRIu64 "%s", size, last ? " LAST" : "");
	if (smtp_parse_bdat(buf, strlen(buf), &size2, &last2) !=
	    SMTP_PARSE_OK || size2 != size || last2 != last)
		abort();
}

static void
check_auth(const char *arg, size_t len)
{
	char mech[21], mech2[21];
	char buf[LIMIT_SASL_LINE + 32];
	const char *ir, *ir2;
	size_t ir_len, ir_len2, n;

	if (smtp_parse_auth(arg, len, mech, &ir, &ir_len) != SMTP_PARSE_OK) {
		if (mech[0] != '\0' || ir != NULL || ir_len != 0)
			abort();
		return;
	}
	n = strlen(mech);
	if (n == 0 || n > 20 || strspn(mech,
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_") != n ||
	    strncasecmp(mech, arg, n) != 0)
		abort();
	if (ir == NULL) {
		if (ir_len != 0)
			abort();
		return;
	}
	if (ir < arg || ir + ir_len > arg + len || ir_len == 0 ||
	    ir_len > LIMIT_SASL_LINE || memchr(ir, ' ', ir_len) != NULL)
		abort();
	snprintf(buf, sizeof(buf), "%s %.*s", mech, (int)ir_len, ir);
	if (smtp_parse_auth(buf, strlen(buf), mech2, &ir2, &ir_len2) !=
	    SMTP_PARSE_OK || strcmp(mech, mech2) != 0 || ir2 == NULL ||
	    ir_len2 != ir_len || memcmp(ir, ir2, ir_len) != 0)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data;

	/* data is exactly size bytes, no NUL after it: the sanitizer
	 * catches a parser that reads past its length. */
	check_command(s, size);
	check_mail(s, size);
	check_rcpt(s, size);
	check_helo(s, size);
	check_domain(s, size);
	check_bdat(s, size);
	check_auth(s, size);
	return 0;
}
