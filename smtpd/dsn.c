/*
 * dsn.c - builds delivery status notifications: the bounce (Action:
 * failed) or delay warning (Action: delayed) sent to the envelope sender.
 * RFC 6522 multipart/report holding a plain-English text/plain, an RFC
 * 3464 message/delivery-status with RFC 3463 status codes, and the
 * original header as text/rfc822-headers; Auto-Submitted per RFC 3834.
 *
 * Trusts the structure of struct dsn_input (a broken one is fatal()), no
 * text in it: addresses, diagnostics, host names and the original header
 * came from the network, so each is made 7-bit, single-line and bounded
 * before it is copied (a diagnostic "...\r\nBcc: x" must not become a
 * header field). Limits: out's maximum (all or nothing),
 * DSN_ORIG_HEADER_MAX, DSN_VALUE_MAX per copied string, lines folded at
 * 78 columns where a word allows and always at 998 (RFC 5322 2.1.1).
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "common/ascii.h"
#include "common/log.h"
#include "common/xalloc.h"
#include "smtpd/dsn.h"

/* RFC 5322 2.1.1: lines SHOULD be at most 78 characters, MUST be at most
 * 998, both without the CRLF. */
#define LINE_SOFT	78
#define LINE_HARD	998

/* A boundary that is found in the content is drawn again; with 128
 * random bits, failing this often means the generator is broken. */
#define BOUNDARY_TRIES	8

/* "Thu, 1 Jan 1970 00:00:00 +0000", with room for any int year. */
#define DATE_SIZE	64

struct dsn_writer {
	struct buf *out;
	bool failed;		/* out's maximum reached, or a bad date */
};

/* What dsn_build works out once, before (re)writing the message. */
struct dsn_ctx {
	const struct dsn_input *in;
	char *host;		/* owned: reporting_mta as a dot-atom */
	char msgid[33];		/* 128 random bits in hex */
	char boundary[48];	/* "lb-dsn-" and 128 random bits in hex */
	size_t hdr_len;		/* bytes of orig_header to copy */
	bool hdr_cut;		/* it was longer than DSN_ORIG_HEADER_MAX */
};

/* ---- RFC 3463 status codes ---- */

/*
 * enhanced_len: the length of the RFC 3463 code at p (class "2", "4" or
 * "5", which must be cls; "." 1*3digit "." 1*3digit), when it is followed
 * by a space or the end of the string; else 0. Reads no further than the
 * first byte that breaks the syntax, so p need only be NUL-terminated.
 */
static size_t
enhanced_len(const char *p, int cls)
{
	size_t i = 2, n;
	int part;

	if (p[0] != '2' && p[0] != '4' && p[0] != '5')
		return 0;
	if (p[0] - '0' != cls || p[1] != '.')
		return 0;
	for (part = 0; part < 2; part++) {
		for (n = 0; n < 4 && ascii_is_digit((unsigned char)p[i + n]);
		    n++)
			;
		if (n == 0 || n > 3)
			return 0;
		i += n;
		if (part == 0) {
			if (p[i] != '.')
				return 0;
			i++;
		}
	}
	if (p[i] != ' ' && p[i] != '\0')
		return 0;
	return i;
}

void
dsn_status_of(int code, const char *text, char out[16])
{
	int cls = code / 100;
	const char *p = text;
	size_t n;

	/* No reply at all: the network failed us, which may pass. */
	if (code == 0) {
		memcpy(out, "4.4.1", 6);
		return;
	}
	if (p != NULL && code >= 200 && code <= 599) {
		/* RFC 2034 3: the enhanced code follows "550 " or "550-". */
		if (ascii_is_digit((unsigned char)p[0]) &&
		    ascii_is_digit((unsigned char)p[1]) &&
		    ascii_is_digit((unsigned char)p[2]) &&
		    (p[3] == ' ' || p[3] == '-'))
			p += 4;
		n = enhanced_len(p, cls);
		if (n > 0) {
			memcpy(out, p, n);	/* n <= 9 */
			out[n] = '\0';
			return;
		}
	}
	memcpy(out, cls == 2 ? "2.0.0" : cls == 4 ? "4.0.0" : "5.0.0", 6);
}

