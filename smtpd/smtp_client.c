/*
 * smtp_client.c - the delivery agent's SMTP client (RFC 5321): greeting,
 * EHLO or HELO, STARTTLS (RFC 3207), AUTH PLAIN/LOGIN (RFC 4954),
 * transactions pipelined when offered (RFC 2920), dot-stuffed streaming
 * of the message text, RSET between messages, QUIT.
 *
 * Trusts nothing the server sends. Reply lines are read through conn.c
 * with SMTP_CLIENT_LINE_MAX as their bound, a reply has at most
 * SMTP_CLIENT_REPLY_LINES lines, and reply text reaches logs and DSNs
 * only through smtp_client_parse_reply() (smtp_client_parse.c, with the
 * EHLO keyword parser and dot-stuffing), which bounds it to struct
 * smtp_client_reply and turns control and non-ASCII octets into '?'.
 * The caller's addresses are checked before they go into a command (no
 * control character can end a command early). The message is streamed
 * through one fixed buffer: memory per session does not depend on the
 * message or on the server.
 *
 * Session state: "dead" means the stream cannot carry another command
 * (network failure, timeout, malformed reply, 421, text half sent): no
 * RSET, no QUIT, just close. "unusable" means no further transaction
 * (an RSET that failed) but QUIT is still polite.
 */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/x509.h>
#include <sodium.h>

#include "common/conn.h"
#include "common/limits.h"
#include "common/log.h"
#include "common/sasl.h"
#include "common/xalloc.h"
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
/* RFC 5321 4.1.1.1: a Domain or address literal; we send our own name,
 * checked to be printable ASCII of at most this. */
#define HELO_MAX	255

struct smtp_client {
	struct conn *conn;		/* owned */
	double scale;			/* opts->timeout_scale, checked */
	struct smtp_client_caps caps;
	bool dead;			/* see the file comment */
	bool unusable;
	char body[BODY_CHUNK];		/* message text being sent */
};

/* ---- replies ------------------------------------------------------------ */

/* reply_set: code and printf-formatted text (our own words; anything of
 * the server's in args is already sanitized). */
