/*
 * store.h - the message store: accounts, mailboxes and messages in SQLite.
 *
 * The only interface to the database; no SQL exists outside store/. The
 * API speaks in users, mailboxes, messages and UIDs so that another backend
 * could implement the same functions.
 *
 * Threads: a struct store is one database handle and belongs to one thread.
 * Open one per thread (DESIGN.md).
 *
 * Errors: functions return 0 or a negative enum store_err. Lists and strings
 * handed back are owned by the caller and freed with the matching *_free().
 *
 * Durability: WAL with synchronous=FULL; a function that returns 0 after a
 * write has committed it to disk.
 */
#ifndef LETTERBOX_STORE_H
#define LETTERBOX_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/auth.h"

struct store;

enum store_err {
	STORE_OK = 0,
	STORE_ERR_NOT_FOUND = -1,	/* no such domain/user/mailbox/message */
	STORE_ERR_EXISTS = -2,		/* the name is taken */
	STORE_ERR_INVALID = -3,		/* bad name, address, flag or argument */
	STORE_ERR_QUOTA = -4,		/* the user's quota would be exceeded */
	STORE_ERR_NOT_LOCAL = -5,	/* address in a domain we do not host */
	STORE_ERR_IN_USE = -6,		/* still referenced (domain with users,
					   INBOX delete, mailbox with children) */
	STORE_ERR_TEMP = -7,		/* busy, disk full, I/O: try again */
	STORE_ERR_TOO_NEW = -8,		/* database made by a newer version */
	STORE_ERR_CORRUPT = -9,		/* database damaged */
	STORE_ERR_AUTH = -10,		/* wrong user or password */
	STORE_ERR_LIMIT = -11,		/* a limits.h bound would be passed */
};

/* store_strerror: a short English text for an enum store_err. */
const char *store_strerror(int err);

/* ---- Opening ---------------------------------------------------------- */

/*
 * store_open: opens (creating when absent) data_dir/letterbox.db, creating
 * data_dir (mode 0700) if needed, and migrates the schema to this version.
 * Returns 0 with *store_r, or an error with a malloc'd *error_r the caller
 * frees (e.g. STORE_ERR_TOO_NEW names both versions).
 */
int store_open(const char *data_dir, struct store **store_r, char **error_r);
void store_close(struct store **store);

/* store_release_memory: frees the handle's page cache (a session about
 * to wait long, as in IMAP IDLE; the next read refills it from the
 * kernel's page cache). */
void store_release_memory(struct store *st);

/* store_schema_version: the schema version this binary writes. */
int store_schema_version(void);

/* ---- Domains ---------------------------------------------------------- */

int store_domain_add(struct store *st, const char *name);
/* store_domain_del: STORE_ERR_IN_USE while it has users. Its aliases go. */
int store_domain_del(struct store *st, const char *name);
/* store_domain_list: *names_r is a NULL-terminated array, sorted; free with
 * store_strv_free(). */
int store_domain_list(struct store *st, char ***names_r);
void store_strv_free(char ***strv);

/* ---- Users ------------------------------------------------------------ */

struct store_user {
	int64_t id;
	char *address;		/* lower-case local@domain */
	int64_t quota_bytes;	/* 0: unlimited */
	int64_t used_bytes;	/* sum of the sizes of the user's messages */
	int64_t messages;	/* number of messages in all mailboxes */
};

/*
 * store_user_add: creates the user with a password hash (auth_hash()) and
 * its INBOX, Sent, Drafts, Trash, Junk and Archive (RFC 6154 special-use
 * attributes), all in one transaction. The domain must exist.
 */
int store_user_add(struct store *st, const char *address, const char *pwhash,
    int64_t quota_bytes, int64_t *id_r);
/* store_user_del: removes the user, its mailboxes, messages and aliases
 * pointing at it; bodies no longer referenced are freed. */
int store_user_del(struct store *st, const char *address);
int store_user_set_password(struct store *st, const char *address,
    const char *pwhash);
int store_user_set_quota(struct store *st, const char *address,
    int64_t quota_bytes);
/* store_user_get: fills *user_r (free with store_user_clear()). */
int store_user_get(struct store *st, const char *address,
    struct store_user *user_r);
int store_user_get_by_id(struct store *st, int64_t id,
    struct store_user *user_r);
void store_user_clear(struct store_user *user);
/* store_user_list: all users sorted by address; free with
 * store_user_list_free(). */
