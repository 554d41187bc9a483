/*
 * imap.h - the IMAP family as letterboxd runs it: IMAP with STARTTLS
 * (RFC 3501) and IMAP over implicit TLS (RFC 8314).
 */
#ifndef LETTERBOX_IMAP_H
#define LETTERBOX_IMAP_H

#include "common/config.h"
#include "common/conn.h"
#include "common/server_env.h"

/* imap_server_new: state a worker's IMAP sessions share (read-only). */
void *imap_server_new(const struct server_env *env, char **error_r);
void imap_server_free(void *server);

/* imap_session_run: one IMAP session on conn, to LOGOUT, error or
 * timeout. */
void imap_session_run(void *server, enum config_service svc,
    struct conn *conn);

#endif
