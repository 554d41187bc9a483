/*
 * imap_session.h - what the IMAP session's files share: the session, the
 * command being handled, the selected mailbox's view, and the handlers of
 * each command family (one file each, DESIGN.md).
 */
#ifndef LETTERBOX_IMAP_SESSION_H
#define LETTERBOX_IMAP_SESSION_H

#include <stdbool.h>
#include <stdint.h>

#include "common/buf.h"
#include "common/conn.h"
#include "common/limits.h"
#include "common/server_env.h"
#include "imapd/imap_indexer.h"
#include "imapd/imap_notify.h"
#include "imapd/imap_parse.h"
#include "store/store.h"

struct imap_server {
	struct server_env env;
	struct imap_notify *notify;	/* owned: wakes IDLE sessions */
	struct imap_indexer *indexer;	/* owned: fills the search index */
};

enum imap_state {
	IMAP_STATE_NOT_AUTH,
	IMAP_STATE_AUTH,
	IMAP_STATE_SELECTED,
};

/*
 * The selected mailbox as this session knows it (RFC 3501 2.3.1.2): the
 * message sequence numbers are positions in uids[]. Changes by others are
 * found by comparing the store's (uidnext, highestmodseq) with the last
 * seen, and reported by imap_view_sync() where RFC 3501 7.4.1 allows.
 */
struct imap_view {
	int64_t mailbox_id;
	char name[LIMIT_MAILBOX_NAME + 1];	/* UTF-8 */
	bool readonly;				/* EXAMINE */
	uint32_t uidvalidity;
	uint32_t uidnext;		/* the store's, at the last sync */
	uint64_t highestmodseq;		/* flag changes up to it reported */
	uint32_t *uids;			/* owned; ascending */
	uint32_t count;			/* EXISTS as announced */
	uint32_t cap;
	uint32_t *pending;		/* owned: UIDs of uids[] expunged, not
					   yet announced (ascending) */
	size_t npending;
	uint32_t *saved;		/* owned: SEARCH RETURN (SAVE)'s UIDs,
					   ascending, for "$" (RFC 5182) */
	size_t nsaved;
};

struct imap_session {
	const struct imap_server *srv;
	enum config_service svc;
	struct conn *conn;		/* not owned */
	struct store *st;		/* owned */
	enum imap_state state;
	int64_t user_id;		/* after login */
	char user[LIMIT_ADDR_TOTAL + 1];	/* after login, log-safe */
	struct imap_view view;		/* valid in IMAP_STATE_SELECTED */
	struct buf input;		/* the command being read, literals in
					   place; reset per command */
	struct imap_waiter waiter;	/* IDLE's wake-ups */
	bool condstore;			/* CONDSTORE enabled (RFC 7162 3.1) */
	bool qresync;			/* QRESYNC enabled (RFC 7162 3.2) */
	unsigned int bad_commands;
	bool logout;			/* end the session after this command */
};

/* The command being handled. The handler leaves its tagged answer in
 * reply ("OK ...", "NO ...", "BAD ..."); the session writes it after any
 * untagged updates (imap_session.c). */
struct imap_cmd {
	struct imap_str tag;
	const char *name;		/* upper case, from the command table */
	bool uid;			/* "UID FETCH" etc. */
	struct imap_parser ps;		/* at the arguments (after the name) */
	char reply[4096];
	bool answered;			/* the tagged line was written */
};

/* ---- imap_session.c ---- */
/* imap_reply: sets the tagged answer, e.g. imap_reply(cmd, "OK %s
 * completed", cmd->name). A "BAD" answer counts as a bad command. */
void imap_reply(struct imap_cmd *cmd, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* imap_reply_now: writes the tagged answer at once (STARTTLS: before the
 * handshake). */
void imap_reply_now(struct imap_session *s, struct imap_cmd *cmd);
/* imap_bad_syntax: "BAD <the parser's error>". */
void imap_bad_syntax(struct imap_cmd *cmd);
/* imap_store_error: the tagged NO for a store error, with the RFC 5530
 * response code, e.g. STORE_ERR_NOT_FOUND -> NO [NONEXISTENT]. */
void imap_store_error(struct imap_cmd *cmd, int err);
/* imap_plaintext_ok: a cleartext password may be sent here. */
bool imap_plaintext_ok(const struct imap_session *s);
/* imap_capability: the capability list for the current state into out
 * (IMAP_CAPABILITY_MAX bytes will do). */
#define IMAP_CAPABILITY_MAX 512
void imap_capability(const struct imap_session *s, char *out, size_t size);

/* ---- imap_reader.c ---- */
enum imap_read_result {
	IMAP_READ_OK,		/* s->input holds a complete command */
	IMAP_READ_ANSWERED,	/* refused and answered: read the next */
	IMAP_READ_EMPTY,	/* an empty line, answered: a bad command */
	IMAP_READ_END,		/* answered or gone: end the session */
};
/* imap_read_command: reads one command with its literals into s->input,
 * sending "+" for synchronizing literals once their size is accepted. */
enum imap_read_result imap_read_command(struct imap_session *s);
/* The most s->input holds: the lines, a CRLF after each literal
 * announcement (each line has one at most), and the literals. */
#define IMAP_INPUT_MAX (LIMIT_MESSAGE_SIZE + LIMIT_IMAP_LITERAL + \
	3 * LIMIT_IMAP_LINE)

