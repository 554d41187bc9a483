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
 */
int dsn_build(const struct dsn_input *in, struct buf *out);

/* dsn_status_of: the RFC 3463 status of an SMTP reply: its enhanced code
 * when it has a valid one whose class matches the reply code's first
 * digit ("550 5.1.1 ..." -> "5.1.1"), else "5.0.0" / "4.0.0" from the
 * reply code; code 0 (no reply: network) gives "4.4.1". out: 16 bytes. */
void dsn_status_of(int code, const char *text, char out[16]);

#endif
