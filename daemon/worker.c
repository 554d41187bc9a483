/*
 * worker.c - a worker process: accept loop, a detached thread per
 * connection, limits on connections in all and per client IP, and a
 * graceful stop.
 *
 * Signals reach the accept loop through a self-pipe. SIGTERM/SIGINT
 * (stop) end idle sessions at once: the worker writes to a second pipe
 * that every session waiting for a command watches. SIGUSR2 (drain, sent
 * by the master on reload) only stops accepting and lets sessions run to
 * their end; those still open after LIMIT_SHUTDOWN_GRACE are stopped too.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "common/limits.h"
#include "common/log.h"
#include "common/tls.h"
#include "common/xalloc.h"
#include "daemon/worker.h"

struct ip_count {
	char ip[64];
	unsigned int count;
};

/* The worker's state; lives on worker_run()'s stack for the process's
 * life. lock guards active and ips. */
struct worker {
	const struct proto *proto;
	void *server;			/* owned: proto->server_free() */
	int stop_r;			/* sessions: readable once stopping */
	int stop_w;
	pthread_mutex_t lock;
	pthread_cond_t idle;		/* signalled when active drops */
	size_t active;
	struct ip_count ips[LIMIT_CONNECTIONS];
	size_t nips;
};

struct session_arg {
	struct worker *w;
	struct conn *conn;		/* owned by the session thread */
	enum config_service svc;
};

/* The write end of the signal pipe, for the handler: a process has one
 * worker, and a signal handler can reach nothing else. */
static int signal_w = -1;

static void
on_signal(int signo)
{
	unsigned char b = (unsigned char)signo;
	int saved = errno;

	if (signal_w >= 0)
		(void)write(signal_w, &b, 1);
	errno = saved;
}

static struct ip_count *
ip_find(struct worker *w, const char *ip)
{
	for (size_t i = 0; i < w->nips; i++)
		if (strcmp(w->ips[i].ip, ip) == 0)
			return &w->ips[i];
	return NULL;
}

/* admit: counts a new connection from ip, or returns false when a limit
 * would be passed. */
static bool
admit(struct worker *w, const char *ip)
{
	struct ip_count *c;
	bool ok = false;

	pthread_mutex_lock(&w->lock);
	c = ip_find(w, ip);
	if (w->active < LIMIT_CONNECTIONS &&
	    (c == NULL || c->count < LIMIT_CONNECTIONS_PER_IP)) {
		if (c == NULL) {
			c = &w->ips[w->nips++];
			strcpy(c->ip, ip);	/* conn_peer_ip() fits */
			c->count = 0;
		}
		c->count++;
		w->active++;
		ok = true;
	}
	pthread_mutex_unlock(&w->lock);
	return ok;
}

static void
release(struct worker *w, const char *ip)
{
	struct ip_count *c;

	pthread_mutex_lock(&w->lock);
	if ((c = ip_find(w, ip)) != NULL && --c->count == 0)
		*c = w->ips[--w->nips];
	w->active--;
	pthread_cond_broadcast(&w->idle);
	pthread_mutex_unlock(&w->lock);
}

static void *
session_main(void *p)
{
	struct session_arg *arg = p;
	char ip[64];

	strcpy(ip, conn_peer_ip(arg->conn));
	arg->w->proto->session(arg->w->server, arg->svc, arg->conn);
	conn_free(&arg->conn);
	release(arg->w, ip);
	free(arg);
	return NULL;
}

/* refuse: over a limit: the busy reply on fd (the caller closes it). The
 * socket is fresh, so a short reply fits its
 * send buffer: a non-blocking send either goes out at once or not at
 * all, and the accept loop never waits on a client. */
static void
refuse(struct worker *w, int fd, enum config_service svc, const char *ip)
{
	bool implicit_tls = svc == CONFIG_SVC_SUBMISSIONS ||
	    svc == CONFIG_SVC_IMAPS || svc == CONFIG_SVC_POP3S;
	const char *reply = w->proto->busy_reply;

	log_warn("%s: connection from %s refused: too many connections",
	    w->proto->name, ip);
	if (reply != NULL && !implicit_tls)
		(void)send(fd, reply, strlen(reply),
		    MSG_DONTWAIT | MSG_NOSIGNAL);
}

