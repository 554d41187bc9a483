/*
 * master.c - the letterboxd master: binds, drops privileges, forks a
 * worker per protocol family and supervises them.
 *
 * Signals reach the loop through a self-pipe (one byte per signal), so
 * everything but the handler runs in ordinary context. A worker that
 * dies is restarted after a back-off (1 s doubling to 60 s, back to 1 s
 * once it has run a minute). SIGHUP starts a new generation of workers
 * with the re-read config and certificates and tells the old one to
 * finish its sessions; listeners stay bound in the master.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/limits.h"
#include "common/log.h"
#include "common/tls.h"
#include "common/xalloc.h"
#include "daemon/listen.h"
#include "daemon/master.h"
#include "daemon/protos.h"
#include "daemon/sandbox.h"
#include "store/store.h"

#define BACKOFF_MAX 60

struct slot {
	const struct proto *proto;
	pid_t pid;		/* 0 when not running */
	time_t started;
	int backoff;		/* seconds before the next restart */
	time_t restart_at;	/* 0: no restart pending */
};

struct master {
	struct config *cfg;		/* owned */
	const struct master_opts *opts;
	struct listener *ls;
	size_t nls;
	struct slot slots[8];		/* one per protocol family */
	size_t nslots;
	pid_t draining[64];		/* old workers finishing sessions */
	size_t ndraining;
	int64_t sandbox_user_id;
	bool stopping;
};

/* Write end of the self-pipe, for the handler only. */
static int signal_w = -1;

static void
on_signal(int signo)
{
	unsigned char b = (unsigned char)signo;
	int saved = errno;

	(void)write(signal_w, &b, 1);
	errno = saved;
}

static int
signals_setup(int *signal_r)
{
	struct sigaction sa;
	int fds[2];

	if (pipe2(fds, O_CLOEXEC | O_NONBLOCK) != 0)
		return -1;
	signal_w = fds[1];
	*signal_r = fds[0];
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = SA_RESTART;
	sigaction(SIGCHLD, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
	return 0;
}

static int
bind_all(struct master *m, char **error_r)
{
	for (int s = 0; s < CONFIG_SVC_COUNT; s++) {
		if (m->cfg->service[s].listen_count == 0)
			continue;
		if (daemon_proto_of((enum config_service)s) == NULL) {
			log_info("%s: not available yet; not listening",
			    config_service_name((enum config_service)s));
			continue;
		}
		if (listen_bind(m->cfg, (enum config_service)s, &m->ls,
		    &m->nls, error_r) < 0)
			return -1;
	}
	if (m->nls == 0) {
		*error_r = xstrdup("no service to run: set a listen key");
		return -1;
	}
	return 0;
}

/* drop_privileges: as root with user = set, hands data_dir to that user
 * and becomes it. */
static int
drop_privileges(const struct config *cfg, char **error_r)
{
	struct passwd *pw;

	if (geteuid() != 0)
		return 0;
	if (cfg->user == NULL) {
		log_warn("running as root: set user = in the config");
		return 0;
	}
	if ((pw = getpwnam(cfg->user)) == NULL) {
		*error_r = xasprintf("user %s does not exist", cfg->user);
		return -1;
	}
	if ((mkdir(cfg->data_dir, 0700) != 0 && errno != EEXIST) ||
	    chown(cfg->data_dir, pw->pw_uid, pw->pw_gid) != 0) {
		*error_r = xasprintf("%s: %s", cfg->data_dir, strerror(errno));
		return -1;
	}
	if (initgroups(pw->pw_name, pw->pw_gid) != 0 ||
	    setgid(pw->pw_gid) != 0 || setuid(pw->pw_uid) != 0) {
		*error_r = xasprintf("cannot become %s: %s", cfg->user,
		    strerror(errno));
		return -1;
	}
	if (setuid(0) == 0) {
		*error_r = xstrdup("could regain root after dropping it");
		return -1;
	}
	return 0;
}

/* prepare: the store migrated, TLS certificates present and loadable. */
static int
prepare(struct master *m, char **error_r)
{
	struct store *st;
	SSL_CTX *ctx;
	char *cert, *key;

	if (store_open(m->cfg->data_dir, &st, error_r) != 0)
		return -1;
	store_close(&st);
	if (m->cfg->tls_cert == NULL || m->cfg->tls_key == NULL) {
		if (tls_selfsigned_ensure(m->cfg->data_dir, m->cfg->hostname,
		    &cert, &key, error_r) < 0)
			return -1;
		free(m->cfg->tls_cert);
		free(m->cfg->tls_key);
		m->cfg->tls_cert = cert;
		m->cfg->tls_key = key;
	}
	if ((ctx = tls_server_ctx_new(m->cfg->tls_cert, m->cfg->tls_key,
	    error_r)) == NULL)
		return -1;
	SSL_CTX_free(ctx);
	/* The sandbox account is made once; a reload keeps its password. */
	if (m->opts->sandbox && m->sandbox_user_id == 0)
		return sandbox_prepare(m->cfg, &m->sandbox_user_id, error_r);
	return 0;
}

static void
spawn(struct master *m, struct slot *s)
{
	sigset_t block, old;
	pid_t pid;

	/* Until the worker has its own handlers (worker.c signals_setup)
	 * a signal sent to it would run the master's, whose pipe the child
	 * closes: blocked, it stays pending for the worker instead. */
	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGHUP);
	sigaddset(&block, SIGUSR2);
	sigprocmask(SIG_BLOCK, &block, &old);
	pid = fork();
	if (pid != 0)
		sigprocmask(SIG_SETMASK, &old, NULL);
	if (pid < 0) {
		log_error("master: fork: %s", strerror(errno));
		s->restart_at = time(NULL) + s->backoff;
		return;
	}
	if (pid == 0) {
		struct sigaction sa;

		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = SIG_DFL;
		sigaction(SIGCHLD, &sa, NULL);
		close(signal_w);
		/* A master killed outright must not leave workers behind. */
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		if (getppid() == 1)
			_exit(1);
		_exit(worker_run(s->proto, m->cfg, m->ls, m->nls,
		    m->sandbox_user_id));
	}
	s->pid = pid;
	s->started = time(NULL);
	s->restart_at = 0;
}

