/*
 * imap_session.c - an IMAP4rev1 session (RFC 3501): greeting, the command
 * table and the one place that looks commands up, states, the tagged
 * answer written after any untagged updates, CAPABILITY, NOOP, LOGOUT.
 *
 * Input is untrusted: commands come bounded from imap_reader.c; a syntax
 * error answers BAD and the session goes on, but LIMIT_IMAP_BAD_COMMANDS
 * of them (fewer before login) end it with BYE. Autologout after
 * LIMIT_IMAP_TIMEOUT_MS (RFC 3501 5.4), LIMIT_IMAP_PREAUTH_TIMEOUT_MS
 * before login.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/xalloc.h"
#include "imapd/imap.h"
#include "imapd/imap_session.h"

typedef void (*imap_handler)(struct imap_session *, struct imap_cmd *);

/* The states a command is valid in. */
#define CMD_STATE_NOT_AUTH	0x01
#define CMD_STATE_AUTH		0x02
#define CMD_STATE_SELECTED	0x04
#define CMD_STATE_ANY		0x07
#define CMD_STATE_LOGGED_IN	0x06
/* May follow "UID" (RFC 3501 6.4.8). */
#define CMD_FLAG_UID		0x10
/* Uses sequence numbers: no EXPUNGE may be sent while it runs unless it
 * is the UID form (RFC 3501 7.4.1). */
#define CMD_FLAG_USES_SEQS	0x20

struct imap_command_def {
	const char *name;
	imap_handler handler;
	unsigned int flags;
};

void *
imap_server_new(const struct server_env *env, char **error_r)
{
	struct imap_server *srv = xcalloc(1, sizeof(*srv));

	srv->env = *env;
	if (imap_indexer_start(env->cfg->data_dir, &srv->indexer,
	    error_r) != 0) {
		free(srv);
		return NULL;
	}
	if (imap_notify_start(env->cfg->data_dir,
	    imap_indexer_wake_fd(srv->indexer), &srv->notify, error_r) != 0) {
		imap_indexer_stop(&srv->indexer);
		free(srv);
		return NULL;
	}
	return srv;
}

void
imap_server_free(void *server)
{
	struct imap_server *srv = server;

	imap_notify_stop(&srv->notify);
	imap_indexer_stop(&srv->indexer);
	free(srv);
}

void
imap_reply(struct imap_cmd *cmd, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cmd->reply, sizeof(cmd->reply), fmt, ap);
	va_end(ap);
}

void
imap_bad_syntax(struct imap_cmd *cmd)
{
	imap_reply(cmd, "BAD %s", cmd->ps.error != NULL ? cmd->ps.error :
	    "Syntax error");
}

void
imap_store_error(struct imap_cmd *cmd, int err)
{
	switch (err) {
	case STORE_ERR_NOT_FOUND:
		imap_reply(cmd, "NO [NONEXISTENT] No such mailbox");
		break;
	case STORE_ERR_EXISTS:
		imap_reply(cmd, "NO [ALREADYEXISTS] Mailbox already exists");
		break;
	case STORE_ERR_INVALID:
		imap_reply(cmd, "NO [CANNOT] Invalid name or argument");
		break;
	case STORE_ERR_QUOTA:
		imap_reply(cmd, "NO [OVERQUOTA] Quota exceeded");
		break;
	case STORE_ERR_IN_USE:
		imap_reply(cmd, "NO [INUSE] Mailbox in use or has children");
		break;
	case STORE_ERR_LIMIT:
		imap_reply(cmd, "NO [LIMIT] Too many mailboxes, keywords or "
		    "levels");
		break;
	default:
		imap_reply(cmd, "NO [UNAVAILABLE] Temporary failure, try "
		    "again later");
		break;
	}
}

bool
imap_plaintext_ok(const struct imap_session *s)
{
	return conn_is_tls(s->conn) || conn_peer_loopback(s->conn) ||
	    s->srv->env.cfg->allow_plaintext_without_tls;
}

