/*
 * pop3_session.h - what the POP3 session's files share.
 */
#ifndef LETTERBOX_POP3_SESSION_H
#define LETTERBOX_POP3_SESSION_H

#include <stdbool.h>
#include <stdint.h>

#include "common/conn.h"
#include "common/limits.h"
#include "common/server_env.h"
#include "pop3d/pop3_parse.h"
#include "store/store.h"

struct pop3_server {
	struct server_env env;
};

/* One message of the maildrop as it was at login. */
struct pop3_msg {
	uint32_t uid;
	int64_t size;
	int64_t body_id;
	bool deleted;		/* DELE: removed at QUIT */
};

enum pop3_state {
	POP3_STATE_AUTHORIZATION,
	POP3_STATE_TRANSACTION,
};

struct pop3_session {
	const struct pop3_server *srv;
	enum config_service svc;
	struct conn *conn;		/* not owned */
	struct store *st;		/* owned */
	enum pop3_state state;
	char user[LIMIT_ADDR_TOTAL + 1];	/* USER, "" when none */
	int64_t user_id;		/* after login */
	int lock;			/* maildrop lock, -1 when none */
	int64_t mailbox_id;		/* INBOX */
	uint32_t uidvalidity;
	struct pop3_msg *msgs;		/* owned: the maildrop */
	uint32_t nmsgs;
	unsigned int retrieved;
	unsigned int bad_commands;
	bool quit;
};

/* pop3_reply: one response line; flushed unless more pipelined commands
 * wait (RFC 2449 6.6). */
void pop3_reply(struct pop3_session *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void pop3_bad_command(struct pop3_session *s);
/* pop3_plaintext_ok: a cleartext password may be sent here. */
bool pop3_plaintext_ok(const struct pop3_session *s);

/* ---- pop3_auth.c ---- */
void pop3_cmd_user(struct pop3_session *s, const struct pop3_command *cmd);
void pop3_cmd_pass(struct pop3_session *s, const struct pop3_command *cmd);
void pop3_cmd_auth(struct pop3_session *s, const struct pop3_command *cmd);
void pop3_cmd_stls(struct pop3_session *s, const struct pop3_command *cmd);

/* ---- pop3_maildrop.c ---- */
/* pop3_maildrop_open: locks and loads the maildrop of s->user_id and
 * enters TRANSACTION, replying either way. */
void pop3_maildrop_open(struct pop3_session *s);
void pop3_maildrop_close(struct pop3_session *s);
/* pop3_msg_arg: the message named by argument i, or NULL after an -ERR. */
struct pop3_msg *pop3_msg_arg(struct pop3_session *s,
    const struct pop3_command *cmd, size_t i);
void pop3_cmd_stat(struct pop3_session *s, const struct pop3_command *cmd);
void pop3_cmd_list(struct pop3_session *s, const struct pop3_command *cmd);
void pop3_cmd_uidl(struct pop3_session *s, const struct pop3_command *cmd);
void pop3_cmd_dele(struct pop3_session *s, const struct pop3_command *cmd);
void pop3_cmd_rset(struct pop3_session *s, const struct pop3_command *cmd);
/* pop3_update: QUIT in TRANSACTION (RFC 1939 6). */
void pop3_update(struct pop3_session *s);

/* ---- pop3_retr.c ---- */
void pop3_cmd_retr(struct pop3_session *s, const struct pop3_command *cmd);
void pop3_cmd_top(struct pop3_session *s, const struct pop3_command *cmd);

#endif
