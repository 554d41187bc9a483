/*
 * lock.c - maildrop locks for POP3 (RFC 1939 8), and the delivery
 * agent's life lock (its queue leases), across the threads and processes
 * (a worker and its replacement during a reload) of one data directory.
 *
 * flock(2) on data_dir/locks/<user id>.lock: each call opens its own file
 * description, so two sessions of one process conflict as two processes
 * do, and a process that dies releases its locks. The file names are
 * numbers made here, never client text.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/xalloc.h"
#include "internal.h"

/* lock_file: an exclusive flock on data_dir/locks/name, made if needed;
 * STORE_ERR_IN_USE when another file description holds it. */
static int
lock_file(struct store *st, const char *name, int *lock_r)
{
	char *dir = xasprintf("%s/locks", st->data_dir);
	char *path = xasprintf("%s/%s", dir, name);
	int fd, ret = 0;

	if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
		ret = STORE_ERR_TEMP;
		goto out;
	}
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0) {
		ret = STORE_ERR_TEMP;
		goto out;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
		ret = errno == EWOULDBLOCK ? STORE_ERR_IN_USE : STORE_ERR_TEMP;
		close(fd);
		goto out;
	}
	*lock_r = fd;
out:
	free(dir);
	free(path);
	return ret;
}

int
store_maildrop_lock(struct store *st, int64_t user_id, int *lock_r)
{
	char name[32];

	snprintf(name, sizeof(name), "%lld.lock", (long long)user_id);
	return lock_file(st, name, lock_r);
}

/*
 * The delivery agent holds locks/relay-<pid>.lock for its whole life, so
 * that a lease naming pid can be told alive or dead without trusting
 * the pid: a pid may be reused by any other process (or thread) once its
 * agent is gone, a lock dies with the agent.
 */
int
store_queue_agent_lock(struct store *st, int64_t pid, int *lock_r)
{
	char name[48];

	snprintf(name, sizeof(name), "relay-%lld.lock", (long long)pid);
	return lock_file(st, name, lock_r);
}

bool
st_queue_agent_alive(struct store *st, int64_t pid)
{
	char *path = xasprintf("%s/locks/relay-%lld.lock", st->data_dir,
	    (long long)pid);
	int fd = open(path, O_RDWR | O_CLOEXEC);
	bool alive = false;

	if (fd >= 0) {
		alive = flock(fd, LOCK_EX | LOCK_NB) != 0 &&
		    errno == EWOULDBLOCK;
		if (!alive)
			(void)unlink(path);
		close(fd);
	}
	free(path);
	return alive;
}

void
store_maildrop_unlock(int *lock)
{
	if (*lock >= 0)
		close(*lock);
	*lock = -1;
}
