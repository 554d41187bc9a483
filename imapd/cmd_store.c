/*
 * cmd_store.c - STORE (RFC 3501 6.4.6), by sequence number or UID
 * (6.4.8).
 *
 * STORE answers with the flags each message has afterwards (none with
 * .SILENT); the session's sync then skips those messages so they are not
 * reported twice.
 */
#include <stdlib.h>
#include <string.h>

#include "common/xalloc.h"
#include "imapd/imap_session.h"

/* parse_store_att: "+FLAGS", "-FLAGS.SILENT" ... */
static int
parse_store_att(struct imap_cmd *cmd, enum store_flag_op *op_r,
    bool *silent_r)
{
	struct imap_str att;

	if (imap_parse_atom(&cmd->ps, &att) != 0)
		return -1;
	*op_r = STORE_FLAGS_REPLACE;
	if (att.len > 0 && (att.s[0] == '+' || att.s[0] == '-')) {
		*op_r = att.s[0] == '+' ? STORE_FLAGS_ADD : STORE_FLAGS_REMOVE;
		att.s++;
		att.len--;
	}
	*silent_r = imap_str_is(&att, "FLAGS.SILENT");
	if (!*silent_r && !imap_str_is(&att, "FLAGS")) {
		cmd->ps.error = "Unknown STORE item";
		return -1;
	}
	return 0;
}

/* report_flags: "* n FETCH (FLAGS (...))" for each stored message. */
static void
report_flags(struct imap_session *s, struct imap_cmd *cmd,
    const uint32_t *seqs, const uint32_t *uids, size_t n)
{
	struct store_message *msgs;
	size_t count, j = 0;

	if (n == 0 || store_message_list(s->st, s->view.mailbox_id, uids[0],
	    uids[n - 1], &msgs, &count) != 0)
		return;
	for (size_t i = 0; i < n; i++) {
		while (j < count && msgs[j].uid < uids[i])
			j++;
		if (j == count || msgs[j].uid != uids[i])
			continue;	/* expunged meanwhile */
		conn_printf(s->conn, "* %u FETCH (FLAGS ", seqs[i]);
		imap_write_flags(s->conn, msgs[j].flags, msgs[j].keywords,
		    false);
		if (cmd->uid)
			conn_printf(s->conn, " UID %u", uids[i]);
		/* RFC 7162 3.1.4.1 */
		if (s->condstore)
			conn_printf(s->conn, " MODSEQ (%llu)",
			    (unsigned long long)msgs[j].modseq);
		conn_printf(s->conn, ")\r\n");
	}
	store_message_list_free(&msgs, count);
}

void
imap_cmd_store(struct imap_session *s, struct imap_cmd *cmd)
{
	struct imap_flags flags;
	enum store_flag_op op;
	uint32_t *seqs, *uids;
	size_t n;
	bool silent;
	int ret;

	if (imap_view_seqset_arg(s, cmd, &seqs, &n) != 0)
		return;
	if (imap_parse_sp(&cmd->ps) != 0 ||
	    parse_store_att(cmd, &op, &silent) != 0 ||
	    imap_parse_sp(&cmd->ps) != 0 ||
	    imap_parse_flags(&cmd->ps, &flags) != 0 ||
	    imap_parse_end(&cmd->ps) != 0) {
		free(seqs);
		imap_bad_syntax(cmd);
		return;
	}
	if (s->view.readonly) {
		free(seqs);
		imap_reply(cmd, "NO [READ-ONLY] Mailbox is read-only");
		return;
	}
	uids = imap_view_uids(s, seqs, n);
	ret = n == 0 ? 0 : store_flags_update(s->st, s->view.mailbox_id, uids,
	    n, op, flags.flags, flags.keywords);
	if (ret == STORE_ERR_LIMIT) {
		imap_reply(cmd, "NO [LIMIT] Too many keywords on a message");
	} else if (ret != 0) {
		imap_store_error(cmd, ret);
	} else {
		if (!silent)
			report_flags(s, cmd, seqs, uids, n);
		imap_view_sync(s, cmd->uid, uids, n);
		imap_reply(cmd, "OK STORE completed");
	}
	free(uids);
	free(seqs);
}