void
imap_capability(const struct imap_session *s, char *out, size_t size)
{
	/* Advertise exactly what works here and now (RFC 3501 6.1.1). */
	snprintf(out, size, "IMAP4rev1 LITERAL+ SASL-IR CHILDREN UNSELECT "
	    "UIDPLUS MOVE NAMESPACE ID ENABLE IDLE QUOTA QUOTA=RES-STORAGE "
	    "SPECIAL-USE CREATE-SPECIAL-USE LIST-EXTENDED LIST-STATUS "
	    "CONDSTORE QRESYNC ESEARCH SEARCHRES "
	    "STATUS=SIZE APPENDLIMIT=%ld%s%s", (long)LIMIT_MESSAGE_SIZE,
	    s->state == IMAP_STATE_NOT_AUTH && !conn_is_tls(s->conn) &&
	    s->svc == CONFIG_SVC_IMAP ? " STARTTLS" : "",
	    s->state != IMAP_STATE_NOT_AUTH ? "" : imap_plaintext_ok(s) ?
	    " AUTH=PLAIN" : " LOGINDISABLED");
}

static void
cmd_capability(struct imap_session *s, struct imap_cmd *cmd)
{
	char caps[IMAP_CAPABILITY_MAX];

	if (imap_parse_end(&cmd->ps) != 0) {
		imap_bad_syntax(cmd);
		return;
	}
	imap_capability(s, caps, sizeof(caps));
	conn_printf(s->conn, "* CAPABILITY %s\r\n", caps);
	imap_reply(cmd, "OK CAPABILITY completed");
}

static void
cmd_noop(struct imap_session *s, struct imap_cmd *cmd)
{
	(void)s;
	if (imap_parse_end(&cmd->ps) != 0) {
		imap_bad_syntax(cmd);
		return;
	}
	/* The session sends what changed before the tagged answer. */
	imap_reply(cmd, "OK %s completed", cmd->name);
}

static void
cmd_logout(struct imap_session *s, struct imap_cmd *cmd)
{
	if (imap_parse_end(&cmd->ps) != 0) {
		imap_bad_syntax(cmd);
		return;
	}
	conn_printf(s->conn, "* BYE Logging out\r\n");
	imap_reply(cmd, "OK LOGOUT completed");
	s->logout = true;
}

static const struct imap_command_def commands[] = {
	{ "CAPABILITY", cmd_capability, CMD_STATE_ANY },
	{ "NOOP", cmd_noop, CMD_STATE_ANY },
	{ "LOGOUT", cmd_logout, CMD_STATE_ANY },
	{ "STARTTLS", imap_cmd_starttls, CMD_STATE_NOT_AUTH },
	{ "LOGIN", imap_cmd_login, CMD_STATE_NOT_AUTH },
	{ "AUTHENTICATE", imap_cmd_authenticate, CMD_STATE_NOT_AUTH },
	{ "SELECT", imap_cmd_select, CMD_STATE_LOGGED_IN },
	{ "EXAMINE", imap_cmd_examine, CMD_STATE_LOGGED_IN },
	{ "CREATE", imap_cmd_create, CMD_STATE_LOGGED_IN },
	{ "DELETE", imap_cmd_delete, CMD_STATE_LOGGED_IN },
	{ "RENAME", imap_cmd_rename, CMD_STATE_LOGGED_IN },
	{ "SUBSCRIBE", imap_cmd_subscribe, CMD_STATE_LOGGED_IN },
	{ "UNSUBSCRIBE", imap_cmd_unsubscribe, CMD_STATE_LOGGED_IN },
	{ "LIST", imap_cmd_list, CMD_STATE_LOGGED_IN },
	{ "LSUB", imap_cmd_lsub, CMD_STATE_LOGGED_IN },
	{ "STATUS", imap_cmd_status, CMD_STATE_LOGGED_IN },
	{ "APPEND", imap_cmd_append, CMD_STATE_LOGGED_IN },
	{ "CHECK", imap_cmd_check, CMD_STATE_SELECTED },
	{ "CLOSE", imap_cmd_close, CMD_STATE_SELECTED },
	{ "UNSELECT", imap_cmd_unselect, CMD_STATE_SELECTED },
	{ "EXPUNGE", imap_cmd_expunge, CMD_STATE_SELECTED | CMD_FLAG_UID },
	{ "FETCH", imap_cmd_fetch,
	    CMD_STATE_SELECTED | CMD_FLAG_UID | CMD_FLAG_USES_SEQS },
	{ "STORE", imap_cmd_store,
	    CMD_STATE_SELECTED | CMD_FLAG_UID | CMD_FLAG_USES_SEQS },
	{ "SEARCH", imap_cmd_search,
	    CMD_STATE_SELECTED | CMD_FLAG_UID | CMD_FLAG_USES_SEQS },
	{ "COPY", imap_cmd_copy, CMD_STATE_SELECTED | CMD_FLAG_UID },
	{ "MOVE", imap_cmd_move, CMD_STATE_SELECTED | CMD_FLAG_UID },
	{ "NAMESPACE", imap_cmd_namespace, CMD_STATE_LOGGED_IN },
	{ "IDLE", imap_cmd_idle, CMD_STATE_LOGGED_IN },
	{ "GETQUOTAROOT", imap_cmd_getquotaroot, CMD_STATE_LOGGED_IN },
	{ "GETQUOTA", imap_cmd_getquota, CMD_STATE_LOGGED_IN },
	{ "ID", imap_cmd_id, CMD_STATE_ANY },
	{ "ENABLE", imap_cmd_enable, CMD_STATE_AUTH },
};