static void
reply_set(struct smtp_client_reply *r, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
reply_set(struct smtp_client_reply *r, int code, const char *fmt, ...)
{
	va_list ap;

	r->code = code;
	va_start(ap, fmt);
	vsnprintf(r->text, sizeof(r->text), fmt, ap);
	va_end(ap);
}

/* ---- I/O ---------------------------------------------------------------- */

/* tmo: base_ms scaled for this session, at least 1 ms (0 would poll
 * without waiting) and at most what an int holds. */
static int
tmo(const struct smtp_client *c, int base_ms)
{
	double ms = (double)base_ms * c->scale;

	if (ms < 1)
		return 1;
	if (ms > INT_MAX)
		return INT_MAX;
	return (int)ms;
}

/* io_fail: a conn status as the reply (code 0); the session is dead.
 * doing/what: "while sending" "MAIL FROM", "while waiting for" "the
 * reply to DATA". */
static void
io_fail(struct smtp_client *c, int status, const char *doing,
    const char *what, struct smtp_client_reply *r)
{
	const char *ip = conn_peer_ip(c->conn);

	c->dead = true;
	switch (status) {
	case CONN_TIMEOUT:
		reply_set(r, 0, "conversation with %s timed out %s %s", ip,
		    doing, what);
		break;
	case CONN_CLOSED:
		reply_set(r, 0, "lost connection with %s %s %s", ip, doing,
		    what);
		break;
	case CONN_STOPPED:
		reply_set(r, 0, "delivery to %s stopped (shutting down) %s %s",
		    ip, doing, what);
		break;
	case CONN_TOO_LONG:
		reply_set(r, 0, "malformed reply from %s: a line over %d "
		    "octets %s %s", ip, SMTP_CLIENT_LINE_MAX, doing, what);
		break;
	default:
		reply_set(r, 0, "I/O error with %s %s %s", ip, doing, what);
		break;
	}
}

/* flush: sends what is queued. 0, or -1 with r set (dead). */
static int
flush(struct smtp_client *c, const char *what, struct smtp_client_reply *r)
{
	int ret;

	if ((ret = conn_flush(c->conn)) != CONN_OK) {
		io_fail(c, ret, "while sending", what, r);
		return -1;
	}
	return 0;
}

/*
 * read_reply: the next reply within base_ms (scaled) per read. caps_r:
 * when not NULL, the EHLO keywords of the reply's lines (all but the
 * first) go there; they mean something only when the code is 250.
 * Returns 0 with a well-formed *r (a 421 also makes the session dead:
 * RFC 5321 3.8, the server is closing), or -1 with code 0 (dead).
 */
static int
read_reply(struct smtp_client *c, int base_ms, const char *what,
    struct smtp_client_reply *r, struct smtp_client_caps *caps_r)
{
	struct smtp_client_reply_state st;
	struct smtp_client_caps caps;
	char why[sizeof(r->text)];
	const char *line;
	size_t len;
	bool crlf;
	int ret, done;

	memset(&st, 0, sizeof(st));
	memset(&caps, 0, sizeof(caps));
	conn_set_timeout(c->conn, tmo(c, base_ms));
	do {
		/* A bare LF ends a reply line too: Postfix's client takes
		 * it, and a reply cannot smuggle anything to anyone. */
		ret = conn_read_line(c->conn, SMTP_CLIENT_LINE_MAX, &line,
		    &len, &crlf);
		if (ret != CONN_OK) {
			io_fail(c, ret, "while waiting for", what, r);
			return -1;
		}
		done = smtp_client_parse_reply(&st, line, len, r);
		if (done < 0) {
			memcpy(why, r->text, sizeof(why));
			reply_set(r, 0, "%s: %s (%s)", conn_peer_ip(c->conn),
			    why, what);
			c->dead = true;
			return -1;
		}
		if (caps_r != NULL && st.lines > 1)
			smtp_client_parse_ehlo_line(&caps, line, len);
	} while (done == 0);
	if (r->code == 421)
		c->dead = true;
	if (caps_r != NULL)
		*caps_r = caps;
	return 0;
}

/* class: a reply code's first digit. */
static int
class(int code)
{
	return code / 100;
}

/* unexpected: r (well-formed) is a reply that makes no sense here: the
 * server and we disagree on where the session is. r becomes code 0 and
 * the session dead. */
static void
unexpected(struct smtp_client *c, struct smtp_client_reply *r,
    const char *what)
{
	char text[sizeof(r->text)];

	memcpy(text, r->text, sizeof(text));
	reply_set(r, 0, "%s: unexpected reply to %s: %s",
	    conn_peer_ip(c->conn), what, text);
	c->dead = true;
}

/*
 * expect: true when r (well-formed) is of class want. A refusal (4xx,
 * 5xx) stays as it is; any other reply (a 3xx to MAIL) is unexpected().
 */
static bool
expect(struct smtp_client *c, struct smtp_client_reply *r, int want,
    const char *what)
{
	if (class(r->code) == want)
		return true;
	if (class(r->code) != 4 && class(r->code) != 5)
		unexpected(c, r, what);
	return false;
}

/* command: queues one command line (CRLF added) and sends it, with the
 * timeout for base_ms. 0, or -1 with r set (dead). */
static int
command(struct smtp_client *c, int base_ms, const char *what,
    struct smtp_client_reply *r, const char *line)
{
	int ret;

	conn_set_timeout(c->conn, tmo(c, base_ms));
	if ((ret = conn_printf(c->conn, "%s\r\n", line)) != CONN_OK) {
		io_fail(c, ret, "while sending", what, r);
		return -1;
	}
	return flush(c, what, r);
}

/* ---- session setup ----------------------------------------------------- */

/* printable: n octets of visible ASCII, no space. */
static bool
printable(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if ((unsigned char)s[i] <= 0x20 || (unsigned char)s[i] >= 0x7f)
			return false;
	}
	return true;
}

/*
 * hello: EHLO, or HELO when EHLO is refused with 5xx (RFC 5321 4.1.4:
 * an old server says 500 or 502; some say 550). Fills c->caps (all
 * false after HELO). 0, or -1 with r: the refusal, or code 0.
 */
