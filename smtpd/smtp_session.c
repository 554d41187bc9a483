/*
 * smtp_session.c - an SMTP session: greeting, the command loop and its
 * table, EHLO/HELO, STARTTLS and the small commands (RFC 5321, 3207,
 * 2920, 2034).
 *
 * Input is untrusted: a command line is at most LIMIT_SMTP_LINE octets
 * (over it: 500 and close), LIMIT_SMTP_BAD_COMMANDS bad commands end the
 * session, each read waits at most LIMIT_SMTP_TIMEOUT_MS (RFC 5321
 * 4.5.3.2.7). Every reply carries an enhanced status code (RFC 2034).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/xalloc.h"
#include "smtpd/smtp.h"
#include "smtpd/smtp_session.h"

typedef void (*smtp_handler)(struct smtp_session *, const char *, size_t,
    bool);

struct smtp_command_def {
	enum smtp_verb verb;
	smtp_handler handler;
};

void *
smtp_server_new(const struct server_env *env, char **error_r)
{
	struct smtp_server *srv = xcalloc(1, sizeof(*srv));

	(void)error_r;
	srv->env = *env;
	srv->max_size = (size_t)env->cfg->max_message_size;
	if (srv->max_size > LIMIT_MESSAGE_SIZE)
		srv->max_size = LIMIT_MESSAGE_SIZE;
	return srv;
}

void
smtp_server_free(void *server)
{
	free(server);
}

void
smtp_reply(struct smtp_session *s, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	conn_vreply(s->conn, fmt, ap);
	va_end(ap);
}

void
smtp_reply_flush(struct smtp_session *s)
{
	conn_flush(s->conn);
}

void
smtp_bad_command(struct smtp_session *s)
{
	if (++s->bad_commands < LIMIT_SMTP_BAD_COMMANDS)
		return;
	smtp_reply(s, "421 4.7.0 %s Too many errors, closing connection",
	    s->srv->env.cfg->hostname);
	s->quit = true;
}

static bool
plaintext_ok(const struct smtp_session *s)
{
	return conn_is_tls(s->conn) || conn_peer_loopback(s->conn) ||
	    s->srv->env.cfg->allow_plaintext_without_tls;
}

bool
smtp_auth_required(const struct smtp_session *s)
{
	return s->svc != CONFIG_SVC_SMTP;
}

bool
smtp_auth_offered(const struct smtp_session *s)
{
	/* Port 25 takes mail for local users without AUTH. Submission
	 * offers it only where a password may travel (RFC 6409 4.3,
	 * DESIGN.md: TLS, loopback, or allowed by the config). */
	return smtp_auth_required(s) && plaintext_ok(s);
}

static void
cmd_ehlo(struct smtp_session *s, const char *arg, size_t len, bool helo)
{
	const struct config *cfg = s->srv->env.cfg;

	if (smtp_parse_helo(arg, len, s->helo) != SMTP_PARSE_OK) {
		smtp_reply(s, "501 5.5.4 Syntax: %s hostname",
		    helo ? "HELO" : "EHLO");
		smtp_bad_command(s);
		return;
	}
	/* RFC 5321 4.1.4: EHLO/HELO resets the transaction. */
	smtp_tx_reset(s);
	s->esmtp = !helo;
	if (helo) {
		smtp_reply(s, "250 %s", cfg->hostname);
		return;
	}
	conn_printf(s->conn, "250-%s Hello %s [%s]\r\n", cfg->hostname,
	    s->helo, conn_peer_ip(s->conn));
	conn_printf(s->conn, "250-PIPELINING\r\n250-SIZE %zu\r\n"
	    "250-8BITMIME\r\n250-ENHANCEDSTATUSCODES\r\n250-CHUNKING\r\n"
	    "250-SMTPUTF8\r\n", s->srv->max_size);
	if (!conn_is_tls(s->conn))
		conn_printf(s->conn, "250-STARTTLS\r\n");
	if (smtp_auth_offered(s) && s->auth_user_id == 0)
		conn_printf(s->conn, "250-AUTH PLAIN LOGIN\r\n");
	smtp_reply(s, "250 HELP");
}

static void
cmd_ehlo_ehlo(struct smtp_session *s, const char *arg, size_t len, bool crlf)
{
	(void)crlf;
	cmd_ehlo(s, arg, len, false);
}

static void
cmd_helo(struct smtp_session *s, const char *arg, size_t len, bool crlf)
{
	(void)crlf;
	cmd_ehlo(s, arg, len, true);
}

