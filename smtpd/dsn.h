/*
 * dsn.h - delivery status notifications: the RFC 3464 multipart/report
 * message the delivery agent sends back to the envelope sender when
 * delivery failed for good, or is delayed.
 */
#ifndef LETTERBOX_SMTPD_DSN_H
#define LETTERBOX_SMTPD_DSN_H

#include <stddef.h>
#include <time.h>

#include "common/buf.h"

/* At most this much of the original header goes into the report (cut
 * before a field, or a line, that would pass it; the text says so): a
 * bounce needs the header to be recognised, not to be a second copy of a
 * huge one. */
#define DSN_ORIG_HEADER_MAX	(64 * 1024)
/* Each copied string (address, diagnostic, host, queue ID) is cut here
 * with "...": SMTP replies are 512 bytes a line (RFC 5321 4.5.3.1.5), a
 * few joined lines fit. */
#define DSN_VALUE_MAX		2048

enum dsn_action {
	DSN_FAILED = 0,		/* Action: failed */
	DSN_DELAYED,		/* Action: delayed (still being tried) */
};

struct dsn_rcpt {
	const char *address;		/* the recipient as given in RCPT */
	const char *status;		/* "5.1.1": RFC 3463 code */
	const char *diagnostic;		/* remote reply "550 5.1.1 No such
					   user", or NULL */
	const char *remote_mta;		/* host that answered, or NULL */
	time_t last_attempt;		/* 0: none */
};

struct dsn_input {
	const char *reporting_mta;	/* our hostname */
	const char *sender;		/* the original envelope sender (the
					   DSN's recipient) */
	const char *queue_id;		/* X-Letterbox-Queue-ID, in the text */
	time_t arrival;			/* when we accepted the message */
	time_t now;
	time_t retry_until;		/* DELAYED: when we give up */
	enum dsn_action action;
	const struct dsn_rcpt *rcpts;
	size_t nrcpts;			/* >= 1 */
	const char *orig_header;	/* the original message's header */
	size_t orig_header_len;		/* (up to the empty line) */
};

/*
 * dsn_build: appends the whole DSN message (header and body, CRLF line
 * ends, 7-bit) to out: From: "Mail Delivery System"
 * <MAILER-DAEMON@reporting_mta>, To: sender, Subject ("Undelivered Mail
 * Returned to Sender" / "Delayed Mail (still being retried)"), Date,
 * Message-ID, Auto-Submitted: auto-replied (RFC 3834), MIME-Version, and
 * a multipart/report; report-type=delivery-status with three parts: a
 * human-readable text/plain, message/delivery-status (per-message fields
 * Reporting-MTA: dns; ..., X-Letterbox-Queue-ID, Arrival-Date; per
 * recipient Final-Recipient: rfc822; ..., Action, Status,
 * Remote-MTA: dns; ..., Diagnostic-Code: smtp; ..., Last-Attempt-Date,
 * Will-Retry-Until for DELAYED) and text/rfc822-headers with the
 * original header. Non-ASCII or control bytes in copied text are
 * replaced so the report stays 7-bit and one field per line. 0, or -1
 * when out's limit is reached.
 *
 * Details of the above: copied strings have CR, LF and TAB made spaces,
 * runs of spaces made one, other control bytes and 8-bit bytes made '?'
 * (we do not use RFC 6532/6533 message/global-*), and are cut at
 * DSN_VALUE_MAX. The original header keeps its bytes except that bare
 * LF becomes CRLF, 8-bit and control bytes (not TAB) become '?', a line
 * over 998 octets is folded, and it ends at its first empty line or at
 * DSN_ORIG_HEADER_MAX. Dates are UTC ("+0000"). A diagnostic that does
 * not start with a reply code ("connect to ...: Connection refused") is
 * Diagnostic-Code type X-Letterbox, not smtp. A status that is not a
 * valid RFC 3463 code becomes 5.0.0 (FAILED) or 4.0.0 (DELAYED).
 * Also -1 when in->sender is "" (RFC 5321 6.1: never send a DSN to the
 * null reverse-path) or a time is before 1900. On -1, out is unchanged.
 * NULL strings where the struct says one is needed, or nrcpts 0, are
 * the caller's bug: fatal().
 */
int dsn_build(const struct dsn_input *in, struct buf *out);

/* dsn_status_of: the RFC 3463 status of an SMTP reply: its enhanced code
 * when it has a valid one whose class matches the reply code's first
 * digit ("550 5.1.1 ..." -> "5.1.1"), else "5.0.0" / "4.0.0" from the
 * reply code; code 0 (no reply: network) gives "4.4.1". out: 16 bytes.
 * text may start with the reply code ("550 " or "550-") or directly with
 * the enhanced code; NULL is no text. Valid: class digit, '.', 1-3
 * digits, '.', 1-3 digits, then a space or the end (RFC 2034, RFC 3463
 * 2). A 2xx reply without one gives "2.0.0"; any code other than 0,
 * 2xx and 4xx gives "5.0.0". */
void dsn_status_of(int code, const char *text, char out[16]);

#endif
