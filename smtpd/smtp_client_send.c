/*
 * smtp_client_send.c - the delivery agent's SMTP client (RFC 5321),
 * transaction half: smtp_client_send(), one message as MAIL, RCPTs and
 * DATA (pipelined when offered, RFC 2920), with SIZE (RFC 1870),
 * 8BITMIME (RFC 6152) and SMTPUTF8 (RFC 6531); the dot-stuffed message
 * text streamed after 354; RSET after a transaction that did not finish.
 * The session (connect, EHLO, STARTTLS, AUTH, QUIT) and the reply reader
 * are in smtp_client.c.
 *
 * Trusts nothing the server sends: every reply comes through
 * sc_read_reply() (smtp_client.c), bounded and sanitized. The caller's
 * addresses are checked before they go into a command (no control
 * character can end a command early; at most LIMIT_ADDR_TOTAL octets),
 * and at most SMTP_CLIENT_RCPT_MAX recipients go into one transaction.
 * The message is streamed through one fixed buffer (struct smtp_client's
 * body): memory per session does not depend on the message or on the
 * server. "dead" and "unusable": see smtp_client.c.
 */
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "common/conn.h"
#include "common/limits.h"
#include "common/log.h"
#include "smtpd/smtp_client.h"
#include "smtpd/smtp_client_internal.h"

/* addr_check: an address that can go between "<" and ">" in a command:
 * no control character (none can end the command early), at most
 * LIMIT_ADDR_TOTAL octets; *utf8 set when it holds non-ASCII. */
static bool
addr_check(const char *a, bool *utf8)
{
	size_t n = strnlen(a, LIMIT_ADDR_TOTAL + 1), i;

	if (n > LIMIT_ADDR_TOTAL)
		return false;
	for (i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)a[i];

		if (ch < 0x20 || ch == 0x7f)
			return false;
		if (ch >= 0x80)
			*utf8 = true;
	}
	return true;
}

/* pending: a recipient with no outcome yet (code 0) or accepted by RCPT
 * (2xx) and waiting for the end of the transaction. */
static bool
pending(const struct smtp_client_reply *r)
{
	return r->code < 400;
}

/* set_pending: r becomes the outcome of every pending recipient. */
static void
set_pending(struct smtp_client_reply *res, size_t n,
    const struct smtp_client_reply *r)
{
	for (size_t i = 0; i < n; i++) {
		if (pending(&res[i]))
			res[i] = *r;
	}
}

/* rset: RSET after a transaction that did not end with the text's 250
 * (RFC 5321 4.1.1.5). Returns whether the connection can go on. */
static bool
rset(struct smtp_client *c)
{
	struct smtp_client_reply r;

	if (c->dead)
		return false;
	if (sc_command(c, TMO_COMMAND, "RSET", &r, "RSET") != 0 ||
	    sc_read_reply(c, TMO_COMMAND, "the reply to RSET", &r, NULL) != 0)
		return false;
	if (r.code != 250) {
		c->unusable = true;
		return false;
	}
	return true;
}

/* conn_sink: smtp_client_sink onto a conn (queued: conn_write()). */
static int
conn_sink(void *arg, const void *data, size_t len)
{
	return conn_write(arg, data, len);
}

/*
 * send_text: streams the message after 354: the chunk already in
 * c->body (len bytes), then the rest, then the final dot. Each write
 * must make progress within the data-block timeout. 0, or -1 with r
 * (dead: a text cut short cannot be taken back; closing is what keeps
 * the server from delivering it).
 */
static int
send_text(struct smtp_client *c, const struct smtp_client_msg *msg,
    size_t len, struct smtp_client_reply *r)
{
	struct smtp_client_dot st;
	int ret;

	smtp_client_dot_init(&st);
	conn_set_timeout(c->conn, sc_tmo(c, TMO_BLOCK));
	while (len > 0) {
		if ((ret = smtp_client_dot_stuff(&st, c->body, len, conn_sink,
		    c->conn)) != CONN_OK) {
			sc_io_fail(c, ret, "while sending", "the message", r);
			return -1;
		}
		if (msg->read(msg->read_arg, c->body, sizeof(c->body),
		    &len) != 0) {
			c->dead = true;
			sc_reply_set(r, 0, "cannot read the message from the "
			    "queue (connection to %s closed mid-message)",
			    conn_peer_ip(c->conn));
			return -1;
		}
		if (len > sizeof(c->body))
			fatal("smtp_client: message reader overran its "
			    "buffer");
	}
	if ((ret = smtp_client_dot_end(&st, conn_sink, c->conn)) != CONN_OK ||
	    (ret = conn_flush(c->conn)) != CONN_OK) {
		sc_io_fail(c, ret, "while sending", "the message", r);
		return -1;
	}
	return 0;
}

/* rcpt_sendable: recipient i goes into a RCPT command (else
 * local_checks() gave it its outcome). */
static bool
rcpt_sendable(const struct smtp_client_msg *msg, size_t i, bool *utf8)
{
	return i < SMTP_CLIENT_RCPT_MAX && msg->rcpts[i] != NULL &&
	    msg->rcpts[i][0] != '\0' && addr_check(msg->rcpts[i], utf8);
}