static void
accept_one(struct worker *w, const struct listener *l)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	struct session_arg *arg;
	pthread_attr_t attr;
	pthread_t tid;
	struct conn *conn;
	int fd;

	fd = accept4(l->fd, (struct sockaddr *)&ss, &len, SOCK_CLOEXEC);
	if (fd < 0) {
		if (errno != EAGAIN && errno != EINTR &&
		    errno != ECONNABORTED)
			log_warn("%s: accept on %s: %s", w->proto->name,
			    l->where, strerror(errno));
		/* EMFILE and friends: do not spin on the error. */
		if (errno == EMFILE || errno == ENFILE || errno == ENOMEM)
			usleep(100 * 1000);
		return;
	}
	conn = conn_new(fd, (struct sockaddr *)&ss, len, w->stop_r);
	if (!admit(w, conn_peer_ip(conn))) {
		refuse(w, fd, l->svc, conn_peer_ip(conn));
		conn_free(&conn);	/* closes fd */
		return;
	}
	arg = xmalloc(sizeof(*arg));
	arg->w = w;
	arg->conn = conn;
	arg->svc = l->svc;
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, LIMIT_THREAD_STACK);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	if (pthread_create(&tid, &attr, session_main, arg) != 0) {
		char ip[64];

		log_error("%s: cannot start a session thread",
		    w->proto->name);
		strcpy(ip, conn_peer_ip(conn));
		conn_free(&conn);
		release(w, ip);
		free(arg);
	}
	pthread_attr_destroy(&attr);
}

/* wait_idle: waits up to seconds for every session to end; false when
 * some are still open. */
static bool
wait_idle(struct worker *w, int seconds)
{
	struct timespec deadline;
	bool idle;

	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += seconds;
	pthread_mutex_lock(&w->lock);
	while (w->active > 0 && pthread_cond_timedwait(&w->idle, &w->lock,
	    &deadline) != ETIMEDOUT)
		;
	idle = w->active == 0;
	pthread_mutex_unlock(&w->lock);
	return idle;
}

/* finish: after the accept loop. A drain waits for sessions to end on
 * their own first; then sessions are told to stop (a message being
 * received is finished) and get the grace period. Returns true when no
 * session is left. */
static bool
finish(struct worker *w, bool drain)
{
	if (drain && wait_idle(w, LIMIT_SHUTDOWN_GRACE))
		return true;
	(void)write(w->stop_w, "x", 1);
	if (wait_idle(w, LIMIT_SHUTDOWN_GRACE))
		return true;
	log_warn("%s: %zu sessions still open after %d s; stopping anyway",
	    w->proto->name, w->active, LIMIT_SHUTDOWN_GRACE);
	return false;
}

bool
worker_wanted(const struct proto *p, const struct config *cfg,
    int64_t sandbox_user_id, const struct listener *ls, size_t nls)
{
	if (p->background != NULL)
		return p->wanted(cfg, sandbox_user_id);
	for (size_t i = 0; i < nls; i++)
		for (size_t k = 0; k < p->nservices; k++)
			if (ls[i].svc == p->services[k])
				return true;
	return false;
}

static bool
mine(const struct proto *p, enum config_service svc)
{
	for (size_t k = 0; k < p->nservices; k++)
		if (svc == p->services[k])
			return true;
	return false;
}

static void
signals_setup(void)
{
	struct sigaction sa;
	sigset_t unblock;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = SA_RESTART;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGUSR2, &sa, NULL);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGHUP, &sa, NULL);	/* the master reloads, not us */
	sigaction(SIGPIPE, &sa, NULL);
	sa.sa_handler = SIG_DFL;
	sigaction(SIGCHLD, &sa, NULL);
	/* The master forked us with these blocked (master.c spawn): what
	 * came meanwhile is delivered now, to the handlers above. */
	sigemptyset(&unblock);
	sigaddset(&unblock, SIGTERM);
	sigaddset(&unblock, SIGINT);
	sigaddset(&unblock, SIGHUP);
	sigaddset(&unblock, SIGUSR2);
	sigprocmask(SIG_UNBLOCK, &unblock, NULL);
}

/* What a background family's thread needs (worker.h). */
struct background_arg {
	const struct proto *p;
	void *server;
	int drain_r, stop_r;
	int done_w;			/* written once background() returns */
};

static void *
background_main(void *arg)
{
	struct background_arg *b = arg;

	b->p->background(b->server, b->drain_r, b->stop_r);
	(void)write(b->done_w, "x", 1);
	return NULL;
}

/* wait_readable: fd became readable within seconds. */
static bool
wait_readable(int fd, int seconds)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	time_t end = time(NULL) + seconds;
	int left;

	while ((left = (int)(end - time(NULL))) > 0)
		if (poll(&p, 1, left * 1000) > 0)
			return true;
	return false;
}

/* run_background: a family without listeners. It runs until its thread
 * returns (an error: the master restarts us) or a signal: SIGUSR2 drains
 * (no new work, what runs finishes within the grace period), SIGTERM or
 * SIGINT stops at once. */