/* status_ok: s is exactly an RFC 3463 code, class 2, 4 or 5. */
static bool
status_ok(const char *s)
{
	size_t n;

	if (s == NULL)
		return false;
	n = enhanced_len(s, s[0] - '0');
	return n > 0 && s[n] == '\0';
}

/* RFC 3463 3 (and later registrations), in words a sender understands. */
static const struct {
	const char *code;	/* subject.detail */
	const char *words;
} status_words[] = {
	{ "1.1", "the recipient's mailbox does not exist" },
	{ "1.2", "the recipient's domain does not exist or takes no mail" },
	{ "1.3", "the recipient's address is not valid" },
	{ "1.4", "the recipient's address is ambiguous" },
	{ "1.6", "the recipient's mailbox has moved" },
	{ "1.7", "the sender's address is not valid" },
	{ "1.8", "the sender's domain is not valid" },
	{ "1.10", "the recipient's domain takes no mail (null MX)" },
	{ "2.1", "the recipient's mailbox is disabled" },
	{ "2.2", "the recipient's mailbox is full" },
	{ "2.3", "the message is larger than the recipient accepts" },
	{ "2.4", "a mailing list could not be expanded" },
	{ "3.1", "the receiving mail system is full" },
	{ "3.2", "the receiving mail system is not accepting mail" },
	{ "3.3", "the receiving mail system lacks a feature the message "
	    "needs" },
	{ "3.4", "the message is too big for the receiving mail system" },
	{ "3.5", "the receiving mail system is misconfigured" },
	{ "4.1", "the recipient's mail server did not answer" },
	{ "4.2", "the connection to the recipient's mail server failed" },
	{ "4.3", "a directory (DNS) lookup failed" },
	{ "4.4", "no mail server was found for the recipient's domain" },
	{ "4.5", "the mail system is congested" },
	{ "4.6", "the message was going round in a loop" },
	{ "4.7", "the message could not be delivered in time" },
	{ "5.3", "the message has too many recipients" },
	{ "6.3", "the message needs a conversion the server cannot do" },
	{ "6.7", "the server does not accept non-ASCII addresses" },
	{ "7.1", "the recipient's mail system refused the message" },
	{ "7.8", "the login to the mail server failed" },
	{ "7.13", "the recipient's account is disabled" },
	{ "7.23", "the message failed the sender domain's SPF check" },
	{ "7.25", "the sending host's reverse DNS check failed" },
	{ "7.26", "the message failed the recipient's authentication "
	    "checks" },
};

/* RFC 3463 3.1-3.8: the subject alone, when the detail is not known. */
static const char *const subject_words[] = {
	"an unspecified problem",
	"a problem with an address",
	"a problem with the recipient's mailbox",
	"a problem at the receiving mail system",
	"a network or routing problem",
	"a mail protocol problem",
	"a problem with the message's content",
	"a security or policy problem",
};

/* status_text: plain English for a valid status "c.s.d". */
static const char *
status_text(const char *status)
{
	const char *sd = status + 2;
	size_t i;
	long subject;

	for (i = 0; i < sizeof(status_words) / sizeof(status_words[0]); i++)
		if (strcmp(sd, status_words[i].code) == 0)
			return status_words[i].words;
	subject = strtol(sd, NULL, 10);
	if (subject >= 0 && subject <
	    (long)(sizeof(subject_words) / sizeof(subject_words[0])))
		return subject_words[subject];
	return subject_words[0];
}

/* ---- making copied text safe ---- */

/*
 * clean: a malloc'd copy of s fit for one header field or one paragraph:
 * CR, LF and TAB become spaces (a multi-line reply reads as one line),
 * runs of spaces become one, leading and trailing ones go, other control
 * bytes and every 8-bit byte become '?' (the report stays 7-bit: RFC 6532
 * would allow UTF-8 only in message/global-*, which we do not send), and
 * more than DSN_VALUE_MAX bytes are cut with "...". NULL gives "".
 */