int store_user_list(struct store *st, struct store_user **users_r,
    size_t *count_r);
void store_user_list_free(struct store_user **users, size_t count);

/* store_user_quota_room: 0 when user_id can take bytes more within its
 * quota, STORE_ERR_QUOTA when not (or a lookup error). */
int store_user_quota_room(struct store *st, int64_t user_id, int64_t bytes);

/*
 * store_user_login: checks address and password. An unknown user costs the
 * same work and gives the same STORE_ERR_AUTH as a wrong password. When the
 * hash was made with other limits than ctx's, it is replaced. No
 * transaction is open while hashing. Returns 0 with *user_id_r.
 */
int store_user_login(struct store *st, struct auth_ctx *ctx,
    const char *address, const char *password, int64_t *user_id_r);

/* ---- Aliases and address resolution ----------------------------------- */

/* store_alias_add: source is "local@domain" or "@domain" (catch-all) in a
 * hosted domain; target must be an existing user. An alias may have several
 * targets (one call each). */
int store_alias_add(struct store *st, const char *source, const char *target);
/* store_alias_del: target NULL removes every target of source. */
int store_alias_del(struct store *st, const char *source, const char *target);

struct store_alias {
	char *source;
	char *target;
};
int store_alias_list(struct store *st, struct store_alias **aliases_r,
    size_t *count_r);
void store_alias_list_free(struct store_alias **aliases, size_t count);

/*
 * store_resolve: the local users an address reaches, in this order, the
 * first that matches wins: a user; an alias; with plus-addressing
 * ("alice+tag") the same two for the base ("alice"); the catch-all alias
 * of the domain. Returns 0 with 1..LIMIT_RECIPIENTS distinct ids in
 * user_ids_r (an array of LIMIT_RECIPIENTS) and *count_r,
 * STORE_ERR_NOT_LOCAL for a domain we do not host, STORE_ERR_NOT_FOUND for
 * no such recipient in a hosted domain, STORE_ERR_INVALID for a malformed
 * address.
 */
int store_resolve(struct store *st, const char *address, int64_t *user_ids_r,
    size_t *count_r);

/* ---- Mailboxes -------------------------------------------------------- */

/* Names: UTF-8, '/' separates levels, no empty level, no control
 * characters, no LIST wildcards ('*', '%'), at most LIMIT_MAILBOX_NAME
 * octets and LIMIT_MAILBOX_DEPTH levels. "INBOX" is matched
 * case-insensitively (also as a parent) and always stored as "INBOX". */
#define STORE_MAILBOX_SEP '/'

struct store_mailbox {
	int64_t id;
	char *name;
	char *special_use;	/* "\\Sent" ... or NULL */
	bool subscribed;
	uint32_t uidvalidity;
	uint32_t uidnext;
	uint64_t highestmodseq;
	uint32_t messages;
	uint32_t unseen;
	int64_t size;		/* bytes of its messages */
};

/* store_mailbox_name_valid: true when name is acceptable as above. */
bool store_mailbox_name_valid(const char *name);

/* store_mailbox_create: special_use is NULL or one of the RFC 6154
 * attributes (\All \Archive \Drafts \Flagged \Junk \Sent \Trash). The new
 * mailbox gets a UIDVALIDITY never given before and is subscribed.
 * STORE_ERR_LIMIT past LIMIT_MAILBOXES. */
int store_mailbox_create(struct store *st, int64_t user_id, const char *name,
    const char *special_use, int64_t *id_r);
/* store_mailbox_delete: its messages are expunged. STORE_ERR_IN_USE for
 * INBOX, and for a mailbox that has children. */
int store_mailbox_delete(struct store *st, int64_t user_id, const char *name);
/*
 * store_mailbox_rename: renames the mailbox and its children
 * ("a" -> "b" renames "a/x" to "b/x"). Renaming INBOX moves its messages
 * into a new mailbox and leaves INBOX empty (RFC 3501 6.3.5).
 */
int store_mailbox_rename(struct store *st, int64_t user_id,
    const char *old_name, const char *new_name);
/* store_mailbox_subscribe: subscriptions are names, kept when the mailbox
 * is deleted (RFC 3501 6.3.6). */
int store_mailbox_subscribe(struct store *st, int64_t user_id,
    const char *name, bool subscribe);
