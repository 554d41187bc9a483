/*
 * cmd_select.c - selecting and leaving a mailbox: SELECT, EXAMINE
 * (RFC 3501 6.3.1, 6.3.2), CLOSE (6.4.2), UNSELECT (RFC 3691), EXPUNGE
 * (6.4.3) and CHECK (6.4.1).
 */
#include <stdlib.h>
#include <string.h>

#include "imapd/imap_session.h"

/* first_unseen: the sequence number of the first message without \Seen,
 * 0 when none (for the UNSEEN response code). */
static uint32_t
first_unseen(struct imap_session *s)
{
	struct store_message *msgs;
	uint32_t seq = 0;
	size_t n;

	if (store_message_list(s->st, s->view.mailbox_id, 1, 0, &msgs, &n) != 0)
		return 0;
	for (size_t i = 0, v = 0; i < n && v < s->view.count; i++) {
		while (v < s->view.count && s->view.uids[v] < msgs[i].uid)
			v++;
		if (v < s->view.count && s->view.uids[v] == msgs[i].uid &&
		    (msgs[i].flags & STORE_FLAG_SEEN) == 0) {
			seq = (uint32_t)v + 1;
			break;
		}
	}
	store_message_list_free(&msgs, n);
	return seq;
}

/* parse_select_params: RFC 7162 3.1.8 " (CONDSTORE)". */
static int
parse_select_params(struct imap_session *s, struct imap_cmd *cmd)
{
	struct imap_str word;

	if (imap_parse_at_end(&cmd->ps))
		return 0;
	if (imap_parse_sp(&cmd->ps) != 0 ||
	    imap_parse_char(&cmd->ps, '(') != 0 ||
	    imap_parse_atom(&cmd->ps, &word) != 0 ||
	    !imap_str_is(&word, "CONDSTORE") ||
	    imap_parse_char(&cmd->ps, ')') != 0 ||
	    imap_parse_end(&cmd->ps) != 0) {
		imap_bad_syntax(cmd);
		return -1;
	}
	s->condstore = true;
	return 0;
}

static void
select_mailbox(struct imap_session *s, struct imap_cmd *cmd, bool readonly)
{
	char name[LIMIT_MAILBOX_NAME * 2];
	struct store_mailbox mb;
	uint32_t unseen;
	int ret;

	if (imap_mailbox_arg(cmd, name, sizeof(name)) != 0 ||
	    parse_select_params(s, cmd) != 0)
		return;
	/* RFC 3501 6.3.1: a SELECT, even a failing one, leaves the
	 * selected mailbox first. */
	imap_view_close(s);
	s->state = IMAP_STATE_AUTH;
	if ((ret = store_mailbox_get(s->st, s->user_id, name, &mb)) != 0) {
		imap_store_error(cmd, ret);
		return;
	}
	ret = imap_view_open(s, &mb, readonly);
	store_mailbox_clear(&mb);
	if (ret != 0) {
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
	if (cmd->uid && imap_view_seqset_arg(s, cmd, &seqs, &n) != 0)
		return;
	if (imap_parse_end(&cmd->ps) != 0) {
		free(seqs);
		imap_bad_syntax(cmd);
		return;
	}
	if (s->view.readonly) {
		free(seqs);
		imap_reply(cmd, "NO [READ-ONLY] Mailbox is read-only");
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