/* ---- imap_write.c ---- */
/* imap_write_string: a string as an atom-safe quoted string when it can
 * be one, else as a literal. */
void imap_write_string(struct conn *conn, const char *s, size_t len);
/* imap_write_astring: an atom when it can be one (header field names). */
void imap_write_astring(struct conn *conn, const char *s, size_t len);
void imap_write_nstring(struct conn *conn, const char *s);
/* imap_write_flags: "(\Seen $Label ...)". */
void imap_write_flags(struct conn *conn, uint32_t flags,
    const char *keywords, bool recent);
/* imap_write_date_time: INTERNALDATE "dd-Mon-yyyy hh:mm:ss +0000". */
void imap_write_date_time(struct conn *conn, int64_t t);
/* imap_uidset_format: uids (n of them, in the order given) as an IMAP
 * sequence set, runs of consecutive UIDs as ranges ("1:3,7"); 0 entries
 * are skipped. -1 when it does not fit in out (size bytes). */
int imap_uidset_format(const uint32_t *uids, size_t n, char *out,
    size_t size);
/* imap_write_mailbox: a UTF-8 mailbox name as modified UTF-7. */
void imap_write_mailbox(struct conn *conn, const char *name);

/* ---- imap_auth.c: NOT_AUTH ---- */
void imap_cmd_login(struct imap_session *s, struct imap_cmd *cmd);
void imap_cmd_authenticate(struct imap_session *s, struct imap_cmd *cmd);
void imap_cmd_starttls(struct imap_session *s, struct imap_cmd *cmd);

/* ---- imap_mailbox_name.c ---- */
/* imap_mailbox_arg: parses SP and a mailbox argument (astring, modified
 * UTF-7) and decodes it into name (UTF-8, size bytes). -1 with
 * cmd->reply set on failure. The store judges the name itself. */
int imap_mailbox_arg(struct imap_cmd *cmd, char *name, size_t size);
/* imap_mailbox_last_arg: the same, as the command's last argument. */
int imap_mailbox_last_arg(struct imap_cmd *cmd, char *name, size_t size);

/* ---- cmd_mailbox.c ---- */
void imap_cmd_create(struct imap_session *s, struct imap_cmd *cmd);
void imap_cmd_delete(struct imap_session *s, struct imap_cmd *cmd);
void imap_cmd_rename(struct imap_session *s, struct imap_cmd *cmd);
void imap_cmd_subscribe(struct imap_session *s, struct imap_cmd *cmd);
void imap_cmd_unsubscribe(struct imap_session *s, struct imap_cmd *cmd);

/* ---- cmd_status.c ---- */
enum imap_status_item {
	IMAP_STATUS_MESSAGES,
	IMAP_STATUS_RECENT,
	IMAP_STATUS_UIDNEXT,
	IMAP_STATUS_UIDVALIDITY,
	IMAP_STATUS_UNSEEN,
	IMAP_STATUS_APPENDLIMIT,	/* RFC 7889 */
	IMAP_STATUS_SIZE,		/* RFC 8438 */
	IMAP_STATUS_HIGHESTMODSEQ,	/* RFC 7162 */
	IMAP_STATUS_ITEMS
};
struct imap_status_req {
	unsigned char items[2 * IMAP_STATUS_ITEMS];	/* in asked order */
	size_t n;
};
/* imap_status_parse: "(" status-att *(SP status-att) ")". */
int imap_status_parse(struct imap_parser *ps, struct imap_status_req *req);
/* imap_status_write: "* STATUS name (...)" for mb. */
void imap_status_write(struct imap_session *s, const struct store_mailbox *mb,
    const struct imap_status_req *req);
void imap_cmd_status(struct imap_session *s, struct imap_cmd *cmd);

/* ---- cmd_list.c ---- */
void imap_cmd_list(struct imap_session *s, struct imap_cmd *cmd);
void imap_cmd_lsub(struct imap_session *s, struct imap_cmd *cmd);