/* store_subscription_list: subscribed names, sorted; store_strv_free(). */
int store_subscription_list(struct store *st, int64_t user_id,
    char ***names_r);
/* store_mailbox_get: one mailbox with its counters; free with
 * store_mailbox_clear(). */
int store_mailbox_get(struct store *st, int64_t user_id, const char *name,
    struct store_mailbox *mailbox_r);
void store_mailbox_clear(struct store_mailbox *mailbox);
/* store_mailbox_list: the user's mailboxes sorted by name (INBOX first). */
int store_mailbox_list(struct store *st, int64_t user_id,
    struct store_mailbox **mailboxes_r, size_t *count_r);
void store_mailbox_list_free(struct store_mailbox **mailboxes, size_t count);

struct store_mailbox_state {
	uint32_t uidvalidity;
	uint32_t uidnext;
	uint64_t highestmodseq;
};
/*
 * store_mailbox_state: the counters of mailbox_id, from one primary-key
 * lookup (no aggregates), for an IMAP session to call before every
 * response. Every change to the mailbox's messages (delivery, append,
 * flags, expunge, remove, copy into, move out of or into) raises uidnext
 * or highestmodseq, so comparing (uidnext, highestmodseq) with the last
 * values seen detects any change; a rename changes neither. Mailbox ids
 * are never reused: STORE_ERR_NOT_FOUND means the mailbox (or its user)
 * was deleted.
 */
int store_mailbox_state(struct store *st, int64_t mailbox_id,
    struct store_mailbox_state *state_r);
/* store_mailbox_find: a mailbox's id (and, state_r not NULL, its
 * UIDVALIDITY, UIDNEXT, HIGHESTMODSEQ) by name: one index lookup, where
 * store_mailbox_get() also counts the messages. */
int store_mailbox_find(struct store *st, int64_t user_id, const char *name,
    int64_t *id_r, struct store_mailbox_state *state_r);

/* ---- Messages --------------------------------------------------------- */

/* System flags (RFC 3501 2.3.2); \Recent is per session, not stored. */
#define STORE_FLAG_SEEN		0x01
#define STORE_FLAG_ANSWERED	0x02
#define STORE_FLAG_FLAGGED	0x04
#define STORE_FLAG_DELETED	0x08
#define STORE_FLAG_DRAFT	0x10
#define STORE_FLAGS_ALL		0x1f

struct store_message {
	int64_t id;
	uint32_t uid;
	uint32_t flags;		/* STORE_FLAG_* */
	char *keywords;		/* space-separated, "" when none */
	int64_t internal_date;	/* seconds since the epoch */
	uint64_t modseq;
	int64_t size;		/* octets of the body */
	int64_t body_id;
};

/*
 * store_deliver: stores one message of len bytes into the INBOX of each of
 * the count users in one transaction: the body once, a message per user.
 * results_r (count entries) gets each user's outcome: 0, or
 * STORE_ERR_QUOTA when that user has no room (the others still get it).
 * uids_r (count entries, may be NULL) gets the new UIDs. Returns 0 when at
 * least one user got the message, STORE_ERR_QUOTA when none had room, or
 * another error with nothing stored.
 */
int store_deliver(struct store *st, const int64_t *user_ids, size_t count,
    const char *data, size_t len, int64_t internal_date, int *results_r,
    uint32_t *uids_r);

/* store_deliver_all: store_deliver(), but all or nothing: when any user
 * lacks room, nothing is stored, results_r says who, and the return is
 * STORE_ERR_QUOTA. For SMTP, whose one reply to DATA covers every
 * recipient. */
int store_deliver_all(struct store *st, const int64_t *user_ids,
    size_t count, const char *data, size_t len, int64_t internal_date,
    int *results_r, uint32_t *uids_r);

/* store_append: adds a message to one mailbox with flags and keywords
 * (space-separated, may be NULL); checks the owner's quota. */
int store_append(struct store *st, int64_t mailbox_id, const char *data,
    size_t len, uint32_t flags, const char *keywords, int64_t internal_date,
    uint32_t *uid_r);

/* store_message_list: messages with uid_lo <= UID <= uid_hi in UID order
 * (uid_hi 0 means no upper bound); free with store_message_list_free(). */
int store_message_list(struct store *st, int64_t mailbox_id, uint32_t uid_lo,
    uint32_t uid_hi, struct store_message **messages_r, size_t *count_r);
