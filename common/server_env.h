/*
 * server_env.h - what letterboxd hands each protocol server in a worker
 * process. Everything here outlives the protocol server and is read-only
 * for it (threads share it).
 */
#ifndef LETTERBOX_SERVER_ENV_H
#define LETTERBOX_SERVER_ENV_H

#include <stdint.h>

#include <openssl/ssl.h>

#include "common/auth.h"
#include "common/config.h"
#include "common/throttle.h"

struct server_env {
	const struct config *cfg;
	SSL_CTX *tls;		/* server context for STARTTLS/implicit TLS */
	struct auth_ctx *auth;	/* password checks, bounded concurrency */
	struct throttle *throttle;	/* failed-login delays per IP */
	/* Sandbox mode (DESIGN.md): every recipient at any domain is this
	 * user; 0 when not in sandbox mode. */
	int64_t sandbox_user_id;
};

#endif