static int
hello(struct smtp_client *c, const char *helo, struct smtp_client_reply *r)
{
	struct smtp_client_caps caps;
	char line[HELO_MAX + 8];

	memset(&c->caps, 0, sizeof(c->caps));
	snprintf(line, sizeof(line), "EHLO %s", helo);
	if (command(c, TMO_COMMAND, "EHLO", r, line) != 0 ||
	    read_reply(c, TMO_COMMAND, "the reply to EHLO", r, &caps) != 0)
		return -1;
	if (r->code == 250) {
		c->caps = caps;
		c->caps.ehlo = true;
		return 0;
	}
	if (class(r->code) != 5) {
		if (class(r->code) != 4)
			unexpected(c, r, "EHLO");
		return -1;
	}
	snprintf(line, sizeof(line), "HELO %s", helo);
	if (command(c, TMO_COMMAND, "HELO", r, line) != 0 ||
	    read_reply(c, TMO_COMMAND, "the reply to HELO", r, NULL) != 0)
		return -1;
	if (r->code == 250)
		return 0;
	if (class(r->code) != 4 && class(r->code) != 5)
		unexpected(c, r, "HELO");
	return -1;
}

/* start_tls: the TLS handshake (after "220" to STARTTLS, or at once for
 * implicit TLS). 0, or -1 with code 0 (dead: the stream is unknown). */
static int
start_tls(struct smtp_client *c, const struct smtp_client_opts *opts,
    struct smtp_client_reply *r)
{
	const char *ip = conn_peer_ip(c->conn);
	long v;
	int ret;

	conn_set_timeout(c->conn, tmo(c, TMO_COMMAND));
	ret = conn_start_tls_client(c->conn, opts->tls_ctx, opts->tls_name);
	if (ret == CONN_OK)
		return 0;
	c->dead = true;
	r->tls_failed = ret != CONN_STOPPED;
	v = conn_tls_verify_result(c->conn);
	if (ret == CONN_TIMEOUT)
		reply_set(r, 0, "TLS handshake with %s timed out", ip);
	else if (ret == CONN_STOPPED)
		reply_set(r, 0, "delivery to %s stopped (shutting down) "
		    "during the TLS handshake", ip);
	else if (v > 0 && (SSL_CTX_get_verify_mode(opts->tls_ctx) &
	    SSL_VERIFY_PEER) != 0)
		reply_set(r, 0, "TLS handshake with %s failed: server "
		    "certificate not verified: %s", ip,
		    X509_verify_cert_error_string(v));
	else
		reply_set(r, 0, "TLS handshake with %s failed", ip);
	return -1;
}

/*
 * starttls: RFC 3207 per opts->tls, then EHLO again (4.2: the server
 * forgets everything it told us before). 0 (under TLS, or without it in
 * MAY mode when it is not offered or refused), or -1 with r.
 */
static int
starttls(struct smtp_client *c, const struct smtp_client_opts *opts,
    struct smtp_client_reply *r)
{
	char text[sizeof(r->text)];
	bool require = opts->tls == SMTP_CLIENT_TLS_REQUIRE;

	if (!c->caps.starttls) {
		if (!require)
			return 0;
		reply_set(r, 0, "TLS required but %s does not offer STARTTLS",
		    conn_peer_ip(c->conn));
		return -1;
	}
	if (command(c, TMO_COMMAND, "STARTTLS", r, "STARTTLS") != 0 ||
	    read_reply(c, TMO_COMMAND, "the reply to STARTTLS", r,
	    NULL) != 0)
		return -1;
	if (r->code != 220) {
		if (class(r->code) != 4 && class(r->code) != 5) {
			unexpected(c, r, "STARTTLS");
			return -1;
		}
		if (c->dead)
			return -1;	/* 421 */
		if (!require)
			return 0;	/* e.g. 454: on in plaintext */
		memcpy(text, r->text, sizeof(text));
		reply_set(r, 0, "TLS required but %s refused STARTTLS: %s",
		    conn_peer_ip(c->conn), text);
		return -1;
	}
	if (start_tls(c, opts, r) != 0)
		return -1;
	return hello(c, opts->helo, r);
}

/* auth_done: the final answer to AUTH. 0 for 235, else -1 with r (the
 * refusal, or code 0 for nonsense). */