static const struct imap_command_def *
command_find(const struct imap_str *name)
{
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (imap_str_is(name, commands[i].name))
			return &commands[i];
	return NULL;
}

static unsigned int
state_bit(enum imap_state state)
{
	switch (state) {
	case IMAP_STATE_NOT_AUTH:
		return CMD_STATE_NOT_AUTH;
	case IMAP_STATE_AUTH:
		return CMD_STATE_AUTH;
	default:
		return CMD_STATE_SELECTED;
	}
}

static const char *
state_error(const struct imap_session *s, unsigned int flags)
{
	if (s->state == IMAP_STATE_NOT_AUTH)
		return "Log in first";
	if ((flags & CMD_STATE_NOT_AUTH) != 0)
		return "Already logged in";
	if (s->state == IMAP_STATE_SELECTED)
		return "Not valid while a mailbox is selected";
	return "No mailbox selected";
}

/* lookup: the command at the parser, "UID x" included; NULL with
 * cmd->reply set when it is unknown or not valid now. */
static const struct imap_command_def *
lookup(struct imap_session *s, struct imap_cmd *cmd)
{
	const struct imap_command_def *def;
	struct imap_str name;

	if (imap_parse_sp(&cmd->ps) != 0 ||
	    imap_parse_atom(&cmd->ps, &name) != 0) {
		imap_reply(cmd, "BAD Missing command");
		return NULL;
	}
	if (imap_str_is(&name, "UID")) {
		cmd->uid = true;
		if (imap_parse_sp(&cmd->ps) != 0 ||
		    imap_parse_atom(&cmd->ps, &name) != 0) {
			imap_reply(cmd, "BAD Missing command after UID");
			return NULL;
		}
	}
	def = command_find(&name);
	if (def == NULL || (cmd->uid && (def->flags & CMD_FLAG_UID) == 0)) {
		imap_reply(cmd, "BAD Unknown command");
		return NULL;
	}
	if ((def->flags & state_bit(s->state)) == 0) {
		imap_reply(cmd, "BAD %s", state_error(s, def->flags));
		return NULL;
	}
	cmd->name = def->name;
	return def;
}