static char *
clean(const char *s)
{
	size_t n, i, o = 0;
	bool space = false;
	char *r;

	if (s == NULL)
		s = "";
	n = strnlen(s, DSN_VALUE_MAX + 1);
	/* @UNSAFE: each input byte gives at most one, plus "..." and NUL. */
	r = xmalloc(n + 4);
	for (i = 0; i < n && i < DSN_VALUE_MAX; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
			space = o > 0;
			continue;
		}
		if (space) {
			r[o++] = ' ';
			space = false;
		}
		r[o++] = ascii_is_ctl(c) || c >= 0x80 ? '?' : (char)c;
	}
	if (n > DSN_VALUE_MAX) {
		memcpy(r + o, "...", 3);
		o += 3;
	}
	r[o] = '\0';
	return r;
}

/*
 * clean_host: clean(), then made an RFC 5322 dot-atom, since our host
 * name goes into From: <MAILER-DAEMON@host> and the Message-ID: anything
 * but letters, digits, '-' and '.' becomes '?' (atext), as does a dot
 * that starts, ends or doubles.
 */
static char *
clean_host(const char *s)
{
	char *r = clean(s);
	size_t i, n = strlen(r);

	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)r[i];

		if (c == '.') {
			if (i == 0 || i + 1 == n || r[i - 1] == '.')
				r[i] = '?';
		} else if (!ascii_is_alnum(c) && c != '-')
			r[i] = '?';
	}
	return r;
}

/* ---- writing ---- */

static void
put(struct dsn_writer *w, const char *s, size_t len)
{
	if (!w->failed && buf_append(w->out, s, len) != 0)
		w->failed = true;
}

static void
put_str(struct dsn_writer *w, const char *s)
{
	put(w, s, strlen(s));
}

/* put_own: writes s and frees it (for xasprintf results). */
static void
put_own(struct dsn_writer *w, char *s)
{
	put_str(w, s);
	free(s);
}

/*
 * wrap: writes text (from clean(): no control bytes) from column col,
 * breaking before a space so lines stay within LINE_SOFT where the words
 * allow, and inside a word that would pass LINE_HARD. A new line starts
 * with indent. With indent " " this is RFC 5322 3.2.2 folding: unfolding
 * gives the text back, except that a word broken for length gains a
 * space (only a word of ~990 characters is). Ends with CRLF.
 */
static void
wrap(struct dsn_writer *w, size_t col, const char *text, const char *indent)
{
	const char *p = text;
	size_t ilen = strlen(indent), wlen, room, n;
	bool first = true;

	for (;;) {
		while (*p == ' ')
			p++;
		if (*p == '\0')
			break;
		wlen = strcspn(p, " ");
		if (!first) {
			/* After a word the line holds more than the indent,
			 * so the break never leaves a blank line. */
			if (col + 1 + wlen > LINE_SOFT) {
				put_str(w, "\r\n");
				put_str(w, indent);
				col = ilen;
			} else {
				put_str(w, " ");
				col++;
			}
		}
		first = false;
		while (wlen > 0) {
			if (col >= LINE_HARD)
				fatal("dsn: wrap starts past column %zu", col);
			room = LINE_HARD - col;
			n = wlen < room ? wlen : room;
			put(w, p, n);
			col += n;
			p += n;
			wlen -= n;
			if (wlen > 0) {
				put_str(w, "\r\n");
				put_str(w, indent);
				col = ilen;
			}
		}
	}
	put_str(w, "\r\n");
}

/* field: a header field "name: value", value already clean, folded. */
static void
field(struct dsn_writer *w, const char *name, const char *value)
{
	put_str(w, name);
	put_str(w, ": ");
	wrap(w, strlen(name) + 2, value, " ");
}

/* field_own: field() with a value from xasprintf, freed. */
static void
field_own(struct dsn_writer *w, const char *name, char *value)
{
	field(w, name, value);
	free(value);
}

/* para: a paragraph of the human-readable part and the empty line
 * after it. */
