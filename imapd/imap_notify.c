/*
 * imap_notify.c - the IMAP worker's change listener (imap_notify.h).
 *
 * Datagrams come from any process that writes to the store (SMTP, the
 * CLI, other IMAP sessions); store_notify_recv() drops malformed ones.
 * A wake-up is one byte into a non-blocking pipe: a full pipe already
 * means "look again", so a failed write loses nothing.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"
#include "common/xalloc.h"
#include "imapd/imap_notify.h"
#include "store/store.h"

struct imap_notify {
	int fd;				/* the notification socket */
	int stop[2];			/* written to stop the thread */
	int poke_fd;			/* not owned: poked after changes */
	pthread_t thread;
	pthread_mutex_t lock;		/* guards waiters */
	struct imap_waiter *waiters;
};

static void
wake_user(struct imap_notify *n, int64_t user_id)
{
	pthread_mutex_lock(&n->lock);
	for (struct imap_waiter *w = n->waiters; w != NULL; w = w->next)
		if (w->user_id == user_id)
			(void)write(w->pipe[1], "", 1);
	pthread_mutex_unlock(&n->lock);
}

static void *
listen_loop(void *arg)
{
	struct imap_notify *n = arg;

	for (;;) {
		struct pollfd pfd[2] = {
			{ .fd = n->fd, .events = POLLIN },
			{ .fd = n->stop[0], .events = POLLIN },
		};
		int64_t user_id;

		if (poll(pfd, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			log_error("imap: notify poll: %s", strerror(errno));
			return NULL;
		}
		if (pfd[1].revents != 0)
			return NULL;
		while (store_notify_recv(n->fd, &user_id) == 0)
			wake_user(n, user_id);
		if (n->poke_fd >= 0)
			(void)write(n->poke_fd, "", 1);
	}
}

int
imap_notify_start(const char *data_dir, int poke_fd,
    struct imap_notify **notify_r, char **error_r)
{
	struct imap_notify *n = xcalloc(1, sizeof(*n));
	int ret;

	n->poke_fd = poke_fd;
	if (store_notify_listen(data_dir, &n->fd, error_r) != 0) {
		free(n);
		return -1;
	}
	if (pipe2(n->stop, O_CLOEXEC) != 0) {
		*error_r = xasprintf("pipe: %s", strerror(errno));
		close(n->fd);
		free(n);
		return -1;
	}
	pthread_mutex_init(&n->lock, NULL);
	if ((ret = pthread_create(&n->thread, NULL, listen_loop, n)) != 0) {
		*error_r = xasprintf("pthread_create: %s", strerror(ret));
		close(n->stop[0]);
		close(n->stop[1]);
		close(n->fd);
		pthread_mutex_destroy(&n->lock);
		free(n);
		return -1;
	}
	*notify_r = n;
	return 0;
}

void
imap_notify_stop(struct imap_notify **notify)
{
	struct imap_notify *n = *notify;

	if (n == NULL)
		return;
	(void)write(n->stop[1], "", 1);
	pthread_join(n->thread, NULL);
	/* The socket file stays: after SIGHUP it is the new worker's. */
	close(n->fd);
	close(n->stop[0]);
	close(n->stop[1]);
	pthread_mutex_destroy(&n->lock);
	free(n);
	*notify = NULL;
}

void
imap_waiter_init(struct imap_waiter *w)
{
	w->user_id = 0;
	w->pipe[0] = w->pipe[1] = -1;
	w->prev = w->next = NULL;
}

int
imap_notify_register(struct imap_notify *n, struct imap_waiter *w,
    int64_t user_id)
{
	if (w->pipe[0] < 0 && pipe2(w->pipe, O_CLOEXEC | O_NONBLOCK) != 0) {
		w->pipe[0] = w->pipe[1] = -1;
		return -1;
	}
	w->user_id = user_id;
	pthread_mutex_lock(&n->lock);
	w->prev = NULL;
	w->next = n->waiters;
	if (n->waiters != NULL)
		n->waiters->prev = w;
	n->waiters = w;
	pthread_mutex_unlock(&n->lock);
	return 0;
}

void
imap_notify_unregister(struct imap_notify *n, struct imap_waiter *w)
{
	pthread_mutex_lock(&n->lock);
	if (w->prev != NULL)
		w->prev->next = w->next;
	else if (n->waiters == w)
		n->waiters = w->next;
	if (w->next != NULL)
		w->next->prev = w->prev;
	w->prev = w->next = NULL;
	pthread_mutex_unlock(&n->lock);
}

void
imap_waiter_drain(struct imap_waiter *w)
{
	char buf[64];

	while (read(w->pipe[0], buf, sizeof(buf)) > 0)
		;
}

void
imap_waiter_free(struct imap_waiter *w)
{
	if (w->pipe[0] >= 0) {
		close(w->pipe[0]);
		close(w->pipe[1]);
	}
	imap_waiter_init(w);
}
