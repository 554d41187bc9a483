/*
 * smtp_client.c - the delivery agent's SMTP client (RFC 5321), session
 * half: connect, greeting, EHLO or HELO, STARTTLS (RFC 3207), AUTH
 * PLAIN/LOGIN (RFC 4954), QUIT; and the reply reader and command writer
 * both halves use (smtp_client_internal.h). The mail transaction (MAIL,
 * RCPT, DATA, the message text, RSET) is in smtp_client_send.c.
 *
 * Trusts nothing the server sends. Reply lines are read through conn.c
 * with SMTP_CLIENT_LINE_MAX as their bound, a reply has at most
 * SMTP_CLIENT_REPLY_LINES lines, and reply text reaches logs and DSNs
 * only through smtp_client_parse_reply() (smtp_client_parse.c, with the
 * EHLO keyword parser and dot-stuffing), which bounds it to struct
 * smtp_client_reply and turns control and non-ASCII octets into '?'.
 * Our EHLO name and the AUTH credentials are checked (printable, at most
 * HELO_MAX / SMTP_CLIENT_AUTH_MAX octets) before they go into a command.
 *
 * Session state: "dead" means the stream cannot carry another command
 * (network failure, timeout, malformed reply, 421, text half sent): no
 * RSET, no QUIT, just close. "unusable" means no further transaction
 * (an RSET that failed) but QUIT is still polite.
 */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/x509.h>
#include <sodium.h>

#include "common/conn.h"
#include "common/log.h"
#include "common/sasl.h"
#include "common/xalloc.h"
#include "smtpd/smtp_client.h"
#include "smtpd/smtp_client_internal.h"

/* RFC 5321 4.1.1.1: a Domain or address literal; we send our own name,
 * checked to be printable ASCII of at most this. */
#define HELO_MAX	255

/* ---- replies ------------------------------------------------------------ */

/* sc_reply_set: code and printf-formatted text (our own words; anything of
 * the server's in args is already sanitized). */
void
sc_reply_set(struct smtp_client_reply *r, int code, const char *fmt, ...)
{
	va_list ap;

	r->code = code;
	va_start(ap, fmt);
	vsnprintf(r->text, sizeof(r->text), fmt, ap);
	va_end(ap);
}

/* ---- I/O ---------------------------------------------------------------- */

/* sc_tmo: base_ms scaled for this session, at least 1 ms (0 would poll
 * without waiting) and at most what an int holds. */
int
sc_tmo(const struct smtp_client *c, int base_ms)
{
	double ms = (double)base_ms * c->scale;

	if (ms < 1)
		return 1;
	if (ms > INT_MAX)
		return INT_MAX;
	return (int)ms;
}

/* sc_io_fail: a conn status as the reply (code 0); the session is dead.
 * doing/what: "while sending" "MAIL FROM", "while waiting for" "the
 * reply to DATA". */
void
sc_io_fail(struct smtp_client *c, int status, const char *doing,
    const char *what, struct smtp_client_reply *r)
{
	const char *ip = conn_peer_ip(c->conn);

	c->dead = true;
	switch (status) {
	case CONN_TIMEOUT:
		sc_reply_set(r, 0, "conversation with %s timed out %s %s", ip,
		    doing, what);
		break;
	case CONN_CLOSED:
		sc_reply_set(r, 0, "lost connection with %s %s %s", ip, doing,
		    what);
		break;
	case CONN_STOPPED:
		sc_reply_set(r, 0, "delivery to %s stopped (shutting down) "
		    "%s %s", ip, doing, what);
		break;
	case CONN_TOO_LONG:
		sc_reply_set(r, 0, "malformed reply from %s: a line over %d "
		    "octets %s %s", ip, SMTP_CLIENT_LINE_MAX, doing, what);
		break;
	default:
		sc_reply_set(r, 0, "I/O error with %s %s %s", ip, doing, what);
		break;
	}
}

/* sc_flush: sends what is queued. 0, or -1 with r set (dead). */
int
sc_flush(struct smtp_client *c, const char *what, struct smtp_client_reply *r)
{
	int ret;

	if ((ret = conn_flush(c->conn)) != CONN_OK) {
		sc_io_fail(c, ret, "while sending", what, r);
		return -1;
	}
	return 0;
}

/*
 * sc_read_reply: the next reply within base_ms (scaled) per read. caps_r:
 * when not NULL, the EHLO keywords of the reply's lines (all but the
 * first) go there; they mean something only when the code is 250.
 * Returns 0 with a well-formed *r (a 421 also makes the session dead:
 * RFC 5321 3.8, the server is closing), or -1 with code 0 (dead).
 */