/*
 * local_checks: what is decided without the server: bad addresses,
 * recipients over SMTP_CLIENT_RCPT_MAX, SIZE, 8BITMIME, SMTPUTF8.
 * res[] gets those outcomes. Returns true when something is left to
 * send; *utf8_r says whether SMTPUTF8 is needed.
 */
static bool
local_checks(struct smtp_client *c, const struct smtp_client_msg *msg,
    struct smtp_client_reply *res, bool *utf8_r)
{
	struct smtp_client_reply r;
	bool utf8 = msg->smtputf8, any = false;
	size_t i;

	for (i = 0; i < msg->nrcpts; i++) {
		if (rcpt_sendable(msg, i, &utf8))
			any = true;
		else if (i >= SMTP_CLIENT_RCPT_MAX)
			sc_reply_set(&res[i], 452, "452 4.5.3 Too many "
			    "recipients for one transaction");
		else
			sc_reply_set(&res[i], 553, "553 5.1.3 Bad recipient "
			    "address syntax");
	}
	if (!any)
		return false;
	if (msg->sender == NULL || !addr_check(msg->sender, &utf8)) {
		sc_reply_set(&r, 553, "553 5.1.7 Bad sender address syntax");
		set_pending(res, msg->nrcpts, &r);
		return false;
	}
	*utf8_r = utf8;
	if (c->caps.size && c->caps.size_max > 0 && msg->size > 0 &&
	    (uint64_t)msg->size > c->caps.size_max) {
		/* RFC 1870 6.2: the server said it would refuse it. */
		sc_reply_set(&r, 552, "552 5.3.4 Message size %" PRId64 " "
		    "exceeds the limit of %s (%" PRIu64 ")", msg->size,
		    conn_peer_ip(c->conn), c->caps.size_max);
	} else if (msg->body_8bit && !c->caps.eightbitmime) {
		/* RFC 6152 3: no 8-bit text to a server without it (we do
		 * not downgrade). */
		sc_reply_set(&r, 554, "554 5.6.3 %s does not support 8BITMIME",
		    conn_peer_ip(c->conn));
	} else if (utf8 && !c->caps.smtputf8) {
		/* RFC 6531 3.2. */
		sc_reply_set(&r, 553, "553 5.6.7 %s does not support SMTPUTF8",
		    conn_peer_ip(c->conn));
	} else {
		return true;
	}
	set_pending(res, msg->nrcpts, &r);
	return false;
}

/* queue_mail: MAIL FROM with the parameters the server takes. */
static int
queue_mail(struct smtp_client *c, const struct smtp_client_msg *msg,
    bool utf8)
{
	char size[32] = "";

	if (c->caps.size && msg->size > 0)
		snprintf(size, sizeof(size), " SIZE=%" PRId64, msg->size);
	return conn_printf(c->conn, "MAIL FROM:<%s>%s%s%s\r\n", msg->sender,
	    size, msg->body_8bit ? " BODY=8BITMIME" : "",
	    utf8 ? " SMTPUTF8" : "");
}

/*
 * end_data_early: DATA was answered 354 but nobody is to get the text
 * (MAIL failed or every RCPT was refused, and we pipelined): RFC 2920
 * 3.1 has the client send the lone "." then; the transaction has no
 * recipient, so nothing is delivered. false when the session broke.
 */
static bool
end_data_early(struct smtp_client *c)
{
	struct smtp_client_reply r;

	conn_set_timeout(c->conn, sc_tmo(c, TMO_BLOCK));
	if (conn_write(c->conn, ".\r\n", 3) != CONN_OK ||
	    sc_flush(c, "the end of an empty message", &r) != 0) {
		c->dead = true;
		return false;
	}
	return sc_read_reply(c, TMO_DOT, "the reply to the end of the data", &r,
	    NULL) == 0 && !c->dead;
}

/*
 * smtp_client_send: see smtp_client.h. res[i] holds, while the
 * transaction runs, the RCPT reply (refused: final; accepted: 2xx until
 * the end) or code 0 (no answer yet); set_pending() gives an outcome to
 * everyone not refused. Once MAIL is refused everyone has that outcome,
 * and what follows only keeps the session in step.
 */
bool
smtp_client_send(struct smtp_client *c, const struct smtp_client_msg *msg,
    struct smtp_client_reply *res)
{
	struct smtp_client_reply mail, data, r;
	size_t i, n = msg->nrcpts, len = 0, accepted = 0;
	bool utf8 = false, mail_ok, pipe = c->caps.pipelining;
	int ret;

	for (i = 0; i < n; i++)
		sc_reply_set(&res[i], 0, "no reply");
	if (c->dead || c->unusable) {
		sc_reply_set(&r, 0, "connection to %s can take no more "
		    "messages", conn_peer_ip(c->conn));
		set_pending(res, n, &r);
		return false;
	}
	if (!local_checks(c, msg, res, &utf8))
		return true;