/* ---- cmd_select.c ---- */
void imap_cmd_select(struct imap_session *s, struct imap_cmd *cmd);
void imap_cmd_examine(struct imap_session *s, struct imap_cmd *cmd);
void imap_cmd_close(struct imap_session *s, struct imap_cmd *cmd);
void imap_cmd_unselect(struct imap_session *s, struct imap_cmd *cmd);
void imap_cmd_expunge(struct imap_session *s, struct imap_cmd *cmd);
void imap_cmd_check(struct imap_session *s, struct imap_cmd *cmd);

/* ---- cmd_append.c ---- */
void imap_cmd_append(struct imap_session *s, struct imap_cmd *cmd);

/* ---- cmd_fetch.c ---- */
void imap_cmd_fetch(struct imap_session *s, struct imap_cmd *cmd);

/* ---- cmd_store.c ---- */
void imap_cmd_store(struct imap_session *s, struct imap_cmd *cmd);

/* ---- cmd_copy.c: COPY, MOVE (RFC 6851) ---- */
void imap_cmd_copy(struct imap_session *s, struct imap_cmd *cmd);
void imap_cmd_move(struct imap_session *s, struct imap_cmd *cmd);

/* ---- cmd_server.c: NAMESPACE (RFC 2342), ID (RFC 2971), ENABLE
 * (RFC 5161) ---- */
void imap_cmd_namespace(struct imap_session *s, struct imap_cmd *cmd);
void imap_cmd_id(struct imap_session *s, struct imap_cmd *cmd);
void imap_cmd_enable(struct imap_session *s, struct imap_cmd *cmd);

/* ---- cmd_search.c: SEARCH (RFC 3501 6.4.4, RFC 4731, RFC 5182) ---- */
void imap_cmd_search(struct imap_session *s, struct imap_cmd *cmd);

/* ---- cmd_quota.c: QUOTA (RFC 9208) ---- */
void imap_cmd_getquotaroot(struct imap_session *s, struct imap_cmd *cmd);
void imap_cmd_getquota(struct imap_session *s, struct imap_cmd *cmd);

/* ---- cmd_idle.c: IDLE (RFC 2177) ---- */
void imap_cmd_idle(struct imap_session *s, struct imap_cmd *cmd);

/* ---- imap_view.c ---- */
/* imap_view_open: loads the mailbox's messages as the view (SELECT). */
int imap_view_open(struct imap_session *s, const struct store_mailbox *mb,
    bool readonly);
void imap_view_close(struct imap_session *s);
/*
 * imap_view_sync: reports what others changed since the last sync:
 * "* n EXPUNGE" (only when expunges_ok: RFC 3501 7.4.1 forbids them
 * during FETCH, STORE and SEARCH), "* n EXISTS", and "* n FETCH (FLAGS)"
 * for messages whose flags changed, except those whose UIDs are in
 * skip[0..nskip) (ascending; the command itself answered for them). When the
 * mailbox was deleted, sends "* BYE" and ends the session.
 */
void imap_view_sync(struct imap_session *s, bool expunges_ok,
    const uint32_t *skip, size_t nskip);
/*
 * imap_view_resolve: the messages a sequence set (or a UID set when uid)
 * names, as ascending sequence numbers into a malloc'd *seqs_r. A
 * sequence number past EXISTS is an error (-1, cmd->reply set); UIDs not
 * in the view are skipped (RFC 3501 6.4.8).
 */
int imap_view_resolve(struct imap_session *s, struct imap_cmd *cmd,
    const struct imap_seqset *set, bool uid, uint32_t **seqs_r,
    size_t *count_r);
/* imap_view_seqset_arg: parses SP and a sequence set (a UID set for a UID
 * command) and resolves it as imap_view_resolve() does; the set as
 * written goes to *raw_r when not NULL (free it). */
int imap_view_seqset_arg(struct imap_session *s, struct imap_cmd *cmd,
    uint32_t **seqs_r, size_t *count_r, struct imap_seqset *raw_r);
/* imap_write_vanished: "* VANISHED [(EARLIER)] uid-set" (RFC 7162
 * 3.2.10) for uids (ascending or descending; may be reversed in place). */
void imap_write_vanished(struct imap_session *s, uint32_t *uids, size_t n,
    bool earlier);
/* imap_view_save: keeps uids[0..n) (ascending) as the result "$" names. */
void imap_view_save(struct imap_session *s, const uint32_t *uids, size_t n);
/* imap_view_uids: the UIDs of sequence numbers seqs[0..n), malloc'd. */
uint32_t *imap_view_uids(const struct imap_session *s, const uint32_t *seqs,
    size_t n);
/* imap_view_writable: false, with NO [READ-ONLY] set, after EXAMINE. */
bool imap_view_writable(struct imap_session *s, struct imap_cmd *cmd);
/* imap_uid_in: x is among the n ascending values of v. */
bool imap_uid_in(const uint32_t *v, size_t n, uint32_t x);

#endif
