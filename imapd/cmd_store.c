/*
 * cmd_store.c - STORE (RFC 3501 6.4.6), by sequence number or UID
 * (6.4.8).
 *
 * STORE answers with the flags each message has afterwards (none with
 * .SILENT); the session's sync then skips those messages so they are not
 * reported twice.
 */
#include <stdio.h>
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
    const uint32_t *seqs, const uint32_t *uids, size_t n,
    const uint32_t *refused, size_t nrefused, bool silent)
{
	struct store_message *msgs;
	size_t count, j = 0;

	if (n == 0 || store_message_list(s->st, s->view.mailbox_id, uids[0],
	    uids[n - 1], &msgs, &count) != 0)
		return;
	for (size_t i = 0; i < n; i++) {
		while (j < count && msgs[j].uid < uids[i])
			j++;
		if (j == count || msgs[j].uid != uids[i] ||
		    imap_uid_in(refused, nrefused, uids[i]))
			continue;	/* expunged meanwhile, or not changed */
		/* RFC 7162 3.2.4: with CONDSTORE on, a FETCH carries UID and
		 * MODSEQ; a silent conditional STORE reports only those
		 * (3.1.3). */
		conn_printf(s->conn, "* %u FETCH (", seqs[i]);
		if (cmd->uid || s->condstore)
			conn_printf(s->conn, "UID %u ", uids[i]);
		if (!silent) {
			conn_printf(s->conn, "FLAGS ");
			imap_write_flags(s->conn, msgs[j].flags,
			    msgs[j].keywords, false);
		}
		if (s->condstore)
			conn_printf(s->conn, "%sMODSEQ (%llu)", silent ? "" :
			    " ", (unsigned long long)msgs[j].modseq);
		conn_printf(s->conn, ")\r\n");
	}
	store_message_list_free(&msgs, count);
}

/* parse_unchangedsince: RFC 7162 3.1.3 " (UNCHANGEDSINCE n)", or
 * nothing (*since_r UINT64_MAX). */
static int
parse_unchangedsince(struct imap_session *s, struct imap_cmd *cmd,
    uint64_t *since_r)
{
	struct imap_parser *ps = &cmd->ps;
	struct imap_str word;

	*since_r = UINT64_MAX;
	if (ps->end - ps->p < 2 || ps->p[0] != ' ' || ps->p[1] != '(')
		return 0;
	ps->p += 2;
	if (imap_parse_atom(ps, &word) != 0 ||
	    !imap_str_is(&word, "UNCHANGEDSINCE") || imap_parse_sp(ps) != 0 ||
	    imap_parse_number64(ps, since_r) != 0 ||
	    imap_parse_char(ps, ')') != 0)
		return -1;
	s->condstore = true;
	return 0;
}

/* modified_code: "[MODIFIED set] " for the refused UIDs, as sequence
 * numbers unless UID STORE. */
static void
modified_code(const struct imap_cmd *cmd, const uint32_t *seqs, const uint32_t *uids, size_t n,
    const uint32_t *refused, size_t nrefused, char *out, size_t size)
{
	uint32_t *ids = xcalloc(nrefused + 1, sizeof(*ids));
	char *set = xmalloc(size);
	size_t k = 0;

	for (size_t i = 0; i < n && k < nrefused; i++)
		if (imap_uid_in(refused, nrefused, uids[i]))
			ids[k++] = cmd->uid ? uids[i] : seqs[i];
	out[0] = '\0';
	if (imap_uidset_format(ids, k, set, size) == 0)
		snprintf(out, size, "[MODIFIED %s] ", set);
	free(set);
	free(ids);
}

void
imap_cmd_store(struct imap_session *s, struct imap_cmd *cmd)
{
	char code[sizeof(cmd->reply) - 64];
	struct imap_flags flags;
	enum store_flag_op op;
	uint32_t *seqs, *uids, *refused;
	uint64_t since;
	size_t n, nrefused = 0;
	bool silent;
	int ret;

	if (imap_view_seqset_arg(s, cmd, &seqs, &n, NULL) != 0)
		return;
	if (parse_unchangedsince(s, cmd, &since) != 0 ||
	    imap_parse_sp(&cmd->ps) != 0 ||
	    parse_store_att(cmd, &op, &silent) != 0 ||
	    imap_parse_sp(&cmd->ps) != 0 ||
	    imap_parse_flags(&cmd->ps, &flags) != 0 ||
	    imap_parse_end(&cmd->ps) != 0) {
		free(seqs);
		imap_bad_syntax(cmd);
		return;
	}
	if (!imap_view_writable(s, cmd)) {
		free(seqs);
		return;
	}
	uids = imap_view_uids(s, seqs, n);
	refused = xcalloc(n + 1, sizeof(*refused));
	ret = n == 0 ? 0 : store_flags_update_cond(s->st, s->view.mailbox_id,
	    uids, n, op, flags.flags, flags.keywords, since, refused,
	    &nrefused);
	if (ret == STORE_ERR_LIMIT) {
		imap_reply(cmd, "NO [LIMIT] Too many keywords on a message");
	} else if (ret != 0) {
		imap_store_error(cmd, ret);
	} else {
		/* RFC 7162 3.1.3: a conditional STORE reports what it
		 * changed even when .SILENT. */
		if (!silent || since != UINT64_MAX)
			report_flags(s, cmd, seqs, uids, n, refused,
			    nrefused, silent);
		imap_view_sync(s, cmd->uid, uids, n);
		if (nrefused > 0) {
			modified_code(cmd, seqs, uids, n, refused,
			    nrefused, code, sizeof(code));
			imap_reply(cmd, "OK %sConditional STORE failed",
			    code);
		} else {
			imap_reply(cmd, "OK STORE completed");
		}
	}
	free(refused);
	free(uids);
	free(seqs);
}