static void
para(struct dsn_writer *w, const char *text)
{
	wrap(w, 0, text, "");
	put_str(w, "\r\n");
}

static void
para_own(struct dsn_writer *w, char *text)
{
	para(w, text);
	free(text);
}

/*
 * fmt_date: t as an RFC 5322 3.3 date-time in UTC ("+0000"), with
 * English names whatever the locale. false (and out "") for a time
 * gmtime_r cannot show or before 1900 (RFC 5322 3.3: year >= 1900).
 */
static bool
fmt_date(time_t t, char out[DATE_SIZE])
{
	static const char days[7][4] = {
		"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"
	};
	static const char months[12][4] = {
		"Jan", "Feb", "Mar", "Apr", "May", "Jun",
		"Jul", "Aug", "Sep", "Oct", "Nov", "Dec"
	};
	struct tm tm;

	out[0] = '\0';
	if (gmtime_r(&t, &tm) == NULL || tm.tm_year < 0 ||
	    tm.tm_wday < 0 || tm.tm_wday > 6 || tm.tm_mon < 0 ||
	    tm.tm_mon > 11)
		return false;
	snprintf(out, DATE_SIZE, "%s, %d %s %d %02d:%02d:%02d +0000",
	    days[tm.tm_wday], tm.tm_mday, months[tm.tm_mon],
	    tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
	return true;
}

/* date: fmt_date(), a failure making the whole DSN fail. */
static const char *
date(struct dsn_writer *w, time_t t, char out[DATE_SIZE])
{
	if (!fmt_date(t, out))
		w->failed = true;
	return out;
}

/* rcpt_status: the recipient's status if valid, else the action's
 * undefined one (RFC 3463 3.1: X.0.0). */
static const char *
rcpt_status(const struct dsn_input *in, const struct dsn_rcpt *r)
{
	if (status_ok(r->status))
		return r->status;
	return in->action == DSN_DELAYED ? "4.0.0" : "5.0.0";
}

/* is_smtp_reply: s starts with a reply code (RFC 5321 4.2: 3 digits,
 * then space, hyphen or the end), so Diagnostic-Code type smtp fits. */
static bool
is_smtp_reply(const char *s)
{
	return s[0] >= '2' && s[0] <= '5' &&
	    ascii_is_digit((unsigned char)s[1]) &&
	    ascii_is_digit((unsigned char)s[2]) &&
	    (s[3] == ' ' || s[3] == '-' || s[3] == '\0');
}

static void
write_header(struct dsn_writer *w, const struct dsn_ctx *ctx)
{
	const struct dsn_input *in = ctx->in;
	char d[DATE_SIZE], *to = clean(in->sender);

	field_own(w, "From", xasprintf("\"Mail Delivery System\" "
	    "<MAILER-DAEMON@%s>", ctx->host));
	field_own(w, "To", xasprintf("<%s>", to));
	free(to);
	field(w, "Subject", in->action == DSN_DELAYED ?
	    "Delayed Mail (still being retried)" :
	    "Undelivered Mail Returned to Sender");
	field(w, "Date", date(w, in->now, d));
	field_own(w, "Message-ID", xasprintf("<%s@%s>", ctx->msgid,
	    ctx->host));
	/* RFC 3834 5: made by software in answer to a message; an
	 * auto-responder must not answer it. */
	field(w, "Auto-Submitted", "auto-replied");
	field(w, "MIME-Version", "1.0");
	/* RFC 6522 3: report-type names the second part. */
	put_own(w, xasprintf("Content-Type: multipart/report; "
	    "report-type=delivery-status;\r\n\tboundary=\"%s\"\r\n",
	    ctx->boundary));
	put_str(w, "\r\n");
	/* RFC 2046 5.1.1: the preamble is for readers without MIME. */
	put_str(w, "This is a MIME-encapsulated message.\r\n\r\n");
}

/* write_rcpt_text: one recipient's paragraph in the human-readable
 * part, e.g. "<a@b>: host mx.b said: 550 5.1.1 No such user (the
 * recipient's mailbox does not exist; status 5.1.1)". */
static void
write_rcpt_text(struct dsn_writer *w, const struct dsn_ctx *ctx,
    const struct dsn_rcpt *r)
{
	const char *status = rcpt_status(ctx->in, r);
	char *addr = clean(r->address), *diag = clean(r->diagnostic);
	char *mta = clean(r->remote_mta), *why, *line;

	if (*diag != '\0' && *mta != '\0')
		why = xasprintf("host %s said: %s (%s; status %s)", mta, diag,
		    status_text(status), status);
	else if (*diag != '\0')
		why = xasprintf("%s (%s; status %s)", diag,
		    status_text(status), status);
	else if (*mta != '\0')
		why = xasprintf("%s, at host %s (status %s)",
		    status_text(status), mta, status);
	else
		why = xasprintf("%s (status %s)", status_text(status),
		    status);
	line = xasprintf("<%s>: %s", addr, why);
	/* Continuation lines indented so each recipient stands out. */
	wrap(w, 0, line, "    ");
	free(line);
	free(addr);
	free(diag);
	free(mta);
	free(why);
}

static void
write_text(struct dsn_writer *w, const struct dsn_ctx *ctx)
{
	const struct dsn_input *in = ctx->in;
	char d[DATE_SIZE];
	size_t i;

	put_str(w, "Content-Description: Notification\r\n"
	    "Content-Type: text/plain; charset=us-ascii\r\n\r\n");
	para_own(w, xasprintf("This is the mail system at host %s.",
	    ctx->host));
	if (in->action == DSN_DELAYED) {
		put_str(w,
		    "####################################################"
		    "################\r\n"
		    "# THIS IS A WARNING ONLY.  YOU DO NOT NEED TO RESEND "
		    "YOUR MESSAGE. #\r\n"
		    "####################################################"
		    "################\r\n\r\n");
		para(w, "Your message could not be delivered yet to one or "
		    "more recipients listed below. The mail system is "
		    "still trying.");
		if (in->retry_until != 0)
			para_own(w, xasprintf("It will keep retrying until "
			    "%s. You will hear again only if the message "
			    "still cannot be delivered by then.",
			    date(w, in->retry_until, d)));
		else
			para(w, "You will hear again only if it gives up.");
		para(w, "Nothing needs doing on your side.");
	} else {
		para(w, "I'm sorry to have to inform you that your message "
		    "could not be delivered to one or more recipients. "
		    "The header of your message is attached below.");
		para(w, "For further assistance, please send mail to "
		    "postmaster. If you do so, please include this "
		    "problem report.");
	}
	if (in->arrival != 0 || (in->queue_id != NULL &&
	    in->queue_id[0] != '\0')) {
		char *q = clean(in->queue_id);

		para_own(w, xasprintf("Your message was received%s%s%s%s.",
		    in->arrival != 0 ? " on " : "",
		    in->arrival != 0 ? date(w, in->arrival, d) : "",
		    *q != '\0' ? " with queue ID " : "", q));
		free(q);
	}
	if (ctx->hdr_cut)
		para_own(w, xasprintf("The header of your message is longer "
		    "than %d bytes; only its first fields are attached.",
		    DSN_ORIG_HEADER_MAX));
	put_str(w, "                   The mail system\r\n\r\n");
	for (i = 0; i < in->nrcpts; i++) {
		if (i > 0)
			put_str(w, "\r\n");
		write_rcpt_text(w, ctx, &in->rcpts[i]);
	}
}

/* write_report: the message/delivery-status body, RFC 3464 2.1: the
 * per-message fields, then for each recipient an empty line and its
 * fields, each group in the order of the RFC 3464 2.2 / 2.3 grammar. */
static void
write_report(struct dsn_writer *w, const struct dsn_ctx *ctx)
{
	const struct dsn_input *in = ctx->in;
	char d[DATE_SIZE];
	size_t i;

	put_str(w, "Content-Description: Delivery report\r\n"
	    "Content-Type: message/delivery-status\r\n\r\n");
	field_own(w, "Reporting-MTA", xasprintf("dns; %s", ctx->host));
	if (in->arrival != 0)
		field(w, "Arrival-Date", date(w, in->arrival, d));
	if (in->queue_id != NULL && in->queue_id[0] != '\0') {
		char *q = clean(in->queue_id);

		field(w, "X-Letterbox-Queue-ID", q);	/* RFC 3464 2.4 */
		free(q);
	}
	for (i = 0; i < in->nrcpts; i++) {
		const struct dsn_rcpt *r = &in->rcpts[i];
		char *addr = clean(r->address), *diag = clean(r->diagnostic);
		char *mta = clean(r->remote_mta);

		put_str(w, "\r\n");
		field_own(w, "Final-Recipient", xasprintf("rfc822; %s",
		    addr));
		field(w, "Action", in->action == DSN_DELAYED ? "delayed" :
		    "failed");
		field(w, "Status", rcpt_status(in, r));
		if (*mta != '\0')
			field_own(w, "Remote-MTA", xasprintf("dns; %s", mta));
		/* RFC 3464 2.3.6: type smtp only for an SMTP reply. */
		if (*diag != '\0')
			field_own(w, "Diagnostic-Code", xasprintf("%s; %s",
			    is_smtp_reply(diag) ? "smtp" : "X-Letterbox",
			    diag));
		if (r->last_attempt != 0)
			field(w, "Last-Attempt-Date",
			    date(w, r->last_attempt, d));
		/* RFC 3464 2.3.7: only for delayed. */
		if (in->action == DSN_DELAYED && in->retry_until != 0)
			field(w, "Will-Retry-Until",
			    date(w, in->retry_until, d));
		free(addr);
		free(diag);
		free(mta);
	}
}

/*
 * orig_extent: how much of the original header to copy: up to its first
 * empty line (RFC 5322 2.1: the end of the header) and within
 * DSN_ORIG_HEADER_MAX, cut before the last field that starts within the
 * limit, else before the last line, else at the limit (one huge line).
 * *cut_r: something was left out.
 */
static size_t
orig_extent(const char *h, size_t len, bool *cut_r)
{
	size_t ls = 0, le, last_field = 0;
	const char *nl;

	*cut_r = false;
	while (ls < len) {
		nl = memchr(h + ls, '\n', len - ls);
		le = nl != NULL ? (size_t)(nl - h) + 1 : len;
		if (h[ls] == '\n' || (h[ls] == '\r' && le - ls == 2 &&
		    h[ls + 1] == '\n'))
			return ls;
		if (h[ls] != ' ' && h[ls] != '\t')
			last_field = ls;
		if (le > DSN_ORIG_HEADER_MAX) {
			*cut_r = true;
			if (last_field > 0)
				return last_field;
			return ls > 0 ? ls : DSN_ORIG_HEADER_MAX;
		}
		ls = le;
	}
	return len;
}

/*
 * write_orig: the text/rfc822-headers part (RFC 6522 4): the original
 * header's bytes with LF, CRLF or a CR at the very end (half a CRLF
 * cut off) as CRLF, a lone CR, control bytes but TAB, and 8-bit bytes as
 * '?' (7-bit; RFC 6532 message/global-headers not used), and a line
 * over LINE_HARD folded (a continuation line starting with a space).
 */
static void
write_orig(struct dsn_writer *w, const struct dsn_ctx *ctx)
{
	const char *h = ctx->in->orig_header;
	char chunk[512];
	size_t i, n = 0, col = 0;

	put_str(w, "Content-Description: Undelivered Message Headers\r\n"
	    "Content-Type: text/rfc822-headers\r\n\r\n");
	for (i = 0; i < ctx->hdr_len; i++) {
		unsigned char c = (unsigned char)h[i];

		/* Room for a CRLF and a space with each byte. */
		if (n + 4 > sizeof(chunk)) {
			put(w, chunk, n);
			n = 0;
		}
		if (c == '\n' || (c == '\r' && (i + 1 == ctx->hdr_len ||
		    h[i + 1] == '\n'))) {
			if (c == '\r' && i + 1 < ctx->hdr_len)
				i++;
			chunk[n++] = '\r';
			chunk[n++] = '\n';
			col = 0;
			continue;
		}
		if (col == LINE_HARD) {
			chunk[n++] = '\r';
			chunk[n++] = '\n';
			chunk[n++] = ' ';
			col = 1;
		}
		chunk[n++] = c == '\t' || (c >= 0x20 && c < 0x7f) ?
		    (char)c : '?';
		col++;
	}
	if (col > 0) {
		chunk[n++] = '\r';
		chunk[n++] = '\n';
	}
	put(w, chunk, n);
}

static void
write_message(struct dsn_writer *w, const struct dsn_ctx *ctx)
{
	const char *b = ctx->boundary;

	write_header(w, ctx);
	put_own(w, xasprintf("--%s\r\n", b));
	write_text(w, ctx);
	/* RFC 2046 5.1.1: the CRLF before "--" belongs to the delimiter;
	 * each part's content already ends with its own. */
	put_own(w, xasprintf("\r\n--%s\r\n", b));
	write_report(w, ctx);
	put_own(w, xasprintf("\r\n--%s\r\n", b));
	write_orig(w, ctx);
	put_own(w, xasprintf("\r\n--%s--\r\n", b));
}

/* count: non-overlapping occurrences of s in the n bytes at p. */
static size_t
count(const char *p, size_t n, const char *s)
{
	size_t k = 0, slen = strlen(s);
	const char *q;

	while ((q = memmem(p, n, s, slen)) != NULL) {
		k++;
		n -= (size_t)(q - p) + slen;
		p = q + slen;
	}
	return k;
}

int
dsn_build(const struct dsn_input *in, struct buf *out)
{
	struct dsn_ctx ctx;
	struct dsn_writer w;
	unsigned char rnd[16];
	size_t start = out->len, i;
	int tries;

	if (in->reporting_mta == NULL || in->sender == NULL ||
	    in->rcpts == NULL || in->nrcpts == 0 ||
	    (in->orig_header == NULL && in->orig_header_len > 0))
		fatal("dsn_build: incomplete input");
	for (i = 0; i < in->nrcpts; i++)
		if (in->rcpts[i].address == NULL)
			fatal("dsn_build: recipient %zu has no address", i);
	/* RFC 5321 6.1: never a DSN to the null reverse-path (loops). */
	if (in->sender[0] == '\0')
		return -1;

	memset(&ctx, 0, sizeof(ctx));
	ctx.in = in;
	ctx.host = clean_host(in->reporting_mta);
	if (ctx.host[0] == '\0')
		fatal("dsn_build: empty reporting MTA");
	randombytes_buf(rnd, sizeof(rnd));
	sodium_bin2hex(ctx.msgid, sizeof(ctx.msgid), rnd, sizeof(rnd));
	ctx.hdr_len = in->orig_header_len > 0 ?
	    orig_extent(in->orig_header, in->orig_header_len, &ctx.hdr_cut) :
	    0;

	w.out = out;
	for (tries = 0; tries < BOUNDARY_TRIES; tries++) {
		randombytes_buf(rnd, sizeof(rnd));
		memcpy(ctx.boundary, "lb-dsn-", 7);
		sodium_bin2hex(ctx.boundary + 7, sizeof(ctx.boundary) - 7,
		    rnd, sizeof(rnd));
		w.failed = false;
		out->len = start;	/* drop an attempt that collided */
		write_message(&w, &ctx);
		if (w.failed) {
			out->len = start;
			free(ctx.host);
			return -1;
		}
		/* Ours: the Content-Type parameter and 4 delimiters. More
		 * means copied text holds it (RFC 2046 5.1.1: it must not):
		 * draw another. */
		if (count(out->data + start, out->len - start,
		    ctx.boundary) == 5) {
			free(ctx.host);
			return 0;
		}
	}
	fatal("dsn_build: %d MIME boundaries all found in the content",
	    BOUNDARY_TRIES);
}