int
sc_read_reply(struct smtp_client *c, int base_ms, const char *what,
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
	conn_set_timeout(c->conn, sc_tmo(c, base_ms));
	do {
		/* A bare LF ends a reply line too: Postfix's client takes
		 * it, and a reply cannot smuggle anything to anyone. */
		ret = conn_read_line(c->conn, SMTP_CLIENT_LINE_MAX, &line,
		    &len, &crlf);
		if (ret != CONN_OK) {
			sc_io_fail(c, ret, "while waiting for", what, r);
			return -1;
		}
		done = smtp_client_parse_reply(&st, line, len, r);
		if (done < 0) {
			memcpy(why, r->text, sizeof(why));
			sc_reply_set(r, 0, "%s: %s (%s)", conn_peer_ip(c->conn),
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

/* sc_class: a reply code's first digit. */
int
sc_class(int code)
{
	return code / 100;
}

/* sc_unexpected: r (well-formed) is a reply that makes no sense here: the
 * server and we disagree on where the session is. r becomes code 0 and
 * the session dead. */
void
sc_unexpected(struct smtp_client *c, struct smtp_client_reply *r,
    const char *what)
{
	char text[sizeof(r->text)];

	memcpy(text, r->text, sizeof(text));
	sc_reply_set(r, 0, "%s: unexpected reply to %s: %s",
	    conn_peer_ip(c->conn), what, text);
	c->dead = true;
}

/*
 * sc_expect: true when r (well-formed) is of class want. A refusal (4xx,
 * 5xx) stays as it is; any other reply (a 3xx to MAIL) is sc_unexpected().
 */
bool
sc_expect(struct smtp_client *c, struct smtp_client_reply *r, int want,
    const char *what)
{
	if (sc_class(r->code) == want)
		return true;
	if (sc_class(r->code) != 4 && sc_class(r->code) != 5)
		sc_unexpected(c, r, what);
	return false;
}

/* sc_command: queues one command line (CRLF added) and sends it, with the
 * timeout for base_ms. 0, or -1 with r set (dead). */
int
sc_command(struct smtp_client *c, int base_ms, const char *what,
    struct smtp_client_reply *r, const char *line)
{
	int ret;

	conn_set_timeout(c->conn, sc_tmo(c, base_ms));
	if ((ret = conn_printf(c->conn, "%s\r\n", line)) != CONN_OK) {
		sc_io_fail(c, ret, "while sending", what, r);
		return -1;
	}
	return sc_flush(c, what, r);
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
	if (sc_command(c, TMO_COMMAND, "EHLO", r, line) != 0 ||
	    sc_read_reply(c, TMO_COMMAND, "the reply to EHLO", r, &caps) != 0)
		return -1;
	if (r->code == 250) {
		c->caps = caps;
		c->caps.ehlo = true;
		return 0;
	}
	if (sc_class(r->code) != 5) {
		if (sc_class(r->code) != 4)
			sc_unexpected(c, r, "EHLO");
		return -1;
	}
	snprintf(line, sizeof(line), "HELO %s", helo);
	if (sc_command(c, TMO_COMMAND, "HELO", r, line) != 0 ||
	    sc_read_reply(c, TMO_COMMAND, "the reply to HELO", r, NULL) != 0)
		return -1;
	if (r->code == 250)
		return 0;
	if (sc_class(r->code) != 4 && sc_class(r->code) != 5)
		sc_unexpected(c, r, "HELO");
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

	conn_set_timeout(c->conn, sc_tmo(c, TMO_COMMAND));
	ret = conn_start_tls_client(c->conn, opts->tls_ctx, opts->tls_name);
	if (ret == CONN_OK)
		return 0;
	c->dead = true;
	r->tls_failed = ret != CONN_STOPPED;
	v = conn_tls_verify_result(c->conn);
	if (ret == CONN_TIMEOUT)
		sc_reply_set(r, 0, "TLS handshake with %s timed out", ip);
	else if (ret == CONN_STOPPED)
		sc_reply_set(r, 0, "delivery to %s stopped (shutting down) "
		    "during the TLS handshake", ip);
	else if (v > 0 && (SSL_CTX_get_verify_mode(opts->tls_ctx) &
	    SSL_VERIFY_PEER) != 0)
		sc_reply_set(r, 0, "TLS handshake with %s failed: server "
		    "certificate not verified: %s", ip,
		    X509_verify_cert_error_string(v));
	else
		sc_reply_set(r, 0, "TLS handshake with %s failed", ip);
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
		sc_reply_set(r, 0, "TLS required but %s does not offer "
		    "STARTTLS", conn_peer_ip(c->conn));
		return -1;
	}
	if (sc_command(c, TMO_COMMAND, "STARTTLS", r, "STARTTLS") != 0 ||
	    sc_read_reply(c, TMO_COMMAND, "the reply to STARTTLS", r,
	    NULL) != 0)
		return -1;
	if (r->code != 220) {
		if (sc_class(r->code) != 4 && sc_class(r->code) != 5) {
			sc_unexpected(c, r, "STARTTLS");
			return -1;
		}
		if (c->dead)
			return -1;	/* 421 */
		if (!require)
			return 0;	/* e.g. 454: on in plaintext */
		memcpy(text, r->text, sizeof(text));
		sc_reply_set(r, 0, "TLS required but %s refused STARTTLS: %s",
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
	if (sc_class(r->code) != 4 && sc_class(r->code) != 5)
		sc_unexpected(c, r, "AUTH");
	return -1;
}

/* auth_cancel: RFC 4954 4: "*" ends an exchange we cannot go on with;
 * r becomes code 0 with why. Always -1. */
static int
auth_cancel(struct smtp_client *c, struct smtp_client_reply *r,
    const char *why)
{
	struct smtp_client_reply scratch;

	if (sc_command(c, TMO_COMMAND, "AUTH", &scratch, "*") == 0)
		(void)sc_read_reply(c, TMO_COMMAND, "the reply to AUTH",
		    &scratch, NULL);
	sc_reply_set(r, 0, "%s: %s", conn_peer_ip(c->conn), why);
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
		if (sc_command(c, TMO_COMMAND, "AUTH", r, line) == 0 &&
		    sc_read_reply(c, TMO_COMMAND, "the reply to AUTH", r,
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
		sc_reply_set(r, 0, "%s offers no AUTH mechanism we can use "
		    "(PLAIN, LOGIN)", conn_peer_ip(c->conn));
		return -1;
	}
	/* draft-murchison-sasl-login: the username, then the password,
	 * each as the answer to a 334 challenge. */
	if (sc_command(c, TMO_COMMAND, "AUTH", r, "AUTH LOGIN") != 0 ||
	    sc_read_reply(c, TMO_COMMAND, "the reply to AUTH", r, NULL) != 0)
		goto out;
	if (r->code != 334) {
		ret = auth_done(c, r);
		goto out;
	}
	if (sasl_base64_encode(user, ulen, line, sizeof(line)) != 0)
		fatal("smtp_client: AUTH LOGIN buffer too small");
	if (sc_command(c, TMO_COMMAND, "AUTH", r, line) != 0 ||
	    sc_read_reply(c, TMO_COMMAND, "the reply to AUTH", r, NULL) != 0)
		goto out;
	if (r->code != 334) {
		ret = auth_done(c, r);
		goto out;
	}
	if (sasl_base64_encode(pass, plen, line, sizeof(line)) != 0)
		fatal("smtp_client: AUTH LOGIN buffer too small");
	if (sc_command(c, TMO_COMMAND, "AUTH", r, line) != 0 ||
	    sc_read_reply(c, TMO_COMMAND, "the reply to AUTH", r, NULL) != 0)
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
		sc_reply_set(reply_r, 0, "local configuration error: %s", bad);
		return -1;
	}
	c = xcalloc(1, sizeof(*c));
	c->scale = opts->timeout_scale > 0 && isfinite(opts->timeout_scale) ?
	    opts->timeout_scale : 1.0;
	ret = conn_connect(addr, addr_len, opts->connect_timeout_ms > 0 ?
	    opts->connect_timeout_ms : TMO_CONNECT, opts->stop_fd, &c->conn,
	    why, sizeof(why));
	if (ret != CONN_OK) {
		sc_reply_set(reply_r, 0, "%s", why);
		free(c);
		return -1;
	}

	if (opts->tls == SMTP_CLIENT_TLS_IMPLICIT &&
	    start_tls(c, opts, reply_r) != 0)
		goto fail;
	if (sc_read_reply(c, TMO_GREETING, "the greeting", reply_r, NULL) != 0)
		goto fail;
	if (reply_r->code != 220) {
		/* RFC 5321 3.1: after a 554 greeting the client sends QUIT
		 * (and so after any refusal that is not 421). */
		if (sc_class(reply_r->code) != 4 &&
		    sc_class(reply_r->code) != 5)
			sc_unexpected(c, reply_r, "the connection");
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
			sc_reply_set(reply_r, 0, "not sending AUTH to %s "
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
		conn_set_timeout(c->conn, sc_tmo(c, TMO_QUIT));
		if (conn_write(c->conn, "QUIT\r\n", 6) == CONN_OK &&
		    conn_flush(c->conn) == CONN_OK)
			(void)sc_read_reply(c, TMO_QUIT, "the reply to QUIT",
			    &r, NULL);
	}
	conn_free(&c->conn);
	free(c);
	*cp = NULL;
}
