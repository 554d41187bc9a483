/*
 * smtp.h - the SMTP family as letterboxd runs it: inbound SMTP (MX),
 * submission with STARTTLS (RFC 6409) and submission over implicit TLS
 * (RFC 8314).
 */
#ifndef LETTERBOX_SMTP_H
#define LETTERBOX_SMTP_H

#include "common/config.h"
#include "common/conn.h"
#include "common/server_env.h"

/* smtp_server_new: the state a worker's SMTP sessions share (read-only
 * after creation). NULL with a malloc'd *error_r. */
void *smtp_server_new(const struct server_env *env, char **error_r);
void smtp_server_free(void *server);

/* smtp_session_run: one SMTP session on conn for service svc, from the
 * greeting (or TLS handshake) to QUIT, error or timeout. */
void smtp_session_run(void *server, enum config_service svc,
    struct conn *conn);

#endif
