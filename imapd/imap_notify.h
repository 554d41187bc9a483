/*
 * imap_notify.h - wakes IDLE sessions (RFC 2177) when the store reports
 * a change to their user's mailboxes. One listener thread per IMAP worker
 * reads the store's notification socket (store_notify_listen) and writes
 * a byte to the pipe of each waiting session of that user; no session
 * polls the database.
 */
#ifndef LETTERBOX_IMAP_NOTIFY_H
#define LETTERBOX_IMAP_NOTIFY_H

#include <stdint.h>

struct imap_notify;

/* A session's registration; its pipe is made on the first IDLE. */
struct imap_waiter {
	int64_t user_id;
	int pipe[2];			/* owned; -1 when not made */
	struct imap_waiter *prev, *next;	/* the notify's list */
};

/* imap_notify_start: binds data_dir's notification socket and starts the
 * listener thread; after each batch of notifications it also writes a
 * byte to poke_fd (-1: none; the search indexer's wake-up). */
int imap_notify_start(const char *data_dir, int poke_fd,
    struct imap_notify **notify_r, char **error_r);
void imap_notify_stop(struct imap_notify **notify);

/* imap_waiter_init / imap_waiter_free: a session's waiter, not yet
 * registered / unregistered and closed. */
void imap_waiter_init(struct imap_waiter *w);
void imap_waiter_free(struct imap_waiter *w);
/* imap_notify_register: from now on, a change for user_id makes
 * w->pipe[0] readable. -1 when the pipe cannot be made. */
int imap_notify_register(struct imap_notify *notify, struct imap_waiter *w,
    int64_t user_id);
void imap_notify_unregister(struct imap_notify *notify,
    struct imap_waiter *w);
/* imap_waiter_drain: empties w's pipe after a wake-up. */
void imap_waiter_drain(struct imap_waiter *w);

#endif
