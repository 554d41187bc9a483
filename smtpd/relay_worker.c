/*
 * relay_worker.c - the delivery agent's scheduler (relay.h).
 *
 * It sleeps until a wake-up (a datagram on data_dir/relay.sock from a
 * commit that queued mail or from the admin tool, or a delivery thread
 * that finished or claimed something) or until the earliest next attempt
 * in the queue, at most a minute. Then it sends the reports that are due
 * and starts delivery threads for the due destinations that have room.
 * Nothing polls the database faster than that.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"
#include "common/tls.h"
#include "common/xalloc.h"
#include "smtpd/relay.h"

bool
relay_wanted(const struct config *cfg, int64_t sandbox_user_id)
{
	/* The sandbox never sends mail anywhere (DESIGN.md). */
	return sandbox_user_id == 0 && cfg->outbound.enabled;
}

void *
relay_server_new(const struct server_env *env, char **error_r)
{
	struct relay *r = xcalloc(1, sizeof(*r));
	const struct config_outbound *out = &env->cfg->outbound;
	int fds[2];

	r->cfg = env->cfg;
	r->out = out;
	r->pid = (int64_t)getpid();
	if (out->relay != NULL &&
	    config_parse_hostport(out->relay, 0, r->smarthost,
	    &r->smarthost_port) < 0) {
		*error_r = xasprintf("[outbound] relay: bad HOST:PORT");
		goto fail;
	}
	if ((r->dns = relay_dns_new(out->dns, error_r)) == NULL)
		goto fail;
	if ((r->tls_mx = tls_client_ctx_new(false, NULL, error_r)) == NULL)
		goto fail;
	if (out->relay != NULL && (r->tls_smarthost =
	    tls_client_ctx_new(true, out->relay_ca, error_r)) == NULL)
		goto fail;
	if (pipe2(fds, O_CLOEXEC | O_NONBLOCK) != 0) {
		*error_r = xasprintf("pipe: %s", strerror(errno));
		goto fail;
	}
	r->wake_r = fds[0];
	r->wake_w = fds[1];
	pthread_mutex_init(&r->lock, NULL);
	pthread_cond_init(&r->idle, NULL);
	return r;
fail:
	relay_dns_free(&r->dns);
	SSL_CTX_free(r->tls_mx);
	SSL_CTX_free(r->tls_smarthost);
	free(r);
	return NULL;
}

void
relay_server_free(void *server)
{
	struct relay *r = server;

	relay_dns_free(&r->dns);
	SSL_CTX_free(r->tls_mx);
	SSL_CTX_free(r->tls_smarthost);
	close(r->wake_r);
	close(r->wake_w);
	pthread_cond_destroy(&r->idle);
	pthread_mutex_destroy(&r->lock);
	free(r);
}

void
relay_wake(struct relay *r)
{
	(void)write(r->wake_w, "x", 1);
}

static bool
readable(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	return fd >= 0 && poll(&p, 1, 0) > 0;
}

bool
relay_stopping(const struct relay *r, bool stop_only)
{
	return readable(r->stop_fd) || (!stop_only && readable(r->drain_fd));
}

bool
relay_sleep(const struct relay *r, int ms)
{
	struct pollfd p = { .fd = r->stop_fd, .events = POLLIN };

	return poll(&p, 1, ms) > 0;
}

/* dest_find: the slot of domain, added when absent (NULL when full).
 * Under r->lock. */
static struct relay_dest *
dest_find(struct relay *r, const char *domain)
{
	for (size_t i = 0; i < r->ndest; i++)
		if (strcmp(r->dest[i].domain, domain) == 0)
			return &r->dest[i];
	for (size_t i = 0; i < r->ndest; i++) {
		if (r->dest[i].active == 0) {
			strcpy(r->dest[i].domain, domain);
			return &r->dest[i];
		}
	}
	if (r->ndest == sizeof(r->dest) / sizeof(r->dest[0]))
		return NULL;
	strcpy(r->dest[r->ndest].domain, domain);
	r->dest[r->ndest].active = 0;
	return &r->dest[r->ndest++];
}

/* start: one more thread for domain if the limits allow; false when the
 * limits are reached. */
static bool
start(struct relay *r, const char *domain)
{
	struct relay_dest *d;
	bool ok = false;

	pthread_mutex_lock(&r->lock);
	if (r->active < r->out->connections &&
	    (d = dest_find(r, domain)) != NULL &&
	    d->active < r->out->per_domain) {
		d->active++;
		r->active++;
		ok = true;
	}
	pthread_mutex_unlock(&r->lock);
	if (ok && !relay_deliver_start(r, domain))
		ok = false;
	return ok;
}