static void
cmd_starttls(struct smtp_session *s, const char *arg, size_t len, bool crlf)
{
	(void)arg;
	(void)crlf;
	if (len > 0) {
		smtp_reply(s, "501 5.5.4 Syntax: STARTTLS");
		smtp_bad_command(s);
		return;
	}
	if (conn_is_tls(s->conn)) {
		smtp_reply(s, "503 5.5.1 TLS already active");
		smtp_bad_command(s);
		return;
	}
	smtp_reply(s, "220 2.0.0 Ready to start TLS");
	smtp_reply_flush(s);
	/* conn_start_tls() drops anything pipelined after STARTTLS
	 * (CVE-2011-0411). */
	if (conn_start_tls(s->conn, s->srv->env.tls) != CONN_OK) {
		log_info("smtp: TLS handshake with %s failed",
		    conn_peer_ip(s->conn));
		s->quit = true;
		return;
	}
	/* RFC 3207 4.2: forget everything learned before TLS, a login
	 * made in plaintext included. */
	smtp_tx_reset(s);
	s->helo[0] = '\0';
	s->esmtp = false;
	s->auth_user_id = 0;
	s->auth_user[0] = '\0';
}

static void
cmd_rset(struct smtp_session *s, const char *arg, size_t len, bool crlf)
{
	(void)arg;
	(void)len;
	(void)crlf;
	smtp_tx_reset(s);
	smtp_reply(s, "250 2.0.0 Ok");
}

static void
cmd_noop(struct smtp_session *s, const char *arg, size_t len, bool crlf)
{
	(void)arg;
	(void)len;
	(void)crlf;
	smtp_reply(s, "250 2.0.0 Ok");
}

static void
cmd_quit(struct smtp_session *s, const char *arg, size_t len, bool crlf)
{
	(void)arg;
	(void)len;
	(void)crlf;
	smtp_reply(s, "221 2.0.0 %s Bye", s->srv->env.cfg->hostname);
	s->quit = true;
}

static void
cmd_vrfy(struct smtp_session *s, const char *arg, size_t len, bool crlf)
{
	(void)arg;
	(void)len;
	(void)crlf;
	/* RFC 5321 3.5.3: 252 reveals nothing about who exists. */
	smtp_reply(s, "252 2.5.0 Cannot VRFY user, but will accept message "
	    "and attempt delivery");
}

static void
cmd_expn(struct smtp_session *s, const char *arg, size_t len, bool crlf)
{
	(void)arg;
	(void)len;
	(void)crlf;
	smtp_reply(s, "502 5.5.1 EXPN not available");
}

static void
cmd_help(struct smtp_session *s, const char *arg, size_t len, bool crlf)
{
	(void)arg;
	(void)len;
	(void)crlf;
	conn_printf(s->conn, "214-2.0.0 Commands: EHLO HELO MAIL RCPT DATA "
	    "BDAT RSET NOOP QUIT\r\n214-2.0.0 VRFY HELP STARTTLS AUTH\r\n");
	smtp_reply(s, "214 2.0.0 See RFC 5321");
}

static void
cmd_mail(struct smtp_session *s, const char *arg, size_t len, bool crlf)
{
	(void)crlf;
	smtp_cmd_mail(s, arg, len);
}

static void
cmd_rcpt(struct smtp_session *s, const char *arg, size_t len, bool crlf)
{
	(void)crlf;
	smtp_cmd_rcpt(s, arg, len);
}

static void
cmd_data(struct smtp_session *s, const char *arg, size_t len, bool crlf)
{
	(void)arg;
	if (len > 0) {
		smtp_reply(s, "501 5.5.4 Syntax: DATA");
		smtp_bad_command(s);
		return;
	}
	smtp_cmd_data(s, crlf);
}

static void
cmd_bdat(struct smtp_session *s, const char *arg, size_t len, bool crlf)
{
	(void)crlf;
	smtp_cmd_bdat(s, arg, len);
}

static void
cmd_auth(struct smtp_session *s, const char *arg, size_t len, bool crlf)
{
	(void)crlf;
	smtp_cmd_auth(s, arg, len);
}

