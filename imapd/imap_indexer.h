/*
 * imap_indexer.h - the search indexer of an IMAP worker: a thread with
 * its own store handle that runs store_index_pending() whenever the store
 * reports a change (imap_notify.c pokes it) and once a minute, so that
 * delivery never waits for the search index (store.h).
 */
#ifndef LETTERBOX_IMAP_INDEXER_H
#define LETTERBOX_IMAP_INDEXER_H

struct imap_indexer;

int imap_indexer_start(const char *data_dir, struct imap_indexer **ix_r,
    char **error_r);
/* imap_indexer_stop: ends the thread after the body being indexed. */
void imap_indexer_stop(struct imap_indexer **ix);
/* imap_indexer_wake_fd: a descriptor to write a byte to when there may
 * be work (non-blocking: a full pipe already means "look"). */
int imap_indexer_wake_fd(const struct imap_indexer *ix);

#endif