void store_message_list_free(struct store_message **messages, size_t count);
/* store_message_uids: the UIDs of a mailbox's messages, ascending, in a
 * malloc'd array (NULL when none): an IMAP session's sequence map. */
int store_message_uids(struct store *st, int64_t mailbox_id,
    uint32_t **uids_r, size_t *count_r);
/* store_first_unseen: the lowest UID without \Seen, 0 when none. */
int store_first_unseen(struct store *st, int64_t mailbox_id,
    uint32_t *uid_r);
/* store_message_changed: the messages with a MODSEQ above modseq and a
 * UID up to uid_hi, in UID order (an index lookup: what an IMAP session
 * has to report, not the whole mailbox). */
int store_message_changed(struct store *st, int64_t mailbox_id,
    uint64_t modseq, uint32_t uid_hi, struct store_message **messages_r,
    size_t *count_r);
int store_message_get(struct store *st, int64_t mailbox_id, uint32_t uid,
    struct store_message *message_r);
void store_message_clear(struct store_message *message);

/* store_body_read: the whole body of message uid, malloc'd into *data_r
 * (NUL-terminated for convenience; *len_r excludes the NUL). */
int store_body_read(struct store *st, int64_t mailbox_id, uint32_t uid,
    char **data_r, size_t *len_r);
/* store_body_read_range: up to size bytes from offset of body body_id into
 * buf, *len_r the count (0 at the end). Each call is its own short read,
 * so a session can stream a large body without holding a transaction.
 * STORE_ERR_NOT_FOUND when the body is gone. */
int store_body_read_range(struct store *st, int64_t body_id, int64_t offset,
    char *buf, size_t size, size_t *len_r);

/* What IMAP answers about a body without reading it, computed once by
 * mime_parse() (common/mime.h) when the body was stored; strings in IMAP
 * syntax, each "(...)". */
struct store_body_mime {
	char *envelope;		/* ENVELOPE (RFC 3501 7.4.2) */
	char *bodystructure;	/* BODYSTRUCTURE, with extension data */
	char *body;		/* BODY: no extension data */
};
/* store_body_mime: the strings of body body_id (malloc'd; free with
 * store_body_mime_clear()). Body ids are never reused:
 * STORE_ERR_NOT_FOUND when the body is gone. */
int store_body_mime(struct store *st, int64_t body_id,
    struct store_body_mime *mime_r);
void store_body_mime_clear(struct store_body_mime *mime);

enum store_flag_op {
	STORE_FLAGS_REPLACE,
	STORE_FLAGS_ADD,
	STORE_FLAGS_REMOVE,
};
/*
 * store_flags_update: applies op with flags and keywords (space-separated,
 * may be NULL; a malformed or over-long keyword is STORE_ERR_INVALID, more
 * than LIMIT_KEYWORDS on a message STORE_ERR_LIMIT) to the messages with the count given UIDs (absent UIDs are
 * skipped) in one transaction; each changed message gets a new MODSEQ.
 */
int store_flags_update(struct store *st, int64_t mailbox_id,
    const uint32_t *uids, size_t count, enum store_flag_op op, uint32_t flags,
    const char *keywords);

/*
 * store_copy / store_move: copy (or move) the messages with the given UIDs
 * from src to dst in one transaction, keeping flags, keywords and internal
 * dates. new_uids_r (count entries, may be NULL) gets the UID in dst of
 * each, or 0 where the source UID did not exist. Copy checks the quota;
 * move does not change usage. src and dst may be the same mailbox: the
 * messages get new UIDs (a move records the old ones as expunged).
 */
int store_copy(struct store *st, int64_t src_mailbox_id, const uint32_t *uids,
    size_t count, int64_t dst_mailbox_id, uint32_t *new_uids_r);
int store_move(struct store *st, int64_t src_mailbox_id, const uint32_t *uids,
    size_t count, int64_t dst_mailbox_id, uint32_t *new_uids_r);

/*
 * store_expunge: removes messages flagged \Deleted; with uids non-NULL
 * only those among the count UIDs (RFC 4315 UID EXPUNGE). *expunged_r
 * (may be NULL; free()) gets the removed UIDs ascending, *expunged_count_r
 * their number. Bodies no longer referenced are freed.
 */
int store_expunge(struct store *st, int64_t mailbox_id, const uint32_t *uids,
    size_t count, uint32_t **expunged_r, size_t *expunged_count_r);

