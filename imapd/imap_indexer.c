/*
 * imap_indexer.c - the IMAP worker's search indexer (imap_indexer.h).
 *
 * Bodies are indexed a batch at a time, each body in its own short
 * transaction (store_index_pending), so sessions and deliveries wait at
 * most for one body's index insert. Two indexers on one database (a
 * worker and its replacement after SIGHUP) do no harm: the store indexes
 * a body only if it is still waiting.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"
#include "common/xalloc.h"
#include "imapd/imap_indexer.h"
#include "store/store.h"

/* Bodies per store_index_pending() call, between checks for stop. */
#define INDEX_BATCH 32
/* A look for work without a poke: bodies left by a previous run. */
#define INDEX_IDLE_MS (60 * 1000)

struct imap_indexer {
	char *data_dir;			/* owned */
	int wake[2];			/* read end polled, write end poked */
	atomic_bool stopping;
	pthread_t thread;
};

static void
drain(int fd)
{
	char buf[64];

	while (read(fd, buf, sizeof(buf)) > 0)
		;
}

/* index_all: indexes until nothing waits or the worker stops. */
static void
index_all(struct imap_indexer *ix, struct store *st)
{
	unsigned int done, total = 0;
	int ret;

	do {
		if ((ret = store_index_pending(st, INDEX_BATCH, &done)) != 0) {
			log_warn("imap: search indexer: %s",
			    store_strerror(ret));
			return;
		}
		total += done;
	} while (done == INDEX_BATCH && !atomic_load(&ix->stopping));
	if (total > 0)
		log_debug("imap: search index: %u bodies indexed", total);
}

static void *
index_loop(void *arg)
{
	struct imap_indexer *ix = arg;
	struct store *st = NULL;
	char *error = NULL;

	while (!atomic_load(&ix->stopping)) {
		struct pollfd pfd = { .fd = ix->wake[0], .events = POLLIN };

		if (st == NULL && store_open(ix->data_dir, &st, &error) != 0) {
			log_error("imap: search indexer: %s", error);
			free(error);
			error = NULL;
		}
		if (st != NULL)
			index_all(ix, st);
		if (poll(&pfd, 1, INDEX_IDLE_MS) < 0 && errno != EINTR)
			break;
		drain(ix->wake[0]);
	}
	store_close(&st);
	return NULL;
}

int
imap_indexer_start(const char *data_dir, struct imap_indexer **ix_r,
    char **error_r)
{
	struct imap_indexer *ix = xcalloc(1, sizeof(*ix));
	int ret;

	if (pipe2(ix->wake, O_CLOEXEC | O_NONBLOCK) != 0) {
		*error_r = xasprintf("pipe: %s", strerror(errno));
		free(ix);
		return -1;
	}
	ix->data_dir = xstrdup(data_dir);
	atomic_init(&ix->stopping, false);
	if ((ret = pthread_create(&ix->thread, NULL, index_loop, ix)) != 0) {
		*error_r = xasprintf("pthread_create: %s", strerror(ret));
		close(ix->wake[0]);
		close(ix->wake[1]);
		free(ix->data_dir);
		free(ix);
		return -1;
	}
	*ix_r = ix;
	return 0;
}

void
imap_indexer_stop(struct imap_indexer **ixp)
{
	struct imap_indexer *ix = *ixp;

	if (ix == NULL)
		return;
	atomic_store(&ix->stopping, true);
	(void)write(ix->wake[1], "", 1);
	pthread_join(ix->thread, NULL);
	close(ix->wake[0]);
	close(ix->wake[1]);
	free(ix->data_dir);
	free(ix);
	*ixp = NULL;
}

int
imap_indexer_wake_fd(const struct imap_indexer *ix)
{
	return ix->wake[1];
}