static void
reaped(struct master *m, pid_t pid, int status)
{
	time_t now = time(NULL);

	for (size_t i = 0; i < m->ndraining; i++) {
		if (m->draining[i] == pid) {
			m->draining[i] = m->draining[--m->ndraining];
			return;
		}
	}
	for (size_t i = 0; i < m->nslots; i++) {
		struct slot *s = &m->slots[i];

		if (s->pid != pid)
			continue;
		s->pid = 0;
		if (m->stopping)
			return;
		if (now - s->started >= BACKOFF_MAX)
			s->backoff = 1;
		log_error("master: %s worker %ld %s %d; restarting in %d s",
		    s->proto->name, (long)pid, WIFSIGNALED(status) ?
		    "killed by signal" : "exited with status",
		    WIFSIGNALED(status) ? WTERMSIG(status) :
		    WEXITSTATUS(status), s->backoff);
		s->restart_at = now + s->backoff;
		s->backoff = s->backoff * 2 > BACKOFF_MAX ? BACKOFF_MAX :
		    s->backoff * 2;
		return;
	}
}

static void
reap(struct master *m)
{
	pid_t pid;
	int status;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0)
		reaped(m, pid, status);
}

static bool
listen_same(const struct config *a, const struct config *b)
{
	for (int s = 0; s < CONFIG_SVC_COUNT; s++) {
		const struct config_service_cfg *x = &a->service[s],
		    *y = &b->service[s];

		if (x->listen_count != y->listen_count ||
		    memcmp(x->listen, y->listen,
		    x->listen_count * sizeof(x->listen[0])) != 0)
			return false;
	}
	return true;
}

/* reload: SIGHUP. A config that does not load changes nothing. */
static void
reload(struct master *m)
{
	struct config *cfg = NULL;
	char *error = NULL;

	if (m->opts->config_path != NULL) {
		if (config_load(m->opts->config_path, m->cfg->data_dir, &cfg,
		    &error) < 0) {
			log_error("reload: %s; keeping the running config",
			    error);
			free(error);
			return;
		}
		if (!listen_same(cfg, m->cfg))
			log_warn("reload: listen addresses changed; restart "
			    "letterboxd to apply them");
		if (strcmp(cfg->data_dir, m->cfg->data_dir) != 0)
			log_warn("reload: data_dir changed; restart "
			    "letterboxd to apply it");
		free(cfg->data_dir);
		cfg->data_dir = xstrdup(m->cfg->data_dir);
		/* Listeners were bound from the old config and stay. */
		memcpy(cfg->service, m->cfg->service, sizeof(cfg->service));
		config_free(&m->cfg);
		m->cfg = cfg;
		if (prepare(m, &error) < 0) {
			log_error("reload: %s", error);
			free(error);
		}
	}
	log_info("reload: starting new workers; old ones finish their "
	    "sessions");
	for (size_t i = 0; i < m->nslots; i++) {
		struct slot *s = &m->slots[i];

		/* SIGUSR2: stop accepting, let sessions end on their own. */
		if (s->pid > 0 && m->ndraining < sizeof(m->draining) /
		    sizeof(m->draining[0])) {
			kill(s->pid, SIGUSR2);
			m->draining[m->ndraining++] = s->pid;
		} else if (s->pid > 0) {
			kill(s->pid, SIGTERM);
		}
		s->pid = 0;
		s->backoff = 1;
		spawn(m, s);
	}
}

