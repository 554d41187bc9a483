/*
 * smtp_session.h - what the SMTP session's files share: the server, the
 * session and its mail transaction, and the reply helpers.
 */
#ifndef LETTERBOX_SMTP_SESSION_H
#define LETTERBOX_SMTP_SESSION_H

#include <stdbool.h>
#include <stdint.h>

#include "common/buf.h"
#include "common/conn.h"
#include "common/limits.h"
#include "common/server_env.h"
#include "smtpd/smtp_parse.h"
#include "store/store.h"

/* Shared by a worker's sessions, read-only after smtp_server_new(). */
struct smtp_server {
	struct server_env env;
	size_t max_size;		/* message bytes, from the config */
};

/* One accepted recipient (RCPT) and the users it reaches. */
struct smtp_rcpt {
	char address[LIMIT_ADDR_TOTAL + 1];
	bool remote;			/* for the outbound queue */
};

/* The mail transaction (RFC 5321 3.3): MAIL, RCPTs, then DATA or BDAT. */
struct smtp_tx {
	bool active;			/* MAIL accepted */
	bool logged;			/* smtp_log_tx() ran for it */
	unsigned int refused;		/* RCPTs refused */
	char id[17];			/* hex, names the message in logs */
	struct smtp_mail_args mail;
	struct smtp_rcpt rcpts[LIMIT_RECIPIENTS];
	size_t nrcpts;
	size_t nremote;			/* rcpts with remote set */
	int64_t users[LIMIT_RECIPIENTS];	/* distinct user ids */
	size_t nusers;
	bool bdat;			/* a BDAT sequence has begun */
	bool bdat_failed;		/* a chunk was refused: LAST fails */
	struct buf msg;			/* headers we add, then the message */
	size_t header_len;		/* bytes of our headers in msg */
};

struct smtp_session {
	const struct smtp_server *srv;
	enum config_service svc;
	struct conn *conn;		/* not owned: the worker frees it */
	struct store *st;		/* owned: this thread's handle */
	char helo[LIMIT_ADDR_DOMAIN + 1];	/* "" before EHLO/HELO */
	bool esmtp;			/* EHLO, not HELO */
	int64_t auth_user_id;		/* 0 until AUTH succeeds */
	char auth_user[LIMIT_ADDR_TOTAL + 1];
	unsigned int auth_failures;
	unsigned int bad_commands;
	bool quit;			/* end the session after this reply */
	struct smtp_tx tx;
};

/* smtp_reply: one reply line "code text" (text carries the enhanced
 * status code) and flushes unless more pipelined commands are waiting
 * (RFC 2920 3.2). */
void smtp_reply(struct smtp_session *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* smtp_reply_flush: sends what smtp_reply() queued. */
void smtp_reply_flush(struct smtp_session *s);
/* smtp_bad_command: counts a bad command; past the limit, 421 and end. */
void smtp_bad_command(struct smtp_session *s);

/* smtp_auth_offered: AUTH may be used on this connection now. */
bool smtp_auth_offered(const struct smtp_session *s);
/* smtp_auth_required: this service wants AUTH before MAIL. */
bool smtp_auth_required(const struct smtp_session *s);

/* ---- smtp_tx.c ---- */
void smtp_tx_reset(struct smtp_session *s);
void smtp_cmd_mail(struct smtp_session *s, const char *arg, size_t len);
void smtp_cmd_rcpt(struct smtp_session *s, const char *arg, size_t len);

/* ---- smtp_data.c ---- */
/* smtp_cmd_data: DATA (eol_crlf: how the DATA line itself ended). */
void smtp_cmd_data(struct smtp_session *s, bool eol_crlf);
void smtp_cmd_bdat(struct smtp_session *s, const char *arg, size_t len);

/* ---- smtp_deliver.c ---- */
/* smtp_headers_add: Return-Path and Received at the start of tx.msg. */
int smtp_headers_add(struct smtp_session *s);
/* smtp_deliver: commits tx.msg to every recipient and replies. */
void smtp_deliver(struct smtp_session *s);
/* smtp_log_tx: the one log line of a transaction. */
void smtp_log_tx(struct smtp_session *s, const char *result);

/* ---- smtp_outbound.c ---- */
/* smtp_outbound_allowed: this session may queue mail for other domains
 * (authenticated, outbound enabled, not the sandbox). */
bool smtp_outbound_allowed(const struct smtp_session *s);
/* smtp_sender_check: the authenticated user may use address as the
 * envelope sender or in From: (its own address, or an alias reaching
 * it); replies 553 5.7.1 and returns false when not. what: "sender" or
 * "From: address" for the reply. */
bool smtp_sender_check(struct smtp_session *s, const char *address,
    const char *what);
/* smtp_from_check: every From: address of the message passes
 * smtp_sender_check(); replies and returns false when one does not. */
bool smtp_from_check(struct smtp_session *s);
/* smtp_outbound_store: commits the local copies and the queued one in
 * one transaction (store_submit); the outbound copy has no Return-Path
 * and gets the DKIM signatures of the From: domain. Returns what
 * store_submit() returns, results_r as there. */
int smtp_outbound_store(struct smtp_session *s, int *results_r);

/* ---- smtp_auth.c ---- */
void smtp_cmd_auth(struct smtp_session *s, const char *arg, size_t len);

#endif