static void
count_bad(struct imap_session *s, const char *reply)
{
	unsigned int limit = s->state == IMAP_STATE_NOT_AUTH ?
	    LIMIT_IMAP_PREAUTH_BAD_COMMANDS : LIMIT_IMAP_BAD_COMMANDS;

	if (strncmp(reply, "BAD", 3) != 0 || ++s->bad_commands < limit)
		return;
	conn_printf(s->conn, "* BYE Too many invalid commands\r\n");
	s->logout = true;
}

static void
write_tagged(struct imap_session *s, const struct imap_cmd *cmd)
{
	conn_write(s->conn, cmd->tag.s, cmd->tag.len);
	conn_printf(s->conn, " %s\r\n", cmd->reply);
	/* Pipelined commands get their answers in one write. */
	if (!conn_pending(s->conn))
		conn_flush(s->conn);
}

void
imap_reply_now(struct imap_session *s, struct imap_cmd *cmd)
{
	write_tagged(s, cmd);
	conn_flush(s->conn);
	cmd->answered = true;
}

static void
dispatch(struct imap_session *s)
{
	const struct imap_command_def *def;
	struct imap_cmd cmd;

	memset(&cmd, 0, sizeof(cmd));
	imap_parser_init(&cmd.ps, s->input.data, s->input.len);
	if (imap_parse_tag(&cmd.ps, &cmd.tag) != 0) {
		conn_printf(s->conn, "* BAD Invalid tag\r\n");
		conn_flush(s->conn);
		count_bad(s, "BAD");
		return;
	}
	def = lookup(s, &cmd);
	if (def != NULL) {
		def->handler(s, &cmd);
		if (cmd.reply[0] == '\0')
			fatal("imap: %s left no answer", def->name);
		/* RFC 3501 7.4.1: changes by others go before the tagged
		 * answer; no EXPUNGE while FETCH/STORE run by number. */
		if (s->state == IMAP_STATE_SELECTED && !s->logout)
			imap_view_sync(s, cmd.uid ||
			    (def->flags & CMD_FLAG_USES_SEQS) == 0, NULL, 0);
	}
	if (!cmd.answered)
		write_tagged(s, &cmd);
	count_bad(s, cmd.reply);
}

void
imap_session_run(void *server, enum config_service svc, struct conn *conn)
{
	struct imap_session *s = xcalloc(1, sizeof(*s));
	char caps[IMAP_CAPABILITY_MAX];
	char *error = NULL;

	s->srv = server;
	s->svc = svc;
	s->conn = conn;
	imap_waiter_init(&s->waiter);
	buf_init(&s->input, IMAP_INPUT_MAX);
	conn_set_timeout(conn, LIMIT_IMAP_PREAUTH_TIMEOUT_MS);
	if (svc == CONFIG_SVC_IMAPS &&
	    conn_start_tls(conn, s->srv->env.tls) != CONN_OK) {
		log_info("imap: TLS handshake with %s failed",
		    conn_peer_ip(conn));
		goto out;
	}
	if (store_open(s->srv->env.cfg->data_dir, &s->st, &error) != 0) {
		log_error("imap: %s", error);
		free(error);
		conn_printf(conn, "* BYE [UNAVAILABLE] Service not "
		    "available\r\n");
		goto out;
	}
	imap_capability(s, caps, sizeof(caps));
	conn_printf(conn, "* OK [CAPABILITY %s] Letterbox IMAP ready\r\n",
	    caps);
	conn_flush(conn);
	while (!s->logout) {
		enum imap_read_result res = imap_read_command(s);

		if (res == IMAP_READ_END)
			break;
		if (res == IMAP_READ_OK)
			dispatch(s);
		else if (res == IMAP_READ_EMPTY)
			count_bad(s, "BAD");
		/* An APPEND's message is not kept for the idle hours after. */
		if (s->input.cap > LIMIT_IMAP_LINE + LIMIT_IMAP_LITERAL)
			buf_free(&s->input);
		buf_reset(&s->input);
	}
	conn_flush(conn);
out:
	imap_waiter_free(&s->waiter);
	imap_view_close(s);
	store_close(&s->st);
	buf_free(&s->input);
	free(s);
}
