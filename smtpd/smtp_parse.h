/*
 * smtp_parse.h - the SMTP command grammar (RFC 5321 4.1, with the
 * parameters of RFC 1870 SIZE, RFC 6152 8BITMIME, RFC 3030 BDAT and
 * BINARYMIME, RFC 6531 SMTPUTF8, RFC 4954 AUTH=).
 *
 * Pure functions over one command line (without CRLF): no I/O, no
 * allocation; results are copied into fixed-size fields bounded by
 * limits.h. Input is untrusted.
 */
#ifndef LETTERBOX_SMTP_PARSE_H
#define LETTERBOX_SMTP_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/limits.h"

enum smtp_verb {
	SMTP_VERB_UNKNOWN = 0,
	SMTP_VERB_EHLO,
	SMTP_VERB_HELO,
	SMTP_VERB_MAIL,
	SMTP_VERB_RCPT,
	SMTP_VERB_DATA,
	SMTP_VERB_BDAT,
	SMTP_VERB_RSET,
	SMTP_VERB_NOOP,
	SMTP_VERB_QUIT,
	SMTP_VERB_VRFY,
	SMTP_VERB_EXPN,
	SMTP_VERB_HELP,
	SMTP_VERB_STARTTLS,
	SMTP_VERB_AUTH,
};

enum smtp_parse_err {
	SMTP_PARSE_OK = 0,
	SMTP_PARSE_SYNTAX = -1,		/* 501 5.5.4 / 500 5.5.2 */
	SMTP_PARSE_BAD_ADDRESS = -2,	/* 553 5.1.3 (RCPT) / 5.1.7 (MAIL) */
	SMTP_PARSE_BAD_PARAM = -3,	/* 555 5.5.4 unknown or bad parameter */
	SMTP_PARSE_UTF8 = -4,		/* 553 5.6.7: UTF-8 without SMTPUTF8 */
};

struct smtp_command {
	enum smtp_verb verb;
	const char *arg;	/* into the line: after the verb and the SPs
				   that follow it, without trailing SPs;
				   "" when none */
	size_t arg_len;
};

/*
 * smtp_parse_command: the verb (the run of ASCII letters that starts the
 * line, case-insensitive; "MAIL FROM:" and "RCPT TO:" are verbs MAIL and
 * RCPT with arg starting at "FROM:"/"TO:") and its argument. An unknown
 * verb is SMTP_VERB_UNKNOWN with SMTP_PARSE_OK. SMTP_PARSE_SYNTAX for an
 * empty line, a NUL byte or any control character (TAB and DEL included:
 * RFC 5321 has no place for them) in the line, or a verb followed by
 * something other than SP or the end. Bytes >= 0x80 pass; the argument's
 * parser judges them.
 */
int smtp_parse_command(const char *line, size_t len,
    struct smtp_command *cmd_r);

/*
 * A path: "<>" (null, MAIL only) or "<local@domain>" with an optional
 * source route "@a,@b:" checked and dropped (RFC 5321 4.1.2, C.); quoted
 * local parts are kept as the client wrote them, with quotes; the domain
 * (a name, "[1.2.3.4]" or "[IPv6:...]") as written, not case-folded.
 * Refused as SMTP_PARSE_BAD_ADDRESS: an empty quoted local part (""), a
 * General-address-literal ("[tag:...]" other than IPv6), a trailing dot,
 * parts over the RFC 5321 4.5.3.1 limits, malformed UTF-8.
 *
 * Without angle brackets ("MAIL FROM: user@example.org", as old clients
 * send) the address is accepted only when it is the whole argument: with
 * parameters after it, brackets are required (SMTP_PARSE_SYNTAX), so a
 * parameter can never be read as part of an address. Postfix accepts the
 * same by default (strict_rfc821_envelopes = no).
 */
struct smtp_path {
	bool null;			/* "<>" */
	char address[LIMIT_ADDR_TOTAL + 1];	/* "" when null */
	bool utf8;			/* address holds non-ASCII */
};

enum smtp_body {
	SMTP_BODY_7BIT = 0,
	SMTP_BODY_8BITMIME,
	SMTP_BODY_BINARYMIME,
};

struct smtp_mail_args {
	struct smtp_path from;
	uint64_t size;		/* SIZE=, 0 when absent */
	enum smtp_body body;	/* BODY=, 7BIT when absent */
	bool smtputf8;		/* SMTPUTF8 */
};

/*
 * smtp_parse_mail: the argument of MAIL ("FROM:<path> params"); SPs
 * after the colon, between parameters and at the end are tolerated.
 * Parameters (case-insensitive keywords):
 * SIZE=digits (at most 20), BODY=7BIT|8BITMIME|BINARYMIME, SMTPUTF8 (no
 * value), AUTH=xtext (accepted and ignored, RFC 4954 5); any other, one
 * given twice, or a known one with a bad value (SIZE over 2^64 - 1) is
 * SMTP_PARSE_BAD_PARAM; a parameter outside the esmtp-param grammar is
 * SMTP_PARSE_SYNTAX. A non-ASCII address (or AUTH= value) without
 * SMTPUTF8 is SMTP_PARSE_UTF8. On any error *mail_r is zeroed.
 */
int smtp_parse_mail(const char *arg, size_t len, struct smtp_mail_args *mail_r);

/*
 * smtp_parse_rcpt: the argument of RCPT ("TO:<path> params"). The null
 * path is SMTP_PARSE_BAD_ADDRESS; "<postmaster>" (no domain, any case,
 * brackets required, RFC 5321 4.1.1.3 and 4.5.1) is returned as address
 * "postmaster" in lower case. No parameters are supported
 * yet (DSN's NOTIFY/ORCPT come with outbound delivery): any is
 * SMTP_PARSE_BAD_PARAM. utf8_ok: SMTPUTF8 was given on MAIL.
 */
int smtp_parse_rcpt(const char *arg, size_t len, bool utf8_ok,
    struct smtp_path *rcpt_r);

/*
 * smtp_parse_bdat: "chunk-size [LAST]" (RFC 3030 2): size at most 20
 * digits and below 2^63; LAST case-insensitive. Anything else is
 * SMTP_PARSE_SYNTAX.
 */
int smtp_parse_bdat(const char *arg, size_t len, uint64_t *size_r,
    bool *last_r);

/*
 * smtp_parse_helo: the EHLO/HELO argument: a domain name (labels of 1-63
 * letters, digits, '-', '_' or UTF-8, no empty label) or an address
 * literal "[1.2.3.4]" / "[IPv6:...]" (RFC 5321 4.1.3). Copies it into out
 * (LIMIT_ADDR_DOMAIN + 1 bytes) for the Received: header. Some real
 * clients send a bare word (no dot) or a name with '_' (Windows hosts,
 * office scanners): accepted, the name is only informational. Empty,
 * holding spaces, controls or other punctuation, or over-long is
 * SMTP_PARSE_SYNTAX (out is then "").
 */
int smtp_parse_helo(const char *arg, size_t len, char *out);

/*
 * smtp_parse_auth: "MECHANISM [initial-response]" (RFC 4954 4): the
 * mechanism name (1-20 of A-Z, 0-9, '-', '_', RFC 4422 3.1, any case)
 * upper-cased into mech, and in ir_r and ir_len_r the initial response
 * ("=" means empty) or NULL and 0. The response is checked to be base64
 * with padding (or "=") of at most LIMIT_SASL_LINE bytes, not decoded.
 */
int smtp_parse_auth(const char *arg, size_t len, char mech[21],
    const char **ir_r, size_t *ir_len_r);

#endif
