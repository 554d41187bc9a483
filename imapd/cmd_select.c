/*
 * cmd_select.c - selecting and leaving a mailbox: SELECT, EXAMINE
 * (RFC 3501 6.3.1, 6.3.2), CLOSE (6.4.2), UNSELECT (RFC 3691), EXPUNGE
 * (6.4.3) and CHECK (6.4.1).
 */
#include <stdlib.h>
#include <string.h>

#include "common/xalloc.h"
#include "imapd/imap_session.h"

/* first_unseen: the sequence number of the first message without \Seen,
 * 0 when none (for the UNSEEN response code). */
static uint32_t
first_unseen(struct imap_session *s)
{
	uint32_t uid, seq;

	if (store_first_unseen(s->st, s->view.mailbox_id, &uid) != 0 ||
	    uid == 0)
		return 0;
	for (seq = 0; seq < s->view.count && s->view.uids[seq] < uid; seq++)
		;
	return seq < s->view.count && s->view.uids[seq] == uid ? seq + 1 : 0;
}

/* RFC 7162 3.2.5: what the client knew of the mailbox. */
struct qresync_params {
	bool given;
	uint32_t uidvalidity;
	uint64_t modseq;
	struct imap_seqset known;	/* owned; n == 0: all */
};

static int
parse_qresync(struct imap_parser *ps, struct qresync_params *q)
{
	if (imap_parse_sp(ps) != 0 || imap_parse_char(ps, '(') != 0 ||
	    imap_parse_nz_number(ps, &q->uidvalidity) != 0 ||
	    imap_parse_sp(ps) != 0 || imap_parse_number64(ps, &q->modseq) != 0)
		return -1;
	q->given = true;
	if (imap_parse_peek(ps, ' ') && ps->end - ps->p > 1 &&
	    ps->p[1] != '(') {
		ps->p++;
		if (imap_parse_seqset(ps, &q->known) != 0)
			return -1;
	}
	/* The sequence match data is a hint; it is read and not used. */
	if (imap_parse_peek(ps, ' ')) {
		struct imap_seqset a, b;

		ps->p++;
		if (imap_parse_char(ps, '(') != 0 ||
		    imap_parse_seqset(ps, &a) != 0)
			return -1;
		if (imap_parse_sp(ps) != 0 || imap_parse_seqset(ps, &b) != 0) {
			imap_seqset_free(&a);
			return -1;
		}
		imap_seqset_free(&a);
		imap_seqset_free(&b);
		if (imap_parse_char(ps, ')') != 0)
			return -1;
	}
	return imap_parse_char(ps, ')');
}

/* parse_select_params: RFC 7162 " (CONDSTORE)" or " (QRESYNC (...))". */
static int
parse_select_params(struct imap_session *s, struct imap_cmd *cmd,
    struct qresync_params *q)
{
	struct imap_str word;

	if (imap_parse_at_end(&cmd->ps))
		return 0;
	if (imap_parse_sp(&cmd->ps) != 0 ||
	    imap_parse_char(&cmd->ps, '(') != 0 ||
	    imap_parse_atom(&cmd->ps, &word) != 0)
		goto bad;
	if (imap_str_is(&word, "QRESYNC")) {
		/* RFC 7162 3.2.5: only once QRESYNC is enabled. */
		if (!s->qresync) {
			imap_reply(cmd, "BAD QRESYNC is not enabled");
			return -1;
		}
		if (parse_qresync(&cmd->ps, q) != 0)
			goto bad;
	} else if (!imap_str_is(&word, "CONDSTORE")) {
		goto bad;
	}
	if (imap_parse_char(&cmd->ps, ')') != 0 ||
	    imap_parse_end(&cmd->ps) != 0)
		goto bad;
	s->condstore = true;
	return 0;
bad:
	imap_bad_syntax(cmd);
	return -1;
}

/* resync: RFC 7162 3.2.5.1: what was expunged and what changed since
 * the client's MODSEQ, when its UIDVALIDITY is still good. */
static void
resync(struct imap_session *s, const struct qresync_params *q)
{
	struct store_message *msgs;
	uint32_t *gone, *vanished;
	size_t ngone, nvanished = 0, n, j = 0;

	if (!q->given || q->uidvalidity != s->view.uidvalidity)
		return;
	if (store_expunged_since(s->st, s->view.mailbox_id, q->modseq, &gone,
	    &ngone) == 0) {
		vanished = xcalloc(ngone + 1, sizeof(*vanished));
		for (size_t i = 0; i < ngone; i++)
			if (q->known.n == 0 ||
			    imap_seqset_has(&q->known, gone[i], UINT32_MAX))
				vanished[nvanished++] = gone[i];
		if (nvanished > 0)
			imap_write_vanished(s, vanished, nvanished, true);
		free(vanished);
		free(gone);
	}
	if (store_message_list(s->st, s->view.mailbox_id, 1, 0, &msgs,
	    &n) != 0)
		return;
	for (size_t i = 0; i < n; i++) {
		if (msgs[i].modseq <= q->modseq)
			continue;
		while (j < s->view.count && s->view.uids[j] < msgs[i].uid)
			j++;
		if (j == s->view.count || s->view.uids[j] != msgs[i].uid)
			continue;
		conn_printf(s->conn, "* %zu FETCH (UID %u FLAGS ", j + 1,
		    msgs[i].uid);
		imap_write_flags(s->conn, msgs[i].flags, msgs[i].keywords,
		    false);
		conn_printf(s->conn, " MODSEQ (%llu))\r\n",
		    (unsigned long long)msgs[i].modseq);
	}
	store_message_list_free(&msgs, n);
}

