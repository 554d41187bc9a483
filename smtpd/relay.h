/*
 * relay.h - the delivery agent (DESIGN.md "relay worker"): takes the
 * outbound queue's due recipients, delivers them to their domains' MX
 * hosts (or the smarthost), records each outcome, retries with growing
 * intervals, and reports failures and delays to the senders (RFC 3464).
 *
 * Threads: the scheduler (relay_worker.c) waits for the queue's wake-up
 * datagrams, sends the reports, and starts a delivery thread
 * (relay_deliver.c) per destination with due mail, within the limits of
 * [outbound] connections (in all) and per_domain. A delivery thread
 * resolves its domain once, opens one connection and sends every due
 * message of the domain over it, then ends. Each thread has its own
 * store handle.
 */
#ifndef LETTERBOX_SMTPD_RELAY_H
#define LETTERBOX_SMTPD_RELAY_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "common/config.h"
#include "common/server_env.h"
#include "smtpd/relay_dns.h"
#include "store/store.h"

/* The answer recorded for a recipient that ran out of time; reports give
 * it status 4.4.7 (RFC 3463: delivery time expired). */
#define RELAY_EXPIRED "Delivery time expired"

struct relay_dest {
	char domain[LIMIT_ADDR_DOMAIN + 1];	/* "" for the smarthost */
	unsigned int active;
};

struct relay {
	const struct config *cfg;
	const struct config_outbound *out;
	struct relay_dns *dns;
	SSL_CTX *tls_mx;		/* opportunistic, not verified */
	SSL_CTX *tls_smarthost;		/* verified (relay_ca or system) */
	char smarthost[256];		/* "" for MX delivery */
	uint16_t smarthost_port;
	int64_t pid;			/* our leases */
	int drain_fd;			/* readable: take no more work */
	int stop_fd;			/* readable: give up at once */
	int wake_r, wake_w;		/* threads wake the scheduler */
	pthread_mutex_t lock;		/* guards what follows */
	pthread_cond_t idle;		/* signalled as threads end */
	unsigned int active;		/* delivery threads running */
	struct relay_dest dest[256];	/* destinations with threads */
	size_t ndest;
};

/* ---- relay_worker.c: the worker's entry points (daemon/protos.c) ---- */
void *relay_server_new(const struct server_env *env, char **error_r);
void relay_server_free(void *server);
bool relay_wanted(const struct config *cfg, int64_t sandbox_user_id);
void relay_run(void *server, int drain_fd, int stop_fd);
/* relay_wake: a thread tells the scheduler to look again. */
void relay_wake(struct relay *r);
/* relay_stopping: the drain or stop fd is readable. */
bool relay_stopping(const struct relay *r, bool stop_only);
/* relay_sleep: waits ms (-1: for ever) or until the stop; true when
 * stopping. */
bool relay_sleep(const struct relay *r, int ms);

/* ---- relay_deliver.c ---- */
/* relay_deliver_start: a detached thread delivering domain's due mail
 * ("" for the smarthost); the caller counted it in r->dest and
 * r->active. false when the thread could not start (counts undone). */
bool relay_deliver_start(struct relay *r, const char *domain);
/* relay_next_attempt: when a recipient tried attempts times (this
 * failure included) is next due: retry_min doubling up to retry_max. */
int64_t relay_next_attempt(const struct config_outbound *out, int64_t now,
    int attempts);

/* ---- relay_bounce.c ---- */
/* relay_reports: sends every report due (bounces, delay notices). */
void relay_reports(struct relay *r, struct store *st);

#endif