static int
auth_done(struct smtp_client *c, struct smtp_client_reply *r)
{
	if (r->code == 235)
		return 0;
	if (class(r->code) != 4 && class(r->code) != 5)
		unexpected(c, r, "AUTH");
	return -1;
}

/* auth_cancel: RFC 4954 4: "*" ends an exchange we cannot go on with;
 * r becomes code 0 with why. Always -1. */
static int
auth_cancel(struct smtp_client *c, struct smtp_client_reply *r,
    const char *why)
{
	struct smtp_client_reply scratch;

	if (command(c, TMO_COMMAND, "AUTH", &scratch, "*") == 0)
		(void)read_reply(c, TMO_COMMAND, "the reply to AUTH", &scratch,
		    NULL);
	reply_set(r, 0, "%s: %s", conn_peer_ip(c->conn), why);
	return -1;
}

/*
 * auth: AUTH PLAIN with an initial response (one round trip) when
 * offered, else AUTH LOGIN. The secrets are wiped from our buffers
 * after use. 0, or -1 with r.
 */
static int
auth(struct smtp_client *c, const struct smtp_client_opts *opts,
    struct smtp_client_reply *r)
{
	/* "\0user\0password", and its base64 after "AUTH PLAIN ". */
	char raw[2 * SMTP_CLIENT_AUTH_MAX + 2];
	char line[sizeof("AUTH PLAIN ") + 4 * (sizeof(raw) / 3 + 1) + 1];
	const char *user = opts->auth_user;
	const char *pass = opts->auth_password != NULL ?
	    opts->auth_password : "";
	size_t ulen = strlen(user), plen = strlen(pass), off;
	int ret = -1;

	if (c->caps.auth_plain) {
		/* @UNSAFE: ulen and plen are at most SMTP_CLIENT_AUTH_MAX
		 * (checked in smtp_client_open), raw holds both and two
		 * NULs. */
		raw[0] = '\0';
		memcpy(raw + 1, user, ulen);
		raw[1 + ulen] = '\0';
		memcpy(raw + 2 + ulen, pass, plen);
		off = strlen("AUTH PLAIN ");
		memcpy(line, "AUTH PLAIN ", off);
		if (sasl_base64_encode(raw, 2 + ulen + plen, line + off,
		    sizeof(line) - off) != 0)
			fatal("smtp_client: AUTH PLAIN buffer too small");
		if (command(c, TMO_COMMAND, "AUTH", r, line) == 0 &&
		    read_reply(c, TMO_COMMAND, "the reply to AUTH", r,
		    NULL) == 0) {
			/* We sent the whole response: a challenge now
			 * means the server and we disagree. */
			if (r->code == 334)
				ret = auth_cancel(c, r, "AUTH PLAIN: "
				    "unexpected challenge");
			else
				ret = auth_done(c, r);
		}
		goto out;
	}
	if (!c->caps.auth_login) {
		reply_set(r, 0, "%s offers no AUTH mechanism we can use "
		    "(PLAIN, LOGIN)", conn_peer_ip(c->conn));
		return -1;
	}
	/* draft-murchison-sasl-login: the username, then the password,
	 * each as the answer to a 334 challenge. */
	if (command(c, TMO_COMMAND, "AUTH", r, "AUTH LOGIN") != 0 ||
	    read_reply(c, TMO_COMMAND, "the reply to AUTH", r, NULL) != 0)
		goto out;
	if (r->code != 334) {
		ret = auth_done(c, r);
		goto out;
	}
	if (sasl_base64_encode(user, ulen, line, sizeof(line)) != 0)
		fatal("smtp_client: AUTH LOGIN buffer too small");
	if (command(c, TMO_COMMAND, "AUTH", r, line) != 0 ||
	    read_reply(c, TMO_COMMAND, "the reply to AUTH", r, NULL) != 0)
		goto out;
	if (r->code != 334) {
		ret = auth_done(c, r);
		goto out;
	}
	if (sasl_base64_encode(pass, plen, line, sizeof(line)) != 0)
		fatal("smtp_client: AUTH LOGIN buffer too small");
	if (command(c, TMO_COMMAND, "AUTH", r, line) != 0 ||
	    read_reply(c, TMO_COMMAND, "the reply to AUTH", r, NULL) != 0)
		goto out;
	if (r->code == 334)
		ret = auth_cancel(c, r, "AUTH LOGIN: unexpected third "
		    "challenge");
	else
		ret = auth_done(c, r);
out:
	sodium_memzero(raw, sizeof(raw));
	sodium_memzero(line, sizeof(line));
	return ret;
}