/* store_remove: removes the messages with the count given UIDs whatever
 * their flags (POP3's DELE applied at QUIT), in one transaction; UIDs
 * already gone are skipped. Results as store_expunge(). */
int store_remove(struct store *st, int64_t mailbox_id, const uint32_t *uids,
    size_t count, uint32_t **removed_r, size_t *removed_count_r);

/*
 * store_flags_update_cond: store_flags_update() with RFC 7162 3.1.3's
 * UNCHANGEDSINCE: a message whose MODSEQ is above unchangedsince is left
 * as it is and its UID goes to modified_r (count entries, may be NULL),
 * *nmodified_r their number. UINT64_MAX: no condition.
 */
int store_flags_update_cond(struct store *st, int64_t mailbox_id,
    const uint32_t *uids, size_t count, enum store_flag_op op, uint32_t flags,
    const char *keywords, uint64_t unchangedsince, uint32_t *modified_r,
    size_t *nmodified_r);

/* store_expunged_since: the UIDs (ascending, malloc'd) of the messages
 * of mailbox_id expunged with a MODSEQ above modseq (QRESYNC's VANISHED,
 * RFC 7162 3.2.5). */
int store_expunged_since(struct store *st, int64_t mailbox_id,
    uint64_t modseq, uint32_t **uids_r, size_t *count_r);

/*
 * store_maildrop_lock: an exclusive lock on user_id's maildrop across
 * processes and threads (POP3 RFC 1939 8: one session at a time), held
 * until store_maildrop_unlock() or the process ends. Returns 0 with
 * *lock_r, STORE_ERR_IN_USE when someone else holds it.
 */
int store_maildrop_lock(struct store *st, int64_t user_id, int *lock_r);
void store_maildrop_unlock(int *lock);

/*
 * Search (RFC 3501 6.4.4): every body's decoded text (common/mime_text.h:
 * mime_text_headers() and mime_text_body(), UTF-8) is indexed by
 * trigrams when the body is first stored.
 */
enum store_search_field {
	STORE_SEARCH_HEADER,	/* the top-level header fields */
	STORE_SEARCH_BODY,	/* the text of the body */
	STORE_SEARCH_TEXT,	/* header and body */
};
/*
 * store_search_candidates: the UIDs (ascending; malloc'd, free(); NULL
 * when *count_r is 0) of the messages of mailbox_id whose indexed text in
 * field may contain term (UTF-8, literal: no search syntax) as a
 * substring, ignoring case as mime_text_fold() does. Candidates: every
 * message that holds term is one, but so may be others (the index has
 * every three characters of term in field, not necessarily together; a
 * body whose text was too long to index whole is always one; only the
 * first 64 characters of a longer term are looked up): confirm each
 * with store_body_text() and mime_text_fold(). A term of fewer than 3
 * characters, or not UTF-8, is STORE_ERR_INVALID: the caller scans
 * instead.
 */
int store_search_candidates(struct store *st, int64_t mailbox_id,
    enum store_search_field field, const char *term, uint32_t **uids_r,
    size_t *count_r);
/*
 * store_body_text: the indexed text of body body_id, as
 * mime_text_headers() (*hdr_r) and mime_text_body() (*body_r) made it,
 * malloc'd and NUL-terminated (the texts hold no NUL). STORE_ERR_LIMIT
 * when the text was too long to index whole (decode the body instead),
 * STORE_ERR_NOT_FOUND when the body is gone.
 */
int store_body_text(struct store *st, int64_t body_id, char **hdr_r,
    char **body_r);
/*
 * store_index_pending: puts the text of up to max bodies not indexed yet
 * into the search index, each in a short transaction of its own, outside
 * delivery (a delivery stores the body only: indexing costs more than
 * the rest of it). Until then a body is a candidate of every search, so
 * results are exact either way. *done_r: how many were indexed; fewer
 * than max means none is left.
 */
int store_index_pending(struct store *st, unsigned int max,
    unsigned int *done_r);

/* ---- DKIM keys (dkim_key.c) ------------------------------------------ */

struct store_dkim_key {
	char *domain;
	char *selector;
	char *algorithm;	/* "rsa-sha256" | "ed25519-sha256" */
	char *private_pem;
	int64_t created;
};

/* store_dkim_key_add: a key for a hosted domain (STORE_ERR_NOT_LOCAL
 * otherwise); STORE_ERR_EXISTS when the domain has that selector;
 * STORE_ERR_INVALID for a selector that is not a DNS label sequence. */
