/*
 * pop3.h - the POP3 family as letterboxd runs it: POP3 with STLS
 * (RFC 1939, 2595) and POP3 over implicit TLS (RFC 8314).
 */
#ifndef LETTERBOX_POP3_H
#define LETTERBOX_POP3_H

#include "common/config.h"
#include "common/conn.h"
#include "common/server_env.h"

/* pop3_server_new: state a worker's POP3 sessions share (read-only). */
void *pop3_server_new(const struct server_env *env, char **error_r);
void pop3_server_free(void *server);

/* pop3_session_run: one POP3 session on conn, to QUIT, error or
 * timeout. */
void pop3_session_run(void *server, enum config_service svc,
    struct conn *conn);

#endif