/* opts_check: what the caller passed is usable. NULL, or why not. */
static const char *
opts_check(const struct smtp_client_opts *opts)
{
	size_t n;

	if (opts->helo == NULL)
		return "no EHLO name";
	n = strnlen(opts->helo, HELO_MAX + 1);
	if (n == 0 || n > HELO_MAX || !printable(opts->helo, n))
		return "EHLO name is not printable ASCII of 1-255 octets";
	if (opts->tls != SMTP_CLIENT_TLS_NONE && opts->tls_ctx == NULL)
		return "TLS asked for without a TLS context";
	if (opts->auth_user != NULL) {
		n = strnlen(opts->auth_user, SMTP_CLIENT_AUTH_MAX + 1);
		if (n == 0 || n > SMTP_CLIENT_AUTH_MAX)
			return "AUTH username empty or too long";
		if (opts->auth_password != NULL &&
		    strnlen(opts->auth_password, SMTP_CLIENT_AUTH_MAX + 1) >
		    SMTP_CLIENT_AUTH_MAX)
			return "AUTH password too long";
	}
	return NULL;
}

/*
 * smtp_client_open: see smtp_client.h. The order is RFC 3207's and RFC
 * 4954's: greeting, EHLO, STARTTLS, EHLO, AUTH. A failure after the
 * greeting ends with QUIT when the session is still in step.
 */
int
smtp_client_open(const struct sockaddr *addr, socklen_t addr_len,
    const struct smtp_client_opts *opts, struct smtp_client **client_r,
    struct smtp_client_reply *reply_r)
{
	struct smtp_client *c;
	char why[sizeof(reply_r->text)];
	const char *bad;
	int ret;

	*client_r = NULL;
	if ((bad = opts_check(opts)) != NULL) {
		log_error("smtp client: %s", bad);
		reply_set(reply_r, 0, "local configuration error: %s", bad);
		return -1;
	}
	c = xcalloc(1, sizeof(*c));
	c->scale = opts->timeout_scale > 0 && isfinite(opts->timeout_scale) ?
	    opts->timeout_scale : 1.0;
	ret = conn_connect(addr, addr_len, opts->connect_timeout_ms > 0 ?
	    opts->connect_timeout_ms : TMO_CONNECT, opts->stop_fd, &c->conn,
	    why, sizeof(why));
	if (ret != CONN_OK) {
		reply_set(reply_r, 0, "%s", why);
		free(c);
		return -1;
	}

	if (opts->tls == SMTP_CLIENT_TLS_IMPLICIT &&
	    start_tls(c, opts, reply_r) != 0)
		goto fail;
	if (read_reply(c, TMO_GREETING, "the greeting", reply_r, NULL) != 0)
		goto fail;
	if (reply_r->code != 220) {
		/* RFC 5321 3.1: after a 554 greeting the client sends QUIT
		 * (and so after any refusal that is not 421). */
		if (class(reply_r->code) != 4 && class(reply_r->code) != 5)
			unexpected(c, reply_r, "the connection");
		goto fail;
	}
	if (hello(c, opts->helo, reply_r) != 0)
		goto fail;
	if ((opts->tls == SMTP_CLIENT_TLS_MAY ||
	    opts->tls == SMTP_CLIENT_TLS_REQUIRE) &&
	    starttls(c, opts, reply_r) != 0)
		goto fail;
	if (opts->auth_user != NULL) {
		/* Credentials never travel in plaintext, not even to a
		 * server that offers AUTH without STARTTLS. */
		if (!conn_is_tls(c->conn)) {
			reply_set(reply_r, 0, "not sending AUTH to %s "
			    "without TLS", conn_peer_ip(c->conn));
			goto fail;
		}
		if (auth(c, opts, reply_r) != 0)
			goto fail;
	}
	*client_r = c;
	return 0;
fail:
	smtp_client_close(&c);
	return -1;
}