int store_dkim_key_add(struct store *st, const char *domain,
    const char *selector, const char *algorithm, const char *private_pem);
int store_dkim_key_del(struct store *st, const char *domain,
    const char *selector);
/* store_dkim_key_list: the keys of domain (NULL: every domain), by domain
 * then selector. */
int store_dkim_key_list(struct store *st, const char *domain,
    struct store_dkim_key **keys_r, size_t *count_r);
void store_dkim_key_list_free(struct store_dkim_key **keys, size_t count);

/* ---- Outbound queue (queue.c) ---------------------------------------- */

/*
 * A message for remote recipients waits here until each recipient has
 * been delivered or has failed for good. The delivery agent claims a
 * message's due recipients at one destination (a lease naming its pid,
 * so that nothing is sent twice at once, and a lease of a dead process
 * can be taken back), delivers, and records each outcome.
 */
enum store_queue_state {
	STORE_QUEUE_PENDING = 0,
	STORE_QUEUE_DELIVERED = 1,
	STORE_QUEUE_FAILED = 2,		/* failed for good, bounce owed */
	STORE_QUEUE_REPORTED = 3,	/* failed, bounce made (or none due) */
};

/* What the SMTP session queues (store_submit). */
struct store_queue_new {
	const char *qid;		/* hex, unique: names it everywhere */
	const char *sender;		/* "" for <> */
	int64_t user_id;		/* submitting user, 0: none */
	const char *const *rcpts;	/* remote recipients */
	size_t nrcpts;
	bool body_8bit;
	bool smtputf8;
	const char *head;		/* sent before data (DKIM-Signature
					   fields), may be NULL */
	size_t head_len;
	const char *data;		/* the message as it will be sent */
	size_t len;
};

/*
 * store_submit: in one transaction, delivers local_data to the local
 * users (as store_deliver_all, may be count 0) and queues q (may be
 * NULL), so that a message is accepted for all its recipients or for
 * none. Results as store_deliver_all. Pokes the delivery agent.
 */
int store_submit(struct store *st, const int64_t *user_ids, size_t count,
    const char *local_data, size_t local_len, int64_t internal_date,
    int *results_r, const struct store_queue_new *q);

struct store_queue_rcpt {
	int64_t id;
	char *address;
	char *domain;
	int state;			/* enum store_queue_state */
	int attempts;
	int64_t next_attempt;
	int64_t last_attempt;
	int last_code;			/* 0: no reply (network) */
	char *last_answer;
	char *remote_mta;
};

struct store_queue_msg {
	int64_t id;
	char *qid;
	char *sender;
	int64_t user_id;
	int64_t size;
	bool body_8bit;
	bool smtputf8;
	int64_t created;
	bool delay_notified;
	struct store_queue_rcpt *rcpts;	/* those asked for (see below) */
	size_t nrcpts;
};
void store_queue_msg_clear(struct store_queue_msg *m);

/*
 * store_queue_claim: takes, for process pid, the pending recipients due
 * by now of one message: at domain (NULL: any domain, all of the
 * message's due recipients, for a smarthost). Oldest message first.
 * STORE_ERR_NOT_FOUND when nothing is due.
 */
int store_queue_claim(struct store *st, const char *domain, int64_t now,
    int64_t pid, struct store_queue_msg *msg_r);

/* store_queue_due_domains: the domains with unleased recipients due by
 * now (NULL-terminated, store_strv_free()), and in *next_r the earliest
 * next_attempt of any unleased pending recipient (0: none). */
int store_queue_due_domains(struct store *st, int64_t now, char ***domains_r,
    int64_t *next_r);

/* One recipient's outcome, for store_queue_record. */
struct store_queue_outcome {
	int64_t rcpt_id;
	int state;			/* PENDING (retry), DELIVERED, FAILED */
	int64_t next_attempt;		/* PENDING */
	int code;
	const char *answer;
	const char *remote_mta;
};
/* store_queue_record: records outcomes of recipients leased to pid
 * (attempts + 1, lease released); one no longer leased to pid (deleted
 * by the admin, or taken back) is left alone. */
int store_queue_record(struct store *st, int64_t pid, int64_t now,
    const struct store_queue_outcome *out, size_t count);

/* store_queue_release: gives back what pid holds (shutdown) or, pid 0,
 * every lease whose agent is gone (its store_queue_agent_lock() is
 * free). */