static bool
children_left(const struct master *m)
{
	for (size_t i = 0; i < m->nslots; i++)
		if (m->slots[i].pid > 0)
			return true;
	return m->ndraining > 0;
}

static void
signal_children(const struct master *m, int signo)
{
	for (size_t i = 0; i < m->nslots; i++)
		if (m->slots[i].pid > 0)
			kill(m->slots[i].pid, signo);
	for (size_t i = 0; i < m->ndraining; i++)
		kill(m->draining[i], signo);
}

/* loop: until stopped and every worker has gone. */
static void
loop(struct master *m, int signal_r)
{
	time_t kill_at = 0;

	for (;;) {
		struct pollfd pfd = { signal_r, POLLIN, 0 };
		time_t now = time(NULL);
		unsigned char sig;
		int timeout = 1000;

		if (m->stopping && !children_left(m))
			return;
		if (m->stopping && now >= kill_at) {
			log_warn("master: workers did not stop; killing them");
			signal_children(m, SIGKILL);
			kill_at = now + 5;
		}
		for (size_t i = 0; !m->stopping && i < m->nslots; i++)
			if (m->slots[i].pid == 0 &&
			    m->slots[i].restart_at <= now)
				spawn(m, &m->slots[i]);
		if (poll(&pfd, 1, timeout) <= 0)
			continue;
		while (read(signal_r, &sig, 1) == 1) {
			switch (sig) {
			case SIGCHLD:
				reap(m);
				break;
			case SIGHUP:
				if (!m->stopping)
					reload(m);
				break;
			case SIGTERM:
			case SIGINT:
				if (m->stopping)
					break;
				log_info("master: stopping");
				m->stopping = true;
				kill_at = time(NULL) + LIMIT_SHUTDOWN_GRACE + 5;
				signal_children(m, SIGTERM);
				break;
			}
		}
	}
}

static void
daemonize(void)
{
	pid_t pid = fork();
	int fd;

	if (pid < 0)
		fatal("fork: %s", strerror(errno));
	if (pid > 0)
		_exit(0);
	setsid();
	if ((fd = open("/dev/null", O_RDWR)) >= 0) {
		dup2(fd, 0);
		dup2(fd, 1);
		dup2(fd, 2);
		if (fd > 2)
			close(fd);
	}
}

int
master_run(struct config *cfg, const struct master_opts *opts)
{
	struct master *m = xcalloc(1, sizeof(*m));
	char *error = NULL;
	int signal_r;

	m->cfg = cfg;
	m->opts = opts;
	/* Before binding: once a port accepts, whoever started us may
	 * signal us, and a signal must not find the default action. */
	if (signals_setup(&signal_r) < 0)
		fatal("master: pipe: %s", strerror(errno));
	if (bind_all(m, &error) < 0 || drop_privileges(cfg, &error) < 0 ||
	    prepare(m, &error) < 0) {
		log_error("%s", error);
		/* Not detached yet: whoever started us should see why. */
		if (!opts->foreground)
			fprintf(stderr, "letterboxd: %s\n", error);
		free(error);
		listen_close_all(&m->ls, &m->nls);
		config_free(&m->cfg);
		free(m);
		return 1;
	}
	if (!opts->foreground)
		daemonize();
	for (size_t i = 0; i < daemon_nprotos; i++) {
		if (!worker_wanted(daemon_protos[i], m->cfg,
		    m->sandbox_user_id, m->ls, m->nls))
			continue;
		m->slots[m->nslots].proto = daemon_protos[i];
		m->slots[m->nslots].backoff = 1;
		m->nslots++;
	}
	log_info("letterboxd started (pid %ld, data in %s)", (long)getpid(),
	    m->cfg->data_dir);
	loop(m, signal_r);
	log_info("letterboxd stopped");
	listen_close_all(&m->ls, &m->nls);
	config_free(&m->cfg);
	free(m);
	return 0;
}
