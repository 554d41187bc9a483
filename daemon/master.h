/*
 * master.h - the letterboxd master process.
 */
#ifndef LETTERBOX_DAEMON_MASTER_H
#define LETTERBOX_DAEMON_MASTER_H

#include <stdbool.h>

#include "common/config.h"

struct master_opts {
	const char *config_path;	/* NULL: sandbox defaults */
	bool foreground;
	bool sandbox;
};

/*
 * master_run: binds the listeners of cfg (taking ownership of it), drops
 * privileges to cfg->user when root, prepares the store and TLS, forks a
 * worker per protocol and keeps them running: a dead worker is restarted
 * with back-off, SIGHUP re-reads the config and certificates (new workers
 * replace the old, which finish their sessions), SIGTERM/SIGINT stop
 * gracefully. Returns the exit status.
 */
int master_run(struct config *cfg, const struct master_opts *opts);

#endif
