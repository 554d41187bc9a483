/*
 * smtp_client_internal.h - what the two halves of the SMTP client share:
 * smtp_client.c (the session: connect, greeting, EHLO, STARTTLS, AUTH,
 * QUIT, and the reply reader and command writer below) and
 * smtp_client_send.c (the mail transaction). Private to those files:
 * the sc_ ("SMTP client") names are not for anyone else.
 *
 * The sc_ functions take a session and, on failure, fill a struct
 * smtp_client_reply with code 0 and say why; what they read from the
 * server is bounded and sanitized by smtp_client_parse_reply().
 */
#ifndef LETTERBOX_SMTPD_SMTP_CLIENT_INTERNAL_H
#define LETTERBOX_SMTPD_SMTP_CLIENT_INTERNAL_H

#include <stdbool.h>

#include "common/conn.h"
#include "smtpd/smtp_client.h"

/* RFC 5321 4.5.3.2 client timeouts, before timeout_scale. */
#define TMO_GREETING	(5 * 60 * 1000)		/* 4.5.3.2.1 */
#define TMO_MAIL	(5 * 60 * 1000)		/* 4.5.3.2.2 */
#define TMO_RCPT	(5 * 60 * 1000)		/* 4.5.3.2.3 */
#define TMO_DATA	(2 * 60 * 1000)		/* 4.5.3.2.4 */
#define TMO_BLOCK	(3 * 60 * 1000)		/* 4.5.3.2.5 */
#define TMO_DOT		(10 * 60 * 1000)	/* 4.5.3.2.6 */
/* EHLO, STARTTLS (and its handshake), AUTH, RSET: the RFC names none;
 * as long as for MAIL, what servers are asked to allow for commands. */
#define TMO_COMMAND	(5 * 60 * 1000)
/* QUIT is a courtesy: not worth holding a delivery thread for. */
#define TMO_QUIT	(10 * 1000)
/* connect_timeout_ms of 0 or less. */
#define TMO_CONNECT	(30 * 1000)

/* Message text read per msg->read() call. */
#define BODY_CHUNK	(16 * 1024)

/* One session: made by smtp_client_open(), freed by smtp_client_close(). */
struct smtp_client {
	struct conn *conn;		/* owned */
	double scale;			/* opts->timeout_scale, checked */
	struct smtp_client_caps caps;
	bool dead;			/* see smtp_client.c's file comment */
	bool unusable;
	char body[BODY_CHUNK];		/* message text being sent */
};

/* sc_reply_set: code and printf-formatted text (our own words; anything
 * of the server's in args is already sanitized). */
void sc_reply_set(struct smtp_client_reply *r, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* sc_tmo: base_ms scaled for this session, at least 1 ms and at most
 * INT_MAX. */
int sc_tmo(const struct smtp_client *c, int base_ms);

/* sc_io_fail: a conn status as the reply (code 0); the session is dead.
 * doing/what: "while sending" "MAIL FROM", "while waiting for" "the
 * reply to DATA". */
void sc_io_fail(struct smtp_client *c, int status, const char *doing,
    const char *what, struct smtp_client_reply *r);

/* sc_flush: sends what is queued. 0, or -1 with r set (dead). */
int sc_flush(struct smtp_client *c, const char *what,
    struct smtp_client_reply *r);

/*
 * sc_read_reply: the next reply within base_ms (scaled) per read. caps_r:
 * when not NULL, the EHLO keywords of the reply's lines (all but the
 * first) go there; they mean something only when the code is 250.
 * Returns 0 with a well-formed *r (a 421 also makes the session dead),
 * or -1 with code 0 (dead).
 */
int sc_read_reply(struct smtp_client *c, int base_ms, const char *what,
    struct smtp_client_reply *r, struct smtp_client_caps *caps_r);

/* sc_class: a reply code's first digit. */
int sc_class(int code);

/* sc_unexpected: r (well-formed) makes no sense here; r becomes code 0
 * and the session dead. */
void sc_unexpected(struct smtp_client *c, struct smtp_client_reply *r,
    const char *what);

/* sc_expect: true when r (well-formed) is of class want. A refusal (4xx,
 * 5xx) stays as it is; any other reply is sc_unexpected(). */
bool sc_expect(struct smtp_client *c, struct smtp_client_reply *r, int want,
    const char *what);

/* sc_command: queues one command line (CRLF added) and sends it, with
 * the timeout for base_ms. 0, or -1 with r set (dead). */
int sc_command(struct smtp_client *c, int base_ms, const char *what,
    struct smtp_client_reply *r, const char *line);

#endif
