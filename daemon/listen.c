/*
 * listen.c - binding listening sockets from the config's listen keys.
 *
 * IPv6 sockets are IPV6_V6ONLY so "0.0.0.0:25, [::]:25" binds both
 * families without a conflict. SO_REUSEADDR lets a restarted daemon bind
 * while old connections linger in TIME_WAIT.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/xalloc.h"
#include "daemon/listen.h"

/* The kernel caps it at net.core.somaxconn. */
#define LISTEN_BACKLOG 512

static int
bind_one(const struct config_listen *l, int *fd_r, char **error_r,
    const char *where)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int fd, on = 1;

	memset(&ss, 0, sizeof(ss));
	if (l->ipv6) {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;

		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(l->port);
		inet_pton(AF_INET6, l->host, &sin6->sin6_addr);
		len = sizeof(*sin6);
	} else {
		struct sockaddr_in *sin = (struct sockaddr_in *)&ss;

		sin->sin_family = AF_INET;
		sin->sin_port = htons(l->port);
		inet_pton(AF_INET, l->host, &sin->sin_addr);
		len = sizeof(*sin);
	}
	/* Non-blocking: two generations of workers poll the same listener
	 * during a reload; the one that loses the race for a connection
	 * must get EAGAIN, not block in accept() (where a SIGTERM, its
	 * handler restarting the call, would never be acted on). */
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK,
	    0);
	if (fd < 0) {
		*error_r = xasprintf("%s: socket: %s", where, strerror(errno));
		return -1;
	}
	(void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
	if (l->ipv6)
		(void)setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on,
		    sizeof(on));
	if (bind(fd, (struct sockaddr *)&ss, len) != 0 ||
	    listen(fd, LISTEN_BACKLOG) != 0) {
		*error_r = xasprintf("%s: cannot listen: %s", where,
		    strerror(errno));
		close(fd);
		return -1;
	}
	*fd_r = fd;
	return 0;
}

int
listen_bind(const struct config *cfg, enum config_service svc,
    struct listener **list, size_t *count_r, char **error_r)
{
	const struct config_service_cfg *sc = &cfg->service[svc];

	for (size_t i = 0; i < sc->listen_count; i++) {
		const struct config_listen *l = &sc->listen[i];
		struct listener *n;

		*list = xreallocarray(*list, *count_r + 1, sizeof(**list));
		n = &(*list)[*count_r];
		n->svc = svc;
		snprintf(n->where, sizeof(n->where), l->ipv6 ? "[%s]:%u" :
		    "%s:%u", l->host, (unsigned int)l->port);
		if (bind_one(l, &n->fd, error_r, n->where) < 0)
			return -1;
		(*count_r)++;
	}
	return 0;
}

void
listen_close_all(struct listener **list, size_t *count)
{
	for (size_t i = 0; i < *count; i++)
		close((*list)[i].fd);
	free(*list);
	*list = NULL;
	*count = 0;
}