/* ---- transactions ------------------------------------------------------ */

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
	if (command(c, TMO_COMMAND, "RSET", &r, "RSET") != 0 ||
	    read_reply(c, TMO_COMMAND, "the reply to RSET", &r, NULL) != 0)
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
	conn_set_timeout(c->conn, tmo(c, TMO_BLOCK));
	while (len > 0) {
		if ((ret = smtp_client_dot_stuff(&st, c->body, len, conn_sink,
		    c->conn)) != CONN_OK) {
			io_fail(c, ret, "while sending", "the message", r);
			return -1;
		}
		if (msg->read(msg->read_arg, c->body, sizeof(c->body),
		    &len) != 0) {
			c->dead = true;
			reply_set(r, 0, "cannot read the message from the "
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
		io_fail(c, ret, "while sending", "the message", r);
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
			reply_set(&res[i], 452, "452 4.5.3 Too many "
			    "recipients for one transaction");
		else
			reply_set(&res[i], 553, "553 5.1.3 Bad recipient "
			    "address syntax");
	}
	if (!any)
		return false;
	if (msg->sender == NULL || !addr_check(msg->sender, &utf8)) {
		reply_set(&r, 553, "553 5.1.7 Bad sender address syntax");
		set_pending(res, msg->nrcpts, &r);
		return false;
	}
	*utf8_r = utf8;
	if (c->caps.size && c->caps.size_max > 0 && msg->size > 0 &&
	    (uint64_t)msg->size > c->caps.size_max) {
		/* RFC 1870 6.2: the server said it would refuse it. */
		reply_set(&r, 552, "552 5.3.4 Message size %" PRId64 " "
		    "exceeds the limit of %s (%" PRIu64 ")", msg->size,
		    conn_peer_ip(c->conn), c->caps.size_max);
	} else if (msg->body_8bit && !c->caps.eightbitmime) {
		/* RFC 6152 3: no 8-bit text to a server without it (we do
		 * not downgrade). */
		reply_set(&r, 554, "554 5.6.3 %s does not support 8BITMIME",
		    conn_peer_ip(c->conn));
	} else if (utf8 && !c->caps.smtputf8) {
		/* RFC 6531 3.2. */
		reply_set(&r, 553, "553 5.6.7 %s does not support SMTPUTF8",
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

	conn_set_timeout(c->conn, tmo(c, TMO_BLOCK));
	if (conn_write(c->conn, ".\r\n", 3) != CONN_OK ||
	    flush(c, "the end of an empty message", &r) != 0) {
		c->dead = true;
		return false;
	}
	return read_reply(c, TMO_DOT, "the reply to the end of the data", &r,
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
		reply_set(&res[i], 0, "no reply");
	if (c->dead || c->unusable) {
		reply_set(&r, 0, "connection to %s can take no more "
		    "messages", conn_peer_ip(c->conn));
		set_pending(res, n, &r);
		return false;
	}
	if (!local_checks(c, msg, res, &utf8))
		return true;

	/* The first chunk before MAIL: a message that cannot be read at
	 * all costs no transaction. */
	if (msg->read(msg->read_arg, c->body, sizeof(c->body), &len) != 0) {
		reply_set(&r, 0, "cannot read the message from the queue");
		set_pending(res, n, &r);
		return true;
	}
	if (len > sizeof(c->body))
		fatal("smtp_client: message reader overran its buffer");

	conn_set_timeout(c->conn, tmo(c, TMO_MAIL));
	if ((ret = queue_mail(c, msg, utf8)) != CONN_OK) {
		io_fail(c, ret, "while sending", "MAIL FROM", &r);
		goto broken;
	}
	if (pipe) {
		/* RFC 2920 3.1: MAIL, the RCPTs and DATA in one group (the
		 * queue goes out early only past its 16 KiB). */
		for (i = 0; i < n; i++) {
			if (rcpt_sendable(msg, i, &utf8) &&
			    (ret = conn_printf(c->conn, "RCPT TO:<%s>\r\n",
			    msg->rcpts[i])) != CONN_OK) {
				io_fail(c, ret, "while sending", "RCPT TO",
				    &r);
				goto broken;
			}
		}
		if ((ret = conn_write(c->conn, "DATA\r\n", 6)) != CONN_OK) {
			io_fail(c, ret, "while sending", "DATA", &r);
			goto broken;
		}
	}
	if (flush(c, "MAIL FROM", &mail) != 0 ||
	    read_reply(c, TMO_MAIL, "the reply to MAIL FROM", &mail,
	    NULL) != 0) {
		r = mail;
		goto broken;
	}
	mail_ok = expect(c, &mail, 2, "MAIL FROM");
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
				io_fail(c, ret, "while sending", "RCPT TO",
				    &r);
				goto broken;
			}
			if (flush(c, "RCPT TO", &r) != 0)
				goto broken;
		}
		if (read_reply(c, TMO_RCPT, "the reply to RCPT TO", &r,
		    NULL) != 0)
			goto broken;
		/* Pipelined after a refused MAIL these say "503 need
		 * MAIL": read to stay in step; MAIL's reply counts. */
		if (!mail_ok) {
			if (c->dead)
				return false;
			continue;
		}
		if (expect(c, &r, 2, "RCPT TO"))
			accepted++;
		else if (c->dead)
			goto broken;		/* 421 or nonsense */
		res[i] = r;
	}

	if (pipe) {
		if (read_reply(c, TMO_DATA, "the reply to DATA", &data,
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
		if (command(c, TMO_DATA, "DATA", &data, "DATA") != 0 ||
		    read_reply(c, TMO_DATA, "the reply to DATA", &data,
		    NULL) != 0) {
			r = data;
			goto broken;
		}
	}
	if (data.code != 354) {
		/* A 4xx/5xx refusal; anything else, even another 3xx, is
		 * not the go-ahead and leaves us out of step. */
		if (class(data.code) != 4 && class(data.code) != 5)
			unexpected(c, &data, "DATA");
		set_pending(res, n, &data);
		return c->dead ? false : rset(c);
	}

	if (send_text(c, msg, len, &r) != 0)
		goto broken;
	/* The server may have delivered already: leaving now on shutdown
	 * would have it sent twice (RFC 1047). The reply is usually
	 * prompt, and the master's grace period still bounds the wait. */
	conn_ignore_stop(c->conn, true);
	ret = read_reply(c, TMO_DOT, "the reply to the end of the data", &r,
	    NULL);
	conn_ignore_stop(c->conn, false);
	if (ret != 0)
		goto broken;
	if (expect(c, &r, 2, "the end of the data")) {
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

/* ---- the rest ------------------------------------------------------------ */

/* smtp_client_tls: see smtp_client.h. */
const char *
smtp_client_tls(const struct smtp_client *c)
{
	return conn_tls_version(c->conn);
}

/* smtp_client_tls_verified: see smtp_client.h. */
bool
smtp_client_tls_verified(const struct smtp_client *c)
{
	return conn_is_tls(c->conn) &&
	    conn_tls_verify_result(c->conn) == X509_V_OK;
}

/* smtp_client_caps: see smtp_client.h. */
const struct smtp_client_caps *
smtp_client_caps(const struct smtp_client *c)
{
	return &c->caps;
}

/*
 * smtp_client_close: QUIT when the session is in step (RFC 5321 4.1.1.10
 * asks for it; the reply is read so the server closes first and keeps
 * the TIME_WAIT), with a short timeout; then frees. *cp becomes NULL.
 */
void
smtp_client_close(struct smtp_client **cp)
{
	struct smtp_client *c = *cp;
	struct smtp_client_reply r;

	if (c == NULL)
		return;
	if (!c->dead) {
		conn_set_timeout(c->conn, tmo(c, TMO_QUIT));
		if (conn_write(c->conn, "QUIT\r\n", 6) == CONN_OK &&
		    conn_flush(c->conn) == CONN_OK)
			(void)read_reply(c, TMO_QUIT, "the reply to QUIT", &r,
			    NULL);
	}
	conn_free(&c->conn);
	free(c);
	*cp = NULL;
}