static int
run_background(const struct proto *p, void *server, int sigfd, int stop_w,
    int stop_r)
{
	struct background_arg b = { p, server, -1, stop_r, -1 };
	int drain[2], done[2];
	pthread_t t;
	unsigned char sig = 0;
	bool ended;

	if (pipe2(drain, O_CLOEXEC | O_NONBLOCK) != 0 ||
	    pipe2(done, O_CLOEXEC | O_NONBLOCK) != 0)
		fatal("%s: pipe: %s", p->name, strerror(errno));
	b.drain_r = drain[0];
	b.done_w = done[1];
	if (pthread_create(&t, NULL, background_main, &b) != 0)
		fatal("%s: thread: %s", p->name, strerror(errno));
	for (;;) {
		struct pollfd pfd[2] = { { .fd = sigfd, .events = POLLIN },
			{ .fd = done[0], .events = POLLIN } };

		if (poll(pfd, 2, -1) < 0 && errno != EINTR)
			fatal("%s: poll: %s", p->name, strerror(errno));
		if (pfd[1].revents != 0)
			break;
		if (pfd[0].revents != 0 && read(sigfd, &sig, 1) == 1)
			break;
	}
	ended = sig == 0;
	if (!ended) {
		log_info("%s: %s", p->name, sig == SIGUSR2 ? "reloading" :
		    "stopping");
		(void)write(drain[1], "x", 1);
		if (sig != SIGUSR2 ||
		    !wait_readable(done[0], LIMIT_SHUTDOWN_GRACE))
			(void)write(stop_w, "x", 1);
	}
	/* Whatever it takes: background() owns state that must not be
	 * freed under it (the master kills a worker that never ends). */
	pthread_join(t, NULL);
	close(drain[0]);
	close(drain[1]);
	close(done[0]);
	close(done[1]);
	return ended ? 1 : 0;
}

int
worker_run(const struct proto *p, const struct config *cfg,
    const struct listener *ls, size_t nls, int64_t sandbox_user_id)
{
	struct worker *w = xcalloc(1, sizeof(*w));
	struct auth_params ap = { cfg->hash_opslimit, cfg->hash_memlimit };
	struct server_env env = { cfg, NULL, NULL, NULL, sandbox_user_id };
	struct pollfd *pfd = xcalloc(nls + 1, sizeof(*pfd));
	size_t npfd = 0;
	int pipefd[2], sigfd[2];
	bool drain = false;
	char *error = NULL;

	w->proto = p;
	pthread_mutex_init(&w->lock, NULL);
	pthread_cond_init(&w->idle, NULL);
	if (pipe2(pipefd, O_CLOEXEC | O_NONBLOCK) != 0 ||
	    pipe2(sigfd, O_CLOEXEC | O_NONBLOCK) != 0)
		fatal("%s: pipe: %s", p->name, strerror(errno));
	w->stop_r = pipefd[0];
	w->stop_w = pipefd[1];
	signal_w = sigfd[1];
	signals_setup();

	/* Certificates are read here, so a new worker (SIGHUP) reads them
	 * anew. */
	env.tls = tls_server_ctx_new(cfg->tls_cert, cfg->tls_key, &error);
	if (env.tls == NULL)
		fatal("%s: %s", p->name, error);
	env.auth = auth_ctx_new(&ap, 0);
	env.throttle = throttle_new();
	if ((w->server = p->server_new(&env, &error)) == NULL)
		fatal("%s: %s", p->name, error);
	if (p->background != NULL) {
		int status = run_background(p, w->server, sigfd[0], w->stop_w,
		    w->stop_r);

		p->server_free(w->server);
		throttle_free(&env.throttle);
		auth_ctx_free(&env.auth);
		SSL_CTX_free(env.tls);
		free(pfd);
		free(w);
		log_info("%s: stopped", p->name);
		return status;
	}

	for (size_t i = 0; i < nls; i++) {
		if (!mine(p, ls[i].svc))
			continue;
		pfd[npfd].fd = ls[i].fd;
		pfd[npfd].events = POLLIN;
		npfd++;
		log_info("%s: %s listening on %s", p->name,
		    config_service_name(ls[i].svc), ls[i].where);
	}
	pfd[npfd].fd = sigfd[0];
	pfd[npfd].events = POLLIN;

	for (;;) {
		unsigned char sig;

		if (poll(pfd, npfd + 1, -1) < 0) {
			if (errno == EINTR)
				continue;
			fatal("%s: poll: %s", p->name, strerror(errno));
		}
		if (pfd[npfd].revents != 0 && read(sigfd[0], &sig, 1) == 1) {
			drain = sig == SIGUSR2;
			break;
		}
		for (size_t i = 0; i < npfd; i++) {
			if (pfd[i].revents == 0)
				continue;
			for (size_t k = 0; k < nls; k++)
				if (ls[k].fd == pfd[i].fd)
					accept_one(w, &ls[k]);
		}
	}
	log_info("%s: %s: no new connections", p->name, drain ?
	    "reloading" : "stopping");
	for (size_t i = 0; i < nls; i++)
		close(ls[i].fd);
	if (finish(w, drain)) {
		/* Sessions left after the grace period would still use all
		 * this: only an idle worker frees it before exiting. */
		p->server_free(w->server);
		throttle_free(&env.throttle);
		auth_ctx_free(&env.auth);
		SSL_CTX_free(env.tls);
		pthread_cond_destroy(&w->idle);
		pthread_mutex_destroy(&w->lock);
		close(w->stop_r);
		close(w->stop_w);
		free(w);
	}
	free(pfd);
	log_info("%s: stopped", p->name);
	return 0;
}