static const struct smtp_command_def commands[] = {
	{ SMTP_VERB_EHLO, cmd_ehlo_ehlo },
	{ SMTP_VERB_HELO, cmd_helo },
	{ SMTP_VERB_MAIL, cmd_mail },
	{ SMTP_VERB_RCPT, cmd_rcpt },
	{ SMTP_VERB_DATA, cmd_data },
	{ SMTP_VERB_BDAT, cmd_bdat },
	{ SMTP_VERB_RSET, cmd_rset },
	{ SMTP_VERB_NOOP, cmd_noop },
	{ SMTP_VERB_QUIT, cmd_quit },
	{ SMTP_VERB_VRFY, cmd_vrfy },
	{ SMTP_VERB_EXPN, cmd_expn },
	{ SMTP_VERB_HELP, cmd_help },
	{ SMTP_VERB_STARTTLS, cmd_starttls },
	{ SMTP_VERB_AUTH, cmd_auth },
};

static void
dispatch(struct smtp_session *s, const char *line, size_t len, bool crlf)
{
	struct smtp_command cmd;

	if (smtp_parse_command(line, len, &cmd) != SMTP_PARSE_OK) {
		smtp_reply(s, "500 5.5.2 Syntax error");
		smtp_bad_command(s);
		return;
	}
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		if (commands[i].verb == cmd.verb) {
			commands[i].handler(s, cmd.arg, cmd.arg_len, crlf);
			return;
		}
	}
	smtp_reply(s, "500 5.5.2 Command unrecognized");
	smtp_bad_command(s);
}

/* greet: the banner, unless the client talks first (a spam bot's
 * shortcut, and a sign it does not follow the protocol). Port 25 waits a
 * moment for such talkers; other services, and the sandbox (whose
 * clients are a developer's own tests), only look. */
static bool
greet(struct smtp_session *s)
{
	const char *host = s->srv->env.cfg->hostname;
	int wait = s->svc == CONFIG_SVC_SMTP &&
	    s->srv->env.sandbox_user_id == 0 ? LIMIT_SMTP_PREGREET_MS : 0;
	int ret = conn_wait_input(s->conn, wait);

	if (ret == CONN_OK) {
		log_info("smtp: %s talked before the greeting; refused",
		    conn_peer_ip(s->conn));
		smtp_reply(s, "554 5.5.1 %s Protocol error: talking before "
		    "the greeting", host);
		return false;
	}
	if (ret != CONN_TIMEOUT)
		return false;
	smtp_reply(s, "220 %s ESMTP Letterbox", host);
	return true;
}

/* read_loop: commands until QUIT, an error, a timeout or shutdown. */
static void
read_loop(struct smtp_session *s)
{
	const char *host = s->srv->env.cfg->hostname;

	while (!s->quit) {
		const char *line;
		size_t len;
		bool crlf;
		int ret = conn_read_line(s->conn, LIMIT_SMTP_LINE, &line,
		    &len, &crlf);

		switch (ret) {
		case CONN_OK:
			dispatch(s, line, len, crlf);
			break;
		case CONN_TOO_LONG:
			smtp_reply(s, "500 5.5.2 Line too long (limit %d)",
			    LIMIT_SMTP_LINE);
			return;
		case CONN_TIMEOUT:
			smtp_reply(s, "421 4.4.2 %s Timeout, closing "
			    "connection", host);
			return;
		case CONN_STOPPED:
			smtp_reply(s, "421 4.3.2 %s Server shutting down",
			    host);
			return;
		default:	/* closed or broken: nobody to answer */
			return;
		}
	}
}

void
smtp_session_run(void *server, enum config_service svc, struct conn *conn)
{
	struct smtp_session *s = xcalloc(1, sizeof(*s));
	char *error = NULL;

	s->srv = server;
	s->svc = svc;
	s->conn = conn;
	buf_init(&s->tx.msg, 0);
	conn_set_timeout(conn, LIMIT_SMTP_TIMEOUT_MS);
	/* RFC 8314: port 465 speaks TLS from the first byte. */
	if (svc == CONFIG_SVC_SUBMISSIONS &&
	    conn_start_tls(conn, s->srv->env.tls) != CONN_OK) {
		log_info("smtp: TLS handshake with %s failed",
		    conn_peer_ip(conn));
		goto out;
	}
	if (store_open(s->srv->env.cfg->data_dir, &s->st, &error) != 0) {
		log_error("smtp: %s", error);
		free(error);
		smtp_reply(s, "421 4.3.0 %s Service not available",
		    s->srv->env.cfg->hostname);
		goto out;
	}
	if (greet(s))
		read_loop(s);
	conn_flush(conn);
out:
	smtp_tx_reset(s);
	buf_free(&s->tx.msg);
	store_close(&s->st);
	free(s);
}
