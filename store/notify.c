/*
 * notify.c - change notification between processes (DESIGN.md).
 *
 * After a commit that changes a user's mail, the writer sends the datagram
 * "<user_id>\n" to data_dir/notify.sock. Sending never blocks and never
 * fails the write that triggered it: nobody listening, or a full socket
 * buffer, only means nobody is woken. The listener validates every
 * datagram (at most 32 bytes, digits and a newline).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/xalloc.h"
#include "internal.h"

#define NOTIFY_DGRAM_MAX 32

static int
notify_addr(const char *path, struct sockaddr_un *sun)
{
	memset(sun, 0, sizeof(*sun));
	sun->sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun->sun_path))
		return -1;
	strcpy(sun->sun_path, path);
	return 0;
}

/* st_notify_path: the socket of data_dir, malloc'd. */
char *
st_notify_path(const char *data_dir)
{
	return xasprintf("%s/notify.sock", data_dir);
}

/* send_to: one datagram "<id>\n" to the socket at path, best effort. */
static void
send_to(struct store *st, const char *path, int64_t id)
{
	struct sockaddr_un sun;
	char msg[NOTIFY_DGRAM_MAX];
	int len;

	if (notify_addr(path, &sun) < 0)
		return;
	if (st->notify_fd < 0) {
		st->notify_fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK |
		    SOCK_CLOEXEC, 0);
		if (st->notify_fd < 0)
			return;
	}
	len = snprintf(msg, sizeof(msg), "%lld\n", (long long)id);
	(void)sendto(st->notify_fd, msg, (size_t)len, MSG_NOSIGNAL,
	    (struct sockaddr *)&sun, sizeof(sun));
}

void
st_notify(struct store *st, int64_t user_id)
{
	send_to(st, st->notify_path, user_id);
}

/* The delivery agent's wake-up: "0\n" to data_dir/relay.sock. */
void
store_queue_poke(struct store *st)
{
	char *path = xasprintf("%s/relay.sock", st->data_dir);

	send_to(st, path, 0);
	free(path);
}

void
st_notify_close(struct store *st)
{
	if (st->notify_fd >= 0)
		close(st->notify_fd);
	st->notify_fd = -1;
}

/* listen_at: binds a datagram socket at path (malloc'd; freed here). */
static int
listen_at(char *path, int *fd_r, char **error_r)
{
	struct sockaddr_un sun;
	int fd;

	if (notify_addr(path, &sun) < 0) {
		*error_r = xasprintf("%s: path too long for a socket", path);
		free(path);
		return STORE_ERR_INVALID;
	}
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		*error_r = xasprintf("socket: %s", strerror(errno));
		free(path);
		return STORE_ERR_TEMP;
	}
	/* A socket file left by a listener that died is stale. */
	(void)unlink(path);
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) != 0) {
		*error_r = xasprintf("bind %s: %s", path, strerror(errno));
		close(fd);
		free(path);
		return STORE_ERR_TEMP;
	}
	free(path);
	*fd_r = fd;
	return 0;
}

int
store_notify_listen(const char *data_dir, int *fd_r, char **error_r)
{
	return listen_at(st_notify_path(data_dir), fd_r, error_r);
}

int
store_queue_listen(const char *data_dir, int *fd_r, char **error_r)
{
	return listen_at(xasprintf("%s/relay.sock", data_dir), fd_r,
	    error_r);
}

int
store_notify_recv(int fd, int64_t *user_id_r)
{
	char buf[NOTIFY_DGRAM_MAX + 1];

	for (;;) {
		ssize_t n = recv(fd, buf, NOTIFY_DGRAM_MAX, MSG_TRUNC);
		long long id = 0;
		ssize_t i;

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return errno == EAGAIN || errno == EWOULDBLOCK ?
			    STORE_ERR_NOT_FOUND : STORE_ERR_TEMP;
		}
		/* MSG_TRUNC: n is the real length, so oversize shows. */
		if (n < 2 || n > NOTIFY_DGRAM_MAX || buf[n - 1] != '\n')
			continue;
		for (i = 0; i < n - 1; i++) {
			if (buf[i] < '0' || buf[i] > '9' || i >= 18)
				break;
			id = id * 10 + (buf[i] - '0');
		}
		if (i != n - 1)
			continue;
		*user_id_r = id;
		return 0;
	}
}

/* unlisten_at: closes *fd. The socket file stays: on a reload the new
 * worker has bound the same path already, and removing it would cut the
 * new listener off; a stale file is replaced by the next listen. */
static void
unlisten_at(int *fd)
{
	if (*fd >= 0) {
		close(*fd);
		*fd = -1;
	}
}

void
store_notify_unlisten(const char *data_dir, int *fd)
{
	(void)data_dir;
	unlisten_at(fd);
}

void
store_queue_unlisten(const char *data_dir, int *fd)
{
	(void)data_dir;
	unlisten_at(fd);
}
