/*
 * smtp_client_parse.c - the network-free parts of the SMTP client
 * (RFC 5321): reply parsing (smtp_client_parse_reply), EHLO keyword
 * parsing (smtp_client_parse_ehlo_line) and dot-stuffing of the message
 * text (smtp_client_dot_*). No I/O: smtp_client.c feeds these, and so do
 * the unit tests and the fuzzer.
 *
 * Trusts nothing it is given. A reply line is at most
 * SMTP_CLIENT_LINE_MAX octets, a reply at most SMTP_CLIENT_REPLY_LINES
 * lines; the reply text is bounded to struct smtp_client_reply, with
 * control and non-ASCII octets turned into '?', and a malformed line is
 * quoted to at most BAD_QUOTE octets. Dot-stuffing keeps two bits of
 * state and no buffer: its output goes to the caller's sink.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "common/ascii.h"
#include "smtpd/smtp_client.h"

/* How much of a malformed line the error text quotes. */
#define BAD_QUOTE	64

/* ---- replies ------------------------------------------------------------ */

/* safe_char: what an octet of the server's becomes in reply text. */
static char
safe_char(unsigned char ch)
{
	return ch < 0x20 || ch >= 0x7f ? '?' : (char)ch;
}

/*
 * text_add: appends n octets of s to the reply text, sanitized. When it
 * does not fit, the text ends with "..." and takes nothing more.
 */
static void
text_add(struct smtp_client_reply_state *st, struct smtp_client_reply *r,
    const char *s, size_t n)
{
	const size_t cap = sizeof(r->text) - 1;
	size_t i;

	for (i = 0; i < n && st->text_len < cap; i++)
		r->text[st->text_len++] = safe_char((unsigned char)s[i]);
	if (i < n)
		memcpy(r->text + cap - 3, "...", 3);
	r->text[st->text_len] = '\0';
}

/* malformed: ends the reply as malformed (code 0) with why and the
 * start of the offending line; the state stays failed. Returns -1. */
static int
malformed(struct smtp_client_reply_state *st, struct smtp_client_reply *r,
    const char *why, const char *line, size_t len)
{
	char quote[BAD_QUOTE + 4];
	size_t i, n = len < BAD_QUOTE ? len : BAD_QUOTE;

	for (i = 0; i < n; i++)
		quote[i] = safe_char((unsigned char)line[i]);
	if (n < len) {
		memcpy(quote + n, "...", 3);
		n += 3;
	}
	quote[n] = '\0';
	r->code = 0;
	snprintf(r->text, sizeof(r->text), "malformed reply: %s: \"%s\"",
	    why, quote);
	st->code = -1;
	st->text_len = strlen(r->text);
	return -1;
}

/*
 * smtp_client_parse_reply: see smtp_client.h. RFC 5321 4.2: Reply-line
 * is *(Reply-code "-" [textstring] CRLF) Reply-code [SP textstring]
 * CRLF, the same code on every line; 4.2.1 puts the first digit in
 * 2..5 for replies a client acts on (1yz is unused in SMTP). The second
 * and third digits are taken as any digit: the first alone decides what
 * the client does. The text is "<code> <text>" with the texts of
 * further lines after " / ".
 */
