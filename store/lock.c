/*
 * lock.c - maildrop locks for POP3 (RFC 1939 8), across the threads and
 * processes (a worker and its replacement during a reload) of one data
 * directory.
 *
 * flock(2) on data_dir/locks/<user id>.lock: each call opens its own file
 * description, so two sessions of one process conflict as two processes
 * do, and a process that dies releases its locks. The file names are
 * numbers made here, never client text.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/xalloc.h"
#include "internal.h"

int
store_maildrop_lock(struct store *st, int64_t user_id, int *lock_r)
{
	char *dir = xasprintf("%s/locks", st->data_dir);
	char *path = xasprintf("%s/%lld.lock", dir, (long long)user_id);
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

void
store_maildrop_unlock(int *lock)
{
	if (*lock >= 0)
		close(*lock);
	*lock = -1;
}