/* schedule: threads for what is due; returns the poll timeout (ms). */
static int
schedule(struct relay *r, struct store *st, int64_t *released_r)
{
	char **domains = NULL;
	int64_t now = (int64_t)time(NULL), next = 0;
	bool full = false;
	int ret;

	/* An agent of an older generation that died while draining left
	 * leases: take them back now and then, not only at start. */
	if (now - *released_r >= 60) {
		*released_r = now;
		if ((ret = store_queue_release(st, 0)) != 0)
			log_warn("relay: releasing old leases: %s",
			    store_strerror(ret));
	}
	relay_reports(r, st);
	if ((ret = store_queue_due_domains(st, now, &domains, &next)) != 0) {
		log_warn("relay: reading the queue: %s", store_strerror(ret));
		return 10 * 1000;
	}
	if (domains[0] != NULL && r->smarthost[0] != '\0')
		full = !start(r, "");
	for (size_t i = 0; r->smarthost[0] == '\0' && domains[i] != NULL;
	    i++)
		if (!start(r, domains[i]))
			full = true;
	store_strv_free(&domains);
	/* Due mail left waiting for a thread: a finishing thread wakes us.
	 * Otherwise sleep until the next attempt, at most a minute. */
	if (full || next == 0 || next - now > 60)
		return 60 * 1000;
	return next <= now ? 1000 : (int)(next - now) * 1000;
}

/* drain_wakeups: reads every pending datagram and wake byte. */
static void
drain_wakeups(struct relay *r, int sock)
{
	char b[64];
	int64_t id;

	while (store_notify_recv(sock, &id) == 0)
		;
	while (read(r->wake_r, b, sizeof(b)) > 0)
		;
}

/* wait_threads: until every delivery thread ended, or seconds passed. */
static bool
wait_threads(struct relay *r, int seconds)
{
	struct timespec deadline;
	bool idle;

	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += seconds;
	pthread_mutex_lock(&r->lock);
	while (r->active > 0 && pthread_cond_timedwait(&r->idle, &r->lock,
	    &deadline) != ETIMEDOUT)
		;
	idle = r->active == 0;
	pthread_mutex_unlock(&r->lock);
	return idle;
}

void
relay_run(void *server, int drain_fd, int stop_fd)
{
	struct relay *r = server;
	struct store *st = NULL;
	char *error = NULL;
	int sock = -1, lock = -1, ret;
	int64_t released = 0;

	r->drain_fd = drain_fd;
	r->stop_fd = stop_fd;
	if (store_open(r->cfg->data_dir, &st, &error) != 0 ||
	    store_queue_listen(r->cfg->data_dir, &sock, &error) != 0) {
		log_error("relay: %s", error);
		free(error);
		store_close(&st);
		return;
	}
	/* Our leases are alive while this lock is held (lock.c). */
	if ((ret = store_queue_agent_lock(st, r->pid, &lock)) != 0) {
		log_error("relay: agent lock: %s", store_strerror(ret));
		store_queue_unlisten(r->cfg->data_dir, &sock);
		store_close(&st);
		return;
	}
	log_info("relay: delivering %s", r->smarthost[0] != '\0' ?
	    "through the smarthost" : "to MX hosts");
	while (!relay_stopping(r, false)) {
		struct pollfd p[4] = {
			{ .fd = sock, .events = POLLIN },
			{ .fd = r->wake_r, .events = POLLIN },
			{ .fd = drain_fd, .events = POLLIN },
			{ .fd = stop_fd, .events = POLLIN },
		};
		int timeout = schedule(r, st, &released);

		if (poll(p, 4, timeout) < 0 && errno != EINTR) {
			log_error("relay: poll: %s", strerror(errno));
			break;
		}
		drain_wakeups(r, sock);
	}
	/* A drain lets deliveries in progress finish; a stop ends them
	 * (their recipients stay pending, not counted as attempts). Until
	 * every thread is gone nothing is released or freed: a thread
	 * still sending holds its lease, and r. */
	if (!wait_threads(r, LIMIT_SHUTDOWN_GRACE)) {
		log_warn("relay: deliveries still running after %d s; "
		    "waiting for the stop", LIMIT_SHUTDOWN_GRACE);
		(void)relay_sleep(r, -1);
		while (!wait_threads(r, 60))
			log_warn("relay: deliveries still ending");
	}
	if ((ret = store_queue_release(st, r->pid)) != 0)
		log_warn("relay: releasing leases: %s", store_strerror(ret));
	close(lock);
	store_queue_unlisten(r->cfg->data_dir, &sock);
	store_close(&st);
}
