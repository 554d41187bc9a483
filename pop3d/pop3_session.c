/*
 * pop3_session.c - a POP3 session: greeting, command loop and table,
 * states, CAPA, NOOP, QUIT (RFC 1939, RFC 2449 CAPA and response codes).
 *
 * Input is untrusted: a command line is at most LIMIT_POP3_LINE octets
 * (over it: -ERR and close), LIMIT_POP3_BAD_COMMANDS bad commands end the
 * session, the autologout timer is LIMIT_POP3_TIMEOUT_MS (RFC 1939 3).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/xalloc.h"
#include "pop3d/pop3.h"
#include "pop3d/pop3_session.h"

typedef void (*pop3_handler)(struct pop3_session *,
    const struct pop3_command *);

struct pop3_command_def {
	enum pop3_verb verb;
	pop3_handler handler;
	enum pop3_state state;	/* the state the command belongs to */
};

void *
pop3_server_new(const struct server_env *env, char **error_r)
{
	struct pop3_server *srv = xcalloc(1, sizeof(*srv));

	(void)error_r;
	srv->env = *env;
	return srv;
}

void
pop3_server_free(void *server)
{
	free(server);
}

void
pop3_reply(struct pop3_session *s, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	conn_vreply(s->conn, fmt, ap);
	va_end(ap);
}

void
pop3_bad_command(struct pop3_session *s)
{
	if (++s->bad_commands < LIMIT_POP3_BAD_COMMANDS)
		return;
	pop3_reply(s, "-ERR Too many bad commands, closing connection");
	s->quit = true;
}

bool
pop3_plaintext_ok(const struct pop3_session *s)
{
	return conn_is_tls(s->conn) || conn_peer_loopback(s->conn) ||
	    s->srv->env.cfg->allow_plaintext_without_tls;
}

static void
cmd_capa(struct pop3_session *s, const struct pop3_command *cmd)
{
	(void)cmd;
	/* RFC 2449 5: advertise what works here and now. */
	conn_printf(s->conn, "+OK Capability list follows\r\nTOP\r\nUIDL\r\n"
	    "RESP-CODES\r\nAUTH-RESP-CODE\r\nPIPELINING\r\nEXPIRE NEVER\r\n"
	    "IMPLEMENTATION Letterbox\r\n");
	if (s->state == POP3_STATE_AUTHORIZATION) {
		if (!conn_is_tls(s->conn))
			conn_printf(s->conn, "STLS\r\n");
		if (pop3_plaintext_ok(s))
			conn_printf(s->conn, "USER\r\nSASL PLAIN\r\n");
	}
	pop3_reply(s, ".");
}

static void
cmd_noop(struct pop3_session *s, const struct pop3_command *cmd)
{
	(void)cmd;
	pop3_reply(s, "+OK");
}

static void
cmd_quit(struct pop3_session *s, const struct pop3_command *cmd)
{
	(void)cmd;
	s->quit = true;
	if (s->state == POP3_STATE_TRANSACTION) {
		pop3_update(s);
		return;
	}
	pop3_reply(s, "+OK Bye");
}

static const struct pop3_command_def commands[] = {
	{ POP3_VERB_CAPA, cmd_capa, POP3_STATE_AUTHORIZATION },
	{ POP3_VERB_QUIT, cmd_quit, POP3_STATE_AUTHORIZATION },
	{ POP3_VERB_USER, pop3_cmd_user, POP3_STATE_AUTHORIZATION },
	{ POP3_VERB_PASS, pop3_cmd_pass, POP3_STATE_AUTHORIZATION },
	{ POP3_VERB_AUTH, pop3_cmd_auth, POP3_STATE_AUTHORIZATION },
	{ POP3_VERB_STLS, pop3_cmd_stls, POP3_STATE_AUTHORIZATION },
	{ POP3_VERB_STAT, pop3_cmd_stat, POP3_STATE_TRANSACTION },
	{ POP3_VERB_LIST, pop3_cmd_list, POP3_STATE_TRANSACTION },
	{ POP3_VERB_UIDL, pop3_cmd_uidl, POP3_STATE_TRANSACTION },
	{ POP3_VERB_RETR, pop3_cmd_retr, POP3_STATE_TRANSACTION },
	{ POP3_VERB_TOP, pop3_cmd_top, POP3_STATE_TRANSACTION },
	{ POP3_VERB_DELE, pop3_cmd_dele, POP3_STATE_TRANSACTION },
	{ POP3_VERB_RSET, pop3_cmd_rset, POP3_STATE_TRANSACTION },
	{ POP3_VERB_NOOP, cmd_noop, POP3_STATE_TRANSACTION },
};

/* allowed: CAPA and QUIT work in every state, the rest in their own. */
static bool
allowed(const struct pop3_session *s, const struct pop3_command_def *def)
{
	return def->verb == POP3_VERB_CAPA || def->verb == POP3_VERB_QUIT ||
	    def->state == s->state;
}

static void
dispatch(struct pop3_session *s, const char *line, size_t len)
{
	struct pop3_command cmd;

	if (pop3_parse_command(line, len, &cmd) != POP3_PARSE_OK) {
		pop3_reply(s, "-ERR Syntax error");
		pop3_bad_command(s);
		return;
	}
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		if (commands[i].verb != cmd.verb)
			continue;
		if (!allowed(s, &commands[i])) {
			pop3_reply(s, "-ERR Command not valid in this state");
			pop3_bad_command(s);
			return;
		}
		commands[i].handler(s, &cmd);
		return;
	}
	pop3_reply(s, "-ERR Unknown command");
	pop3_bad_command(s);
}

static void
read_loop(struct pop3_session *s)
{
	while (!s->quit) {
		const char *line;
		size_t len;
		bool crlf;
		int ret = conn_read_line(s->conn, LIMIT_POP3_LINE, &line,
		    &len, &crlf);

		switch (ret) {
		case CONN_OK:
			dispatch(s, line, len);
			break;
		case CONN_TOO_LONG:
			pop3_reply(s, "-ERR Line too long (limit %d octets)",
			    LIMIT_POP3_LINE + 2);
			return;
		case CONN_TIMEOUT:
			pop3_reply(s, "-ERR Autologout; idle for too long");
			return;
		case CONN_STOPPED:
			pop3_reply(s, "-ERR [SYS/TEMP] Server shutting down");
			return;
		default:	/* gone: a dropped connection deletes nothing */
			return;
		}
	}
}

void
pop3_session_run(void *server, enum config_service svc, struct conn *conn)
{
	struct pop3_session *s = xcalloc(1, sizeof(*s));
	char *error = NULL;

	s->srv = server;
	s->svc = svc;
	s->conn = conn;
	s->lock = -1;
	conn_set_timeout(conn, LIMIT_POP3_TIMEOUT_MS);
	if (svc == CONFIG_SVC_POP3S &&
	    conn_start_tls(conn, s->srv->env.tls) != CONN_OK) {
		log_info("pop3: TLS handshake with %s failed",
		    conn_peer_ip(conn));
		goto out;
	}
	if (store_open(s->srv->env.cfg->data_dir, &s->st, &error) != 0) {
		log_error("pop3: %s", error);
		free(error);
		pop3_reply(s, "-ERR [SYS/TEMP] Service not available");
		goto out;
	}
	pop3_reply(s, "+OK Letterbox POP3 ready");
	read_loop(s);
	conn_flush(conn);
out:
	pop3_maildrop_close(s);
	store_close(&s->st);
	free(s);
}