	/* The first chunk before MAIL: a message that cannot be read at
	 * all costs no transaction. */
	if (msg->read(msg->read_arg, c->body, sizeof(c->body), &len) != 0) {
		sc_reply_set(&r, 0, "cannot read the message from the queue");
		set_pending(res, n, &r);
		return true;
	}
	if (len > sizeof(c->body))
		fatal("smtp_client: message reader overran its buffer");

	conn_set_timeout(c->conn, sc_tmo(c, TMO_MAIL));
	if ((ret = queue_mail(c, msg, utf8)) != CONN_OK) {
		sc_io_fail(c, ret, "while sending", "MAIL FROM", &r);
		goto broken;
	}
	if (pipe) {
		/* RFC 2920 3.1: MAIL, the RCPTs and DATA in one group (the
		 * queue goes out early only past its 16 KiB). */
		for (i = 0; i < n; i++) {
			if (rcpt_sendable(msg, i, &utf8) &&
			    (ret = conn_printf(c->conn, "RCPT TO:<%s>\r\n",
			    msg->rcpts[i])) != CONN_OK) {
				sc_io_fail(c, ret, "while sending", "RCPT TO",
				    &r);
				goto broken;
			}
		}
		if ((ret = conn_write(c->conn, "DATA\r\n", 6)) != CONN_OK) {
			sc_io_fail(c, ret, "while sending", "DATA", &r);
			goto broken;
		}
	}
	if (sc_flush(c, "MAIL FROM", &mail) != 0 ||
	    sc_read_reply(c, TMO_MAIL, "the reply to MAIL FROM", &mail,
	    NULL) != 0) {
		r = mail;
		goto broken;
	}
	mail_ok = sc_expect(c, &mail, 2, "MAIL FROM");
	if (!mail_ok) {
		set_pending(res, n, &mail);
		if (c->dead)
			return false;		/* 421 or nonsense */
		if (!pipe)
			return rset(c);
	}

	for (i = 0; i < n; i++) {
		if (!rcpt_sendable(msg, i, &utf8))
			continue;
		if (!pipe) {
			if ((ret = conn_printf(c->conn, "RCPT TO:<%s>\r\n",
			    msg->rcpts[i])) != CONN_OK) {
				sc_io_fail(c, ret, "while sending", "RCPT TO",
				    &r);
				goto broken;
			}
			if (sc_flush(c, "RCPT TO", &r) != 0)
				goto broken;
		}
		if (sc_read_reply(c, TMO_RCPT, "the reply to RCPT TO", &r,
		    NULL) != 0)
			goto broken;
		/* Pipelined after a refused MAIL these say "503 need
		 * MAIL": read to stay in step; MAIL's reply counts. */
		if (!mail_ok) {
			if (c->dead)
				return false;
			continue;
		}
		if (sc_expect(c, &r, 2, "RCPT TO"))
			accepted++;
		else if (c->dead)
			goto broken;		/* 421 or nonsense */
		res[i] = r;
	}

	if (pipe) {
		if (sc_read_reply(c, TMO_DATA, "the reply to DATA", &data,
		    NULL) != 0) {
			r = data;
			goto broken;
		}
		if (!mail_ok || accepted == 0) {
			/* Nobody to deliver to: the DATA must fail, or
			 * else be ended at once (RFC 2920 3.1). */
			if (c->dead)
				return false;	/* 421 */
			if (data.code == 354 && !end_data_early(c))
				return false;
			return rset(c);
		}
	} else {
		if (accepted == 0)
			return rset(c);
		if (sc_command(c, TMO_DATA, "DATA", &data, "DATA") != 0 ||
		    sc_read_reply(c, TMO_DATA, "the reply to DATA", &data,
		    NULL) != 0) {
			r = data;
			goto broken;
		}
	}
	if (data.code != 354) {
		/* A 4xx/5xx refusal; anything else, even another 3xx, is
		 * not the go-ahead and leaves us out of step. */
		if (sc_class(data.code) != 4 && sc_class(data.code) != 5)
			sc_unexpected(c, &data, "DATA");
		set_pending(res, n, &data);
		return c->dead ? false : rset(c);
	}

	if (send_text(c, msg, len, &r) != 0)
		goto broken;
	/* The server may have delivered already: leaving now on shutdown
	 * would have it sent twice (RFC 1047). The reply is usually
	 * prompt, and the master's grace period still bounds the wait. */
	conn_ignore_stop(c->conn, true);
	ret = sc_read_reply(c, TMO_DOT, "the reply to the end of the data", &r,
	    NULL);
	conn_ignore_stop(c->conn, false);
	if (ret != 0)
		goto broken;
	if (sc_expect(c, &r, 2, "the end of the data")) {
		set_pending(res, n, &r);
		return true;	/* a finished transaction needs no RSET */
	}
	set_pending(res, n, &r);
	return c->dead ? false : rset(c);

broken:
	/* Everyone not refused shares the failure (a 421 or code 0). */
	c->dead = true;
	set_pending(res, n, &r);
	return false;
}
