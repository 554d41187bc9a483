/*
 * listen.h - the listening sockets of every enabled service, bound by the
 * master before it drops privileges.
 */
#ifndef LETTERBOX_DAEMON_LISTEN_H
#define LETTERBOX_DAEMON_LISTEN_H

#include <stddef.h>

#include "common/config.h"

struct listener {
	enum config_service svc;
	int fd;
	char where[80];		/* "127.0.0.1:25", "[::1]:143" for logs */
};

/* listen_bind: binds and listens on each address of svc's listen key,
 * appending to *list (count in *count_r). Returns 0, or -1 with a
 * malloc'd *error_r naming the address. */
int listen_bind(const struct config *cfg, enum config_service svc,
    struct listener **list, size_t *count_r, char **error_r);

/* listen_close_all: closes every listener and frees the list. */
void listen_close_all(struct listener **list, size_t *count);

#endif