int store_queue_release(struct store *st, int64_t pid);
/* store_queue_agent_lock: the lock the delivery agent pid holds for its
 * life (an fd to keep open), so its leases can be told alive. */
int store_queue_agent_lock(struct store *st, int64_t pid, int *lock_r);

/*
 * store_queue_report: ends a report for message id in one transaction:
 * the report (a DSN, may be NULL: none due, e.g. for a bounce that
 * bounced) is delivered to the local users (count > 0) or queued as q;
 * the failed recipients it covers (rcpt_ids) become REPORTED, or,
 * delayed true, the message is marked delay_notified. The message goes
 * once no recipient is PENDING or FAILED. STORE_ERR_NOT_FOUND, with
 * nothing done, when one of them was reported meanwhile.
 */
int store_queue_report(struct store *st, int64_t id, bool delayed,
    const int64_t *rcpt_ids, size_t nrcpt_ids, const int64_t *user_ids,
    size_t count, const char *data, size_t len,
    const struct store_queue_new *q);

/* store_queue_get: a message by qid with every recipient. */
int store_queue_get(struct store *st, const char *qid,
    struct store_queue_msg *msg_r);
int store_queue_get_by_id(struct store *st, int64_t id,
    struct store_queue_msg *msg_r);
/* store_queue_exists: message id is still queued. */
bool store_queue_exists(struct store *st, int64_t id);
/* store_queue_reports_due: the messages that owe a report: a bounce for
 * failed recipients (delayed false), or a delay notice (delayed true)
 * when created before delayed_before, tried, still pending, not the null
 * sender, not notified yet. At most 1,000; arrays malloc'd. */
int store_queue_reports_due(struct store *st, int64_t delayed_before,
    int64_t **ids_r, bool **delayed_r, size_t *count_r);
/* store_queue_list: every queued message with its recipients. */
int store_queue_list(struct store *st, struct store_queue_msg **msgs_r,
    size_t *count_r);
void store_queue_list_free(struct store_queue_msg **msgs, size_t count);
/* store_queue_read: up to size bytes from offset of message id. */
int store_queue_read(struct store *st, int64_t id, int64_t offset, char *buf,
    size_t size, size_t *len_r);
/* store_queue_retry: pending recipients of qid (NULL: every message)
 * due now. */
int store_queue_retry(struct store *st, const char *qid);
/* store_queue_delete: removes qid from the queue, no bounce. */
int store_queue_delete(struct store *st, const char *qid);

/* store_queue_poke / store_queue_listen / recv: the delivery agent's
 * wake-up (data_dir/relay.sock), as the change notification. */
void store_queue_poke(struct store *st);
int store_queue_listen(const char *data_dir, int *fd_r, char **error_r);
void store_queue_unlisten(const char *data_dir, int *fd);

/* ---- Integrity -------------------------------------------------------- */

/*
 * store_check: verifies the database (SQLite integrity and foreign keys,
 * body reference counts, SHA-256 of every body, every body has its MIME
 * strings, quota usage, UIDs below UIDNEXT, every user has an INBOX,
 * every body has one row of the search index and each row a body).
 * Calls report(arg, text) once per problem. Returns 0 when all is well,
 * STORE_ERR_CORRUPT when a problem was reported, or another error when
 * the check could not run.
 */
int store_check(struct store *st, void (*report)(void *arg, const char *text),
    void *arg);

/* ---- Change notification ---------------------------------------------- */

/*
 * After a commit that changes a user's mailboxes the store sends a
 * datagram "<user_id>\n" to data_dir/notify.sock (nobody listening is not
 * an error). The IMAP worker listens there to wake IDLE sessions.
 */

/* store_notify_listen: binds the notification socket of data_dir,
 * replacing a stale one. Returns 0 with a non-blocking datagram *fd_r. */
int store_notify_listen(const char *data_dir, int *fd_r, char **error_r);
/* store_notify_recv: reads one pending notification. Returns 0 with
 * *user_id_r, STORE_ERR_NOT_FOUND when none is pending, STORE_ERR_TEMP on
 * error. Malformed datagrams are skipped. */
int store_notify_recv(int fd, int64_t *user_id_r);
/* store_notify_unlisten: closes fd; the socket file stays (a reloaded
 * worker may be listening there already). */
void store_notify_unlisten(const char *data_dir, int *fd);

#endif