static void
select_mailbox(struct imap_session *s, struct imap_cmd *cmd, bool readonly)
{
	char name[LIMIT_MAILBOX_NAME * 2];
	struct qresync_params q;
	struct store_mailbox mb;
	uint32_t unseen;
	int ret;

	memset(&q, 0, sizeof(q));
	if (imap_mailbox_arg(cmd, name, sizeof(name)) != 0 ||
	    parse_select_params(s, cmd, &q) != 0) {
		imap_seqset_free(&q.known);
		return;
	}
	/* RFC 3501 6.3.1: a SELECT, even a failing one, leaves the
	 * selected mailbox first; RFC 7162 3.2.11 says so with CLOSED. */
	if (s->state == IMAP_STATE_SELECTED)
		conn_printf(s->conn, "* OK [CLOSED] Previous mailbox "
		    "closed\r\n");
	imap_view_close(s);
	s->state = IMAP_STATE_AUTH;
	if ((ret = store_mailbox_get(s->st, s->user_id, name, &mb)) != 0) {
		imap_seqset_free(&q.known);
		imap_store_error(cmd, ret);
		return;
	}
	ret = imap_view_open(s, &mb, readonly);
	store_mailbox_clear(&mb);
	if (ret != 0) {
		imap_seqset_free(&q.known);
		imap_store_error(cmd, ret);
		return;
	}
	s->state = IMAP_STATE_SELECTED;
	unseen = first_unseen(s);
	conn_printf(s->conn, "* FLAGS (\\Answered \\Flagged \\Deleted \\Seen "
	    "\\Draft)\r\n* OK [PERMANENTFLAGS (%s)] %s\r\n"
	    "* %u EXISTS\r\n* 0 RECENT\r\n",
	    readonly ? "" : "\\Answered \\Flagged \\Deleted \\Seen \\Draft \\*",
	    readonly ? "Read-only mailbox" : "Flags permitted",
	    s->view.count);
	if (unseen != 0)
		conn_printf(s->conn, "* OK [UNSEEN %u] First unseen\r\n",
		    unseen);
	conn_printf(s->conn, "* OK [UIDVALIDITY %u] UIDs valid\r\n"
	    "* OK [UIDNEXT %u] Predicted next UID\r\n"
	    "* OK [HIGHESTMODSEQ %llu] Highest\r\n", s->view.uidvalidity,
	    s->view.uidnext, (unsigned long long)s->view.highestmodseq);
	resync(s, &q);
	imap_seqset_free(&q.known);
	imap_reply(cmd, "OK [%s] %s completed", readonly ? "READ-ONLY" :
	    "READ-WRITE", cmd->name);
}

void
imap_cmd_select(struct imap_session *s, struct imap_cmd *cmd)
{
	select_mailbox(s, cmd, false);
}

void
imap_cmd_examine(struct imap_session *s, struct imap_cmd *cmd)
{
	select_mailbox(s, cmd, true);
}

static void
leave(struct imap_session *s)
{
	imap_view_close(s);
	s->state = IMAP_STATE_AUTH;
}

void
imap_cmd_close(struct imap_session *s, struct imap_cmd *cmd)
{
	if (imap_parse_end(&cmd->ps) != 0) {
		imap_bad_syntax(cmd);
		return;
	}
	/* RFC 3501 6.4.2: expunge silently, unless read-only. A failure
	 * still closes: the client cannot retry CLOSE. */
	if (!s->view.readonly)
		(void)store_expunge(s->st, s->view.mailbox_id, NULL, 0, NULL,
		    NULL);
	leave(s);
	imap_reply(cmd, "OK CLOSE completed");
}

void
imap_cmd_unselect(struct imap_session *s, struct imap_cmd *cmd)
{
	if (imap_parse_end(&cmd->ps) != 0) {
		imap_bad_syntax(cmd);
		return;
	}
	leave(s);
	imap_reply(cmd, "OK UNSELECT completed");
}

void
imap_cmd_expunge(struct imap_session *s, struct imap_cmd *cmd)
{
	uint32_t *seqs = NULL, *uids = NULL;
	size_t n = 0;
	int ret;

	/* UID EXPUNGE (RFC 4315 2.1): only the \Deleted among these. */
	if (cmd->uid && imap_view_seqset_arg(s, cmd, &seqs, &n, NULL) != 0)
		return;
	if (imap_parse_end(&cmd->ps) != 0) {
		free(seqs);
		imap_bad_syntax(cmd);
		return;
	}
	if (!imap_view_writable(s, cmd)) {
		free(seqs);
		return;
	}
	if (cmd->uid)
		uids = imap_view_uids(s, seqs, n);
	/* The session's sync reports the "* n EXPUNGE" lines. */
	if (cmd->uid && n == 0)
		ret = 0;
	else
		ret = store_expunge(s->st, s->view.mailbox_id, uids, n, NULL,
		    NULL);
	free(uids);
	free(seqs);
	if (ret != 0)
		imap_store_error(cmd, ret);
	else
		imap_reply(cmd, "OK EXPUNGE completed");
}

void
imap_cmd_check(struct imap_session *s, struct imap_cmd *cmd)
{
	(void)s;
	if (imap_parse_end(&cmd->ps) != 0) {
		imap_bad_syntax(cmd);
		return;
	}
	/* Every change is committed when made; nothing to do. */
	imap_reply(cmd, "OK CHECK completed");
}
