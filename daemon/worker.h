/*
 * worker.h - a worker process: one protocol family (SMTP, later POP3 and
 * IMAP), its listeners, a thread per connection, and connection limits.
 */
#ifndef LETTERBOX_DAEMON_WORKER_H
#define LETTERBOX_DAEMON_WORKER_H

#include <stdbool.h>
#include <stddef.h>

#include "common/conn.h"
#include "common/server_env.h"
#include "daemon/listen.h"

/* A protocol family as the daemon sees it. */
struct proto {
	const char *name;		/* "smtp": names the worker in logs */
	enum config_service services[4];
	size_t nservices;
	/* server_new: per-worker state shared by its sessions; NULL with a
	 * malloc'd *error_r. */
	void *(*server_new)(const struct server_env *env, char **error_r);
	void (*server_free)(void *server);
	/* session: serves one connection to its end; the worker frees conn
	 * afterwards. Runs on its own thread. */
	void (*session)(void *server, enum config_service svc,
	    struct conn *conn);
	/* busy_reply: sent (best effort, plaintext services only) before
	 * closing a connection over the limits. */
	const char *busy_reply;
	/* A family without listeners (the delivery agent) has these
	 * instead of services and session. wanted: whether the config
	 * asks for it. background: runs on its own thread until it
	 * returns: drain_fd readable = take no new work and return,
	 * stop_fd readable = give up what is running too. */
	bool (*wanted)(const struct config *cfg, int64_t sandbox_user_id);
	void (*background)(void *server, int drain_fd, int stop_fd);
};

/* worker_wanted: true when any listener belongs to p's services, or for
 * a background family, when p->wanted() says so. */
bool worker_wanted(const struct proto *p, const struct config *cfg,
    int64_t sandbox_user_id, const struct listener *ls, size_t nls);

/*
 * worker_run: the body of a worker process (after fork): serves p's
 * listeners until SIGTERM or SIGINT, then stops accepting and gives
 * sessions LIMIT_SHUTDOWN_GRACE seconds to end. Returns the process exit
 * status.
 */
int worker_run(const struct proto *p, const struct config *cfg,
    const struct listener *ls, size_t nls, int64_t sandbox_user_id);

#endif