int
smtp_client_parse_reply(struct smtp_client_reply_state *st,
    const char *line, size_t len, struct smtp_client_reply *reply)
{
	const char *text;
	size_t tlen;
	int code;
	bool last;

	if (st->code < 0)
		return -1;
	if (st->lines == 0) {
		reply->code = 0;
		reply->text[0] = '\0';
		st->text_len = 0;
	}
	if (len > SMTP_CLIENT_LINE_MAX)
		return malformed(st, reply, "line too long", line, len);
	if (st->lines >= SMTP_CLIENT_REPLY_LINES)
		return malformed(st, reply, "too many lines", line, len);
	if (len < 3 || !ascii_is_digit((unsigned char)line[0]) ||
	    !ascii_is_digit((unsigned char)line[1]) ||
	    !ascii_is_digit((unsigned char)line[2]))
		return malformed(st, reply, "no reply code", line, len);
	if (line[0] < '2' || line[0] > '5')
		return malformed(st, reply, "reply code not 2xx-5xx", line,
		    len);
	if (len > 3 && line[3] != ' ' && line[3] != '-')
		return malformed(st, reply, "no space after the reply code",
		    line, len);
	code = (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
	if (st->lines > 0 && code != st->code)
		return malformed(st, reply, "reply code changes between lines",
		    line, len);
	last = len == 3 || line[3] == ' ';
	text = line + 4;
	tlen = len > 4 ? len - 4 : 0;

	if (st->lines == 0)
		text_add(st, reply, line, 3);
	if (tlen > 0) {
		/* Lines without text ("250-") add no separator. */
		if (st->text_len > 3)
			text_add(st, reply, " / ", 3);
		else
			text_add(st, reply, " ", 1);
		text_add(st, reply, text, tlen);
	}
	st->lines++;
	st->code = code;
	if (!last)
		return 0;
	reply->code = code;
	return 1;
}

/* ---- EHLO capabilities ------------------------------------------------- */

/* next_word: the next run of octets in s[*pos..n) that are neither SP
 * nor '=' (the old "AUTH=PLAIN LOGIN" form). false at the end. */
static bool
next_word(const char *s, size_t n, size_t *pos, const char **word_r,
    size_t *len_r)
{
	size_t i = *pos, start;

	while (i < n && (s[i] == ' ' || s[i] == '='))
		i++;
	if (i == n) {
		*pos = i;
		return false;
	}
	start = i;
	while (i < n && s[i] != ' ' && s[i] != '=')
		i++;
	*word_r = s + start;
	*len_r = i - start;
	*pos = i;
	return true;
}

/* parse_size: RFC 1870 "SIZE" [SP number]; 0 (no limit declared) when
 * there is no number, it is not all digits, or it does not fit. */
static uint64_t
parse_size(const char *s, size_t n)
{
	uint64_t v = 0;
	size_t i;

	if (n == 0)
		return 0;
	for (i = 0; i < n; i++) {
		unsigned d;

		if (!ascii_is_digit((unsigned char)s[i]))
			return 0;
		d = (unsigned)(s[i] - '0');
		if (v > (UINT64_MAX - d) / 10)
			return 0;
		v = v * 10 + d;
	}
	return v;
}

/*
 * smtp_client_parse_ehlo_line: see smtp_client.h. RFC 5321 4.1.1.1:
 * ehlo-line = ehlo-keyword *(SP ehlo-param); keywords are matched
 * without regard to case.
 */
void
smtp_client_parse_ehlo_line(struct smtp_client_caps *caps, const char *line,
    size_t len)
{
	const char *s, *kw, *w;
	size_t n, pos = 0, klen, wlen;

	if (len <= 4)
		return;
	s = line + 4;
	n = len - 4;
	if (!next_word(s, n, &pos, &kw, &klen) || kw != s)
		return;		/* a line that starts with SP or '=' */

	if (ascii_ieq(kw, klen, "PIPELINING")) {
		caps->pipelining = true;
	} else if (ascii_ieq(kw, klen, "SIZE")) {
		caps->size = true;
		caps->size_max = 0;
		if (next_word(s, n, &pos, &w, &wlen))
			caps->size_max = parse_size(w, wlen);
	} else if (ascii_ieq(kw, klen, "8BITMIME")) {
		caps->eightbitmime = true;
	} else if (ascii_ieq(kw, klen, "STARTTLS")) {
		caps->starttls = true;
	} else if (ascii_ieq(kw, klen, "SMTPUTF8")) {
		caps->smtputf8 = true;
	} else if (ascii_ieq(kw, klen, "ENHANCEDSTATUSCODES")) {
		caps->enhancedstatuscodes = true;
	} else if (ascii_ieq(kw, klen, "CHUNKING")) {
		caps->chunking = true;
	} else if (ascii_ieq(kw, klen, "AUTH")) {
		caps->auth = true;
		while (next_word(s, n, &pos, &w, &wlen)) {
			if (ascii_ieq(w, wlen, "PLAIN"))
				caps->auth_plain = true;
			else if (ascii_ieq(w, wlen, "LOGIN"))
				caps->auth_login = true;
		}
	}
}

/* ---- dot-stuffing ------------------------------------------------------- */

/*
 * The message text as it goes on the wire (RFC 5321 4.5.2): a line
 * starting with "." gets another; every line ends with CRLF, a bare CR
 * or LF being sent as CRLF (whatever the store holds, no server sees a
 * line end but ours: SMTP smuggling needs one that is not). A CR at the
 * end of a chunk waits for the next one's first byte.
 */

/* smtp_client_dot_init: see smtp_client.h. */
void
smtp_client_dot_init(struct smtp_client_dot *st)
{
	st->bol = true;
	st->cr = false;
}

/* smtp_client_dot_stuff: see smtp_client.h. Runs of ordinary text go
 * to the sink whole; only line starts and line ends are looked at. */
int
smtp_client_dot_stuff(struct smtp_client_dot *st, const char *p, size_t n,
    smtp_client_sink *sink, void *arg)
{
	size_t i = 0, start = 0;
	int ret;

	if (st->cr && n > 0) {
		st->cr = false;
		if ((ret = sink(arg, "\r\n", 2)) != 0)
			return ret;
		st->bol = true;
		if (p[0] == '\n')
			i = start = 1;
	}
	while (i < n) {
		char ch = p[i];

		if (st->bol && ch == '.') {
			if ((ret = sink(arg, p + start, i - start)) != 0 ||
			    (ret = sink(arg, ".", 1)) != 0)
				return ret;
			start = i;	/* the "." goes with what follows */
		}
		st->bol = false;
		if (ch == '\r' && i + 1 < n && p[i + 1] == '\n') {
			i += 2;
			st->bol = true;
		} else if (ch == '\r' || ch == '\n') {
			if ((ret = sink(arg, p + start, i - start)) != 0)
				return ret;
			if (ch == '\r' && i + 1 == n) {
				st->cr = true;	/* maybe half a CRLF */
			} else {
				if ((ret = sink(arg, "\r\n", 2)) != 0)
					return ret;
				st->bol = true;
			}
			start = ++i;
		} else {
			i++;
		}
	}
	return start < n ? sink(arg, p + start, n - start) : 0;
}

/* smtp_client_dot_end: see smtp_client.h. */
int
smtp_client_dot_end(struct smtp_client_dot *st, smtp_client_sink *sink,
    void *arg)
{
	int ret;

	if (st->cr || !st->bol) {
		if ((ret = sink(arg, "\r\n", 2)) != 0)
			return ret;
	}
	st->cr = false;
	st->bol = true;
	return sink(arg, ".\r\n", 3);
}
